/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-chart"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "ed-bar-chart.h"
#include "ed-chart-util.h"

#define ROW_HEIGHT 30
#define BAR_FRACTION 0.6
#define GAP 8

/* A bar's text is laid out once, and again only when it changes: the
 * chart is drawn at every live update. */
typedef struct
{
  char        *label;
  char        *color_name;
  double       value;
  PangoLayout *label_layout;  /* owned, made when first drawn */
  PangoLayout *value_layout;  /* owned, made when first drawn */
} Bar;

struct _EdBarChart
{
  GtkWidget  parent_instance;

  /* owned */
  char      *title;
  Bar        bars[ED_CHART_MAX_SERIES];

  guint      n_bars;
  int        hovered;  /* bar under the pointer, or -1 */
  guint      update_source;  /* the description, once per batch of values */
};

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdBarChart, ed_bar_chart, GTK_TYPE_WIDGET)

static double
get_total (EdBarChart *self)
{
  double total = 0;

  for (guint i = 0; i < self->n_bars; i++)
    total += self->bars[i].value;
  return total;
}

static double
get_max (EdBarChart *self)
{
  double max = 0;

  for (guint i = 0; i < self->n_bars; i++)
    max = MAX (max, self->bars[i].value);
  return max;
}

static PangoLayout *
get_label_layout (EdBarChart *self,
                  guint       index)
{
  Bar *bar = &self->bars[index];

  if (bar->label_layout == NULL)
    bar->label_layout = ed_chart_new_layout (GTK_WIDGET (self), bar->label, FALSE);
  return bar->label_layout;
}

static PangoLayout *
get_value_layout (EdBarChart *self,
                  guint       index)
{
  Bar *bar = &self->bars[index];

  if (bar->value_layout == NULL)
    {
      g_autofree char *text = ed_chart_format_count (bar->value);

      bar->value_layout = ed_chart_new_layout (GTK_WIDGET (self), text, FALSE);
    }
  return bar->value_layout;
}

/* A new font, or a new widget to lay out for. */
static void
clear_layouts (EdBarChart *self)
{
  for (guint i = 0; i < self->n_bars; i++)
    {
      g_clear_object (&self->bars[i].label_layout);
      g_clear_object (&self->bars[i].value_layout);
    }
}

static int
get_layout_width (PangoLayout *layout)
{
  int width;

  pango_layout_get_pixel_size (layout, &width, NULL);
  return width;
}

/* The layout at the current size: the labels' column, and the room the
 * bars have before the widest value. */
typedef struct
{
  double row_height;
  double bar_x;
  double bar_width;
} Geometry;

static void
get_geometry (EdBarChart *self,
              Geometry   *geometry)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  int label_width = 0;
  int value_width = 0;
  double max = get_max (self);

  for (guint i = 0; i < self->n_bars; i++)
    {
      label_width = MAX (label_width, get_layout_width (get_label_layout (self, i)));
      /* The largest value's text, which ends the longest bar. */
      if (self->bars[i].value == max)
        value_width = get_layout_width (get_value_layout (self, i));
    }

  geometry->row_height = self->n_bars > 0 ? MIN (ROW_HEIGHT * 1.5, (double) height / self->n_bars) : 0;
  geometry->bar_x = label_width + GAP;
  geometry->bar_width = MAX (0, width - geometry->bar_x - GAP - value_width);
}

static void
get_bar_rect (EdBarChart     *self,
              const Geometry *geometry,
              guint           index,
              graphene_rect_t *rect)
{
  double max = get_max (self);
  double length = max > 0 ? round (self->bars[index].value / max * geometry->bar_width) : 0;
  double bar_height = round (geometry->row_height * BAR_FRACTION);
  double y = round (index * geometry->row_height + (geometry->row_height - bar_height) / 2);

  /* A value above zero always shows, however small next to the largest. */
  if (self->bars[index].value > 0)
    length = MAX (length, 2);

  graphene_rect_init (rect, (float) geometry->bar_x, (float) y, (float) length, (float) bar_height);
}

static void
update_description (EdBarChart *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->n_bars; i++)
    {
      g_autofree char *value = ed_chart_format_count (self->bars[i].value);

      if (i > 0)
        g_string_append (text, ", ");
      /* TRANSLATORS: a chart's value for a screen reader: "Accepted: 12" */
      g_string_append_printf (text, _("%s: %s"), self->bars[i].label, value);
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str,
                                  -1);
}

