/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ed-test-daemon.h"
#include "ed-test-http.h"
#include "ed-test-util.h"

/* The real daemon when things go wrong around it: killed in the middle of
 * an RSVP storm, a full disk, clients that hold connections open without
 * finishing their requests, and HTTPS with a certificate made here by
 * openssl. (A kill during an import is in test-import.)
 */

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"

#define CLIENT_TIMEOUT_S 2
#define STALLED_HEADERS 150
#define STALLED_BODIES 150
#define HEALTH_CHECKS 20

typedef struct
{
  EdTestDaemon *daemon;
  SoupSession  *session;
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
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
}

static GSocketConnection *
connect_raw (Fixture *fixture)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GUri) uri = g_uri_parse (ed_test_daemon_get_url (fixture->daemon), G_URI_FLAGS_NONE, NULL);
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri), g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static void
send_text (GSocketConnection *connection,
           const char        *text)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Whether the daemon has closed @connection: a read finds the end, or an
 * error, within a second.
 */
static gboolean
closed_by_daemon (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  char buffer[1024];

  if (!g_socket_condition_timed_wait (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, G_USEC_PER_SEC, NULL, NULL))
    return FALSE;

  /* an error answer may come first */
  while (g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL) > 0)
    if (!g_socket_condition_timed_wait (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, G_USEC_PER_SEC, NULL, NULL))
      return FALSE;

  return TRUE;
}

static void
test_slow_clients (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *timeout = g_strdup_printf ("%d", CLIENT_TIMEOUT_S);
  const char * const options[] = { "--client-timeout", timeout, NULL };
  g_autoptr(GPtrArray) stalled = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *health_url = NULL;
  gint64 slowest_us = 0;
  guint n_closed = 0;

  ed_test_daemon_set_args (fixture->daemon, options);
  ed_test_daemon_start (fixture->daemon);
  health_url = ed_test_daemon_url (fixture->daemon, "/healthz");

  /* headers that never end (slowloris), bodies that never come */
  for (guint i = 0; i < STALLED_HEADERS + STALLED_BODIES; i++)
    {
      GSocketConnection *connection = connect_raw (fixture);

      if (i < STALLED_HEADERS)
        send_text (connection, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a");
      else
        send_text (connection, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user");
      g_ptr_array_add (stalled, connection);
    }

  /* others are still served at once */
  for (guint i = 0; i < HEALTH_CHECKS; i++)
    {
      g_autoptr(SoupSession) session = ed_test_http_session_new ();
      gint64 start = g_get_monotonic_time ();
      g_autoptr(EdTestResponse) response = ed_test_http_request (session, "GET", health_url, NULL, NULL, NULL);

      ed_test_assert_status (response, SOUP_STATUS_OK);
      slowest_us = MAX (slowest_us, g_get_monotonic_time () - start);
    }
  g_test_message ("/healthz with %d stalled connections: slowest of %d answers %.1f ms",
                  STALLED_HEADERS + STALLED_BODIES, HEALTH_CHECKS, slowest_us / 1000.0);
  g_assert_cmpint (slowest_us, <, G_USEC_PER_SEC);

  /* and the stalled ones are cut off after the timeout */
  g_usleep ((CLIENT_TIMEOUT_S + 2) * G_USEC_PER_SEC);
  for (guint i = 0; i < stalled->len; i++)
    if (closed_by_daemon (g_ptr_array_index (stalled, i)))
      n_closed++;
  g_test_message ("%u of %u stalled connections closed by the daemon after %d s",
                  n_closed, stalled->len, CLIENT_TIMEOUT_S + 2);
  g_assert_cmpuint (n_closed, ==, stalled->len);

  /* a clean stop, not held up by them (the fixture checks its exit) */
  {
    gint64 start = g_get_monotonic_time ();

    g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
    g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  }
}

/* A client's idle keep-alive connection is closed by the timeout; its
 * next request goes out on a new one, without waiting.
 */
static void
test_idle_keep_alive (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autofree char *timeout = g_strdup_printf ("%d", CLIENT_TIMEOUT_S);
  const char * const options[] = { "--client-timeout", timeout, NULL };
  g_autofree char *url = NULL;

  ed_test_daemon_set_args (fixture->daemon, options);
  ed_test_daemon_start (fixture->daemon);
  url = ed_test_daemon_url (fixture->daemon, "/healthz");

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(EdTestResponse) response = NULL;
      gint64 start = g_get_monotonic_time ();

      response = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, NULL);
      ed_test_assert_status (response, SOUP_STATUS_OK);
      g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
      g_usleep ((CLIENT_TIMEOUT_S + 1) * G_USEC_PER_SEC);
    }
}

