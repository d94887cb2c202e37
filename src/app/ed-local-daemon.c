/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-local"

#include "config.h"

#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "ed-local-daemon.h"

/* The private eventdeskd of "This computer": started with its data in the
 * user's data folder on a free loopback port, watched, and started again
 * with a growing delay when it dies.
 */

#define LISTENING_PREFIX "eventdeskd listening on "
#define START_TIMEOUT_S 20
#define STOP_TIMEOUT_MS 10000
#define MAX_BACKOFF_S 30
/* Running this long counts as a good start: the next death waits 1 s again. */
#define STABLE_AFTER_US (30 * G_USEC_PER_SEC)

struct _EdLocalDaemon
{
  GObject             parent_instance;

  /* owned */
  char               *program;
  char               *data_dir;
  char               *url;
  GSubprocess        *process;
  GDataInputStream   *stdout_stream;
  GCancellable       *watch_cancellable;

  EdLocalDaemonState  state;
  guint               port;
  guint               backoff_s;
  guint               restart_in;
  guint               restart_source;
  gint64              started_at;
};

enum {
  PROP_0,
  PROP_URL,
  PROP_STATE,
  PROP_RESTART_IN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdLocalDaemon, ed_local_daemon, G_TYPE_OBJECT)

static void start_process (EdLocalDaemon *self, GTask *task);

static void
set_state (EdLocalDaemon      *self,
           EdLocalDaemonState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_url (EdLocalDaemon *self,
         const char    *url)
{
  if (g_strcmp0 (self->url, url) == 0)
    return;

  g_free (self->url);
  self->url = g_strdup (url);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URL]);
}

static void
set_restart_in (EdLocalDaemon *self,
                guint          seconds)
{
  if (self->restart_in == seconds)
    return;

  self->restart_in = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTART_IN]);
}

/* The daemon stops when the app dies, however it dies. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocessLauncher *
new_launcher (EdLocalDaemon    *self,
              GSubprocessFlags  flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  return launcher;
}

static void
on_restart_tick_cb (gpointer user_data);

static gboolean
on_restart_timeout_cb (gpointer user_data)
{
  on_restart_tick_cb (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_restarted_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  EdLocalDaemon *self = ED_LOCAL_DAEMON (source);
  g_autoptr(GError) error = NULL;

  /* A failed start has already scheduled the next one. */
  if (!ed_local_daemon_start_finish (self, result, &error))
    g_message ("The local server did not start again: %s", error->message);
}

static void
on_restart_tick_cb (gpointer user_data)
{
  EdLocalDaemon *self = user_data;

  if (self->restart_in > 1)
    {
      set_restart_in (self, self->restart_in - 1);
      return;
    }

  g_clear_handle_id (&self->restart_source, g_source_remove);
  set_restart_in (self, 0);
  ed_local_daemon_start_async (self, NULL, on_restarted_cb, NULL);
}

static void
schedule_restart (EdLocalDaemon *self)
{
  if (g_get_monotonic_time () - self->started_at > STABLE_AFTER_US)
    self->backoff_s = 1;
  else
    self->backoff_s = CLAMP (self->backoff_s * 2, 1, MAX_BACKOFF_S);

  set_restart_in (self, self->backoff_s);
  set_state (self, ED_LOCAL_DAEMON_RESTARTING);
  g_clear_handle_id (&self->restart_source, g_source_remove);
  self->restart_source = g_timeout_add_seconds (1, on_restart_timeout_cb, self);
}

static void
on_process_exited_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(EdLocalDaemon) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    return; /* cancelled: we stopped it ourselves */

  if (G_SUBPROCESS (source) != self->process)
    return;

  g_message ("The local server (pid %s) exited unexpectedly; see %s/eventdeskd.log",
             g_subprocess_get_identifier (G_SUBPROCESS (source)) ?: "?", self->data_dir);
  g_clear_object (&self->process);
  g_clear_object (&self->stdout_stream);
  schedule_restart (self);
}

