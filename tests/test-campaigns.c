/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>

#include <sqlite3.h>

#include "ed-campaign.h"
#include "ed-error.h"
#include "ed-mail-render.h"
#include "ed-rsvp-token.h"
#include "ed-test-daemon.h"
#include "ed-test-http.h"
#include "ed-test-smtp.h"

#define FROM "Sommerfest Köln <einladung@events.example.org>"
#define PUBLIC_URL "https://events.example.org/"
#define EVENT_START 1783182600  /* Sat, 04 Jul 2026 16:30:00 +0000 */
#define SCRIPT_NAME "<script>alert(1)</script>"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)

static GBytes *
test_secret (void)
{
  static const guchar key[32] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
  };

  return g_bytes_new_static (key, sizeof key);
}

static EdEvent *
make_event (void)
{
  EdEvent *event = ed_event_new ();

  event->id = 7;
  event->name = g_strdup ("Sommerfest in Köln");
  event->venue = g_strdup ("Rheinpark, Köln");
  event->description = g_strdup ("Musik & Kölsch");
  g_free (event->timezone);
  event->timezone = g_strdup ("Europe/Berlin");
  event->starts_at = EVENT_START;
  event->ends_at = EVENT_START + 5 * 3600;
  event->capacity = 100;
  event->max_party_size = 4;
  return event;
}

static EdGuest *
make_guest (const char *first_name,
            const char *last_name)
{
  EdGuest *guest = ed_guest_new ();

  guest->id = 42;
  guest->event_id = 7;
  guest->email = g_strdup ("zoe@example.org");
  guest->first_name = g_strdup (first_name);
  guest->last_name = g_strdup (last_name);
  guest->token_version = 3;
  guest->party_size = 2;
  return guest;
}

static EdCampaign *
make_campaign (EdCampaignKind kind)
{
  EdCampaign *campaign = ed_campaign_new ();

  campaign->id = 5;
  campaign->event_id = 7;
  campaign->kind = kind;
  g_free (campaign->subject);
  campaign->subject = g_strdup ("Einladung: {{event_name}} für {{first_name}}");
  g_free (campaign->text);
  campaign->text = g_strdup ("Hallo {{full_name}},\nAntwort: {{rsvp_url}}\nAbmelden: {{unsubscribe_url}}\n");
  campaign->html = g_strdup ("<p>Hallo {{full_name}}</p><p><a href=\"{{rsvp_url}}\">Antworten</a></p>");
  return campaign;
}

static EdMailRenderer *
make_renderer (void)
{
  g_autoptr(GBytes) secret = test_secret ();
  g_autoptr(GError) error = NULL;
  EdMailRenderer *renderer = ed_mail_renderer_new (FROM, PUBLIC_URL, secret, &error);

  g_assert_no_error (error);
  g_assert_nonnull (renderer);
  return renderer;
}

/* The part's text with the wire's CRLF line ends made LF again. */
static char *
part_text (GMimeObject *object)
{
  g_autoptr(GString) text = NULL;
  g_autofree char *decoded = NULL;

  g_assert_true (GMIME_IS_TEXT_PART (object));
  decoded = g_mime_text_part_get_text (GMIME_TEXT_PART (object));
  text = g_string_new (decoded);
  g_string_replace (text, "\r\n", "\n", 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static const char *
header (GMimeMessage *message,
        const char   *name)
{
  return g_mime_object_get_header (GMIME_OBJECT (message), name);
}

/* The token of a link …/r/TOKEN or …/u/TOKEN, verified with the key. */
static void
assert_link_names_guest (const char *url,
                         const char *path)
{
  g_autoptr(GBytes) secret = test_secret ();
  g_autofree char *prefix = g_strconcat ("https://events.example.org", path, NULL);
  EdRsvpTokenClaims claims = { 0 };

  g_assert_true (g_str_has_prefix (url, prefix));
  g_assert_true (ed_rsvp_token_verify (secret, url + strlen (prefix), EVENT_START, &claims));
  g_assert_cmpint (claims.event_id, ==, 7);
  g_assert_cmpint (claims.guest_id, ==, 42);
  g_assert_cmpint (claims.token_version, ==, 3);
}

/* Writes the message to a file and parses it with Python's email package. */
static JsonObject *
parse_with_python (GBytes *bytes)
{
  g_autofree char *dir = g_dir_make_tmp ("test-campaigns-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "message.eml", NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *parsed;

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  parsed = ed_test_parse_with_python (path);
  g_unlink (path);
  g_rmdir (dir);
  return parsed;
}

static void
test_enum_strings (void)
{
  for (guint i = 0; i < ED_CAMPAIGN_N_KINDS; i++)
    {
      EdCampaignKind kind;

      g_assert_true (ed_campaign_kind_from_string (ed_campaign_kind_to_string (i), &kind));
      g_assert_cmpint (kind, ==, i);
    }
  for (guint i = 0; i < ED_CAMPAIGN_N_STATES; i++)
    {
      EdCampaignState state;

      g_assert_true (ed_campaign_state_from_string (ed_campaign_state_to_string (i), &state));
      g_assert_cmpint (state, ==, i);
    }

  /* The schema's strings. */
  g_assert_cmpstr (ed_campaign_kind_to_string (ED_CAMPAIGN_KIND_WAITLIST_PROMOTION), ==, "waitlist_promotion");
  g_assert_cmpstr (ed_campaign_state_to_string (ED_CAMPAIGN_STATE_CANCELLED), ==, "cancelled");

  {
    EdCampaignKind kind = ED_CAMPAIGN_KIND_UPDATE;
    EdCampaignState state = ED_CAMPAIGN_STATE_DONE;

    g_assert_false (ed_campaign_kind_from_string ("Invitation", &kind));
    g_assert_false (ed_campaign_kind_from_string (NULL, &kind));
    g_assert_false (ed_campaign_state_from_string ("sent", &state));
    g_assert_cmpint (kind, ==, ED_CAMPAIGN_KIND_UPDATE);
    g_assert_cmpint (state, ==, ED_CAMPAIGN_STATE_DONE);
  }
}

static void
test_copy_and_json (void)
{
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_REMINDER);
  g_autoptr(EdCampaign) copy = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;

  campaign->state = ED_CAMPAIGN_STATE_PAUSED;
  campaign->state_reason = g_strdup ("40% of the last 100 messages failed");
  campaign->launched_at = EVENT_START;

  copy = ed_campaign_copy (campaign);
  g_assert_true (copy->subject != campaign->subject);
  g_assert_cmpstr (copy->subject, ==, campaign->subject);
  g_assert_cmpstr (copy->state_reason, ==, campaign->state_reason);

  json_builder_begin_object (builder);
  ed_campaign_add_json_members (copy, builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  object = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (object, "id"), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (object, "kind"), ==, "reminder");
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "paused");
  g_assert_cmpstr (json_object_get_string_member (object, "state_reason"), ==, campaign->state_reason);
  g_assert_cmpstr (json_object_get_string_member (object, "launched_at"), ==, "2026-07-04T16:30:00Z");
  g_assert_true (json_object_get_null_member (object, "finished_at"));
  g_assert_false (json_object_get_boolean_member (object, "transactional"));
}

/* A bulk invitation to a guest whose first name is a script and whose
 * last name is not ASCII: headers encoded, HTML escaped, links signed.
 */
static void
test_render_invitation (void)
{
  g_autoptr(EdMailRenderer) renderer = make_renderer ();
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_INVITATION);
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest (SCRIPT_NAME, "Ørsted");
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(EdMailMessage) again = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(JsonObject) python = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autofree char *list_unsubscribe = NULL;
  g_auto(GStrv) lines = NULL;
  InternetAddressList *to;
  GMimeObject *body;
  const char *message_id;
  JsonArray *parts;

  message = ed_mail_renderer_render (renderer, campaign, event, guest, 1234, 1700000000, &error);
  g_assert_no_error (error);
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ed_mail_message_get_envelope_to (message), ==, "zoe@example.org");
  g_assert_cmpstr (ed_mail_message_get_envelope_from (message), ==, "einladung@events.example.org");

  parsed = ed_test_parse_with_gmime (bytes);
  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==,
                   "Einladung: Sommerfest in Köln für " SCRIPT_NAME);
  to = g_mime_message_get_to (parsed);
  g_assert_cmpint (internet_address_list_length (to), ==, 1);
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (to, 0)), ==,
                   SCRIPT_NAME " Ørsted");
  g_assert_nonnull (g_mime_message_get_date (parsed));

  /* Named by the queue row, the same for a retry, at mail-from's domain. */
  message_id = g_mime_message_get_message_id (parsed);
  g_assert_true (g_str_has_prefix (message_id, "1234.5."));
  g_assert_true (g_str_has_suffix (message_id, "@events.example.org"));
  again = ed_mail_renderer_render (renderer, campaign, event, guest, 1234, 1700000000, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ed_mail_message_get_message_id (again), ==, message_id);
  /* The same row queued again later (an invitation resent) is a new message. */
  g_clear_pointer (&again, ed_mail_message_free);
  again = ed_mail_renderer_render (renderer, campaign, event, guest, 1234, 1700000600, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ed_mail_message_get_message_id (again), !=, message_id);
  g_assert_true (g_str_has_prefix (ed_mail_message_get_message_id (again), "1234.5."));

  list_unsubscribe = g_strdup (header (parsed, "List-Unsubscribe"));
  g_assert_nonnull (list_unsubscribe);
  g_assert_true (list_unsubscribe[0] == '<' && g_str_has_suffix (list_unsubscribe, ">"));
  list_unsubscribe[strlen (list_unsubscribe) - 1] = '\0';
  assert_link_names_guest (list_unsubscribe + 1, "/u/");
  g_assert_cmpstr (header (parsed, "List-Unsubscribe-Post"), ==, "List-Unsubscribe=One-Click");

  body = g_mime_message_get_mime_part (parsed);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (body), "multipart", "alternative"));
  text = part_text (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0));
  html = part_text (g_mime_multipart_get_part (GMIME_MULTIPART (body), 1));

  /* The text has the name as it is; the HTML only escaped. */
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "Hallo " SCRIPT_NAME " Ørsted,");
  g_assert_true (g_str_has_prefix (lines[1], "Antwort: "));
  assert_link_names_guest (lines[1] + strlen ("Antwort: "), "/r/");
  g_assert_cmpstr (lines[2] + strlen ("Abmelden: "), ==, list_unsubscribe + 1);
  g_assert_null (strstr (html, "<script>"));
  g_assert_nonnull (strstr (html, "<p>Hallo &lt;script&gt;alert(1)&lt;/script&gt; Ørsted</p>"));
  g_assert_nonnull (strstr (html, "<a href=\"https://events.example.org/r/"));

  /* A second MIME parser agrees, and finds nothing wrong. */
  python = parse_with_python (bytes);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (python, "defects")), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (python, "to_display_name"), ==, SCRIPT_NAME " Ørsted");
  parts = json_object_get_array_member (python, "parts");
  g_assert_cmpint (json_array_get_length (parts), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (parts, 0), "charset"), ==, "utf-8");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (parts, 1), "content"),
                            "&lt;script&gt;"));
}

/* Transactional mail: no List-Unsubscribe; an empty text is the built-in
 * one; text only without an HTML body.
 */
