/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ed-test-daemon.h"
#include "ed-test-util.h"

/* Limits that turn a daemon that hangs into a failed test. */
#define START_TIMEOUT_MS 15000
#define EXIT_TIMEOUT_MS 15000

#define LISTENING_PREFIX "eventdeskd listening on "

/* A zone far from UTC and from the zones the tests give their events, so
 * that a daemon that used the host's local time would show it.
 */
#define DAEMON_TIME_ZONE "Asia/Tokyo"

#define MAX_DAEMONS 16
#define LOG_TAIL_BYTES 16384

struct _EdTestDaemon
{
  /* owned */
  char             *data_dir;
  char             *log_path;
  GSubprocess      *process;
  GDataInputStream *stdout_stream;
  char             *url;
  GStrv             extra_args;  /* given to every start after the usual ones */

  guint             slot;
};

/* What the fatal-signal handler needs, kept where it can read it without
 * allocating or locking: a test that aborts on a failed assertion never
 * reaches its teardown, so the handler kills the daemons, shows their logs
 * and removes their files. Daemons also get SIGKILL from the kernel when
 * the test dies (PR_SET_PDEATHSIG), for the deaths no handler sees.
 */
typedef struct
{
  gboolean used;
  pid_t    pid;
  char     log_path[PATH_MAX];
  char     data_dir[PATH_MAX];
} Slot;

static Slot slots[MAX_DAEMONS];

/* Everything eventdeskd keeps in its data directory. */
static const char * const data_files[] = {
  "eventdesk.db", "eventdesk.db-wal", "eventdesk.db-shm", "eventdesk.db-journal",
  "secret.key", "eventdeskd.lock",
};

static void
write_stderr (const char *text)
{
  gsize length = strlen (text);

  while (length > 0)
    {
      gssize n = write (STDERR_FILENO, text, length);

      if (n <= 0)
        return;
      text += n;
      length -= (gsize) n;
    }
}

static void
write_log_tail (const char *path)
{
  char buffer[4096];
  gssize n;
  off_t size;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return;

  size = lseek (fd, 0, SEEK_END);
  lseek (fd, size > LOG_TAIL_BYTES ? size - LOG_TAIL_BYTES : 0, SEEK_SET);
  while ((n = read (fd, buffer, sizeof buffer - 1)) > 0)
    {
      buffer[n] = '\0';
      write_stderr (buffer);
    }
  close (fd);
}

static void
remove_data_dir (const char *data_dir)
{
  char path[PATH_MAX];
  gsize length = strlen (data_dir);

  for (guint i = 0; i < G_N_ELEMENTS (data_files); i++)
    if (length + 1 + strlen (data_files[i]) < sizeof path)
      {
        char *end = stpcpy (path, data_dir);

        *end++ = '/';
        stpcpy (end, data_files[i]);
        unlink (path);
      }

  rmdir (data_dir);
}

/* Async-signal-safe: only system calls and string functions. */
static void
on_fatal_signal (int signum)
{
  for (guint i = 0; i < MAX_DAEMONS; i++)
    if (slots[i].used && slots[i].pid > 0)
      kill (slots[i].pid, SIGKILL);

  for (guint i = 0; i < MAX_DAEMONS; i++)
    if (slots[i].used)
      {
        write_stderr ("\n--- log of the test's eventdeskd (data in ");
        write_stderr (slots[i].data_dir);
        write_stderr (") ---\n");
        write_log_tail (slots[i].log_path);
        write_stderr ("--- end of log ---\n");

        unlink (slots[i].log_path);
        remove_data_dir (slots[i].data_dir);
      }

  raise (signum);
}

static void
install_fatal_signal_handler (void)
{
  static gsize installed = 0;

  if (g_once_init_enter (&installed))
    {
      static const int signals[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGTERM, SIGINT };
      struct sigaction action = { 0 };

      action.sa_handler = on_fatal_signal;
      action.sa_flags = (int) SA_RESETHAND;
      sigemptyset (&action.sa_mask);
      for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
        sigaction (signals[i], &action, NULL);

      g_once_init_leave (&installed, 1);
    }
}

