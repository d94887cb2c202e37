/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ED_LEAK_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ED_LEAK_SANITIZER 1
#endif
#endif
#ifdef ED_LEAK_SANITIZER
#include <sanitizer/lsan_interface.h>
#endif

#include "ed-daemon-private.h"
#include "ed-data-dir.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-password.h"
#include "ed-time-util.h"
#include "ed-token.h"

enum {
  DRAINED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdDaemon, ed_daemon, G_TYPE_OBJECT)

#define PRUNE_INTERVAL_SECONDS 600
#define LISTEN_BACKLOG 1024

/* A request's body must arrive at this average rate or faster, once its
 * first client-timeout seconds are over: an upload over a slow line
 * passes, a client trickling a byte now and then (slowloris) does not.
 */
#define MIN_BODY_BYTES_PER_SECOND 1024

typedef enum
{
  PHASE_HEAD,  /* waiting for the request line and headers */
  PHASE_BODY,  /* reading the body */
  PHASE_DONE,  /* the request is in; no deadline */
} RequestPhase;

typedef struct
{
  EdDaemon          *daemon;
  SoupServerMessage *msg;        /* owns this state */
  gint64             started_us;
  gint64             headers_us;
  gsize              body_size;
  RequestPhase       phase;
  guint              deadline_id;
  gboolean           streaming; /* a streaming route takes the body, with its own limit */
  gboolean           counted;   /* its headers came: a request in flight until it ends */
  gboolean           ended;
} RequestState;

static gboolean check_streaming_request (EdRequest  *request,
                                         gpointer    user_data,
                                         GError    **error);

static void
maybe_drained (EdDaemon *self)
{
  if (self->shutting_down && self->in_flight == 0)
    g_signal_emit (self, signals[DRAINED], 0);
}

static void
reject_too_large (EdDaemon          *self,
                  SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  /* Keep reading (libsoup must) but drop what arrives. */
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Connection", "close");
  ed_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                       "The request body is larger than the %" G_GSIZE_FORMAT " bytes allowed",
                       self->config->max_body_size);
}

/* Deadlines for the whole request, not only for each read: the socket's
 * timeout cuts off a client silent for client-timeout seconds, but not one
 * that sends a byte every few seconds, which could hold a connection (and
 * a request's memory) for ever. The head must be in within client-timeout
 * seconds of the request's start (for a kept-alive connection, of the end
 * of its last request); the body within client-timeout seconds of the
 * head, plus a second for each MIN_BODY_BYTES_PER_SECOND received.
 */
static gint64
request_deadline_us (RequestState *state)
{
  gint64 timeout_us = (gint64) state->daemon->config->client_timeout * G_USEC_PER_SEC;

  if (state->phase == PHASE_HEAD)
    return state->started_us + timeout_us;

  return state->headers_us + timeout_us +
         (gint64) (state->body_size / MIN_BODY_BYTES_PER_SECOND) * G_USEC_PER_SEC;
}

static void arm_request_deadline (RequestState *state);

static gboolean
on_request_deadline_cb (gpointer user_data)
{
  RequestState *state = user_data;
  GSocket *socket;

  state->deadline_id = 0;
  if (state->daemon == NULL || state->phase == PHASE_DONE)
    return G_SOURCE_REMOVE;

  if (g_get_monotonic_time () < request_deadline_us (state))
    {
      /* more of the body came meanwhile */
      arm_request_deadline (state);
      return G_SOURCE_REMOVE;
    }

  /* Shut down, not closed: libsoup's next read finds the end, and it
   * closes the connection and ends the request as a client's hang-up.
   */
  socket = soup_server_message_get_socket (state->msg);
  if (state->phase == PHASE_HEAD)
    g_debug ("Closing a connection that sent no whole request head within %d s",
             state->daemon->config->client_timeout);
  else
    g_info ("%s %s: closing the connection, the body came slower than %d bytes/s "
            "(%" G_GSIZE_FORMAT " bytes in %.0f s)",
            soup_server_message_get_method (state->msg), ed_http_get_route (state->msg),
            MIN_BODY_BYTES_PER_SECOND, state->body_size,
            (g_get_monotonic_time () - state->headers_us) / (double) G_USEC_PER_SEC);
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);

  return G_SOURCE_REMOVE;
}

