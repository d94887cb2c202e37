/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

/* A warning or a failed g_return_if_fail() is a bug the fuzzer must stop
 * on, with the input saved: GLib's own fatal messages end in SIGTRAP,
 * which libFuzzer does not catch, so these abort() instead.
 */
static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   log_level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      for (gsize i = 0; i < n_fields; i++)
        if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
          fprintf (stderr, "fuzz: fatal log message: %s\n", (const char *) fields[i].value);
      abort ();
    }

  return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_abort_on_warnings (void)
{
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
}
