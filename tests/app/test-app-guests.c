/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "ed-application.h"
#include "ed-guest-dialog.h"
#include "ed-guest-list-model.h"
#include "ed-guest-object.h"
#include "ed-guests-page.h"
#include "ed-import-wizard.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"
#include "ed-window.h"

/* The Guests page, the guest dialog, the import wizard and the export,
 * in windows under Xvfb against the real daemon. Screenshots of each
 * screen go to $ED_SCREENSHOT_DIR.
 */

#define N_GUESTS 1000

typedef struct
{
  EdTestGuestServer *server;
  char              *dir;
  gint64             event_id;
  GtkWindow         *window;
  EdGuestsPage      *page;
} Fixture;

static gboolean
page_idle (gpointer data)
{
  EdGuestListModel *model = ed_guests_page_get_model (data);

  return model != NULL && !ed_guest_list_model_get_loading (model);
}

static void
wait_page_idle (Fixture *fixture)
{
  /* The search entry waits 250 ms before it searches. */
  ed_test_app_wait_ms (350);
  g_assert_true (ed_test_app_wait_until (page_idle, fixture->page, 0));
  ed_test_app_wait_ms (100);
}

static gsize css_loaded;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean with_guests = GPOINTER_TO_INT (user_data);
  AdwStyleManager *style = adw_style_manager_get_default ();

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  /* What EdApplication loads for the app: the badges' style. */
  if (g_once_init_enter (&css_loaded))
    {
      GtkCssProvider *provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_resource (provider, "/org/eventdesk/Eventdesk/style.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      g_once_init_leave (&css_loaded, 1);
    }
  fixture->server = ed_test_guest_server_new ();
  fixture->dir = g_dir_make_tmp ("test-app-guests-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->event_id = ed_test_guest_create_event (fixture->server->client, "Winter Gala", 5000);

  if (with_guests)
    {
      g_autoptr(GFile) csv = ed_test_guest_write_csv (fixture->dir, N_GUESTS);
      g_autoptr(JsonObject) report = ed_test_guest_import (fixture->server->client, fixture->event_id, csv);

      g_assert_cmpint (json_object_get_int_member (report, "imported"), ==, N_GUESTS);
      g_file_delete (csv, NULL, NULL);
    }

  fixture->window = GTK_WINDOW (adw_window_new ());
  gtk_window_set_default_size (fixture->window, 1100, 720);
  fixture->page = g_object_new (ED_TYPE_GUESTS_PAGE,
                                "client", fixture->server->client,
                                "event-id", fixture->event_id,
                                NULL);
  adw_window_set_content (ADW_WINDOW (fixture->window), GTK_WIDGET (fixture->page));
  gtk_window_present (fixture->window);
  ed_test_app_wait_drawn (GTK_WIDGET (fixture->window));
  wait_page_idle (fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  gtk_window_destroy (fixture->window);
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->server, ed_test_guest_server_free);
}

typedef struct
{
  GtkWidget  *root;
  const char *text;
} Shown;

static gboolean
text_shown (gpointer data)
{
  Shown *shown = data;

  return ed_test_guest_find_text (shown->root, shown->text) != NULL;
}

/* A label, e.g. a toast's title. */
static gboolean
label_shown (gpointer data)
{
  Shown *shown = data;

  return ed_test_app_find_widget (shown->root, GTK_TYPE_LABEL, shown->text) != NULL;
}

static void
assert_shown (GtkWidget  *root,
              const char *text)
{
  Shown shown = { root, text };

  if (!ed_test_app_wait_until (text_shown, &shown, 0))
    g_error ("“%s” is not on screen", text);
}

static guint
n_items (Fixture *fixture)
{
  return g_list_model_get_n_items (G_LIST_MODEL (ed_guests_page_get_model (fixture->page)));
}

static void
test_page (Fixture       *fixture,
           gconstpointer  user_data)
{
  EdGuestListModel *model = ed_guests_page_get_model (fixture->page);
  GtkColumnView *view = ed_guests_page_get_column_view (fixture->page);
  GtkWidget *search = ed_test_app_find_widget (GTK_WIDGET (fixture->page), GTK_TYPE_SEARCH_ENTRY, NULL);
  GtkWidget *dropdown = ed_test_app_find_widget (GTK_WIDGET (fixture->page), GTK_TYPE_DROP_DOWN, NULL);
  GtkScrolledWindow *scrolled = GTK_SCROLLED_WINDOW (gtk_widget_get_parent (GTK_WIDGET (view)));
  GtkAdjustment *vadjustment = gtk_scrolled_window_get_vadjustment (scrolled);
  GListModel *columns = gtk_column_view_get_columns (view);
  g_autoptr(GtkColumnViewColumn) email_column = g_list_model_get_item (columns, 1);
  gint64 accepted_id;

  g_assert_cmpuint (n_items (fixture), ==, N_GUESTS);
  assert_shown (GTK_WIDGET (view), "First 0000 Last0000");
  assert_shown (GTK_WIDGET (view), "guest0005@example.com");
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (fixture->page), GTK_TYPE_LABEL, "1000 guests"));

  /* An answer shows as a badge. */
  {
    g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (model), 1);
    g_autofree char *path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, ed_guest_object_get_id (guest));
    g_autoptr(JsonNode) reply = ed_test_guest_call (fixture->server->client, "PATCH", path,
                                                    "{\"status\": \"accepted\", \"party_size\": 3}", NULL);

    accepted_id = ed_guest_object_get_id (guest);
    ed_guest_list_model_reload (model);
    wait_page_idle (fixture);
    g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (view), GTK_TYPE_LABEL, "Accepted"));
  }
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "guests-page"));

  /* The scroll bar dragged to the end: the last guests are drawn. */
  gtk_adjustment_set_value (vadjustment, gtk_adjustment_get_upper (vadjustment));
  assert_shown (GTK_WIDGET (view), "guest0999@example.com");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "guests-page-end"));

  /* Search as you type. */
  gtk_editable_set_text (GTK_EDITABLE (search), "last0042");
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, 1);
  g_assert_cmpstr (ed_guest_list_model_get_query (model), ==, "last0042");
  assert_shown (GTK_WIDGET (view), "guest0042@example.com");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "guests-page-search"));

  gtk_editable_set_text (GTK_EDITABLE (search), "nobody-has-this-name");
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, 0);
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (fixture->page), ADW_TYPE_STATUS_PAGE, NULL));
  gtk_editable_set_text (GTK_EDITABLE (search), "");
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, N_GUESTS);

  /* The status filter. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 2);
  wait_page_idle (fixture);
  g_assert_cmpstr (ed_guest_list_model_get_status (model), ==, "accepted");
  g_assert_cmpuint (n_items (fixture), ==, 1);
  {
    g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (model), 0);

    g_assert_cmpint (ed_guest_object_get_id (guest), ==, accepted_id);
  }
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 0);
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, N_GUESTS);

  /* Sorting by a column header maps to the API's sort. */
  gtk_column_view_sort_by_column (view, email_column, GTK_SORT_DESCENDING);
  wait_page_idle (fixture);
  g_assert_cmpstr (ed_guest_list_model_get_sort (model), ==, "-email");
  gtk_adjustment_set_value (vadjustment, 0);
  assert_shown (GTK_WIDGET (view), "guest0999@example.com");
  gtk_column_view_sort_by_column (view, email_column, GTK_SORT_ASCENDING);
  wait_page_idle (fixture);
  g_assert_cmpstr (ed_guest_list_model_get_sort (model), ==, "email");
}

