/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <locale.h>
#include <sqlite3.h>
#include <string.h>

#include "ed-catalog.h"
#include "ed-error.h"
#include "ed-rsvp-token.h"
#include "ed-html-util.h"
#include "ed-rsvp-util.h"
#include "ed-test-fixture.h"

/* Invitations and RSVP: the helpers of the RSVP site (escaping, the .mo
 * reader, dates, iCalendar) on their own, then the real daemon over
 * loopback: links and tokens, the guest page, answers, capacity and the
 * waiting list, history, and thousands of answers at once.
 */

#define FUTURE_START "2030-06-01T19:00:00+02:00"

/* The concurrency tests: guests answering at once, over many connections. */
#define STORM_GUESTS 2400
#define STORM_DUPLICATES 400
#define STORM_CAPACITY 500
#define STORM_SESSIONS 20
#define STORM_CONNECTIONS_PER_SESSION 25
#define STORM_ACCEPTED_DECLINES 150
#define STORM_WAITLISTED_DECLINES 50
#define STORM_TIMEOUT_S 120

typedef EdTestFixture Fixture;

/* Helpers */

static gint64
create_event (Fixture    *fixture,
              const char *json_body)
{
  return ed_test_api_create (fixture, json_body, "/api/v1/events");
}

static gint64
create_simple_event (Fixture *fixture,
                     gint64   capacity,
                     gint     max_party_size,
                     gboolean waitlist)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"Summer Party\",\"starts_at\":\"" FUTURE_START "\","
                                           "\"timezone\":\"Europe/Berlin\",\"capacity\":%" G_GINT64_FORMAT ","
                                           "\"max_party_size\":%d,\"waitlist_enabled\":%s}",
                                           capacity, max_party_size, waitlist ? "true" : "false");

  return create_event (fixture, body);
}

static gint64
create_guest (Fixture    *fixture,
              gint64      event_id,
              const char *email,
              const char *first_name)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, email);
  json_builder_set_member_name (builder, "first_name");
  json_builder_add_string_value (builder, first_name);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);

  return ed_test_api_create (fixture, body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
}

static EdTestResponse *
get_page (Fixture    *fixture,
          const char *token,
          const char *suffix,
          const char *accept_language)
{
  g_autofree char *url = g_strdup_printf ("%s/r/%s%s", ed_test_daemon_get_url (fixture->daemon),
                                          token, suffix ? suffix : "");
  const char * const headers[] = { "Accept-Language", accept_language ? accept_language : "en", NULL };

  return ed_test_http_request (fixture->session, "GET", url, NULL, NULL, headers);
}

/* Answers as the browser's form does (no redirect followed). */
static EdTestResponse *
post_form (Fixture    *fixture,
           const char *token,
           const char *form)
{
  g_autofree char *url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon), token);
  g_autoptr(SoupMessage) msg = ed_test_http_message_new ("POST", url, NULL, NULL, NULL);
  g_autoptr(GBytes) body = g_bytes_new (form, strlen (form));

  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  return ed_test_http_send (fixture->session, msg);
}

/* Answers as a script does, asking for JSON. */
static EdTestResponse *
post_json (Fixture    *fixture,
           const char *token,
           const char *response_value,
           gint        party_size)
{
  g_autofree char *url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon), token);
  g_autofree char *form = party_size > 0
    ? g_strdup_printf ("response=%s&party_size=%d", response_value, party_size)
    : g_strdup_printf ("response=%s", response_value);
  g_autoptr(SoupMessage) msg = ed_test_http_message_new ("POST", url, NULL, NULL, NULL);
  g_autoptr(GBytes) body = g_bytes_new (form, strlen (form));

  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  return ed_test_http_send (fixture->session, msg);
}

static JsonObject *
get_guest (Fixture *fixture,
           gint64   guest_id)
{
  g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return json_object_ref (ed_test_response_get_object (response));
}

static JsonArray *
get_history (Fixture *fixture,
             gint64   guest_id)
{
  g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/history", guest_id);
  JsonObject *object;
  JsonArray *items;

  ed_test_assert_status (response, SOUP_STATUS_OK);
  object = ed_test_response_get_object (response);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpint (ed_test_json_int (object, "total"), ==, json_array_get_length (items));
  return json_array_ref (items);
}

static JsonObject *
get_stats (Fixture *fixture,
           gint64   event_id)
{
  g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return json_object_ref (ed_test_response_get_object (response));
}

static void
assert_guest_state (Fixture    *fixture,
                    gint64      guest_id,
                    const char *status,
                    gint64      party_size,
                    gint64      waitlist_position)
{
  g_autoptr(JsonObject) guest = get_guest (fixture, guest_id);

  g_assert_cmpstr (ed_test_json_string (guest, "status"), ==, status);
  g_assert_cmpint (ed_test_json_int (guest, "party_size"), ==, party_size);
  g_assert_cmpint (ed_test_json_int_or_null (guest, "waitlist_position"), ==, waitlist_position);
}

static void
assert_history_row (JsonArray  *history,
                    guint       index,
                    const char *old_status,
                    const char *new_status,
                    gint64      party_size,
                    const char *source)
{
  JsonObject *row;

  g_assert_cmpuint (json_array_get_length (history), >, index);
  if (json_array_get_length (history) <= index)
    return;

  row = json_array_get_object_element (history, index);
  g_assert_cmpstr (ed_test_json_string (row, "old_status"), ==, old_status);
  g_assert_cmpstr (ed_test_json_string (row, "new_status"), ==, new_status);
  g_assert_cmpint (ed_test_json_int (row, "party_size"), ==, party_size);
  g_assert_cmpstr (ed_test_json_string (row, "source"), ==, source);
}

static gint64
seats_taken (Fixture *fixture,
             gint64   event_id)
{
  g_autoptr(JsonObject) stats = get_stats (fixture, event_id);

  return ed_test_json_int (stats, "seats_taken");
}

static GBytes *
read_signing_key (Fixture *fixture)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "secret.key");
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, 32);
  return g_bytes_new_take (contents, length);
}

static char *
base64url (const char *data,
           gsize       length)
{
  g_autofree char *base64 = g_base64_encode ((const guchar *) data, length);
  GString *text = g_string_new (base64);

  g_string_replace (text, "+", "-", 0);
  g_string_replace (text, "/", "_", 0);
  g_string_replace (text, "=", "", 0);
  return g_string_free (text, FALSE);
}

/* A JWT built by hand with the given header and claims, signed with
 * HMAC-SHA256 under @key, or unsigned when @key is NULL.
 */
static char *
forge_token (GBytes     *key,
             const char *header_json,
             const char *claims_json)
{
  g_autofree char *header = base64url (header_json, strlen (header_json));
  g_autofree char *claims = base64url (claims_json, strlen (claims_json));
  g_autofree char *input = g_strconcat (header, ".", claims, NULL);
  g_autofree char *signature = NULL;
  guint8 digest[32];
  gsize digest_length = sizeof digest;

  if (key != NULL)
    {
      g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, g_bytes_get_data (key, NULL), g_bytes_get_size (key));

      g_hmac_update (hmac, (const guchar *) input, -1);
      g_hmac_get_digest (hmac, digest, &digest_length);
      signature = base64url ((const char *) digest, digest_length);
    }

  return g_strconcat (input, ".", signature ? signature : "", NULL);
}

static char *
rsvp_claims (gint64 event_id,
             gint64 guest_id,
             gint64 version,
             gint64 expires_in)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  return g_strdup_printf ("{\"evt\":%" G_GINT64_FORMAT ",\"gst\":%" G_GINT64_FORMAT ",\"ver\":%" G_GINT64_FORMAT
                          ",\"typ\":\"rsvp\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT "}",
                          event_id, guest_id, version, now - 10, now + expires_in);
}

static char *
body_text (EdTestResponse *response)
{
  return ed_test_response_get_body_text (response);
}

/* Opens the daemon's database read-only, once the daemon has stopped. */
static sqlite3 *
open_database (Fixture *fixture)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  sqlite3 *db = NULL;

  g_assert_false (ed_test_daemon_is_running (fixture->daemon));
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  return db;
}

