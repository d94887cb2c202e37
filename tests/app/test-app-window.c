/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include "ed-application.h"
#include "ed-test-app.h"
#include "ed-window.h"

/* The app's window as a user first sees it. */

static EdWindow *
start_app (EdApplication **app_out)
{
  g_autoptr(GError) error = NULL;
  EdApplication *app = ed_application_new (APP_ID ".Test", G_APPLICATION_NON_UNIQUE);
  GtkWindow *window;

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_true (ED_IS_WINDOW (window));
  *app_out = app;

  return ED_WINDOW (window);
}

static void
test_window_shell (void)
{
  g_autoptr(EdApplication) app = NULL;
  EdWindow *window = start_app (&app);
  g_autofree char *screenshot = NULL;

  ed_test_app_wait_drawn (GTK_WIDGET (window));
  /* No event yet: the content says so. */
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_STATUS_PAGE, NULL));
  g_assert_cmpint (ed_window_get_event_id (window), ==, 0);

  screenshot = ed_test_app_save_screenshot (GTK_WIDGET (window), "window-shell");
  g_assert_true (g_file_test (screenshot, G_FILE_TEST_IS_REGULAR));

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  ed_test_app_init (&argc, &argv);
  adw_init ();

  g_test_add_func ("/app/window/shell", test_window_shell);

  return g_test_run ();
}