static void
test_render_promotion (void)
{
  g_autoptr(EdMailRenderer) renderer = make_renderer ();
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_WAITLIST_PROMOTION);
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest ("Zoë", "");
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  InternetAddressList *to;
  GMimeObject *body;

  campaign->transactional = TRUE;
  g_free (campaign->subject);
  campaign->subject = g_strdup ("");
  g_free (campaign->text);
  campaign->text = g_strdup ("  \n");
  g_clear_pointer (&campaign->html, g_free);

  message = ed_mail_renderer_render (renderer, campaign, event, guest, 9, 0, &error);
  g_assert_no_error (error);
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);
  parsed = ed_test_parse_with_gmime (bytes);

  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, "A place for you at Sommerfest in Köln");
  g_assert_null (header (parsed, "List-Unsubscribe"));
  g_assert_null (header (parsed, "List-Unsubscribe-Post"));
  to = g_mime_message_get_to (parsed);
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (to, 0)), ==, "Zoë");

  body = g_mime_message_get_mime_part (parsed);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (body), "text", "plain"));
  text = part_text (body);
  g_assert_true (g_str_has_prefix (text, "Hello Zoë,\n"));
  g_assert_nonnull (strstr (text, "https://events.example.org/r/"));
}

/* An acceptance confirmation carries the event's calendar file. */
static void
test_render_confirmation (void)
{
  g_autoptr(EdMailRenderer) renderer = make_renderer ();
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_CONFIRMATION);
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest ("Zoë", "Ørsted");
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(GMimeStream) decoded = g_mime_stream_mem_new ();
  g_autoptr(JsonObject) python = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *ics = NULL;
  GMimeObject *body, *calendar;
  GByteArray *array;

  campaign->transactional = TRUE;
  g_free (campaign->subject);
  campaign->subject = g_strdup ("");
  g_free (campaign->text);
  campaign->text = g_strdup ("");
  g_clear_pointer (&campaign->html, g_free);
  guest->status = ED_RSVP_ACCEPTED;

  message = ed_mail_renderer_render (renderer, campaign, event, guest, 10, 0, &error);
  g_assert_no_error (error);
  bytes = ed_mail_message_to_bytes (message, &error);
  g_assert_no_error (error);
  parsed = ed_test_parse_with_gmime (bytes);

  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, "You are coming to Sommerfest in Köln");
  g_assert_null (header (parsed, "List-Unsubscribe"));
  body = g_mime_message_get_mime_part (parsed);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (body), "multipart", "mixed"));
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (body)), ==, 2);
  text = part_text (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0));
  g_assert_nonnull (strstr (text, "for 2 seat(s)"));
  g_assert_nonnull (strstr (text, "2026-07-04 18:30 (Europe/Berlin)"));

  calendar = g_mime_multipart_get_part (GMIME_MULTIPART (body), 1);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (calendar), "text", "calendar"));
  g_assert_cmpstr (g_mime_object_get_content_type_parameter (calendar, "method"), ==, "PUBLISH");
  g_assert_cmpstr (g_mime_part_get_filename (GMIME_PART (calendar)), ==, "sommerfest-in-koln.ics");
  g_mime_data_wrapper_write_to_stream (g_mime_part_get_content (GMIME_PART (calendar)), decoded);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (decoded));
  ics = g_strndup ((const char *) array->data, array->len);
  g_assert_nonnull (strstr (ics, "UID:event-7-guest-42@events.example.org\r\n"));
  g_assert_nonnull (strstr (ics, "DTSTART:20260704T163000Z\r\n"));
  g_assert_nonnull (strstr (ics, "SUMMARY:Sommerfest in Köln\r\n"));

  python = parse_with_python (bytes);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (python, "defects")), ==, 0);
}

/* Previews and test sends: parts as the API shows them, random IDs. */
static void
test_render_parts (void)
{
  g_autoptr(EdMailRenderer) renderer = make_renderer ();
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_UPDATE);
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest ("", "");
  g_autoptr(EdMailMessage) first = NULL;
  g_autoptr(EdMailMessage) second = NULL;
  g_auto(EdMailParts) parts = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_true (ed_mail_renderer_render_parts (renderer, campaign, event, guest, &parts, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (parts.to, ==, "zoe@example.org");
  g_assert_null (parts.to_name);
  g_assert_cmpstr (parts.subject, ==, "Einladung: Sommerfest in Köln für ");
  assert_link_names_guest (parts.rsvp_url, "/r/");
  assert_link_names_guest (parts.unsubscribe_url, "/u/");
  g_assert_nonnull (strstr (parts.html, parts.rsvp_url));

  first = ed_mail_renderer_render (renderer, campaign, event, guest, 0, 0, &error);
  second = ed_mail_renderer_render (renderer, campaign, event, guest, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ed_mail_message_get_message_id (first), !=, ed_mail_message_get_message_id (second));
}

static void
test_render_errors (void)
{
  g_autoptr(GBytes) secret = test_secret ();
  g_autoptr(EdMailRenderer) renderer = make_renderer ();
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_INVITATION);
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest ("Zoë", "Ørsted");
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  EdMailRenderer *bad;

  bad = ed_mail_renderer_new ("not an address", PUBLIC_URL, secret, &error);
  g_assert_null (bad);
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "mail-from: "));
  g_clear_error (&error);

  bad = ed_mail_renderer_new (FROM, "ftp://events.example.org", secret, &error);
  g_assert_null (bad);
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "public-url"));
  g_clear_error (&error);

  /* A template broken after it was saved fails the message, saying where. */
  g_free (campaign->html);
  campaign->html = g_strdup ("<p>{{frist_name}}</p>");
  message = ed_mail_renderer_render (renderer, campaign, event, guest, 1, 0, &error);
  g_assert_null (message);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "the HTML body: "));
  g_assert_nonnull (strstr (error->message, "{{frist_name}}"));
  g_clear_error (&error);

  /* A guest of another event gets no message of this one. */
  guest->event_id = 8;
  message = ed_mail_renderer_render (renderer, campaign, event, guest, 1, 0, &error);
  g_assert_null (message);
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
}

typedef struct
{
  EdMailRenderer *renderer;
  EdCampaign     *campaign;
  EdEvent        *event;
  guint           index;
} RenderThread;

static gpointer
render_in_thread (gpointer data)
{
  RenderThread *job = data;

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(EdGuest) guest = make_guest ("Zoë", "Ørsted");
      g_autoptr(EdMailMessage) message = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;

      guest->id = job->index * 1000 + i;
      message = ed_mail_renderer_render (job->renderer, job->campaign, job->event, guest, guest->id, 0, &error);
      g_assert_no_error (error);
      bytes = ed_mail_message_to_bytes (message, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (bytes), >, 0);
    }

  return NULL;
}

/* One renderer shared by several threads, as the mailer and the API do. */
static void
test_render_threads (void)
{
  g_autoptr(EdMailRenderer) renderer = make_renderer ();
  g_autoptr(EdCampaign) campaign = make_campaign (ED_CAMPAIGN_KIND_CONFIRMATION);
  g_autoptr(EdEvent) event = make_event ();
  RenderThread jobs[4];
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      jobs[i] = (RenderThread) { renderer, campaign, event, i + 1 };
      threads[i] = g_thread_new ("render", render_in_thread, &jobs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}


/* ---- the campaign API, against the real daemon ---- */

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"
#define N_IMPORTED 2000

typedef struct
{
  EdTestSmtpServer *capture;  /* the daemon's mail transport, for some tests */
  guint             n_confirmations; /* captured before the test: the acceptances' */
  EdTestDaemon *daemon;
  SoupSession  *session;
  char         *token;
  gint64        event_id;
  gint64        guests[5];  /* ann, bob (accepted), cem (declined), dora, eve (pending) */
} Fixture;

static EdTestResponse *request (Fixture    *fixture,
                                const char *method,
                                const char *json_body,
                                const char *path_format,
                                ...) G_GNUC_PRINTF (4, 5);

static EdTestResponse *
request (Fixture    *fixture,
         const char *method,
         const char *json_body,
         const char *path_format,
         ...)
{
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  va_list args;

  va_start (args, path_format);
  path = g_strdup_vprintf (path_format, args);
  va_end (args);
  url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request (fixture->session, method, url, fixture->token, json_body, NULL);
}

static gint64
create_guest (Fixture    *fixture,
              const char *email,
              const char *first_name,
              const char *status)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"first_name\":\"%s\"}", email, first_name);
  gint64 id;

  response = request (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", fixture->event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  id = json_object_get_int_member (ed_test_response_get_object (response), "id");

  if (status != NULL)
    {
      g_autoptr(EdTestResponse) patched = NULL;
      g_autofree char *answer = g_strdup_printf ("{\"status\":\"%s\"}", status);

      patched = request (fixture, "PATCH", answer, "/api/v1/guests/%" G_GINT64_FORMAT, id);
      ed_test_assert_status (patched, SOUP_STATUS_OK);
    }

  return id;
}

/* A running daemon, an admin logged in, one event with five guests; with
 * user_data "capture", the daemon sends its mail to a capture server.
 */
static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *url = NULL;

  fixture->daemon = ed_test_daemon_new ();
  fixture->session = ed_test_http_session_new ();
  if (g_strcmp0 (user_data, "capture") == 0)
    {
      g_autofree char *transport = NULL;

      fixture->capture = ed_test_capture_server_new (NULL);
      transport = ed_test_smtp_server_get_url (fixture->capture, NULL, "starttls=off");
      ed_test_daemon_set_args (fixture->daemon, (const char * const []) {
                                 "--mail-transport", transport, "--mail-from", "Sommerfest <fest@events.example.org>", NULL });
    }
  ed_test_daemon_add_admin (fixture->daemon, ADMIN_NAME, ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);
  fixture->token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                                       ADMIN_NAME, ADMIN_PASSWORD);

  response = request (fixture, "POST",
                      "{\"name\":\"Sommerfest in Köln\",\"starts_at\":\"2027-07-04T16:30:00Z\","
                      "\"capacity\":100,\"timezone\":\"Europe/Berlin\",\"venue\":\"Rheinpark\"}",
                      "/api/v1/events");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  fixture->event_id = json_object_get_int_member (ed_test_response_get_object (response), "id");

  fixture->guests[0] = create_guest (fixture, "ann@example.org", "Ann", "accepted");
  fixture->guests[1] = create_guest (fixture, "bob@example.org", "Bob", "accepted");
  fixture->guests[2] = create_guest (fixture, "cem@example.org", "Cem", "declined");
  fixture->guests[3] = create_guest (fixture, "dora@example.org", "Dóra", NULL);
  fixture->guests[4] = create_guest (fixture, "eve@example.org", SCRIPT_NAME, NULL);

  /* Ann's and Bob's acceptances have their confirmations sent first, so
   * that the tests' own messages come after them.
   */
  if (fixture->capture != NULL)
    {
      gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      while (ed_test_capture_server_get_n_messages (fixture->capture) < 2 && g_get_monotonic_time () < deadline)
        g_usleep (20 * 1000);
      g_usleep (200 * 1000);
      fixture->n_confirmations = ed_test_capture_server_get_n_messages (fixture->capture);
      g_assert_cmpuint (fixture->n_confirmations, ==, 2);
    }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_clear_pointer (&fixture->token, g_free);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
  g_clear_pointer (&fixture->capture, ed_test_smtp_server_free);
}