/* Sends @text a byte at a time, @interval_ms apart, for as long as the
 * daemon keeps the connection open; returns how long that was (ms), or -1
 * when all of @text went out.
 */
static gint64
trickle (GSocketConnection *connection,
         const char        *text,
         guint              interval_ms)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  gint64 start = g_get_monotonic_time ();

  for (gsize i = 0; text[i] != '\0'; i++)
    {
      char buffer[256];

      if (g_socket_send (socket, text + i, 1, NULL, NULL) != 1)
        return (g_get_monotonic_time () - start) / 1000;
      /* an end, or an error answer, before the next byte */
      if (g_socket_condition_timed_wait (socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                         (gint64) interval_ms * 1000, NULL, NULL))
        {
          while (g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL) > 0)
            ;
          return (g_get_monotonic_time () - start) / 1000;
        }
    }

  return -1;
}

/* A client that sends its request a byte every half second is never
 * silent for the client timeout, yet it is cut off once the whole head,
 * or the body, has taken longer than allowed (slowloris).
 */
static void
test_trickling_clients (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *timeout = g_strdup_printf ("%d", CLIENT_TIMEOUT_S);
  const char * const options[] = { "--client-timeout", timeout, NULL };
  g_autoptr(GString) head = g_string_new ("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GSocketConnection) head_connection = NULL;
  g_autoptr(GSocketConnection) body_connection = NULL;
  g_autoptr(EdTestResponse) health = NULL;
  g_autofree char *health_url = NULL;
  gint64 head_ms, body_ms;

  ed_test_daemon_set_args (fixture->daemon, options);
  ed_test_daemon_start (fixture->daemon);
  health_url = ed_test_daemon_url (fixture->daemon, "/healthz");

  /* 40 s worth of bytes at two a second, each well within the timeout */
  for (guint i = 0; i < 80; i++)
    g_string_append_c (head, 'a' + i % 26);
  for (guint i = 0; i < 80; i++)
    g_string_append_c (body, ' ');

  head_connection = connect_raw (fixture);
  head_ms = trickle (head_connection, head->str, 500);
  g_test_message ("a head sent a byte every 500 ms was cut off after %" G_GINT64_FORMAT " ms "
                  "(client timeout %d s)", head_ms, CLIENT_TIMEOUT_S);
  g_assert_cmpint (head_ms, >=, (CLIENT_TIMEOUT_S - 1) * 1000);
  g_assert_cmpint (head_ms, <=, (CLIENT_TIMEOUT_S + 3) * 1000);

  /* the head at once, then the body */
  body_connection = connect_raw (fixture);
  send_text (body_connection, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n");
  body_ms = trickle (body_connection, body->str, 500);
  g_test_message ("a body sent a byte every 500 ms was cut off after %" G_GINT64_FORMAT " ms", body_ms);
  g_assert_cmpint (body_ms, >=, (CLIENT_TIMEOUT_S - 1) * 1000);
  g_assert_cmpint (body_ms, <=, (CLIENT_TIMEOUT_S + 3) * 1000);

  health = ed_test_http_request (fixture->session, "GET", health_url, NULL, NULL, NULL);
  ed_test_assert_status (health, SOUP_STATUS_OK);
}

/* A large body that comes steadily, if slowly, is not cut off however
 * long it takes: 96 KiB over about 1.5 client timeouts.
 */
static void
test_slow_upload_passes (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autofree char *timeout = g_strdup_printf ("%d", CLIENT_TIMEOUT_S);
  const char * const options[] = { "--client-timeout", timeout, NULL };
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  g_autofree char *head = NULL;
  g_autofree char *chunk = g_strnfill (8 * 1024, ' ');
  GSocket *socket;
  const guint n_chunks = 12;
  char buffer[4096];
  gssize n;

  ed_test_daemon_set_args (fixture->daemon, options);
  ed_test_daemon_start (fixture->daemon);

  connection = connect_raw (fixture);
  socket = g_socket_connection_get_socket (connection);
  head = g_strdup_printf ("POST /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Content-Type: application/json\r\nContent-Length: %u\r\n\r\n{}",
                          n_chunks * 8 * 1024 + 2);
  send_text (connection, head);
  for (guint i = 0; i < n_chunks; i++)
    {
      g_usleep (CLIENT_TIMEOUT_S * G_USEC_PER_SEC * 3 / 2 / n_chunks);
      send_text (connection, chunk);
    }

  /* an answer (the body is not a login), not a hang-up */
  g_socket_set_timeout (socket, 10);
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (answer, buffer, n);
  g_test_message ("answer to a slow upload: %.40s", answer->str);
  g_assert_true (g_str_has_prefix (answer->str, "HTTP/1.1 400"));
}

/* kill -9 during an RSVP storm */

#define STORM_GUESTS 400
#define STORM_CAPACITY 150
#define STORM_CONNECTIONS 40
#define STORM_KILL_AFTER 120

static EdTestResponse *api (Fixture    *fixture,
                            const char *token,
                            const char *method,
                            const char *json_body,
                            const char *path_format,
                            ...) G_GNUC_PRINTF (5, 6);

static EdTestResponse *
api (Fixture    *fixture,
     const char *token,
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

  return ed_test_http_request (fixture->session, method, url, token, json_body, NULL);
}

static gint64
member_int (JsonObject *object,
            const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  g_assert_true (node != NULL && json_node_get_value_type (node) == G_TYPE_INT64);
  return node != NULL && json_node_get_value_type (node) == G_TYPE_INT64 ? json_node_get_int (node) : 0;
}

/* Every guest of @event_id: id -> [status, party size] as "status size". */
static GHashTable *
read_guests (Fixture    *fixture,
             const char *token,
             gint64      event_id)
{
  GHashTable *guests = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  gint64 after = 0;

  for (;;)
    {
      g_autoptr(EdTestResponse) page = api (fixture, token, "GET", NULL,
                                            "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500&after=%" G_GINT64_FORMAT,
                                            event_id, after);
      JsonObject *object;
      JsonArray *items;

      ed_test_assert_status (page, SOUP_STATUS_OK);
      object = ed_test_response_get_object (page);
      items = json_object_get_array_member (object, "items");
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonObject *guest = json_array_get_object_element (items, i);
          gint64 *id = g_new (gint64, 1);

          *id = member_int (guest, "id");
          g_hash_table_insert (guests, id,
                               g_strdup_printf ("%s %" G_GINT64_FORMAT,
                                                json_object_get_string_member (guest, "status"),
                                                member_int (guest, "party_size")));
          after = *id;
        }
      if (JSON_NODE_HOLDS_NULL (json_object_get_member (object, "next")))
        break;
    }

  return guests;
}

static void
assert_integrity (Fixture *fixture)
{
  g_autofree char *db_path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

typedef struct
{
  gint64       guest_id;
  guint        party_size;
  SoupMessage *msg;
  char        *answer;   /* "status size" from a 2xx answer, else NULL */
  gboolean     done;
} Answer;

typedef struct
{
  guint n_done;
  guint n_ok;
} StormState;

static void
answer_free (Answer *answer)
{
  g_clear_object (&answer->msg);
  g_free (answer->answer);
  g_free (answer);
}

typedef struct
{
  Answer     *answer;
  StormState *state;
} AnswerCall;

static void
on_answer_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  AnswerCall *call = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  guint status = soup_message_get_status (call->answer->msg);

  if (body != NULL && status >= 200 && status < 300)
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      g_autoptr(JsonNode) node = json_from_string (text, NULL);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *object = json_node_get_object (node);

          call->answer->answer = g_strdup_printf ("%s %" G_GINT64_FORMAT,
                                                  json_object_get_string_member (object, "status"),
                                                  member_int (object, "party_size"));
          call->state->n_ok++;
        }
    }
  call->answer->done = TRUE;
  call->state->n_done++;
  g_free (call);
}

