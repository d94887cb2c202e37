/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-chart"

#include "config.h"

#include <adwaita.h>
#include <math.h>

#include "ed-chart-util.h"

void
ed_chart_get_foreground (GtkWidget *widget,
                         GdkRGBA   *color)
{
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), color);
}

void
ed_chart_get_dim_foreground (GtkWidget *widget,
                             double     alpha,
                             GdkRGBA   *color)
{
  ed_chart_get_foreground (widget, color);

  /* High contrast: text at full strength, lines and shades stronger. */
  if (adw_style_manager_get_high_contrast (adw_style_manager_get_default ()))
    alpha = alpha >= 0.5 ? 1.0 : MIN (1.0, alpha * 3);

  color->alpha *= alpha;
}

void
ed_chart_lookup_color (GtkWidget  *widget,
                       const char *name,
                       GdkRGBA    *color)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);

  if (name != NULL && gtk_style_context_lookup_color (context, name, color))
    return;

  if (g_strcmp0 (name, "ed_chart_faint") == 0)
    ed_chart_get_dim_foreground (widget, 0.18, color);
  else
    ed_chart_get_dim_foreground (widget, 0.35, color);
}

void
ed_chart_append_layout (GtkSnapshot   *snapshot,
                        PangoLayout   *layout,
                        double         x,
                        double         y,
                        const GdkRGBA *color)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT ((float) round (x), (float) round (y)));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

PangoLayout *
ed_chart_new_layout (GtkWidget  *widget,
                     const char *text,
                     gboolean    small)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);

  if (small)
    {
      PangoAttrList *attrs = pango_attr_list_new ();

      pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
    }

  return layout;
}

char *
ed_chart_format_count (double value)
{
  return g_strdup_printf ("%'.0f", value);
}

double
ed_chart_nice_ceiling (double value)
{
  double magnitude;
  double fraction;

  if (value <= 1)
    return 1;

  magnitude = pow (10, floor (log10 (value)));
  fraction = value / magnitude;
  /* Even steps, so that the axis's middle line is a whole number too. */
  if (fraction <= 1)
    return magnitude;
  if (fraction <= 2)
    return 2 * magnitude;
  if (fraction <= 4)
    return 4 * magnitude;
  if (fraction <= 6)
    return 6 * magnitude;
  if (fraction <= 8)
    return 8 * magnitude;
  return 10 * magnitude;
}