/* Creates a campaign from @body and returns its id. */
static gint64
create_campaign (Fixture    *fixture,
                 const char *body)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", fixture->event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  return json_object_get_int_member (ed_test_response_get_object (response), "id");
}

static EdTestResponse *
campaign_action (Fixture    *fixture,
                 gint64      campaign_id,
                 const char *action)
{
  return request (fixture, "POST", "{}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/%s", campaign_id, action);
}

static gint64
count_of (JsonObject *campaign,
          const char *state)
{
  return json_object_get_int_member (json_object_get_object_member (campaign, "counts"), state);
}

/* Messages not cancelled: the mailer may have taken some on by now. */
static gint64
count_live (JsonObject *campaign)
{
  return count_of (campaign, "queued") + count_of (campaign, "sending") + count_of (campaign, "sent") +
         count_of (campaign, "retry") + count_of (campaign, "failed");
}

static gint64
audience_count (Fixture    *fixture,
                const char *audience)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *escaped = g_uri_escape_string (audience, NULL, FALSE);

  response = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/audience?audience=%s",
                      fixture->event_id, escaped);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  return json_object_get_int_member (ed_test_response_get_object (response), "count");
}

/* Runs SQL on the daemon's database beside it (WAL lets both in): for
 * states only the mailer makes, such as failed messages.
 */
static gint64 run_sql (Fixture    *fixture,
                       const char *format,
                       ...) G_GNUC_PRINTF (2, 3);

static gint64
run_sql (Fixture    *fixture,
         const char *format,
         ...)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autofree char *sql = NULL;
  va_list args;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = 0;

  va_start (args, format);
  sql = g_strdup_vprintf (format, args);
  va_end (args);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (value == 0)
    value = sqlite3_changes (db);
  sqlite3_close (db);
  return value;
}

static void
test_api_create_default (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) german = NULL;
  JsonObject *campaign;

  response = request (fixture, "POST", "{}", "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", fixture->event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  campaign = ed_test_response_get_object (response);
  g_assert_true (g_str_has_prefix (ed_test_response_get_header (response, "Location"), "/api/v1/campaigns/"));
  g_assert_cmpstr (json_object_get_string_member (campaign, "kind"), ==, "invitation");
  g_assert_cmpstr (json_object_get_string_member (campaign, "state"), ==, "draft");
  g_assert_cmpstr (json_object_get_string_member (campaign, "audience"), ==, "all");
  g_assert_cmpstr (json_object_get_string_member (campaign, "subject"), ==, "Invitation: {{event_name}}");
  g_assert_nonnull (strstr (json_object_get_string_member (campaign, "text"), "{{rsvp_url}}"));
  g_assert_nonnull (strstr (json_object_get_string_member (campaign, "html"), "<html lang=\"en\">"));
  g_assert_cmpint (json_object_get_int_member (campaign, "total"), ==, 0);
  g_assert_cmpint (count_of (campaign, "queued"), ==, 0);
  g_assert_true (json_object_get_null_member (campaign, "state_reason"));
  g_assert_true (json_object_get_null_member (campaign, "launched_at"));

  german = request (fixture, "POST", "{\"language\":\"de\",\"audience\":\"status:accepted\"}",
                    "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", fixture->event_id);
  ed_test_assert_status (german, SOUP_STATUS_CREATED);
  campaign = ed_test_response_get_object (german);
  g_assert_cmpstr (json_object_get_string_member (campaign, "subject"), ==, "Einladung: {{event_name}}");
  g_assert_nonnull (strstr (json_object_get_string_member (campaign, "html"), "<html lang=\"de\">"));
  g_assert_cmpstr (json_object_get_string_member (campaign, "audience"), ==, "status:accepted");
}

static void
test_api_validation (Fixture       *fixture,
                     gconstpointer  user_data)
{
  static const struct {
    const char *body;
    const char *field;
    const char *message_part;
  } cases[] = {
    { "{\"subjekt\":\"Hi\"}", "subjekt", "not a known field" },
    { "{\"subject\":5}", "subject", "must be a string" },
    { "{\"kind\":\"confirmation\"}", "kind", "invitation, reminder, update" },
    { "{\"subject\":\"Hi {{frist_name}}\",\"text\":\"x\"}", "subject", "{{frist_name}}" },
    { "{\"subject\":\"Hi\",\"text\":\"Dear {{first_name}\"}", "text", "not “}”" },
    { "{\"subject\":\"Hi\",\"text\":\"x\",\"html\":\"<p>{{unknown_thing}}</p>\"}", "html", "{{unknown_thing}}" },
    { "{\"audience\":\"status:maybe\"}", "audience", "“maybe”" },
    { "{\"audience\":\"everyone\"}", "audience", "not an audience" },
    { "{\"language\":\"../../etc\"}", "language", "language code" },
    { "{\"subject\":\"two\\nlines\"}", "subject", "one line" },
  };
  g_autoptr(EdTestResponse) missing = NULL;
  g_autoptr(EdTestResponse) listed = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(EdTestResponse) response = NULL;
      const char *message;

      response = request (fixture, "POST", cases[i].body, "/api/v1/events/%" G_GINT64_FORMAT "/campaigns",
                          fixture->event_id);
      ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
      message = ed_test_response_get_error_field (response, cases[i].field);
      if (message == NULL || strstr (message, cases[i].message_part) == NULL)
        ed_test_response_dump (response);
      g_assert_nonnull (message);
      g_assert_nonnull (strstr (message, cases[i].message_part));
    }

  missing = request (fixture, "POST", "{}", "/api/v1/events/999/campaigns");
  ed_test_assert_error (missing, SOUP_STATUS_NOT_FOUND, "not_found");

  /* Nothing of the refused ones was stored: the only campaign is the
   * system's confirmation campaign, which the fixture's acceptances made.
   */
  listed = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", fixture->event_id);
  ed_test_assert_status (listed, SOUP_STATUS_OK);
  {
    JsonArray *items = json_object_get_array_member (ed_test_response_get_object (listed), "items");

    for (guint i = 0; i < json_array_get_length (items); i++)
      g_assert_true (json_object_get_boolean_member (json_array_get_object_element (items, i), "transactional"));
  }
}

static void
test_api_get_list_edit (Fixture       *fixture,
                        gconstpointer  user_data)
{
  /* the fixture's acceptances made the system's confirmation campaign */
  g_autoptr(EdTestResponse) before = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/campaigns",
                                              fixture->event_id);
  gint64 n_system = json_object_get_int_member (ed_test_response_get_object (before), "total");
  gint64 first = create_campaign (fixture, "{\"kind\":\"reminder\",\"subject\":\"Reminder: {{event_name}}\","
                                           "\"text\":\"See you, {{first_name}}: {{rsvp_url}}\"}");
  gint64 second = create_campaign (fixture, "{}");
  g_autoptr(EdTestResponse) page1 = NULL;
  g_autoptr(EdTestResponse) page2 = NULL;
  g_autoptr(EdTestResponse) got = NULL;
  g_autoptr(EdTestResponse) edited = NULL;
  g_autoptr(EdTestResponse) bad_edit = NULL;
  g_autoptr(EdTestResponse) launched = NULL;
  g_autoptr(EdTestResponse) refused = NULL;
  g_autoptr(EdTestResponse) unknown = NULL;
  JsonObject *object;
  JsonArray *items;

  page1 = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/campaigns?limit=1&after=%" G_GINT64_FORMAT,
                   fixture->event_id, first - 1);
  ed_test_assert_status (page1, SOUP_STATUS_OK);
  object = ed_test_response_get_object (page1);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpint (json_array_get_length (items), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0), "id"), ==, first);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, n_system + 2);
  g_assert_cmpint (json_object_get_int_member (object, "next"), ==, first);

  page2 = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/campaigns?limit=1&after=%" G_GINT64_FORMAT,
                   fixture->event_id, first);
  object = ed_test_response_get_object (page2);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0), "id"), ==, second);
  g_assert_true (json_object_get_null_member (object, "next"));

  got = request (fixture, "GET", NULL, "/api/v1/campaigns/%" G_GINT64_FORMAT, first);
  ed_test_assert_status (got, SOUP_STATUS_OK);
  object = ed_test_response_get_object (got);
  g_assert_cmpstr (json_object_get_string_member (object, "kind"), ==, "reminder");
  g_assert_true (json_object_get_null_member (object, "html"));

  edited = request (fixture, "PATCH", "{\"subject\":\"Soon: {{event_name}}\",\"audience\":\"status:declined,accepted\","
                                      "\"html\":\"<p>{{first_name}}</p>\"}",
                    "/api/v1/campaigns/%" G_GINT64_FORMAT, first);
  ed_test_assert_status (edited, SOUP_STATUS_OK);
  object = ed_test_response_get_object (edited);
  g_assert_cmpstr (json_object_get_string_member (object, "subject"), ==, "Soon: {{event_name}}");
  g_assert_cmpstr (json_object_get_string_member (object, "audience"), ==, "status:accepted,declined");
  g_assert_cmpstr (json_object_get_string_member (object, "html"), ==, "<p>{{first_name}}</p>");
  g_assert_cmpstr (json_object_get_string_member (object, "text"), ==, "See you, {{first_name}}: {{rsvp_url}}");

  bad_edit = request (fixture, "PATCH", "{\"text\":\"{{nope}}\",\"language\":\"de\"}",
                      "/api/v1/campaigns/%" G_GINT64_FORMAT, first);
  ed_test_assert_error (bad_edit, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (strstr (ed_test_response_get_error_field (bad_edit, "text"), "{{nope}}"));
  g_assert_nonnull (ed_test_response_get_error_field (bad_edit, "language"));

  launched = campaign_action (fixture, first, "launch");
  ed_test_assert_status (launched, SOUP_STATUS_OK);
  refused = request (fixture, "PATCH", "{\"subject\":\"Too late\"}", "/api/v1/campaigns/%" G_GINT64_FORMAT, first);
  ed_test_assert_error (refused, SOUP_STATUS_CONFLICT, "conflict");
  g_assert_nonnull (strstr (json_object_get_string_member (json_object_get_object_member (ed_test_response_get_object (refused), "error"), "message"),
                            "only a draft or a paused campaign can be edited"));

  unknown = request (fixture, "GET", NULL, "/api/v1/campaigns/424242");
  ed_test_assert_error (unknown, SOUP_STATUS_NOT_FOUND, "not_found");
}

static void
test_api_audience (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) bad = NULL;
  g_autoptr(EdTestResponse) launched = NULL;
  gint64 invitation;

  g_assert_cmpint (audience_count (fixture, "all"), ==, 5);
  g_assert_cmpint (audience_count (fixture, "status:accepted"), ==, 2);
  g_assert_cmpint (audience_count (fixture, "status:accepted,declined"), ==, 3);
  g_assert_cmpint (audience_count (fixture, "status:waitlisted"), ==, 0);
  g_assert_cmpint (audience_count (fixture, "not_invited"), ==, 5);

  bad = request (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/audience?audience=status:", fixture->event_id);
  ed_test_assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (bad, "audience"));

  /* An invitation queued for the accepted guests: they are invited now. */
  invitation = create_campaign (fixture, "{\"audience\":\"status:accepted\"}");
  launched = campaign_action (fixture, invitation, "launch");
  ed_test_assert_status (launched, SOUP_STATUS_OK);
  g_assert_cmpint (audience_count (fixture, "not_invited"), ==, 3);

  /* Unsubscribed guests are no bulk audience's. */
  run_sql (fixture, "UPDATE guests SET unsubscribed_at = 1 WHERE email = 'dora@example.org'");
  g_assert_cmpint (audience_count (fixture, "all"), ==, 4);
  g_assert_cmpint (audience_count (fixture, "not_invited"), ==, 2);
  g_assert_cmpint (audience_count (fixture, "status:pending"), ==, 1);
}

