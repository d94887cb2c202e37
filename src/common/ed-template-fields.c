/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-enums.h"
#include "ed-template-fields.h"

typedef enum
{
  FIELD_EMAIL,
  FIELD_FIRST_NAME,
  FIELD_LAST_NAME,
  FIELD_FULL_NAME,
  FIELD_PARTY_SIZE,
  FIELD_STATUS,
  FIELD_WAITLIST_POSITION,
  FIELD_EXTRA,
  FIELD_EVENT_NAME,
  FIELD_EVENT_DESCRIPTION,
  FIELD_EVENT_VENUE,
  FIELD_EVENT_TIMEZONE,
  FIELD_EVENT_STARTS_AT,
  FIELD_EVENT_ENDS_AT,
  FIELD_EVENT_DATE,
  FIELD_EVENT_START_TIME,
  FIELD_EVENT_END_TIME,
  FIELD_EVENT_RSVP_DEADLINE,
  FIELD_EVENT_CAPACITY,
  FIELD_EVENT_MAX_PARTY_SIZE,
  FIELD_RSVP_URL,
  FIELD_UNSUBSCRIBE_URL,
  N_FIELDS
} Field;

/* In the order docs/templates.md lists them. The descriptions are for
 * people writing templates (the API can serve them to the app).
 */
static const EdTemplateField fields[N_FIELDS] = {
  [FIELD_EMAIL] = { "email", ED_TEMPLATE_FIELD_GUEST, "The guest's email address" },
  [FIELD_FIRST_NAME] = { "first_name", ED_TEMPLATE_FIELD_GUEST, "The guest's first name" },
  [FIELD_LAST_NAME] = { "last_name", ED_TEMPLATE_FIELD_GUEST, "The guest's last name" },
  [FIELD_FULL_NAME] = { "full_name", ED_TEMPLATE_FIELD_GUEST, "First and last name with a space between, or the one that is set" },
  [FIELD_PARTY_SIZE] = { "party_size", ED_TEMPLATE_FIELD_GUEST, "Seats the guest asked for, themselves included" },
  [FIELD_STATUS] = { "status", ED_TEMPLATE_FIELD_GUEST, "The RSVP status: pending, accepted, declined, waitlisted or cancelled" },
  [FIELD_WAITLIST_POSITION] = { "waitlist_position", ED_TEMPLATE_FIELD_GUEST, "Place on the waiting list, empty when not on it" },
  [FIELD_EXTRA] = { ED_TEMPLATE_EXTRA_PREFIX "*", ED_TEMPLATE_FIELD_GUEST, "An extra field of the guest list, by its column name: {{extra.company}}" },
  [FIELD_EVENT_NAME] = { "event_name", ED_TEMPLATE_FIELD_EVENT, "The event's name" },
  [FIELD_EVENT_DESCRIPTION] = { "event_description", ED_TEMPLATE_FIELD_EVENT, "The event's description" },
  [FIELD_EVENT_VENUE] = { "event_venue", ED_TEMPLATE_FIELD_EVENT, "Where the event takes place" },
  [FIELD_EVENT_TIMEZONE] = { "event_timezone", ED_TEMPLATE_FIELD_EVENT, "The event's time zone, e.g. Europe/Berlin" },
  [FIELD_EVENT_STARTS_AT] = { "event_starts_at", ED_TEMPLATE_FIELD_EVENT, "Start date and time in the event's time zone: 2026-07-04 18:30" },
  [FIELD_EVENT_ENDS_AT] = { "event_ends_at", ED_TEMPLATE_FIELD_EVENT, "End date and time in the event's time zone" },
  [FIELD_EVENT_DATE] = { "event_date", ED_TEMPLATE_FIELD_EVENT, "Start date in the event's time zone: 2026-07-04" },
  [FIELD_EVENT_START_TIME] = { "event_start_time", ED_TEMPLATE_FIELD_EVENT, "Start time in the event's time zone: 18:30" },
  [FIELD_EVENT_END_TIME] = { "event_end_time", ED_TEMPLATE_FIELD_EVENT, "End time in the event's time zone" },
  [FIELD_EVENT_RSVP_DEADLINE] = { "event_rsvp_deadline", ED_TEMPLATE_FIELD_EVENT, "Last date and time to answer, in the event's time zone" },
  [FIELD_EVENT_CAPACITY] = { "event_capacity", ED_TEMPLATE_FIELD_EVENT, "Seats in all" },
  [FIELD_EVENT_MAX_PARTY_SIZE] = { "event_max_party_size", ED_TEMPLATE_FIELD_EVENT, "Largest party one guest may bring" },
  [FIELD_RSVP_URL] = { "rsvp_url", ED_TEMPLATE_FIELD_LINK, "The guest's personal RSVP page" },
  [FIELD_UNSUBSCRIBE_URL] = { "unsubscribe_url", ED_TEMPLATE_FIELD_LINK, "The guest's link to stop mail about this event" },
};

