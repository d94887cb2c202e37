/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"
#include "ed-time-util.h"

/* Bulk imports and the search index they leave to the background.
 *
 * An import checks and spools its rows while the file arrives, without
 * touching the database (see ed-import-spool.c), however slow the upload.
 * Then one write transaction adds them to the event, one prepared upsert
 * per row, so that writers wait for the database only that long, whatever
 * the network did.
 *
 * Per-row triggers would cost more than the inserts themselves: for its
 * inserts the import drops the two INSERT triggers (search index and
 * per-status counters), updates the counters once, and creates the
 * triggers again before it commits. DDL is transactional in SQLite, so no
 * other connection ever sees the database without them. The search index
 * gets the new guests later, from ed_store_index_search_batch().
 */

/* The phase that holds the write lock is CPU-bound in SQLite's B-trees;
 * a larger page cache for this connection saves it re-reading pages.
 */
#define IMPORT_CACHE_KIB 65536

void
ed_export_cursor_clear (EdExportCursor *cursor)
{
  g_clear_pointer (&cursor->after_key1, g_free);
  g_clear_pointer (&cursor->after_key2, g_free);
  cursor->after_id = 0;
  cursor->started = FALSE;
}

static gboolean
query_int64 (EdStore     *self,
             const char  *sql,
             gint64       param,
             gint64      *value,
             GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = ed_store_prepare (self, sql, error)))
    return FALSE;
  if (sqlite3_bind_parameter_count (stmt) > 0)
    sqlite3_bind_int64 (stmt, 1, param);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  return rc == SQLITE_ROW ? TRUE : ed_store_set_error (self, rc, error);
}

/* ed_import_rows(?): the rows an EdImportNextFunc hands out, as a table,
 * so that one INSERT … SELECT adds them all. A single statement keeps its
 * cursors on the table and its indexes open from row to row; a prepared
 * INSERT run once per row costs nearly twice as much. The argument is an
 * ImportSource passed with sqlite3_bind_pointer().
 */

#define SOURCE_POINTER_TYPE "ed-import-source"

typedef struct
{
  EdImportNextFunc  next;
  gpointer          user_data;
  EdImportRow       row;
  gint64            n_rows;
  GError           *error;
} ImportSource;

enum
{
  COLUMN_LINE,
  COLUMN_EMAIL,
  COLUMN_EMAIL_KEY,
  COLUMN_FIRST_NAME,
  COLUMN_LAST_NAME,
  COLUMN_EXTRA,
  COLUMN_SOURCE,
};

typedef struct
{
  sqlite3_vtab_cursor  base;
  ImportSource        *source;
  gboolean             eof;
} RowsCursor;

static int
rows_connect (sqlite3             *db,
              void                *aux,
              int                  argc,
              const char * const  *argv,
              sqlite3_vtab       **vtab,
              char               **error)
{
  int rc = sqlite3_declare_vtab (db, "CREATE TABLE x(line INTEGER, email TEXT, email_key TEXT, "
                                     "first_name TEXT, last_name TEXT, extra TEXT, source HIDDEN)");

  if (rc != SQLITE_OK)
    return rc;

  *vtab = sqlite3_malloc (sizeof **vtab);
  if (*vtab == NULL)
    return SQLITE_NOMEM;
  memset (*vtab, 0, sizeof **vtab);
  sqlite3_vtab_config (db, SQLITE_VTAB_DIRECTONLY);

  return SQLITE_OK;
}

static int
rows_disconnect (sqlite3_vtab *vtab)
{
  sqlite3_free (vtab);
  return SQLITE_OK;
}

static int
rows_best_index (sqlite3_vtab       *vtab,
                 sqlite3_index_info *info)
{
  for (int i = 0; i < info->nConstraint; i++)
    {
      const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];

      if (constraint->iColumn == COLUMN_SOURCE && constraint->op == SQLITE_INDEX_CONSTRAINT_EQ)
        {
          if (!constraint->usable)
            return SQLITE_CONSTRAINT;
          info->aConstraintUsage[i].argvIndex = 1;
          info->aConstraintUsage[i].omit = 1;
          info->estimatedCost = 1000000;
          info->estimatedRows = 1000000;
          return SQLITE_OK;
        }
    }

  /* Without its source the table has nothing to give. */
  return SQLITE_CONSTRAINT;
}

static int
rows_open (sqlite3_vtab         *vtab,
           sqlite3_vtab_cursor **cursor)
{
  RowsCursor *self = sqlite3_malloc (sizeof *self);

  if (self == NULL)
    return SQLITE_NOMEM;
  memset (self, 0, sizeof *self);
  self->eof = TRUE;
  *cursor = &self->base;

  return SQLITE_OK;
}