/* Launch queues exactly the audience, in one go, and only once. */
static void
test_api_launch (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) imported = NULL;
  g_autoptr(EdTestResponse) launched = NULL;
  g_autoptr(EdTestResponse) again = NULL;
  g_autoptr(EdTestResponse) empty = NULL;
  g_autoptr(EdTestResponse) missing = NULL;
  g_autoptr(GString) csv = g_string_new ("email,first_name\n");
  g_autoptr(GBytes) body = NULL;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  gint64 campaign_id, nobody, expected;
  JsonObject *object;

  for (guint i = 0; i < N_IMPORTED; i++)
    g_string_append_printf (csv, "guest%u@example.org,Gast %u\n", i, i);
  body = g_bytes_new (csv->str, csv->len);
  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import", fixture->event_id);
  url = ed_test_daemon_url (fixture->daemon, path);
  imported = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token, "text/csv", body, FALSE);
  g_assert_cmpuint (imported->status / 100, ==, 2);

  run_sql (fixture, "UPDATE guests SET unsubscribed_at = 1 WHERE email IN ('guest7@example.org', 'guest8@example.org')");
  expected = audience_count (fixture, "all");
  g_assert_cmpint (expected, ==, 5 + N_IMPORTED - 2);

  campaign_id = create_campaign (fixture, "{}");
  launched = campaign_action (fixture, campaign_id, "launch");
  ed_test_assert_status (launched, SOUP_STATUS_OK);
  object = ed_test_response_get_object (launched);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), !=, "draft");
  g_assert_false (json_object_get_null_member (object, "launched_at"));
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, expected);
  g_assert_cmpint (count_live (object), ==, expected);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE campaign_id = %" G_GINT64_FORMAT,
                                                      campaign_id), ==, expected);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages JOIN guests ON guests.id = messages.guest_id "
                                     "WHERE guests.unsubscribed_at IS NOT NULL"), ==, 0);

  again = campaign_action (fixture, campaign_id, "launch");
  ed_test_assert_error (again, SOUP_STATUS_CONFLICT, "conflict");
  g_assert_nonnull (strstr (json_object_get_string_member (json_object_get_object_member (ed_test_response_get_object (again), "error"), "message"),
                            "only a draft can be launched"));
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages JOIN campaigns c ON c.id = campaign_id "
                                     "WHERE NOT c.transactional"), ==, expected);

  /* Nobody in the audience: the campaign is done at once. */
  nobody = create_campaign (fixture, "{\"audience\":\"status:waitlisted\"}");
  empty = campaign_action (fixture, nobody, "launch");
  ed_test_assert_status (empty, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (ed_test_response_get_object (empty), "state"), ==, "done");

  missing = campaign_action (fixture, 424242, "launch");
  ed_test_assert_error (missing, SOUP_STATUS_NOT_FOUND, "not_found");
}

static const char *
state_of (EdTestResponse *response)
{
  return json_object_get_string_member (ed_test_response_get_object (response), "state");
}

static void
assert_refused (Fixture    *fixture,
                gint64      campaign_id,
                const char *action,
                const char *why)
{
  g_autoptr(EdTestResponse) response = campaign_action (fixture, campaign_id, action);
  const char *message;

  ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "conflict");
  message = json_object_get_string_member (json_object_get_object_member (ed_test_response_get_object (response), "error"),
                                           "message");
  if (strstr (message, why) == NULL)
    g_test_message ("%s: %s", action, message);
  g_assert_nonnull (strstr (message, why));
}

static void
test_api_transitions (Fixture       *fixture,
                      gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{\"kind\":\"update\",\"subject\":\"News\",\"text\":\"{{rsvp_url}}\"}");
  gint64 blank = create_campaign (fixture, "{\"kind\":\"update\",\"subject\":\"News\"}");
  g_autoptr(EdTestResponse) paused = NULL;
  g_autoptr(EdTestResponse) edited = NULL;
  g_autoptr(EdTestResponse) resumed = NULL;
  g_autoptr(EdTestResponse) retried = NULL;
  g_autoptr(EdTestResponse) cancelled = NULL;
  JsonObject *object;

  assert_refused (fixture, blank, "launch", "has no text yet");
  assert_refused (fixture, campaign_id, "pause", "only a running campaign can be paused");
  assert_refused (fixture, campaign_id, "resume", "only a paused campaign can be resumed");
  assert_refused (fixture, campaign_id, "retry-failed", "launch it first");

  {
    g_autoptr(EdTestResponse) launched = campaign_action (fixture, campaign_id, "launch");
    ed_test_assert_status (launched, SOUP_STATUS_OK);
  }

  paused = campaign_action (fixture, campaign_id, "pause");
  ed_test_assert_status (paused, SOUP_STATUS_OK);
  g_assert_cmpstr (state_of (paused), ==, "paused");
  assert_refused (fixture, campaign_id, "pause", "only a running campaign can be paused");

  /* A paused campaign can be edited; the next messages use the edit. */
  edited = request (fixture, "PATCH", "{\"subject\":\"Changed\"}", "/api/v1/campaigns/%" G_GINT64_FORMAT, campaign_id);
  ed_test_assert_status (edited, SOUP_STATUS_OK);

  /* As if it had paused itself: resume forgets why. */
  run_sql (fixture, "UPDATE campaigns SET state_reason = 'too many failures' WHERE id = %" G_GINT64_FORMAT,
                                     campaign_id);
  resumed = campaign_action (fixture, campaign_id, "resume");
  ed_test_assert_status (resumed, SOUP_STATUS_OK);
  g_assert_cmpstr (state_of (resumed), ==, "running");
  g_assert_true (json_object_get_null_member (ed_test_response_get_object (resumed), "state_reason"));

  /* Failed messages of a done campaign go out again. */
  g_assert_cmpint (run_sql (fixture, "UPDATE messages SET state = 'failed', attempts = 3, last_code = 550 "
                              "WHERE campaign_id = %" G_GINT64_FORMAT " AND guest_id IN (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                              campaign_id, fixture->guests[0], fixture->guests[1]), ==, 2);
  run_sql (fixture, "UPDATE campaigns SET state = 'done' WHERE id = %" G_GINT64_FORMAT, campaign_id);
  retried = campaign_action (fixture, campaign_id, "retry-failed");
  ed_test_assert_status (retried, SOUP_STATUS_OK);
  object = ed_test_response_get_object (retried);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "running");
  g_assert_cmpint (count_of (object, "failed"), ==, 0);
  g_assert_cmpint (count_live (object), ==, 5);
  /* the daemon's mailer may send them at once: no failure is left either way */
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE campaign_id = %" G_GINT64_FORMAT
                                                      " AND (state = 'failed' OR last_code = 550)", campaign_id), ==, 0);

  /* Two messages wait for a retry far ahead, so that the campaign still
   * runs when it is cancelled, however soon the mailer sent the rest.
   */
  run_sql (fixture, "UPDATE messages SET state = 'retry', next_attempt_at = 4102444800 "
                    "WHERE campaign_id = %" G_GINT64_FORMAT " AND guest_id IN (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                    campaign_id, fixture->guests[0], fixture->guests[1]);
  run_sql (fixture, "UPDATE campaigns SET state = 'running', finished_at = NULL WHERE id = %" G_GINT64_FORMAT,
                    campaign_id);
  cancelled = campaign_action (fixture, campaign_id, "cancel");
  ed_test_assert_status (cancelled, SOUP_STATUS_OK);
  object = ed_test_response_get_object (cancelled);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "cancelled");
  g_assert_false (json_object_get_null_member (object, "finished_at"));
  g_assert_cmpint (count_of (object, "queued") + count_of (object, "retry"), ==, 0);
  g_assert_cmpint (count_of (object, "cancelled") + count_of (object, "sent") + count_of (object, "sending") +
                   count_of (object, "failed"), ==, 5);

  assert_refused (fixture, campaign_id, "cancel", "already ended");
  assert_refused (fixture, campaign_id, "resume", "only a paused campaign");
  assert_refused (fixture, campaign_id, "retry-failed", "stays cancelled");
  assert_refused (fixture, campaign_id, "launch", "only a draft");
}

/* Counters that differ from the campaign's messages, read in one
 * snapshot (the daemon's mailer may be sending meanwhile): 0 when every
 * state's count and the total are right.
 */
static gint64
count_mismatches (Fixture *fixture,
                  gint64   campaign_id)
{
  return run_sql (fixture,
                  "SELECT (SELECT count(*) FROM campaign_counts cc WHERE cc.campaign_id = %1$" G_GINT64_FORMAT
                  "  AND cc.messages <> (SELECT count(*) FROM messages m"
                  "    WHERE m.campaign_id = %1$" G_GINT64_FORMAT " AND m.state = cc.state))"
                  " + abs((SELECT coalesce(sum(messages), 0) FROM campaign_counts"
                  "    WHERE campaign_id = %1$" G_GINT64_FORMAT ")"
                  "  - (SELECT count(*) FROM messages WHERE campaign_id = %1$" G_GINT64_FORMAT "))",
                  campaign_id);
}

/* The counters agree with the messages: the launch counts what it
 * queued itself, and the triggers keep the counts from then on.
 */
static void
test_api_counts (Fixture       *fixture,
                 gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{}");
  g_autoptr(EdTestResponse) launched = campaign_action (fixture, campaign_id, "launch");
  g_autoptr(EdTestResponse) got = NULL;
  JsonObject *object;

  ed_test_assert_status (launched, SOUP_STATUS_OK);
  g_assert_cmpint (json_object_get_int_member (ed_test_response_get_object (launched), "total"), ==,
                   run_sql (fixture, "SELECT count(*) FROM guests WHERE event_id = %" G_GINT64_FORMAT,
                            fixture->event_id));
  g_assert_cmpint (count_mismatches (fixture, campaign_id), ==, 0);
  /* the launch put the per-row trigger back */
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM sqlite_master "
                                     "WHERE type = 'trigger' AND name = 'campaign_counts_insert'"), ==, 1);
  run_sql (fixture, "UPDATE messages SET state = CASE guest_id WHEN %" G_GINT64_FORMAT " THEN 'sent' "
                         "WHEN %" G_GINT64_FORMAT " THEN 'retry' ELSE state END WHERE campaign_id = %" G_GINT64_FORMAT,
                         fixture->guests[0], fixture->guests[1], campaign_id);
  run_sql (fixture, "DELETE FROM guests WHERE id = %" G_GINT64_FORMAT, fixture->guests[4]);

  got = request (fixture, "GET", NULL, "/api/v1/campaigns/%" G_GINT64_FORMAT, campaign_id);
  object = ed_test_response_get_object (got);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==,
                   run_sql (fixture, "SELECT count(*) FROM messages WHERE campaign_id = %" G_GINT64_FORMAT,
                                                      campaign_id));
  g_assert_cmpint (count_of (object, "retry") + count_of (object, "sending") + count_of (object, "sent") +
                   count_of (object, "queued") + count_of (object, "failed"), ==, json_object_get_int_member (object, "total"));
  g_assert_cmpint (count_of (object, "sent"), >=, 1);
  g_assert_cmpint (count_mismatches (fixture, campaign_id), ==, 0);
}

