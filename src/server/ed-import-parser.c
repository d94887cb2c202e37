/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-csv-reader.h"
#include "ed-csv-writer.h"
#include "ed-email.h"
#include "ed-error.h"
#include "ed-import-parser.h"

/* Turns the rows of an uploaded guest list into guests: the header row
 * says which column holds what (ed_guest_column_map_new()), and every
 * other row is checked the way the guest API checks a guest, trimmed, and
 * either handed to the stage function or rejected with its line and a
 * reason. A file whose header cannot be used is refused as a whole, with a
 * code saying why (ed_import_parser_get_refusal()).
 */

struct _EdImportParser
{
  /* owned */
  EdCsvReader       *reader;
  EdGuestColumnMap  *map;
  EdImportReport    *report;
  GString           *extra;
  const char        *refusal;     /* static code once the file is refused */

  /* borrowed */
  EdImportStageFunc  stage;
  gpointer           user_data;
};

static gboolean
is_blank_char (gunichar c)
{
  return g_unichar_isspace (c) || c == 0xfeff || c == 0x200b;
}

/* Trims white space, Unicode's included, in place. */
static char *
trim (char *text)
{
  char *end;

  while (*text != '\0')
    {
      guchar c = *text;

      if (c < 0x80)
        {
          if (!g_ascii_isspace (c))
            break;
          text++;
        }
      else if (is_blank_char (g_utf8_get_char (text)))
        text = g_utf8_next_char (text);
      else
        break;
    }

  end = text + strlen (text);
  while (end > text)
    {
      char *last = g_utf8_find_prev_char (text, end);
      guchar c = *last;

      if (c < 0x80 ? !g_ascii_isspace (c) : !is_blank_char (g_utf8_get_char (last)))
        break;
      end = last;
    }
  *end = '\0';

  return text;
}

/* A cell as the export wrote it: trimmed, and without the apostrophe that
 * kept a spreadsheet from running it as a formula. Returns @text itself
 * or a new string in @owned.
 */
static const char *
clean_cell (char  *text,
            char **owned)
{
  text = trim (text);
  if (text[0] == '\'')
    {
      *owned = ed_csv_unneutralize (text);
      return *owned;
    }

  return text;
}

static const char *
cell (const EdCsvRow  *row,
      int              column,
      char           **owned)
{
  if (column < 0 || (guint) column >= row->n_fields)
    return "";

  return clean_cell (row->fields[column], owned);
}

static gboolean
refuse (EdImportParser  *self,
        const char      *code,
        GError         **error,
        const char      *format,
        ...) G_GNUC_PRINTF (4, 5);

