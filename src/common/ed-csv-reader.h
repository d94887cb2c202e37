/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A row with more fields than this keeps only the first ones and gets
 * ED_CSV_ROW_PROBLEM_TOO_MANY_FIELDS, so a row never takes more than
 * ED_CSV_READER_MAX_FIELDS × (max_field_bytes + 1) bytes.
 */
#define ED_CSV_READER_MAX_FIELDS 1000

/* Why the importer must reject a row; the first problem found in a row is
 * the one reported, except that an unterminated quote always wins since it
 * explains the others.
 */
typedef enum
{
  ED_CSV_ROW_PROBLEM_NONE,
  ED_CSV_ROW_PROBLEM_FIELD_TOO_LONG,      /* the field is cut at max_field_bytes */
  ED_CSV_ROW_PROBLEM_TOO_MANY_FIELDS,     /* only the first ED_CSV_READER_MAX_FIELDS are kept */
  ED_CSV_ROW_PROBLEM_NUL_BYTE,            /* the NUL bytes are dropped */
  ED_CSV_ROW_PROBLEM_INVALID_UTF8,
  ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE,  /* only at the end of the input */
} EdCsvRowProblem;

typedef struct
{
  /* The physical line (1-based) where the record starts. */
  guint64          line;
  guint            n_fields;
  /* NUL-terminated, valid only during the callback, which may modify them
   * in place (e.g. g_strstrip()). Valid UTF-8 without NUL bytes when
   * @problem is ED_CSV_ROW_PROBLEM_NONE; otherwise whatever could be kept.
   */
  char           **fields;
  EdCsvRowProblem  problem;
  /* A sentence for the import report, NULL when @problem is NONE. */
  const char      *problem_detail;
} EdCsvRow;

/* Returning FALSE (and setting @error) stops the parse: the feed() or
 * finish() call that ran the callback returns FALSE with that error.
 */
typedef gboolean (*EdCsvRowFunc) (const EdCsvRow  *row,
                                  gpointer         user_data,
                                  GError         **error);

typedef struct _EdCsvReader EdCsvReader;

EdCsvReader *ed_csv_reader_new           (gsize          max_field_bytes);
void         ed_csv_reader_free          (EdCsvReader   *reader);
void         ed_csv_reader_set_separator (EdCsvReader   *reader,
                                          char           separator);
char         ed_csv_reader_get_separator (EdCsvReader   *reader);
gboolean     ed_csv_reader_feed          (EdCsvReader   *reader,
                                          const char    *data,
                                          gsize          len,
                                          EdCsvRowFunc   func,
                                          gpointer       user_data,
                                          GError       **error);
gboolean     ed_csv_reader_finish        (EdCsvReader   *reader,
                                          EdCsvRowFunc   func,
                                          gpointer       user_data,
                                          GError       **error);

const char  *ed_csv_row_problem_to_string (EdCsvRowProblem problem);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCsvReader, ed_csv_reader_free)

G_END_DECLS
