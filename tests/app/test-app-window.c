/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <adwaita.h>
#include <signal.h>
#include <string.h>

#include "ed-application.h"
#include "ed-connect-page.h"
#include "ed-event-dialog.h"
#include "ed-secret-util.h"
#include "ed-test-app.h"
#include "ed-test-daemon.h"
#include "ed-test-util.h"
#include "ed-window.h"

/* The app as a user meets it, in order: the first start on "This
 * computer" (its own daemon, a password in the real keyring), events
 * created, edited with mistakes, deleted, the daemon dying and coming
 * back, a later start that reconnects silently, and a server account.
 * The cases share one home folder and keyring, like one user's session.
 */

static EdApplication *app;
static EdWindow *window;
static void (*current_body) (void);

static gboolean
on_body_idle_cb (gpointer user_data)
{
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (app));

  g_assert_true (ED_IS_WINDOW (active));
  window = ED_WINDOW (active);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 640);

  current_body ();

  /* Quits as the user would: the window checks the mail queue first. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
  return G_SOURCE_REMOVE;
}

static void
on_activate_cb (GApplication *application)
{
  g_idle_add (on_body_idle_cb, NULL);
}

/* Runs the app as main() does, with @body once its window is up; checks
 * that quitting stopped the app's own daemon.
 */
static void
run_app (void (*body) (void))
{
  g_autofree char *pid = NULL;
  EdLocalDaemon *daemon;
  int status;

  app = ed_application_new (APP_ID ".Test", G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate_cb), NULL);
  current_body = body;
  status = g_application_run (G_APPLICATION (app), 0, NULL);
  g_assert_cmpint (status, ==, 0);

  daemon = ed_application_get_local_daemon (app);
  if (daemon != NULL)
    {
      g_assert_cmpint (ed_local_daemon_get_state (daemon), ==, ED_LOCAL_DAEMON_STOPPED);
      g_assert_null (ed_local_daemon_get_pid (daemon));
    }
  pid = g_object_get_data (G_OBJECT (app), "daemon-pid") ? g_strdup (g_object_get_data (G_OBJECT (app), "daemon-pid")) : NULL;
  if (pid != NULL)
    g_assert_cmpint (kill (ed_test_parse_pid (pid), 0), !=, 0);

  g_clear_object (&app);
  window = NULL;
}

/* Remembers the daemon's pid, to check that it is gone after quitting. */
static void
note_daemon_pid (void)
{
  EdLocalDaemon *daemon = ed_application_get_local_daemon (app);

  g_assert_nonnull (daemon);
  g_object_set_data_full (G_OBJECT (app), "daemon-pid", g_strdup (ed_local_daemon_get_pid (daemon)), g_free);
}

static const char *
main_page (void)
{
  GtkWidget *stack = ed_test_app_find_widget (GTK_WIDGET (window), GTK_TYPE_STACK, NULL);

  return gtk_stack_get_visible_child_name (GTK_STACK (stack));
}

static gboolean
is_connected (gpointer user_data)
{
  return ed_window_get_client (window) != NULL && g_strcmp0 (main_page (), "main") == 0;
}

static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  return ed_test_app_find_widget (root, GTK_TYPE_LABEL, text);
}

static EdEventDialog *
find_event_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) toplevel = g_list_model_get_item (toplevels, i);

      if (ED_IS_EVENT_DIALOG (toplevel) && gtk_widget_get_visible (GTK_WIDGET (toplevel)))
        return ED_EVENT_DIALOG (toplevel);
    }

  return NULL;
}

static gboolean
has_event_dialog (gpointer user_data)
{
  return (find_event_dialog () != NULL) == GPOINTER_TO_INT (user_data);
}

static AdwActionRow *
dialog_row (EdEventDialog *dialog,
            const char    *title)
{
  GtkWidget *row = ed_test_app_find_widget (GTK_WIDGET (dialog), ADW_TYPE_ACTION_ROW, title);

  g_assert_nonnull (row);
  return ADW_ACTION_ROW (row);
}

static void
set_field (EdEventDialog *dialog,
           const char    *title,
           const char    *text)
{
  GtkWidget *entry = adw_action_row_get_activatable_widget (dialog_row (dialog, title));

  g_assert_true (GTK_IS_ENTRY (entry));
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
}

static const char *
get_field (EdEventDialog *dialog,
           const char    *title)
{
  return gtk_editable_get_text (GTK_EDITABLE (adw_action_row_get_activatable_widget (dialog_row (dialog, title))));
}

