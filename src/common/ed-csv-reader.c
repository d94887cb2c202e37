/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-csv-reader.h"
#include "ed-error.h"

/* A push parser for RFC 4180 CSV: the caller feeds chunks split anywhere and
 * gets whole records through a callback. Memory is bounded: a field keeps at
 * most max_field_bytes, a row at most ED_CSV_READER_MAX_FIELDS fields, and
 * until the separator is known at most HEAD_LIMIT bytes are held back.
 *
 * Departures from RFC 4180, chosen to read what spreadsheets write:
 * - a quote inside an unquoted field is a literal character (5'11" tall);
 * - text after the closing quote of a field joins the field ("a"b is ab);
 * - CRLF, LF and a lone CR all end a line;
 * - a line with nothing on it is skipped, though still counted.
 */

/* The header ends within this many bytes, or the separator is chosen from
 * what was seen so far.
 */
#define HEAD_LIMIT (64 * 1024)

/* Above this the record buffer goes back to its starting size after a row,
 * so one wide row does not pin its memory for the rest of the import.
 */
#define BUFFER_KEEP (256 * 1024)
#define BUFFER_START 4096

static const guchar bom[3] = { 0xef, 0xbb, 0xbf };

typedef enum
{
  STATE_FIELD_START,      /* nothing of the field read yet */
  STATE_UNQUOTED,
  STATE_QUOTED,
  STATE_QUOTED_CR,        /* a CR inside quotes: an LF right after is the same line break */
  STATE_QUOTE_IN_QUOTED,  /* a quote inside quotes: doubled, or the end of the quoted part */
  STATE_AFTER_CR,         /* a CR ended the record: an LF right after belongs to it */
} State;

/* Bytes that stop the fast scan of a run, per kind of field. */
enum
{
  STOP_UNQUOTED = 1 << 0,
  STOP_QUOTED = 1 << 1,
};

struct _EdCsvReader
{
  /* settings */
  gsize            max_field_bytes;
  char             separator;        /* 0 until known */
  guint8           stops[256];

  /* before the separator is known */
  guint            bom_matched;
  gboolean         bom_done;
  GByteArray      *head;
  gboolean         head_in_quote;
  gboolean         head_quote_seen;
  gboolean         head_field_start;
  gboolean         head_has_content;
  guint            head_counts[3];   /* comma, semicolon, tab outside quotes */

  /* position */
  State            state;
  guint64          line;
  guint64          record_line;
  guint64          quote_line;
  gboolean         record_open;
  gboolean         record_quoted;

  /* the record being read: fields NUL-terminated one after the other */
  char            *buf;
  gsize            buf_len;
  gsize            buf_alloc;
  gsize           *starts;
  char           **fields;
  guint            n_stored;
  guint64          n_total;
  gsize            field_start;
  gsize            field_room;
  guchar           field_bits;       /* OR of the field's bytes: 0x80 set when not ASCII */
  EdCsvRowProblem  problem;
  char            *problem_detail;

  gboolean         stopped;
};

static void
set_problem (EdCsvReader     *self,
             EdCsvRowProblem  problem,
             char            *detail)
{
  if (self->problem != ED_CSV_ROW_PROBLEM_NONE &&
      problem != ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE)
    {
      g_free (detail);
      return;
    }

  self->problem = problem;
  g_free (self->problem_detail);
  self->problem_detail = detail;
}

static inline guint64
current_column (EdCsvReader *self)
{
  return self->n_total + 1;
}

static void
grow_buffer (EdCsvReader *self,
             gsize        needed)
{
  gsize alloc = MAX (self->buf_alloc, BUFFER_START);

  while (alloc < needed)
    alloc *= 2;
  self->buf = g_realloc (self->buf, alloc);
  self->buf_alloc = alloc;
}

/* Appends to the current field what fits in it; the rest is dropped, and the
 * row gets a problem unless the field is one past the cap, which is reported
 * at the end of the row.
 */