/* Guests answer at once over many connections; the daemon is killed while
 * answers are still coming. After a restart every answer that got a 2xx is
 * there as it was told, and the seats taken are those of the accepted
 * guests, within capacity.
 */
static void
test_kill_during_rsvp_storm (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autoptr(GString) csv = g_string_new ("email,first_name\n");
  g_autoptr(GPtrArray) answers = g_ptr_array_new_with_free_func ((GDestroyNotify) answer_free);
  g_autoptr(SoupSession) storm = NULL;
  g_autoptr(GHashTable) guests = NULL;
  g_autoptr(EdTestResponse) created = NULL;
  g_autoptr(EdTestResponse) imported = NULL;
  g_autoptr(EdTestResponse) stats = NULL;
  g_autofree char *token = NULL;
  StormState state = { 0, 0 };
  gint64 event_id;
  gint64 seats = 0;
  guint n_kept = 0;
  GHashTableIter iter;
  gpointer key, value;

  ed_test_daemon_start (fixture->daemon);
  token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                              ADMIN_NAME, ADMIN_PASSWORD);
  created = api (fixture, token, "POST",
                 "{\"name\":\"Storm\",\"starts_at\":\"2030-06-01T19:00:00Z\",\"capacity\":150,"
                 "\"waitlist_enabled\":true,\"max_party_size\":4}", "/api/v1/events");
  ed_test_assert_status (created, SOUP_STATUS_CREATED);
  event_id = member_int (ed_test_response_get_object (created), "id");

  for (guint i = 0; i < STORM_GUESTS; i++)
    g_string_append_printf (csv, "storm%u@example.com,Guest %u\n", i, i);
  {
    g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/events/1/guests/import");
    g_autoptr(GBytes) body = g_bytes_new (csv->str, csv->len);

    imported = ed_test_http_request_bytes (fixture->session, "POST", url, token, "text/csv", body, FALSE);
    ed_test_assert_status (imported, SOUP_STATUS_OK);
  }

  /* every guest's link, then all answers at once */
  guests = read_guests (fixture, token, event_id);
  g_assert_cmpuint (g_hash_table_size (guests), ==, STORM_GUESTS);
  g_hash_table_iter_init (&iter, guests);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr(EdTestResponse) link = api (fixture, token, "GET", NULL,
                                            "/api/v1/guests/%" G_GINT64_FORMAT "/link", *(gint64 *) key);
      Answer *answer = g_new0 (Answer, 1);
      g_autofree char *url = NULL;
      g_autofree char *form = NULL;
      g_autoptr(GBytes) body = NULL;

      ed_test_assert_status (link, SOUP_STATUS_OK);
      answer->guest_id = *(gint64 *) key;
      answer->party_size = 1 + answers->len % 4;
      url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon),
                             json_object_get_string_member (ed_test_response_get_object (link), "token"));
      form = g_strdup_printf ("response=accept&party_size=%u", answer->party_size);
      body = g_bytes_new (form, strlen (form));
      answer->msg = soup_message_new ("POST", url);
      soup_message_set_request_body_from_bytes (answer->msg, "application/x-www-form-urlencoded", body);
      soup_message_headers_replace (soup_message_get_request_headers (answer->msg), "Accept", "application/json");
      g_ptr_array_add (answers, answer);
    }

  storm = soup_session_new_with_options ("max-conns", STORM_CONNECTIONS, "max-conns-per-host", STORM_CONNECTIONS,
                                         "timeout", 30, NULL);
  for (guint i = 0; i < answers->len; i++)
    {
      AnswerCall *call = g_new0 (AnswerCall, 1);

      call->answer = g_ptr_array_index (answers, i);
      call->state = &state;
      soup_session_send_and_read_async (storm, call->answer->msg, G_PRIORITY_DEFAULT, NULL, on_answer_cb, call);
    }
  while (state.n_done < STORM_KILL_AFTER)
    g_main_context_iteration (NULL, TRUE);

  ed_test_daemon_kill (fixture->daemon);
  while (state.n_done < answers->len)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("killed after %u of %u answers came back, %u of them 2xx",
                  STORM_KILL_AFTER, STORM_GUESTS, state.n_ok);
  g_assert_cmpuint (state.n_ok, >=, STORM_KILL_AFTER / 2);
  g_assert_cmpuint (state.n_ok, <, STORM_GUESTS);

  ed_test_daemon_start (fixture->daemon);
  assert_integrity (fixture);
  g_clear_pointer (&guests, g_hash_table_unref);
  guests = read_guests (fixture, token, event_id);

  for (guint i = 0; i < answers->len; i++)
    {
      Answer *answer = g_ptr_array_index (answers, i);
      const char *stored = g_hash_table_lookup (guests, &answer->guest_id);

      if (answer->answer == NULL)
        continue;
      /* nobody declined, so nobody moved up: it is as it was told */
      if (g_strcmp0 (stored, answer->answer) != 0)
        g_test_message ("guest %" G_GINT64_FORMAT " was told “%s”, the database has “%s”",
                        answer->guest_id, answer->answer, stored);
      g_assert_cmpstr (stored, ==, answer->answer);
      n_kept++;
    }

  g_hash_table_iter_init (&iter, guests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_has_prefix (value, "accepted "))
      seats += ed_test_parse_int ((const char *) value + strlen ("accepted "), "an answer’s party size");

  stats = api (fixture, token, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);
  ed_test_assert_status (stats, SOUP_STATUS_OK);
  g_test_message ("%u acknowledged answers kept; %" G_GINT64_FORMAT " of %d seats taken",
                  n_kept, seats, STORM_CAPACITY);
  g_assert_cmpint (member_int (ed_test_response_get_object (stats), "seats_taken"), ==, seats);
  g_assert_cmpint (seats, <=, STORM_CAPACITY);
}

