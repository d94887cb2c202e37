/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "ed-email.h"
#include "ed-error.h"
#include "ed-mail-message.h"

/* GMime 3.2 declares no cleanup functions for its types. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeObject, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeDataWrapper, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddress, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFormatOptions, g_mime_format_options_free)

/* Headers this file writes itself; ed_mail_message_set_header() refuses
 * them so that a campaign cannot break the message's structure.
 */
static const char * const managed_headers[] = {
  "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "MIME-Version",
  "List-Unsubscribe", "List-Unsubscribe-Post", "Sender", "Return-Path", NULL,
};

#define DEFAULT_CALENDAR_FILE_NAME "invitation.ics"
#define WRITE_BUFFER_SIZE 4096
/* “List-Unsubscribe: <URL>” in one line of at most 998 characters */
#define UNSUBSCRIBE_URL_MAX (998 - (int) sizeof "List-Unsubscribe: <>" + 1)

struct _EdMailMessage
{
  char   *from_name;
  char   *from_address;
  char   *to_name;
  char   *to_address;
  char   *subject;
  char   *text;
  char   *html;
  char   *unsubscribe_url;
  char   *message_id;
  gint64  date;
  GBytes *calendar;
  char   *calendar_method;
  char   *calendar_file_name;
  /* extra headers: name, value, name, value… */
  GPtrArray *headers;
};

static void
ensure_gmime (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      g_mime_init ();
      g_once_init_leave (&initialized, 1);
    }
}

/* Header text on one line: control characters (a CR or LF from a guest's
 * name would start a header of its own) become spaces.
 */
static char *
to_header_text (const char *text)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (text == NULL)
    return NULL;

  valid = g_utf8_make_valid (text, -1);
  out = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p != '\0'; p++)
    {
      guchar c = *p;

      if (c < 0x20 || c == 0x7f)
        {
          if (out->len > 0 && out->str[out->len - 1] != ' ')
            g_string_append_c (out, ' ');
          continue;
        }
      g_string_append_c (out, c);
    }

  return g_strstrip (g_string_free (out, FALSE));
}

/* Bodies with LF line ends: GMime writes them with CRLF, and a CR left in
 * the text would be encoded as =0D.
 */
static char *
to_body_text (const char *text)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (text == NULL)
    return NULL;

  valid = g_utf8_make_valid (text, -1);
  out = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p != '\0'; p++)
    {
      if (*p == '\r')
        {
          g_string_append_c (out, '\n');
          if (p[1] == '\n')
            p++;
          continue;
        }
      g_string_append_c (out, *p);
    }

  return g_string_free (out, FALSE);
}

static gboolean
is_header_safe_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || *p == '<' || *p == '>')
      return FALSE;

  return TRUE;
}

/* Takes @from_name; the sender is checked already. */
static EdMailMessage *
message_new (char        *from_name,
             const char  *from_address,
             const char  *to_address,
             const char  *to_name,
             GError     **error)
{
  g_autofree char *owned_from_name = from_name;
  g_autoptr(GError) local_error = NULL;
  EdMailMessage *self;

  if (!ed_email_check (to_address, &local_error))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "the recipient address “%s” is not valid: %s", to_address, local_error->message);
      return NULL;
    }

  self = g_new0 (EdMailMessage, 1);
  self->from_name = g_steal_pointer (&owned_from_name);
  self->from_address = g_strdup (from_address);
  self->to_name = to_header_text (to_name);
  self->to_address = g_strdup (to_address);
  self->subject = g_strdup ("");
  self->text = g_strdup ("");
  self->headers = g_ptr_array_new_with_free_func (g_free);
  return self;
}

/**
 * ed_mail_message_new:
 * @from: the sender as in the mail-from setting: `Name <address>` or
 *   `address`
 * @to_address: the guest's address
 * @to_name: (nullable): the guest's name, any Unicode
 * @error: return location for an error when an address is not usable
 *
 * Returns: (transfer full) (nullable): a message with an empty text body
 */
