/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ed-client.h"
#include "ed-test-app.h"
#include "ed-test-daemon.h"

/* EdClient against a real eventdeskd: what the app shows depends on
 * telling these failures apart.
 */

typedef struct
{
  EdTestDaemon *daemon;
  EdClient     *client;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->daemon = ed_test_daemon_new ();
  ed_test_daemon_add_admin (fixture->daemon, "alice", "correct horse");
  ed_test_daemon_start (fixture->daemon);
  fixture->client = ed_client_new (ed_test_daemon_get_url (fixture->daemon));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_assert_finalize_object (fixture->client);
  ed_test_daemon_free (fixture->daemon);
}

static GError *
login (EdClient   *client,
       const char *username,
       const char *password)
{
  g_autoptr(GAsyncResult) result = NULL;
  GError *error = NULL;

  ed_client_login_async (client, username, password, NULL, ed_test_app_on_result_cb, &result);
  ed_client_login_finish (client, ed_test_app_wait_result (&result), &error);

  return error;
}

static JsonNode *
call (EdClient    *client,
      const char  *method,
      const char  *path,
      const char  *body_json,
      GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) body = body_json ? json_from_string (body_json, NULL) : NULL;

  ed_client_call_async (client, method, path, body, NULL, ed_test_app_on_result_cb, &result);
  return ed_client_call_finish (client, ed_test_app_wait_result (&result), error);
}

static void
count_cb (gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_login (Fixture       *fixture,
            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) events = NULL;
  guint token_notified = 0;

  g_signal_connect_swapped (fixture->client, "notify::token", G_CALLBACK (count_cb), &token_notified);

  error = login (fixture->client, "alice", "correct horse");
  g_assert_no_error (error);
  g_assert_nonnull (ed_client_get_token (fixture->client));
  g_assert_cmpstr (ed_client_get_username (fixture->client), ==, "alice");
  g_assert_cmpuint (token_notified, ==, 1);

  /* The token opens the API. */
  events = call (fixture->client, "GET", "/api/v1/events", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (events), "total"), ==, 0);
}

static void
test_wrong_password (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  guint expired = 0;

  g_signal_connect_swapped (fixture->client, "session-expired", G_CALLBACK (count_cb), &expired);

  error = login (fixture->client, "alice", "wrong");
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED);
  g_assert_null (ed_client_get_token (fixture->client));
  /* A failed login is not an expired session. */
  g_assert_cmpuint (expired, ==, 0);
  g_assert_true (ed_client_get_reachable (fixture->client));
}

static void
test_session_expired (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) events = NULL;
  guint expired = 0;

  g_signal_connect_swapped (fixture->client, "session-expired", G_CALLBACK (count_cb), &expired);
  g_assert_null (login (fixture->client, "alice", "correct horse"));

  /* The session ends on the server (as when the admin's password changes). */
  {
    g_autoptr(JsonNode) none = call (fixture->client, "DELETE", "/api/v1/session", NULL, &error);

    g_assert_no_error (error);
    g_assert_null (none);
  }

  events = call (fixture->client, "GET", "/api/v1/events", NULL, &error);
  g_assert_null (events);
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (expired, ==, 1);
}

static void
test_unreachable (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  guint reachable_notified = 0;

  g_assert_null (login (fixture->client, "alice", "correct horse"));
  g_signal_connect_swapped (fixture->client, "notify::reachable", G_CALLBACK (count_cb), &reachable_notified);

  /* The daemon goes away; its port is closed. */
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);

  answer = call (fixture->client, "GET", "/api/v1/events", NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE);
  g_assert_false (ed_client_get_reachable (fixture->client));
  g_assert_cmpuint (reachable_notified, ==, 1);

  /* A second failure changes nothing. */
  g_clear_error (&error);
  answer = call (fixture->client, "GET", "/api/v1/events", NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE);
  g_assert_cmpuint (reachable_notified, ==, 1);
}

static void
test_not_a_url (void)
{
  g_autoptr(EdClient) client = ed_client_new ("eventdesk.example.org");
  g_autoptr(GError) error = NULL;

  error = login (client, "alice", "x");
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "eventdesk.example.org"));
}

static void
test_invalid_fields (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GHashTable) fields = NULL;

  g_assert_null (login (fixture->client, "alice", "correct horse"));

  body = json_from_string ("{\"name\": \"\", \"starts_at\": \"2026-12-31T18:00:00Z\", \"capacity\": 0}", NULL);
  ed_client_call_async (fixture->client, "POST", "/api/v1/events", body, NULL,
                        ed_test_app_on_result_cb, &result);
  answer = ed_client_call_finish (fixture->client, ed_test_app_wait_result (&result), &error);
  g_assert_null (answer);
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_INVALID);

  fields = ed_client_call_dup_error_fields (fixture->client, result);
  g_assert_nonnull (fields);
  g_assert_cmpuint (g_hash_table_size (fields), ==, 2);
  g_assert_nonnull (g_hash_table_lookup (fields, "name"));
  g_assert_nonnull (strstr (g_hash_table_lookup (fields, "capacity"), "10000000"));
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_assert_null (login (fixture->client, "alice", "correct horse"));

  ed_client_call_async (fixture->client, "GET", "/api/v1/events", NULL, cancellable,
                        ed_test_app_on_result_cb, &result);
  g_cancellable_cancel (cancellable);
  answer = ed_client_call_finish (fixture->client, ed_test_app_wait_result (&result), &error);
  g_assert_null (answer);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Cancelling says nothing about the server. */
  g_assert_true (ed_client_get_reachable (fixture->client));
}