static gboolean
refuse (EdImportParser  *self,
        const char      *code,
        GError         **error,
        const char      *format,
        ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  self->refusal = code;
  g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
read_header (EdImportParser  *self,
             const EdCsvRow  *row,
             GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean has_email = FALSE;
  guint n_extra = 0;

  switch (row->problem)
    {
    case ED_CSV_ROW_PROBLEM_NONE:
      break;
    case ED_CSV_ROW_PROBLEM_NUL_BYTE:
      return refuse (self, "not_csv", error,
                     "The file is not CSV text: it has NUL bytes. If it is a spreadsheet "
                     "(.xlsx, .ods), save it as “CSV UTF-8” first");
    case ED_CSV_ROW_PROBLEM_INVALID_UTF8:
    case ED_CSV_ROW_PROBLEM_FIELD_TOO_LONG:
    case ED_CSV_ROW_PROBLEM_TOO_MANY_FIELDS:
    case ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE:
    default:
      return refuse (self, "invalid_header", error, "The header row (line %" G_GUINT64_FORMAT ") cannot be used: %s",
                     row->line, row->problem_detail ? row->problem_detail : ed_csv_row_problem_to_string (row->problem));
    }

  for (guint i = 0; i < row->n_fields; i++)
    if (ed_guest_column_from_header (row->fields[i]) == ED_GUEST_COLUMN_EMAIL)
      has_email = TRUE;

  self->map = ed_guest_column_map_new ((const char * const *) row->fields, row->n_fields, &local_error);
  if (self->map == NULL)
    return refuse (self, has_email ? "invalid_header" : "no_email_column", error,
                   "The header row (line %" G_GUINT64_FORMAT ") cannot be used: %s",
                   row->line, local_error->message);

  for (guint i = 0; i < self->map->n_columns; i++)
    {
      if (self->map->kinds[i] != ED_GUEST_COLUMN_EXTRA)
        continue;
      if (g_utf8_strlen (self->map->names[i], -1) > ED_IMPORT_EXTRA_KEY_MAX_CHARS)
        return refuse (self, "invalid_header", error,
                       "The header of column %u is longer than %d characters", i + 1,
                       ED_IMPORT_EXTRA_KEY_MAX_CHARS);
      n_extra++;
    }
  if (n_extra > ED_IMPORT_EXTRA_MAX_MEMBERS)
    return refuse (self, "invalid_header", error,
                   "The file has %u columns besides email and names; a guest can have at most %d",
                   n_extra, ED_IMPORT_EXTRA_MAX_MEMBERS);

  ed_import_report_set_columns (self->report, self->map, ed_csv_reader_get_separator (self->reader));
  return TRUE;
}

static gboolean
row_is_blank (const EdCsvRow *row)
{
  for (guint i = 0; i < row->n_fields; i++)
    if (*trim (row->fields[i]) != '\0')
      return FALSE;

  return TRUE;
}

/* Whether @text has more than @max_chars characters; a text of no more
 * bytes than that cannot.
 */
static gboolean
longer_than (const char *text,
             gsize       max_chars)
{
  gsize len = strlen (text);

  return len > max_chars && g_utf8_strlen (text, len) > (glong) max_chars;
}

/* Names are one line of text, like the guest API's. */
static const char *
check_name (const char *name)
{
  if (longer_than (name, ED_IMPORT_NAME_MAX_CHARS))
    return "is longer than " G_STRINGIFY (ED_IMPORT_NAME_MAX_CHARS) " characters";

  for (const char *p = name; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return "has a line break or another control character";

  return NULL;
}

static gboolean
is_ascii (const char *text)
{
  for (const guchar *p = (const guchar *) text; *p; p++)
    if (*p >= 0x80)
      return FALSE;

  return TRUE;
}

/* The address as the guest API stores it (ed_email_normalize()) and its
 * case-folded key; plain ASCII, nearly every address, without the
 * Unicode tables.
 */
static void
normalize_email (const char  *raw,
                 char       **email,
                 char       **key)
{
  if (is_ascii (raw))
    {
      const char *at = strrchr (raw, '@');
      gsize len = strlen (raw);
      gsize domain = at != NULL ? (gsize) (at - raw) : len;

      /* One pass: the domain lower-cased in the address, all of it in the key. */
      *email = g_malloc (len + 1);
      *key = g_malloc (len + 1);
      for (gsize i = 0; i <= len; i++)
        {
          char lower = g_ascii_tolower (raw[i]);

          (*email)[i] = i > domain ? lower : raw[i];
          (*key)[i] = lower;
        }
      return;
    }

  *email = ed_email_normalize (raw);
  *key = g_utf8_casefold (*email, -1);
}

static void
append_json_string (GString    *out,
                    const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p; p++)
    {
      const char *run = p;
      guchar c;

      /* Most text needs no escaping: copy it in runs. */
      while ((guchar) *p >= 0x20 && *p != '"' && *p != '\\')
        p++;
      if (p > run)
        g_string_append_len (out, run, p - run);
      if (*p == '\0')
        break;

      c = *p;
      switch (c)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
          break;
        }
    }
  g_string_append_c (out, '"');
}

static void
reject (EdImportParser *self,
        const EdCsvRow *row,
        const char     *code,
        const char     *reason,
        const char     *email)
{
  ed_import_report_reject (self->report, row->line, code, reason, email);
}

