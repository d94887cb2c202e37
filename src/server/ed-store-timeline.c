/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "ed-error.h"
#include "ed-store-private.h"

/* What the live feed, the timelines and /metrics read.
 *
 * Timelines come from the rollups of migration 8: timeline_minutes,
 * _quarters, _hours and _days hold, per event and unit of time, the
 * answers by new status and the delivery attempts by result, kept by
 * triggers as rsvp_history and delivery_log rows are written. A timeline
 * sums the rows of one event's range in the coarsest table that fits its
 * bucket. The caller bounds the rows that reads (ed-routes-live.c).
 */

void
ed_campaign_progress_free (EdCampaignProgress *progress)
{
  g_free (progress->kind);
  g_free (progress->state);
  g_free (progress);
}

void
ed_delivery_error_free (EdDeliveryError *error)
{
  g_free (error->result);
  g_free (error->text);
  g_free (error);
}

static void
add_message_counts (EdMessageCounts       *to,
                    const EdMessageCounts *from)
{
  for (guint i = 0; i < ED_MESSAGE_N_STATES; i++)
    to->states[i] += from->states[i];
  to->total += from->total;
}

/**
 * ed_store_list_campaign_progress:
 * @self: a store
 * @event_id: the event
 * @totals: (out) (optional): the event's messages by state, all campaigns
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type EdCampaignProgress): the event's
 *   campaigns in id order, each with its messages by state
 */
