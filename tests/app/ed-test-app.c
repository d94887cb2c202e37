/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include <adwaita.h>

#include "ed-test-app.h"

/* What every wait gives up after, so a screen that never comes fails the
 * test instead of hanging it.
 */
#define WAIT_TIMEOUT_MS 20000

/* Sets up GTK for a test: run-in-session gave it a display, a session bus
 * with a keyring, and GSETTINGS_BACKEND=memory.
 */
void
ed_test_app_init (int    *argc,
                  char ***argv)
{
  g_test_init (argc, argv, NULL);
  g_assert_cmpstr (g_getenv ("GSETTINGS_BACKEND"), ==, "memory");
  gtk_init ();
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @condition holds, for at most @timeout_ms (0:
 * the default limit). Returns whether it held.
 */
gboolean
ed_test_app_wait_until (EdTestCondition condition,
                        gpointer        user_data,
                        guint           timeout_ms)
{
  gboolean timed_out = FALSE;
  guint timeout_id;

  timeout_id = g_timeout_add (timeout_ms ? timeout_ms : WAIT_TIMEOUT_MS, on_timeout_cb, &timed_out);
  while (!condition (user_data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);

  return condition (user_data);
}

static gboolean
never (gpointer user_data)
{
  return FALSE;
}

/* Runs the main loop for @ms, for what has no state to wait for. */
void
ed_test_app_wait_ms (guint ms)
{
  ed_test_app_wait_until (never, NULL, ms);
}

static gboolean
has_result (gpointer user_data)
{
  return *(GAsyncResult **) user_data != NULL;
}

/* Use as the callback of an _async call with &result as its data. */
void
ed_test_app_on_result_cb (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Waits for the call whose callback is ed_test_app_on_result_cb(). */
GAsyncResult *
ed_test_app_wait_result (GAsyncResult **result)
{
  g_assert_true (ed_test_app_wait_until (has_result, result, 0));

  return *result;
}

static gboolean
is_drawn (gpointer user_data)
{
  GtkWidget *widget = user_data;

  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

/* Waits until @widget is on screen and its frame is laid out. */
void
ed_test_app_wait_drawn (GtkWidget *widget)
{
  g_assert_true (ed_test_app_wait_until (is_drawn, widget, 0));
  /* A few frames for transitions and for lists to fill. */
  ed_test_app_wait_ms (400);
}

/**
 * ed_test_app_render:
 * @widget: a widget on screen
 *
 * Renders @widget as it is drawn now, with its window's renderer.
 *
 * Returns: (transfer full): the picture, @widget's size
 */
GdkTexture *
ed_test_app_render (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GskRenderer *renderer;
  int width, height;

  ed_test_app_wait_drawn (widget);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);

  /* A window between two frames (a list refilled) may draw nothing for
   * a moment: a few more frames then. */
  for (guint attempt = 0; node == NULL && attempt < 20; attempt++)
    {
      if (attempt > 0)
        ed_test_app_wait_ms (100);
      g_clear_object (&paintable);
      paintable = gtk_widget_paintable_new (widget);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
    }
  g_assert_nonnull (node);

  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* Saves @texture as $ED_SCREENSHOT_DIR/@name.png and returns the path. */
char *
ed_test_app_save_texture (GdkTexture *texture,
                          const char *name)
{
  g_autofree char *file_name = g_strconcat (name, ".png", NULL);
  const char *dir = g_getenv ("ED_SCREENSHOT_DIR");
  g_autofree char *path = NULL;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  path = g_build_filename (dir, file_name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);

  return g_steal_pointer (&path);
}

/**
 * ed_test_app_save_screenshot:
 * @widget: a widget on screen, often the window
 * @name: the file name without ".png"
 *
 * Renders @widget as it is drawn now to $ED_SCREENSHOT_DIR/@name.png, for
 * people to look at.
 *
 * Returns: (transfer full): the file's path
 */
char *
ed_test_app_save_screenshot (GtkWidget  *widget,
                             const char *name)
{
  g_autoptr(GdkTexture) texture = ed_test_app_render (widget);

  return ed_test_app_save_texture (texture, name);
}

/* A memory figure of this process from /proc/self/status ("VmRSS:",
 * "VmHWM:"…), in MB, or -1 when there is none. */
double
ed_test_app_read_status_mb (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      !(line = strstr (status, field)))
    return -1;
  return g_ascii_strtod (line + strlen (field), NULL) / 1024.0;
}

static gboolean
widget_matches (GtkWidget  *widget,
                GType       type,
                const char *label)
{
  const char *text = NULL;

  if (!g_type_is_a (G_OBJECT_TYPE (widget), type))
    return FALSE;
  if (label == NULL)
    return TRUE;

  if (GTK_IS_BUTTON (widget))
    text = gtk_button_get_label (GTK_BUTTON (widget));
  else if (GTK_IS_LABEL (widget))
    text = gtk_label_get_text (GTK_LABEL (widget));
  else if (ADW_IS_PREFERENCES_ROW (widget))
    text = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget));

  if (text == NULL)
    return FALSE;

  /* Mnemonics are not part of what a user reads. */
  {
    g_autoptr(GString) plain = g_string_new (text);

    g_string_replace (plain, "_", "", 0);
    return g_strcmp0 (plain->str, label) == 0;
  }
}

/* Finds the first widget of @type under @root (depth first) whose label or
 * title is @label (NULL: any), as a user would look for it.
 */
GtkWidget *
ed_test_app_find_widget (GtkWidget  *root,
                         GType       type,
                         const char *label)
{
  if (widget_matches (root, type, label))
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = ed_test_app_find_widget (child, type, label);

      if (found != NULL)
        return found;
    }

  return NULL;
}
