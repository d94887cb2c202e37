/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "ed-event.h"
#include "ed-export-job.h"
#include "ed-store.h"
#include "ed-test-fixture.h"
#include "ed-time-util.h"

/* Guest import and export, against the real daemon over loopback: the
 * corpus of awkward files under tests/data/import (each NAME.csv with its
 * expected report and guests in NAME.expected, see the README there),
 * uploads that break off, a daemon killed during an import, the export's
 * columns, filters and neutralised formulas, and the round trip through
 * both. The store's deferred search index is tested on the store itself.
 */

#define IO_TIMEOUT_S 30

typedef EdTestFixture Fixture;

/* Requests */

static EdTestResponse *request (Fixture    *fixture,
                                const char *method,
                                const char *json_body,
                                const char *path_format,
                                ...) G_GNUC_PRINTF (4, 5);

static EdTestResponse *
request (Fixture    *fixture,
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
create_event (Fixture    *fixture,
              const char *name)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\",\"starts_at\":\"2027-05-01T18:00:00Z\","
                                           "\"capacity\":1000}", name);

  response = request (fixture, "POST", body, "/api/v1/events");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return json_object_get_int_member (ed_test_response_get_object (response), "id");
}

static gint64
create_guest (Fixture    *fixture,
              gint64      event_id,
              const char *email)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"first_name\":\"Existing\","
                                           "\"last_name\":\"Guest\",\"extra\":{\"table\":\"9\"}}", email);

  response = request (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return json_object_get_int_member (ed_test_response_get_object (response), "id");
}

static EdTestResponse *
import_bytes (Fixture    *fixture,
              gint64      event_id,
              const char *mode,
              GBytes     *body,
              gboolean    chunked)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import%s%s",
                                           event_id, mode ? "?mode=" : "", mode ? mode : "");
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                     "text/csv", body, chunked);
}

static EdTestResponse *
import_text (Fixture    *fixture,
             gint64      event_id,
             const char *mode,
             const char *csv)
{
  g_autoptr(GBytes) body = g_bytes_new (csv, strlen (csv));

  return import_bytes (fixture, event_id, mode, body, FALSE);
}

/* The event's guests in id order, as {email, first_name, last_name, extra}. */
static JsonNode *
list_guests (Fixture *fixture,
             gint64   event_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  gint64 after = 0;

  json_builder_begin_array (builder);
  for (;;)
    {
      g_autoptr(EdTestResponse) response = NULL;
      JsonObject *page;
      JsonArray *items;

      response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500&after=%" G_GINT64_FORMAT,
                          event_id, after);
      ed_test_assert_status (response, SOUP_STATUS_OK);
      page = ed_test_response_get_object (response);
      items = json_object_get_array_member (page, "items");
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonObject *guest = json_array_get_object_element (items, i);
          static const char * const kept[] = { "email", "first_name", "last_name", "extra" };

          json_builder_begin_object (builder);
          for (guint k = 0; k < G_N_ELEMENTS (kept); k++)
            {
              json_builder_set_member_name (builder, kept[k]);
              json_builder_add_value (builder, json_node_copy (json_object_get_member (guest, kept[k])));
            }
          json_builder_end_object (builder);
        }
      if (json_object_get_null_member (page, "next"))
        break;
      after = json_object_get_int_member (page, "next");
    }
  json_builder_end_array (builder);

  return json_builder_get_root (builder);
}

static gint64
count_guests (Fixture *fixture,
              gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=1", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return json_object_get_int_member (ed_test_response_get_object (response), "total");
}

static JsonObject *
get_stats (Fixture *fixture,
           gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return json_object_ref (ed_test_response_get_object (response));
}

static void
assert_json_equal (JsonNode *expected,
                   JsonNode *actual)
{
  gboolean equal = expected != NULL && actual != NULL && json_node_equal (expected, actual);

  if (!equal)
    {
      g_autofree char *a = expected ? json_to_string (expected, TRUE) : g_strdup ("nothing");
      g_autofree char *b = actual ? json_to_string (actual, TRUE) : g_strdup ("nothing");

      g_test_message ("Expected %s\n     got %s", a, b);
    }
  g_assert_true (equal);
}

/* Raw HTTP, for uploads no HTTP library would cut off. */

static GSocketConnection *
raw_connect (Fixture *fixture)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, IO_TIMEOUT_S);
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_uri (client, ed_test_daemon_get_url (fixture->daemon), 0, NULL, &error);
  g_assert_no_error (error);

  return connection;
}