static inline void
append (EdCsvReader  *self,
        const guchar *data,
        gsize         len)
{
  if (G_UNLIKELY (len > self->field_room))
    {
      if (self->n_stored < ED_CSV_READER_MAX_FIELDS)
        set_problem (self, ED_CSV_ROW_PROBLEM_FIELD_TOO_LONG,
                     g_strdup_printf ("column %" G_GUINT64_FORMAT " is longer than %" G_GSIZE_FORMAT " bytes",
                                      current_column (self), self->max_field_bytes));
      len = self->field_room;
    }
  if (len == 0)
    return;

  /* one byte more for the field's terminating NUL */
  if (G_UNLIKELY (self->buf_len + len + 1 > self->buf_alloc))
    grow_buffer (self, self->buf_len + len + 1);
  memcpy (self->buf + self->buf_len, data, len);
  self->buf_len += len;
  self->field_room -= len;
}

static inline void
append_byte (EdCsvReader *self,
             guchar       c)
{
  self->field_bits |= c;
  append (self, &c, 1);
}

static void
found_nul (EdCsvReader *self)
{
  set_problem (self, ED_CSV_ROW_PROBLEM_NUL_BYTE,
               g_strdup_printf ("column %" G_GUINT64_FORMAT " contains a NUL byte (is this a spreadsheet file rather than CSV?)",
                                current_column (self)));
}

static void
end_field (EdCsvReader *self)
{
  if (self->n_stored < ED_CSV_READER_MAX_FIELDS)
    {
      const char *field = self->buf + self->field_start;
      gsize len = self->buf_len - self->field_start;

      if (self->buf_len + 1 > self->buf_alloc)
        grow_buffer (self, self->buf_len + 1);
      self->buf[self->buf_len++] = '\0';
      self->starts[self->n_stored++] = self->field_start;

      if ((self->field_bits & 0x80) != 0 &&
          self->problem == ED_CSV_ROW_PROBLEM_NONE &&
          !g_utf8_validate (field, len, NULL))
        set_problem (self, ED_CSV_ROW_PROBLEM_INVALID_UTF8,
                     g_strdup_printf ("column %" G_GUINT64_FORMAT " is not valid UTF-8 text; save the file as “CSV UTF-8”",
                                      current_column (self)));
    }

  self->n_total++;
  if (self->n_total == ED_CSV_READER_MAX_FIELDS + 1)
    set_problem (self, ED_CSV_ROW_PROBLEM_TOO_MANY_FIELDS, NULL);

  self->field_start = self->buf_len;
  self->field_room = self->n_stored < ED_CSV_READER_MAX_FIELDS ? self->max_field_bytes : 0;
  self->field_bits = 0;
}

static gboolean
end_record (EdCsvReader   *self,
            EdCsvRowFunc   func,
            gpointer       user_data,
            GError       **error)
{
  gboolean blank;
  gboolean ret = TRUE;

  end_field (self);

  blank = self->n_total == 1 && self->buf[0] == '\0' && !self->record_quoted &&
          self->problem == ED_CSV_ROW_PROBLEM_NONE;
  if (!blank)
    {
      g_autoptr(GError) local_error = NULL;
      EdCsvRow row;

      if (self->problem == ED_CSV_ROW_PROBLEM_TOO_MANY_FIELDS && self->problem_detail == NULL)
        self->problem_detail = g_strdup_printf ("the row has %" G_GUINT64_FORMAT " columns, more than the %u allowed",
                                                self->n_total, ED_CSV_READER_MAX_FIELDS);

      for (guint i = 0; i < self->n_stored; i++)
        self->fields[i] = self->buf + self->starts[i];
      self->fields[self->n_stored] = NULL;

      row.line = self->record_line;
      row.n_fields = self->n_stored;
      row.fields = self->fields;
      row.problem = self->problem;
      row.problem_detail = self->problem_detail;

      if (!func (&row, user_data, &local_error))
        {
          if (local_error == NULL)
            g_set_error (&local_error, ED_ERROR, ED_ERROR_INVALID,
                         "reading stopped at the row on line %" G_GUINT64_FORMAT, row.line);
          g_propagate_error (error, g_steal_pointer (&local_error));
          self->stopped = TRUE;
          ret = FALSE;
        }
    }

  if (self->buf_alloc > BUFFER_KEEP)
    {
      g_free (self->buf);
      self->buf = g_malloc (BUFFER_START);
      self->buf_alloc = BUFFER_START;
    }
  self->buf_len = 0;
  self->n_stored = 0;
  self->n_total = 0;
  self->field_start = 0;
  self->field_room = self->max_field_bytes;
  self->field_bits = 0;
  self->problem = ED_CSV_ROW_PROBLEM_NONE;
  g_clear_pointer (&self->problem_detail, g_free);
  self->record_open = FALSE;
  self->record_quoted = FALSE;
  self->record_line = self->line;

  return ret;
}

