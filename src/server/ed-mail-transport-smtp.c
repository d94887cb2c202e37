/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ed-error.h"
#include "ed-mail-transport-private.h"

/* SMTP with libcurl. libcurl sets each connection up: it connects,
 * reads the greeting, says EHLO, starts TLS, authenticates (CONNECT_ONLY,
 * driven through a multi handle of the transport's own so that one thread
 * can keep several connections busy). The mail transactions over the
 * connection are the transport's own, written and read through
 * curl_easy_send() and curl_easy_recv(), TLS or not:
 *
 *  - libcurl's own SMTP transfer sends one command per round trip and
 *    sets a whole transfer up for every message, which cost most of the
 *    sender's time; with PIPELINING (RFC 2920) offered, MAIL, RCPT and
 *    DATA go in one write, the message and its end in another;
 *  - every reply is matched with the command it answers, in the order
 *    they were sent, so a failure is told by its stage (a 5xx to RCPT is
 *    the recipient's fault, one to MAIL FROM the sender's);
 *  - a failure before the message ends the session with QUIT, once what
 *    was pipelined is answered; a refused message leaves it as it was.
 *
 * While a connection is set up, libcurl is verbose and its debug callback
 * says which command a reply answers; the replies come through the header
 * callback, which also notes what EHLO offers. Nothing from either
 * callback is logged, so an AUTH line never leaves them.
 */

static const char * const starttls_names[] = {
  [ED_STARTTLS_AUTO] = "auto",
  [ED_STARTTLS_REQUIRED] = "required",
  [ED_STARTTLS_OFF] = "off",
};

static const char * const stage_names[] = {
  [ED_SMTP_STAGE_GREETING] = "the greeting",
  [ED_SMTP_STAGE_HELLO] = "EHLO",
  [ED_SMTP_STAGE_STARTTLS] = "STARTTLS",
  [ED_SMTP_STAGE_AUTH] = "AUTH",
  [ED_SMTP_STAGE_MAIL] = "MAIL FROM",
  [ED_SMTP_STAGE_RCPT] = "RCPT TO",
  [ED_SMTP_STAGE_DATA] = "DATA",
  [ED_SMTP_STAGE_MESSAGE] = "the message",
  [ED_SMTP_STAGE_QUIT] = "QUIT",
  [ED_SMTP_STAGE_OTHER] = "a command",
};

static void
ensure_curl (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&initialized, 1);
    }
}

static gboolean
is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;

  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

static gboolean
parse_params (EdMailTransport  *self,
              GUri             *uri,
              char            **helo,
              GError          **error)
{
  g_autoptr(GHashTable) params = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *query = g_uri_get_query (uri);
  GHashTableIter iter;
  const char *key, *value;

  if (query == NULL || *query == '\0')
    return TRUE;

  params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, &local_error);
  if (params == NULL)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-transport has a bad query: %s", local_error->message);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, params);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &value))
    {
      if (strcmp (key, "starttls") == 0)
        {
          guint i;

          for (i = 0; i < G_N_ELEMENTS (starttls_names); i++)
            if (strcmp (value, starttls_names[i]) == 0)
              break;
          if (i == G_N_ELEMENTS (starttls_names))
            {
              g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                           "mail-transport: starttls must be auto, required or off, not “%s”", value);
              return FALSE;
            }
          if (self->implicit_tls)
            {
              g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                                   "mail-transport: starttls does not apply to smtps://, which uses TLS from the start");
              return FALSE;
            }
          self->starttls = i;
        }
      else if (strcmp (key, "helo") == 0)
        {
          if (*value == '\0' || strpbrk (value, " /?#\r\n") != NULL)
            {
              g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                           "mail-transport: helo “%s” is not a host name", value);
              return FALSE;
            }
          g_free (*helo);
          *helo = g_strdup (value);
        }
      else if (strcmp (key, "ca-file") == 0)
        {
          if (!g_file_test (value, G_FILE_TEST_IS_REGULAR))
            {
              g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                           "mail-transport: ca-file “%s” is not a file", value);
              return FALSE;
            }
          g_free (self->ca_file);
          self->ca_file = g_strdup (value);
        }
      else if (strcmp (key, "max-messages") == 0)
        {
          guint64 number;

          if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT, &number, NULL))
            {
              g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                           "mail-transport: max-messages must be a whole number, not “%s”", value);
              return FALSE;
            }
          self->max_messages = (guint) number;
        }
      else
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "mail-transport: unknown parameter “%s”; known ones are starttls, helo, ca-file and max-messages",
                       key);
          return FALSE;
        }
    }

  return TRUE;
}

