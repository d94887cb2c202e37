/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>
#include <sqlite3.h>

#include "ed-error.h"
#include "ed-store.h"
#include "ed-time-util.h"

/* All SQL of the daemon lives in this file. Every statement is a constant
 * string with bound parameters; the only SQL assembled at run time is the
 * guest list query, and it is assembled from constant fragments only.
 */

struct _EdStore
{
  GObject     parent_instance;

  /* owned */
  sqlite3    *db;
  char       *path;
  GHashTable *statements; /* SQL text (static) -> sqlite3_stmt */
};

G_DEFINE_FINAL_TYPE (EdStore, ed_store, G_TYPE_OBJECT)

#define MAX_SEARCH_WORDS 8

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
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == ED_STORE_SCHEMA_VERSION);

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

static gboolean
set_sqlite_error (EdStore     *self,
                  int          rc,
                  GError     **error)
{
  const char *message = sqlite3_errmsg (self->db);

  switch (rc & 0xff)
    {
    case SQLITE_CONSTRAINT:
      g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT, "%s", message);
      break;

    case SQLITE_FULL:
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "The disk holding %s is full: %s", self->path, message);
      break;

    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot write to %s (check the data directory's permissions): %s",
                   self->path, message);
      break;

    default:
      g_set_error (error, ED_ERROR, ED_ERROR_STORE, "Database error: %s", message);
      break;
    }

  return FALSE;
}

/* Returns a reset statement from the cache; @sql must be a string literal
 * (or otherwise outlive the store) since it is the cache key.
 */
static sqlite3_stmt *
prepare (EdStore     *self,
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
      set_sqlite_error (self, rc, error);
      return NULL;
    }

  g_hash_table_insert (self->statements, (gpointer) sql, stmt);
  return stmt;
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (EdStore       *self,
           sqlite3_stmt  *stmt,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, rc, error);

  return TRUE;
}

static gboolean
exec (EdStore     *self,
      const char  *sql,
      GError     **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (self, rc, error);

  return TRUE;
}

static char *
column_strdup (sqlite3_stmt *stmt,
               int           column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text ? g_strdup ((const char *) text) : NULL;
}

