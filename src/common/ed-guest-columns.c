/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-guest-columns.h"

/* Headers are matched after normalising: case-folded, NFKC, without white
 * space, hyphens, underscores, dots and byte-order marks, so "E-Mail",
 * "e_mail" and " EMAIL " are all "email".
 */
static const struct
{
  const char    *key;
  EdGuestColumn  column;
} known_headers[] = {
  { "email", ED_GUEST_COLUMN_EMAIL },
  { "emailaddress", ED_GUEST_COLUMN_EMAIL },
  { "mail", ED_GUEST_COLUMN_EMAIL },
  { "mailaddress", ED_GUEST_COLUMN_EMAIL },
  { "primaryemail", ED_GUEST_COLUMN_EMAIL },
  { "primaryemailaddress", ED_GUEST_COLUMN_EMAIL },
  { "email1value", ED_GUEST_COLUMN_EMAIL },          /* Google Contacts */
  { "emailadresse", ED_GUEST_COLUMN_EMAIL },
  { "mailadresse", ED_GUEST_COLUMN_EMAIL },

  { "firstname", ED_GUEST_COLUMN_FIRST_NAME },
  { "givenname", ED_GUEST_COLUMN_FIRST_NAME },
  { "forename", ED_GUEST_COLUMN_FIRST_NAME },
  { "first", ED_GUEST_COLUMN_FIRST_NAME },
  { "vorname", ED_GUEST_COLUMN_FIRST_NAME },

  { "lastname", ED_GUEST_COLUMN_LAST_NAME },
  { "surname", ED_GUEST_COLUMN_LAST_NAME },
  { "familyname", ED_GUEST_COLUMN_LAST_NAME },
  { "last", ED_GUEST_COLUMN_LAST_NAME },
  { "nachname", ED_GUEST_COLUMN_LAST_NAME },
  { "familienname", ED_GUEST_COLUMN_LAST_NAME },
  { "zuname", ED_GUEST_COLUMN_LAST_NAME },

  { "name", ED_GUEST_COLUMN_FULL_NAME },
  { "fullname", ED_GUEST_COLUMN_FULL_NAME },
  { "guestname", ED_GUEST_COLUMN_FULL_NAME },
  { "guest", ED_GUEST_COLUMN_FULL_NAME },
  { "displayname", ED_GUEST_COLUMN_FULL_NAME },      /* Thunderbird */
  { "gast", ED_GUEST_COLUMN_FULL_NAME },
  { "vollständigername", ED_GUEST_COLUMN_FULL_NAME },

  /* what the export writes besides the guest's own fields */
  { "id", ED_GUEST_COLUMN_IGNORED },
  { "guestid", ED_GUEST_COLUMN_IGNORED },
  { "eventid", ED_GUEST_COLUMN_IGNORED },
  { "status", ED_GUEST_COLUMN_IGNORED },
  { "rsvp", ED_GUEST_COLUMN_IGNORED },
  { "rsvpstatus", ED_GUEST_COLUMN_IGNORED },
  { "partysize", ED_GUEST_COLUMN_IGNORED },
  { "waitlistposition", ED_GUEST_COLUMN_IGNORED },
  { "waitinglistposition", ED_GUEST_COLUMN_IGNORED },
  { "answeredat", ED_GUEST_COLUMN_IGNORED },
  { "respondedat", ED_GUEST_COLUMN_IGNORED },
  { "createdat", ED_GUEST_COLUMN_IGNORED },
  { "updatedat", ED_GUEST_COLUMN_IGNORED },
  { "tokenversion", ED_GUEST_COLUMN_IGNORED },
  { "lastdelivery", ED_GUEST_COLUMN_IGNORED },
  { "lastdeliverystatus", ED_GUEST_COLUMN_IGNORED },
  { "deliverystatus", ED_GUEST_COLUMN_IGNORED },
};

#define MAX_LISTED_COLUMNS 20