gboolean
ed_mail_transport_smtp_init (EdMailTransport  *self,
                             GUri             *uri,
                             const char       *config_password,
                             GError          **error)
{
  g_autofree char *helo = NULL;
  g_autofree char *path = NULL;
  const char *host = g_uri_get_host (uri);
  const char *user = g_uri_get_user (uri);
  const char *password;
  GString *description;

  ensure_curl ();

  self->implicit_tls = strcmp (g_uri_get_scheme (uri), "smtps") == 0;
  self->starttls = ED_STARTTLS_AUTO;

  if (host == NULL || *host == '\0')
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                           "mail-transport names no server: write smtp://HOST:PORT");
      return FALSE;
    }
  if (*g_uri_get_path (uri) != '\0' && strcmp (g_uri_get_path (uri), "/") != 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-transport: an SMTP URL has no path (“%s”); the EHLO name is set with ?helo=NAME",
                   g_uri_get_path (uri));
      return FALSE;
    }

  if (!parse_params (self, uri, &helo, error))
    return FALSE;

  password = config_password != NULL && *config_password != '\0'
    ? config_password : g_getenv (ED_MAIL_TRANSPORT_PASSWORD_ENV);

  if (user != NULL && *user != '\0')
    {
      self->username = g_strdup (user);
      self->password = g_strdup (password != NULL ? password : "");
      /* a password never crosses the network in clear, except to this
       * machine when asked for explicitly
       */
      if (!self->implicit_tls && self->starttls == ED_STARTTLS_AUTO)
        self->starttls = ED_STARTTLS_REQUIRED;
      if (!self->implicit_tls && self->starttls == ED_STARTTLS_OFF && !is_loopback (host))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "mail-transport: with a user, starttls=off is only allowed to this machine, not to “%s”; "
                       "use STARTTLS or smtps://", host);
          return FALSE;
        }
    }
  else if (config_password != NULL && *config_password != '\0')
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                           "mail-password is set but mail-transport names no user: write smtp://USER@HOST");
      return FALSE;
    }

  if (helo == NULL)
    helo = g_strdup (g_get_host_name ());
  path = g_strconcat ("/", helo, NULL);
  self->curl_url = g_uri_join (G_URI_FLAGS_NONE, self->implicit_tls ? "smtps" : "smtp", NULL,
                               host, g_uri_get_port (uri), path, NULL, NULL);

  description = g_string_new (NULL);
  g_string_append_printf (description, "%s://%s", self->implicit_tls ? "smtps" : "smtp",
                          strchr (host, ':') != NULL ? "[" : "");
  g_string_append (description, host);
  if (strchr (host, ':') != NULL)
    g_string_append_c (description, ']');
  if (g_uri_get_port (uri) > 0)
    g_string_append_printf (description, ":%d", g_uri_get_port (uri));
  if (!self->implicit_tls)
    g_string_append_printf (description, " (STARTTLS %s)",
                            self->starttls == ED_STARTTLS_REQUIRED ? "required" :
                            self->starttls == ED_STARTTLS_OFF ? "off" : "when offered");
  if (self->username != NULL)
    g_string_append_printf (description, " as %s", self->username);
  self->description = g_string_free (description, FALSE);

  return TRUE;
}

static EdSmtpStage
stage_of_command (const char *data,
                  gsize       size)
{
  static const struct
  {
    const char  *verb;
    EdSmtpStage  stage;
  } verbs[] = {
    { "EHLO", ED_SMTP_STAGE_HELLO },
    { "HELO", ED_SMTP_STAGE_HELLO },
    { "STARTTLS", ED_SMTP_STAGE_STARTTLS },
    { "AUTH", ED_SMTP_STAGE_AUTH },
    { "QUIT", ED_SMTP_STAGE_QUIT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      gsize len = strlen (verbs[i].verb);

      if (size >= len && g_ascii_strncasecmp (data, verbs[i].verb, len) == 0 &&
          (size == len || data[len] == ' ' || data[len] == '\r' || data[len] == '\n'))
        return verbs[i].stage;
    }

  return ED_SMTP_STAGE_OTHER;
}

/* An EHLO line naming an extension the transactions use. */
static void
take_extension (EdMailTransport *self,
                const char      *data,
                gsize            size)
{
  g_autofree char *keyword = NULL;
  const char *end;

  if (size <= 4)
    return;
  end = memchr (data + 4, ' ', size - 4);
  keyword = g_strndup (data + 4, (end != NULL ? (gsize) (end - data) : size) - 4);

  if (g_ascii_strcasecmp (keyword, "PIPELINING") == 0)
    self->pipelining = TRUE;
  else if (g_ascii_strcasecmp (keyword, "SMTPUTF8") == 0)
    self->smtputf8 = TRUE;
  else if (g_ascii_strcasecmp (keyword, "SIZE") == 0)
    self->size_offered = TRUE;
}

/* One line of a reply while libcurl sets the connection up. */
static void
take_setup_line (EdMailTransport *self,
                 const char      *data,
                 gsize            size)
{
  while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
    size--;
  if (self->quitting)
    return;

  /* the first line of EHLO's reply is the server's name */
  if (self->stage == ED_SMTP_STAGE_HELLO && self->partial.code == 250)
    take_extension (self, data, size);
  if (!ed_smtp_reply_add_line (&self->partial, data, size))
    return;

  self->partial.stage = self->stage;
  if (self->partial.code >= 400 && self->first_failure.code == 0)
    ed_smtp_reply_copy (&self->first_failure, &self->partial);
  ed_smtp_reply_reset (&self->partial);
}

static size_t
on_curl_header_cb (char   *data,
                   size_t  size,
                   size_t  n_items,
                   void   *user_data)
{
  take_setup_line (user_data, data, size * n_items);
  return size * n_items;
}

/* While a connection is set up, libcurl is verbose, and its debug
 * callback says which command a reply answers (EHLO, STARTTLS, AUTH…).
 * Nothing from it is logged: the commands are only matched by their verb,
 * so an AUTH line never leaves it.
 */
static int
on_curl_debug_cb (CURL          *handle,
                  curl_infotype  type,
                  char          *data,
                  size_t         size,
                  void          *user_data)
{
  EdMailTransport *self = user_data;

  if (type == CURLINFO_HEADER_OUT)
    {
      EdSmtpStage stage = stage_of_command (data, size);

      /* libcurl says QUIT when it gives up on a connection: the stage
       * stays the one that failed, and the reply to QUIT is not taken
       */
      if (stage == ED_SMTP_STAGE_QUIT)
        self->quitting = TRUE;
      /* a line during AUTH that is no command is a SASL response */
      else if (stage != ED_SMTP_STAGE_OTHER || self->stage != ED_SMTP_STAGE_AUTH)
        self->stage = stage;

      /* a new EHLO (after STARTTLS) replaces what the last one offered */
      if (stage == ED_SMTP_STAGE_HELLO)
        self->pipelining = self->smtputf8 = self->size_offered = FALSE;
    }

  return 0;
}

static CURL *
new_handle (EdMailTransport *self)
{
  CURL *curl = curl_easy_init ();

  if (curl == NULL)
    return NULL;

  curl_easy_setopt (curl, CURLOPT_URL, self->curl_url);
  curl_easy_setopt (curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, self->curl_error);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_curl_header_cb);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, self);
  curl_easy_setopt (curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt (curl, CURLOPT_DEBUGFUNCTION, on_curl_debug_cb);
  curl_easy_setopt (curl, CURLOPT_DEBUGDATA, self);
  curl_easy_setopt (curl, CURLOPT_TCP_KEEPALIVE, 1L);

  if (!self->implicit_tls)
    curl_easy_setopt (curl, CURLOPT_USE_SSL,
                      self->starttls == ED_STARTTLS_REQUIRED ? (long) CURLUSESSL_ALL :
                      self->starttls == ED_STARTTLS_OFF ? (long) CURLUSESSL_NONE : (long) CURLUSESSL_TRY);
  if (self->ca_file != NULL)
    curl_easy_setopt (curl, CURLOPT_CAINFO, self->ca_file);

  if (self->username != NULL)
    {
      curl_easy_setopt (curl, CURLOPT_USERNAME, self->username);
      curl_easy_setopt (curl, CURLOPT_PASSWORD, self->password);
    }

  return curl;
}

