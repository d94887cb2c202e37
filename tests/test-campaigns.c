/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>

#include "ed-campaign.h"
#include "ed-error.h"
#include "ed-mail-render.h"
#include "ed-rsvp-token.h"
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

  g_assert_true (GMIME_IS_TEXT_PART (object));
  text = g_string_new (g_mime_text_part_get_text (GMIME_TEXT_PART (object)));
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

  message = ed_mail_renderer_render (renderer, campaign, event, guest, 1234, &error);
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
  again = ed_mail_renderer_render (renderer, campaign, event, guest, 1234, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ed_mail_message_get_message_id (again), ==, message_id);

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

  message = ed_mail_renderer_render (renderer, campaign, event, guest, 9, &error);
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

  message = ed_mail_renderer_render (renderer, campaign, event, guest, 10, &error);
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

  first = ed_mail_renderer_render (renderer, campaign, event, guest, 0, &error);
  second = ed_mail_renderer_render (renderer, campaign, event, guest, 0, &error);
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
  message = ed_mail_renderer_render (renderer, campaign, event, guest, 1, &error);
  g_assert_null (message);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "the HTML body: "));
  g_assert_nonnull (strstr (error->message, "{{frist_name}}"));
  g_clear_error (&error);

  /* A guest of another event gets no message of this one. */
  guest->event_id = 8;
  message = ed_mail_renderer_render (renderer, campaign, event, guest, 1, &error);
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
      message = ed_mail_renderer_render (job->renderer, job->campaign, job->event, guest, guest->id, &error);
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

  return g_test_run ();
}
