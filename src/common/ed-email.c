/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-email.h"
#include "ed-error.h"

/* A practical subset of RFC 5321/5322: dot-atoms on both sides, no quoted
 * local parts, no address literals. UTF-8 (RFC 6531) is accepted in both
 * parts since receiving systems with SMTPUTF8 take it.
 */

#define LOCAL_MAX 64
#define DOMAIN_MAX 253
#define ADDRESS_MAX 254
#define LABEL_MAX 63

static gboolean
is_atext (guchar c)
{
  if (c >= 0x80)
    return TRUE;
  if (g_ascii_isalnum (c))
    return TRUE;
  return strchr ("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static gboolean
set_invalid (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
check_local (const char  *local,
             gsize        len,
             GError     **error)
{
  if (len == 0)
    return set_invalid (error, "the part before “@” is empty");
  if (len > LOCAL_MAX)
    return set_invalid (error, "the part before “@” is longer than 64 bytes");
  if (local[0] == '.' || local[len - 1] == '.')
    return set_invalid (error, "the part before “@” starts or ends with a dot");

  for (gsize i = 0; i < len; i++)
    {
      guchar c = local[i];

      if (c == '.')
        {
          if (local[i + 1] == '.')
            return set_invalid (error, "the part before “@” has two dots in a row");
          continue;
        }
      if (!is_atext (c))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "the character “%c” is not allowed before “@”", c);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
check_domain (const char  *domain,
              GError     **error)
{
  g_auto(GStrv) labels = NULL;
  gsize len = strlen (domain);
  guint n_labels;
  const char *tld;
  gboolean tld_numeric = TRUE;

  if (len == 0)
    return set_invalid (error, "the domain after “@” is empty");
  if (len > DOMAIN_MAX)
    return set_invalid (error, "the domain is longer than 253 bytes");

  labels = g_strsplit (domain, ".", -1);
  n_labels = g_strv_length (labels);
  if (n_labels < 2)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "the domain “%s” has no dot", domain);
      return FALSE;
    }

  for (guint i = 0; i < n_labels; i++)
    {
      const char *label = labels[i];
      gsize label_len = strlen (label);

      if (label_len == 0)
        return set_invalid (error, "the domain has an empty part (two dots in a row, or a dot at an end)");
      if (label_len > LABEL_MAX)
        return set_invalid (error, "a part of the domain is longer than 63 bytes");
      if (label[0] == '-' || label[label_len - 1] == '-')
        return set_invalid (error, "a part of the domain starts or ends with “-”");

      for (gsize j = 0; j < label_len; j++)
        {
          guchar c = label[j];

          if (c < 0x80 && !g_ascii_isalnum (c) && c != '-')
            {
              g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                           "the character “%c” is not allowed in the domain", c);
              return FALSE;
            }
        }
    }

  tld = labels[n_labels - 1];
  for (const char *p = tld; *p; p++)
    if (!g_ascii_isdigit (*p))
      tld_numeric = FALSE;
  if (tld_numeric)
    return set_invalid (error, "the domain ends in a number, not a name");

  return TRUE;
}

/**
 * ed_email_check:
 * @address: a candidate address, already trimmed
 * @error: return location for an error saying what is wrong
 *
 * Returns: %TRUE if @address is an address mail can be sent to
 */
gboolean
ed_email_check (const char  *address,
                GError     **error)
{
  g_autofree char *lower = NULL;
  const char *at;
  gsize len;

  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  len = strlen (address);
  if (len == 0)
    return set_invalid (error, "the address is empty");
  if (!g_utf8_validate (address, len, NULL))
    return set_invalid (error, "the address is not valid UTF-8");
  if (len > ADDRESS_MAX)
    return set_invalid (error, "the address is longer than 254 bytes");

  for (const char *p = address; *p; p++)
    {
      if ((guchar) *p <= 0x20 || *p == 0x7f)
        return set_invalid (error, "the address contains a space or a control character");
    }

  at = strrchr (address, '@');
  if (at == NULL)
    return set_invalid (error, "the address has no “@”");
  if (memchr (address, '@', at - address) != NULL)
    return set_invalid (error, "the address has more than one “@”");

  if (!check_local (address, at - address, error))
    return FALSE;
  if (!check_domain (at + 1, error))
    return FALSE;

  /* Addresses are stored with the domain lower-cased (ed_email_normalize),
   * and a few capitals grow when lower-cased (İ is 2 bytes, i̇ is 3): the
   * stored form has to pass too.
   */
  lower = g_utf8_strdown (at + 1, -1);
  if (strcmp (lower, at + 1) == 0)
    return TRUE;
  if ((gsize) (at - address) + 1 + strlen (lower) > ADDRESS_MAX)
    return set_invalid (error, "the address is longer than 254 bytes once its domain is lower-cased");

  return check_domain (lower, error);
}

/**
 * ed_email_normalize:
 * @address: an address as typed
 *
 * Trims surrounding white space and lower-cases the domain, which is
 * case-insensitive; the local part is kept as written.
 *
 * Returns: (transfer full): the normalized address
 */
char *
ed_email_normalize (const char *address)
{
  g_autofree char *trimmed = NULL;
  char *at;

  g_return_val_if_fail (address != NULL, NULL);

  trimmed = g_strstrip (g_strdup (address));
  at = strrchr (trimmed, '@');
  if (at != NULL)
    {
      g_autofree char *domain = g_utf8_strdown (at + 1, -1);

      *at = '\0';
      return g_strconcat (trimmed, "@", domain, NULL);
    }

  return g_steal_pointer (&trimmed);
}
