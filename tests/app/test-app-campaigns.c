/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ed-application.h"
#include "ed-campaign-composer.h"
#include "ed-campaign-row.h"
#include "ed-campaigns-page.h"
#include "ed-deliveries-page.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"
#include "ed-test-smtp.h"
#include "ed-window.h"

/* The Campaigns and Deliveries pages in the app's window, against a real
 * eventdeskd that sends to Postfix's smtp-sink on loopback: a campaign
 * composed in the composer's widgets, previewed, test-sent, launched
 * through its confirmation and followed over the live feed until it is
 * done; then a mail server that refuses every recipient, the failures on
 * the Deliveries page, and their retry once it takes mail again.
 * Screenshots go to $ED_SCREENSHOT_DIR.
 */

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"
#define N_GUESTS 20
#define WAIT_SENDING_MS 60000

typedef struct
{
  EdTestSmtpServer *sink;
  EdTestDaemon     *daemon;
  EdClient         *client;
  EdWindow         *window;
  char             *dir;
  gint64            event_id;
} Fixture;

/* The daemon sends to the sink at once, retries a second later, and never
 * pauses a campaign for its failures (the second test fails them all). */
static void
start_daemon (Fixture *fixture)
{
  g_autofree char *url = ed_test_smtp_server_get_url (fixture->sink, "smtp", "starttls=off");
  g_autofree char *config_path = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  fixture->daemon = ed_test_daemon_new ();
  config_path = ed_test_daemon_get_path (fixture->daemon, "test.conf");
  g_assert_true (g_file_set_contents (config_path,
                                      "[eventdeskd]\nmail-retry-delay=1\nmail-failure-threshold=1\nmail-rate=0\n",
                                      -1, NULL));
  ed_test_daemon_set_args (fixture->daemon, (const char * const []) {
                             "--config", config_path, "--mail-transport", url,
                             "--mail-from", "Sommerfest <fest@events.example.org>", NULL });
  ed_test_daemon_add_admin (fixture->daemon, ADMIN_NAME, ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);

  fixture->client = ed_client_new (ed_test_daemon_get_url (fixture->daemon));
  ed_client_login_async (fixture->client, ADMIN_NAME, ADMIN_PASSWORD, NULL, ed_test_app_on_result_cb, &result);
  ed_client_login_finish (fixture->client, ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);
}

/* One application for all the tests: its D-Bus name stays taken until
 * the process ends. */