/* The multi handle's view of the connection being set up: which socket
 * to watch for what, and when to call it back.
 */
typedef struct
{
  curl_socket_t fd;
  int           what;
} SmtpSocket;

static int
on_multi_socket_cb (CURL          *easy,
                    curl_socket_t  fd,
                    int            what,
                    void          *user_data,
                    void          *socket_data)
{
  EdMailTransport *self = user_data;
  guint i;

  for (i = 0; i < self->sockets->len; i++)
    if (g_array_index (self->sockets, SmtpSocket, i).fd == fd)
      break;

  if (what == CURL_POLL_REMOVE)
    {
      if (i < self->sockets->len)
        g_array_remove_index_fast (self->sockets, i);
    }
  else if (i < self->sockets->len)
    g_array_index (self->sockets, SmtpSocket, i).what = what;
  else
    g_array_append_val (self->sockets, ((SmtpSocket) { fd, what }));

  return 0;
}

static int
on_multi_timer_cb (CURLM *multi,
                   long   timeout_ms,
                   void  *user_data)
{
  EdMailTransport *self = user_data;

  self->timer_us = timeout_ms < 0 ? -1 : g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  return 0;
}

static CURLM *
new_multi (EdMailTransport *self)
{
  CURLM *multi = curl_multi_init ();

  if (multi == NULL)
    return NULL;

  self->timer_us = -1;
  curl_multi_setopt (multi, CURLMOPT_SOCKETFUNCTION, on_multi_socket_cb);
  curl_multi_setopt (multi, CURLMOPT_SOCKETDATA, self);
  curl_multi_setopt (multi, CURLMOPT_TIMERFUNCTION, on_multi_timer_cb);
  curl_multi_setopt (multi, CURLMOPT_TIMERDATA, self);

  return multi;
}

/* Closes the connection at once, without QUIT: taking a CONNECT_ONLY
 * handle out of its multi closes its connection.
 */
static void
drop_connection (EdMailTransport *self)
{
  if (self->in_multi)
    {
      curl_multi_remove_handle (self->multi, self->curl);
      self->in_multi = FALSE;
    }
  self->connecting = FALSE;
  self->connected = FALSE;
  self->fd = CURL_SOCKET_BAD;
  self->messages_on_connection = 0;
  self->n_pending = 0;
  self->quit_sent = FALSE;
  self->timer_us = -1;
  if (self->sockets != NULL)
    g_array_set_size (self->sockets, 0);
  if (self->out != NULL)
    g_string_truncate (self->out, 0);
  self->out_offset = 0;
  if (self->reader.buffer != NULL)
    ed_smtp_reply_reader_reset (&self->reader);
}