static void
bind_text_or_null (sqlite3_stmt *stmt,
                   int           index,
                   const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static void
bind_time_or_null (sqlite3_stmt *stmt,
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
    return set_sqlite_error (self, rc, error);

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
    return set_sqlite_error (self, sqlite3_errcode (self->db), error);

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

      if (!exec (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!exec (self, migrations[v], error) || !exec (self, bump, error))
        {
          g_prefix_error (error, "Cannot migrate %s to schema version %" G_GINT64_FORMAT ": ",
                          self->path, v + 1);
          ed_store_rollback (self);
          return FALSE;
        }
      if (!exec (self, "COMMIT", error))
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
      set_sqlite_error (self, rc, error);
      g_prefix_error (error, "Cannot open the database: ");
      return NULL;
    }

  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, 5000);

  /* synchronous=FULL: an acknowledged write survives a power cut too, not
   * only a crash of the daemon.
   */
  if (!exec (self, "PRAGMA journal_mode = WAL", error) ||
      !exec (self, "PRAGMA synchronous = FULL", error) ||
      !exec (self, "PRAGMA foreign_keys = ON", error) ||
      !exec (self, "PRAGMA temp_store = MEMORY", error) ||
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

  if (!(stmt = prepare (self, "SELECT count(*) FROM admins", error)))
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return set_sqlite_error (self, sqlite3_errcode (self->db), error);
  sqlite3_reset (stmt);

  return TRUE;
}

gboolean
ed_store_begin (EdStore  *self,
                GError  **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  return exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
ed_store_commit (EdStore  *self,
                 GError  **error)
{
  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  return exec (self, "COMMIT", error);
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

  if (!(stmt = prepare (self,
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
      set_sqlite_error (self, rc, error);
      return 0;
    }

  return sqlite3_last_insert_rowid (self->db);
}

static EdAdmin *
admin_from_row (sqlite3_stmt *stmt)
{
  EdAdmin *admin = g_new0 (EdAdmin, 1);

  admin->id = sqlite3_column_int64 (stmt, 0);
  admin->username = column_strdup (stmt, 1);
  admin->password_hash = column_strdup (stmt, 2);
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

  if (!(stmt = prepare (self,
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
    set_sqlite_error (self, rc, error);
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

  if (!(stmt = prepare (self,
                        "SELECT id, username, password_hash, created_at, last_login_at "
                        "FROM admins ORDER BY username", error)))
    return NULL;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (admins, admin_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (self, rc, error);
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

  if (!(stmt = prepare (self, "SELECT count(*) FROM admins", error)))
    return -1;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  else
    set_sqlite_error (self, sqlite3_errcode (self->db), error);
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

  if (!(stmt = prepare (self, "UPDATE admins SET password_hash = ? WHERE username = ?", error)))
    goto fail;
  sqlite3_bind_text (stmt, 1, password_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, username, -1, SQLITE_TRANSIENT);
  if (!step_done (self, stmt, error))
    goto fail;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, "No admin named “%s”", username);
      goto fail;
    }

  if (!(stmt = prepare (self,
                        "DELETE FROM sessions WHERE admin_id = "
                        "(SELECT id FROM admins WHERE username = ?)", error)))
    goto fail;
  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_TRANSIENT);
  if (!step_done (self, stmt, error))
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

  if (!(stmt = prepare (self, "DELETE FROM admins WHERE username = ?", error)))
    return FALSE;
  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_TRANSIENT);
  if (!step_done (self, stmt, error))
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

  if (!(stmt = prepare (self,
                        "INSERT INTO sessions (id, admin_id, created_at, expires_at) "
                        "VALUES (?, ?, ?, ?)", error)))
    goto fail;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, admin_id);
  sqlite3_bind_int64 (stmt, 3, now);
  sqlite3_bind_int64 (stmt, 4, expires_at);
  if (!step_done (self, stmt, error))
    goto fail;

  if (!(stmt = prepare (self, "UPDATE admins SET last_login_at = ? WHERE id = ?", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, admin_id);
  if (!step_done (self, stmt, error))
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

  if (!(stmt = prepare (self, "SELECT 1 FROM sessions WHERE id = ? AND expires_at > ?", error)))
    return FALSE;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, now);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    found = TRUE;
  else if (rc != SQLITE_DONE)
    set_sqlite_error (self, rc, error);
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

  if (!(stmt = prepare (self, "DELETE FROM sessions WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);

  return step_done (self, stmt, error);
}

gboolean
ed_store_prune_sessions (EdStore     *self,
                         gint64       now,
                         GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = prepare (self, "DELETE FROM sessions WHERE expires_at <= ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);

  return step_done (self, stmt, error);
}

/* Events */

static EdEvent *
event_from_row (sqlite3_stmt *stmt)
{
  EdEvent *event = g_new0 (EdEvent, 1);

  event->id = sqlite3_column_int64 (stmt, 0);
  event->name = column_strdup (stmt, 1);
  event->description = column_strdup (stmt, 2);
  event->venue = column_strdup (stmt, 3);
  event->timezone = column_strdup (stmt, 4);
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
  bind_time_or_null (stmt, 6, event->ends_at);
  bind_time_or_null (stmt, 7, event->rsvp_deadline);
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

  if (!(stmt = prepare (self,
                        "INSERT INTO events (name, description, venue, timezone, starts_at, "
                        "ends_at, rsvp_deadline, capacity, waitlist_enabled, max_party_size, "
                        "updated_at, created_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)", error)))
    return FALSE;

  event->created_at = event->updated_at = ed_time_now ();
  bind_event_fields (stmt, event);
  if (!step_done (self, stmt, error))
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

  if (!(stmt = prepare (self, "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, event_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    event = event_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                 "There is no event %" G_GINT64_FORMAT, event_id);
  else
    set_sqlite_error (self, rc, error);
  sqlite3_reset (stmt);

  return event;
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

  if (!(stmt = prepare (self,
                        "UPDATE events SET name = ?1, description = ?2, venue = ?3, "
                        "timezone = ?4, starts_at = ?5, ends_at = ?6, rsvp_deadline = ?7, "
                        "capacity = ?8, waitlist_enabled = ?9, max_party_size = ?10, "
                        "updated_at = ?11 WHERE id = ?12", error)))
    return FALSE;

  event->updated_at = ed_time_now ();
  bind_event_fields (stmt, event);
  sqlite3_bind_int64 (stmt, 12, event->id);
  if (!step_done (self, stmt, error))
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

  if (!(stmt = prepare (self, "DELETE FROM events WHERE id = ?", error)))
    goto fail;
  sqlite3_bind_int64 (stmt, 1, event_id);
  if (!step_done (self, stmt, error))
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
      if (!(stmt = prepare (self, "SELECT count(*) FROM events", error)))
        return NULL;
      if ((rc = sqlite3_step (stmt)) != SQLITE_ROW)
        {
          set_sqlite_error (self, rc, error);
          sqlite3_reset (stmt);
          return NULL;
        }
      *total = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
    }

  if (!(stmt = prepare (self,
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
      set_sqlite_error (self, rc, error);
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
  stats->capacity = event->capacity;

  if (!(stmt = prepare (self,
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
    return set_sqlite_error (self, rc, error);

  return TRUE;
}

/* Guests */

static EdGuest *
guest_from_row (sqlite3_stmt *stmt)
{
  EdGuest *guest = g_new0 (EdGuest, 1);
  const char *extra;

  guest->id = sqlite3_column_int64 (stmt, 0);
  guest->event_id = sqlite3_column_int64 (stmt, 1);
  guest->email = column_strdup (stmt, 2);
  guest->first_name = column_strdup (stmt, 3);
  guest->last_name = column_strdup (stmt, 4);

  extra = (const char *) sqlite3_column_text (stmt, 5);
  if (extra != NULL && *extra != '\0')
    {
      g_autoptr(JsonNode) node = json_from_string (extra, NULL);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        guest->extra = json_object_ref (json_node_get_object (node));
    }

  if (!ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 6), &guest->status))
    guest->status = ED_RSVP_PENDING;
  guest->party_size = sqlite3_column_int (stmt, 7);
  guest->waitlist_position = sqlite3_column_int64 (stmt, 8);
  guest->token_version = sqlite3_column_int (stmt, 9);
  guest->created_at = sqlite3_column_int64 (stmt, 10);
  guest->updated_at = sqlite3_column_int64 (stmt, 11);
  guest->responded_at = sqlite3_column_int64 (stmt, 12);

  return guest;
}

static char *
extra_to_string (JsonObject *extra)
{
  g_autoptr(JsonNode) node = NULL;

  if (extra == NULL || json_object_get_size (extra) == 0)
    return NULL;

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, extra);
  return json_to_string (node, FALSE);
}

static gboolean
set_duplicate_email_error (EdStore        *self,
                           const EdGuest  *guest,
                           GError        **error)
{
  gint64 existing = ed_store_find_guest_by_email (self, guest->event_id, guest->email, NULL);

  g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
               "Guest %" G_GINT64_FORMAT " of this event already has the email address %s",
               existing, guest->email);
  return FALSE;
}

/**
 * ed_store_insert_guest:
 * @self: a store
 * @guest: the guest; its id and timestamps are set
 * @error: return location for an error
 *
 * Inserts one guest with a cached prepared statement, so that a caller
 * holding a transaction (ed_store_begin()) can add many quickly. A second
 * guest with the same email (any case) in one event is %ED_ERROR_CONFLICT.
 */
gboolean
ed_store_insert_guest (EdStore  *self,
                       EdGuest  *guest,
                       GError  **error)
{
  g_autofree char *extra = NULL;
  g_autofree char *email_key = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (guest != NULL && guest->email != NULL, FALSE);

  if (!(stmt = prepare (self,
                        "INSERT INTO guests (event_id, email, first_name, last_name, extra, "
                        "status, party_size, created_at, updated_at, email_key) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)", error)))
    return FALSE;

  if (guest->created_at == 0)
    guest->created_at = ed_time_now ();
  guest->updated_at = guest->created_at;
  if (guest->party_size < 1)
    guest->party_size = 1;
  guest->token_version = 1;
  extra = extra_to_string (guest->extra);
  email_key = g_utf8_casefold (guest->email, -1);

  sqlite3_bind_int64 (stmt, 1, guest->event_id);
  sqlite3_bind_text (stmt, 2, guest->email, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, guest->first_name ? guest->first_name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, guest->last_name ? guest->last_name : "", -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 5, extra);
  sqlite3_bind_text (stmt, 6, ed_rsvp_status_to_string (guest->status), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 7, guest->party_size);
  sqlite3_bind_int64 (stmt, 8, guest->created_at);
  sqlite3_bind_text (stmt, 9, email_key, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);

  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return set_duplicate_email_error (self, guest, error);
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no event %" G_GINT64_FORMAT, guest->event_id);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, rc, error);

  guest->id = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

EdGuest *
ed_store_get_guest (EdStore  *self,
                    gint64    guest_id,
                    GError  **error)
{
  sqlite3_stmt *stmt;
  EdGuest *guest = NULL;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = prepare (self, "SELECT " GUEST_COLUMNS " FROM guests WHERE id = ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    guest = guest_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                 "There is no guest %" G_GINT64_FORMAT, guest_id);
  else
    set_sqlite_error (self, rc, error);
  sqlite3_reset (stmt);

  return guest;
}

/* Returns the id of the event's guest with @email (any case), or 0. */
gint64
ed_store_find_guest_by_email (EdStore     *self,
                              gint64       event_id,
                              const char  *email,
                              GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 id = 0;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), 0);
  g_return_val_if_fail (email != NULL, 0);

  if (!(stmt = prepare (self, "SELECT id FROM guests WHERE event_id = ? AND email_key = ?", error)))
    return 0;
  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_text (stmt, 2, g_utf8_casefold (email, -1), -1, g_free);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    set_sqlite_error (self, rc, error);
  sqlite3_reset (stmt);

  return id;
}

/* Writes the guest's contact fields (email, names, extra). */
gboolean
ed_store_update_guest (EdStore  *self,
                       EdGuest  *guest,
                       GError  **error)
{
  g_autofree char *extra = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (guest != NULL && guest->email != NULL, FALSE);

  if (!(stmt = prepare (self,
                        "UPDATE guests SET email = ?1, first_name = ?2, last_name = ?3, "
                        "extra = ?4, updated_at = ?5, email_key = ?7 WHERE id = ?6", error)))
    return FALSE;

  guest->updated_at = ed_time_now ();
  extra = extra_to_string (guest->extra);
  sqlite3_bind_text (stmt, 7, g_utf8_casefold (guest->email, -1), -1, g_free);
  sqlite3_bind_text (stmt, 1, guest->email, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, guest->first_name ? guest->first_name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, guest->last_name ? guest->last_name : "", -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 4, extra);
  sqlite3_bind_int64 (stmt, 5, guest->updated_at);
  sqlite3_bind_int64 (stmt, 6, guest->id);

  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);

  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return set_duplicate_email_error (self, guest, error);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self, rc, error);
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no guest %" G_GINT64_FORMAT, guest->id);
      return FALSE;
    }

  return TRUE;
}

gboolean
ed_store_delete_guest (EdStore  *self,
                       gint64    guest_id,
                       GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = prepare (self, "DELETE FROM guests WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  if (!step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no guest %" G_GINT64_FORMAT, guest_id);
      return FALSE;
    }

  return TRUE;
}

/* The search words of a query: words of three or more characters go to the
 * trigram index as one FTS5 query; shorter ones, which the index cannot
 * find, are matched with ed_contains() on the case-folded columns.
 */
typedef struct
{
  GString   *match;
  GPtrArray *words; /* short words, case-folded */
} SearchTerms;

static void
search_terms_clear (SearchTerms *terms)
{
  if (terms->match != NULL)
    g_string_free (terms->match, TRUE);
  g_clear_pointer (&terms->words, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SearchTerms, search_terms_clear)

static void
search_terms_init (SearchTerms *terms,
                   const char  *query)
{
  g_auto(GStrv) words = NULL;
  guint n_words = 0;

  terms->match = NULL;
  terms->words = g_ptr_array_new_with_free_func (g_free);

  if (query == NULL)
    return;

  words = g_strsplit_set (query, " \t\r\n", -1);
  for (guint i = 0; words[i] != NULL && n_words < MAX_SEARCH_WORDS; i++)
    {
      const char *word = words[i];

      if (*word == '\0')
        continue;
      n_words++;

      if (g_utf8_strlen (word, -1) >= 3)
        {
          if (terms->match == NULL)
            terms->match = g_string_new (NULL);
          else
            g_string_append_c (terms->match, ' ');

          /* An FTS5 string: quotes doubled, everything else literal. */
          g_string_append_c (terms->match, '"');
          for (const char *p = word; *p; p++)
            {
              if (*p == '"')
                g_string_append_c (terms->match, '"');
              g_string_append_c (terms->match, *p);
            }
          g_string_append_c (terms->match, '"');
        }
      else
        {
          g_ptr_array_add (terms->words, g_utf8_casefold (word, -1));
        }
    }
}

static const char * const word_parameters[MAX_SEARCH_WORDS] = {
  ":word0", ":word1", ":word2", ":word3", ":word4", ":word5", ":word6", ":word7",
};

static const char * const word_conditions[MAX_SEARCH_WORDS] = {
#define WORD_CONDITION(n) \
  " AND (ed_contains(guests.email, :word" #n ") OR ed_contains(guests.first_name, :word" #n ")" \
  " OR ed_contains(guests.last_name, :word" #n "))"
  WORD_CONDITION (0), WORD_CONDITION (1), WORD_CONDITION (2), WORD_CONDITION (3),
  WORD_CONDITION (4), WORD_CONDITION (5), WORD_CONDITION (6), WORD_CONDITION (7),
#undef WORD_CONDITION
};

/* Search words reach the trigram index in one of two ways. Either the index
 * drives the query (FROM guests_search CROSS JOIN guests, see
 * search_drives_query()): it yields matches in rowid order and stops with
 * the page, and each match costs one lookup by primary key. Or the matches
 * are collected into a list first ("id IN (…)"), which orders by name or
 * email need anyway.
 */
static gboolean
search_drives_query (const EdGuestQuery *query,
                     const SearchTerms  *terms)
{
  return terms->match != NULL && query->sort == ED_GUEST_SORT_CREATED;
}

static void
append_filters (GString           *sql,
                const EdGuestQuery *query,
                const SearchTerms  *terms,
                gboolean            search_joined)
{
  if (query->has_status)
    g_string_append (sql, " AND guests.status = :status");
  if (terms->match != NULL && !search_joined)
    g_string_append (sql, " AND guests.id IN (SELECT rowid FROM guests_search WHERE guests_search MATCH :match)");
  for (guint i = 0; i < terms->words->len; i++)
    g_string_append (sql, word_conditions[i]);
}

static void
bind_filters (sqlite3_stmt       *stmt,
              gint64              event_id,
              const EdGuestQuery *query,
              const SearchTerms  *terms)
{
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":event"), event_id);
  if (query->has_status)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":status"),
                       ed_rsvp_status_to_string (query->status), -1, SQLITE_STATIC);
  if (terms->match != NULL)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":match"),
                       terms->match->str, -1, SQLITE_TRANSIENT);
  for (guint i = 0; i < terms->words->len; i++)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, word_parameters[i]),
                       g_ptr_array_index (terms->words, i), -1, SQLITE_TRANSIENT);
}

static gboolean
count_guests (EdStore            *self,
              gint64              event_id,
              const EdGuestQuery *query,
              const SearchTerms  *terms,
              gint64             *total,
              GError            **error)
{
  g_autoptr(GString) sql = NULL;
  sqlite3_stmt *stmt;
  int rc;

  /* Without search words the counters answer at once. */
  if (terms->match == NULL && terms->words->len == 0)
    {
      if (query->has_status)
        stmt = prepare (self, "SELECT coalesce(sum(guests), 0) FROM event_counts "
                              "WHERE event_id = :event AND status = :status", error);
      else
        stmt = prepare (self, "SELECT coalesce(sum(guests), 0) FROM event_counts "
                              "WHERE event_id = :event", error);
      if (stmt == NULL)
        return FALSE;
      bind_filters (stmt, event_id, query, terms);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        *total = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
      return rc == SQLITE_ROW ? TRUE : set_sqlite_error (self, rc, error);
    }

  if (terms->match != NULL)
    sql = g_string_new ("SELECT count(*) FROM guests_search CROSS JOIN guests"
                        " ON guests.id = guests_search.rowid"
                        " WHERE guests_search MATCH :match AND guests.event_id = :event");
  else
    sql = g_string_new ("SELECT count(*) FROM guests WHERE guests.event_id = :event");
  append_filters (sql, query, terms, terms->match != NULL);

  rc = sqlite3_prepare_v2 (self->db, sql->str, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (self, rc, error);
  bind_filters (stmt, event_id, query, terms);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *total = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  return rc == SQLITE_ROW ? TRUE : set_sqlite_error (self, rc, error);
}

/**
 * ed_store_list_guests:
 * @self: a store
 * @event_id: the event
 * @query: filters, order and the page to return
 * @total: (out) (optional): the number of guests matching the filters
 * @has_more: (out): whether more guests follow this page
 * @error: return location for an error
 *
 * Pages by key: the page starts after the guest @query->after in the
 * chosen order, so that any page costs the same however deep it is.
 *
 * Returns: (transfer full) (element-type EdGuest): the page
 */
GPtrArray *
ed_store_list_guests (EdStore             *self,
                      gint64               event_id,
                      const EdGuestQuery  *query,
                      gint64              *total,
                      gboolean            *has_more,
                      GError             **error)
{
  g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_guest_free);
  g_auto(SearchTerms) terms = { 0 };
  g_autoptr(GString) sql = NULL;
  const char *key;
  const char *direction;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (has_more != NULL, NULL);

  search_terms_init (&terms, query->query);

  if (total != NULL && !count_guests (self, event_id, query, &terms, total, error))
    return NULL;

  switch (query->sort)
    {
    case ED_GUEST_SORT_NAME:
      key = "last_name, first_name, id";
      break;

    case ED_GUEST_SORT_EMAIL:
      key = "email, id";
      break;

    case ED_GUEST_SORT_CREATED:
    default:
      key = "id";
      break;
    }
  direction = query->descending ? " DESC" : "";

  if (search_drives_query (query, &terms))
    {
      sql = g_string_new ("SELECT " GUEST_COLUMNS_OF_GUESTS " FROM guests_search CROSS JOIN guests"
                          " ON guests.id = guests_search.rowid"
                          " WHERE guests_search MATCH :match AND guests.event_id = :event");
      append_filters (sql, query, &terms, TRUE);
      if (query->after > 0)
        g_string_append_printf (sql, " AND guests_search.rowid %s :after",
                                query->descending ? "<" : ">");
      g_string_append_printf (sql, " ORDER BY guests_search.rowid%s", direction);
    }
  else
    {
      sql = g_string_new ("SELECT " GUEST_COLUMNS " FROM guests WHERE event_id = :event");
      append_filters (sql, query, &terms, FALSE);
      if (query->after > 0)
        g_string_append_printf (sql, " AND (%s) %s (SELECT %s FROM guests WHERE id = :after)",
                                key, query->descending ? "<" : ">", key);

      g_string_append (sql, " ORDER BY ");
      switch (query->sort)
        {
        case ED_GUEST_SORT_NAME:
          g_string_append_printf (sql, "last_name%s, first_name%s, id%s", direction, direction, direction);
          break;

        case ED_GUEST_SORT_EMAIL:
          g_string_append_printf (sql, "email%s, id%s", direction, direction);
          break;

        case ED_GUEST_SORT_CREATED:
        default:
          g_string_append_printf (sql, "id%s", direction);
          break;
        }
    }
  g_string_append (sql, " LIMIT :limit");

  rc = sqlite3_prepare_v2 (self->db, sql->str, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (self, rc, error);
      return NULL;
    }

  bind_filters (stmt, event_id, query, &terms);
  if (query->after > 0)
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":after"), query->after);
  /* One row more than asked tells whether another page follows. */
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":limit"), (gint64) query->limit + 1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (guests, guest_from_row (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (self, rc, error);
      return NULL;
    }

  *has_more = guests->len > query->limit;
  if (*has_more)
    g_ptr_array_set_size (guests, query->limit);

  return g_steal_pointer (&guests);
}

static EdRsvpChange *
rsvp_change_from_row (sqlite3_stmt *stmt)
{
  EdRsvpChange *change = g_new0 (EdRsvpChange, 1);

  change->id = sqlite3_column_int64 (stmt, 0);
  change->at = sqlite3_column_int64 (stmt, 1);
  change->has_old_status =
    ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 2), &change->old_status);
  ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 3), &change->new_status);
  change->party_size = sqlite3_column_int (stmt, 4);
  change->source = column_strdup (stmt, 5);
  change->client_address = column_strdup (stmt, 6);

  return change;
}

GPtrArray *
ed_store_list_rsvp_history (EdStore  *self,
                            gint64    guest_id,
                            GError  **error)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_rsvp_change_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = prepare (self,
                        "SELECT id, at, old_status, new_status, party_size, source, client_address "
                        "FROM rsvp_history WHERE guest_id = ? ORDER BY id", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, guest_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (changes, rsvp_change_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (self, rc, error);
      return NULL;
    }

  return g_steal_pointer (&changes);
}
