/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-guests"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-guest-object.h"

struct _EdGuestObject
{
  GObject     parent_instance;

  /* owned */
  JsonObject *json;            /* NULL for a placeholder */
  char       *name;
  char       *responded_label;

  /* borrowed from @json */
  const char *email;
  const char *first_name;
  const char *last_name;
  const char *status;
  const char *last_delivery;

  gint64      id;
  guint       party_size;
};

enum {
  PROP_0,
  PROP_LOADED,
  PROP_ID,
  PROP_EMAIL,
  PROP_FIRST_NAME,
  PROP_LAST_NAME,
  PROP_NAME,
  PROP_STATUS,
  PROP_STATUS_LABEL,
  PROP_PARTY_SIZE,
  PROP_LAST_DELIVERY,
  PROP_LAST_DELIVERY_LABEL,
  PROP_RESPONDED_LABEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdGuestObject, ed_guest_object, G_TYPE_OBJECT)

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* A time from the API (RFC 3339) in the user's time zone, short. */
char *
ed_guest_format_time (const char *rfc3339)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (rfc3339 == NULL || *rfc3339 == '\0')
    return g_strdup ("");
  if (!(utc = g_date_time_new_from_iso8601 (rfc3339, NULL)))
    return g_strdup (rfc3339);

  local = g_date_time_to_local (utc);
  /* TRANSLATORS: the time a guest answered, as in the guest list; see strftime(3) */
  return g_date_time_format (local, _("%Y-%m-%d %H:%M"));
}

static void
ed_guest_object_finalize (GObject *object)
{
  EdGuestObject *self = ED_GUEST_OBJECT (object);

  g_clear_pointer (&self->json, json_object_unref);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->responded_label, g_free);

  G_OBJECT_CLASS (ed_guest_object_parent_class)->finalize (object);
}

static void
ed_guest_object_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  EdGuestObject *self = ED_GUEST_OBJECT (object);

  switch (prop_id)
    {
    case PROP_LOADED:
      g_value_set_boolean (value, ed_guest_object_get_loaded (self));
      break;
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case PROP_EMAIL:
      g_value_set_string (value, ed_guest_object_get_email (self));
      break;
    case PROP_FIRST_NAME:
      g_value_set_string (value, ed_guest_object_get_first_name (self));
      break;
    case PROP_LAST_NAME:
      g_value_set_string (value, ed_guest_object_get_last_name (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, ed_guest_object_get_name (self));
      break;
    case PROP_STATUS:
      g_value_set_string (value, ed_guest_object_get_status (self));
      break;
    case PROP_STATUS_LABEL:
      g_value_set_string (value, ed_guest_object_get_status_label (self));
      break;
    case PROP_PARTY_SIZE:
      g_value_set_uint (value, self->party_size);
      break;
    case PROP_LAST_DELIVERY:
      g_value_set_string (value, ed_guest_object_get_last_delivery (self));
      break;
    case PROP_LAST_DELIVERY_LABEL:
      g_value_set_string (value, ed_guest_object_get_last_delivery_label (self));
      break;
    case PROP_RESPONDED_LABEL:
      g_value_set_string (value, ed_guest_object_get_responded_label (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_guest_object_class_init (EdGuestObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = ed_guest_object_finalize;
  object_class->get_property = ed_guest_object_get_property;

  properties[PROP_LOADED] = g_param_spec_boolean ("loaded", NULL, NULL, FALSE, flags);
  properties[PROP_ID] = g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_EMAIL] = g_param_spec_string ("email", NULL, NULL, NULL, flags);
  properties[PROP_FIRST_NAME] = g_param_spec_string ("first-name", NULL, NULL, NULL, flags);
  properties[PROP_LAST_NAME] = g_param_spec_string ("last-name", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  properties[PROP_STATUS_LABEL] = g_param_spec_string ("status-label", NULL, NULL, NULL, flags);
  properties[PROP_PARTY_SIZE] = g_param_spec_uint ("party-size", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_LAST_DELIVERY] = g_param_spec_string ("last-delivery", NULL, NULL, NULL, flags);
  properties[PROP_LAST_DELIVERY_LABEL] = g_param_spec_string ("last-delivery-label", NULL, NULL, NULL, flags);
  properties[PROP_RESPONDED_LABEL] = g_param_spec_string ("responded-label", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ed_guest_object_init (EdGuestObject *self)
{
}

EdGuestObject *
ed_guest_object_new_placeholder (void)
{
  return g_object_new (ED_TYPE_GUEST_OBJECT, NULL);
}

/**
 * ed_guest_object_new_from_json:
 * @object: a guest as the API answers it
 *
 * Returns: (transfer full): the row
 */
EdGuestObject *
ed_guest_object_new_from_json (JsonObject *object)
{
  EdGuestObject *self;
  const char *first, *last;

  g_return_val_if_fail (object != NULL, NULL);

  self = g_object_new (ED_TYPE_GUEST_OBJECT, NULL);
  self->json = json_object_ref (object);
  self->id = json_object_get_int_member_with_default (object, "id", 0);
  self->email = get_string_member (object, "email");
  self->first_name = get_string_member (object, "first_name");
  self->last_name = get_string_member (object, "last_name");
  self->status = get_string_member (object, "status");
  self->last_delivery = get_string_member (object, "last_delivery_status");
  self->party_size = (guint) CLAMP (json_object_get_int_member_with_default (object, "party_size", 1), 0, G_MAXINT);

  first = self->first_name ? self->first_name : "";
  last = self->last_name ? self->last_name : "";
  if (*first != '\0' && *last != '\0')
    self->name = g_strconcat (first, " ", last, NULL);
  else
    self->name = g_strconcat (first, last, NULL);
  self->responded_label = ed_guest_format_time (get_string_member (object, "responded_at"));

  return self;
}

gboolean
ed_guest_object_get_loaded (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), FALSE);
  return self->json != NULL;
}

gint64
ed_guest_object_get_id (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), 0);
  return self->id;
}

const char *
ed_guest_object_get_email (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->email ? self->email : "";
}

const char *
ed_guest_object_get_first_name (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->first_name ? self->first_name : "";
}

const char *
ed_guest_object_get_last_name (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->last_name ? self->last_name : "";
}

const char *
ed_guest_object_get_name (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->name ? self->name : "";
}

/* The API's status ("accepted"…), or "" for a placeholder. */
const char *
ed_guest_object_get_status (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->status ? self->status : "";
}

const char *
ed_guest_object_get_status_label (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return ed_guest_status_to_label (self->status);
}

guint
ed_guest_object_get_party_size (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), 0);
  return self->party_size;
}

