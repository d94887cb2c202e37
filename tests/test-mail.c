/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>
#include <sys/stat.h>

#include "ed-config.h"
#include "ed-error.h"
#include "ed-mail-message.h"
#include "ed-mail-transport.h"
#include "ed-mail-transport-private.h"
#include "ed-template.h"
#include "ed-template-fields.h"
#include "ed-test-smtp.h"

#define FROM "Sommerfest Köln <einladung@events.example.org>"
#define FROM_ADDRESS "einladung@events.example.org"
#define GUEST_NAME "Zoë Ørsted"
#define GUEST_ADDRESS "zoe@example.org"
#define SUBJECT "Einladung: Sommerfest in Köln"
/* as long as a real link: longer than a header line may be, so that it
 * would be folded (and encoded) if it were written as other headers are
 */
#define UNSUBSCRIBE_URL "https://events.example.org/u/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." \
  "eyJldnQiOjEsImV4cCI6MTkzNjAyOTYwMCwiZ3N0Ijo0LCJpYXQiOjE3OTU4NzI5MzMsInR5cCI6InJzdnAiLCJ2ZXIiOjF9." \
  "7Ihh-qQ1D96DEx4jElWP6tkSRNaEptJr5x4JDtL5vzE"
/* $EVENTDESK_SMTP_PASSWORD for the whole run; the capture server wants it */
#define ENV_PASSWORD "s3cret-Pa55 ünï"
#define MESSAGE_DATE 1783182600  /* Sat, 04 Jul 2026 16:30:00 +0000 */

/* Messages over one reused connection to smtp-sink. */
#define SINK_MESSAGES 200

static const char * const calendar_text =
  "BEGIN:VCALENDAR\r\n"
  "VERSION:2.0\r\n"
  "PRODID:-//Eventdesk//EN\r\n"
  "METHOD:PUBLISH\r\n"
  "BEGIN:VEVENT\r\n"
  "UID:event-7-guest-42@events.example.org\r\n"
  "DTSTAMP:20260601T120000Z\r\n"
  "DTSTART:20260704T163000Z\r\n"
  "SUMMARY:Sommerfest in Köln\r\n"
  "END:VEVENT\r\n"
  "END:VCALENDAR\r\n";

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)

/* ---- messages ---- */

/* The text and HTML bodies of the default invitation, rendered for a guest
 * whose name is an attack on the HTML part.
 */
static void
render_invitation (const char  *first_name,
                   char       **text,
                   char       **html)
{
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autoptr(EdGuest) guest = ed_guest_new ();
  g_autoptr(EdTemplateValues) values = NULL;
  g_autoptr(EdTemplate) text_template = NULL;
  g_autoptr(EdTemplate) html_template = NULL;
  g_autofree char *text_path = g_test_build_filename (G_TEST_DIST, "..", "data", "mail", "de", "invitation.txt", NULL);
  g_autofree char *html_path = g_test_build_filename (G_TEST_DIST, "..", "data", "mail", "de", "invitation.html", NULL);
  g_autofree char *text_source = NULL;
  g_autofree char *html_source = NULL;

  g_assert_true (g_file_get_contents (text_path, &text_source, NULL, NULL));
  g_assert_true (g_file_get_contents (html_path, &html_source, NULL, NULL));
  text_template = ed_template_new (text_source, ed_template_fields_get_names (), NULL);
  html_template = ed_template_new (html_source, ed_template_fields_get_names (), NULL);
  g_assert_nonnull (text_template);
  g_assert_nonnull (html_template);

  event->name = g_strdup ("Sommerfest in Köln");
  event->venue = g_strdup ("Rheinpark, Köln");
  event->description = g_strdup ("Musik, Grillgut & Kölsch.\n.\nEine Zeile mit einem Punkt davor.");
  g_free (event->timezone);
  event->timezone = g_strdup ("Europe/Berlin");
  event->starts_at = MESSAGE_DATE;
  guest->email = g_strdup (GUEST_ADDRESS);
  guest->first_name = g_strdup (first_name);
  guest->last_name = g_strdup ("Ørsted");

  values = ed_template_values_new (event);
  ed_template_values_set_guest (values, guest, "https://events.example.org/r/abc?x=1&y=2", UNSUBSCRIBE_URL);
  *text = ed_template_render (text_template, ed_template_values_lookup, values, FALSE);
  *html = ed_template_render (html_template, ed_template_values_lookup, values, TRUE);
}

static EdMailMessage *
make_message (const char *to_address,
              const char *to_name,
              const char *text,
              const char *html)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EdMailMessage) message = ed_mail_message_new (FROM, to_address, to_name, &error);

  g_assert_no_error (error);
  ed_mail_message_set_subject (message, SUBJECT);
  ed_mail_message_set_text (message, text);
  ed_mail_message_set_html (message, html);
  ed_mail_message_set_date (message, MESSAGE_DATE);
  g_assert_true (ed_mail_message_set_list_unsubscribe (message, UNSUBSCRIBE_URL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&message);
}

static char *
part_text (GMimeObject *object)
{
  g_assert_true (GMIME_IS_TEXT_PART (object));
  return g_mime_text_part_get_text (GMIME_TEXT_PART (object));
}

/* Line ends are CRLF, nothing else; lines are short; all is 7-bit. */
static void
assert_wire_format (GBytes *bytes)
{
  gsize size;
  const guchar *data = g_bytes_get_data (bytes, &size);
  gsize line_start = 0;

  g_assert_cmpuint (size, >, 0);
  for (gsize i = 0; i < size; i++)
    {
      g_assert_cmpuint (data[i], <, 0x80);
      g_assert_cmpuint (data[i], !=, 0);
      if (data[i] == '\r')
        g_assert_true (i + 1 < size && data[i + 1] == '\n');
      if (data[i] == '\n')
        {
          g_assert_true (i > 0 && data[i - 1] == '\r');
          g_assert_cmpuint (i - line_start, <=, 998);
          line_start = i + 1;
        }
    }
  g_assert_true (data[size - 1] == '\n');
}

/* The header's value as written, unfolded and trimmed; NULL when absent. */
static char *
raw_header (GMimeObject *object,
            const char  *name)
{
  GMimeHeader *header = g_mime_header_list_get_header (g_mime_object_get_header_list (object), name);
  g_autoptr(GString) value = NULL;

  if (header == NULL)
    return NULL;

  value = g_string_new (g_mime_header_get_raw_value (header));
  g_string_replace (value, "\r\n", "", 0);
  g_string_replace (value, "\n", "", 0);
  return g_strstrip (g_string_free (g_steal_pointer (&value), FALSE));
}

/* Whether the raw header has an RFC 2047 encoded word in UTF-8. */
static gboolean
has_utf8_encoded_word (GMimeObject *object,
                       const char  *name)
{
  g_autofree char *value = raw_header (object, name);
  g_autofree char *lower = value != NULL ? g_ascii_strdown (value, -1) : NULL;

  return lower != NULL && strstr (lower, "=?utf-8?") != NULL;
}

static void
assert_raw_header (GMimeObject *object,
                   const char  *name,
                   const char  *expected)
{
  g_autofree char *value = raw_header (object, name);

  g_assert_cmpstr (value, ==, expected);
}

/* What every invitation must look like to a mail reader, parsed back with
 * GMime.
 */
static void
check_invitation_with_gmime (GBytes     *bytes,
                             const char *text,
                             const char *html,
                             gboolean    with_calendar)
{
  g_autoptr(GMimeMessage) parsed = ed_test_parse_with_gmime (bytes);
  GMimeObject *object = GMIME_OBJECT (parsed);
  InternetAddressList *to = g_mime_message_get_to (parsed);
  InternetAddressList *from = g_mime_message_get_from (parsed);
  InternetAddress *address;
  GMimeObject *body = g_mime_message_get_mime_part (parsed);
  GMimeObject *alternative;
  g_autofree char *parsed_text = NULL;
  g_autofree char *parsed_html = NULL;
  GDateTime *date;

  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, SUBJECT);
  /* non-ASCII headers are RFC 2047 encoded words */
  g_assert_true (has_utf8_encoded_word (object, "Subject"));
  g_assert_true (has_utf8_encoded_word (object, "To"));
  g_assert_true (has_utf8_encoded_word (object, "From"));

  g_assert_cmpint (internet_address_list_length (to), ==, 1);
  address = internet_address_list_get_address (to, 0);
  g_assert_cmpstr (internet_address_get_name (address), ==, GUEST_NAME);
  g_assert_cmpstr (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)), ==, GUEST_ADDRESS);
  address = internet_address_list_get_address (from, 0);
  g_assert_cmpstr (internet_address_get_name (address), ==, "Sommerfest Köln");
  g_assert_cmpstr (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)), ==, FROM_ADDRESS);

  date = g_mime_message_get_date (parsed);
  g_assert_nonnull (date);
  g_assert_cmpint (g_date_time_to_unix (date), ==, MESSAGE_DATE);
  assert_raw_header (object, "Date", "Sat, 04 Jul 2026 16:30:00 +0000");
  g_assert_true (g_str_has_suffix (g_mime_message_get_message_id (parsed), "@events.example.org"));
  assert_raw_header (object, "List-Unsubscribe", "<" UNSUBSCRIBE_URL ">");
  assert_raw_header (object, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
  assert_raw_header (object, "MIME-Version", "1.0");

  if (with_calendar)
    {
      GMimeObject *calendar;
      GMimeDataWrapper *content;
      g_autoptr(GMimeStream) decoded = g_mime_stream_mem_new ();
      GByteArray *array;

      g_assert_true (GMIME_IS_MULTIPART (body));
      g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (body), "multipart", "mixed"));
      g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (body)), ==, 2);
      alternative = g_mime_multipart_get_part (GMIME_MULTIPART (body), 0);
      calendar = g_mime_multipart_get_part (GMIME_MULTIPART (body), 1);

      g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (calendar), "text", "calendar"));
      g_assert_cmpstr (g_mime_object_get_content_type_parameter (calendar, "method"), ==, "PUBLISH");
      g_assert_cmpstr (g_mime_object_get_content_type_parameter (calendar, "charset"), ==, "utf-8");
      g_assert_cmpstr (g_mime_object_get_disposition (calendar), ==, "attachment");
      g_assert_cmpstr (g_mime_part_get_filename (GMIME_PART (calendar)), ==, "sommerfest.ics");

      /* the calendar comes back byte for byte, CRLF and UTF-8 included */
      content = g_mime_part_get_content (GMIME_PART (calendar));
      g_mime_data_wrapper_write_to_stream (content, decoded);
      array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (decoded));
      g_assert_cmpmem (array->data, array->len, calendar_text, strlen (calendar_text));
    }
  else
    alternative = body;

  g_assert_true (GMIME_IS_MULTIPART (alternative));
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (alternative), "multipart", "alternative"));
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (alternative)), ==, 2);

  {
    GMimeObject *text_part = g_mime_multipart_get_part (GMIME_MULTIPART (alternative), 0);
    GMimeObject *html_part = g_mime_multipart_get_part (GMIME_MULTIPART (alternative), 1);

    g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (text_part), "text", "plain"));
    g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (html_part), "text", "html"));
    g_assert_cmpstr (g_mime_object_get_content_type_parameter (text_part, "charset"), ==, "utf-8");
    g_assert_cmpstr (g_mime_object_get_content_type_parameter (html_part, "charset"), ==, "utf-8");

    parsed_text = part_text (text_part);
    parsed_html = part_text (html_part);
  }

  /* GMime gives the bodies back with the CRLF of the wire */
  {
    g_autoptr(GString) text_crlf = g_string_new (text);
    g_autoptr(GString) html_crlf = g_string_new (html);

    g_string_replace (text_crlf, "\n", "\r\n", 0);
    g_string_replace (html_crlf, "\n", "\r\n", 0);
    g_assert_cmpstr (parsed_text, ==, text_crlf->str);
    g_assert_cmpstr (parsed_html, ==, html_crlf->str);
  }
}