static int
rows_close (sqlite3_vtab_cursor *cursor)
{
  sqlite3_free (cursor);
  return SQLITE_OK;
}

static int
rows_next (sqlite3_vtab_cursor *cursor)
{
  RowsCursor *self = (RowsCursor *) cursor;
  ImportSource *source = self->source;

  if (source->next (source->user_data, &source->row, &source->error))
    {
      source->n_rows++;
      return SQLITE_OK;
    }

  self->eof = TRUE;
  if (source->error != NULL)
    {
      sqlite3_free (cursor->pVtab->zErrMsg);
      cursor->pVtab->zErrMsg = sqlite3_mprintf ("%s", source->error->message);
      return SQLITE_ERROR;
    }

  return SQLITE_OK;
}

static int
rows_filter (sqlite3_vtab_cursor  *cursor,
             int                   index,
             const char           *index_name,
             int                   argc,
             sqlite3_value       **argv)
{
  RowsCursor *self = (RowsCursor *) cursor;

  self->source = argc == 1 ? sqlite3_value_pointer (argv[0], SOURCE_POINTER_TYPE) : NULL;
  if (self->source == NULL)
    {
      self->eof = TRUE;
      return SQLITE_OK;
    }

  self->eof = FALSE;
  return rows_next (cursor);
}

static int
rows_eof (sqlite3_vtab_cursor *cursor)
{
  return ((RowsCursor *) cursor)->eof;
}

/* The texts stay valid until the next row, and the statement is done
 * with a row's values before it asks for the next one.
 */
static void
result_text (sqlite3_context *context,
             const char      *text)
{
  if (text != NULL)
    sqlite3_result_text (context, text, -1, SQLITE_STATIC);
  else
    sqlite3_result_null (context);
}

static int
rows_column (sqlite3_vtab_cursor *cursor,
             sqlite3_context     *context,
             int                  column)
{
  const EdImportRow *row = &((RowsCursor *) cursor)->source->row;

  switch (column)
    {
    case COLUMN_LINE:
      sqlite3_result_int64 (context, (sqlite3_int64) row->line);
      break;
    case COLUMN_EMAIL:
      result_text (context, row->email);
      break;
    case COLUMN_EMAIL_KEY:
      result_text (context, row->email_key);
      break;
    case COLUMN_FIRST_NAME:
      result_text (context, row->first_name ? row->first_name : "");
      break;
    case COLUMN_LAST_NAME:
      result_text (context, row->last_name ? row->last_name : "");
      break;
    case COLUMN_EXTRA:
      result_text (context, row->extra);
      break;
    default:
      sqlite3_result_null (context);
      break;
    }

  return SQLITE_OK;
}

static int
rows_rowid (sqlite3_vtab_cursor *cursor,
            sqlite3_int64       *rowid)
{
  *rowid = (sqlite3_int64) ((RowsCursor *) cursor)->source->row.line;
  return SQLITE_OK;
}

static const sqlite3_module rows_module = {
  .iVersion = 0,
  .xConnect = rows_connect,
  .xBestIndex = rows_best_index,
  .xDisconnect = rows_disconnect,
  .xOpen = rows_open,
  .xClose = rows_close,
  .xFilter = rows_filter,
  .xNext = rows_next,
  .xEof = rows_eof,
  .xColumn = rows_column,
  .xRowid = rows_rowid,
};

/* A row whose address is already in the event (or earlier in the file)
 * updates the guest with what it has: names that are not empty, extra
 * fields merged in. A row that would change nothing changes nothing.
 */
#define IMPORT_INSERT \
  "INSERT INTO guests (event_id, email, first_name, last_name, extra, " \
  "  created_at, updated_at, email_key) " \
  "SELECT ?2, email, first_name, last_name, extra, ?3, ?3, email_key " \
  "FROM ed_import_rows(?1) WHERE true " \
  "ON CONFLICT (event_id, email_key) DO "

static const char import_skip_sql[] = IMPORT_INSERT "NOTHING";

static const char import_update_sql[] =
  IMPORT_INSERT
  "UPDATE SET first_name = iif(excluded.first_name <> '', excluded.first_name, first_name), "
  "  last_name = iif(excluded.last_name <> '', excluded.last_name, last_name), "
  "  extra = iif(excluded.extra IS NULL, extra, json_patch(coalesce(extra, '{}'), excluded.extra)), "
  "  updated_at = excluded.updated_at "
  "WHERE (excluded.first_name <> '' AND excluded.first_name IS NOT first_name) "
  "  OR (excluded.last_name <> '' AND excluded.last_name IS NOT last_name) "
  "  OR (excluded.extra IS NOT NULL AND "
  "      json_patch(coalesce(extra, '{}'), excluded.extra) IS NOT json(coalesce(extra, '{}')))";