static void
raw_write (GSocketConnection *connection,
           const void        *data,
           gsize              len)
{
  g_autoptr(GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  g_output_stream_write_all (out, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
raw_write_upload_headers (Fixture           *fixture,
                          GSocketConnection *connection,
                          gint64             event_id,
                          gint64             content_length,
                          gboolean           expect_continue)
{
  g_autofree char *headers = NULL;

  headers = g_strdup_printf ("POST /api/v1/events/%" G_GINT64_FORMAT "/guests/import HTTP/1.1\r\n"
                             "Host: 127.0.0.1\r\n"
                             "Authorization: Bearer %s\r\n"
                             "Content-Type: text/csv\r\n"
                             "Content-Length: %" G_GINT64_FORMAT "\r\n"
                             "%s"
                             "\r\n", event_id, fixture->token, content_length,
                             expect_continue ? "Expect: 100-continue\r\n" : "");
  raw_write (connection, headers, strlen (headers));
}

/* Polls the import's progress until @predicate holds for it. */
typedef gboolean (*ProgressPredicate) (JsonObject    *progress,
                                       gconstpointer  user_data);

static JsonObject *
wait_for_progress (Fixture           *fixture,
                   gint64             event_id,
                   ProgressPredicate  predicate,
                   gconstpointer      user_data)
{
  gint64 deadline = g_get_monotonic_time () + IO_TIMEOUT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(EdTestResponse) response = NULL;

      response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests/import", event_id);
      if (response->status == SOUP_STATUS_OK &&
          predicate (ed_test_response_get_object (response), user_data))
        return json_object_ref (ed_test_response_get_object (response));
      g_usleep (G_USEC_PER_SEC / 50);
    }

  g_test_fail_printf ("The import's progress did not reach what the test waits for");
  return json_object_new ();
}

static gboolean
is_state (JsonObject    *progress,
          gconstpointer  state)
{
  return g_strcmp0 (json_object_get_string_member_with_default (progress, "state", ""), state) == 0;
}

static gboolean
has_rows (JsonObject    *progress,
          gconstpointer  n_rows)
{
  return is_state (progress, "receiving") &&
         json_object_get_int_member_with_default (progress, "rows", 0) >= GPOINTER_TO_INT (n_rows);
}

/* Generated files */

static GString *
generate_guests (guint        n_rows,
                 const char  *domain)
{
  GString *csv = g_string_new ("email,first_name,last_name,company\r\n");

  for (guint i = 1; i <= n_rows; i++)
    g_string_append_printf (csv, "guest%06u@%s,First%u,Last%u,Company %u\r\n", i, domain, i, i % 97, i % 13);

  return csv;
}

/* The corpus */

static JsonObject *
load_expected (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".expected", NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "import", file, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Files too large for the repository are made by the test. */
static GBytes *
load_csv (JsonObject *expected,
          const char *name)
{
  const char *generate = json_object_get_string_member_with_default (expected, "generate", NULL);
  const char *file_name = json_object_get_string_member_with_default (expected, "file", name);
  g_autofree char *file = g_strconcat (file_name, ".csv", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  if (g_strcmp0 (generate, "five-megabyte-field") == 0)
    {
      GString *csv = g_string_new ("email,first_name,last_name,notes\r\n"
                                   "ann@example.com,Ann,Smith,short\r\n"
                                   "bob@example.com,Bob,Jones,\"");

      /* Quoted, with separators and line breaks, as a pasted document is. */
      while (csv->len < 5 * 1024 * 1024)
        g_string_append (csv, "Lorem ipsum, dolor sit amet;\r\n");
      g_string_append (csv, "\"\r\ncarl@example.com,Carl,Clark,short\r\n");
      return g_string_free_to_bytes (csv);
    }

  if (g_strcmp0 (generate, "many-rejections") == 0)
    {
      GString *csv = g_string_new ("email\r\n");

      for (guint i = 0; i < 1200; i++)
        g_string_append_printf (csv, "not-an-address-%u\r\n", i);
      g_string_append (csv, "ann@example.com\r\n");
      return g_string_free_to_bytes (csv);
    }

  g_assert_null (generate);
  path = g_test_build_filename (G_TEST_DIST, "data", "import", file, NULL);
  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);

  return g_bytes_new_take (contents, length);
}

static void
run_corpus_file (Fixture    *fixture,
                 const char *name,
                 gboolean    chunked)
{
  g_autoptr(JsonObject) expected = load_expected (name);
  g_autoptr(GBytes) csv = load_csv (expected, name);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonNode) guests = NULL;
  const char *mode = json_object_get_string_member_with_default (expected, "mode", NULL);
  gint64 event_id = create_event (fixture, name);
  guint status = (guint) json_object_get_int_member (expected, "status");

  if (json_object_has_member (expected, "existing"))
    {
      JsonArray *existing = json_object_get_array_member (expected, "existing");

      for (guint i = 0; i < json_array_get_length (existing); i++)
        create_guest (fixture, event_id, json_array_get_string_element (existing, i));
    }

  response = import_bytes (fixture, event_id, mode, csv, chunked);
  if (status == SOUP_STATUS_OK)
    {
      ed_test_assert_status (response, SOUP_STATUS_OK);
      assert_json_equal (json_object_get_member (expected, "report"), response->json);
    }
  else
    ed_test_assert_error (response, status, json_object_get_string_member (expected, "error"));

  /* What the event holds afterwards, refused and dry runs included. */
  guests = list_guests (fixture, event_id);
  assert_json_equal (json_object_get_member (expected, "guests"), guests);
}

static void
test_corpus (Fixture       *fixture,
             gconstpointer  user_data)
{
  run_corpus_file (fixture, user_data, FALSE);
}

/* The same file again, sent in chunks of unknown total size. */
static void
test_corpus_chunked (Fixture       *fixture,
                     gconstpointer  user_data)
{
  run_corpus_file (fixture, user_data, TRUE);
}

/* Requests that are refused before the file is read */

static void
test_refusals (Fixture       *fixture,
               gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GBytes) csv = g_bytes_new_static ("email\r\nann@example.com\r\n", 24);
  g_autofree char *url = NULL;
  gint64 event_id = create_event (fixture, "Refusals");
  const char * const evil_origin[] = { "Origin", "https://evil.example", NULL };

  response = import_bytes (fixture, event_id, "sometimes", csv, FALSE);
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (response, "mode"));

  g_clear_pointer (&response, ed_test_response_free);
  response = import_bytes (fixture, event_id + 1000, NULL, csv, FALSE);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");

  g_clear_pointer (&response, ed_test_response_free);
  url = ed_test_daemon_url (fixture->daemon, "/api/v1/events/1/guests/import");
  response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                         "application/json", csv, FALSE);
  ed_test_assert_error (response, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request_bytes (fixture->session, "POST", url, NULL, "text/csv", csv, FALSE);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");

  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request_bytes (fixture->session, "POST", url, "not.a.token", "text/csv", csv, TRUE);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");

  /* A page of another site cannot upload, though the route is checked
   * before the daemon's usual check of the Origin.
   */
  {
    g_autoptr(SoupMessage) msg = ed_test_http_message_new ("POST", url, fixture->token, NULL, evil_origin);

    soup_message_set_request_body_from_bytes (msg, "text/csv", csv);
    g_clear_pointer (&response, ed_test_response_free);
    response = ed_test_http_send (fixture->session, msg);
    ed_test_assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");
  }

  g_assert_cmpint (count_guests (fixture, event_id), ==, 0);

  /* Nothing has been imported into this event yet. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests/import", event_id);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
}

/* A Content-Length above the limit is refused before the body is sent. */
static void
test_too_large (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GSocketConnection) connection = raw_connect (fixture);
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *status_line = NULL;
  gint64 event_id = create_event (fixture, "Huge");

  /* Asked first, the daemon refuses at once, before any of the body. */
  raw_write_upload_headers (fixture, connection, event_id, G_GINT64_CONSTANT (3) * 1024 * 1024 * 1024, TRUE);

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  status_line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  g_assert_nonnull (status_line);
  g_assert_true (g_str_has_prefix (status_line, "HTTP/1.1 413"));
  g_assert_cmpint (count_guests (fixture, event_id), ==, 0);
}

