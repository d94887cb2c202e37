/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ed-error.h"
#include "ed-mail-transport-private.h"

/* SMTP through libcurl. One easy handle is one connection, reused from
 * message to message. Its replies come through the header callback.
 *
 * Which command a reply answers (RCPT or DATA or AUTH…) is known in two
 * ways. While a connection is set up, and for its last message, libcurl
 * is verbose and its debug callback sees the commands sent. Nothing from
 * that callback is logged: the commands are only matched by their verb,
 * so an AUTH line never leaves it. On a connection already set up, a
 * message is always MAIL, RCPT (one recipient), DATA and the message, in
 * that order, and the replies are taken in that order: verbose mode
 * formats text for every step of every transfer, a tenth of the sender's
 * time. Should libcurl open a new connection after all (the kept one was
 * found dead), the first reply is the greeting, and the stages of what
 * follows are not guessed: they are reported as “a command”, which never
 * makes a failure permanent.
 */

/* The reply text kept per attempt; longer replies are cut. */
#define REPLY_TEXT_MAX 1024

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

static void end_message (EdMailTransport *self);

void
ed_mail_transport_smtp_disconnect (EdMailTransport *self)
{
  if (self->in_multi)
    {
      curl_multi_remove_handle (self->multi, self->curl);
      self->in_multi = FALSE;
    }
  end_message (self);
  g_clear_pointer (&self->curl, curl_easy_cleanup);
  /* the connection is the multi's: its cleanup sends QUIT on it */
  g_clear_pointer (&self->multi, curl_multi_cleanup);
  if (self->sockets != NULL)
    g_array_set_size (self->sockets, 0);
  self->timer_us = -1;
  self->messages_on_connection = 0;
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
  g_clear_pointer (&self->sockets, g_array_unref);

  for (guint i = 0; i < 3; i++)
    {
      EdSmtpReply *reply = i == 0 ? &self->partial : i == 1 ? &self->last : &self->first_failure;

      if (reply->text != NULL)
        g_string_free (reply->text, TRUE);
      reply->text = NULL;
    }
}

static void
reply_reset (EdSmtpReply *reply)
{
  reply->code = 0;
  reply->stage = ED_SMTP_STAGE_OTHER;
  if (reply->text == NULL)
    reply->text = g_string_sized_new (128);
  g_string_truncate (reply->text, 0);
}

static void
reply_copy (EdSmtpReply       *to,
            const EdSmtpReply *from)
{
  reply_reset (to);
  to->code = from->code;
  to->stage = from->stage;
  g_string_append_len (to->text, from->text->str, from->text->len);
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
    { "MAIL", ED_SMTP_STAGE_MAIL },
    { "RCPT", ED_SMTP_STAGE_RCPT },
    { "DATA", ED_SMTP_STAGE_DATA },
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

/* One line of a reply: “250-more follows” or “250 last line”. */
static void
take_reply_line (EdMailTransport *self,
                 const char      *data,
                 gsize            size)
{
  EdSmtpReply *partial = &self->partial;
  gboolean final;
  guint code;

  while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
    size--;
  if (self->quitting)
    return;
  if (size < 3 || !g_ascii_isdigit (data[0]) || !g_ascii_isdigit (data[1]) || !g_ascii_isdigit (data[2]))
    return;

  code = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
  final = size == 3 || data[3] != '-';

  if (partial->code != code)
    {
      reply_reset (partial);
      partial->code = code;
    }
  partial->stage = self->stage;

  if (size > 4)
    {
      gsize room = REPLY_TEXT_MAX - MIN (partial->text->len, REPLY_TEXT_MAX);
      gsize len = MIN (size - 4, room);

      if (partial->text->len > 0 && len > 0)
        g_string_append_c (partial->text, ' ');
      g_string_append_len (partial->text, data + 4, len);
    }

  if (!final)
    return;

  self->n_replies++;
  reply_copy (&self->last, partial);
  if (code >= 400 && self->first_failure.code == 0)
    reply_copy (&self->first_failure, partial);
  reply_reset (partial);

  /* after “354 go ahead” the next reply is to the message itself */
  if (code == 354)
    self->stage = ED_SMTP_STAGE_MESSAGE;

  if (self->commands_seen)
    return;

  /* the order of a message on a connection already set up */
  if (self->n_replies == 1 && code == 220)
    self->stage = ED_SMTP_STAGE_OTHER;  /* a greeting: a new connection */
  else if (code >= 400 || (self->stage == ED_SMTP_STAGE_MESSAGE && code != 354))
    self->quitting = TRUE;              /* what may follow is QUIT's */
  else if (self->stage == ED_SMTP_STAGE_MAIL)
    self->stage = ED_SMTP_STAGE_RCPT;
  else if (self->stage == ED_SMTP_STAGE_RCPT)
    self->stage = ED_SMTP_STAGE_DATA;
}

static size_t
on_curl_header_cb (char   *data,
                   size_t  size,
                   size_t  n_items,
                   void   *user_data)
{
  take_reply_line (user_data, data, size * n_items);
  return size * n_items;
}

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

      /* libcurl says QUIT when it closes a connection, after a failure
       * too: the stage stays the one that failed, and the reply to QUIT
       * is not taken
       */
      if (stage == ED_SMTP_STAGE_QUIT)
        self->quitting = TRUE;
      /* a line during AUTH that is no command is a SASL response */
      else if (stage != ED_SMTP_STAGE_OTHER || self->stage != ED_SMTP_STAGE_AUTH)
        self->stage = stage;
    }

  return 0;
}