/* The state of the guest's latest message ("sent"…), or "". */
const char *
ed_guest_object_get_last_delivery (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->last_delivery ? self->last_delivery : "";
}

const char *
ed_guest_object_get_last_delivery_label (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return ed_guest_delivery_to_label (self->last_delivery);
}

const char *
ed_guest_object_get_responded_label (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->responded_label ? self->responded_label : "";
}

/**
 * ed_guest_object_get_json:
 *
 * Returns: (transfer none) (nullable): the guest as the API answered it
 */
JsonObject *
ed_guest_object_get_json (EdGuestObject *self)
{
  g_return_val_if_fail (ED_IS_GUEST_OBJECT (self), NULL);
  return self->json;
}

const char *
ed_guest_status_to_label (const char *status)
{
  if (g_strcmp0 (status, "pending") == 0)
    return C_("rsvp", "Pending");
  if (g_strcmp0 (status, "accepted") == 0)
    return C_("rsvp", "Accepted");
  if (g_strcmp0 (status, "declined") == 0)
    return C_("rsvp", "Declined");
  if (g_strcmp0 (status, "waitlisted") == 0)
    return C_("rsvp", "Waiting list");
  if (g_strcmp0 (status, "cancelled") == 0)
    return C_("rsvp", "Cancelled");
  return status ? status : "";
}

const char *
ed_guest_delivery_to_label (const char *state)
{
  if (state == NULL || *state == '\0')
    return "";
  if (g_str_equal (state, "queued"))
    return C_("delivery", "Queued");
  if (g_str_equal (state, "sending"))
    return C_("delivery", "Sending");
  if (g_str_equal (state, "sent"))
    return C_("delivery", "Sent");
  if (g_str_equal (state, "retry"))
    return C_("delivery", "Retrying");
  if (g_str_equal (state, "failed"))
    return C_("delivery", "Failed");
  if (g_str_equal (state, "cancelled"))
    return C_("delivery", "Cancelled");
  return state;
}