static void
test_message_structure (void)
{
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  render_invitation ("<script>alert('x')</script>", &text, &html);
  /* the guest's name is escaped in the HTML, as is, in the text */
  g_assert_nonnull (strstr (html, "Hallo &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;,"));
  g_assert_null (strstr (html, "<script>"));
  g_assert_nonnull (strstr (text, "Hallo <script>alert('x')</script>,"));

  message = make_message (GUEST_ADDRESS, GUEST_NAME, text, html);
  g_assert_true (ed_mail_message_set_message_id (message, "campaign-3.guest-42@events.example.org", &error));
  g_assert_no_error (error);
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);

  assert_wire_format (bytes);
  check_invitation_with_gmime (bytes, text, html, FALSE);

  g_assert_cmpstr (ed_mail_message_get_envelope_from (message), ==, FROM_ADDRESS);
  g_assert_cmpstr (ed_mail_message_get_envelope_to (message), ==, GUEST_ADDRESS);
  g_assert_cmpstr (ed_mail_message_get_message_id (message), ==, "campaign-3.guest-42@events.example.org");
  {
    g_autoptr(GMimeMessage) parsed = ed_test_parse_with_gmime (bytes);

    assert_raw_header (GMIME_OBJECT (parsed), "Message-ID", "<campaign-3.guest-42@events.example.org>");
  }
}

static void
test_message_calendar (void)
{
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) ics = g_bytes_new_static (calendar_text, strlen (calendar_text));
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  render_invitation ("Zoë", &text, &html);
  message = make_message (GUEST_ADDRESS, GUEST_NAME, text, html);
  ed_mail_message_set_calendar (message, ics, "PUBLISH", "sommerfest.ics");
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);

  assert_wire_format (bytes);
  check_invitation_with_gmime (bytes, text, html, TRUE);
}

static void
test_message_text_only (void)
{
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  GMimeObject *part;

  /* ASCII, no name, no unsubscribe link, no date: the plainest message */
  message = ed_mail_message_new ("events@example.org", "ann@example.org", NULL, &error);
  g_assert_no_error (error);
  ed_mail_message_set_subject (message, "Reminder");
  ed_mail_message_set_text (message, "See you\r\non Saturday.\r\n");
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);
  assert_wire_format (bytes);

  parsed = ed_test_parse_with_gmime (bytes);
  part = g_mime_message_get_mime_part (parsed);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (part), "text", "plain"));
  g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==, GMIME_CONTENT_ENCODING_7BIT);
  body = part_text (part);
  g_assert_cmpstr (body, ==, "See you\r\non Saturday.\r\n");
  assert_raw_header (GMIME_OBJECT (parsed), "List-Unsubscribe", NULL);
  assert_raw_header (GMIME_OBJECT (parsed), "List-Unsubscribe-Post", NULL);
  assert_raw_header (GMIME_OBJECT (parsed), "To", "ann@example.org");
  assert_raw_header (GMIME_OBJECT (parsed), "From", "events@example.org");
  g_assert_true (g_str_has_suffix (g_mime_message_get_message_id (parsed), "@example.org"));
  /* a fresh date */
  g_assert_cmpint (ABS (g_date_time_to_unix (g_mime_message_get_date (parsed)) - g_get_real_time () / G_USEC_PER_SEC), <, 60);
}

/* Text SMTP cannot carry as it is (not ASCII, or a line over 998
 * characters) is quoted-printable and comes back intact.
 */
static void
test_message_encodings (void)
{
  g_autofree char *long_line = g_strnfill (1200, 'a');
  const char *texts[] = { "Grüße an Zoë\n", long_line };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(EdMailMessage) message = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GMimeMessage) parsed = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *body = NULL;
      GMimeObject *part;

      message = ed_mail_message_new ("events@example.org", "ann@example.org", NULL, &error);
      g_assert_no_error (error);
      ed_mail_message_set_subject (message, "Reminder");
      ed_mail_message_set_text (message, texts[i]);
      bytes = ed_mail_message_to_bytes (message, &error);
      g_assert_no_error (error);
      assert_wire_format (bytes);

      parsed = ed_test_parse_with_gmime (bytes);
      part = g_mime_message_get_mime_part (parsed);
      g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==,
                       GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
      body = part_text (part);
      g_assert_true (g_str_has_prefix (body, i == 0 ? "Grüße an Zoë" : long_line));
    }
}

/* The boundaries of @bytes, which are random, replaced by one fixed
 * string.
 */
static char *
without_boundaries (GBytes *bytes)
{
  g_autoptr(GRegex) regex = g_regex_new ("=-[A-Za-z0-9+/=]+", 0, 0, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  return g_regex_replace_literal (regex, text, -1, 0, "=-BOUNDARY", 0, NULL);
}

/* A writer that keeps its GMime message from one message to the next
 * writes each exactly as a message made afresh, whatever the guests and
 * shapes come in turn.
 */
static void
test_message_writer (void)
{
  g_autoptr(EdMailMessageWriter) writer = ed_mail_message_writer_new ();
  g_autoptr(GBytes) ics = g_bytes_new_static (calendar_text, strlen (calendar_text));
  g_autofree char *long_line = g_strnfill (1200, 'a');
  const struct
  {
    const char *to_name;
    const char *text;
    const char *html;
    gboolean    unsubscribe;
    gboolean    calendar;
    gboolean    header;
  } messages[] = {
    { "Ann Example", "Hello Ann\n", "<p>Hello Ann</p>", TRUE, FALSE, FALSE },
    { "Zoë Ørsted", "Grüße an Zoë\n", "<p>Grüße an Zoë</p>", TRUE, FALSE, FALSE },
    { NULL, long_line, "<p>long</p>", TRUE, FALSE, FALSE },
    { "Bob", "Hello Bob\n", "<p>Hello Bob</p>", TRUE, FALSE, FALSE },
    { "Bob", "Hello Bob\n", NULL, TRUE, FALSE, FALSE },
    { "Carl", "Hello Carl\n", NULL, FALSE, FALSE, FALSE },
    { "Dora", "Hello Dora\n", "<p>Hello Dora</p>", FALSE, TRUE, FALSE },
    { "Eve", "Hello Eve\n", "<p>Hello Eve</p>", TRUE, FALSE, TRUE },
    { "Fay Ünal", "Hello Fay\n", "<p>Hello Fay</p>", TRUE, FALSE, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      g_autoptr(EdMailMessage) message = NULL;
      g_autoptr(GBytes) fresh = NULL;
      g_autoptr(GBytes) written = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *fresh_text = NULL;
      g_autofree char *written_text = NULL;
      /* two by two the same subject and date, as a campaign's messages
       * mostly are
       */
      g_autofree char *subject = g_strdup_printf ("Invitation %u from Zoë", i / 2);
      g_autofree char *id = g_strdup_printf ("%u.3.1700000000.tag@example.org", i);

      message = ed_mail_message_new (FROM, GUEST_ADDRESS, messages[i].to_name, &error);
      g_assert_no_error (error);
      ed_mail_message_set_subject (message, subject);
      ed_mail_message_set_text (message, messages[i].text);
      ed_mail_message_set_html (message, messages[i].html);
      ed_mail_message_set_date (message, MESSAGE_DATE + i / 2);
      g_assert_true (ed_mail_message_set_message_id (message, id, &error));
      if (messages[i].unsubscribe)
        g_assert_true (ed_mail_message_set_list_unsubscribe (message, UNSUBSCRIBE_URL, &error));
      if (messages[i].calendar)
        ed_mail_message_set_calendar (message, ics, "PUBLISH", NULL);
      if (messages[i].header)
        g_assert_true (ed_mail_message_set_header (message, "X-Eventdesk-Campaign", "3", &error));
      g_assert_no_error (error);

      fresh = ed_mail_message_to_bytes (message, &error);
      g_assert_no_error (error);
      written = ed_mail_message_writer_write (writer, message, &error);
      g_assert_no_error (error);

      assert_wire_format (written);
      fresh_text = without_boundaries (fresh);
      written_text = without_boundaries (written);
      g_assert_cmpstr (written_text, ==, fresh_text);
      /* each message its own boundary */
      if (messages[i].html != NULL)
        g_assert_false (g_bytes_equal (fresh, written));
    }
}

static void
test_message_header_injection (void)
{
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(GError) error = NULL;
  GMimeHeaderList *headers;

  /* values from guests and templates must not start headers of their own */
  message = ed_mail_message_new (FROM, GUEST_ADDRESS, "Zoë\r\nBcc: victim@example.org", &error);
  g_assert_no_error (error);
  ed_mail_message_set_subject (message, "Hello\r\nBcc: victim@example.org\nX-Evil: 1");
  ed_mail_message_set_text (message, "body");
  g_assert_true (ed_mail_message_set_header (message, "X-Eventdesk-Campaign", "3\r\nX-Evil: 2", &error));
  g_assert_no_error (error);
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);
  assert_wire_format (bytes);

  parsed = ed_test_parse_with_gmime (bytes);
  headers = g_mime_object_get_header_list (GMIME_OBJECT (parsed));
  g_assert_false (g_mime_header_list_contains (headers, "Bcc"));
  g_assert_false (g_mime_header_list_contains (headers, "X-Evil"));
  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, "Hello Bcc: victim@example.org X-Evil: 1");
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (g_mime_message_get_to (parsed), 0)),
                   ==, "Zoë Bcc: victim@example.org");
  assert_raw_header (GMIME_OBJECT (parsed), "X-Eventdesk-Campaign", "3 X-Evil: 2");
}

