/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>
#include <sqlite3.h>

#include "ed-error.h"
#include "ed-store-private.h"
#include "ed-time-util.h"

/* All SQL of the daemon lives in this file. Every statement is a constant
 * string with bound parameters; the only SQL assembled at run time is the
 * guest list query, and it is assembled from constant fragments only.
 */


G_DEFINE_FINAL_TYPE (EdStore, ed_store, G_TYPE_OBJECT)

static const char * const migrations[] = {
  /* 1: the base schema */
  "CREATE TABLE admins ("
  "  id INTEGER PRIMARY KEY,"
  "  username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
  "  password_hash TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  last_login_at INTEGER"
  ");"
  "CREATE TABLE sessions ("
  "  id TEXT PRIMARY KEY,"
  "  admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,"
  "  created_at INTEGER NOT NULL,"
  "  expires_at INTEGER NOT NULL"
  ") WITHOUT ROWID;"
  "CREATE INDEX sessions_admin ON sessions(admin_id);"
  "CREATE INDEX sessions_expiry ON sessions(expires_at);"
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL,"
  "  description TEXT NOT NULL DEFAULT '',"
  "  venue TEXT NOT NULL DEFAULT '',"
  "  timezone TEXT NOT NULL DEFAULT 'UTC',"
  "  starts_at INTEGER NOT NULL,"
  "  ends_at INTEGER,"
  "  rsvp_deadline INTEGER,"
  "  capacity INTEGER NOT NULL CHECK (capacity >= 0),"
  "  waitlist_enabled INTEGER NOT NULL DEFAULT 1,"
  "  max_party_size INTEGER NOT NULL DEFAULT 1 CHECK (max_party_size >= 1),"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL"
  ");"
  "CREATE TABLE guests ("
  "  id INTEGER PRIMARY KEY,"
  "  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
  "  email TEXT NOT NULL COLLATE NOCASE,"
  "  first_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,"
  "  last_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,"
  "  extra TEXT,"
  "  status TEXT NOT NULL DEFAULT 'pending'"
  "    CHECK (status IN ('pending','accepted','declined','waitlisted','cancelled')),"
  "  party_size INTEGER NOT NULL DEFAULT 1 CHECK (party_size >= 1),"
  "  waitlist_position INTEGER,"
  "  token_version INTEGER NOT NULL DEFAULT 1,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  responded_at INTEGER"
  ");"
  "CREATE UNIQUE INDEX guests_event_email ON guests(event_id, email);"
  "CREATE INDEX guests_event_name ON guests(event_id, last_name, first_name);"
  "CREATE INDEX guests_event_status ON guests(event_id, status);"
  "CREATE TABLE rsvp_history ("
  "  id INTEGER PRIMARY KEY,"
  "  guest_id INTEGER NOT NULL REFERENCES guests(id) ON DELETE CASCADE,"
  "  at INTEGER NOT NULL,"
  "  old_status TEXT,"
  "  new_status TEXT NOT NULL,"
  "  party_size INTEGER NOT NULL,"
  "  source TEXT NOT NULL CHECK (source IN ('guest','admin','system')),"
  "  client_address TEXT"
  ");"
  "CREATE INDEX rsvp_history_guest ON rsvp_history(guest_id, id);",

  /* 2: substring search over names and email, and per-status counters so
   * that totals and seat counts never scan an event's guests.
   */
  "CREATE VIRTUAL TABLE guests_search USING fts5("
  "  email, first_name, last_name,"
  "  content='guests', content_rowid='id', tokenize='trigram');"
  "CREATE TRIGGER guests_search_insert AFTER INSERT ON guests BEGIN"
  "  INSERT INTO guests_search(rowid, email, first_name, last_name)"
  "    VALUES (new.id, new.email, new.first_name, new.last_name);"
  "END;"
  "CREATE TRIGGER guests_search_delete AFTER DELETE ON guests BEGIN"
  "  INSERT INTO guests_search(guests_search, rowid, email, first_name, last_name)"
  "    VALUES ('delete', old.id, old.email, old.first_name, old.last_name);"
  "END;"
  "CREATE TRIGGER guests_search_update AFTER UPDATE OF email, first_name, last_name ON guests BEGIN"
  "  INSERT INTO guests_search(guests_search, rowid, email, first_name, last_name)"
  "    VALUES ('delete', old.id, old.email, old.first_name, old.last_name);"
  "  INSERT INTO guests_search(rowid, email, first_name, last_name)"
  "    VALUES (new.id, new.email, new.first_name, new.last_name);"
  "END;"
  "INSERT INTO guests_search(guests_search) VALUES ('rebuild');"
  "CREATE TABLE event_counts ("
  "  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
  "  status TEXT NOT NULL,"
  "  guests INTEGER NOT NULL,"
  "  seats INTEGER NOT NULL,"
  "  PRIMARY KEY (event_id, status)"
  ") WITHOUT ROWID;"
  "CREATE TRIGGER event_counts_insert AFTER INSERT ON guests BEGIN"
  "  INSERT INTO event_counts VALUES (new.event_id, new.status, 1, new.party_size)"
  "    ON CONFLICT (event_id, status) DO UPDATE"
  "    SET guests = guests + 1, seats = seats + excluded.seats;"
  "END;"
  "CREATE TRIGGER event_counts_delete AFTER DELETE ON guests BEGIN"
  "  UPDATE event_counts SET guests = guests - 1, seats = seats - old.party_size"
  "    WHERE event_id = old.event_id AND status = old.status;"
  "END;"
  "CREATE TRIGGER event_counts_update AFTER UPDATE OF status, party_size ON guests BEGIN"
  "  UPDATE event_counts SET guests = guests - 1, seats = seats - old.party_size"
  "    WHERE event_id = old.event_id AND status = old.status;"
  "  INSERT INTO event_counts VALUES (new.event_id, new.status, 1, new.party_size)"
  "    ON CONFLICT (event_id, status) DO UPDATE"
  "    SET guests = guests + 1, seats = seats + excluded.seats;"
  "END;"
  "INSERT INTO event_counts"
  "  SELECT event_id, status, count(*), sum(party_size) FROM guests GROUP BY event_id, status;",

  /* 3: an event's guests in id order, so that the default order pages one
   * event without sorting it and without stepping over other events' guests;
   * and email uniqueness by full Unicode case folding (NOCASE folds ASCII
   * only, so Jörg@… and JÖRG@… were two guests).
   */
  "CREATE INDEX guests_event ON guests(event_id);"
  "ALTER TABLE guests ADD COLUMN email_key TEXT NOT NULL DEFAULT '';"
  "UPDATE guests SET email_key = ed_casefold(email);"
  "DROP INDEX guests_event_email;"
  "CREATE UNIQUE INDEX guests_event_email_key ON guests(event_id, email_key);",

  /* 4: the mail queue as DESIGN.md describes it: campaigns, one message
   * per (campaign, guest), and one delivery_log row per SMTP attempt.
   * Transactional mail (confirmations, promotions) has campaigns of its
   * own kinds, so that it is queued, retried and tracked the same way.
   */
  "CREATE TABLE campaigns ("
  "  id INTEGER PRIMARY KEY,"
  "  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
  "  kind TEXT NOT NULL CHECK (kind IN ('invitation','reminder','update',"
  "    'waitlist_promotion','confirmation')),"
  "  audience TEXT NOT NULL DEFAULT 'all',"
  "  subject TEXT NOT NULL DEFAULT '',"
  "  text_body TEXT NOT NULL DEFAULT '',"
  "  html_body TEXT,"
  "  state TEXT NOT NULL DEFAULT 'draft'"
  "    CHECK (state IN ('draft','running','paused','done','cancelled')),"
  "  transactional INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  launched_at INTEGER,"
  "  finished_at INTEGER"
  ");"
  "CREATE INDEX campaigns_event ON campaigns(event_id, id);"
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY,"
  "  campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
  "  guest_id INTEGER NOT NULL REFERENCES guests(id) ON DELETE CASCADE,"
  "  state TEXT NOT NULL DEFAULT 'queued'"
  "    CHECK (state IN ('queued','sending','sent','retry','failed','cancelled')),"
  "  priority INTEGER NOT NULL DEFAULT 0,"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt_at INTEGER NOT NULL,"
  "  last_code INTEGER,"
  "  last_text TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  sent_at INTEGER,"
  "  UNIQUE (campaign_id, guest_id)"
  ");"
  "CREATE INDEX messages_due ON messages(state, priority DESC, next_attempt_at)"
  "  WHERE state IN ('queued','retry');"
  "CREATE INDEX messages_guest ON messages(guest_id, id);"
  "CREATE INDEX messages_campaign_state ON messages(campaign_id, state);"
  "CREATE TABLE delivery_log ("
  "  id INTEGER PRIMARY KEY,"
  "  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
  "  at INTEGER NOT NULL,"
  "  result TEXT NOT NULL CHECK (result IN ('sent','retry','failed')),"
  "  code INTEGER,"
  "  text TEXT"
  ");"
  "CREATE INDEX delivery_log_message ON delivery_log(message_id, id);",

  /* 5: an event's waiting list in order. A guest has a waitlist_position
   * exactly while waitlisted; positions run 1, 2, 3… with no gaps (see
   * ed-store-rsvp.c), so the end of the line and its head are one index
   * lookup each.
   */
  "CREATE INDEX guests_waitlist ON guests(event_id, waitlist_position)"
  "  WHERE waitlist_position IS NOT NULL;",

  /* 6: search indexing that a bulk import can leave to the background.
   * Trigram-indexing half a million guests takes seconds, longer than the
   * import itself: guests_search now holds the guests up to a watermark,
   * the import's guests above it are indexed afterwards in short
   * transactions, and searches scan those meanwhile (see
   * ED_STORE_SEARCH_INSERT_TRIGGER). Updates and deletes only touch the
   * index for guests it holds. The insert triggers are redefined from the
   * texts the import uses to recreate them.
   */
  "CREATE TABLE guests_search_state ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  indexed_upto INTEGER NOT NULL"
  ");"
  "INSERT INTO guests_search_state VALUES (1, (SELECT coalesce(max(id), 0) FROM guests));"
  "DROP TRIGGER guests_search_insert;"
  "DROP TRIGGER guests_search_delete;"
  "DROP TRIGGER guests_search_update;"
  "DROP TRIGGER event_counts_insert;"
  ED_STORE_SEARCH_INSERT_TRIGGER
  ED_STORE_COUNTS_INSERT_TRIGGER
  "CREATE TRIGGER guests_search_delete AFTER DELETE ON guests"
  "  WHEN old.id <= (SELECT indexed_upto FROM guests_search_state) BEGIN"
  "  INSERT INTO guests_search(guests_search, rowid, email, first_name, last_name)"
  "    VALUES ('delete', old.id, old.email, old.first_name, old.last_name);"
  "END;"
  "CREATE TRIGGER guests_search_update AFTER UPDATE OF email, first_name, last_name ON guests"
  "  WHEN old.id <= (SELECT indexed_upto FROM guests_search_state) BEGIN"
  "  INSERT INTO guests_search(guests_search, rowid, email, first_name, last_name)"
  "    VALUES ('delete', old.id, old.email, old.first_name, old.last_name);"
  "  INSERT INTO guests_search(rowid, email, first_name, last_name)"
  "    VALUES (new.id, new.email, new.first_name, new.last_name);"
  "END;",

  /* 7: campaigns. Why a campaign paused itself; a guest's unsubscribe,
   * which keeps them out of later bulk campaigns; and each campaign's
   * messages counted by state, kept by triggers, so that a dashboard
   * polling a half-million-message campaign reads six rows instead of
   * counting them (ed-store-campaigns.c).
   */
  "ALTER TABLE campaigns ADD COLUMN state_reason TEXT;"
  "ALTER TABLE guests ADD COLUMN unsubscribed_at INTEGER;"
  "CREATE TABLE campaign_counts ("
  "  campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
  "  state TEXT NOT NULL,"
  "  messages INTEGER NOT NULL,"
  "  PRIMARY KEY (campaign_id, state)"
  ") WITHOUT ROWID;"
  ED_STORE_CAMPAIGN_COUNTS_INSERT_TRIGGER
  "CREATE TRIGGER campaign_counts_delete AFTER DELETE ON messages BEGIN"
  "  UPDATE campaign_counts SET messages = messages - 1"
  "    WHERE campaign_id = old.campaign_id AND state = old.state;"
  "END;"
  "CREATE TRIGGER campaign_counts_update AFTER UPDATE OF state ON messages"
  "  WHEN old.state IS NOT new.state BEGIN"
  "  UPDATE campaign_counts SET messages = messages - 1"
  "    WHERE campaign_id = old.campaign_id AND state = old.state;"
  "  INSERT INTO campaign_counts VALUES (new.campaign_id, new.state, 1)"
  "    ON CONFLICT (campaign_id, state) DO UPDATE SET messages = messages + 1;"
  "END;"
  "INSERT INTO campaign_counts"
  "  SELECT campaign_id, state, count(*) FROM messages GROUP BY campaign_id, state;",

  /* 8: timelines and the live feed. Counts of answers (by new status) and
   * deliveries (by result) per event and minute, quarter hour, hour and
   * day, kept by triggers on rsvp_history and delivery_log, so that a
   * timeline adds up a few thousand rows however many guests and attempts
   * there were (see ed-store-timeline.c); and the failed attempts in
   * order, so that the latest errors are found without reading every
   * attempt.
   */
  ED_STORE_TIMELINE_TABLE ("timeline_minutes", "minute")
  ED_STORE_TIMELINE_TABLE ("timeline_quarters", "quarter")
  ED_STORE_TIMELINE_TABLE ("timeline_hours", "hour")
  ED_STORE_TIMELINE_TABLE ("timeline_days", "day")
  ED_STORE_TIMELINE_RSVP_TRIGGER ("timeline_minutes", "minute", "60")
  ED_STORE_TIMELINE_RSVP_TRIGGER ("timeline_quarters", "quarter", "900")
  ED_STORE_TIMELINE_RSVP_TRIGGER ("timeline_hours", "hour", "3600")
  ED_STORE_TIMELINE_RSVP_TRIGGER ("timeline_days", "day", "86400")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER ("timeline_minutes", "minute", "60")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER ("timeline_quarters", "quarter", "900")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER ("timeline_hours", "hour", "3600")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER ("timeline_days", "day", "86400")
  "INSERT INTO timeline_minutes (event_id, minute, pending, accepted, declined, waitlisted, cancelled)"
  "  SELECT g.event_id, h.at / 60, sum(h.new_status = 'pending'), sum(h.new_status = 'accepted'),"
  "    sum(h.new_status = 'declined'), sum(h.new_status = 'waitlisted'), sum(h.new_status = 'cancelled')"
  "  FROM rsvp_history h JOIN guests g ON g.id = h.guest_id WHERE true GROUP BY 1, 2;"
  "INSERT INTO timeline_minutes (event_id, minute, sent, retried, failed)"
  "  SELECT c.event_id, d.at / 60, sum(d.result = 'sent'), sum(d.result = 'retry'), sum(d.result = 'failed')"
  "  FROM delivery_log d JOIN messages m ON m.id = d.message_id JOIN campaigns c ON c.id = m.campaign_id"
  "  WHERE true GROUP BY 1, 2"
  "  ON CONFLICT (event_id, minute) DO UPDATE SET sent = sent + excluded.sent,"
  "    retried = retried + excluded.retried, failed = failed + excluded.failed;"
  ED_STORE_TIMELINE_ROLL_UP ("timeline_quarters", "15")
  ED_STORE_TIMELINE_ROLL_UP ("timeline_hours", "60")
  ED_STORE_TIMELINE_ROLL_UP ("timeline_days", "1440")
  "CREATE INDEX delivery_log_errors ON delivery_log(id) WHERE result <> 'sent';",

  /* 9: no more global "due" order over the queue. The mailer claims per
   * running campaign over messages_campaign_state (ed-store-queue.c), so
   * this index was read by nothing, yet it was one of the five B-trees
   * that every message queued, claimed and sent wrote.
   */
  "DROP INDEX messages_due;",

  /* 10: the mailer counts its attempts into the timelines itself, one
   * upsert per event and unit of time for a batch of results, instead of
   * four trigger upserts per delivery_log row, which took most of the
   * dispatcher's time at full speed. Its rows say so (tallied = 1, no
   * bytes stored: 0 and 1 live in the record header); rows written
   * otherwise (by hand, by tests) are still counted by the triggers.
   */
  "ALTER TABLE delivery_log ADD COLUMN tallied INTEGER NOT NULL DEFAULT 0;"
  ED_STORE_TIMELINE_DELIVERY_TRIGGER_UNTALLIED ("timeline_minutes", "minute", "60")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER_UNTALLIED ("timeline_quarters", "quarter", "900")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER_UNTALLIED ("timeline_hours", "hour", "3600")
  ED_STORE_TIMELINE_DELIVERY_TRIGGER_UNTALLIED ("timeline_days", "day", "86400"),
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == ED_STORE_SCHEMA_VERSION);