/* Adds the rows; returns how many the statement inserted or updated. */
static gboolean
insert_rows (EdStore             *self,
             gint64               event_id,
             EdImportDuplicates   duplicates,
             ImportSource        *source,
             gint64              *n_changes,
             GError             **error)
{
  sqlite3_stmt *stmt;
  int rc;

  rc = sqlite3_create_module_v2 (self->db, "ed_import_rows", &rows_module, NULL, NULL);
  if (rc != SQLITE_OK)
    return ed_store_set_error (self, rc, error);

  if (!(stmt = ed_store_prepare (self, duplicates == ED_IMPORT_UPDATE ? import_update_sql : import_skip_sql, error)))
    return FALSE;
  sqlite3_bind_pointer (stmt, 1, source, SOURCE_POINTER_TYPE, NULL);
  sqlite3_bind_int64 (stmt, 2, event_id);
  sqlite3_bind_int64 (stmt, 3, ed_time_now ());

  rc = sqlite3_step (stmt);
  *n_changes = sqlite3_changes64 (self->db);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);

  if (source->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&source->error));
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

/**
 * ed_store_import_apply:
 * @self: a store of the import's own
 * @event_id: the event the guests join
 * @duplicates: what rows of addresses already there do
 * @dry_run: roll everything back at the end
 * @lock_timeout_ms: how long to wait for other writers to let go of the
 *   database before %ED_ERROR_BUSY
 * @next: hands out the checked rows, in the file's order, and returns
 *   %FALSE after the last one (or with an error)
 * @user_data: for @next
 * @counts: (out): what happened
 * @error: return location for an error; %ED_ERROR_NOT_FOUND when the
 *   event is gone
 *
 * Adds the rows to the event in one transaction, first row first: a later
 * row with the address of an earlier one is a duplicate.
 */