static void
arm_request_deadline (RequestState *state)
{
  gint64 wait_ms = (request_deadline_us (state) - g_get_monotonic_time ()) / 1000;

  g_clear_handle_id (&state->deadline_id, g_source_remove);
  state->deadline_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) CLAMP (wait_ms, 0, G_MAXUINT),
                                           on_request_deadline_cb, state, NULL);
}

static void
set_request_phase (RequestState *state,
                   RequestPhase  phase)
{
  state->phase = phase;
  if (phase == PHASE_DONE)
    g_clear_handle_id (&state->deadline_id, g_source_remove);
  else
    arm_request_deadline (state);
}

static void
on_msg_got_body_cb (SoupServerMessage *msg,
                    EdDaemon          *self)
{
  RequestState *state = g_object_get_data (G_OBJECT (msg), "ed-request-state");

  if (state != NULL)
    set_request_phase (state, PHASE_DONE);
}

static void
on_msg_got_headers_cb (SoupServerMessage *msg,
                       EdDaemon          *self)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  RequestState *state = g_object_get_data (G_OBJECT (msg), "ed-request-state");
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);
  gboolean has_body;

  /* "request-started" gave every request its state */
  g_return_if_fail (state != NULL);

  if (!state->counted)
    {
      state->counted = TRUE;
      self->in_flight++;
    }

  has_body = encoding == SOUP_ENCODING_CHUNKED ||
             (encoding == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length (headers) > 0);
  state->headers_us = g_get_monotonic_time ();
  set_request_phase (state, has_body ? PHASE_BODY : PHASE_DONE);

  if (soup_server_message_get_status (msg) != 0)
    return;

  if (self->shutting_down)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Connection", "close");
      ed_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "shutting_down",
                           "The server is shutting down; try again in a moment");
      return;
    }

  /* Uploads of any size go to their route as they arrive, never into
   * memory, whether the route takes them or has already answered.
   */
  if (ed_router_dispatch_headers (self->router, msg, check_streaming_request, self))
    {
      state->streaming = TRUE;
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      /* Refused before its body: a client that asked "Expect: 100-continue"
       * never sends it, and libsoup's then reads the answer to the end of
       * the connection.
       */
      if (soup_server_message_get_status (msg) != 0)
        soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                      "Connection", "close");
      return;
    }

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > (goffset) self->config->max_body_size)
    reject_too_large (self, msg);
}

static void
on_msg_got_chunk_cb (SoupServerMessage *msg,
                     GBytes            *chunk,
                     EdDaemon          *self)
{
  RequestState *state = g_object_get_data (G_OBJECT (msg), "ed-request-state");

  if (state == NULL)
    return;

  /* counted for the deadline whoever takes the body */
  state->body_size += g_bytes_get_size (chunk);
  if (state->streaming)
    return;

  if (state->body_size > self->config->max_body_size &&
      soup_server_message_get_status (msg) != SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE)
    reject_too_large (self, msg);
}

/* A request counts as in flight from its headers on: an idle keep-alive
 * connection or a client still sending its headers does not hold up a
 * shutdown. One that libsoup drops without "request-finished" or
 * "request-aborted" stops counting when its message goes.
 */
static void
request_state_free (RequestState *state)
{
  if (state->counted && !state->ended && state->daemon != NULL)
    {
      g_assert (state->daemon->in_flight > 0);
      state->daemon->in_flight--;
      maybe_drained (state->daemon);
    }
  g_clear_handle_id (&state->deadline_id, g_source_remove);
  g_clear_weak_pointer (&state->daemon);
  g_free (state);
}

