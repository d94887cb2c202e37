/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-csv-writer.h"

/* CSV as spreadsheets read it (RFC 4180, CRLF line ends), with cells that a
 * spreadsheet would run as a formula neutralised by a leading apostrophe, as
 * OWASP advises against CSV injection.
 *
 * A value is "formula-like" when, after any apostrophes and spaces, it starts
 * with = + - @ tab or CR. The writer puts one apostrophe before every
 * formula-like value, and ed_csv_unneutralize() takes one off a formula-like
 * value that starts with an apostrophe. Since adding apostrophes in front
 * does not change whether a value is formula-like, an export read back
 * through ed_csv_unneutralize() gives every value exactly as it was:
 * "+49 30 1234" is written '+49 30 1234, and "'=x" is written ''=x.
 */

static gboolean
is_formula_like (const char *value)
{
  const char *p = value;

  while (*p == '\'')
    p++;
  while (*p == ' ')
    p++;

  switch (*p)
    {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
needs_quotes (const char *value,
              gsize       len,
              char        separator)
{
  if (len == 0)
    return FALSE;
  if (g_ascii_isspace (value[0]) || g_ascii_isspace (value[len - 1]))
    return TRUE;
  /* U+FEFF at the start of a file would be read as a byte-order mark */
  if (g_str_has_prefix (value, "\xef\xbb\xbf"))
    return TRUE;

  for (gsize i = 0; i < len; i++)
    {
      char c = value[i];

      if (c == separator || c == '"' || c == '\r' || c == '\n')
        return TRUE;
    }

  return FALSE;
}

/**
 * ed_csv_append_field:
 * @out: where the field goes
 * @value: the value, UTF-8; %NULL is written as an empty field
 * @separator: the separator of the file, to know when to quote
 *
 * Appends one field, quoted when it holds the separator, a quote or a line
 * break, or starts or ends with white space or starts with U+FEFF (which
 * would be taken for a byte-order mark at the start of a file), and with a leading apostrophe
 * when a spreadsheet would take it for a formula.
 */
void
ed_csv_append_field (GString    *out,
                     const char *value,
                     char        separator)
{
  const char *run;
  gsize len;

  g_return_if_fail (out != NULL);
  g_return_if_fail (separator != '"' && separator != '\r' && separator != '\n' && separator != '\0');

  if (value == NULL)
    return;

  len = strlen (value);
  if (!needs_quotes (value, len, separator))
    {
      if (is_formula_like (value))
        g_string_append_c (out, '\'');
      g_string_append_len (out, value, len);
      return;
    }

  g_string_append_c (out, '"');
  if (is_formula_like (value))
    g_string_append_c (out, '\'');

  run = value;
  for (const char *q = strchr (run, '"'); q != NULL; q = strchr (run, '"'))
    {
      g_string_append_len (out, run, q + 1 - run);
      g_string_append_c (out, '"');
      run = q + 1;
    }
  g_string_append (out, run);
  g_string_append_c (out, '"');
}

/**
 * ed_csv_append_row:
 * @out: where the row goes
 * @values: (array length=n_values): the values; %NULL ones are empty
 * @n_values: how many
 * @separator: `,`, `;` or a tab
 *
 * Appends one record ending in CRLF. A record of one empty value is
 * written `""` so that readers do not take it for a blank line.
 */
void
ed_csv_append_row (GString            *out,
                   const char * const *values,
                   guint               n_values,
                   char                separator)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (values != NULL || n_values == 0);

  if (n_values == 1 && (values[0] == NULL || values[0][0] == '\0'))
    {
      g_string_append (out, "\"\"");
    }
  else
    {
      for (guint i = 0; i < n_values; i++)
        {
          if (i > 0)
            g_string_append_c (out, separator);
          ed_csv_append_field (out, values[i], separator);
        }
    }

  g_string_append (out, "\r\n");
}

/**
 * ed_csv_unneutralize:
 * @value: a field as read from a CSV file
 *
 * Undoes the apostrophe ed_csv_append_field() puts before formula-like
 * values, so that `'=SUM(A1)` reads back as `=SUM(A1)` and `'+49 30 1234`
 * as `+49 30 1234`. Other values are returned unchanged.
 *
 * Returns: (transfer full): the value as it was before the export
 */
char *
ed_csv_unneutralize (const char *value)
{
  g_return_val_if_fail (value != NULL, NULL);

  if (value[0] == '\'' && is_formula_like (value))
    return g_strdup (value + 1);

  return g_strdup (value);
}
