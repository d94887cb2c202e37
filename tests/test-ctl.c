/* SPDX-License-Identifier: GPL-3.0-or-later */
/* posix_openpt() and friends */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ed-test-daemon.h"
#include "ed-test-http.h"
#include "ed-test-smtp.h"

/* eventdeskctl ($EVENTDESKCTL) against the real daemon: logging in and
 * out, the session file and its permissions, importing and exporting,
 * listing events and campaigns, steering and watching campaigns, the mail
 * queue, and the exit status and message of each kind of failure.
 */

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"
#define RUN_TIMEOUT_S 60
#define WAIT_TIMEOUT_US (30 * G_USEC_PER_SEC)

/* Where the daemon's mail goes (the fixture's user data): NULL for its
 * Maildir, where every message is sent at once, or smtp-sink answering
 * every recipient with a 4xx (messages wait to be retried) or a 5xx
 * (messages fail).
 */
#define MAIL_DEFERRED "deferred"
#define MAIL_REJECTED "rejected"

typedef struct
{
  EdTestDaemon     *daemon;
  EdTestSmtpServer *sink;     /* where the daemon's mail goes, or NULL for its Maildir */
  SoupSession      *session;
  char             *token;    /* the test's own session, for checks through the API */
  char             *config;   /* XDG_CONFIG_HOME of eventdeskctl */
  char             *work;     /* files the test writes */
} Fixture;

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->daemon = ed_test_daemon_new ();
  fixture->session = ed_test_http_session_new ();
  ed_test_daemon_add_admin (fixture->daemon, ADMIN_NAME, ADMIN_PASSWORD);
  if (user_data != NULL)
    {
      const char * const options[] = { g_str_equal (user_data, MAIL_DEFERRED) ? "-r" : "-f", "RCPT", NULL };
      g_autofree char *transport = NULL;

      fixture->sink = ed_test_smtp_sink_new (options);
      transport = ed_test_smtp_server_get_url (fixture->sink, "smtp", "starttls=off");
      ed_test_daemon_set_args (fixture->daemon, (const char * const []) { "--mail-transport", transport, NULL });
    }
  ed_test_daemon_start (fixture->daemon);
  fixture->token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                                       ADMIN_NAME, ADMIN_PASSWORD);
  fixture->config = g_dir_make_tmp ("eventdesk-test-ctl-config-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->work = g_dir_make_tmp ("eventdesk-test-ctl-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  remove_tree (fixture->config);
  remove_tree (fixture->work);
  g_clear_pointer (&fixture->config, g_free);
  g_clear_pointer (&fixture->work, g_free);
  g_clear_pointer (&fixture->token, g_free);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
  g_clear_pointer (&fixture->sink, ed_test_smtp_server_free);
}

static const char *
get_program (void)
{
  const char *program = g_getenv ("EVENTDESKCTL");

  if (program == NULL)
    g_error ("EVENTDESKCTL must name the eventdeskctl binary (meson test sets it)");

  return program;
}

static GSubprocessLauncher *
new_launcher (Fixture          *fixture,
              GSubprocessFlags  flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", fixture->config, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");
  g_subprocess_launcher_unsetenv (launcher, "http_proxy");
  g_subprocess_launcher_unsetenv (launcher, "HTTP_PROXY");
  g_subprocess_launcher_set_cwd (launcher, fixture->work);

  return launcher;
}

/* Runs eventdeskctl with @args (NULL-terminated) and @input on stdin. */
static void
run_ctl (Fixture            *fixture,
         Run                *run,
         const char         *input,
         const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                    G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_ptr_array_add (argv, (gpointer) get_program ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  run->status = g_subprocess_get_exit_status (process);

  g_test_message ("eventdeskctl %s → %d\nstdout: %s\nstderr: %s", args[0], run->status, run->out, run->err);
}

static char *
session_path (Fixture *fixture)
{
  return g_build_filename (fixture->config, "eventdesk", "ctl-session", NULL);
}

static void
login (Fixture *fixture)
{
  g_auto(Run) run = { 0 };
  const char * const args[] = {
    "login", "--server", ed_test_daemon_get_url (fixture->daemon), "--user", ADMIN_NAME, "--password-stdin", NULL,
  };

  run_ctl (fixture, &run, ADMIN_PASSWORD "\n", args);
  g_assert_cmpint (run.status, ==, 0);
}

static char *
saved_token (Fixture *fixture)
{
  g_autofree char *path = session_path (fixture);
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);

  return g_key_file_get_string (file, "session", "token", NULL);
}

static EdTestResponse *request (Fixture    *fixture,
                                const char *token,
                                const char *method,
                                const char *json_body,
                                const char *path_format,
                                ...) G_GNUC_PRINTF (5, 6);

static EdTestResponse *
request (Fixture    *fixture,
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
create_event (Fixture *fixture)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, fixture->token, "POST",
                      "{\"name\":\"CLI\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":100}",
                      "/api/v1/events");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return json_object_get_int_member (ed_test_response_get_object (response), "id");
}

static gint64
count_guests (Fixture *fixture,
              gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, fixture->token, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return json_object_get_int_member (ed_test_response_get_object (response), "total");
}

static char *
write_work_file (Fixture    *fixture,
                 const char *name,
                 const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (fixture->work, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);

  return path;
}

static char *
event_arg (gint64 event_id)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, event_id);
}

/* Tests */

static void
test_login_logout (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_auto(Run) logout = { 0 };
  g_autofree char *path = session_path (fixture);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *token = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  const char * const logout_args[] = { "logout", NULL };
  GStatBuf st;

  login (fixture);

  /* Only its owner may read the session, or even look into its folder. */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* The token is a working session of the admin. */
  token = saved_token (fixture);
  g_assert_nonnull (token);
  response = request (fixture, token, "GET", NULL, "/api/v1/events");
  ed_test_assert_status (response, SOUP_STATUS_OK);

  run_ctl (fixture, &logout, NULL, logout_args);
  g_assert_cmpint (logout.status, ==, 0);
  expected = g_strdup_printf ("Logged out of %s\n", ed_test_daemon_get_url (fixture->daemon));
  g_assert_cmpstr (logout.out, ==, expected);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* And the server has ended it too. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, token, "GET", NULL, "/api/v1/events");
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");
}