static void
on_server_request_started_cb (SoupServer        *server,
                              SoupServerMessage *msg,
                              EdDaemon          *self)
{
  RequestState *state = g_new0 (RequestState, 1);
  GSocket *socket = soup_server_message_get_socket (msg);

  state->started_us = g_get_monotonic_time ();
  state->msg = msg;
  g_set_weak_pointer (&state->daemon, self);
  g_object_set_data_full (G_OBJECT (msg), "ed-request-state", state, (GDestroyNotify) request_state_free);
  set_request_phase (state, PHASE_HEAD);

  /* A client that stops sending or reading for this long is cut off:
   * libsoup's next read or write fails and it closes the connection. An
   * idle keep-alive connection goes the same way.
   */
  if (socket != NULL)
    g_socket_set_timeout (socket, self->config->client_timeout);

#ifdef ED_LEAK_SANITIZER
  /* libsoup 3.2's listener keeps a reference to each socket it accepts
   * and never drops it (listen_watch() in soup-listener.c; fixed in later
   * releases): not ours to free, so not ours to report. A suppression
   * file cannot single it out, as the sanitizer build's fast unwinding
   * stops in GLib, which has no frame pointers.
   */
  if (socket != NULL)
    __lsan_ignore_object (socket);
#endif

  g_signal_connect_object (msg, "got-headers", G_CALLBACK (on_msg_got_headers_cb), self, 0);
  g_signal_connect_object (msg, "got-chunk", G_CALLBACK (on_msg_got_chunk_cb), self, 0);
  g_signal_connect_object (msg, "got-body", G_CALLBACK (on_msg_got_body_cb), self, 0);
}

static void
request_ended (EdDaemon          *self,
               SoupServerMessage *msg,
               gboolean           aborted)
{
  RequestState *state = g_object_get_data (G_OBJECT (msg), "ed-request-state");
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *status = NULL;
  double ms = 0;

  if (state == NULL)
    return;

  ms = (g_get_monotonic_time () - state->started_us) / 1000.0;
  status = g_strdup_printf ("%u", soup_server_message_get_status (msg));

  /* The route pattern, never the path: paths can carry tokens. */
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "HTTP_METHOD", method ? method : "-",
                    "HTTP_ROUTE", ed_http_get_route (msg),
                    "HTTP_STATUS", status,
                    "MESSAGE", "%s %s %s%s %.1f ms",
                    method ? method : "-", ed_http_get_route (msg), status,
                    aborted ? " (aborted)" : "", ms);

  if (self->metrics != NULL)
    ed_metrics_count_request (self->metrics, method, ed_http_get_route (msg), soup_server_message_get_status (msg));

  state->ended = TRUE;
  /* the connection now waits idle for the next request: no timeout, or
   * libsoup would leave it half-open when it expired
   */
  if (soup_server_message_get_socket (msg) != NULL)
    g_socket_set_timeout (soup_server_message_get_socket (msg), 0);
  if (state->counted)
    {
      g_assert (self->in_flight > 0);
      self->in_flight--;
    }
  g_object_set_data (G_OBJECT (msg), "ed-request-state", NULL);
  maybe_drained (self);
}

static void
on_server_request_finished_cb (SoupServer        *server,
                               SoupServerMessage *msg,
                               EdDaemon          *self)
{
  request_ended (self, msg, FALSE);
}

static void
on_server_request_aborted_cb (SoupServer        *server,
                              SoupServerMessage *msg,
                              EdDaemon          *self)
{
  request_ended (self, msg, TRUE);
}

/* A WebSocket upgrade takes the connection away from libsoup, which then
 * reports no end of its request.
 */
void
ed_daemon_request_stolen (EdDaemon          *self,
                          SoupServerMessage *msg)
{
  request_ended (self, msg, FALSE);
}

/**
 * ed_daemon_verify_session:
 * @token: a session token
 *
 * Returns: when the session ends (Unix seconds), or 0 with @error set
 *   (%ED_ERROR_UNAUTHORIZED)
 */
gint64
ed_daemon_verify_session (EdDaemon    *self,
                          const char  *token,
                          GError     **error)
{
  g_autoptr(JsonObject) claims = NULL;
  const char *session_id;
  gint64 now = ed_time_now ();

  claims = ed_token_verify (self->secret, token, "session", now, error);
  if (claims == NULL)
    return 0;

  session_id = ed_token_get_string_claim (claims, "jti");
  if (session_id == NULL || ed_token_get_string_claim (claims, "sub") == NULL ||
      !ed_store_has_session (self->store, session_id, now, error))
    {
      g_clear_error (error);
      g_set_error_literal (error, ED_ERROR, ED_ERROR_UNAUTHORIZED,
                           "The session has ended; log in again");
      return 0;
    }

  return MAX (ed_token_get_int_claim (claims, "exp"), 1);
}

