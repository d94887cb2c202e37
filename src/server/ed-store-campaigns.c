/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"

/* Campaigns, their audiences and their life: draft → running ⇄ paused →
 * done, or cancelled.
 *
 * Launch enqueues the whole audience with one INSERT … SELECT in one
 * transaction: a campaign is either a draft with no messages or running
 * with all of them. The messages' counts by state live in
 * campaign_counts, kept by triggers on messages (migration 7), so reading
 * a campaign's progress costs six rows however large it is; the launch
 * counts its rows itself, once, instead of the insert trigger per row.
 *
 * Audiences are SQL over the event's guests in id order (guests_event);
 * bulk audiences leave out unsubscribed guests. Every statement is a
 * constant string; the audience's kind and statuses are bound values.
 */

#define CAMPAIGN_COLUMNS \
  "id, event_id, kind, audience, subject, text_body, html_body, state, transactional, " \
  "state_reason, created_at, updated_at, launched_at, finished_at"

/* The guests of each kind of audience, ?1 the event and ?2 the status
 * bits (1 << EdRsvpStatus); an invitation counts as sent or queued in any
 * state but failed and cancelled. One statement per kind, so that each
 * is planned for what it does.
 */
#define AUDIENCE_ALL_WHERE \
  "guests.event_id = ?1 AND guests.unsubscribed_at IS NULL AND ?2 IS NOT NULL"
#define AUDIENCE_NOT_INVITED_WHERE \
  "guests.event_id = ?1 AND guests.unsubscribed_at IS NULL AND ?2 IS NOT NULL " \
  "AND NOT EXISTS (SELECT 1 FROM messages JOIN campaigns ON campaigns.id = messages.campaign_id " \
  "  WHERE messages.guest_id = guests.id AND campaigns.kind = 'invitation' " \
  "  AND messages.state IN ('queued', 'sending', 'sent', 'retry'))"
#define AUDIENCE_STATUS_WHERE \
  "guests.event_id = ?1 AND guests.unsubscribed_at IS NULL " \
  "AND (?2 >> (CASE guests.status WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 " \
  "  WHEN 'declined' THEN 2 WHEN 'waitlisted' THEN 3 ELSE 4 END)) & 1"

#define ENQUEUE_SQL(where) \
  "INSERT INTO messages (campaign_id, guest_id, state, priority, next_attempt_at, created_at) " \
  "SELECT ?3, guests.id, 'queued', 0, ?4, ?4 FROM guests WHERE " where " ORDER BY guests.id " \
  "ON CONFLICT (campaign_id, guest_id) DO NOTHING"

/* Indexed by EdAudienceKind. */
static const char * const count_audience_sql[] = {
  "SELECT count(*) FROM guests WHERE " AUDIENCE_ALL_WHERE,
  "SELECT count(*) FROM guests WHERE " AUDIENCE_NOT_INVITED_WHERE,
  "SELECT count(*) FROM guests WHERE " AUDIENCE_STATUS_WHERE,
};

static const char * const enqueue_sql[] = {
  ENQUEUE_SQL (AUDIENCE_ALL_WHERE),
  ENQUEUE_SQL (AUDIENCE_NOT_INVITED_WHERE),
  ENQUEUE_SQL (AUDIENCE_STATUS_WHERE),
};

/* Pages a launch may hold in memory: its indexes grow by half a million
 * entries spread over the guest index, and a small cache would write
 * pages out and read them back again.
 */
#define BULK_CACHE_KIB 65536

G_STATIC_ASSERT (ED_AUDIENCE_ALL == 0 && ED_AUDIENCE_NOT_INVITED == 1 && ED_AUDIENCE_STATUS == 2);
G_STATIC_ASSERT (G_N_ELEMENTS (enqueue_sql) == ED_AUDIENCE_STATUS + 1);
G_STATIC_ASSERT (ED_RSVP_PENDING == 0 && ED_RSVP_ACCEPTED == 1 && ED_RSVP_DECLINED == 2 &&
                 ED_RSVP_WAITLISTED == 3 && ED_RSVP_CANCELLED == 4);

/* Runs a query of one number with ?1 and ?2 bound; @none when it has no
 * row. Returns -1 on error.
 */
static gint64
query_number (EdStore     *self,
              const char  *sql,
              gint64       first,
              gint64       second,
              gint64       none,
              GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 value = -1;
  int rc;

  if (!(stmt = ed_store_prepare (self, sql, error)))
    return -1;
  sqlite3_bind_int64 (stmt, 1, first);
  if (sqlite3_bind_parameter_count (stmt) >= 2)
    sqlite3_bind_int64 (stmt, 2, second);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  else if (rc == SQLITE_DONE)
    value = none;
  else
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return value;
}

