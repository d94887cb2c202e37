/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

#include "ed-store.h"

G_BEGIN_DECLS

/* Shared by the files of EdStore, each holding the SQL of one concern. */

struct _EdStore
{
  GObject     parent_instance;

  /* owned */
  sqlite3    *db;
  char       *path;
  GHashTable *statements; /* SQL text (static) -> sqlite3_stmt */
};

#define GUEST_COLUMNS \
  "id, event_id, email, first_name, last_name, extra, status, party_size, " \
  "waitlist_position, token_version, created_at, updated_at, responded_at, unsubscribed_at"

#define GUEST_COLUMNS_OF_GUESTS \
  "guests.id, guests.event_id, guests.email, guests.first_name, guests.last_name, " \
  "guests.extra, guests.status, guests.party_size, guests.waitlist_position, " \
  "guests.token_version, guests.created_at, guests.updated_at, guests.responded_at, " \
  "guests.unsubscribed_at"

/* How many columns GUEST_COLUMNS has: what a query selects after them
 * starts at this index.
 */
#define GUEST_N_COLUMNS 14

#define EVENT_COLUMNS \
  "id, name, description, venue, timezone, starts_at, ends_at, rsvp_deadline, " \
  "capacity, waitlist_enabled, max_party_size, created_at, updated_at"

/* The triggers that keep the search index and the per-status counters up
 * to date as guests are inserted. A bulk import drops them for its insert
 * and creates them again, from these same texts, before it commits.
 *
 * guests_search holds exactly the guests whose id is at most
 * guests_search_state.indexed_upto. A guest added while the index is up to
 * date is indexed at once; the ones a bulk import adds are indexed later,
 * in short transactions (ed_store_index_search_batch()), and searches scan
 * them meanwhile.
 */
#define ED_STORE_SEARCH_INSERT_TRIGGER \
  "CREATE TRIGGER guests_search_insert AFTER INSERT ON guests" \
  "  WHEN new.id <= (SELECT indexed_upto FROM guests_search_state) + 1 BEGIN" \
  "  INSERT INTO guests_search(rowid, email, first_name, last_name)" \
  "    VALUES (new.id, new.email, new.first_name, new.last_name);" \
  "  UPDATE guests_search_state SET indexed_upto = new.id WHERE indexed_upto < new.id;" \
  "END;"

#define ED_STORE_COUNTS_INSERT_TRIGGER \
  "CREATE TRIGGER event_counts_insert AFTER INSERT ON guests BEGIN" \
  "  INSERT INTO event_counts VALUES (new.event_id, new.status, 1, new.party_size)" \
  "    ON CONFLICT (event_id, status) DO UPDATE" \
  "    SET guests = guests + 1, seats = seats + excluded.seats;" \
  "END;"

/* The trigger that counts a campaign's messages as they are queued
 * (migration 7). A launch drops it for its one INSERT … SELECT, counts the
 * rows it queued once, and creates it again from this text before it
 * commits.
 */
#define ED_STORE_CAMPAIGN_COUNTS_INSERT_TRIGGER \
  "CREATE TRIGGER campaign_counts_insert AFTER INSERT ON messages BEGIN" \
  "  INSERT INTO campaign_counts VALUES (new.campaign_id, new.state, 1)" \
  "    ON CONFLICT (campaign_id, state) DO UPDATE SET messages = messages + 1;" \
  "END;"

/* Timeline rollups (migration 8): one row per event and minute (quarter
 * hour, hour, day) with the answers by new status and the delivery
 * attempts by result.
 */
#define ED_STORE_TIMELINE_TABLE(table, unit) \
  "CREATE TABLE " table " (" \
  "  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE," \
  "  " unit " INTEGER NOT NULL," \
  "  pending INTEGER NOT NULL DEFAULT 0," \
  "  accepted INTEGER NOT NULL DEFAULT 0," \
  "  declined INTEGER NOT NULL DEFAULT 0," \
  "  waitlisted INTEGER NOT NULL DEFAULT 0," \
  "  cancelled INTEGER NOT NULL DEFAULT 0," \
  "  sent INTEGER NOT NULL DEFAULT 0," \
  "  retried INTEGER NOT NULL DEFAULT 0," \
  "  failed INTEGER NOT NULL DEFAULT 0," \
  "  PRIMARY KEY (event_id, " unit ")" \
  ") WITHOUT ROWID;"