/* A file larger than the 1 MiB other requests may have, sent in chunks:
 * its progress shows while it arrives, and all of it is imported.
 */
static void
test_streamed_progress (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autoptr(GString) csv = generate_guests (60000, "example.com");
  g_autoptr(GSocketConnection) connection = raw_connect (fixture);
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(JsonObject) receiving = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autofree char *status_line = NULL;
  gint64 event_id = create_event (fixture, "Streamed");
  gsize half = csv->len / 2;
  JsonObject *report;

  g_assert_cmpuint (csv->len, >, 3 * 1024 * 1024);

  raw_write_upload_headers (fixture, connection, event_id, (gint64) csv->len, FALSE);
  raw_write (connection, csv->str, half);

  /* The rows of the first half are counted while the rest is missing. */
  receiving = wait_for_progress (fixture, event_id, has_rows, GINT_TO_POINTER (20000));
  g_assert_cmpstr (json_object_get_string_member (receiving, "state"), ==, "receiving");
  g_assert_cmpint (json_object_get_int_member (receiving, "bytes_received"), <=, (gint64) half);
  g_assert_cmpint (json_object_get_int_member (receiving, "bytes_received"), >, 0);
  g_assert_cmpint (json_object_get_int_member (receiving, "bytes_expected"), ==, (gint64) csv->len);

  /* A second import into the same event must wait for this one. */
  {
    g_autoptr(EdTestResponse) response = import_text (fixture, event_id, NULL, "email\r\nx@example.com\r\n");

    ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "import_running");
  }

  raw_write (connection, csv->str + half, csv->len - half);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  status_line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  g_assert_cmpstr (status_line, ==, "HTTP/1.1 200 OK\r");

  done = wait_for_progress (fixture, event_id, is_state, "done");
  g_assert_cmpint (json_object_get_int_member (done, "bytes_received"), ==, (gint64) csv->len);
  report = json_object_get_object_member (done, "report");
  g_assert_cmpint (json_object_get_int_member (report, "rows"), ==, 60000);
  g_assert_cmpint (json_object_get_int_member (report, "imported"), ==, 60000);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 60000);

  {
    g_autoptr(JsonObject) stats = get_stats (fixture, event_id);

    g_assert_cmpint (json_object_get_int_member (stats, "pending"), ==, 60000);
  }
}