void
ed_admin_free (EdAdmin *admin)
{
  if (admin == NULL)
    return;

  g_free (admin->username);
  g_free (admin->password_hash);
  g_free (admin);
}

void
ed_rsvp_change_free (EdRsvpChange *change)
{
  if (change == NULL)
    return;

  g_free (change->source);
  g_free (change->client_address);
  g_free (change);
}

/* Why the last write to the database or its WAL failed: SQLite keeps the
 * errno with each file (its own sqlite3_system_errno() may have been
 * overwritten by then).
 */
static int
last_write_errno (EdStore *self)
{
  sqlite3_file *journal = NULL;
  int saved_errno = 0;

  if (sqlite3_file_control (self->db, "main", SQLITE_FCNTL_LAST_ERRNO, &saved_errno) == SQLITE_OK &&
      saved_errno != 0)
    return saved_errno;

  if (sqlite3_file_control (self->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &journal) == SQLITE_OK &&
      journal != NULL && journal->pMethods != NULL &&
      journal->pMethods->xFileControl (journal, SQLITE_FCNTL_LAST_ERRNO, &saved_errno) == SQLITE_OK)
    return saved_errno;

  return 0;
}

gboolean
ed_store_set_error (EdStore     *self,
                  int          rc,
                  GError     **error)
{
  const char *message = sqlite3_errmsg (self->db);
  int saved_errno = sqlite3_system_errno (self->db);

  /* A write that finds the disk full is SQLITE_FULL; one refused for a
   * quota or a file size limit (EDQUOT, EFBIG) is an I/O error whose
   * errno says so.
   */
  if (rc == SQLITE_IOERR_WRITE && !ed_error_errno_is_no_space (saved_errno))
    saved_errno = last_write_errno (self);
  if ((rc & 0xff) == SQLITE_IOERR && ed_error_errno_is_no_space (saved_errno))
    rc = SQLITE_FULL;

  switch (rc & 0xff)
    {
    case SQLITE_CONSTRAINT:
      g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT, "%s", message);
      break;

    case SQLITE_FULL:
      g_set_error (error, ED_ERROR, ED_ERROR_NO_SPACE,
                   "The disk holding %s is full: %s%s%s", self->path, message,
                   saved_errno != 0 ? ": " : "", saved_errno != 0 ? g_strerror (saved_errno) : "");
      break;

    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot write to %s (check the data directory's permissions): %s",
                   self->path, message);
      break;

    default:
      g_set_error (error, ED_ERROR, ED_ERROR_STORE, "Database error: %s (SQLite code %d, errno %d)",
                   message, rc, saved_errno);
      break;
    }

  return FALSE;
}