static EdApplication *app;
static gsize css_loaded;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  const char * const *sink_options = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) csv = NULL;
  g_autoptr(JsonObject) report = NULL;

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_LIGHT);
  if (g_once_init_enter (&css_loaded))
    {
      GtkCssProvider *provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_resource (provider, "/org/eventdesk/Eventdesk/style.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      g_once_init_leave (&css_loaded, 1);
    }

  fixture->sink = ed_test_smtp_sink_new (sink_options);
  start_daemon (fixture);

  fixture->dir = g_dir_make_tmp ("test-app-campaigns-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->event_id = ed_test_guest_create_event (fixture->client, "Sommerfest", 500);
  csv = ed_test_guest_write_csv (fixture->dir, N_GUESTS);
  report = ed_test_guest_import (fixture->client, fixture->event_id, csv);
  g_assert_cmpint (json_object_get_int_member (report, "imported"), ==, N_GUESTS);
  g_file_delete (csv, NULL, NULL);

  g_application_activate (G_APPLICATION (app));
  fixture->window = ED_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (ED_IS_WINDOW (fixture->window));
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 1100, 760);
  ed_window_set_client (fixture->window, fixture->client);
  ed_window_set_event_id (fixture->window, fixture->event_id);
  ed_test_app_wait_drawn (GTK_WIDGET (fixture->window));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_clear_object (&fixture->client);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
  g_clear_pointer (&fixture->sink, ed_test_smtp_server_free);
  g_rmdir (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
}

static GtkWidget *
show_page (Fixture    *fixture,
           const char *name,
           GType       type)
{
  AdwViewStack *stack = ADW_VIEW_STACK (ed_test_app_find_widget (GTK_WIDGET (fixture->window), ADW_TYPE_VIEW_STACK, NULL));
  GtkWidget *page;

  g_assert_nonnull (stack);
  adw_view_stack_set_visible_child_name (stack, name);
  page = ed_test_app_find_widget (GTK_WIDGET (fixture->window), type, NULL);
  g_assert_nonnull (page);
  ed_test_app_wait_drawn (page);
  return page;
}

static GtkWidget *
find_toplevel (GType type)
{
  GtkWidget *found = NULL;

  for (GList *l = gtk_window_list_toplevels (); l != NULL; l = g_list_delete_link (l, l))
    if (g_type_is_a (G_OBJECT_TYPE (l->data), type) && gtk_widget_get_visible (l->data))
      found = l->data;
  return found;
}

static gboolean
has_toplevel (gpointer data)
{
  return find_toplevel (GPOINTER_TO_SIZE (data)) != NULL;
}

static GtkWidget *
wait_toplevel (GType type)
{
  g_assert_true (ed_test_app_wait_until (has_toplevel, GSIZE_TO_POINTER (type), 0));
  return find_toplevel (type);
}

static gboolean
composer_idle (gpointer data)
{
  return !ed_campaign_composer_get_busy (data);
}

static gboolean
composer_counted (gpointer data)
{
  return ed_campaign_composer_get_recipients (data) >= 0;
}

static gboolean
preview_shown (gpointer data)
{
  return ed_campaign_composer_get_preview_loaded (data) && !ed_campaign_composer_get_busy (data);
}

static gboolean
test_answered (gpointer data)
{
  return ed_campaign_composer_get_test_result (data) != NULL;
}

typedef struct
{
  EdCampaignsPage *page;
  gint64           campaign_id;
  const char      *state;
  const char      *progress;
} RowWait;

static gboolean
row_reached (gpointer data)
{
  RowWait *wait = data;
  EdCampaignRow *row = ed_campaigns_page_get_row (wait->page, wait->campaign_id);

  return row != NULL && g_strcmp0 (ed_campaign_row_get_state (row), wait->state) == 0 &&
         (wait->progress == NULL || strstr (ed_campaign_row_get_progress_text (row), wait->progress) != NULL);
}

static void
wait_row (EdCampaignsPage *page,
          gint64           campaign_id,
          const char      *state,
          const char      *progress)
{
  RowWait wait = { page, campaign_id, state, progress };

  if (!ed_test_app_wait_until (row_reached, &wait, WAIT_SENDING_MS))
    {
      EdCampaignRow *row = ed_campaigns_page_get_row (page, campaign_id);

      g_error ("campaign %" G_GINT64_FORMAT " is %s, “%s”, not %s, “%s”", campaign_id,
               row ? ed_campaign_row_get_state (row) : "(no row)",
               row ? ed_campaign_row_get_progress_text (row) : "", state, progress ? progress : "");
    }
}

/* A loopback port that counts the connections made to it: the preview's
 * web view must make none. */
static gboolean
on_incoming_cb (GSocketService     *service,
                GSocketConnection  *connection,
                GObject            *source,
                gpointer            user_data)
{
  guint *n_connections = user_data;

  (*n_connections)++;
  return TRUE;
}

static guint16
listen_for_loads (GSocketService *service,
                  guint          *n_connections)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming_cb), n_connections);
  g_socket_service_start (service);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_compose_and_launch (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GSocketService) tracker = g_socket_service_new ();
  g_autofree char *html = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *text = NULL;
  EdCampaignsPage *page;
  EdCampaignComposer *composer;
  AdwMessageDialog *dialog;
  JsonObject *preview;
  guint n_loads = 0;
  guint16 tracker_port;
  gint64 campaign_id = 0;
  guint sessions, quits, messages;

  tracker_port = listen_for_loads (tracker, &n_loads);
  page = ED_CAMPAIGNS_PAGE (show_page (fixture, "campaigns", ED_TYPE_CAMPAIGNS_PAGE));
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (page), ADW_TYPE_STATUS_PAGE, NULL));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "campaigns-page-empty"));

  /* New campaign: the composer, with the audience counted. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "campaigns.new", NULL));
  composer = ED_CAMPAIGN_COMPOSER (wait_toplevel (ED_TYPE_CAMPAIGN_COMPOSER));
  g_object_ref (composer);
  ed_test_app_wait_drawn (GTK_WIDGET (composer));
  g_assert_true (ed_test_app_wait_until (composer_counted, composer, 0));
  g_assert_cmpint (ed_campaign_composer_get_recipients (composer), ==, N_GUESTS);
  ed_campaign_composer_set_field (composer, "audience", "status:accepted");
  g_assert_true (ed_test_app_wait_until (composer_counted, composer, 0));
  g_assert_cmpint (ed_campaign_composer_get_recipients (composer), ==, 0);
  ed_campaign_composer_set_field (composer, "audience", "all");
  g_assert_true (ed_test_app_wait_until (composer_counted, composer, 0));
  g_assert_cmpint (ed_campaign_composer_get_recipients (composer), ==, N_GUESTS);

  /* Placeholders go in at the cursor; a mistyped one is refused at its field. */
  ed_campaign_composer_set_field (composer, "subject", "Sommerfest: you are invited, ");
  ed_campaign_composer_insert_placeholder (composer, "subject", -1, "first_name");
  ed_campaign_composer_set_field (composer, "text", "Hello {{frist_name}},\n\nplease answer: ");
  ed_campaign_composer_insert_placeholder (composer, "text", -1, "rsvp_url");
  html = g_strdup_printf ("<!DOCTYPE html><html><body><h1>Hello {{first_name}}!</h1>"
                          "<p>The summer party is on {{event_date}}.</p>"
                          "<p><a href=\"{{rsvp_url}}\">Answer here</a></p>"
                          "<img src=\"http://127.0.0.1:%u/pixel.png\" alt=\"\">"
                          "<link rel=\"stylesheet\" href=\"http://127.0.0.1:%u/style.css\">"
                          "</body></html>", tracker_port, tracker_port);
  ed_campaign_composer_set_field (composer, "html", html);
  subject = ed_campaign_composer_get_field (composer, "subject");
  g_assert_cmpstr (subject, ==, "Sommerfest: you are invited, {{first_name}}");
  text = ed_campaign_composer_get_field (composer, "text");
  g_assert_true (g_str_has_suffix (text, "please answer: {{rsvp_url}}"));

  ed_campaign_composer_save (composer);
  g_assert_true (ed_test_app_wait_until (composer_idle, composer, 0));
  g_assert_nonnull (ed_campaign_composer_get_field_error (composer, "text"));
  g_assert_nonnull (strstr (ed_campaign_composer_get_field_error (composer, "text"), "{{first_name}}"));
  g_assert_null (ed_campaign_composer_get_field_error (composer, "subject"));
  g_assert_cmpint (ed_campaign_composer_get_campaign_id (composer), ==, 0);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (composer)));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (composer), "campaign-composer-error"));

  /* Fixed; the preview saves it and shows the first guest's message. */
  g_free (text);
  text = ed_campaign_composer_get_field (composer, "text");
  {
    g_autoptr(GString) fixed = g_string_new (text);

    g_string_replace (fixed, "{{frist_name}}", "{{first_name}}", 0);
    ed_campaign_composer_set_field (composer, "text", fixed->str);
  }
  ed_campaign_composer_show_preview (composer, 0);
  g_assert_true (ed_test_app_wait_until (preview_shown, composer, 30000));
  campaign_id = ed_campaign_composer_get_campaign_id (composer);
  g_assert_cmpint (campaign_id, >, 0);
  g_assert_null (ed_campaign_composer_get_field_error (composer, "text"));
  preview = ed_campaign_composer_get_preview (composer);
  g_assert_nonnull (preview);
  g_assert_cmpstr (json_object_get_string_member (preview, "subject"), ==, "Sommerfest: you are invited, First 0000");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (preview, "text"), "Hello First 0000,"));
  g_assert_nonnull (strstr (json_object_get_string_member (preview, "html"), "<h1>Hello First 0000!</h1>"));
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (composer), GTK_TYPE_LABEL, "Sommerfest: you are invited, First 0000"));
  /* The draft is on the page already. */
  g_assert_nonnull (ed_campaigns_page_get_row (page, campaign_id));
  ed_test_app_wait_ms (1000);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (composer), "campaign-composer-preview"));
  /* The image and the style sheet of the HTML were never asked for. */
  g_assert_cmpuint (n_loads, ==, 0);

  /* A test to the organizer, through the real mail server. */
  ed_campaign_composer_send_test (composer, "organizer@example.org");
  g_assert_true (ed_test_app_wait_until (test_answered, composer, 30000));
  g_assert_cmpstr (json_object_get_string_member (ed_campaign_composer_get_test_result (composer), "result"), ==, "sent");
  g_assert_cmpint (json_object_get_int_member (ed_campaign_composer_get_test_result (composer), "code"), ==, 250);
  g_assert_true (ed_test_smtp_sink_wait_for_counters (fixture->sink, 1, 1, 1));

  /* Saved: the composer closes. */
  ed_campaign_composer_save (composer);
  g_assert_true (ed_test_app_wait_until (composer_idle, composer, 0));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (composer)));
  g_object_unref (composer);
  wait_row (page, campaign_id, "draft", NULL);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "campaigns-page-draft"));

  /* Launch, behind a confirmation that says how many guests get it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "campaign.launch", "x", campaign_id));
  dialog = ADW_MESSAGE_DIALOG (wait_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Send to 20 Guests?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "20 guests"));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (dialog), "campaign-launch-confirmation"));
  adw_message_dialog_response (dialog, "launch");

  /* The live feed brings it to done, every message sent. */
  wait_row (page, campaign_id, "done", "20 of 20 sent");
  g_assert_cmpfloat (ed_campaign_row_get_fraction (ed_campaigns_page_get_row (page, campaign_id)), ==, 1.0);
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "campaigns-page-done"));
  g_assert_true (ed_test_smtp_sink_get_counters (fixture->sink, &sessions, &quits, &messages));
  g_assert_cmpuint (messages, ==, N_GUESTS + 1);

  g_socket_service_stop (tracker);
}