static EdCampaign *
campaign_from_row (sqlite3_stmt *stmt)
{
  EdCampaign *campaign = g_new0 (EdCampaign, 1);

  campaign->id = sqlite3_column_int64 (stmt, 0);
  campaign->event_id = sqlite3_column_int64 (stmt, 1);
  if (!ed_campaign_kind_from_string ((const char *) sqlite3_column_text (stmt, 2), &campaign->kind))
    campaign->kind = ED_CAMPAIGN_KIND_UPDATE;
  campaign->audience = ed_store_column_strdup (stmt, 3);
  campaign->subject = ed_store_column_strdup (stmt, 4);
  campaign->text = ed_store_column_strdup (stmt, 5);
  campaign->html = ed_store_column_strdup (stmt, 6);
  if (!ed_campaign_state_from_string ((const char *) sqlite3_column_text (stmt, 7), &campaign->state))
    campaign->state = ED_CAMPAIGN_STATE_PAUSED;
  campaign->transactional = sqlite3_column_int (stmt, 8) != 0;
  campaign->state_reason = ed_store_column_strdup (stmt, 9);
  campaign->created_at = sqlite3_column_int64 (stmt, 10);
  campaign->updated_at = sqlite3_column_int64 (stmt, 11);
  campaign->launched_at = sqlite3_column_int64 (stmt, 12);
  campaign->finished_at = sqlite3_column_int64 (stmt, 13);

  return campaign;
}

static gboolean
set_not_found (gint64   campaign_id,
               GError **error)
{
  g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "There is no campaign %" G_GINT64_FORMAT, campaign_id);
  return FALSE;
}

/**
 * ed_store_insert_campaign:
 * @campaign: the campaign; its id and timestamps are set
 *
 * Adds a draft (or, for the system's transactional campaigns, whatever
 * state @campaign has).
 */
gboolean
ed_store_insert_campaign (EdStore     *self,
                          EdCampaign  *campaign,
                          GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (campaign != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                                 "INSERT INTO campaigns (event_id, kind, audience, subject, text_body, "
                                 "html_body, state, transactional, created_at, updated_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error)))
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, campaign->event_id);
  sqlite3_bind_text (stmt, 2, ed_campaign_kind_to_string (campaign->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, campaign->audience ? campaign->audience : "all", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, campaign->subject ? campaign->subject : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 5, campaign->text ? campaign->text : "", -1, SQLITE_TRANSIENT);
  ed_store_bind_text_or_null (stmt, 6, campaign->html);
  sqlite3_bind_text (stmt, 7, ed_campaign_state_to_string (campaign->state), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 8, campaign->transactional ? 1 : 0);
  sqlite3_bind_int64 (stmt, 9, now);
  sqlite3_bind_int64 (stmt, 10, now);

  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  campaign->id = sqlite3_last_insert_rowid (self->db);
  campaign->created_at = now;
  campaign->updated_at = now;
  return TRUE;
}

EdCampaign *
ed_store_get_campaign (EdStore  *self,
                       gint64    campaign_id,
                       GError  **error)
{
  sqlite3_stmt *stmt;
  EdCampaign *campaign = NULL;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self, "SELECT " CAMPAIGN_COLUMNS " FROM campaigns WHERE id = ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, campaign_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    campaign = campaign_from_row (stmt);
  else if (rc == SQLITE_DONE)
    set_not_found (campaign_id, error);
  else
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return campaign;
}

/**
 * ed_store_update_campaign:
 * @campaign: the campaign with its new audience, subject and bodies
 *
 * Saves an edit; only a draft or a paused campaign may change, anything
 * else is %ED_ERROR_CONFLICT.
 */
gboolean
ed_store_update_campaign (EdStore     *self,
                          EdCampaign  *campaign,
                          GError     **error)
{
  g_autoptr(EdCampaign) current = NULL;
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (campaign != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE campaigns SET kind = ?2, audience = ?3, subject = ?4, text_body = ?5, "
                                 "html_body = ?6, updated_at = ?7 "
                                 "WHERE id = ?1 AND state IN ('draft', 'paused')", error)))
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, campaign->id);
  sqlite3_bind_text (stmt, 2, ed_campaign_kind_to_string (campaign->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, campaign->audience ? campaign->audience : "all", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, campaign->subject ? campaign->subject : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 5, campaign->text ? campaign->text : "", -1, SQLITE_TRANSIENT);
  ed_store_bind_text_or_null (stmt, 6, campaign->html);
  sqlite3_bind_int64 (stmt, 7, now);

  if (!ed_store_step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) > 0)
    {
      campaign->updated_at = now;
      return TRUE;
    }

  if (!(current = ed_store_get_campaign (self, campaign->id, error)))
    return FALSE;
  g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
               "Campaign %" G_GINT64_FORMAT " is %s; only a draft or a paused campaign can be edited",
               campaign->id, ed_campaign_state_to_string (current->state));
  return FALSE;
}