static gboolean
row_has_error (gpointer user_data)
{
  AdwActionRow *row = user_data;

  return gtk_widget_has_css_class (GTK_WIDGET (row), "ed-field-invalid");
}

/* The sidebar's list: the guest page's GtkColumnView and its drop-down's
 * popover have a GtkListView inside them too.
 */
static GtkWidget *
find_events_view (GtkWidget *widget)
{
  if (GTK_IS_COLUMN_VIEW (widget) || GTK_IS_POPOVER (widget))
    return NULL;
  if (GTK_IS_LIST_VIEW (widget))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_events_view (child);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static guint
n_events (void)
{
  GtkWidget *view = find_events_view (GTK_WIDGET (window));

  return g_list_model_get_n_items (G_LIST_MODEL (gtk_list_view_get_model (GTK_LIST_VIEW (view))));
}

static gboolean
has_n_events (gpointer user_data)
{
  return n_events () == GPOINTER_TO_UINT (user_data);
}

/* In the sidebar (its list or its empty state), not in the header's
 * title, which shows the event's name too but hides it behind the view
 * switcher once the event has more than one page. */
static gboolean
sidebar_shows (gpointer user_data)
{
  GtkWidget *view = find_events_view (GTK_WIDGET (window));
  GtkWidget *sidebar = view ? gtk_widget_get_ancestor (view, GTK_TYPE_STACK) : NULL;
  GtkWidget *label = sidebar ? find_label (sidebar, user_data) : NULL;

  return label != NULL && gtk_widget_get_mapped (label);
}

static void
first_start_local (void)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "eventdesk", NULL);
  g_autofree char *db = g_build_filename (data_dir, "eventdesk.db", NULL);
  g_autofree char *server = ed_secret_local_server (data_dir);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;
  GtkWidget *local_row;
  EdLocalDaemon *daemon;

  ed_test_app_wait_drawn (GTK_WIDGET (window));

  /* A first start asks where the events are. */
  local_row = ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_ACTION_ROW, "This Computer");
  g_assert_nonnull (local_row);
  g_assert_true (gtk_widget_get_mapped (local_row));
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_ACTION_ROW, "A Server"));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "connect-choice"));

  g_signal_emit_by_name (local_row, "activate");
  g_assert_true (ed_test_app_wait_until (is_connected, NULL, 0));

  /* Its own daemon runs on loopback with the data in the user's folder. */
  daemon = ed_application_get_local_daemon (app);
  g_assert_nonnull (daemon);
  g_assert_cmpint (ed_local_daemon_get_state (daemon), ==, ED_LOCAL_DAEMON_RUNNING);
  g_assert_true (g_str_has_prefix (ed_local_daemon_get_url (daemon), "http://127.0.0.1:"));
  g_assert_cmpstr (ed_client_get_base_url (ed_window_get_client (window)), ==, ed_local_daemon_get_url (daemon));
  g_assert_cmpstr (ed_local_daemon_get_data_dir (daemon), ==, data_dir);
  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (ed_client_get_username (ed_window_get_client (window)), ==, "local");

  /* The generated password is in the keyring. */
  ed_secret_lookup_async (server, "local", NULL, ed_test_app_on_result_cb, &result);
  password = ed_secret_lookup_finish (ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (password);
  g_assert_cmpuint (strlen (password), >=, 24);

  g_assert_true (ed_test_app_wait_until (sidebar_shows, (gpointer) "No Events", 0));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "events-empty"));
  note_daemon_pid ();
}

static void
test_first_start_local (void)
{
  run_app (first_start_local);
}

