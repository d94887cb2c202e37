/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ed-csv-reader.h"
#include "ed-csv-writer.h"
#include "ed-guest-columns.h"

/* The input is a small header, then the CSV bytes:
 *
 *   byte 0     the field limit: 1 + 2 × (byte & 0x7f), or 64 KiB when the
 *              top bit is set
 *   byte 1     bit 0 set: the separator is given (bits 1–2: comma,
 *              semicolon, tab), not detected
 *   bytes 2–5  chunk sizes, used in turn to cut the CSV (0 feeds nothing);
 *              all zero means one chunk
 *
 * The CSV is read whole and in those chunks; both must give the same rows,
 * and every row must keep the promises of ed-csv-reader.h. The rows without
 * problems are then written back with the writer and read again, which must
 * give the same values.
 */
#define HEADER_BYTES 6

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

typedef struct
{
  EdCsvReader *reader;
  gsize        max_field;
  guint64      last_line;
  GString     *dump;
  /* when not NULL: the rows without problems, written by the writer, and
   * their values as append_values() puts them
   */
  GString     *written;
  GString     *values;
  gboolean     mapped;
} Check;

static void
append_values (GString         *out,
               const char * const *fields,
               guint            n_fields,
               gboolean         unneutralize)
{
  g_string_append_printf (out, "%u", n_fields);
  for (guint i = 0; i < n_fields; i++)
    {
      g_autofree char *value = unneutralize ? ed_csv_unneutralize (fields[i]) : NULL;
      const char *shown = value != NULL ? value : fields[i];

      g_string_append_printf (out, " %" G_GSIZE_FORMAT ":%s", strlen (shown), shown);
    }
  g_string_append_c (out, '\n');
}

static void
check_row (Check          *check,
           const EdCsvRow *row)
{
  char separator = ed_csv_reader_get_separator (check->reader);

  if (separator != ',' && separator != ';' && separator != '\t')
    abort ();
  if (row->line <= check->last_line)
    abort ();
  check->last_line = row->line;
  if (row->n_fields < 1 || row->n_fields > ED_CSV_READER_MAX_FIELDS)
    abort ();
  if (row->fields[row->n_fields] != NULL)
    abort ();
  if ((row->problem == ED_CSV_ROW_PROBLEM_NONE) != (row->problem_detail == NULL))
    abort ();

  for (guint i = 0; i < row->n_fields; i++)
    {
      gsize len = strlen (row->fields[i]);

      if (len > check->max_field)
        abort ();
      if (row->problem == ED_CSV_ROW_PROBLEM_NONE && !g_utf8_validate (row->fields[i], len, NULL))
        abort ();
    }
}

static gboolean
row_cb (const EdCsvRow  *row,
        gpointer         user_data,
        GError         **error)
{
  Check *check = user_data;

  check_row (check, row);

  g_string_append_printf (check->dump, "%" G_GUINT64_FORMAT " %d %u",
                          row->line, row->problem, row->n_fields);
  if (row->problem_detail != NULL)
    g_string_append_printf (check->dump, " (%s)", row->problem_detail);
  for (guint i = 0; i < row->n_fields; i++)
    {
      gsize len = strlen (row->fields[i]);

      g_string_append_printf (check->dump, " %" G_GSIZE_FORMAT ":", len);
      g_string_append_len (check->dump, row->fields[i], len);
    }
  g_string_append_c (check->dump, '\n');

  if (check->written != NULL && row->problem == ED_CSV_ROW_PROBLEM_NONE)
    {
      if (!check->mapped)
        {
          g_autoptr(EdGuestColumnMap) map = NULL;
          g_autoptr(GError) local_error = NULL;

          map = ed_guest_column_map_new ((const char * const *) row->fields, row->n_fields, &local_error);
          if ((map == NULL) == (local_error == NULL))
            abort ();
          if (map != NULL && (map->email < 0 || (guint) map->email >= row->n_fields))
            abort ();
          check->mapped = TRUE;
        }
      ed_csv_append_row (check->written, (const char * const *) row->fields, row->n_fields,
                         ed_csv_reader_get_separator (check->reader));
      append_values (check->values, (const char * const *) row->fields, row->n_fields, FALSE);
    }

  return TRUE;
}

