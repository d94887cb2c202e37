/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"

/* The guests of an event as the CSV export reads them: key-paged batches
 * with the guest list's filters and orders, each guest with what a
 * spreadsheet of the guest list wants next to it (its latest message's
 * state), and nothing parsed or allocated per row.
 */

/**
 * ed_store_scan_extra_fields:
 * @self: a store
 * @event_id: the event
 * @func: called with the extra fields (a JSON object) of each guest that
 *   has some, in id order; the text is only valid during the call
 * @user_data: for @func
 * @error: return location for an error
 *
 * Lets the export learn which extra fields the event's guests have. Parsing
 * them in C is several times faster than json_each() over every guest.
 */
gboolean
ed_store_scan_extra_fields (EdStore        *self,
                            gint64          event_id,
                            EdExtraFunc     func,
                            gpointer        user_data,
                            GError        **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT extra FROM guests "
                                 "WHERE event_id = ? AND extra IS NOT NULL ORDER BY id", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    func ((const char *) sqlite3_column_text (stmt, 0), user_data);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

static char *
build_export_sql (const EdGuestQuery       *query,
                  const EdStoreGuestFilter *filter,
                  gboolean                  after)
{
  GString *sql = g_string_new ("SELECT guests.id, guests.email, guests.email_key, guests.first_name, "
                               "guests.last_name, guests.extra, guests.status, guests.party_size, "
                               "guests.waitlist_position, "
                               "strftime('%Y-%m-%dT%H:%M:%SZ', guests.responded_at, 'unixepoch'), "
                               "(SELECT messages.state FROM messages WHERE messages.guest_id = guests.id "
                               " ORDER BY messages.id DESC LIMIT 1) "
                               "FROM guests WHERE guests.event_id = :event");
  const char *direction = query->descending ? " DESC" : "";
  const char *compare = query->descending ? "<" : ">";

  ed_store_guest_filter_append_sql (filter, sql);

  if (after)
    {
      switch (query->sort)
        {
        case ED_GUEST_SORT_NAME:
          g_string_append_printf (sql, " AND (guests.last_name, guests.first_name, guests.id) %s (:key1, :key2, :after)",
                                  compare);
          break;
        case ED_GUEST_SORT_EMAIL:
          g_string_append_printf (sql, " AND (guests.email_key, guests.id) %s (:key1, :after)", compare);
          break;
        case ED_GUEST_SORT_CREATED:
        default:
          g_string_append_printf (sql, " AND guests.id %s :after", compare);
          break;
        }
    }

  switch (query->sort)
    {
    case ED_GUEST_SORT_NAME:
      g_string_append_printf (sql, " ORDER BY guests.last_name%s, guests.first_name%s, guests.id%s",
                              direction, direction, direction);
      break;
    case ED_GUEST_SORT_EMAIL:
      g_string_append_printf (sql, " ORDER BY guests.email_key%s, guests.id%s", direction, direction);
      break;
    case ED_GUEST_SORT_CREATED:
    default:
      g_string_append_printf (sql, " ORDER BY guests.id%s", direction);
      break;
    }
  g_string_append (sql, " LIMIT :limit");

  return g_string_free (sql, FALSE);
}

static const char *
column_text (sqlite3_stmt *stmt,
             int           column)
{
  return (const char *) sqlite3_column_text (stmt, column);
}

/**
 * ed_store_export_guests:
 * @self: a store
 * @event_id: the event
 * @query: filters and order, as for ed_store_list_guests(); its `after`
 *   and `limit` are not used
 * @cursor: where the previous batch ended; updated
 * @limit: the most rows to hand out
 * @func: called with each row
 * @user_data: for @func
 * @error: return location for an error
 *
 * Hands out the next batch of the event's guests. Each batch is a read
 * transaction of its own, so a slow download never holds one open.
 *
 * Returns: how many rows it handed out (fewer than @limit at the end), or
 *   -1 with @error set
 */
gint
ed_store_export_guests (EdStore             *self,
                        gint64               event_id,
                        const EdGuestQuery  *query,
                        EdExportCursor      *cursor,
                        guint                limit,
                        EdExportRowFunc      func,
                        gpointer             user_data,
                        GError             **error)
{
  g_autoptr(EdStoreGuestFilter) filter = NULL;
  g_autofree char *sql = NULL;
  sqlite3_stmt *stmt = NULL;
  gint n_rows = 0;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), -1);
  g_return_val_if_fail (query != NULL && cursor != NULL && func != NULL, -1);

  filter = ed_store_guest_filter_new (query);
  sql = build_export_sql (query, filter, cursor->started);
  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      ed_store_set_error (self, rc, error);
      return -1;
    }

  ed_store_guest_filter_bind (filter, stmt, event_id);
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":limit"), limit);
  /* Copied: the cursor moves on while the statement runs. */
  if (cursor->started)
    {
      sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":after"), cursor->after_id);
      if (sqlite3_bind_parameter_index (stmt, ":key1") > 0)
        sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":key1"),
                           cursor->after_key1 ? cursor->after_key1 : "", -1, SQLITE_TRANSIENT);
      if (sqlite3_bind_parameter_index (stmt, ":key2") > 0)
        sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":key2"),
                           cursor->after_key2 ? cursor->after_key2 : "", -1, SQLITE_TRANSIENT);
    }

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EdExportRow row;

      row.id = sqlite3_column_int64 (stmt, 0);
      row.email = column_text (stmt, 1);
      row.email_key = column_text (stmt, 2);
      row.first_name = column_text (stmt, 3);
      row.last_name = column_text (stmt, 4);
      row.extra = column_text (stmt, 5);
      row.status = column_text (stmt, 6);
      row.party_size = sqlite3_column_int (stmt, 7);
      row.waitlist_position = sqlite3_column_int64 (stmt, 8);
      row.responded_at = column_text (stmt, 9);
      row.last_delivery = column_text (stmt, 10);
      func (&row, user_data);
      n_rows++;

      cursor->started = TRUE;
      cursor->after_id = row.id;
      if (query->sort == ED_GUEST_SORT_NAME || query->sort == ED_GUEST_SORT_EMAIL)
        {
          /* The row's texts are gone after the next step. */
          g_free (cursor->after_key1);
          g_free (cursor->after_key2);
          cursor->after_key1 = g_strdup (query->sort == ED_GUEST_SORT_NAME ? column_text (stmt, 4)
                                                                           : column_text (stmt, 2));
          cursor->after_key2 = query->sort == ED_GUEST_SORT_NAME ? g_strdup (column_text (stmt, 3)) : NULL;
        }
    }
  sqlite3_finalize (stmt);

  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return -1;
    }

  return n_rows;
}