/* Forgets the message under way. */
static void
end_message (EdMailTransport *self)
{
  g_clear_pointer (&self->message, g_bytes_unref);
  g_clear_pointer (&self->envelope_from, g_free);
  g_clear_pointer (&self->envelope_to, g_free);
  self->result = NULL;
  self->busy = FALSE;
}

static void
set_result (EdMailTransport  *self,
            EdMailResultKind  kind,
            guint             code,
            char             *text)
{
  g_assert (!self->result_set);

  self->result->kind = kind;
  self->result->code = code;
  self->result->text = text;
  self->result_set = TRUE;
}

static void
set_result_from_reply (EdMailTransport *self,
                       guint            code,
                       const char      *text,
                       EdSmtpStage      stage)
{
  EdMailResultKind kind = ed_mail_classify_reply (code, stage);

  if (kind == ED_MAIL_RESULT_SENT)
    set_result (self, kind, code, g_strdup (text));
  else
    set_result (self, kind, code, g_strdup_printf ("%s (in reply to %s)", text, stage_names[stage]));
}

/* The connection could not be set up: the reply that refused it, or what
 * libcurl knows of the fault.
 */
static void
set_result_from_setup (EdMailTransport *self,
                       CURLcode         code)
{
  const EdSmtpReply *failure = &self->first_failure;
  const char *lost = "";
  long response_code = 0;

  if (failure->code != 0)
    {
      EdMailResultKind kind = ed_mail_classify_reply (failure->code, failure->stage);

      /* libcurl gave up at a reply that did not fail (HELO after EHLO…) */
      if (kind == ED_MAIL_RESULT_SENT)
        kind = ED_MAIL_RESULT_TEMPORARY;
      set_result (self, kind, failure->code,
                  g_strdup_printf ("%s (in reply to %s)", failure->text->str, stage_names[failure->stage]));
      return;
    }

  /* unless libcurl saw a reply the callback did not */
  curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &response_code);
  if (response_code >= 400 && response_code < 600)
    {
      set_result (self, ed_mail_classify_reply ((guint) response_code, self->stage), (guint) response_code,
                  g_strdup_printf ("%s (in reply to %s)",
                                   self->curl_error[0] != '\0' ? self->curl_error : curl_easy_strerror (code),
                                   stage_names[self->stage]));
      return;
    }

  /* a connection fault, a timeout or a TLS failure: no reply to show */
  if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING)
    lost = "the connection was lost: ";
  set_result (self, ED_MAIL_RESULT_TEMPORARY, 0,
              g_strdup_printf ("%s%s (during %s)", lost,
                               self->curl_error[0] != '\0' ? self->curl_error : curl_easy_strerror (code),
                               stage_names[self->stage]));
}

/* The commands not answered, for a server that went quiet or away: with
 * PIPELINING that may be several, as a server may hold its replies back
 * until it has answered the last of a group.
 */
static char *
describe_awaited (EdMailTransport *self)
{
  GString *text = g_string_new (NULL);
  guint n = self->n_pending;

  /* QUIT after the message is not what went wrong */
  if (n > 1 && self->pending[n - 1] == ED_SMTP_STAGE_QUIT)
    n--;
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (text, i + 1 < n ? ", " : " and ");
      g_string_append (text, stage_names[self->pending[i]]);
    }
  if (n == 0)
    g_string_append (text, stage_names[ED_SMTP_STAGE_OTHER]);

  return g_string_free (text, FALSE);
}

static void
send_command (EdMailTransport *self,
              EdSmtpStage      stage,
              const char      *format,
              ...) G_GNUC_PRINTF (3, 4);

static void
send_command (EdMailTransport *self,
              EdSmtpStage      stage,
              const char      *format,
              ...)
{
  va_list args;

  g_assert (self->n_pending < G_N_ELEMENTS (self->pending));

  va_start (args, format);
  g_string_append_vprintf (self->out, format, args);
  va_end (args);
  g_string_append (self->out, "\r\n");
  self->pending[self->n_pending++] = stage;
}

static void
send_mail_from (EdMailTransport *self)
{
  g_string_append_printf (self->out, "MAIL FROM:<%s>", self->envelope_from);
  if (self->size_offered)
    g_string_append_printf (self->out, " SIZE=%" G_GSIZE_FORMAT, g_bytes_get_size (self->message));
  send_command (self, ED_SMTP_STAGE_MAIL, "%s", self->needs_smtputf8 ? " SMTPUTF8" : "");
}

/* The message after “354”: dot-stuffed (RFC 5321 4.5.2), then its end. */
static void
send_message (EdMailTransport *self)
{
  gsize size;
  const char *data = g_bytes_get_data (self->message, &size);

  g_assert (self->n_pending < G_N_ELEMENTS (self->pending));

  ed_smtp_append_data (self->out, data, size);
  self->pending[self->n_pending++] = ED_SMTP_STAGE_MESSAGE;
}

/* Ends the connection after what is under way: the transport closes it
 * when QUIT is answered.
 */
static void
send_quit (EdMailTransport *self)
{
  if (!self->quit_sent)
    send_command (self, ED_SMTP_STAGE_QUIT, "QUIT");
  self->quit_sent = TRUE;
}

/* After a failed transaction the session goes on, cleared with RSET,
 * unless the server is closing it (421) or it has carried its share.
 */
