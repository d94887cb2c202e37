/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"

/* The mail queue as the mailer sees it: claiming due messages, writing
 * what became of them, and the campaign states that follow from that.
 *
 * Messages are claimed per running campaign (there are few) over the
 * messages_campaign_state index, transactional campaigns first, rather
 * than over one global “due” order: a paused campaign's half million
 * queued messages would otherwise be stepped over by every claim. A
 * campaign's queued messages come in id order, that is in the order the
 * launch queued them; its retries when their time has come.
 */

/* The state a message that was out being tried goes to: cancelled if its
 * campaign was cancelled meanwhile (cancel leaves such messages be, and
 * nothing claims a cancelled campaign's messages), @state otherwise.
 */
#define CANCELLED_OR(state) \
  "CASE WHEN (SELECT state FROM campaigns WHERE campaigns.id = messages.campaign_id) = 'cancelled' " \
  "THEN 'cancelled' ELSE " state " END"

void
ed_queued_message_free (EdQueuedMessage *message)
{
  if (message == NULL)
    return;

  g_clear_pointer (&message->guest, ed_guest_free);
  g_free (message);
}

/**
 * ed_store_requeue_sending:
 * @self: a store
 * @n_requeued: (out) (optional): how many messages went back
 * @error: return location for an error
 *
 * Puts messages left in `sending` (by a crash: a clean stop writes every
 * result) back into the queue. They may have reached the server before
 * the crash, so they may arrive twice: delivery is at least once.
 */
gboolean
ed_store_requeue_sending (EdStore  *self,
                          gint64   *n_requeued,
                          GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  /* per campaign, over the (campaign_id, state) index */
  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE messages SET state = " CANCELLED_OR ("'queued'") " "
                                 "WHERE campaign_id IN (SELECT id FROM campaigns) AND state = 'sending'",
                                 error)) ||
      !ed_store_step_done (self, stmt, error))
    return FALSE;

  if (n_requeued != NULL)
    *n_requeued = sqlite3_changes64 (self->db);
  return TRUE;
}

/**
 * ed_store_list_running_campaigns:
 * @self: a store
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type EdCampaign): the running
 *   campaigns with their templates, transactional ones first
 */
GPtrArray *
ed_store_list_running_campaigns (EdStore  *self,
                                 GError  **error)
{
  g_autoptr(GPtrArray) campaigns = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_campaign_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT id, event_id, kind, audience, transactional, subject, text_body, "
                                 "html_body, created_at, updated_at, launched_at FROM campaigns "
                                 "WHERE state = 'running' ORDER BY transactional DESC, id", error)))
    return NULL;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EdCampaign *campaign = ed_campaign_new ();

      campaign->id = sqlite3_column_int64 (stmt, 0);
      campaign->event_id = sqlite3_column_int64 (stmt, 1);
      if (!ed_campaign_kind_from_string ((const char *) sqlite3_column_text (stmt, 2), &campaign->kind))
        campaign->kind = ED_CAMPAIGN_KIND_UPDATE;
      g_free (campaign->audience);
      campaign->audience = ed_store_column_strdup (stmt, 3);
      campaign->transactional = sqlite3_column_int (stmt, 4) != 0;
      g_free (campaign->subject);
      campaign->subject = ed_store_column_strdup (stmt, 5);
      g_free (campaign->text);
      campaign->text = ed_store_column_strdup (stmt, 6);
      g_free (campaign->html);
      campaign->html = ed_store_column_strdup (stmt, 7);
      campaign->state = ED_CAMPAIGN_STATE_RUNNING;
      campaign->created_at = sqlite3_column_int64 (stmt, 8);
      campaign->updated_at = sqlite3_column_int64 (stmt, 9);
      campaign->launched_at = sqlite3_column_int64 (stmt, 10);
      g_ptr_array_add (campaigns, campaign);
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  return g_steal_pointer (&campaigns);
}

/* The guest's columns, then the message's. */
#define CLAIM_MESSAGE_COLUMN GUEST_N_COLUMNS