static gboolean
parse (EdCsvReader   *self,
       const guchar  *p,
       const guchar  *end,
       EdCsvRowFunc   func,
       gpointer       user_data,
       GError       **error)
{
  const guint8 *stops = self->stops;
  const guchar sep = (guchar) self->separator;
  State state = self->state;

  g_assert (sep != 0);

  while (p < end)
    {
      switch (state)
        {
        case STATE_FIELD_START:
          self->record_open = TRUE;
          if (*p == '"')
            {
              p++;
              self->record_quoted = TRUE;
              self->quote_line = self->line;
              state = STATE_QUOTED;
              break;
            }
          state = STATE_UNQUOTED;
          G_GNUC_FALLTHROUGH;

        case STATE_UNQUOTED:
          {
            const guchar *run = p;
            guchar bits = 0;
            guchar c;

            while (p < end && (stops[*p] & STOP_UNQUOTED) == 0)
              bits |= *p++;
            self->field_bits |= bits;
            if (p > run)
              append (self, run, p - run);
            if (p == end)
              break;

            c = *p++;
            if (c == sep)
              {
                end_field (self);
                state = STATE_FIELD_START;
              }
            else if (c == '\n' || c == '\r')
              {
                self->line++;
                state = c == '\r' ? STATE_AFTER_CR : STATE_FIELD_START;
                if (!end_record (self, func, user_data, error))
                  goto stop;
              }
            else
              {
                g_assert (c == '\0');
                found_nul (self);
              }
          }
          break;

        case STATE_QUOTED:
          {
            const guchar *run = p;
            guchar bits = 0;
            guchar c;

            while (p < end && (stops[*p] & STOP_QUOTED) == 0)
              bits |= *p++;
            self->field_bits |= bits;
            if (p > run)
              append (self, run, p - run);
            if (p == end)
              break;

            c = *p++;
            if (c == '"')
              {
                state = STATE_QUOTE_IN_QUOTED;
              }
            else if (c == '\n' || c == '\r')
              {
                append_byte (self, c);
                self->line++;
                if (c == '\r')
                  state = STATE_QUOTED_CR;
              }
            else
              {
                g_assert (c == '\0');
                found_nul (self);
              }
          }
          break;

        case STATE_QUOTED_CR:
          if (*p == '\n')
            {
              append_byte (self, '\n');
              p++;
            }
          state = STATE_QUOTED;
          break;

        case STATE_QUOTE_IN_QUOTED:
          if (*p == '"')
            {
              append_byte (self, '"');
              p++;
              state = STATE_QUOTED;
            }
          else
            {
              state = STATE_UNQUOTED;
            }
          break;

        case STATE_AFTER_CR:
          if (*p == '\n')
            p++;
          state = STATE_FIELD_START;
          break;

        default:
          g_assert_not_reached ();
        }
    }

  self->state = state;
  return TRUE;

stop:
  self->state = state;
  return FALSE;
}

static void
use_separator (EdCsvReader *self,
               char         separator)
{
  self->separator = separator;
  memset (self->stops, 0, sizeof self->stops);
  self->stops[(guchar) separator] |= STOP_UNQUOTED;
  self->stops['\r'] |= STOP_UNQUOTED | STOP_QUOTED;
  self->stops['\n'] |= STOP_UNQUOTED | STOP_QUOTED;
  self->stops['\0'] |= STOP_UNQUOTED | STOP_QUOTED;
  self->stops['"'] |= STOP_QUOTED;
}

/* Follows the header (the first record that is not blank) far enough to
 * count the candidate separators outside quotes. A quote opens a quoted part
 * only at the start of a field, which here is after any candidate.
 *
 * Returns: how many bytes of @data belong to the header, or @len when the
 * header goes on past them
 */
