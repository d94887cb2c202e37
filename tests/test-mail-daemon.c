/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "ed-store.h"
#include "ed-test-daemon.h"
#include "ed-test-http.h"
#include "ed-test-smtp.h"

/* The mailer inside the real daemon: confirmations as a guest gets them
 * (parsed by a second MIME implementation, the link opened), a mail
 * server that hangs while the daemon keeps answering, and a kill -9 in
 * the middle of a campaign.
 */

#define ADMIN_NAME "organizer"
#define ADMIN_PASSWORD "correct horse battery staple"
#define FUTURE_START "2031-07-04T16:30:00Z"
#define MAIL_FROM "Sommerfest Köln <einladung@events.example.org>"
#define WAIT_TIMEOUT_US (60 * G_USEC_PER_SEC)

typedef struct
{
  EdTestDaemon *daemon;
  SoupSession  *session;
  char         *token;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->daemon = ed_test_daemon_new ();
  fixture->session = ed_test_http_session_new ();
  ed_test_daemon_add_admin (fixture->daemon, ADMIN_NAME, ADMIN_PASSWORD);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_clear_pointer (&fixture->token, g_free);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
}

/* Starts the daemon sending to @transport, with these settings of the
 * mailer in a config file.
 */
static void
start_daemon (Fixture    *fixture,
              const char *transport,
              const char *settings)
{
  g_autofree char *config_path = ed_test_daemon_get_path (fixture->daemon, "test.conf");
  g_autofree char *config = g_strdup_printf ("[eventdeskd]\nmail-retry-delay=1\n%s\n", settings ? settings : "");
  const char *args[] = { "--config", config_path, "--mail-transport", transport, "--mail-from", MAIL_FROM, NULL };

  g_assert_true (g_file_set_contents (config_path, config, -1, NULL));
  ed_test_daemon_set_args (fixture->daemon, args);
  ed_test_daemon_start (fixture->daemon);
  g_clear_pointer (&fixture->token, g_free);
  fixture->token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                                       ADMIN_NAME, ADMIN_PASSWORD);
}

static EdTestResponse *api (Fixture    *fixture,
                            const char *method,
                            const char *json_body,
                            const char *path_format,
                            ...) G_GNUC_PRINTF (4, 5);

static EdTestResponse *
api (Fixture    *fixture,
     const char *method,
     const char *json_body,
     const char *path_format,
     ...)
{
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  va_list args;

  va_start (args, path_format);
  path = g_strdup_vprintf (path_format, args);
  va_end (args);
  url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request (fixture->session, method, url, fixture->token, json_body, NULL);
}

static gint64
create (Fixture    *fixture,
        const char *path,
        const char *body)
{
  g_autoptr(EdTestResponse) response = api (fixture, "POST", body, "%s", path);
  JsonObject *object;

  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  object = ed_test_response_get_object (response);
  return json_object_get_int_member (object, "id");
}

static gint64
create_event_and_guest (Fixture *fixture,
                        gint64  *guest_id)
{
  g_autofree char *guests_path = NULL;
  gint64 event_id;

  event_id = create (fixture, "/api/v1/events",
                     "{\"name\":\"Sommerfest in Köln\",\"starts_at\":\"" FUTURE_START "\","
                     "\"venue\":\"Rheinpark, Köln\",\"timezone\":\"Europe/Berlin\","
                     "\"capacity\":10,\"max_party_size\":4,\"waitlist_enabled\":true}");
  guests_path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  *guest_id = create (fixture, guests_path,
                      "{\"email\":\"zoe@example.org\",\"first_name\":\"Zoë\",\"last_name\":\"Ørsted\"}");
  return event_id;
}

static char *
get_link_token (Fixture *fixture,
                gint64   guest_id)
{
  g_autoptr(EdTestResponse) response = api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/link", guest_id);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return g_strdup (json_object_get_string_member (ed_test_response_get_object (response), "token"));
}

static void
answer (Fixture    *fixture,
        const char *token,
        const char *form)
{
  g_autofree char *url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon), token);
  g_autoptr(SoupMessage) msg = ed_test_http_message_new ("POST", url, NULL, NULL, NULL);
  g_autoptr(GBytes) body = g_bytes_new (form, strlen (form));
  g_autoptr(EdTestResponse) response = NULL;

  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  response = ed_test_http_send (fixture->session, msg);
  ed_test_assert_status (response, SOUP_STATUS_OK);
}

static guint
wait_for_captured (EdTestSmtpServer *capture,
                   guint             wanted)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  guint n;

  while ((n = ed_test_capture_server_get_n_messages (capture)) < wanted && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  /* its envelope is written just after */
  g_usleep (200 * 1000);

  return n;
}