static void
test_api_unauthorized (Fixture       *fixture,
                       gconstpointer  user_data)
{
  static const char * const routes[] = {
    "GET", "/api/v1/events/1/campaigns",
    "POST", "/api/v1/events/1/campaigns",
    "GET", "/api/v1/events/1/audience",
    "GET", "/api/v1/campaigns/1",
    "PATCH", "/api/v1/campaigns/1",
    "POST", "/api/v1/campaigns/1/launch",
    "POST", "/api/v1/campaigns/1/pause",
    "POST", "/api/v1/campaigns/1/resume",
    "POST", "/api/v1/campaigns/1/cancel",
    "POST", "/api/v1/campaigns/1/retry-failed",
    "POST", "/api/v1/campaigns/1/preview",
    "POST", "/api/v1/campaigns/1/test",
    "GET", "/api/v1/queue",
    "GET", "/api/v1/messages",
    "GET", "/api/v1/guests/1/deliveries",
  };

  create_campaign (fixture, "{}");
  for (guint i = 0; i < G_N_ELEMENTS (routes); i += 2)
    {
      g_autofree char *url = ed_test_daemon_url (fixture->daemon, routes[i + 1]);
      g_autoptr(EdTestResponse) response = ed_test_http_request (fixture->session, routes[i], url, NULL, "{}", NULL);

      ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");
    }
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages JOIN campaigns c ON c.id = campaign_id "
                                     "WHERE NOT c.transactional"), ==, 0);
}


static void
test_api_preview (Fixture       *fixture,
                  gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{\"kind\":\"update\",\"subject\":\"For {{first_name}}\","
                                                 "\"text\":\"Hi {{first_name}} {{rsvp_url}}\","
                                                 "\"html\":\"<p>Hi {{first_name}}</p>\"}");
  g_autoptr(EdTestResponse) first = NULL;
  g_autoptr(EdTestResponse) eve = NULL;
  g_autoptr(EdTestResponse) stranger = NULL;
  g_autoptr(EdTestResponse) unknown_field = NULL;
  g_autoptr(EdTestResponse) empty_event = NULL;
  g_autoptr(EdTestResponse) other = NULL;
  g_autofree char *body = NULL;
  JsonObject *object;
  gint64 other_event, other_campaign;

  /* Without a guest: the event's first one. An empty body is fine too. */
  {
    g_autofree char *path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", campaign_id);
    g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);

    first = ed_test_http_request (fixture->session, "POST", url, fixture->token, NULL, NULL);
  }
  ed_test_assert_status (first, SOUP_STATUS_OK);
  object = ed_test_response_get_object (first);
  g_assert_cmpint (json_object_get_int_member (object, "guest_id"), ==, fixture->guests[0]);
  g_assert_cmpstr (json_object_get_string_member (object, "to"), ==, "Ann <ann@example.org>");
  g_assert_cmpstr (json_object_get_string_member (object, "subject"), ==, "For Ann");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (object, "text"), "Hi Ann http://127.0.0.1:"));
  g_assert_nonnull (strstr (json_object_get_string_member (object, "text"), "/r/"));

  /* A script in a name is text in the HTML. */
  body = g_strdup_printf ("{\"guest_id\":%" G_GINT64_FORMAT "}", fixture->guests[4]);
  eve = request (fixture, "POST", body, "/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", campaign_id);
  ed_test_assert_status (eve, SOUP_STATUS_OK);
  object = ed_test_response_get_object (eve);
  g_assert_cmpstr (json_object_get_string_member (object, "html"), ==, "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>");
  g_assert_cmpstr (json_object_get_string_member (object, "subject"), ==, "For " SCRIPT_NAME);

  stranger = request (fixture, "POST", "{\"guest_id\":424242}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", campaign_id);
  ed_test_assert_error (stranger, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (stranger, "guest_id"));

  unknown_field = request (fixture, "POST", "{\"guest\":1}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", campaign_id);
  ed_test_assert_error (unknown_field, SOUP_STATUS_BAD_REQUEST, "invalid_field");

  /* Another event's guest is not this campaign's; an event without guests has nobody to show. */
  {
    g_autoptr(EdTestResponse) created = request (fixture, "POST", "{\"name\":\"Empty\",\"starts_at\":\"2027-01-01T10:00:00Z\",\"capacity\":5}",
                                                 "/api/v1/events");
    ed_test_assert_status (created, SOUP_STATUS_CREATED);
    other_event = json_object_get_int_member (ed_test_response_get_object (created), "id");
  }
  {
    g_autoptr(EdTestResponse) created = request (fixture, "POST", "{}", "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", other_event);
    ed_test_assert_status (created, SOUP_STATUS_CREATED);
    other_campaign = json_object_get_int_member (ed_test_response_get_object (created), "id");
  }
  empty_event = request (fixture, "POST", "{}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", other_campaign);
  ed_test_assert_error (empty_event, SOUP_STATUS_CONFLICT, "no_guests");
  g_clear_pointer (&body, g_free);
  body = g_strdup_printf ("{\"guest_id\":%" G_GINT64_FORMAT "}", fixture->guests[1]);
  other = request (fixture, "POST", body, "/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", other_campaign);
  ed_test_assert_error (other, SOUP_STATUS_BAD_REQUEST, "invalid_field");
}

/* A test send goes through the daemon's transport to the given address,
 * with what the guest would get.
 */
static void
test_api_test_send (Fixture       *fixture,
                    gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{\"language\":\"de\"}");
  g_autoptr(EdTestResponse) sent = NULL;
  g_autoptr(EdTestResponse) bad = NULL;
  g_autoptr(EdTestResponse) missing = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(JsonObject) envelope = NULL;
  g_autofree char *body = NULL;
  JsonObject *object;
  InternetAddressList *to;

  body = g_strdup_printf ("{\"to\":\"Organizer@Example.ORG\",\"guest_id\":%" G_GINT64_FORMAT "}", fixture->guests[3]);
  sent = request (fixture, "POST", body, "/api/v1/campaigns/%" G_GINT64_FORMAT "/test", campaign_id);
  ed_test_assert_status (sent, SOUP_STATUS_OK);
  object = ed_test_response_get_object (sent);
  g_assert_cmpstr (json_object_get_string_member (object, "result"), ==, "sent");
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, 250);
  g_assert_cmpstr (json_object_get_string_member (object, "to"), ==, "Organizer@example.org");

  g_assert_cmpuint (ed_test_capture_server_get_n_messages (fixture->capture), ==, fixture->n_confirmations + 1);
  envelope = ed_test_capture_server_get_envelope (fixture->capture, fixture->n_confirmations + 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (envelope, "rcpt_to"), 0), ==,
                   "Organizer@example.org");
  bytes = ed_test_capture_server_get_message (fixture->capture, fixture->n_confirmations + 1);
  parsed = ed_test_parse_with_gmime (bytes);
  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, "Einladung: Sommerfest in Köln");
  to = g_mime_message_get_to (parsed);
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (to, 0)), ==, "Dóra");
  g_assert_nonnull (g_mime_object_get_header (GMIME_OBJECT (parsed), "List-Unsubscribe"));

  bad = request (fixture, "POST", "{\"to\":\"not an address\"}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/test", campaign_id);
  ed_test_assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (bad, "to"));
  missing = request (fixture, "POST", "{}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/test", campaign_id);
  ed_test_assert_error (missing, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (fixture->capture), ==, fixture->n_confirmations + 1);

  /* Nothing was queued by a test. */
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages JOIN campaigns c ON c.id = campaign_id "
                                     "WHERE NOT c.transactional"), ==, 0);
}

/* Waits until the campaign has @sent messages sent. */
/* Polls the campaign until it is in @state (any, for NULL) with at least
 * @sent messages sent. */
static JsonObject *
wait_for_campaign (Fixture    *fixture,
                   gint64      campaign_id,
                   const char *state,
                   gint64      sent)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(EdTestResponse) response = request (fixture, "GET", NULL, "/api/v1/campaigns/%" G_GINT64_FORMAT, campaign_id);
      JsonObject *object = ed_test_response_get_object (response);

      if ((state == NULL || g_strcmp0 (json_object_get_string_member (object, "state"), state) == 0) &&
          count_of (object, "sent") >= sent)
        return json_object_ref (object);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static JsonObject *
wait_for_sent (Fixture *fixture,
               gint64   campaign_id,
               gint64   sent)
{
  return wait_for_campaign (fixture, campaign_id, NULL, sent);
}