static const char *
get_program (void)
{
  const char *program = g_getenv ("EVENTDESKD");

  if (program == NULL)
    g_error ("EVENTDESKD must name the eventdeskd binary (meson test sets it)");

  return program;
}

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocessLauncher *
new_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "TZ", DAEMON_TIME_ZONE, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");
  g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  return launcher;
}

static void
on_async_ready_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates @context until *result is set, or for at most @timeout_ms
 * (0: no limit). Returns FALSE on timeout; the caller must then end the
 * operation and wait again, since its callback points at *result.
 */
static gboolean
await_result (GMainContext  *context,
              GAsyncResult **result,
              guint          timeout_ms)
{
  g_autoptr(GSource) timeout = NULL;
  gboolean timed_out = FALSE;

  if (timeout_ms > 0)
    {
      timeout = g_timeout_source_new (timeout_ms);
      g_source_set_callback (timeout, on_timeout_cb, &timed_out, NULL);
      g_source_attach (timeout, context);
    }

  while (*result == NULL && !timed_out)
    g_main_context_iteration (context, TRUE);

  if (timeout != NULL)
    g_source_destroy (timeout);

  return *result != NULL;
}

/**
 * ed_test_remove_tree:
 * @path: a folder a test made
 *
 * Removes @path and everything in it, without following symbolic links.
 */
void
ed_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        ed_test_remove_tree (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

/**
 * ed_test_daemon_new:
 *
 * Makes a fresh data directory; the daemon is not started yet, so that a
 * test can first create admins with ed_test_daemon_add_admin().
 */
EdTestDaemon *
ed_test_daemon_new (void)
{
  g_autoptr(GError) error = NULL;
  EdTestDaemon *self = g_new0 (EdTestDaemon, 1);
  int log_fd;

  install_fatal_signal_handler ();

  /* Without these no test can run at all, so they end the run. */
  self->data_dir = g_dir_make_tmp ("eventdesk-test-api-XXXXXX", &error);
  if (self->data_dir == NULL)
    g_error ("Cannot make a data directory: %s", error->message);

  log_fd = g_file_open_tmp ("eventdesk-test-api-XXXXXX.log", &self->log_path, &error);
  if (log_fd < 0)
    g_error ("Cannot make a log file: %s", error->message);
  close (log_fd);

  for (self->slot = 0; self->slot < MAX_DAEMONS; self->slot++)
    if (!slots[self->slot].used)
      break;
  g_assert (self->slot < MAX_DAEMONS);

  g_strlcpy (slots[self->slot].log_path, self->log_path, sizeof slots[self->slot].log_path);
  g_strlcpy (slots[self->slot].data_dir, self->data_dir, sizeof slots[self->slot].data_dir);
  slots[self->slot].pid = 0;
  slots[self->slot].used = TRUE;

  return self;
}

/**
 * ed_test_daemon_free:
 *
 * Stops a running daemon with SIGTERM, which must end it cleanly (exit
 * status 0): every test ends with an orderly shutdown. Then removes the
 * data directory and the log.
 */
void
ed_test_daemon_free (EdTestDaemon *self)
{
  if (self == NULL)
    return;

  if (ed_test_daemon_is_running (self))
    g_assert_cmpint (ed_test_daemon_stop (self), ==, 0);

  slots[self->slot].used = FALSE;
  ed_test_remove_tree (self->data_dir);
  g_unlink (self->log_path);

  g_free (self->data_dir);
  g_free (self->log_path);
  g_strfreev (self->extra_args);
  g_free (self);
}

const char *
ed_test_daemon_get_data_dir (EdTestDaemon *self)
{
  return self->data_dir;
}

/* Returns the path of @file_name in the data directory. */
char *
ed_test_daemon_get_path (EdTestDaemon *self,
                         const char   *file_name)
{
  return g_build_filename (self->data_dir, file_name, NULL);
}

/* Returns "http://127.0.0.1:PORT" while the daemon runs. */
const char *
ed_test_daemon_get_url (EdTestDaemon *self)
{
  return self->url;
}

/* Returns the daemon's URL followed by @path ("/api/v1/…"). While no
 * daemon runs, a test that asks for one fails, and gets a URL where
 * nothing answers so that its requests fail too instead of crashing it.
 */
char *
ed_test_daemon_url (EdTestDaemon *self,
                    const char   *path)
{
  g_assert_nonnull (self->url);

  return g_strconcat (self->url ? self->url : "http://127.0.0.1:0", path, NULL);
}

const char *
ed_test_daemon_get_pid (EdTestDaemon *self)
{
  return self->process ? g_subprocess_get_identifier (self->process) : NULL;
}

gboolean
ed_test_daemon_is_running (EdTestDaemon *self)
{
  return self->process != NULL;
}

/* Copies the daemon's log (its standard error) into the test log. */
void
ed_test_daemon_dump_log (EdTestDaemon *self)
{
  g_autofree char *contents = NULL;

  if (g_file_get_contents (self->log_path, &contents, NULL, NULL))
    g_test_message ("eventdeskd log:\n%s", contents);
}

/**
 * ed_test_daemon_wait_for_log:
 * @text: part of a line the daemon logs
 *
 * Waits until the daemon's log has @text, for a test that must know the
 * daemon got somewhere (it has seen a signal, say) before going on.
 *
 * Returns: %TRUE once the log has @text; %FALSE if it did not come in time
 */
gboolean
ed_test_daemon_wait_for_log (EdTestDaemon *self,
                             const char   *text)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) START_TIMEOUT_MS * 1000;

  do
    {
      g_autofree char *contents = NULL;

      if (g_file_get_contents (self->log_path, &contents, NULL, NULL) &&
          strstr (contents, text) != NULL)
        return TRUE;
      g_usleep (G_USEC_PER_SEC / 100);
    }
  while (g_get_monotonic_time () < deadline);

  g_test_message ("The daemon did not log “%s” within %d ms", text, START_TIMEOUT_MS);
  ed_test_daemon_dump_log (self);
  return FALSE;
}

