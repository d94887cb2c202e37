/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ed-email.h"
#include "ed-error.h"

/* The input is an address as typed into the API or a CSV file. The check
 * must say yes, or no with a readable reason; what it accepts has one
 * "@", fits the lengths of RFC 5321 and is valid UTF-8 without spaces or
 * control characters; normalizing an accepted address gives an accepted
 * address, and normalizing again changes nothing.
 */

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
check_accepted (const char *address)
{
  const char *at = strchr (address, '@');

  if (at == NULL || strchr (at + 1, '@') != NULL)
    abort ();
  if (strlen (address) > 254 || at - address > 64 || at == address || at[1] == '\0')
    abort ();
  if (!g_utf8_validate (address, -1, NULL))
    abort ();
  for (const char *p = address; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || *p == 0x7f)
      abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_abort_on_warnings ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *address = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *again = NULL;
  gboolean valid = ed_email_check (address, &error);

  if (valid != (error == NULL))
    abort ();
  if (!valid)
    {
      if (!g_error_matches (error, ED_ERROR, ED_ERROR_INVALID) ||
          !g_utf8_validate (error->message, -1, NULL) || error->message[0] == '\0')
        abort ();
      return 0;
    }

  check_accepted (address);

  normalized = ed_email_normalize (address);
  if (normalized == NULL || !ed_email_check (normalized, NULL))
    abort ();
  check_accepted (normalized);
  again = ed_email_normalize (normalized);
  if (again == NULL || strcmp (again, normalized) != 0)
    abort ();

  return 0;
}