static void
test_login_refused (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_auto(Run) wrong = { 0 };
  g_auto(Run) unreachable = { 0 };
  g_auto(Run) no_password = { 0 };
  g_autofree char *path = session_path (fixture);
  const char * const wrong_args[] = {
    "login", "--server", ed_test_daemon_get_url (fixture->daemon), "--user", ADMIN_NAME, "--password-stdin", NULL,
  };
  /* Nothing listens on port 1 of the loopback. */
  const char * const unreachable_args[] = {
    "login", "--server", "http://127.0.0.1:1", "--user", ADMIN_NAME, "--password-stdin", NULL,
  };

  run_ctl (fixture, &wrong, "not the password\n", wrong_args);
  g_assert_cmpint (wrong.status, ==, 1);
  g_assert_nonnull (strstr (wrong.err, "Wrong username or password"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  run_ctl (fixture, &unreachable, ADMIN_PASSWORD "\n", unreachable_args);
  g_assert_cmpint (unreachable.status, ==, 4);
  g_assert_nonnull (strstr (unreachable.err, "Cannot reach the Eventdesk server at http://127.0.0.1:1"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  run_ctl (fixture, &no_password, "", wrong_args);
  g_assert_cmpint (no_password.status, ==, 2);
  g_assert_nonnull (strstr (no_password.err, "No password"));
}

static void
test_not_logged_in (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_auto(Run) import = { 0 };
  g_auto(Run) usage = { 0 };
  g_auto(Run) unknown = { 0 };
  g_autofree char *csv = write_work_file (fixture, "guests.csv", "email\nann@example.com\n");
  const char * const import_args[] = { "import", "1", csv, NULL };
  const char * const usage_args[] = { "import", "one", csv, NULL };
  const char * const unknown_args[] = { "invite", NULL };

  run_ctl (fixture, &import, NULL, import_args);
  g_assert_cmpint (import.status, ==, 3);
  g_assert_nonnull (strstr (import.err, "eventdeskctl login"));

  run_ctl (fixture, &usage, NULL, usage_args);
  g_assert_cmpint (usage.status, ==, 2);
  g_assert_nonnull (strstr (usage.err, "not an event id"));

  run_ctl (fixture, &unknown, NULL, unknown_args);
  g_assert_cmpint (unknown.status, ==, 2);
  g_assert_nonnull (strstr (unknown.err, "unknown command"));
}

/* A session the server ended (or that expired) asks to log in again. */
static void
test_session_ended (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_auto(Run) run = { 0 };
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *token = NULL;
  g_autofree char *csv = write_work_file (fixture, "guests.csv", "email\nann@example.com\n");
  g_autofree char *event = event_arg (create_event (fixture));
  const char * const args[] = { "import", event, csv, NULL };

  login (fixture);
  token = saved_token (fixture);
  response = request (fixture, token, "DELETE", NULL, "/api/v1/session");
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);

  run_ctl (fixture, &run, NULL, args);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_nonnull (strstr (run.err, "log in again"));
}

/* A session file that others could read is not used. */
static void
test_session_file_exposed (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = session_path (fixture);
  g_autofree char *csv = write_work_file (fixture, "guests.csv", "email\nann@example.com\n");
  g_autofree char *event = event_arg (create_event (fixture));
  const char * const args[] = { "import", event, csv, NULL };

  login (fixture);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);

  run_ctl (fixture, &run, NULL, args);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_nonnull (strstr (run.err, "can be read by other users"));

  /* Logging in again puts it right. */
  login (fixture);
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
}

static void
test_import (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_auto(Run) run = { 0 };
  g_auto(Run) dry = { 0 };
  g_auto(Run) json = { 0 };
  g_auto(Run) refused = { 0 };
  g_auto(Run) missing = { 0 };
  g_auto(Run) piped = { 0 };
  gint64 event_id = create_event (fixture);
  g_autofree char *event = event_arg (event_id);
  g_autofree char *csv = write_work_file (fixture, "guests.csv",
                                          "Email,First Name,Surname\n"
                                          "ann@example.com,Ann,Smith\n"
                                          "bad-address,Bob,Jones\n"
                                          "ANN@example.com,Annie,Smith\n"
                                          "carl@example.com,Carl,Clark\n");
  g_autofree char *more = write_work_file (fixture, "more.csv", "email\ndora@example.com\nann@example.com\n");
  g_autofree char *no_email = write_work_file (fixture, "names.csv", "Name\nAnn\n");
  g_autofree char *expected = NULL;
  g_autoptr(JsonNode) report = NULL;
  g_autoptr(GError) error = NULL;
  const char * const dry_args[] = { "import", event, csv, "--mode", "dry-run", NULL };
  const char * const args[] = { "import", event, csv, NULL };
  const char * const json_args[] = { "import", event, more, "--json", "--mode", "update", NULL };
  const char * const refused_args[] = { "import", event, no_email, NULL };
  const char * const missing_args[] = { "import", event, "no-such-file.csv", NULL };
  const char * const piped_args[] = { "import", event, "-", NULL };

  login (fixture);

  run_ctl (fixture, &dry, NULL, dry_args);
  g_assert_cmpint (dry.status, ==, 0);
  expected = g_strdup_printf ("Dry run, nothing was written. Event %s would get 2 new guests; "
                              "4 rows read, 1 duplicates, 1 rejected.\n"
                              "  line 3 (bad-address): the email address is not valid: the address has no “@”\n",
                              event);
  g_assert_cmpstr (dry.out, ==, expected);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 0);

  run_ctl (fixture, &run, NULL, args);
  g_assert_cmpint (run.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("Event %s: 2 guests imported, 0 updated; 4 rows read, 1 duplicates, 1 rejected.\n"
                              "  line 3 (bad-address): the email address is not valid: the address has no “@”\n",
                              event);
  g_assert_cmpstr (run.out, ==, expected);
  /* Not a terminal: plain progress lines. */
  g_assert_nonnull (strstr (run.err, "Uploading: 100%"));
  g_assert_nonnull (strstr (run.err, "Saving…"));
  g_assert_null (strchr (run.err, '\r'));
  g_assert_cmpint (count_guests (fixture, event_id), ==, 2);

  run_ctl (fixture, &json, NULL, json_args);
  g_assert_cmpint (json.status, ==, 0);
  report = json_from_string (json.out, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (report), "mode"), ==, "update");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (report), "imported"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (report), "duplicates"), ==, 1);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 3);

  run_ctl (fixture, &refused, NULL, refused_args);
  g_assert_cmpint (refused.status, ==, 1);
  g_assert_nonnull (strstr (refused.err, "no column holds email addresses"));

  run_ctl (fixture, &missing, NULL, missing_args);
  g_assert_cmpint (missing.status, ==, 2);
  g_assert_nonnull (strstr (missing.err, "no-such-file.csv"));

  /* From standard input, of a length nobody said. */
  run_ctl (fixture, &piped, "email;first_name\nerin@example.com;Erin\n", piped_args);
  g_assert_cmpint (piped.status, ==, 0);
  g_assert_nonnull (strstr (piped.out, ": 1 guests imported"));
  g_assert_cmpint (count_guests (fixture, event_id), ==, 4);
}