static gint64
query_int (sqlite3    *db,
           const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  else
    g_test_message ("No row from %s: %s", sql, sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  return value;
}

/* Unit tests: no daemon */

static void
test_html_escape (void)
{
  g_autofree char *script = ed_html_escape_text ("<script>alert(\"x\")</script>");
  g_autofree char *quotes = ed_html_escape_text ("a \"b\" 'c' & d");
  g_autofree char *plain = ed_html_escape_text ("Grüße, Zoë");
  g_autofree char *empty = ed_html_escape_text (NULL);
  g_autofree char *entity = ed_html_escape_text ("&amp;");

  g_assert_cmpstr (script, ==, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  g_assert_cmpstr (quotes, ==, "a &quot;b&quot; &#39;c&#39; &amp; d");
  g_assert_cmpstr (plain, ==, "Grüße, Zoë");
  g_assert_cmpstr (empty, ==, "");
  g_assert_cmpstr (entity, ==, "&amp;amp;");
}

static void
test_expand (void)
{
  g_autofree char *text = ed_rsvp_expand ("{b}, {a} {a}; {unknown} {", "a", "1", "b", "<2>", NULL);

  g_assert_cmpstr (text, ==, "<2>, 1 1; {unknown} {");
}

/* A .mo file as msgfmt writes it (little-endian), built here so that
 * every field can be checked and broken on purpose.
 */
static GBytes *
build_mo (const char * const *originals,
          const char * const *translations,
          guint32             n,
          gboolean            big_endian)
{
  GByteArray *data = g_byte_array_new ();
  guint32 header_size = 28;
  guint32 table_o = header_size;
  guint32 table_t = table_o + 8 * n;
  guint32 strings = table_t + 8 * n;
  guint32 offset = strings;
  guint32 words[7];
  g_autoptr(GByteArray) tables = g_byte_array_new ();
  g_autoptr(GByteArray) text = g_byte_array_new ();

#define WORD(x) (big_endian ? GUINT32_TO_BE (x) : GUINT32_TO_LE (x))
  words[0] = WORD (0x950412de);
  words[1] = WORD (0);
  words[2] = WORD (n);
  words[3] = WORD (table_o);
  words[4] = WORD (table_t);
  words[5] = WORD (0);
  words[6] = WORD (0);
  g_byte_array_append (data, (const guint8 *) words, sizeof words);

  for (guint pass = 0; pass < 2; pass++)
    for (guint32 i = 0; i < n; i++)
      {
        const char *s = pass == 0 ? originals[i] : translations[i];
        /* Plural forms are written with "|" here and stored NUL-separated
         * (not in the header, entry 0, whose expression has "||").
         */
        g_autofree char *copy = g_strdup (s);
        guint32 length = (guint32) strlen (copy);
        guint32 entry[2];

        for (char *p = copy; i > 0 && *p; p++)
          if (*p == '|')
            *p = '\0';
        entry[0] = WORD (length);
        entry[1] = WORD (offset);
        g_byte_array_append (tables, (const guint8 *) entry, sizeof entry);
        g_byte_array_append (text, (const guint8 *) copy, length + 1);
        offset += length + 1;
      }
#undef WORD

  g_byte_array_append (data, tables->data, tables->len);
  g_byte_array_append (data, text->data, text->len);
  return g_byte_array_free_to_bytes (data);
}

static void
test_catalog_reader (void)
{
  /* Sorted by original, as msgfmt does; context entries use EOT. */
  const char * const originals[] = {
    "",
    "Hello",
    "month\004May",
    "one seat|{n} seats",
  };
  const char * const translations[] = {
    "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<12 || n%100>14) ? 1 : 2);\n",
    "Cześć",
    "maj",
    "miejsce|miejsca|miejsc",
  };

  for (guint endian = 0; endian < 2; endian++)
    {
      g_autoptr(GBytes) bytes = build_mo (originals, translations, G_N_ELEMENTS (originals), endian == 1);
      g_autoptr(GError) error = NULL;
      g_autoptr(EdCatalog) catalog = ed_catalog_new_from_bytes (bytes, "pl", &error);

      g_assert_no_error (error);
      g_assert_nonnull (catalog);
      if (catalog == NULL)
        continue;

      g_assert_cmpstr (ed_catalog_get_language (catalog), ==, "pl");
      g_assert_cmpuint (ed_catalog_get_size (catalog), ==, 3);
      g_assert_cmpstr (ed_catalog_gettext (catalog, "Hello"), ==, "Cześć");
      g_assert_cmpstr (ed_catalog_gettext (catalog, "Unknown"), ==, "Unknown");
      g_assert_cmpstr (ed_catalog_pgettext (catalog, "month", "May"), ==, "maj");
      g_assert_cmpstr (ed_catalog_pgettext (catalog, "verb", "May"), ==, "May");
      g_assert_cmpstr (ed_catalog_gettext (catalog, "May"), ==, "May");
      g_assert_cmpstr (ed_catalog_ngettext (catalog, "one seat", "{n} seats", 1), ==, "miejsce");
      g_assert_cmpstr (ed_catalog_ngettext (catalog, "one seat", "{n} seats", 3), ==, "miejsca");
      g_assert_cmpstr (ed_catalog_ngettext (catalog, "one seat", "{n} seats", 5), ==, "miejsc");
      g_assert_cmpstr (ed_catalog_ngettext (catalog, "one seat", "{n} seats", 22), ==, "miejsca");
      g_assert_cmpstr (ed_catalog_ngettext (catalog, "one seat", "{n} seats", 112), ==, "miejsc");
      g_assert_cmpstr (ed_catalog_ngettext (catalog, "a", "as", 2), ==, "as");
    }

  /* English is the NULL catalog. */
  g_assert_cmpstr (ed_catalog_gettext (NULL, "Hello"), ==, "Hello");
  g_assert_cmpstr (ed_catalog_ngettext (NULL, "one", "many", 1), ==, "one");
  g_assert_cmpstr (ed_catalog_ngettext (NULL, "one", "many", 0), ==, "many");
  g_assert_cmpstr (ed_catalog_get_language (NULL), ==, "en");
}

static void
test_catalog_malformed (void)
{
  const char * const originals[] = { "", "Hello" };
  const char * const translations[] = { "Plural-Forms: nplurals=2; plural=n != 1;\n", "Hallo" };
  g_autoptr(GBytes) good = build_mo (originals, translations, 2, FALSE);
  gsize size;
  const guint8 *data = g_bytes_get_data (good, &size);
  struct {
    const char *what;
    gsize       offset;   /* where to write @value, or G_MAXSIZE to truncate to @value */
    guint32     value;
  } cases[] = {
    { "empty", G_MAXSIZE, 0 },
    { "short header", G_MAXSIZE, 20 },
    { "truncated strings", G_MAXSIZE, 28 + 32 + 3 },
    { "bad magic", 0, 0x12345678 },
    { "unknown revision", 4, 0x00020000 },
    { "too many strings", 8, 0x10000000 },
    { "originals table outside", 12, 0xfffffff0 },
    { "translations table outside", 16, (guint32) size },
    { "string length outside", 28 + 8, 0x7fffffff },
    { "string offset outside", 28 + 12, (guint32) size + 100 },
    { "string not NUL-ended", 28 + 8, 1 },
  };

  {
    g_autoptr(EdCatalog) catalog = ed_catalog_new_from_bytes (good, "de", NULL);

    g_assert_nonnull (catalog);
    g_assert_cmpstr (ed_catalog_gettext (catalog, "Hello"), ==, "Hallo");
  }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, size);
      g_autoptr(GBytes) bad = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(EdCatalog) catalog = NULL;

      g_test_message ("Malformed catalog: %s", cases[i].what);
      if (cases[i].offset == G_MAXSIZE)
        bad = g_bytes_new (copy, cases[i].value);
      else
        {
          guint32 le = GUINT32_TO_LE (cases[i].value);

          memcpy (copy + cases[i].offset, &le, sizeof le);
          bad = g_bytes_new (copy, size);
        }

      catalog = ed_catalog_new_from_bytes (bad, "de", &error);
      g_assert_null (catalog);
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
    }
}

static void
test_catalog_plural_expressions (void)
{
  struct {
    const char *expression;
    gulong      n;
    gulong      expected;
  } cases[] = {
    { "n != 1", 0, 1 }, { "n != 1", 1, 0 }, { "(n != 1)", 2, 1 },
    { "n>1", 1, 0 }, { "n>1", 2, 1 },
    { "0", 7, 0 },
    { "n==1 ? 0 : n==2 ? 1 : 2", 2, 1 }, { "n==1 ? 0 : n==2 ? 1 : 2", 9, 2 },
    { "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)", 21, 0 },
    { "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)", 13, 2 },
    { "!(n == 1)", 1, 0 },
    { "n/0", 5, 0 },
  };
  const char * const broken[] = { "", "n +", "(n", "n ? 1", "x", "n != 1)", "((((((((((((((((((((((((((((((((((n))))))))))))))))))))))))))))))))))" };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gulong index = G_MAXULONG;

      g_assert_true (ed_catalog_eval_plural (cases[i].expression, cases[i].n, &index));
      g_assert_cmpuint (index, ==, cases[i].expected);
    }

  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      gulong index;

      g_assert_false (ed_catalog_eval_plural (broken[i], 1, &index));
    }
}

static void
test_catalog_german (void)
{
  EdCatalog *de = ed_catalog_lookup ("de");
  const char * const *languages = ed_catalog_get_languages ();

  g_assert_nonnull (de);
  g_assert_cmpstr (languages[0], ==, "en");
  g_assert_true (g_strv_contains (languages, "de"));
  g_assert_null (ed_catalog_lookup ("en"));
  g_assert_cmpuint (ed_catalog_get_size (de), >, 60);

  g_assert_cmpstr (ed_catalog_gettext (de, "Seats left"), ==, "Freie Plätze");
  g_assert_cmpstr (ed_catalog_gettext (de, "This link doesn’t work"), ==, "Dieser Link funktioniert nicht");
  g_assert_cmpstr (ed_catalog_pgettext (de, "month", "March"), ==, "März");
  g_assert_cmpstr (ed_catalog_pgettext (de, "weekday", "Saturday"), ==, "Samstag");
  g_assert_cmpstr (ed_catalog_ngettext (de, "You’re coming. We’ve kept a seat for you.",
                                        "You’re coming. We’ve kept {n} seats for your party.", 1),
                   ==, "Sie sind dabei. Wir haben einen Platz für Sie reserviert.");
  g_assert_cmpstr (ed_catalog_ngettext (de, "You’re coming. We’ve kept a seat for you.",
                                        "You’re coming. We’ve kept {n} seats for your party.", 3),
                   ==, "Sie sind dabei. Wir haben {n} Plätze für Ihre Gruppe reserviert.");
}

