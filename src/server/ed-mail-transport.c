/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-mail-transport-private.h"

/* The mail-transport setting, parsed, and what every transport shares.
 * SMTP is in ed-mail-transport-smtp.c, Maildir in
 * ed-mail-transport-maildir.c.
 */

G_DEFINE_QUARK (ed-mail-error-quark, ed_mail_error)

static const char * const result_kind_names[] = {
  [ED_MAIL_RESULT_SENT] = "sent",
  [ED_MAIL_RESULT_TEMPORARY] = "temporary",
  [ED_MAIL_RESULT_THROTTLED] = "throttled",
  [ED_MAIL_RESULT_PERMANENT] = "permanent",
};

/**
 * ed_mail_result_kind_to_string:
 * @kind: a result kind
 *
 * Returns: its name as the delivery log stores it
 */
const char *
ed_mail_result_kind_to_string (EdMailResultKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (result_kind_names), NULL);

  return result_kind_names[kind];
}

void
ed_mail_result_clear (EdMailResult *result)
{
  g_return_if_fail (result != NULL);

  g_clear_pointer (&result->text, g_free);
  result->kind = ED_MAIL_RESULT_SENT;
  result->code = 0;
  result->new_connection = FALSE;
}

/**
 * ed_mail_classify_reply:
 * @code: an SMTP reply code
 * @stage: the command it answered
 *
 * A 5xx only fails the message when it is about the message: the sender,
 * the recipient or the content. Refused greetings, EHLO, STARTTLS or
 * AUTH are the server's or the configuration's doing and would fail
 * every guest alike, so they count as temporary: the campaign pauses on
 * the error rate instead of failing everyone.
 */
EdMailResultKind
ed_mail_classify_reply (guint       code,
                        EdSmtpStage stage)
{
  if (code >= 200 && code < 400)
    return ED_MAIL_RESULT_SENT;
  if (code == 421 || code == 451 || code == 452)
    return ED_MAIL_RESULT_THROTTLED;
  if (code >= 500 && code < 600)
    {
      switch (stage)
        {
        case ED_SMTP_STAGE_MAIL:
        case ED_SMTP_STAGE_RCPT:
        case ED_SMTP_STAGE_DATA:
        case ED_SMTP_STAGE_MESSAGE:
          return ED_MAIL_RESULT_PERMANENT;
        case ED_SMTP_STAGE_GREETING:
        case ED_SMTP_STAGE_HELLO:
        case ED_SMTP_STAGE_STARTTLS:
        case ED_SMTP_STAGE_AUTH:
        case ED_SMTP_STAGE_QUIT:
        case ED_SMTP_STAGE_OTHER:
        default:
          return ED_MAIL_RESULT_TEMPORARY;
        }
    }

  return ED_MAIL_RESULT_TEMPORARY;
}

static gboolean
parse_maildir (EdMailTransport  *self,
               const char       *url,
               GError          **error)
{
  const char *path = url + strlen ("maildir:");

  if (*path == '\0')
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-transport “%s” names no folder: write maildir:/path/to/Maildir", url);
      return FALSE;
    }

  self->kind = ED_MAIL_TRANSPORT_MAILDIR;
  return ed_mail_transport_maildir_init (self, path, error);
}

static gboolean
parse_smtp (EdMailTransport  *self,
            const char       *url,
            const char       *password,
            GError          **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;

  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED_QUERY, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-transport is not a URL: %s", local_error->message);
      return FALSE;
    }

  if (g_uri_get_password (uri) != NULL)
    {
      /* URLs end up in logs and process lists */
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-transport must not contain the password: put it in the config file's "
                   "mail-password key or in the environment variable %s",
                   ED_MAIL_TRANSPORT_PASSWORD_ENV);
      return FALSE;
    }

  self->kind = ED_MAIL_TRANSPORT_SMTP;
  return ed_mail_transport_smtp_init (self, uri, password, error);
}

/**
 * ed_mail_transport_new:
 * @url: the mail-transport setting, one of
 *   - `smtp://[USER@]HOST[:PORT][?PARAMS]`: STARTTLS when offered, or
 *     required with `starttls=required`; required too when a user is given
 *   - `smtps://[USER@]HOST[:PORT][?PARAMS]`: TLS from the start
 *   - `maildir:PATH`: each message a file in the Maildir folder PATH
 *
 *   PARAMS, joined with `&`: `starttls=auto|required|off`, `helo=NAME`
 *   (the EHLO name; the host name by default), `ca-file=PATH` (trust this
 *   CA instead of the system's), `max-messages=N` (messages per
 *   connection before a new one; 0 for no limit)
 * @password: (nullable): the SMTP password from the config file; when
 *   %NULL or empty, $EVENTDESK_SMTP_PASSWORD is used if set
 * @error: return location for an error about the setting
 *
 * Nothing is connected or created until the first message.
 *
 * Returns: (transfer full) (nullable): the transport
 */