/**
 * ed_store_list_campaigns:
 * @after: the campaign id the previous page ended on, or 0
 * @limit: the page size
 * @has_more: (out): whether another page follows
 *
 * Returns: (transfer container) (element-type EdCampaign): the event's
 *   campaigns in the order they were made
 */
GPtrArray *
ed_store_list_campaigns (EdStore   *self,
                         gint64     event_id,
                         gint64     after,
                         guint      limit,
                         gboolean  *has_more,
                         GError   **error)
{
  g_autoptr(GPtrArray) campaigns = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_campaign_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT " CAMPAIGN_COLUMNS " FROM campaigns WHERE event_id = ? AND id > ? "
                                 "ORDER BY id LIMIT ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_int64 (stmt, 2, after);
  sqlite3_bind_int64 (stmt, 3, (gint64) limit + 1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (campaigns, campaign_from_row (stmt));
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  *has_more = campaigns->len > limit;
  if (*has_more)
    g_ptr_array_set_size (campaigns, limit);

  return g_steal_pointer (&campaigns);
}

/* Returns the number of campaigns of the event, or -1 on error. */
gint64
ed_store_count_campaigns (EdStore  *self,
                          gint64    event_id,
                          GError  **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), -1);

  return query_number (self, "SELECT count(*) FROM campaigns WHERE event_id = ?1", event_id, 0, 0, error);
}

/**
 * ed_store_get_message_counts:
 * @campaign_id: a campaign, or 0 for all campaigns
 * @transactional: with @campaign_id 0: -1 for every campaign, 0 for bulk
 *   campaigns only, 1 for transactional ones only
 * @counts: (out): messages per state, and their total
 *
 * Reads the counters the triggers keep, never the messages.
 */
gboolean
ed_store_get_message_counts (EdStore          *self,
                             gint64            campaign_id,
                             gint              transactional,
                             EdMessageCounts  *counts,
                             GError          **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (counts != NULL, FALSE);

  memset (counts, 0, sizeof *counts);

  if (campaign_id > 0)
    stmt = ed_store_prepare (self,
                             "SELECT state, messages FROM campaign_counts WHERE campaign_id = ?1", error);
  else
    stmt = ed_store_prepare (self,
                             "SELECT campaign_counts.state, sum(campaign_counts.messages) "
                             "FROM campaign_counts JOIN campaigns ON campaigns.id = campaign_counts.campaign_id "
                             "WHERE ?2 < 0 OR campaigns.transactional = ?2 "
                             "GROUP BY campaign_counts.state", error);
  if (stmt == NULL)
    return FALSE;
  if (campaign_id > 0)
    sqlite3_bind_int64 (stmt, 1, campaign_id);
  else
    sqlite3_bind_int (stmt, 2, transactional);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EdMessageState state;

      if (!ed_message_state_from_string ((const char *) sqlite3_column_text (stmt, 0), &state))
        continue;
      counts->states[state] = sqlite3_column_int64 (stmt, 1);
      counts->total += counts->states[state];
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

/* Returns the number of guests in the audience, or -1 on error. */
gint64
ed_store_count_audience (EdStore           *self,
                         gint64             event_id,
                         const EdAudience  *audience,
                         GError           **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), -1);
  g_return_val_if_fail (audience != NULL, -1);
  g_return_val_if_fail ((guint) audience->kind < G_N_ELEMENTS (count_audience_sql), -1);

  return query_number (self, count_audience_sql[audience->kind], event_id, audience->statuses, 0, error);
}