static void
test_export (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_auto(Run) import = { 0 };
  g_auto(Run) to_file = { 0 };
  g_auto(Run) to_stdout = { 0 };
  g_auto(Run) filtered = { 0 };
  g_auto(Run) failed = { 0 };
  g_autoptr(EdTestResponse) api = NULL;
  gint64 event_id = create_event (fixture);
  g_autofree char *event = event_arg (event_id);
  g_autofree char *csv = write_work_file (fixture, "guests.csv",
                                          "email,first_name,last_name,note\n"
                                          "ann@example.com,Ann,Smith,\"two\nlines\"\n"
                                          "bob@example.com,Bob,Jones,=1+1\n");
  g_autofree char *output = g_build_filename (fixture->work, "export.csv", NULL);
  g_autofree char *kept = write_work_file (fixture, "kept.csv", "do not replace\n");
  g_autofree char *api_body = NULL;
  g_autofree char *exported = NULL;
  g_autofree char *kept_after = NULL;
  const char * const import_args[] = { "import", event, csv, "--quiet", NULL };
  const char * const file_args[] = { "export", event, "--output", output, NULL };
  const char * const stdout_args[] = { "export", event, NULL };
  const char * const filtered_args[] = { "export", event, "--status", "declined", "--sort", "-name", NULL };
  const char * const failed_args[] = { "export", "9999", "--output", kept, NULL };
  GStatBuf st;

  login (fixture);
  run_ctl (fixture, &import, NULL, import_args);
  g_assert_cmpint (import.status, ==, 0);
  g_assert_cmpstr (import.err, ==, "");

  api = request (fixture, fixture->token, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests.csv", event_id);
  ed_test_assert_status (api, SOUP_STATUS_OK);
  api_body = ed_test_response_get_body_text (api);
  g_assert_nonnull (strstr (api_body, "'=1+1"));

  run_ctl (fixture, &to_file, NULL, file_args);
  g_assert_cmpint (to_file.status, ==, 0);
  g_assert_true (g_file_get_contents (output, &exported, NULL, NULL));
  g_assert_cmpstr (exported, ==, api_body);
  g_assert_nonnull (strstr (to_file.err, "Exported 2 guests to"));
  g_assert_cmpint (g_stat (output, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  run_ctl (fixture, &to_stdout, NULL, stdout_args);
  g_assert_cmpint (to_stdout.status, ==, 0);
  g_assert_cmpstr (to_stdout.out, ==, api_body);
  g_assert_cmpstr (to_stdout.err, ==, "");

  run_ctl (fixture, &filtered, NULL, filtered_args);
  g_assert_cmpint (filtered.status, ==, 0);
  g_assert_cmpstr (filtered.out, ==, "\xef\xbb\xbf" "email,first_name,last_name,note,status,party_size,"
                                     "waitlist_position,responded_at,last_delivery_status\r\n");

  /* A failed export leaves the file it would have replaced alone. */
  run_ctl (fixture, &failed, NULL, failed_args);
  g_assert_cmpint (failed.status, ==, 1);
  g_assert_nonnull (strstr (failed.err, "There is no event 9999"));
  g_assert_true (g_file_get_contents (kept, &kept_after, NULL, NULL));
  g_assert_cmpstr (kept_after, ==, "do not replace\n");
}

/* A new terminal: returns its master side, and its other end in @slave. */
static int
open_terminal (int *slave)
{
  int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);

  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  *slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (*slave, >=, 0);

  return master;
}

/* Reads until the terminal closes (EIO once the program is gone), and
 * closes it.
 */
static void
read_terminal (int      master,
               GString *screen)
{
  char buffer[4096];
  gssize n;

  while ((n = read (master, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (screen, buffer, n);
  close (master);
}

/* On a terminal the progress is one line that redraws itself. */
static void
test_progress_on_terminal (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) csv = g_string_new ("email\n");
  g_autoptr(GString) terminal = g_string_new (NULL);
  g_autofree char *path = NULL;
  gint64 event_id = create_event (fixture);
  g_autofree char *event = event_arg (event_id);
  int master, slave;

  login (fixture);
  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (csv, "guest%u@example.com\n", i);
  path = write_work_file (fixture, "big.csv", csv->str);

  master = open_terminal (&slave);

  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_take_stderr_fd (launcher, slave);
  process = g_subprocess_launcher_spawn (launcher, &error, get_program (), "import", event, path, NULL);
  g_assert_no_error (error);
  /* The launcher holds our copy of the terminal's other end. */
  g_clear_object (&launcher);

  read_terminal (master, terminal);

  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("On the terminal: %s", terminal->str);
  g_assert_nonnull (strstr (terminal->str, "\r\033[KUploading  ["));
  g_assert_nonnull (strstr (terminal->str, "100%"));
  g_assert_nonnull (strstr (terminal->str, "\r\033[KSaving"));
  g_assert_null (strstr (terminal->str, "Uploading: "));
  g_assert_cmpint (count_guests (fixture, event_id), ==, 20000);
}

/* Events, campaigns and the queue */

/* Adds guest@FIRST… to guest@FIRST+N-1…; returns the last one's id. */
static gint64
add_guests (Fixture *fixture,
            gint64   event_id,
            guint    first,
            guint    n_guests)
{
  gint64 guest_id = 0;

  for (guint i = first; i < first + n_guests; i++)
    {
      g_autoptr(EdTestResponse) response = NULL;
      g_autofree char *body = g_strdup_printf ("{\"email\":\"guest%u@example.com\",\"first_name\":\"Guest %u\"}", i, i);

      response = request (fixture, fixture->token, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
      ed_test_assert_status (response, SOUP_STATUS_CREATED);
      guest_id = json_object_get_int_member (ed_test_response_get_object (response), "id");
    }

  return guest_id;
}

/* An invitation to the event's guests, from the default templates. */
static gint64
create_campaign (Fixture *fixture,
                 gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, fixture->token, "POST", "{\"kind\":\"invitation\"}",
                      "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return json_object_get_int_member (ed_test_response_get_object (response), "id");
}

static JsonObject *
get_campaign (Fixture *fixture,
              gint64   campaign_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, fixture->token, "GET", NULL, "/api/v1/campaigns/%" G_GINT64_FORMAT, campaign_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return json_object_ref (ed_test_response_get_object (response));
}

static gint64
campaign_count (JsonObject *campaign,
                const char *state)
{
  return json_object_get_int_member (json_object_get_object_member (campaign, "counts"), state);
}

/* Waits until the campaign has @n messages in @message_state, or is in
 * @state when @message_state is NULL.
 */
static void
wait_for_campaign (Fixture    *fixture,
                   gint64      campaign_id,
                   const char *state,
                   const char *message_state,
                   gint64      n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_US;

  for (;;)
    {
      g_autoptr(JsonObject) campaign = get_campaign (fixture, campaign_id);

      if (message_state != NULL ? campaign_count (campaign, message_state) == n
                                : g_str_equal (json_object_get_string_member (campaign, "state"), state))
        return;
      if (g_get_monotonic_time () > deadline)
        {
          g_test_message ("campaign %" G_GINT64_FORMAT " is %s with %" G_GINT64_FORMAT " %s",
                          campaign_id, json_object_get_string_member (campaign, "state"),
                          message_state ? campaign_count (campaign, message_state) : 0,
                          message_state ? message_state : "");
          g_assert_not_reached ();
        }
      g_usleep (50 * 1000);
    }
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *c = text; *c != '\0'; c++)
    n += *c == '\n';

  return n;
}

static void
assert_contains (const char *text,
                 const char *part)
{
  if (strstr (text, part) == NULL)
    {
      g_test_message ("“%s” is not in:\n%s", part, text);
      g_test_fail ();
    }
}

static void
test_events (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_auto(Run) all = { 0 };
  g_auto(Run) first = { 0 };
  g_auto(Run) rest = { 0 };
  g_auto(Run) json = { 0 };
  g_auto(Run) empty = { 0 };
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonNode) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *row = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *after = NULL;
  gint64 ids[103];
  gint64 guest_id;
  const char * const all_args[] = { "events", NULL };
  const char * const json_args[] = { "events", "--json", NULL };
  const char * const first_args[] = { "events", "--limit", "2", NULL };

  login (fixture);
  run_ctl (fixture, &empty, NULL, all_args);
  g_assert_cmpint (empty.status, ==, 0);
  g_assert_cmpstr (empty.out, ==, "No events yet\n");

  /* More than one page of the API's, which the list follows by key. */
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    ids[i] = create_event (fixture);
  add_guests (fixture, ids[0], 0, 2);
  guest_id = add_guests (fixture, ids[0], 2, 1);
  response = request (fixture, fixture->token, "PATCH", "{\"status\":\"accepted\"}",
                      "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  run_ctl (fixture, &all, NULL, all_args);
  g_assert_cmpint (all.status, ==, 0);
  g_assert_true (g_str_has_prefix (all.out, "    ID STARTS                CAPACITY     TAKEN    GUESTS  ACCEPTED  DECLINED  WAITLIST NAME\n"));
  /* capacity 100, 1 seat taken, 3 guests, 1 accepted */
  row = g_strdup_printf ("\n%6" G_GINT64_FORMAT " 2027-05-01T18:00:00Z       100         1         3         1         0         0 CLI\n",
                         ids[0]);
  assert_contains (all.out, row);
  g_free (row);
  row = g_strdup_printf ("\n%6" G_GINT64_FORMAT " 2027-05-01T18:00:00Z       100         0         0         0         0         0 CLI\n",
                         ids[G_N_ELEMENTS (ids) - 1]);
  assert_contains (all.out, row);
  g_assert_cmpint (count_lines (all.out), ==, 1 + G_N_ELEMENTS (ids));
  g_assert_cmpstr (all.err, ==, "");

  run_ctl (fixture, &json, NULL, json_args);
  g_assert_cmpint (json.status, ==, 0);
  parsed = json_from_string (json.out, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (parsed));
  g_assert_cmpint (json_array_get_length (json_node_get_array (parsed)), ==, G_N_ELEMENTS (ids));
  {
    JsonObject *event = json_array_get_object_element (json_node_get_array (parsed), 0);

    g_assert_cmpint (json_object_get_int_member (event, "id"), ==, ids[0]);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (event, "stats"), "accepted"), ==, 1);
  }

  /* A part of the list, and where the rest starts. */
  run_ctl (fixture, &first, NULL, first_args);
  g_assert_cmpint (first.status, ==, 0);
  g_assert_cmpint (count_lines (first.out), ==, 1 + 2);
  hint = g_strdup_printf ("More events follow: eventdeskctl events --after %" G_GINT64_FORMAT "\n", ids[1]);
  g_assert_cmpstr (first.err, ==, hint);

  after = g_strdup_printf ("%" G_GINT64_FORMAT, ids[G_N_ELEMENTS (ids) - 2]);
  run_ctl (fixture, &rest, NULL, (const char * const []) { "events", "--after", after, NULL });
  g_assert_cmpint (rest.status, ==, 0);
  g_assert_cmpint (count_lines (rest.out), ==, 1 + 1);
  g_free (row);
  row = g_strdup_printf ("\n%6" G_GINT64_FORMAT " ", ids[G_N_ELEMENTS (ids) - 1]);
  assert_contains (rest.out, row);
}

static char *
id_arg (gint64 id)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, id);
}

