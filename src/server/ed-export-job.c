/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-csv-writer.h"
#include "ed-error.h"
#include "ed-export-job.h"

/* One CSV export of a guest list: a worker thread with its own connection
 * reads the guests in key-paged batches and writes them as CSV chunks into
 * a short queue; the main loop hands the chunks to the HTTP response as the
 * client takes them. The worker waits while the queue is full, so a slow
 * client costs neither memory nor a long read transaction.
 *
 * Columns: email, first_name, last_name, one column per extra field any
 * guest of the event has (names that differ only in case share one), then
 * status, party_size, waitlist_position, responded_at and
 * last_delivery_status, the state of the guest's latest message. Values a
 * spreadsheet would run as a formula get a leading apostrophe
 * (ed_csv_append_field()), which the import takes off again.
 */

#define BATCH_ROWS 5000
#define CHUNK_BYTES (64 * 1024)
#define QUEUE_MAX_CHUNKS 8

/* UTF-8 byte-order mark: without it, Excel reads a CSV file in the
 * computer's legacy code page and mangles every accent.
 */
#define BOM "\xef\xbb\xbf"

static const char * const leading_columns[] = { "email", "first_name", "last_name" };
static const char * const trailing_columns[] = {
  "status", "party_size", "waitlist_position", "responded_at", "last_delivery_status",
};

typedef struct
{
  char      *name;      /* as the first guest that has it spells it */
  GPtrArray *spellings; /* every key that folds to the same name */
} ExtraColumn;

struct _EdExportJob
{
  /* set once */
  char              *db_path;
  gint64             event_id;
  EdGuestQuery       query;
  char              *q;
  GMainContext      *main_context;

  /* main context only */
  EdExportReadyFunc  ready_func;
  gpointer           ready_data;

  /* guarded by mutex */
  GMutex             mutex;
  GCond              cond;
  GQueue             chunks;       /* GBytes */
  gboolean           consumer_waiting;
  gboolean           cancelled;
  gboolean           finished;
};

/* Worker-only state of one run. */
typedef struct
{
  EdExportJob *job;
  GPtrArray   *columns;   /* ExtraColumn */
  GString     *out;
  GString     *extra_text;
  GPtrArray   *keys;
  GPtrArray   *values;
  GPtrArray   *fields;    /* const char *, one row */
  gint64       n_rows;
  gboolean     stopped;
} Writer;

static void
extra_column_free (ExtraColumn *column)
{
  g_free (column->name);
  g_ptr_array_unref (column->spellings);
  g_free (column);
}

static void
ed_export_job_free (EdExportJob *self)
{
  g_queue_clear_full (&self->chunks, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_free (self->db_path);
  g_free (self->q);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
}

EdExportJob *
ed_export_job_new (const char         *db_path,
                   gint64              event_id,
                   const EdGuestQuery *query)
{
  EdExportJob *self = g_atomic_rc_box_new0 (EdExportJob);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  g_queue_init (&self->chunks);
  self->db_path = g_strdup (db_path);
  self->event_id = event_id;
  self->query = *query;
  self->q = g_strdup (query->query);
  self->query.query = self->q;
  self->main_context = g_main_context_ref_thread_default ();

  return self;
}

EdExportJob *
ed_export_job_ref (EdExportJob *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
ed_export_job_unref (EdExportJob *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify) ed_export_job_free);
}

void
ed_export_job_set_ready_func (EdExportJob       *self,
                              EdExportReadyFunc  func,
                              gpointer           user_data)
{
  self->ready_func = func;
  self->ready_data = user_data;
}

static gboolean
ready_cb (gpointer user_data)
{
  EdExportJob *self = user_data;

  if (self->ready_func != NULL)
    self->ready_func (self->ready_data);

  return G_SOURCE_REMOVE;
}

/* Tells the consumer, if it is waiting, that there is more (or the end). */
static void
wake_consumer_locked (EdExportJob *self)
{
  if (!self->consumer_waiting)
    return;

  self->consumer_waiting = FALSE;
  g_main_context_invoke_full (self->main_context, G_PRIORITY_DEFAULT, ready_cb,
                              ed_export_job_ref (self), (GDestroyNotify) ed_export_job_unref);
}

/**
 * ed_export_job_take_chunk:
 *
 * Returns: (transfer full) (nullable): the next chunk of CSV; %NULL when
 *   none is ready, and then the ready function is called once one is (or
 *   once the job has finished)
 */
GBytes *
ed_export_job_take_chunk (EdExportJob *self)
{
  GBytes *chunk;

  g_mutex_lock (&self->mutex);
  chunk = g_queue_pop_head (&self->chunks);
  if (chunk == NULL)
    self->consumer_waiting = !self->finished;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  return chunk;
}

