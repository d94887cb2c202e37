/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <gio/gio.h>

#include "ed-import-indexer.h"
#include "ed-store.h"

/* Brings the search index up to date after a bulk import, on a thread with
 * its own connection, in short write transactions with pauses between
 * them, so that the daemon's own writes (answers, new guests) never wait
 * long for the lock. Until it is done, searches scan the guests it has
 * not reached (see ed-store-guests.c). It first copies the import's
 * write-ahead log into the database, so that no request pays for that.
 */

#define BATCH_ROWS 2000

/* An import holds the write lock for seconds: wait for it to be done. */
#define LOCK_TIMEOUT_MS 120000

struct _EdImportIndexer
{
  char         *db_path;

  GMutex        mutex;
  GCond         cond;
  gboolean      running;
  gboolean      again;
  GCancellable *cancellable;
};

static gboolean
index_until_done (EdImportIndexer *self,
                  GCancellable    *cancellable,
                  GError         **error)
{
  g_autoptr(EdStore) store = NULL;
  guint64 total = 0;
  gint64 started = g_get_monotonic_time ();
  guint n_indexed;

  if (!(store = ed_store_open (self->db_path, error)))
    return FALSE;
  ed_store_set_lock_timeout (store, LOCK_TIMEOUT_MS);
  if (!ed_store_checkpoint (store, error))
    return FALSE;

  do
    {
      gint64 batch_start = g_get_monotonic_time ();

      if (!ed_store_index_search_batch (store, BATCH_ROWS, &n_indexed, error))
        return FALSE;
      total += n_indexed;

      /* As long again without the lock as with it. */
      if (n_indexed > 0)
        g_usleep (MAX (g_get_monotonic_time () - batch_start, 1000));
    }
  while (n_indexed > 0 && !g_cancellable_is_cancelled (cancellable));

  if (total > 0)
    g_debug ("Indexed %" G_GUINT64_FORMAT " guests for search in %.1f s", total,
             (g_get_monotonic_time () - started) / 1e6);

  ed_store_checkpoint (store, NULL);
  ed_store_close (store);
  return TRUE;
}

static gpointer
indexer_thread (gpointer user_data)
{
  EdImportIndexer *self = user_data;
  GCancellable *cancellable;

  g_mutex_lock (&self->mutex);
  cancellable = g_object_ref (self->cancellable);
  g_mutex_unlock (&self->mutex);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gboolean again;

      if (!index_until_done (self, cancellable, &error))
        g_warning ("Cannot bring the search index up to date: %s", error->message);

      g_mutex_lock (&self->mutex);
      again = self->again && !g_cancellable_is_cancelled (cancellable);
      self->again = FALSE;
      if (!again)
        {
          self->running = FALSE;
          g_cond_broadcast (&self->cond);
        }
      g_mutex_unlock (&self->mutex);

      if (!again)
        break;
    }

  g_object_unref (cancellable);
  return NULL;
}

EdImportIndexer *
ed_import_indexer_new (const char *db_path)
{
  EdImportIndexer *self = g_new0 (EdImportIndexer, 1);

  self->db_path = g_strdup (db_path);
  self->cancellable = g_cancellable_new ();
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);

  return self;
}

void
ed_import_indexer_free (EdImportIndexer *self)
{
  if (self == NULL)
    return;

  ed_import_indexer_stop (self);
  g_clear_object (&self->cancellable);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self->db_path);
  g_free (self);
}

/* Starts indexing, or has the running indexer look again when it is done. */
void
ed_import_indexer_kick (EdImportIndexer *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  if (self->running)
    self->again = TRUE;
  else if (!g_cancellable_is_cancelled (self->cancellable))
    {
      self->running = TRUE;
      /* not joined: stop waits on running instead */
      g_thread_unref (g_thread_new ("ed-search-index", indexer_thread, self));
    }
  g_mutex_unlock (&self->mutex);
}

/* Stops after the batch in progress and waits for that. */
void
ed_import_indexer_stop (EdImportIndexer *self)
{
  g_return_if_fail (self != NULL);

  g_cancellable_cancel (self->cancellable);

  g_mutex_lock (&self->mutex);
  while (self->running)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);
}