static void
event_create_edit_delete (void)
{
  EdEventDialog *dialog;
  AdwActionRow *name_row, *ends_row;

  /* A later start reconnects without asking. */
  g_assert_true (ed_test_app_wait_until (is_connected, NULL, 0));
  note_daemon_pid ();

  gtk_widget_activate_action (GTK_WIDGET (window), "win.new-event", NULL);
  g_assert_true (ed_test_app_wait_until (has_event_dialog, GINT_TO_POINTER (TRUE), 0));
  dialog = find_event_dialog ();

  /* Mistakes: no name, an end before the start. */
  set_field (dialog, "Name", "");
  set_field (dialog, "Venue", "Town Hall");
  set_field (dialog, "Starts", "2026-12-31 19:00");
  set_field (dialog, "Ends", "2026-12-30 10:00");
  set_field (dialog, "Time Zone", "Europe/Berlin");
  gtk_widget_activate_action (GTK_WIDGET (dialog), "event.save", NULL);

  name_row = dialog_row (dialog, "Name");
  ends_row = dialog_row (dialog, "Ends");
  g_assert_true (ed_test_app_wait_until (row_has_error, name_row, 0));
  g_assert_true (row_has_error (ends_row));
  g_assert_false (row_has_error (dialog_row (dialog, "Venue")));
  g_assert_cmpstr (adw_action_row_get_subtitle (name_row), !=, "");
  g_assert_cmpstr (adw_action_row_get_subtitle (ends_row), !=, "");
  /* Nothing typed is lost. */
  g_assert_cmpstr (get_field (dialog, "Venue"), ==, "Town Hall");
  g_assert_cmpstr (get_field (dialog, "Ends"), ==, "2026-12-30 10:00");
  g_assert_true (find_event_dialog () == dialog);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (dialog), "event-dialog-invalid"));

  set_field (dialog, "Name", "Winter Gala");
  set_field (dialog, "Ends", "2026-12-31 23:30");
  gtk_widget_activate_action (GTK_WIDGET (dialog), "event.save", NULL);
  g_assert_true (ed_test_app_wait_until (has_event_dialog, GINT_TO_POINTER (FALSE), 0));

  /* The new event is in the sidebar, shown, with its numbers. */
  g_assert_true (ed_test_app_wait_until (has_n_events, GUINT_TO_POINTER (1), 0));
  g_assert_cmpint (ed_window_get_event_id (window), >, 0);
  g_assert_nonnull (find_label (GTK_WIDGET (window), "Winter Gala"));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "2026-12-31 19:00"));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "0 of 100 seats taken · 0 pending"));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "event-selected"));

  /* Editing keeps what was saved and changes what is typed. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.edit-event", NULL);
  g_assert_true (ed_test_app_wait_until (has_event_dialog, GINT_TO_POINTER (TRUE), 0));
  dialog = find_event_dialog ();
  g_assert_cmpstr (get_field (dialog, "Name"), ==, "Winter Gala");
  g_assert_cmpstr (get_field (dialog, "Starts"), ==, "2026-12-31 19:00");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (adw_action_row_get_activatable_widget (dialog_row (dialog, "Capacity"))), 250);
  set_field (dialog, "Name", "Winter Gala 2026");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (dialog), "event-dialog-edit"));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "event.save", NULL);
  g_assert_true (ed_test_app_wait_until (has_event_dialog, GINT_TO_POINTER (FALSE), 0));
  g_assert_true (ed_test_app_wait_until (sidebar_shows, (gpointer) "0 of 250 seats taken · 0 pending", 0));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "Winter Gala 2026"));
  g_assert_cmpuint (n_events (), ==, 1);

  /* Deleting asks first. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.delete-event", NULL);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    AdwMessageDialog *confirm = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GObject) toplevel = g_list_model_get_item (toplevels, i);

        if (ADW_IS_MESSAGE_DIALOG (toplevel))
          confirm = ADW_MESSAGE_DIALOG (toplevel);
      }
    g_assert_nonnull (confirm);
    g_assert_cmpstr (adw_message_dialog_get_heading (confirm), ==, "Delete “Winter Gala 2026”?");
    g_free (ed_test_app_save_screenshot (GTK_WIDGET (confirm), "event-delete-confirm"));
    adw_message_dialog_response (confirm, "delete");
  }
  g_assert_true (ed_test_app_wait_until (has_n_events, GUINT_TO_POINTER (0), 0));
  g_assert_cmpint (ed_window_get_event_id (window), ==, 0);
}

static void
test_event_create_edit_delete (void)
{
  run_app (event_create_edit_delete);
}

static gboolean
banner_shows (gpointer user_data)
{
  GtkWidget *revealer = ed_test_app_find_widget (GTK_WIDGET (window), GTK_TYPE_REVEALER, NULL);
  GtkWidget *label;

  while (revealer != NULL && !gtk_widget_has_css_class (gtk_revealer_get_child (GTK_REVEALER (revealer)), "ed-banner"))
    revealer = NULL;
  if (revealer == NULL)
    return FALSE;

  label = ed_test_app_find_widget (revealer, GTK_TYPE_LABEL, NULL);
  if (user_data == NULL)
    return !gtk_revealer_get_reveal_child (GTK_REVEALER (revealer));

  return gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)) &&
         strstr (gtk_label_get_text (GTK_LABEL (label)), user_data) != NULL;
}

static gboolean
daemon_running (gpointer user_data)
{
  EdLocalDaemon *daemon = user_data;

  return ed_local_daemon_get_state (daemon) == ED_LOCAL_DAEMON_RUNNING;
}

static void
daemon_dies (void)
{
  EdLocalDaemon *daemon;
  g_autofree char *old_pid = NULL;

  g_assert_true (ed_test_app_wait_until (is_connected, NULL, 0));
  daemon = ed_application_get_local_daemon (app);
  old_pid = g_strdup (ed_local_daemon_get_pid (daemon));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.new-event", NULL);
  g_assert_true (ed_test_app_wait_until (has_event_dialog, GINT_TO_POINTER (TRUE), 0));
  set_field (find_event_dialog (), "Name", "Summer Fête");
  set_field (find_event_dialog (), "Starts", "2027-06-21 16:00");
  gtk_widget_activate_action (GTK_WIDGET (find_event_dialog ()), "event.save", NULL);
  g_assert_true (ed_test_app_wait_until (has_n_events, GUINT_TO_POINTER (1), 0));

  /* A crash: the app says so, and starts it again. */
  g_assert_cmpint (kill (ed_test_parse_pid (old_pid), SIGKILL), ==, 0);
  g_assert_true (ed_test_app_wait_until (banner_shows, (gpointer) "stopped unexpectedly", 0));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "banner-restarting"));

  g_assert_true (ed_test_app_wait_until (daemon_running, daemon, 0));
  g_assert_cmpstr (ed_local_daemon_get_pid (daemon), !=, old_pid);
  g_assert_true (ed_test_app_wait_until (banner_shows, NULL, 0));
  /* Same data, and the client works again. */
  g_assert_true (ed_test_app_wait_until (has_n_events, GUINT_TO_POINTER (1), 0));
  g_assert_nonnull (find_label (GTK_WIDGET (window), "Summer Fête"));
  note_daemon_pid ();
}