static gboolean
enqueue_audience (EdStore     *self,
                  EdCampaign  *campaign,
                  gint64       now,
                  gint64      *n_queued,
                  GError     **error)
{
  EdAudience audience;
  sqlite3_stmt *stmt;

  if (!ed_audience_parse (campaign->audience, &audience, error))
    {
      g_prefix_error (error, "The campaign's audience: ");
      return FALSE;
    }

  /* One statement for the whole audience; a guest already queued (there
   * is none for a draft, but the constraint says so) is left alone. The
   * counter trigger would add one to the campaign's count per row: it is
   * dropped for the statement and created again before the commit (DDL
   * is transactional, so no other connection sees it missing), and the
   * rows queued are counted once.
   */
  if (!ed_store_exec (self, "DROP TRIGGER campaign_counts_insert", error) ||
      !(stmt = ed_store_prepare (self, enqueue_sql[audience.kind], error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, campaign->event_id);
  sqlite3_bind_int (stmt, 2, (int) audience.statuses);
  sqlite3_bind_int64 (stmt, 3, campaign->id);
  sqlite3_bind_int64 (stmt, 4, now);

  if (!ed_store_step_done (self, stmt, error))
    return FALSE;
  *n_queued = sqlite3_changes64 (self->db);

  if (*n_queued > 0)
    {
      if (!(stmt = ed_store_prepare (self,
                                     "INSERT INTO campaign_counts VALUES (?1, 'queued', ?2) "
                                     "ON CONFLICT (campaign_id, state) DO UPDATE "
                                     "SET messages = messages + excluded.messages", error)))
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, campaign->id);
      sqlite3_bind_int64 (stmt, 2, *n_queued);
      if (!ed_store_step_done (self, stmt, error))
        return FALSE;
    }

  return ed_store_exec (self, ED_STORE_CAMPAIGN_COUNTS_INSERT_TRIGGER, error);
}

static gboolean
write_state (EdStore          *self,
             EdCampaign       *campaign,
             EdCampaignState   state,
             gint64            now,
             GError          **error)
{
  sqlite3_stmt *stmt;

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE campaigns SET state = ?2, updated_at = ?3, "
                                 "launched_at = CASE WHEN ?2 = 'running' THEN coalesce(launched_at, ?3) ELSE launched_at END, "
                                 "finished_at = CASE WHEN ?2 IN ('done', 'cancelled') THEN ?3 "
                                 "  WHEN ?2 = 'running' THEN NULL ELSE finished_at END, "
                                 "state_reason = CASE WHEN ?2 = 'paused' THEN state_reason ELSE NULL END "
                                 "WHERE id = ?1", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, campaign->id);
  sqlite3_bind_text (stmt, 2, ed_campaign_state_to_string (state), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now);

  return ed_store_step_done (self, stmt, error);
}