static void
on_listening_line_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdLocalDaemon *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GUri) uri = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  if (g_object_get_data (G_OBJECT (task), "timeout") != NULL)
    g_source_remove (GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (task), "timeout")));

  if (line == NULL || !g_str_has_prefix (line, LISTENING_PREFIX))
    {
      g_autofree char *log = g_build_filename (self->data_dir, "eventdeskd.log", NULL);

      if (self->process != NULL)
        g_subprocess_force_exit (self->process);
      g_clear_object (&self->process);
      g_clear_object (&self->stdout_stream);
      /* Maybe the port was taken meanwhile: any free one next time. */
      self->port = 0;

      /* A daemon that ran before is started again; a first start that
       * fails is the caller's to report.
       */
      if (self->started_at != 0)
        schedule_restart (self);
      else
        set_state (self, ED_LOCAL_DAEMON_STOPPED);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("The server on this computer did not start; its log is %s"), log);
      return;
    }

  uri = g_uri_parse (line + strlen (LISTENING_PREFIX), G_URI_FLAGS_NONE, NULL);
  if (uri != NULL && g_uri_get_port (uri) > 0)
    self->port = (guint) g_uri_get_port (uri);

  self->started_at = g_get_monotonic_time ();
  set_url (self, line + strlen (LISTENING_PREFIX));
  set_state (self, ED_LOCAL_DAEMON_RUNNING);

  g_clear_object (&self->watch_cancellable);
  self->watch_cancellable = g_cancellable_new ();
  g_subprocess_wait_async (self->process, self->watch_cancellable, on_process_exited_cb, g_object_ref (self));

  g_task_return_boolean (task, TRUE);
}

static gboolean
on_start_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  GCancellable *read_cancellable = g_object_get_data (G_OBJECT (task), "read-cancellable");

  g_object_set_data (G_OBJECT (task), "timeout", NULL);
  g_cancellable_cancel (read_cancellable);
  return G_SOURCE_REMOVE;
}

static void
start_process (EdLocalDaemon *self,
               GTask         *task)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) read_cancellable = g_cancellable_new ();
  g_autofree char *log_path = g_build_filename (self->data_dir, "eventdeskd.log", NULL);
  g_autofree char *maildir = g_build_filename (self->data_dir, "mail", NULL);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", self->port);
  g_autofree char *transport = g_strconcat ("maildir:", maildir, NULL);
  int log_fd;
  guint timeout;

  set_state (self, ED_LOCAL_DAEMON_STARTING);

  if (g_mkdir_with_parents (self->data_dir, 0700) != 0)
    {
      int saved_errno = errno;

      set_state (self, ED_LOCAL_DAEMON_STOPPED);
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               _("Cannot make the folder %s: %s"), self->data_dir, g_strerror (saved_errno));
      g_object_unref (task);
      return;
    }

  launcher = new_launcher (self, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  log_fd = g_open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd >= 0)
    g_subprocess_launcher_take_stderr_fd (launcher, log_fd);

  self->process = g_subprocess_launcher_spawn (launcher, &error, self->program,
                                               "--listen", listen,
                                               "--data-dir", self->data_dir,
                                               "--mail-transport", transport,
                                               NULL);
  if (self->process == NULL)
    {
      set_state (self, ED_LOCAL_DAEMON_STOPPED);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("Cannot run the server program %s: %s"), self->program, error->message);
      g_object_unref (task);
      return;
    }

  self->stdout_stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  g_object_set_data_full (G_OBJECT (task), "read-cancellable", g_object_ref (read_cancellable), g_object_unref);
  timeout = g_timeout_add_seconds (START_TIMEOUT_S, on_start_timeout_cb, task);
  g_object_set_data (G_OBJECT (task), "timeout", GUINT_TO_POINTER (timeout));
  g_data_input_stream_read_line_async (self->stdout_stream, G_PRIORITY_DEFAULT, read_cancellable,
                                       on_listening_line_cb, task);
}

/* Admin accounts */

typedef struct
{
  char *username;
  char *input;
  gboolean tried_passwd;
} AdminData;

static void
admin_data_free (gpointer data)
{
  AdminData *admin = data;

  g_free (admin->username);
  if (admin->input != NULL)
    explicit_bzero (admin->input, strlen (admin->input));
  g_free (admin->input);
  g_free (admin);
}