static gboolean
selection_empty (gpointer data)
{
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (data);

  return gtk_bitset_is_empty (selected);
}

/* Launches an invitation to nobody (no guest is on the waiting list): the
 * event's invitation, sent, done at once. */
static gint64
launch_invitation (Fixture *fixture)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/campaigns", fixture->event_id);
  g_autofree char *launch = NULL;
  g_autoptr(JsonNode) campaign = ed_test_guest_call (fixture->server->client, "POST", path,
                                                     "{\"audience\":\"status:waitlisted\"}", NULL);
  g_autoptr(JsonNode) launched = NULL;
  gint64 id = json_object_get_int_member (json_node_get_object (campaign), "id");

  launch = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/launch", id);
  launched = ed_test_guest_call (fixture->server->client, "POST", launch, "{}", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (launched), "state"), ==, "done");
  return id;
}

/* The campaign of the guest's one message, or 0 when there is none. */
static gint64
invitation_of (Fixture *fixture,
               gint64   guest_id)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT "/deliveries", guest_id);
  g_autoptr(JsonNode) reply = ed_test_guest_call (fixture->server->client, "GET", path, NULL, NULL);
  JsonArray *items = json_object_get_array_member (json_node_get_object (reply), "items");

  g_assert_cmpuint (json_array_get_length (items), <=, 1);
  if (json_array_get_length (items) == 0)
    return 0;
  return json_object_get_int_member (json_array_get_object_element (items, 0), "campaign_id");
}