gboolean
ed_store_import_apply (EdStore             *self,
                       gint64               event_id,
                       EdImportDuplicates   duplicates,
                       gboolean             dry_run,
                       guint                lock_timeout_ms,
                       EdImportNextFunc     next,
                       gpointer             user_data,
                       EdImportCounts      *counts,
                       GError             **error)
{
  ImportSource source = { 0 };
  sqlite3_stmt *stmt;
  gint64 max_before = 0;
  gint64 exists = 0;
  gint64 n_changes = 0;
  gboolean inserted;
  gint64 start = g_get_monotonic_time ();
  gint64 commit_start;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (next != NULL, FALSE);
  g_return_val_if_fail (counts != NULL, FALSE);

  memset (counts, 0, sizeof *counts);

  /* The checkpoint after a large import is left to the background. The
   * event is checked once below, inside the transaction, so checking
   * every guest's reference to it adds nothing.
   */
  if (!ed_store_exec (self, "PRAGMA cache_size = -" G_STRINGIFY (IMPORT_CACHE_KIB), error) ||
      !ed_store_exec (self, "PRAGMA foreign_keys = OFF", error) ||
      !ed_store_exec (self, "PRAGMA wal_autocheckpoint = 0", error))
    return FALSE;

  sqlite3_busy_timeout (self->db, (int) lock_timeout_ms);
  rc = sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  sqlite3_busy_timeout (self->db, 5000);
  if ((rc & 0xff) == SQLITE_BUSY)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_BUSY, "Another write holds the database");
      return FALSE;
    }
  if (rc != SQLITE_OK)
    return ed_store_set_error (self, rc, error);

  if (!query_int64 (self, "SELECT count(*) FROM events WHERE id = ?", event_id, &exists, error))
    goto fail;
  if (!exists)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no event %" G_GINT64_FORMAT " (any more)", event_id);
      goto fail;
    }

  /* Guests above the watermark are the ones the index lacks; with no
   * guest above the highest id there is, every new guest is above it.
   */
  if (!query_int64 (self, "SELECT coalesce(max(id), 0) FROM guests", 0, &max_before, error) ||
      !(stmt = ed_store_prepare (self,
                                 "UPDATE guests_search_state SET indexed_upto = ?1 "
                                 "WHERE indexed_upto > ?1", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, max_before);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;

  if (!ed_store_exec (self, "DROP TRIGGER guests_search_insert; DROP TRIGGER event_counts_insert", error))
    goto fail;

  /* Imported guests get the defaults (pending, party of one), which meet
   * the CHECK constraints; checking them per row costs a fifth of the
   * statement.
   */
  if (!ed_store_exec (self, "PRAGMA ignore_check_constraints = ON", error))
    goto fail;
  source.next = next;
  source.user_data = user_data;
  inserted = insert_rows (self, event_id, duplicates, &source, &n_changes, error);
  ed_store_exec (self, "PRAGMA ignore_check_constraints = OFF", NULL);
  if (!inserted ||
      !query_int64 (self, "SELECT count(*) FROM guests WHERE id > ?", max_before, &counts->imported, error))
    goto fail;
  counts->updated = n_changes - counts->imported;
  counts->duplicates = source.n_rows - n_changes;
  g_assert (counts->updated >= 0 && counts->duplicates >= 0);

  /* New guests are pending parties of one. */
  if (counts->imported > 0)
    {
      if (!(stmt = ed_store_prepare (self,
                                     "INSERT INTO event_counts VALUES (?1, 'pending', ?2, ?2) "
                                     "ON CONFLICT (event_id, status) DO UPDATE "
                                     "SET guests = guests + excluded.guests, seats = seats + excluded.seats",
                                     error)))
        goto fail;
      sqlite3_bind_int64 (stmt, 1, event_id);
      sqlite3_bind_int64 (stmt, 2, counts->imported);
      if (!ed_store_step_done (self, stmt, error))
        goto fail;
    }

  if (!ed_store_exec (self, ED_STORE_SEARCH_INSERT_TRIGGER ED_STORE_COUNTS_INSERT_TRIGGER, error))
    goto fail;

  if (dry_run)
    {
      ed_store_rollback (self);
      return TRUE;
    }

  commit_start = g_get_monotonic_time ();
  if (ed_store_commit (self, error))
    {
      g_debug ("Import into event %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " rows in %.2f s, committed in %.2f s",
               event_id, source.n_rows, (commit_start - start) / 1e6,
               (g_get_monotonic_time () - commit_start) / 1e6);
      return TRUE;
    }

fail:
  ed_store_rollback (self);
  return FALSE;
}

/**
 * ed_store_index_search_batch:
 * @self: a store
 * @max_rows: how many guests to index at most
 * @n_indexed: (out): how many it indexed; 0 when the index is up to date
 * @error: return location for an error
 *
 * Adds the next guests above the watermark to the search index, in one
 * short transaction.
 */
gboolean
ed_store_index_search_batch (EdStore  *self,
                             guint     max_rows,
                             guint    *n_indexed,
                             GError  **error)
{
  sqlite3_stmt *stmt;
  gint64 upto = 0;
  gint64 last = 0;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (n_indexed != NULL, FALSE);

  *n_indexed = 0;
  if (!ed_store_begin (self, error))
    return FALSE;

  if (!query_int64 (self, "SELECT indexed_upto FROM guests_search_state", 0, &upto, error) ||
      !(stmt = ed_store_prepare (self,
                                 "INSERT INTO guests_search (rowid, email, first_name, last_name) "
                                 "SELECT id, email, first_name, last_name FROM guests "
                                 "WHERE id > ? ORDER BY id LIMIT ?", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, upto);
  sqlite3_bind_int64 (stmt, 2, max_rows);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;

  *n_indexed = (guint) sqlite3_changes (self->db);
  if (*n_indexed == 0)
    {
      ed_store_rollback (self);
      return TRUE;
    }

  /* The rows went in id order, so the last one is the new watermark. */
  last = sqlite3_last_insert_rowid (self->db);
  if (!(stmt = ed_store_prepare (self, "UPDATE guests_search_state SET indexed_upto = ?", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, last);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;

  if (ed_store_commit (self, error))
    return TRUE;

fail:
  ed_store_rollback (self);
  return FALSE;
}

/* How long this connection waits for other writers before SQLITE_BUSY:
 * background work waits its turn rather than fail.
 */
void
ed_store_set_lock_timeout (EdStore *self,
                           guint    timeout_ms)
{
  g_return_if_fail (ED_IS_STORE (self));

  sqlite3_busy_timeout (self->db, (int) timeout_ms);
}

/* Returns how many guests the search index does not hold yet, or -1. */
gint64
ed_store_count_unindexed (EdStore  *self,
                          GError  **error)
{
  gint64 count = -1;

  g_return_val_if_fail (ED_IS_STORE (self), -1);

  if (!query_int64 (self,
                    "SELECT count(*) FROM guests WHERE id > (SELECT indexed_upto FROM guests_search_state)",
                    0, &count, error))
    return -1;

  return count;
}

/* Copies what the write-ahead log holds into the database, as far as
 * readers allow, so that the next writer does not pay for it.
 */
gboolean
ed_store_checkpoint (EdStore  *self,
                     GError  **error)
{
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  rc = sqlite3_wal_checkpoint_v2 (self->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}