typedef struct
{
  EdDeliveriesPage *page;
  guint             n_failures;
  const char       *sent;
} DeliveriesWait;

static gboolean
deliveries_reached (gpointer data)
{
  DeliveriesWait *wait = data;

  return !ed_deliveries_page_get_busy (wait->page) &&
         ed_deliveries_page_get_n_failures (wait->page) == wait->n_failures &&
         (wait->sent == NULL || g_strcmp0 (ed_deliveries_page_get_count_text (wait->page, "sent"), wait->sent) == 0);
}

static void
wait_deliveries (EdDeliveriesPage *page,
                 guint             n_failures,
                 const char       *sent)
{
  DeliveriesWait wait = { page, n_failures, sent };

  if (!ed_test_app_wait_until (deliveries_reached, &wait, WAIT_SENDING_MS))
    g_error ("the Deliveries page shows %u failures and %s sent, not %u and %s",
             ed_deliveries_page_get_n_failures (page), ed_deliveries_page_get_count_text (page, "sent"),
             n_failures, sent ? sent : "any");
}

static gint64
launch_by_api (Fixture *fixture)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/campaigns", fixture->event_id);
  g_autofree char *launch = NULL;
  g_autoptr(JsonNode) created = ed_test_guest_call (fixture->client, "POST", path,
                                                    "{\"kind\": \"reminder\", \"subject\": \"Reminder\", "
                                                    "\"text\": \"Hello {{first_name}}: {{rsvp_url}}\"}", NULL);
  g_autoptr(JsonNode) launched = NULL;
  gint64 campaign_id = json_object_get_int_member (json_node_get_object (created), "id");

  launch = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/launch", campaign_id);
  launched = ed_test_guest_call (fixture->client, "POST", launch, NULL, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (launched), "state"), ==, "running");
  return campaign_id;
}

