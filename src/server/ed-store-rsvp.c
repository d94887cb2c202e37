/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"
#include "ed-time-util.h"

/* Answers, capacity and the waiting list.
 *
 * An answer is applied inside one write transaction (BEGIN IMMEDIATE, so
 * that nothing else writes between the seat count and the update): read
 * the event and the guest, decide, write the guest and one rsvp_history
 * row per real change, promote from the waiting list, commit. Seats taken
 * come from event_counts, which triggers keep equal to the sum of the
 * accepted guests' party sizes.
 *
 * The waiting list: a waitlisted guest has waitlist_position 1, 2, 3… in
 * order of arrival, and every other guest has none. Joining takes the
 * position after the last; leaving (promotion, decline, cancellation)
 * moves everyone behind forward in the same transaction, one UPDATE over
 * the guests_waitlist index, so that positions never have gaps or
 * repeats and every reader (guest list, export, API) sees them as they
 * are.
 *
 * Promotion policy, strict order: seats that free up go to the head of
 * the line. When the first party in line is larger than the free seats,
 * it waits, and so does everyone behind it: nobody overtakes. A new
 * answer or a larger party does not get seats while anyone waits either.
 * So the line moves in arrival order, always, and a guest's position can
 * only go down.
 */

#define TRANSACTIONAL_PRIORITY 100

typedef struct
{
  gint64        event_id;
  EdRsvpStatus  status;
  gint          party_size;
  gint64        waitlist_position;
  gint64        token_version;
} GuestState;

typedef struct
{
  gint64   capacity;
  gboolean waitlist_enabled;
  gint     max_party_size;
  gint64   deadline;
} EventState;

const char *
ed_rsvp_source_to_string (EdRsvpSource source)
{
  switch (source)
    {
    case ED_RSVP_SOURCE_GUEST:
      return "guest";
    case ED_RSVP_SOURCE_ADMIN:
      return "admin";
    case ED_RSVP_SOURCE_SYSTEM:
      return "system";
    default:
      g_return_val_if_reached (NULL);
    }
}

static gboolean
read_guest (EdStore     *self,
            gint64       guest_id,
            GuestState  *guest,
            GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT event_id, status, party_size, waitlist_position, token_version "
                                 "FROM guests WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, guest_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      guest->event_id = sqlite3_column_int64 (stmt, 0);
      if (!ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 1), &guest->status))
        guest->status = ED_RSVP_PENDING;
      guest->party_size = sqlite3_column_int (stmt, 2);
      guest->waitlist_position = sqlite3_column_int64 (stmt, 3);
      guest->token_version = sqlite3_column_int64 (stmt, 4);
    }
  sqlite3_reset (stmt);

  if (rc == SQLITE_DONE)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "There is no guest %" G_GINT64_FORMAT, guest_id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

static gboolean
read_event (EdStore     *self,
            gint64       event_id,
            EventState  *event,
            GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT capacity, waitlist_enabled, max_party_size, "
                                 "coalesce(rsvp_deadline, starts_at) FROM events WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      event->capacity = sqlite3_column_int64 (stmt, 0);
      event->waitlist_enabled = sqlite3_column_int (stmt, 1) != 0;
      event->max_party_size = sqlite3_column_int (stmt, 2);
      event->deadline = sqlite3_column_int64 (stmt, 3);
    }
  sqlite3_reset (stmt);

  if (rc == SQLITE_DONE)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "There is no event %" G_GINT64_FORMAT, event_id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