static void
test_bulk_actions (Fixture       *fixture,
                   gconstpointer  user_data)
{
  EdGuestListModel *model = ed_guests_page_get_model (fixture->page);
  GtkSelectionModel *selection = gtk_column_view_get_model (ed_guests_page_get_column_view (fixture->page));
  GtkWidget *resend;
  gint64 ids[3];
  gint64 campaign_id;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (model), i);

      ids[i] = ed_guest_object_get_id (guest);
    }

  /* Resend Invitation: for a selection only. */
  resend = ed_test_app_find_widget (GTK_WIDGET (fixture->page), GTK_TYPE_BUTTON, "Resend Invitation");
  g_assert_nonnull (resend);
  g_assert_false (gtk_widget_is_sensitive (resend));
  g_assert_nonnull (gtk_widget_get_tooltip_text (resend));
  gtk_selection_model_select_range (selection, 0, 3, TRUE);
  g_assert_true (gtk_widget_is_sensitive (resend));

  /* With no invitation launched yet, the toast says what to do. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "guests.resend", NULL));
  g_assert_true (ed_test_app_wait_until (label_shown, &(Shown) { GTK_WIDGET (fixture->page),
                 "This event’s invitation has not been sent yet: launch an invitation campaign first" }, 60000));
  g_assert_true (gtk_widget_is_sensitive (resend));

  /* Once it was sent, the selected guests get it again, and only they;
   * a selected row not fetched yet is left out, and the toast says so. */
  campaign_id = launch_invitation (fixture);
  g_assert_false (ed_guest_list_model_is_loaded (model, 500));
  gtk_selection_model_select_item (selection, 500, FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "guests.resend", NULL));
  g_assert_true (ed_test_app_wait_until (selection_empty, selection, 60000));
  g_assert_true (ed_test_app_wait_until (label_shown, &(Shown) { GTK_WIDGET (fixture->page),
                 "Invitation queued for 3 guests; 1 selected guest had not arrived yet and was left out" }, 60000));
  wait_page_idle (fixture);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_assert_cmpint (invitation_of (fixture, ids[i]), ==, campaign_id);
  {
    g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (model), 3);

    g_assert_cmpint (invitation_of (fixture, ed_guest_object_get_id (guest)), ==, 0);
  }

  gtk_selection_model_select_range (selection, 0, 3, TRUE);
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (fixture->page), GTK_TYPE_LABEL, "3 of 1000 guests selected"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "guests.set-status", "s", "declined"));
  /* The selection is let go once every guest is changed, then the list reloads. */
  g_assert_true (ed_test_app_wait_until (selection_empty, selection, 60000));
  wait_page_idle (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, ids[i]);
      g_autoptr(JsonNode) reply = ed_test_guest_call (fixture->server->client, "GET", path, NULL, NULL);

      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, "declined");
    }
  {
    g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (model), 0);

    g_assert_cmpstr (ed_guest_object_get_status (guest), ==, "declined");
  }
}