/* Returns a reset statement from the cache; @sql must be a string literal
 * (or otherwise outlive the store) since it is the cache key.
 */
sqlite3_stmt *
ed_store_prepare (EdStore     *self,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = g_hash_table_lookup (self->statements, sql);
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  g_hash_table_insert (self->statements, (gpointer) sql, stmt);
  return stmt;
}

/* Runs a statement that returns no rows. */
gboolean
ed_store_step_done (EdStore       *self,
           sqlite3_stmt  *stmt,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

gboolean
ed_store_exec (EdStore     *self,
      const char  *sql,
      GError     **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

char *
ed_store_column_strdup (sqlite3_stmt *stmt,
               int           column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text ? g_strdup ((const char *) text) : NULL;
}

void
ed_store_bind_text_or_null (sqlite3_stmt *stmt,
                   int           index,
                   const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

void
ed_store_bind_time_or_null (sqlite3_stmt *stmt,
                   int           index,
                   gint64        unix_seconds)
{
  if (unix_seconds != 0)
    sqlite3_bind_int64 (stmt, index, unix_seconds);
  else
    sqlite3_bind_null (stmt, index);
}

/* ed_casefold(text): full Unicode case folding, for email_key. */
static void
sql_casefold (sqlite3_context  *context,
              int               argc,
              sqlite3_value   **argv)
{
  const char *text = (const char *) sqlite3_value_text (argv[0]);

  if (text == NULL)
    {
      sqlite3_result_null (context);
      return;
    }

  sqlite3_result_text (context, g_utf8_casefold (text, -1), -1, g_free);
}

static gboolean
contains_ascii_folded (const char *haystack,
                       const char *needle,
                       gsize       needle_len)
{
  for (const char *h = haystack; *h; h++)
    {
      gsize i;

      for (i = 0; i < needle_len && h[i] && g_ascii_tolower (h[i]) == needle[i]; i++)
        ;
      if (i == needle_len)
        return TRUE;
    }

  return FALSE;
}

/* ed_contains(text, folded_word): whether @text, case-folded, contains the
 * already folded word. Plain ASCII text, the common case, is compared
 * without allocating.
 */
static void
sql_contains (sqlite3_context  *context,
              int               argc,
              sqlite3_value   **argv)
{
  const char *text = (const char *) sqlite3_value_text (argv[0]);
  const char *word = (const char *) sqlite3_value_text (argv[1]);
  gboolean ascii = TRUE;

  if (text == NULL || word == NULL)
    {
      sqlite3_result_int (context, 0);
      return;
    }

  for (const char *p = text; *p && ascii; p++)
    ascii = ((guchar) *p) < 0x80;

  if (ascii)
    sqlite3_result_int (context, contains_ascii_folded (text, word, strlen (word)));
  else
    {
      g_autofree char *folded = g_utf8_casefold (text, -1);

      sqlite3_result_int (context, strstr (folded, word) != NULL);
    }
}

static gboolean
register_functions (EdStore  *self,
                    GError  **error)
{
  int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  int rc;

  rc = sqlite3_create_function (self->db, "ed_casefold", 1, flags, NULL, sql_casefold, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function (self->db, "ed_contains", 2, flags, NULL, sql_contains, NULL, NULL);
  if (rc != SQLITE_OK)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}

static gint64
schema_version (EdStore *self)
{
  sqlite3_stmt *stmt;
  gint64 version = -1;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  return version;
}

static gboolean
migrate (EdStore  *self,
         GError  **error)
{
  gint64 version = schema_version (self);

  if (version < 0)
    return ed_store_set_error (self, sqlite3_errcode (self->db), error);

  if (version > ED_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_UNSUPPORTED,
                   "The database %s was written by a newer Eventdesk "
                   "(schema version %" G_GINT64_FORMAT "; this eventdeskd %s knows up to %d). "
                   "Install a newer eventdeskd, or restore a backup made by this version.",
                   self->path, version, PACKAGE_VERSION, ED_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  for (gint64 v = version; v < ED_STORE_SCHEMA_VERSION; v++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT, v + 1);

      if (!ed_store_exec (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!ed_store_exec (self, migrations[v], error) || !ed_store_exec (self, bump, error))
        {
          g_prefix_error (error, "Cannot migrate %s to schema version %" G_GINT64_FORMAT ": ",
                          self->path, v + 1);
          ed_store_rollback (self);
          return FALSE;
        }
      if (!ed_store_exec (self, "COMMIT", error))
        {
          ed_store_rollback (self);
          return FALSE;
        }

      if (version > 0)
        g_message ("Migrated %s to schema version %" G_GINT64_FORMAT, self->path, v + 1);
    }

  return TRUE;
}

static void
ed_store_finalize (GObject *object)
{
  EdStore *self = (EdStore *)object;

  ed_store_close (self);
  g_clear_pointer (&self->statements, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (ed_store_parent_class)->finalize (object);
}

static void
ed_store_class_init (EdStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ed_store_finalize;
}

static void
ed_store_init (EdStore *self)
{
  self->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            (GDestroyNotify) sqlite3_finalize);
}

/**
 * ed_store_open:
 * @path: the database file, created if missing
 * @error: return location for an error
 *
 * Opens the database in WAL mode with foreign keys on and migrates its
 * schema to %ED_STORE_SCHEMA_VERSION. A database written by a newer
 * version is refused with %ED_ERROR_UNSUPPORTED.
 *
 * Returns: (transfer full): the store, or %NULL
 */
EdStore *
ed_store_open (const char  *path,
               GError     **error)
{
  g_autoptr(EdStore) self = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (ED_TYPE_STORE, NULL);
  self->path = g_strdup (path);

  rc = sqlite3_open_v2 (path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      ed_store_set_error (self, rc, error);
      g_prefix_error (error, "Cannot open the database: ");
      return NULL;
    }

  /* SQLite falls back to reading a file it may not write: say so now,
   * not at the first answer a guest cannot save.
   */
  if (sqlite3_db_readonly (self->db, "main") == 1)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot open the database: %s is read-only to this user; eventdeskd must be "
                   "able to write it (check its owner and mode)", path);
      return NULL;
    }

  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, 5000);

  /* synchronous=FULL: an acknowledged write survives a power cut too, not
   * only a crash of the daemon.
   */
  if (!ed_store_exec (self, "PRAGMA journal_mode = WAL", error) ||
      !ed_store_exec (self, "PRAGMA synchronous = FULL", error) ||
      !ed_store_exec (self, "PRAGMA foreign_keys = ON", error) ||
      !ed_store_exec (self, "PRAGMA temp_store = MEMORY", error) ||
      !register_functions (self, error) ||
      !migrate (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * ed_store_close:
 * @self: a store
 *
 * Closes the database; the last connection to close checkpoints the WAL
 * into the main file. Safe to call more than once.
 */
void
ed_store_close (EdStore *self)
{
  g_return_if_fail (ED_IS_STORE (self));

  if (self->db == NULL)
    return;

  g_hash_table_remove_all (self->statements);
  sqlite3_exec (self->db, "PRAGMA optimize", NULL, NULL, NULL);
  if (sqlite3_close (self->db) != SQLITE_OK)
    g_warning ("Closing %s: %s", self->path, sqlite3_errmsg (self->db));
  self->db = NULL;
}

const char *
ed_store_get_path (EdStore *self)
{
  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  return self->path;
}

gint
ed_store_get_schema_version (EdStore *self)
{
  g_return_val_if_fail (ED_IS_STORE (self), -1);

  return (gint) schema_version (self);
}

gboolean
ed_store_check_health (EdStore  *self,
                       GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = ed_store_prepare (self, "SELECT count(*) FROM admins", error)))
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return ed_store_set_error (self, sqlite3_errcode (self->db), error);
  sqlite3_reset (stmt);

  return TRUE;
}

gboolean
ed_store_begin (EdStore  *self,
                GError  **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  return ed_store_exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
ed_store_commit (EdStore  *self,
                 GError  **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  return ed_store_exec (self, "COMMIT", error);
}

void
ed_store_rollback (EdStore *self)
{
  g_return_if_fail (ED_IS_STORE (self));

  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Admins and sessions */

gint64
ed_store_add_admin (EdStore     *self,
                    const char  *username,
                    const char  *password_hash,
                    GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), 0);
  g_return_val_if_fail (username != NULL, 0);
  g_return_val_if_fail (password_hash != NULL, 0);

  if (!(stmt = ed_store_prepare (self,
                        "INSERT INTO admins (username, password_hash, created_at) "
                        "VALUES (?, ?, ?)", error)))
    return 0;

  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, password_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, ed_time_now ());

  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      if ((rc & 0xff) == SQLITE_CONSTRAINT)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
                       "An admin named “%s” already exists", username);
          return 0;
        }
      ed_store_set_error (self, rc, error);
      return 0;
    }

  return sqlite3_last_insert_rowid (self->db);
}

