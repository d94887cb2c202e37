/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ed-event.h"
#include "ed-json-util.h"

G_DEFINE_BOXED_TYPE (EdEvent, ed_event, ed_event_copy, ed_event_free)

EdEvent *
ed_event_new (void)
{
  EdEvent *event = g_new0 (EdEvent, 1);

  event->timezone = g_strdup ("UTC");
  event->waitlist_enabled = TRUE;
  event->max_party_size = 1;

  return event;
}

EdEvent *
ed_event_copy (const EdEvent *event)
{
  EdEvent *copy;

  g_return_val_if_fail (event != NULL, NULL);

  copy = g_memdup2 (event, sizeof *event);
  copy->name = g_strdup (event->name);
  copy->description = g_strdup (event->description);
  copy->venue = g_strdup (event->venue);
  copy->timezone = g_strdup (event->timezone);

  return copy;
}

void
ed_event_free (EdEvent *event)
{
  if (event == NULL)
    return;

  g_free (event->name);
  g_free (event->description);
  g_free (event->venue);
  g_free (event->timezone);
  g_free (event);
}

/**
 * ed_event_add_json_members:
 * @event: an event
 * @builder: a builder inside an object
 *
 * Adds the members of @event in the shape the API documents, so that a
 * caller can add more members to the same object.
 */
void
ed_event_add_json_members (const EdEvent *event,
                  JsonBuilder   *builder)
{
  g_return_if_fail (event != NULL);
  g_return_if_fail (JSON_IS_BUILDER (builder));

  ed_json_add_int (builder, "id", event->id);
  ed_json_add_string (builder, "name", event->name);
  ed_json_add_string (builder, "description", event->description ? event->description : "");
  ed_json_add_string (builder, "venue", event->venue ? event->venue : "");
  ed_json_add_time (builder, "starts_at", event->starts_at);
  ed_json_add_time (builder, "ends_at", event->ends_at);
  ed_json_add_string (builder, "timezone", event->timezone);
  ed_json_add_int (builder, "capacity", event->capacity);
  ed_json_add_boolean (builder, "waitlist_enabled", event->waitlist_enabled);
  ed_json_add_int (builder, "max_party_size", event->max_party_size);
  ed_json_add_time (builder, "rsvp_deadline", event->rsvp_deadline);
  ed_json_add_time (builder, "created_at", event->created_at);
  ed_json_add_time (builder, "updated_at", event->updated_at);
}
