/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "ed-bar-chart.h"
#include "ed-chart-util.h"
#include "ed-test-app.h"
#include "ed-time-chart.h"

/* The chart widgets drawn from known data with the app's style, read back
 * pixel by pixel: each bar and column where its value puts it, in its
 * colour from the style, in light and in dark; the values in tooltips
 * and for screen readers. The pictures are left in app-screenshots/.
 */

#define WIDTH 480
#define HEIGHT 200
/* The hour the time chart starts at (2026-11-28 06:00 UTC). */
#define T0 G_GINT64_CONSTANT (1795845600)
#define HOUR 3600
#define COLOR_TOLERANCE 0.02

typedef struct
{
  guchar *pixels;
  gsize   stride;
  int     width;
  int     height;
  int     x;      /* where the widget is in the picture */
  int     y;
} Picture;

static void
picture_clear (Picture *picture)
{
  g_clear_pointer (&picture->pixels, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Picture, picture_clear)

static void
load_style (void)
{
  static gsize loaded;

  /* What EdApplication loads for the app: the charts' colour names. */
  if (g_once_init_enter (&loaded))
    {
      GtkCssProvider *provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_resource (provider, "/org/eventdesk/Eventdesk/style.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      g_once_init_leave (&loaded, 1);
    }
}

static GtkWindow *
show_in_window (GtkWidget *chart)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());

  gtk_window_set_decorated (window, FALSE);
  gtk_window_set_default_size (window, WIDTH, HEIGHT);
  gtk_window_set_child (window, chart);
  gtk_window_present (window);
  ed_test_app_wait_drawn (chart);

  return window;
}

/* Renders @widget's window, so that every pixel is as opaque as on
 * screen, with (0, 0) at @widget's own top left. */
static void
render (GtkWidget  *widget,
        const char *name,
        Picture    *picture)
{
  GtkWidget *window = GTK_WIDGET (gtk_widget_get_root (widget));
  g_autoptr(GdkTexture) texture = ed_test_app_render (window);
  double x = 0, y = 0;
  g_autofree char *path = ed_test_app_save_texture (texture, name);

  picture->width = gdk_texture_get_width (texture);
  picture->height = gdk_texture_get_height (texture);
  picture->stride = (gsize) picture->width * 4;
  picture->pixels = g_malloc (picture->stride * picture->height);
  gdk_texture_download (texture, picture->pixels, picture->stride);

  g_assert_true (gtk_widget_translate_coordinates (widget, window, 0, 0, &x, &y));
  picture->x = (int) x;
  picture->y = (int) y;
}

/* The pixel at (@x, @y): CAIRO_FORMAT_ARGB32 in native order, opaque here. */
static void
get_pixel (const Picture *picture,
           int            x,
           int            y,
           GdkRGBA       *color)
{
  const guint32 *pixel;

  x += picture->x;
  y += picture->y;
  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, picture->width);
  g_assert_cmpint (y, <, picture->height);
  pixel = (const guint32 *) (picture->pixels + y * picture->stride + x * 4);
  color->alpha = ((*pixel >> 24) & 0xff) / 255.0f;
  color->red = ((*pixel >> 16) & 0xff) / 255.0f;
  color->green = ((*pixel >> 8) & 0xff) / 255.0f;
  color->blue = (*pixel & 0xff) / 255.0f;
}

static gboolean
colors_match (const GdkRGBA *a,
              const GdkRGBA *b)
{
  return fabsf (a->red - b->red) <= COLOR_TOLERANCE &&
         fabsf (a->green - b->green) <= COLOR_TOLERANCE &&
         fabsf (a->blue - b->blue) <= COLOR_TOLERANCE;
}