static void
test_accept_language (void)
{
  const char * const available[] = { "en", "de", "pt_BR", NULL };
  struct {
    const char *header;
    const char *expected;
  } cases[] = {
    { NULL, NULL },
    { "", NULL },
    { "de", "de" },
    { "de-AT, en;q=0.5", "de" },
    { "en-US,en;q=0.9,de;q=0.8", "en" },
    { "fr-FR, de;q=0.3", "de" },
    { "fr, it", NULL },
    { "de;q=0, en;q=0.1", "en" },
    { "de;q=0", NULL },
    { "*", "en" },
    { "fr, *;q=0.5", "en" },
    { "DE-de", "de" },
    { "pt-BR", "pt_BR" },
    { "pt", NULL },
    { " en ; q=0.4 , de ; q=0.6 ", "de" },
    { ",,;;q=,de", "de" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *chosen = ed_catalog_negotiate_language (cases[i].header, available);

      g_test_message ("Accept-Language: %s", cases[i].header ? cases[i].header : "(none)");
      g_assert_cmpstr (chosen, ==, cases[i].expected);
    }

  g_assert_true (ed_catalog_for_accept_language ("de-CH") == ed_catalog_lookup ("de"));
  g_assert_null (ed_catalog_for_accept_language ("en-GB"));
}

static void
test_format_dates (void)
{
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autofree char *en = NULL;
  g_autofree char *de = NULL;
  g_autofree char *en_long = NULL;
  g_autofree char *number_en = ed_rsvp_format_number (NULL, 1234567);
  g_autofree char *number_de = ed_rsvp_format_number (ed_catalog_lookup ("de"), 5000);
  g_autofree char *number_small = ed_rsvp_format_number (NULL, 999);

  g_free (event->timezone);
  event->timezone = g_strdup ("Europe/Berlin");
  event->starts_at = 1830272400;   /* 2027-12-31T17:00:00Z, 18:00 in Berlin */
  event->ends_at = 1830286800;     /* 22:00 in Berlin */

  en = ed_rsvp_format_when (NULL, event);
  de = ed_rsvp_format_when (ed_catalog_lookup ("de"), event);
  g_assert_cmpstr (en, ==, "Friday, December 31, 2027, 6:00 PM – 10:00 PM");
  g_assert_cmpstr (de, ==, "Freitag, 31. Dezember 2027, 18:00 Uhr – 22:00 Uhr");

  /* Past midnight, the end has its own date. */
  event->ends_at = event->starts_at + 8 * 3600;
  en_long = ed_rsvp_format_when (NULL, event);
  g_assert_cmpstr (en_long, ==, "Friday, December 31, 2027, 6:00 PM – Saturday, January 1, 2028, 2:00 AM");

  g_assert_cmpstr (number_en, ==, "1,234,567");
  g_assert_cmpstr (number_de, ==, "5.000");
  g_assert_cmpstr (number_small, ==, "999");
}

static void
test_ics (void)
{
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autofree char *ics = NULL;
  g_autofree char *escaped = ed_ics_escape_text ("a\\b;c,d\ne\r\nf");
  g_autofree char *file_name = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean folded = FALSE;

  event->id = 7;
  event->name = g_strdup ("Grand Ball; Dinner, Dance");
  event->venue = g_strdup ("Town Hall");
  event->description = g_strdup ("Line one\nLine two with a long tail that goes on and on so that the folding "
                                 "of iCalendar lines at 75 octets must happen — with ü and 日本 included");
  event->starts_at = 1830272400;
  event->ends_at = 1830286800;

  g_assert_cmpstr (escaped, ==, "a\\\\b\\;c\\,d\\ne\\nf");

  ics = ed_rsvp_build_ics (event, 42, "rsvp.example.org", 1800000000);
  g_assert_true (g_str_has_prefix (ics, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
  g_assert_true (g_str_has_suffix (ics, "END:VEVENT\r\nEND:VCALENDAR\r\n"));
  g_assert_nonnull (strstr (ics, "\r\nUID:event-7-guest-42@rsvp.example.org\r\n"));
  g_assert_nonnull (strstr (ics, "\r\nDTSTART:20271231T170000Z\r\n"));
  g_assert_nonnull (strstr (ics, "\r\nDTEND:20271231T210000Z\r\n"));
  g_assert_nonnull (strstr (ics, "\r\nDTSTAMP:20270115T080000Z\r\n"));
  g_assert_nonnull (strstr (ics, "\r\nSUMMARY:Grand Ball\\; Dinner\\, Dance\r\n"));

  /* Every line ends with CRLF, is at most 75 octets and valid UTF-8. */
  lines = g_strsplit (ics, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_assert_null (strchr (lines[i], '\n'));
      g_assert_null (strchr (lines[i], '\r'));
      g_assert_cmpuint (strlen (lines[i]), <=, 75);
      g_assert_true (g_utf8_validate (lines[i], -1, NULL));
      if (lines[i][0] == ' ')
        folded = TRUE;
    }
  g_assert_true (folded);

  /* Unfolded, the description is back whole. */
  {
    GString *unfolded = g_string_new (ics);
    g_autofree char *text = NULL;

    g_string_replace (unfolded, "\r\n ", "", 0);
    text = g_string_free (unfolded, FALSE);
    g_assert_nonnull (strstr (text, "DESCRIPTION:Line one\\nLine two with a long tail that goes on and on so that "
                                    "the folding of iCalendar lines at 75 octets must happen — with ü and 日本 included\r\n"));
  }

  file_name = ed_rsvp_ics_file_name (event);
  g_assert_cmpstr (file_name, ==, "grand-ball-dinner-dance.ics");
}

/* Integration: the real daemon */

static void
test_link (Fixture       *fixture,
           gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 10, 1, TRUE);
  gint64 guest_id = create_guest (fixture, event_id, "ann@example.com", "Ann");
  g_autoptr(EdTestResponse) link = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/link", guest_id);
  g_autoptr(EdTestResponse) revoked = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) missing = NULL;
  g_autofree char *expected_prefix = g_strconcat (ed_test_daemon_get_url (fixture->daemon), "/r/", NULL);
  g_autofree char *old_token = NULL;
  g_autofree char *new_token = NULL;
  g_autofree char *again = NULL;
  JsonObject *object;

  ed_test_assert_status (link, SOUP_STATUS_OK);
  object = ed_test_response_get_object (link);
  g_assert_cmpint (ed_test_json_int (object, "guest_id"), ==, guest_id);
  g_assert_cmpint (ed_test_json_int (object, "token_version"), ==, 1);
  g_assert_true (g_str_has_prefix (ed_test_json_string (object, "url"), expected_prefix));
  /* Seven days after the event (no end: after its start). */
  g_assert_cmpstr (ed_test_json_string (object, "expires_at"), ==, "2030-06-08T17:00:00Z");
  old_token = g_strdup (ed_test_json_string (object, "token"));

  response = get_page (fixture, old_token, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  /* A second link of the same version works as well. */
  again = ed_test_api_link_token (fixture, guest_id);
  g_clear_pointer (&response, ed_test_response_free);
  response = get_page (fixture, again, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  revoked = ed_test_api (fixture, "POST", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/link/revoke", guest_id);
  ed_test_assert_status (revoked, SOUP_STATUS_OK);
  object = ed_test_response_get_object (revoked);
  g_assert_cmpint (ed_test_json_int (object, "token_version"), ==, 2);
  new_token = g_strdup (ed_test_json_string (object, "token"));

  g_clear_pointer (&response, ed_test_response_free);
  response = get_page (fixture, old_token, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_NOT_FOUND);
  g_clear_pointer (&response, ed_test_response_free);
  response = get_page (fixture, again, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_NOT_FOUND);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, old_token, "accept", 1);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "invalid_link");
  g_clear_pointer (&response, ed_test_response_free);
  response = get_page (fixture, new_token, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_guest_state (fixture, guest_id, "pending", 1, 0);

  /* The link API needs a session, and a guest. */
  missing = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/999999/link");
  ed_test_assert_error (missing, SOUP_STATUS_NOT_FOUND, "not_found");
  g_clear_pointer (&missing, ed_test_response_free);
  missing = ed_test_api (fixture, "POST", NULL, "/api/v1/guests/999999/link/revoke");
  ed_test_assert_error (missing, SOUP_STATUS_NOT_FOUND, "not_found");
  {
    g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/guests/1/link");
    g_autoptr(EdTestResponse) anonymous = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, NULL);

    ed_test_assert_status (anonymous, SOUP_STATUS_UNAUTHORIZED);
  }
}

/* Every broken token gets the same friendly page, whatever is wrong. */
static void
test_tokens (Fixture       *fixture,
             gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 10, 1, TRUE);
  gint64 other_event_id = create_simple_event (fixture, 10, 1, TRUE);
  gint64 guest_id = create_guest (fixture, event_id, "ann@example.com", "Ann");
  gint64 other_guest_id = create_guest (fixture, other_event_id, "bob@example.com", "Bob");
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autoptr(GBytes) other_key = g_bytes_new ("0123456789abcdef0123456789abcdef", 32);
  g_autofree char *real = ed_test_api_link_token (fixture, guest_id);
  g_autofree char *claims = rsvp_claims (event_id, guest_id, 1, 3600);
  g_autofree char *expired_claims = rsvp_claims (event_id, guest_id, 1, -60);
  g_autofree char *other_event_claims = rsvp_claims (other_event_id, guest_id, 1, 3600);
  g_autofree char *other_guest_claims = rsvp_claims (event_id, other_guest_id, 1, 3600);
  g_autofree char *unknown_guest_claims = rsvp_claims (event_id, 999999, 1, 3600);
  g_autofree char *future_version_claims = rsvp_claims (event_id, guest_id, 2, 3600);
  g_autofree char *session_claims = NULL;
  g_autofree char *forged_ok = NULL;
  g_autofree char *tampered_payload = NULL;
  g_autofree char *tampered_signature = NULL;
  g_autofree char *reference_body = NULL;
  g_autoptr(GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(EdTestResponse) reference = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  /* The forger's tools work: a token built by hand with the real key and
   * the right claims is accepted, so every refusal below is the daemon's.
   */
  forged_ok = forge_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims);
  response = get_page (fixture, forged_ok, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  /* Tampered: another guest's id in the payload, the old signature kept. */
  {
    g_auto(GStrv) parts = g_strsplit (real, ".", -1);
    g_autofree char *payload = base64url (other_guest_claims, strlen (other_guest_claims));

    tampered_payload = g_strjoin (".", parts[0], payload, parts[2], NULL);
    parts[2][5] = parts[2][5] == 'A' ? 'B' : 'A';
    tampered_signature = g_strjoinv (".", parts);
  }
  g_ptr_array_add (bad, g_strdup (tampered_payload));
  g_ptr_array_add (bad, g_strdup (tampered_signature));
  /* Signed with another key. */
  g_ptr_array_add (bad, forge_token (other_key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims));
  /* alg none: unsigned, and "signed" with none named. */
  g_ptr_array_add (bad, forge_token (NULL, "{\"alg\":\"none\",\"typ\":\"JWT\"}", claims));
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"none\",\"typ\":\"JWT\"}", claims));
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims));
  /* Expired. */
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", expired_claims));
  /* Well signed, but naming the wrong event, an unknown guest, a version not issued. */
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", other_event_claims));
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", unknown_guest_claims));
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", future_version_claims));
  /* A session token is not an RSVP token. */
  session_claims = g_strdup_printf ("{\"evt\":%" G_GINT64_FORMAT ",\"gst\":%" G_GINT64_FORMAT ",\"ver\":1,"
                                    "\"typ\":\"session\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT "}",
                                    event_id, guest_id, now, now + 3600);
  g_ptr_array_add (bad, forge_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", session_claims));
  g_ptr_array_add (bad, g_strdup (fixture->token));
  /* Garbage. */
  g_ptr_array_add (bad, g_strdup ("not-a-token"));
  g_ptr_array_add (bad, g_strdup ("a.b.c"));
  g_ptr_array_add (bad, g_strnfill (5000, 'x'));

  reference = get_page (fixture, "garbage", NULL, NULL);
  ed_test_assert_status (reference, SOUP_STATUS_NOT_FOUND);
  reference_body = body_text (reference);
  g_assert_nonnull (strstr (reference_body, "This link doesn’t work"));
  g_assert_null (strstr (reference_body, "Summer Party"));

  for (guint i = 0; i < bad->len; i++)
    {
      const char *token = g_ptr_array_index (bad, i);
      g_autoptr(EdTestResponse) page = NULL;
      g_autoptr(EdTestResponse) answer = NULL;
      g_autoptr(EdTestResponse) seats = NULL;
      g_autoptr(EdTestResponse) calendar = NULL;
      g_autofree char *page_body = NULL;

      g_test_message ("Bad token %u: %.60s…", i, token);
      page = get_page (fixture, token, NULL, NULL);
      ed_test_assert_status (page, SOUP_STATUS_NOT_FOUND);
      page_body = body_text (page);
      g_assert_cmpstr (page_body, ==, reference_body);
      g_assert_cmpstr (ed_test_response_get_header (page, "Cache-Control"), ==, "no-store");

      answer = post_json (fixture, token, "accept", 1);
      ed_test_assert_error (answer, SOUP_STATUS_NOT_FOUND, "invalid_link");
      seats = get_page (fixture, token, "/seats", NULL);
      ed_test_assert_status (seats, SOUP_STATUS_NOT_FOUND);
      calendar = get_page (fixture, token, "/calendar.ics", NULL);
      ed_test_assert_status (calendar, SOUP_STATUS_NOT_FOUND);
    }

  /* None of it changed anything. */
  assert_guest_state (fixture, guest_id, "pending", 1, 0);
  assert_guest_state (fixture, other_guest_id, "pending", 1, 0);
  {
    g_autoptr(JsonArray) history = get_history (fixture, guest_id);

    g_assert_cmpuint (json_array_get_length (history), ==, 0);
  }
}