struct _EdTemplateValues
{
  /* owned */
  char          *values[N_FIELDS];
  GPtrArray     *formatted_extras;

  /* borrowed from the guest of ed_template_values_set_guest() */
  const EdGuest *guest;
};

/**
 * ed_template_fields_get:
 * @n_fields: (out): the number of fields
 *
 * Returns: (transfer none) (array length=n_fields): every placeholder of
 *   campaign templates, the guest's extra fields as one entry named
 *   `extra.*`
 */
const EdTemplateField *
ed_template_fields_get (guint *n_fields)
{
  g_return_val_if_fail (n_fields != NULL, NULL);

  *n_fields = N_FIELDS;
  return fields;
}

/**
 * ed_template_fields_get_names:
 *
 * Returns: (transfer none): the known names to give ed_template_new() for
 *   a campaign's subject and bodies
 */
const char * const *
ed_template_fields_get_names (void)
{
  static const char *names[N_FIELDS + 1];
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      for (guint i = 0; i < N_FIELDS; i++)
        names[i] = fields[i].name;
      names[N_FIELDS] = NULL;
      g_once_init_leave (&initialized, 1);
    }

  return names;
}

static GHashTable *
get_index (void)
{
  static GHashTable *index = NULL;

  if (g_once_init_enter (&index))
    {
      GHashTable *table = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < N_FIELDS; i++)
        g_hash_table_insert (table, (gpointer) fields[i].name, GUINT_TO_POINTER (i + 1));
      g_once_init_leave (&index, table);
    }

  return index;
}

static char *
format_local (gint64     unix_seconds,
              GTimeZone *tz,
              const char *format)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (unix_seconds == 0)
    return NULL;

  utc = g_date_time_new_from_unix_utc (unix_seconds);
  if (utc == NULL)
    return NULL;
  local = g_date_time_to_timezone (utc, tz);
  return g_date_time_format (local, format);
}

/**
 * ed_template_values_new:
 * @event: the event the messages are about
 *
 * Returns: (transfer full): the values of the event's placeholders, to
 *   which ed_template_values_set_guest() adds a guest's
 */
EdTemplateValues *
ed_template_values_new (const EdEvent *event)
{
  EdTemplateValues *self;
  g_autoptr(GTimeZone) tz = NULL;

  g_return_val_if_fail (event != NULL, NULL);

  self = g_new0 (EdTemplateValues, 1);
  self->formatted_extras = g_ptr_array_new_with_free_func (g_free);

  if (event->timezone != NULL && *event->timezone != '\0')
    tz = g_time_zone_new_identifier (event->timezone);
  if (tz == NULL)
    tz = g_time_zone_new_utc ();

  self->values[FIELD_EVENT_NAME] = g_strdup (event->name);
  self->values[FIELD_EVENT_DESCRIPTION] = g_strdup (event->description);
  self->values[FIELD_EVENT_VENUE] = g_strdup (event->venue);
  self->values[FIELD_EVENT_TIMEZONE] = g_strdup (g_time_zone_get_identifier (tz));
  self->values[FIELD_EVENT_STARTS_AT] = format_local (event->starts_at, tz, "%Y-%m-%d %H:%M");
  self->values[FIELD_EVENT_ENDS_AT] = format_local (event->ends_at, tz, "%Y-%m-%d %H:%M");
  self->values[FIELD_EVENT_DATE] = format_local (event->starts_at, tz, "%Y-%m-%d");
  self->values[FIELD_EVENT_START_TIME] = format_local (event->starts_at, tz, "%H:%M");
  self->values[FIELD_EVENT_END_TIME] = format_local (event->ends_at, tz, "%H:%M");
  self->values[FIELD_EVENT_RSVP_DEADLINE] = format_local (event->rsvp_deadline, tz, "%Y-%m-%d %H:%M");
  if (event->capacity > 0)
    self->values[FIELD_EVENT_CAPACITY] = g_strdup_printf ("%" G_GINT64_FORMAT, event->capacity);
  if (event->max_party_size > 0)
    self->values[FIELD_EVENT_MAX_PARTY_SIZE] = g_strdup_printf ("%d", event->max_party_size);

  return self;
}

void
ed_template_values_free (EdTemplateValues *self)
{
  if (self == NULL)
    return;

  for (guint i = 0; i < N_FIELDS; i++)
    g_free (self->values[i]);
  g_ptr_array_unref (self->formatted_extras);
  g_free (self);
}