static void
assert_pixel (const Picture *picture,
              int            x,
              int            y,
              const GdkRGBA *expected)
{
  GdkRGBA color;

  get_pixel (picture, x, y, &color);
  if (!colors_match (&color, expected))
    {
      g_autofree char *got = gdk_rgba_to_string (&color);
      g_autofree char *want = gdk_rgba_to_string (expected);

      g_test_message ("pixel (%d, %d) is %s, not %s", x, y, got, want);
    }
  g_assert_true (colors_match (&color, expected));
}

/* How many pixels of @color follow (@x, @y) to the right. */
static int
run_right (const Picture *picture,
           int            x,
           int            y,
           const GdkRGBA *color)
{
  int n = 0;

  for (; picture->x + x + n < picture->width; n++)
    {
      GdkRGBA pixel;

      get_pixel (picture, x + n, y, &pixel);
      if (!colors_match (&pixel, color))
        break;
    }
  return n;
}

/* How many pixels of @color lie above (@x, @y), itself included. */
static int
run_up (const Picture *picture,
        int            x,
        int            y,
        const GdkRGBA *color)
{
  int n = 0;

  for (; picture->y + y - n >= 0; n++)
    {
      GdkRGBA pixel;

      get_pixel (picture, x, y - n, &pixel);
      if (!colors_match (&pixel, color))
        break;
    }
  return n;
}

static double
luminance (const GdkRGBA *color)
{
  return 0.2126 * color->red + 0.7152 * color->green + 0.0722 * color->blue;
}

static void
set_dark (gboolean dark)
{
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
  ed_test_app_wait_ms (200);
}

static gboolean
high_contrast_is (gpointer user_data)
{
  return adw_style_manager_get_high_contrast (adw_style_manager_get_default ()) == GPOINTER_TO_INT (user_data);
}

/* As the desktop's accessibility setting does it: libadwaita follows
 * org.gnome.desktop.a11y.interface when there is no settings portal. */
static void
set_high_contrast (gboolean high_contrast)
{
  g_autoptr(GSettingsSchema) schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (),
                                                                       "org.gnome.desktop.a11y.interface", TRUE);
  g_autoptr(GSettings) settings = NULL;

  g_assert_nonnull (schema);
  settings = g_settings_new_full (schema, NULL, NULL);
  g_settings_set_boolean (settings, "high-contrast", high_contrast);
  g_assert_true (ed_test_app_wait_until (high_contrast_is, GINT_TO_POINTER (high_contrast), 0));
  ed_test_app_wait_ms (200);
}

static void
assert_description (GtkWidget  *widget,
                    const char *expected)
{
  g_autofree char *mismatch = gtk_test_accessible_check_property (GTK_ACCESSIBLE (widget),
                                                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                                                  expected);

  if (mismatch != NULL)
    g_test_message ("the description is “%s”", mismatch);
  g_assert_null (mismatch);
}

/* Bars */

static const double bar_values[] = { 40, 10, 20, 0, 5 };

static EdBarChart *
new_bar_chart (void)
{
  EdBarChart *chart = ED_BAR_CHART (ed_bar_chart_new ());

  ed_bar_chart_set_title (chart, "Answers by status");
  ed_bar_chart_add_bar (chart, "Accepted", "ed_chart_accepted");
  ed_bar_chart_add_bar (chart, "Waitlisted", "ed_chart_waitlisted");
  ed_bar_chart_add_bar (chart, "Declined", "ed_chart_declined");
  ed_bar_chart_add_bar (chart, "No answer yet", "ed_chart_neutral");
  ed_bar_chart_add_bar (chart, "Cancelled", "ed_chart_faint");
  for (guint i = 0; i < G_N_ELEMENTS (bar_values); i++)
    ed_bar_chart_set_value (chart, i, bar_values[i]);

  return chart;
}

/* @color as it shows over @background. */
static void
blend (GdkRGBA       *color,
       const GdkRGBA *background)
{
  color->red = color->red * color->alpha + background->red * (1 - color->alpha);
  color->green = color->green * color->alpha + background->green * (1 - color->alpha);
  color->blue = color->blue * color->alpha + background->blue * (1 - color->alpha);
  color->alpha = 1;
}