static void
test_message_invalid (void)
{
  g_autoptr(EdMailMessage) message = NULL;
  struct
  {
    const char *from;
    const char *to;
    const char *message;
  } addresses[] = {
    { "not an address", GUEST_ADDRESS, "the sender" },
    { "a@example.org, b@example.org", GUEST_ADDRESS, "is not one address" },
    { "Events <events@localhost>", GUEST_ADDRESS, "the sender address" },
    { FROM, "zoe@example.org\r\nBcc: x@example.org", "the recipient address" },
    { FROM, "no-at-sign", "the recipient address" },
  };
  const char *bad_urls[] = {
    "mailto:unsubscribe@example.org", "https://example.org/u/a b", "https://example.org/u/<x>",
    "https://example.org/u/ä", "javascript:alert(1)", "",
  };
  const char *bad_ids[] = { "no-at", "@example.org", "a@", "a b@example.org", "<a@example.org>", "a@b@c" };
  const char *bad_headers[] = { "Subject", "to", "Message-ID", "Content-Type", "List-Unsubscribe", "Bad Name", "A:B", "" };

  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EdMailMessage) bad = ed_mail_message_new (addresses[i].from, addresses[i].to, NULL, &error);

      g_assert_null (bad);
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, addresses[i].message));
    }

  message = ed_mail_message_new (FROM, GUEST_ADDRESS, NULL, NULL);
  g_assert_nonnull (message);

  for (guint i = 0; i < G_N_ELEMENTS (bad_urls); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (ed_mail_message_set_list_unsubscribe (message, bad_urls[i], &error));
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
    }
  /* a link that would not fit in one header line (998 characters) */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) url = g_string_new ("https://events.example.org/u/");
    while (url->len < 978)
      g_string_append_c (url, 'a');
    g_assert_true (ed_mail_message_set_list_unsubscribe (message, url->str, &error));
    g_assert_no_error (error);
    g_string_append_c (url, 'a');
    g_assert_false (ed_mail_message_set_list_unsubscribe (message, url->str, &error));
    g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "979 characters long"));
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (ed_mail_message_set_message_id (message, bad_ids[i], &error));
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_headers); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (ed_mail_message_set_header (message, bad_headers[i], "x", &error));
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
    }
}

/* ---- transports ---- */

static EdMailTransport *
new_transport (const char *url,
               const char *password)
{
  g_autoptr(GError) error = NULL;
  EdMailTransport *transport = ed_mail_transport_new (url, password, &error);

  g_assert_no_error (error);
  g_assert_nonnull (transport);
  return transport;
}

static GBytes *
invitation_bytes (const char *to_address,
                  const char *to_name,
                  const char *first_name)
{
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *bytes;

  render_invitation (first_name, &text, &html);
  message = make_message (to_address, to_name, text, html);
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);
  return bytes;
}

static void
assert_sent (EdMailTransport *transport,
             const char      *to,
             GBytes          *bytes,
             EdMailResult    *result)
{
  g_autoptr(GError) error = NULL;

  /* @result may hold an earlier attempt's text, which send() does not free */
  ed_mail_result_clear (result);
  if (!ed_mail_transport_send (transport, FROM_ADDRESS, to, bytes, result, &error))
    g_error ("sending to %s failed: %s", to, error->message);
  g_assert_cmpint (result->kind, ==, ED_MAIL_RESULT_SENT);
}

static void
test_transport_urls (void)
{
  struct
  {
    const char *url;
    const char *password;
    const char *description;
  } good[] = {
    { "smtp://mail.example.org", NULL, "smtp://mail.example.org (STARTTLS when offered)" },
    { "smtp://mail.example.org:587?starttls=required", NULL, "smtp://mail.example.org:587 (STARTTLS required)" },
    { "smtp://127.0.0.1:2525?starttls=off&helo=events.example.org&max-messages=0", NULL, "smtp://127.0.0.1:2525 (STARTTLS off)" },
    { "smtp://events%40example.org@mail.example.org:587", "s3cret-Pa55", "smtp://mail.example.org:587 (STARTTLS required) as events@example.org" },
    { "smtp://relay@[::1]:25?starttls=off", "s3cret-Pa55", "smtp://[::1]:25 (STARTTLS off) as relay" },
    { "smtps://user@smtp.example.org:465", "s3cret-Pa55", "smtps://smtp.example.org:465 as user" },
    { "maildir:/var/mail/eventdesk", NULL, "maildir:/var/mail/eventdesk" },
  };
  struct
  {
    const char *url;
    const char *password;
    const char *message;
  } bad[] = {
    { "smtp://user:s3cret-Pa55@mail.example.org", NULL, "must not contain the password" },
    { "smtp://mail.example.org?tls=yes", NULL, "unknown parameter “tls”" },
    { "smtp://mail.example.org?starttls=maybe", NULL, "starttls must be auto, required or off" },
    { "smtps://mail.example.org?starttls=required", NULL, "does not apply to smtps://" },
    { "smtp://user@mail.example.org?starttls=off", "s3cret-Pa55", "only allowed to this machine" },
    { "smtp://mail.example.org", "s3cret-Pa55", "names no user" },
    { "smtp://mail.example.org/path", NULL, "has no path" },
    { "smtp://mail.example.org?max-messages=many", NULL, "max-messages must be a whole number" },
    { "smtp://mail.example.org?ca-file=/nonexistent/ca.pem", NULL, "is not a file" },
    { "smtp://", NULL, "names no server" },
    { "maildir:", NULL, "names no folder" },
    { "ftp://mail.example.org", NULL, "must start with smtp://, smtps:// or maildir:" },
    { "/var/mail", NULL, "must start with" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EdMailTransport) transport = ed_mail_transport_new (good[i].url, good[i].password, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (ed_mail_transport_get_description (transport), ==, good[i].description);
      g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 0);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EdMailTransport) transport = ed_mail_transport_new (bad[i].url, bad[i].password, &error);

      g_assert_null (transport);
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("%s: expected an error with “%s”, got “%s”", bad[i].url, bad[i].message, error->message);
      /* the password never shows */
      g_assert_null (strstr (error->message, "s3cret-Pa55"));
    }
}