static void run_admin_command (GTask *task, const char *command);

static void
on_admin_command_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AdminData *admin = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, NULL, &err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (g_subprocess_get_if_exited (G_SUBPROCESS (source)) &&
      g_subprocess_get_exit_status (G_SUBPROCESS (source)) == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* "add" fails when the admin exists from an earlier run whose password
   * the keyring lost: set the new one instead.
   */
  if (!admin->tried_passwd)
    {
      admin->tried_passwd = TRUE;
      run_admin_command (g_steal_pointer (&task), "passwd");
      return;
    }

  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                           _("Cannot set up the account of the server on this computer: %s"),
                           err ? g_strstrip (err) : "");
}

static void
run_admin_command (GTask      *task,
                   const char *command)
{
  EdLocalDaemon *self = g_task_get_source_object (task);
  AdminData *admin = g_task_get_task_data (task);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  launcher = new_launcher (self, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = g_subprocess_launcher_spawn (launcher, &error, self->program, "admin", command, admin->username,
                                         "--password-stdin", "--data-dir", self->data_dir, NULL);
  if (process == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("Cannot run the server program %s: %s"), self->program, error->message);
      g_object_unref (task);
      return;
    }

  g_subprocess_communicate_utf8_async (process, admin->input, g_task_get_cancellable (task),
                                       on_admin_command_cb, task);
}

static void
ed_local_daemon_dispose (GObject *object)
{
  EdLocalDaemon *self = ED_LOCAL_DAEMON (object);

  ed_local_daemon_stop (self);

  G_OBJECT_CLASS (ed_local_daemon_parent_class)->dispose (object);
}

static void
ed_local_daemon_finalize (GObject *object)
{
  EdLocalDaemon *self = ED_LOCAL_DAEMON (object);

  g_free (self->program);
  g_free (self->data_dir);
  g_free (self->url);

  G_OBJECT_CLASS (ed_local_daemon_parent_class)->finalize (object);
}

static void
ed_local_daemon_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  EdLocalDaemon *self = ED_LOCAL_DAEMON (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_RESTART_IN:
      g_value_set_uint (value, self->restart_in);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_local_daemon_class_init (EdLocalDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ed_local_daemon_dispose;
  object_class->finalize = ed_local_daemon_finalize;
  object_class->get_property = ed_local_daemon_get_property;

  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, ED_LOCAL_DAEMON_STOPPED, ED_LOCAL_DAEMON_RESTARTING,
                      ED_LOCAL_DAEMON_STOPPED, (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_RESTART_IN] =
    g_param_spec_uint ("restart-in", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ed_local_daemon_init (EdLocalDaemon *self)
{
  self->backoff_s = 1;
}

/* Where the eventdeskd of this build or installation is: $EVENTDESKD,
 * beside the app in a build tree, on $PATH, or in sbindir.
 */
char *
ed_local_daemon_find_program (void)
{
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  const char *env = g_getenv ("EVENTDESKD");
  char *found;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  if (self_path != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self_path);
      g_autofree char *in_build = g_build_filename (dir, "..", "server", "eventdeskd", NULL);

      if (g_file_test (in_build, G_FILE_TEST_IS_EXECUTABLE))
        return g_canonicalize_filename (in_build, NULL);
    }

  if ((found = g_find_program_in_path ("eventdeskd")) != NULL)
    return found;

  return g_build_filename (SBINDIR, "eventdeskd", NULL);
}

char *
ed_local_daemon_default_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "eventdesk", NULL);
}

EdLocalDaemon *
ed_local_daemon_new (const char *program,
                     const char *data_dir)
{
  EdLocalDaemon *self;

  g_return_val_if_fail (program != NULL, NULL);
  g_return_val_if_fail (data_dir != NULL, NULL);

  self = g_object_new (ED_TYPE_LOCAL_DAEMON, NULL);
  self->program = g_strdup (program);
  self->data_dir = g_strdup (data_dir);

  return self;
}

const char *
ed_local_daemon_get_data_dir (EdLocalDaemon *self)
{
  g_return_val_if_fail (ED_IS_LOCAL_DAEMON (self), NULL);

  return self->data_dir;
}