/**
 * ed_test_daemon_run:
 * @args: (array zero-terminated=1): the arguments after the program name
 * @stdin_text: (nullable): what to write to its standard input
 * @stdout_text: (out) (optional): what it printed
 * @stderr_text: (out) (optional): what it printed on standard error
 *
 * Runs eventdeskd once more, for instance `admin add` or a second daemon,
 * and waits for it to exit. One that does not exit in time is killed and
 * fails the test.
 *
 * Returns: its exit status, or -1 when it did not exit normally
 */
static int
run_program (const char * const  *prefix,
             const char * const  *args,
             const char          *stdin_text,
             char               **stdout_text,
             char               **stderr_text);

int
ed_test_daemon_run (EdTestDaemon        *self,
                    const char * const  *args,
                    const char          *stdin_text,
                    char               **stdout_text,
                    char               **stderr_text)
{
  return run_program (NULL, args, stdin_text, stdout_text, stderr_text);
}

/**
 * ed_test_daemon_run_unprivileged:
 * @args: (array zero-terminated=1): the arguments after the program name
 * @stderr_text: (out) (optional): what it printed on standard error
 *
 * Like ed_test_daemon_run(), but for a process that file modes apply to:
 * as root (CI), eventdeskd runs without capabilities (setpriv), since
 * root's CAP_DAC_OVERRIDE would let it write where the modes forbid.
 *
 * Returns: its exit status, or -1 when it did not exit normally
 */
int
ed_test_daemon_run_unprivileged (EdTestDaemon        *self,
                                 const char * const  *args,
                                 char               **stderr_text)
{
  const char * const drop_capabilities[] = {
    "setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", NULL,
  };

  return run_program (geteuid () == 0 ? drop_capabilities : NULL, args, NULL, NULL, stderr_text);
}

