/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A main for the fuzz targets without libFuzzer: feeds every file of the
 * directories given (a target's seeds and the inputs that once crashed it)
 * to LLVMFuzzerTestOneInput() once. The normal and the sanitizer builds
 * run it as a test, so that what once crashed stays fixed there too.
 */

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv) __attribute__ ((weak));
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
main (int   argc,
      char *argv[])
{
  guint n_inputs = 0;

  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
      const char *name;

      if (dir == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          g_autofree char *contents = NULL;
          gsize length = 0;

          if (name[0] == '.')
            continue;
          if (!g_file_get_contents (path, &contents, &length, &error))
            {
              fprintf (stderr, "%s\n", error->message);
              return 1;
            }
          /* a copy of exactly its size, so that a read past the end shows;
           * never NULL, as with libFuzzer, even when empty
           */
          {
            g_autofree uint8_t *input = g_malloc (MAX (length, 1));

            memcpy (input, contents, length);
            LLVMFuzzerTestOneInput (input, length);
          }
          /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autofree freed input; clang 14's analyzer does not run cleanups */
          n_inputs++;
        }
    }

  printf ("%u inputs replayed without a crash\n", n_inputs);
  return n_inputs > 0 ? 0 : 1;
}