GPtrArray *
ed_store_list_campaign_progress (EdStore          *self,
                                 gint64            event_id,
                                 EdMessageCounts  *totals,
                                 GError          **error)
{
  g_autoptr(GPtrArray) campaigns = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_campaign_progress_free);
  EdCampaignProgress *current = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (totals != NULL)
    memset (totals, 0, sizeof *totals);

  /* The counters campaign_counts keeps: a few rows per campaign. */
  if (!(stmt = ed_store_prepare (self,
                                 "SELECT c.id, c.kind, c.state, n.state, n.messages "
                                 "FROM campaigns c LEFT JOIN campaign_counts n ON n.campaign_id = c.id "
                                 "WHERE c.event_id = ? ORDER BY c.id", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, event_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      EdMessageState state;

      if (current == NULL || current->id != id)
        {
          current = g_new0 (EdCampaignProgress, 1);
          current->id = id;
          current->kind = ed_store_column_strdup (stmt, 1);
          current->state = ed_store_column_strdup (stmt, 2);
          g_ptr_array_add (campaigns, current);
        }

      if (ed_message_state_from_string ((const char *) sqlite3_column_text (stmt, 3), &state))
        {
          current->counts.states[state] += sqlite3_column_int64 (stmt, 4);
          current->counts.total += sqlite3_column_int64 (stmt, 4);
        }
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  if (totals != NULL)
    for (guint i = 0; i < campaigns->len; i++)
      add_message_counts (totals, &((EdCampaignProgress *) g_ptr_array_index (campaigns, i))->counts);

  return g_steal_pointer (&campaigns);
}

/**
 * ed_store_list_delivery_errors:
 * @limit: how many at most
 *
 * Returns: (transfer full) (element-type EdDeliveryError): the event's
 *   latest failed or deferred delivery attempts, newest first
 */
GPtrArray *
ed_store_list_delivery_errors (EdStore  *self,
                               gint64    event_id,
                               guint     limit,
                               GError  **error)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_delivery_error_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  /* Walks delivery_log_errors from the newest down (CROSS JOIN keeps that
   * order of the loops) and stops after @limit of this event's.
   */
  if (!(stmt = ed_store_prepare (self,
                                 "SELECT d.at, m.campaign_id, m.guest_id, d.result, d.code, d.text "
                                 "FROM delivery_log d CROSS JOIN messages m CROSS JOIN campaigns c "
                                 "WHERE d.result <> 'sent' AND m.id = d.message_id AND c.id = m.campaign_id "
                                 "AND c.event_id = ?1 ORDER BY d.id DESC LIMIT ?2", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_int (stmt, 2, (int) limit);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EdDeliveryError *item = g_new0 (EdDeliveryError, 1);

      item->at = sqlite3_column_int64 (stmt, 0);
      item->campaign_id = sqlite3_column_int64 (stmt, 1);
      item->guest_id = sqlite3_column_int64 (stmt, 2);
      item->result = ed_store_column_strdup (stmt, 3);
      item->code = sqlite3_column_int (stmt, 4);
      item->text = ed_store_column_strdup (stmt, 5);
      g_ptr_array_add (errors, item);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  return g_steal_pointer (&errors);
}

/**
 * ed_store_timeline_unit:
 * @bucket: a bucket's length in seconds, a multiple of 60
 *
 * Returns: the rollup a timeline of @bucket reads, in seconds: the
 *   longest of a day, an hour, a quarter hour and a minute that divides
 *   @bucket. A timeline reads one row per unit of its range (at most).
 */
gint64
ed_store_timeline_unit (gint64 bucket)
{
  const gint64 units[] = { 86400, 3600, 900, 60 };

  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (bucket % units[i] == 0)
      return units[i];

  g_return_val_if_reached (60);
}

static void
add_timeline_row (EdTimelineBucket *row,
                  sqlite3_stmt     *stmt)
{
  row->answers[ED_RSVP_PENDING] += sqlite3_column_int64 (stmt, 1);
  row->answers[ED_RSVP_ACCEPTED] += sqlite3_column_int64 (stmt, 2);
  row->answers[ED_RSVP_DECLINED] += sqlite3_column_int64 (stmt, 3);
  row->answers[ED_RSVP_WAITLISTED] += sqlite3_column_int64 (stmt, 4);
  row->answers[ED_RSVP_CANCELLED] += sqlite3_column_int64 (stmt, 5);
  row->sent += sqlite3_column_int64 (stmt, 6);
  row->retried += sqlite3_column_int64 (stmt, 7);
  row->failed += sqlite3_column_int64 (stmt, 8);
}

#define TIMELINE_SELECT(table, unit) \
  "SELECT " unit ", pending, accepted, declined, waitlisted, cancelled, sent, retried, failed " \
  "FROM " table " WHERE event_id = ?1 AND " unit " >= ?2 AND " unit " < ?3 ORDER BY " unit

/**
 * ed_store_get_timeline:
 * @self: a store
 * @event_id: the event
 * @from: the start of the first bucket (Unix seconds, a multiple of @bucket)
 * @to: the end (exclusive) of the range
 * @bucket: the bucket's length in seconds, a multiple of 60
 * @func: called for each bucket with activity, in order
 * @user_data: for @func
 * @error: return location for an error
 *
 * Reads the rows of the rollup ed_store_timeline_unit() names in the
 * order of its primary key and adds them up bucket by bucket as they
 * come: no sorting, one pass.
 */
gboolean
ed_store_get_timeline (EdStore         *self,
                       gint64           event_id,
                       gint64           from,
                       gint64           to,
                       gint64           bucket,
                       EdTimelineFunc   func,
                       gpointer         user_data,
                       GError         **error)
{
  EdTimelineBucket current = { 0 };
  gboolean has_current = FALSE;
  sqlite3_stmt *stmt;
  gint64 unit;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (bucket >= 60 && bucket % 60 == 0 && from % bucket == 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  unit = ed_store_timeline_unit (bucket);
  switch (unit)
    {
    case 86400:
      stmt = ed_store_prepare (self, TIMELINE_SELECT ("timeline_days", "day"), error);
      break;
    case 3600:
      stmt = ed_store_prepare (self, TIMELINE_SELECT ("timeline_hours", "hour"), error);
      break;
    case 900:
      stmt = ed_store_prepare (self, TIMELINE_SELECT ("timeline_quarters", "quarter"), error);
      break;
    default:
      stmt = ed_store_prepare (self, TIMELINE_SELECT ("timeline_minutes", "minute"), error);
      break;
    }
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_int64 (stmt, 2, from / unit);
  sqlite3_bind_int64 (stmt, 3, (to + unit - 1) / unit);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 start = from + (sqlite3_column_int64 (stmt, 0) * unit - from) / bucket * bucket;

      if (has_current && current.start != start)
        {
          func (&current, user_data);
          has_current = FALSE;
        }
      if (!has_current)
        {
          memset (&current, 0, sizeof current);
          current.start = start;
          has_current = TRUE;
        }
      add_timeline_row (&current, stmt);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  if (has_current)
    func (&current, user_data);

  return TRUE;
}

/**
 * ed_store_get_rsvp_totals:
 * @guests: (array fixed-size=5) (out caller-allocates): guests of all
 *   events by status
 * @seats_taken: (out): seats the accepted guests of all events take
 *
 * Reads the per-event counters, one row per event and status.
 */
gboolean
ed_store_get_rsvp_totals (EdStore  *self,
                          gint64   *guests,
                          gint64   *seats_taken,
                          GError  **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  memset (guests, 0, sizeof (gint64) * ED_RSVP_N_STATUSES);
  *seats_taken = 0;

  if (!(stmt = ed_store_prepare (self, "SELECT status, sum(guests), sum(seats) FROM event_counts GROUP BY status",
                                 error)))
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EdRsvpStatus status;

      if (!ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 0), &status))
        continue;
      guests[status] = sqlite3_column_int64 (stmt, 1);
      if (status == ED_RSVP_ACCEPTED)
        *seats_taken = sqlite3_column_int64 (stmt, 2);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

/* Returns the bytes of the database file and its write-ahead log, or -1. */
gint64
ed_store_get_database_size (EdStore  *self,
                            GError  **error)
{
  g_autofree char *wal_path = NULL;
  sqlite3_stmt *stmt;
  GStatBuf st;
  gint64 size = 0;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), -1);

  if (!(stmt = ed_store_prepare (self, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                                 error)))
    return -1;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    size = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    {
      ed_store_set_error (self, rc, error);
      return -1;
    }

  wal_path = g_strconcat (self->path, "-wal", NULL);
  if (g_stat (wal_path, &st) == 0)
    size += st.st_size;

  return size;
}
