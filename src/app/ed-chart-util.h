/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* What the chart widgets (EdBarChart, EdTimeChart) share: colours from
 * the style, text, and numbers as people read them.
 */

/* The most series or bars one chart draws. */
#define ED_CHART_MAX_SERIES 8

/* @name is a CSS named colour: libadwaita's (success_bg_color…), which
 * follow light, dark and high contrast, or one of style.css's
 * ed_chart_* colours; "ed_chart_neutral" and "ed_chart_faint" fall back to
 * the text colour at 35% and 18% when no style sheet defines them. */
void   ed_chart_lookup_color      (GtkWidget          *widget,
                                   const char         *name,
                                   GdkRGBA            *color);
void   ed_chart_get_foreground    (GtkWidget          *widget,
                                   GdkRGBA            *color);
/* @alpha times the foreground's own: grid lines, hover, dim text. */
void   ed_chart_get_dim_foreground (GtkWidget         *widget,
                                   double              alpha,
                                   GdkRGBA            *color);

/* Draws @layout with its top left at (@x, @y). */
void   ed_chart_append_layout     (GtkSnapshot        *snapshot,
                                   PangoLayout        *layout,
                                   double              x,
                                   double              y,
                                   const GdkRGBA      *color);
/* A layout of @text in @widget's font, smaller when @small. */
PangoLayout *ed_chart_new_layout  (GtkWidget          *widget,
                                   const char         *text,
                                   gboolean            small);

/* "1,234" in the user's locale. */
char  *ed_chart_format_count      (double              value);
/* A round number at or above @value for an axis: 1, 2, 4, 6, 8, 10, 20… */
double ed_chart_nice_ceiling      (double              value);

G_END_DECLS