static void
test_api_queue_and_messages (Fixture       *fixture,
                             gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{}");
  g_autoptr(EdTestResponse) launched = NULL;
  g_autoptr(EdTestResponse) paused = NULL;
  g_autoptr(EdTestResponse) queue = NULL;
  g_autoptr(EdTestResponse) page1 = NULL;
  g_autoptr(EdTestResponse) page2 = NULL;
  g_autoptr(EdTestResponse) failed = NULL;
  g_autoptr(EdTestResponse) bad = NULL;
  g_autoptr(EdTestResponse) deliveries = NULL;
  JsonObject *object, *item;
  JsonArray *items;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  launched = campaign_action (fixture, campaign_id, "launch");
  ed_test_assert_status (launched, SOUP_STATUS_OK);
  paused = campaign_action (fixture, campaign_id, "pause");
  ed_test_assert_status (paused, SOUP_STATUS_OK);

  /* Set the scene the mailer would make: a paused campaign is left alone.
   * The daemon's mailer may have sent a few between the launch and the
   * pause; once their results are written, their log goes too.
   */
  for (guint i = 0; i < 250 && run_sql (fixture, "SELECT count(*) FROM messages WHERE state = 'sending'") > 0; i++)
    g_usleep (20 * 1000);
  run_sql (fixture, "DELETE FROM delivery_log WHERE message_id IN "
                    "(SELECT id FROM messages WHERE campaign_id = %" G_GINT64_FORMAT ")", campaign_id);
  run_sql (fixture, "UPDATE messages SET state = 'queued', attempts = 0, next_attempt_at = 1000, sent_at = NULL "
                    "WHERE campaign_id = %" G_GINT64_FORMAT, campaign_id);
  run_sql (fixture, "UPDATE messages SET state = 'retry', attempts = 2, last_code = 451, "
                    "last_text = '4.7.1 try later (in reply to RCPT TO)', next_attempt_at = %" G_GINT64_FORMAT " "
                    "WHERE guest_id = %" G_GINT64_FORMAT, now + 3600, fixture->guests[1]);
  run_sql (fixture, "UPDATE messages SET state = 'failed', attempts = 1, last_code = 550, "
                    "last_text = '5.1.1 unknown user' WHERE guest_id IN (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
           fixture->guests[2], fixture->guests[3]);
  run_sql (fixture, "INSERT INTO delivery_log (message_id, at, result, code, text) "
                    "SELECT id, 1000, 'failed', 550, '5.1.1 unknown user' FROM messages WHERE guest_id = %" G_GINT64_FORMAT,
           fixture->guests[2]);

  queue = request (fixture, "GET", NULL, "/api/v1/queue");
  ed_test_assert_status (queue, SOUP_STATUS_OK);
  object = ed_test_response_get_object (queue);
  /* besides the campaign, the confirmations of the fixture's two
   * acceptances, which the daemon's mailer may have sent already
   */
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 5 + 2);
  g_assert_cmpint (count_of (json_object_get_object_member (object, "bulk"), "queued"), ==, 2);
  g_assert_cmpint (count_of (json_object_get_object_member (object, "bulk"), "retry"), ==, 1);
  g_assert_cmpint (count_of (json_object_get_object_member (object, "bulk"), "failed"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "bulk"), "total"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "transactional"), "total"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (object, "oldest_due_at"), ==, "1970-01-01T00:16:40Z");
  g_assert_false (json_object_get_null_member (object, "next_retry_at"));
  g_assert_true (json_object_has_member (object, "send_rate"));

  /* Key paging by message id, with the guest and the last reply. */
  page1 = request (fixture, "GET", NULL, "/api/v1/messages?campaign=%" G_GINT64_FORMAT "&limit=2", campaign_id);
  ed_test_assert_status (page1, SOUP_STATUS_OK);
  object = ed_test_response_get_object (page1);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpint (json_array_get_length (items), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0), "email"), ==, "ann@example.org");
  item = json_array_get_object_element (items, 1);
  g_assert_cmpstr (json_object_get_string_member (item, "state"), ==, "retry");
  g_assert_cmpint (json_object_get_int_member (item, "attempts"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (item, "last_code"), ==, 451);
  g_assert_false (json_object_get_null_member (item, "next_attempt_at"));
  page2 = request (fixture, "GET", NULL, "/api/v1/messages?campaign=%" G_GINT64_FORMAT "&limit=2&after=%" G_GINT64_FORMAT,
                   campaign_id, json_object_get_int_member (object, "next"));
  items = json_object_get_array_member (ed_test_response_get_object (page2), "items");
  g_assert_cmpint (json_array_get_length (items), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0), "email"), ==, "cem@example.org");

  failed = request (fixture, "GET", NULL, "/api/v1/messages?state=failed&event=%" G_GINT64_FORMAT, fixture->event_id);
  items = json_object_get_array_member (ed_test_response_get_object (failed), "items");
  g_assert_cmpint (json_array_get_length (items), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 1), "first_name"), ==, "Dóra");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 1), "last_text"), ==, "5.1.1 unknown user");
  g_assert_true (json_object_get_null_member (ed_test_response_get_object (failed), "next"));

  bad = request (fixture, "GET", NULL, "/api/v1/messages?state=lost&limit=0");
  ed_test_assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (bad, "state"));
  g_assert_nonnull (ed_test_response_get_error_field (bad, "limit"));

  deliveries = request (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/deliveries", fixture->guests[2]);
  ed_test_assert_status (deliveries, SOUP_STATUS_OK);
  items = json_object_get_array_member (ed_test_response_get_object (deliveries), "items");
  g_assert_cmpint (json_array_get_length (items), ==, 1);
  item = json_array_get_object_element (items, 0);
  g_assert_cmpstr (json_object_get_string_member (item, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (item, "subject"), ==, "Invitation: {{event_name}}");
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (item, "deliveries")), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (json_object_get_array_member (item, "deliveries"), 0), "code"), ==, 550);
}

/* The mailer's real deliveries show in a guest's log. */
static void
test_api_deliveries_sent (Fixture       *fixture,
                          gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{\"audience\":\"status:accepted\"}");
  g_autoptr(EdTestResponse) launched = campaign_action (fixture, campaign_id, "launch");
  g_autoptr(EdTestResponse) deliveries = NULL;
  g_autoptr(EdTestResponse) unknown = NULL;
  g_autoptr(JsonObject) done = NULL;
  JsonObject *item, *attempt;
  JsonArray *items;

  ed_test_assert_status (launched, SOUP_STATUS_OK);
  done = wait_for_sent (fixture, campaign_id, 2);
  g_assert_cmpint (json_object_get_int_member (done, "total"), ==, 2);
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (fixture->capture), ==, fixture->n_confirmations + 2);

  deliveries = request (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/deliveries", fixture->guests[0]);
  ed_test_assert_status (deliveries, SOUP_STATUS_OK);
  items = json_object_get_array_member (ed_test_response_get_object (deliveries), "items");
  /* newest first: this campaign's message, then Ann's confirmation */
  g_assert_cmpint (json_array_get_length (items), ==, 2);
  item = json_array_get_object_element (items, 0);
  g_assert_cmpint (json_object_get_int_member (item, "campaign_id"), ==, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (item, "state"), ==, "sent");
  g_assert_false (json_object_get_null_member (item, "sent_at"));
  attempt = json_array_get_object_element (json_object_get_array_member (item, "deliveries"), 0);
  g_assert_cmpstr (json_object_get_string_member (attempt, "result"), ==, "sent");
  g_assert_cmpint (json_object_get_int_member (attempt, "code"), ==, 250);

  unknown = request (fixture, "GET", NULL, "/api/v1/guests/424242/deliveries");
  ed_test_assert_error (unknown, SOUP_STATUS_NOT_FOUND, "not_found");
}

/* POSTs a form to a public URL, as a mail program's one-click request. */
static EdTestResponse *
post_form (Fixture    *fixture,
           const char *url,
           const char *form,
           const char *accept)
{
  const char *headers[] = { "Accept", accept, NULL };
  g_autoptr(SoupMessage) msg = ed_test_http_message_new ("POST", url, NULL, NULL, accept ? headers : NULL);
  g_autoptr(GBytes) body = g_bytes_new (form, strlen (form));

  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
  return ed_test_http_send (fixture->session, msg);
}

static gboolean
guest_is_unsubscribed (Fixture *fixture,
                       gint64   guest_id)
{
  g_autoptr(EdTestResponse) response = request (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return json_object_get_boolean_member (ed_test_response_get_object (response), "unsubscribed");
}

/* The link in the List-Unsubscribe header of the message to @address. */
static char *
find_unsubscribe_link (Fixture    *fixture,
                       const char *address)
{
  guint n = ed_test_capture_server_get_n_messages (fixture->capture);

  for (guint i = 1; i <= n; i++)
    {
      g_autoptr(GBytes) bytes = ed_test_capture_server_get_message (fixture->capture, i);
      g_autoptr(GMimeMessage) parsed = ed_test_parse_with_gmime (bytes);
      InternetAddressList *to = g_mime_message_get_to (parsed);
      InternetAddress *first = internet_address_list_get_address (to, 0);
      const char *header;

      if (g_strcmp0 (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (first)), address) != 0)
        continue;
      header = g_mime_object_get_header (GMIME_OBJECT (parsed), "List-Unsubscribe");
      g_assert_nonnull (header);
      g_assert_true (header[0] == '<' && g_str_has_suffix (header, ">"));
      g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (parsed), "List-Unsubscribe-Post"), ==,
                       "List-Unsubscribe=One-Click");
      return g_strndup (header + 1, strlen (header) - 2);
    }

  g_assert_not_reached ();
}

/* From a delivered message's header to a guest left out of the next
 * bulk campaign.
 */
static void
test_unsubscribe_one_click (Fixture       *fixture,
                            gconstpointer  user_data)
{
  gint64 first = create_campaign (fixture, "{}");
  g_autoptr(EdTestResponse) launched = campaign_action (fixture, first, "launch");
  g_autoptr(EdTestResponse) page = NULL;
  g_autoptr(EdTestResponse) german = NULL;
  g_autoptr(EdTestResponse) unsubscribed = NULL;
  g_autoptr(EdTestResponse) again = NULL;
  g_autoptr(EdTestResponse) not_one_click = NULL;
  g_autoptr(EdTestResponse) next_launch = NULL;
  g_autofree char *link = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  const char *german_headers[] = { "Accept-Language", "de-DE,de;q=0.9", NULL };
  JsonObject *object;
  gint64 second;

  ed_test_assert_status (launched, SOUP_STATUS_OK);
  json_object_unref (wait_for_sent (fixture, first, 5));
  link = find_unsubscribe_link (fixture, "eve@example.org");
  g_assert_true (g_str_has_prefix (link, ed_test_daemon_get_url (fixture->daemon)));
  g_assert_nonnull (strstr (link, "/u/"));

  /* Opening the link shows a button and changes nothing. */
  page = ed_test_http_request (fixture->session, "GET", link, NULL, NULL, NULL);
  ed_test_assert_status (page, SOUP_STATUS_OK);
  g_assert_true (g_str_has_prefix (ed_test_response_get_header (page, "Content-Type"), "text/html"));
  g_assert_cmpstr (ed_test_response_get_header (page, "Referrer-Policy"), ==, "no-referrer");
  text = ed_test_response_get_body_text (page);
  g_assert_nonnull (strstr (text, "Sommerfest in Köln"));
  g_assert_nonnull (strstr (text, "<form method=\"post\" action=\"/u/"));
  g_assert_nonnull (strstr (text, "name=\"List-Unsubscribe\" value=\"One-Click\""));
  g_assert_false (guest_is_unsubscribed (fixture, fixture->guests[4]));
  german = ed_test_http_request (fixture->session, "GET", link, NULL, NULL, german_headers);
  g_clear_pointer (&text, g_free);
  text = ed_test_response_get_body_text (german);
  g_assert_nonnull (strstr (text, "<html lang=\"de\">"));
  g_assert_nonnull (strstr (text, "Abmelden"));

  not_one_click = post_form (fixture, link, "List-Unsubscribe=Maybe", NULL);
  ed_test_assert_error (not_one_click, SOUP_STATUS_BAD_REQUEST, "invalid_request");
  g_assert_false (guest_is_unsubscribed (fixture, fixture->guests[4]));

  /* RFC 8058's POST, as a mail program sends it. */
  unsubscribed = post_form (fixture, link, "List-Unsubscribe=One-Click", NULL);
  ed_test_assert_status (unsubscribed, SOUP_STATUS_OK);
  g_clear_pointer (&text, g_free);
  text = ed_test_response_get_body_text (unsubscribed);
  g_assert_nonnull (strstr (text, "You are unsubscribed"));
  g_assert_null (strstr (text, "<form"));
  g_assert_true (guest_is_unsubscribed (fixture, fixture->guests[4]));

  again = post_form (fixture, link, "List-Unsubscribe=One-Click", "application/json");
  ed_test_assert_status (again, SOUP_STATUS_OK);
  object = ed_test_response_get_object (again);
  g_assert_true (json_object_get_boolean_member (object, "unsubscribed"));
  g_assert_false (json_object_get_boolean_member (object, "changed"));

  /* The next bulk campaign leaves the guest out. */
  g_assert_cmpint (audience_count (fixture, "all"), ==, 4);
  second = create_campaign (fixture, "{\"kind\":\"update\",\"subject\":\"News\",\"text\":\"{{unsubscribe_url}}\"}");
  next_launch = campaign_action (fixture, second, "launch");
  ed_test_assert_status (next_launch, SOUP_STATUS_OK);
  g_assert_cmpint (json_object_get_int_member (ed_test_response_get_object (next_launch), "total"), ==, 4);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE campaign_id = %" G_GINT64_FORMAT
                                     " AND guest_id = %" G_GINT64_FORMAT, second, fixture->guests[4]), ==, 0);

  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, fixture->guests[4]);
  {
    g_autoptr(EdTestResponse) guest = request (fixture, "GET", NULL, "%s", path);
    g_assert_false (json_object_get_null_member (ed_test_response_get_object (guest), "unsubscribed_at"));
  }
}