static EdAdmin *
admin_from_row (sqlite3_stmt *stmt)
{
  EdAdmin *admin = g_new0 (EdAdmin, 1);

  admin->id = sqlite3_column_int64 (stmt, 0);
  admin->username = ed_store_column_strdup (stmt, 1);
  admin->password_hash = ed_store_column_strdup (stmt, 2);
  admin->created_at = sqlite3_column_int64 (stmt, 3);
  admin->last_login_at = sqlite3_column_int64 (stmt, 4);

  return admin;
}

EdAdmin *
ed_store_get_admin (EdStore     *self,
                    const char  *username,
                    GError     **error)
{
  sqlite3_stmt *stmt;
  EdAdmin *admin = NULL;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);
  g_return_val_if_fail (username != NULL, NULL);

  if (!(stmt = ed_store_prepare (self,
                        "SELECT id, username, password_hash, created_at, last_login_at "
                        "FROM admins WHERE username = ?", error)))
    return NULL;

  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    admin = admin_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "No admin named “%s”", username);
  else
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return admin;
}

GPtrArray *
ed_store_list_admins (EdStore  *self,
                      GError  **error)
{
  g_autoptr(GPtrArray) admins = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_admin_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self,
                        "SELECT id, username, password_hash, created_at, last_login_at "
                        "FROM admins ORDER BY username", error)))
    return NULL;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (admins, admin_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  return g_steal_pointer (&admins);
}