static gboolean
update_messages (EdStore     *self,
                 const char  *sql,
                 gint64       campaign_id,
                 gint64       now,
                 gint64      *n_changed,
                 GError     **error)
{
  sqlite3_stmt *stmt;

  if (!(stmt = ed_store_prepare (self, sql, error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_int64 (stmt, 2, now);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  *n_changed = sqlite3_changes64 (self->db);
  return TRUE;
}

static gboolean
refuse (EdCampaign  *campaign,
        const char  *action,
        const char  *why,
        GError     **error)
{
  g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
               "Campaign %" G_GINT64_FORMAT " cannot be %s: it is %s; %s",
               campaign->id, action, ed_campaign_state_to_string (campaign->state), why);
  return FALSE;
}

static gboolean
is_blank (const char *text)
{
  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;

  return TRUE;
}

/* Queues these failed messages of the campaign again, one by one over
 * the primary key; ids that are not its failed messages are skipped.
 */
static gboolean
retry_chosen (EdStore       *self,
              gint64         campaign_id,
              const GArray  *message_ids,
              gint64         now,
              gint64        *n_changed,
              GError       **error)
{
  sqlite3_stmt *stmt;

  *n_changed = 0;
  for (guint i = 0; i < message_ids->len; i++)
    {
      if (!(stmt = ed_store_prepare (self,
                                     "UPDATE messages SET state = 'queued', attempts = 0, next_attempt_at = ?2, "
                                     "last_code = NULL, last_text = NULL "
                                     "WHERE id = ?3 AND campaign_id = ?1 AND state = 'failed'",
                                     error)))
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, campaign_id);
      sqlite3_bind_int64 (stmt, 2, now);
      sqlite3_bind_int64 (stmt, 3, g_array_index (message_ids, gint64, i));
      if (!ed_store_step_done (self, stmt, error))
        return FALSE;
      *n_changed += sqlite3_changes64 (self->db);
    }

  return TRUE;
}

static gboolean
apply_action (EdStore            *self,
              EdCampaign         *campaign,
              EdCampaignAction    action,
              const GArray       *message_ids,
              gint64              now,
              gint64             *n_changed,
              GError            **error)
{
  EdCampaignState state = campaign->state;
  EdMessageCounts counts;

  switch (action)
    {
    case ED_CAMPAIGN_ACTION_LAUNCH:
      if (state != ED_CAMPAIGN_STATE_DRAFT)
        return refuse (campaign, "launched", "only a draft can be launched (resume a paused one)", error);
      if (is_blank (campaign->subject) || is_blank (campaign->text))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
                       "Campaign %" G_GINT64_FORMAT " has no %s yet; write one before launching it",
                       campaign->id, is_blank (campaign->subject) ? "subject" : "text");
          return FALSE;
        }
      if (!enqueue_audience (self, campaign, now, n_changed, error))
        return FALSE;
      /* Nobody to write to: done at once. */
      return write_state (self, campaign, *n_changed > 0 ? ED_CAMPAIGN_STATE_RUNNING : ED_CAMPAIGN_STATE_DONE,
                          now, error);

    case ED_CAMPAIGN_ACTION_PAUSE:
      if (state != ED_CAMPAIGN_STATE_RUNNING)
        return refuse (campaign, "paused", "only a running campaign can be paused", error);
      return write_state (self, campaign, ED_CAMPAIGN_STATE_PAUSED, now, error);

    case ED_CAMPAIGN_ACTION_RESUME:
      if (state != ED_CAMPAIGN_STATE_PAUSED)
        return refuse (campaign, "resumed", "only a paused campaign can be resumed", error);
      return write_state (self, campaign, ED_CAMPAIGN_STATE_RUNNING, now, error);

    case ED_CAMPAIGN_ACTION_CANCEL:
      if (campaign->transactional)
        return refuse (campaign, "cancelled",
                       "it carries the event's transactional mail (pause it instead)", error);
      if (state != ED_CAMPAIGN_STATE_DRAFT && state != ED_CAMPAIGN_STATE_RUNNING &&
          state != ED_CAMPAIGN_STATE_PAUSED)
        return refuse (campaign, "cancelled", "it has already ended", error);
      /* Messages being sent right now finish: sent, failed, or (one to
       * retry, released or found after a crash) cancelled then.
       */
      return update_messages (self,
                              "UPDATE messages SET state = 'cancelled' "
                              "WHERE campaign_id = ?1 AND state IN ('queued', 'retry') AND ?2 IS NOT NULL",
                              campaign->id, now, n_changed, error) &&
             write_state (self, campaign, ED_CAMPAIGN_STATE_CANCELLED, now, error);

    case ED_CAMPAIGN_ACTION_RETRY_FAILED:
      if (state != ED_CAMPAIGN_STATE_RUNNING && state != ED_CAMPAIGN_STATE_PAUSED &&
          state != ED_CAMPAIGN_STATE_DONE)
        return refuse (campaign, "retried",
                       state == ED_CAMPAIGN_STATE_DRAFT ? "launch it first" : "a cancelled campaign stays cancelled",
                       error);
      if (!ed_store_get_message_counts (self, campaign->id, -1, &counts, error))
        return FALSE;
      *n_changed = 0;
      if (counts.states[ED_MESSAGE_STATE_FAILED] == 0)
        return TRUE;
      if (message_ids != NULL)
        {
          if (!retry_chosen (self, campaign->id, message_ids, now, n_changed, error))
            return FALSE;
        }
      else if (!update_messages (self,
                                 "UPDATE messages SET state = 'queued', attempts = 0, next_attempt_at = ?2, "
                                 "last_code = NULL, last_text = NULL "
                                 "WHERE campaign_id = ?1 AND state = 'failed'",
                                 campaign->id, now, n_changed, error))
        return FALSE;
      return state != ED_CAMPAIGN_STATE_DONE || *n_changed == 0 ||
             write_state (self, campaign, ED_CAMPAIGN_STATE_RUNNING, now, error);

    default:
      g_return_val_if_reached (FALSE);
    }
}

/**
 * ed_store_run_campaign_action:
 * @campaign_id: the campaign
 * @action: what to do
 * @message_ids: (nullable) (element-type gint64): for retry-failed, only
 *   these of its failed messages (others are skipped); %NULL: all
 * @now: the time
 * @n_changed: (out) (optional): messages queued (launch), cancelled
 *   (cancel) or queued again (retry-failed)
 * @error: return location for an error; a transition the campaign's
 *   state does not allow is %ED_ERROR_CONFLICT, saying why
 *
 * Does one step of a campaign's life in one write transaction: launch
 * (draft → running, the whole audience queued), pause, resume (which
 * forgets why it paused), cancel (queued and retried messages cancelled)
 * or retry-failed (failed messages queued again; a done campaign runs
 * again). Launch and cancel write a row per message, so callers run this
 * off the main loop on a connection of their own.
 */