static gboolean
is_dropped (gunichar c)
{
  if (c == '-' || c == '_' || c == '.' || c == 0xfeff || c == 0x200b)
    return TRUE;

  return g_unichar_isspace (c) || g_unichar_type (c) == G_UNICODE_DASH_PUNCTUATION;
}

/* Returns: (transfer full) (nullable): the matching key of @header, or
 * %NULL when it is not UTF-8
 */
static char *
normalize_header (const char *header)
{
  g_autofree char *folded = NULL;
  g_autofree char *composed = NULL;
  GString *key;

  if (!g_utf8_validate (header, -1, NULL))
    return NULL;

  folded = g_utf8_casefold (header, -1);
  composed = g_utf8_normalize (folded, -1, G_NORMALIZE_ALL_COMPOSE);
  if (composed == NULL)
    return NULL;

  key = g_string_sized_new (strlen (composed));
  for (const char *p = composed; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!is_dropped (c))
        g_string_append_unichar (key, c);
    }

  return g_string_free (key, FALSE);
}

/* The header as a person reads it: without surrounding white space or BOM. */
static char *
trim_header (const char *header)
{
  const char *start = header;

  while (g_str_has_prefix (start, "\xef\xbb\xbf"))
    start += 3;

  return g_strstrip (g_strdup (start));
}

static const char *
describe_column (EdGuestColumn column)
{
  switch (column)
    {
    case ED_GUEST_COLUMN_EMAIL:
      return "email addresses";
    case ED_GUEST_COLUMN_FIRST_NAME:
      return "first names";
    case ED_GUEST_COLUMN_LAST_NAME:
      return "last names";
    case ED_GUEST_COLUMN_FULL_NAME:
      return "full names";
    case ED_GUEST_COLUMN_EXTRA:
    case ED_GUEST_COLUMN_IGNORED:
    default:
      g_return_val_if_reached ("values");
    }
}

static int *
slot_of (EdGuestColumnMap *map,
         EdGuestColumn     column)
{
  switch (column)
    {
    case ED_GUEST_COLUMN_EMAIL:
      return &map->email;
    case ED_GUEST_COLUMN_FIRST_NAME:
      return &map->first_name;
    case ED_GUEST_COLUMN_LAST_NAME:
      return &map->last_name;
    case ED_GUEST_COLUMN_FULL_NAME:
      return &map->full_name;
    case ED_GUEST_COLUMN_EXTRA:
    case ED_GUEST_COLUMN_IGNORED:
    default:
      return NULL;
    }
}

static void
set_no_email_error (EdGuestColumnMap  *map,
                    GError           **error)
{
  g_autoptr(GString) listed = g_string_new (NULL);
  guint n_listed = 0;

  for (guint i = 0; i < map->n_columns; i++)
    {
      if (map->names[i][0] == '\0')
        continue;
      if (n_listed == MAX_LISTED_COLUMNS)
        {
          g_string_append (listed, ", …");
          break;
        }
      if (n_listed > 0)
        g_string_append (listed, ", ");
      g_string_append (listed, map->names[i]);
      n_listed++;
    }

  if (n_listed == 0)
    g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                         "no column holds email addresses; the header row is empty");
  else
    g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                 "no column holds email addresses; the columns are: %s", listed->str);
}

/**
 * ed_guest_column_from_header:
 * @header: a column header as read from the file
 *
 * Returns: what the column holds; %ED_GUEST_COLUMN_IGNORED for an empty
 *   header or one that is not UTF-8
 */
EdGuestColumn
ed_guest_column_from_header (const char *header)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (header != NULL, ED_GUEST_COLUMN_IGNORED);

  key = normalize_header (header);
  if (key == NULL || key[0] == '\0')
    return ED_GUEST_COLUMN_IGNORED;

  for (guint i = 0; i < G_N_ELEMENTS (known_headers); i++)
    if (strcmp (key, known_headers[i].key) == 0)
      return known_headers[i].column;

  return ED_GUEST_COLUMN_EXTRA;
}

