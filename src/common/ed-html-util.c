/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-html-util.h"

/* The five characters that matter in HTML text and in quoted attribute
 * values, so the same escaping is safe in both places. Unlike
 * g_markup_escape_text() it leaves control characters alone: they are
 * harmless in HTML, and a template value must not come out mangled.
 */
static const char * const entities[256] = {
  ['&'] = "&amp;",
  ['<'] = "&lt;",
  ['>'] = "&gt;",
  ['"'] = "&quot;",
  ['\''] = "&#39;",
};

/**
 * ed_html_escape_append:
 * @out: where to append
 * @text: (nullable): text to escape; %NULL appends nothing
 * @length: bytes of @text, or -1 when it is NUL-terminated
 *
 * Appends @text to @out with `& < > " '` replaced by character references.
 */
void
ed_html_escape_append (GString    *out,
                       const char *text,
                       gssize      length)
{
  const char *end;
  const char *run;

  g_return_if_fail (out != NULL);

  if (text == NULL)
    return;
  if (length < 0)
    length = strlen (text);
  end = text + length;

  run = text;
  for (const char *p = text; p < end; p++)
    {
      const char *entity = entities[(guchar) *p];

      if (entity == NULL)
        continue;

      g_string_append_len (out, run, p - run);
      g_string_append (out, entity);
      run = p + 1;
    }
  g_string_append_len (out, run, end - run);
}

/**
 * ed_html_escape_text:
 * @text: (nullable): text to put into an HTML document
 *
 * Returns: (transfer full): @text safe to use as HTML text or as a quoted
 *   attribute value; "" for %NULL
 */
char *
ed_html_escape_text (const char *text)
{
  GString *out;

  out = g_string_sized_new (text ? strlen (text) + 16 : 1);
  ed_html_escape_append (out, text, -1);
  return g_string_free (out, FALSE);
}