static void
replace (EdTemplateValues *self,
         Field             field,
         char             *value)
{
  g_free (self->values[field]);
  self->values[field] = value;
}

/**
 * ed_template_values_set_guest:
 * @self: the values
 * @guest: the guest the next message is for, borrowed until the next
 *   call or until @self is freed
 * @rsvp_url: (nullable): the guest's RSVP link
 * @unsubscribe_url: (nullable): the guest's one-click unsubscribe link
 */
void
ed_template_values_set_guest (EdTemplateValues *self,
                              const EdGuest    *guest,
                              const char       *rsvp_url,
                              const char       *unsubscribe_url)
{
  const char *first, *last;

  g_return_if_fail (self != NULL);
  g_return_if_fail (guest != NULL);

  self->guest = guest;
  g_ptr_array_set_size (self->formatted_extras, 0);

  first = guest->first_name != NULL ? guest->first_name : "";
  last = guest->last_name != NULL ? guest->last_name : "";

  replace (self, FIELD_EMAIL, g_strdup (guest->email));
  replace (self, FIELD_FIRST_NAME, g_strdup (first));
  replace (self, FIELD_LAST_NAME, g_strdup (last));
  if (*first != '\0' && *last != '\0')
    replace (self, FIELD_FULL_NAME, g_strconcat (first, " ", last, NULL));
  else
    replace (self, FIELD_FULL_NAME, g_strconcat (first, last, NULL));
  replace (self, FIELD_PARTY_SIZE, g_strdup_printf ("%d", guest->party_size));
  replace (self, FIELD_STATUS, g_strdup (ed_rsvp_status_to_string (guest->status)));
  replace (self, FIELD_WAITLIST_POSITION,
           guest->waitlist_position > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, guest->waitlist_position) : NULL);
  replace (self, FIELD_RSVP_URL, g_strdup (rsvp_url));
  replace (self, FIELD_UNSUBSCRIBE_URL, g_strdup (unsubscribe_url));
}

/* Column names as people write them (“Table number”) and placeholder names
 * (“table_number”) meet here: lower case, and every run of characters
 * other than letters and digits one “_”, none at the ends.
 */
static char *
normalize_key (const char *key)
{
  g_autofree char *lower = g_utf8_strdown (key, -1);
  GString *out = g_string_sized_new (strlen (lower));
  gboolean pending_separator = FALSE;

  for (const char *p = lower; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_isalnum (c))
        {
          pending_separator = out->len > 0;
          continue;
        }
      if (pending_separator)
        g_string_append_c (out, '_');
      pending_separator = FALSE;
      g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}

static const char *
node_to_string (EdTemplateValues *self,
                JsonNode         *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return json_node_get_string (node);
    case G_TYPE_INT64:
      g_ptr_array_add (self->formatted_extras,
                       g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node)));
      break;
    case G_TYPE_DOUBLE:
      {
        char buffer[G_ASCII_DTOSTR_BUF_SIZE];

        g_ptr_array_add (self->formatted_extras,
                         g_strdup (g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node))));
      }
      break;
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (node) ? "true" : "false";
    default:
      return NULL;
    }

  return g_ptr_array_index (self->formatted_extras, self->formatted_extras->len - 1);
}

static const char *
lookup_extra (EdTemplateValues *self,
              const char       *key)
{
  JsonObject *extra = self->guest != NULL ? self->guest->extra : NULL;
  g_autofree char *wanted = NULL;
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;

  if (extra == NULL)
    return NULL;

  node = json_object_get_member (extra, key);
  if (node != NULL)
    return node_to_string (self, node);

  wanted = normalize_key (key);
  json_object_iter_init (&iter, extra);
  while (json_object_iter_next (&iter, &member, &node))
    {
      g_autofree char *normalized = normalize_key (member);

      if (strcmp (normalized, wanted) == 0)
        return node_to_string (self, node);
    }

  return NULL;
}

/**
 * ed_template_values_lookup:
 * @name: a placeholder name
 * @values: (type EdTemplateValues): the values
 *
 * An #EdTemplateLookup for ed_template_render(). An extra field is found
 * by its column name as written or by its normalized form, so
 * {{extra.table_number}} finds the column “Table number”.
 *
 * Returns: (nullable): the value of @name for the current guest
 */
const char *
ed_template_values_lookup (const char *name,
                           gpointer    values)
{
  EdTemplateValues *self = values;
  guint index;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  index = GPOINTER_TO_UINT (g_hash_table_lookup (get_index (), name));
  if (index > 0)
    return self->values[index - 1];

  if (g_str_has_prefix (name, ED_TEMPLATE_EXTRA_PREFIX))
    return lookup_extra (self, name + strlen (ED_TEMPLATE_EXTRA_PREFIX));

  return NULL;
}