static int
run_program (const char * const  *prefix,
             const char * const  *args,
             const char          *stdin_text,
             char               **stdout_text,
             char               **stderr_text)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gboolean exited_in_time;

  launcher = new_launcher (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                           G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                           G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (guint i = 0; prefix != NULL && prefix[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) prefix[i]);
  g_ptr_array_add (argv, (gpointer) get_program ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  if (process == NULL)
    g_error ("Cannot run %s: %s", get_program (), error->message);

  g_main_context_push_thread_default (context);
  g_subprocess_communicate_utf8_async (process, stdin_text, NULL, on_async_ready_cb, &result);
  exited_in_time = await_result (context, &result, EXIT_TIMEOUT_MS);
  if (!exited_in_time)
    {
      g_subprocess_force_exit (process);
      await_result (context, &result, 0);
    }
  g_main_context_pop_thread_default (context);

  g_subprocess_communicate_utf8_finish (process, result, &out, &err, &error);
  g_assert_no_error (error);
  g_clear_error (&error);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);

  if (!exited_in_time)
    g_test_message ("eventdeskd did not exit within %d ms; it printed:\n%s\n%s",
                    EXIT_TIMEOUT_MS, out, err);
  g_assert_true (exited_in_time);
  g_assert_true (g_subprocess_get_if_exited (process));

  if (stdout_text != NULL)
    *stdout_text = out ? g_steal_pointer (&out) : g_strdup ("");
  if (stderr_text != NULL)
    *stderr_text = err ? g_steal_pointer (&err) : g_strdup ("");

  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
}

/* Runs `eventdeskd admin add USERNAME --password-stdin`; it must succeed. */
void
ed_test_daemon_add_admin (EdTestDaemon *self,
                          const char   *username,
                          const char   *password)
{
  g_autofree char *input = g_strconcat (password, "\n", NULL);
  g_autofree char *err = NULL;
  const char * const args[] = {
    "admin", "add", username, "--password-stdin", "--data-dir", self->data_dir, NULL,
  };
  int status;

  status = ed_test_daemon_run (self, args, input, NULL, &err);
  if (status != 0)
    g_test_message ("eventdeskd admin add %s: %s", username, err);
  g_assert_cmpint (status, ==, 0);
}

/* Waits for the daemon to exit and forgets it; returns the finished
 * process, or NULL (failing the test) when none was running.
 */
static GSubprocess *
wait_for_exit (EdTestDaemon *self)
{
  g_autoptr(GSubprocess) process = g_steal_pointer (&self->process);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exited_in_time;

  g_assert_nonnull (process);
  if (process == NULL)
    return NULL;

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (process, NULL, on_async_ready_cb, &result);
  exited_in_time = await_result (context, &result, EXIT_TIMEOUT_MS);
  if (!exited_in_time)
    {
      g_subprocess_force_exit (process);
      await_result (context, &result, 0);
    }
  g_main_context_pop_thread_default (context);

  g_subprocess_wait_finish (process, result, &error);
  g_assert_no_error (error);

  slots[self->slot].pid = 0;
  g_clear_object (&self->stdout_stream);
  g_clear_pointer (&self->url, g_free);

  if (!exited_in_time)
    {
      g_test_message ("eventdeskd did not exit within %d ms; it was killed", EXIT_TIMEOUT_MS);
      ed_test_daemon_dump_log (self);
    }
  g_assert_true (exited_in_time);

  return g_steal_pointer (&process);
}

/**
 * ed_test_daemon_start:
 *
 * Starts the daemon on the data directory, listening on a free port of
 * 127.0.0.1, and waits for the line that tells its address.
 */