#define FULL_DISK_MAX_WRITES 400

/* 507 Insufficient Storage, saying the disk is full */
static void
assert_disk_full (EdTestResponse *response)
{
  JsonObject *error;

  ed_test_assert_error (response, SOUP_STATUS_INSUFFICIENT_STORAGE, "insufficient_storage");
  error = json_object_get_object_member (ed_test_response_get_object (response), "error");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "disk is full"));
}

/* A full disk: the daemon may write only a little more than its database
 * holds (RLIMIT_FSIZE, inherited from this process). A big import then
 * fails with 507, so do small writes once the room is used up; the daemon
 * keeps serving, and after a restart without the limit nothing of the
 * import is there, every guest whose addition was acknowledged is, and
 * the database is whole.
 */
static void
test_full_disk (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GString) csv = g_string_new ("email,first_name,last_name\n");
  g_autoptr(EdTestResponse) created = NULL;
  g_autoptr(EdTestResponse) imported = NULL;
  g_autoptr(EdTestResponse) health = NULL;
  g_autoptr(EdTestResponse) stats = NULL;
  g_autofree char *token = NULL;
  g_autofree char *db_path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autofree char *wal_path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db-wal");
  g_autoptr(EdTestResponse) refused = NULL;
  struct rlimit saved, limited;
  struct stat st;
  goffset largest = 0;
  guint n_added = 0;
  gint64 event_id;

  ed_test_daemon_start (fixture->daemon);
  token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                              ADMIN_NAME, ADMIN_PASSWORD);
  created = api (fixture, token, "POST",
                 "{\"name\":\"Full\",\"starts_at\":\"2030-06-01T19:00:00Z\",\"capacity\":10}",
                 "/api/v1/events");
  ed_test_assert_status (created, SOUP_STATUS_CREATED);
  event_id = member_int (ed_test_response_get_object (created), "id");
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);

  if (g_stat (db_path, &st) == 0)
    largest = MAX (largest, st.st_size);
  if (g_stat (wal_path, &st) == 0)
    largest = MAX (largest, st.st_size);

  /* no file of the daemon may grow past 256 KiB more than the largest now */
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limited = saved;
  limited.rlim_cur = (rlim_t) largest + 256 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);
  ed_test_daemon_start (fixture->daemon);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  g_free (token);
  token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                              ADMIN_NAME, ADMIN_PASSWORD);

  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (csv, "full%u@example.com,Guest number %u,Of a long import\n", i, i);
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import", event_id);
    g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);
    g_autoptr(GBytes) body = g_bytes_new (csv->str, csv->len);

    imported = ed_test_http_request_bytes (fixture->session, "POST", url, token, "text/csv", body, FALSE);
  }
  g_test_message ("import on a full disk: %u %s", imported->status,
                  ed_test_response_get_error_code (imported) ? ed_test_response_get_error_code (imported) : "");
  assert_disk_full (imported);

  /* small writes go on until they too find no room, each one answered */
  for (guint i = 0; i < FULL_DISK_MAX_WRITES && refused == NULL; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"email\":\"small%u@example.com\",\"first_name\":\"Small %u\"}", i, i);
      g_autoptr(EdTestResponse) added = api (fixture, token, "POST", body,
                                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);

      if (added->status == SOUP_STATUS_CREATED)
        n_added++;
      else
        refused = g_steal_pointer (&added);
    }
  g_test_message ("%u guests added one by one before the disk was full", n_added);
  g_assert_nonnull (refused);
  if (refused != NULL)
    assert_disk_full (refused);

  /* still serving, reads too */
  health = api (fixture, NULL, "GET", NULL, "/healthz");
  g_test_message ("/healthz on a full disk: %u", health->status);
  ed_test_assert_status (health, SOUP_STATUS_OK);
  stats = api (fixture, token, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);
  ed_test_assert_status (stats, SOUP_STATUS_OK);
  g_assert_cmpint (member_int (ed_test_response_get_object (stats), "pending"), ==, n_added);
  g_clear_pointer (&stats, ed_test_response_free);

  /* room again: nothing of the import, every acknowledged guest, the
   * database whole
   */
  ed_test_daemon_kill (fixture->daemon);
  ed_test_daemon_start (fixture->daemon);
  assert_integrity (fixture);
  g_free (token);
  token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                              ADMIN_NAME, ADMIN_PASSWORD);
  stats = api (fixture, token, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);
  ed_test_assert_status (stats, SOUP_STATUS_OK);
  g_assert_cmpint (member_int (ed_test_response_get_object (stats), "pending"), ==, n_added);
}