static void
test_transport_config (void)
{
  g_autofree char *dir = g_dir_make_tmp ("eventdesk-test-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "eventdeskd.conf", NULL);
  struct
  {
    const char *keys;
    const char *message;
  } cases[] = {
    { "mail-transport=smtp://relay@mail.example.org:587\nmail-password=config-Pa55\n", NULL },
    { "mail-transport=maildir:/var/mail/eventdesk\n", NULL },
    { "mail-transport=smtp://relay:config-Pa55@mail.example.org\n", "must not contain the password" },
    { "mail-transport=smtp://mail.example.org\nmail-password=config-Pa55\n", "names no user" },
    { "mail-transport=smtp://mail.example.org?starttls=sometimes\n", "starttls must be" },
    { "mail-transport=pop3://mail.example.org\n", "must start with smtp://" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *contents = g_strconcat ("[eventdeskd]\n", cases[i].keys, NULL);
      g_autoptr(EdConfig) config = ed_config_new ();
      g_autoptr(GError) error = NULL;

      g_assert_true (g_file_set_contents (path, contents, -1, NULL));
      g_assert_true (ed_config_load_file (config, path, &error));
      g_assert_no_error (error);

      if (cases[i].message == NULL)
        {
          g_assert_true (ed_config_validate (config, &error));
          g_assert_no_error (error);
          if (strstr (cases[i].keys, "mail-password") != NULL)
            g_assert_cmpstr (config->mail_password, ==, "config-Pa55");
        }
      else
        {
          g_assert_false (ed_config_validate (config, &error));
          g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
          g_assert_nonnull (strstr (error->message, cases[i].message));
          g_assert_null (strstr (error->message, "config-Pa55"));
        }
    }

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_transport_classify (void)
{
  struct
  {
    guint            code;
    EdSmtpStage      stage;
    EdMailResultKind kind;
  } cases[] = {
    { 250, ED_SMTP_STAGE_MESSAGE, ED_MAIL_RESULT_SENT },
    { 421, ED_SMTP_STAGE_GREETING, ED_MAIL_RESULT_THROTTLED },
    { 421, ED_SMTP_STAGE_RCPT, ED_MAIL_RESULT_THROTTLED },
    { 451, ED_SMTP_STAGE_MESSAGE, ED_MAIL_RESULT_THROTTLED },
    { 452, ED_SMTP_STAGE_RCPT, ED_MAIL_RESULT_THROTTLED },
    { 450, ED_SMTP_STAGE_RCPT, ED_MAIL_RESULT_TEMPORARY },
    { 454, ED_SMTP_STAGE_STARTTLS, ED_MAIL_RESULT_TEMPORARY },
    { 550, ED_SMTP_STAGE_RCPT, ED_MAIL_RESULT_PERMANENT },
    { 553, ED_SMTP_STAGE_MAIL, ED_MAIL_RESULT_PERMANENT },
    { 554, ED_SMTP_STAGE_DATA, ED_MAIL_RESULT_PERMANENT },
    { 552, ED_SMTP_STAGE_MESSAGE, ED_MAIL_RESULT_PERMANENT },
    /* not the message's fault: a wrong password must not fail every guest */
    { 535, ED_SMTP_STAGE_AUTH, ED_MAIL_RESULT_TEMPORARY },
    { 554, ED_SMTP_STAGE_GREETING, ED_MAIL_RESULT_TEMPORARY },
    { 530, ED_SMTP_STAGE_HELLO, ED_MAIL_RESULT_TEMPORARY },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (ed_mail_classify_reply (cases[i].code, cases[i].stage), ==, cases[i].kind);

  /* envelope addresses that would smuggle a command: refused before any connection */
  {
    g_autoptr(EdMailTransport) transport = new_transport ("smtp://127.0.0.1:1", NULL);
    g_autoptr(GBytes) bytes = g_bytes_new_static ("Subject: x\r\n\r\nx\r\n", 17);
    const char *bad[] = { "a@example.org>\r\nRSET", "a b@example.org", "", "no-at-sign", "<a@example.org>" };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_auto(EdMailResult) result = { 0 };
        g_autoptr(GError) error = NULL;

        g_assert_false (ed_mail_transport_send (transport, bad[i], GUEST_ADDRESS, bytes, &result, &error));
        g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_PERMANENT);
        g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_PERMANENT);
        ed_mail_result_clear (&result);
        g_clear_error (&error);
        g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, bad[i], bytes, &result, &error));
        g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_PERMANENT);
      }
    g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 0);
  }

  g_assert_cmpstr (ed_mail_result_kind_to_string (ED_MAIL_RESULT_SENT), ==, "sent");
  g_assert_cmpstr (ed_mail_result_kind_to_string (ED_MAIL_RESULT_TEMPORARY), ==, "temporary");
  g_assert_cmpstr (ed_mail_result_kind_to_string (ED_MAIL_RESULT_THROTTLED), ==, "throttled");
  g_assert_cmpstr (ed_mail_result_kind_to_string (ED_MAIL_RESULT_PERMANENT), ==, "permanent");
}

/* Three guests over one connection to the capture server; what arrived is
 * read back with GMime and with Python's email package.
 */
static void
test_smtp_capture (void)
{
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "starttls=off");
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  const char *guests[][3] = {
    { GUEST_ADDRESS, GUEST_NAME, "<script>alert('x')</script>" },
    { "jose@example.org", "José Müller-Lüdenscheidt", "José" },
    { "ann@example.org", "Ann", "Ann" },
  };
  g_autoptr(JsonArray) connections = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (guests); i++)
    {
      g_autoptr(GBytes) bytes = invitation_bytes (guests[i][0], guests[i][1], guests[i][2]);
      g_auto(EdMailResult) result = { 0 };

      assert_sent (transport, guests[i][0], bytes, &result);
      g_assert_cmpuint (result.code, ==, 250);
      g_assert_true (g_str_has_prefix (result.text, "2.0.0 Ok: queued as CAPTURE"));
      g_assert_cmpint (result.new_connection, ==, i == 0);
    }

  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 3);
  g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (guests); i++)
    {
      g_autoptr(JsonObject) envelope = ed_test_capture_server_get_envelope (server, i + 1);
      g_autoptr(GBytes) received = ed_test_capture_server_get_message (server, i + 1);
      g_autoptr(GMimeMessage) parsed = ed_test_parse_with_gmime (received);
      g_autofree char *path = ed_test_capture_server_get_path (server, i + 1);
      g_autoptr(JsonObject) python = ed_test_parse_with_python (path);
      JsonArray *parts = json_object_get_array_member (python, "parts");
      JsonObject *text_part = json_array_get_object_element (parts, 0);
      JsonObject *html_part = json_array_get_object_element (parts, 1);
      JsonObject *headers = json_object_get_object_member (python, "headers");
      JsonObject *raw_headers = json_object_get_object_member (python, "raw_headers");
      InternetAddress *to = internet_address_list_get_address (g_mime_message_get_to (parsed), 0);

      assert_wire_format (received);
      g_assert_cmpstr (json_object_get_string_member (envelope, "mail_from"), ==, FROM_ADDRESS);
      g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (envelope, "rcpt_to"), 0), ==, guests[i][0]);
      g_assert_cmpint (json_object_get_int_member (envelope, "connection"), ==, 1);

      /* GMime */
      g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, SUBJECT);
      g_assert_cmpstr (internet_address_get_name (to), ==, guests[i][1]);

      /* Python */
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (python, "defects")), ==, 0);
      g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (headers, "Subject"), 0), ==, SUBJECT);
      {
        g_autofree char *raw_subject = g_ascii_strdown (json_array_get_string_element (json_object_get_array_member (raw_headers, "Subject"), 0), -1);
        g_autofree char *raw_to = g_ascii_strdown (json_array_get_string_element (json_object_get_array_member (raw_headers, "To"), 0), -1);

        g_assert_nonnull (strstr (raw_subject, "=?utf-8?"));
        g_assert_cmpint (strstr (raw_to, "=?utf-8?") != NULL, ==, i < 2);
      }
      g_assert_cmpstr (json_object_get_string_member (python, "to_display_name"), ==, guests[i][1]);
      g_assert_cmpstr (json_object_get_string_member (python, "to_address"), ==, guests[i][0]);
      g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (headers, "List-Unsubscribe"), 0),
                       ==, "<" UNSUBSCRIBE_URL ">");
      g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (headers, "List-Unsubscribe-Post"), 0),
                       ==, "List-Unsubscribe=One-Click");
      g_assert_true (json_object_has_member (headers, "Message-ID"));
      g_assert_true (json_object_has_member (headers, "Date"));
      g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (python, "structure"), 0),
                       ==, "multipart/alternative");
      g_assert_cmpuint (json_array_get_length (parts), ==, 2);
      g_assert_cmpstr (json_object_get_string_member (text_part, "content_type"), ==, "text/plain");
      g_assert_cmpstr (json_object_get_string_member (text_part, "charset"), ==, "utf-8");
      g_assert_cmpstr (json_object_get_string_member (html_part, "content_type"), ==, "text/html");
      g_assert_cmpstr (json_object_get_string_member (html_part, "charset"), ==, "utf-8");

      {
        g_autofree char *greeting = g_strdup_printf ("Hallo %s,", guests[i][2]);
        g_autofree char *escaped = g_markup_printf_escaped ("Hallo %s,", guests[i][2]);
        g_autoptr(GString) text_lf = g_string_new (json_object_get_string_member (text_part, "content"));
        g_autoptr(GString) html_lf = g_string_new (json_object_get_string_member (html_part, "content"));
        const char *text, *html;

        /* Python keeps the wire's CRLF in decoded text */
        g_string_replace (text_lf, "\r\n", "\n", 0);
        g_string_replace (html_lf, "\r\n", "\n", 0);
        text = text_lf->str;
        html = html_lf->str;

        g_assert_nonnull (strstr (text, greeting));
        g_assert_nonnull (strstr (text, "Wo:   Rheinpark, Köln"));
        /* a body line that is a lone dot survives dot-stuffing */
        g_assert_nonnull (strstr (text, "Kölsch.\n.\nEine Zeile"));
        g_assert_nonnull (strstr (html, "Sie sind herzlich zu <strong>Sommerfest in Köln</strong> eingeladen."));
        g_assert_nonnull (strstr (html, "href=\"https://events.example.org/r/abc?x=1&amp;y=2\""));
        if (i == 0)
          {
            g_assert_null (strstr (html, "<script>"));
            g_assert_nonnull (strstr (html, "Hallo &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;,"));
          }
        else
          g_assert_nonnull (strstr (html, escaped));
      }
    }

  /* the connection stays open until the transport closes it with QUIT */
  connections = ed_test_capture_server_get_connections (server);
  g_assert_cmpuint (json_array_get_length (connections), ==, 1);
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (connections, 0), "quit"));
  ed_mail_transport_disconnect (transport);
  g_clear_pointer (&connections, json_array_unref);
  connections = ed_test_capture_server_get_connections (server);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (connections, 0), "quit"));
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (connections, 0), "messages"), ==, 3);
}

static void
test_smtp_calendar (void)
{
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "starttls=off");
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) ics = g_bytes_new_static (calendar_text, strlen (calendar_text));
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) received = NULL;
  g_autoptr(JsonObject) python = NULL;
  g_autofree char *path = NULL;
  g_auto(EdMailResult) result = { 0 };
  JsonArray *parts;
  JsonObject *calendar;

  render_invitation ("Zoë", &text, &html);
  message = make_message (GUEST_ADDRESS, GUEST_NAME, text, html);
  ed_mail_message_set_calendar (message, ics, "PUBLISH", "sommerfest.ics");
  bytes = ed_mail_message_to_bytes (message, NULL);
  assert_sent (transport, GUEST_ADDRESS, bytes, &result);

  received = ed_test_capture_server_get_message (server, 1);
  check_invitation_with_gmime (received, text, html, TRUE);

  path = ed_test_capture_server_get_path (server, 1);
  python = ed_test_parse_with_python (path);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (python, "defects")), ==, 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (python, "structure"), 0), ==, "multipart/mixed");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (python, "structure"), 1), ==, "multipart/alternative");
  parts = json_object_get_array_member (python, "parts");
  g_assert_cmpuint (json_array_get_length (parts), ==, 3);
  calendar = json_array_get_object_element (parts, 2);
  g_assert_cmpstr (json_object_get_string_member (calendar, "content_type"), ==, "text/calendar");
  g_assert_cmpstr (json_object_get_string_member (calendar, "disposition"), ==, "attachment");
  g_assert_cmpstr (json_object_get_string_member (calendar, "filename"), ==, "sommerfest.ics");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (calendar, "params"), "method"), ==, "PUBLISH");
  g_assert_cmpstr (json_object_get_string_member (calendar, "content"), ==, calendar_text);
}