/* Links that do not work get the friendly page, and change nothing. */
static void
test_unsubscribe_bad_links (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) link = NULL;
  g_autoptr(EdTestResponse) revoked = NULL;
  g_autoptr(EdTestResponse) tampered_page = NULL;
  g_autoptr(EdTestResponse) tampered_post = NULL;
  g_autoptr(EdTestResponse) old_page = NULL;
  g_autoptr(EdTestResponse) old_post = NULL;
  g_autoptr(EdTestResponse) old_json = NULL;
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *text = NULL;
  gsize len;

  link = request (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/link", fixture->guests[0]);
  ed_test_assert_status (link, SOUP_STATUS_OK);
  token = g_strdup (json_object_get_string_member (ed_test_response_get_object (link), "token"));
  url = g_strconcat (ed_test_daemon_get_url (fixture->daemon), "/u/", token, NULL);

  /* One character of the signature changed. */
  tampered = g_strdup (url);
  len = strlen (tampered);
  tampered[len - 2] = tampered[len - 2] == 'A' ? 'B' : 'A';
  tampered_page = ed_test_http_request (fixture->session, "GET", tampered, NULL, NULL, NULL);
  ed_test_assert_status (tampered_page, SOUP_STATUS_NOT_FOUND);
  text = ed_test_response_get_body_text (tampered_page);
  g_assert_nonnull (strstr (text, "This link doesn’t work"));
  tampered_post = post_form (fixture, tampered, "List-Unsubscribe=One-Click", NULL);
  ed_test_assert_status (tampered_post, SOUP_STATUS_NOT_FOUND);

  /* A revoked link is no link either. */
  revoked = request (fixture, "POST", "{}", "/api/v1/guests/%" G_GINT64_FORMAT "/link/revoke", fixture->guests[0]);
  ed_test_assert_status (revoked, SOUP_STATUS_OK);
  old_page = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, NULL);
  ed_test_assert_status (old_page, SOUP_STATUS_NOT_FOUND);
  old_post = post_form (fixture, url, "List-Unsubscribe=One-Click", NULL);
  ed_test_assert_status (old_post, SOUP_STATUS_NOT_FOUND);
  old_json = post_form (fixture, url, "List-Unsubscribe=One-Click", "application/json");
  ed_test_assert_error (old_json, SOUP_STATUS_NOT_FOUND, "invalid_link");

  g_assert_false (guest_is_unsubscribed (fixture, fixture->guests[0]));
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM guests WHERE unsubscribed_at IS NOT NULL"), ==, 0);
}

/* ---- the invitation sent again to chosen guests ---- */

static EdTestResponse *
resend_invitations (Fixture    *fixture,
                    gint64      event_id,
                    const char *body)
{
  return request (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/invitations", event_id);
}

static char *
guest_ids_body (const gint64 *ids,
                guint         n)
{
  GString *body = g_string_new ("{\"guest_ids\":[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (body, "%s%" G_GINT64_FORMAT, i ? "," : "", ids[i]);
  g_string_append (body, "]}");
  return g_string_free (body, FALSE);
}

/* The captured message to @address among the @first to @last: messages
 * claimed together go out over several connections at once, in no fixed
 * order.
 */
static GMimeMessage *
captured_message_to (Fixture    *fixture,
                     guint       first,
                     guint       last,
                     const char *address)
{
  for (guint nth = first; nth <= last; nth++)
    {
      g_autoptr(GBytes) bytes = ed_test_capture_server_get_message (fixture->capture, nth);
      g_autoptr(GMimeMessage) parsed = ed_test_parse_with_gmime (bytes);
      InternetAddress *to = internet_address_list_get_address (g_mime_message_get_to (parsed), 0);

      if (g_strcmp0 (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (to)), address) == 0)
        return g_steal_pointer (&parsed);
    }

  g_error ("no message to %s among the captured %u to %u", address, first, last);
}

/* The text part of that message. */
static char *
captured_text_to (Fixture    *fixture,
                  guint       first,
                  guint       last,
                  const char *address)
{
  g_autoptr(GMimeMessage) parsed = captured_message_to (fixture, first, last, address);
  GMimeObject *body = g_mime_message_get_body (parsed);

  g_assert_true (GMIME_IS_MULTIPART (body));
  return part_text (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0));
}

/* The Message-ID of that message. */
static char *
captured_message_id_to (Fixture    *fixture,
                        guint       first,
                        guint       last,
                        const char *address)
{
  g_autoptr(GMimeMessage) parsed = captured_message_to (fixture, first, last, address);

  return g_strdup (g_mime_message_get_message_id (parsed));
}

/* The message's RSVP link names the guest: the daemon's link for them
 * but for the time it was signed. */
static void
assert_guest_link_in (Fixture    *fixture,
                      const char *text,
                      gint64      guest_id)
{
  g_autoptr(EdTestResponse) response = request (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/link", guest_id);
  const char *url = json_object_get_string_member (ed_test_response_get_object (response), "url");
  g_autofree char *prefix = g_strndup (url, strstr (url, "/r/") + 3 - url);
  g_autoptr(JsonObject) expected = ed_test_token_claims (url + strlen (prefix));
  g_autoptr(JsonObject) found = NULL;
  const char *start = strstr (text, prefix);
  gsize length;

  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_nonnull (start);
  start += strlen (prefix);
  length = strspn (start, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
  {
    g_autofree char *token = g_strndup (start, length);

    found = ed_test_token_claims (token);
  }
  g_assert_cmpint (json_object_get_int_member (found, "gst"), ==, guest_id);
  g_assert_cmpint (json_object_get_int_member (found, "gst"), ==, json_object_get_int_member (expected, "gst"));
  g_assert_cmpint (json_object_get_int_member (found, "evt"), ==, json_object_get_int_member (expected, "evt"));
  g_assert_cmpint (json_object_get_int_member (found, "ver"), ==, json_object_get_int_member (expected, "ver"));
}

/* Sent once to everyone, then again to Dóra and to Finn, who came after
 * the launch: each gets the invitation with their own link, and the
 * campaign that was done runs for them and is done again.
 */
static void
test_invitations_resend (Fixture       *fixture,
                         gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{}");
  g_autoptr(EdTestResponse) launched = campaign_action (fixture, campaign_id, "launch");
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autofree char *body = NULL;
  g_autofree char *first_id = NULL;
  g_autofree char *resent_id = NULL;
  guint before;
  gint64 ids[2];
  JsonObject *reply;

  ed_test_assert_status (launched, SOUP_STATUS_OK);
  json_object_unref (wait_for_campaign (fixture, campaign_id, "done", 0));
  before = ed_test_capture_server_get_n_messages (fixture->capture);
  g_assert_cmpuint (before, ==, fixture->n_confirmations + 5);
  first_id = captured_message_id_to (fixture, 1, before, "dora@example.org");
  /* Queue times are in seconds: resend as a person would, a moment later. */
  g_usleep (1100 * 1000);

  ids[0] = fixture->guests[3];
  ids[1] = create_guest (fixture, "finn@example.org", "Finn", NULL);
  body = guest_ids_body (ids, 2);
  response = resend_invitations (fixture, fixture->event_id, body);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  reply = ed_test_response_get_object (response);
  g_assert_cmpint (json_object_get_int_member (reply, "campaign_id"), ==, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (reply, "campaign_state"), ==, "running");
  g_assert_cmpint (json_object_get_int_member (reply, "queued"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (reply, "waiting"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (reply, "unsubscribed"), ==, 0);

  done = wait_for_campaign (fixture, campaign_id, "done", 0);
  g_assert_cmpint (count_of (done, "sent"), ==, 6);
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (fixture->capture), ==, before + 2);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *text = captured_text_to (fixture, before + 1, before + 2,
                                                i == 0 ? "dora@example.org" : "finn@example.org");

      assert_guest_link_in (fixture, text, ids[i]);
    }
  /* A new message, not a copy that mail systems would drop as seen. */
  resent_id = captured_message_id_to (fixture, before + 1, before + 2, "dora@example.org");
  g_assert_cmpstr (resent_id, !=, first_id);

  /* An unsubscribed guest is left out. */
  run_sql (fixture, "UPDATE guests SET unsubscribed_at = 1 WHERE id = %" G_GINT64_FORMAT, ids[1]);
  g_clear_pointer (&response, ed_test_response_free);
  response = resend_invitations (fixture, fixture->event_id, body);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  reply = ed_test_response_get_object (response);
  g_assert_cmpint (json_object_get_int_member (reply, "queued"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (reply, "unsubscribed"), ==, 1);
  json_object_unref (wait_for_campaign (fixture, campaign_id, "done", 0));
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (fixture->capture), ==, before + 3);
  g_free (captured_text_to (fixture, before + 3, before + 3, "dora@example.org"));
}

static void
assert_no_invitation (Fixture *fixture)
{
  g_autofree char *body = guest_ids_body (&fixture->guests[3], 1);
  g_autoptr(EdTestResponse) response = resend_invitations (fixture, fixture->event_id, body);

  ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "no_invitation");
}

static void
assert_bad_guest_ids (Fixture    *fixture,
                      const char *body,
                      const char *why)
{
  g_autoptr(EdTestResponse) response = resend_invitations (fixture, fixture->event_id, body);
  JsonObject *error;

  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  error = json_object_get_object_member (ed_test_response_get_object (response), "error");
  if (strstr (json_object_get_string_member (error, "message"), why) == NULL)
    g_test_message ("%s: %s", body, json_object_get_string_member (error, "message"));
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), why));
}