/* An upload cut off mid-row by a dropped connection writes nothing, also
 * when the rows before the cut were already being added.
 */
static void
test_cut_off (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autoptr(GString) csv = generate_guests (40000, "example.org");
  g_autoptr(JsonObject) failed = NULL;
  g_autoptr(JsonObject) stats = NULL;
  gint64 event_id = create_event (fixture, "Cut off");
  gsize cut;

  create_guest (fixture, event_id, "before@example.com");

  /* Mid-row: in the middle of an address. */
  cut = csv->len - 1000;
  while (csv->str[cut] != '@')
    cut--;

  {
    g_autoptr(GSocketConnection) connection = raw_connect (fixture);

    raw_write_upload_headers (fixture, connection, event_id, (gint64) csv->len, FALSE);
    raw_write (connection, csv->str, cut);
    json_object_unref (wait_for_progress (fixture, event_id, has_rows, GINT_TO_POINTER (30000)));
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  }

  failed = wait_for_progress (fixture, event_id, is_state, "failed");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (failed, "error"), "code"),
                   ==, "upload_incomplete");
  g_assert_cmpint (json_object_get_int_member (failed, "bytes_received"), ==, (gint64) cut);

  g_assert_cmpint (count_guests (fixture, event_id), ==, 1);
  stats = get_stats (fixture, event_id);
  g_assert_cmpint (json_object_get_int_member (stats, "pending"), ==, 1);

  /* The event takes the same file whole afterwards. */
  {
    g_autoptr(GBytes) body = g_bytes_new (csv->str, csv->len);
    g_autoptr(EdTestResponse) response = import_bytes (fixture, event_id, NULL, body, FALSE);

    ed_test_assert_status (response, SOUP_STATUS_OK);
    g_assert_cmpint (json_object_get_int_member (ed_test_response_get_object (response), "imported"), ==, 40000);
  }
  g_assert_cmpint (count_guests (fixture, event_id), ==, 40001);
}

/* A daemon killed during a large import loses the import and nothing else. */
static void
test_kill_during_import (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GString) csv = generate_guests (150000, "example.net");
  g_autoptr(GSocketConnection) connection = raw_connect (fixture);
  g_autoptr(JsonObject) stats = NULL;
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  gint64 event_id = create_event (fixture, "Killed");
  g_autofree char *db_path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");

  create_guest (fixture, event_id, "before@example.com");
  before = list_guests (fixture, event_id);

  raw_write_upload_headers (fixture, connection, event_id, (gint64) csv->len, FALSE);
  raw_write (connection, csv->str, csv->len - 100);
  json_object_unref (wait_for_progress (fixture, event_id, has_rows, GINT_TO_POINTER (100000)));

  ed_test_daemon_kill (fixture->daemon);
  ed_test_daemon_start (fixture->daemon);

  after = list_guests (fixture, event_id);
  assert_json_equal (before, after);
  stats = get_stats (fixture, event_id);
  g_assert_cmpint (json_object_get_int_member (stats, "pending"), ==, 1);

  /* The database and its search index are whole. */
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }

  {
    g_autoptr(EdTestResponse) response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=before",
                                                  event_id);

    ed_test_assert_status (response, SOUP_STATUS_OK);
    g_assert_cmpint (json_object_get_int_member (ed_test_response_get_object (response), "total"), ==, 1);
  }
}

/* Export */

static char *
export_csv (Fixture    *fixture,
            gint64      event_id,
            const char *query,
            EdTestResponse **out_response)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests.csv%s%s",
                      event_id, query ? "?" : "", query ? query : "");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_response_get_header (response, "Content-Type"), ==, "text/csv; charset=utf-8");
  g_assert_cmpstr (ed_test_response_get_header (response, "Transfer-Encoding"), ==, "chunked");

  if (out_response != NULL)
    *out_response = g_steal_pointer (&response);
  return ed_test_response_get_body_text (out_response ? *out_response : response);
}

static const char export_source[] =
  "email,first_name,last_name,Phone,Diet\r\n"
  "ann@example.com,Ann,Smith,'+49 30 1234,vegan\r\n"
  "bob@example.com,Bob,\"Jones, Jr.\",,\r\n"
  "carl@example.com,'=cmd|' /C calc'!A0,Clark,-1,\"said \"\"hi\"\"\"\r\n"
  "dora@example.com,Dora,@Home,,\"two\r\nlines\"\r\n";

