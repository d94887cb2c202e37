/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-chart"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "ed-chart-util.h"
#include "ed-time-chart.h"

#define GAP 6
#define SWATCH 10
#define COLUMN_FRACTION 0.75
/* More columns than pixels say nothing more. */
#define MAX_SLOTS 2000

typedef struct
{
  char *label;
  char *color_name;
} Series;

typedef struct
{
  gint64 start;
  double values[ED_CHART_MAX_SERIES];
} Bucket;

struct _EdTimeChart
{
  GtkWidget  parent_instance;

  /* owned */
  char      *title;
  char      *description;
  Series     series[ED_CHART_MAX_SERIES];
  GArray    *buckets;        /* Bucket, by start */

  guint      n_series;
  gint64     from;
  gint64     to;
  gint64     bucket;
  gint64     hovered;        /* start of the bucket under the pointer, or -1 */
  guint      update_source;  /* the description, once per batch of changes */
};

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdTimeChart, ed_time_chart, GTK_TYPE_WIDGET)

typedef struct
{
  double plot_x;
  double plot_y;
  double plot_width;
  double plot_height;
  double slot_width;
  double axis_max;
  int    text_height;
} Geometry;

static guint
get_n_slots (EdTimeChart *self)
{
  if (self->bucket <= 0 || self->to <= self->from)
    return 0;
  return (guint) MIN ((self->to - self->from + self->bucket - 1) / self->bucket, MAX_SLOTS);
}

static double
bucket_total (EdTimeChart  *self,
              const Bucket *bucket)
{
  double total = 0;

  for (guint s = 0; s < self->n_series; s++)
    total += bucket->values[s];
  return total;
}

static Bucket *
find_bucket (EdTimeChart *self,
             gint64       start,
             guint       *position)
{
  guint low = 0, high = self->buckets->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      Bucket *bucket = &g_array_index (self->buckets, Bucket, middle);

      if (bucket->start == start)
        {
          if (position != NULL)
            *position = middle;
          return bucket;
        }
      if (bucket->start < start)
        low = middle + 1;
      else
        high = middle;
    }

  if (position != NULL)
    *position = low;
  return NULL;
}

static char *
format_time (EdTimeChart *self,
             gint64       time)
{
  g_autoptr(GDateTime) date_time = g_date_time_new_from_unix_local (time);

  if (date_time == NULL)
    return g_strdup ("");
  if (self->bucket >= 86400)
    /* TRANSLATORS: a day on a chart's time axis, strftime()-style: "28 Nov" */
    return g_date_time_format (date_time, _("%e %b"));
  if (self->to - self->from > 86400)
    /* TRANSLATORS: a day and time on a chart's time axis: "28 Nov 14:00" */
    return g_date_time_format (date_time, _("%e %b %H:%M"));
  /* TRANSLATORS: a time on a chart's time axis: "14:00" */
  return g_date_time_format (date_time, _("%H:%M"));
}

static void
get_geometry (EdTimeChart *self,
              Geometry    *geometry)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  double max_total = 0;
  g_autofree char *max_text = NULL;
  g_autoptr(PangoLayout) layout = NULL;
  int axis_width;
  guint n_slots = get_n_slots (self);

  for (guint i = 0; i < self->buckets->len; i++)
    max_total = MAX (max_total, bucket_total (self, &g_array_index (self->buckets, Bucket, i)));
  geometry->axis_max = ed_chart_nice_ceiling (max_total);

  max_text = ed_chart_format_count (geometry->axis_max);
  layout = ed_chart_new_layout (GTK_WIDGET (self), max_text, TRUE);
  pango_layout_get_pixel_size (layout, &axis_width, &geometry->text_height);

  geometry->plot_x = axis_width + GAP;
  /* The legend above, the times below; half a line of room at the top
   * for the axis's highest number. */
  geometry->plot_y = geometry->text_height + 2 * GAP;
  geometry->plot_width = MAX (0, width - geometry->plot_x);
  geometry->plot_height = MAX (0, height - geometry->plot_y - geometry->text_height - GAP);
  geometry->slot_width = n_slots > 0 ? geometry->plot_width / n_slots : 0;
}