EdMailMessage *
ed_mail_message_new (const char  *from,
                     const char  *to_address,
                     const char  *to_name,
                     GError     **error)
{
  g_autoptr(InternetAddressList) list = NULL;
  g_autoptr(GError) local_error = NULL;
  InternetAddress *address;
  const char *from_address;

  g_return_val_if_fail (from != NULL, NULL);
  g_return_val_if_fail (to_address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ensure_gmime ();

  list = internet_address_list_parse (NULL, from);
  if (list == NULL || internet_address_list_length (list) != 1 ||
      !INTERNET_ADDRESS_IS_MAILBOX (address = internet_address_list_get_address (list, 0)))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "the sender “%s” is not one address such as “Events <events@example.org>”", from);
      return NULL;
    }

  from_address = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address));
  if (!ed_email_check (from_address, &local_error))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "the sender address “%s” is not valid: %s", from_address, local_error->message);
      return NULL;
    }

  return message_new (to_header_text (internet_address_get_name (address)), from_address,
                      to_address, to_name, error);
}

/**
 * ed_mail_message_new_like:
 * @sender: a message whose sender the new one has
 * @to_address: the guest's address
 * @to_name: (nullable): the guest's name, any Unicode
 * @error: return location for an error when @to_address is not usable
 *
 * As ed_mail_message_new() with @sender's `from`, which was checked when
 * @sender was made: a campaign's messages all have one sender, and its
 * parse need not be repeated for each of them.
 *
 * Returns: (transfer full) (nullable): a message with an empty text body
 */
EdMailMessage *
ed_mail_message_new_like (EdMailMessage  *sender,
                          const char     *to_address,
                          const char     *to_name,
                          GError        **error)
{
  g_return_val_if_fail (sender != NULL, NULL);
  g_return_val_if_fail (to_address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return message_new (g_strdup (sender->from_name), sender->from_address, to_address, to_name, error);
}

void
ed_mail_message_free (EdMailMessage *self)
{
  if (self == NULL)
    return;

  g_free (self->from_name);
  g_free (self->from_address);
  g_free (self->to_name);
  g_free (self->to_address);
  g_free (self->subject);
  g_free (self->text);
  g_free (self->html);
  g_free (self->unsubscribe_url);
  g_free (self->message_id);
  g_clear_pointer (&self->calendar, g_bytes_unref);
  g_free (self->calendar_method);
  g_free (self->calendar_file_name);
  g_ptr_array_unref (self->headers);
  g_free (self);
}

/**
 * ed_mail_message_set_subject:
 * @self: a message
 * @subject: the subject, any Unicode; line breaks become spaces
 */
void
ed_mail_message_set_subject (EdMailMessage *self,
                             const char    *subject)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (subject != NULL);

  g_free (self->subject);
  self->subject = to_header_text (subject);
}

/**
 * ed_mail_message_set_text:
 * @self: a message
 * @text: the plain-text body
 */
void
ed_mail_message_set_text (EdMailMessage *self,
                          const char    *text)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (text != NULL);

  g_free (self->text);
  self->text = to_body_text (text);
}

/**
 * ed_mail_message_set_html:
 * @self: a message
 * @html: (nullable): the HTML body, the alternative to the text; %NULL
 *   for none
 */
void
ed_mail_message_set_html (EdMailMessage *self,
                          const char    *html)
{
  g_return_if_fail (self != NULL);

  g_free (self->html);
  self->html = to_body_text (html);
}

/**
 * ed_mail_message_set_list_unsubscribe:
 * @self: a message
 * @url: (nullable): the guest's one-click unsubscribe URL, which gets a
 *   POST with `List-Unsubscribe=One-Click` (RFC 8058); %NULL for none
 * @error: return location for an error when @url is not an http(s) URL
 */