static gboolean
on_update_cb (gpointer user_data)
{
  EdBarChart *self = user_data;

  self->update_source = 0;
  update_description (self);
  return G_SOURCE_REMOVE;
}

static int
bar_at (EdBarChart *self,
        double      y)
{
  Geometry geometry;

  get_geometry (self, &geometry);
  if (geometry.row_height <= 0 || y < 0)
    return -1;
  if (y >= geometry.row_height * self->n_bars)
    return -1;
  return (int) (y / geometry.row_height);
}

static void
set_hovered (EdBarChart *self,
             int         hovered)
{
  if (self->hovered == hovered)
    return;

  self->hovered = hovered;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion_cb (GtkEventControllerMotion *controller,
              double                    x,
              double                    y,
              EdBarChart               *self)
{
  set_hovered (self, bar_at (self, y));
}

static void
on_leave_cb (GtkEventControllerMotion *controller,
             EdBarChart               *self)
{
  set_hovered (self, -1);
}

static gboolean
ed_bar_chart_query_tooltip (GtkWidget  *widget,
                            int         x,
                            int         y,
                            gboolean    keyboard_tooltip,
                            GtkTooltip *tooltip)
{
  EdBarChart *self = ED_BAR_CHART (widget);
  int index = keyboard_tooltip ? -1 : bar_at (self, y);
  g_autofree char *text = NULL;

  if (keyboard_tooltip)
    {
      g_autoptr(GString) all = g_string_new (NULL);

      for (guint i = 0; i < self->n_bars; i++)
        {
          g_autofree char *line = ed_bar_chart_dup_bar_text (self, i);

          g_string_append_printf (all, "%s%s", i > 0 ? "\n" : "", line);
        }
      gtk_tooltip_set_text (tooltip, all->str);
      return self->n_bars > 0;
    }

  if (index < 0)
    return FALSE;

  text = ed_bar_chart_dup_bar_text (self, (guint) index);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
ed_bar_chart_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  EdBarChart *self = ED_BAR_CHART (widget);
  int width = gtk_widget_get_width (widget);
  Geometry geometry;
  GdkRGBA fg, dim, hover;

  if (self->n_bars == 0)
    return;

  get_geometry (self, &geometry);
  ed_chart_get_foreground (widget, &fg);
  ed_chart_get_dim_foreground (widget, 0.7, &dim);
  ed_chart_get_dim_foreground (widget, 0.07, &hover);

  for (guint i = 0; i < self->n_bars; i++)
    {
      Bar *bar = &self->bars[i];
      PangoLayout *label = get_label_layout (self, i);
      PangoLayout *value = get_value_layout (self, i);
      double row_y = i * geometry.row_height;
      graphene_rect_t rect;
      GdkRGBA color;
      int text_height;

      if ((int) i == self->hovered)
        gtk_snapshot_append_color (snapshot, &hover,
                                   &GRAPHENE_RECT_INIT (0, (float) row_y, (float) width,
                                                        (float) geometry.row_height));

      pango_layout_get_pixel_size (label, NULL, &text_height);
      ed_chart_append_layout (snapshot, label, 0, row_y + (geometry.row_height - text_height) / 2, &dim);

      get_bar_rect (self, &geometry, i, &rect);
      ed_chart_lookup_color (widget, bar->color_name, &color);
      if (rect.size.width > 0)
        gtk_snapshot_append_color (snapshot, &color, &rect);

      ed_chart_append_layout (snapshot, value, rect.origin.x + rect.size.width + GAP,
                              row_y + (geometry.row_height - text_height) / 2, &fg);
    }
}

static void
ed_bar_chart_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  EdBarChart *self = ED_BAR_CHART (widget);

  if (orientation == GTK_ORIENTATION_VERTICAL)
    {
      *minimum = (int) (self->n_bars * ROW_HEIGHT * 0.8);
      *natural = self->n_bars * ROW_HEIGHT;
    }
  else
    {
      *minimum = 160;
      *natural = 360;
    }
}

static void
ed_bar_chart_css_changed (GtkWidget         *widget,
                          GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (ed_bar_chart_parent_class)->css_changed (widget, change);

  /* Colours from the style: light, dark and high contrast; maybe a new font. */
  clear_layouts (ED_BAR_CHART (widget));
  gtk_widget_queue_draw (widget);
}

static void
ed_bar_chart_dispose (GObject *object)
{
  EdBarChart *self = (EdBarChart *)object;

  g_clear_handle_id (&self->update_source, g_source_remove);

  G_OBJECT_CLASS (ed_bar_chart_parent_class)->dispose (object);
}

