/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "ed-csv-reader.h"
#include "ed-csv-writer.h"
#include "ed-error.h"
#include "ed-guest-columns.h"

/* The corpus under tests/data/csv is read with this limit. */
#define CORPUS_MAX_FIELD 1024

/* The reader as the daemon uses it. */
#define IMPORT_MAX_FIELD (64 * 1024)
#define UPLOAD_CHUNK (64 * 1024)

/* see tests/fuzz/fuzz-csv.c */
#define FUZZ_HEADER_BYTES 6

/* What the reader gives, written the way the .expected files are:
 *
 *   separator comma|semicolon|tab
 *   LINE "field" "field" …
 *   LINE !problem-code "detail"
 *
 * with \" \\ \n \r \t and \xHH escapes inside the quotes.
 */

static const char *
separator_name (char separator)
{
  switch (separator)
    {
    case ',':
      return "comma";
    case ';':
      return "semicolon";
    case '\t':
      return "tab";
    default:
      return "none";
    }
}

static void
append_quoted (GString    *out,
               const char *value)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) value; *p != '\0'; p++)
    {
      switch (*p)
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
          if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf (out, "\\x%02x", *p);
          else
            g_string_append_c (out, *p);
          break;
        }
    }
  g_string_append_c (out, '"');
}

typedef struct
{
  EdCsvReader *reader;
  GString     *out;
  guint64      last_line;
  guint        n_rows;
} Dump;

/* Also checks what every row must satisfy, whatever the input. */
static gboolean
dump_row_cb (const EdCsvRow  *row,
             gpointer         user_data,
             GError         **error)
{
  Dump *dump = user_data;

  g_assert_cmpint ((guchar) ed_csv_reader_get_separator (dump->reader), !=, 0);
  g_assert_cmpuint (row->line, >, dump->last_line);
  g_assert_cmpuint (row->n_fields, >=, 1);
  g_assert_cmpuint (row->n_fields, <=, ED_CSV_READER_MAX_FIELDS);
  g_assert_null (row->fields[row->n_fields]);
  dump->last_line = row->line;
  dump->n_rows++;

  g_string_append_printf (dump->out, "%" G_GUINT64_FORMAT, row->line);
  if (row->problem != ED_CSV_ROW_PROBLEM_NONE)
    {
      g_assert_nonnull (row->problem_detail);
      g_string_append_printf (dump->out, " !%s ", ed_csv_row_problem_to_string (row->problem));
      append_quoted (dump->out, row->problem_detail);
    }
  else
    {
      g_assert_null (row->problem_detail);
      for (guint i = 0; i < row->n_fields; i++)
        {
          g_assert_true (g_utf8_validate (row->fields[i], -1, NULL));
          g_string_append_c (dump->out, ' ');
          append_quoted (dump->out, row->fields[i]);
        }
    }
  g_string_append_c (dump->out, '\n');

  return TRUE;
}

/* Feeds @data whole when @rand is NULL, otherwise in chunks of 0 to
 * @max_chunk bytes (1 byte each when @max_chunk is 1).
 */
static char *
read_chunked (const char *data,
              gsize       len,
              gsize       max_field,
              GRand      *rand,
              guint       max_chunk)
{
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (max_field);
  g_autoptr(GString) rows = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  Dump dump = { reader, rows, 0, 0 };

  if (rand == NULL)
    {
      g_assert_true (ed_csv_reader_feed (reader, data, len, dump_row_cb, &dump, &error));
      g_assert_no_error (error);
    }
  else
    {
      for (gsize pos = 0; pos < len;)
        {
          gsize n = max_chunk == 1 ? 1 : (gsize) g_rand_int_range (rand, 0, max_chunk + 1);

          n = MIN (n, len - pos);
          g_assert_true (ed_csv_reader_feed (reader, data + pos, n, dump_row_cb, &dump, &error));
          g_assert_no_error (error);
          pos += n;
        }
    }
  g_assert_true (ed_csv_reader_finish (reader, dump_row_cb, &dump, &error));
  g_assert_no_error (error);

  return g_strdup_printf ("separator %s\n%s",
                          separator_name (ed_csv_reader_get_separator (reader)),
                          rows->str);
}

static char *
read_split_at (const char *data,
               gsize       len,
               gsize       max_field,
               gsize       split)
{
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (max_field);
  g_autoptr(GString) rows = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  Dump dump = { reader, rows, 0, 0 };

  g_assert_true (ed_csv_reader_feed (reader, data, split, dump_row_cb, &dump, &error));
  g_assert_true (ed_csv_reader_feed (reader, data + split, len - split, dump_row_cb, &dump, &error));
  g_assert_true (ed_csv_reader_finish (reader, dump_row_cb, &dump, &error));
  g_assert_no_error (error);

  return g_strdup_printf ("separator %s\n%s",
                          separator_name (ed_csv_reader_get_separator (reader)),
                          rows->str);
}

/* Every way of cutting @data into chunks must give what reading it whole
 * gives.
 */