gboolean
ed_mail_message_set_list_unsubscribe (EdMailMessage  *self,
                                      const char     *url,
                                      GError        **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (url != NULL)
    {
      g_autofree char *scheme = g_uri_parse_scheme (url);

      if (scheme == NULL ||
          (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0) ||
          !is_header_safe_ascii (url) ||
          !g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "the unsubscribe link “%s” is not an http or https URL", url);
          return FALSE;
        }
      /* one header line, which may not be longer than 998 characters */
      if (strlen (url) > UNSUBSCRIBE_URL_MAX)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "the unsubscribe link is %zu characters long; a mail header allows %d "
                       "(make public-url shorter)",
                       strlen (url), UNSUBSCRIBE_URL_MAX);
          return FALSE;
        }
    }

  g_free (self->unsubscribe_url);
  self->unsubscribe_url = g_strdup (url);
  return TRUE;
}

/**
 * ed_mail_message_set_calendar:
 * @self: a message
 * @ics: (nullable): an iCalendar object (RFC 5545) to attach, or %NULL
 *   for none
 * @method: (nullable): the iTIP method it uses (its METHOD property,
 *   e.g. `PUBLISH`), or %NULL when it has none
 * @file_name: (nullable): the attachment's name; `invitation.ics` when
 *   %NULL
 *
 * The message becomes multipart/mixed: the body, then the calendar file.
 */
void
ed_mail_message_set_calendar (EdMailMessage *self,
                              GBytes        *ics,
                              const char    *method,
                              const char    *file_name)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->calendar, g_bytes_unref);
  g_clear_pointer (&self->calendar_method, g_free);
  g_clear_pointer (&self->calendar_file_name, g_free);

  if (ics == NULL)
    return;

  self->calendar = g_bytes_ref (ics);
  self->calendar_method = to_header_text (method);
  self->calendar_file_name = to_header_text (file_name != NULL ? file_name : DEFAULT_CALENDAR_FILE_NAME);
}

/**
 * ed_mail_message_set_date:
 * @self: a message
 * @unix_seconds: the Date header; 0 for the time the bytes are made
 */
void
ed_mail_message_set_date (EdMailMessage *self,
                          gint64         unix_seconds)
{
  g_return_if_fail (self != NULL);

  self->date = unix_seconds;
}

/**
 * ed_mail_message_set_message_id:
 * @self: a message
 * @message_id: (nullable): `left@right` without angle brackets, e.g. one
 *   derived from the queue row so that a retry keeps it; %NULL for a new
 *   random one at the sender's domain
 * @error: return location for an error
 */
gboolean
ed_mail_message_set_message_id (EdMailMessage  *self,
                                const char     *message_id,
                                GError        **error)
{
  const char *at;

  g_return_val_if_fail (self != NULL, FALSE);

  if (message_id != NULL)
    {
      at = strchr (message_id, '@');
      if (at == NULL || at == message_id || at[1] == '\0' || strchr (at + 1, '@') != NULL ||
          !is_header_safe_ascii (message_id))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "“%s” is not a message ID such as “part@domain”", message_id);
          return FALSE;
        }
    }

  g_free (self->message_id);
  self->message_id = g_strdup (message_id);
  return TRUE;
}

/**
 * ed_mail_message_set_header:
 * @self: a message
 * @name: a header the message does not set itself, e.g. `Reply-To` or
 *   `X-Eventdesk-Campaign`
 * @value: its value, any Unicode (RFC 2047 encoded when needed)
 * @error: return location for an error
 */
gboolean
ed_mail_message_set_header (EdMailMessage  *self,
                            const char     *name,
                            const char     *value,
                            GError        **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || *p == ':')
      {
        g_set_error (error, ED_ERROR, ED_ERROR_INVALID, "“%s” is not a header name", name);
        return FALSE;
      }

  if (*name == '\0' || g_ascii_strncasecmp (name, "Content-", 8) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID, "“%s” is not a header name", name);
      return FALSE;
    }

  for (guint i = 0; managed_headers[i] != NULL; i++)
    if (g_ascii_strcasecmp (name, managed_headers[i]) == 0)
      {
        g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                     "the header “%s” is set by the message itself", name);
        return FALSE;
      }

  g_ptr_array_add (self->headers, g_strdup (name));
  g_ptr_array_add (self->headers, to_header_text (value));
  return TRUE;
}

