/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-rsvp"

#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "ed-html-util.h"
#include "ed-rsvp-util.h"

/* Helpers of the RSVP site: escaping for HTML and iCalendar, dates in the
 * guest's language, content negotiation.
 */

#define ICS_LINE_OCTETS 75
#define FILE_NAME_MAX_CHARS 60

/**
 * ed_rsvp_expand:
 * @template_text: text with placeholders such as `{day}`
 * @...: pairs of placeholder name and value, ended by %NULL
 *
 * Fills in a translated template. Translations reorder the placeholders
 * freely, which printf formats would allow only with positional
 * arguments and a format string that is not a literal. A placeholder
 * without a value is left as it is.
 */
char *
ed_rsvp_expand (const char *template_text,
                ...)
{
  g_autoptr(GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  GString *out;
  const char *name;
  va_list args;

  g_return_val_if_fail (template_text != NULL, NULL);

  va_start (args, template_text);
  while ((name = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);

      g_hash_table_insert (values, (gpointer) name, (gpointer) (value ? value : ""));
    }
  va_end (args);

  out = g_string_sized_new (strlen (template_text) + 32);
  for (const char *p = template_text; *p != '\0'; p++)
    {
      const char *close;

      if (*p == '{' && (close = strchr (p + 1, '}')) != NULL && close - p - 1 < 32)
        {
          g_autofree char *key = g_strndup (p + 1, close - p - 1);
          const char *value = g_hash_table_lookup (values, key);

          if (value != NULL)
            {
              g_string_append (out, value);
              p = close;
              continue;
            }
        }
      g_string_append_c (out, *p);
    }

  return g_string_free (out, FALSE);
}

/* Writes @number with the language's digit grouping ("5,000", "5.000"). */
char *
ed_rsvp_format_number (EdCatalog *catalog,
                       gint64     number)
{
  /* Translators: the separator between groups of three digits in numbers such as 5,000 */
  const char *separator = ed_catalog_pgettext (catalog, "thousands separator", ",");
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) ABS (number));
  GString *out = g_string_new (number < 0 ? "-" : "");
  gsize length = strlen (digits);

  for (gsize i = 0; i < length; i++)
    {
      if (i > 0 && (length - i) % 3 == 0)
        g_string_append (out, separator);
      g_string_append_c (out, digits[i]);
    }

  return g_string_free (out, FALSE);
}

static const char *
weekday_name (EdCatalog *catalog,
              gint       day_of_week)
{
  switch (day_of_week)
    {
    case 1: return ed_catalog_pgettext (catalog, "weekday", "Monday");
    case 2: return ed_catalog_pgettext (catalog, "weekday", "Tuesday");
    case 3: return ed_catalog_pgettext (catalog, "weekday", "Wednesday");
    case 4: return ed_catalog_pgettext (catalog, "weekday", "Thursday");
    case 5: return ed_catalog_pgettext (catalog, "weekday", "Friday");
    case 6: return ed_catalog_pgettext (catalog, "weekday", "Saturday");
    case 7: return ed_catalog_pgettext (catalog, "weekday", "Sunday");
    default: g_return_val_if_reached ("");
    }
}

static const char *
month_name (EdCatalog *catalog,
            gint       month)
{
  switch (month)
    {
    case 1: return ed_catalog_pgettext (catalog, "month", "January");
    case 2: return ed_catalog_pgettext (catalog, "month", "February");
    case 3: return ed_catalog_pgettext (catalog, "month", "March");
    case 4: return ed_catalog_pgettext (catalog, "month", "April");
    case 5: return ed_catalog_pgettext (catalog, "month", "May");
    case 6: return ed_catalog_pgettext (catalog, "month", "June");
    case 7: return ed_catalog_pgettext (catalog, "month", "July");
    case 8: return ed_catalog_pgettext (catalog, "month", "August");
    case 9: return ed_catalog_pgettext (catalog, "month", "September");
    case 10: return ed_catalog_pgettext (catalog, "month", "October");
    case 11: return ed_catalog_pgettext (catalog, "month", "November");
    case 12: return ed_catalog_pgettext (catalog, "month", "December");
    default: g_return_val_if_reached ("");
    }
}

/* The date of @date_time in the guest's language, with names from the
 * catalog rather than from the C library's locale data.
 */
