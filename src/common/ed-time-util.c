/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ed-time-util.h"

/* Times are kept as Unix seconds in UTC and written as RFC 3339 in UTC. */
char *
ed_time_format_rfc3339 (gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);

  if (dt == NULL)
    return NULL;

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

/**
 * ed_time_parse_rfc3339:
 * @text: a date and time such as `2026-12-01T19:00:00+01:00`
 * @local_tz: (nullable): zone for a time written without an offset, or
 *   %NULL to require an offset
 * @unix_seconds: (out): the time in Unix seconds
 *
 * Returns: %TRUE if @text is a complete ISO 8601 date and time
 */
gboolean
ed_time_parse_rfc3339 (const char *text,
                       GTimeZone  *local_tz,
                       gint64     *unix_seconds)
{
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *with_seconds = NULL;
  const char *t;

  g_return_val_if_fail (unix_seconds != NULL, FALSE);

  if (text == NULL || (t = strchr (text, 'T')) == NULL)
    return FALSE;

  /* GLib wants seconds; people often leave them out ("19:30"). */
  if (g_ascii_isdigit (t[1]) && g_ascii_isdigit (t[2]) && t[3] == ':' &&
      g_ascii_isdigit (t[4]) && g_ascii_isdigit (t[5]) &&
      (t[6] == '\0' || t[6] == 'Z' || t[6] == '+' || t[6] == '-'))
    {
      with_seconds = g_strdup_printf ("%.*s:00%s", (int) (t + 6 - text), text, t + 6);
      text = with_seconds;
    }

  dt = g_date_time_new_from_iso8601 (text, NULL);
  if (dt == NULL && local_tz != NULL)
    dt = g_date_time_new_from_iso8601 (text, local_tz);
  if (dt == NULL)
    return FALSE;

  *unix_seconds = g_date_time_to_unix (dt);
  return TRUE;
}

gboolean
ed_time_zone_is_valid (const char *identifier)
{
  g_autoptr(GTimeZone) tz = NULL;

  if (identifier == NULL || *identifier == '\0' || strlen (identifier) > 64)
    return FALSE;

  tz = g_time_zone_new_identifier (identifier);
  return tz != NULL;
}

gint64
ed_time_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}