gboolean
ed_store_run_campaign_action (EdStore           *self,
                              gint64             campaign_id,
                              EdCampaignAction   action,
                              const GArray      *message_ids,
                              gint64             now,
                              gint64            *n_changed,
                              GError           **error)
{
  g_autoptr(EdCampaign) campaign = NULL;
  gint64 changed = 0;

  gboolean ok;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  /* A launch inserts guests' ids read in the same transaction into a
   * campaign read there too: checking each row's two foreign keys would
   * only make it slower (a third of its time). The pragma cannot change
   * inside a transaction, so it is set around it.
   */
  if (action == ED_CAMPAIGN_ACTION_LAUNCH && !ed_store_exec (self, "PRAGMA foreign_keys = OFF", error))
    return FALSE;

  ok = ed_store_begin (self, error) &&
       (campaign = ed_store_get_campaign (self, campaign_id, error)) != NULL &&
       apply_action (self, campaign, action, message_ids, now, &changed, error) &&
       ed_store_commit (self, error);
  if (!ok)
    ed_store_rollback (self);

  if (action == ED_CAMPAIGN_ACTION_LAUNCH)
    ed_store_exec (self, "PRAGMA foreign_keys = ON", NULL);
  if (!ok)
    return FALSE;

  if (n_changed != NULL)
    *n_changed = changed;
  return TRUE;
}

/**
 * ed_store_prepare_for_bulk:
 *
 * Gives a connection that writes whole audiences at once (launch,
 * cancel) a page cache large enough for them.
 */
gboolean
ed_store_prepare_for_bulk (EdStore  *self,
                           GError  **error)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA cache_size = -%d", BULK_CACHE_KIB);

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  return ed_store_exec (self, sql, error);
}

/* Monitoring: the queue, its messages and a guest's deliveries */

/**
 * ed_store_get_first_guest_id:
 *
 * Returns: the event's first guest (in id order), 0 when it has none, or
 *   -1 on error
 */
gint64
ed_store_get_first_guest_id (EdStore  *self,
                             gint64    event_id,
                             GError  **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), -1);

  return query_number (self, "SELECT id FROM guests WHERE event_id = ?1 ORDER BY id LIMIT 1",
                       event_id, 0, 0, error);
}

/**
 * ed_store_get_queue_times:
 * @now: the time
 * @oldest_due: (out): when the longest-waiting due message (queued, or
 *   retrying and due) became due, 0 for none
 * @next_retry: (out): the earliest retry still to come (after @now), 0
 *   for none
 *
 * Looks only at campaigns whose counters show queued or retrying
 * messages, and in each at its first queued message (in the
 * (campaign_id, state) index, id order is queue order) and its retrying
 * ones, which are few: never at the whole queue.
 */