char *
ed_rsvp_format_date (EdCatalog *catalog,
                     GDateTime *date_time)
{
  g_autofree char *day = g_strdup_printf ("%d", g_date_time_get_day_of_month (date_time));
  g_autofree char *year = g_strdup_printf ("%d", g_date_time_get_year (date_time));

  /* Translators: a date such as “Saturday, December 31, 2026”. Keep the
   * names in braces; put them in your language's order.
   */
  return ed_rsvp_expand (ed_catalog_gettext (catalog, "{weekday}, {month} {day}, {year}"),
                         "weekday", weekday_name (catalog, g_date_time_get_day_of_week (date_time)),
                         "month", month_name (catalog, g_date_time_get_month (date_time)),
                         "day", day,
                         "year", year,
                         NULL);
}

char *
ed_rsvp_format_time (EdCatalog *catalog,
                     GDateTime *date_time)
{
  gint hour = g_date_time_get_hour (date_time);
  g_autofree char *hour24 = g_strdup_printf ("%02d", hour);
  g_autofree char *hour12 = g_strdup_printf ("%d", hour % 12 == 0 ? 12 : hour % 12);
  g_autofree char *minute = g_strdup_printf ("%02d", g_date_time_get_minute (date_time));
  /* Translators: the half of the day in 12-hour times, before noon */
  const char *am = ed_catalog_gettext (catalog, "AM");
  /* Translators: the half of the day in 12-hour times, from noon */
  const char *pm = ed_catalog_gettext (catalog, "PM");

  /* Translators: a time of day such as “7:30 PM”. Available: {hour12}
   * (1–12), {ampm} (the AM/PM above), {hour24} (00–23), {minute} (00–59).
   */
  return ed_rsvp_expand (ed_catalog_gettext (catalog, "{hour12}:{minute} {ampm}"),
                         "hour12", hour12,
                         "hour24", hour24,
                         "minute", minute,
                         "ampm", hour < 12 ? am : pm,
                         NULL);
}

static GDateTime *
local_date_time (gint64      unix_seconds,
                 const char *timezone)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_identifier (timezone ? timezone : "UTC");
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);

  if (tz == NULL)
    tz = g_time_zone_new_utc ();
  if (utc == NULL)
    return NULL;

  return g_date_time_to_timezone (utc, tz);
}

/* A date and time in the given zone: “Saturday, December 31, 2026, 7:00 PM”. */
char *
ed_rsvp_format_moment (EdCatalog  *catalog,
                       gint64      unix_seconds,
                       const char *timezone)
{
  g_autoptr(GDateTime) local = local_date_time (unix_seconds, timezone);
  g_autofree char *date = NULL;
  g_autofree char *time = NULL;

  if (local == NULL)
    return g_strdup ("");

  date = ed_rsvp_format_date (catalog, local);
  time = ed_rsvp_format_time (catalog, local);

  /* Translators: a date followed by a time of day */
  return ed_rsvp_expand (ed_catalog_gettext (catalog, "{date}, {time}"),
                         "date", date, "time", time, NULL);
}

/**
 * ed_rsvp_format_when:
 * @catalog: (nullable): the guest's language
 * @event: an event
 *
 * Tells when @event takes place, in its own time zone: its start, and its
 * end as a time alone when it ends on the same day.
 */
char *
ed_rsvp_format_when (EdCatalog     *catalog,
                     const EdEvent *event)
{
  g_autoptr(GDateTime) start = local_date_time (event->starts_at, event->timezone);
  g_autoptr(GDateTime) end = NULL;
  g_autofree char *start_text = ed_rsvp_format_moment (catalog, event->starts_at, event->timezone);
  g_autofree char *end_text = NULL;

  if (event->ends_at == 0 || event->ends_at <= event->starts_at || start == NULL)
    return g_steal_pointer (&start_text);

  end = local_date_time (event->ends_at, event->timezone);
  if (end != NULL &&
      g_date_time_get_year (end) == g_date_time_get_year (start) &&
      g_date_time_get_day_of_year (end) == g_date_time_get_day_of_year (start))
    end_text = ed_rsvp_format_time (catalog, end);
  else
    end_text = ed_rsvp_format_moment (catalog, event->ends_at, event->timezone);

  /* Translators: when an event starts and ends, e.g. “Saturday, December 31, 2026, 7:00 PM – 11:00 PM” */
  return ed_rsvp_expand (ed_catalog_gettext (catalog, "{start} – {end}"),
                         "start", start_text, "end", end_text, NULL);
}

/* RFC 5545, 3.3.11: backslash, semicolon and comma are escaped, line
 * breaks become "\n"; other control characters are dropped.
 */
