/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <unistd.h>

#include "ed-error.h"
#include "ed-import-spool.h"

/* The checked rows of an import: written one after the other to a
 * temporary file as the upload is read, and read back, in the same order,
 * by the transaction that adds them to the event, possibly while they are
 * still being written. The file is unlinked as soon as it is made (mode
 * 0600), so that nothing of it outlives the import, even after a crash, and
 * the daemon's memory never holds the whole guest list.
 *
 * The writer publishes whole rows (ed_import_spool_publish()); the reader
 * only ever reads published rows, and waits for more until the writer
 * closes the spool.
 *
 * A row is its line number, then its five texts, each as a 32-bit length
 * and the bytes; NO_TEXT stands for a missing extra object.
 */

#define NO_TEXT G_MAXUINT32
#define BUFFER_BYTES (256 * 1024)

struct _EdImportSpool
{
  /* writer */
  FILE    *out;
  char    *out_buffer;
  guint64  n_written;

  /* reader */
  FILE    *in;
  char    *in_buffer;
  GString *texts;      /* the texts of the row last read, NUL-terminated */
  guint64  n_read;

  /* guarded by mutex */
  GMutex   mutex;
  GCond    cond;
  guint64  n_published;
  gboolean closed;
  gboolean complete;
};

static gboolean
set_io_error (GError     **error,
              const char  *what)
{
  int saved = errno;

  if (ed_error_errno_is_no_space (saved))
    g_set_error (error, ED_ERROR, ED_ERROR_NO_SPACE,
                 "Cannot %s the import's temporary file, the disk is full: %s", what, g_strerror (saved));
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 "Cannot %s the import's temporary file: %s", what, g_strerror (saved));
  return FALSE;
}

static FILE *
open_stream (int          fd,
             const char  *mode,
             char       **buffer)
{
  FILE *file = fdopen (fd, mode);

  if (file == NULL)
    return NULL;

  *buffer = g_malloc (BUFFER_BYTES);
  setvbuf (file, *buffer, _IOFBF, BUFFER_BYTES);
  /* Each stream has one thread: a lock per fread() of a field is waste. */
  __fsetlocking (file, FSETLOCKING_BYCALLER);
  return file;
}

EdImportSpool *
ed_import_spool_new (GError **error)
{
  g_autoptr(EdImportSpool) self = g_new0 (EdImportSpool, 1);
  g_autofree char *path = NULL;
  int out_fd;
  int in_fd;

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->texts = g_string_sized_new (1024);

  out_fd = g_file_open_tmp ("eventdeskd-import-XXXXXX", &path, error);
  if (out_fd < 0)
    return NULL;

  /* A second, independent file position for the reader. */
  in_fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  g_unlink (path);
  if (in_fd < 0)
    {
      set_io_error (error, "open");
      close (out_fd);
      return NULL;
    }

  if (!(self->out = open_stream (out_fd, "wb", &self->out_buffer)))
    {
      set_io_error (error, "open");
      close (out_fd);
      close (in_fd);
      return NULL;
    }
  if (!(self->in = open_stream (in_fd, "rb", &self->in_buffer)))
    {
      set_io_error (error, "open");
      close (in_fd);
      return NULL;
    }

  return g_steal_pointer (&self);
}

void
ed_import_spool_free (EdImportSpool *self)
{
  if (self == NULL)
    return;

  if (self->out != NULL)
    fclose (self->out);
  if (self->in != NULL)
    fclose (self->in);
  g_free (self->out_buffer);
  g_free (self->in_buffer);
  g_string_free (self->texts, TRUE);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}

static gboolean
write_text (EdImportSpool *self,
            const char    *text)
{
  guint32 len = text != NULL ? (guint32) strlen (text) : NO_TEXT;

  if (fwrite (&len, sizeof len, 1, self->out) != 1)
    return FALSE;
  return text == NULL || len == 0 || fwrite (text, len, 1, self->out) == 1;
}

/* Writer: adds a row, which the reader sees once it is published. */
gboolean
ed_import_spool_write (EdImportSpool      *self,
                       const EdImportRow  *row,
                       GError            **error)
{
  guint64 line = row->line;

  if (fwrite (&line, sizeof line, 1, self->out) != 1 ||
      !write_text (self, row->email) ||
      !write_text (self, row->email_key) ||
      !write_text (self, row->first_name ? row->first_name : "") ||
      !write_text (self, row->last_name ? row->last_name : "") ||
      !write_text (self, row->extra))
    return set_io_error (error, "write");

  self->n_written++;
  return TRUE;
}

/* Writer: lets the reader have every row written so far. */
gboolean
ed_import_spool_publish (EdImportSpool  *self,
                         GError        **error)
{
  if (fflush (self->out) != 0)
    return set_io_error (error, "write");

  g_mutex_lock (&self->mutex);
  self->n_published = self->n_written;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  return TRUE;
}