static GtkWidget *
find_toplevel (GType type)
{
  GtkWidget *found = NULL;

  for (GList *l = gtk_window_list_toplevels (); l != NULL; l = g_list_delete_link (l, l))
    if (g_type_is_a (G_OBJECT_TYPE (l->data), type) && gtk_widget_get_visible (l->data))
      found = l->data;
  g_assert_nonnull (found);
  return found;
}

static gboolean
dialog_idle (gpointer data)
{
  return !ed_guest_dialog_get_busy (data);
}

static gboolean
has_history (gpointer data)
{
  return ed_guest_dialog_get_n_history_rows (data) > 0;
}

static gboolean
has_row_starting (GtkWidget  *root,
                  const char *prefix)
{
  if (ADW_IS_PREFERENCES_ROW (root) &&
      g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)), prefix))
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    if (has_row_starting (child, prefix))
      return TRUE;
  return FALSE;
}

/* The kind comes first; the state may still change as the mail goes out. */
static gboolean
has_confirmation (gpointer data)
{
  return has_row_starting (data, "Confirmation: ");
}

static void
on_saved_cb (EdGuestDialog *dialog,
             JsonObject    *guest,
             gint64        *id)
{
  *id = json_object_get_int_member (guest, "id");
}

static void
test_dialog (Fixture       *fixture,
             gconstpointer  user_data)
{
  EdGuestDialog *dialog;
  EdGuestListModel *model = ed_guests_page_get_model (fixture->page);
  gint64 saved_id = 0;

  /* Ctrl+N's action opens the dialog for a new guest. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "guests.new", NULL));
  dialog = ED_GUEST_DIALOG (find_toplevel (ED_TYPE_GUEST_DIALOG));
  g_signal_connect (dialog, "saved", G_CALLBACK (on_saved_cb), &saved_id);
  ed_test_app_wait_drawn (GTK_WIDGET (dialog));

  /* The server's message shows at the field, and what was typed stays. */
  ed_guest_dialog_set_text (dialog, "email", "zoë at example");
  ed_guest_dialog_set_text (dialog, "first_name", "Zoë");
  ed_guest_dialog_set_text (dialog, "last_name", "Adler");
  ed_guest_dialog_save (dialog);
  g_assert_true (ed_test_app_wait_until (dialog_idle, dialog, 0));
  g_assert_nonnull (ed_guest_dialog_get_field_error (dialog, "email"));
  g_assert_true (g_str_has_prefix (ed_guest_dialog_get_field_error (dialog, "email"), "Email is not a valid address"));
  g_assert_null (ed_guest_dialog_get_field_error (dialog, "first_name"));
  g_assert_cmpstr (ed_guest_dialog_get_text (dialog, "email"), ==, "zoë at example");
  g_assert_cmpstr (ed_guest_dialog_get_text (dialog, "first_name"), ==, "Zoë");
  g_assert_cmpint (saved_id, ==, 0);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (dialog), "guest-dialog-error"));

  /* An address another guest has. */
  ed_guest_dialog_set_text (dialog, "email", "GUEST0007@example.com");
  ed_guest_dialog_save (dialog);
  g_assert_true (ed_test_app_wait_until (dialog_idle, dialog, 0));
  g_assert_nonnull (ed_guest_dialog_get_field_error (dialog, "email"));
  g_assert_nonnull (strstr (ed_guest_dialog_get_field_error (dialog, "email"), "already"));
  g_assert_cmpstr (ed_guest_dialog_get_text (dialog, "last_name"), ==, "Adler");

  /* Saved: the dialog closes. */
  g_object_ref (dialog);
  ed_guest_dialog_set_text (dialog, "email", "zoe@example.com");
  ed_guest_dialog_save (dialog);
  g_assert_true (ed_test_app_wait_until (dialog_idle, dialog, 0));
  g_assert_cmpint (saved_id, >, 0);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_object_unref (dialog);

  /* The page reloads: the new guest is in the list. */
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, N_GUESTS + 1);
  {
    g_autoptr(EdGuestObject) last = g_list_model_get_item (G_LIST_MODEL (model), N_GUESTS);

    wait_page_idle (fixture);
    g_clear_object (&last);
    last = g_list_model_get_item (G_LIST_MODEL (model), N_GUESTS);
    g_assert_cmpstr (ed_guest_object_get_email (last), ==, "zoe@example.com");
    g_assert_cmpstr (ed_guest_object_get_name (last), ==, "Zoë Adler");
  }

  /* Editing: the answer, then the history shows it. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, saved_id);
    g_autoptr(JsonNode) reply = ed_test_guest_call (fixture->server->client, "PATCH", path,
                                                    "{\"status\": \"accepted\", \"party_size\": 2}", NULL);

    dialog = ed_guest_dialog_new (fixture->server->client, fixture->event_id, json_node_get_object (reply));
    gtk_window_set_transient_for (GTK_WINDOW (dialog), fixture->window);
    gtk_window_present (GTK_WINDOW (dialog));
    g_assert_true (ed_test_app_wait_until (has_history, dialog, 0));
    g_assert_cmpuint (ed_guest_dialog_get_n_history_rows (dialog), ==, 1);
    g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (dialog), ADW_TYPE_ACTION_ROW,
                                               "Pending → Accepted, party of 2"));
    /* The delivery log, from /deliveries: the acceptance's confirmation. */
    g_assert_true (ed_test_app_wait_until (has_confirmation, dialog, 0));
    g_free (ed_test_app_save_screenshot (GTK_WIDGET (dialog), "guest-dialog-edit"));

    /* A party larger than the event allows: refused at the answer. */
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (ed_test_app_find_widget (GTK_WIDGET (dialog), GTK_TYPE_SPIN_BUTTON, NULL)), 9);
    ed_guest_dialog_save (dialog);
    g_assert_true (ed_test_app_wait_until (dialog_idle, dialog, 0));
    g_assert_nonnull (ed_guest_dialog_get_field_error (dialog, "party_size"));
    gtk_window_destroy (GTK_WINDOW (dialog));
  }
}