void
ed_test_daemon_start (EdTestDaemon *self)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GPtrArray) argv = NULL;
  gboolean listening;
  int log_fd;

  g_assert (self->process == NULL);

  launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  log_fd = g_open (self->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    g_error ("Cannot open %s: %s", self->log_path, g_strerror (errno));
  g_subprocess_launcher_take_stderr_fd (launcher, log_fd);

  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) get_program ());
  g_ptr_array_add (argv, (gpointer) "--listen");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1:0");
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, self->data_dir);
  for (guint i = 0; self->extra_args != NULL && self->extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, self->extra_args[i]);
  g_ptr_array_add (argv, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  if (self->process == NULL)
    g_error ("Cannot run %s: %s", get_program (), error->message);
  slots[self->slot].pid = ed_test_parse_pid (g_subprocess_get_identifier (self->process));
  self->stdout_stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));

  g_main_context_push_thread_default (context);
  g_data_input_stream_read_line_async (self->stdout_stream, G_PRIORITY_DEFAULT, cancellable,
                                       on_async_ready_cb, &result);
  if (!await_result (context, &result, START_TIMEOUT_MS))
    {
      g_cancellable_cancel (cancellable);
      await_result (context, &result, 0);
    }
  g_main_context_pop_thread_default (context);

  line = g_data_input_stream_read_line_finish_utf8 (self->stdout_stream, result, NULL, &error);
  listening = line != NULL && (g_str_has_prefix (line, LISTENING_PREFIX "http://127.0.0.1:") ||
                               g_str_has_prefix (line, LISTENING_PREFIX "https://127.0.0.1:"));
  if (!listening)
    {
      g_test_message ("eventdeskd did not say where it listens within %d ms (%s; it printed “%s”)",
                      START_TIMEOUT_MS, error ? error->message : "no error",
                      line ? line : "nothing");
      g_subprocess_force_exit (self->process);
      g_object_unref (wait_for_exit (self));
      ed_test_daemon_dump_log (self);
    }
  g_assert_true (listening);

  if (listening)
    self->url = g_strdup (line + strlen (LISTENING_PREFIX));
}

/* Options added to the daemon's command line from the next start on,
 * e.g. `--mail-transport smtp://…`.
 */
void
ed_test_daemon_set_args (EdTestDaemon       *self,
                         const char * const *args)
{
  g_strfreev (self->extra_args);
  self->extra_args = g_strdupv ((char **) args);
}

/* Sends @signum to the daemon without waiting; see ed_test_daemon_wait(). */
void
ed_test_daemon_send_signal (EdTestDaemon *self,
                            int           signum)
{
  g_assert_nonnull (self->process);

  if (self->process != NULL)
    g_subprocess_send_signal (self->process, signum);
}

/**
 * ed_test_daemon_wait:
 *
 * Waits for the daemon to exit, after a signal sent with
 * ed_test_daemon_send_signal(). A daemon that a signal killed, or one that
 * does not exit in time, fails the test.
 *
 * Returns: its exit status, or -1 when it did not exit normally
 */
int
ed_test_daemon_wait (EdTestDaemon *self)
{
  g_autoptr(GSubprocess) process = wait_for_exit (self);

  if (process == NULL)
    return -1;

  if (g_subprocess_get_if_signaled (process))
    {
      g_test_message ("eventdeskd was killed by signal %d", g_subprocess_get_term_sig (process));
      ed_test_daemon_dump_log (self);
    }
  g_assert_true (g_subprocess_get_if_exited (process));

  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
}

/* Sends SIGTERM and returns the exit status, as a service manager would see it. */
int
ed_test_daemon_stop (EdTestDaemon *self)
{
  ed_test_daemon_send_signal (self, SIGTERM);

  return ed_test_daemon_wait (self);
}

/* Kills the daemon with SIGKILL, like a crash or a power cut of the process. */
void
ed_test_daemon_kill (EdTestDaemon *self)
{
  g_autoptr(GSubprocess) process = NULL;

  ed_test_daemon_send_signal (self, SIGKILL);
  process = wait_for_exit (self);
  if (process == NULL)
    return;

  g_assert_true (g_subprocess_get_if_signaled (process));
  if (g_subprocess_get_if_signaled (process))
    g_assert_cmpint (g_subprocess_get_term_sig (process), ==, SIGKILL);
}

/* Starts the daemon again on the same data directory, stopping it first
 * (cleanly) if it still runs. Its URL changes: it gets a new port.
 */
void
ed_test_daemon_restart (EdTestDaemon *self)
{
  if (ed_test_daemon_is_running (self))
    g_assert_cmpint (ed_test_daemon_stop (self), ==, 0);

  ed_test_daemon_start (self);
}