static void
check_bars (EdBarChart *chart,
            const char *name,
            GdkRGBA    *accepted_out,
            GdkRGBA    *background_out)
{
  GdkRGBA window_background;
  g_auto(Picture) picture = { 0 };
  GtkWidget *widget = GTK_WIDGET (chart);
  graphene_rect_t first;
  int full_length = 0;

  render (widget, name, &picture);
  get_pixel (&picture, WIDTH - 2, HEIGHT - 2, &window_background);
  ed_bar_chart_get_bar_rect (chart, 0, &first);
  g_assert_cmpfloat (first.size.width, >, WIDTH / 3.0);

  for (guint i = 0; i < G_N_ELEMENTS (bar_values); i++)
    {
      const char *names[] = { "ed_chart_accepted", "ed_chart_waitlisted", "ed_chart_declined",
                              "ed_chart_neutral", "ed_chart_faint" };
      GdkRGBA color, background;
      graphene_rect_t rect;
      int y, length;

      ed_bar_chart_get_bar_rect (chart, i, &rect);
      ed_chart_lookup_color (widget, names[i], &color);
      blend (&color, &window_background);
      y = (int) (rect.origin.y + rect.size.height / 2);

      /* Every bar starts where the first does, in its own colour, and is
       * as long as its value against the largest. */
      g_assert_cmpfloat (rect.origin.x, ==, first.origin.x);
      if (bar_values[i] == 0)
        {
          get_pixel (&picture, (int) rect.origin.x + 1, y, &background);
          g_assert_false (colors_match (&background, &color));
          continue;
        }

      assert_pixel (&picture, (int) rect.origin.x + 1, y, &color);
      length = run_right (&picture, (int) rect.origin.x, y, &color);
      if (i == 0)
        full_length = length;
      g_assert_cmpint (abs (length - (int) round (full_length * bar_values[i] / bar_values[0])), <=, 1);

      /* Half a row away from the bar, no bar colour. */
      get_pixel (&picture, (int) rect.origin.x + 1, (int) rect.origin.y - 2, &background);
      g_assert_false (colors_match (&background, &color));
    }

  g_assert_cmpint (full_length, ==, (int) first.size.width);
  ed_chart_lookup_color (widget, "ed_chart_accepted", accepted_out);
  *background_out = window_background;
}