static void
test_daemon_dies (void)
{
  run_app (daemon_dies);
}

static void
later_start (void)
{
  GtkWidget *local_row;

  /* The choice is remembered: no question, straight to the events. */
  local_row = ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_ACTION_ROW, "This Computer");
  g_assert_false (gtk_widget_get_mapped (local_row));
  g_assert_true (ed_test_app_wait_until (is_connected, NULL, 0));
  g_assert_true (ed_test_app_wait_until (has_n_events, GUINT_TO_POINTER (1), 0));
  /* The last event shown is shown again. */
  g_assert_true (ed_test_app_wait_until (sidebar_shows, (gpointer) "Summer Fête", 0));
  g_assert_cmpint (ed_window_get_event_id (window), >, 0);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "later-start"));
  note_daemon_pid ();

  /* Ctrl+? shows the shortcuts, with the accelerators the app sets. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL);
  {
    GtkWindow *overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)) ?
                         GTK_WINDOW (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window))) : NULL;
    g_auto(GStrv) search = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "guests.search");

    g_assert_nonnull (overlay);
    ed_test_app_wait_drawn (GTK_WIDGET (overlay));
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));
    g_assert_cmpstr (search[0], ==, "<Control>f");
    g_free (ed_test_app_save_screenshot (GTK_WIDGET (overlay), "shortcuts"));
    gtk_window_close (overlay);
  }
}

static void
test_later_start (void)
{
  run_app (later_start);
}

static void
connect_to_server (const char *url,
                   const char *username,
                   const char *password)
{
  GtkWidget *row;

  row = ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_ENTRY_ROW, "Server Address");
  gtk_editable_set_text (GTK_EDITABLE (row), url);
  row = ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_ENTRY_ROW, "Username");
  gtk_editable_set_text (GTK_EDITABLE (row), username);
  row = ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_PASSWORD_ENTRY_ROW, "Password");
  gtk_editable_set_text (GTK_EDITABLE (row), password);
  gtk_widget_activate_action (ed_test_app_find_widget (GTK_WIDGET (window), ED_TYPE_CONNECT_PAGE, NULL),
                              "connect.server", NULL);
}

static gboolean
shows_error (gpointer user_data)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  /* Any mapped error label with the text. */
  g_ptr_array_add (stack, GTK_WIDGET (window));
  while (stack->len > 0)
    {
      GtkWidget *widget = g_ptr_array_steal_index (stack, stack->len - 1);

      if (GTK_IS_LABEL (widget) && gtk_widget_has_css_class (widget, "ed-connect-error") &&
          gtk_widget_get_mapped (widget) && strstr (gtk_label_get_text (GTK_LABEL (widget)), user_data))
        return TRUE;
      for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
        g_ptr_array_add (stack, child);
    }
  return FALSE;
}