static gboolean
wizard_at (gpointer data)
{
  EdImportWizard *wizard = data;
  const char *wanted = g_object_get_data (G_OBJECT (wizard), "wanted-step");

  return g_strcmp0 (ed_import_wizard_get_step (wizard), wanted) == 0;
}

static void
wait_step (EdImportWizard *wizard,
           const char     *step)
{
  g_object_set_data (G_OBJECT (wizard), "wanted-step", (gpointer) step);
  if (!ed_test_app_wait_until (wizard_at, wizard, 60000))
    g_error ("The wizard is at “%s”, not “%s”", ed_import_wizard_get_step (wizard), step);
}

static gboolean
file_has_content (gpointer data)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (data, &contents, NULL, NULL) && g_str_has_suffix (contents, "\n");
}

static void
test_import (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "Gästeliste.csv", NULL);
  g_autofree char *rejected_path = g_build_filename (fixture->dir, "rejected.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) rejected_file = g_file_new_for_path (rejected_path);
  g_autoptr(GString) csv = g_string_new ("E-Mail;Vorname;Nachname;Firma;Notiz\r\n");
  g_autofree char *rejected = NULL;
  EdGuestListModel *model = ed_guests_page_get_model (fixture->page);
  EdImportWizard *wizard;
  JsonObject *report;

  g_assert_cmpuint (n_items (fixture), ==, 0);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "guests-page-empty"));

  for (guint i = 0; i < 300; i++)
    g_string_append_printf (csv, "jörg%03u@beispiel.de;Jörg;Müller%03u;\"ACME; GmbH\";intern %u\r\n", i, i, i);
  g_string_append (csv, "kaputt@@beispiel.de;Kaputt;Adresse;X;y\r\n");
  g_string_append (csv, ";Ohne;Adresse;X;y\r\n");
  g_assert_true (g_file_set_contents (path, csv->str, (gssize) csv->len, NULL));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "guests.import", NULL));
  wizard = ED_IMPORT_WIZARD (find_toplevel (ED_TYPE_IMPORT_WIZARD));
  g_assert_cmpstr (ed_import_wizard_get_step (wizard), ==, "choose");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (wizard), "import-1-choose"));

  ed_import_wizard_open_file (wizard, file);
  wait_step (wizard, "preview");
  /* The detected columns, in German; the notes are not to be imported. */
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (wizard), GTK_TYPE_LABEL, "Vorname"));
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (wizard), GTK_TYPE_LABEL, "ACME; GmbH"));
  ed_import_wizard_set_column (wizard, 4, "ignored");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (wizard), "import-2-preview"));

  /* A dry run first: nothing written. */
  ed_import_wizard_set_mode (wizard, "dry-run");
  ed_import_wizard_start (wizard);
  g_assert_cmpstr (ed_import_wizard_get_step (wizard), ==, "upload");
  wait_step (wizard, "summary");
  report = ed_import_wizard_get_report (wizard);
  g_assert_cmpstr (json_object_get_string_member (report, "mode"), ==, "dry-run");
  g_assert_cmpint (json_object_get_int_member (report, "imported"), ==, 300);
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, 0);
  gtk_window_destroy (GTK_WINDOW (wizard));

  /* Then for real. */
  wizard = ed_import_wizard_new (fixture->server->client, fixture->event_id);
  g_signal_connect_object (wizard, "imported", G_CALLBACK (ed_guest_list_model_reload), model, G_CONNECT_SWAPPED);
  gtk_window_set_transient_for (GTK_WINDOW (wizard), fixture->window);
  gtk_window_present (GTK_WINDOW (wizard));
  ed_import_wizard_open_file (wizard, file);
  wait_step (wizard, "preview");
  ed_import_wizard_set_column (wizard, 4, "ignored");
  ed_import_wizard_start (wizard);
  wait_step (wizard, "summary");
  report = ed_import_wizard_get_report (wizard);
  g_assert_cmpint (json_object_get_int_member (report, "rows"), ==, 302);
  g_assert_cmpint (json_object_get_int_member (report, "imported"), ==, 300);
  g_assert_cmpint (json_object_get_int_member (report, "rejected"), ==, 2);
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (wizard), GTK_TYPE_LABEL, "300 guests added"));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (wizard), "import-4-summary"));

  ed_import_wizard_save_rejected_to (wizard, rejected_file);
  g_assert_true (ed_test_app_wait_until (file_has_content, rejected_path, 0));
  g_assert_true (g_file_get_contents (rejected_path, &rejected, NULL, NULL));
  g_assert_true (g_str_has_prefix (rejected, "line,code,email,reason\r\n"));
  g_assert_nonnull (strstr (rejected, "302,invalid-email,kaputt@@beispiel.de,"));
  g_assert_nonnull (strstr (rejected, "303,missing-email,"));
  gtk_window_destroy (GTK_WINDOW (wizard));

  /* The rows are in the list, with the company and without the notes. */
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, 300);
  assert_shown (GTK_WIDGET (ed_guests_page_get_column_view (fixture->page)), "Jörg Müller000");
  {
    g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (model), 0);
    JsonObject *extra = json_object_get_object_member (ed_guest_object_get_json (guest), "extra");

    g_assert_cmpstr (ed_guest_object_get_email (guest), ==, "jörg000@beispiel.de");
    g_assert_cmpstr (json_object_get_string_member (extra, "Firma"), ==, "ACME; GmbH");
    g_assert_false (json_object_has_member (extra, "Notiz"));
  }
}

