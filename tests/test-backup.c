/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "ed-test-daemon.h"
#include "ed-test-http.h"

/* eventdeskd admin backup against the real daemon: copies taken while a
 * writer keeps adding guests and changing answers are whole and
 * consistent, a copy restored into a new data directory serves the same
 * guests and logins, and bad targets fail with a message and change
 * nothing.
 */

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"
#define IMPORTED_GUESTS 20000
#define BACKUPS_WHILE_WRITING 3
/* The writer's bound: it stops on its own after this many guests. */
#define WRITER_MAX_GUESTS 5000

typedef struct
{
  EdTestDaemon *daemon;
  SoupSession  *session;
  char         *token;
  char         *work;     /* where the backups go */
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->daemon = ed_test_daemon_new ();
  fixture->session = ed_test_http_session_new ();
  ed_test_daemon_add_admin (fixture->daemon, ADMIN_NAME, ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);
  fixture->token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                                       ADMIN_NAME, ADMIN_PASSWORD);
  fixture->work = g_dir_make_tmp ("eventdesk-test-backup-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  ed_test_remove_tree (fixture->work);
  g_clear_pointer (&fixture->work, g_free);
  g_clear_pointer (&fixture->token, g_free);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
}

static EdTestResponse *request (SoupSession *session,
                                Fixture     *fixture,
                                const char  *method,
                                const char  *json_body,
                                const char  *path_format,
                                ...) G_GNUC_PRINTF (5, 6);

static EdTestResponse *
request (SoupSession *session,
         Fixture     *fixture,
         const char  *method,
         const char  *json_body,
         const char  *path_format,
         ...)
{
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  va_list args;

  va_start (args, path_format);
  path = g_strdup_vprintf (path_format, args);
  va_end (args);
  url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request (session, method, url, fixture->token, json_body, NULL);
}

static gint64
create_event (Fixture *fixture)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture->session, fixture, "POST",
                      "{\"name\":\"Backup gala\",\"starts_at\":\"2027-05-01T18:00:00Z\","
                      "\"capacity\":100000,\"max_party_size\":4}",
                      "/api/v1/events");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return json_object_get_int_member (ed_test_response_get_object (response), "id");
}

static void
import_guests (Fixture *fixture,
               gint64   event_id,
               guint    count)
{
  g_autoptr(GString) csv = g_string_new ("email,first_name,last_name\n");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import", event_id);
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);

  for (guint i = 0; i < count; i++)
    g_string_append_printf (csv, "guest%u@example.org,Guest,Number %u\n", i, i);
  body = g_string_free_to_bytes (g_steal_pointer (&csv));

  response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                         "text/csv", body, FALSE);
  ed_test_assert_status (response, SOUP_STATUS_OK);
}

static gint64
count_guests (Fixture *fixture,
              gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture->session, fixture, "GET", NULL,
                      "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=1", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return json_object_get_int_member (ed_test_response_get_object (response), "total");
}

/* Runs `eventdeskd admin backup FILE` on the fixture's data directory. */
static int
run_backup (Fixture     *fixture,
            const char  *file,
            char       **out,
            char       **err)
{
  const char * const args[] = {
    "admin", "backup", file, "--data-dir", ed_test_daemon_get_data_dir (fixture->daemon), NULL,
  };

  return ed_test_daemon_run (fixture->daemon, args, NULL, out, err);
}

static gint64
query_int (sqlite3    *db,
           const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  return value;
}

static char *
query_text (sqlite3    *db,
            const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  char *value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  return value;
}

/* Opens a backup on its own, as someone restoring it would, and checks
 * that it is whole and consistent: the per-status counters the daemon
 * keeps in the same transactions as the guests agree with the guests.
 *
 * Returns: the number of guests in the copy
 */