static gboolean
query_int (EdStore     *self,
           const char  *sql,
           gint64       event_id,
           gint64      *value,
           GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = ed_store_prepare (self, sql, error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  if (rc != SQLITE_ROW)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

static gboolean
read_seats_taken (EdStore  *self,
                  gint64    event_id,
                  gint64   *seats,
                  GError  **error)
{
  return query_int (self,
                    "SELECT coalesce((SELECT seats FROM event_counts "
                    "WHERE event_id = ?1 AND status = 'accepted'), 0)",
                    event_id, seats, error);
}

/* The position of the last guest in line, 0 when nobody waits. */
static gboolean
read_last_position (EdStore  *self,
                    gint64    event_id,
                    gint64   *position,
                    GError  **error)
{
  return query_int (self,
                    "SELECT coalesce(max(waitlist_position), 0) FROM guests "
                    "WHERE event_id = ?1 AND waitlist_position IS NOT NULL",
                    event_id, position, error);
}

static gboolean
write_guest (EdStore       *self,
             gint64         guest_id,
             EdRsvpStatus   status,
             gint           party_size,
             gint64         waitlist_position,
             gint64         now,
             gboolean       responded,
             GError       **error)
{
  sqlite3_stmt *stmt;

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE guests SET status = ?2, party_size = ?3, waitlist_position = ?4, "
                                 "updated_at = ?5, responded_at = CASE WHEN ?6 THEN ?5 ELSE responded_at END "
                                 "WHERE id = ?1", error)))
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, guest_id);
  sqlite3_bind_text (stmt, 2, ed_rsvp_status_to_string (status), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 3, party_size);
  if (waitlist_position > 0)
    sqlite3_bind_int64 (stmt, 4, waitlist_position);
  else
    sqlite3_bind_null (stmt, 4);
  sqlite3_bind_int64 (stmt, 5, now);
  sqlite3_bind_int (stmt, 6, responded ? 1 : 0);

  return ed_store_step_done (self, stmt, error);
}

static gboolean
add_history (EdStore       *self,
             gint64         guest_id,
             gint64         at,
             EdRsvpStatus   old_status,
             EdRsvpStatus   new_status,
             gint           party_size,
             EdRsvpSource   source,
             const char    *client_address,
             GError       **error)
{
  sqlite3_stmt *stmt;

  if (!(stmt = ed_store_prepare (self,
                                 "INSERT INTO rsvp_history (guest_id, at, old_status, new_status, "
                                 "party_size, source, client_address) VALUES (?, ?, ?, ?, ?, ?, ?)", error)))
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, guest_id);
  sqlite3_bind_int64 (stmt, 2, at);
  sqlite3_bind_text (stmt, 3, ed_rsvp_status_to_string (old_status), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, ed_rsvp_status_to_string (new_status), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 5, party_size);
  sqlite3_bind_text (stmt, 6, ed_rsvp_source_to_string (source), -1, SQLITE_STATIC);
  ed_store_bind_text_or_null (stmt, 7, client_address);

  return ed_store_step_done (self, stmt, error);
}

/* Moves everyone behind @position forward by @count places. */
static gboolean
close_gap (EdStore  *self,
           gint64    event_id,
           gint64    position,
           gint64    count,
           GError  **error)
{
  sqlite3_stmt *stmt;

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE guests SET waitlist_position = waitlist_position - ?3 "
                                 "WHERE event_id = ?1 AND waitlist_position IS NOT NULL "
                                 "AND waitlist_position > ?2", error)))
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_int64 (stmt, 2, position);
  sqlite3_bind_int64 (stmt, 3, count);

  return ed_store_step_done (self, stmt, error);
}

/* The event's transactional campaign of @kind (promotions,
 * confirmations), made on first use; its empty subject and text make the
 * renderer use its built-in, translatable ones (ed-mail-render.c).
 */
