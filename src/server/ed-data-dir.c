/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ed-data-dir.h"
#include "ed-error.h"
#include "ed-token.h"

/**
 * ed_data_dir_prepare:
 * @path: the data directory
 * @error: return location for an error
 *
 * Creates @path readable by its owner only, or narrows an existing one
 * to that: it holds guests' personal data and the signing key.
 */
gboolean
ed_data_dir_prepare (const char  *path,
                     GError     **error)
{
  struct stat st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot create the data directory %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  if (g_stat (path, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "The data directory %s is not a directory", path);
      return FALSE;
    }

  /* Before anything is written: a read-only directory (its mode, its
   * owner, or a file system mounted read-only) would otherwise show as
   * SQLite's "unable to open database file", or as failed writes later.
   */
  if (g_access (path, W_OK | X_OK) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot write to the data directory %s: %s; eventdeskd keeps its database "
                   "there and must be able to write it (check its owner and mode, and that its "
                   "file system is not mounted read-only)",
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  if ((st.st_mode & 077) != 0 && g_chmod (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot make the data directory %s private: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/**
 * ed_data_dir_lock:
 * @lock_path: the lock file inside the data directory
 * @data_dir: the data directory, for messages
 * @error: return location for an %ED_ERROR_BUSY error naming the holder
 *
 * Takes an exclusive lock that lasts as long as the returned descriptor
 * stays open, so that one process at a time owns the database.
 *
 * Returns: the descriptor holding the lock, or -1
 */
int
ed_data_dir_lock (const char  *lock_path,
                  const char  *data_dir,
                  GError     **error)
{
  g_autofree char *pid_text = NULL;
  int fd;

  g_return_val_if_fail (lock_path != NULL, -1);

  fd = g_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot open %s: %s", lock_path, g_strerror (saved_errno));
      return -1;
    }

  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      char buffer[32] = { 0 };
      gssize n = pread (fd, buffer, sizeof buffer - 1, 0);

      close (fd);
      if (n > 0)
        g_strstrip (buffer);
      g_set_error (error, ED_ERROR, ED_ERROR_BUSY,
                   "The data directory %s is in use by another eventdeskd%s%s%s; "
                   "stop it first, or give this one another --data-dir",
                   data_dir,
                   n > 0 ? " (pid " : "", n > 0 ? buffer : "", n > 0 ? ")" : "");
      return -1;
    }

  pid_text = g_strdup_printf ("%d\n", (int) getpid ());
  if (ftruncate (fd, 0) != 0 ||
      pwrite (fd, pid_text, strlen (pid_text), 0) != (gssize) strlen (pid_text))
    g_debug ("Cannot write the pid into %s", lock_path);

  return fd;
}

static gboolean
create_secret (const char  *path,
               GError     **error)
{
  guint8 key[ED_TOKEN_KEY_SIZE];
  gsize done = 0;
  int fd;

  while (done < sizeof key)
    {
      gssize n = getrandom (key + done, sizeof key - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                       "Cannot get random bytes for the signing key: %s", g_strerror (saved_errno));
          return FALSE;
        }
      done += n;
    }

  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 ||
      write (fd, key, sizeof key) != (gssize) sizeof key ||
      fsync (fd) != 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        {
          close (fd);
          g_unlink (path);
        }
      explicit_bzero (key, sizeof key);
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot write the signing key %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  close (fd);
  explicit_bzero (key, sizeof key);
  return TRUE;
}

/**
 * ed_data_dir_load_secret:
 * @path: the key file
 * @error: return location for an error
 *
 * Reads the 256-bit key that signs tokens, creating it on first start.
 * A key file others can read is refused rather than used.
 *
 * Returns: (transfer full): the key
 */
GBytes *
ed_data_dir_load_secret (const char  *path,
                         GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  char *contents = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !create_secret (path, error))
    return NULL;

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot read the signing key %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_FORBIDDEN,
                   "The signing key %s can be read by other users (mode %04o); "
                   "run “chmod 600 %s” and start again",
                   path, (guint) (st.st_mode & 07777), path);
      return NULL;
    }

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot read the signing key: %s", local_error->message);
      return NULL;
    }

  if (length != ED_TOKEN_KEY_SIZE)
    {
      explicit_bzero (contents, length);
      g_free (contents);
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "The signing key %s is damaged (%" G_GSIZE_FORMAT " bytes, not %d); "
                   "remove it to make a new one, which ends every session and link",
                   path, length, ED_TOKEN_KEY_SIZE);
      return NULL;
    }

  return g_bytes_new_take (contents, length);
}