/* Stops the worker after the row in progress. */
void
ed_export_job_cancel (EdExportJob *self)
{
  g_mutex_lock (&self->mutex);
  self->cancelled = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

/* Waits at most @timeout_us for the worker to be done with the database. */
gboolean
ed_export_job_wait (EdExportJob *self,
                    gint64       timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  gboolean finished;

  g_mutex_lock (&self->mutex);
  while (!self->finished)
    if (!g_cond_wait_until (&self->cond, &self->mutex, deadline))
      break;
  finished = self->finished;
  g_mutex_unlock (&self->mutex);

  return finished;
}

/* Worker: queues what was written so far; waits while the queue is full. */
static gboolean
flush (Writer   *writer,
       gboolean  force)
{
  EdExportJob *self = writer->job;
  gboolean cancelled;

  if (writer->out->len == 0 || (!force && writer->out->len < CHUNK_BYTES))
    return !writer->stopped;

  g_mutex_lock (&self->mutex);
  while (g_queue_get_length (&self->chunks) >= QUEUE_MAX_CHUNKS && !self->cancelled)
    g_cond_wait (&self->cond, &self->mutex);
  cancelled = self->cancelled;
  if (!cancelled)
    {
      g_queue_push_tail (&self->chunks, g_bytes_new (writer->out->str, writer->out->len));
      wake_consumer_locked (self);
    }
  g_mutex_unlock (&self->mutex);

  g_string_truncate (writer->out, 0);
  writer->stopped = cancelled;
  return !cancelled;
}

static char *
skip_space (char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static int
hex_value (char c)
{
  return g_ascii_xdigit_value (c);
}

static gboolean
read_hex4 (const char *p,
           gunichar   *value)
{
  *value = 0;
  for (guint i = 0; i < 4; i++)
    {
      int digit = hex_value (p[i]);

      if (digit < 0)
        return FALSE;
      *value = (*value << 4) | (gunichar) digit;
    }

  return TRUE;
}

/* Decodes the JSON string starting at the quote *@p in place: the text is
 * never longer than its escaped form. Leaves @p after the closing quote.
 */
static char *
decode_string (char **p)
{
  char *r = *p;
  char *w;
  char *start;

  if (*r != '"')
    return NULL;
  start = w = ++r;

  while (*r != '"')
    {
      if (*r == '\0')
        return NULL;
      if (*r != '\\')
        {
          *w++ = *r++;
          continue;
        }

      r++;
      switch (*r)
        {
        case '"': case '\\': case '/':
          *w++ = *r++;
          break;
        case 'b': *w++ = '\b'; r++; break;
        case 'f': *w++ = '\f'; r++; break;
        case 'n': *w++ = '\n'; r++; break;
        case 'r': *w++ = '\r'; r++; break;
        case 't': *w++ = '\t'; r++; break;
        case 'u':
          {
            gunichar c, low;

            if (!read_hex4 (r + 1, &c))
              return NULL;
            r += 5;
            if (c >= 0xd800 && c < 0xdc00)
              {
                if (r[0] != '\\' || r[1] != 'u' || !read_hex4 (r + 2, &low) ||
                    low < 0xdc00 || low >= 0xe000)
                  return NULL;
                c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                r += 6;
              }
            else if (c >= 0xdc00 && c < 0xe000)
              return NULL;
            if (c == 0)
              return NULL;
            w += g_unichar_to_utf8 (c, w);
          }
          break;
        default:
          return NULL;
        }
    }

  *w = '\0';
  *p = r + 1;
  return start;
}

/**
 * ed_export_parse_extra:
 * @json: a guest's extra fields as stored; decoded in place
 * @keys: (element-type utf8): receives the member names, pointing into @json
 * @values: (element-type utf8): receives their values, likewise
 *
 * Reads a flat JSON object of strings, which is what the store holds,
 * without allocating.
 *
 * Returns: %FALSE when @json is anything else
 */
gboolean
ed_export_parse_extra (char      *json,
                       GPtrArray *keys,
                       GPtrArray *values)
{
  char *p = skip_space (json);

  g_ptr_array_set_size (keys, 0);
  g_ptr_array_set_size (values, 0);

  if (*p++ != '{')
    return FALSE;
  p = skip_space (p);
  if (*p == '}')
    return *skip_space (p + 1) == '\0';

  for (;;)
    {
      char *key, *value;

      if (!(key = decode_string (&p)))
        return FALSE;
      p = skip_space (p);
      if (*p++ != ':')
        return FALSE;
      p = skip_space (p);
      if (!(value = decode_string (&p)))
        return FALSE;
      g_ptr_array_add (keys, key);
      g_ptr_array_add (values, value);

      p = skip_space (p);
      if (*p == '}')
        return *skip_space (p + 1) == '\0';
      if (*p++ != ',')
        return FALSE;
      p = skip_space (p);
    }
}

/* Anything the fast reader does not take, json-glib does. */
static void
parse_extra_slowly (Writer     *writer,
                    const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;

  /* Kept in extra_text so that the pointers outlive the node. */
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  g_string_truncate (writer->extra_text, 0);
  for (const GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (object, l->data);

      if (json_node_get_value_type (member) != G_TYPE_STRING)
        continue;
      g_string_append (writer->extra_text, l->data);
      g_string_append_c (writer->extra_text, '\0');
      g_string_append (writer->extra_text, json_node_get_string (member));
      g_string_append_c (writer->extra_text, '\0');
    }

  for (const char *p = writer->extra_text->str; p < writer->extra_text->str + writer->extra_text->len;)
    {
      g_ptr_array_add (writer->keys, (gpointer) p);
      p += strlen (p) + 1;
      g_ptr_array_add (writer->values, (gpointer) p);
      p += strlen (p) + 1;
    }
}

static const char *
extra_value (Writer            *writer,
             const ExtraColumn *column)
{
  for (guint s = 0; s < column->spellings->len; s++)
    for (guint i = 0; i < writer->keys->len; i++)
      if (strcmp (g_ptr_array_index (writer->keys, i), g_ptr_array_index (column->spellings, s)) == 0)
        return g_ptr_array_index (writer->values, i);

  return NULL;
}

/* A positive number in decimal, faster than printf for every row. */
static void
format_int (char   buffer[24],
            gint64 value)
{
  char digits[24];
  guint n = 0;

  do
    digits[n++] = (char) ('0' + value % 10);
  while ((value /= 10) > 0 && n < sizeof digits - 1);

  for (guint i = 0; i < n; i++)
    buffer[i] = digits[n - 1 - i];
  buffer[n] = '\0';
}

static void
write_guest_cb (const EdExportRow *row,
                gpointer           user_data)
{
  Writer *writer = user_data;
  char party_size[24];
  char position[24];

  if (writer->stopped)
    return;

  g_ptr_array_set_size (writer->keys, 0);
  g_ptr_array_set_size (writer->values, 0);
  if (row->extra != NULL && writer->columns->len > 0)
    {
      g_string_assign (writer->extra_text, row->extra);
      if (!ed_export_parse_extra (writer->extra_text->str, writer->keys, writer->values))
        parse_extra_slowly (writer, row->extra);
    }

  g_ptr_array_set_size (writer->fields, 0);
  g_ptr_array_add (writer->fields, (gpointer) row->email);
  g_ptr_array_add (writer->fields, (gpointer) row->first_name);
  g_ptr_array_add (writer->fields, (gpointer) row->last_name);
  for (guint i = 0; i < writer->columns->len; i++)
    g_ptr_array_add (writer->fields, (gpointer) extra_value (writer, g_ptr_array_index (writer->columns, i)));

  format_int (party_size, row->party_size);
  if (row->waitlist_position > 0)
    format_int (position, row->waitlist_position);
  else
    position[0] = '\0';
  g_ptr_array_add (writer->fields, (gpointer) row->status);
  g_ptr_array_add (writer->fields, party_size);
  g_ptr_array_add (writer->fields, position);
  g_ptr_array_add (writer->fields, (gpointer) row->responded_at);
  g_ptr_array_add (writer->fields, (gpointer) row->last_delivery);

  ed_csv_append_row (writer->out, (const char * const *) writer->fields->pdata, writer->fields->len, ',');
  writer->n_rows++;

  flush (writer, FALSE);
}

/* The extra columns: every key any guest has, in the order they first
 * appear (an import's columns in the file's order), keys that differ only
 * in case in one column, since the import would refuse two such columns.
 */
typedef struct
{
  GPtrArray  *columns;   /* ExtraColumn */
  GHashTable *seen;      /* key -> ExtraColumn */
  GHashTable *by_folded; /* folded key -> ExtraColumn */
  GString    *text;
  GPtrArray  *keys;
  GPtrArray  *values;
} KeyScan;

static void
add_key (KeyScan    *scan,
         const char *key)
{
  g_autofree char *folded = NULL;
  ExtraColumn *column;

  if (g_hash_table_contains (scan->seen, key))
    return;

  folded = g_utf8_casefold (key, -1);
  column = g_hash_table_lookup (scan->by_folded, folded);
  if (column == NULL)
    {
      column = g_new0 (ExtraColumn, 1);
      column->name = g_strdup (key);
      column->spellings = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (scan->columns, column);
      g_hash_table_insert (scan->by_folded, g_steal_pointer (&folded), column);
    }
  g_ptr_array_add (column->spellings, g_strdup (key));
  g_hash_table_insert (scan->seen, g_strdup (key), column);
}

static void
scan_extra_cb (const char *extra,
               gpointer    user_data)
{
  KeyScan *scan = user_data;

  g_string_assign (scan->text, extra);
  if (ed_export_parse_extra (scan->text->str, scan->keys, scan->values))
    {
      for (guint i = 0; i < scan->keys->len; i++)
        add_key (scan, g_ptr_array_index (scan->keys, i));
    }
  else
    {
      g_autoptr(JsonNode) node = json_from_string (extra, NULL);
      g_autoptr(GList) members = NULL;

      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        return;
      members = json_object_get_members (json_node_get_object (node));
      for (const GList *l = members; l != NULL; l = l->next)
        add_key (scan, l->data);
    }
}

static GPtrArray *
find_extra_columns (EdStore  *store,
                    gint64    event_id,
                    GError  **error)
{
  g_autoptr(GPtrArray) columns = g_ptr_array_new_with_free_func ((GDestroyNotify) extra_column_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) by_folded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  KeyScan scan = { columns, seen, by_folded, text, keys, values };

  if (!ed_store_scan_extra_fields (store, event_id, scan_extra_cb, &scan, error))
    return NULL;

  return g_steal_pointer (&columns);
}

static void
write_header (Writer *writer)
{
  g_ptr_array_set_size (writer->fields, 0);
  for (guint i = 0; i < G_N_ELEMENTS (leading_columns); i++)
    g_ptr_array_add (writer->fields, (gpointer) leading_columns[i]);
  for (guint i = 0; i < writer->columns->len; i++)
    g_ptr_array_add (writer->fields, ((ExtraColumn *) g_ptr_array_index (writer->columns, i))->name);
  for (guint i = 0; i < G_N_ELEMENTS (trailing_columns); i++)
    g_ptr_array_add (writer->fields, (gpointer) trailing_columns[i]);

  g_string_append (writer->out, BOM);
  ed_csv_append_row (writer->out, (const char * const *) writer->fields->pdata, writer->fields->len, ',');
}

static gboolean
run_export (EdExportJob  *self,
            gint64       *n_rows,
            GError      **error)
{
  g_autoptr(EdStore) store = NULL;
  g_autoptr(GPtrArray) columns = NULL;
  g_autoptr(GString) out = g_string_sized_new (CHUNK_BYTES + 4096);
  g_autoptr(GString) extra_text = g_string_new (NULL);
  g_autoptr(GPtrArray) row_keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) row_values = g_ptr_array_new ();
  g_autoptr(GPtrArray) fields = g_ptr_array_new ();
  EdExportCursor cursor = { 0 };
  Writer writer = { 0 };
  gint n;

  if (!(store = ed_store_open (self->db_path, error)) ||
      !(columns = find_extra_columns (store, self->event_id, error)))
    return FALSE;

  writer.job = self;
  writer.columns = columns;
  writer.out = out;
  writer.extra_text = extra_text;
  writer.keys = row_keys;
  writer.values = row_values;
  writer.fields = fields;

  write_header (&writer);

  do
    {
      n = ed_store_export_guests (store, self->event_id, &self->query, &cursor, BATCH_ROWS,
                                  write_guest_cb, &writer, error);
    }
  while (n == BATCH_ROWS && !writer.stopped);

  ed_export_cursor_clear (&cursor);
  if (n < 0)
    return FALSE;

  if (!flush (&writer, TRUE))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The export was cancelled");
      return FALSE;
    }

  *n_rows = writer.n_rows;
  return TRUE;
}