static void
test_export_columns (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) import = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) patch = NULL;
  g_autofree char *csv = NULL;
  gint64 event_id = create_event (fixture, "Export");
  gint64 eve_id;

  import = import_text (fixture, event_id, NULL, export_source);
  ed_test_assert_status (import, SOUP_STATUS_OK);

  /* A guest with an extra field of its own, in another case than the
   * file's: one column for both.
   */
  eve_id = create_guest (fixture, event_id, "eve@example.com");
  patch = request (fixture, "PATCH", "{\"extra\":{\"phone\":\"555\",\"Table\":\"4\"}}",
                   "/api/v1/guests/%" G_GINT64_FORMAT, eve_id);
  ed_test_assert_status (patch, SOUP_STATUS_OK);

  csv = export_csv (fixture, event_id, NULL, &response);
  g_assert_true (g_str_has_prefix (ed_test_response_get_header (response, "Content-Disposition"),
                                   "attachment; filename=\""));
  g_assert_cmpstr (csv, ==,
                   "\xef\xbb\xbf"
                   "email,first_name,last_name,Phone,Diet,Table,status,party_size,waitlist_position,responded_at,last_delivery_status\r\n"
                   "ann@example.com,Ann,Smith,'+49 30 1234,vegan,,pending,1,,,\r\n"
                   "bob@example.com,Bob,\"Jones, Jr.\",,,,pending,1,,,\r\n"
                   "carl@example.com,'=cmd|' /C calc'!A0,Clark,'-1,\"said \"\"hi\"\"\",,pending,1,,,\r\n"
                   "dora@example.com,Dora,'@Home,,\"two\r\nlines\",,pending,1,,,\r\n"
                   "eve@example.com,Existing,Guest,555,,4,pending,1,,,\r\n");

  /* HEAD answers the headers alone. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests.csv", event_id);
    g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);
    g_autoptr(EdTestResponse) head = ed_test_http_request (fixture->session, "HEAD", url, fixture->token, NULL, NULL);

    ed_test_assert_status (head, SOUP_STATUS_OK);
    g_assert_cmpuint (g_bytes_get_size (head->body), ==, 0);
  }
}

static void
test_export_filters (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) import = NULL;
  g_autoptr(EdTestResponse) invalid = NULL;
  g_autofree char *by_name = NULL;
  g_autofree char *by_email_desc = NULL;
  g_autofree char *search = NULL;
  g_autofree char *declined = NULL;
  gint64 event_id = create_event (fixture, "Filters");
  const char *header = "\xef\xbb\xbf" "email,first_name,last_name,status,party_size,waitlist_position,"
                       "responded_at,last_delivery_status\r\n";

  import = import_text (fixture, event_id, NULL,
                        "email,first_name,last_name\r\n"
                        "zed@example.com,Zed,Adams\r\n"
                        "amy@example.com,Amy,Young\r\n"
                        "max@other.org,Max,Brown\r\n");
  ed_test_assert_status (import, SOUP_STATUS_OK);

  by_name = export_csv (fixture, event_id, "sort=name", NULL);
  g_assert_true (g_str_has_prefix (by_name, header));
  g_assert_cmpstr (by_name + strlen (header), ==,
                   "zed@example.com,Zed,Adams,pending,1,,,\r\n"
                   "max@other.org,Max,Brown,pending,1,,,\r\n"
                   "amy@example.com,Amy,Young,pending,1,,,\r\n");

  by_email_desc = export_csv (fixture, event_id, "sort=-email", NULL);
  g_assert_cmpstr (by_email_desc + strlen (header), ==,
                   "zed@example.com,Zed,Adams,pending,1,,,\r\n"
                   "max@other.org,Max,Brown,pending,1,,,\r\n"
                   "amy@example.com,Amy,Young,pending,1,,,\r\n");

  search = export_csv (fixture, event_id, "q=example.com&sort=-name", NULL);
  g_assert_cmpstr (search + strlen (header), ==,
                   "amy@example.com,Amy,Young,pending,1,,,\r\n"
                   "zed@example.com,Zed,Adams,pending,1,,,\r\n");

  declined = export_csv (fixture, event_id, "status=declined", NULL);
  g_assert_cmpstr (declined, ==, header);

  invalid = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests.csv?status=maybe&sort=age",
                     event_id);
  ed_test_assert_error (invalid, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (invalid, "status"));
  g_assert_nonnull (ed_test_response_get_error_field (invalid, "sort"));
}

/* More guests than one batch of the export, in every order: each guest
 * once, in order, across the batches' seams.
 */