static gboolean
get_transactional_campaign (EdStore     *self,
                            gint64       event_id,
                            const char  *kind,
                            const char  *audience,
                            gint64       now,
                            gint64      *campaign_id,
                            GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!(stmt = ed_store_prepare (self,
                                 "SELECT id FROM campaigns WHERE event_id = ? "
                                 "AND kind = ? AND transactional = 1 "
                                 "ORDER BY id LIMIT 1", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *campaign_id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  if (!(stmt = ed_store_prepare (self,
                                 "INSERT INTO campaigns (event_id, kind, audience, subject, text_body, "
                                 "state, transactional, created_at, updated_at, launched_at) "
                                 "VALUES (?1, ?3, ?4, '', '', 'running', 1, ?2, ?2, ?2)",
                                 error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_int64 (stmt, 2, now);
  sqlite3_bind_text (stmt, 3, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, audience, -1, SQLITE_STATIC);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  *campaign_id = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

/* Queues a transactional message (a promotion, a confirmation) for the
 * guest. The same one still waiting is not queued twice; a guest
 * promoted or accepting a second time (after declining in between) gets
 * it again, counted for its give-up age from now.
 */
static gboolean
queue_transactional_message (EdStore     *self,
                             gint64       event_id,
                             const char  *kind,
                             const char  *audience,
                             gint64       guest_id,
                             gint64       now,
                             GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 campaign_id = 0;

  if (!get_transactional_campaign (self, event_id, kind, audience, now, &campaign_id, error))
    return FALSE;

  if (!(stmt = ed_store_prepare (self,
                                 "INSERT INTO messages (campaign_id, guest_id, state, priority, "
                                 "next_attempt_at, created_at) VALUES (?1, ?2, 'queued', ?3, ?4, ?4) "
                                 "ON CONFLICT (campaign_id, guest_id) DO UPDATE SET state = 'queued', "
                                 "attempts = 0, next_attempt_at = excluded.next_attempt_at, "
                                 "created_at = excluded.created_at, "
                                 "last_code = NULL, last_text = NULL, sent_at = NULL "
                                 "WHERE state IN ('sent', 'failed', 'cancelled')", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_int64 (stmt, 2, guest_id);
  sqlite3_bind_int (stmt, 3, TRANSACTIONAL_PRIORITY);
  sqlite3_bind_int64 (stmt, 4, now);

  return ed_store_step_done (self, stmt, error);
}

/* Lets in the head of the line while its party fits (strict order, see
 * the top of the file); @seats_taken is updated.
 */
static gboolean
promote (EdStore  *self,
         gint64    event_id,
         gint64    capacity,
         gint64    now,
         gint64   *seats_taken,
         guint    *n_promoted,
         GError  **error)
{
  guint promoted = 0;

  for (;;)
    {
      sqlite3_stmt *stmt;
      gint64 guest_id;
      gint party_size;
      int rc;

      if (!(stmt = ed_store_prepare (self,
                                     "SELECT id, party_size FROM guests "
                                     "WHERE event_id = ? AND waitlist_position IS NOT NULL "
                                     "ORDER BY waitlist_position LIMIT 1", error)))
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, event_id);
      rc = sqlite3_step (stmt);
      guest_id = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
      party_size = rc == SQLITE_ROW ? sqlite3_column_int (stmt, 1) : 0;
      sqlite3_reset (stmt);

      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ed_store_set_error (self, rc, error);
      if (rc == SQLITE_DONE || *seats_taken + party_size > capacity)
        break;

      if (!write_guest (self, guest_id, ED_RSVP_ACCEPTED, party_size, 0, now, FALSE, error) ||
          !add_history (self, guest_id, now, ED_RSVP_WAITLISTED, ED_RSVP_ACCEPTED, party_size,
                        ED_RSVP_SOURCE_SYSTEM, NULL, error) ||
          !queue_transactional_message (self, event_id, "waitlist_promotion", "promoted",
                                        guest_id, now, error))
        return FALSE;

      /* The promoted guest held position promoted + 1 before the shift below. */
      *seats_taken += party_size;
      promoted++;
    }

  if (promoted > 0 && !close_gap (self, event_id, 0, promoted, error))
    return FALSE;

  if (n_promoted != NULL)
    *n_promoted += promoted;
  return TRUE;
}

static void
fill_outcome (EdRsvpOutcome *outcome,
              EdRsvpResult   result,
              EdRsvpStatus   status,
              gint           party_size,
              gint64         waitlist_position,
              gint64         capacity,
              gint64         seats_taken)
{
  outcome->result = result;
  outcome->status = status;
  outcome->party_size = party_size;
  outcome->waitlist_position = status == ED_RSVP_WAITLISTED ? waitlist_position : 0;
  outcome->capacity = capacity;
  outcome->seats_taken = seats_taken;
}

/* The answer itself; the caller holds a savepoint or transaction. */
static gboolean
apply_answer (EdStore             *self,
              const EdRsvpAnswer  *answer,
              EdRsvpOutcome       *outcome,
              GError             **error)
{
  GuestState guest = { 0 };
  EventState event = { 0 };
  EdRsvpStatus wanted = answer->status;
  EdRsvpStatus new_status;
  gint64 seats_taken = 0;
  gint64 last_position = 0;
  gint64 new_position = 0;
  gint party_size;
  gboolean is_guest = answer->source == ED_RSVP_SOURCE_GUEST;

  memset (outcome, 0, sizeof *outcome);

  if (!read_guest (self, answer->guest_id, &guest, error))
    return FALSE;

  /* A link naming another event or an old token version is no link. */
  if ((answer->event_id != 0 && guest.event_id != answer->event_id) ||
      (answer->token_version != 0 && guest.token_version != answer->token_version))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "There is no guest %" G_GINT64_FORMAT, answer->guest_id);
      return FALSE;
    }

  if (!read_event (self, guest.event_id, &event, error) ||
      !read_seats_taken (self, guest.event_id, &seats_taken, error) ||
      !read_last_position (self, guest.event_id, &last_position, error))
    return FALSE;

  party_size = answer->party_size > 0 ? answer->party_size : guest.party_size;

  /* What a refusal or a repeated answer reports: the state as it is. */
  fill_outcome (outcome, ED_RSVP_RESULT_UNCHANGED, guest.status, guest.party_size,
                guest.waitlist_position, event.capacity, seats_taken);

  if (is_guest)
    {
      if (wanted != ED_RSVP_ACCEPTED && wanted != ED_RSVP_DECLINED)
        {
          g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "A guest can only accept or decline");
          return FALSE;
        }
      if (guest.status == ED_RSVP_CANCELLED)
        {
          outcome->result = ED_RSVP_RESULT_CANCELLED;
          return TRUE;
        }
      if (answer->now >= event.deadline)
        {
          outcome->result = ED_RSVP_RESULT_CLOSED;
          return TRUE;
        }
    }

  if ((wanted == ED_RSVP_ACCEPTED || wanted == ED_RSVP_WAITLISTED || answer->party_size > 0) &&
      (party_size < 1 || party_size > event.max_party_size))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "The party size must be from 1 to %d", event.max_party_size);
      return FALSE;
    }

  switch (wanted)
    {
    case ED_RSVP_ACCEPTED:
    case ED_RSVP_WAITLISTED:
      if (guest.status == ED_RSVP_ACCEPTED)
        {
          if (wanted == ED_RSVP_WAITLISTED)
            {
              /* Accepted guests are never demoted. */
              g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                                   "An accepted guest cannot be moved to the waiting list; "
                                   "decline or cancel the answer instead");
              return FALSE;
            }
          if (party_size == guest.party_size)
            return TRUE;
          if (party_size > guest.party_size &&
              (last_position > 0 || seats_taken - guest.party_size + party_size > event.capacity))
            {
              outcome->result = ED_RSVP_RESULT_NOT_ENOUGH_SEATS;
              return TRUE;
            }
          new_status = ED_RSVP_ACCEPTED;
          seats_taken += party_size - guest.party_size;
        }
      else if (guest.status == ED_RSVP_WAITLISTED)
        {
          /* Keeps its place in line; a smaller party may now fit. */
          if (party_size == guest.party_size)
            return TRUE;
          new_status = ED_RSVP_WAITLISTED;
          new_position = guest.waitlist_position;
        }
      else if (wanted == ED_RSVP_ACCEPTED && last_position == 0 &&
               seats_taken + party_size <= event.capacity)
        {
          new_status = ED_RSVP_ACCEPTED;
          seats_taken += party_size;
        }
      else if (event.waitlist_enabled || wanted == ED_RSVP_WAITLISTED)
        {
          new_status = ED_RSVP_WAITLISTED;
          new_position = last_position + 1;
        }
      else
        {
          outcome->result = ED_RSVP_RESULT_FULL;
          return TRUE;
        }
      break;

    case ED_RSVP_DECLINED:
    case ED_RSVP_CANCELLED:
    case ED_RSVP_PENDING:
      if (guest.status == wanted && party_size == guest.party_size)
        return TRUE;
      new_status = wanted;
      if (guest.status == ED_RSVP_ACCEPTED)
        seats_taken -= guest.party_size;
      break;

    default:
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "Unknown answer");
      return FALSE;
    }

  if (!write_guest (self, answer->guest_id, new_status, party_size, new_position, answer->now,
                    answer->source != ED_RSVP_SOURCE_SYSTEM, error) ||
      !add_history (self, answer->guest_id, answer->now, guest.status, new_status, party_size,
                    answer->source, answer->client_address, error))
    return FALSE;

  /* A new acceptance (not a change of party size) is confirmed by mail,
   * with the event's calendar file; in the same transaction, so that an
   * acceptance and its mail are written together or not at all.
   */
  if (new_status == ED_RSVP_ACCEPTED && guest.status != ED_RSVP_ACCEPTED &&
      answer->source != ED_RSVP_SOURCE_SYSTEM &&
      !queue_transactional_message (self, guest.event_id, "confirmation", "accepted",
                                    answer->guest_id, answer->now, error))
    return FALSE;

  /* Leaving the line moves the guests behind forward. */
  if (guest.status == ED_RSVP_WAITLISTED && new_status != ED_RSVP_WAITLISTED &&
      !close_gap (self, guest.event_id, guest.waitlist_position, 1, error))
    return FALSE;

  /* Only freed seats or a change in the line can let anyone in: a guest
   * who was just accepted took seats, and the line's head did not fit
   * before (or it would have been promoted then).
   */
  if (new_status != ED_RSVP_ACCEPTED || guest.status == ED_RSVP_ACCEPTED)
    if (!promote (self, guest.event_id, event.capacity, answer->now, &seats_taken,
                  &outcome->n_promoted, error))
      return FALSE;

  /* The answer's own guest may have been promoted just now. */
  if (new_status == ED_RSVP_WAITLISTED && outcome->n_promoted > 0)
    {
      GuestState after = { 0 };

      if (!read_guest (self, answer->guest_id, &after, error))
        return FALSE;
      new_status = after.status;
      new_position = after.waitlist_position;
    }

  fill_outcome (outcome, ED_RSVP_RESULT_CHANGED, new_status, party_size, new_position,
                event.capacity, seats_taken);
  return TRUE;
}

/**
 * ed_store_apply_rsvp_answer:
 * @self: a store
 * @answer: the answer
 * @outcome: (out): what came of it
 * @error: return location for an error: %ED_ERROR_NOT_FOUND for an
 *   unknown guest (or one not matching @answer's event and token
 *   version), %ED_ERROR_INVALID for a bad party size or status
 *
 * Applies one answer inside the caller's write transaction, as a
 * savepoint: on an error, nothing of this answer remains and the
 * transaction goes on. Callers that answer many guests at once (the RSVP
 * routes under load) thereby share one commit — one fsync — while each
 * answer stays atomic and sees the ones before it.
 */
gboolean
ed_store_apply_rsvp_answer (EdStore             *self,
                            const EdRsvpAnswer  *answer,
                            EdRsvpOutcome       *outcome,
                            GError             **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (answer != NULL && outcome != NULL, FALSE);
  g_return_val_if_fail (!sqlite3_get_autocommit (self->db), FALSE);

  /* Prepared once: a batch runs these hundreds of times. */
  if (!(stmt = ed_store_prepare (self, "SAVEPOINT rsvp_answer", error)) ||
      !ed_store_step_done (self, stmt, error))
    return FALSE;

  if (!apply_answer (self, answer, outcome, error))
    {
      sqlite3_exec (self->db, "ROLLBACK TO rsvp_answer; RELEASE rsvp_answer", NULL, NULL, NULL);
      return FALSE;
    }

  return (stmt = ed_store_prepare (self, "RELEASE rsvp_answer", error)) != NULL &&
         ed_store_step_done (self, stmt, error);
}

/**
 * ed_store_answer_rsvp:
 *
 * Applies one answer in a transaction of its own; see
 * ed_store_apply_rsvp_answer().
 */
gboolean
ed_store_answer_rsvp (EdStore             *self,
                      const EdRsvpAnswer  *answer,
                      EdRsvpOutcome       *outcome,
                      GError             **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (answer != NULL && outcome != NULL, FALSE);

  if (!ed_store_begin (self, error))
    return FALSE;

  if (!apply_answer (self, answer, outcome, error) || !ed_store_commit (self, error))
    {
      ed_store_rollback (self);
      return FALSE;
    }

  return TRUE;
}

/**
 * ed_store_apply_rsvp_answers:
 * @self: a store
 * @answers: (array length=n_answers): the answers, in order of arrival
 * @n_answers: how many
 * @outcomes: (array length=n_answers) (out caller-allocates): what came of each
 * @errors: (array length=n_answers) (out caller-allocates): each answer's
 *   own error (an unknown guest, a bad party size), or %NULL
 * @error: return location for an error of the batch as a whole
 *
 * Group commit: applies the answers one after the other, each atomic as
 * in ed_store_apply_rsvp_answer(), and commits them all at once, so that
 * a burst of answers costs one fsync instead of one each. Nothing of the
 * batch is acknowledged before that commit.
 *
 * Returns: %FALSE when the batch could not be committed: then none of it
 *   was written, whatever @outcomes say
 */
gboolean
ed_store_apply_rsvp_answers (EdStore             *self,
                             const EdRsvpAnswer  *answers,
                             guint                n_answers,
                             EdRsvpOutcome       *outcomes,
                             GError             **errors,
                             GError             **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (n_answers == 0 || (answers != NULL && outcomes != NULL && errors != NULL), FALSE);

  if (!ed_store_begin (self, error))
    return FALSE;

  for (guint i = 0; i < n_answers; i++)
    {
      if (ed_store_apply_rsvp_answer (self, &answers[i], &outcomes[i], &errors[i]))
        continue;

      /* Some errors (a full disk, say) end the whole transaction: the
       * answers after it must not run outside of one.
       */
      if (sqlite3_get_autocommit (self->db))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_STORE, "The answers could not be saved: %s",
                       errors[i]->message);
          return FALSE;
        }
    }

  if (!ed_store_commit (self, error))
    {
      ed_store_rollback (self);
      return FALSE;
    }

  return TRUE;
}