static void
test_campaigns (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_auto(Run) drafts = { 0 };
  g_auto(Run) launch = { 0 };
  g_auto(Run) watch = { 0 };
  g_auto(Run) list = { 0 };
  g_auto(Run) json = { 0 };
  g_auto(Run) show = { 0 };
  g_auto(Run) watch_draft = { 0 };
  g_autoptr(JsonNode) parsed = NULL;
  g_autoptr(GError) error = NULL;
  gint64 event_id = create_event (fixture);
  g_autofree char *event = event_arg (event_id);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *row = NULL;
  g_autofree char *expected = NULL;

  add_guests (fixture, event_id, 0, 3);
  first = id_arg (create_campaign (fixture, event_id));
  second = id_arg (create_campaign (fixture, event_id));
  login (fixture);

  run_ctl (fixture, &drafts, NULL, (const char * const []) { "campaigns", event, NULL });
  g_assert_cmpint (drafts.status, ==, 0);
  g_assert_true (g_str_has_prefix (drafts.out, "    ID KIND         STATE           SENT      TOTAL    WAITING  TO RETRY    FAILED SUBJECT\n"));
  row = g_strdup_printf ("%6s invitation   draft              0          0          0         0         0 Invitation: {{event_name}}\n",
                         first);
  assert_contains (drafts.out, row);
  g_assert_cmpint (count_lines (drafts.out), ==, 3);

  run_ctl (fixture, &launch, NULL, (const char * const []) { "campaign", "launch", first, "--yes", NULL });
  g_assert_cmpint (launch.status, ==, 0);
  expected = g_strdup_printf ("Campaign %s launched: 3 messages queued\n", first);
  g_assert_true (g_str_has_prefix (launch.out, expected));

  /* Into the Maildir, every message goes at once: watch sees the end. */
  run_ctl (fixture, &watch, NULL, (const char * const []) { "campaign", "watch", first, NULL });
  g_assert_cmpint (watch.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("done: 3 of 3 sent, 0 waiting, 0 to retry, 0 failed\nCampaign %s is done\n", first);
  g_assert_true (g_str_has_suffix (watch.out, expected));
  g_assert_null (strchr (watch.out, '\r'));

  run_ctl (fixture, &list, NULL, (const char * const []) { "campaigns", event, NULL });
  g_assert_cmpint (list.status, ==, 0);
  g_free (row);
  row = g_strdup_printf ("%6s invitation   done               3          3          0         0         0 Invitation: {{event_name}}\n",
                         first);
  assert_contains (list.out, row);
  g_free (row);
  row = g_strdup_printf ("%6s invitation   draft              0          0", second);
  assert_contains (list.out, row);

  run_ctl (fixture, &json, NULL, (const char * const []) { "campaigns", event, "--json", NULL });
  g_assert_cmpint (json.status, ==, 0);
  parsed = json_from_string (json.out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_array_get_length (json_node_get_array (parsed)), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (json_node_get_array (parsed), 0), "total"), ==, 3);

  run_ctl (fixture, &show, NULL, (const char * const []) { "campaign", "show", first, NULL });
  g_assert_cmpint (show.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s of event %s\n", first, event);
  g_assert_true (g_str_has_prefix (show.out, expected));
  assert_contains (show.out, "\nState:      done\n");
  assert_contains (show.out, "\nSent:       3 of 3\n");
  assert_contains (show.out, "\nFailed:     0\n");

  /* A draft has nothing to watch. */
  run_ctl (fixture, &watch_draft, NULL, (const char * const []) { "campaign", "watch", second, NULL });
  g_assert_cmpint (watch_draft.status, ==, 1);
  assert_contains (watch_draft.err, "is a draft: launch it first");
}

static void
test_bad_ids (Fixture       *fixture,
              gconstpointer  user_data)
{
  const struct
  {
    const char *args[5];
    int         status;
    const char *message;
  } cases[] = {
    { { "campaigns", "x", NULL }, 2, "“x” is not an event id" },
    { { "campaigns", "9999", NULL }, 1, "There is no event 9999" },
    { { "campaigns", NULL }, 2, "Usage: eventdeskctl campaigns EVENT" },
    { { "campaign", "show", "9999", NULL }, 1, "There is no campaign 9999" },
    { { "campaign", "launch", "9999", "--yes", NULL }, 1, "There is no campaign 9999" },
    { { "campaign", "cancel", "-3", NULL }, 2, "" },
    { { "campaign", "pause", "four", NULL }, 2, "“four” is not a campaign id" },
    { { "campaign", "watch", "9999", NULL }, 1, "There is no campaign 9999" },
    { { "campaign", "launch", NULL }, 2, "Usage: eventdeskctl campaign show|launch|" },
    { { "campaign", "explode", "1", NULL }, 2, "Usage: eventdeskctl campaign show|launch|" },
    { { "events", "extra", NULL }, 2, "Unexpected argument “extra”" },
    { { "queue", "--retries", "100000", NULL }, 2, "--retries takes a number from 0 to 500" },
  };

  login (fixture);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };

      run_ctl (fixture, &run, NULL, cases[i].args);
      g_assert_cmpint (run.status, ==, cases[i].status);
      assert_contains (run.err, cases[i].message);
      g_assert_cmpstr (run.out, ==, "");
    }
}

