/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-html-util.h"
#include "ed-template.h"
#include "ed-template-fields.h"

/* Renders for the speed check, and the rate it must beat by far: the
 * mailer sends a few thousand messages a second at most.
 */
#define SPEED_MESSAGES 30000
#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer (build-aux/ci-sanitize) makes every allocation several
 * times slower; a render gone quadratic would still fall far below this.
 */
#define SPEED_MIN_RATE 300.0
#else
#define SPEED_MIN_RATE 3000.0
#endif

static const char * const test_names[] = {
  "first_name", "last_name", "event_name", "rsvp_url", "extra.*", NULL,
};

static const char *
lookup_test_value (const char *name,
                   gpointer    user_data)
{
  if (strcmp (name, "first_name") == 0)
    return "Zoë";
  if (strcmp (name, "last_name") == 0)
    return "Ørsted";
  if (strcmp (name, "event_name") == 0)
    return "Sommerfest in Köln";
  if (strcmp (name, "rsvp_url") == 0)
    return "https://events.example.org/r/abc?x=1&y=2";
  if (strcmp (name, "extra.company") == 0)
    return "<script>alert(\"owned\")</script> & 'Co'";
  return NULL;
}

static char *
render (const char *text,
        gboolean    html_escape)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EdTemplate) template = ed_template_new (text, test_names, &error);

  g_assert_no_error (error);
  g_assert_nonnull (template);
  return ed_template_render (template, lookup_test_value, NULL, html_escape);
}