static void
assert_chunking_does_not_matter (const char *data,
                                 gsize       len,
                                 gsize       max_field,
                                 const char *whole)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (0);
  g_autofree char *bytes = read_chunked (data, len, max_field, rand, 1);

  g_assert_cmpstr (bytes, ==, whole);

  for (guint32 seed = 1; seed <= 20; seed++)
    {
      g_autoptr(GRand) seeded = g_rand_new_with_seed (seed);
      g_autofree char *random = read_chunked (data, len, max_field, seeded, seed < 10 ? 7 : 300);

      g_assert_cmpstr (random, ==, whole);
    }

  /* every two-piece split of a small input */
  if (len <= 4096)
    for (gsize split = 0; split <= len; split++)
      {
        g_autofree char *two = read_split_at (data, len, max_field, split);

        if (g_strcmp0 (two, whole) != 0)
          g_test_message ("split at byte %" G_GSIZE_FORMAT, split);
        g_assert_cmpstr (two, ==, whole);
      }
}

/* The expected text without its comment lines. */
static char *
load_expected (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_string_append (out, lines[i]);
      g_string_append_c (out, '\n');
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_reader_corpus_file (gconstpointer user_data)
{
  const char *name = user_data;
  g_autofree char *csv_name = g_strconcat (name, ".csv", NULL);
  g_autofree char *expected_name = g_strconcat (name, ".expected", NULL);
  const char *csv_path = g_test_get_filename (G_TEST_DIST, "data", "csv", csv_name, NULL);
  const char *expected_path = g_test_get_filename (G_TEST_DIST, "data", "csv", expected_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *whole = NULL;
  gsize len;

  g_file_get_contents (csv_path, &data, &len, &error);
  g_assert_no_error (error);
  expected = load_expected (expected_path);

  whole = read_chunked (data, len, CORPUS_MAX_FIELD, NULL, 0);
  if (g_strcmp0 (whole, expected) != 0)
    g_test_message ("%s gives:\n%s", csv_name, whole);
  g_assert_cmpstr (whole, ==, expected);

  assert_chunking_does_not_matter (data, len, CORPUS_MAX_FIELD, whole);
}

/* Inputs the fuzzer found or was seeded with: nothing to compare to but
 * themselves, cut every which way.
 */
static void
test_reader_fuzz_corpus (void)
{
  const char *dir_path = g_test_get_filename (G_TEST_DIST, "fuzz", "corpus", "csv", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, &error);
  const char *name;
  guint n_files = 0;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *data = NULL;
      const char *csv;
      gsize len;

      if (name[0] == '.')
        continue;
      g_file_get_contents (path, &data, &len, &error);
      g_assert_no_error (error);
      /* past the fuzz target's header of options */
      csv = data + MIN (len, FUZZ_HEADER_BYTES);
      len -= MIN (len, FUZZ_HEADER_BYTES);

      for (gsize max_field = 1; max_field <= 4096; max_field *= 16)
        {
          g_autofree char *result = read_chunked (csv, len, max_field, NULL, 0);
          g_autoptr(GRand) rand = g_rand_new_with_seed (n_files);
          g_autofree char *bytes = read_chunked (csv, len, max_field, rand, 1);
          g_autofree char *random = read_chunked (csv, len, max_field, rand, 17);

          g_assert_cmpstr (bytes, ==, result);
          g_assert_cmpstr (random, ==, result);
        }
      n_files++;
    }

  g_test_message ("%u inputs", n_files);
  g_assert_cmpuint (n_files, >, 0);
}

static gsize
heap_in_use (void)
{
#ifdef __GLIBC__
#if __GLIBC_PREREQ(2, 33)
  return mallinfo2 ().uordblks;
#else
  return 0;
#endif
#else
  return 0;
#endif
}

typedef struct
{
  guint           n_rows;
  EdCsvRowProblem problems[4];
  char           *last_fields[4];
  guint64         lines[4];
  gsize           heap_at_problem;
} Collect;

static gboolean
collect_row_cb (const EdCsvRow  *row,
                gpointer         user_data,
                GError         **error)
{
  Collect *collect = user_data;

  if (collect->n_rows < G_N_ELEMENTS (collect->problems))
    {
      collect->problems[collect->n_rows] = row->problem;
      collect->lines[collect->n_rows] = row->line;
      collect->last_fields[collect->n_rows] = g_strdup (row->fields[row->n_fields - 1]);
    }
  if (row->problem != ED_CSV_ROW_PROBLEM_NONE)
    collect->heap_at_problem = heap_in_use ();
  collect->n_rows++;

  return TRUE;
}

static void
collect_clear (Collect *collect)
{
  for (guint i = 0; i < G_N_ELEMENTS (collect->last_fields); i++)
    g_clear_pointer (&collect->last_fields[i], g_free);
}

/* A field of @field_bytes arrives in upload-sized chunks; the reader must
 * flag it, keep no more than the limit, and read the next row as usual.
 */
static void
check_huge_field (gsize    field_bytes,
                  gboolean quoted,
                  gboolean closed)
{
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (IMPORT_MAX_FIELD);
  g_autoptr(GError) error = NULL;
  g_autofree char *filler = g_strnfill (UPLOAD_CHUNK, 'x');
  const char *head = quoted ? "email,note\r\nann@example.com,\"" : "email,note\r\nann@example.com,";
  const char *tail = quoted ? "\"\r\nbob@example.com,fine\r\n" : "\r\nbob@example.com,fine\r\n";
  Collect collect = { 0, };
  gsize heap_before;

  g_assert_true (ed_csv_reader_feed (reader, head, strlen (head), collect_row_cb, &collect, &error));
  heap_before = heap_in_use ();

  for (gsize sent = 0; sent < field_bytes; sent += UPLOAD_CHUNK)
    g_assert_true (ed_csv_reader_feed (reader, filler, MIN (UPLOAD_CHUNK, field_bytes - sent),
                                       collect_row_cb, &collect, &error));
  if (closed)
    g_assert_true (ed_csv_reader_feed (reader, tail, strlen (tail), collect_row_cb, &collect, &error));
  g_assert_true (ed_csv_reader_finish (reader, collect_row_cb, &collect, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (collect.n_rows, ==, closed ? 3 : 2);
  g_assert_cmpint (collect.problems[0], ==, ED_CSV_ROW_PROBLEM_NONE);
  g_assert_cmpint (collect.problems[1], ==,
                   closed ? ED_CSV_ROW_PROBLEM_FIELD_TOO_LONG : ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE);
  g_assert_cmpuint (strlen (collect.last_fields[1]), ==, IMPORT_MAX_FIELD);
  if (closed)
    {
      g_assert_cmpint (collect.problems[2], ==, ED_CSV_ROW_PROBLEM_NONE);
      g_assert_cmpuint (collect.lines[2], ==, 3);
      g_assert_cmpstr (collect.last_fields[2], ==, "fine");
    }

  /* The reader holds one field of at most the limit, whatever came in. */
  if (heap_before != 0)
    {
      g_test_message ("heap grew by %" G_GSIZE_FORMAT " bytes for a field of %" G_GSIZE_FORMAT,
                      collect.heap_at_problem - MIN (collect.heap_at_problem, heap_before), field_bytes);
      g_assert_cmpuint (collect.heap_at_problem, <, heap_before + 4 * IMPORT_MAX_FIELD);
    }

  collect_clear (&collect);
}

static void
test_reader_huge_field (void)
{
  gsize size = g_test_slow () ? (gsize) 1024 * 1024 * 1024 : 5 * 1024 * 1024;

  check_huge_field (size, TRUE, TRUE);
  check_huge_field (size, FALSE, TRUE);
  check_huge_field (size, TRUE, FALSE);
}

static void
test_reader_huge_field_whole (void)
{
  g_autoptr(GString) data = g_string_new ("email,note\nann@example.com,\"");
  g_autofree char *result = NULL;
  g_autofree char *expected = NULL;

  for (guint i = 0; i < 5 * 1024 * 1024 / 8; i++)
    g_string_append (data, i % 2 ? "\"\"abc\r\nd" : "12345678");
  g_string_append (data, "\"\nbob@example.com,fine\n");

  expected = g_strdup_printf ("separator comma\n"
                              "1 \"email\" \"note\"\n"
                              "2 !field-too-long \"column 2 is longer than %d bytes\"\n"
                              "%d \"bob@example.com\" \"fine\"\n",
                              IMPORT_MAX_FIELD, 3 + 5 * 1024 * 1024 / 16);
  result = read_chunked (data->str, data->len, IMPORT_MAX_FIELD, NULL, 0);
  g_assert_cmpstr (result, ==, expected);

  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (42);
    g_autofree char *random = read_chunked (data->str, data->len, IMPORT_MAX_FIELD, rand, 100000);

    g_assert_cmpstr (random, ==, expected);
  }
}

static void
test_reader_long_header (void)
{
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GString) expected = g_string_new ("separator semicolon\n1 !too-many-fields \"the row has 12000 columns, more than the 1000 allowed\"\n2");
  g_autofree char *result = NULL;

  /* 12000 columns make a header longer than what is held back to find the
   * separator, so it is chosen from the first part.
   */
  for (guint i = 0; i < 12000; i++)
    g_string_append_printf (data, "%scolumn %u", i > 0 ? ";" : "", i);
  g_string_append (data, "\n");
  for (guint i = 0; i < 3; i++)
    {
      g_string_append_printf (data, "%sa,%u", i > 0 ? ";" : "", i);
      g_string_append_printf (expected, " \"a,%u\"", i);
    }
  g_string_append_c (expected, '\n');
  g_assert_cmpuint (data->len, >, 64 * 1024);

  result = read_chunked (data->str, data->len, CORPUS_MAX_FIELD, NULL, 0);
  g_assert_cmpstr (result, ==, expected->str);
  assert_chunking_does_not_matter (data->str, data->len, CORPUS_MAX_FIELD, result);
}

static void
test_reader_bom_only_at_start (void)
{
  static const char data[] = "a,b\n\xef\xbb\xbf" "c,d\n";
  g_autofree char *result = read_chunked (data, strlen (data), CORPUS_MAX_FIELD, NULL, 0);

  g_assert_cmpstr (result, ==, "separator comma\n1 \"a\" \"b\"\n2 \"\xef\xbb\xbf" "c\" \"d\"\n");
}

static void
test_reader_set_separator (void)
{
  static const char data[] = "a,b;c,d\n1,2;3,4\n";
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);
  g_autoptr(GString) rows = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  Dump dump = { reader, rows, 0, 0 };

  ed_csv_reader_set_separator (reader, ';');
  g_assert_cmpint ((guchar) ed_csv_reader_get_separator (reader), ==, ';');
  g_assert_true (ed_csv_reader_feed (reader, "\xef\xbb\xbf", 3, dump_row_cb, &dump, &error));
  g_assert_true (ed_csv_reader_feed (reader, data, strlen (data), dump_row_cb, &dump, &error));
  g_assert_true (ed_csv_reader_finish (reader, dump_row_cb, &dump, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (rows->str, ==, "1 \"a,b\" \"c,d\"\n2 \"1,2\" \"3,4\"\n");
}

/* The start of a byte-order mark that goes no further is data, whether
 * the input ends there or goes on, and whether or not the separator was set.
 */
static void
test_reader_partial_bom (void)
{
  static const char * const pieces[] = { "\xef", "\xbb", "x;y\n" };

  for (guint set = 0; set <= 1; set++)
    for (guint n_pieces = 1; n_pieces <= G_N_ELEMENTS (pieces); n_pieces++)
      {
        g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);
        g_autoptr(GString) rows = g_string_new (NULL);
        g_autoptr(GError) error = NULL;
        Dump dump = { reader, rows, 0, 0 };

        if (set)
          ed_csv_reader_set_separator (reader, ';');
        for (guint i = 0; i < n_pieces; i++)
          g_assert_true (ed_csv_reader_feed (reader, pieces[i], strlen (pieces[i]), dump_row_cb, &dump, &error));
        g_assert_true (ed_csv_reader_finish (reader, dump_row_cb, &dump, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (dump.n_rows, ==, 1);
        g_assert_true (g_str_has_prefix (rows->str, "1 !invalid-utf8 "));
        if (n_pieces == G_N_ELEMENTS (pieces))
          g_assert_cmpint ((guchar) ed_csv_reader_get_separator (reader), ==, ';');
      }
}

static gboolean
stop_at_second_row_cb (const EdCsvRow  *row,
                       gpointer         user_data,
                       GError         **error)
{
  guint *n_rows = user_data;

  (*n_rows)++;
  if (*n_rows == 2)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_TOO_LARGE, "stop at line %" G_GUINT64_FORMAT, row->line);
      return FALSE;
    }

  return TRUE;
}

static gboolean
fail_without_error_cb (const EdCsvRow  *row,
                       gpointer         user_data,
                       GError         **error)
{
  return FALSE;
}

static void
test_reader_callback_error (void)
{
  static const char data[] = "email\na@example.com\nb@example.com\nc@example.com\n";
  g_autoptr(GError) error = NULL;
  guint n_rows = 0;

  {
    g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);

    g_assert_false (ed_csv_reader_feed (reader, data, strlen (data), stop_at_second_row_cb, &n_rows, &error));
    g_assert_error (error, ED_ERROR, ED_ERROR_TOO_LARGE);
    g_assert_cmpstr (error->message, ==, "stop at line 2");
    g_assert_cmpuint (n_rows, ==, 2);
    g_clear_error (&error);
  }

  /* the last row, delivered by finish() */
  {
    g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);

    n_rows = 0;
    g_assert_true (ed_csv_reader_feed (reader, "h\nlast", 6, stop_at_second_row_cb, &n_rows, &error));
    g_assert_false (ed_csv_reader_finish (reader, stop_at_second_row_cb, &n_rows, &error));
    g_assert_error (error, ED_ERROR, ED_ERROR_TOO_LARGE);
    g_clear_error (&error);
  }

  /* a callback that forgets to say why still makes an error */
  {
    g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);

    g_assert_false (ed_csv_reader_feed (reader, data, strlen (data), fail_without_error_cb, NULL, &error));
    g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "line 1"));
  }
}

