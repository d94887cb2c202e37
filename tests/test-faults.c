/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ed-test-daemon.h"
#include "ed-test-http.h"

/* The real daemon when things go wrong around it: clients that hold
 * connections open without finishing their requests, and HTTPS with a
 * certificate made here by openssl.
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
  gssize n;

  if (!g_socket_condition_timed_wait (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, G_USEC_PER_SEC, NULL, NULL))
    return FALSE;

  /* an error answer may come first */
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL)) > 0)
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

  ADD ("/faults/http/slow-clients", test_slow_clients);
  ADD ("/faults/http/idle-keep-alive", test_idle_keep_alive);
  ADD ("/faults/http/https", test_https);

#undef ADD

  return g_test_run ();
}