/* A read-only data directory */

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return g_strdup ("(missing)");
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

/* The daemon refuses to start on a data directory it cannot write, or on
 * a database file it cannot write, saying which and why; nothing in the
 * directory changes, and once it is writable again the daemon starts on
 * the same data.
 */
static void
test_read_only_data_dir (Fixture       *fixture,
                         gconstpointer  user_data)
{
  const char *data_dir = ed_test_daemon_get_data_dir (fixture->daemon);
  const char * const args[] = { "--listen", "127.0.0.1:0", "--data-dir", data_dir, NULL };
  const char * const files[] = { "eventdesk.db", "secret.key", "eventdeskd.lock" };
  g_autofree char *db_path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autofree char *db_before = NULL;
  g_autofree char *db_after = NULL;
  g_autofree char *err = NULL;
  g_autofree char *token = NULL;
  g_autoptr(EdTestResponse) events = NULL;

  /* some data, then stopped cleanly: the WAL is folded in and gone */
  ed_test_daemon_start (fixture->daemon);
  token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                              ADMIN_NAME, ADMIN_PASSWORD);
  {
    g_autoptr(EdTestResponse) created = api (fixture, token, "POST",
                                             "{\"name\":\"Kept\",\"starts_at\":\"2030-06-01T19:00:00Z\",\"capacity\":10}",
                                             "/api/v1/events");

    ed_test_assert_status (created, SOUP_STATUS_CREATED);
  }
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
  db_before = file_checksum (db_path);

  /* as a read-only mount has it: the directory and every file */
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, files[i]);

      g_assert_cmpint (g_chmod (path, 0400), ==, 0);
    }
  g_assert_cmpint (g_chmod (data_dir, 0500), ==, 0);
  g_assert_cmpint (ed_test_daemon_run_unprivileged (fixture->daemon, args, &err), ==, 1);
  g_test_message ("read-only data directory: %s", err);
  g_assert_nonnull (strstr (err, "Cannot write to the data directory"));
  g_assert_nonnull (strstr (err, data_dir));
  g_assert_nonnull (strstr (err, "Permission denied"));
  g_clear_pointer (&err, g_free);

  /* only the database read-only */
  g_assert_cmpint (g_chmod (data_dir, 0700), ==, 0);
  for (guint i = 1; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, files[i]);

      g_assert_cmpint (g_chmod (path, 0600), ==, 0);
    }
  g_assert_cmpint (ed_test_daemon_run_unprivileged (fixture->daemon, args, &err), ==, 1);
  g_test_message ("read-only database: %s", err);
  g_assert_nonnull (strstr (err, "read-only"));
  g_assert_nonnull (strstr (err, db_path));

  /* nothing written, and all there once it may be written again */
  db_after = file_checksum (db_path);
  g_assert_cmpstr (db_after, ==, db_before);
  g_assert_cmpint (g_chmod (db_path, 0600), ==, 0);
  ed_test_daemon_start (fixture->daemon);
  assert_integrity (fixture);
  g_free (token);
  token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                              ADMIN_NAME, ADMIN_PASSWORD);
  events = api (fixture, token, "GET", NULL, "/api/v1/events");
  ed_test_assert_status (events, SOUP_STATUS_OK);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (ed_test_response_get_object (events),
                                                                         "items")), ==, 1);
}