static gboolean
check_session (EdRequest  *request,
               gpointer    user_data,
               GError    **error)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) claims = NULL;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  const char *session_id;
  const char *username;
  gint64 now = ed_time_now ();

  if (authorization == NULL)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_UNAUTHORIZED,
                           "Log in first: send “Authorization: Bearer TOKEN” with a token "
                           "from POST /api/v1/session");
      return FALSE;
    }
  if (g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_UNAUTHORIZED,
                           "The Authorization header must be “Bearer TOKEN”");
      return FALSE;
    }

  claims = ed_token_verify (self->secret, authorization + 7, "session", now, error);
  if (claims == NULL)
    return FALSE;

  session_id = ed_token_get_string_claim (claims, "jti");
  username = ed_token_get_string_claim (claims, "sub");
  if (session_id == NULL || username == NULL ||
      !ed_store_has_session (self->store, session_id, now, error))
    {
      g_clear_error (error);
      g_set_error_literal (error, ED_ERROR, ED_ERROR_UNAUTHORIZED,
                           "The session has ended; log in again");
      return FALSE;
    }

  request->session_id = g_strdup (session_id);
  request->username = g_strdup (username);
  request->admin_id = ed_token_get_int_claim (claims, "aid");
  return TRUE;
}

gboolean
ed_daemon_origin_allowed (EdDaemon          *self,
                          SoupServerMessage *msg)
{
  const char *origin = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Origin");
  g_autoptr(GUri) public_uri = NULL;
  g_autoptr(GUri) origin_uri = NULL;

  if (origin == NULL)
    return TRUE;

  public_uri = g_uri_parse (self->public_url, G_URI_FLAGS_NONE, NULL);
  origin_uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  if (public_uri == NULL || origin_uri == NULL)
    return FALSE;

  return g_strcmp0 (g_uri_get_scheme (public_uri), g_uri_get_scheme (origin_uri)) == 0 &&
         g_strcmp0 (g_uri_get_host (public_uri), g_uri_get_host (origin_uri)) == 0 &&
         g_uri_get_port (public_uri) == g_uri_get_port (origin_uri);
}

/* Streaming routes are checked before their body is read, so that
 * server_cb()'s check of the Origin comes too late for them.
 */
static gboolean
check_streaming_request (EdRequest  *request,
                         gpointer    user_data,
                         GError    **error)
{
  EdDaemon *self = user_data;

  if (!ed_daemon_origin_allowed (self, request->msg))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_FORBIDDEN,
                           "Requests from pages of other sites are refused");
      return FALSE;
    }

  return check_session (request, user_data, error);
}

static void
server_cb (SoupServer        *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  EdDaemon *self = user_data;
  const char *method = soup_server_message_get_method (msg);

  /* Bearer tokens are never sent by a browser on its own, but a page of
   * another site has no business calling the API at all.
   */
  if (g_str_has_prefix (path, "/api/") &&
      strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0 &&
      !ed_daemon_origin_allowed (self, msg))
    {
      ed_http_set_route (msg, "/api (cross-origin)");
      ed_http_reply_error (msg, SOUP_STATUS_FORBIDDEN, "forbidden",
                           "Requests from pages of other sites are refused");
      return;
    }

  ed_router_dispatch (self->router, msg, query, check_session, self);
}

static void
handle_version (EdRequest *request,
                gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  ed_json_add_string (builder, "name", "eventdeskd");
  ed_json_add_string (builder, "version", PACKAGE_VERSION);
  ed_json_add_int (builder, "api_version", ED_API_VERSION);
  ed_json_add_int (builder, "schema_version", ed_store_get_schema_version (self->store));
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

static void
handle_healthz (EdRequest *request,
                gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;
  gboolean healthy = ed_store_check_health (self->store, &error);

  if (!healthy)
    g_warning ("Health check failed: %s", error->message);

  json_builder_begin_object (builder);
  ed_json_add_string (builder, "status", healthy ? "ok" : "error");
  ed_json_add_string (builder, "database", healthy ? "ok" : "unavailable");
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, healthy ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE, builder);
}