static size_t
on_curl_read_cb (char   *buffer,
                 size_t  size,
                 size_t  n_items,
                 void   *user_data)
{
  EdMailTransport *self = user_data;
  gsize room = size * n_items;
  gsize len = MIN (room, self->upload_size - self->upload_offset);

  memcpy (buffer, self->upload + self->upload_offset, len);
  self->upload_offset += len;
  return len;
}

static CURL *
new_handle (EdMailTransport *self)
{
  CURL *curl = curl_easy_init ();

  if (curl == NULL)
    return NULL;

  curl_easy_setopt (curl, CURLOPT_URL, self->curl_url);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, self->curl_error);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_curl_header_cb);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, self);
  curl_easy_setopt (curl, CURLOPT_DEBUGFUNCTION, on_curl_debug_cb);
  curl_easy_setopt (curl, CURLOPT_DEBUGDATA, self);
  curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (curl, CURLOPT_READFUNCTION, on_curl_read_cb);
  curl_easy_setopt (curl, CURLOPT_READDATA, self);
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

static void
begin_attempt (EdMailTransport *self,
               gboolean         commands_seen)
{
  /* without the commands, a kept connection's first reply is MAIL's */
  self->commands_seen = commands_seen;
  self->stage = commands_seen ? ED_SMTP_STAGE_GREETING : ED_SMTP_STAGE_MAIL;
  curl_easy_setopt (self->curl, CURLOPT_VERBOSE, commands_seen ? 1L : 0L);
  self->quitting = FALSE;
  self->n_replies = 0;
  self->curl_error[0] = '\0';
  self->upload_offset = 0;
  reply_reset (&self->partial);
  reply_reset (&self->last);
  reply_reset (&self->first_failure);
}

static void
fill_result (EdMailTransport *self,
             CURLcode         code,
             EdMailResult    *result)
{
  const EdSmtpReply *reply = NULL;
  const char *lost = "";

  /* on success the last reply is the one to the message; a failure before
   * it (EHLO refused, then HELO taken) did not matter
   */
  if (code == CURLE_OK)
    reply = &self->last;
  else if (self->first_failure.code != 0)
    reply = &self->first_failure;

  if (reply != NULL && reply->code != 0)
    {
      result->code = reply->code;
      result->kind = ed_mail_classify_reply (reply->code, reply->stage);
      if (code == CURLE_OK && result->kind != ED_MAIL_RESULT_SENT)
        result->kind = ED_MAIL_RESULT_TEMPORARY;
      if (code != CURLE_OK && result->kind == ED_MAIL_RESULT_SENT)
        result->kind = ED_MAIL_RESULT_TEMPORARY;

      if (result->kind == ED_MAIL_RESULT_SENT)
        result->text = g_strdup (reply->text->str);
      else
        result->text = g_strdup_printf ("%s (in reply to %s)", reply->text->str, stage_names[reply->stage]);
      return;
    }

  if (code == CURLE_OK)
    {
      long response_code = 0;

      /* no reply seen, which libcurl would not report as success */
      curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &response_code);
      result->code = (guint) response_code;
      result->kind = ed_mail_classify_reply (result->code, ED_SMTP_STAGE_MESSAGE);
      result->text = g_strdup ("");
      return;
    }

  /* a connection fault, a timeout or a TLS failure: no reply to show */
  {
    long response_code = 0;

    /* unless libcurl saw one the callback did not */
    curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &response_code);
    if (response_code >= 400 && response_code < 600)
      {
        result->code = (guint) response_code;
        result->kind = ed_mail_classify_reply (result->code, self->stage);
        result->text = g_strdup_printf ("%s (in reply to %s)",
                                        self->curl_error[0] != '\0' ? self->curl_error : curl_easy_strerror (code),
                                        stage_names[self->stage]);
        return;
      }
  }

  if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING)
    lost = "the connection was lost: ";
  result->code = 0;
  result->kind = ED_MAIL_RESULT_TEMPORARY;
  result->text = g_strdup_printf ("%s%s (during %s)", lost,
                                  self->curl_error[0] != '\0' ? self->curl_error : curl_easy_strerror (code),
                                  stage_names[self->stage]);
}