static void
test_page (Fixture       *fixture,
           gconstpointer  user_data)
{
  gint64 event_id = create_event (fixture,
                                  "{\"name\":\"<script>alert(1)</script> & \\\"Gala\\\"\","
                                  "\"description\":\"First line <b>bold</b>\\nsecond line\\n\\nNew paragraph 'q'\","
                                  "\"venue\":\"Hall <i>7</i>\",\"timezone\":\"Europe/Berlin\","
                                  "\"starts_at\":\"2030-06-01T19:00\",\"ends_at\":\"2030-06-01T23:30\","
                                  "\"capacity\":1234,\"max_party_size\":3}");
  gint64 guest_id = create_guest (fixture, event_id, "eve@example.com", "Eve\"><img src=x onerror=alert(1)>");
  g_autofree char *token = ed_test_api_link_token (fixture, guest_id);
  g_autoptr(EdTestResponse) response = get_page (fixture, token, NULL, "en-GB,en;q=0.9");
  g_autoptr(EdTestResponse) css = NULL;
  g_autoptr(EdTestResponse) js = NULL;
  g_autoptr(EdTestResponse) missing = NULL;
  g_autoptr(EdTestResponse) seats = NULL;
  g_autofree char *html = NULL;
  g_autofree char *action = g_strdup_printf ("action=\"/r/%s\"", token);
  const char *csp;

  ed_test_assert_status (response, SOUP_STATUS_OK);
  html = body_text (response);

  /* Headers: the URL holds the token; the page allows no inline code. */
  g_assert_cmpstr (ed_test_response_get_header (response, "Content-Type"), ==, "text/html; charset=utf-8");
  g_assert_cmpstr (ed_test_response_get_header (response, "Cache-Control"), ==, "no-store");
  g_assert_cmpstr (ed_test_response_get_header (response, "Referrer-Policy"), ==, "no-referrer");
  g_assert_cmpstr (ed_test_response_get_header (response, "X-Content-Type-Options"), ==, "nosniff");
  g_assert_cmpstr (ed_test_response_get_header (response, "Content-Language"), ==, "en");
  csp = ed_test_response_get_header (response, "Content-Security-Policy");
  g_assert_nonnull (csp);
  g_assert_nonnull (strstr (csp, "default-src 'none'"));
  g_assert_nonnull (strstr (csp, "script-src 'self'"));
  g_assert_nonnull (strstr (csp, "frame-ancestors 'none'"));
  g_assert_null (strstr (csp, "unsafe-inline"));

  /* Everything printed is escaped. */
  g_assert_null (strstr (html, "<script>alert"));
  g_assert_null (strstr (html, "<b>bold"));
  g_assert_null (strstr (html, "<i>7"));
  g_assert_null (strstr (html, "<img"));
  g_assert_nonnull (strstr (html, "<h1>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Gala&quot;</h1>"));
  g_assert_nonnull (strstr (html, "Hello Eve&quot;&gt;&lt;img src=x onerror=alert(1)&gt;, you’re invited to"));
  g_assert_nonnull (strstr (html, "<p>First line &lt;b&gt;bold&lt;/b&gt;<br>\nsecond line</p>\n<p>New paragraph &#39;q&#39;</p>"));
  g_assert_nonnull (strstr (html, "Hall &lt;i&gt;7&lt;/i&gt;"));

  /* No inline script or style: only the two files of the site. */
  g_assert_null (strstr (html, "<script>"));
  g_assert_null (strstr (html, "style="));
  g_assert_null (strstr (html, "<style"));
  g_assert_nonnull (strstr (html, "<script src=\"/r/static/rsvp.js\" defer></script>"));

  /* Structure: language, labels for every control, the event's facts. */
  g_assert_nonnull (strstr (html, "<html lang=\"en\">"));
  g_assert_nonnull (strstr (html, "<meta name=\"viewport\""));
  g_assert_nonnull (strstr (html, "Saturday, June 1, 2030, 7:00 PM – 11:30 PM"));
  g_assert_nonnull (strstr (html, "Time zone: Europe/Berlin"));
  g_assert_nonnull (strstr (html, "<time datetime=\"2030-06-01T17:00:00Z\">"));
  g_assert_nonnull (strstr (html, "aria-live=\"polite\">1,234</span>"));
  g_assert_nonnull (strstr (html, "You haven’t answered yet."));
  g_assert_nonnull (strstr (html, action));
  g_assert_nonnull (strstr (html, "<legend>Will you come?</legend>"));
  g_assert_nonnull (strstr (html, "id=\"response-accept\""));
  g_assert_nonnull (strstr (html, "<label for=\"response-accept\">Yes, I’ll come</label>"));
  g_assert_nonnull (strstr (html, "<label for=\"response-decline\">No, I can’t come</label>"));
  g_assert_nonnull (strstr (html, "<label for=\"party-size\">"));
  g_assert_nonnull (strstr (html, "<option value=\"3\">3</option>\n</select>"));
  g_assert_null (strstr (html, "<option value=\"4\""));
  g_assert_null (strstr (html, "calendar.ics"));

  /* German when the browser asks for it. */
  g_clear_pointer (&response, ed_test_response_free);
  g_clear_pointer (&html, g_free);
  response = get_page (fixture, token, NULL, "fr-FR, de-DE;q=0.8, en;q=0.5");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  html = body_text (response);
  g_assert_cmpstr (ed_test_response_get_header (response, "Content-Language"), ==, "de");
  g_assert_nonnull (strstr (html, "<html lang=\"de\">"));
  g_assert_nonnull (strstr (html, "Samstag, 1. Juni 2030, 19:00 Uhr – 23:30 Uhr"));
  g_assert_nonnull (strstr (html, "<dt>Freie Plätze</dt>"));
  g_assert_nonnull (strstr (html, "aria-live=\"polite\">1.234</span>"));
  g_assert_nonnull (strstr (html, "<legend>Kommen Sie?</legend>"));
  g_assert_nonnull (strstr (html, "Sie haben noch nicht geantwortet."));
  g_assert_null (strstr (html, "Will you come?"));

  /* The site's files, from the binary. */
  css = get_page (fixture, "static", "/rsvp.css", NULL);
  ed_test_assert_status (css, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_response_get_header (css, "Content-Type"), ==, "text/css; charset=utf-8");
  js = get_page (fixture, "static", "/rsvp.js", NULL);
  ed_test_assert_status (js, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_response_get_header (js, "Content-Type"), ==, "text/javascript; charset=utf-8");
  g_assert_cmpuint (g_bytes_get_size (js->body), >, 500);
  missing = get_page (fixture, "static", "/secret.key", NULL);
  ed_test_assert_status (missing, SOUP_STATUS_NOT_FOUND);

  seats = get_page (fixture, token, "/seats", NULL);
  ed_test_assert_status (seats, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (seats), "seats_left"), ==, 1234);
}