static void
test_bar_chart (void)
{
  EdBarChart *chart = new_bar_chart ();
  GtkWindow *window;
  GdkRGBA light_accepted, dark_accepted, light_background, dark_background, success;
  g_autofree char *tooltip = NULL;

  load_style ();
  set_dark (FALSE);
  window = show_in_window (GTK_WIDGET (chart));

  /* The colour is the theme's, not one of the chart's own. */
  g_assert_true (gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (chart)),
                                                 "success_bg_color", &success));

  check_bars (chart, "chart-bars-light", &light_accepted, &light_background);
  g_assert_true (gdk_rgba_equal (&light_accepted, &success));

  set_dark (TRUE);
  check_bars (chart, "chart-bars-dark", &dark_accepted, &dark_background);
  /* Dark mode draws on a dark background with the dark theme's colours. */
  g_assert_cmpfloat (luminance (&light_background), >, 0.8);
  g_assert_cmpfloat (luminance (&dark_background), <, 0.25);
  g_assert_true (gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (chart)),
                                                 "success_bg_color", &success));
  g_assert_true (gdk_rgba_equal (&dark_accepted, &success));
  set_dark (FALSE);

  /* High contrast: the high-contrast theme's colours, still the theme's. */
  set_high_contrast (TRUE);
  {
    GdkRGBA hc_accepted, hc_background;

    check_bars (chart, "chart-bars-high-contrast", &hc_accepted, &hc_background);
    g_assert_true (gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (chart)),
                                                   "success_bg_color", &success));
    g_assert_true (gdk_rgba_equal (&hc_accepted, &success));
  }
  set_high_contrast (FALSE);

  /* What hovering a bar and a screen reader tell. */
  tooltip = ed_bar_chart_dup_bar_text (chart, 0);
  g_assert_cmpstr (tooltip, ==, "Accepted: 40 (53%)");
  assert_description (GTK_WIDGET (chart),
                      "Accepted: 40, Waitlisted: 10, Declined: 20, No answer yet: 0, Cancelled: 5");
  {
    g_autofree char *mismatch = gtk_test_accessible_check_property (GTK_ACCESSIBLE (chart),
                                                                    GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                                    "Answers by status");

    g_assert_null (mismatch);
  }

  /* A new value moves the bar. */
  ed_bar_chart_set_value (chart, 2, 80);
  {
    g_auto(Picture) picture = { 0 };
    graphene_rect_t accepted, declined;
    GdkRGBA declined_color;

    render (GTK_WIDGET (chart), "chart-bars-changed", &picture);
    ed_bar_chart_get_bar_rect (chart, 0, &accepted);
    ed_bar_chart_get_bar_rect (chart, 2, &declined);
    ed_chart_lookup_color (GTK_WIDGET (chart), "ed_chart_declined", &declined_color);
    g_assert_cmpint (run_right (&picture, (int) declined.origin.x, (int) (declined.origin.y + declined.size.height / 2),
                                &declined_color),
                     ==, (int) declined.size.width);
    g_assert_cmpfloat (fabs (declined.size.width - 2 * accepted.size.width), <=, 1);
  }
  assert_description (GTK_WIDGET (chart),
                      "Accepted: 40, Waitlisted: 10, Declined: 80, No answer yet: 0, Cancelled: 5");

  gtk_window_destroy (window);
}

/* Columns over time */