gint64
ed_store_count_admins (EdStore  *self,
                       GError  **error)
{
  sqlite3_stmt *stmt;
  gint64 count = -1;

  g_return_val_if_fail (ED_IS_STORE (self), -1);

  if (!(stmt = ed_store_prepare (self, "SELECT count(*) FROM admins", error)))
    return -1;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  else
    ed_store_set_error (self, sqlite3_errcode (self->db), error);
  sqlite3_reset (stmt);

  return count;
}

/* A new password also ends every session of that admin. */
gboolean
ed_store_set_admin_password (EdStore     *self,
                             const char  *username,
                             const char  *password_hash,
                             GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (password_hash != NULL, FALSE);

  if (!ed_store_begin (self, error))
    return FALSE;

  if (!(stmt = ed_store_prepare (self, "UPDATE admins SET password_hash = ? WHERE username = ?", error)))
    goto fail;
  sqlite3_bind_text (stmt, 1, password_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, username, -1, SQLITE_TRANSIENT);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "No admin named “%s”", username);
      goto fail;
    }

  if (!(stmt = ed_store_prepare (self,
                        "DELETE FROM sessions WHERE admin_id = "
                        "(SELECT id FROM admins WHERE username = ?)", error)))
    goto fail;
  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_TRANSIENT);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;

  return ed_store_commit (self, error);