/* The daemon's address while it runs, e.g. "http://127.0.0.1:41234". */
const char *
ed_local_daemon_get_url (EdLocalDaemon *self)
{
  g_return_val_if_fail (ED_IS_LOCAL_DAEMON (self), NULL);

  return self->url;
}

EdLocalDaemonState
ed_local_daemon_get_state (EdLocalDaemon *self)
{
  g_return_val_if_fail (ED_IS_LOCAL_DAEMON (self), ED_LOCAL_DAEMON_STOPPED);

  return self->state;
}

/* Seconds until the next start after the daemon died. */
guint
ed_local_daemon_get_restart_in (EdLocalDaemon *self)
{
  g_return_val_if_fail (ED_IS_LOCAL_DAEMON (self), 0);

  return self->restart_in;
}

const char *
ed_local_daemon_get_pid (EdLocalDaemon *self)
{
  g_return_val_if_fail (ED_IS_LOCAL_DAEMON (self), NULL);

  return self->process ? g_subprocess_get_identifier (self->process) : NULL;
}

/**
 * ed_local_daemon_set_admin_async:
 *
 * Adds the admin @username with @password to the daemon's database, or
 * sets the password if the admin exists. Only while the daemon is stopped:
 * eventdeskd admin works on the database directly.
 */
void
ed_local_daemon_set_admin_async (EdLocalDaemon       *self,
                                 const char          *username,
                                 const char          *password,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;
  AdminData *admin;

  g_return_if_fail (ED_IS_LOCAL_DAEMON (self));
  g_return_if_fail (self->process == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_local_daemon_set_admin_async);
  admin = g_new0 (AdminData, 1);
  admin->username = g_strdup (username);
  admin->input = g_strconcat (password, "\n", NULL);
  g_task_set_task_data (task, admin, admin_data_free);

  if (g_mkdir_with_parents (self->data_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               _("Cannot make the folder %s: %s"), self->data_dir, g_strerror (saved_errno));
      g_object_unref (task);
      return;
    }

  run_admin_command (task, "add");
}

gboolean
ed_local_daemon_set_admin_finish (EdLocalDaemon  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Starts the daemon unless it runs; done once it says where it listens. */
void
ed_local_daemon_start_async (EdLocalDaemon       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (ED_IS_LOCAL_DAEMON (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_local_daemon_start_async);

  if (self->state == ED_LOCAL_DAEMON_RUNNING)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  g_clear_handle_id (&self->restart_source, g_source_remove);
  set_restart_in (self, 0);
  start_process (self, task);
}

gboolean
ed_local_daemon_start_finish (EdLocalDaemon  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_stop_wait_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
on_stop_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * ed_local_daemon_stop:
 *
 * Stops the daemon cleanly (SIGTERM; it finishes the requests in flight)
 * and waits for it, killing it after 10 s. Used when the app quits, so it
 * blocks; the daemon usually exits in milliseconds.
 */
void
ed_local_daemon_stop (EdLocalDaemon *self)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GMainContext) context = NULL;
  gboolean done = FALSE, timed_out = FALSE;
  GSource *timeout;

  g_return_if_fail (ED_IS_LOCAL_DAEMON (self));

  g_clear_handle_id (&self->restart_source, g_source_remove);
  if (self->watch_cancellable != NULL)
    g_cancellable_cancel (self->watch_cancellable);
  g_clear_object (&self->watch_cancellable);

  process = g_steal_pointer (&self->process);
  g_clear_object (&self->stdout_stream);
  set_restart_in (self, 0);
  set_state (self, ED_LOCAL_DAEMON_STOPPED);
  if (process == NULL)
    return;

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, on_stop_wait_cb, &done);
  timeout = g_timeout_source_new (STOP_TIMEOUT_MS);
  g_source_set_callback (timeout, on_stop_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!done && !timed_out)
    g_main_context_iteration (context, TRUE);
  if (!done)
    {
      g_warning ("The local server did not stop within %d ms; killing it", STOP_TIMEOUT_MS);
      g_subprocess_force_exit (process);
      while (!done)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_pop_thread_default (context);
}
