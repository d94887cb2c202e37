/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ed-guest.h"
#include "ed-json-util.h"

G_DEFINE_BOXED_TYPE (EdGuest, ed_guest, ed_guest_copy, ed_guest_free)

EdGuest *
ed_guest_new (void)
{
  EdGuest *guest = g_new0 (EdGuest, 1);

  guest->status = ED_RSVP_PENDING;
  guest->party_size = 1;

  return guest;
}

EdGuest *
ed_guest_copy (const EdGuest *guest)
{
  EdGuest *copy;

  g_return_val_if_fail (guest != NULL, NULL);

  copy = g_memdup2 (guest, sizeof *guest);
  copy->email = g_strdup (guest->email);
  copy->first_name = g_strdup (guest->first_name);
  copy->last_name = g_strdup (guest->last_name);
  copy->extra = guest->extra ? json_object_ref (guest->extra) : NULL;

  return copy;
}

void
ed_guest_free (EdGuest *guest)
{
  if (guest == NULL)
    return;

  g_free (guest->email);
  g_free (guest->first_name);
  g_free (guest->last_name);
  g_clear_pointer (&guest->extra, json_object_unref);
  g_free (guest);
}

void
ed_guest_add_json_members (const EdGuest *guest,
                  JsonBuilder   *builder)
{
  g_return_if_fail (guest != NULL);
  g_return_if_fail (JSON_IS_BUILDER (builder));

  ed_json_add_int (builder, "id", guest->id);
  ed_json_add_int (builder, "event_id", guest->event_id);
  ed_json_add_string (builder, "email", guest->email);
  ed_json_add_string (builder, "first_name", guest->first_name ? guest->first_name : "");
  ed_json_add_string (builder, "last_name", guest->last_name ? guest->last_name : "");

  json_builder_set_member_name (builder, "extra");
  if (guest->extra != NULL)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (node, guest->extra);
      json_builder_add_value (builder, g_steal_pointer (&node));
    }
  else
    {
      json_builder_begin_object (builder);
      json_builder_end_object (builder);
    }

  ed_json_add_string (builder, "status", ed_rsvp_status_to_string (guest->status));
  ed_json_add_int (builder, "party_size", guest->party_size);
  if (guest->waitlist_position > 0)
    ed_json_add_int (builder, "waitlist_position", guest->waitlist_position);
  else
    ed_json_add_null (builder, "waitlist_position");
  ed_json_add_time (builder, "responded_at", guest->responded_at);
  ed_json_add_boolean (builder, "unsubscribed", guest->unsubscribed_at != 0);
  ed_json_add_time (builder, "unsubscribed_at", guest->unsubscribed_at);
  ed_json_add_time (builder, "created_at", guest->created_at);
  ed_json_add_time (builder, "updated_at", guest->updated_at);
}