/**
 * ed_mail_message_get_envelope_from:
 *
 * Returns: the sender's bare address, for SMTP's MAIL FROM
 */
const char *
ed_mail_message_get_envelope_from (EdMailMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->from_address;
}

/**
 * ed_mail_message_get_envelope_to:
 *
 * Returns: the guest's address, for SMTP's RCPT TO
 */
const char *
ed_mail_message_get_envelope_to (EdMailMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->to_address;
}

static const char *
ensure_message_id (EdMailMessage *self)
{
  if (self->message_id == NULL)
    {
      g_autofree char *uuid = g_uuid_string_random ();
      const char *domain = strrchr (self->from_address, '@') + 1;

      self->message_id = g_strdup_printf ("%s@%s", uuid, domain);
    }

  return self->message_id;
}

/**
 * ed_mail_message_get_message_id:
 *
 * Returns: the Message-ID without angle brackets; a random one is chosen
 *   here if none was set, and kept
 */
const char *
ed_mail_message_get_message_id (EdMailMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return ensure_message_id (self);
}

/* Names are encoded as UTF-8 words; left to itself GMime would pick the
 * smallest charset that fits, ISO-8859-1 for most European names.
 */
static InternetAddress *
new_mailbox (const char *name,
             const char *address)
{
  InternetAddress *mailbox = internet_address_mailbox_new (name != NULL && *name != '\0' ? name : NULL, address);

  internet_address_set_charset (mailbox, "utf-8");
  return mailbox;
}

static void
add_mailbox (InternetAddressList *list,
             const char          *name,
             const char          *address)
{
  g_autoptr(InternetAddress) mailbox = new_mailbox (name, address);

  internet_address_list_add (list, mailbox);
}

/* Whether SMTP can carry @text as it is (RFC 5322, 2.1.1; RFC 2045,
 * 2.7): ASCII, in lines of at most 998 characters.
 */
static gboolean
is_7bit_text (const char *text)
{
  gsize line = 0;

  for (const char *p = text; *p != '\0'; p++)
    {
      if ((guchar) *p >= 0x80)
        return FALSE;
      line = *p == '\n' ? 0 : line + 1;
      if (line > 998)
        return FALSE;
    }

  return TRUE;
}

/* Sets a text part's body: not g_mime_text_part_set_text(), which
 * converts to the smallest charset that fits (ISO-8859-1 for “Zoë”): the
 * bodies stay UTF-8.
 */
static void
set_text_part_content (GMimePart  *part,
                       const char *text)
{
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer (text, strlen (text));
  g_autoptr(GMimeDataWrapper) content = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);

  g_mime_part_set_content (part, content);
  /* 7bit when the text allows it, else quoted-printable: readable in the
   * source and safe for any relay; base64 would hide the line ends that
   * GMime turns into CRLF. Decided by a scan of the text rather than
   * g_mime_part_get_best_content_encoding(), which runs it through a
   * filter stream, for every message of a campaign.
   */
  g_mime_part_set_content_encoding (part, is_7bit_text (text) ? GMIME_CONTENT_ENCODING_7BIT
                                                              : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

static GMimeObject *
new_text_part (const char *subtype,
               const char *text)
{
  GMimeTextPart *part = g_mime_text_part_new_with_subtype (subtype);

  g_mime_text_part_set_charset (part, "utf-8");
  set_text_part_content (GMIME_PART (part), text);

  return GMIME_OBJECT (part);
}

static GMimeObject *
new_calendar_part (EdMailMessage *self)
{
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeDataWrapper) content = NULL;
  GMimePart *part = g_mime_part_new_with_type ("text", "calendar");
  gsize size;
  const char *data = g_bytes_get_data (self->calendar, &size);

  stream = g_mime_stream_mem_new_with_buffer (data, size);
  content = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, content);

  g_mime_object_set_content_type_parameter (GMIME_OBJECT (part), "charset", "utf-8");
  if (self->calendar_method != NULL && *self->calendar_method != '\0')
    g_mime_object_set_content_type_parameter (GMIME_OBJECT (part), "method", self->calendar_method);
  g_mime_object_set_content_type_parameter (GMIME_OBJECT (part), "name", self->calendar_file_name);
  g_mime_object_set_disposition (GMIME_OBJECT (part), GMIME_DISPOSITION_ATTACHMENT);
  g_mime_part_set_filename (part, self->calendar_file_name);
  /* base64 keeps the CRLF line ends RFC 5545 asks for, byte for byte */
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);

  return GMIME_OBJECT (part);
}