static gboolean
page_not_exporting (gpointer data)
{
  return !ed_guests_page_get_exporting (data);
}

static void
test_export (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "export.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GtkWidget *search = ed_test_app_find_widget (GTK_WIDGET (fixture->page), GTK_TYPE_SEARCH_ENTRY, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  gtk_editable_set_text (GTK_EDITABLE (search), "last01");
  wait_page_idle (fixture);
  g_assert_cmpuint (n_items (fixture), ==, 100);

  ed_guests_page_export_to (fixture->page, file);
  g_assert_true (ed_guests_page_get_exporting (fixture->page));
  g_assert_true (ed_test_app_wait_until (page_not_exporting, fixture->page, 0));

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\r\n", -1);
  /* The header, the 100 guests of the view, and the empty end. */
  g_assert_cmpuint (g_strv_length (lines), ==, 102);
  g_assert_true (g_str_has_prefix (lines[0], "\xef\xbb\xbf" "email,first_name,last_name"));
  for (guint i = 1; i <= 100; i++)
    g_assert_nonnull (strstr (lines[i], ",Last01"));
  g_assert_cmpstr (lines[101], ==, "");
}


/* End to end in the app's own window: the app starts, an event is there,
 * Ctrl+I's action opens the wizard, the file is imported and its guests
 * are in the window's list. */