static void
test_smtp_auth (void)
{
  const char *options[] = { "--password", ENV_PASSWORD, NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "starttls=off");
  g_autofree char *user_url = g_strdup_printf ("smtp://events%%40example.org@127.0.0.1:%u?starttls=off",
                                               ed_test_smtp_server_get_port (server));
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_autoptr(JsonObject) envelope = NULL;

  /* no user: the server wants AUTH */
  {
    g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
    g_auto(EdMailResult) result = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, &error));
    g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_PERMANENT);
    g_assert_cmpuint (result.code, ==, 530);
  }

  /* the password from the environment, which main() set */
  {
    g_autoptr(EdMailTransport) transport = NULL;
    g_auto(EdMailResult) result = { 0 };

    transport = new_transport (user_url, NULL);
    assert_sent (transport, GUEST_ADDRESS, bytes, &result);
    g_assert_null (strstr (ed_mail_transport_get_description (transport), "s3cret"));
  }

  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 1);
  envelope = ed_test_capture_server_get_envelope (server, 1);
  g_assert_cmpstr (json_object_get_string_member (envelope, "auth_user"), ==, "events@example.org");
  g_assert_cmpstr (json_object_get_string_member (envelope, "auth_password"), ==, ENV_PASSWORD);

  /* the password from the config file wins over the environment */
  {
    const char *config_options[] = { "--password", "config-Pa55", NULL };
    g_autoptr(EdTestSmtpServer) config_server = ed_test_capture_server_new (config_options);
    g_autofree char *config_url = g_strdup_printf ("smtp://events%%40example.org@127.0.0.1:%u?starttls=off",
                                                   ed_test_smtp_server_get_port (config_server));
    g_autoptr(EdMailTransport) transport = new_transport (config_url, "config-Pa55");
    g_auto(EdMailResult) result = { 0 };
    g_autoptr(JsonObject) config_envelope = NULL;

    assert_sent (transport, GUEST_ADDRESS, bytes, &result);
    config_envelope = ed_test_capture_server_get_envelope (config_server, 1);
    g_assert_cmpstr (json_object_get_string_member (config_envelope, "auth_password"), ==, "config-Pa55");
  }

  /* a wrong password is the configuration's fault, not the guest's */
  {
    g_autoptr(EdMailTransport) transport = new_transport (user_url, "wrong-password");
    g_auto(EdMailResult) result = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, &error));
    g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_TEMPORARY);
    g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_TEMPORARY);
    g_assert_cmpuint (result.code, ==, 535);
    g_assert_nonnull (strstr (result.text, "5.7.8 Authentication credentials invalid"));
    g_test_message ("wrong password: %u %s", result.code, result.text);
    g_assert_nonnull (strstr (result.text, "AUTH"));
    g_assert_null (strstr (result.text, "wrong-password"));
    g_assert_null (strstr (error->message, "wrong-password"));
  }

  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 1);
}

static void
test_smtp_tls (void)
{
  g_autofree char *cert_dir = g_dir_make_tmp ("eventdesk-test-cert-XXXXXX", NULL);
  g_autofree char *key = NULL;
  g_autofree char *cert = ed_test_make_certificate (cert_dir, &key);
  const char *starttls_options[] = { "--tls-cert", cert, "--tls-key", key, "--password", "s3cret", NULL };
  const char *implicit_options[] = { "--tls-cert", cert, "--tls-key", key, "--implicit-tls", NULL };
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_autofree char *ca_query = g_strdup_printf ("ca-file=%s", cert);

  /* STARTTLS, required because a user is given; AUTH only after it */
  {
    g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (starttls_options);
    g_autofree char *url = g_strdup_printf ("smtp://relay@127.0.0.1:%u?%s", ed_test_smtp_server_get_port (server), ca_query);
    g_autoptr(EdMailTransport) transport = new_transport (url, "s3cret");
    g_auto(EdMailResult) result = { 0 };
    g_autoptr(JsonObject) envelope = NULL;

    assert_sent (transport, GUEST_ADDRESS, bytes, &result);
    envelope = ed_test_capture_server_get_envelope (server, 1);
    g_assert_true (json_object_get_boolean_member (envelope, "tls"));
    g_assert_cmpstr (json_object_get_string_member (envelope, "auth_user"), ==, "relay");
  }

  /* smtps: TLS from the start */
  {
    g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (implicit_options);
    g_autofree char *url = ed_test_smtp_server_get_url (server, "smtps", ca_query);
    g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
    g_auto(EdMailResult) result = { 0 };
    g_autoptr(JsonObject) envelope = NULL;

    assert_sent (transport, GUEST_ADDRESS, bytes, &result);
    assert_sent (transport, GUEST_ADDRESS, bytes, &result);
    envelope = ed_test_capture_server_get_envelope (server, 2);
    g_assert_true (json_object_get_boolean_member (envelope, "tls"));
    g_assert_cmpint (json_object_get_int_member (envelope, "connection"), ==, 1);
  }

  /* a certificate nobody vouches for is refused */
  {
    g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (implicit_options);
    g_autofree char *url = ed_test_smtp_server_get_url (server, "smtps", NULL);
    g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
    g_auto(EdMailResult) result = { 0 };

    g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, NULL));
    g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_TEMPORARY);
    g_assert_cmpuint (result.code, ==, 0);
    g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 0);
  }

  /* required STARTTLS with a server that does not offer it: nothing sent */
  {
    g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (NULL);
    g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "starttls=required");
    g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
    g_auto(EdMailResult) result = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, &error));
    g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_TEMPORARY);
    g_assert_cmpuint (result.code, ==, 0);
    g_test_message ("STARTTLS refused: %s", result.text);
    g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 0);
  }

  g_unlink (cert);
  g_unlink (key);
  g_rmdir (cert_dir);
}

/* A refused recipient fails that message only; the next goes through. */
static void
test_smtp_rejected_recipient (void)
{
  const char *options[] = { "--reject-rcpt", "gone@example.org", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(GError) error = NULL;

  {
    g_auto(EdMailResult) result = { 0 };

    assert_sent (transport, "first@example.org", bytes, &result);
  }
  {
    g_auto(EdMailResult) result = { 0 };

    g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, "gone@example.org", bytes, &result, &error));
    g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_PERMANENT);
    g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_PERMANENT);
    g_assert_cmpuint (result.code, ==, 550);
    g_assert_cmpstr (result.text, ==, "5.1.1 <gone@example.org>: Recipient address rejected: User unknown (in reply to RCPT TO)");
    g_assert_nonnull (strstr (error->message, "550 5.1.1"));
  }
  {
    g_auto(EdMailResult) result = { 0 };

    assert_sent (transport, "third@example.org", bytes, &result);
  }

  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 2);
  envelope = ed_test_capture_server_get_envelope (server, 2);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (envelope, "rcpt_to"), 0),
                   ==, "third@example.org");
}

/* A kept connection the server dropped: the message goes over a new one. */
static void
test_smtp_dropped_connection (void)
{
  const char *options[] = { "--drop-second-mail", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");

  for (guint i = 0; i < 3; i++)
    {
      g_auto(EdMailResult) result = { 0 };

      assert_sent (transport, GUEST_ADDRESS, bytes, &result);
      g_assert_true (result.new_connection);
    }

  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 3);
  g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 3);
  for (guint i = 1; i <= 3; i++)
    {
      g_autoptr(JsonObject) envelope = ed_test_capture_server_get_envelope (server, i);

      g_assert_cmpint (json_object_get_int_member (envelope, "connection"), ==, i);
    }
}

/* The transactions on a connection, with the server offering PIPELINING
 * (MAIL, RCPT and DATA in one write, replies taken in order) and without
 * it (one command at a time): a failure at each stage of a second message
 * on one connection must be told by its stage either way.
 */
