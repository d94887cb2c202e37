/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "ed-error.h"
#include "ed-mail-transport-private.h"

/* Delivery into a Maildir (https://cr.yp.to/proto/maildir.html), the
 * embedded default for a workstation without a mail server: a message is
 * written under tmp/ with a unique name, flushed to disk, then renamed
 * into new/, so a mail reader never sees half a message and a crash
 * leaves at most a stray file in tmp/. Messages are stored with LF line
 * ends, as mail readers expect of a Maildir.
 */

gboolean
ed_mail_transport_maildir_init (EdMailTransport  *self,
                                const char       *path,
                                GError          **error)
{
  self->maildir = g_canonicalize_filename (path, NULL);
  self->description = g_strconcat ("maildir:", self->maildir, NULL);
  return TRUE;
}

static gboolean
ensure_maildir (EdMailTransport  *self,
                GError          **error)
{
  static const char * const subdirs[] = { "tmp", "new", "cur" };

  if (self->maildir_ready)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (self->maildir, subdirs[i], NULL);

      if (g_mkdir_with_parents (path, 0700) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "cannot create the Maildir folder %s: %s", path, g_strerror (saved_errno));
          return FALSE;
        }
    }

  self->maildir_ready = TRUE;
  return TRUE;
}

/* time.M<microseconds>P<pid>Q<count>R<random>.host, the host with “/” and
 * “:” written as the specification says.
 */
static char *
unique_name (EdMailTransport *self)
{
  gint64 now = g_get_real_time ();
  g_autoptr(GString) host = g_string_new (NULL);

  for (const char *p = g_get_host_name (); *p != '\0'; p++)
    {
      if (*p == '/')
        g_string_append (host, "\\057");
      else if (*p == ':')
        g_string_append (host, "\\072");
      else
        g_string_append_c (host, *p);
    }

  return g_strdup_printf ("%" G_GINT64_FORMAT ".M%06" G_GINT64_FORMAT "P%dQ%uR%08x.%s",
                          now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, (int) getpid (),
                          ++self->maildir_deliveries, g_random_int (), host->str);
}

static gboolean
write_all (int           fd,
           const char   *data,
           gsize         size)
{
  while (size > 0)
    {
      gssize n = write (fd, data, size);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      size -= (gsize) n;
    }

  return TRUE;
}

/* The message with a Return-Path and Delivered-To on top, as a local
 * delivery agent writes them, and LF line ends.
 */
static GString *
maildir_text (const char *envelope_from,
              const char *envelope_to,
              GBytes     *message)
{
  gsize size;
  const char *data = g_bytes_get_data (message, &size);
  GString *out = g_string_sized_new (size + 256);

  g_string_append_printf (out, "Return-Path: <%s>\nDelivered-To: %s\n", envelope_from, envelope_to);
  for (gsize i = 0; i < size; i++)
    {
      if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
        continue;
      g_string_append_c (out, data[i]);
    }

  return out;
}

static gboolean
deliver (EdMailTransport  *self,
         const char       *envelope_from,
         const char       *envelope_to,
         GBytes           *message,
         char            **new_path,
         GError          **error)
{
  g_autofree char *name = unique_name (self);
  g_autofree char *tmp_path = g_build_filename (self->maildir, "tmp", name, NULL);
  g_autofree char *new_dir = g_build_filename (self->maildir, "new", NULL);
  g_autofree char *target = g_build_filename (new_dir, name, NULL);
  g_autoptr(GString) text = maildir_text (envelope_from, envelope_to, message);
  int saved_errno;
  int fd;

  if (!ensure_maildir (self, error))
    return FALSE;

  fd = open (tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    goto failed;

  if (!write_all (fd, text->str, text->len) || fsync (fd) != 0)
    {
      saved_errno = errno;
      close (fd);
      unlink (tmp_path);
      errno = saved_errno;
      goto failed;
    }
  if (close (fd) != 0)
    {
      saved_errno = errno;
      unlink (tmp_path);
      errno = saved_errno;
      goto failed;
    }

  if (rename (tmp_path, target) != 0)
    {
      saved_errno = errno;
      unlink (tmp_path);
      errno = saved_errno;
      goto failed;
    }

  /* the rename is only durable once the folder is on disk */
  fd = open (new_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }

  *new_path = g_steal_pointer (&target);
  return TRUE;

failed:
  saved_errno = errno;
  /* the folder was removed: make it again next time */
  if (saved_errno == ENOENT)
    self->maildir_ready = FALSE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "cannot deliver into the Maildir %s: %s", self->maildir, g_strerror (saved_errno));
  return FALSE;
}

void
ed_mail_transport_maildir_send (EdMailTransport *self,
                                const char      *envelope_from,
                                const char      *envelope_to,
                                GBytes          *message,
                                EdMailResult    *result)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  /* there is no SMTP reply; every failure (a full disk, a folder made
   * read-only) is worth trying again once it is fixed
   */
  result->code = 0;
  if (deliver (self, envelope_from, envelope_to, message, &path, &error))
    {
      result->kind = ED_MAIL_RESULT_SENT;
      result->text = g_strdup_printf ("delivered to %s", path);
    }
  else
    {
      result->kind = ED_MAIL_RESULT_TEMPORARY;
      result->text = g_strdup (error->message);
    }
}