static gboolean
sink_has_two (gpointer data)
{
  guint sessions, quits, messages;

  return ed_test_smtp_sink_get_counters (data, &sessions, &quits, &messages) && messages == 2;
}

/* Every recipient refused for good (5xx to RCPT): the failures with their reply,
 * then two retried by hand and the rest all at once, after the server
 * takes mail again. */
static void
test_failures_and_retry (Fixture       *fixture,
                         gconstpointer  user_data)
{
  EdDeliveriesPage *page;
  EdCampaignsPage *campaigns;
  const char *title = NULL, *subtitle = NULL;
  gint64 campaign_id;

  page = ED_DELIVERIES_PAGE (show_page (fixture, "deliveries", ED_TYPE_DELIVERIES_PAGE));
  campaign_id = launch_by_api (fixture);

  /* The campaign's own row counts them too. */
  campaigns = ED_CAMPAIGNS_PAGE (ed_test_app_find_widget (GTK_WIDGET (fixture->window), ED_TYPE_CAMPAIGNS_PAGE, NULL));
  wait_row (campaigns, campaign_id, "done", "20 failed");

  wait_deliveries (page, N_GUESTS, "0");
  g_assert_cmpstr (ed_deliveries_page_get_count_text (page, "failed"), ==, "20");
  ed_deliveries_page_get_failure (page, 0, &title, &subtitle);
  g_assert_cmpstr (title, ==, "First 0000 Last0000 <guest0000@example.com>");
  /* smtp-sink -f answers 500 */
  g_assert_true (g_str_has_prefix (subtitle, "500 5.3.0 Error: command failed (in reply to RCPT TO)"));
  g_assert_nonnull (strstr (subtitle, "Reminder"));
  ed_deliveries_page_set_campaign (page, campaign_id);
  wait_deliveries (page, N_GUESTS, "0");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "deliveries-page-failures"));

  /* The server takes mail again: two chosen ones first. */
  ed_test_smtp_sink_restart (fixture->sink, NULL);
  ed_deliveries_page_set_failure_selected (page, 0, TRUE);
  ed_deliveries_page_set_failure_selected (page, 1, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "deliveries.retry-selected", NULL));
  wait_deliveries (page, N_GUESTS - 2, "2");
  ed_deliveries_page_get_failure (page, 0, &title, NULL);
  g_assert_cmpstr (title, ==, "First 0002 Last0002 <guest0002@example.com>");
  g_assert_true (ed_test_app_wait_until (sink_has_two, fixture->sink, 0));

  /* Then all the rest. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "deliveries.retry-all", NULL));
  wait_deliveries (page, 0, "20");
  g_assert_cmpstr (ed_deliveries_page_get_count_text (page, "failed"), ==, "0");
  wait_row (campaigns, campaign_id, "done", "20 of 20 sent");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "deliveries-page-retried"));
}

static gboolean
has_retries (gpointer data)
{
  return ed_deliveries_page_get_n_retries (data) > 0;
}

/* A server that puts every recipient off (450): the next retries, soonest
 * first, with their reply; the campaign, still sending, paused, resumed
 * and cancelled from its row. */