EdMailTransport *
ed_mail_transport_new (const char  *url,
                       const char  *password,
                       GError     **error)
{
  g_autoptr(EdMailTransport) self = NULL;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (EdMailTransport, 1);
  self->connect_timeout_ms = ED_MAIL_TRANSPORT_DEFAULT_CONNECT_TIMEOUT_MS;
  self->timeout_ms = ED_MAIL_TRANSPORT_DEFAULT_TIMEOUT_MS;
  self->max_messages = ED_MAIL_TRANSPORT_DEFAULT_MAX_MESSAGES;

  if (g_str_has_prefix (url, "maildir:"))
    {
      if (!parse_maildir (self, url, error))
        return NULL;
    }
  else if (g_str_has_prefix (url, "smtp://") || g_str_has_prefix (url, "smtps://"))
    {
      if (!parse_smtp (self, url, password, error))
        return NULL;
    }
  else
    {
      /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees self; clang 14's analyzer does not run cleanups */
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-transport “%s” must start with smtp://, smtps:// or maildir:", url);
      return NULL;
    }

  return g_steal_pointer (&self);
}

void
ed_mail_transport_free (EdMailTransport *self)
{
  if (self == NULL)
    return;

  ed_mail_transport_smtp_finalize (self);
  g_free (self->maildir);
  g_free (self->description);
  g_free (self);
}

/**
 * ed_mail_transport_set_timeouts:
 * @self: a transport
 * @connect_timeout_ms: longest wait for a connection, TLS included
 * @timeout_ms: longest time one message may take, connecting included
 */
void
ed_mail_transport_set_timeouts (EdMailTransport *self,
                                guint            connect_timeout_ms,
                                guint            timeout_ms)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (connect_timeout_ms > 0 && timeout_ms > 0);

  self->connect_timeout_ms = connect_timeout_ms;
  self->timeout_ms = timeout_ms;
}

/**
 * ed_mail_transport_set_max_messages_per_connection:
 * @self: a transport
 * @max_messages: messages sent over one SMTP connection before it is
 *   closed and a new one opened; 0 for no limit
 */
void
ed_mail_transport_set_max_messages_per_connection (EdMailTransport *self,
                                                   guint            max_messages)
{
  g_return_if_fail (self != NULL);

  self->max_messages = max_messages;
}

/**
 * ed_mail_transport_get_description:
 *
 * Returns: the transport for logs and the API, without the password
 */
const char *
ed_mail_transport_get_description (EdMailTransport *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->description;
}

/**
 * ed_mail_transport_get_n_connections:
 *
 * Returns: how many SMTP connections the transport has opened
 */
guint
ed_mail_transport_get_n_connections (EdMailTransport *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_connections;
}

/* Something that goes between the angle brackets of MAIL FROM or RCPT TO
 * and into a Return-Path: no spaces, controls or brackets. The empty
 * sender <> of bounces is not for campaigns.
 */
static gboolean
is_envelope_address (const char *address)
{
  if (*address == '\0' || strchr (address, '@') == NULL)
    return FALSE;

  for (const char *p = address; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
      return FALSE;

  return TRUE;
}

/**
 * ed_mail_transport_begin:
 * @self: a transport with no message under way
 * @envelope_from: the bare sender address for MAIL FROM (the Return-Path)
 * @envelope_to: the bare recipient address for RCPT TO
 * @message: the message, CRLF line ends, not dot-stuffed; kept as long
 *   as it is needed
 * @result: (out caller-allocates): what became of the attempt, set when
 *   it is done (what it held before is not freed); free its text with
 *   ed_mail_result_clear()
 *
 * Starts delivering one message without waiting, so that one thread can
 * keep several transports (connections) busy: it collects the sockets
 * ed_mail_transport_add_poll() gives, waits with ed_mail_transport_poll(),
 * and calls ed_mail_transport_step() until that says the message is done.
 * A Maildir transport, or a message that cannot start, is done at once.
 *
 * Returns: %TRUE when the message is under way, %FALSE when it is done
 *   and @result is set
 */
gboolean
ed_mail_transport_begin (EdMailTransport *self,
                         const char      *envelope_from,
                         const char      *envelope_to,
                         GBytes          *message,
                         EdMailResult    *result)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (envelope_from != NULL, FALSE);
  g_return_val_if_fail (envelope_to != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

  *result = (EdMailResult) { ED_MAIL_RESULT_SENT, 0, NULL, FALSE };

  if (!is_envelope_address (envelope_from) || !is_envelope_address (envelope_to))
    {
      result->kind = ED_MAIL_RESULT_PERMANENT;
      result->text = g_strdup ("the envelope address is not one an SMTP command can carry");
      return FALSE;
    }

  switch (self->kind)
    {
    case ED_MAIL_TRANSPORT_SMTP:
      return ed_mail_transport_smtp_begin (self, envelope_from, envelope_to, message, result);
    case ED_MAIL_TRANSPORT_MAILDIR:
      ed_mail_transport_maildir_send (self, envelope_from, envelope_to, message, result);
      g_assert (result->text != NULL);
      return FALSE;
    default:
      g_assert_not_reached ();
    }
}

/**
 * ed_mail_transport_add_poll:
 * @self: a transport
 * @fds: (element-type GPollFD): the sockets to poll for the message under
 *   way are added here
 * @deadline_us: (inout): lowered to the monotonic time by which
 *   ed_mail_transport_step() must be called even if no socket is ready;
 *   -1 for no deadline
 */
void
ed_mail_transport_add_poll (EdMailTransport *self,
                            GArray          *fds,
                            gint64          *deadline_us)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (fds != NULL && deadline_us != NULL);

  if (self->kind == ED_MAIL_TRANSPORT_SMTP)
    ed_mail_transport_smtp_add_poll (self, fds, deadline_us);
}