static void
test_export_batches (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(GString) source = generate_guests (12345, "batch.example");
  g_autoptr(GBytes) body = g_bytes_new (source->str, source->len);
  g_autoptr(EdTestResponse) import = NULL;
  gint64 event_id = create_event (fixture, "Batches");
  const char * const sorts[] = { "sort=created", "sort=-created", "sort=name", "sort=email", "sort=-name" };

  import = import_bytes (fixture, event_id, NULL, body, FALSE);
  ed_test_assert_status (import, SOUP_STATUS_OK);

  for (guint s = 0; s < G_N_ELEMENTS (sorts); s++)
    {
      g_autofree char *csv = export_csv (fixture, event_id, sorts[s], NULL);
      g_auto(GStrv) lines = g_strsplit (csv, "\r\n", -1);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      guint n_rows = 0;

      for (guint i = 1; lines[i] != NULL && *lines[i] != '\0'; i++)
        {
          g_auto(GStrv) fields = g_strsplit (lines[i], ",", -1);

          g_assert_true (g_hash_table_add (seen, lines[i]));
          /* In order, by what the sort says. */
          if (i > 1 && g_strcmp0 (sorts[s], "sort=created") == 0)
            g_assert_cmpstr (lines[i - 1], <, lines[i]);
          if (i > 1 && g_strcmp0 (sorts[s], "sort=-created") == 0)
            g_assert_cmpstr (lines[i - 1], >, lines[i]);
          g_assert_cmpstr (fields[4], ==, "pending");
          n_rows++;
        }
      g_assert_cmpuint (n_rows, ==, 12345);
    }
}

/* The last message's state, for guests that have messages. */
static void
test_export_last_delivery (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) import = NULL;
  g_autofree char *db_path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autofree char *csv = NULL;
  g_autofree char *sql = NULL;
  gint64 event_id = create_event (fixture, "Deliveries");
  sqlite3 *db = NULL;

  import = import_text (fixture, event_id, NULL,
                        "email\r\nann@example.com\r\nbob@example.com\r\ncarl@example.com\r\n");
  ed_test_assert_status (import, SOUP_STATUS_OK);

  /* The mail queue's rows, as the mailer writes them. */
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
  sql = g_strdup_printf ("INSERT INTO campaigns (id, event_id, kind, created_at, updated_at) VALUES "
                         "  (1, %1$" G_GINT64_FORMAT ", 'invitation', 1, 1), (2, %1$" G_GINT64_FORMAT ", 'reminder', 2, 2);"
                         "INSERT INTO messages (campaign_id, guest_id, state, next_attempt_at, created_at) "
                         "  SELECT 1, id, iif(email = 'ann@example.com', 'sent', 'failed'), 0, 1 FROM guests "
                         "  WHERE email IN ('ann@example.com', 'bob@example.com');"
                         "INSERT INTO messages (campaign_id, guest_id, state, next_attempt_at, created_at) "
                         "  SELECT 2, id, 'queued', 0, 2 FROM guests WHERE email = 'ann@example.com';",
                         event_id);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  ed_test_daemon_start (fixture->daemon);

  csv = export_csv (fixture, event_id, NULL, NULL);
  g_assert_cmpstr (csv, ==,
                   "\xef\xbb\xbf"
                   "email,first_name,last_name,status,party_size,waitlist_position,responded_at,last_delivery_status\r\n"
                   "ann@example.com,,,pending,1,,,queued\r\n"
                   "bob@example.com,,,pending,1,,,failed\r\n"
                   "carl@example.com,,,pending,1,,,\r\n");
}

/* Exporting and importing into a new event gives the same guests, extra
 * fields and values a spreadsheet would take for formulas included.
 */
static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) import = NULL;
  g_autoptr(EdTestResponse) reimport = NULL;
  g_autoptr(JsonNode) original = NULL;
  g_autoptr(JsonNode) copy = NULL;
  g_autoptr(GBytes) exported = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "import", "round-trip.csv", NULL);
  g_autofree char *source = NULL;
  gint64 event_id = create_event (fixture, "Original");
  gint64 copy_id = create_event (fixture, "Copy");
  JsonObject *report;

  g_assert_true (g_file_get_contents (path, &source, NULL, NULL));
  import = import_text (fixture, event_id, NULL, source);
  ed_test_assert_status (import, SOUP_STATUS_OK);
  g_assert_cmpint (json_object_get_int_member (ed_test_response_get_object (import), "rejected"), ==, 0);
  original = list_guests (fixture, event_id);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (original)), >=, 10);

  csv = export_csv (fixture, event_id, NULL, NULL);
  exported = g_bytes_new (csv, strlen (csv));
  reimport = import_bytes (fixture, copy_id, NULL, exported, FALSE);
  ed_test_assert_status (reimport, SOUP_STATUS_OK);
  report = ed_test_response_get_object (reimport);
  g_assert_cmpint (json_object_get_int_member (report, "rejected"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "duplicates"), ==, 0);

  copy = list_guests (fixture, copy_id);
  assert_json_equal (original, copy);
}

/* The store's search index, left behind by an import */

typedef struct
{
  guint  next;
  guint  n_rows;
  char  *email;
  char  *key;
  char  *first;
  char  *last;
} RowSource;