static void
test_retries_pause_cancel (Fixture       *fixture,
                           gconstpointer  user_data)
{
  EdDeliveriesPage *page = ED_DELIVERIES_PAGE (show_page (fixture, "deliveries", ED_TYPE_DELIVERIES_PAGE));
  EdCampaignsPage *campaigns;
  AdwMessageDialog *dialog;
  gint64 campaign_id;

  campaign_id = launch_by_api (fixture);
  g_assert_true (ed_test_app_wait_until (has_retries, page, WAIT_SENDING_MS));
  g_assert_cmpuint (ed_deliveries_page_get_n_retries (page), <=, 10);
  g_assert_nonnull (ed_test_app_find_widget (GTK_WIDGET (page), ADW_TYPE_ACTION_ROW, "First 0000 Last0000 <guest0000@example.com>"));
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "deliveries-page-retries"));

  campaigns = ED_CAMPAIGNS_PAGE (show_page (fixture, "campaigns", ED_TYPE_CAMPAIGNS_PAGE));
  wait_row (campaigns, campaign_id, "running", "20 to retry");
  g_free (ed_test_app_save_screenshot (GTK_WIDGET (fixture->window), "campaigns-page-running"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (campaigns), "campaign.pause", "x", campaign_id));
  wait_row (campaigns, campaign_id, "paused", NULL);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (campaigns), "campaign.resume", "x", campaign_id));
  wait_row (campaigns, campaign_id, "running", NULL);

  /* Cancelling asks first, saying what is not sent. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (campaigns), "campaign.cancel", "x", campaign_id));
  dialog = ADW_MESSAGE_DIALOG (wait_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "20 messages still waiting"));
  adw_message_dialog_response (dialog, "cancel");
  /* A message being tried at that moment may still come back to wait. */
  wait_row (campaigns, campaign_id, "cancelled", " cancelled");
}

int
main (int   argc,
      char *argv[])
{
  static const char * const reject_rcpt[] = { "-f", "RCPT", NULL };
  static const char * const defer_rcpt[] = { "-r", "RCPT", NULL };
  g_autoptr(GError) error = NULL;
  int status;

  ed_test_app_init (&argc, &argv);
  adw_init ();
  app = ed_application_new (APP_ID ".Test", G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  g_test_add ("/app/campaigns/compose-and-launch", Fixture, NULL,
              fixture_set_up, test_compose_and_launch, fixture_tear_down);
  g_test_add ("/app/campaigns/failures-and-retry", Fixture, reject_rcpt,
              fixture_set_up, test_failures_and_retry, fixture_tear_down);
  g_test_add ("/app/campaigns/retries-pause-cancel", Fixture, defer_rcpt,
              fixture_set_up, test_retries_pause_cancel, fixture_tear_down);

  status = g_test_run ();
  g_clear_object (&app);
  return status;
}