/* Launch says how many guests it writes to and asks; with nobody to ask,
 * nothing is launched without --yes.
 */
static void
test_launch_confirmation (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_auto(Run) refused = { 0 };
  g_auto(Run) launched = { 0 };
  g_auto(Run) again = { 0 };
  g_autoptr(JsonObject) draft = NULL;
  g_autoptr(JsonObject) running = NULL;
  gint64 event_id = create_event (fixture);
  gint64 campaign_id;
  g_autofree char *campaign = NULL;
  g_autofree char *expected = NULL;

  add_guests (fixture, event_id, 0, 3);
  campaign_id = create_campaign (fixture, event_id);
  campaign = id_arg (campaign_id);
  login (fixture);

  run_ctl (fixture, &refused, "y\n", (const char * const []) { "campaign", "launch", campaign, NULL });
  g_assert_cmpint (refused.status, ==, 2);
  expected = g_strdup_printf ("Campaign %s (invitation “Invitation: {{event_name}}”) will be sent to 3 recipients.",
                              campaign);
  assert_contains (refused.err, expected);
  assert_contains (refused.err, "Nothing was done: add --yes");
  g_assert_cmpstr (refused.out, ==, "");
  draft = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (draft, "state"), ==, "draft");
  g_assert_cmpint (json_object_get_int_member (draft, "total"), ==, 0);

  run_ctl (fixture, &launched, NULL, (const char * const []) { "campaign", "launch", campaign, "--yes", NULL });
  g_assert_cmpint (launched.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s launched: 3 messages queued\n", campaign);
  g_assert_true (g_str_has_prefix (launched.out, expected));
  running = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (running, "state"), !=, "draft");
  g_assert_cmpint (json_object_get_int_member (running, "total"), ==, 3);

  /* Launched once, a campaign cannot be launched again: the server says why. */
  run_ctl (fixture, &again, NULL, (const char * const []) { "campaign", "launch", campaign, "--yes", NULL });
  g_assert_cmpint (again.status, ==, 5);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s cannot be launched", campaign);
  assert_contains (again.err, expected);
}