static void
end_failed_transaction (EdMailTransport *self,
                        guint            code)
{
  if (code == 421 || self->last_on_connection)
    send_quit (self);
  else
    send_command (self, ED_SMTP_STAGE_OTHER, "RSET");
}

static gboolean
is_pending (EdMailTransport *self,
            EdSmtpStage      stage)
{
  for (guint i = 0; i < self->n_pending; i++)
    if (self->pending[i] == stage)
      return TRUE;
  return FALSE;
}

/* The transaction starts on a connection set up; with PIPELINING its
 * three commands go in one write.
 */
static void
start_transaction (EdMailTransport *self)
{
  self->n_message_replies = 0;
  self->curl_error[0] = '\0';

  if (self->needs_smtputf8 && !self->smtputf8)
    {
      /* nothing was sent: the connection is still good */
      set_result (self, ED_MAIL_RESULT_PERMANENT, 0,
                  g_strdup ("the address has letters beyond ASCII before the @, and the mail server does not "
                            "take such addresses (it does not offer SMTPUTF8); send through a server that does, "
                            "or ask the guest for another address"));
      return;
    }

  send_mail_from (self);
  if (self->pipelining)
    {
      send_command (self, ED_SMTP_STAGE_RCPT, "RCPT TO:<%s>", self->envelope_to);
      send_command (self, ED_SMTP_STAGE_DATA, "DATA");
    }
}

static void start_setup (EdMailTransport *self);

/* Takes the reply to the oldest command awaited. */
static void
take_reply (EdMailTransport   *self,
            const EdSmtpReply *reply)
{
  gboolean first = self->n_message_replies == 0;
  EdSmtpStage stage;
  gboolean ok;

  if (self->n_pending == 0)
    return;  /* nothing asked: not a reply to take */

  stage = self->pending[0];
  memmove (self->pending, self->pending + 1, --self->n_pending * sizeof (EdSmtpStage));
  self->n_message_replies++;

  /* the session is over */
  if (stage == ED_SMTP_STAGE_QUIT)
    {
      drop_connection (self);
      return;
    }

  /* A kept connection the server closed while it was idle, saying 421
   * first (as Postfix does) just as the message went out: the server took
   * nothing, so the message goes once more over a new connection.
   */
  if (first && reply->code == 421 && !self->new_connection && self->attempt == 0)
    {
      drop_connection (self);
      self->attempt++;
      start_setup (self);
      return;
    }

  if (self->result_set)
    {
      /* Once DATA is answered after a failure, the transaction is ended.
       * Should the server take the data after all, with no recipient
       * taken, it gets an empty one to refuse (RFC 2920 3.1).
       */
      if (stage == ED_SMTP_STAGE_DATA)
        {
          if (reply->code == 354)
            {
              g_string_append (self->out, ".\r\n");
              self->pending[self->n_pending++] = ED_SMTP_STAGE_MESSAGE;
            }
          end_failed_transaction (self, reply->code);
        }
      /* a session RSET cannot clear is not to be trusted */
      else if (stage == ED_SMTP_STAGE_OTHER && reply->code / 100 != 2)
        send_quit (self);
      return;
    }

  ok = stage == ED_SMTP_STAGE_DATA ? reply->code == 354 : reply->code / 100 == 2;
  if (!ok)
    {
      set_result_from_reply (self, reply->code, reply->text->str, stage);
      /* a refused message leaves the session as it was; anything else is
       * ended once DATA, where it was pipelined, is answered
       */
      if (stage == ED_SMTP_STAGE_MESSAGE)
        {
          if (self->last_on_connection || reply->code == 421)
            send_quit (self);
        }
      else if (!is_pending (self, ED_SMTP_STAGE_DATA))
        end_failed_transaction (self, reply->code);
      return;
    }

  switch (stage)
    {
    case ED_SMTP_STAGE_MAIL:
      if (!self->pipelining)
        send_command (self, ED_SMTP_STAGE_RCPT, "RCPT TO:<%s>", self->envelope_to);
      break;
    case ED_SMTP_STAGE_RCPT:
      if (!self->pipelining)
        send_command (self, ED_SMTP_STAGE_DATA, "DATA");
      break;
    case ED_SMTP_STAGE_DATA:
      send_message (self);
      /* QUIT may follow the message's end in the same write */
      if (self->last_on_connection && self->pipelining)
        send_quit (self);
      break;
    case ED_SMTP_STAGE_MESSAGE:
      set_result_from_reply (self, reply->code, reply->text->str, stage);
      if (self->last_on_connection && !self->pipelining)
        send_quit (self);
      break;
    case ED_SMTP_STAGE_GREETING:
    case ED_SMTP_STAGE_HELLO:
    case ED_SMTP_STAGE_STARTTLS:
    case ED_SMTP_STAGE_AUTH:
    case ED_SMTP_STAGE_QUIT:
    case ED_SMTP_STAGE_OTHER:
    default:
      g_assert_not_reached ();
    }
}

typedef enum
{
  IO_OK,
  IO_CLOSED,
  IO_FAILED,
} IoStatus;

/* A fault in curl_easy_send() or curl_easy_recv(), in words. */
static IoStatus
io_failed (EdMailTransport *self,
           CURLcode         code)
{
  if (self->curl_error[0] == '\0')
    g_strlcpy (self->curl_error, curl_easy_strerror (code), sizeof self->curl_error);
  return IO_FAILED;
}