/* Another connection to the open database, for work that writes off the
 * main loop (answers, campaign actions, unsubscribes).
 */
EdStore *
ed_daemon_open_writer (EdDaemon  *self,
                       GError   **error)
{
  EdStore *writer;

  g_return_val_if_fail (ED_IS_DAEMON (self), NULL);

  writer = ed_store_open (ed_store_get_path (self->store), error);
  if (writer == NULL)
    g_prefix_error (error, "Cannot open a second connection to the database: ");

  return writer;
}

/* The mail-transport setting, or the embedded default: a Maildir in the
 * data directory. The mailer and the API's test sends use it.
 */
char *
ed_daemon_get_mail_transport_url (EdDaemon *self)
{
  g_return_val_if_fail (ED_IS_DAEMON (self), NULL);

  if (self->config->mail_transport != NULL)
    return g_strdup (self->config->mail_transport);

  return g_strconcat ("maildir:", self->config->data_dir, G_DIR_SEPARATOR_S "maildir", NULL);
}

/* The mailer sends from its own threads with its own connection; it is
 * started once the public URL for the links in the messages is known.
 */
static gboolean
start_mailer (EdDaemon  *self,
              GError   **error)
{
  g_autofree char *db_path = ed_config_get_db_path (self->config);
  g_autofree char *transport = ed_daemon_get_mail_transport_url (self);
  EdMailerOptions options = { 0 };

  options.db_path = db_path;
  options.transport = transport;
  options.password = self->config->mail_password;
  options.mail_from = self->config->mail_from;
  options.public_url = self->public_url;
  options.secret = self->secret;
  options.connections = (guint) self->config->mail_connections;
  options.rate = self->config->mail_rate;
  options.retry_delay = (guint) self->config->mail_retry_delay;
  options.retry_max_age = (guint) self->config->mail_retry_max_age;
  options.failure_threshold = self->config->mail_failure_threshold;
  options.timeout = (guint) self->config->mail_timeout;

  self->mailer = ed_mailer_new (&options);
  return ed_mailer_start (self->mailer, error);
}

/* Tells the mailer that messages were queued (a launch, a resume, an
 * answer that queued a confirmation); never blocks.
 */
void
ed_daemon_wake_mailer (EdDaemon *self)
{
  g_return_if_fail (ED_IS_DAEMON (self));

  if (self->mailer != NULL)
    ed_mailer_wake (self->mailer);
}

static gboolean
prune_sessions_cb (gpointer user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!ed_store_prune_sessions (self->store, ed_time_now (), &error))
    g_warning ("Cannot remove expired sessions: %s", error->message);

  return G_SOURCE_CONTINUE;
}

static void
ed_daemon_finalize (GObject *object)
{
  EdDaemon *self = (EdDaemon *)object;

  ed_daemon_stop (self);
  g_clear_pointer (&self->config, ed_config_free);
  g_clear_pointer (&self->router, ed_router_free);
  g_clear_pointer (&self->throttle, ed_login_throttle_free);
  g_clear_pointer (&self->metrics, ed_metrics_free);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->public_url, g_free);
  g_clear_pointer (&self->dummy_hash, g_free);

  G_OBJECT_CLASS (ed_daemon_parent_class)->finalize (object);
}