static EdTestDaemon *server_daemon;

static void
server_first (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("org.eventdesk.Eventdesk");
  g_autofree char *server_url = NULL;
  g_autofree char *username = NULL;

  ed_test_app_wait_drawn (GTK_WIDGET (window));
  g_signal_emit_by_name (ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_ACTION_ROW, "A Server"), "activate");

  connect_to_server (ed_test_daemon_get_url (server_daemon), "alice", "wrong");
  g_assert_true (ed_test_app_wait_until (shows_error, (gpointer) "The username or password is wrong", 0));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "connect-server-wrong-password"));

  connect_to_server ("http://127.0.0.1:1", "alice", "correct horse");
  g_assert_true (ed_test_app_wait_until (shows_error, (gpointer) "Cannot reach http://127.0.0.1:1", 0));

  connect_to_server (ed_test_daemon_get_url (server_daemon), "alice", "correct horse");
  g_assert_true (ed_test_app_wait_until (is_connected, NULL, 0));
  g_assert_cmpstr (ed_client_get_base_url (ed_window_get_client (window)), ==, ed_test_daemon_get_url (server_daemon));
  server_url = g_settings_get_string (settings, "server-url");
  g_assert_cmpstr (server_url, ==, ed_test_daemon_get_url (server_daemon));
  username = g_settings_get_string (settings, "username");
  g_assert_cmpstr (username, ==, "alice");
  /* No daemon of its own for a server. */
  g_assert_null (ed_application_get_local_daemon (app));
}

static void
server_again (void)
{
  /* The next start logs in with the keyring's password. */
  g_assert_true (ed_test_app_wait_until (is_connected, NULL, 0));
  g_assert_cmpstr (ed_client_get_username (ed_window_get_client (window)), ==, "alice");
  g_assert_null (ed_application_get_local_daemon (app));

  /* The server goes away: the next call finds out, the banner says so
   * and counts down to the next try.
   */
  g_assert_cmpint (ed_test_daemon_stop (server_daemon), ==, 0);
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) answer = NULL;

    ed_client_call_async (ed_window_get_client (window), "GET", "/api/v1/events", NULL, NULL,
                          ed_test_app_on_result_cb, &result);
    answer = ed_client_call_finish (ed_window_get_client (window), ed_test_app_wait_result (&result), &error);
    g_assert_null (answer);
    g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE);
  }
  g_assert_true (ed_test_app_wait_until (banner_shows, (gpointer) "Connection lost — reconnecting", 0));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "banner-connection-lost"));
  /* Tries again, fails again, waits longer: still there. */
  ed_test_app_wait_ms (2500);
  g_assert_true (banner_shows ((gpointer) "Connection lost"));
}

static void
test_server (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("org.eventdesk.Eventdesk");

  server_daemon = ed_test_daemon_new ();
  ed_test_daemon_add_admin (server_daemon, "alice", "correct horse");
  ed_test_daemon_start (server_daemon);

  /* Starting over: the choice again. */
  g_settings_reset (settings, "connection-mode");
  run_app (server_first);
  run_app (server_again);

  g_clear_pointer (&server_daemon, ed_test_daemon_free);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSettings) settings = NULL;

  ed_test_app_init (&argc, &argv);
  adw_init ();
  /* The memory backend lives as long as someone uses it: this keeps the
   * settings from one start of the app to the next, as dconf would.
   */
  /* NOLINTNEXTLINE(clang-analyzer-deadcode.DeadStores): held, never read: see above */
  settings = g_settings_new ("org.eventdesk.Eventdesk");

  g_test_add_func ("/app/window/first-start-local", test_first_start_local);
  g_test_add_func ("/app/window/event-create-edit-delete", test_event_create_edit_delete);
  g_test_add_func ("/app/window/daemon-dies", test_daemon_dies);
  g_test_add_func ("/app/window/later-start", test_later_start);
  g_test_add_func ("/app/window/server", test_server);

  return g_test_run ();
}