/**
 * ed_mail_transport_step:
 * @self: a transport with a message under way
 * @fds: (array length=n_fds): the polled sockets, of any transports
 * @n_fds: how many
 *
 * Returns: %TRUE when the message is done, and the result given to
 *   ed_mail_transport_begin() is set
 */
gboolean
ed_mail_transport_step (EdMailTransport *self,
                        const GPollFD   *fds,
                        guint            n_fds)
{
  g_return_val_if_fail (self != NULL && self->kind == ED_MAIL_TRANSPORT_SMTP, TRUE);

  return ed_mail_transport_smtp_step (self, fds, n_fds);
}

/* The longest poll: libcurl always sets a timer while it works, this is
 * only a safety net
 */
#define POLL_MAX_MS 1000

/**
 * ed_mail_transport_poll:
 * @fds: (element-type GPollFD): the sockets ed_mail_transport_add_poll()
 *   gave, of one transport or several
 * @deadline_us: the deadline it gave, or -1
 *
 * Waits until one of @fds is ready or the deadline has come, and sets
 * their revents for ed_mail_transport_step().
 */
void
ed_mail_transport_poll (GArray *fds,
                        gint64  deadline_us)
{
  gint timeout_ms = POLL_MAX_MS;

  g_return_if_fail (fds != NULL);

  if (deadline_us >= 0)
    timeout_ms = (gint) CLAMP ((deadline_us - g_get_monotonic_time () + 999) / 1000, 0, POLL_MAX_MS);
  g_poll ((GPollFD *) fds->data, fds->len, timeout_ms);
}

/**
 * ed_mail_transport_send:
 * @self: a transport
 * @envelope_from: the bare sender address for MAIL FROM (the Return-Path)
 * @envelope_to: the bare recipient address for RCPT TO
 * @message: the message, CRLF line ends, not dot-stuffed
 * @result: (out caller-allocates): what became of the attempt, set whether
 *   or not it succeeds (what it held before is not freed); free its text
 *   with ed_mail_result_clear()
 * @error: return location for an ED_MAIL_ERROR of the result's kind
 *
 * Delivers one message, blocking: call it from a thread of its own, never
 * from the main loop. An SMTP transport keeps its connection open for the
 * next message until it has carried the per-connection maximum.
 *
 * Returns: %TRUE when the message was delivered
 */
gboolean
ed_mail_transport_send (EdMailTransport  *self,
                        const char       *envelope_from,
                        const char       *envelope_to,
                        GBytes           *message,
                        EdMailResult     *result,
                        GError          **error)
{
  EdMailError code;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (ed_mail_transport_begin (self, envelope_from, envelope_to, message, result))
    {
      g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (GPollFD));

      do
        {
          gint64 deadline_us = -1;

          g_array_set_size (fds, 0);
          ed_mail_transport_add_poll (self, fds, &deadline_us);
          ed_mail_transport_poll (fds, deadline_us);
        }
      while (!ed_mail_transport_step (self, (const GPollFD *) fds->data, fds->len));
    }

  g_assert (result->text != NULL);

  switch (result->kind)
    {
    case ED_MAIL_RESULT_SENT:
      return TRUE;
    case ED_MAIL_RESULT_TEMPORARY:
      code = ED_MAIL_ERROR_TEMPORARY;
      break;
    case ED_MAIL_RESULT_THROTTLED:
      code = ED_MAIL_ERROR_THROTTLED;
      break;
    case ED_MAIL_RESULT_PERMANENT:
      code = ED_MAIL_ERROR_PERMANENT;
      break;
    default:
      g_assert_not_reached ();
    }

  if (result->code != 0)
    g_set_error (error, ED_MAIL_ERROR, code, "the mail server answered %u %s", result->code, result->text);
  else
    g_set_error_literal (error, ED_MAIL_ERROR, code, result->text);
  return FALSE;
}

/**
 * ed_mail_transport_disconnect:
 * @self: a transport
 *
 * Closes the SMTP connection (with QUIT) now rather than when the server
 * tires of waiting, e.g. when the queue runs dry. The next message opens
 * a new one.
 */
void
ed_mail_transport_disconnect (EdMailTransport *self)
{
  g_return_if_fail (self != NULL);

  if (self->kind == ED_MAIL_TRANSPORT_SMTP)
    ed_mail_transport_smtp_disconnect (self);
}