/**
 * ed_store_update_event_promoting:
 * @self: a store
 * @event: the event with its new fields
 * @n_promoted: (out) (optional): how many waitlisted guests got in
 * @error: return location for an error; a capacity below the seats taken
 *   is %ED_ERROR_CONFLICT
 *
 * Writes the event and, in the same transaction, lets in the waiting
 * list's head as far as a larger capacity allows.
 */
gboolean
ed_store_update_event_promoting (EdStore  *self,
                                 EdEvent  *event,
                                 guint    *n_promoted,
                                 GError  **error)
{
  gint64 seats_taken = 0;
  guint promoted = 0;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (event != NULL, FALSE);

  if (!ed_store_begin (self, error))
    return FALSE;

  if (!read_seats_taken (self, event->id, &seats_taken, error))
    goto fail;
  if (event->capacity < seats_taken)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
                   "Accepted guests already take %" G_GINT64_FORMAT " seats; "
                   "the capacity cannot go below that", seats_taken);
      goto fail;
    }

  if (!ed_store_update_event (self, event, error) ||
      !promote (self, event->id, event->capacity, event->updated_at, &seats_taken, &promoted, error) ||
      !ed_store_commit (self, error))
    goto fail;

  if (n_promoted != NULL)
    *n_promoted = promoted;
  return TRUE;