static void
ed_daemon_class_init (EdDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ed_daemon_finalize;

  /**
   * EdDaemon::drained:
   *
   * Emitted after ed_daemon_begin_shutdown() once no request is in flight.
   */
  signals[DRAINED] =
    g_signal_new ("drained", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
ed_daemon_init (EdDaemon *self)
{
  self->lock_fd = -1;
  self->router = ed_router_new ();
  self->throttle = ed_login_throttle_new ();
  self->metrics = ed_metrics_new ();
}

/**
 * ed_daemon_new:
 * @config: (transfer full): validated settings
 */
EdDaemon *
ed_daemon_new (EdConfig *config)
{
  EdDaemon *self;

  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (ED_TYPE_DAEMON, NULL);
  self->config = config;
  return self;
}

static gboolean
listen_on (EdDaemon  *self,
           GError   **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) local_address = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *host_text = NULL;
  GInetSocketAddress *inet_address;
  guint16 port;

  if (!ed_config_parse_listen (self->config->listen, &host, &port, error))
    return FALSE;

  address = g_inet_address_new_from_string (host);
  socket_address = g_inet_socket_address_new (address, port);

  /* Our own socket for a longer accept queue than libsoup's 10: a mailing
   * brings guests in bursts, and connections beyond the queue are reset.
   */
  socket = g_socket_new (g_socket_address_get_family (socket_address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &local_error);
  if (socket != NULL)
    g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (socket == NULL ||
      !g_socket_bind (socket, socket_address, TRUE, &local_error) ||
      !g_socket_listen (socket, &local_error) ||
      !soup_server_listen_socket (self->server, socket,
                                  self->config->tls_cert != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0,
                                  &local_error))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_BUSY, "Cannot listen on %s: %s",
                   self->config->listen, local_error->message);
      return FALSE;
    }

  /* The port the system chose for port 0, from the socket itself
   * (libsoup 3.2's soup_server_get_uris() leaks the address it reads).
   */
  local_address = g_socket_get_local_address (socket, &local_error);
  if (local_address == NULL || !G_IS_INET_SOCKET_ADDRESS (local_address))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_BUSY, "Cannot listen on %s: %s", self->config->listen,
                   local_error != NULL ? local_error->message : "not an internet address");
      return FALSE;
    }
  inet_address = G_INET_SOCKET_ADDRESS (local_address);
  host_text = g_inet_address_to_string (g_inet_socket_address_get_address (inet_address));
  /* "http://127.0.0.1:8460" or "https://[::1]:8460", without a slash */
  self->url = g_uri_join (G_URI_FLAGS_NONE, self->config->tls_cert != NULL ? "https" : "http", NULL,
                          host_text, g_inet_socket_address_get_port (inet_address), "", NULL, NULL);

  return TRUE;
}

/**
 * ed_daemon_start:
 * @self: a daemon
 * @error: return location for an error saying what stopped the start
 *
 * Prepares the data directory, takes its lock, opens and migrates the
 * database, loads the signing key and starts listening.
 */
gboolean
ed_daemon_start (EdDaemon  *self,
                 GError   **error)
{
  g_autofree char *lock_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *dummy_password = NULL;
  gint64 n_admins;

  g_return_val_if_fail (ED_IS_DAEMON (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  if (!ed_data_dir_prepare (self->config->data_dir, error))
    return FALSE;

  lock_path = ed_config_get_lock_path (self->config);
  self->lock_fd = ed_data_dir_lock (lock_path, self->config->data_dir, error);
  if (self->lock_fd < 0)
    return FALSE;

  secret_path = ed_config_get_secret_path (self->config);
  if (!(self->secret = ed_data_dir_load_secret (secret_path, error)))
    return FALSE;

  db_path = ed_config_get_db_path (self->config);
  if (!(self->store = ed_store_open (db_path, error)))
    return FALSE;
  if (!ed_store_prune_sessions (self->store, ed_time_now (), error))
    return FALSE;

  /* Unknown names are checked against this hash so that they cost the same
   * time as a wrong password.
   */
  dummy_password = g_uuid_string_random ();
  if (!(self->dummy_hash = ed_password_hash (dummy_password, error)))
    return FALSE;

  self->live = ed_live_hub_new (self->store);

  self->server = soup_server_new ("server-header", "eventdeskd/" PACKAGE_VERSION " ", NULL);
  if (self->config->tls_cert != NULL)
    {
      g_autoptr(GTlsCertificate) certificate = NULL;
      g_autoptr(GError) local_error = NULL;

      certificate = g_tls_certificate_new_from_files (self->config->tls_cert, self->config->tls_key,
                                                      &local_error);
      if (certificate == NULL)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "Cannot use the TLS certificate %s with the key %s: %s",
                       self->config->tls_cert, self->config->tls_key, local_error->message);
          return FALSE;
        }
      soup_server_set_tls_certificate (self->server, certificate);
    }
  g_signal_connect_object (self->server, "request-started",
                           G_CALLBACK (on_server_request_started_cb), self, 0);
  g_signal_connect_object (self->server, "request-finished",
                           G_CALLBACK (on_server_request_finished_cb), self, 0);
  g_signal_connect_object (self->server, "request-aborted",
                           G_CALLBACK (on_server_request_aborted_cb), self, 0);
  soup_server_add_handler (self->server, NULL, server_cb, self, NULL);

  ed_router_add (self->router, "GET", "/healthz", ED_ROUTE_PUBLIC, handle_healthz);
  ed_router_add (self->router, "GET", "/api/v1/version", ED_ROUTE_PUBLIC, handle_version);
  ed_daemon_add_session_routes (self);
  ed_daemon_add_event_routes (self);
  ed_daemon_add_guest_routes (self);
  ed_daemon_add_transfer_routes (self);
  if (!ed_daemon_add_rsvp_routes (self, error))
    return FALSE;
  if (!ed_daemon_add_campaign_routes (self, error))
    return FALSE;
  if (!ed_daemon_add_unsubscribe_routes (self, error))
    return FALSE;
  ed_daemon_add_live_routes (self);

  if (!listen_on (self, error))
    return FALSE;

  self->public_url = g_strdup (self->config->public_url ? self->config->public_url : self->url);
  if (g_str_has_suffix (self->public_url, "/"))
    self->public_url[strlen (self->public_url) - 1] = '\0';

  if (!start_mailer (self, error))
    return FALSE;
  ed_daemon_follow_mailer (self);

  self->prune_source = g_timeout_add_seconds (PRUNE_INTERVAL_SECONDS, prune_sessions_cb, self);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "ED_URL", self->url,
                    "ED_DATA_DIR", self->config->data_dir,
                    "MESSAGE", "eventdeskd %s listening on %s (data in %s)",
                    PACKAGE_VERSION, self->url, self->config->data_dir);

  n_admins = ed_store_count_admins (self->store, NULL);
  if (n_admins == 0)
    {
      g_autofree char *program = g_file_read_link ("/proc/self/exe", NULL);

      g_message ("There is no admin yet. Stop eventdeskd and create one with: "
                 "%s admin add NAME --data-dir %s",
                 program ? program : "eventdeskd", self->config->data_dir);
    }

  return TRUE;
}