static gsize
scan_head (EdCsvReader  *self,
           const guchar *data,
           gsize         len,
           gboolean     *complete)
{
  *complete = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      guchar c = data[i];

      if (self->head_in_quote)
        {
          if (!self->head_quote_seen)
            {
              if (c == '"')
                self->head_quote_seen = TRUE;
              continue;
            }
          self->head_quote_seen = FALSE;
          if (c == '"')
            continue;
          self->head_in_quote = FALSE;
        }

      switch (c)
        {
        case '"':
          if (self->head_field_start)
            self->head_in_quote = TRUE;
          self->head_field_start = FALSE;
          self->head_has_content = TRUE;
          break;

        case ',':
        case ';':
        case '\t':
          self->head_counts[c == ',' ? 0 : c == ';' ? 1 : 2]++;
          self->head_field_start = TRUE;
          self->head_has_content = TRUE;
          break;

        case '\r':
        case '\n':
          if (self->head_has_content)
            {
              *complete = TRUE;
              return i + 1;
            }
          self->head_field_start = TRUE;
          break;

        default:
          self->head_field_start = FALSE;
          self->head_has_content = TRUE;
          break;
        }
    }

  return len;
}

static char
choose_separator (EdCsvReader *self)
{
  static const char candidates[3] = { ',', ';', '\t' };
  guint best = 0;

  /* ties go to the earlier candidate */
  for (guint i = 1; i < G_N_ELEMENTS (candidates); i++)
    if (self->head_counts[i] > self->head_counts[best])
      best = i;

  return candidates[best];
}

static gboolean
flush_head (EdCsvReader   *self,
            EdCsvRowFunc   func,
            gpointer       user_data,
            GError       **error)
{
  g_autoptr(GByteArray) head = g_steal_pointer (&self->head);

  use_separator (self, choose_separator (self));
  if (head->len == 0)
    return TRUE;
  return parse (self, head->data, head->data + head->len, func, user_data, error);
}

static gboolean
feed_after_bom (EdCsvReader   *self,
                const guchar  *data,
                gsize          len,
                EdCsvRowFunc   func,
                gpointer       user_data,
                GError       **error)
{
  if (self->separator == 0)
    {
      gboolean complete;
      gsize room = HEAD_LIMIT - self->head->len;
      gsize taken = scan_head (self, data, MIN (len, room), &complete);

      g_byte_array_append (self->head, data, taken);
      if (!complete && self->head->len < HEAD_LIMIT)
        return TRUE;

      if (!flush_head (self, func, user_data, error))
        return FALSE;
      data += taken;
      len -= taken;
    }

  return parse (self, data, data + len, func, user_data, error);
}

/* The bytes that began like a byte-order mark but turned out not to be
 * one, or the input ended first, are data.
 */
static gboolean
feed_partial_bom (EdCsvReader   *self,
                  EdCsvRowFunc   func,
                  gpointer       user_data,
                  GError       **error)
{
  /* nothing but these bytes has come yet, so nothing is held back */
  g_assert (!self->bom_done && self->bom_matched < sizeof bom);
  g_assert (self->separator != 0 || self->head->len == 0);

  self->bom_done = TRUE;
  return feed_after_bom (self, bom, self->bom_matched, func, user_data, error);
}

/**
 * ed_csv_reader_new:
 * @max_field_bytes: the longest field kept, in bytes; longer ones are cut
 *   and their row gets %ED_CSV_ROW_PROBLEM_FIELD_TOO_LONG
 *
 * Returns: (transfer full): a reader that detects the separator from the
 *   header line
 */
EdCsvReader *
ed_csv_reader_new (gsize max_field_bytes)
{
  EdCsvReader *self;

  g_return_val_if_fail (max_field_bytes > 0, NULL);
  g_return_val_if_fail (max_field_bytes <= G_MAXSIZE / (2 * (ED_CSV_READER_MAX_FIELDS + 1)), NULL);

  self = g_new0 (EdCsvReader, 1);
  self->max_field_bytes = max_field_bytes;
  self->head = g_byte_array_new ();
  self->head_field_start = TRUE;
  self->state = STATE_FIELD_START;
  self->line = 1;
  self->record_line = 1;
  self->buf = g_malloc (BUFFER_START);
  self->buf_alloc = BUFFER_START;
  self->starts = g_new (gsize, ED_CSV_READER_MAX_FIELDS + 1);
  self->fields = g_new (char *, ED_CSV_READER_MAX_FIELDS + 1);
  self->field_room = max_field_bytes;

  return self;
}

void
ed_csv_reader_free (EdCsvReader *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->head, g_byte_array_unref);
  g_free (self->buf);
  g_free (self->starts);
  g_free (self->fields);
  g_free (self->problem_detail);
  g_free (self);
}