static void
ed_bar_chart_finalize (GObject *object)
{
  EdBarChart *self = (EdBarChart *)object;

  clear_layouts (self);
  for (guint i = 0; i < self->n_bars; i++)
    {
      g_free (self->bars[i].label);
      g_free (self->bars[i].color_name);
    }
  g_free (self->title);

  G_OBJECT_CLASS (ed_bar_chart_parent_class)->finalize (object);
}

static void
ed_bar_chart_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  EdBarChart *self = ED_BAR_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_bar_chart_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  EdBarChart *self = ED_BAR_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      ed_bar_chart_set_title (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_bar_chart_class_init (EdBarChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ed_bar_chart_dispose;
  object_class->finalize = ed_bar_chart_finalize;
  object_class->get_property = ed_bar_chart_get_property;
  object_class->set_property = ed_bar_chart_set_property;

  widget_class->snapshot = ed_bar_chart_snapshot;
  widget_class->measure = ed_bar_chart_measure;
  widget_class->css_changed = ed_bar_chart_css_changed;
  widget_class->query_tooltip = ed_bar_chart_query_tooltip;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "barchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
ed_bar_chart_init (EdBarChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->hovered = -1;
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  /* Focusable, so keyboard users reach the values (the tooltip lists them). */
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
}

GtkWidget *
ed_bar_chart_new (void)
{
  return g_object_new (ED_TYPE_BAR_CHART, NULL);
}

const char *
ed_bar_chart_get_title (EdBarChart *self)
{
  g_return_val_if_fail (ED_IS_BAR_CHART (self), NULL);

  return self->title;
}

void
ed_bar_chart_set_title (EdBarChart *self,
                        const char *title)
{
  g_return_if_fail (ED_IS_BAR_CHART (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;

  g_free (self->title);
  self->title = g_strdup (title);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title ? title : "",
                                  -1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

guint
ed_bar_chart_add_bar (EdBarChart *self,
                      const char *label,
                      const char *color_name)
{
  Bar *bar;

  g_return_val_if_fail (ED_IS_BAR_CHART (self), 0);
  g_return_val_if_fail (label != NULL, 0);
  g_return_val_if_fail (self->n_bars < ED_CHART_MAX_SERIES, 0);

  bar = &self->bars[self->n_bars];
  bar->label = g_strdup (label);
  bar->color_name = g_strdup (color_name);
  bar->value = 0;

  update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));

  return self->n_bars++;
}

guint
ed_bar_chart_get_n_bars (EdBarChart *self)
{
  g_return_val_if_fail (ED_IS_BAR_CHART (self), 0);

  return self->n_bars;
}

void
ed_bar_chart_set_value (EdBarChart *self,
                        guint       index,
                        double      value)
{
  g_return_if_fail (ED_IS_BAR_CHART (self));
  g_return_if_fail (index < self->n_bars);

  if (self->bars[index].value == value)
    return;

  self->bars[index].value = value;
  g_clear_object (&self->bars[index].value_layout);
  /* Values come in batches (the page sets them all at each update). */
  if (self->update_source == 0)
    self->update_source = g_idle_add (on_update_cb, self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
ed_bar_chart_get_value (EdBarChart *self,
                        guint       index)
{
  g_return_val_if_fail (ED_IS_BAR_CHART (self), 0);
  g_return_val_if_fail (index < self->n_bars, 0);

  return self->bars[index].value;
}

void
ed_bar_chart_get_bar_rect (EdBarChart      *self,
                           guint            index,
                           graphene_rect_t *rect)
{
  Geometry geometry;

  g_return_if_fail (ED_IS_BAR_CHART (self));
  g_return_if_fail (index < self->n_bars);

  get_geometry (self, &geometry);
  get_bar_rect (self, &geometry, index, rect);
}

char *
ed_bar_chart_dup_bar_text (EdBarChart *self,
                           guint       index)
{
  double total;
  g_autofree char *value = NULL;

  g_return_val_if_fail (ED_IS_BAR_CHART (self), NULL);
  g_return_val_if_fail (index < self->n_bars, NULL);

  total = get_total (self);
  value = ed_chart_format_count (self->bars[index].value);
  /* TRANSLATORS: a bar's tooltip: "Accepted: 12 (30%)" */
  return g_strdup_printf (_("%s: %s (%.0f%%)"), self->bars[index].label, value,
                          total > 0 ? self->bars[index].value / total * 100 : 0.0);
}