static gboolean
next_generated_row (gpointer      user_data,
                    EdImportRow  *row,
                    GError      **error)
{
  RowSource *source = user_data;
  static const char * const firsts[] = { "Ada", "Grace", "Alan", "Zoë" };
  static const char * const lasts[] = { "Lovelace", "Hopper", "Turing", "Ängström" };
  guint i = source->next++;

  if (i >= source->n_rows)
    return FALSE;

  g_free (source->email);
  g_free (source->key);
  g_free (source->first);
  g_free (source->last);
  source->email = g_strdup_printf ("guest%u@%s.example", i, i % 2 ? "odd" : "even");
  source->key = g_utf8_casefold (source->email, -1);
  source->first = g_strdup (firsts[i % 4]);
  source->last = g_strdup (lasts[(i / 4) % 4]);

  row->line = i + 2;
  row->email = source->email;
  row->email_key = source->key;
  row->first_name = source->first;
  row->last_name = source->last;
  row->extra = NULL;
  return TRUE;
}

static gint64
search_total (EdStore     *store,
              gint64       event_id,
              const char  *text,
              EdGuestSort  sort,
              GArray      *ids)
{
  g_autoptr(GError) error = NULL;
  EdGuestQuery query = { .query = text, .limit = 500, .sort = sort };
  gint64 total = -1;
  gboolean has_more = TRUE;

  g_array_set_size (ids, 0);
  while (has_more)
    {
      g_autoptr(GPtrArray) page = ed_store_list_guests (store, event_id, &query, &total, &has_more, &error);

      g_assert_no_error (error);
      for (guint i = 0; i < page->len; i++)
        g_array_append_val (ids, ((EdGuest *) page->pdata[i])->id);
      if (page->len > 0)
        query.after = ((EdGuest *) page->pdata[page->len - 1])->id;
    }
  g_assert_cmpint (total, ==, ids->len);

  return total;
}

static void
assert_search_index_whole (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO guests_search(guests_search, rank) VALUES ('integrity-check', 1)",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
test_store_deferred_search (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eventdesk-import-store-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "eventdesk.db", NULL);
  g_autoptr(EdStore) store = NULL;
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autoptr(EdGuest) guest = ed_guest_new ();
  g_autoptr(GArray) after = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *results[7][ED_GUEST_SORT_EMAIL + 1];
  RowSource source = { .n_rows = 3000 };
  EdImportCounts counts;
  static const char * const searches[7] = { "ada", "odd.ex", "hopper odd", "ÄNGST", "ac", "guest29", "nobody" };
  guint n_indexed;

  for (guint s = 0; s < G_N_ELEMENTS (results); s++)
    for (guint sort = 0; sort < G_N_ELEMENTS (results[s]); sort++)
      results[s][sort] = g_array_new (FALSE, FALSE, sizeof (gint64));

  store = ed_store_open (path, &error);
  g_assert_no_error (error);
  event->name = g_strdup ("Searchable");
  event->starts_at = ed_time_now ();
  event->capacity = 10;
  g_assert_true (ed_store_insert_event (store, event, &error));

  guest->event_id = event->id;
  guest->email = g_strdup ("first@example.com");
  guest->first_name = g_strdup ("Grace");
  g_assert_true (ed_store_insert_guest (store, guest, &error));

  g_assert_true (ed_store_import_apply (store, event->id, ED_IMPORT_SKIP, FALSE, 1000,
                                        next_generated_row, &source, &counts, &error));
  g_assert_no_error (error);
  g_assert_cmpint (counts.imported, ==, 3000);
  g_assert_cmpint (ed_store_count_unindexed (store, NULL), ==, 3000);

  /* Changes to guests the index does not hold yet must not touch it. */
  {
    g_autoptr(EdGuest) changed = ed_store_get_guest (store, guest->id + 10, &error);

    g_free (changed->last_name);
    changed->last_name = g_strdup ("Renamed");
    g_assert_true (ed_store_update_guest (store, changed, &error));
    g_assert_true (ed_store_delete_guest (store, guest->id + 11, &error));
    g_assert_no_error (error);
  }
  /* A guest added meanwhile waits for the index too. */
  g_free (guest->email);
  guest->email = g_strdup ("late@example.com");
  guest->id = 0;
  g_assert_true (ed_store_insert_guest (store, guest, &error));
  g_assert_cmpint (ed_store_count_unindexed (store, NULL), ==, 3000);

  /* Searched with none, part and all of the import's guests in the index:
   * the same guests, in the same order.
   */
  for (guint state = 0; state < 3; state++)
    {
      if (state == 1)
        g_assert_true (ed_store_index_search_batch (store, 1700, &n_indexed, &error));
      else if (state == 2)
        do
          g_assert_true (ed_store_index_search_batch (store, 700, &n_indexed, &error));
        while (n_indexed > 0);
      g_assert_no_error (error);

      for (guint s = 0; s < G_N_ELEMENTS (searches); s++)
        for (EdGuestSort sort = ED_GUEST_SORT_CREATED; sort <= ED_GUEST_SORT_EMAIL; sort++)
          {
            GArray *found = results[s][sort];
            gint64 total;

            if (state == 0)
              {
                total = search_total (store, event->id, searches[s], sort, found);
                g_test_message ("“%s”, sort %d: %" G_GINT64_FORMAT " found", searches[s], sort, total);
                if (g_strcmp0 (searches[s], "ada") == 0)
                  g_assert_cmpint (total, ==, 750);
                if (g_strcmp0 (searches[s], "nobody") == 0)
                  g_assert_cmpint (total, ==, 0);
                continue;
              }

            total = search_total (store, event->id, searches[s], sort, after);
            g_assert_cmpint (total, ==, found->len);
            g_assert_cmpmem (found->data, found->len * sizeof (gint64), after->data, after->len * sizeof (gint64));
          }
    }

  g_assert_cmpint (ed_store_count_unindexed (store, NULL), ==, 0);
  {
    g_autoptr(GArray) renamed = g_array_new (FALSE, FALSE, sizeof (gint64));

    g_assert_cmpint (search_total (store, event->id, "renamed", ED_GUEST_SORT_CREATED, renamed), ==, 1);
    g_assert_cmpint (search_total (store, event->id, "late@", ED_GUEST_SORT_CREATED, renamed), ==, 1);
  }

  ed_store_close (store);
  assert_search_index_whole (path);

  for (guint s = 0; s < G_N_ELEMENTS (results); s++)
    for (guint sort = 0; sort < G_N_ELEMENTS (results[s]); sort++)
      g_array_unref (results[s][sort]);

  g_free (source.email);
  g_free (source.key);
  g_free (source.first);
  g_free (source.last);
  g_unlink (path);
  g_rmdir (dir);
}

