/* SPDX-License-Identifier: GPL-3.0-or-later */
/* posix_openpt() and friends */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ed-test-daemon.h"
#include "ed-test-http.h"

/* eventdeskctl ($EVENTDESKCTL) against the real daemon: logging in and
 * out, the session file and its permissions, importing and exporting, and
 * the exit status and message of each kind of failure.
 */

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"
#define RUN_TIMEOUT_S 60

typedef struct
{
  EdTestDaemon *daemon;
  SoupSession  *session;
  char         *token;    /* the test's own session, for checks through the API */
  char         *config;   /* XDG_CONFIG_HOME of eventdeskctl */
  char         *work;     /* files the test writes */
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
  g_autofree char *event = event_arg (create_event (fixture));
  char buffer[4096];
  gssize n;
  int master, slave;

  login (fixture);
  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (csv, "guest%u@example.com\n", i);
  path = write_work_file (fixture, "big.csv", csv->str);

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (slave, >=, 0);

  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_take_stderr_fd (launcher, slave);
  process = g_subprocess_launcher_spawn (launcher, &error, get_program (), "import", event, path, NULL);
  g_assert_no_error (error);
  /* The launcher holds our copy of the terminal's other end. */
  g_clear_object (&launcher);

  /* Read until the terminal closes: EIO once the program is gone. */
  while ((n = read (master, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (terminal, buffer, n);
  close (master);

  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("On the terminal: %s", terminal->str);
  g_assert_nonnull (strstr (terminal->str, "\r\033[KUploading  ["));
  g_assert_nonnull (strstr (terminal->str, "100%"));
  g_assert_nonnull (strstr (terminal->str, "\r\033[KSaving"));
  g_assert_null (strstr (terminal->str, "Uploading: "));
  g_assert_cmpint (count_guests (fixture, g_ascii_strtoll (event, NULL, 10)), ==, 20000);
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

  ADD ("/ctl/login-logout", test_login_logout);
  ADD ("/ctl/login-refused", test_login_refused);
  ADD ("/ctl/not-logged-in", test_not_logged_in);
  ADD ("/ctl/session-ended", test_session_ended);
  ADD ("/ctl/session-file-exposed", test_session_file_exposed);
  ADD ("/ctl/import", test_import);
  ADD ("/ctl/export", test_export);
  ADD ("/ctl/progress-on-terminal", test_progress_on_terminal);

#undef ADD

  return g_test_run ();
}