/* Writes what waits, as far as the socket takes it. */
static IoStatus
write_output (EdMailTransport *self)
{
  while (self->out_offset < self->out->len)
    {
      size_t n = 0;
      CURLcode code = curl_easy_send (self->curl, self->out->str + self->out_offset,
                                      self->out->len - self->out_offset, &n);

      if (code == CURLE_AGAIN)
        return IO_OK;
      if (code != CURLE_OK)
        return io_failed (self, code);
      self->out_offset += n;
    }

  g_string_truncate (self->out, 0);
  self->out_offset = 0;
  return IO_OK;
}

/* Reads what the server has sent and takes its replies. */
static IoStatus
read_input (EdMailTransport *self)
{
  for (;;)
    {
      const EdSmtpReply *reply;
      char buffer[4096];
      size_t n = 0;
      CURLcode code = curl_easy_recv (self->curl, buffer, sizeof buffer, &n);

      if (code == CURLE_AGAIN)
        return IO_OK;
      if (code != CURLE_OK)
        return io_failed (self, code);
      if (n == 0)
        return IO_CLOSED;

      if (!ed_smtp_reply_reader_feed (&self->reader, buffer, n))
        {
          g_strlcpy (self->curl_error, "the server sent a line too long for a reply", sizeof self->curl_error);
          return IO_FAILED;
        }
      while ((reply = ed_smtp_reply_reader_next (&self->reader)) != NULL)
        {
          take_reply (self, reply);
          /* a reply may end the connection, and what was read with it */
          if (!self->connected)
            return IO_OK;
        }
    }
}

/* The connection went away or broke during the transaction. */
static void
take_lost_connection (EdMailTransport *self,
                      IoStatus         status)
{
  g_autofree char *awaited = describe_awaited (self);
  gboolean kept = !self->new_connection;

  drop_connection (self);
  if (self->result_set)
    return;  /* only the answer to QUIT was missing */

  /* A kept connection the server has closed in the meantime fails before
   * any reply; the server cannot have taken the message, so it goes once
   * more over a new connection.
   */
  if (kept && self->n_message_replies == 0 && self->attempt == 0)
    {
      self->attempt++;
      start_setup (self);
      return;
    }

  set_result (self, ED_MAIL_RESULT_TEMPORARY, 0,
              g_strdup_printf ("the connection was lost: %s (during %s)",
                               status == IO_CLOSED ? "the server closed it" : self->curl_error,
                               awaited));
}

/* Takes the transaction as far as the socket allows. */
static void
step_transaction (EdMailTransport *self)
{
  IoStatus status;

  for (;;)
    {
      guint n_before = self->n_message_replies;

      if ((status = write_output (self)) != IO_OK || (status = read_input (self)) != IO_OK)
        {
          take_lost_connection (self, status);
          return;
        }
      if (!self->connected)
        return;
      /* what a reply queued goes out at once */
      if (self->n_message_replies == n_before || self->out->len == 0)
        break;
    }

  if (self->result_set && self->n_pending == 0)
    return;

  if (g_get_monotonic_time () >= self->deadline_us)
    {
      g_autofree char *awaited = describe_awaited (self);

      drop_connection (self);
      if (!self->result_set)
        set_result (self, ED_MAIL_RESULT_TEMPORARY, 0,
                    g_strdup_printf ("timed out: no reply from the mail server within %u ms (during %s)",
                                     self->timeout_ms, awaited));
    }
}

/* libcurl sets a new connection up. */
static void
start_setup (EdMailTransport *self)
{
  /* a second attempt, after a kept connection was found closed, has the
   * whole of mail-timeout again
   */
  if (self->attempt > 0)
    self->deadline_us = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;
  self->connecting = TRUE;
  self->new_connection = TRUE;
  self->stage = ED_SMTP_STAGE_GREETING;
  self->quitting = FALSE;
  self->curl_error[0] = '\0';
  self->pipelining = self->smtputf8 = self->size_offered = FALSE;
  ed_smtp_reply_reset (&self->partial);
  ed_smtp_reply_reset (&self->first_failure);

  curl_easy_setopt (self->curl, CURLOPT_CONNECTTIMEOUT_MS, (long) self->connect_timeout_ms);
  curl_easy_setopt (self->curl, CURLOPT_TIMEOUT_MS, (long) self->timeout_ms);
  curl_easy_setopt (self->curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long) MAX (1, self->timeout_ms / 1000));
  curl_multi_add_handle (self->multi, self->curl);
  self->in_multi = TRUE;
}

/* The set-up is done: on to the transaction, or the message fails. */
static void
finish_setup (EdMailTransport *self,
              CURLcode         code)
{
  long n_connects = 0;

  self->connecting = FALSE;
  curl_easy_getinfo (self->curl, CURLINFO_NUM_CONNECTS, &n_connects);
  self->n_connections += (guint) n_connects;

  if (code != CURLE_OK)
    {
      set_result_from_setup (self, code);
      drop_connection (self);
      return;
    }

  if (curl_easy_getinfo (self->curl, CURLINFO_ACTIVESOCKET, &self->fd) != CURLE_OK ||
      self->fd == CURL_SOCKET_BAD)
    {
      set_result (self, ED_MAIL_RESULT_TEMPORARY, 0, g_strdup ("libcurl set the connection up but gave no socket"));
      drop_connection (self);
      return;
    }

  self->connected = TRUE;
  self->messages_on_connection = 0;
  self->curl_error[0] = '\0';
  start_transaction (self);
}

