/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ed-log.h"

/* A daemon's info messages (the access log among them) are wanted, which
 * GLib's default writer hides. Under systemd the structured fields go to
 * the journal as they are; elsewhere one line per message goes to stderr.
 * Debug messages follow G_MESSAGES_DEBUG as usual.
 */

static const char *
level_name (GLogLevelFlags log_level)
{
  if (log_level & G_LOG_LEVEL_ERROR)
    return "error";
  if (log_level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (log_level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (log_level & G_LOG_LEVEL_MESSAGE)
    return "notice";
  if (log_level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

static GTimeZone *local_tz;

/* Each thread's last time stamp: the access log writes a line per
 * request, thousands a second, and formatting a date for each showed in
 * the main loop's profile.
 */
typedef struct
{
  gint64 second;
  char   text[32];
} Stamp;

static _Thread_local Stamp last_stamp;

static const char *
stamp_now (void)
{
  gint64 second = g_get_real_time () / G_USEC_PER_SEC;

  if (second != last_stamp.second || last_stamp.text[0] == '\0')
    {
      g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (second);
      g_autoptr(GDateTime) local = utc ? g_date_time_to_timezone (utc, local_tz) : NULL;
      g_autofree char *text = local ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : NULL;

      g_strlcpy (last_stamp.text, text ? text : "-", sizeof last_stamp.text);
      last_stamp.second = second;
    }

  return last_stamp.text;
}

GLogWriterOutput
ed_log_writer (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  const char *message = NULL;
  const char *domain = NULL;

  if ((log_level & G_LOG_LEVEL_DEBUG) &&
      g_log_writer_default_would_drop (log_level, NULL))
    return G_LOG_WRITER_HANDLED;

  if (g_log_writer_is_journald (fileno (stderr)) &&
      g_log_writer_journald (log_level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
      else if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
    }

  /* Looked up once: g_date_time_new_now_local() checks the zone files
   * every time, which showed in the access log's share of the main loop.
   */
  if (g_once_init_enter (&local_tz))
    g_once_init_leave (&local_tz, g_time_zone_new_local ());

  fprintf (stderr, "%s %s[%d] %s: %s\n", stamp_now (), domain ? domain : "eventdeskd",
           (int) getpid (), level_name (log_level), message ? message : "");

  return G_LOG_WRITER_HANDLED;
}