static JsonObject *
find_part (JsonObject *parsed,
           const char *content_type)
{
  JsonArray *parts = json_object_get_array_member (parsed, "parts");

  for (guint i = 0; i < json_array_get_length (parts); i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);

      if (g_strcmp0 (json_object_get_string_member (part, "content_type"), content_type) == 0)
        return part;
    }

  return NULL;
}

static const char *
first_header (JsonObject *parsed,
              const char *name)
{
  JsonObject *headers = json_object_get_object_member (parsed, "headers");
  JsonArray *values = json_object_has_member (headers, name) ? json_object_get_array_member (headers, name) : NULL;

  return values != NULL ? json_array_get_string_element (values, 0) : NULL;
}

/* A guest accepts: the confirmation arrives with the event's calendar
 * file, its names intact, and its link opens the guest's own page. The
 * same answer again sends nothing; a new acceptance, a new confirmation.
 */
static void
test_confirmation (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(EdTestSmtpServer) capture = ed_test_capture_server_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (capture, "smtp", "starttls=off");
  g_autofree char *token = NULL;
  g_autofree char *eml = NULL;
  g_autofree char *link_prefix = NULL;
  g_autofree char *link = NULL;
  g_autofree char *page = NULL;
  g_autoptr(JsonObject) parsed = NULL;
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  JsonObject *text_part, *calendar_part;
  const char *text, *calendar, *start, *end;
  gint64 guest_id;

  start_daemon (fixture, url, NULL);
  create_event_and_guest (fixture, &guest_id);
  token = get_link_token (fixture, guest_id);

  answer (fixture, token, "response=accept&party_size=2");
  g_assert_cmpuint (wait_for_captured (capture, 1), ==, 1);

  envelope = ed_test_capture_server_get_envelope (capture, 1);
  g_assert_cmpstr (json_object_get_string_member (envelope, "mail_from"), ==, "einladung@events.example.org");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (envelope, "rcpt_to"), 0),
                   ==, "zoe@example.org");

  eml = ed_test_capture_server_get_path (capture, 1);
  parsed = ed_test_parse_with_python (eml);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (parsed, "defects")), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (parsed, "to_address"), ==, "zoe@example.org");
  g_assert_cmpstr (json_object_get_string_member (parsed, "to_display_name"), ==, "Zoë Ørsted");
  g_assert_cmpstr (first_header (parsed, "Subject"), ==, "You are coming to Sommerfest in Köln");
  g_assert_nonnull (strstr (first_header (parsed, "From"), "Sommerfest Köln"));
  g_assert_nonnull (first_header (parsed, "Message-ID"));
  g_assert_nonnull (first_header (parsed, "Date"));
  /* a confirmation is no bulk mail */
  g_assert_null (first_header (parsed, "List-Unsubscribe"));

  text_part = find_part (parsed, "text/plain");
  g_assert_nonnull (text_part);
  text = json_object_get_string_member (text_part, "content");
  g_assert_nonnull (strstr (text, "Hello Zoë,"));
  g_assert_nonnull (strstr (text, "Rheinpark, Köln"));
  g_assert_nonnull (strstr (text, "2 seat(s)"));

  calendar_part = find_part (parsed, "text/calendar");
  g_assert_nonnull (calendar_part);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (calendar_part, "filename"), ".ics"));
  calendar = json_object_get_string_member (calendar_part, "content");
  g_assert_true (g_str_has_prefix (calendar, "BEGIN:VCALENDAR\r\n"));
  g_assert_nonnull (strstr (calendar, "BEGIN:VEVENT\r\n"));
  g_assert_nonnull (strstr (calendar, "SUMMARY:Sommerfest in Köln\r\n"));
  g_assert_nonnull (strstr (calendar, "DTSTART:20310704T163000Z\r\n"));
  g_assert_true (g_str_has_suffix (calendar, "END:VCALENDAR\r\n"));

  /* the link in the mail opens this guest's page on this daemon */
  link_prefix = g_strdup_printf ("%s/r/", ed_test_daemon_get_url (fixture->daemon));
  start = strstr (text, link_prefix);
  g_assert_nonnull (start);
  end = start + strcspn (start, " \r\n>\"");
  link = g_strndup (start, end - start);
  /* The same link as the API's, but for the second it was signed in. */
  {
    g_autoptr(JsonObject) found = ed_test_token_claims (link + strlen (link_prefix));
    g_autoptr(JsonObject) expected = ed_test_token_claims (token);

    g_assert_cmpint (json_object_get_int_member (found, "gst"), ==, guest_id);
    g_assert_cmpint (json_object_get_int_member (found, "gst"), ==, json_object_get_int_member (expected, "gst"));
    g_assert_cmpint (json_object_get_int_member (found, "evt"), ==, json_object_get_int_member (expected, "evt"));
    g_assert_cmpint (json_object_get_int_member (found, "ver"), ==, json_object_get_int_member (expected, "ver"));
  }
  response = ed_test_http_request (fixture->session, "GET", link, NULL, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  page = ed_test_response_get_body_text (response);
  g_assert_nonnull (strstr (page, "Sommerfest in Köln"));
  g_assert_nonnull (strstr (page, "Zoë"));

  /* the same answer: nothing new */
  answer (fixture, token, "response=accept&party_size=2");
  g_usleep (2 * G_USEC_PER_SEC);
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (capture), ==, 1);

  /* a decline, then a new acceptance: a new confirmation */
  answer (fixture, token, "response=decline");
  answer (fixture, token, "response=accept&party_size=1");
  g_assert_cmpuint (wait_for_captured (capture, 2), ==, 2);
  g_usleep (G_USEC_PER_SEC);
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (capture), ==, 2);
}