static gboolean
read_guest (EdImportParser  *self,
            const EdCsvRow  *row,
            GError         **error)
{
  const EdGuestColumnMap *map = self->map;
  g_autofree char *owned_email = NULL;
  g_autofree char *owned_first = NULL;
  g_autofree char *owned_last = NULL;
  g_autofree char *owned_full = NULL;
  g_autofree char *email = NULL;
  g_autofree char *email_key = NULL;
  g_autofree char *full_first = NULL;
  g_autoptr(GError) email_error = NULL;
  const char *raw_email;
  const char *first_name;
  const char *last_name;
  const char *problem;
  EdImportRow staged;
  guint n_extra = 0;

  raw_email = cell (row, map->email, &owned_email);
  if (row->problem != ED_CSV_ROW_PROBLEM_NONE)
    {
      reject (self, row, ed_csv_row_problem_to_string (row->problem), row->problem_detail, raw_email);
      return TRUE;
    }

  for (guint i = map->n_columns; i < row->n_fields; i++)
    if (*trim (row->fields[i]) != '\0')
      {
        g_autofree char *reason = g_strdup_printf ("the row has a value in column %u, but the header has %u columns",
                                                   i + 1, map->n_columns);

        reject (self, row, "too-many-fields", reason, raw_email);
        return TRUE;
      }

  if (*raw_email == '\0')
    {
      reject (self, row, "missing-email", "the email address is empty", NULL);
      return TRUE;
    }
  normalize_email (raw_email, &email, &email_key);
  if (!ed_email_check (email, &email_error))
    {
      /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autofree frees email and email_key; clang 14's analyzer does not run cleanups */
      g_autofree char *reason = g_strdup_printf ("the email address is not valid: %s", email_error->message);

      reject (self, row, "invalid-email", reason, raw_email);
      return TRUE;
    }

  if (map->full_name >= 0)
    {
      const char *full = cell (row, map->full_name, &owned_full);
      const char *space = strrchr (full, ' ');

      /* "Ada King Lovelace": the last word is the family name. */
      if (space != NULL)
        {
          full_first = g_strndup (full, space - full);
          first_name = trim (full_first);
          last_name = space + 1;
        }
      else
        {
          first_name = full;
          last_name = "";
        }
    }
  else
    {
      first_name = cell (row, map->first_name, &owned_first);
      last_name = cell (row, map->last_name, &owned_last);
    }

  if ((problem = check_name (first_name)) != NULL || (problem = check_name (last_name)) != NULL)
    {
      g_autofree char *reason = g_strdup_printf ("the name %s", problem);

      reject (self, row, "invalid-name", reason, raw_email);
      return TRUE;
    }

  g_string_truncate (self->extra, 0);
  for (guint i = 0; i < map->n_columns && i < row->n_fields; i++)
    {
      g_autofree char *owned = NULL;
      const char *value;

      if (map->kinds[i] != ED_GUEST_COLUMN_EXTRA)
        continue;
      value = cell (row, (int) i, &owned);
      if (*value == '\0')
        continue;
      if (longer_than (value, ED_IMPORT_EXTRA_VALUE_MAX_CHARS))
        {
          g_autofree char *reason = g_strdup_printf ("the value in column %u (%s) is longer than %d characters",
                                                     i + 1, map->names[i], ED_IMPORT_EXTRA_VALUE_MAX_CHARS);

          reject (self, row, "value-too-long", reason, raw_email);
          return TRUE;
        }

      g_string_append_c (self->extra, n_extra++ == 0 ? '{' : ',');
      append_json_string (self->extra, map->names[i]);
      g_string_append_c (self->extra, ':');
      append_json_string (self->extra, value);
    }
  if (n_extra > 0)
    g_string_append_c (self->extra, '}');

  staged.line = row->line;
  staged.email = email;
  staged.email_key = email_key;
  staged.first_name = first_name;
  staged.last_name = last_name;
  staged.extra = n_extra > 0 ? self->extra->str : NULL;

  return self->stage (&staged, self->user_data, error);
}

static gboolean
on_row_cb (const EdCsvRow  *row,
           gpointer         user_data,
           GError         **error)
{
  EdImportParser *self = user_data;

  if (self->map == NULL)
    return read_header (self, row, error);

  if (row->problem == ED_CSV_ROW_PROBLEM_NONE && row_is_blank (row))
    return TRUE;

  self->report->rows++;
  return read_guest (self, row, error);
}

/**
 * ed_import_parser_new:
 * @mode: for the report
 * @stage: receives each row that passes the checks
 * @user_data: for @stage
 */
EdImportParser *
ed_import_parser_new (EdImportMode       mode,
                      EdImportStageFunc  stage,
                      gpointer           user_data)
{
  EdImportParser *self = g_new0 (EdImportParser, 1);

  g_return_val_if_fail (stage != NULL, NULL);

  self->reader = ed_csv_reader_new (ED_IMPORT_MAX_FIELD_BYTES);
  self->report = ed_import_report_new (mode);
  self->extra = g_string_sized_new (256);
  self->stage = stage;
  self->user_data = user_data;

  return self;
}

void
ed_import_parser_free (EdImportParser *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->reader, ed_csv_reader_free);
  g_clear_pointer (&self->map, ed_guest_column_map_free);
  g_clear_pointer (&self->report, ed_import_report_free);
  g_string_free (self->extra, TRUE);
  g_free (self);
}

/**
 * ed_import_parser_feed:
 * @data: the next bytes of the file, split anywhere
 * @len: how many
 * @error: return location for the stage function's error, or for the
 *   refusal of the file (see ed_import_parser_get_refusal())
 */
gboolean
ed_import_parser_feed (EdImportParser  *self,
                       const char      *data,
                       gsize            len,
                       GError         **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return ed_csv_reader_feed (self->reader, data, len, on_row_cb, self, error);
}

/* Ends the file: its last row, if it has no line break, and the refusal
 * of a file without a header.
 */
gboolean
ed_import_parser_finish (EdImportParser  *self,
                         GError         **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!ed_csv_reader_finish (self->reader, on_row_cb, self, error))
    return FALSE;

  if (self->map == NULL)
    return refuse (self, "empty_file", error,
                   "The file is empty; it needs a header row naming its columns, one of them the email address");

  return TRUE;
}

/* Returns the code of the refusal of the whole file ("no_email_column",
 * "invalid_header", "not_csv", "empty_file"), or %NULL.
 */
const char *
ed_import_parser_get_refusal (EdImportParser *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->refusal;
}

const EdImportReport *
ed_import_parser_get_report (EdImportParser *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->report;
}