static void
on_cancelled_cb (GCancellable *cancellable,
                 EdExportJob  *self)
{
  ed_export_job_cancel (self);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  EdExportJob *self = task_data;
  g_autoptr(GError) error = NULL;
  gint64 n_rows = 0;
  gboolean ok;
  gulong handler = 0;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled_cb), self, NULL);

  ok = run_export (self, &n_rows, &error);

  g_cancellable_disconnect (cancellable, handler);

  g_mutex_lock (&self->mutex);
  self->finished = TRUE;
  wake_consumer_locked (self);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  if (ok)
    {
      gint64 *result = g_new (gint64, 1);

      *result = n_rows;
      g_task_return_pointer (task, result, g_free);
    }
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

void
ed_export_job_run_async (EdExportJob         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, ed_export_job_run_async);
  g_task_set_task_data (task, ed_export_job_ref (self), (GDestroyNotify) ed_export_job_unref);
  g_task_run_in_thread (task, export_thread);
}

gboolean
ed_export_job_run_finish (EdExportJob   *self,
                          GAsyncResult  *result,
                          gint64        *n_rows,
                          GError       **error)
{
  g_autofree gint64 *rows = NULL;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  rows = g_task_propagate_pointer (G_TASK (result), error);
  if (rows == NULL)
    return FALSE;
  if (n_rows != NULL)
    *n_rows = *rows;

  return TRUE;
}