static void
test_answer_form (Fixture       *fixture,
                  gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 10, 4, TRUE);
  gint64 guest_id = create_guest (fixture, event_id, "ann@example.com", "Ann");
  g_autofree char *token = ed_test_api_link_token (fixture, guest_id);
  g_autofree char *saved = g_strdup_printf ("%s/r/%s?notice=saved#notice", ed_test_daemon_get_url (fixture->daemon), token);
  g_autofree char *invalid = g_strdup_printf ("%s/r/%s?notice=invalid#notice", ed_test_daemon_get_url (fixture->daemon), token);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) page = NULL;
  g_autoptr(EdTestResponse) ics = NULL;
  g_autoptr(JsonArray) history = NULL;
  g_autofree char *html = NULL;
  g_autofree char *calendar = NULL;
  g_autofree char *uid = NULL;

  response = post_form (fixture, token, "response=accept&party_size=3");
  ed_test_assert_status (response, SOUP_STATUS_SEE_OTHER);
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, saved);
  assert_guest_state (fixture, guest_id, "accepted", 3, 0);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 3);

  page = get_page (fixture, token, "?notice=saved", NULL);
  ed_test_assert_status (page, SOUP_STATUS_OK);
  html = body_text (page);
  g_assert_nonnull (strstr (html, "Thank you! Your answer has been saved."));
  g_assert_nonnull (strstr (html, "You’re coming. We’ve kept 3 seats for your party."));
  g_assert_nonnull (strstr (html, "aria-live=\"polite\">7</span>"));
  g_assert_nonnull (strstr (html, "id=\"response-accept\" name=\"response\" value=\"accept\" required checked"));
  g_assert_nonnull (strstr (html, "<option value=\"3\" selected>3</option>"));
  g_assert_nonnull (strstr (html, "calendar.ics"));
  g_assert_nonnull (strstr (html, "Change my answer"));

  ics = get_page (fixture, token, "/calendar.ics", NULL);
  ed_test_assert_status (ics, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_response_get_header (ics, "Content-Type"), ==, "text/calendar; charset=utf-8");
  g_assert_cmpstr (ed_test_response_get_header (ics, "Content-Disposition"), ==, "attachment; filename=\"summer-party.ics\"");
  calendar = body_text (ics);
  g_assert_true (g_str_has_prefix (calendar, "BEGIN:VCALENDAR\r\n"));
  g_assert_nonnull (strstr (calendar, "\r\nDTSTART:20300601T170000Z\r\n"));
  g_assert_nonnull (strstr (calendar, "\r\nSUMMARY:Summer Party\r\n"));
  uid = g_strdup_printf ("\r\nUID:event-%" G_GINT64_FORMAT "-guest-%" G_GINT64_FORMAT "@127.0.0.1\r\n",
                         event_id, guest_id);
  g_assert_nonnull (strstr (calendar, uid));

  /* Bad input changes nothing. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, token, "response=maybe&party_size=2");
  ed_test_assert_status (response, SOUP_STATUS_SEE_OTHER);
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, invalid);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, token, "response=accept&party_size=5");
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, invalid);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, token, "response=accept&party_size=0");
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, invalid);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, token, "response=accept&party_size=two");
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, invalid);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, token, "accept", 9);
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  assert_guest_state (fixture, guest_id, "accepted", 3, 0);

  /* Declining: no calendar any more. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, token, "response=decline");
  ed_test_assert_status (response, SOUP_STATUS_SEE_OTHER);
  assert_guest_state (fixture, guest_id, "declined", 3, 0);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 0);
  g_clear_pointer (&ics, ed_test_response_free);
  ics = get_page (fixture, token, "/calendar.ics", NULL);
  ed_test_assert_status (ics, SOUP_STATUS_NOT_FOUND);

  history = get_history (fixture, guest_id);
  g_assert_cmpuint (json_array_get_length (history), ==, 2);
  assert_history_row (history, 0, "pending", "accepted", 3, "guest");
  assert_history_row (history, 1, "accepted", "declined", 3, "guest");
  g_assert_cmpstr (ed_test_json_string (json_array_get_object_element (history, 0), "client_address"), ==, "127.0.0.1");
}

static void
test_answer_idempotent (Fixture       *fixture,
                        gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 10, 4, TRUE);
  gint64 guest_id = create_guest (fixture, event_id, "ann@example.com", "Ann");
  g_autofree char *token = ed_test_api_link_token (fixture, guest_id);
  g_autoptr(JsonArray) history = NULL;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(EdTestResponse) response = post_json (fixture, token, "accept", 2);
      JsonObject *object;

      ed_test_assert_status (response, SOUP_STATUS_OK);
      object = ed_test_response_get_object (response);
      g_assert_cmpstr (ed_test_json_string (object, "status"), ==, "accepted");
      g_assert_cmpint (ed_test_json_int (object, "party_size"), ==, 2);
      g_assert_cmpint (ed_test_json_int_or_null (object, "waitlist_position"), ==, 0);
      g_assert_cmpint (ed_test_json_int (object, "seats_left"), ==, 8);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(EdTestResponse) response = post_form (fixture, token, "response=accept&party_size=2");

      ed_test_assert_status (response, SOUP_STATUS_SEE_OTHER);
    }

  history = get_history (fixture, guest_id);
  g_assert_cmpuint (json_array_get_length (history), ==, 1);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 2);

  /* A new party size is a change, and recorded once. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(EdTestResponse) response = post_json (fixture, token, "accept", 1);

      ed_test_assert_status (response, SOUP_STATUS_OK);
    }
  g_clear_pointer (&history, json_array_unref);
  history = get_history (fixture, guest_id);
  g_assert_cmpuint (json_array_get_length (history), ==, 2);
  assert_history_row (history, 1, "accepted", "accepted", 1, "guest");

  /* Declining twice, too. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(EdTestResponse) response = post_json (fixture, token, "decline", 0);

      ed_test_assert_status (response, SOUP_STATUS_OK);
      g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "declined");
    }
  g_clear_pointer (&history, json_array_unref);
  history = get_history (fixture, guest_id);
  g_assert_cmpuint (json_array_get_length (history), ==, 3);
}

/* Waiting list: arrival order, positions without gaps, promotion of the
 * head in order, renumbering when someone leaves, mail queued.
 */
static void
test_waitlist (Fixture       *fixture,
               gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 3, 4, TRUE);
  gint64 ids[5];
  g_auto(GStrv) tokens = g_new0 (char *, 5 + 1);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonArray) history = NULL;
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *email = g_strdup_printf ("guest%u@example.com", i);

      ids[i] = create_guest (fixture, event_id, email, "G");
      tokens[i] = ed_test_api_link_token (fixture, ids[i]);
    }

  /* 0: 2 seats, accepted. 1: 2 seats, waitlisted first. 2: 1 seat,
   * second in line although a seat is free: nobody jumps the queue.
   */
  response = post_json (fixture, tokens[0], "accept", 2);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "accepted");
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tokens[1], "accept", 2);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "waitlisted");
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "waitlist_position"), ==, 1);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "seats_left"), ==, 1);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tokens[2], "accept", 1);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "waitlisted");
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "waitlist_position"), ==, 2);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tokens[3], "accept", 1);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "waitlist_position"), ==, 3);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tokens[4], "accept", 1);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "waitlist_position"), ==, 4);

  /* The page of a waitlisted guest tells the position. */
  {
    g_autoptr(EdTestResponse) page = get_page (fixture, tokens[3], NULL, NULL);
    g_autofree char *html = body_text (page);

    g_assert_nonnull (strstr (html, "You’re on the waiting list, number 3 in line."));
  }

  /* 3 leaves the line from the middle: 4 moves up. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tokens[3], "decline", 0);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "declined");
  assert_guest_state (fixture, ids[4], "waitlisted", 1, 3);

  /* 0 declines: 1 (2 seats) and then 2 (1 seat) get in, in order. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tokens[0], "decline", 0);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "seats_left"), ==, 0);
  assert_guest_state (fixture, ids[1], "accepted", 2, 0);
  assert_guest_state (fixture, ids[2], "accepted", 1, 0);
  assert_guest_state (fixture, ids[4], "waitlisted", 1, 1);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 3);

  history = get_history (fixture, ids[1]);
  g_assert_cmpuint (json_array_get_length (history), ==, 2);
  assert_history_row (history, 0, "pending", "waitlisted", 2, "guest");
  assert_history_row (history, 1, "waitlisted", "accepted", 2, "system");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (json_array_get_object_element (history, 1),
                                                                "client_address")));

  /* A promoted guest's page says so. */
  {
    g_autoptr(EdTestResponse) page = get_page (fixture, tokens[2], NULL, NULL);
    g_autofree char *html = body_text (page);

    g_assert_nonnull (strstr (html, "You’re coming. We’ve kept a seat for you."));
  }

  /* The guest list shows the promoted guests' mail and the confirmation
   * of the guest who accepted at first, and none for the others.
   */
  {
    g_autoptr(EdTestResponse) list = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests",
                                                  event_id);
    JsonArray *items;

    ed_test_assert_status (list, SOUP_STATUS_OK);
    items = json_object_get_array_member (ed_test_response_get_object (list), "items");
    g_assert_cmpuint (json_array_get_length (items), ==, G_N_ELEMENTS (ids));
    for (guint i = 0; i < json_array_get_length (items); i++)
      {
        JsonObject *item = json_array_get_object_element (items, i);
        JsonNode *delivery = json_object_get_member (item, "last_delivery_status");
        gint64 id = ed_test_json_int (item, "id");

        g_assert_nonnull (delivery);
        if (id == ids[0] || id == ids[1] || id == ids[2])
          g_assert_true (json_node_get_value_type (delivery) == G_TYPE_STRING);
        else
          g_assert_true (JSON_NODE_HOLDS_NULL (delivery));
      }
  }

  /* Two promotions, two mails of one transactional campaign (queued, or
   * already in the daemon's Maildir).
   */
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
  db = open_database (fixture);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM campaigns WHERE kind = 'waitlist_promotion' "
                                  "AND transactional = 1"), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages JOIN campaigns ON campaigns.id = campaign_id "
                                  "WHERE kind = 'waitlist_promotion' AND messages.state IN ('queued', 'sent') "
                                  "AND priority > 0"), ==, 2);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT guest_id FROM messages JOIN campaigns ON campaigns.id = campaign_id "
                                           "WHERE kind = 'waitlist_promotion' ORDER BY guest_id", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, ids[1]);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, ids[2]);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* The policy for a first-in-line party too large for the free seats:
 * strict order. It waits, and nobody behind it gets in first.
 */