static GMimeObject *
build_body (EdMailMessage *self)
{
  g_autoptr(GMimeObject) body = NULL;

  if (self->html != NULL)
    {
      GMimeMultipart *alternative = g_mime_multipart_new_with_subtype ("alternative");
      g_autoptr(GMimeObject) text = new_text_part ("plain", self->text);
      g_autoptr(GMimeObject) html = new_text_part ("html", self->html);

      /* the preferred part goes last (RFC 2046) */
      g_mime_multipart_add (alternative, text);
      g_mime_multipart_add (alternative, html);
      body = GMIME_OBJECT (alternative);
    }
  else
    body = new_text_part ("plain", self->text);

  if (self->calendar != NULL)
    {
      GMimeMultipart *mixed = g_mime_multipart_new_with_subtype ("mixed");
      g_autoptr(GMimeObject) calendar = new_calendar_part (self);

      g_mime_multipart_add (mixed, body);
      g_mime_multipart_add (mixed, calendar);
      return GMIME_OBJECT (mixed);
    }

  return g_steal_pointer (&body);
}

static gboolean
set_date (EdMailMessage  *self,
          GMimeMessage   *message,
          GError        **error)
{
  g_autoptr(GDateTime) date = NULL;

  date = self->date != 0 ? g_date_time_new_from_unix_utc (self->date) : g_date_time_new_now_utc ();
  if (date == NULL)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID, "the message date is out of range");
      return FALSE;
    }
  g_mime_message_set_date (message, date);
  return TRUE;
}

static void
set_message_id (EdMailMessage *self,
                GMimeMessage  *message)
{
  g_autofree char *message_id = g_strdup_printf ("<%s>", ensure_message_id (self));

  /* spelt as RFC 5322 does; g_mime_message_set_message_id() writes “Message-Id” */
  g_mime_object_set_header (GMIME_OBJECT (message), "Message-ID", message_id, NULL);
}

/* Written as it is, on one line: GMime would fold a long link by encoding
 * it as RFC 2047 words, which mail readers do not decode in this header
 * (RFC 2369: no whitespace may be inserted within the brackets either).
 */
static void
set_list_unsubscribe (EdMailMessage *self,
                      GMimeMessage  *message)
{
  g_autofree char *raw = g_strdup_printf (" <%s>\n", self->unsubscribe_url);
  GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
  GMimeHeader *header;

  g_mime_object_set_header (GMIME_OBJECT (message), "List-Unsubscribe", "", NULL);
  header = g_mime_header_list_get_header (headers, "List-Unsubscribe");
  g_assert (header != NULL);
  g_mime_header_set_raw_value (header, raw);
}