static void
get_column_rect (EdTimeChart    *self,
                 const Geometry *geometry,
                 const Bucket   *bucket,
                 guint           up_to_series,
                 graphene_rect_t *rect)
{
  double slot = (double) (bucket->start - self->from) / self->bucket;
  double column_width = MAX (1, floor (geometry->slot_width * COLUMN_FRACTION));
  double x = round (geometry->plot_x + slot * geometry->slot_width + (geometry->slot_width - column_width) / 2);
  double below = 0, value = 0, top, bottom;

  for (guint s = 0; s < up_to_series; s++)
    below += bucket->values[s];
  value = up_to_series < self->n_series ? bucket->values[up_to_series] : 0;
  if (up_to_series >= self->n_series)
    {
      value = below;
      below = 0;
    }

  bottom = round (geometry->plot_y + geometry->plot_height - below / geometry->axis_max * geometry->plot_height);
  top = round (geometry->plot_y + geometry->plot_height - (below + value) / geometry->axis_max * geometry->plot_height);
  /* A value above zero always shows. */
  if (value > 0 && bottom - top < 1)
    top = bottom - 1;

  graphene_rect_init (rect, (float) x, (float) top, (float) column_width, (float) (bottom - top));
}

static void
update_description (EdTimeChart *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  double totals[ED_CHART_MAX_SERIES] = { 0 };
  const Bucket *busiest = NULL;
  g_autofree char *from = format_time (self, self->from);
  g_autofree char *to = format_time (self, self->to);

  for (guint i = 0; i < self->buckets->len; i++)
    {
      const Bucket *bucket = &g_array_index (self->buckets, Bucket, i);

      for (guint s = 0; s < self->n_series; s++)
        totals[s] += bucket->values[s];
      if (busiest == NULL || bucket_total (self, bucket) > bucket_total (self, busiest))
        busiest = bucket;
    }

  /* TRANSLATORS: the start of a chart's description: "From 10:00 to 14:00: " */
  g_string_append_printf (text, _("From %s to %s: "), from, to);
  for (guint s = 0; s < self->n_series; s++)
    {
      g_autofree char *value = ed_chart_format_count (totals[s]);

      if (s > 0)
        g_string_append (text, ", ");
      g_string_append_printf (text, _("%s: %s"), self->series[s].label, value);
    }
  if (busiest != NULL && bucket_total (self, busiest) > 0)
    {
      g_autofree char *when = format_time (self, busiest->start);
      g_autofree char *value = ed_chart_format_count (bucket_total (self, busiest));

      /* TRANSLATORS: the end of a chart's description: "; most at 14:00 (12)" */
      g_string_append_printf (text, _("; most at %s (%s)"), when, value);
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str,
                                  -1);
  g_free (self->description);
  self->description = g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
on_update_cb (gpointer user_data)
{
  EdTimeChart *self = user_data;

  self->update_source = 0;
  update_description (self);
  return G_SOURCE_REMOVE;
}

static void
changed (EdTimeChart *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->update_source == 0)
    self->update_source = g_idle_add (on_update_cb, self);
}

static gint64
bucket_at (EdTimeChart *self,
           double       x)
{
  Geometry geometry;
  gint64 slot;

  get_geometry (self, &geometry);
  if (geometry.slot_width <= 0 || x < geometry.plot_x)
    return -1;

  slot = (gint64) ((x - geometry.plot_x) / geometry.slot_width);
  if (slot >= get_n_slots (self))
    return -1;
  return self->from + slot * self->bucket;
}

static void
set_hovered (EdTimeChart *self,
             gint64       hovered)
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
              EdTimeChart              *self)
{
  set_hovered (self, bucket_at (self, x));
}

static void
on_leave_cb (GtkEventControllerMotion *controller,
             EdTimeChart              *self)
{
  set_hovered (self, -1);
}