static gint64
check_backup (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *check = NULL;
  g_autofree char *journal_mode = NULL;
  sqlite3 *db = NULL;
  struct stat st;
  gint64 guests;
  gint64 disagreeing;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  /* one self-contained file */
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  check = query_text (db, "PRAGMA integrity_check");
  g_assert_cmpstr (check, ==, "ok");
  journal_mode = query_text (db, "PRAGMA journal_mode");
  g_assert_cmpstr (journal_mode, ==, "delete");
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), >, 0);

  guests = query_int (db, "SELECT count(*) FROM guests");
  disagreeing = query_int (db,
    "SELECT count(*) FROM ("
    "  SELECT event_id, status, count(*) AS n, sum(party_size) AS seats FROM guests"
    "  GROUP BY event_id, status) AS actual"
    " FULL OUTER JOIN (SELECT * FROM event_counts WHERE guests != 0) AS kept"
    " USING (event_id, status)"
    " WHERE actual.n IS NOT kept.guests OR actual.seats IS NOT kept.seats");
  g_assert_cmpint (disagreeing, ==, 0);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM admins WHERE username = '" ADMIN_NAME "'"), ==, 1);

  sqlite3_close (db);
  return guests;
}

typedef struct
{
  Fixture    *fixture;
  gint64      event_id;
  gint        stop;       /* atomic */
  guint       written;    /* guests whose answers are committed (atomic) */
  GThread    *thread;
} Writer;

/* Adds guests and changes their answers, one request after another, with
 * its own HTTP session, until told to stop or until its bound. */