/* HTTPS */

static gboolean
on_accept_certificate_cb (SoupMessage          *msg,
                          GTlsCertificate      *peer,
                          GTlsCertificateFlags  errors,
                          gpointer              user_data)
{
  GTlsCertificate *expected = user_data;

  /* self-signed, so only trusted because it is the one made here */
  return g_tls_certificate_is_same (peer, expected);
}

static int
run_openssl (const char * const *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  const char *openssl = g_getenv ("OPENSSL");

  g_ptr_array_add (argv, (gpointer) (openssl ? openssl : "openssl"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
  return error == NULL ? 0 : 1;
}

static void
test_https (Fixture       *fixture,
            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eventdesk-test-tls-XXXXXX", &error);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *other_key = g_build_filename (dir, "other-key.pem", NULL);
  const char * const make_cert[] = {
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", NULL,
  };
  const char * const make_other_key[] = {
    "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", other_key, NULL,
  };
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(SoupMessage) login = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *url = NULL;
  g_autofree char *plain_url = NULL;
  g_autofree char *err = NULL;

  g_assert_no_error (error);
  run_openssl (make_cert);
  run_openssl (make_other_key);
  g_file_set_contents (other_key, "not a key\n", -1, &error);
  g_assert_no_error (error);
  certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);

  /* a key file that is not a key stops the start, saying so */
  {
    const char * const args[] = {
      "--listen", "127.0.0.1:0", "--data-dir", ed_test_daemon_get_data_dir (fixture->daemon),
      "--tls-cert", cert, "--tls-key", other_key, NULL,
    };
    const char * const one_only[] = {
      "--listen", "127.0.0.1:0", "--data-dir", ed_test_daemon_get_data_dir (fixture->daemon),
      "--tls-cert", cert, NULL,
    };

    g_assert_cmpint (ed_test_daemon_run (fixture->daemon, args, NULL, NULL, &err), ==, 1);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, "TLS certificate"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (ed_test_daemon_run (fixture->daemon, one_only, NULL, NULL, &err), ==, 2);
    g_assert_nonnull (strstr (err, "tls-key"));
  }

  {
    const char * const options[] = { "--tls-cert", cert, "--tls-key", key, NULL };

    ed_test_daemon_set_args (fixture->daemon, options);
  }
  ed_test_daemon_start (fixture->daemon);
  g_assert_true (g_str_has_prefix (ed_test_daemon_get_url (fixture->daemon), "https://127.0.0.1:"));

  /* a login over TLS, the certificate the one given */
  url = ed_test_daemon_url (fixture->daemon, "/api/v1/session");
  login = ed_test_http_message_new ("POST", url, NULL,
                                    "{\"username\":\"" ADMIN_NAME "\",\"password\":\"" ADMIN_PASSWORD "\"}", NULL);
  g_signal_connect (login, "accept-certificate", G_CALLBACK (on_accept_certificate_cb), certificate);
  response = ed_test_http_send (fixture->session, login);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  g_assert_true (g_tls_certificate_is_same (soup_message_get_tls_peer_certificate (login), certificate));

  /* plain HTTP to the same port gets nothing */
  plain_url = g_strconcat ("http://", ed_test_daemon_get_url (fixture->daemon) + strlen ("https://"),
                           "/healthz", NULL);
  {
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", plain_url);
    g_autoptr(GBytes) body = soup_session_send_and_read (fixture->session, msg, NULL, &error);

    g_test_message ("plain HTTP to the HTTPS port: %u (%s)", soup_message_get_status (msg),
                    error ? error->message : "no error");
    g_assert_cmpuint (soup_message_get_status (msg), !=, SOUP_STATUS_OK);
    g_clear_error (&error);
  }

  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
  g_unlink (cert);
  g_unlink (key);
  g_unlink (other_key);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

#define ADD(path, test) \
  g_test_add (path, Fixture, NULL, fixture_set_up, test, fixture_tear_down)

  ADD ("/faults/rsvp/kill-during-storm", test_kill_during_rsvp_storm);
  ADD ("/faults/data-dir/full", test_full_disk);
  ADD ("/faults/data-dir/read-only", test_read_only_data_dir);
  ADD ("/faults/http/slow-clients", test_slow_clients);
  ADD ("/faults/http/idle-keep-alive", test_idle_keep_alive);
  ADD ("/faults/http/trickling-clients", test_trickling_clients);
  ADD ("/faults/http/slow-upload-passes", test_slow_upload_passes);
  ADD ("/faults/http/https", test_https);

#undef ADD

  return g_test_run ();
}