static void
test_time_chart (void)
{
  EdTimeChart *chart = ED_TIME_CHART (ed_time_chart_new ());
  GtkWidget *widget = GTK_WIDGET (chart);
  g_auto(Picture) picture = { 0 };
  g_autofree char *tooltip = NULL;
  GdkRGBA accepted, declined, background;
  graphene_rect_t first, third, last, empty;
  GtkWindow *window;
  int accepted_height, declined_height;

  load_style ();
  set_dark (FALSE);
  ed_time_chart_set_title (chart, "Answers over time");
  ed_time_chart_add_series (chart, "Accepted", "ed_chart_accepted");
  ed_time_chart_add_series (chart, "Declined", "ed_chart_declined");
  ed_time_chart_set_range (chart, T0, T0 + 6 * HOUR, HOUR);
  ed_time_chart_set_value (chart, T0, 0, 10);
  ed_time_chart_set_value (chart, T0, 1, 5);
  ed_time_chart_set_value (chart, T0 + 2 * HOUR, 0, 20);
  ed_time_chart_set_value (chart, T0 + 5 * HOUR, 1, 5);
  /* Outside the range: dropped. */
  ed_time_chart_set_value (chart, T0 + 6 * HOUR, 0, 1000);
  window = show_in_window (widget);

  render (widget, "chart-time-light", &picture);
  ed_chart_lookup_color (widget, "ed_chart_accepted", &accepted);
  ed_chart_lookup_color (widget, "ed_chart_declined", &declined);

  ed_time_chart_get_column_rect (chart, T0, &first);
  ed_time_chart_get_column_rect (chart, T0 + 2 * HOUR, &third);
  ed_time_chart_get_column_rect (chart, T0 + 5 * HOUR, &last);
  ed_time_chart_get_column_rect (chart, T0 + HOUR, &empty);
  g_assert_cmpfloat (empty.size.height, ==, 0);

  /* Columns stand on one line, in slot order, a sixth of the width apart. */
  g_assert_cmpfloat (first.origin.y + first.size.height, ==, third.origin.y + third.size.height);
  g_assert_cmpfloat (third.origin.y + third.size.height, ==, last.origin.y + last.size.height);
  g_assert_cmpfloat (fabs ((third.origin.x - first.origin.x) - 2 * (last.origin.x - third.origin.x) / 3), <=, 1);

  /* The first column: accepted at the bottom, declined on top, each as
   * tall as its value; the tallest column (20) reaches 20 on the axis. */
  {
    int x = (int) (first.origin.x + first.size.width / 2);
    int bottom = (int) (first.origin.y + first.size.height) - 1;

    assert_pixel (&picture, x, bottom, &accepted);
    accepted_height = run_up (&picture, x, bottom, &accepted);
    declined_height = run_up (&picture, x, bottom - accepted_height, &declined);
    g_assert_cmpint (abs (accepted_height - 2 * declined_height), <=, 1);
    g_assert_cmpint (accepted_height + declined_height, ==, (int) first.size.height);
  }
  {
    int x = (int) (third.origin.x + third.size.width / 2);
    int bottom = (int) (third.origin.y + third.size.height) - 1;

    g_assert_cmpint (run_up (&picture, x, bottom, &accepted), ==, (int) third.size.height);
    g_assert_cmpint (abs ((int) third.size.height - 2 * accepted_height), <=, 1);
  }
  {
    int x = (int) (last.origin.x + last.size.width / 2);
    int bottom = (int) (last.origin.y + last.size.height) - 1;

    g_assert_cmpint (abs (run_up (&picture, x, bottom, &declined) - declined_height), <=, 1);
  }
  /* Nothing where the second hour had nothing. */
  get_pixel (&picture, (int) (first.origin.x + (third.origin.x - first.origin.x) / 2 + first.size.width / 2),
             (int) (first.origin.y + first.size.height) - 3, &background);
  g_assert_false (colors_match (&background, &accepted));
  g_assert_false (colors_match (&background, &declined));

  /* Dark mode: the same columns in the dark theme's colours. */
  set_dark (TRUE);
  {
    g_auto(Picture) dark = { 0 };
    GdkRGBA dark_accepted;

    render (widget, "chart-time-dark", &dark);
    ed_chart_lookup_color (widget, "ed_chart_accepted", &dark_accepted);
    assert_pixel (&dark, (int) (third.origin.x + third.size.width / 2),
                  (int) (third.origin.y + third.size.height / 2), &dark_accepted);
  }
  set_dark (FALSE);

  tooltip = ed_time_chart_dup_bucket_text (chart, T0 + 2 * HOUR);
  g_assert_nonnull (strstr (tooltip, "Accepted: 20"));
  g_assert_nonnull (strstr (tooltip, "Declined: 0"));
  {
    g_autoptr(GDateTime) from = g_date_time_new_from_unix_local (T0);
    g_autoptr(GDateTime) to = g_date_time_new_from_unix_local (T0 + 6 * HOUR);
    g_autoptr(GDateTime) busiest = g_date_time_new_from_unix_local (T0 + 2 * HOUR);
    g_autofree char *from_text = g_date_time_format (from, "%H:%M");
    g_autofree char *to_text = g_date_time_format (to, "%H:%M");
    g_autofree char *busiest_text = g_date_time_format (busiest, "%H:%M");
    g_autofree char *expected = g_strdup_printf ("From %s to %s: Accepted: 30, Declined: 10; most at %s (20)",
                                                 from_text, to_text, busiest_text);

    ed_test_app_wait_ms (50);
    assert_description (widget, expected);
  }

  gtk_window_destroy (window);
}

int
main (int   argc,
      char *argv[])
{
  /* The accessible properties, as a screen reader would get them. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  ed_test_app_init (&argc, &argv);
  adw_init ();

  g_test_add_func ("/charts/bars", test_bar_chart);
  g_test_add_func ("/charts/time", test_time_chart);

  return g_test_run ();
}