static gboolean
ed_time_chart_query_tooltip (GtkWidget  *widget,
                             int         x,
                             int         y,
                             gboolean    keyboard_tooltip,
                             GtkTooltip *tooltip)
{
  EdTimeChart *self = ED_TIME_CHART (widget);
  gint64 start;
  g_autofree char *text = NULL;

  /* Focused from the keyboard: what a screen reader says. */
  if (keyboard_tooltip)
    {
      gtk_tooltip_set_text (tooltip, self->description);
      return self->description != NULL;
    }

  start = bucket_at (self, x);
  if (start < 0)
    return FALSE;

  text = ed_time_chart_dup_bucket_text (self, start);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
append_legend (EdTimeChart    *self,
               GtkSnapshot    *snapshot,
               const Geometry *geometry,
               const GdkRGBA  *text_color)
{
  double x = geometry->plot_x;

  for (guint s = 0; s < self->n_series; s++)
    {
      g_autoptr(PangoLayout) layout = ed_chart_new_layout (GTK_WIDGET (self), self->series[s].label, TRUE);
      GdkRGBA color;
      int width;

      ed_chart_lookup_color (GTK_WIDGET (self), self->series[s].color_name, &color);
      gtk_snapshot_append_color (snapshot, &color,
                                 &GRAPHENE_RECT_INIT ((float) x, (float) round ((geometry->text_height - SWATCH) / 2.0),
                                                      SWATCH, SWATCH));
      x += SWATCH + GAP / 2.0;
      ed_chart_append_layout (snapshot, layout, x, 0, text_color);
      pango_layout_get_pixel_size (layout, &width, NULL);
      x += width + 2 * GAP;
    }
}

static void
append_axes (EdTimeChart    *self,
             GtkSnapshot    *snapshot,
             const Geometry *geometry,
             const GdkRGBA  *text_color,
             const GdkRGBA  *grid_color)
{
  GtkWidget *widget = GTK_WIDGET (self);

  /* Lines at 0, half and the top, each with its number at the left. */
  for (guint i = 0; i <= 2; i++)
    {
      double value = geometry->axis_max * i / 2;
      double y = round (geometry->plot_y + geometry->plot_height - geometry->plot_height * i / 2);
      g_autofree char *text = ed_chart_format_count (value);
      g_autoptr(PangoLayout) layout = ed_chart_new_layout (widget, text, TRUE);
      int width;

      if (i == 1 && geometry->axis_max < 2)
        continue;

      gtk_snapshot_append_color (snapshot, grid_color,
                                 &GRAPHENE_RECT_INIT ((float) geometry->plot_x, (float) y,
                                                      (float) geometry->plot_width, 1));
      pango_layout_get_pixel_size (layout, &width, NULL);
      ed_chart_append_layout (snapshot, layout, geometry->plot_x - GAP - width,
                              y - geometry->text_height / 2.0, text_color);
    }

  /* The first and last times under the columns. */
  if (get_n_slots (self) > 0)
    {
      g_autofree char *from = format_time (self, self->from);
      g_autofree char *to = format_time (self, self->to);
      g_autoptr(PangoLayout) from_layout = ed_chart_new_layout (widget, from, TRUE);
      g_autoptr(PangoLayout) to_layout = ed_chart_new_layout (widget, to, TRUE);
      double y = geometry->plot_y + geometry->plot_height + GAP / 2.0;
      int width;

      ed_chart_append_layout (snapshot, from_layout, geometry->plot_x, y, text_color);
      pango_layout_get_pixel_size (to_layout, &width, NULL);
      ed_chart_append_layout (snapshot, to_layout, geometry->plot_x + geometry->plot_width - width, y, text_color);
    }
}

static void
ed_time_chart_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  EdTimeChart *self = ED_TIME_CHART (widget);
  GdkRGBA text_color, grid_color, hover_color;
  GdkRGBA colors[ED_CHART_MAX_SERIES];
  Geometry geometry;

  get_geometry (self, &geometry);
  ed_chart_get_dim_foreground (widget, 0.7, &text_color);
  ed_chart_get_dim_foreground (widget, 0.15, &grid_color);
  ed_chart_get_dim_foreground (widget, 0.07, &hover_color);
  for (guint s = 0; s < self->n_series; s++)
    ed_chart_lookup_color (widget, self->series[s].color_name, &colors[s]);

  append_legend (self, snapshot, &geometry, &text_color);

  /* Before the first timeline there is no time to draw. */
  if (get_n_slots (self) == 0)
    return;

  /* No axis to read against nothing. */
  if (self->buckets->len == 0)
    {
      g_autoptr(PangoLayout) layout = ed_chart_new_layout (widget, _("Nothing yet"), FALSE);
      int width, height;

      pango_layout_get_pixel_size (layout, &width, &height);
      ed_chart_append_layout (snapshot, layout, geometry.plot_x + (geometry.plot_width - width) / 2,
                              geometry.plot_y + (geometry.plot_height - height) / 2, &text_color);
      return;
    }

  if (self->hovered >= 0 && geometry.slot_width > 0)
    {
      double slot = (double) (self->hovered - self->from) / self->bucket;

      gtk_snapshot_append_color (snapshot, &hover_color,
                                 &GRAPHENE_RECT_INIT ((float) (geometry.plot_x + slot * geometry.slot_width),
                                                      (float) geometry.plot_y,
                                                      (float) geometry.slot_width,
                                                      (float) geometry.plot_height));
    }

  append_axes (self, snapshot, &geometry, &text_color, &grid_color);

  for (guint i = 0; i < self->buckets->len; i++)
    {
      const Bucket *bucket = &g_array_index (self->buckets, Bucket, i);

      for (guint s = 0; s < self->n_series; s++)
        {
          graphene_rect_t rect;

          if (bucket->values[s] <= 0)
            continue;
          get_column_rect (self, &geometry, bucket, s, &rect);
          gtk_snapshot_append_color (snapshot, &colors[s], &rect);
        }
    }
}