/* The export reads what the store writes, escapes and all. */
static void
test_parse_extra (void)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  char text[] = "{\"Company\":\"ACME; \\\"quoted\\\"\",\"a\\\\b\":\"line\\nbreak\\u00e9\\ud83d\\ude00\"}";
  char empty[] = " { } ";
  char nested[] = "{\"a\":{\"b\":\"c\"}}";
  char number[] = "{\"a\":1}";
  char lone_surrogate[] = "{\"a\":\"\\ud83d\"}";
  char nul[] = "{\"a\":\"\\u0000\"}";

  g_assert_true (ed_export_parse_extra (text, keys, values));
  g_assert_cmpuint (keys->len, ==, 2);
  g_assert_cmpstr (keys->pdata[0], ==, "Company");
  g_assert_cmpstr (values->pdata[0], ==, "ACME; \"quoted\"");
  g_assert_cmpstr (keys->pdata[1], ==, "a\\b");
  g_assert_cmpstr (values->pdata[1], ==, "line\nbreak\xc3\xa9\xf0\x9f\x98\x80");

  g_assert_true (ed_export_parse_extra (empty, keys, values));
  g_assert_cmpuint (keys->len, ==, 0);
  g_assert_false (ed_export_parse_extra (nested, keys, values));
  g_assert_false (ed_export_parse_extra (number, keys, values));
  g_assert_false (ed_export_parse_extra (lone_surrogate, keys, values));
  g_assert_false (ed_export_parse_extra (nul, keys, values));
}

static GPtrArray *
add_corpus_tests (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "data", "import", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *file;

  g_assert_nonnull (dir);
  while ((file = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (file, ".expected"))
      g_ptr_array_add (names, g_strndup (file, strlen (file) - strlen (".expected")));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  g_assert_cmpuint (names->len, >=, 20);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_strconcat ("/import/corpus/", name, NULL);
      g_autofree char *chunked_path = g_strconcat ("/import/corpus-chunked/", name, NULL);

      g_test_add (path, Fixture, name, ed_test_fixture_set_up, test_corpus, ed_test_fixture_tear_down);
      g_test_add (chunked_path, Fixture, name, ed_test_fixture_set_up, test_corpus_chunked, ed_test_fixture_tear_down);
    }

  /* the names are the tests' data: they live as long as the tests */
  return names;
}

int
main (int   argc,
      char *argv[])
{
  GPtrArray *corpus_names;
  int status;

  setlocale (LC_ALL, "");
  if (!g_get_charset (NULL))
    setlocale (LC_ALL, "C.UTF-8");

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

#define ADD(path, test) \
  g_test_add (path, Fixture, NULL, ed_test_fixture_set_up, test, ed_test_fixture_tear_down)

  corpus_names = add_corpus_tests ();
  ADD ("/import/refusals", test_refusals);
  ADD ("/import/too-large", test_too_large);
  ADD ("/import/streamed-progress", test_streamed_progress);
  ADD ("/import/cut-off", test_cut_off);
  ADD ("/import/kill-during-import", test_kill_during_import);
  ADD ("/export/columns", test_export_columns);
  ADD ("/export/filters", test_export_filters);
  ADD ("/export/batches", test_export_batches);
  ADD ("/export/last-delivery", test_export_last_delivery);
  ADD ("/export/round-trip", test_round_trip);
  g_test_add_func ("/import/store/deferred-search", test_store_deferred_search);
  g_test_add_func ("/export/parse-extra", test_parse_extra);

#undef ADD

  status = g_test_run ();
  g_ptr_array_unref (corpus_names);
  return status;
}