/* A read-only look at the daemon's database, which it has in WAL mode. */
static gint64
query_db (Fixture    *fixture,
          const char *sql)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return value;
}

static gint64
wait_for_db (Fixture    *fixture,
             const char *sql,
             gint64      wanted)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_US;
  gint64 value;

  while ((value = query_db (fixture, sql)) < wanted && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);

  return value;
}

/* A server that takes the connection and then never answers DATA: the
 * attempt ends at mail-timeout and is retried, and the daemon answers
 * requests all the while.
 */
static void
test_hanging_server (Fixture       *fixture,
                     gconstpointer  user_data)
{
  const char * const options[] = { "-w", "60", NULL };
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  g_autofree char *token = NULL;
  g_autofree char *healthz = NULL;
  gint64 guest_id, slowest_us = 0;
  guint n_requests = 0;
  gint64 end_us;

  start_daemon (fixture, url, "mail-timeout=2\nmail-connections=1");
  create_event_and_guest (fixture, &guest_id);
  token = get_link_token (fixture, guest_id);
  answer (fixture, token, "response=accept");

  /* the mail server hangs for the next seconds: the daemon answers */
  healthz = ed_test_daemon_url (fixture->daemon, "/healthz");
  end_us = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end_us)
    {
      g_autoptr(EdTestResponse) response = NULL;
      gint64 started_us = g_get_monotonic_time ();

      response = ed_test_http_request (fixture->session, "GET", healthz, NULL, NULL, NULL);
      ed_test_assert_status (response, SOUP_STATUS_OK);
      slowest_us = MAX (slowest_us, g_get_monotonic_time () - started_us);
      n_requests++;
      g_usleep (20 * 1000);
    }
  g_test_message ("%u /healthz requests during the hang, the slowest %.1f ms", n_requests, slowest_us / 1000.0);
  g_assert_cmpuint (n_requests, >=, 50);
  g_assert_cmpint (slowest_us, <, 500 * 1000);

  /* the attempt timed out, with no reply code, and waits for a retry */
  g_assert_cmpint (wait_for_db (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'retry' "
                                         "AND code IS NULL AND text LIKE '%timed out%'", 1), >=, 1);
  g_assert_cmpint (wait_for_db (fixture, "SELECT count(*) FROM delivery_log", 2), >=, 2);
  g_assert_cmpint (query_db (fixture, "SELECT count(*) FROM messages WHERE state = 'sent'"), ==, 0);
}

/* Guests and a running campaign, queued as a launch queues them, in the
 * daemon's database before it starts.
 */
