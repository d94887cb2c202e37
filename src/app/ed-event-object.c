/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-event-object.h"

/* One event of the sidebar: the API's JSON and the texts its row shows. */
struct _EdEventObject
{
  GObject     parent_instance;

  /* owned */
  JsonObject *json;
  char       *when;
  char       *numbers;
};

enum {
  PROP_0,
  PROP_NAME,
  PROP_WHEN,
  PROP_NUMBERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdEventObject, ed_event_object, G_TYPE_OBJECT)

static gint64
event_stat (JsonObject *event,
      const char *name)
{
  JsonObject *stats;

  if (!json_object_has_member (event, "stats") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (event, "stats")))
    return 0;

  stats = json_object_get_object_member (event, "stats");
  return json_object_get_int_member_with_default (stats, name, 0);
}

/**
 * ed_event_object_format_time:
 *
 * Returns: (transfer full) (nullable): the time in @member of @event, in
 *   the event's time zone, as "2026-12-31 19:00", or NULL when unset
 */
char *
ed_event_object_format_time (JsonObject *event,
                             const char *member)
{
  const char *text = json_object_get_string_member_with_default (event, member, NULL);
  const char *zone = json_object_get_string_member_with_default (event, "timezone", "UTC");
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GTimeZone) tz = NULL;

  if (text == NULL)
    return NULL;

  utc = g_date_time_new_from_iso8601 (text, NULL);
  if (utc == NULL)
    return g_strdup (text);

  tz = g_time_zone_new_identifier (zone);
  local = g_date_time_to_timezone (utc, tz ? tz : g_time_zone_new_utc ());
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

static void
ed_event_object_finalize (GObject *object)
{
  EdEventObject *self = ED_EVENT_OBJECT (object);

  g_clear_pointer (&self->json, json_object_unref);
  g_free (self->when);
  g_free (self->numbers);

  G_OBJECT_CLASS (ed_event_object_parent_class)->finalize (object);
}

static void
ed_event_object_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  EdEventObject *self = ED_EVENT_OBJECT (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, ed_event_object_get_name (self));
      break;
    case PROP_WHEN:
      g_value_set_string (value, self->when);
      break;
    case PROP_NUMBERS:
      g_value_set_string (value, self->numbers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_event_object_class_init (EdEventObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ed_event_object_finalize;
  object_class->get_property = ed_event_object_get_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_WHEN] =
    g_param_spec_string ("when", NULL, NULL, NULL, (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_NUMBERS] =
    g_param_spec_string ("numbers", NULL, NULL, NULL, (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ed_event_object_init (EdEventObject *self)
{
}

EdEventObject *
ed_event_object_new (JsonObject *event)
{
  EdEventObject *self = g_object_new (ED_TYPE_EVENT_OBJECT, NULL);

  ed_event_object_update (self, event);
  return self;
}

/* Takes the event's new state, as the API answered it. Notifies only
 * what changed: the live feed brings new numbers ten times a second. */
void
ed_event_object_update (EdEventObject *self,
                        JsonObject    *event)
{
  g_autofree char *old_name = NULL;
  g_autofree char *taken = NULL;
  g_autofree char *capacity = NULL;
  g_autofree char *pending = NULL;
  g_autofree char *when = NULL;
  g_autofree char *numbers = NULL;
  gboolean first;

  g_return_if_fail (ED_IS_EVENT_OBJECT (self));
  g_return_if_fail (event != NULL);

  first = self->json == NULL;
  if (!first)
    old_name = g_strdup (ed_event_object_get_name (self));
  g_clear_pointer (&self->json, json_object_unref);
  self->json = json_object_ref (event);

  when = ed_event_object_format_time (event, "starts_at");
  taken = g_strdup_printf ("%'" G_GINT64_FORMAT, event_stat (event, "seats_taken"));
  capacity = g_strdup_printf ("%'" G_GINT64_FORMAT, event_stat (event, "capacity"));
  pending = g_strdup_printf ("%'" G_GINT64_FORMAT, event_stat (event, "pending"));
  /* Translators: seats taken of the capacity, then guests without an answer */
  numbers = g_strdup_printf (_("%s of %s seats taken · %s pending"), taken, capacity, pending);

  if (first || g_strcmp0 (old_name, ed_event_object_get_name (self)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
  if (first || g_strcmp0 (self->when, when) != 0)
    {
      g_free (self->when);
      self->when = g_steal_pointer (&when);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WHEN]);
    }
  if (first || g_strcmp0 (self->numbers, numbers) != 0)
    {
      g_free (self->numbers);
      self->numbers = g_steal_pointer (&numbers);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NUMBERS]);
    }
}

gint64
ed_event_object_get_id (EdEventObject *self)
{
  g_return_val_if_fail (ED_IS_EVENT_OBJECT (self), 0);

  return json_object_get_int_member_with_default (self->json, "id", 0);
}

const char *
ed_event_object_get_name (EdEventObject *self)
{
  g_return_val_if_fail (ED_IS_EVENT_OBJECT (self), NULL);

  return json_object_get_string_member_with_default (self->json, "name", "");
}

JsonObject *
ed_event_object_get_json (EdEventObject *self)
{
  g_return_val_if_fail (ED_IS_EVENT_OBJECT (self), NULL);

  return self->json;
}

gint64
ed_event_object_get_guests (EdEventObject *self)
{
  g_return_val_if_fail (ED_IS_EVENT_OBJECT (self), 0);

  return event_stat (self->json, "guests");
}