fail:
  ed_store_rollback (self);
  return FALSE;
}

gboolean
ed_store_remove_admin (EdStore     *self,
                       const char  *username,
                       GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (username != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self, "DELETE FROM admins WHERE username = ?", error)))
    return FALSE;
  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_TRANSIENT);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "No admin named “%s”", username);
      return FALSE;
    }

  return TRUE;
}

gboolean
ed_store_add_session (EdStore     *self,
                      const char  *session_id,
                      gint64       admin_id,
                      gint64       expires_at,
                      GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 now = ed_time_now ();

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (session_id != NULL, FALSE);

  if (!ed_store_begin (self, error))
    return FALSE;

  if (!(stmt = ed_store_prepare (self,
                        "INSERT INTO sessions (id, admin_id, created_at, expires_at) "
                        "VALUES (?, ?, ?, ?)", error)))
    goto fail;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, admin_id);
  sqlite3_bind_int64 (stmt, 3, now);
  sqlite3_bind_int64 (stmt, 4, expires_at);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;

  if (!(stmt = ed_store_prepare (self, "UPDATE admins SET last_login_at = ? WHERE id = ?", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, admin_id);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;

  return ed_store_commit (self, error);

fail:
  ed_store_rollback (self);
  return FALSE;
}

gboolean
ed_store_has_session (EdStore     *self,
                      const char  *session_id,
                      gint64       now,
                      GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean found = FALSE;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (session_id != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self, "SELECT 1 FROM sessions WHERE id = ? AND expires_at > ?", error)))
    return FALSE;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, now);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    found = TRUE;
  else if (rc != SQLITE_DONE)
    ed_store_set_error (self, rc, error);
  else
    g_set_error_literal (error, ED_ERROR, ED_ERROR_UNAUTHORIZED, "The session has ended");
  sqlite3_reset (stmt);

  return found;
}