typedef struct
{
  guint   n_rows;
  guint64 n_fields;
  gsize   n_bytes;
} Count;

static gboolean
count_row_cb (const EdCsvRow  *row,
              gpointer         user_data,
              GError         **error)
{
  Count *count = user_data;

  count->n_rows++;
  count->n_fields += row->n_fields;
  if (row->problem != ED_CSV_ROW_PROBLEM_NONE)
    g_error ("line %" G_GUINT64_FORMAT ": %s", row->line, row->problem_detail);
  for (guint i = 0; i < row->n_fields; i++)
    count->n_bytes += strlen (row->fields[i]);

  return TRUE;
}

static void
measure_throughput (const char *what,
                    GString    *data,
                    guint       n_rows,
                    guint       n_columns)
{
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (IMPORT_MAX_FIELD);
  g_autoptr(GError) error = NULL;
  Count count = { 0, };
  gint64 start, elapsed;

  start = g_get_monotonic_time ();
  for (gsize pos = 0; pos < data->len; pos += UPLOAD_CHUNK)
    g_assert_true (ed_csv_reader_feed (reader, data->str + pos, MIN (UPLOAD_CHUNK, data->len - pos),
                                       count_row_cb, &count, &error));
  g_assert_true (ed_csv_reader_finish (reader, count_row_cb, &count, &error));
  elapsed = MAX (g_get_monotonic_time () - start, 1);
  g_assert_no_error (error);

  g_assert_cmpuint (count.n_rows, ==, n_rows);
  g_assert_cmpuint (count.n_fields, ==, (guint64) n_rows * n_columns);
  g_test_message ("%s: %.1f MB in %.3f s: %.0f MB/s, %.0f rows/s",
                  what, data->len / 1e6, elapsed / 1e6,
                  data->len / (double) elapsed, n_rows / (elapsed / 1e6));
}