static gint64
launch_to_deferring_server (Fixture  *fixture,
                            char    **campaign)
{
  g_auto(Run) launch = { 0 };
  gint64 event_id = create_event (fixture);
  gint64 campaign_id;

  add_guests (fixture, event_id, 0, 3);
  campaign_id = create_campaign (fixture, event_id);
  *campaign = id_arg (campaign_id);
  login (fixture);

  run_ctl (fixture, &launch, NULL, (const char * const []) { "campaign", "launch", *campaign, "--yes", NULL });
  g_assert_cmpint (launch.status, ==, 0);
  /* smtp-sink turns every recipient away for now. */
  wait_for_campaign (fixture, campaign_id, NULL, "retry", 3);

  return campaign_id;
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_auto(Run) refused = { 0 };
  g_auto(Run) cancelled = { 0 };
  g_auto(Run) again = { 0 };
  g_autoptr(JsonObject) running = NULL;
  g_autoptr(JsonObject) after = NULL;
  g_autofree char *campaign = NULL;
  g_autofree char *expected = NULL;
  gint64 campaign_id = launch_to_deferring_server (fixture, &campaign);

  run_ctl (fixture, &refused, NULL, (const char * const []) { "campaign", "cancel", campaign, NULL });
  g_assert_cmpint (refused.status, ==, 2);
  expected = g_strdup_printf ("Campaign %s stops for good: its 3 messages still waiting will not be sent.", campaign);
  assert_contains (refused.err, expected);
  running = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (running, "state"), ==, "running");

  run_ctl (fixture, &cancelled, NULL, (const char * const []) { "campaign", "cancel", campaign, "--yes", NULL });
  g_assert_cmpint (cancelled.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s cancelled: 3 messages will not be sent\n"
                              "cancelled: 0 of 3 sent, 0 waiting, 0 to retry, 0 failed\n", campaign);
  g_assert_cmpstr (cancelled.out, ==, expected);
  after = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (after, "state"), ==, "cancelled");
  g_assert_cmpint (campaign_count (after, "cancelled"), ==, 3);

  /* Nothing to confirm: the server's reason, and a status of its own. */
  run_ctl (fixture, &again, NULL, (const char * const []) { "campaign", "cancel", campaign, NULL });
  g_assert_cmpint (again.status, ==, 5);
  g_free (expected);
  expected = g_strdup_printf ("eventdeskctl campaign: Campaign %s cannot be cancelled: it is cancelled", campaign);
  assert_contains (again.err, expected);
  g_assert_cmpstr (again.out, ==, "");
}

/* What the mailer writes when it pauses a campaign for its failures,
 * straight into the daemon's database: smtp-sink cannot fail enough
 * messages for that within a test.
 */