/* Drives libcurl's set-up of the connection with the ready sockets. */
static void
step_setup (EdMailTransport *self,
            const GPollFD   *fds,
            guint            n_fds)
{
  CURLMsg *msg;
  int running;
  int left;

  for (guint i = 0; i < n_fds; i++)
    {
      int events = 0;

      if (fds[i].revents == 0)
        continue;
      /* only the sockets of this transport's connection */
      for (guint k = 0; k < self->sockets->len; k++)
        if (g_array_index (self->sockets, SmtpSocket, k).fd == fds[i].fd)
          {
            if (fds[i].revents & (G_IO_IN | G_IO_HUP))
              events |= CURL_CSELECT_IN;
            if (fds[i].revents & G_IO_OUT)
              events |= CURL_CSELECT_OUT;
            if (fds[i].revents & G_IO_ERR)
              events |= CURL_CSELECT_ERR;
            curl_multi_socket_action (self->multi, fds[i].fd, events, &running);
            break;
          }
    }
  if (self->timer_us >= 0 && g_get_monotonic_time () >= self->timer_us)
    {
      self->timer_us = -1;
      curl_multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }

  while ((msg = curl_multi_info_read (self->multi, &left)) != NULL)
    if (msg->msg == CURLMSG_DONE && self->connecting)
      finish_setup (self, msg->data.result);
}

/* An address for MAIL FROM or RCPT TO: its domain as ASCII (IDNA), its
 * local part as it is, which may need SMTPUTF8.
 */
static char *
envelope_address (const char *address,
                  gboolean   *needs_smtputf8)
{
  const char *at = strrchr (address, '@');
  g_autofree char *local_part = NULL;
  g_autofree char *domain = NULL;

  g_assert (at != NULL);
  local_part = g_strndup (address, (gsize) (at - address));
  if (!g_str_is_ascii (local_part))
    *needs_smtputf8 = TRUE;
  if (!g_hostname_is_non_ascii (at + 1))
    return g_strdup (address);
  if ((domain = g_hostname_to_ascii (at + 1)) == NULL)
    return NULL;
  return g_strdup_printf ("%.*s@%s", (int) (at - address), address, domain);
}

/* How long a disconnect waits for the reply to QUIT (RFC 5321 says it
 * should) in the sender's thread, which has nothing else to do then.
 */
#define QUIT_WAIT_MS 500

void
ed_mail_transport_smtp_disconnect (EdMailTransport *self)
{
  /* between messages, the server is told with QUIT, and its answer
   * awaited for a moment
   */
  if (self->connected && !self->busy && self->out != NULL)
    {
      gint64 deadline_us = g_get_monotonic_time () + (gint64) MIN (self->timeout_ms, QUIT_WAIT_MS) * 1000;
      IoStatus status = IO_OK;

      send_quit (self);
      while (status == IO_OK && self->n_pending > 0 && g_get_monotonic_time () < deadline_us)
        {
          GPollFD fd = { self->fd, G_IO_IN | G_IO_ERR | G_IO_HUP, 0 };

          if (self->out->len > 0)
            fd.events |= G_IO_OUT;
          if ((status = write_output (self)) == IO_OK && (status = read_input (self)) == IO_OK &&
              self->n_pending > 0)
            g_poll (&fd, 1, (gint) MAX (1, (deadline_us - g_get_monotonic_time ()) / 1000));
        }
    }

  drop_connection (self);
  end_message (self);
}

void
ed_mail_transport_smtp_finalize (EdMailTransport *self)
{
  ed_mail_transport_smtp_disconnect (self);

  if (self->password != NULL)
    {
      explicit_bzero (self->password, strlen (self->password));
      g_clear_pointer (&self->password, g_free);
    }
  g_clear_pointer (&self->username, g_free);
  g_clear_pointer (&self->curl_url, g_free);
  g_clear_pointer (&self->ca_file, g_free);
  g_clear_pointer (&self->curl, curl_easy_cleanup);
  g_clear_pointer (&self->multi, curl_multi_cleanup);
  g_clear_pointer (&self->sockets, g_array_unref);
  if (self->out != NULL)
    g_string_free (self->out, TRUE);
  self->out = NULL;
  ed_smtp_reply_reader_clear (&self->reader);

  ed_smtp_reply_clear (&self->partial);
  ed_smtp_reply_clear (&self->first_failure);
}

/* Whether a kept connection still waits, quiet, for the next message:
 * a server that timed it out has closed it, often with a 421 first, which
 * is read (and dropped) here rather than taken for the reply to MAIL.
 */
static gboolean
connection_is_idle (EdMailTransport *self)
{
  char buffer[512];
  size_t n = 0;

  return curl_easy_recv (self->curl, buffer, sizeof buffer, &n) == CURLE_AGAIN;
}