/**
 * ed_csv_reader_set_separator:
 * @separator: `,`, `;` or a tab
 *
 * Skips the detection of the separator. Call it before the first feed.
 */
void
ed_csv_reader_set_separator (EdCsvReader *self,
                             char         separator)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (separator == ',' || separator == ';' || separator == '\t');
  g_return_if_fail (self->separator == 0 && self->head != NULL && self->head->len == 0);
  g_return_if_fail (self->bom_matched == 0 && !self->bom_done);

  g_clear_pointer (&self->head, g_byte_array_unref);
  use_separator (self, separator);
}

/**
 * ed_csv_reader_get_separator:
 *
 * Returns: the separator in use, or 0 while the header line is still being
 *   read; known by the time the first row is handed out
 */
char
ed_csv_reader_get_separator (EdCsvReader *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->separator;
}

/**
 * ed_csv_reader_feed:
 * @data: the next bytes of the input, split anywhere
 * @len: the length of @data
 * @func: called for each complete record, in order
 * @user_data: passed to @func
 * @error: where @func's error goes
 *
 * Returns: %FALSE when @func stopped the parse; the reader cannot be fed
 *   any more then
 */
gboolean
ed_csv_reader_feed (EdCsvReader   *self,
                    const char    *data,
                    gsize          len,
                    EdCsvRowFunc   func,
                    gpointer       user_data,
                    GError       **error)
{
  const guchar *p = (const guchar *) data;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (!self->stopped, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len == 0)
    return TRUE;

  /* A byte-order mark is dropped only at the very start, and may arrive
   * one byte at a time; bytes that turn out not to be one are data.
   */
  while (!self->bom_done && len > 0)
    {
      if (*p == bom[self->bom_matched])
        {
          p++;
          len--;
          if (++self->bom_matched == sizeof bom)
            self->bom_done = TRUE;
          continue;
        }

      if (!feed_partial_bom (self, func, user_data, error))
        return FALSE;
    }

  return feed_after_bom (self, p, len, func, user_data, error);
}

/**
 * ed_csv_reader_finish:
 * @func: called for the last record, if the input does not end with a
 *   line break
 * @user_data: passed to @func
 * @error: where @func's error goes
 *
 * Ends the input. A quoted field still open becomes the last row, with
 * %ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE. The reader cannot be fed after.
 *
 * Returns: %FALSE when @func stopped the parse
 */
gboolean
ed_csv_reader_finish (EdCsvReader   *self,
                      EdCsvRowFunc   func,
                      gpointer       user_data,
                      GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (!self->stopped, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->stopped = TRUE;

  if (!self->bom_done)
    {
      if (!feed_partial_bom (self, func, user_data, error))
        return FALSE;
    }

  if (self->separator == 0 && !flush_head (self, func, user_data, error))
    return FALSE;

  switch (self->state)
    {
    case STATE_FIELD_START:
      if (!self->record_open)
        return TRUE;
      break;

    case STATE_QUOTED:
    case STATE_QUOTED_CR:
      set_problem (self, ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE,
                   g_strdup_printf ("the quote opened on line %" G_GUINT64_FORMAT " is never closed",
                                    self->quote_line));
      break;

    case STATE_UNQUOTED:
    case STATE_QUOTE_IN_QUOTED:
      break;

    case STATE_AFTER_CR:
      return TRUE;

    default:
      g_assert_not_reached ();
    }

  self->state = STATE_FIELD_START;
  return end_record (self, func, user_data, error);
}

/**
 * ed_csv_row_problem_to_string:
 *
 * Returns: a stable code for @problem, for import reports
 */
const char *
ed_csv_row_problem_to_string (EdCsvRowProblem problem)
{
  switch (problem)
    {
    case ED_CSV_ROW_PROBLEM_NONE:
      return "none";
    case ED_CSV_ROW_PROBLEM_FIELD_TOO_LONG:
      return "field-too-long";
    case ED_CSV_ROW_PROBLEM_TOO_MANY_FIELDS:
      return "too-many-fields";
    case ED_CSV_ROW_PROBLEM_NUL_BYTE:
      return "nul-byte";
    case ED_CSV_ROW_PROBLEM_INVALID_UTF8:
      return "invalid-utf8";
    case ED_CSV_ROW_PROBLEM_UNTERMINATED_QUOTE:
      return "unterminated-quote";
    default:
      g_return_val_if_reached (NULL);
    }
}