/* The whole message, made afresh. */
static GMimeMessage *
build_message (EdMailMessage  *self,
               GError        **error)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeObject) body = NULL;

  message = g_mime_message_new (TRUE);
  add_mailbox (g_mime_message_get_from (message), self->from_name, self->from_address);
  add_mailbox (g_mime_message_get_to (message), self->to_name, self->to_address);
  g_mime_message_set_subject (message, self->subject, "utf-8");
  if (!set_date (self, message, error))
    return NULL;
  set_message_id (self, message);

  if (self->unsubscribe_url != NULL)
    {
      set_list_unsubscribe (self, message);
      g_mime_object_set_header (GMIME_OBJECT (message), "List-Unsubscribe-Post", "List-Unsubscribe=One-Click", NULL);
    }

  for (guint i = 0; i + 1 < self->headers->len; i += 2)
    g_mime_object_set_header (GMIME_OBJECT (message),
                              g_ptr_array_index (self->headers, i),
                              g_ptr_array_index (self->headers, i + 1),
                              "utf-8");

  body = build_body (self);
  g_mime_message_set_mime_part (message, body);

  return g_steal_pointer (&message);
}

static GBytes *
write_message (GMimeMessage  *message,
               GError       **error)
{
  g_autoptr(GMimeFormatOptions) options = NULL;
  g_autoptr(GMimeStream) stream = NULL;
  GByteArray *array;

  options = g_mime_format_options_new ();
  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);

  /* room for a mail-sized message from the start */
  stream = g_mime_stream_mem_new_with_byte_array (g_byte_array_sized_new (WRITE_BUFFER_SIZE));
  if (g_mime_object_write_to_stream (GMIME_OBJECT (message), options, stream) < 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID, "the message could not be written");
      return NULL;
    }

  /* the stream owns the array and frees it with itself: its bytes are
   * taken over rather than copied
   */
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), FALSE);
  return g_byte_array_free_to_bytes (array);
}

/**
 * ed_mail_message_to_bytes:
 * @self: a message
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the message as sent: headers and
 *   body, CRLF line ends, lines of at most 78 characters in the headers
 *   (but for List-Unsubscribe, whose link is not folded: up to 998)
 *   and 76 in encoded bodies
 */
GBytes *
ed_mail_message_to_bytes (EdMailMessage  *self,
                          GError        **error)
{
  g_autoptr(GMimeMessage) message = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  if (!(message = build_message (self, error)))
    return NULL;

  return write_message (message, error);
}

/* A writer keeps the GMime message it wrote last and, for the next one
 * of the same shape (a campaign's messages all have one), only sets what
 * differs from guest to guest: To, Subject, Date, Message-ID,
 * List-Unsubscribe, the bodies and a new boundary. Making and freeing the
 * tree of objects and headers each time took as long as writing it.
 */
struct _EdMailMessageWriter
{
  GMimeMessage *message;
  /* what the kept message was made for */
  char         *from_name;
  char         *from_address;
  gboolean      html;
  gboolean      unsubscribe;
  /* what the kept message says, when it can be the same for the next */
  char         *subject;
  gint64        date;         /* 0: not known */
  /* borrowed from message */
  GMimeMultipart *alternative;
  GMimePart      *text_part;
  GMimePart      *html_part;
};

/**
 * ed_mail_message_writer_new:
 *
 * Returns: (transfer full): a writer, for one thread at a time
 */
EdMailMessageWriter *
ed_mail_message_writer_new (void)
{
  ensure_gmime ();

  return g_new0 (EdMailMessageWriter, 1);
}

static void
writer_forget (EdMailMessageWriter *self)
{
  g_clear_object (&self->message);
  g_clear_pointer (&self->from_name, g_free);
  g_clear_pointer (&self->from_address, g_free);
  g_clear_pointer (&self->subject, g_free);
  self->date = 0;
  self->alternative = NULL;
  self->text_part = NULL;
  self->html_part = NULL;
}

void
ed_mail_message_writer_free (EdMailMessageWriter *self)
{
  if (self == NULL)
    return;

  writer_forget (self);
  g_free (self);
}

/* Whether the kept message has @message's shape: the same sender, the
 * same parts and headers, and nothing that is made anew each time.
 */