gboolean
ed_store_get_queue_times (EdStore  *self,
                          gint64    now,
                          gint64   *oldest_due,
                          gint64   *next_retry,
                          GError  **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT min(due), min(upcoming) FROM ("
                                 "  SELECT (SELECT next_attempt_at FROM messages"
                                 "    WHERE campaign_id = cc.campaign_id AND state = 'queued' ORDER BY id LIMIT 1) AS due,"
                                 "    NULL AS upcoming"
                                 "  FROM campaign_counts cc WHERE cc.state = 'queued' AND cc.messages > 0"
                                 "  UNION ALL"
                                 "  SELECT (SELECT min(next_attempt_at) FROM messages"
                                 "    WHERE campaign_id = cc.campaign_id AND state = 'retry' AND next_attempt_at <= ?1),"
                                 "    (SELECT min(next_attempt_at) FROM messages"
                                 "    WHERE campaign_id = cc.campaign_id AND state = 'retry' AND next_attempt_at > ?1)"
                                 "  FROM campaign_counts cc WHERE cc.state = 'retry' AND cc.messages > 0)", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *oldest_due = sqlite3_column_int64 (stmt, 0);
      *next_retry = sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_ROW)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

void
ed_message_row_free (EdMessageRow *row)
{
  if (row == NULL)
    return;

  g_free (row->email);
  g_free (row->first_name);
  g_free (row->last_name);
  g_free (row->last_text);
  g_free (row->campaign_kind);
  g_free (row->campaign_subject);
  g_clear_pointer (&row->attempts_log, g_ptr_array_unref);
  g_free (row);
}

void
ed_delivery_attempt_free (EdDeliveryAttempt *attempt)
{
  if (attempt == NULL)
    return;

  g_free (attempt->result);
  g_free (attempt->text);
  g_free (attempt);
}

#define MESSAGE_ROW_COLUMNS \
  "m.id, m.campaign_id, m.guest_id, g.email, g.first_name, g.last_name, m.state, m.attempts, " \
  "m.next_attempt_at, m.last_code, m.last_text, m.sent_at, m.created_at, c.event_id, c.kind, c.subject"

#define MESSAGE_ROW_FROM \
  " FROM messages m JOIN guests g ON g.id = m.guest_id JOIN campaigns c ON c.id = m.campaign_id "

static EdMessageRow *
message_row_from_stmt (sqlite3_stmt *stmt)
{
  EdMessageRow *row = g_new0 (EdMessageRow, 1);

  row->id = sqlite3_column_int64 (stmt, 0);
  row->campaign_id = sqlite3_column_int64 (stmt, 1);
  row->guest_id = sqlite3_column_int64 (stmt, 2);
  row->email = ed_store_column_strdup (stmt, 3);
  row->first_name = ed_store_column_strdup (stmt, 4);
  row->last_name = ed_store_column_strdup (stmt, 5);
  if (!ed_message_state_from_string ((const char *) sqlite3_column_text (stmt, 6), &row->state))
    row->state = ED_MESSAGE_STATE_QUEUED;
  row->attempts = sqlite3_column_int (stmt, 7);
  row->next_attempt_at = sqlite3_column_int64 (stmt, 8);
  row->has_last_code = sqlite3_column_type (stmt, 9) != SQLITE_NULL;
  row->last_code = sqlite3_column_int (stmt, 9);
  row->last_text = ed_store_column_strdup (stmt, 10);
  row->sent_at = sqlite3_column_int64 (stmt, 11);
  row->created_at = sqlite3_column_int64 (stmt, 12);
  row->event_id = sqlite3_column_int64 (stmt, 13);
  row->campaign_kind = ed_store_column_strdup (stmt, 14);
  row->campaign_subject = ed_store_column_strdup (stmt, 15);

  return row;
}

/**
 * ed_store_list_messages:
 * @filter: which messages, and the page
 * @has_more: (out): whether another page follows
 *
 * Pages messages by id (key paging, never OFFSET), or retrying ones by
 * their next attempt (@filter's by_next_attempt). One campaign's
 * messages in one state come straight from the (campaign_id, state)
 * index. States that are usually rare (sending, retry, failed) are
 * looked up in that index per campaign and sorted; anything else walks
 * the messages in id order and stops with the page.
 *
 * Returns: (transfer container) (element-type EdMessageRow): the page
 */
GPtrArray *
ed_store_list_messages (EdStore                 *self,
                        const EdMessageFilter   *filter,
                        gboolean                *has_more,
                        GError                 **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_message_row_free);
  sqlite3_stmt *stmt;
  const char *sql;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);
  g_return_val_if_fail (filter != NULL && has_more != NULL, NULL);

  g_return_val_if_fail (!filter->by_next_attempt || (filter->has_state && filter->state == ED_MESSAGE_STATE_RETRY), NULL);

  /* The next retries: few, looked up per campaign and sorted; a page
   * goes on after the (next attempt, id) of the message named by after.
   */
  if (filter->by_next_attempt)
    sql = "SELECT " MESSAGE_ROW_COLUMNS
          " FROM messages m INDEXED BY messages_campaign_state JOIN guests g ON g.id = m.guest_id "
          "JOIN campaigns c ON c.id = m.campaign_id "
          "WHERE m.campaign_id IN (SELECT id FROM campaigns WHERE (:event IS NULL OR event_id = :event) "
          "AND (:campaign IS NULL OR id = :campaign)) AND m.state = :state "
          "AND (:after = 0 OR (m.next_attempt_at, m.id) > (SELECT next_attempt_at, id FROM messages WHERE id = :after)) "
          "ORDER BY m.next_attempt_at, m.id LIMIT :limit";
  else if (filter->has_state && filter->campaign_id > 0)
    sql = "SELECT " MESSAGE_ROW_COLUMNS MESSAGE_ROW_FROM
          "WHERE m.campaign_id = :campaign AND m.state = :state AND m.id > :after "
          "AND (:event IS NULL OR c.event_id = :event) ORDER BY m.id LIMIT :limit";
  else if (filter->has_state && (filter->state == ED_MESSAGE_STATE_SENDING ||
                                 filter->state == ED_MESSAGE_STATE_RETRY ||
                                 filter->state == ED_MESSAGE_STATE_FAILED))
    sql = "SELECT " MESSAGE_ROW_COLUMNS
          " FROM messages m INDEXED BY messages_campaign_state JOIN guests g ON g.id = m.guest_id "
          "JOIN campaigns c ON c.id = m.campaign_id "
          "WHERE m.campaign_id IN (SELECT id FROM campaigns WHERE :event IS NULL OR event_id = :event) "
          "AND m.state = :state AND m.id > :after AND :campaign IS NULL ORDER BY m.id LIMIT :limit";
  else
    sql = "SELECT " MESSAGE_ROW_COLUMNS
          " FROM messages m NOT INDEXED JOIN guests g ON g.id = m.guest_id JOIN campaigns c ON c.id = m.campaign_id "
          "WHERE m.id > :after AND (:state IS NULL OR m.state = :state) "
          "AND (:campaign IS NULL OR m.campaign_id = :campaign) AND (:event IS NULL OR c.event_id = :event) "
          "ORDER BY m.id LIMIT :limit";

  if (!(stmt = ed_store_prepare (self, sql, error)))
    return NULL;

  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":after"), filter->after);
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":limit"), (gint64) filter->limit + 1);
  if (filter->has_state)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":state"),
                       ed_message_state_to_string (filter->state), -1, SQLITE_STATIC);
  if (filter->campaign_id > 0)
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":campaign"), filter->campaign_id);
  if (filter->event_id > 0)
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":event"), filter->event_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, message_row_from_stmt (stmt));
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  *has_more = rows->len > filter->limit;
  if (*has_more)
    g_ptr_array_set_size (rows, filter->limit);

  return g_steal_pointer (&rows);
}