static void
test_promotion_strict_order (Fixture       *fixture,
                             gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 4, 4, TRUE);
  gint64 a = create_guest (fixture, event_id, "a@example.com", "A");
  gint64 b = create_guest (fixture, event_id, "b@example.com", "B");
  gint64 c = create_guest (fixture, event_id, "c@example.com", "C");
  g_autofree char *ta = ed_test_api_link_token (fixture, a);
  g_autofree char *tb = ed_test_api_link_token (fixture, b);
  g_autofree char *tc = ed_test_api_link_token (fixture, c);
  g_autoptr(EdTestResponse) response = NULL;

  response = post_json (fixture, ta, "accept", 4);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tb, "accept", 3);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tc, "accept", 1);
  assert_guest_state (fixture, b, "waitlisted", 3, 1);
  assert_guest_state (fixture, c, "waitlisted", 1, 2);

  /* A shrinks to 2: 2 seats free, B needs 3 and waits; C (1) may not pass it. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, ta, "accept", 2);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "seats_left"), ==, 2);
  assert_guest_state (fixture, b, "waitlisted", 3, 1);
  assert_guest_state (fixture, c, "waitlisted", 1, 2);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 2);

  /* A shrinks to 1: now B fits, and then nothing is left for C. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, ta, "accept", 1);
  assert_guest_state (fixture, b, "accepted", 3, 0);
  assert_guest_state (fixture, c, "waitlisted", 1, 1);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 4);

  /* A larger capacity lets C in, in the same request. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"capacity\":5}", "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (json_object_get_object_member (ed_test_response_get_object (response), "stats"),
                                     "seats_taken"), ==, 5);
  assert_guest_state (fixture, c, "accepted", 1, 0);
  {
    g_autoptr(JsonArray) history = get_history (fixture, c);

    g_assert_cmpuint (json_array_get_length (history), ==, 2);
    assert_history_row (history, 1, "waitlisted", "accepted", 1, "system");
  }

  /* A waitlisted guest who now needs fewer seats keeps their place and may fit. */
  {
    gint64 d = create_guest (fixture, event_id, "d@example.com", "D");
    g_autofree char *td = ed_test_api_link_token (fixture, d);
    g_autoptr(JsonArray) history = NULL;

    g_clear_pointer (&response, ed_test_response_free);
    response = post_json (fixture, td, "accept", 2);
    assert_guest_state (fixture, d, "waitlisted", 2, 1);
    g_clear_pointer (&response, ed_test_response_free);
    response = post_json (fixture, ta, "decline", 0);
    assert_guest_state (fixture, d, "waitlisted", 2, 1);
    g_assert_cmpint (seats_taken (fixture, event_id), ==, 4);
    g_clear_pointer (&response, ed_test_response_free);
    response = post_json (fixture, td, "accept", 1);
    g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "accepted");
    assert_guest_state (fixture, d, "accepted", 1, 0);
    g_assert_cmpint (seats_taken (fixture, event_id), ==, 5);

    history = get_history (fixture, d);
    g_assert_cmpuint (json_array_get_length (history), ==, 3);
    assert_history_row (history, 0, "pending", "waitlisted", 2, "guest");
    assert_history_row (history, 1, "waitlisted", "waitlisted", 1, "guest");
    assert_history_row (history, 2, "waitlisted", "accepted", 1, "system");
  }
}

static void
test_capacity_rules (Fixture       *fixture,
                     gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 3, 3, FALSE);
  gint64 a = create_guest (fixture, event_id, "a@example.com", "A");
  gint64 b = create_guest (fixture, event_id, "b@example.com", "B");
  g_autofree char *ta = ed_test_api_link_token (fixture, a);
  g_autofree char *tb = ed_test_api_link_token (fixture, b);
  g_autofree char *full = g_strdup_printf ("%s/r/%s?notice=full#notice", ed_test_daemon_get_url (fixture->daemon), tb);
  g_autofree char *no_seats = g_strdup_printf ("%s/r/%s?notice=not-enough-seats#notice", ed_test_daemon_get_url (fixture->daemon), ta);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonArray) history = NULL;

  response = post_json (fixture, ta, "accept", 2);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  /* No waiting list: a party that does not fit is told the event is full. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tb, "accept", 2);
  ed_test_assert_status (response, SOUP_STATUS_CONFLICT);
  g_assert_cmpstr (ed_test_json_string (json_object_get_object_member (ed_test_response_get_object (response), "error"),
                                        "code"), ==, "event_full");
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "pending");
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, tb, "response=accept&party_size=2");
  ed_test_assert_status (response, SOUP_STATUS_SEE_OTHER);
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, full);
  assert_guest_state (fixture, b, "pending", 1, 0);
  history = get_history (fixture, b);
  g_assert_cmpuint (json_array_get_length (history), ==, 0);

  /* A party that fits is accepted. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, tb, "accept", 1);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "seats_left"), ==, 0);

  /* An accepted guest asking for more than is free keeps what they have. */
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, ta, "response=accept&party_size=3");
  ed_test_assert_status (response, SOUP_STATUS_SEE_OTHER);
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, no_seats);
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, ta, "accept", 3);
  ed_test_assert_status (response, SOUP_STATUS_CONFLICT);
  g_assert_cmpstr (ed_test_json_string (json_object_get_object_member (ed_test_response_get_object (response), "error"),
                                        "code"), ==, "not_enough_seats");
  assert_guest_state (fixture, a, "accepted", 2, 0);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 3);

  /* The capacity cannot go below the seats taken; nobody is demoted. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"capacity\":2}", "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "capacity_below_seats_taken");
  assert_guest_state (fixture, a, "accepted", 2, 0);
  assert_guest_state (fixture, b, "accepted", 1, 0);
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"capacity\":3}", "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
}

static void
test_deadline (Fixture       *fixture,
               gconstpointer  user_data)
{
  gint64 event_id = create_event (fixture, "{\"name\":\"Late\",\"starts_at\":\"" FUTURE_START "\","
                                           "\"rsvp_deadline\":\"2020-01-01T12:00:00Z\",\"timezone\":\"UTC\","
                                           "\"capacity\":10,\"max_party_size\":2}");
  gint64 guest_id = create_guest (fixture, event_id, "ann@example.com", "Ann");
  g_autofree char *token = ed_test_api_link_token (fixture, guest_id);
  g_autofree char *closed = g_strdup_printf ("%s/r/%s?notice=closed#notice", ed_test_daemon_get_url (fixture->daemon), token);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) page = NULL;
  g_autoptr(JsonArray) history = NULL;
  g_autofree char *html = NULL;

  /* An admin can still answer for the guest after the deadline. */
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"accepted\",\"party_size\":2}", "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  page = get_page (fixture, token, NULL, NULL);
  ed_test_assert_status (page, SOUP_STATUS_OK);
  html = body_text (page);
  g_assert_nonnull (strstr (html, "Answers closed on Wednesday, January 1, 2020, 12:00 PM."));
  g_assert_nonnull (strstr (html, "You’re coming. We’ve kept 2 seats for your party."));
  g_assert_null (strstr (html, "<form"));
  g_assert_null (strstr (html, "<input"));

  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, token, "decline", 0);
  ed_test_assert_status (response, SOUP_STATUS_CONFLICT);
  g_assert_cmpstr (ed_test_json_string (json_object_get_object_member (ed_test_response_get_object (response), "error"),
                                        "code"), ==, "rsvp_closed");
  g_clear_pointer (&response, ed_test_response_free);
  response = post_form (fixture, token, "response=decline");
  g_assert_cmpstr (ed_test_response_get_header (response, "Location"), ==, closed);
  assert_guest_state (fixture, guest_id, "accepted", 2, 0);

  history = get_history (fixture, guest_id);
  g_assert_cmpuint (json_array_get_length (history), ==, 1);
  assert_history_row (history, 0, "pending", "accepted", 2, "admin");
}

static void
test_admin_answers (Fixture       *fixture,
                    gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, 2, 2, TRUE);
  gint64 a = create_guest (fixture, event_id, "a@example.com", "A");
  gint64 b = create_guest (fixture, event_id, "b@example.com", "B");
  g_autofree char *ta = ed_test_api_link_token (fixture, a);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonArray) history = NULL;
  g_autofree char *html = NULL;

  response = ed_test_api (fixture, "PATCH", "{\"status\":\"accepted\",\"party_size\":2,\"first_name\":\"Ada\"}",
                          "/api/v1/guests/%" G_GINT64_FORMAT, a);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "accepted");
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "first_name"), ==, "Ada");

  /* Same capacity logic: B goes on the waiting list. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"accepted\"}", "/api/v1/guests/%" G_GINT64_FORMAT, b);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "status"), ==, "waitlisted");
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "waitlist_position"), ==, 1);

  /* Refused: demoting an accepted guest, a party too large, a bad status;
   * and a refused answer leaves the contact change undone too.
   */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"waitlisted\",\"last_name\":\"X\"}", "/api/v1/guests/%" G_GINT64_FORMAT, a);
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_assert_nonnull (ed_test_response_get_error_field (response, "status"));
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"party_size\":3}", "/api/v1/guests/%" G_GINT64_FORMAT, a);
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"maybe\"}", "/api/v1/guests/%" G_GINT64_FORMAT, a);
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  {
    g_autoptr(JsonObject) guest = get_guest (fixture, a);

    g_assert_cmpstr (ed_test_json_string (guest, "last_name"), ==, "");
    g_assert_cmpstr (ed_test_json_string (guest, "status"), ==, "accepted");
  }

  /* The admin cancels A: B is promoted; A's page is read-only. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"cancelled\"}", "/api/v1/guests/%" G_GINT64_FORMAT, a);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_guest_state (fixture, b, "accepted", 1, 0);
  g_clear_pointer (&response, ed_test_response_free);
  response = get_page (fixture, ta, NULL, NULL);
  html = body_text (response);
  g_assert_nonnull (strstr (html, "Your invitation has been cancelled."));
  g_assert_null (strstr (html, "<form"));
  g_clear_pointer (&response, ed_test_response_free);
  response = post_json (fixture, ta, "accept", 1);
  ed_test_assert_status (response, SOUP_STATUS_CONFLICT);
  g_assert_cmpstr (ed_test_json_string (json_object_get_object_member (ed_test_response_get_object (response), "error"),
                                        "code"), ==, "invitation_cancelled");

  /* Sending no change records nothing. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"cancelled\"}", "/api/v1/guests/%" G_GINT64_FORMAT, a);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  history = get_history (fixture, a);
  g_assert_cmpuint (json_array_get_length (history), ==, 2);
  assert_history_row (history, 0, "pending", "accepted", 2, "admin");
  assert_history_row (history, 1, "accepted", "cancelled", 2, "admin");
  g_clear_pointer (&history, json_array_unref);
  history = get_history (fixture, b);
  g_assert_cmpuint (json_array_get_length (history), ==, 2);
  assert_history_row (history, 0, "pending", "waitlisted", 1, "admin");
  assert_history_row (history, 1, "waitlisted", "accepted", 1, "system");

  /* The admin can set a guest back to pending, which frees the seats. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_api (fixture, "PATCH", "{\"status\":\"pending\"}", "/api/v1/guests/%" G_GINT64_FORMAT, b);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (seats_taken (fixture, event_id), ==, 0);
}

/* Concurrency */