static void
test_smtp_kept_connection (void)
{
  static const struct
  {
    const char       *fail;
    EdMailResultKind  kind;
    guint             code;
    const char       *text;
  } faults[] = {
    { "MAIL=553 5.1.8 Sender address rejected", ED_MAIL_RESULT_PERMANENT, 553,
      "5.1.8 Sender address rejected (in reply to MAIL FROM)" },
    { "RCPT=551 5.1.6 User has moved", ED_MAIL_RESULT_PERMANENT, 551,
      "5.1.6 User has moved (in reply to RCPT TO)" },
    { "RCPT=450 4.2.0 Greylisted", ED_MAIL_RESULT_TEMPORARY, 450,
      "4.2.0 Greylisted (in reply to RCPT TO)" },
    { "DATA=554 5.5.0 No valid recipients", ED_MAIL_RESULT_PERMANENT, 554,
      "5.5.0 No valid recipients (in reply to DATA)" },
    { "END=552 5.3.4 Message too big", ED_MAIL_RESULT_PERMANENT, 552,
      "5.3.4 Message too big (in reply to the message)" },
  };
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");

  for (guint pipelining = 0; pipelining < 2; pipelining++)
    for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
      {
        g_autofree char *option = g_strconcat ("--fail-second=", faults[i].fail, NULL);
        const char *options[] = { option, pipelining ? "--pipelining" : NULL, NULL };
        g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
        g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
        g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
        g_auto(EdMailResult) first = { 0 };
        g_auto(EdMailResult) second = { 0 };
        g_auto(EdMailResult) third = { 0 };
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonArray) connections = NULL;
        gint64 n_pipelined = 0;

        assert_sent (transport, GUEST_ADDRESS, bytes, &first);
        g_assert_true (first.new_connection);
        g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &second, &error));
        g_assert_false (second.new_connection);
        g_assert_cmpint (second.kind, ==, faults[i].kind);
        g_assert_cmpuint (second.code, ==, faults[i].code);
        g_assert_cmpstr (second.text, ==, faults[i].text);

        /* the next message goes through: the replies still pipelined
         * after the failure were not taken for its own
         */
        assert_sent (transport, GUEST_ADDRESS, bytes, &third);
        g_assert_cmpuint (third.code, ==, 250);
        g_assert_nonnull (strstr (third.text, "queued as CAPTURE2"));
        ed_mail_transport_disconnect (transport);

        connections = ed_test_capture_server_get_connections (server);
        for (guint k = 0; k < json_array_get_length (connections); k++)
          n_pipelined += json_object_get_int_member (json_array_get_object_element (connections, k), "pipelined");
        if (pipelining)
          g_assert_cmpint (n_pipelined, >=, 2);
        else
          g_assert_cmpint (n_pipelined, ==, 0);
      }

  /* a kept connection the server closed: the message goes over a new one,
   * and its result is the reply to the message, not to the greeting or EHLO
   */
  for (guint pipelining = 0; pipelining < 2; pipelining++)
    {
      const char *options[] = { "--close-after-message", pipelining ? "--pipelining" : NULL, NULL };
      g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
      g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
      g_autoptr(EdMailTransport) transport = new_transport (url, NULL);

      for (guint i = 1; i <= 3; i++)
        {
          g_auto(EdMailResult) result = { 0 };
          g_autofree char *expected = g_strdup_printf ("2.0.0 Ok: queued as CAPTURE%u", i);

          assert_sent (transport, GUEST_ADDRESS, bytes, &result);
          g_assert_true (result.new_connection);
          g_assert_cmpuint (result.code, ==, 250);
          g_assert_cmpstr (result.text, ==, expected);
        }
      g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 3);
    }
}

/* Lines of the message that start with a dot are sent with one more
 * (RFC 5321 4.5.2), so that none ends the data early; the server takes
 * the message byte for byte.
 */
static void
test_smtp_dot_stuffing (void)
{
  static const char * const messages[] = {
    ".starts with a dot\r\nSubject: dots\r\n\r\n.\r\n.hidden\r\n..two\r\n. \r\nend\r\n",
    "Subject: no line end at the end\r\n\r\nlast line\r\n.",
  };

  for (guint pipelining = 0; pipelining < 2; pipelining++)
    {
      const char *options[] = { pipelining ? "--pipelining" : NULL, NULL };
      g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
      g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
      g_autoptr(EdMailTransport) transport = new_transport (url, NULL);

      for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
        {
          g_autoptr(GBytes) bytes = g_bytes_new_static (messages[i], strlen (messages[i]));
          g_autoptr(GBytes) received = NULL;
          g_autofree char *expected = NULL;
          g_auto(EdMailResult) result = { 0 };

          assert_sent (transport, GUEST_ADDRESS, bytes, &result);
          received = ed_test_capture_server_get_message (server, i + 1);
          /* a message that does not end a line gets its line end */
          expected = g_str_has_suffix (messages[i], "\r\n") ? g_strdup (messages[i])
                                                             : g_strconcat (messages[i], "\r\n", NULL);
          g_assert_cmpmem (g_bytes_get_data (received, NULL), g_bytes_get_size (received),
                           expected, strlen (expected));
        }
    }
}

/* Addresses beyond ASCII (RFC 6531): the domain goes as its A-label, a
 * local part beyond ASCII needs a server that offers SMTPUTF8 and says so
 * in MAIL FROM; to one that does not, such a message fails for good and
 * the connection stays good.
 */
static void
test_smtp_utf8_addresses (void)
{
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");

  for (guint offered = 0; offered < 2; offered++)
    {
      const char *options[] = { offered ? NULL : "--no-smtputf8", NULL };
      g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
      g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
      g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
      g_auto(EdMailResult) result = { 0 };
      g_autoptr(JsonObject) envelope = NULL;
      JsonArray *parameters;
      g_autoptr(GError) error = NULL;

      /* an IDN domain only: no SMTPUTF8 needed */
      assert_sent (transport, "info@bücher.example", bytes, &result);
      envelope = ed_test_capture_server_get_envelope (server, 1);
      g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (envelope, "rcpt_to"), 0),
                       ==, "info@xn--bcher-kva.example");
      parameters = json_object_get_array_member (envelope, "mail_parameters");
      for (guint i = 0; i < json_array_get_length (parameters); i++)
        g_assert_cmpstr (json_array_get_string_element (parameters, i), !=, "SMTPUTF8");
      g_clear_pointer (&envelope, json_object_unref);
      ed_mail_result_clear (&result);

      if (offered)
        {
          gboolean said = FALSE;

          assert_sent (transport, "zoë@bücher.example", bytes, &result);
          g_assert_false (result.new_connection);
          envelope = ed_test_capture_server_get_envelope (server, 2);
          g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (envelope, "rcpt_to"), 0),
                           ==, "zoë@xn--bcher-kva.example");
          parameters = json_object_get_array_member (envelope, "mail_parameters");
          for (guint i = 0; i < json_array_get_length (parameters); i++)
            said |= g_strcmp0 (json_array_get_string_element (parameters, i), "SMTPUTF8") == 0;
          g_assert_true (said);
        }
      else
        {
          g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, "zoë@bücher.example", bytes, &result,
                                                  &error));
          g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_PERMANENT);
          g_assert_cmpuint (result.code, ==, 0);
          g_assert_nonnull (strstr (result.text, "SMTPUTF8"));
          g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 1);
          ed_mail_result_clear (&result);

          /* the connection is still good for the next */
          assert_sent (transport, GUEST_ADDRESS, bytes, &result);
          g_assert_false (result.new_connection);
        }
    }
}

static void
test_smtp_max_messages (void)
{
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "max-messages=3");
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_autoptr(JsonArray) connections = NULL;

  for (guint i = 0; i < 7; i++)
    {
      g_auto(EdMailResult) result = { 0 };
      g_autoptr(JsonObject) envelope = NULL;

      assert_sent (transport, GUEST_ADDRESS, bytes, &result);
      g_assert_cmpint (result.new_connection, ==, i % 3 == 0);
      envelope = ed_test_capture_server_get_envelope (server, i + 1);
      g_assert_cmpint (json_object_get_int_member (envelope, "connection"), ==, i / 3 + 1);
    }

  /* the full connections were closed with QUIT, the last one is open */
  connections = ed_test_capture_server_get_connections (server);
  g_assert_cmpuint (json_array_get_length (connections), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *connection = json_array_get_object_element (connections, i);

      g_assert_cmpint (json_object_get_int_member (connection, "messages"), ==, i < 2 ? 3 : 1);
      g_assert_cmpint (json_object_get_boolean_member (connection, "quit"), ==, i < 2);
    }
  g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 3);
}

/* SINK_MESSAGES messages over one connection: smtp-sink counts one
 * session, ended with QUIT when the transport disconnects.
 */
static void
test_sink_reuse (void)
{
  g_autoptr(EdTestSmtpServer) server = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "max-messages=0");
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  gint64 start, elapsed;
  guint sessions, quits, messages;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < SINK_MESSAGES; i++)
    {
      g_autofree char *to = g_strdup_printf ("guest-%u@example.org", i);
      g_auto(EdMailResult) result = { 0 };

      assert_sent (transport, to, bytes, &result);
      g_assert_cmpuint (result.code, ==, 250);
      g_assert_cmpint (result.new_connection, ==, i == 0);
    }
  elapsed = MAX (g_get_monotonic_time () - start, 1);
  g_test_message ("%d messages of %" G_GSIZE_FORMAT " bytes to smtp-sink over one connection in %.3f s: %.0f messages/s",
                  SINK_MESSAGES, g_bytes_get_size (bytes), elapsed / (double) G_USEC_PER_SEC,
                  SINK_MESSAGES / (elapsed / (double) G_USEC_PER_SEC));

  /* still in its one session */
  g_assert_true (ed_test_smtp_sink_wait_for_counters (server, 0, 0, SINK_MESSAGES));
  ed_mail_transport_disconnect (transport);
  g_assert_true (ed_test_smtp_sink_wait_for_counters (server, 1, 1, SINK_MESSAGES));
  g_assert_true (ed_test_smtp_sink_get_counters (server, &sessions, &quits, &messages));
  g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 1);
}

typedef struct
{
  const char       *name;
  const char       *options[6];
  EdMailResultKind  kind;
  guint             code;
  /* exactly, or as a g_pattern_match_simple() pattern after a “*” */
  const char       *text;
  /* whether the session is still good for the next message */
  gboolean          reused;
} SinkFault;

/* smtp-sink set to fail at one stage; each fault must come back as its
 * class with the server's code and text. A refusal leaves the session
 * good for the next message (RSET clears it); 421 or a hang-up does not.
 */
