/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ed-error.h"
#include "ed-store-backup.h"

/* eventdeskd admin backup: a consistent copy of the database, taken with
 * SQLite's online backup API through a read-only connection of its own, so
 * that it works while the daemon runs and writes (the one admin command
 * that does not take the data directory's lock).
 *
 * The whole copy is one step, hence one read transaction: in WAL mode that
 * is a snapshot of one moment, and the daemon's writers go on meanwhile
 * (a copy in several steps would restart whenever another process writes).
 * The copy goes to a temporary file beside the target, is checked, synced
 * and renamed over the target, so the target is never half-written.
 */

/* How long to wait, in total, for a moment the source can be read (WAL
 * recovery after a crash, an exclusive checkpoint). */
#define BUSY_TIMEOUT_MS 10000

static gboolean
set_sqlite_error (sqlite3     *db,
                  int          rc,
                  const char  *what,
                  const char  *path,
                  GError     **error)
{
  g_set_error (error, ED_ERROR, ED_ERROR_STORE, "%s %s: %s", what, path,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

static gboolean
query_int (sqlite3     *db,
           const char  *sql,
           gint64      *value)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  ok = sqlite3_step (stmt) == SQLITE_ROW;
  if (ok)
    *value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
quick_check (sqlite3     *db,
             const char  *path,
             GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  g_autofree char *result = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (db, rc, "Cannot check the copy", path, error);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  if (g_strcmp0 (result, "ok") != 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "The copy in %s failed its check: %s", path, result ? result : "no answer");
      return FALSE;
    }
  return TRUE;
}

/* Refuses targets that would destroy what is being copied. */
static gboolean
check_target (const char  *db_path,
              const char  *backup_path,
              GError     **error)
{
  struct stat db_st, target_st;

  if (g_stat (backup_path, &target_st) != 0)
    return TRUE;

  if (S_ISDIR (target_st.st_mode))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "%s is a directory; give the name of the backup file to write", backup_path);
      return FALSE;
    }

  if (g_stat (db_path, &db_st) == 0 &&
      db_st.st_dev == target_st.st_dev && db_st.st_ino == target_st.st_ino)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "%s is the database itself; write the backup somewhere else", backup_path);
      return FALSE;
    }

  return TRUE;
}

static gboolean
sync_directory (const char  *path,
                GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  int saved_errno;

  if (fd >= 0 && fsync (fd) == 0)
    {
      close (fd);
      return TRUE;
    }

  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, ED_ERROR, ED_ERROR_STORE,
               "Cannot sync the folder %s: %s", dir, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
copy_database (sqlite3            *source,
               const char         *temp_path,
               EdStoreBackupInfo  *info,
               GError            **error)
{
  sqlite3 *dest = NULL;
  sqlite3_backup *backup;
  gboolean ok = FALSE;
  int rc;

  rc = sqlite3_open_v2 (temp_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (dest, rc, "Cannot open", temp_path, error);
      goto out;
    }
  sqlite3_extended_result_codes (dest, TRUE);

  backup = sqlite3_backup_init (dest, "main", source, "main");
  if (backup == NULL)
    {
      set_sqlite_error (dest, sqlite3_errcode (dest), "Cannot start copying into", temp_path, error);
      goto out;
    }

  /* -1: every page in one step, one read transaction on the source */
  for (guint waited_ms = 0;;)
    {
      rc = sqlite3_backup_step (backup, -1);
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited_ms >= BUSY_TIMEOUT_MS)
        break;
      g_usleep (50 * 1000);
      waited_ms += 50;
    }
  if (info != NULL)
    info->pages = sqlite3_backup_pagecount (backup);
  sqlite3_backup_finish (backup);

  if (rc != SQLITE_DONE)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot copy the database: %s", sqlite3_errstr (rc));
      goto out;
    }

  /* A single self-contained file; the daemon turns WAL on again when it
   * opens a restored copy. */
  rc = sqlite3_exec (dest, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (dest, rc, "Cannot finish", temp_path, error);
      goto out;
    }

  if (!quick_check (dest, temp_path, error))
    goto out;

  if (info != NULL && !query_int (dest, "PRAGMA page_size", &info->page_size))
    info->page_size = 0;

  ok = TRUE;

out:
  /* synchronous=FULL by default: the pages are on disk once this returns */
  if (sqlite3_close (dest) != SQLITE_OK && ok)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE, "Cannot close the copy %s", temp_path);
      ok = FALSE;
    }
  return ok;
}

static void
remove_temp (const char *temp_path)
{
  g_autofree char *journal = g_strconcat (temp_path, "-journal", NULL);

  g_unlink (temp_path);
  g_unlink (journal);
}

/**
 * ed_store_backup:
 * @db_path: the database to copy; it may be in use by a running daemon
 * @backup_path: the file to write; an existing one is replaced at once,
 *   when the new copy is complete
 * @info: (out caller-allocates) (optional): what was copied
 * @error: return location for an error naming the file at fault
 *
 * Writes a consistent copy of @db_path, as it was at one moment, to
 * @backup_path, with mode 0600 (it holds personal data). A failure leaves
 * @backup_path as it was.
 *
 * Returns: whether the copy was written
 */
gboolean
ed_store_backup (const char         *db_path,
                 const char         *backup_path,
                 EdStoreBackupInfo  *info,
                 GError            **error)
{
  g_autofree char *absolute = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *ro_uri = NULL;
  g_autofree char *temp_path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  sqlite3 *source = NULL;
  gint64 schema_version = 0;
  gboolean ok = FALSE;
  int fd;
  int rc;

  g_return_val_if_fail (db_path != NULL, FALSE);
  g_return_val_if_fail (backup_path != NULL, FALSE);

  if (!g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no database at %s; is the data directory right?", db_path);
      return FALSE;
    }

  if (!check_target (db_path, backup_path, error))
    return FALSE;

  /* mode=ro: this connection never writes the daemon's database */
  absolute = g_canonicalize_filename (db_path, NULL);
  uri = g_filename_to_uri (absolute, NULL, error);
  if (uri == NULL)
    return FALSE;
  ro_uri = g_strconcat (uri, "?mode=ro", NULL);
  rc = sqlite3_open_v2 (ro_uri, &source,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (source, rc, "Cannot open the database", db_path, error);
      goto out;
    }
  sqlite3_extended_result_codes (source, TRUE);
  sqlite3_busy_timeout (source, BUSY_TIMEOUT_MS);

  if (!query_int (source, "PRAGMA user_version", &schema_version))
    {
      set_sqlite_error (source, sqlite3_errcode (source), "Cannot read the database", db_path, error);
      goto out;
    }
  if (schema_version <= 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "%s is not an Eventdesk database (it has no schema version)", db_path);
      goto out;
    }
  if (info != NULL)
    info->schema_version = (gint) schema_version;

  dir = g_path_get_dirname (backup_path);
  base = g_path_get_basename (backup_path);
  temp_path = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (temp_path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot create a file in %s: %s", dir, g_strerror (saved_errno));
      g_clear_pointer (&temp_path, g_free);
      goto out;
    }
  close (fd);

  if (!copy_database (source, temp_path, info, error))
    goto out;

  if (g_rename (temp_path, backup_path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot write %s: %s", backup_path, g_strerror (saved_errno));
      goto out;
    }
  g_clear_pointer (&temp_path, g_free);

  ok = sync_directory (backup_path, error);

out:
  if (temp_path != NULL)
    remove_temp (temp_path);
  sqlite3_close (source);
  return ok;
}