static void
set_state_reason (Fixture    *fixture,
                  gint64      campaign_id,
                  const char *reason)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE campaigns SET state_reason = ?2 WHERE id = ?1",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_text (stmt, 2, reason, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_auto(Run) pause = { 0 };
  g_auto(Run) pause_again = { 0 };
  g_auto(Run) watch = { 0 };
  g_auto(Run) watch_reason = { 0 };
  g_auto(Run) resume = { 0 };
  g_auto(Run) show = { 0 };
  g_autoptr(JsonObject) paused = NULL;
  g_autoptr(JsonObject) resumed = NULL;
  g_autofree char *campaign = NULL;
  g_autofree char *expected = NULL;
  gint64 campaign_id = launch_to_deferring_server (fixture, &campaign);

  run_ctl (fixture, &pause, NULL, (const char * const []) { "campaign", "pause", campaign, NULL });
  g_assert_cmpint (pause.status, ==, 0);
  expected = g_strdup_printf ("Campaign %s paused: nothing more is sent until it resumes\n"
                              "paused: 0 of 3 sent, 0 waiting, 3 to retry, 0 failed\n", campaign);
  g_assert_cmpstr (pause.out, ==, expected);
  paused = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (paused, "state"), ==, "paused");

  run_ctl (fixture, &pause_again, NULL, (const char * const []) { "campaign", "pause", campaign, NULL });
  g_assert_cmpint (pause_again.status, ==, 5);
  assert_contains (pause_again.err, "only a running campaign can be paused");

  /* Watching a paused campaign ends at once, and not as done. */
  run_ctl (fixture, &watch, NULL, (const char * const []) { "campaign", "watch", campaign, NULL });
  g_assert_cmpint (watch.status, ==, 1);
  g_assert_cmpstr (watch.out, ==, "paused: 0 of 3 sent, 0 waiting, 3 to retry, 0 failed\n");
  g_free (expected);
  expected = g_strdup_printf ("eventdeskctl campaign: Campaign %s paused; "
                              "resume it with: eventdeskctl campaign resume %s\n", campaign, campaign);
  g_assert_cmpstr (watch.err, ==, expected);

  /* As if it had paused itself: its reason, then how to go on. */
  set_state_reason (fixture, campaign_id, "Paused by the mailer: 50 of the last 50 attempts failed");
  run_ctl (fixture, &watch_reason, NULL, (const char * const []) { "campaign", "watch", campaign, NULL });
  g_assert_cmpint (watch_reason.status, ==, 1);
  g_free (expected);
  expected = g_strdup_printf ("eventdeskctl campaign: Campaign %s paused: "
                              "Paused by the mailer: 50 of the last 50 attempts failed\n"
                              "Resume it with: eventdeskctl campaign resume %s\n", campaign, campaign);
  g_assert_cmpstr (watch_reason.err, ==, expected);

  run_ctl (fixture, &resume, NULL, (const char * const []) { "campaign", "resume", campaign, NULL });
  g_assert_cmpint (resume.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s resumed\n", campaign);
  g_assert_true (g_str_has_prefix (resume.out, expected));
  resumed = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (resumed, "state"), ==, "running");

  run_ctl (fixture, &show, NULL, (const char * const []) { "campaign", "show", campaign, NULL });
  g_assert_cmpint (show.status, ==, 0);
  assert_contains (show.out, "\nState:      running\n");
  assert_contains (show.out, "\nTo retry:   3\n");
}

static void
test_retry_failed (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_auto(Run) launch = { 0 };
  g_auto(Run) watch = { 0 };
  g_auto(Run) retry = { 0 };
  g_auto(Run) list = { 0 };
  gint64 event_id = create_event (fixture);
  g_autofree char *event = event_arg (event_id);
  gint64 campaign_id;
  g_autofree char *campaign = NULL;
  g_autofree char *expected = NULL;

  add_guests (fixture, event_id, 0, 3);
  campaign_id = create_campaign (fixture, event_id);
  campaign = id_arg (campaign_id);
  login (fixture);

  run_ctl (fixture, &launch, NULL, (const char * const []) { "campaign", "launch", campaign, "--yes", NULL });
  g_assert_cmpint (launch.status, ==, 0);
  /* smtp-sink refuses every recipient for good: done, with 3 failed. */
  run_ctl (fixture, &watch, NULL, (const char * const []) { "campaign", "watch", campaign, NULL });
  g_assert_cmpint (watch.status, ==, 0);
  assert_contains (watch.out, "done: 0 of 3 sent, 0 waiting, 0 to retry, 3 failed\n");

  run_ctl (fixture, &retry, NULL, (const char * const []) { "campaign", "retry-failed", campaign, NULL });
  g_assert_cmpint (retry.status, ==, 0);
  expected = g_strdup_printf ("Campaign %s: 3 failed messages queued again\n", campaign);
  g_assert_true (g_str_has_prefix (retry.out, expected));

  wait_for_campaign (fixture, campaign_id, NULL, "failed", 3);
  wait_for_campaign (fixture, campaign_id, "done", NULL, 0);
  run_ctl (fixture, &list, NULL, (const char * const []) { "campaigns", event, NULL });
  g_assert_cmpint (list.status, ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("%6s invitation   done               0          3          0         0         3 ", campaign);
  assert_contains (list.out, expected);
}

static void
test_queue (Fixture       *fixture,
            gconstpointer  user_data)
{
  g_auto(Run) queue = { 0 };
  g_auto(Run) one = { 0 };
  g_auto(Run) none = { 0 };
  g_auto(Run) json = { 0 };
  g_autoptr(JsonNode) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *campaign = NULL;
  JsonObject *object;

  launch_to_deferring_server (fixture, &campaign);

  run_ctl (fixture, &queue, NULL, (const char * const []) { "queue", NULL });
  g_assert_cmpint (queue.status, ==, 0);
  g_assert_true (g_str_has_prefix (queue.out,
                                   "STATE               ALL       BULK TRANSACTIONAL\n"
                                   "queued                0          0             0\n"
                                   "being sent            0          0             0\n"
                                   "to retry              3          3             0\n"
                                   "sent                  0          0             0\n"
                                   "failed                0          0             0\n"
                                   "cancelled             0          0             0\n"
                                   "total                 3          3             0\n"));
  assert_contains (queue.out, "\nRate limit:     50 a second\n");
  assert_contains (queue.out, "\nWaiting since:  nothing is due\n");
  assert_contains (queue.out, "\nNext retries:\nAT                    MESSAGE CAMPAIGN ATTEMPTS ADDRESS\n");
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *line = g_strdup_printf (" guest%u@example.com (4", i);

      assert_contains (queue.out, line);
    }

  run_ctl (fixture, &one, NULL, (const char * const []) { "queue", "--retries", "1", NULL });
  g_assert_cmpint (one.status, ==, 0);
  g_assert_cmpint (count_lines (strstr (one.out, "Next retries:")), ==, 3);

  run_ctl (fixture, &none, NULL, (const char * const []) { "queue", "--retries", "0", NULL });
  g_assert_cmpint (none.status, ==, 0);
  g_assert_null (strstr (none.out, "Next retries"));

  run_ctl (fixture, &json, NULL, (const char * const []) { "queue", "--json", NULL });
  g_assert_cmpint (json.status, ==, 0);
  parsed = json_from_string (json.out, &error);
  g_assert_no_error (error);
  object = json_node_get_object (parsed);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "counts"), "retry"), ==, 3);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (object, "next_retries")), ==, 3);
}

