/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskctl"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "ed-ctl-progress.h"

/* Progress of an upload or a download. On a terminal it is one line that
 * redraws itself, a bar when the size is known, at most ten times a
 * second; anywhere else (a log, a pipe) it is a plain line every tenth of
 * the way, or every 100,000 rows when the size is not known, so that logs
 * stay short and readable.
 */

#define BAR_WIDTH 30
#define REDRAW_INTERVAL_US (G_USEC_PER_SEC / 10)
#define PLAIN_ROWS_STEP 100000

struct _EdCtlProgress
{
  FILE     *out;
  char     *label;
  gint64    total;
  gboolean  tty;

  gint64    bytes;
  gint64    rows;
  gint64    started;
  gint64    last_drawn;
  gint      last_step;
  gboolean  drawn;
};

EdCtlProgress *
ed_ctl_progress_new (FILE       *out,
                     const char *label,
                     gint64      total_bytes)
{
  EdCtlProgress *self = g_new0 (EdCtlProgress, 1);

  self->out = out;
  self->label = g_strdup (label);
  self->total = total_bytes;
  self->tty = isatty (fileno (out));
  self->started = g_get_monotonic_time ();
  self->last_step = -1;

  return self;
}

void
ed_ctl_progress_free (EdCtlProgress *self)
{
  if (self == NULL)
    return;

  g_free (self->label);
  g_free (self);
}

gboolean
ed_ctl_progress_is_tty (EdCtlProgress *self)
{
  return self->tty;
}

static char *
format_megabytes (gint64 bytes)
{
  return g_strdup_printf ("%.1f MB", bytes / 1e6);
}

static void
draw (EdCtlProgress *self)
{
  g_autofree char *done = format_megabytes (self->bytes);
  double seconds = (g_get_monotonic_time () - self->started) / 1e6;

  fputs ("\r\033[K", self->out);
  if (self->total > 0)
    {
      g_autofree char *total = format_megabytes (self->total);
      double fraction = CLAMP ((double) self->bytes / self->total, 0, 1);
      int filled = (int) (fraction * BAR_WIDTH);

      fprintf (self->out, "%-10s [", self->label);
      for (int i = 0; i < BAR_WIDTH; i++)
        fputc (i < filled ? '#' : '-', self->out);
      fprintf (self->out, "] %3d%%  %s of %s", (int) (fraction * 100), done, total);
    }
  else
    {
      fprintf (self->out, "%-10s %s", self->label, done);
      if (self->rows > 0)
        {
          g_autofree char *rows = g_strdup_printf ("%" G_GINT64_FORMAT, self->rows);

          fprintf (self->out, _(", %s rows"), rows);
        }
    }
  if (seconds > 0.5)
    fprintf (self->out, "  %.1f MB/s", self->bytes / 1e6 / seconds);

  fflush (self->out);
  self->drawn = TRUE;
}

static void
print_plain (EdCtlProgress *self)
{
  g_autofree char *done = format_megabytes (self->bytes);

  if (self->total > 0)
    {
      g_autofree char *total = format_megabytes (self->total);

      fprintf (self->out, _("%s: %d%% (%s of %s)\n"), self->label,
               (int) (100 * CLAMP ((double) self->bytes / self->total, 0, 1)), done, total);
    }
  else if (self->rows > 0)
    {
      g_autofree char *rows = g_strdup_printf ("%" G_GINT64_FORMAT, self->rows);

      fprintf (self->out, _("%s: %s rows (%s)\n"), self->label, rows, done);
    }
  else
    fprintf (self->out, _("%s: %s\n"), self->label, done);
  fflush (self->out);
}

/* @rows: rows so far, or 0 when not counted */
void
ed_ctl_progress_update (EdCtlProgress *self,
                        gint64         bytes,
                        gint64         rows)
{
  gint64 now = g_get_monotonic_time ();
  gint step;

  self->bytes = bytes;
  self->rows = rows;

  if (self->tty)
    {
      if (now - self->last_drawn >= REDRAW_INTERVAL_US)
        {
          draw (self);
          self->last_drawn = now;
        }
      return;
    }

  step = self->total > 0 ? (gint) (10 * bytes / self->total) : (gint) (rows / PLAIN_ROWS_STEP);
  if (step > self->last_step && (step > 0 || self->total > 0))
    {
      self->last_step = step;
      if (step > 0)
        print_plain (self);
    }
}

/* A new phase of the same work ("Saving", once an upload is through). */
void
ed_ctl_progress_set_label (EdCtlProgress *self,
                           const char    *label)
{
  g_free (self->label);
  self->label = g_strdup (label);

  if (self->tty)
    draw (self);
  else
    {
      fprintf (self->out, "%s…\n", label);
      fflush (self->out);
    }
}

/* Leaves the terminal on a fresh line. */
void
ed_ctl_progress_finish (EdCtlProgress *self)
{
  if (self->tty && self->drawn)
    {
      draw (self);
      fputc ('\n', self->out);
      fflush (self->out);
    }
}