static void
prepare_campaign (Fixture *fixture,
                  guint    n_guests)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autoptr(EdStore) store = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  /* makes the schema */
  store = ed_store_open (path, &error);
  g_assert_no_error (error);
  ed_store_close (store);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "BEGIN;"
                                 "INSERT INTO events (id, name, starts_at, capacity, created_at, updated_at) "
                                 "  VALUES (1, 'Sommerfest in Köln', 1940000000, 100000, 1, 1);"
                                 "INSERT INTO campaigns (id, event_id, kind, subject, text_body, state, "
                                 "  created_at, updated_at, launched_at) VALUES (1, 1, 'invitation', "
                                 "  'Einladung: {{event_name}}', 'Hallo {{first_name}}: {{rsvp_url}}', 'running', "
                                 "  strftime('%s'), strftime('%s'), strftime('%s'));",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO guests (event_id, email, email_key, first_name, "
                                           "created_at, updated_at) VALUES (1, ?1, ?1, 'Zoë', 1, 1)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < n_guests; i++)
    {
      g_autofree char *email = g_strdup_printf ("guest%u@example.org", i);

      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, email, -1, SQLITE_TRANSIENT);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
    }
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (db,
                                 "INSERT INTO messages (campaign_id, guest_id, next_attempt_at, created_at) "
                                 "  SELECT 1, id, strftime('%s'), strftime('%s') FROM guests ORDER BY id;"
                                 "COMMIT;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* Counts the messages smtp-sink dumped, by Message-ID: how many arrived
 * in all, and how many different ones.
 */
static void
count_dumped (const char *dir,
              guint      *n_files,
              guint      *n_distinct)
{
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  *n_files = 0;
  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      const char *header;

      g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
      header = strstr (contents, "\nMessage-ID: ");
      g_assert_nonnull (header);
      g_hash_table_add (ids, g_strndup (header + 1, strcspn (header + 1, "\r\n")));
      (*n_files)++;
    }

  *n_distinct = g_hash_table_size (ids);
}

/* kill -9 in the middle of a campaign, then a restart: every message
 * arrives, and the only ones that arrive twice are among those that were
 * being sent at the moment of the kill.
 */
static void
test_crash_mid_campaign (Fixture       *fixture,
                         gconstpointer  user_data)
{
  const guint n_guests = 10000;
  g_autofree char *dump_dir = g_dir_make_tmp ("eventdesk-test-dump-XXXXXX", NULL);
  g_autofree char *dump_template = g_build_filename (dump_dir, "m.", NULL);
  const char * const options[] = { "-d", dump_template, NULL };
  g_autoptr(EdTestSmtpServer) sink = NULL;
  g_autofree char *url = NULL;
  gint64 sent_at_kill, sending_at_kill;
  guint n_files = 0, n_distinct = 0;

  /* smtp-sink writes as the unprivileged user it switches to */
  g_assert_cmpint (g_chmod (dump_dir, 0777), ==, 0);
  sink = ed_test_smtp_sink_new (options);
  url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");

  prepare_campaign (fixture, n_guests);
  /* no rate limit: claims keep messages in flight all the time */
  start_daemon (fixture, url, "mail-rate=0\nmail-connections=4");

  g_assert_cmpint (wait_for_db (fixture, "SELECT (SELECT count(*) FROM messages WHERE state = 'sent') >= 1000 "
                                         "AND (SELECT count(*) FROM messages WHERE state = 'sending') > 0", 1), ==, 1);
  ed_test_daemon_kill (fixture->daemon);

  sent_at_kill = query_db (fixture, "SELECT count(*) FROM messages WHERE state = 'sent'");
  sending_at_kill = query_db (fixture, "SELECT count(*) FROM messages WHERE state = 'sending'");
  g_test_message ("At the kill: %" G_GINT64_FORMAT " sent, %" G_GINT64_FORMAT " sending",
                  sent_at_kill, sending_at_kill);
  g_assert_cmpint (sent_at_kill, <, n_guests);
  g_assert_cmpint (sending_at_kill, >, 0);

  start_daemon (fixture, url, "mail-rate=0\nmail-connections=4");
  g_assert_cmpint (wait_for_db (fixture, "SELECT count(*) FROM campaigns WHERE id = 1 AND state = 'done'", 1), ==, 1);
  g_assert_cmpint (query_db (fixture, "SELECT count(*) FROM messages WHERE state = 'sent'"), ==, n_guests);
  g_assert_true (ed_test_daemon_wait_for_log (fixture->daemon, "they go out again"));

  /* none lost, few doubled */
  g_usleep (500 * 1000);
  count_dumped (dump_dir, &n_files, &n_distinct);
  g_test_message ("smtp-sink got %u messages, %u different, %u twice", n_files, n_distinct, n_files - n_distinct);
  g_assert_cmpuint (n_distinct, ==, n_guests);
  g_assert_cmpuint (n_files - n_distinct, <=, (guint) sending_at_kill);

  g_clear_pointer (&sink, ed_test_smtp_server_free);
  ed_test_remove_tree (dump_dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/mail/daemon/confirmation", test_confirmation);
  ADD ("/mail/daemon/hanging-server", test_hanging_server);
  ADD ("/mail/daemon/crash-mid-campaign", test_crash_mid_campaign);
#undef ADD

  return g_test_run ();
}