const char *
ed_guest_column_to_string (EdGuestColumn column)
{
  switch (column)
    {
    case ED_GUEST_COLUMN_EXTRA:
      return "extra";
    case ED_GUEST_COLUMN_IGNORED:
      return "ignored";
    case ED_GUEST_COLUMN_EMAIL:
      return "email";
    case ED_GUEST_COLUMN_FIRST_NAME:
      return "first_name";
    case ED_GUEST_COLUMN_LAST_NAME:
      return "last_name";
    case ED_GUEST_COLUMN_FULL_NAME:
      return "full_name";
    default:
      g_return_val_if_reached (NULL);
    }
}

/**
 * ed_guest_column_map_new:
 * @headers: (array length=n_headers): the header row
 * @n_headers: how many columns it has
 * @error: return location for an %ED_ERROR_INVALID error naming the columns
 *
 * Works out which column holds what. It is an error when no column holds
 * email addresses, when two columns hold the same guest field, when two
 * extra columns have the same name, or when a header is not UTF-8. A full
 * name column next to first or last names is kept as an extra field.
 *
 * Returns: (transfer full): the map, or %NULL with @error set
 */
EdGuestColumnMap *
ed_guest_column_map_new (const char * const  *headers,
                         guint                n_headers,
                         GError             **error)
{
  g_autoptr(EdGuestColumnMap) map = NULL;
  g_autoptr(GHashTable) extras = NULL;

  g_return_val_if_fail (headers != NULL || n_headers == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  map = g_new0 (EdGuestColumnMap, 1);
  map->email = map->first_name = map->last_name = map->full_name = -1;
  map->n_columns = n_headers;
  map->kinds = g_new0 (EdGuestColumn, n_headers);
  map->names = g_new0 (char *, n_headers + 1);
  extras = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < n_headers; i++)
    {
      if (!g_utf8_validate (headers[i], -1, NULL))
        {
          /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees map; clang 14's analyzer does not run cleanups */
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "the header of column %u is not valid UTF-8 text; save the file as “CSV UTF-8”",
                       i + 1);
          return NULL;
        }

      map->names[i] = trim_header (headers[i]);
      map->kinds[i] = ed_guest_column_from_header (headers[i]);
    }

  for (guint i = 0; i < n_headers; i++)
    {
      int *slot = slot_of (map, map->kinds[i]);

      if (slot == NULL)
        continue;
      if (*slot >= 0)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "two columns hold %s: “%s” (column %d) and “%s” (column %u)",
                       describe_column (map->kinds[i]),
                       map->names[*slot], *slot + 1, map->names[i], i + 1);
          return NULL;
        }
      *slot = (int) i;
    }

  if (map->email < 0)
    {
      set_no_email_error (map, error);
      return NULL;
    }

  if (map->full_name >= 0 && (map->first_name >= 0 || map->last_name >= 0))
    {
      map->kinds[map->full_name] = ED_GUEST_COLUMN_EXTRA;
      map->full_name = -1;
    }

  for (guint i = 0; i < n_headers; i++)
    {
      g_autofree char *key = NULL;
      gpointer other;

      if (map->kinds[i] != ED_GUEST_COLUMN_EXTRA)
        continue;

      key = g_utf8_casefold (map->names[i], -1);
      if (g_hash_table_lookup_extended (extras, key, NULL, &other))
        {
          guint j = GPOINTER_TO_UINT (other);

          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "two columns are both called “%s”: columns %u and %u",
                       map->names[i], j + 1, i + 1);
          return NULL;
        }
      g_hash_table_insert (extras, g_steal_pointer (&key), GUINT_TO_POINTER (i));
    }

  return g_steal_pointer (&map);
}

void
ed_guest_column_map_free (EdGuestColumnMap *map)
{
  if (map == NULL)
    return;

  g_free (map->kinds);
  g_strfreev (map->names);
  g_free (map);
}