/**
 * ed_import_spool_close:
 * @complete: whether the rows published are all there is; if not, the
 *   reader gets an error instead of the end
 *
 * Writer: no more rows come. Publish the last ones first.
 */
void
ed_import_spool_close (EdImportSpool *self,
                       gboolean       complete)
{
  g_mutex_lock (&self->mutex);
  self->closed = TRUE;
  self->complete = complete;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

/* Reader: waits, as long as it takes, until there is a row to read or
 * the writer has closed the spool.
 */
void
ed_import_spool_wait (EdImportSpool *self,
                      GCancellable  *cancellable)
{
  g_mutex_lock (&self->mutex);
  while (self->n_read == self->n_published && !self->closed &&
         !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&self->cond, &self->mutex, g_get_monotonic_time () + G_USEC_PER_SEC / 10);
  g_mutex_unlock (&self->mutex);
}

/* Reader: starts again from the first row. */
void
ed_import_spool_rewind (EdImportSpool *self)
{
  fseek (self->in, 0, SEEK_SET);
  self->n_read = 0;
}

/* Reads one text into self->texts; its offset, or -1 for none. */
static gboolean
read_text (EdImportSpool *self,
           gssize        *offset)
{
  guint32 len;

  if (fread (&len, sizeof len, 1, self->in) != 1)
    return FALSE;
  if (len == NO_TEXT)
    {
      *offset = -1;
      return TRUE;
    }

  *offset = (gssize) self->texts->len;
  g_string_set_size (self->texts, self->texts->len + len + 1);
  if (len > 0 && fread (self->texts->str + *offset, len, 1, self->in) != 1)
    return FALSE;
  self->texts->str[*offset + len] = '\0';
  return TRUE;
}

/* Waits for a row to read; FALSE at the end, or with @error. */
static gboolean
wait_for_row (EdImportSpool  *self,
              gint64          max_wait_us,
              GCancellable   *cancellable,
              gint64         *waited_us,
              GError        **error)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = max_wait_us >= 0 ? start + max_wait_us : G_MAXINT64;
  gboolean available;

  *waited_us = 0;
  g_mutex_lock (&self->mutex);
  if (self->n_read == self->n_published && !self->closed)
    *waited_us = -start;
  while (self->n_read == self->n_published && !self->closed &&
         !g_cancellable_is_cancelled (cancellable))
    {
      /* Short waits, to notice a cancellation. */
      gint64 until = MIN (deadline, g_get_monotonic_time () + G_USEC_PER_SEC / 10);

      g_cond_wait_until (&self->cond, &self->mutex, until);
      if (g_get_monotonic_time () >= deadline)
        break;
    }

  if (*waited_us < 0)
    *waited_us += g_get_monotonic_time ();

  available = self->n_read < self->n_published;
  if (!available && !g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      if (!self->closed)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "The upload is slower than the import");
      else if (!self->complete)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                             "The guest list did not arrive whole");
    }
  g_mutex_unlock (&self->mutex);

  return available;
}

/**
 * ed_import_spool_read:
 * @max_wait_us: how long to wait for the writer, or -1 for as long as it
 *   takes
 * @cancellable: (nullable): stops the wait
 * @waited_us: (out): how long it waited for the writer
 * @row: (out): the next row; its texts stay valid until the next read
 * @error: %G_IO_ERROR_TIMED_OUT after @max_wait_us,
 *   %G_IO_ERROR_PARTIAL_INPUT when the writer closed the spool incomplete
 *
 * Returns: %FALSE at the end (with @error unset) or on an error
 */
gboolean
ed_import_spool_read (EdImportSpool  *self,
                      gint64          max_wait_us,
                      GCancellable   *cancellable,
                      gint64         *waited_us,
                      EdImportRow    *row,
                      GError        **error)
{
  gssize offsets[5];
  guint64 line;

  if (!wait_for_row (self, max_wait_us, cancellable, waited_us, error))
    return FALSE;

  /* An earlier read may have met the end of what was written then. */
  clearerr (self->in);
  g_string_truncate (self->texts, 0);
  if (fread (&line, sizeof line, 1, self->in) != 1)
    goto fail;
  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    if (!read_text (self, &offsets[i]))
      goto fail;

  self->n_read++;
  row->line = line;
  row->email = self->texts->str + offsets[0];
  row->email_key = self->texts->str + offsets[1];
  row->first_name = self->texts->str + offsets[2];
  row->last_name = self->texts->str + offsets[3];
  row->extra = offsets[4] >= 0 ? self->texts->str + offsets[4] : NULL;
  return TRUE;

fail:
  if (!ferror (self->in))
    errno = EIO;
  return set_io_error (error, "read");
}