static void
test_sink_faults (void)
{
  static const SinkFault faults[] = {
    { "450 to RCPT", { "-r", "RCPT", NULL }, ED_MAIL_RESULT_TEMPORARY, 450,
      "4.3.0 Error: command failed (in reply to RCPT TO)" , TRUE },
    { "own 4xx to DATA", { "-r", "DATA", "-b", "454 4.3.5 Queue file write error", NULL }, ED_MAIL_RESULT_TEMPORARY, 454,
      "4.3.5 Queue file write error (in reply to DATA)" , TRUE },
    { "451 to MAIL", { "-r", "MAIL", "-b", "451 4.7.1 Slow down", NULL }, ED_MAIL_RESULT_THROTTLED, 451,
      "4.7.1 Slow down (in reply to MAIL FROM)" , TRUE },
    { "452 to RCPT", { "-r", "RCPT", "-b", "452 4.5.3 Too many recipients", NULL }, ED_MAIL_RESULT_THROTTLED, 452,
      "4.5.3 Too many recipients (in reply to RCPT TO)" , TRUE },
    { "421 and disconnect at MAIL", { "-Q", "MAIL", NULL }, ED_MAIL_RESULT_THROTTLED, 421,
      "4.0.0 Server closing connection (in reply to MAIL FROM)" },
    { "550 to RCPT", { "-f", "RCPT", "-B", "550 5.1.1 No such user here", NULL }, ED_MAIL_RESULT_PERMANENT, 550,
      "5.1.1 No such user here (in reply to RCPT TO)" , TRUE },
    { "5xx to the message", { "-f", ".", NULL }, ED_MAIL_RESULT_PERMANENT, 500,
      "5.3.0 Error: command failed (in reply to the message)", TRUE },
    { "disconnect after DATA", { "-q", "DATA", NULL }, ED_MAIL_RESULT_TEMPORARY, 0,
      "*the connection was lost: * (during DATA)" },
    { "disconnect after the message", { "-q", ".", NULL }, ED_MAIL_RESULT_TEMPORARY, 0,
      "*the connection was lost: * (during the message)" },
    { "disconnect at connect", { "-q", "CONNECT", NULL }, ED_MAIL_RESULT_TEMPORARY, 0,
      "*the connection was lost: * (during the greeting)" },
  };
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");

  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      g_autoptr(EdTestSmtpServer) server = ed_test_smtp_sink_new (faults[i].options);
      g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
      g_autoptr(EdMailTransport) transport = new_transport (url, NULL);

      ed_mail_transport_set_timeouts (transport, 5000, 10000);

      /* twice: the second over a new connection when the failure closed
       * the first, or over the same when the session went on
       */
      for (guint attempt = 0; attempt < 2; attempt++)
        {
          g_auto(EdMailResult) result = { 0 };
          g_autoptr(GError) error = NULL;
          EdMailError error_code = faults[i].kind == ED_MAIL_RESULT_PERMANENT ? ED_MAIL_ERROR_PERMANENT :
                                   faults[i].kind == ED_MAIL_RESULT_THROTTLED ? ED_MAIL_ERROR_THROTTLED :
                                   ED_MAIL_ERROR_TEMPORARY;

          g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, &error));
          g_test_message ("%s: %s %u “%s”", faults[i].name, ed_mail_result_kind_to_string (result.kind),
                          result.code, result.text);
          g_assert_cmpint (result.kind, ==, faults[i].kind);
          g_assert_cmpuint (result.code, ==, faults[i].code);
          g_assert_cmpint (result.new_connection, ==, attempt == 0 || !faults[i].reused);
          if (faults[i].text[0] == '*')
            g_assert_true (g_pattern_match_simple (faults[i].text + 1, result.text));
          else
            g_assert_cmpstr (result.text, ==, faults[i].text);
          g_assert_error (error, ED_MAIL_ERROR, (gint) error_code);
        }
    }
}

static void
test_sink_timeout (void)
{
  const char *options[] = { "-w", "5", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_smtp_sink_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) result = { 0 };
  gint64 start, elapsed;

  /* smtp-sink waits 5 s before answering DATA; the transport gives up at 1 s */
  ed_mail_transport_set_timeouts (transport, 1000, 1000);
  start = g_get_monotonic_time ();
  g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, NULL));
  elapsed = g_get_monotonic_time () - start;

  g_test_message ("timeout after %.2f s: %s", elapsed / (double) G_USEC_PER_SEC, result.text);
  g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_TEMPORARY);
  g_assert_cmpuint (result.code, ==, 0);
  g_assert_nonnull (strstr (result.text, "DATA"));
  g_assert_cmpint (elapsed, <, 4 * G_USEC_PER_SEC);
}

static void
test_connection_refused (void)
{
  g_autoptr(EdTestSmtpServer) server = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) result = { 0 };
  g_autoptr(GError) error = NULL;

  /* the port is free once the server is gone */
  g_clear_pointer (&server, ed_test_smtp_server_free);
  g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, &error));
  g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_TEMPORARY);
  g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_TEMPORARY);
  g_assert_cmpuint (result.code, ==, 0);
  g_assert_nonnull (strstr (result.text, "onnect"));
  g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 0);
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

static guint
count_files (const char *dir_path)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
test_maildir_deliver (void)
{
  g_autofree char *top = g_dir_make_tmp ("eventdesk-test-maildir-XXXXXX", NULL);
  g_autofree char *maildir = g_build_filename (top, "mail", "Maildir", NULL);
  g_autofree char *url = g_strconcat ("maildir:", maildir, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autofree char *new_dir = g_build_filename (maildir, "new", NULL);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  const char *name;

  /* nothing is made until the first message */
  g_assert_false (g_file_test (maildir, G_FILE_TEST_EXISTS));

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *to = g_strdup_printf ("guest-%u@example.org", i);
      g_auto(EdMailResult) result = { 0 };

      assert_sent (transport, to, bytes, &result);
      g_assert_cmpuint (result.code, ==, 0);
      g_assert_nonnull (strstr (result.text, new_dir));
    }

  {
    static const char * const subdirs[] = { "tmp", "new", "cur" };

    for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
      {
        g_autofree char *path = g_build_filename (maildir, subdirs[i], NULL);
        GStatBuf st;

        g_assert_cmpint (g_stat (path, &st), ==, 0);
        g_assert_true (S_ISDIR (st.st_mode));
        g_assert_cmpint (st.st_mode & 0777, ==, 0700);
        g_assert_cmpuint (count_files (path), ==, i == 1 ? 5 : 0);
      }
  }

  {
    g_autoptr(GDir) dir = g_dir_open (new_dir, 0, NULL);

    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (new_dir, name, NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GBytes) file_bytes = NULL;
        g_autoptr(GMimeMessage) parsed = NULL;
        g_autoptr(GString) expected = NULL;
        const char *body;
        GStatBuf st;

        g_assert_false (g_hash_table_contains (names, name));
        g_hash_table_add (names, g_strdup (name));
        g_assert_null (strchr (name, '/'));
        g_assert_null (strchr (name, ':'));

        g_assert_cmpint (g_stat (path, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 0777, ==, 0600);

        g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
        /* envelope on top, then the message as sent with LF line ends */
        g_assert_true (g_str_has_prefix (contents, "Return-Path: <" FROM_ADDRESS ">\nDelivered-To: guest-"));
        g_assert_null (strchr (contents, '\r'));
        body = strstr (contents, "\nFrom: ") + 1;
        expected = g_string_new_len (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
        g_string_replace (expected, "\r\n", "\n", 0);
        g_assert_true (g_str_has_suffix (expected->str, body));

        file_bytes = g_bytes_new (contents, strlen (contents));
        parsed = ed_test_parse_with_gmime (file_bytes);
        g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, SUBJECT);
      }
  }
  g_assert_cmpuint (g_hash_table_size (names), ==, 5);

  /* a folder removed while running is made again */
  remove_tree (maildir);
  {
    g_auto(EdMailResult) result = { 0 };
    g_auto(EdMailResult) again = { 0 };

    ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, NULL);
    assert_sent (transport, GUEST_ADDRESS, bytes, &again);
    g_assert_cmpuint (count_files (new_dir), ==, result.kind == ED_MAIL_RESULT_SENT ? 2 : 1);
  }

  remove_tree (top);
}

static void
test_maildir_failure (void)
{
  g_autofree char *top = g_dir_make_tmp ("eventdesk-test-maildir-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (top, "a-file", NULL);
  g_autofree char *url = g_strconcat ("maildir:", file, "/Maildir", NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) result = { 0 };
  g_autoptr(GError) error = NULL;

  /* a file where a folder should be: even root cannot deliver there */
  g_assert_true (g_file_set_contents (file, "not a folder", -1, NULL));
  g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result, &error));
  g_assert_error (error, ED_MAIL_ERROR, ED_MAIL_ERROR_TEMPORARY);
  g_assert_cmpint (result.kind, ==, ED_MAIL_RESULT_TEMPORARY);
  g_assert_nonnull (strstr (result.text, "cannot create the Maildir folder"));

  remove_tree (top);
}

/* A kept connection the server timed out while it was idle, the way
 * Postfix's smtpd does (421, then close): the next message goes over a
 * new connection, and the 421 is not taken for its reply.
 */
static void
test_smtp_idle_timeout (void)
{
  const char *options[] = { "--idle-timeout", "1", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) first = { 0 };
  g_auto(EdMailResult) second = { 0 };
  g_autoptr(GError) error = NULL;

  assert_sent (transport, GUEST_ADDRESS, bytes, &first);
  g_usleep (1500 * G_TIME_SPAN_MILLISECOND);   /* the server's idle timeout passes */
  if (!ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &second, &error))
    g_test_message ("second message: kind %d code %u text %s", second.kind, second.code, second.text);
  g_assert_no_error (error);
  g_assert_true (second.new_connection);
  g_assert_cmpuint (second.code, ==, 250);
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 2);
}

/* The last message of a connection refused at its end, with PIPELINING:
 * QUIT went out behind the message, and is not sent twice.
 */
static void
test_smtp_quit_once (void)
{
  const char *options[] = { "--pipelining", "--linger-after-quit", "--fail-second=END=552 5.3.4 Too big", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, "max-messages=2");
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) first = { 0 };
  g_auto(EdMailResult) second = { 0 };
  g_autoptr(JsonArray) connections = NULL;
  JsonObject *connection;

  assert_sent (transport, GUEST_ADDRESS, bytes, &first);
  g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &second, NULL));
  g_assert_cmpuint (second.code, ==, 552);
  g_usleep (800 * G_TIME_SPAN_MILLISECOND);
  connections = ed_test_capture_server_get_connections (server);
  connection = json_array_get_object_element (connections, 0);
  if (json_object_has_member (connection, "after_quit"))
    g_test_message ("after QUIT the client sent: %s", json_object_get_string_member (connection, "after_quit"));
  g_assert_false (json_object_has_member (connection, "after_quit"));
}

