/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <stdlib.h>

#include "bench-util.h"

/**
 * bench_parse_int:
 * @text: where the number starts, in what a program printed
 * @length: how many bytes of @text the number takes
 * @where: what printed it, for the message
 *
 * Stops the benchmark, saying what it read and from where, unless the
 * first @length bytes of @text are a whole number in base 10: a figure
 * read wrong is worse than none.
 *
 * Returns: the number
 */
gint64
bench_parse_int (const char *text,
                 gsize       length,
                 const char *where)
{
  g_autofree char *digits = g_strndup (text, length);
  g_autoptr(GError) error = NULL;
  gint64 number = 0;

  if (!g_ascii_string_to_signed (digits, 10, G_MININT64, G_MAXINT64, &number, &error))
    {
      g_printerr ("Not a number from %s: “%s”: %s\n", where, digits, error->message);
      exit (1);
    }

  return number;
}