/* Fails the message before anything was sent. */
static gboolean
fail_to_begin (EdMailTransport  *self,
               EdMailResultKind  kind,
               const char       *text)
{
  set_result (self, kind, 0, g_strdup (text));
  end_message (self);
  return FALSE;
}

/**
 * ed_mail_transport_smtp_begin:
 *
 * Starts sending @message; ed_mail_transport_smtp_step() takes it on
 * whenever the sockets it asks for are ready or its time comes.
 *
 * Returns: %TRUE when under way, %FALSE when it failed at once (@result
 *   says why)
 */
gboolean
ed_mail_transport_smtp_begin (EdMailTransport *self,
                              const char      *envelope_from,
                              const char      *envelope_to,
                              GBytes          *message,
                              EdMailResult    *result)
{
  g_assert (!self->busy);

  self->busy = TRUE;
  self->result = result;
  self->result_set = FALSE;
  self->needs_smtputf8 = FALSE;
  self->envelope_from = envelope_address (envelope_from, &self->needs_smtputf8);
  self->envelope_to = envelope_address (envelope_to, &self->needs_smtputf8);
  if (self->envelope_from == NULL || self->envelope_to == NULL)
    {
      g_autofree char *text = g_strdup_printf ("the domain of “%s” is not a valid host name; correct the "
                                               "guest's address", self->envelope_from == NULL ? envelope_from
                                                                                              : envelope_to);

      return fail_to_begin (self, ED_MAIL_RESULT_PERMANENT, text);
    }

  if (self->curl == NULL && (self->curl = new_handle (self)) == NULL)
    return fail_to_begin (self, ED_MAIL_RESULT_TEMPORARY, "libcurl could not make a handle (out of memory?)");
  if (self->multi == NULL && (self->multi = new_multi (self)) == NULL)
    return fail_to_begin (self, ED_MAIL_RESULT_TEMPORARY, "libcurl could not make a multi handle (out of memory?)");
  if (self->sockets == NULL)
    self->sockets = g_array_new (FALSE, FALSE, sizeof (SmtpSocket));
  if (self->out == NULL)
    {
      self->out = g_string_sized_new (8192);
      ed_smtp_reply_reader_init (&self->reader);
    }

  self->message = g_bytes_ref (message);
  /* mail-timeout is for the whole attempt, setting a connection up too */
  self->deadline_us = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;
  self->attempt = 0;
  self->new_connection = FALSE;
  /* the last message of a connection closes it after, with QUIT */
  self->last_on_connection = self->max_messages > 0 && self->messages_on_connection + 1 >= self->max_messages;

  if (self->connected && !connection_is_idle (self))
    drop_connection (self);

  if (self->connected)
    {
      start_transaction (self);
      if (self->result_set)
        {
          end_message (self);
          return FALSE;
        }
    }
  else
    start_setup (self);

  return TRUE;
}

/**
 * ed_mail_transport_smtp_add_poll:
 * @fds: (element-type GPollFD): where the sockets to watch are added
 * @deadline_us: (inout): lowered to when the message under way must be
 *   taken on again at the latest; -1 for never
 */
void
ed_mail_transport_smtp_add_poll (EdMailTransport *self,
                                 GArray          *fds,
                                 gint64          *deadline_us)
{
  gint64 wanted_us = -1;

  if (!self->busy)
    return;

  if (self->connecting)
    {
      for (guint i = 0; i < self->sockets->len; i++)
        {
          const SmtpSocket *socket = &g_array_index (self->sockets, SmtpSocket, i);
          GPollFD fd = { socket->fd, G_IO_ERR | G_IO_HUP, 0 };

          if (socket->what & CURL_POLL_IN)
            fd.events |= G_IO_IN;
          if (socket->what & CURL_POLL_OUT)
            fd.events |= G_IO_OUT;
          g_array_append_val (fds, fd);
        }
      wanted_us = self->timer_us;
    }
  else if (self->connected)
    {
      GPollFD fd = { self->fd, G_IO_IN | G_IO_ERR | G_IO_HUP, 0 };

      if (self->out->len > self->out_offset)
        fd.events |= G_IO_OUT;
      g_array_append_val (fds, fd);
      wanted_us = self->deadline_us;
    }
  else
    wanted_us = 0;  /* done: at once */

  if (wanted_us >= 0 && (*deadline_us < 0 || wanted_us < *deadline_us))
    *deadline_us = wanted_us;
}

/**
 * ed_mail_transport_smtp_step:
 * @fds: (array length=n_fds): polled sockets, of this transport and
 *   others
 *
 * Takes the message under way as far as its ready sockets and its time
 * allow.
 *
 * Returns: %TRUE when it is done, and the result given to begin is filled
 */
gboolean
ed_mail_transport_smtp_step (EdMailTransport *self,
                             const GPollFD   *fds,
                             guint            n_fds)
{
  g_assert (self->busy);

  if (self->connecting)
    step_setup (self, fds, n_fds);
  /* also right after the set-up: the transaction's first write */
  if (self->connected && !(self->result_set && self->n_pending == 0))
    step_transaction (self);

  if (!self->result_set || (self->connected && self->n_pending > 0))
    return FALSE;

  self->result->new_connection = self->new_connection;
  if (self->connected)
    self->messages_on_connection++;
  end_message (self);
  return TRUE;
}