/**
 * ed_daemon_begin_shutdown:
 * @self: a daemon
 *
 * Stops taking new requests (they get 503) and lets the ones in flight
 * finish; #EdDaemon::drained follows when none is left.
 */
void
ed_daemon_begin_shutdown (EdDaemon *self)
{
  g_return_if_fail (ED_IS_DAEMON (self));

  if (self->shutting_down)
    return;

  self->shutting_down = TRUE;
  g_message ("Shutting down; waiting for %u request(s) in flight", self->in_flight);
  maybe_drained (self);
}

/* Closes the server, the database and the lock. */
void
ed_daemon_stop (EdDaemon *self)
{
  g_return_if_fail (ED_IS_DAEMON (self));

  g_clear_handle_id (&self->prune_source, g_source_remove);

  /* Imports and the search indexer have connections of their own. */
  ed_daemon_stop_transfers (self);

  /* Lets the messages being sent finish and writes their results. */
  if (self->mailer != NULL)
    {
      ed_mailer_stop (self->mailer);
      g_clear_object (&self->mailer);
    }

  if (self->live != NULL)
    {
      ed_live_hub_close_all (self->live);
      g_clear_object (&self->live);
    }

  if (self->server != NULL)
    {
      soup_server_disconnect (self->server);
      g_clear_object (&self->server);
    }

  if (self->store != NULL)
    {
      ed_store_close (self->store);
      g_clear_object (&self->store);
    }

  g_clear_pointer (&self->secret, g_bytes_unref);

  if (self->lock_fd >= 0)
    {
      close (self->lock_fd);
      self->lock_fd = -1;
    }
}

const char *
ed_daemon_get_url (EdDaemon *self)
{
  g_return_val_if_fail (ED_IS_DAEMON (self), NULL);

  return self->url;
}

const char *
ed_daemon_get_public_url (EdDaemon *self)
{
  g_return_val_if_fail (ED_IS_DAEMON (self), NULL);

  return self->public_url;
}

EdStore *
ed_daemon_get_store (EdDaemon *self)
{
  g_return_val_if_fail (ED_IS_DAEMON (self), NULL);

  return self->store;
}