/* Reads the due rows first and moves them to `sending` after: a row
 * updated under a running SELECT may leave or re-enter its index range.
 * With @queued_campaign_id, the rows are the campaign's first queued ones
 * in id order, and one UPDATE over that range of the index moves them
 * all; retries are scattered and move one by one.
 */
static gboolean
claim_rows (EdStore       *self,
            sqlite3_stmt  *select,
            gint64         queued_campaign_id,
            GPtrArray     *messages,
            guint          max_messages,
            GError       **error)
{
  sqlite3_stmt *update;
  guint first = messages->len;
  int rc = SQLITE_DONE;

  while (messages->len < max_messages && (rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      EdQueuedMessage *message = g_new0 (EdQueuedMessage, 1);

      message->guest = ed_store_guest_from_row (select);
      message->id = sqlite3_column_int64 (select, CLAIM_MESSAGE_COLUMN);
      message->campaign_id = sqlite3_column_int64 (select, CLAIM_MESSAGE_COLUMN + 1);
      message->attempts = sqlite3_column_int (select, CLAIM_MESSAGE_COLUMN + 2);
      message->created_at = sqlite3_column_int64 (select, CLAIM_MESSAGE_COLUMN + 3);
      g_ptr_array_add (messages, message);
    }
  sqlite3_reset (select);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  if (queued_campaign_id > 0 && messages->len > first)
    {
      EdQueuedMessage *last = g_ptr_array_index (messages, messages->len - 1);

      if (!(update = ed_store_prepare (self,
                                       "UPDATE messages SET state = 'sending' "
                                       "WHERE campaign_id = ?1 AND state = 'queued' AND id <= ?2", error)))
        return FALSE;
      sqlite3_bind_int64 (update, 1, queued_campaign_id);
      sqlite3_bind_int64 (update, 2, last->id);
      if (!ed_store_step_done (self, update, error))
        return FALSE;
      /* the write lock is held since the SELECT: nothing else moved */
      g_assert (sqlite3_changes (self->db) == (int) (messages->len - first));
      return TRUE;
    }

  for (guint i = first; i < messages->len; i++)
    {
      EdQueuedMessage *message = g_ptr_array_index (messages, i);

      if (!(update = ed_store_prepare (self, "UPDATE messages SET state = 'sending' WHERE id = ?", error)))
        return FALSE;
      sqlite3_bind_int64 (update, 1, message->id);
      if (!ed_store_step_done (self, update, error))
        return FALSE;
    }

  return TRUE;
}

/**
 * ed_store_claim_messages:
 * @self: a store
 * @campaign_id: a running campaign
 * @now: the time; retries due by then are taken
 * @max_messages: at most this many
 * @messages: (element-type EdQueuedMessage): where the claimed messages
 *   are added, each with its guest
 * @error: return location for an error
 *
 * Moves up to @max_messages of the campaign's due messages (retries
 * first, then queued ones in the order they were queued) to `sending`,
 * in one transaction.
 */
gboolean
ed_store_claim_messages (EdStore    *self,
                         gint64      campaign_id,
                         gint64      now,
                         guint       max_messages,
                         GPtrArray  *messages,
                         GError    **error)
{
  sqlite3_stmt *stmt;
  guint before;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (messages != NULL, FALSE);

  before = messages->len;
  max_messages += before;

  if (!ed_store_begin (self, error))
    return FALSE;

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT " GUEST_COLUMNS_OF_GUESTS ", m.id, m.campaign_id, m.attempts, m.created_at "
                                 "FROM messages m JOIN guests ON guests.id = m.guest_id "
                                 "WHERE m.campaign_id = ?1 AND m.state = 'retry' AND m.next_attempt_at <= ?2",
                                 error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_int64 (stmt, 2, now);
  if (!claim_rows (self, stmt, 0, messages, max_messages, error))
    goto fail;

  if (messages->len < max_messages)
    {
      if (!(stmt = ed_store_prepare (self,
                                     "SELECT " GUEST_COLUMNS_OF_GUESTS ", m.id, m.campaign_id, m.attempts, m.created_at "
                                     "FROM messages m JOIN guests ON guests.id = m.guest_id "
                                     "WHERE m.campaign_id = ?1 AND m.state = 'queued' ORDER BY m.id",
                                     error)))
        goto fail;
      sqlite3_bind_int64 (stmt, 1, campaign_id);
      if (!claim_rows (self, stmt, campaign_id, messages, max_messages, error))
        goto fail;
    }

  if (!ed_store_commit (self, error))
    goto fail;

  return TRUE;

fail:
  ed_store_rollback (self);
  g_ptr_array_set_size (messages, before);
  return FALSE;
}

static const char *
delivery_state (EdDeliveryOutcome outcome)
{
  switch (outcome)
    {
    case ED_DELIVERY_SENT:
      return "sent";
    case ED_DELIVERY_RETRY:
      return "retry";
    case ED_DELIVERY_FAILED:
      return "failed";
    default:
      g_return_val_if_reached (NULL);
    }
}

/* The attempts of one event in one minute, for the timelines. */
typedef struct
{
  gint64 event_id;
  gint64 minute;
  gint64 counts[3];  /* sent, retried, failed */
} Tally;

#define TIMELINE_UPSERT(table, unit) \
  "INSERT INTO " table " (event_id, " unit ", sent, retried, failed) VALUES (?1, ?2, ?3, ?4, ?5) " \
  "ON CONFLICT (event_id, " unit ") DO UPDATE SET sent = sent + excluded.sent, " \
  "retried = retried + excluded.retried, failed = failed + excluded.failed"

/* What the timeline triggers do for each row written by hand, for a batch
 * at once: one upsert per event and unit of time.
 */
static gboolean
tally_deliveries (EdStore                 *self,
                  const EdDeliveryRecord  *records,
                  guint                    n_records,
                  GError                 **error)
{
  static const struct
  {
    const char *sql;
    gint64      minutes;
  } tables[] = {
    { TIMELINE_UPSERT ("timeline_minutes", "minute"), 1 },
    { TIMELINE_UPSERT ("timeline_quarters", "quarter"), 15 },
    { TIMELINE_UPSERT ("timeline_hours", "hour"), 60 },
    { TIMELINE_UPSERT ("timeline_days", "day"), 1440 },
  };
  g_autoptr(GArray) tallies = g_array_new (FALSE, TRUE, sizeof (Tally));

  /* a batch spans a minute or two of one campaign or a few: few tallies */
  for (guint i = 0; i < n_records; i++)
    {
      gint64 minute = records[i].at / 60;
      Tally *tally = NULL;

      for (guint j = tallies->len; j > 0 && tally == NULL; j--)
        {
          Tally *t = &g_array_index (tallies, Tally, j - 1);

          if (t->event_id == records[i].event_id && t->minute == minute)
            tally = t;
        }
      if (tally == NULL)
        {
          g_array_set_size (tallies, tallies->len + 1);
          tally = &g_array_index (tallies, Tally, tallies->len - 1);
          tally->event_id = records[i].event_id;
          tally->minute = minute;
        }
      tally->counts[records[i].outcome == ED_DELIVERY_SENT ? 0 :
                    records[i].outcome == ED_DELIVERY_RETRY ? 1 : 2]++;
    }

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    for (guint i = 0; i < tallies->len; i++)
      {
        const Tally *tally = &g_array_index (tallies, Tally, i);
        sqlite3_stmt *stmt;

        if (!(stmt = ed_store_prepare (self, tables[t].sql, error)))
          return FALSE;
        sqlite3_bind_int64 (stmt, 1, tally->event_id);
        /* at / 60 / 15 is at / 900, as the trigger has it */
        sqlite3_bind_int64 (stmt, 2, tally->minute / tables[t].minutes);
        for (guint k = 0; k < 3; k++)
          sqlite3_bind_int64 (stmt, 3 + k, tally->counts[k]);
        if (!ed_store_step_done (self, stmt, error))
          return FALSE;
      }

  return TRUE;
}

/* Results are written by groups of rows, one UPDATE and one INSERT for
 * each: every run of a statement that writes messages or delivery_log
 * fills its CHECK constraint's IN list into a temporary B-tree (and sets
 * up its triggers), which cost more than the row itself when done for
 * each row.
 */
static const guint record_chunks[] = { 64, 16, 4, 1 };

typedef struct
{
  char *update;
  char *insert;
} RecordSql;

/* Made once; the statement cache keys them by address. */
static const RecordSql *
record_sql (guint chunk)
{
  static RecordSql sql[G_N_ELEMENTS (record_chunks)];
  static gsize initialized = 0;

  g_assert (chunk < G_N_ELEMENTS (record_chunks));

  if (g_once_init_enter (&initialized))
    {
      for (guint c = 0; c < G_N_ELEMENTS (record_chunks); c++)
        {
          /* the message's state, attempts, last reply and time; a
           * message to retry whose campaign was cancelled meanwhile is
           * cancelled instead
           */
          GString *update = g_string_new ("UPDATE messages SET state = CASE WHEN v.column2 <> 'retry' "
                                          "THEN v.column2 ELSE " CANCELLED_OR ("'retry'") " END, "
                                          "attempts = attempts + 1, "
                                          "last_code = v.column3, last_text = v.column4, "
                                          "next_attempt_at = v.column5, "
                                          "sent_at = CASE WHEN v.column2 = 'sent' THEN v.column6 ELSE sent_at END "
                                          "FROM (VALUES ");
          GString *insert = g_string_new ("INSERT INTO delivery_log (message_id, at, result, code, text, tallied) "
                                          "VALUES ");

          for (guint i = 0; i < record_chunks[c]; i++)
            {
              g_string_append (update, i > 0 ? ", (?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?)");
              g_string_append (insert, i > 0 ? ", (?, ?, ?, ?, ?, 1)" : "(?, ?, ?, ?, ?, 1)");
            }
          g_string_append (update, ") AS v WHERE messages.id = v.column1 AND messages.state = 'sending'");

          sql[c].update = g_string_free (update, FALSE);
          sql[c].insert = g_string_free (insert, FALSE);
        }
      g_once_init_leave (&initialized, 1);
    }

  return &sql[chunk];
}

/**
 * ed_store_record_deliveries:
 * @self: a store
 * @records: (array length=n_records): what became of some attempts
 * @n_records: how many
 * @error: return location for an error
 *
 * Writes the attempts in one transaction: each message's state, attempt
 * count, last reply and time, one delivery_log row per attempt, and the
 * attempts counted into the events' timelines. A message to retry whose
 * campaign was cancelled meanwhile is cancelled instead; its attempt is
 * logged and counted all the same.
 */
gboolean
ed_store_record_deliveries (EdStore                 *self,
                            const EdDeliveryRecord  *records,
                            guint                    n_records,
                            GError                 **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (n_records == 0 || records != NULL, FALSE);

  if (n_records == 0)
    return TRUE;

  if (!ed_store_begin (self, error))
    return FALSE;

  for (guint done = 0; done < n_records;)
    {
      guint chunk = 0;
      const RecordSql *sql;
      sqlite3_stmt *update;
      sqlite3_stmt *insert;

      while (record_chunks[chunk] > n_records - done)
        chunk++;
      sql = record_sql (chunk);
      /* both cached: the second prepare does not reset the first */
      if (!(update = ed_store_prepare (self, sql->update, error)) ||
          !(insert = ed_store_prepare (self, sql->insert, error)))
        goto fail;

      for (guint i = 0; i < record_chunks[chunk]; i++)
        {
          const EdDeliveryRecord *record = &records[done + i];
          const char *state = delivery_state (record->outcome);
          int u = 6 * i;
          int d = 5 * i;

          sqlite3_bind_int64 (update, u + 1, record->message_id);
          sqlite3_bind_text (update, u + 2, state, -1, SQLITE_STATIC);
          if (record->code != 0)
            sqlite3_bind_int (update, u + 3, (int) record->code);
          ed_store_bind_text_or_null (update, u + 4, record->text);
          sqlite3_bind_int64 (update, u + 5,
                              record->outcome == ED_DELIVERY_RETRY ? record->next_attempt_at : record->at);
          sqlite3_bind_int64 (update, u + 6, record->at);

          sqlite3_bind_int64 (insert, d + 1, record->message_id);
          sqlite3_bind_int64 (insert, d + 2, record->at);
          sqlite3_bind_text (insert, d + 3, state, -1, SQLITE_STATIC);
          if (record->code != 0)
            sqlite3_bind_int (insert, d + 4, (int) record->code);
          ed_store_bind_text_or_null (insert, d + 5, record->text);
        }

      if (!ed_store_step_done (self, update, error) ||
          !ed_store_step_done (self, insert, error))
        goto fail;
      done += record_chunks[chunk];
    }

  if (!tally_deliveries (self, records, n_records, error) ||
      !ed_store_commit (self, error))
    goto fail;

  return TRUE;

fail:
  ed_store_rollback (self);
  return FALSE;
}

/**
 * ed_store_finish_campaign_if_done:
 * @self: a store
 * @campaign_id: a campaign
 * @now: the time
 * @finished: (out): whether the campaign became done just now
 * @error: return location for an error
 *
 * A running campaign with nothing left to send (no message queued,
 * sending or waiting for a retry) becomes `done`.
 */
gboolean
ed_store_finish_campaign_if_done (EdStore   *self,
                                  gint64     campaign_id,
                                  gint64     now,
                                  gboolean  *finished,
                                  GError   **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (finished != NULL, FALSE);

  *finished = FALSE;

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE campaigns SET state = 'done', finished_at = ?2, updated_at = ?2 "
                                 "WHERE id = ?1 AND state = 'running' AND NOT EXISTS "
                                 "(SELECT 1 FROM messages WHERE campaign_id = ?1 "
                                 "AND state IN ('queued', 'sending', 'retry'))", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_int64 (stmt, 2, now);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  *finished = sqlite3_changes (self->db) > 0;
  return TRUE;
}

/**
 * ed_store_pause_failing_campaign:
 * @self: a store
 * @campaign_id: a running campaign
 * @reason: why, for the organizer
 * @now: the time
 * @paused: (out): whether the campaign was running and is paused now
 * @error: return location for an error
 */
gboolean
ed_store_pause_failing_campaign (EdStore     *self,
                                 gint64       campaign_id,
                                 const char  *reason,
                                 gint64       now,
                                 gboolean    *paused,
                                 GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (reason != NULL && paused != NULL, FALSE);

  *paused = FALSE;

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE campaigns SET state = 'paused', state_reason = ?2, updated_at = ?3 "
                                 "WHERE id = ?1 AND state = 'running'", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_text (stmt, 2, reason, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, now);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  *paused = sqlite3_changes (self->db) > 0;
  return TRUE;
}

/**
 * ed_store_release_messages:
 * @self: a store
 * @message_ids: (array length=n_messages): messages claimed and not sent
 * @n_messages: how many
 * @error: return location for an error
 *
 * Puts claimed messages that were never attempted (the mailer is
 * stopping) back in the queue, as they were.
 */
gboolean
ed_store_release_messages (EdStore       *self,
                           const gint64  *message_ids,
                           guint          n_messages,
                           GError       **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (n_messages == 0 || message_ids != NULL, FALSE);

  if (n_messages == 0)
    return TRUE;

  if (!ed_store_begin (self, error))
    return FALSE;

  for (guint i = 0; i < n_messages; i++)
    {
      sqlite3_stmt *stmt;

      /* a retry keeps its attempts; it was due, so it is due still */
      if (!(stmt = ed_store_prepare (self,
                                     "UPDATE messages SET state = "
                                     CANCELLED_OR ("CASE WHEN attempts > 0 THEN 'retry' ELSE 'queued' END") " "
                                     "WHERE id = ? AND state = 'sending'", error)))
        goto fail;
      sqlite3_bind_int64 (stmt, 1, message_ids[i]);
      if (!ed_store_step_done (self, stmt, error))
        goto fail;
    }

  if (!ed_store_commit (self, error))
    goto fail;

  return TRUE;

fail:
  ed_store_rollback (self);
  return FALSE;
}