typedef struct
{
  guint   calls;
  goffset done;
  goffset total;
} Progress;

static void
on_progress_cb (goffset  done,
                goffset  total,
                gpointer user_data)
{
  Progress *progress = user_data;

  g_assert_cmpint (done, >=, progress->done);
  progress->calls++;
  progress->done = done;
  progress->total = total;
}

static void
test_upload_download (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) event = NULL;
  g_autoptr(JsonNode) report = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eventdesk-test-client-XXXXXX", &error);
  g_autofree char *csv_path = g_build_filename (dir, "guests.csv", NULL);
  g_autofree char *out_path = g_build_filename (dir, "export.csv", NULL);
  g_autoptr(GFile) csv = g_file_new_for_path (csv_path);
  g_autoptr(GFile) out = g_file_new_for_path (out_path);
  g_autofree char *path = NULL;
  g_autofree char *exported = NULL;
  const char *rows = "Email,First Name,Last Name\n"
                     "ann@example.com,Ann,Smith\n"
                     "bob@example.com,Bob,Jones\n"
                     "not-an-address,Carl,Bad\n";
  Progress up = { 0 }, down = { 0 };
  gint64 event_id;

  g_assert_no_error (error);
  g_assert_null (login (fixture->client, "alice", "correct horse"));
  event = call (fixture->client, "POST", "/api/v1/events",
                "{\"name\": \"Gala\", \"starts_at\": \"2026-12-31T18:00:00Z\", \"capacity\": 10}", &error);
  g_assert_no_error (error);
  event_id = json_object_get_int_member (json_node_get_object (event), "id");

  g_assert_true (g_file_set_contents (csv_path, rows, -1, NULL));
  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import?mode=skip", event_id);
  ed_client_upload_async (fixture->client, path, csv, "text/csv", on_progress_cb, &up, NULL, NULL,
                          ed_test_app_on_result_cb, &result);
  report = ed_client_upload_finish (fixture->client, ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (report), "imported"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (report), "rejected"), ==, 1);
  g_assert_cmpuint (up.calls, >=, 1);
  g_assert_cmpint (up.total, ==, (goffset) strlen (rows));
  g_assert_cmpint (up.done, ==, up.total);

  g_clear_object (&result);
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests.csv", event_id);
  ed_client_download_async (fixture->client, path, out, on_progress_cb, &down, NULL, NULL,
                            ed_test_app_on_result_cb, &result);
  ed_client_download_finish (fixture->client, ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (out_path, &exported, NULL, NULL));
  g_assert_nonnull (strstr (exported, "ann@example.com,Ann,Smith"));
  g_assert_nonnull (strstr (exported, "bob@example.com,Bob,Jones"));
  g_assert_null (strstr (exported, "not-an-address"));
  g_assert_cmpint (down.done, ==, (goffset) strlen (exported));

  /* A failed download leaves the file as it was. */
  g_clear_object (&result);
  g_clear_pointer (&path, g_free);
  path = g_strdup ("/api/v1/events/999999/guests.csv");
  ed_client_download_async (fixture->client, path, out, NULL, NULL, NULL, NULL,
                            ed_test_app_on_result_cb, &result);
  g_assert_false (ed_client_download_finish (fixture->client, ed_test_app_wait_result (&result), &error));
  g_assert_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_NOT_FOUND);
  {
    g_autofree char *again = NULL;

    g_assert_true (g_file_get_contents (out_path, &again, NULL, NULL));
    g_assert_cmpstr (again, ==, exported);
  }

  g_unlink (csv_path);
  g_unlink (out_path);
  g_rmdir (dir);
}

static void
test_build_path (void)
{
  g_autofree char *a = ed_client_build_path ("/api/v1/events/7/guests",
                                             "q", "Jörg & co", "status", "", "limit", "100", "after", NULL,
                                             NULL);
  g_autofree char *b = ed_client_build_path ("/x?mode=skip", "q", "a/b", NULL);
  g_autofree char *c = ed_client_build_path ("/x", "q", NULL, NULL);

  g_assert_cmpstr (a, ==, "/api/v1/events/7/guests?q=J%C3%B6rg%20%26%20co&limit=100");
  g_assert_cmpstr (b, ==, "/x?mode=skip&q=a%2Fb");
  g_assert_cmpstr (c, ==, "/x");
}

int
main (int   argc,
      char *argv[])
{
  ed_test_app_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/app/client/login", test_login);
  ADD ("/app/client/wrong-password", test_wrong_password);
  ADD ("/app/client/session-expired", test_session_expired);
  ADD ("/app/client/unreachable", test_unreachable);
  ADD ("/app/client/invalid-fields", test_invalid_fields);
  ADD ("/app/client/cancel", test_cancel);
  ADD ("/app/client/upload-download", test_upload_download);
#undef ADD
  g_test_add_func ("/app/client/not-a-url", test_not_a_url);
  g_test_add_func ("/app/client/build-path", test_build_path);

  return g_test_run ();
}