char *
ed_ics_escape_text (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text ? text : ""; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case ';':
          g_string_append (out, "\\;");
          break;
        case ',':
          g_string_append (out, "\\,");
          break;
        case '\r':
          if (p[1] != '\n')
            g_string_append (out, "\\n");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        default:
          if ((guchar) *p >= 0x20 && *p != 0x7f)
            g_string_append_c (out, *p);
          else if (*p == '\t')
            g_string_append_c (out, ' ');
          break;
        }
    }

  return g_string_free (out, FALSE);
}

/* Appends "NAME:VALUE" folded into lines of at most 75 octets, never
 * inside a UTF-8 character, each ended by CRLF (RFC 5545, 3.1).
 */
static void
append_ics_line (GString    *out,
                 const char *name,
                 const char *value)
{
  g_autofree char *line = g_strconcat (name, ":", value, NULL);
  const char *p = line;
  gsize room = ICS_LINE_OCTETS;

  while (strlen (p) > room)
    {
      const char *cut = p + room;

      while (cut > p && ((guchar) *cut & 0xc0) == 0x80)
        cut--;
      g_string_append_len (out, p, cut - p);
      g_string_append (out, "\r\n ");
      p = cut;
      room = ICS_LINE_OCTETS - 1;
    }
  g_string_append (out, p);
  g_string_append (out, "\r\n");
}

static char *
ics_utc_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);

  return dt ? g_date_time_format (dt, "%Y%m%dT%H%M%SZ") : g_strdup ("19700101T000000Z");
}

/**
 * ed_rsvp_build_ics:
 * @event: the event
 * @guest_id: the guest it is for, which makes the UID: the same guest
 *   downloading again updates one calendar entry instead of adding one
 * @uid_domain: the host name that makes the UID unique
 * @now: the time for DTSTAMP
 *
 * Returns: an iCalendar object (RFC 5545) with one event, times in UTC
 */
char *
ed_rsvp_build_ics (const EdEvent *event,
                   gint64         guest_id,
                   const char    *uid_domain,
                   gint64         now)
{
  GString *out = g_string_new (NULL);
  g_autofree char *uid = g_strdup_printf ("event-%" G_GINT64_FORMAT "-guest-%" G_GINT64_FORMAT "@%s",
                                          event->id, guest_id, uid_domain ? uid_domain : "eventdesk");
  g_autofree char *stamp = ics_utc_time (now);
  g_autofree char *start = ics_utc_time (event->starts_at);
  g_autofree char *summary = ed_ics_escape_text (event->name);
  g_autofree char *location = ed_ics_escape_text (event->venue);
  g_autofree char *description = ed_ics_escape_text (event->description);

  append_ics_line (out, "BEGIN", "VCALENDAR");
  append_ics_line (out, "VERSION", "2.0");
  append_ics_line (out, "PRODID", "-//Eventdesk//eventdeskd " PACKAGE_VERSION "//EN");
  append_ics_line (out, "CALSCALE", "GREGORIAN");
  append_ics_line (out, "METHOD", "PUBLISH");
  append_ics_line (out, "BEGIN", "VEVENT");
  append_ics_line (out, "UID", uid);
  append_ics_line (out, "DTSTAMP", stamp);
  append_ics_line (out, "DTSTART", start);
  if (event->ends_at > event->starts_at)
    {
      g_autofree char *end = ics_utc_time (event->ends_at);

      append_ics_line (out, "DTEND", end);
    }
  append_ics_line (out, "SUMMARY", summary);
  if (event->venue != NULL && *event->venue != '\0')
    append_ics_line (out, "LOCATION", location);
  if (event->description != NULL && *event->description != '\0')
    append_ics_line (out, "DESCRIPTION", description);
  append_ics_line (out, "STATUS", "CONFIRMED");
  append_ics_line (out, "TRANSP", "OPAQUE");
  append_ics_line (out, "END", "VEVENT");
  append_ics_line (out, "END", "VCALENDAR");

  return g_string_free (out, FALSE);
}

/* A file name for the download made of the event's name, in plain ASCII
 * so that no header quoting is needed: "winter-gala.ics".
 */
char *
ed_rsvp_ics_file_name (const EdEvent *event)
{
  g_autofree char *ascii = g_str_to_ascii (event->name ? event->name : "", "C");
  GString *name = g_string_new (NULL);

  for (const char *p = ascii; *p != '\0' && name->len < FILE_NAME_MAX_CHARS; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (name, g_ascii_tolower (*p));
      else if (name->len > 0 && name->str[name->len - 1] != '-')
        g_string_append_c (name, '-');
    }
  while (name->len > 0 && name->str[name->len - 1] == '-')
    g_string_truncate (name, name->len - 1);
  if (name->len == 0)
    g_string_append (name, "event");
  g_string_append (name, ".ics");

  return g_string_free (name, FALSE);
}