static void
ed_time_chart_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_VERTICAL)
    {
      *minimum = 120;
      *natural = 180;
    }
  else
    {
      *minimum = 200;
      *natural = 480;
    }
}

static void
ed_time_chart_css_changed (GtkWidget         *widget,
                           GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (ed_time_chart_parent_class)->css_changed (widget, change);

  /* Colours from the style: light, dark and high contrast. */
  gtk_widget_queue_draw (widget);
}

static void
ed_time_chart_dispose (GObject *object)
{
  EdTimeChart *self = (EdTimeChart *)object;

  g_clear_handle_id (&self->update_source, g_source_remove);

  G_OBJECT_CLASS (ed_time_chart_parent_class)->dispose (object);
}

static void
ed_time_chart_finalize (GObject *object)
{
  EdTimeChart *self = (EdTimeChart *)object;

  for (guint s = 0; s < self->n_series; s++)
    {
      g_free (self->series[s].label);
      g_free (self->series[s].color_name);
    }
  g_clear_pointer (&self->buckets, g_array_unref);
  g_free (self->title);
  g_free (self->description);

  G_OBJECT_CLASS (ed_time_chart_parent_class)->finalize (object);
}

static void
ed_time_chart_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  EdTimeChart *self = ED_TIME_CHART (object);

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
ed_time_chart_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  EdTimeChart *self = ED_TIME_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      ed_time_chart_set_title (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_time_chart_class_init (EdTimeChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ed_time_chart_dispose;
  object_class->finalize = ed_time_chart_finalize;
  object_class->get_property = ed_time_chart_get_property;
  object_class->set_property = ed_time_chart_set_property;

  widget_class->snapshot = ed_time_chart_snapshot;
  widget_class->measure = ed_time_chart_measure;
  widget_class->css_changed = ed_time_chart_css_changed;
  widget_class->query_tooltip = ed_time_chart_query_tooltip;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "timechart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
ed_time_chart_init (EdTimeChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->buckets = g_array_new (FALSE, TRUE, sizeof (Bucket));
  self->hovered = -1;
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  /* Focusable, so keyboard users reach the values (in the tooltip). */
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  update_description (self);
}

GtkWidget *
ed_time_chart_new (void)
{
  return g_object_new (ED_TYPE_TIME_CHART, NULL);
}

const char *
ed_time_chart_get_title (EdTimeChart *self)
{
  g_return_val_if_fail (ED_IS_TIME_CHART (self), NULL);

  return self->title;
}

void
ed_time_chart_set_title (EdTimeChart *self,
                         const char  *title)
{
  g_return_if_fail (ED_IS_TIME_CHART (self));

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
ed_time_chart_add_series (EdTimeChart *self,
                          const char  *label,
                          const char  *color_name)
{
  g_return_val_if_fail (ED_IS_TIME_CHART (self), 0);
  g_return_val_if_fail (label != NULL, 0);
  g_return_val_if_fail (self->n_series < ED_CHART_MAX_SERIES, 0);

  self->series[self->n_series].label = g_strdup (label);
  self->series[self->n_series].color_name = g_strdup (color_name);
  changed (self);

  return self->n_series++;
}

void
ed_time_chart_set_range (EdTimeChart *self,
                         gint64       from,
                         gint64       to,
                         gint64       bucket)
{
  guint i = 0;

  g_return_if_fail (ED_IS_TIME_CHART (self));
  g_return_if_fail (bucket > 0);
  g_return_if_fail (to >= from);

  if (self->from == from && self->to == to && self->bucket == bucket)
    return;

  self->from = from;
  self->to = to;
  self->bucket = bucket;

  while (i < self->buckets->len)
    {
      const Bucket *b = &g_array_index (self->buckets, Bucket, i);

      if (b->start < from || b->start >= to || (b->start - from) % bucket != 0)
        g_array_remove_index (self->buckets, i);
      else
        i++;
    }
  changed (self);
}

void
ed_time_chart_clear (EdTimeChart *self)
{
  g_return_if_fail (ED_IS_TIME_CHART (self));

  if (self->buckets->len == 0)
    return;

  g_array_set_size (self->buckets, 0);
  changed (self);
}

void
ed_time_chart_set_value (EdTimeChart *self,
                         gint64       start,
                         guint        series,
                         double       value)
{
  Bucket *bucket;
  guint position;

  g_return_if_fail (ED_IS_TIME_CHART (self));
  g_return_if_fail (series < self->n_series);

  if (self->bucket <= 0 || start < self->from || start >= self->to)
    return;

  bucket = find_bucket (self, start, &position);
  if (bucket == NULL)
    {
      Bucket empty = { .start = start };

      if (value == 0)
        return;
      g_array_insert_val (self->buckets, position, empty);
      bucket = &g_array_index (self->buckets, Bucket, position);
    }

  if (bucket->values[series] == value)
    return;

  bucket->values[series] = value;
  changed (self);
}

double
ed_time_chart_get_value (EdTimeChart *self,
                         gint64       start,
                         guint        series)
{
  Bucket *bucket;

  g_return_val_if_fail (ED_IS_TIME_CHART (self), 0);
  g_return_val_if_fail (series < self->n_series, 0);

  bucket = find_bucket (self, start, NULL);
  return bucket != NULL ? bucket->values[series] : 0;
}

void
ed_time_chart_get_column_rect (EdTimeChart     *self,
                               gint64           start,
                               graphene_rect_t *rect)
{
  Geometry geometry;
  Bucket *bucket;

  g_return_if_fail (ED_IS_TIME_CHART (self));

  bucket = find_bucket (self, start, NULL);
  if (bucket == NULL)
    {
      graphene_rect_init (rect, 0, 0, 0, 0);
      return;
    }

  get_geometry (self, &geometry);
  get_column_rect (self, &geometry, bucket, self->n_series, rect);
}

char *
ed_time_chart_dup_bucket_text (EdTimeChart *self,
                               gint64       start)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  Bucket *bucket;

  g_return_val_if_fail (ED_IS_TIME_CHART (self), NULL);

  bucket = find_bucket (self, start, NULL);
  from = format_time (self, start);
  to = format_time (self, start + self->bucket);
  /* TRANSLATORS: a time bucket in a chart's tooltip: "14:00 – 15:00" */
  g_string_append_printf (text, _("%s – %s"), g_strstrip (from), g_strstrip (to));
  for (guint s = 0; s < self->n_series; s++)
    {
      g_autofree char *value = ed_chart_format_count (bucket ? bucket->values[s] : 0);

      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("%s: %s"), self->series[s].label, value);
    }

  return g_string_free (g_steal_pointer (&text), FALSE);
}