gboolean
ed_store_remove_session (EdStore     *self,
                         const char  *session_id,
                         GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (session_id != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self, "DELETE FROM sessions WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);

  return ed_store_step_done (self, stmt, error);
}

gboolean
ed_store_prune_sessions (EdStore     *self,
                         gint64       now,
                         GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = ed_store_prepare (self, "DELETE FROM sessions WHERE expires_at <= ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);

  return ed_store_step_done (self, stmt, error);
}

/* Events */

static EdEvent *
event_from_row (sqlite3_stmt *stmt)
{
  EdEvent *event = g_new0 (EdEvent, 1);

  event->id = sqlite3_column_int64 (stmt, 0);
  event->name = ed_store_column_strdup (stmt, 1);
  event->description = ed_store_column_strdup (stmt, 2);
  event->venue = ed_store_column_strdup (stmt, 3);
  event->timezone = ed_store_column_strdup (stmt, 4);
  event->starts_at = sqlite3_column_int64 (stmt, 5);
  event->ends_at = sqlite3_column_int64 (stmt, 6);
  event->rsvp_deadline = sqlite3_column_int64 (stmt, 7);
  event->capacity = sqlite3_column_int64 (stmt, 8);
  event->waitlist_enabled = sqlite3_column_int (stmt, 9) != 0;
  event->max_party_size = sqlite3_column_int (stmt, 10);
  event->created_at = sqlite3_column_int64 (stmt, 11);
  event->updated_at = sqlite3_column_int64 (stmt, 12);

  return event;
}

static void
bind_event_fields (sqlite3_stmt  *stmt,
                   const EdEvent *event)
{
  sqlite3_bind_text (stmt, 1, event->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, event->description ? event->description : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, event->venue ? event->venue : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, event->timezone ? event->timezone : "UTC", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, event->starts_at);
  ed_store_bind_time_or_null (stmt, 6, event->ends_at);
  ed_store_bind_time_or_null (stmt, 7, event->rsvp_deadline);
  sqlite3_bind_int64 (stmt, 8, event->capacity);
  sqlite3_bind_int (stmt, 9, event->waitlist_enabled ? 1 : 0);
  sqlite3_bind_int (stmt, 10, event->max_party_size);
  sqlite3_bind_int64 (stmt, 11, event->updated_at);
}

/* Sets @event's id and timestamps. */
gboolean
ed_store_insert_event (EdStore  *self,
                       EdEvent  *event,
                       GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (event != NULL && event->name != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                        "INSERT INTO events (name, description, venue, timezone, starts_at, "
                        "ends_at, rsvp_deadline, capacity, waitlist_enabled, max_party_size, "
                        "updated_at, created_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)", error)))
    return FALSE;

  event->created_at = event->updated_at = ed_time_now ();
  bind_event_fields (stmt, event);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  event->id = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

EdEvent *
ed_store_get_event (EdStore  *self,
                    gint64    event_id,
                    GError  **error)
{
  sqlite3_stmt *stmt;
  EdEvent *event = NULL;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self, "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, event_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    event = event_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                 "There is no event %" G_GINT64_FORMAT, event_id);
  else
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return event;
}

/* Whether event @event_id is there, without reading it: for a route that
 * only needs to answer 404 for a missing event.
 *
 * Returns: %TRUE when it exists; %FALSE with %ED_ERROR_NOT_FOUND (the same
 * error as ed_store_get_event()) when it does not, or another error
 */
gboolean
ed_store_check_event_exists (EdStore  *self,
                             gint64    event_id,
                             GError  **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = ed_store_prepare (self, "SELECT 1 FROM events WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                 "There is no event %" G_GINT64_FORMAT, event_id);
  else if (rc != SQLITE_ROW)
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return rc == SQLITE_ROW;
}

/* Writes every field of @event; sets its updated_at. */
gboolean
ed_store_update_event (EdStore  *self,
                       EdEvent  *event,
                       GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (event != NULL && event->name != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                        "UPDATE events SET name = ?1, description = ?2, venue = ?3, "
                        "timezone = ?4, starts_at = ?5, ends_at = ?6, rsvp_deadline = ?7, "
                        "capacity = ?8, waitlist_enabled = ?9, max_party_size = ?10, "
                        "updated_at = ?11 WHERE id = ?12", error)))
    return FALSE;

  event->updated_at = ed_time_now ();
  bind_event_fields (stmt, event);
  sqlite3_bind_int64 (stmt, 12, event->id);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;

  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no event %" G_GINT64_FORMAT, event->id);
      return FALSE;
    }

  return TRUE;
}

