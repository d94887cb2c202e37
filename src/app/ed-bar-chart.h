/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Horizontal bars, one per category (the answers by status): the label on
 * the left, the bar in the category's colour, its value after it. The
 * longest bar is the largest value. Hovering a bar shows its value and
 * share in a tooltip; screen readers get the title as the label and every
 * value in the description.
 */
#define ED_TYPE_BAR_CHART (ed_bar_chart_get_type ())

G_DECLARE_FINAL_TYPE (EdBarChart, ed_bar_chart, ED, BAR_CHART, GtkWidget)

GtkWidget  *ed_bar_chart_new          (void);
/* Property "title": what the chart shows, for screen readers. */
const char *ed_bar_chart_get_title    (EdBarChart             *self);
void        ed_bar_chart_set_title    (EdBarChart             *self,
                                       const char             *title);
/* Adds a bar; @color_name as for ed_chart_lookup_color(). Returns its index. */
guint       ed_bar_chart_add_bar      (EdBarChart             *self,
                                       const char             *label,
                                       const char             *color_name);
guint       ed_bar_chart_get_n_bars   (EdBarChart             *self);
void        ed_bar_chart_set_value    (EdBarChart             *self,
                                       guint                   index,
                                       double                  value);
double      ed_bar_chart_get_value    (EdBarChart             *self,
                                       guint                   index);
/* Where bar @index is drawn at the widget's current size (empty for 0). */
void        ed_bar_chart_get_bar_rect (EdBarChart             *self,
                                       guint                   index,
                                       graphene_rect_t        *rect);
/* The text of the tooltip over bar @index. */
char       *ed_bar_chart_dup_bar_text (EdBarChart             *self,
                                       guint                   index);

G_END_DECLS