typedef struct
{
  guint          pending;
  GPtrArray     *calls;
} Storm;

typedef struct
{
  Storm        *storm;
  guint         guest;      /* index into the test's guests */
  SoupMessage  *msg;
  GBytes       *body;
  GError       *error;
  JsonObject   *answer;
} Call;

static void
call_free (Call *call)
{
  g_clear_object (&call->msg);
  g_clear_pointer (&call->body, g_bytes_unref);
  g_clear_error (&call->error);
  g_clear_pointer (&call->answer, json_object_unref);
  g_free (call);
}

static void
on_call_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Call *call = user_data;

  call->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &call->error);
  if (call->body != NULL && soup_message_get_status (call->msg) == SOUP_STATUS_OK)
    {
      gsize length;
      const char *data = g_bytes_get_data (call->body, &length);
      g_autofree char *text = g_strndup (data ? data : "", length);
      g_autoptr(JsonNode) node = json_from_string (text, NULL);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        call->answer = json_object_ref (json_node_get_object (node));
    }
  call->storm->pending--;
}

static gboolean
on_storm_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static SoupSession **
new_storm_sessions (void)
{
  SoupSession **sessions = g_new0 (SoupSession *, STORM_SESSIONS + 1);

  for (guint i = 0; i < STORM_SESSIONS; i++)
    {
      sessions[i] = soup_session_new_with_options ("max-conns", STORM_CONNECTIONS_PER_SESSION * 2,
                                                   "max-conns-per-host", STORM_CONNECTIONS_PER_SESSION,
                                                   "timeout", STORM_TIMEOUT_S,
                                                   NULL);
      soup_session_set_proxy_resolver (sessions[i], NULL);
    }

  return sessions;
}

static void
free_storm_sessions (SoupSession **sessions)
{
  for (guint i = 0; sessions[i] != NULL; i++)
    g_object_unref (sessions[i]);
  g_free (sessions);
}

/* Sends every answer at once, spread over many connections, and waits for
 * all of them. The bodies of the calls are form answers asking for JSON.
 */
static Storm *
run_storm (Fixture            *fixture,
           char              **tokens,
           const guint        *guests,
           const char * const *forms,
           guint               n_calls)
{
  Storm *storm = g_new0 (Storm, 1);
  SoupSession **sessions = new_storm_sessions ();
  gboolean timed_out = FALSE;
  guint timeout_id;
  gint64 started = g_get_monotonic_time ();

  storm->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) call_free);
  for (guint i = 0; i < n_calls; i++)
    {
      Call *call = g_new0 (Call, 1);
      g_autofree char *url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon), tokens[guests[i]]);
      g_autoptr(GBytes) body = g_bytes_new (forms[i], strlen (forms[i]));

      call->storm = storm;
      call->guest = guests[i];
      call->msg = soup_message_new ("POST", url);
      soup_message_set_request_body_from_bytes (call->msg, "application/x-www-form-urlencoded", body);
      soup_message_headers_replace (soup_message_get_request_headers (call->msg), "Accept", "application/json");
      g_ptr_array_add (storm->calls, call);
    }

  storm->pending = n_calls;
  for (guint i = 0; i < n_calls; i++)
    {
      Call *call = g_ptr_array_index (storm->calls, i);

      soup_session_send_and_read_async (sessions[i % STORM_SESSIONS], call->msg, G_PRIORITY_DEFAULT,
                                        NULL, on_call_done_cb, call);
    }

  timeout_id = g_timeout_add_seconds (STORM_TIMEOUT_S, on_storm_timeout_cb, &timed_out);
  while (storm->pending > 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_false (timed_out);

  g_test_message ("%u answers over %u sessions of up to %u connections in %.2f s",
                  n_calls, STORM_SESSIONS, STORM_CONNECTIONS_PER_SESSION,
                  (g_get_monotonic_time () - started) / 1e6);

  /* Close every connection before the sessions go. */
  for (guint i = 0; i < STORM_SESSIONS; i++)
    soup_session_abort (sessions[i]);
  free_storm_sessions (sessions);

  return storm;
}

static void
storm_free (Storm *storm)
{
  g_ptr_array_unref (storm->calls);
  g_free (storm);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Storm, storm_free)

typedef struct
{
  gint64 id;
  char   status[16];
  gint64 party_size;
  gint64 position;
} GuestRow;

/* Every guest of the event by id, paged through the API. */
static GHashTable *
list_guests (Fixture *fixture,
             gint64   event_id)
{
  GHashTable *rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  gint64 after = 0;

  for (;;)
    {
      g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL,
                                                        "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500&after=%" G_GINT64_FORMAT,
                                                        event_id, after);
      JsonObject *object;
      JsonArray *items;
      JsonNode *next;

      ed_test_assert_status (response, SOUP_STATUS_OK);
      if (response->status != SOUP_STATUS_OK)
        break;
      object = ed_test_response_get_object (response);
      items = json_object_get_array_member (object, "items");
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonObject *item = json_array_get_object_element (items, i);
          GuestRow *row = g_new0 (GuestRow, 1);

          row->id = ed_test_json_int (item, "id");
          g_strlcpy (row->status, ed_test_json_string (item, "status"), sizeof row->status);
          row->party_size = ed_test_json_int (item, "party_size");
          row->position = ed_test_json_int_or_null (item, "waitlist_position");
          g_hash_table_insert (rows, &row->id, row);
        }
      next = json_object_get_member (object, "next");
      if (next == NULL || JSON_NODE_HOLDS_NULL (next))
        break;
      after = json_node_get_int (next);
    }

  return rows;
}

/* The invariants of an event, checked through the API: seats within
 * capacity and equal to the accepted parties, waiting-list positions
 * 1..W with no gap or repeat, positions only on waitlisted guests, and
 * (strict order) a head of the line that does not fit.
 */