static gpointer
writer_thread (gpointer user_data)
{
  Writer *writer = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(SoupSession) session = NULL;

  g_main_context_push_thread_default (context);
  session = ed_test_http_session_new ();

  for (guint i = 0; i < WRITER_MAX_GUESTS && !g_atomic_int_get (&writer->stop); i++)
    {
      g_autoptr(EdTestResponse) created = NULL;
      g_autoptr(EdTestResponse) answered = NULL;
      g_autofree char *body = g_strdup_printf ("{\"email\":\"writer%u@example.org\"}", i);
      gint64 guest_id;

      created = request (session, writer->fixture, "POST", body,
                         "/api/v1/events/%" G_GINT64_FORMAT "/guests", writer->event_id);
      g_assert_cmpuint (created->status, ==, SOUP_STATUS_CREATED);
      guest_id = json_object_get_int_member (ed_test_response_get_object (created), "id");

      answered = request (session, writer->fixture, "PATCH",
                          i % 2 ? "{\"status\":\"declined\"}" : "{\"status\":\"accepted\",\"party_size\":2}",
                          "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);
      g_assert_cmpuint (answered->status, ==, SOUP_STATUS_OK);
      g_atomic_int_inc (&writer->written);
    }

  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_backup_while_writing (Fixture       *fixture,
                           gconstpointer  user_data)
{
  Writer writer = { 0 };
  gint64 previous = 0;

  writer.fixture = fixture;
  writer.event_id = create_event (fixture);
  import_guests (fixture, writer.event_id, IMPORTED_GUESTS);
  writer.thread = g_thread_new ("writer", writer_thread, &writer);

  /* let the writer get going */
  while (g_atomic_int_get (&writer.written) < 20)
    g_usleep (10 * 1000);

  for (guint i = 0; i < BACKUPS_WHILE_WRITING; i++)
    {
      g_autofree char *file = g_strdup_printf ("%s/backup-%u.db", fixture->work, i);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      guint written_before = g_atomic_int_get (&writer.written);
      guint written_after;
      gint64 guests;
      int status;

      status = run_backup (fixture, file, &out, &err);
      written_after = g_atomic_int_get (&writer.written);
      g_test_message ("backup %u: %s%s", i, out, err);
      g_assert_cmpint (status, ==, 0);
      g_assert_nonnull (strstr (out, "secret.key"));

      /* every guest acknowledged before the copy began is in it, none
       * beyond those the writer had started on when it ended */
      guests = check_backup (file);
      g_assert_cmpint (guests, >=, IMPORTED_GUESTS + written_before);
      g_assert_cmpint (guests, <=, IMPORTED_GUESTS + written_after + 1);
      g_assert_cmpint (guests, >=, previous);
      previous = guests;
    }

  g_atomic_int_set (&writer.stop, 1);
  g_thread_join (writer.thread);

  /* the daemon went on serving throughout */
  g_assert_true (ed_test_daemon_is_running (fixture->daemon));
  g_assert_cmpint (count_guests (fixture, writer.event_id), ==,
                   IMPORTED_GUESTS + g_atomic_int_get (&writer.written));
}

/* A copy put into an empty data directory with the signing key serves the
 * same guests and the same admin. */
static void
test_backup_restore (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(EdTestDaemon) restored = ed_test_daemon_new ();
  g_autoptr(SoupSession) session = ed_test_http_session_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_build_filename (fixture->work, "backup.db", NULL);
  g_autofree char *key = ed_test_daemon_get_path (fixture->daemon, "secret.key");
  g_autofree char *restored_db = ed_test_daemon_get_path (restored, "eventdesk.db");
  g_autofree char *restored_key = ed_test_daemon_get_path (restored, "secret.key");
  g_autofree char *token = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  gsize length;
  gint64 event_id;

  event_id = create_event (fixture);
  import_guests (fixture, event_id, 250);
  g_assert_cmpint (run_backup (fixture, file, NULL, NULL), ==, 0);

  g_file_get_contents (file, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (restored_db, contents, length, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  g_clear_pointer (&contents, g_free);
  g_file_get_contents (key, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (restored_key, contents, length, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);

  ed_test_daemon_start (restored);
  token = ed_test_http_login (session, ed_test_daemon_get_url (restored), ADMIN_NAME, ADMIN_PASSWORD);
  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=1", event_id);
  url = ed_test_daemon_url (restored, path);
  response = ed_test_http_request (session, "GET", url, token, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (json_object_get_int_member (ed_test_response_get_object (response), "total"), ==, 250);

  /* the original's session token is signed with the same key */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request (session, "GET", url, fixture->token, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  g_assert_cmpint (ed_test_daemon_stop (restored), ==, 0);
}

/* A stopped daemon's database can be backed up too. */
static void
test_backup_stopped (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->work, "stopped.db", NULL);
  g_autofree char *err = NULL;
  gint64 event_id = create_event (fixture);

  import_guests (fixture, event_id, 10);
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);

  g_assert_cmpint (run_backup (fixture, file, NULL, &err), ==, 0);
  g_assert_cmpint (check_backup (file), ==, 10);

  /* and the daemon starts again on it afterwards */
  ed_test_daemon_start (fixture->daemon);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 10);
}

static void
test_backup_errors (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autofree char *target = g_build_filename (fixture->work, "old.db", NULL);
  g_autofree char *db = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autofree char *empty_dir = g_build_filename (fixture->work, "empty", NULL);
  g_autofree char *missing_dir = g_build_filename (fixture->work, "no-such-folder", "x.db", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_set_contents (target, "old backup", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (empty_dir, 0700), ==, 0);

  /* no data directory's database: the message names where it looked */
  {
    g_autofree char *err = NULL;
    const char * const args[] = { "admin", "backup", target, "--data-dir", empty_dir, NULL };

    g_assert_cmpint (ed_test_daemon_run (fixture->daemon, args, NULL, NULL, &err), ==, 1);
    g_assert_nonnull (strstr (err, empty_dir));
    g_assert_nonnull (strstr (err, "no database"));
  }

  /* the database itself as the target */
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run_backup (fixture, db, NULL, &err), ==, 1);
    g_assert_nonnull (strstr (err, "database itself"));
  }

  /* a folder as the target */
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run_backup (fixture, fixture->work, NULL, &err), ==, 1);
    g_assert_nonnull (strstr (err, "is a directory"));
  }

  /* a folder that does not exist */
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run_backup (fixture, missing_dir, NULL, &err), ==, 1);
    g_assert_nonnull (strstr (err, "no-such-folder"));
  }

  /* no FILE */
  {
    g_autofree char *err = NULL;
    const char * const args[] = { "admin", "backup", NULL };

    g_assert_cmpint (ed_test_daemon_run (fixture->daemon, args, NULL, NULL, &err), ==, 2);
    g_assert_nonnull (strstr (err, "FILE"));
  }

  /* the failures left the old backup as it was */
  g_file_get_contents (target, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "old backup");

  /* and a good backup replaces it */
  g_assert_cmpint (run_backup (fixture, target, NULL, NULL), ==, 0);
  check_backup (target);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/backup/while-writing", test_backup_while_writing);
  ADD ("/backup/restore", test_backup_restore);
  ADD ("/backup/stopped-daemon", test_backup_stopped);
  ADD ("/backup/errors", test_backup_errors);
#undef ADD

  return g_test_run ();
}