/* A server that never answers QUIT: disconnecting (which a sender thread
 * does for each of its idle connections) waits for it only a moment.
 */
static void
test_smtp_quit_unanswered (void)
{
  const char *options[] = { "--ignore-quit", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) result = { 0 };
  gint64 start;

  assert_sent (transport, GUEST_ADDRESS, bytes, &result);
  start = g_get_monotonic_time ();
  ed_mail_transport_disconnect (transport);
  g_test_message ("disconnect() blocked for %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1500 * G_TIME_SPAN_MILLISECOND);
}

/* STARTTLS and PIPELINING together, several messages (one large, one
 * needing dot-stuffing) over one connection, each arriving intact.
 */
static void
test_smtp_tls_pipelining (void)
{
  g_autofree char *cert_dir = g_dir_make_tmp ("eventdesk-test-cert-XXXXXX", NULL);
  g_autofree char *key = NULL;
  g_autofree char *cert = ed_test_make_certificate (cert_dir, &key);
  const char *options[] = { "--tls-cert", cert, "--tls-key", key, "--pipelining", NULL };
  g_autofree char *ca_query = g_strdup_printf ("ca-file=%s&starttls=required", cert);
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, ca_query);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(JsonArray) connections = NULL;
  JsonObject *connection;
  GString *large = g_string_new ("Subject: large\r\n\r\n");

  for (guint i = 0; i < 40000; i++)
    g_string_append_printf (large, "%s%05u line of a large message\r\n", i % 7 == 0 ? "." : "", i);
  g_ptr_array_add (messages, invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë"));
  g_ptr_array_add (messages, g_bytes_new_static (".dot\r\nSubject: x\r\n\r\n.\r\n..\r\nend\r\n", strlen (".dot\r\nSubject: x\r\n\r\n.\r\n..\r\nend\r\n")));
  g_ptr_array_add (messages, g_string_free_to_bytes (large));
  g_ptr_array_add (messages, invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Åsa"));
  g_ptr_array_add (messages, invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Bob"));

  for (guint i = 0; i < messages->len; i++)
    {
      g_auto(EdMailResult) result = { 0 };
      g_autoptr(GBytes) received = NULL;
      g_autoptr(JsonObject) envelope = NULL;

      assert_sent (transport, GUEST_ADDRESS, messages->pdata[i], &result);
      g_assert_true (result.new_connection == (i == 0));
      received = ed_test_capture_server_get_message (server, i + 1);
      g_assert_true (g_bytes_equal (received, messages->pdata[i]));
      envelope = ed_test_capture_server_get_envelope (server, i + 1);
      g_assert_true (json_object_get_boolean_member (envelope, "tls"));
      g_assert_cmpint (json_object_get_int_member (envelope, "connection"), ==, 1);
    }
  ed_mail_transport_disconnect (transport);

  connections = ed_test_capture_server_get_connections (server);
  g_assert_cmpuint (json_array_get_length (connections), ==, 1);
  connection = json_array_get_object_element (connections, 0);
  g_test_message ("pipelined %" G_GINT64_FORMAT ", quit %d", json_object_get_int_member (connection, "pipelined"),
                  json_object_get_boolean_member (connection, "quit"));
  g_assert_cmpint (json_object_get_int_member (connection, "pipelined"), >=, 2 * (gint64) messages->len);
  g_assert_true (json_object_get_boolean_member (connection, "quit"));

  g_unlink (cert);
  g_unlink (key);
  g_rmdir (cert_dir);
}

/* A set-up libcurl gives up on (AUTH refused) with a server that then
 * leaves QUIT unanswered: no step() blocks the sender thread, which
 * drives its other connections with the same calls.
 */
static void
test_smtp_setup_never_blocks (void)
{
  const char *options[] = { "--password", "right", "--ignore-quit", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = g_strdup_printf ("smtp://relay@127.0.0.1:%u?starttls=off",
                                          ed_test_smtp_server_get_port (server));
  g_autoptr(EdMailTransport) transport = new_transport (url, "wrong");
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");
  g_auto(EdMailResult) result = { 0 };
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (GPollFD));
  gint64 longest_us = 0, start_us = g_get_monotonic_time ();
  gboolean done = FALSE;

  ed_mail_transport_set_timeouts (transport, 5000, 8000);
  g_assert_true (ed_mail_transport_begin (transport, FROM_ADDRESS, GUEST_ADDRESS, bytes, &result));
  while (!done)
    {
      gint64 deadline_us = -1, before_us;

      g_array_set_size (fds, 0);
      ed_mail_transport_add_poll (transport, fds, &deadline_us);
      ed_mail_transport_poll (fds, deadline_us);
      before_us = g_get_monotonic_time ();
      done = ed_mail_transport_step (transport, (const GPollFD *) fds->data, fds->len);
      longest_us = MAX (longest_us, g_get_monotonic_time () - before_us);
    }
  g_test_message ("result %u %s; whole send %" G_GINT64_FORMAT " ms, longest step() %" G_GINT64_FORMAT " ms",
                  result.code, result.text, (g_get_monotonic_time () - start_us) / 1000, longest_us / 1000);
  g_assert_cmpuint (result.code, ==, 535);
  g_assert_cmpint (longest_us, <, 500 * 1000);
}

/* With PIPELINING, the recipient refused but DATA answered 354 anyway:
 * the transport sends an empty data for the server to refuse (RFC 2920
 * 3.1), nothing is delivered, and the session goes on for the next.
 */
static void
test_smtp_data_after_refusal (void)
{
  const char *options[] = { "--pipelining", "--data-354-always", "--reject-rcpt", "gone@example.org", NULL };
  g_autoptr(EdTestSmtpServer) server = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (server, NULL, NULL);
  g_autoptr(EdMailTransport) transport = new_transport (url, NULL);
  g_autoptr(GBytes) bytes = invitation_bytes (GUEST_ADDRESS, GUEST_NAME, "Zoë");

  for (guint i = 0; i < 3; i++)
    {
      g_auto(EdMailResult) first = { 0 };
      g_auto(EdMailResult) second = { 0 };

      assert_sent (transport, GUEST_ADDRESS, bytes, &first);
      g_assert_cmpint (first.new_connection, ==, i == 0);
      g_assert_false (ed_mail_transport_send (transport, FROM_ADDRESS, "gone@example.org", bytes, &second, NULL));
      g_assert_cmpuint (second.code, ==, 550);
      g_assert_cmpstr (second.text, ==, "5.1.1 <gone@example.org>: Recipient address rejected: User unknown "
                                        "(in reply to RCPT TO)");
    }
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (server), ==, 3);
  g_assert_cmpuint (ed_mail_transport_get_n_connections (transport), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  /* before any thread starts: setenv() is not thread-safe */
  g_setenv (ED_MAIL_TRANSPORT_PASSWORD_ENV, ENV_PASSWORD, TRUE);

  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/mail/message/structure", test_message_structure);
  g_test_add_func ("/mail/message/calendar", test_message_calendar);
  g_test_add_func ("/mail/message/text-only", test_message_text_only);
  g_test_add_func ("/mail/message/encodings", test_message_encodings);
  g_test_add_func ("/mail/message/writer", test_message_writer);
  g_test_add_func ("/mail/message/header-injection", test_message_header_injection);
  g_test_add_func ("/mail/message/invalid", test_message_invalid);
  g_test_add_func ("/mail/transport/urls", test_transport_urls);
  g_test_add_func ("/mail/transport/config", test_transport_config);
  g_test_add_func ("/mail/transport/classify", test_transport_classify);
  g_test_add_func ("/mail/smtp/capture", test_smtp_capture);
  g_test_add_func ("/mail/smtp/calendar", test_smtp_calendar);
  g_test_add_func ("/mail/smtp/auth", test_smtp_auth);
  g_test_add_func ("/mail/smtp/tls", test_smtp_tls);
  g_test_add_func ("/mail/smtp/rejected-recipient", test_smtp_rejected_recipient);
  g_test_add_func ("/mail/smtp/dropped-connection", test_smtp_dropped_connection);
  g_test_add_func ("/mail/smtp/max-messages", test_smtp_max_messages);
  g_test_add_func ("/mail/smtp/kept-connection", test_smtp_kept_connection);
  g_test_add_func ("/mail/smtp/dot-stuffing", test_smtp_dot_stuffing);
  g_test_add_func ("/mail/smtp/utf8-addresses", test_smtp_utf8_addresses);
  g_test_add_func ("/mail/smtp/idle-timeout", test_smtp_idle_timeout);
  g_test_add_func ("/mail/smtp/quit-once", test_smtp_quit_once);
  g_test_add_func ("/mail/smtp/quit-unanswered", test_smtp_quit_unanswered);
  g_test_add_func ("/mail/smtp/tls-pipelining", test_smtp_tls_pipelining);
  g_test_add_func ("/mail/smtp/setup-never-blocks", test_smtp_setup_never_blocks);
  g_test_add_func ("/mail/smtp/data-after-refusal", test_smtp_data_after_refusal);
  g_test_add_func ("/mail/smtp-sink/reuse", test_sink_reuse);
  g_test_add_func ("/mail/smtp-sink/faults", test_sink_faults);
  g_test_add_func ("/mail/smtp-sink/timeout", test_sink_timeout);
  g_test_add_func ("/mail/smtp-sink/connection-refused", test_connection_refused);
  g_test_add_func ("/mail/maildir/deliver", test_maildir_deliver);
  g_test_add_func ("/mail/maildir/failure", test_maildir_failure);

  return g_test_run ();
}