static gboolean
writer_fits (EdMailMessageWriter *self,
             EdMailMessage       *message)
{
  return self->message != NULL &&
         message->calendar == NULL && message->headers->len == 0 &&
         (message->html != NULL) == self->html &&
         (message->unsubscribe_url != NULL) == self->unsubscribe &&
         g_strcmp0 (message->from_name, self->from_name) == 0 &&
         g_strcmp0 (message->from_address, self->from_address) == 0;
}

static gboolean
writer_keep (EdMailMessageWriter *self,
             EdMailMessage       *message,
             GMimeMessage        *built)
{
  GMimeObject *body = g_mime_message_get_mime_part (built);

  if (message->calendar != NULL || message->headers->len > 0)
    return FALSE;

  self->message = g_object_ref (built);
  self->from_name = g_strdup (message->from_name);
  self->from_address = g_strdup (message->from_address);
  self->html = message->html != NULL;
  self->unsubscribe = message->unsubscribe_url != NULL;
  self->subject = g_strdup (message->subject);
  self->date = message->date;
  if (self->html)
    {
      self->alternative = GMIME_MULTIPART (body);
      self->text_part = GMIME_PART (g_mime_multipart_get_part (self->alternative, 0));
      self->html_part = GMIME_PART (g_mime_multipart_get_part (self->alternative, 1));
    }
  else
    self->text_part = GMIME_PART (body);

  return TRUE;
}

/* A boundary of the shape GMime makes (“=-” and 20 base64 characters),
 * from GLib's generator rather than from GMime's, which opens and reads
 * /dev/urandom for each one. It only has to be unlike the bodies.
 */
static void
set_new_boundary (GMimeMultipart *multipart)
{
  guint32 random[4];
  g_autofree char *encoded = NULL;
  g_autofree char *boundary = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (random); i++)
    random[i] = g_random_int ();
  /* 15 bytes: 20 characters, no padding */
  encoded = g_base64_encode ((const guchar *) random, 15);
  boundary = g_strconcat ("=-", encoded, NULL);
  g_mime_multipart_set_boundary (multipart, boundary);
}

/**
 * ed_mail_message_writer_write:
 * @self: a writer
 * @message: a message
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the same bytes as
 *   ed_mail_message_to_bytes() (but for the multipart boundary, which is
 *   random either way)
 */
GBytes *
ed_mail_message_writer_write (EdMailMessageWriter  *self,
                              EdMailMessage        *message,
                              GError              **error)
{
  g_autoptr(GMimeMessage) built = NULL;
  g_autoptr(InternetAddress) mailbox = NULL;
  InternetAddressList *to;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  if (!writer_fits (self, message))
    {
      writer_forget (self);
      if (!(built = build_message (message, error)))
        return NULL;
      writer_keep (self, message, built);
      return write_message (built, error);
    }

  /* the one recipient replaced in place: the To header is encoded once,
   * where a clear and an add would encode it twice
   */
  to = g_mime_message_get_to (self->message);
  g_assert (internet_address_list_length (to) == 1);
  mailbox = new_mailbox (message->to_name, message->to_address);
  internet_address_list_set_address (to, 0, mailbox);
  /* a campaign's subject, and the date within a second, are often the
   * same as the last message's: not encoded and formatted again
   */
  if (g_strcmp0 (message->subject, self->subject) != 0)
    {
      g_mime_message_set_subject (self->message, message->subject, "utf-8");
      g_free (self->subject);
      self->subject = g_strdup (message->subject);
    }
  if (message->date == 0 || message->date != self->date)
    {
      self->date = 0;
      if (!set_date (message, self->message, error))
        return NULL;
      self->date = message->date;
    }
  set_message_id (message, self->message);
  if (self->unsubscribe)
    set_list_unsubscribe (message, self->message);

  set_text_part_content (self->text_part, message->text);
  if (self->html)
    {
      set_text_part_content (self->html_part, message->html);
      set_new_boundary (self->alternative);
    }

  return write_message (self->message, error);
}