static char
separator_from_flags (guint8 flags)
{
  static const char separators[4] = { ',', ';', '\t', ',' };

  return separators[(flags >> 1) & 3];
}

static char *
read_csv (const char *csv,
          gsize       len,
          gsize       max_field,
          char        separator,
          const guint8 *chunks,
          GString    *written,
          GString    *values,
          char       *used_separator)
{
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (max_field);
  g_autoptr(GString) dump = g_string_new (NULL);
  Check check = { reader, max_field, 0, dump, written, values, FALSE };
  gboolean any_chunk = chunks != NULL && (chunks[0] | chunks[1] | chunks[2] | chunks[3]) != 0;

  if (separator != 0)
    ed_csv_reader_set_separator (reader, separator);

  if (!any_chunk)
    {
      if (!ed_csv_reader_feed (reader, csv, len, row_cb, &check, NULL))
        abort ();
    }
  else
    {
      gsize pos = 0;

      for (guint i = 0; pos < len; i = (i + 1) % 4)
        {
          gsize n = MIN (chunks[i], len - pos);

          if (!ed_csv_reader_feed (reader, csv + pos, n, row_cb, &check, NULL))
            abort ();
          pos += n;
        }
    }

  if (!ed_csv_reader_finish (reader, row_cb, &check, NULL))
    abort ();
  if (used_separator != NULL)
    *used_separator = ed_csv_reader_get_separator (reader);

  return g_string_free (g_steal_pointer (&dump), FALSE);
}

static gboolean
reread_cb (const EdCsvRow  *row,
           gpointer         user_data,
           GError         **error)
{
  GString *values = user_data;

  if (row->problem != ED_CSV_ROW_PROBLEM_NONE)
    abort ();
  append_values (values, (const char * const *) row->fields, row->n_fields, TRUE);

  return TRUE;
}

/* Reading back what the writer wrote, and undoing its neutralising, gives
 * the values it was given.
 */
static void
check_round_trip (GString    *written,
                  GString    *values,
                  gsize       max_field,
                  char        separator)
{
  g_autoptr(GString) reread = g_string_new (NULL);
  /* the writer may add an apostrophe */
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (max_field + 1);

  ed_csv_reader_set_separator (reader, separator);
  if (!ed_csv_reader_feed (reader, written->str, written->len, reread_cb, reread, NULL) ||
      !ed_csv_reader_finish (reader, reread_cb, reread, NULL))
    abort ();

  if (!g_string_equal (reread, values))
    abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* a failed g_return_if_fail() is a bug the fuzzer should stop on */
  fuzz_abort_on_warnings ();

  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GString) written = NULL;
  g_autoptr(GString) values = NULL;
  g_autofree char *whole = NULL;
  g_autofree char *chunked = NULL;
  const char *csv;
  gsize len, max_field;
  char separator = 0;
  char used_separator = 0;

  if (size < HEADER_BYTES)
    return 0;

  max_field = (data[0] & 0x80) ? 64 * 1024 : 1 + 2 * (gsize) (data[0] & 0x7f);
  if (data[1] & 1)
    separator = separator_from_flags (data[1]);
  csv = (const char *) data + HEADER_BYTES;
  len = size - HEADER_BYTES;

  written = g_string_new (NULL);
  values = g_string_new (NULL);
  whole = read_csv (csv, len, max_field, separator, NULL, written, values, &used_separator);
  chunked = read_csv (csv, len, max_field, separator, data + 2, NULL, NULL, NULL);
  if (strcmp (whole, chunked) != 0)
    abort ();

  check_round_trip (written, values, max_field, used_separator);

  return 0;
}