#define ED_STORE_TIMELINE_RSVP_TRIGGER(table, unit, seconds) \
  "CREATE TRIGGER " table "_rsvp AFTER INSERT ON rsvp_history BEGIN" \
  "  INSERT INTO " table " (event_id, " unit ", pending, accepted, declined, waitlisted, cancelled)" \
  "    SELECT event_id, new.at / " seconds ", new.new_status = 'pending', new.new_status = 'accepted'," \
  "      new.new_status = 'declined', new.new_status = 'waitlisted', new.new_status = 'cancelled'" \
  "    FROM guests WHERE id = new.guest_id" \
  "    ON CONFLICT (event_id, " unit ") DO UPDATE SET pending = pending + excluded.pending," \
  "      accepted = accepted + excluded.accepted, declined = declined + excluded.declined," \
  "      waitlisted = waitlisted + excluded.waitlisted, cancelled = cancelled + excluded.cancelled;" \
  "END;"

/* Fills a coarser table from timeline_minutes. */
#define ED_STORE_TIMELINE_ROLL_UP(table, minutes) \
  "INSERT INTO " table \
  "  SELECT event_id, minute / " minutes ", sum(pending), sum(accepted), sum(declined), sum(waitlisted)," \
  "    sum(cancelled), sum(sent), sum(retried), sum(failed)" \
  "  FROM timeline_minutes WHERE true GROUP BY 1, 2;"

#define ED_STORE_TIMELINE_DELIVERY_TRIGGER(table, unit, seconds) \
  ED_STORE_TIMELINE_DELIVERY_TRIGGER_WHEN (table, unit, seconds, "")

/* Migration 10: rows the mailer wrote with tallied = 1 are already
 * counted, by batch (ed_store_record_deliveries()).
 */
#define ED_STORE_TIMELINE_DELIVERY_TRIGGER_UNTALLIED(table, unit, seconds) \
  "DROP TRIGGER " table "_delivery;" \
  ED_STORE_TIMELINE_DELIVERY_TRIGGER_WHEN (table, unit, seconds, " WHEN NOT new.tallied")

#define ED_STORE_TIMELINE_DELIVERY_TRIGGER_WHEN(table, unit, seconds, when) \
  "CREATE TRIGGER " table "_delivery AFTER INSERT ON delivery_log" when " BEGIN" \
  "  INSERT INTO " table " (event_id, " unit ", sent, retried, failed)" \
  "    SELECT c.event_id, new.at / " seconds ", new.result = 'sent', new.result = 'retry', new.result = 'failed'" \
  "    FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.id = new.message_id" \
  "    ON CONFLICT (event_id, " unit ") DO UPDATE SET sent = sent + excluded.sent," \
  "      retried = retried + excluded.retried, failed = failed + excluded.failed;" \
  "END;"

gboolean      ed_store_set_error          (EdStore       *self,
                                           int            rc,
                                           GError       **error);
sqlite3_stmt *ed_store_prepare            (EdStore       *self,
                                           const char    *sql,
                                           GError       **error);
gboolean      ed_store_step_done          (EdStore       *self,
                                           sqlite3_stmt  *stmt,
                                           GError       **error);
gboolean      ed_store_exec               (EdStore       *self,
                                           const char    *sql,
                                           GError       **error);
char         *ed_store_column_strdup      (sqlite3_stmt  *stmt,
                                           int            column);
void          ed_store_bind_text_or_null  (sqlite3_stmt  *stmt,
                                           int            index,
                                           const char    *text);
void          ed_store_bind_time_or_null  (sqlite3_stmt  *stmt,
                                           int            index,
                                           gint64         unix_seconds);

EdGuest      *ed_store_guest_from_row     (sqlite3_stmt  *stmt);
char         *ed_store_extra_to_string    (JsonObject    *extra);

typedef struct _EdStoreGuestFilter EdStoreGuestFilter;

EdStoreGuestFilter *ed_store_guest_filter_new        (const EdGuestQuery        *query);
void                ed_store_guest_filter_free       (EdStoreGuestFilter        *filter);
void                ed_store_guest_filter_append_sql (const EdStoreGuestFilter  *filter,
                                                      GString                   *sql);
void                ed_store_guest_filter_bind       (const EdStoreGuestFilter  *filter,
                                                      sqlite3_stmt              *stmt,
                                                      gint64                     event_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdStoreGuestFilter, ed_store_guest_filter_free)

G_END_DECLS