static void
assert_event_invariants (Fixture    *fixture,
                         gint64      event_id,
                         gint64      capacity,
                         GHashTable *rows)
{
  g_autoptr(JsonObject) stats = get_stats (fixture, event_id);
  g_autoptr(GHashTable) positions = g_hash_table_new (g_int64_hash, g_int64_equal);
  GHashTableIter iter;
  GuestRow *row;
  gint64 accepted_seats = 0;
  gint64 n_accepted = 0, n_waitlisted = 0;
  gint64 head_party = 0;

  g_hash_table_iter_init (&iter, rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    {
      if (strcmp (row->status, "accepted") == 0)
        {
          accepted_seats += row->party_size;
          n_accepted++;
        }
      if (strcmp (row->status, "waitlisted") == 0)
        {
          n_waitlisted++;
          g_assert_cmpint (row->position, >=, 1);
          g_assert_false (g_hash_table_contains (positions, &row->position));
          g_hash_table_add (positions, &row->position);
          if (row->position == 1)
            head_party = row->party_size;
        }
      else
        g_assert_cmpint (row->position, ==, 0);
    }

  g_assert_cmpint (ed_test_json_int (stats, "capacity"), ==, capacity);
  g_assert_cmpint (ed_test_json_int (stats, "seats_taken"), <=, capacity);
  g_assert_cmpint (ed_test_json_int (stats, "seats_taken"), ==, accepted_seats);
  g_assert_cmpint (ed_test_json_int (stats, "accepted"), ==, n_accepted);
  g_assert_cmpint (ed_test_json_int (stats, "waitlisted"), ==, n_waitlisted);
  for (gint64 p = 1; p <= n_waitlisted; p++)
    g_assert_true (g_hash_table_contains (positions, &p));
  if (n_waitlisted > 0)
    g_assert_cmpint (capacity - accepted_seats, <, head_party);

  g_test_message ("Event %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " seats taken by %" G_GINT64_FORMAT
                  " accepted guests, %" G_GINT64_FORMAT " waitlisted",
                  event_id, accepted_seats, n_accepted, n_waitlisted);
}

static void
test_concurrent_answers (Fixture       *fixture,
                         gconstpointer  user_data)
{
  gint64 event_id = create_simple_event (fixture, STORM_CAPACITY, 4, TRUE);
  g_autofree gint64 *ids = g_new0 (gint64, STORM_GUESTS);
  g_autofree gint *parties = g_new0 (gint, STORM_GUESTS);
  char **tokens = g_new0 (char *, STORM_GUESTS + 1);
  guint n_calls = STORM_GUESTS + STORM_DUPLICATES + STORM_ACCEPTED_DECLINES + STORM_WAITLISTED_DECLINES;
  g_autofree guint *call_guests = g_new0 (guint, n_calls);
  g_autofree const char **call_forms = g_new0 (const char *, n_calls);
  g_autoptr(GPtrArray) forms = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(Storm) storm = NULL;
  g_autoptr(Storm) declines = NULL;
  g_autoptr(GHashTable) rows = NULL;
  g_autoptr(GHashTable) after_storm = NULL;
  g_autoptr(GArray) waitlist = g_array_new (FALSE, FALSE, sizeof (gint64)); /* ids by old position */
  g_autoptr(GHashTable) declining = g_hash_table_new (g_int64_hash, g_int64_equal);
  GRand *rand = g_rand_new_with_seed (20261128);
  gint64 history_rows = 0, promoted = 0;
  guint n = 0;
  sqlite3 *db;

  /* Guests and their links, through the API. */
  for (guint i = 0; i < STORM_GUESTS; i++)
    {
      g_autofree char *email = g_strdup_printf ("storm%04u@example.com", i);

      ids[i] = create_guest (fixture, event_id, email, "Storm");
      tokens[i] = ed_test_api_link_token (fixture, ids[i]);
      parties[i] = g_rand_int_range (rand, 1, 5);
    }

  /* Every guest accepts with a party of 1–4, and some twice at once. */
  for (guint i = 0; i < STORM_GUESTS + STORM_DUPLICATES; i++)
    {
      guint guest = i < STORM_GUESTS ? i : (guint) g_rand_int_range (rand, 0, STORM_GUESTS);

      g_ptr_array_add (forms, g_strdup_printf ("response=accept&party_size=%d", parties[guest]));
      call_guests[n] = guest;
      call_forms[n] = g_ptr_array_index (forms, forms->len - 1);
      n++;
    }
  g_rand_free (rand);

  storm = run_storm (fixture, tokens, call_guests, call_forms, n);
  rows = list_guests (fixture, event_id);
  g_assert_cmpuint (g_hash_table_size (rows), ==, STORM_GUESTS);
  assert_event_invariants (fixture, event_id, STORM_CAPACITY, rows);

  /* Each answer got its result at once, and it is the one that holds:
   * nobody left, so nothing moved since.
   */
  for (guint i = 0; i < storm->calls->len; i++)
    {
      Call *call = g_ptr_array_index (storm->calls, i);
      GuestRow *row = g_hash_table_lookup (rows, &ids[call->guest]);

      g_assert_no_error (call->error);
      g_assert_cmpuint (soup_message_get_status (call->msg), ==, SOUP_STATUS_OK);
      g_assert_nonnull (call->answer);
      g_assert_nonnull (row);
      if (call->answer == NULL || row == NULL)
        continue;
      g_assert_cmpstr (ed_test_json_string (call->answer, "status"), ==, row->status);
      g_assert_cmpint (ed_test_json_int (call->answer, "party_size"), ==, parties[call->guest]);
      g_assert_cmpint (ed_test_json_int_or_null (call->answer, "waitlist_position"), ==, row->position);
      g_assert_cmpint (ed_test_json_int (call->answer, "seats_left"), >=, 0);
    }

  /* Exactly one history row per guest, duplicates notwithstanding. */
  for (guint i = 0; i < STORM_GUESTS; i++)
    {
      g_autoptr(JsonArray) history = get_history (fixture, ids[i]);
      GuestRow *row = g_hash_table_lookup (rows, &ids[i]);

      g_assert_cmpuint (json_array_get_length (history), ==, 1);
      if (row != NULL && json_array_get_length (history) == 1)
        assert_history_row (history, 0, "pending", row->status, parties[i], "guest");
    }

  /* The decline storm: accepted guests and guests from the end of the
   * line decline at once. Seats go to the head of the line, in order.
   */
  for (guint i = 0; i < STORM_GUESTS; i++)
    {
      GuestRow *row = g_hash_table_lookup (rows, &ids[i]);

      if (row != NULL && row->position > 0)
        {
          if (waitlist->len < (guint) row->position)
            g_array_set_size (waitlist, row->position);
          g_array_index (waitlist, gint64, row->position - 1) = ids[i];
        }
    }
  n = 0;
  for (guint i = 0; i < STORM_GUESTS && n < STORM_ACCEPTED_DECLINES; i++)
    {
      GuestRow *row = g_hash_table_lookup (rows, &ids[i]);

      if (row != NULL && strcmp (row->status, "accepted") == 0)
        {
          call_guests[n] = i;
          call_forms[n] = "response=decline";
          g_hash_table_add (declining, &ids[i]);
          n++;
        }
    }
  g_assert_cmpuint (n, ==, STORM_ACCEPTED_DECLINES);
  for (guint i = 0; i < STORM_GUESTS && n < STORM_ACCEPTED_DECLINES + STORM_WAITLISTED_DECLINES; i++)
    {
      GuestRow *row = g_hash_table_lookup (rows, &ids[i]);

      if (row != NULL && row->position > (gint64) waitlist->len - 2 * STORM_WAITLISTED_DECLINES)
        {
          call_guests[n] = i;
          call_forms[n] = "response=decline";
          g_hash_table_add (declining, &ids[i]);
          n++;
        }
    }
  g_assert_cmpuint (n, ==, STORM_ACCEPTED_DECLINES + STORM_WAITLISTED_DECLINES);

  declines = run_storm (fixture, tokens, call_guests, call_forms, n);
  for (guint i = 0; i < declines->calls->len; i++)
    {
      Call *call = g_ptr_array_index (declines->calls, i);

      g_assert_cmpuint (soup_message_get_status (call->msg), ==, SOUP_STATUS_OK);
      if (call->answer != NULL)
        g_assert_cmpstr (ed_test_json_string (call->answer, "status"), ==, "declined");
    }

  after_storm = list_guests (fixture, event_id);
  assert_event_invariants (fixture, event_id, STORM_CAPACITY, after_storm);

  /* The promoted are exactly the first of the old line; the others keep
   * their order, moved up by those ahead of them who left.
   */
  {
    gint64 left_ahead = 0;
    gboolean promoting = TRUE;

    for (guint p = 0; p < waitlist->len; p++)
      {
        gint64 id = g_array_index (waitlist, gint64, p);
        GuestRow *row = g_hash_table_lookup (after_storm, &id);

        g_assert_nonnull (row);
        if (row == NULL)
          continue;

        if (g_hash_table_contains (declining, &id))
          {
            g_assert_cmpstr (row->status, ==, "declined");
            left_ahead++;
            continue;
          }

        if (strcmp (row->status, "accepted") == 0)
          {
            g_assert_true (promoting);
            promoted++;
            left_ahead++;
          }
        else
          {
            promoting = FALSE;
            g_assert_cmpstr (row->status, ==, "waitlisted");
            g_assert_cmpint (row->position, ==, (gint64) p + 1 - left_ahead);
          }
      }
  }
  g_assert_cmpint (promoted, >, 0);
  g_test_message ("The decline storm promoted %" G_GINT64_FORMAT " guests", promoted);

  /* In the database itself, with the daemon stopped. */
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
  db = open_database (fixture);
  history_rows = query_int (db, "SELECT count(*) FROM rsvp_history");
  g_assert_cmpint (history_rows, ==, STORM_GUESTS + STORM_ACCEPTED_DECLINES + STORM_WAITLISTED_DECLINES + promoted);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM rsvp_history WHERE source = 'system'"), ==, promoted);
  g_assert_cmpint (query_int (db, "SELECT max(n) FROM (SELECT count(*) AS n FROM rsvp_history GROUP BY guest_id)"), ==, 2);
  /* promotion mail for the promoted only; the guests' own acceptances
   * have their confirmations besides
   */
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages JOIN campaigns c ON c.id = campaign_id "
                                  "WHERE c.kind = 'waitlist_promotion'"), ==, promoted);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM messages m JOIN guests g ON g.id = m.guest_id "
                                  "JOIN campaigns c ON c.id = m.campaign_id "
                                  "WHERE c.kind = 'waitlist_promotion' AND g.status <> 'accepted'"), ==, 0);
  g_assert_cmpint (query_int (db, "SELECT coalesce(sum(party_size), 0) FROM guests WHERE status = 'accepted'"), ==,
                   query_int (db, "SELECT seats FROM event_counts WHERE status = 'accepted'"));
  g_assert_cmpint (query_int (db, "SELECT coalesce(sum(party_size), 0) FROM guests WHERE status = 'accepted'"), <=,
                   STORM_CAPACITY);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM guests WHERE (status = 'waitlisted') <> "
                                  "(waitlist_position IS NOT NULL)"), ==, 0);
  g_assert_cmpint (query_int (db, "SELECT count(DISTINCT waitlist_position) = count(*) AND "
                                  "coalesce(min(waitlist_position), 1) = 1 AND "
                                  "coalesce(max(waitlist_position), 0) = count(*) "
                                  "FROM guests WHERE status = 'waitlisted'"), ==, 1);
  /* Every change of status has its row: the last row of each guest who
   * answered says where they are now.
   */
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM guests g WHERE g.status <> "
                                  "(SELECT new_status FROM rsvp_history h WHERE h.guest_id = g.id "
                                  "ORDER BY h.id DESC LIMIT 1)"), ==, 0);
  sqlite3_close (db);

  g_strfreev (tokens);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  if (!g_get_charset (NULL))
    setlocale (LC_ALL, "C.UTF-8");

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

  g_test_add_func ("/rsvp/util/html-escape", test_html_escape);
  g_test_add_func ("/rsvp/util/expand", test_expand);
  g_test_add_func ("/rsvp/util/format-dates", test_format_dates);
  g_test_add_func ("/rsvp/util/ics", test_ics);
  g_test_add_func ("/rsvp/catalog/reader", test_catalog_reader);
  g_test_add_func ("/rsvp/catalog/malformed", test_catalog_malformed);
  g_test_add_func ("/rsvp/catalog/plural-expressions", test_catalog_plural_expressions);
  g_test_add_func ("/rsvp/catalog/german", test_catalog_german);
  g_test_add_func ("/rsvp/catalog/accept-language", test_accept_language);

#define ADD(path, test) \
  g_test_add (path, Fixture, NULL, ed_test_fixture_set_up, test, ed_test_fixture_tear_down)

  ADD ("/rsvp/link/get-and-revoke", test_link);
  ADD ("/rsvp/link/bad-tokens", test_tokens);
  ADD ("/rsvp/page/content", test_page);
  ADD ("/rsvp/answer/form", test_answer_form);
  ADD ("/rsvp/answer/idempotent", test_answer_idempotent);
  ADD ("/rsvp/answer/deadline", test_deadline);
  ADD ("/rsvp/answer/admin", test_admin_answers);
  ADD ("/rsvp/capacity/waitlist", test_waitlist);
  ADD ("/rsvp/capacity/strict-order", test_promotion_strict_order);
  ADD ("/rsvp/capacity/rules", test_capacity_rules);
  ADD ("/rsvp/concurrency/answers-and-declines", test_concurrent_answers);

#undef ADD

  return g_test_run ();
}