static void
test_reader_throughput (void)
{
  const guint n_rows = 500000;
  g_autoptr(GString) plain = g_string_new ("email,first_name,last_name,company,phone\r\n");
  g_autoptr(GString) quoted = g_string_new ("\"email\",\"first_name\",\"last_name\",\"company\",\"phone\"\r\n");

  for (guint i = 1; i < n_rows; i++)
    {
      g_string_append_printf (plain, "guest.%u@example.com,Anna%u,Schmidt-%u,Example GmbH,+49 30 %u\r\n",
                              i, i, i, i);
      g_string_append_printf (quoted, "\"guest.%u@example.com\",\"Jörg %u\",\"Müller, %u\",\"Ex \"\"GmbH\"\"\",\"+49 30 %u\"\r\n",
                              i, i, i, i);
    }

  measure_throughput ("plain", plain, n_rows, 5);
  measure_throughput ("quoted, non-ASCII", quoted, n_rows, 5);
}

static void
test_writer_field (void)
{
  static const struct {
    const char *value;
    char        separator;
    const char *written;
  } cases[] = {
    { "plain", ',', "plain" },
    { "", ',', "" },
    { "Jörg Müller", ',', "Jörg Müller" },
    { "Smith, Ann", ',', "\"Smith, Ann\"" },
    { "Smith, Ann", ';', "Smith, Ann" },
    { "a;b", ';', "\"a;b\"" },
    { "a\tb", '\t', "\"a\tb\"" },
    { "a\tb", ',', "a\tb" },
    { "say \"hi\"", ',', "\"say \"\"hi\"\"\"" },
    { "\"", ',', "\"\"\"\"" },
    { "two\nlines", ',', "\"two\nlines\"" },
    { "two\r\nlines", ',', "\"two\r\nlines\"" },
    { "cr\r", ',', "\"cr\r\"" },
    { " leading", ',', "\" leading\"" },
    { "trailing ", ',', "\"trailing \"" },
    { "5'11\"", ',', "\"5'11\"\"\"" },
    { "it's", ',', "it's" },
    { "a=b", ',', "a=b" },
    { "\xef\xbb\xbf" "bom", ',', "\"\xef\xbb\xbf" "bom\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      ed_csv_append_field (out, cases[i].value, cases[i].separator);
      g_assert_cmpstr (out->str, ==, cases[i].written);
    }
}

static void
test_writer_neutralize (void)
{
  static const struct {
    const char *value;
    const char *written;
  } cases[] = {
    { "=SUM(A1:A9)", "'=SUM(A1:A9)" },
    { "=HYPERLINK(\"http://evil.example\",\"x\")", "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"" },
    { "+49 30 1234", "'+49 30 1234" },
    { "-5", "'-5" },
    { "@SUM(1)", "'@SUM(1)" },
    { "\t=1", "\"'\t=1\"" },
    { "\r=1", "\"'\r=1\"" },
    { "  =1+1", "\"'  =1+1\"" },
    { "'=1", "''=1" },
    { "''+1", "'''+1" },
    { "'plain", "'plain" },
    { "a-b", "a-b" },
    { "ann@example.com", "ann@example.com" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      ed_csv_append_field (out, cases[i].value, ',');
      g_assert_cmpstr (out->str, ==, cases[i].written);
    }
}

static void
test_writer_unneutralize (void)
{
  static const struct {
    const char *read;
    const char *value;
  } cases[] = {
    { "'=SUM(A1)", "=SUM(A1)" },
    { "'+49 30 1234", "+49 30 1234" },
    { "'-5", "-5" },
    { "'@x", "@x" },
    { "'\tx", "\tx" },
    { "''=1", "'=1" },
    { "'  =1", "  =1" },
    { "'plain", "'plain" },
    { "'", "'" },
    { "=1", "=1" },
    { "", "" },
    { "O'Brien", "O'Brien" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *value = ed_csv_unneutralize (cases[i].read);

      g_assert_cmpstr (value, ==, cases[i].value);
    }
}

static void
test_writer_row (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *row[] = { "ann@example.com", NULL, "Smith, Ann", "=1" };
  const char *empty[] = { "" };

  ed_csv_append_row (out, row, G_N_ELEMENTS (row), ',');
  ed_csv_append_row (out, row, G_N_ELEMENTS (row), ';');
  ed_csv_append_row (out, empty, 1, ',');
  ed_csv_append_row (out, NULL, 0, ',');
  g_assert_cmpstr (out->str, ==,
                   "ann@example.com,,\"Smith, Ann\",'=1\r\n"
                   "ann@example.com;;Smith, Ann;'=1\r\n"
                   "\"\"\r\n"
                   "\r\n");
}

typedef struct
{
  GPtrArray *rows;   /* of GStrv, unneutralized */
} RoundTrip;

static gboolean
round_trip_row_cb (const EdCsvRow  *row,
                   gpointer         user_data,
                   GError         **error)
{
  RoundTrip *trip = user_data;
  GStrv values = g_new0 (char *, row->n_fields + 1);

  g_assert_cmpint (row->problem, ==, ED_CSV_ROW_PROBLEM_NONE);
  for (guint i = 0; i < row->n_fields; i++)
    values[i] = ed_csv_unneutralize (row->fields[i]);
  g_ptr_array_add (trip->rows, values);

  return TRUE;
}

static void
test_writer_round_trip (void)
{
  static const char * const header[] = { "email", "first_name", "last_name", "phone", "note" };
  static const char * const values[] = {
    "ann@example.com", "Ann", "O'Brien", "+49 30 1234", "=SUM(A1:A2)",
    "bob@example.com", "", " Bob ", "-1", "@home",
    "cid@example.com", "Jörg", "Müller; Söhne", "'+1", "say \"hi\", twice\r\nnew line",
    "dan@example.com", "\tTab", "Cr\r", "''", "'",
    "eve@example.com", "a,b;c\td", "\"", "  =1", "\n",
  };
  static const char separators[] = { ',', ';', '\t' };
  const guint n_columns = G_N_ELEMENTS (header);
  const guint n_rows = G_N_ELEMENTS (values) / n_columns;

  for (guint s = 0; s < G_N_ELEMENTS (separators); s++)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);
      g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
      g_autoptr(GError) error = NULL;
      RoundTrip trip = { rows };

      ed_csv_append_row (out, header, n_columns, separators[s]);
      for (guint r = 0; r < n_rows; r++)
        ed_csv_append_row (out, &values[r * n_columns], n_columns, separators[s]);

      /* detected from the header, as an import would */
      for (gsize i = 0; i < out->len; i++)
        g_assert_true (ed_csv_reader_feed (reader, out->str + i, 1, round_trip_row_cb, &trip, &error));
      g_assert_true (ed_csv_reader_finish (reader, round_trip_row_cb, &trip, &error));
      g_assert_no_error (error);
      g_assert_cmpint ((guchar) ed_csv_reader_get_separator (reader), ==, (guchar) separators[s]);

      g_assert_cmpuint (rows->len, ==, n_rows + 1);
      for (guint r = 0; r < n_rows; r++)
        {
          GStrv read = g_ptr_array_index (rows, r + 1);

          g_assert_cmpuint (g_strv_length (read), ==, n_columns);
          for (guint c = 0; c < n_columns; c++)
            g_assert_cmpstr (read[c], ==, values[r * n_columns + c]);
        }
    }
}

static void
test_columns_from_header (void)
{
  static const struct {
    const char    *header;
    EdGuestColumn  column;
  } cases[] = {
    { "email", ED_GUEST_COLUMN_EMAIL },
    { "E-Mail", ED_GUEST_COLUMN_EMAIL },
    { " EMAIL ", ED_GUEST_COLUMN_EMAIL },
    { "Email Address", ED_GUEST_COLUMN_EMAIL },
    { "e-mail address", ED_GUEST_COLUMN_EMAIL },
    { "email_address", ED_GUEST_COLUMN_EMAIL },
    { "EmailAddress", ED_GUEST_COLUMN_EMAIL },
    { "mail", ED_GUEST_COLUMN_EMAIL },
    { "Primary Email", ED_GUEST_COLUMN_EMAIL },
    { "E-Mail-Adresse", ED_GUEST_COLUMN_EMAIL },
    { "\xef\xbb\xbf" "email", ED_GUEST_COLUMN_EMAIL },
    { "e.mail", ED_GUEST_COLUMN_EMAIL },
    { "first name", ED_GUEST_COLUMN_FIRST_NAME },
    { "First_Name", ED_GUEST_COLUMN_FIRST_NAME },
    { "firstname", ED_GUEST_COLUMN_FIRST_NAME },
    { "Given Name", ED_GUEST_COLUMN_FIRST_NAME },
    { "forename", ED_GUEST_COLUMN_FIRST_NAME },
    { "First", ED_GUEST_COLUMN_FIRST_NAME },
    { "Vorname", ED_GUEST_COLUMN_FIRST_NAME },
    { "last name", ED_GUEST_COLUMN_LAST_NAME },
    { "LastName", ED_GUEST_COLUMN_LAST_NAME },
    { "Surname", ED_GUEST_COLUMN_LAST_NAME },
    { "family-name", ED_GUEST_COLUMN_LAST_NAME },
    { "last", ED_GUEST_COLUMN_LAST_NAME },
    { "NACHNAME", ED_GUEST_COLUMN_LAST_NAME },
    { "Name", ED_GUEST_COLUMN_FULL_NAME },
    { "Full name", ED_GUEST_COLUMN_FULL_NAME },
    { "guest name", ED_GUEST_COLUMN_FULL_NAME },
    { "Guest", ED_GUEST_COLUMN_FULL_NAME },
    { "Vollständiger Name", ED_GUEST_COLUMN_FULL_NAME },
    { "Vollsta\xcc\x88ndiger Name", ED_GUEST_COLUMN_FULL_NAME },   /* decomposed ä */
    { "id", ED_GUEST_COLUMN_IGNORED },
    { "status", ED_GUEST_COLUMN_IGNORED },
    { "party_size", ED_GUEST_COLUMN_IGNORED },
    { "Party size", ED_GUEST_COLUMN_IGNORED },
    { "waitlist_position", ED_GUEST_COLUMN_IGNORED },
    { "responded_at", ED_GUEST_COLUMN_IGNORED },
    { "Answered at", ED_GUEST_COLUMN_IGNORED },
    { "created_at", ED_GUEST_COLUMN_IGNORED },
    { "last_delivery_status", ED_GUEST_COLUMN_IGNORED },
    { "", ED_GUEST_COLUMN_IGNORED },
    { "  ", ED_GUEST_COLUMN_IGNORED },
    { "K\xf6ln", ED_GUEST_COLUMN_IGNORED },
    { "Phone", ED_GUEST_COLUMN_EXTRA },
    { "Company", ED_GUEST_COLUMN_EXTRA },
    { "emails sent", ED_GUEST_COLUMN_EXTRA },
    { "Firma", ED_GUEST_COLUMN_EXTRA },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      EdGuestColumn column = ed_guest_column_from_header (cases[i].header);

      if (column != cases[i].column)
        g_test_message ("case %u", i);
      g_assert_cmpstr (ed_guest_column_to_string (column), ==,
                       ed_guest_column_to_string (cases[i].column));
    }
}

static void
test_columns_to_string (void)
{
  g_assert_cmpstr (ed_guest_column_to_string (ED_GUEST_COLUMN_EMAIL), ==, "email");
  g_assert_cmpstr (ed_guest_column_to_string (ED_GUEST_COLUMN_FIRST_NAME), ==, "first_name");
  g_assert_cmpstr (ed_guest_column_to_string (ED_GUEST_COLUMN_LAST_NAME), ==, "last_name");
  g_assert_cmpstr (ed_guest_column_to_string (ED_GUEST_COLUMN_FULL_NAME), ==, "full_name");
  g_assert_cmpstr (ed_guest_column_to_string (ED_GUEST_COLUMN_IGNORED), ==, "ignored");
  g_assert_cmpstr (ed_guest_column_to_string (ED_GUEST_COLUMN_EXTRA), ==, "extra");
}

static void
test_columns_map_export (void)
{
  static const char * const headers[] = {
    "id", "email", "first_name", "last_name", "status", "party_size",
    "waitlist_position", "responded_at", "created_at", "Phone", " Table ", "",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(EdGuestColumnMap) map = ed_guest_column_map_new (headers, G_N_ELEMENTS (headers), &error);

  g_assert_no_error (error);
  g_assert_cmpint (map->email, ==, 1);
  g_assert_cmpint (map->first_name, ==, 2);
  g_assert_cmpint (map->last_name, ==, 3);
  g_assert_cmpint (map->full_name, ==, -1);
  g_assert_cmpuint (map->n_columns, ==, G_N_ELEMENTS (headers));
  g_assert_cmpint (map->kinds[0], ==, ED_GUEST_COLUMN_IGNORED);
  g_assert_cmpint (map->kinds[8], ==, ED_GUEST_COLUMN_IGNORED);
  g_assert_cmpint (map->kinds[9], ==, ED_GUEST_COLUMN_EXTRA);
  g_assert_cmpstr (map->names[9], ==, "Phone");
  g_assert_cmpint (map->kinds[10], ==, ED_GUEST_COLUMN_EXTRA);
  g_assert_cmpstr (map->names[10], ==, "Table");
  g_assert_cmpint (map->kinds[11], ==, ED_GUEST_COLUMN_IGNORED);
}

static void
test_columns_map_full_name (void)
{
  g_autoptr(GError) error = NULL;

  {
    static const char * const headers[] = { "\xef\xbb\xbfName", "E-Mail", "Phone" };
    g_autoptr(EdGuestColumnMap) map = ed_guest_column_map_new (headers, G_N_ELEMENTS (headers), &error);

    g_assert_no_error (error);
    g_assert_cmpint (map->full_name, ==, 0);
    g_assert_cmpstr (map->names[0], ==, "Name");
    g_assert_cmpint (map->email, ==, 1);
    g_assert_cmpint (map->first_name, ==, -1);
  }

  /* a name column next to first and last names keeps its data as an extra */
  {
    static const char * const headers[] = { "First name", "Last name", "Name", "Email" };
    g_autoptr(EdGuestColumnMap) map = ed_guest_column_map_new (headers, G_N_ELEMENTS (headers), &error);

    g_assert_no_error (error);
    g_assert_cmpint (map->full_name, ==, -1);
    g_assert_cmpint (map->first_name, ==, 0);
    g_assert_cmpint (map->last_name, ==, 1);
    g_assert_cmpint (map->kinds[2], ==, ED_GUEST_COLUMN_EXTRA);
    g_assert_cmpstr (map->names[2], ==, "Name");
  }
}

static void
test_columns_map_errors (void)
{
  static const struct {
    const char *headers[5];
    const char *message;
  } cases[] = {
    { { "Name", "Phone", "Company" },
      "no column holds email addresses; the columns are: Name, Phone, Company" },
    { { "", "" },
      "no column holds email addresses; the header row is empty" },
    { { "E-Mail", "Name", "Mail" },
      "two columns hold email addresses: “E-Mail” (column 1) and “Mail” (column 3)" },
    { { "email", "Vorname", "First name" },
      "two columns hold first names: “Vorname” (column 2) and “First name” (column 3)" },
    { { "Name", "email", "Guest" },
      "two columns hold full names: “Name” (column 1) and “Guest” (column 3)" },
    { { "email", "Phone", "phone " },
      "two columns are both called “phone”: columns 2 and 3" },
    { { "email", "K\xf6ln" },
      "the header of column 2 is not valid UTF-8 text; save the file as “CSV UTF-8”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EdGuestColumnMap) map = NULL;
      guint n = 0;

      while (n < G_N_ELEMENTS (cases[i].headers) && cases[i].headers[n] != NULL)
        n++;
      map = ed_guest_column_map_new (cases[i].headers, n, &error);
      g_assert_null (map);
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_columns_map_many (void)
{
  g_autoptr(GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(EdGuestColumnMap) map = NULL;

  for (guint i = 0; i < 30; i++)
    g_ptr_array_add (headers, g_strdup_printf ("c%u", i));
  map = ed_guest_column_map_new ((const char * const *) headers->pdata, headers->len, &error);
  g_assert_null (map);
  g_assert_nonnull (strstr (error->message, "the columns are: c0, c1, c2"));
  g_assert_true (g_str_has_suffix (error->message, "c19, …"));
}

typedef struct
{
  EdGuestColumnMap *map;
  GPtrArray        *guests;
} Import;

static gboolean
import_row_cb (const EdCsvRow  *row,
               gpointer         user_data,
               GError         **error)
{
  Import *import = user_data;

  if (import->map == NULL)
    {
      import->map = ed_guest_column_map_new ((const char * const *) row->fields, row->n_fields, error);
      return import->map != NULL;
    }

  g_ptr_array_add (import->guests,
                   g_strdup_printf ("%s|%s|%s",
                                    row->fields[import->map->email],
                                    row->fields[import->map->first_name],
                                    row->fields[import->map->last_name]));
  return TRUE;
}

/* The German Excel file, read and mapped as the importer will. */
static void
test_columns_german_file (void)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "data", "csv", "german-header.csv", NULL);
  g_autoptr(EdCsvReader) reader = ed_csv_reader_new (CORPUS_MAX_FIELD);
  g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  Import import = { NULL, guests };
  gsize len;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  g_assert_true (ed_csv_reader_feed (reader, data, len, import_row_cb, &import, &error));
  g_assert_true (ed_csv_reader_finish (reader, import_row_cb, &import, &error));
  g_assert_no_error (error);

  g_assert_cmpint (import.map->email, ==, 2);
  g_assert_cmpuint (guests->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (guests, 0), ==, "joerg@example.de|Jörg|Müller");
  g_assert_cmpstr (g_ptr_array_index (guests, 1), ==, "aenne@example.de|Änne|Groß");
  ed_guest_column_map_free (import.map);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
add_corpus_tests (void)
{
  /* g_test_get_filename() only works inside a test */
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "data", "csv", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".csv"))
      g_ptr_array_add (names, g_strndup (name, strlen (name) - strlen (".csv")));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_strconcat ("/csv/reader/corpus/", g_ptr_array_index (names, i), NULL);

      g_test_add_data_func_full (path, g_ptr_array_index (names, i), test_reader_corpus_file, g_free);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  add_corpus_tests ();
  g_test_add_func ("/csv/reader/fuzz-corpus", test_reader_fuzz_corpus);
  g_test_add_func ("/csv/reader/huge-field", test_reader_huge_field);
  g_test_add_func ("/csv/reader/huge-field-whole", test_reader_huge_field_whole);
  g_test_add_func ("/csv/reader/long-header", test_reader_long_header);
  g_test_add_func ("/csv/reader/bom-only-at-start", test_reader_bom_only_at_start);
  g_test_add_func ("/csv/reader/set-separator", test_reader_set_separator);
  g_test_add_func ("/csv/reader/partial-bom", test_reader_partial_bom);
  g_test_add_func ("/csv/reader/callback-error", test_reader_callback_error);
  g_test_add_func ("/csv/reader/throughput", test_reader_throughput);
  g_test_add_func ("/csv/writer/field", test_writer_field);
  g_test_add_func ("/csv/writer/neutralize", test_writer_neutralize);
  g_test_add_func ("/csv/writer/unneutralize", test_writer_unneutralize);
  g_test_add_func ("/csv/writer/row", test_writer_row);
  g_test_add_func ("/csv/writer/round-trip", test_writer_round_trip);
  g_test_add_func ("/csv/columns/from-header", test_columns_from_header);
  g_test_add_func ("/csv/columns/to-string", test_columns_to_string);
  g_test_add_func ("/csv/columns/map-export", test_columns_map_export);
  g_test_add_func ("/csv/columns/map-full-name", test_columns_map_full_name);
  g_test_add_func ("/csv/columns/map-errors", test_columns_map_errors);
  g_test_add_func ("/csv/columns/map-many", test_columns_map_many);
  g_test_add_func ("/csv/columns/german-file", test_columns_german_file);

  return g_test_run ();
}