static void
test_render_plain (void)
{
  struct
  {
    const char *text;
    const char *expected;
  } cases[] = {
    { "", "" },
    { "no placeholders at all", "no placeholders at all" },
    { "{{first_name}}", "Zoë" },
    { "Hello {{first_name}} {{last_name}}!", "Hello Zoë Ørsted!" },
    { "Hello {{ first_name }}, {{\tlast_name\t}}", "Hello Zoë, Ørsted" },
    { "{{first_name}}{{first_name}}{{first_name}}", "ZoëZoëZoë" },
    { "line 1\n{{event_name}}\r\nline 3\n", "line 1\nSommerfest in Köln\r\nline 3\n" },
    /* a known name with no value renders as nothing */
    { "[{{extra.unknown_column}}]", "[]" },
    /* braces that are no placeholder stay as they are */
    { "a { b } c }} d {", "a { b } c }} d {" },
    { "function () { return {}; }", "function () { return {}; }" },
    /* the escape for a literal “{{” */
    { "{{{{first_name}}", "{{first_name}}" },
    { "a {{{{ b", "a {{ b" },
    { "{{{{{{{{", "{{{{" },
    { "{{{{}}", "{{}}" },
    { "{{{{{first_name}}", "{{{first_name}}" },
    { "{{first_name}}{{{{", "Zoë{{" },
    /* values are never parsed again */
    { "{{extra.company}}", "<script>alert(\"owned\")</script> & 'Co'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = render (cases[i].text, FALSE);

      g_assert_cmpstr (out, ==, cases[i].expected);
    }
}

static void
test_render_html_escape (void)
{
  const char *text = "<p class=\"x\">Dear {{first_name}} of {{extra.company}}</p>\n"
                     "<a href=\"{{rsvp_url}}\">answer</a>";
  g_autofree char *html = render (text, TRUE);
  g_autofree char *plain = render (text, FALSE);

  /* the template's own markup is kept, the values are escaped */
  g_assert_cmpstr (html, ==,
                   "<p class=\"x\">Dear Zoë of &lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; &amp; &#39;Co&#39;</p>\n"
                   "<a href=\"https://events.example.org/r/abc?x=1&amp;y=2\">answer</a>");
  g_assert_null (strstr (html, "<script>"));
  g_assert_nonnull (strstr (plain, "<script>alert(\"owned\")</script> & 'Co'"));
}

static void
test_render_table (void)
{
  g_autoptr(GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(EdTemplate) template = NULL;
  g_autofree char *out = NULL;
  g_autofree char *escaped = NULL;

  template = ed_template_new ("{{first_name}} & {{event_name}}{{last_name}}", test_names, NULL);
  g_assert_nonnull (template);

  g_hash_table_insert (values, (gpointer) "first_name", (gpointer) "Ann <a@b>");
  g_hash_table_insert (values, (gpointer) "event_name", (gpointer) "Gala");
  out = ed_template_render_with_table (template, values, FALSE);
  escaped = ed_template_render_with_table (template, values, TRUE);

  g_assert_cmpstr (out, ==, "Ann <a@b> & Gala");
  g_assert_cmpstr (escaped, ==, "Ann &lt;a@b&gt; & Gala");
}

static void
test_render_append (void)
{
  g_autoptr(EdTemplate) template = ed_template_new ("<{{first_name}}>", test_names, NULL);
  g_autoptr(GString) out = g_string_new ("before ");

  ed_template_render_append (template, out, lookup_test_value, NULL, TRUE);
  ed_template_render_append (template, out, lookup_test_value, NULL, FALSE);
  g_assert_cmpstr (out->str, ==, "before <Zoë><Zoë>");
}

static void
test_names_used (void)
{
  g_autoptr(EdTemplate) template = NULL;
  const char * const *names;

  template = ed_template_new ("{{rsvp_url}} {{first_name}} {{rsvp_url}} {{extra.table}}", test_names, NULL);
  g_assert_nonnull (template);

  names = ed_template_get_names (template);
  g_assert_cmpuint (g_strv_length ((char **) names), ==, 3);
  g_assert_cmpstr (names[0], ==, "rsvp_url");
  g_assert_cmpstr (names[1], ==, "first_name");
  g_assert_cmpstr (names[2], ==, "extra.table");

  g_assert_true (ed_template_uses (template, "rsvp_url"));
  g_assert_true (ed_template_uses (template, "extra.table"));
  g_assert_false (ed_template_uses (template, "last_name"));
  g_assert_false (ed_template_uses (template, "extra.*"));
}

static void
test_known_names (void)
{
  g_autoptr(GError) error = NULL;

  /* the wildcard takes any longer name, not the bare prefix */
  g_assert_true (ed_template_check ("{{extra.company}} {{extra.Table-No.}} {{extra.größe}}", test_names, NULL));
  g_assert_false (ed_template_check ("{{extra.}}", test_names, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "unknown placeholder “{{extra.}}”"));
  g_clear_error (&error);

  /* no list: any well-formed name, but the syntax is still checked */
  g_assert_true (ed_template_check ("{{anything}} {{at.all}}", NULL, NULL));
  g_assert_false (ed_template_check ("{{any thing}}", NULL, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_clear_error (&error);

  /* names match exactly, case included */
  g_assert_false (ed_template_check ("{{First_Name}}", test_names, &error));
  g_assert_nonnull (strstr (error->message, "did you mean “{{first_name}}”"));
}

static void
test_errors (void)
{
  g_autofree char *long_name = g_strdup_printf ("{{%0*d}}", ED_TEMPLATE_MAX_NAME + 1, 0);
  struct
  {
    const char *text;
    const char *message;
  } cases[] = {
    { "Hello {{frist_name}}", "line 1, column 7: unknown placeholder “{{frist_name}}”; did you mean “{{first_name}}”?" },
    { "Hi\n\nDear {{ event_nam }},", "line 3, column 6: unknown placeholder “{{event_nam}}”; did you mean “{{event_name}}”?" },
    { "{{venue_of_the_party}}", "line 1, column 1: unknown placeholder “{{venue_of_the_party}}”; docs/templates.md lists the known ones" },
    /* columns count characters, not bytes */
    { "Grüße\nÄÖÜ {{x}}", "line 2, column 5: unknown placeholder “{{x}}”" },
    { "Hello {{first_name", "line 1, column 7: “{{” is not closed by “}}” on the same line" },
    { "Hello {{first_name\n}}", "line 1, column 7: “{{” is not closed by “}}” on the same line" },
    { "ok\r\n{{ first_name \r\n}}", "line 2, column 1: “{{” is not closed by “}}” on the same line" },
    { "{{", "line 1, column 1: “{{” is not closed by “}}” on the same line" },
    { "a {{}} b", "line 1, column 3: the placeholder “{{}}” has no name" },
    { "a\n  {{   }}", "line 2, column 3: the placeholder “{{}}” has no name" },
    { "{{first name}}", "line 1, column 9: a placeholder name cannot contain spaces" },
    { "{{first_name}", "line 1, column 13: a placeholder ends with “}}”, not “}”" },
    { "{{first_name} }", "line 1, column 13: a placeholder ends with “}}”, not “}”" },
    { "{{first<name}}", "line 1, column 8: “<” cannot appear in a placeholder name" },
    { "x {{ü€}}", "line 1, column 6: “€” cannot appear in a placeholder name" },
    { "{{a\x01}}", "line 1, column 4: character U+0001 cannot appear in a placeholder name" },
    { "{{{first_name}}}", "line 1, column 1: “{{{” is not a placeholder; write “{{{{” for a literal “{{”" },
    { "{{{{ ok }} {{ bad! }}", "line 1, column 18: “!” cannot appear in a placeholder name" },
    { long_name, "line 1, column 1: the placeholder name is longer than 128 bytes" },
    { "ok\nnot \xff UTF-8", "line 2, column 5: the template is not valid UTF-8 text" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EdTemplate) template = ed_template_new (cases[i].text, test_names, &error);

      g_assert_null (template);
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
      if (!g_str_has_prefix (error->message, cases[i].message))
        g_error ("template “%s”: expected an error starting “%s”, got “%s”",
                 cases[i].text, cases[i].message, error->message);
    }
}

static void
test_html_escape (void)
{
  g_autofree char *escaped = ed_html_escape_text ("<a href=\"x\">Tom & Jerry's</a>\x01ü");
  g_autoptr(GString) out = g_string_new ("<");

  g_assert_cmpstr (escaped, ==, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;\x01ü");

  ed_html_escape_append (out, "a&b<c", 3);
  g_assert_cmpstr (out->str, ==, "<a&amp;b");
}

static EdEvent *
make_event (void)
{
  EdEvent *event = ed_event_new ();

  event->id = 7;
  event->name = g_strdup ("Sommerfest in Köln");
  event->description = g_strdup ("Music & food <by the river>");
  event->venue = g_strdup ("Rheinpark, Köln");
  g_free (event->timezone);
  event->timezone = g_strdup ("Europe/Berlin");
  event->starts_at = 1783182600;   /* 2026-07-04 16:30 UTC, 18:30 in Köln */
  event->ends_at = 1783202400;     /* 2026-07-04 22:00 UTC */
  event->rsvp_deadline = 1782770400; /* 2026-06-29 22:00 UTC */
  event->capacity = 250;
  event->max_party_size = 4;
  return event;
}

static EdGuest *
make_guest (void)
{
  EdGuest *guest = ed_guest_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();

  guest->id = 42;
  guest->email = g_strdup ("zoe@example.org");
  guest->first_name = g_strdup ("Zoë");
  guest->last_name = g_strdup ("Ørsted");
  guest->status = ED_RSVP_WAITLISTED;
  guest->party_size = 3;
  guest->waitlist_position = 12;

  g_assert_true (json_parser_load_from_data (parser,
                                             "{\"Company\": \"Ørsted & Søn\", \"Table number\": \"12\", "
                                             "\"vip\": true, \"seats\": 2, \"nested\": {\"a\": 1}}",
                                             -1, NULL));
  guest->extra = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  return guest;
}

static void
test_fields_values (void)
{
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest ();
  g_autoptr(EdGuest) other = ed_guest_new ();
  g_autoptr(EdTemplateValues) values = ed_template_values_new (event);
  g_autoptr(EdTemplate) template = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *html = NULL;
  g_autofree char *out_other = NULL;

  template = ed_template_new ("email={{email}}\n"
                              "first={{first_name}} last={{last_name}} full={{full_name}}\n"
                              "party={{party_size}} status={{status}} wait={{waitlist_position}}\n"
                              "name={{event_name}} venue={{event_venue}} tz={{event_timezone}}\n"
                              "desc={{event_description}}\n"
                              "start={{event_starts_at}} end={{event_ends_at}}\n"
                              "date={{event_date}} {{event_start_time}}-{{event_end_time}}\n"
                              "deadline={{event_rsvp_deadline}} cap={{event_capacity}} max={{event_max_party_size}}\n"
                              "company={{extra.Company}}/{{extra.company}} table={{extra.table_number}}\n"
                              "vip={{extra.vip}} seats={{extra.seats}} nested=[{{extra.nested}}] none=[{{extra.none}}]\n"
                              "rsvp={{rsvp_url}} unsub={{unsubscribe_url}}",
                              ed_template_fields_get_names (), &error);
  g_assert_no_error (error);

  ed_template_values_set_guest (values, guest, "https://e.example/r/T1", "https://e.example/u/T1");
  out = ed_template_render (template, ed_template_values_lookup, values, FALSE);
  g_assert_cmpstr (out, ==,
                   "email=zoe@example.org\n"
                   "first=Zoë last=Ørsted full=Zoë Ørsted\n"
                   "party=3 status=waitlisted wait=12\n"
                   "name=Sommerfest in Köln venue=Rheinpark, Köln tz=Europe/Berlin\n"
                   "desc=Music & food <by the river>\n"
                   "start=2026-07-04 18:30 end=2026-07-05 00:00\n"
                   "date=2026-07-04 18:30-00:00\n"
                   "deadline=2026-06-30 00:00 cap=250 max=4\n"
                   "company=Ørsted & Søn/Ørsted & Søn table=12\n"
                   "vip=true seats=2 nested=[] none=[]\n"
                   "rsvp=https://e.example/r/T1 unsub=https://e.example/u/T1");

  html = ed_template_render (template, ed_template_values_lookup, values, TRUE);
  g_assert_nonnull (strstr (html, "desc=Music &amp; food &lt;by the river&gt;\n"));
  g_assert_nonnull (strstr (html, "company=Ørsted &amp; Søn/"));

  /* the next guest replaces every value of the one before */
  other->email = g_strdup ("anon@example.org");
  other->last_name = g_strdup ("Solo");
  ed_template_values_set_guest (values, other, NULL, NULL);
  out_other = ed_template_render (template, ed_template_values_lookup, values, FALSE);
  g_assert_nonnull (strstr (out_other, "email=anon@example.org\n"));
  g_assert_nonnull (strstr (out_other, "first= last=Solo full=Solo\n"));
  g_assert_nonnull (strstr (out_other, "party=1 status=pending wait=\n"));
  g_assert_nonnull (strstr (out_other, "company=/ table=\n"));
  g_assert_nonnull (strstr (out_other, "rsvp= unsub="));
}

static void
test_fields_unset_event (void)
{
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autoptr(EdGuest) guest = make_guest ();
  g_autoptr(EdTemplateValues) values = NULL;
  g_autoptr(EdTemplate) template = NULL;
  g_autofree char *out = NULL;

  /* no zone, times or capacity: UTC and empty values, not 1970 */
  event->name = g_strdup ("Bare");
  values = ed_template_values_new (event);
  ed_template_values_set_guest (values, guest, NULL, NULL);
  template = ed_template_new ("[{{event_timezone}}|{{event_starts_at}}|{{event_rsvp_deadline}}|{{event_capacity}}|{{event_venue}}]",
                              ed_template_fields_get_names (), NULL);
  out = ed_template_render (template, ed_template_values_lookup, values, FALSE);
  g_assert_cmpstr (out, ==, "[UTC||||]");
}

static char *
read_source_file (const char *first_part,
                  ...)
{
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  const char *part;
  va_list args;

  g_ptr_array_add (parts, (gpointer) g_test_get_dir (G_TEST_DIST));
  g_ptr_array_add (parts, (gpointer) "..");
  va_start (args, first_part);
  for (part = first_part; part != NULL; part = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);

  path = g_build_filenamev ((char **) parts->pdata);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
test_fields_documented (void)
{
  g_autofree char *doc = read_source_file ("docs", "templates.md", NULL);
  const EdTemplateField *fields;
  guint n_fields;

  fields = ed_template_fields_get (&n_fields);
  g_assert_cmpuint (n_fields, >, 20);
  for (guint i = 0; i < n_fields; i++)
    {
      g_autofree char *written = NULL;

      if (g_str_has_suffix (fields[i].name, "*"))
        written = g_strdup_printf ("`{{%.*sNAME}}`", (int) strlen (fields[i].name) - 1, fields[i].name);
      else
        written = g_strdup_printf ("`{{%s}}`", fields[i].name);

      if (strstr (doc, written) == NULL)
        g_error ("docs/templates.md does not document %s", written);
      g_assert_nonnull (fields[i].description);
    }
}

static void
check_default_template (const char *language)
{
  static const char * const parts[] = { "invitation.subject", "invitation.txt", "invitation.html" };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *text = NULL;
      g_autoptr(EdTemplate) template = NULL;
      g_autoptr(GError) error = NULL;

      text = language != NULL
        ? read_source_file ("data", "mail", language, parts[i], NULL)
        : read_source_file ("data", "mail", parts[i], NULL);
      template = ed_template_new (text, ed_template_fields_get_names (), &error);
      if (template == NULL)
        g_error ("data/mail/%s%s%s: %s", language ? language : "", language ? "/" : "",
                 parts[i], error->message);

      g_assert_true (ed_template_uses (template, "event_name"));
      if (i == 0)
        {
          /* one line: the subject */
          g_assert_null (strchr (g_strchomp (text), '\n'));
          continue;
        }
      g_assert_true (ed_template_uses (template, "rsvp_url"));
      g_assert_true (ed_template_uses (template, "unsubscribe_url"));
      if (i == 2 && language != NULL)
        {
          g_autofree char *lang = g_strdup_printf ("<html lang=\"%s\">", language);

          g_assert_nonnull (strstr (text, lang));
        }
    }
}

static void
test_default_templates (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "..", "data", "mail", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint n_languages = 0;

  g_assert_nonnull (dir);
  check_default_template (NULL);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);

      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      g_test_message ("checking data/mail/%s", name);
      check_default_template (name);
      n_languages++;
    }

  /* at least the German translation */
  g_assert_cmpuint (n_languages, >=, 1);
}

static void
test_speed (void)
{
  g_autoptr(EdEvent) event = make_event ();
  g_autoptr(EdGuest) guest = make_guest ();
  g_autoptr(EdTemplateValues) values = ed_template_values_new (event);
  g_autofree char *subject_text = read_source_file ("data", "mail", "invitation.subject", NULL);
  g_autofree char *text_text = read_source_file ("data", "mail", "invitation.txt", NULL);
  g_autofree char *html_text = read_source_file ("data", "mail", "invitation.html", NULL);
  g_autoptr(EdTemplate) subject = ed_template_new (subject_text, ed_template_fields_get_names (), NULL);
  g_autoptr(EdTemplate) text = ed_template_new (text_text, ed_template_fields_get_names (), NULL);
  g_autoptr(EdTemplate) html = ed_template_new (html_text, ed_template_fields_get_names (), NULL);
  gsize total = 0;
  gint64 start, elapsed;
  double rate;

  g_assert_nonnull (subject);
  g_assert_nonnull (text);
  g_assert_nonnull (html);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < SPEED_MESSAGES; i++)
    {
      g_autofree char *rsvp = g_strdup_printf ("https://events.example.org/r/token-%u", i);
      g_autofree char *unsubscribe = g_strdup_printf ("https://events.example.org/u/token-%u", i);
      g_autofree char *s = NULL, *t = NULL, *h = NULL;

      ed_template_values_set_guest (values, guest, rsvp, unsubscribe);
      s = ed_template_render (subject, ed_template_values_lookup, values, FALSE);
      t = ed_template_render (text, ed_template_values_lookup, values, FALSE);
      h = ed_template_render (html, ed_template_values_lookup, values, TRUE);
      total += strlen (s) + strlen (t) + strlen (h);
      g_assert_nonnull (strstr (h, rsvp));
    }
  elapsed = MAX (g_get_monotonic_time () - start, 1);

  rate = SPEED_MESSAGES / (elapsed / (double) G_USEC_PER_SEC);
  g_test_message ("rendered %d messages (subject, text and HTML; %" G_GSIZE_FORMAT " bytes) in %.3f s: %.0f messages/s",
                  SPEED_MESSAGES, total, elapsed / (double) G_USEC_PER_SEC, rate);
  g_assert_cmpfloat (rate, >, SPEED_MIN_RATE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/template/render/plain", test_render_plain);
  g_test_add_func ("/template/render/html-escape", test_render_html_escape);
  g_test_add_func ("/template/render/table", test_render_table);
  g_test_add_func ("/template/render/append", test_render_append);
  g_test_add_func ("/template/parse/names-used", test_names_used);
  g_test_add_func ("/template/parse/known-names", test_known_names);
  g_test_add_func ("/template/parse/errors", test_errors);
  g_test_add_func ("/template/html-escape", test_html_escape);
  g_test_add_func ("/template/fields/values", test_fields_values);
  g_test_add_func ("/template/fields/unset-event", test_fields_unset_event);
  g_test_add_func ("/template/fields/documented", test_fields_documented);
  g_test_add_func ("/template/default-templates", test_default_templates);
  g_test_add_func ("/template/speed", test_speed);

  return g_test_run ();
}