static void
test_invitations_errors (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) other_event = NULL;
  g_autoptr(EdTestResponse) other_guest = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GString) many = g_string_new ("{\"guest_ids\":[");
  g_autofree char *body = NULL;
  g_autofree char *why = NULL;
  gint64 campaign_id, reminder_id, stranger;
  JsonObject *reply;

  /* Nothing to send again: no campaign, a reminder, a draft, a cancelled one. */
  assert_no_invitation (fixture);
  reminder_id = create_campaign (fixture, "{\"kind\":\"reminder\",\"subject\":\"Soon\",\"text\":\"{{rsvp_url}}\"}");
  g_clear_pointer (&response, ed_test_response_free);
  response = campaign_action (fixture, reminder_id, "launch");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_no_invitation (fixture);
  campaign_id = create_campaign (fixture, "{}");
  assert_no_invitation (fixture);
  g_clear_pointer (&response, ed_test_response_free);
  response = campaign_action (fixture, campaign_id, "cancel");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_no_invitation (fixture);

  /* A launched invitation; Cem's message then waits for a retry. */
  campaign_id = create_campaign (fixture, "{\"audience\":\"status:declined\"}");
  g_clear_pointer (&response, ed_test_response_free);
  response = campaign_action (fixture, campaign_id, "launch");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  json_object_unref (wait_for_campaign (fixture, campaign_id, "done", 0));
  run_sql (fixture, "UPDATE messages SET state = 'retry', next_attempt_at = 4102444800 "
                    "WHERE campaign_id = %" G_GINT64_FORMAT, campaign_id);

  /* Bad bodies. */
  assert_bad_guest_ids (fixture, "{}", "guest_ids must be a list");
  assert_bad_guest_ids (fixture, "{\"guest_ids\":5}", "guest_ids must be a list");
  assert_bad_guest_ids (fixture, "{\"guest_ids\":[]}", "at least one guest");
  assert_bad_guest_ids (fixture, "{\"guest_ids\":[\"1\"]}", "whole numbers above 0");
  assert_bad_guest_ids (fixture, "{\"guest_ids\":[0]}", "whole numbers above 0");
  assert_bad_guest_ids (fixture, "{\"guest_ids\":[1],\"subject\":\"x\"}", "subject");
  for (guint i = 0; i < 1001; i++)
    g_string_append_printf (many, "%s%" G_GINT64_FORMAT, i ? "," : "", fixture->guests[i % 5]);
  g_string_append (many, "]}");
  assert_bad_guest_ids (fixture, many->str, "at most 1000 guests");

  /* Guests that are not the event's: nothing is queued for the others. */
  body = g_strdup_printf ("{\"guest_ids\":[%" G_GINT64_FORMAT ",424242]}", fixture->guests[3]);
  assert_bad_guest_ids (fixture, body, "guest 424242 does not exist");
  other_event = request (fixture, "POST", "{\"name\":\"Winterfest\",\"starts_at\":\"2027-12-04T16:30:00Z\",\"capacity\":10}",
                         "/api/v1/events");
  ed_test_assert_status (other_event, SOUP_STATUS_CREATED);
  other_guest = request (fixture, "POST", "{\"email\":\"zora@example.org\"}", "/api/v1/events/%" G_GINT64_FORMAT "/guests",
                         json_object_get_int_member (ed_test_response_get_object (other_event), "id"));
  ed_test_assert_status (other_guest, SOUP_STATUS_CREATED);
  stranger = json_object_get_int_member (ed_test_response_get_object (other_guest), "id");
  g_free (body);
  body = g_strdup_printf ("{\"guest_ids\":[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "]}", fixture->guests[3], stranger);
  why = g_strdup_printf ("guest %" G_GINT64_FORMAT " is a guest of another event", stranger);
  assert_bad_guest_ids (fixture, body, why);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE campaign_id = %" G_GINT64_FORMAT,
                            campaign_id), ==, 1);

  /* Unknown event. */
  g_clear_pointer (&response, ed_test_response_free);
  response = resend_invitations (fixture, 424242, "{\"guest_ids\":[1]}");
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");

  /* Dóra queued, Cem's still on its way, each id once. */
  g_free (body);
  body = g_strdup_printf ("{\"guest_ids\":[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "]}",
                          fixture->guests[3], fixture->guests[2], fixture->guests[3]);
  g_clear_pointer (&response, ed_test_response_free);
  response = resend_invitations (fixture, fixture->event_id, body);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  reply = ed_test_response_get_object (response);
  g_assert_cmpint (json_object_get_int_member (reply, "campaign_id"), ==, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (reply, "campaign_state"), ==, "running");
  g_assert_cmpint (json_object_get_int_member (reply, "queued"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (reply, "waiting"), ==, 1);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE campaign_id = %" G_GINT64_FORMAT,
                            campaign_id), ==, 2);
}

/* Message ids of the campaign's messages in guest order. */
static void
message_ids_of (Fixture *fixture,
                gint64   campaign_id,
                gint64   ids[5])
{
  for (guint i = 0; i < 5; i++)
    ids[i] = run_sql (fixture, "SELECT id FROM messages WHERE campaign_id = %" G_GINT64_FORMAT
                               " AND guest_id = %" G_GINT64_FORMAT, campaign_id, fixture->guests[i]);
}

/* The Deliveries page retries chosen failures, and lists the retries
 * to come, soonest first.
 */
static void
test_api_retry_chosen (Fixture       *fixture,
                       gconstpointer  user_data)
{
  gint64 campaign_id = create_campaign (fixture, "{}");
  g_autoptr(EdTestResponse) launched = NULL;
  g_autoptr(EdTestResponse) paused = NULL;
  g_autoptr(EdTestResponse) retried = NULL;
  g_autoptr(EdTestResponse) page1 = NULL;
  g_autoptr(EdTestResponse) page2 = NULL;
  g_autoptr(EdTestResponse) all = NULL;
  g_autofree char *body = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 ids[5];
  JsonObject *object;
  JsonArray *items;

  launched = campaign_action (fixture, campaign_id, "launch");
  ed_test_assert_status (launched, SOUP_STATUS_OK);
  paused = campaign_action (fixture, campaign_id, "pause");
  ed_test_assert_status (paused, SOUP_STATUS_OK);
  for (guint i = 0; i < 250 && run_sql (fixture, "SELECT count(*) FROM messages WHERE state = 'sending'") > 0; i++)
    g_usleep (20 * 1000);
  message_ids_of (fixture, campaign_id, ids);

  /* Ann, Bob and Cem failed; Dóra and Eve wait for retries, Eve's first. */
  run_sql (fixture, "UPDATE messages SET state = 'failed', attempts = 1, last_code = 550, "
                    "last_text = '5.1.1 unknown user' WHERE id IN (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                    ", %" G_GINT64_FORMAT ")", ids[0], ids[1], ids[2]);
  run_sql (fixture, "UPDATE messages SET state = 'retry', attempts = 2, last_code = 451, "
                    "next_attempt_at = %" G_GINT64_FORMAT " WHERE id = %" G_GINT64_FORMAT, now + 7200, ids[3]);
  run_sql (fixture, "UPDATE messages SET state = 'retry', attempts = 1, last_code = 451, "
                    "next_attempt_at = %" G_GINT64_FORMAT " WHERE id = %" G_GINT64_FORMAT, now + 600, ids[4]);

  /* Only Bob's failure, and not Dóra's retry nor a message of nobody. */
  body = g_strdup_printf ("{\"message_ids\": [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", 999999]}", ids[1], ids[3]);
  retried = request (fixture, "POST", body, "/api/v1/campaigns/%" G_GINT64_FORMAT "/retry-failed", campaign_id);
  ed_test_assert_status (retried, SOUP_STATUS_OK);
  object = ed_test_response_get_object (retried);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "paused");
  g_assert_cmpint (count_of (object, "failed"), ==, 2);
  g_assert_cmpint (count_of (object, "retry"), ==, 2);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE id = %" G_GINT64_FORMAT
                                     " AND state = 'queued' AND attempts = 0 AND last_code IS NULL", ids[1]), ==, 1);
  g_assert_cmpint (run_sql (fixture, "SELECT count(*) FROM messages WHERE id = %" G_GINT64_FORMAT
                                     " AND state = 'retry'", ids[3]), ==, 1);

  /* Bodies it refuses. */
  {
    static const char * const bad_bodies[] = {
      "{\"message_ids\": []}", "{\"message_ids\": [\"7\"]}", "{\"message_ids\": [0]}",
      "{\"message_ids\": 7}", "{\"messages\": [7]}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad_bodies); i++)
      {
        g_autoptr(EdTestResponse) bad = request (fixture, "POST", bad_bodies[i],
                                                 "/api/v1/campaigns/%" G_GINT64_FORMAT "/retry-failed", campaign_id);

        ed_test_assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid_field");
      }
  }

  /* The retries to come, soonest first, a page at a time. */
  page1 = request (fixture, "GET", NULL, "/api/v1/messages?state=retry&order=next_attempt&limit=1&event=%"
                   G_GINT64_FORMAT, fixture->event_id);
  ed_test_assert_status (page1, SOUP_STATUS_OK);
  object = ed_test_response_get_object (page1);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpint (json_array_get_length (items), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0), "id"), ==, ids[4]);
  g_assert_cmpint (json_object_get_int_member (object, "next"), ==, ids[4]);
  page2 = request (fixture, "GET", NULL, "/api/v1/messages?state=retry&order=next_attempt&limit=1&event=%"
                   G_GINT64_FORMAT "&after=%" G_GINT64_FORMAT, fixture->event_id, ids[4]);
  object = ed_test_response_get_object (page2);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpint (json_array_get_length (items), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0), "id"), ==, ids[3]);
  g_assert_true (json_object_get_null_member (object, "next"));
  {
    g_autoptr(EdTestResponse) bad = request (fixture, "GET", NULL, "/api/v1/messages?state=failed&order=next_attempt");
    g_autoptr(EdTestResponse) unknown = request (fixture, "GET", NULL, "/api/v1/messages?order=guest");

    ed_test_assert_error (bad, SOUP_STATUS_BAD_REQUEST, "invalid_field");
    g_assert_nonnull (strstr (ed_test_response_get_error_field (bad, "order"), "state=retry"));
    ed_test_assert_error (unknown, SOUP_STATUS_BAD_REQUEST, "invalid_field");
    g_assert_nonnull (ed_test_response_get_error_field (unknown, "order"));
  }

  /* Without a body, all the failures that are left. */
  all = campaign_action (fixture, campaign_id, "retry-failed");
  ed_test_assert_status (all, SOUP_STATUS_OK);
  g_assert_cmpint (count_of (ed_test_response_get_object (all), "failed"), ==, 0);
}

#define ADD_API_TEST(path, func) \
  g_test_add ("/campaigns/api/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/campaigns/campaign/enum-strings", test_enum_strings);
  g_test_add_func ("/campaigns/campaign/copy-and-json", test_copy_and_json);
  g_test_add_func ("/campaigns/render/invitation", test_render_invitation);
  g_test_add_func ("/campaigns/render/promotion", test_render_promotion);
  g_test_add_func ("/campaigns/render/confirmation", test_render_confirmation);
  g_test_add_func ("/campaigns/render/parts", test_render_parts);
  g_test_add_func ("/campaigns/render/errors", test_render_errors);
  g_test_add_func ("/campaigns/render/threads", test_render_threads);
  ADD_API_TEST ("create-default", test_api_create_default);
  ADD_API_TEST ("validation", test_api_validation);
  ADD_API_TEST ("get-list-edit", test_api_get_list_edit);
  ADD_API_TEST ("audience", test_api_audience);
  ADD_API_TEST ("launch", test_api_launch);
  ADD_API_TEST ("transitions", test_api_transitions);
  ADD_API_TEST ("counts", test_api_counts);
  ADD_API_TEST ("unauthorized", test_api_unauthorized);
  ADD_API_TEST ("preview", test_api_preview);
  ADD_API_TEST ("queue-and-messages", test_api_queue_and_messages);
  ADD_API_TEST ("retry-chosen", test_api_retry_chosen);
  g_test_add ("/campaigns/api/test-send", Fixture, "capture", fixture_set_up, test_api_test_send, fixture_tear_down);
  g_test_add ("/campaigns/unsubscribe/one-click", Fixture, "capture", fixture_set_up, test_unsubscribe_one_click, fixture_tear_down);
  g_test_add ("/campaigns/unsubscribe/bad-links", Fixture, NULL, fixture_set_up, test_unsubscribe_bad_links, fixture_tear_down);
  g_test_add ("/campaigns/api/deliveries-sent", Fixture, "capture", fixture_set_up, test_api_deliveries_sent, fixture_tear_down);
  g_test_add ("/campaigns/invitations/resend", Fixture, "capture", fixture_set_up, test_invitations_resend, fixture_tear_down);
  g_test_add ("/campaigns/invitations/errors", Fixture, NULL, fixture_set_up, test_invitations_errors, fixture_tear_down);

  return g_test_run ();
}