/* Deletes the event with its guests, their history and its counters. */
gboolean
ed_store_delete_event (EdStore  *self,
                       gint64    event_id,
                       GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!ed_store_begin (self, error))
    return FALSE;

  if (!(stmt = ed_store_prepare (self, "DELETE FROM events WHERE id = ?", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, event_id);
  if (!ed_store_step_done (self, stmt, error))
    goto fail;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no event %" G_GINT64_FORMAT, event_id);
      goto fail;
    }

  return ed_store_commit (self, error);

fail:
  ed_store_rollback (self);
  return FALSE;
}

GPtrArray *
ed_store_list_events (EdStore  *self,
                      gint64    after,
                      guint     limit,
                      gint64   *total,
                      GError  **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_event_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (total != NULL)
    {
      if (!(stmt = ed_store_prepare (self, "SELECT count(*) FROM events", error)))
        return NULL;
      if ((rc = sqlite3_step (stmt)) != SQLITE_ROW)
        {
          ed_store_set_error (self, rc, error);
          sqlite3_reset (stmt);
          return NULL;
        }
      *total = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
    }

  if (!(stmt = ed_store_prepare (self,
                        "SELECT " EVENT_COLUMNS " FROM events WHERE id > ? "
                        "ORDER BY id LIMIT ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, after);
  sqlite3_bind_int64 (stmt, 2, limit);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (events, event_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  return g_steal_pointer (&events);
}

gboolean
ed_store_get_event_stats (EdStore       *self,
                          gint64         event_id,
                          EdEventStats  *stats,
                          GError       **error)
{
  g_autoptr(EdEvent) event = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (stats != NULL, FALSE);

  if (!(event = ed_store_get_event (self, event_id, error)))
    return FALSE;

  memset (stats, 0, sizeof *stats);
  /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees event; clang 14's analyzer does not run cleanups */
  stats->capacity = event->capacity;

  if (!(stmt = ed_store_prepare (self,
                        "SELECT status, guests, seats FROM event_counts WHERE event_id = ?",
                        error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, event_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EdRsvpStatus status;

      if (!ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 0), &status))
        continue;
      stats->guests[status] = sqlite3_column_int64 (stmt, 1);
      if (status == ED_RSVP_ACCEPTED)
        stats->seats_taken = sqlite3_column_int64 (stmt, 2);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  return TRUE;
}
