/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"

/* The event's invitation sent again to chosen guests (the Guests page's
 * "Resend Invitation", `POST /api/v1/events/{id}/invitations`).
 *
 * The messages belong to the event's invitation campaign, the latest one
 * launched that was not cancelled: they render with its templates, count
 * in its numbers and show in each guest's deliveries as that campaign's.
 * A guest has one message per campaign, so resending puts that message
 * back in the queue (attempts and last reply forgotten); a guest the
 * campaign never wrote to (added after the launch) gets one now. Within a
 * campaign queued messages go out in queue order, so a message queued
 * again, having been queued long ago, goes out before the rest of a
 * campaign still sending; a new one waits for its turn. A campaign that
 * was done runs again for them and becomes done once they are sent.
 */

/* The campaign the event's invitation is sent with, and its state. */
static gboolean
find_invitation_campaign (EdStore          *self,
                          gint64            event_id,
                          gint64           *campaign_id,
                          EdCampaignState  *state,
                          GError          **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT id, state FROM campaigns WHERE event_id = ? "
                                 "AND kind = 'invitation' AND transactional = 0 "
                                 "AND state IN ('running', 'paused', 'done') "
                                 "ORDER BY launched_at DESC, id DESC LIMIT 1", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *campaign_id = sqlite3_column_int64 (stmt, 0);
      if (!ed_campaign_state_from_string ((const char *) sqlite3_column_text (stmt, 1), state))
        *state = ED_CAMPAIGN_STATE_DONE;
    }
  sqlite3_reset (stmt);

  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
               "Event %" G_GINT64_FORMAT " has no invitation to send again: create an invitation "
               "campaign and launch it first", event_id);
  return FALSE;
}

/* Checks that every guest is the event's; their unsubscribed flags go to
 * @unsubscribed.
 */
static gboolean
check_guests (EdStore       *self,
              gint64         event_id,
              const gint64  *guest_ids,
              guint          n_guest_ids,
              gboolean      *unsubscribed,
              gint64        *bad_guest_id,
              GError       **error)
{
  sqlite3_stmt *stmt;

  if (!(stmt = ed_store_prepare (self, "SELECT event_id, unsubscribed_at IS NOT NULL FROM guests WHERE id = ?",
                                 error)))
    return FALSE;

  for (guint i = 0; i < n_guest_ids; i++)
    {
      int rc;
      gint64 guest_event_id = 0;

      sqlite3_bind_int64 (stmt, 1, guest_ids[i]);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          guest_event_id = sqlite3_column_int64 (stmt, 0);
          unsubscribed[i] = sqlite3_column_int (stmt, 1) != 0;
        }
      sqlite3_reset (stmt);

      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ed_store_set_error (self, rc, error);
      if (guest_event_id != event_id)
        {
          *bad_guest_id = guest_ids[i];
          if (rc == SQLITE_DONE)
            g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                         "guest %" G_GINT64_FORMAT " does not exist (it may have been deleted)", guest_ids[i]);
          else
            g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                         "guest %" G_GINT64_FORMAT " is a guest of another event", guest_ids[i]);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
queue_invitations (EdStore             *self,
                   gint64               event_id,
                   const gint64        *guest_ids,
                   guint                n_guest_ids,
                   gint64               now,
                   EdInvitationsQueued *queued,
                   gint64              *bad_guest_id,
                   GError             **error)
{
  g_autofree gboolean *unsubscribed = g_new0 (gboolean, n_guest_ids);
  sqlite3_stmt *stmt;

  if (!find_invitation_campaign (self, event_id, &queued->campaign_id, &queued->campaign_state, error) ||
      !check_guests (self, event_id, guest_ids, n_guest_ids, unsubscribed, bad_guest_id, error))
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autofree frees unsubscribed; clang 14's analyzer does not run cleanups */
    return FALSE;

  /* A message still on its way (queued, sending, retry) is left alone. */
  if (!(stmt = ed_store_prepare (self,
                                 "INSERT INTO messages (campaign_id, guest_id, state, next_attempt_at, created_at) "
                                 "VALUES (?1, ?2, 'queued', ?3, ?3) "
                                 "ON CONFLICT (campaign_id, guest_id) DO UPDATE SET state = 'queued', "
                                 "attempts = 0, next_attempt_at = excluded.next_attempt_at, "
                                 "created_at = excluded.created_at, "
                                 "last_code = NULL, last_text = NULL, sent_at = NULL "
                                 "WHERE state IN ('sent', 'failed', 'cancelled')", error)))
    return FALSE;

  for (guint i = 0; i < n_guest_ids; i++)
    {
      /* Bulk mail: a guest who unsubscribed is not written to. */
      if (unsubscribed[i])
        {
          queued->n_unsubscribed++;
          continue;
        }

      sqlite3_bind_int64 (stmt, 1, queued->campaign_id);
      sqlite3_bind_int64 (stmt, 2, guest_ids[i]);
      sqlite3_bind_int64 (stmt, 3, now);
      if (!ed_store_step_done (self, stmt, error))
        return FALSE;
      if (sqlite3_changes (self->db) > 0)
        queued->n_queued++;
      else
        queued->n_waiting++;
    }

  if (queued->n_queued > 0 && queued->campaign_state == ED_CAMPAIGN_STATE_DONE)
    {
      if (!(stmt = ed_store_prepare (self,
                                     "UPDATE campaigns SET state = 'running', updated_at = ?2, finished_at = NULL "
                                     "WHERE id = ?1", error)))
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, queued->campaign_id);
      sqlite3_bind_int64 (stmt, 2, now);
      if (!ed_store_step_done (self, stmt, error))
        return FALSE;
      queued->campaign_state = ED_CAMPAIGN_STATE_RUNNING;
    }

  return TRUE;
}

/**
 * ed_store_queue_invitations:
 * @self: a store
 * @event_id: the event
 * @guest_ids: (array length=n_guest_ids): its guests to invite again
 * @n_guest_ids: how many
 * @now: the time
 * @queued: (out caller-allocates): what became of them
 * @bad_guest_id: (out) (optional): with %ED_ERROR_INVALID, the guest
 *   that is not the event's
 * @error: return location for an error: %ED_ERROR_INVALID for a guest
 *   that is not the event's, %ED_ERROR_CONFLICT when the event has no
 *   launched invitation
 *
 * Queues the event's invitation again for @guest_ids, in one write
 * transaction: all of them or, on an error, none. Guests who
 * unsubscribed are left out, and so are guests whose invitation is still
 * on its way. The caller wakes the mailer.
 */
gboolean
ed_store_queue_invitations (EdStore             *self,
                            gint64               event_id,
                            const gint64        *guest_ids,
                            guint                n_guest_ids,
                            gint64               now,
                            EdInvitationsQueued *queued,
                            gint64              *bad_guest_id,
                            GError             **error)
{
  gint64 bad = 0;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (guest_ids != NULL || n_guest_ids == 0, FALSE);
  g_return_val_if_fail (queued != NULL, FALSE);

  memset (queued, 0, sizeof *queued);
  if (!ed_store_begin (self, error))
    return FALSE;
  if (!queue_invitations (self, event_id, guest_ids, n_guest_ids, now, queued, &bad, error) ||
      !ed_store_commit (self, error))
    {
      ed_store_rollback (self);
      memset (queued, 0, sizeof *queued);
      if (bad_guest_id != NULL)
        *bad_guest_id = bad;
      return FALSE;
    }

  return TRUE;
}
