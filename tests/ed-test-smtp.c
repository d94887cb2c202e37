/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ed-test-smtp.h"
#include "ed-test-util.h"

/* Limits that turn a server that does not come up into a failed test. */
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define START_ATTEMPTS 5

#define MAX_SERVERS 16

typedef enum
{
  SERVER_SMTP_SINK,
  SERVER_CAPTURE,
} ServerKind;

struct _EdTestSmtpServer
{
  ServerKind   kind;
  GSubprocess *process;
  char        *dir;
  char        *counters_path;
  guint16      port;
  guint        slot;
};

/* For the fatal-signal handler: a test that aborts on a failed assertion
 * never reaches its teardown. The kernel also kills the servers when the
 * test dies (PR_SET_PDEATHSIG).
 */
static volatile pid_t server_pids[MAX_SERVERS];

static void
on_fatal_signal (int signum)
{
  for (guint i = 0; i < MAX_SERVERS; i++)
    if (server_pids[i] > 0)
      kill (server_pids[i], SIGKILL);

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

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static const char *
get_program (const char *variable)
{
  const char *program = g_getenv (variable);

  if (program == NULL || *program == '\0')
    g_error ("%s must name a program (meson test sets it)", variable);

  return program;
}

static void
track_pid (EdTestSmtpServer *self)
{
  const char *identifier = g_subprocess_get_identifier (self->process);

  server_pids[self->slot] = identifier != NULL ? ed_test_parse_pid (identifier) : 0;
}

static EdTestSmtpServer *
server_new (ServerKind kind)
{
  g_autoptr(GError) error = NULL;
  EdTestSmtpServer *self = g_new0 (EdTestSmtpServer, 1);

  install_fatal_signal_handler ();

  self->kind = kind;
  self->dir = g_dir_make_tmp ("eventdesk-test-smtp-XXXXXX", &error);
  g_assert_no_error (error);

  for (self->slot = 0; self->slot < MAX_SERVERS; self->slot++)
    if (server_pids[self->slot] == 0)
      break;
  g_assert_cmpuint (self->slot, <, MAX_SERVERS);
  server_pids[self->slot] = -1;

  return self;
}

static void
on_wait_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits for the process to exit, for at most @timeout_ms. */
static gboolean
wait_for_exit (GSubprocess *process,
               guint        timeout_ms)
{
  gboolean done = FALSE, timed_out = FALSE;
  guint timeout_id;

  g_subprocess_wait_async (process, NULL, on_wait_cb, &done);
  timeout_id = g_timeout_add (timeout_ms, on_timeout_cb, &timed_out);
  while (!done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);

  if (!done)
    {
      g_subprocess_force_exit (process);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
      return FALSE;
    }

  return TRUE;
}

static guint16
pick_free_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Whether something listens on 127.0.0.1:@port, read from the kernel's
 * table rather than by connecting, which smtp-sink would count as a
 * session. The table has a row for every TCP socket of the machine,
 * thousands after a busy test run, and is read every few milliseconds
 * while a sink starts: one search for the row, not a split of every line
 * (which AddressSanitizer's string checks made quadratic: minutes a test).
 */
static gboolean
is_listening (guint16 port)
{
  g_autofree char *table = NULL;
  /* "sl: local remote state …": listening (state 0A) on 127.0.0.1:port,
   * so with no remote address */
  g_autofree char *row = g_strdup_printf (": 0100007F:%04X 00000000:0000 0A ", port);

  if (!g_file_get_contents ("/proc/net/tcp", &table, NULL, NULL))
    return FALSE;

  return strstr (table, row) != NULL;
}

/* Runs smtp-sink on @self's port; whether it listens there. */
static gboolean
spawn_sink (EdTestSmtpServer   *self,
            const char * const *options)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  gint64 deadline;
  gboolean exited = FALSE;

  g_ptr_array_add (argv, g_strdup (get_program ("SMTP_SINK")));
  g_ptr_array_add (argv, g_strdup ("-c"));
  /* it refuses to run as root without a user to switch to */
  if (geteuid () == 0)
    {
      g_ptr_array_add (argv, g_strdup ("-u"));
      g_ptr_array_add (argv, g_strdup ("nobody"));
    }
  for (guint i = 0; options != NULL && options[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (options[i]));
  g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", self->port));
  g_ptr_array_add (argv, g_strdup ("64"));
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_stdout_file_path (launcher, self->counters_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  track_pid (self);

  deadline = g_get_monotonic_time () + START_TIMEOUT_MS * 1000;
  while (!is_listening (self->port) && g_get_monotonic_time () < deadline)
    {
      g_usleep (G_USEC_PER_SEC / 200);
      if (kill (server_pids[self->slot], 0) != 0 || g_subprocess_get_identifier (self->process) == NULL)
        {
          exited = TRUE;
          break;
        }
    }

  if (!exited && is_listening (self->port))
    return TRUE;

  {
    g_autofree char *output = NULL;

    g_file_get_contents (self->counters_path, &output, NULL, NULL);
    g_test_message ("smtp-sink did not start on port %u: %s", self->port, output ? output : "");
  }
  g_subprocess_force_exit (self->process);
  wait_for_exit (self->process, STOP_TIMEOUT_MS);
  g_clear_object (&self->process);
  return FALSE;
}

/**
 * ed_test_smtp_sink_new:
 * @options: (nullable): smtp-sink options besides the counters, e.g.
 *   `{ "-r", "RCPT", NULL }` to answer RCPT with 450
 */
EdTestSmtpServer *
ed_test_smtp_sink_new (const char * const *options)
{
  EdTestSmtpServer *self = server_new (SERVER_SMTP_SINK);

  get_program ("SMTP_SINK");
  self->counters_path = g_build_filename (self->dir, "counters", NULL);

  /* the port is free when picked, and almost always still free a moment
   * later; when not, smtp-sink exits and another port is tried
   */
  for (guint attempt = 0; attempt < START_ATTEMPTS; attempt++)
    {
      self->port = pick_free_port ();
      if (spawn_sink (self, options))
        return self;
    }

  g_error ("smtp-sink did not start (see the messages above)");
  return NULL;
}

/**
 * ed_test_smtp_sink_restart:
 * @options: (nullable): the new smtp-sink options
 *
 * Stops the sink and starts it again on the same port with @options: a
 * mail server that refused everything and now takes the mail. Its
 * counters start again from 0.
 */
void
ed_test_smtp_sink_restart (EdTestSmtpServer   *self,
                           const char * const *options)
{
  g_assert (self->kind == SERVER_SMTP_SINK);

  g_subprocess_send_signal (self->process, SIGTERM);
  if (!wait_for_exit (self->process, STOP_TIMEOUT_MS))
    g_test_message ("smtp-sink did not stop on SIGTERM; killed");
  g_clear_object (&self->process);
  server_pids[self->slot] = -1;
  /* the new sink writes from the start of the file: none of the old
   * counters may be left after its own */
  g_unlink (self->counters_path);

  /* the port may be held for a moment after the old sink went */
  for (guint attempt = 0; attempt < START_ATTEMPTS; attempt++)
    {
      if (spawn_sink (self, options))
        return;
      g_usleep (G_USEC_PER_SEC / 5);
    }

  g_error ("smtp-sink did not start again on port %u", self->port);
}

/**
 * ed_test_capture_server_new:
 * @options: (nullable): options of smtp-capture-server.py, e.g.
 *   `{ "--reject-rcpt", "nobody@example.org", NULL }`
 */
EdTestSmtpServer *
ed_test_capture_server_new (const char * const *options)
{
  EdTestSmtpServer *self = server_new (SERVER_CAPTURE);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDataInputStream) output = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  guint64 port;

  g_ptr_array_add (argv, g_strdup (get_program ("PYTHON3")));
  g_ptr_array_add (argv, g_test_build_filename (G_TEST_DIST, "smtp-capture-server.py", NULL));
  g_ptr_array_add (argv, g_strdup (self->dir));
  for (guint i = 0; options != NULL && options[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (options[i]));
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  track_pid (self);

  /* it prints the port once it listens, or exits with its error */
  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  line = g_data_input_stream_read_line (output, NULL, NULL, &error);
  g_assert_no_error (error);
  if (line == NULL || !g_str_has_prefix (line, "PORT ") ||
      !g_ascii_string_to_unsigned (line + 5, 10, 1, 65535, &port, NULL))
    g_error ("the capture server did not start: “%s”", line ? line : "(no output)");

  self->port = (guint16) port;
  return self;
}

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

/**
 * ed_test_smtp_server_free:
 *
 * Stops the server by its pid (SIGTERM, then SIGKILL if it lingers) and
 * removes its folder.
 */
void
ed_test_smtp_server_free (EdTestSmtpServer *self)
{
  if (self == NULL)
    return;

  if (self->process != NULL)
    {
      g_subprocess_send_signal (self->process, SIGTERM);
      wait_for_exit (self->process, STOP_TIMEOUT_MS);
      g_clear_object (&self->process);
    }
  server_pids[self->slot] = 0;

  remove_tree (self->dir);
  g_free (self->dir);
  g_free (self->counters_path);
  g_free (self);
}

guint16
ed_test_smtp_server_get_port (EdTestSmtpServer *self)
{
  return self->port;
}

/* Returns "SCHEME://127.0.0.1:PORT?QUERY"; @scheme NULL for smtp. */
char *
ed_test_smtp_server_get_url (EdTestSmtpServer *self,
                             const char       *scheme,
                             const char       *query)
{
  return g_strdup_printf ("%s://127.0.0.1:%u%s%s", scheme ? scheme : "smtp", self->port,
                          query ? "?" : "", query ? query : "");
}

const char *
ed_test_smtp_server_get_dir (EdTestSmtpServer *self)
{
  return self->dir;
}

/**
 * ed_test_smtp_sink_get_counters:
 * @sessions: (out): sessions ended so far
 * @quits: (out): of which with QUIT
 * @messages: (out): messages received
 *
 * smtp-sink -c updates its counters when a session ends, a QUIT is
 * executed or a message's “.” is received.
 */
/* Reads @field, "@name<number>", into @value. */
static gboolean
read_counter (const char *field,
              const char *name,
              guint      *value)
{
  guint64 number;

  if (!g_str_has_prefix (field, name) ||
      !g_ascii_string_to_unsigned (field + strlen (name), 10, 0, G_MAXUINT, &number, NULL))
    return FALSE;

  *value = (guint) number;
  return TRUE;
}

gboolean
ed_test_smtp_sink_get_counters (EdTestSmtpServer *self,
                                guint            *sessions,
                                guint            *quits,
                                guint            *messages)
{
  g_autofree char *output = NULL;
  g_auto(GStrv) fields = NULL;
  const char *last;

  g_assert (self->kind == SERVER_SMTP_SINK);

  *sessions = *quits = *messages = 0;
  if (!g_file_get_contents (self->counters_path, &output, NULL, NULL))
    return FALSE;

  /* "sess=1 quit=1 mesg=3\r" repeated, newest last; the last may be
   * only half written yet
   */
  last = g_strrstr (output, "sess=");
  if (last == NULL)
    return TRUE;

  fields = g_strsplit_set (last, " \r\n", 4);
  return g_strv_length (fields) >= 3 &&
         read_counter (fields[0], "sess=", sessions) &&
         read_counter (fields[1], "quit=", quits) &&
         read_counter (fields[2], "mesg=", messages);
}

/* Waits until the counters are exactly these, for at most a few seconds;
 * the server updates them a moment after the client is done.
 */
gboolean
ed_test_smtp_sink_wait_for_counters (EdTestSmtpServer *self,
                                     guint             sessions,
                                     guint             quits,
                                     guint             messages)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_MS * 1000;
  guint s = 0, q = 0, m = 0;

  do
    {
      ed_test_smtp_sink_get_counters (self, &s, &q, &m);
      if (s == sessions && q == quits && m == messages)
        return TRUE;
      g_usleep (G_USEC_PER_SEC / 100);
    }
  while (g_get_monotonic_time () < deadline);

  g_test_message ("smtp-sink counters: sess=%u quit=%u mesg=%u, expected sess=%u quit=%u mesg=%u",
                  s, q, m, sessions, quits, messages);
  return FALSE;
}

guint
ed_test_capture_server_get_n_messages (EdTestSmtpServer *self)
{
  guint n = 0;

  g_assert (self->kind == SERVER_CAPTURE);

  for (;;)
    {
      g_autofree char *name = g_strdup_printf ("%u.eml", n + 1);
      g_autofree char *path = g_build_filename (self->dir, name, NULL);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return n;
      n++;
    }
}

/* Returns the path of the @n-th message (from 1). */
char *
ed_test_capture_server_get_path (EdTestSmtpServer *self,
                                 guint             n)
{
  g_autofree char *name = g_strdup_printf ("%u.eml", n);

  return g_build_filename (self->dir, name, NULL);
}

GBytes *
ed_test_capture_server_get_message (EdTestSmtpServer *self,
                                    guint             n)
{
  g_autofree char *path = ed_test_capture_server_get_path (self, n);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static JsonNode *
read_json (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* Returns the envelope of the @n-th message: mail_from, rcpt_to (array),
 * connection (number from 1), tls, auth_user, auth_password.
 */
JsonObject *
ed_test_capture_server_get_envelope (EdTestSmtpServer *self,
                                     guint             n)
{
  g_autofree char *name = g_strdup_printf ("%u.json", n);
  g_autofree char *path = g_build_filename (self->dir, name, NULL);
  g_autoptr(JsonNode) root = read_json (path);

  return json_object_ref (json_node_get_object (root));
}

/* Returns the connections so far: number, messages, quit, tls. */
JsonArray *
ed_test_capture_server_get_connections (EdTestSmtpServer *self)
{
  g_autofree char *path = g_build_filename (self->dir, "connections.json", NULL);
  g_autoptr(JsonNode) root = read_json (path);

  return json_array_ref (json_node_get_array (root));
}

static char *
run (const char * const *argv)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    g_error ("%s failed: %s", argv[0], err);

  return g_steal_pointer (&out);
}

/**
 * ed_test_make_certificate:
 * @dir: where to put the files
 * @key_path: (out): the private key
 *
 * Makes a self-signed certificate for 127.0.0.1 with openssl ($OPENSSL),
 * for a server to use and a client to trust as its CA.
 *
 * Returns: the certificate's path
 */
char *
ed_test_make_certificate (const char  *dir,
                          char       **key_path)
{
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  const char *argv[] = {
    get_program ("OPENSSL"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", NULL,
  };
  g_autofree char *out = run (argv);

  *key_path = g_steal_pointer (&key);
  return g_steal_pointer (&cert);
}

/* Returns what tests/mime-parse.py, Python's email package, makes of the
 * message in @eml_path.
 */
JsonObject *
ed_test_parse_with_python (const char *eml_path)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "mime-parse.py", NULL);
  const char *argv[] = { get_program ("PYTHON3"), script, eml_path, NULL };
  g_autofree char *out = run (argv);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Parses a message as a mail reader would; the test fails when it cannot. */
GMimeMessage *
ed_test_parse_with_gmime (GBytes *bytes)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, size);
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_object_unref (parser);
  g_object_unref (stream);
  g_assert_nonnull (message);
  return message;
}