fail:
  ed_store_rollback (self);
  return FALSE;
}

/**
 * ed_store_revoke_guest_link:
 *
 * Bumps the guest's token version, so that every link issued before
 * stops working.
 *
 * Returns: the new token version, or 0 with @error set
 */
gint64
ed_store_revoke_guest_link (EdStore  *self,
                            gint64    guest_id,
                            GError  **error)
{
  sqlite3_stmt *stmt;
  gint64 version = 0;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), 0);

  if (!(stmt = ed_store_prepare (self,
                                 "UPDATE guests SET token_version = token_version + 1, updated_at = ?2 "
                                 "WHERE id = ?1 RETURNING token_version", error)))
    return 0;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  sqlite3_bind_int64 (stmt, 2, ed_time_now ());

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      version = sqlite3_column_int64 (stmt, 0);
      rc = sqlite3_step (stmt);
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return 0;
    }
  if (version == 0)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "There is no guest %" G_GINT64_FORMAT, guest_id);

  return version;
}

/* Returns the seats the event's accepted guests take, or -1 on error. */
gint64
ed_store_get_seats_taken (EdStore  *self,
                          gint64    event_id,
                          GError  **error)
{
  gint64 seats = 0;

  g_return_val_if_fail (ED_IS_STORE (self), -1);

  if (!read_seats_taken (self, event_id, &seats, error))
    return -1;

  return seats;
}
