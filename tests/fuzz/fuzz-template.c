/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include "fuzz-common.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ed-error.h"
#include "ed-template.h"

/* The input is one flag byte, then the template:
 *
 *   byte 0   bit 0 set: any name is known (ed_template_new() with NULL);
 *            otherwise the names below, with a wildcard
 *
 * An error must point inside the template. A template that compiles must
 * render the same text whatever its values are, with each value where a
 * placeholder was: rendering with every value "<" is longer than with
 * empty values by one byte per placeholder, or by four when escaped.
 * Independently of the parse, any text with each “{{” doubled compiles to
 * a template without placeholders that renders as the text itself.
 */

static const char * const known_names[] = {
  "first_name", "last_name", "email", "event_name", "rsvp_url", "extra.*", NULL,
};

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

typedef struct
{
  const char *value;
  guint       calls;
} Lookup;

static const char *
lookup_cb (const char *name,
           gpointer    user_data)
{
  Lookup *lookup = user_data;

  lookup->calls++;
  return lookup->value;
}

static guint
count_lines (const char *text)
{
  guint lines = 1;

  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n')
      lines++;

  return lines;
}

/* Reads the number that follows @before at *@text, and moves past both. */
static gboolean
read_number (const char **text,
             const char  *before,
             guint64     *number)
{
  const char *digits;
  char *end = NULL;

  if (!g_str_has_prefix (*text, before))
    return FALSE;
  digits = *text + strlen (before);
  if (!g_ascii_isdigit (*digits))
    return FALSE;
  errno = 0;
  *number = g_ascii_strtoull (digits, &end, 10);
  if (errno != 0)
    return FALSE;

  *text = end;
  return TRUE;
}

static void
check_error (const char   *text,
             const GError *error)
{
  guint64 line = 0, column = 0;
  const char *rest;

  if (error == NULL || !g_error_matches (error, ED_ERROR, ED_ERROR_INVALID))
    abort ();
  /* "line 3, column 7: …" */
  rest = error->message;
  if (!read_number (&rest, "line ", &line) || !read_number (&rest, ", column ", &column) ||
      !g_str_has_prefix (rest, ": "))
    abort ();
  if (line < 1 || line > count_lines (text) || column < 1)
    abort ();
  if (!g_utf8_validate (error->message, -1, NULL))
    abort ();
}

static void
check_name (EdTemplate *template,
            const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > ED_TEMPLATE_MAX_NAME)
    abort ();
  if (!g_utf8_validate (name, len, NULL))
    abort ();
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x80 ? !(g_ascii_isalnum (c) || strchr ("_-.", (int) c) != NULL) : !g_unichar_isalnum (c))
        abort ();
    }
  if (!ed_template_uses (template, name))
    abort ();
}

static void
check_template (EdTemplate *template,
                const char *text)
{
  Lookup empty = { NULL, 0 };
  Lookup angle = { "<", 0 };
  Lookup angle_escaped = { "<", 0 };
  g_autofree char *bare = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *escaped = NULL;
  const char * const *names = ed_template_get_names (template);

  for (guint i = 0; names[i] != NULL; i++)
    check_name (template, names[i]);

  bare = ed_template_render (template, lookup_cb, &empty, FALSE);
  plain = ed_template_render (template, lookup_cb, &angle, FALSE);
  escaped = ed_template_render (template, lookup_cb, &angle_escaped, TRUE);

  if (empty.calls != angle.calls || empty.calls != angle_escaped.calls)
    abort ();
  if ((empty.calls == 0) != (names[0] == NULL))
    abort ();
  if (strlen (plain) != strlen (bare) + angle.calls)
    abort ();
  if (strlen (escaped) != strlen (bare) + 4 * angle.calls)
    abort ();
  if (!g_utf8_validate (bare, -1, NULL))
    abort ();
  /* the literal text is at most the template, less the braces */
  if (strlen (bare) > strlen (text))
    abort ();
}

static char *
double_braces (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (p[0] == '{' && p[1] == '{')
        {
          g_string_append (out, "{{{{");
          p++;
        }
      else
        g_string_append_c (out, *p);
    }

  return g_string_free (out, FALSE);
}

static void
check_literal (const char *text)
{
  g_autofree char *doubled = double_braces (text);
  g_autoptr(GError) error = NULL;
  g_autoptr(EdTemplate) template = ed_template_new (doubled, NULL, &error);
  Lookup lookup = { "x", 0 };
  g_autofree char *out = NULL;

  if (template == NULL)
    abort ();
  out = ed_template_render (template, lookup_cb, &lookup, TRUE);
  if (lookup.calls != 0 || strcmp (out, text) != 0)
    abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_abort_on_warnings ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  g_autoptr(EdTemplate) template = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *names;

  if (size < 1)
    return 0;

  names = (data[0] & 1) ? NULL : known_names;
  /* a NUL ends the template, as it would in a C string from the API */
  text = g_strndup ((const char *) data + 1, size - 1);

  template = ed_template_new (text, names, &error);
  if ((template == NULL) == (error == NULL))
    abort ();
  if (ed_template_check (text, names, NULL) != (template != NULL))
    abort ();

  if (template == NULL)
    check_error (text, error);
  else
    check_template (template, text);

  if (g_utf8_validate (text, -1, NULL))
    check_literal (text);

  return 0;
}
