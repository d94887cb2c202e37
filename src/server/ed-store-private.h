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
  "waitlist_position, token_version, created_at, updated_at, responded_at"

#define GUEST_COLUMNS_OF_GUESTS \
  "guests.id, guests.event_id, guests.email, guests.first_name, guests.last_name, " \
  "guests.extra, guests.status, guests.party_size, guests.waitlist_position, " \
  "guests.token_version, guests.created_at, guests.updated_at, guests.responded_at"

#define EVENT_COLUMNS \
  "id, name, description, venue, timezone, starts_at, ends_at, rsvp_deadline, " \
  "capacity, waitlist_enabled, max_party_size, created_at, updated_at"

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

G_END_DECLS