static void
test_window_import (void)
{
  g_autoptr(EdTestGuestServer) server = ed_test_guest_server_new ();
  g_autoptr(EdApplication) app = ed_application_new (APP_ID ".Test", G_APPLICATION_NON_UNIQUE);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-app-guests-XXXXXX", &error);
  g_autoptr(GFile) csv = NULL;
  g_auto(GStrv) accels = NULL;
  EdImportWizard *wizard;
  EdGuestsPage *page;
  EdWindow *window;
  GdkModifierType mods;
  guint key;
  gint64 event_id;

  g_assert_no_error (error);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_application_activate (G_APPLICATION (app));
  window = ED_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (ED_IS_WINDOW (window));
  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "guests.import");
  g_assert_nonnull (accels[0]);
  g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
  g_assert_cmpuint (key, ==, GDK_KEY_i);
  g_assert_cmpuint (mods, ==, GDK_CONTROL_MASK);

  event_id = ed_test_guest_create_event (server->client, "Summer Party", 500);
  ed_window_set_client (window, server->client);
  ed_window_set_event_id (window, event_id);
  ed_test_app_wait_drawn (GTK_WIDGET (window));

  /* An event opens on its overview; the Guests page is the next tab. */
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (ed_test_app_find_widget (GTK_WIDGET (window),
                                                                                 ADW_TYPE_VIEW_STACK, NULL)),
                                         "guests");
  page = ED_GUESTS_PAGE (ed_test_app_find_widget (GTK_WIDGET (window), ED_TYPE_GUESTS_PAGE, NULL));
  g_assert_nonnull (page);
  ed_test_app_wait_drawn (GTK_WIDGET (page));
  g_assert_true (ed_event_page_get_client (ED_EVENT_PAGE (page)) == server->client);
  g_assert_cmpint (ed_event_page_get_event_id (ED_EVENT_PAGE (page)), ==, event_id);

  csv = ed_test_guest_write_csv (dir, 120);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "guests.import", NULL));
  wizard = ED_IMPORT_WIZARD (find_toplevel (ED_TYPE_IMPORT_WIZARD));
  ed_import_wizard_open_file (wizard, csv);
  wait_step (wizard, "preview");
  ed_import_wizard_start (wizard);
  wait_step (wizard, "summary");
  g_assert_cmpint (json_object_get_int_member (ed_import_wizard_get_report (wizard), "imported"), ==, 120);
  gtk_window_destroy (GTK_WINDOW (wizard));

  g_assert_true (ed_test_app_wait_until (page_idle, page, 0));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (ed_guests_page_get_model (page))), ==, 120);
  assert_shown (GTK_WIDGET (ed_guests_page_get_column_view (page)), "guest0000@example.com");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (window), "window-guests"));

  g_file_delete (csv, NULL, NULL);
  g_rmdir (dir);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  ed_test_app_init (&argc, &argv);
  adw_init ();

  g_test_add ("/app/guests/page", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up, test_page, fixture_tear_down);
  g_test_add ("/app/guests/bulk-actions", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up, test_bulk_actions, fixture_tear_down);
  g_test_add ("/app/guests/dialog", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up, test_dialog, fixture_tear_down);
  g_test_add ("/app/guests/import-wizard", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up, test_import, fixture_tear_down);
  g_test_add_func ("/app/guests/window-import", test_window_import);
  g_test_add ("/app/guests/export", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up, test_export, fixture_tear_down);

  return g_test_run ();
}