#define GUEST_DELIVERIES_MAX 200

/**
 * ed_store_list_guest_deliveries:
 *
 * Returns: (transfer container) (element-type EdMessageRow): the guest's
 *   messages, newest first (at most 200), each with its attempts from the
 *   delivery log in order
 */
GPtrArray *
ed_store_list_guest_deliveries (EdStore  *self,
                                gint64    guest_id,
                                GError  **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_message_row_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT " MESSAGE_ROW_COLUMNS MESSAGE_ROW_FROM
                                 "WHERE m.guest_id = ? ORDER BY m.id DESC LIMIT ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  sqlite3_bind_int (stmt, 2, GUEST_DELIVERIES_MAX);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, message_row_from_stmt (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  for (guint i = 0; i < rows->len; i++)
    {
      EdMessageRow *row = g_ptr_array_index (rows, i);

      row->attempts_log = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_delivery_attempt_free);
      if (!(stmt = ed_store_prepare (self,
                                     "SELECT id, at, result, code, text FROM delivery_log "
                                     "WHERE message_id = ? ORDER BY id", error)))
        return NULL;
      sqlite3_bind_int64 (stmt, 1, row->id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          EdDeliveryAttempt *attempt = g_new0 (EdDeliveryAttempt, 1);

          attempt->id = sqlite3_column_int64 (stmt, 0);
          attempt->at = sqlite3_column_int64 (stmt, 1);
          attempt->result = ed_store_column_strdup (stmt, 2);
          attempt->has_code = sqlite3_column_type (stmt, 3) != SQLITE_NULL;
          attempt->code = sqlite3_column_int (stmt, 3);
          attempt->text = ed_store_column_strdup (stmt, 4);
          g_ptr_array_add (row->attempts_log, attempt);
        }
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          ed_store_set_error (self, rc, error);
          return NULL;
        }
    }

  return g_steal_pointer (&rows);
}

/**
 * ed_store_unsubscribe_guest:
 * @guest_id: the guest of the link
 * @event_id: the link's event, which must be the guest's
 * @token_version: the link's token version, which must still be the
 *   guest's
 * @now: the time
 * @changed: (out) (optional): whether the guest was subscribed until now
 * @error: return location for an error; %ED_ERROR_NOT_FOUND for an
 *   unknown guest or an old link
 *
 * Keeps the guest out of bulk campaigns launched from now on. Doing it
 * twice changes nothing.
 */
gboolean
ed_store_unsubscribe_guest (EdStore   *self,
                            gint64     guest_id,
                            gint64     event_id,
                            gint64     token_version,
                            gint64     now,
                            gboolean  *changed,
                            GError   **error)
{
  sqlite3_stmt *stmt;
  gint64 n_changes;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE guests SET unsubscribed_at = ?3 "
                                 "WHERE id = ?1 AND token_version = ?2 AND event_id = ?4 "
                                 "AND unsubscribed_at IS NULL", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  sqlite3_bind_int64 (stmt, 2, token_version);
  sqlite3_bind_int64 (stmt, 3, now);
  sqlite3_bind_int64 (stmt, 4, event_id);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;
  n_changes = sqlite3_changes64 (self->db);

  /* Nothing changed: already unsubscribed, or not this guest's link. */
  if (n_changes == 0)
    {
      g_autoptr(EdGuest) guest = ed_store_get_guest (self, guest_id, error);

      if (guest == NULL)
        return FALSE;
      if (guest->event_id != event_id || guest->token_version != token_version)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "There is no guest %" G_GINT64_FORMAT, guest_id);
          return FALSE;
        }
    }

  if (changed != NULL)
    *changed = n_changes > 0;
  return TRUE;
}