/* The multi handle's view of the connection: which socket to watch for
 * what, and when to call it back.
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

  if (self->sockets == NULL)
    self->sockets = g_array_new (FALSE, FALSE, sizeof (SmtpSocket));
  self->timer_us = -1;
  curl_multi_setopt (multi, CURLMOPT_SOCKETFUNCTION, on_multi_socket_cb);
  curl_multi_setopt (multi, CURLMOPT_SOCKETDATA, self);
  curl_multi_setopt (multi, CURLMOPT_TIMERFUNCTION, on_multi_timer_cb);
  curl_multi_setopt (multi, CURLMOPT_TIMERDATA, self);

  return multi;
}

/* Forgets the message under way. */
static void
end_message (EdMailTransport *self)
{
  if (self->curl != NULL)
    curl_easy_setopt (self->curl, CURLOPT_MAIL_RCPT, NULL);
  g_clear_pointer (&self->recipients, curl_slist_free_all);
  g_clear_pointer (&self->mail_from, g_free);
  g_clear_pointer (&self->upload_bytes, g_bytes_unref);
  self->upload = NULL;
  self->upload_size = 0;
  self->result = NULL;
}

static void
start_attempt (EdMailTransport *self)
{
  /* the commands are seen where the order of replies is not known: a new
   * connection, a last message (QUIT), a retry
   */
  begin_attempt (self, self->messages_on_connection == 0 || self->last_on_connection || self->attempt > 0);
  curl_multi_add_handle (self->multi, self->curl);
  self->in_multi = TRUE;
}

/* Fails the message before anything was sent. */
static gboolean
fail_to_begin (EdMailTransport *self,
               EdMailResult    *result,
               const char      *text)
{
  result->kind = ED_MAIL_RESULT_TEMPORARY;
  result->text = g_strdup (text);
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
  g_autofree char *rcpt_to = g_strdup_printf ("<%s>", envelope_to);

  g_assert (!self->in_multi);

  if (self->curl == NULL)
    {
      self->curl = new_handle (self);
      self->messages_on_connection = 0;
      if (self->curl == NULL)
        return fail_to_begin (self, result, "libcurl could not make a handle (out of memory?)");
    }
  if (self->multi == NULL && (self->multi = new_multi (self)) == NULL)
    return fail_to_begin (self, result, "libcurl could not make a multi handle (out of memory?)");

  curl_easy_setopt (self->curl, CURLOPT_CONNECTTIMEOUT_MS, (long) self->connect_timeout_ms);
  curl_easy_setopt (self->curl, CURLOPT_TIMEOUT_MS, (long) self->timeout_ms);
  curl_easy_setopt (self->curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long) MAX (1, self->timeout_ms / 1000));

  self->result = result;
  self->mail_from = g_strdup_printf ("<%s>", envelope_from);
  self->recipients = curl_slist_append (NULL, rcpt_to);
  curl_easy_setopt (self->curl, CURLOPT_MAIL_FROM, self->mail_from);
  curl_easy_setopt (self->curl, CURLOPT_MAIL_RCPT, self->recipients);
  self->upload_bytes = g_bytes_ref (message);
  self->upload = g_bytes_get_data (message, &self->upload_size);
  curl_easy_setopt (self->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) self->upload_size);

  /* the last message of a connection closes it after, with QUIT */
  self->last_on_connection = self->max_messages > 0 && self->messages_on_connection + 1 >= self->max_messages;
  curl_easy_setopt (self->curl, CURLOPT_FORBID_REUSE, self->last_on_connection ? 1L : 0L);

  self->attempt = 0;
  self->new_connection = FALSE;
  start_attempt (self);
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
  if (!self->in_multi)
    return;

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

  if (self->timer_us >= 0 && (*deadline_us < 0 || self->timer_us < *deadline_us))
    *deadline_us = self->timer_us;
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
  EdMailResult *result = self->result;
  CURLcode code = CURLE_OK;
  gboolean done = FALSE;
  long n_connects = 0;
  CURLMsg *msg;
  int running;
  int left;

  g_assert (self->in_multi);

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
    if (msg->msg == CURLMSG_DONE)
      {
        code = msg->data.result;
        done = TRUE;
      }
  if (!done)
    return FALSE;

  curl_multi_remove_handle (self->multi, self->curl);
  self->in_multi = FALSE;

  curl_easy_getinfo (self->curl, CURLINFO_NUM_CONNECTS, &n_connects);
  if (n_connects > 0)
    {
      self->new_connection = TRUE;
      self->n_connections += (guint) n_connects;
      self->messages_on_connection = 0;
    }

  /* A kept connection the server has closed in the meantime fails before
   * any reply; the server cannot have taken the message, so it goes once
   * more over a new connection.
   */
  if (code != CURLE_OK && n_connects == 0 && self->n_replies == 0 && self->attempt == 0)
    {
      curl_easy_setopt (self->curl, CURLOPT_FRESH_CONNECT, 1L);
      self->attempt++;
      start_attempt (self);
      return FALSE;
    }
  curl_easy_setopt (self->curl, CURLOPT_FRESH_CONNECT, 0L);

  fill_result (self, code, result);
  result->new_connection = self->new_connection;

  /* libcurl closes the connection after a failure */
  if (code == CURLE_OK && !self->last_on_connection)
    self->messages_on_connection++;
  else
    self->messages_on_connection = 0;

  end_message (self);
  return TRUE;
}