/* Runs eventdeskctl on a terminal of its own that @answer is typed into;
 * returns its exit status and in @screen what the terminal showed.
 */
static int
run_ctl_on_terminal (Fixture             *fixture,
                     const char          *answer,
                     const char * const  *args,
                     GString             *screen)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int master, slave;

  master = open_terminal (&slave);

  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_stdin_fd (launcher, slave);
  g_subprocess_launcher_take_stdout_fd (launcher, fcntl (slave, F_DUPFD_CLOEXEC, 0));
  g_subprocess_launcher_take_stderr_fd (launcher, fcntl (slave, F_DUPFD_CLOEXEC, 0));
  g_ptr_array_add (argv, (gpointer) get_program ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  /* The launcher holds our copies of the terminal's other end. */
  g_clear_object (&launcher);

  /* Typed ahead: the terminal keeps the line until the program reads it. */
  g_assert_cmpint (write (master, answer, strlen (answer)), ==, (ssize_t) strlen (answer));
  read_terminal (master, screen);

  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("eventdeskctl %s %s on a terminal → %d: %s", args[0], args[1], g_subprocess_get_exit_status (process),
                  screen->str);

  return g_subprocess_get_exit_status (process);
}

/* On a terminal, launch and cancel ask, and only a yes goes ahead; watch
 * redraws its line.
 */
static void
test_confirm_on_terminal (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autoptr(GString) launch_no = g_string_new (NULL);
  g_autoptr(GString) cancel_no = g_string_new (NULL);
  g_autoptr(GString) cancel_yes = g_string_new (NULL);
  g_autoptr(GString) watch = g_string_new (NULL);
  g_autoptr(JsonObject) draft = NULL;
  g_autoptr(JsonObject) running = NULL;
  g_autoptr(JsonObject) cancelled = NULL;
  g_autofree char *campaign = NULL;
  g_autofree char *expected = NULL;
  gint64 campaign_id = launch_to_deferring_server (fixture, &campaign);
  g_autoptr(JsonObject) launched = get_campaign (fixture, campaign_id);
  gint64 draft_id = create_campaign (fixture, json_object_get_int_member (launched, "event_id"));
  g_autofree char *draft_arg = id_arg (draft_id);

  g_assert_cmpint (run_ctl_on_terminal (fixture, "n\n", (const char * const []) { "campaign", "launch", draft_arg, NULL },
                                        launch_no), ==, 1);
  expected = g_strdup_printf ("Campaign %s (invitation “Invitation: {{event_name}}”) will be sent to 3 recipients.\r\n"
                              "Launch it? [y/N] ", draft_arg);
  assert_contains (launch_no->str, expected);
  assert_contains (launch_no->str, "Nothing was done");
  draft = get_campaign (fixture, draft_id);
  g_assert_cmpstr (json_object_get_string_member (draft, "state"), ==, "draft");

  g_assert_cmpint (run_ctl_on_terminal (fixture, "\n", (const char * const []) { "campaign", "cancel", campaign, NULL },
                                        cancel_no), ==, 1);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s stops for good: its 3 messages still waiting will not be sent.\r\n"
                              "Cancel it? [y/N] ", campaign);
  assert_contains (cancel_no->str, expected);
  running = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (running, "state"), ==, "running");

  g_assert_cmpint (run_ctl_on_terminal (fixture, "yes\n", (const char * const []) { "campaign", "cancel", campaign, NULL },
                                        cancel_yes), ==, 0);
  g_free (expected);
  expected = g_strdup_printf ("Campaign %s cancelled: 3 messages will not be sent\r\n", campaign);
  assert_contains (cancel_yes->str, expected);
  cancelled = get_campaign (fixture, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (cancelled, "state"), ==, "cancelled");

  /* On a terminal, watch redraws its line, and ends it before the verdict. */
  g_assert_cmpint (run_ctl_on_terminal (fixture, "", (const char * const []) { "campaign", "watch", campaign, NULL },
                                        watch), ==, 1);
  g_free (expected);
  expected = g_strdup_printf ("\r\033[Kcancelled: 0 of 3 sent, 0 waiting, 0 to retry, 0 failed\r\n"
                              "eventdeskctl campaign: Campaign %s was cancelled\r\n", campaign);
  g_assert_cmpstr (watch->str, ==, expected);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  if (!g_get_charset (NULL))
    setlocale (LC_ALL, "C.UTF-8");

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

#define ADD(path, test) \
  g_test_add (path, Fixture, NULL, fixture_set_up, test, fixture_tear_down)
#define ADD_MAIL(path, mail, test) \
  g_test_add (path, Fixture, mail, fixture_set_up, test, fixture_tear_down)

  ADD ("/ctl/login-logout", test_login_logout);
  ADD ("/ctl/login-refused", test_login_refused);
  ADD ("/ctl/not-logged-in", test_not_logged_in);
  ADD ("/ctl/session-ended", test_session_ended);
  ADD ("/ctl/session-file-exposed", test_session_file_exposed);
  ADD ("/ctl/import", test_import);
  ADD ("/ctl/export", test_export);
  ADD ("/ctl/progress-on-terminal", test_progress_on_terminal);
  ADD ("/ctl/events", test_events);
  ADD ("/ctl/campaigns", test_campaigns);
  ADD ("/ctl/bad-ids", test_bad_ids);
  ADD ("/ctl/campaign/launch-confirmation", test_launch_confirmation);
  ADD_MAIL ("/ctl/campaign/cancel", MAIL_DEFERRED, test_cancel);
  ADD_MAIL ("/ctl/campaign/pause-resume", MAIL_DEFERRED, test_pause_resume);
  ADD_MAIL ("/ctl/campaign/retry-failed", MAIL_REJECTED, test_retry_failed);
  ADD_MAIL ("/ctl/campaign/confirm-on-terminal", MAIL_DEFERRED, test_confirm_on_terminal);
  ADD_MAIL ("/ctl/queue", MAIL_DEFERRED, test_queue);

#undef ADD
#undef ADD_MAIL

  return g_test_run ();
}
