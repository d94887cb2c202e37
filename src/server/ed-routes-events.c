/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-daemon-private.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-time-util.h"
#include "ed-validate.h"

/* /api/v1/events and /api/v1/events/{id} */

#define NAME_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 20000
#define VENUE_MAX_CHARS 500
#define CAPACITY_MAX 10000000
#define PARTY_SIZE_MAX 100
#define PAGE_LIMIT_DEFAULT 50
#define PAGE_LIMIT_MAX 500

static const char * const event_fields[] = {
  "name", "description", "venue", "timezone", "starts_at", "ends_at",
  "rsvp_deadline", "capacity", "waitlist_enabled", "max_party_size", NULL,
};

static const char * const read_only_fields[] = {
  "id", "created_at", "updated_at", "stats", NULL,
};

static void
add_stats (JsonBuilder        *builder,
           const EdEventStats *stats)
{
  gint64 total = 0;

  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    total += stats->guests[i];

  json_builder_begin_object (builder);
  ed_json_add_int (builder, "capacity", stats->capacity);
  ed_json_add_int (builder, "seats_taken", stats->seats_taken);
  ed_json_add_int (builder, "seats_left", MAX (stats->capacity - stats->seats_taken, 0));
  ed_json_add_int (builder, "guests", total);
  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    ed_json_add_int (builder, ed_rsvp_status_to_string (i), stats->guests[i]);
  json_builder_end_object (builder);
}

/* The event as the API shows it: its fields plus its current numbers. */
static gboolean
add_event (EdDaemon      *self,
           JsonBuilder   *builder,
           const EdEvent *event,
           GError       **error)
{
  EdEventStats stats;

  if (!ed_store_get_event_stats (self->store, event->id, &stats, error))
    return FALSE;

  json_builder_begin_object (builder);
  ed_event_add_json_members (event, builder);
  json_builder_set_member_name (builder, "stats");
  add_stats (builder, &stats);
  json_builder_end_object (builder);

  return TRUE;
}

static void
reply_event (EdDaemon  *self,
             EdRequest *request,
             guint      status,
             EdEvent   *event)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;

  if (!add_event (self, builder, event, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_http_reply_json (request->msg, status, builder);
}

/* Applies the members of @body to @event; problems go to @fields. */
static void
take_str (char **field,
          char **value)
{
  g_free (*field);
  *field = g_steal_pointer (value);
}

static void
apply_event_fields (JsonObject *body,
                    EdEvent    *event,
                    gboolean    creating,
                    JsonObject *fields)
{
  g_autoptr(GTimeZone) tz = NULL;
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  g_autofree char *venue = NULL;
  g_autofree char *timezone = NULL;
  gint64 number;
  gboolean flag;

  ed_validate_known_members (body, event_fields, fields);
  for (guint i = 0; read_only_fields[i] != NULL; i++)
    if (json_object_has_member (body, read_only_fields[i]))
      json_object_set_string_member (fields, read_only_fields[i], "cannot be changed");

  if (creating || ed_validate_has (body, "name"))
    if ((name = ed_validate_string (body, "name", ED_VALIDATE_REQUIRED, NAME_MAX_CHARS, fields)))
      take_str (&event->name, &name);

  if ((description = ed_validate_string (body, "description", ED_VALIDATE_MULTILINE,
                                         DESCRIPTION_MAX_CHARS, fields)))
    take_str (&event->description, &description);

  if ((venue = ed_validate_string (body, "venue", ED_VALIDATE_NONE, VENUE_MAX_CHARS, fields)))
    take_str (&event->venue, &venue);

  if (ed_validate_has (body, "timezone") &&
      (timezone = ed_validate_string (body, "timezone", ED_VALIDATE_REQUIRED, 64, fields)))
    {
      if (ed_time_zone_is_valid (timezone))
        take_str (&event->timezone, &timezone);
      else
        ed_validate_fail (fields, "timezone",
                          "must be an IANA time zone such as Europe/Berlin or UTC");
    }

  /* Times written without an offset are in the event's own zone. */
  tz = g_time_zone_new_identifier (event->timezone ? event->timezone : "UTC");
  if (tz == NULL)
    tz = g_time_zone_new_utc ();

  if (creating && !ed_validate_has (body, "starts_at"))
    ed_validate_fail (fields, "starts_at", "is required");
  ed_validate_time (body, "starts_at", FALSE, tz, &event->starts_at, fields);
  ed_validate_time (body, "ends_at", TRUE, tz, &event->ends_at, fields);
  ed_validate_time (body, "rsvp_deadline", TRUE, tz, &event->rsvp_deadline, fields);

  if (event->ends_at != 0 && event->starts_at != 0 && event->ends_at < event->starts_at &&
      (ed_validate_has (body, "ends_at") || ed_validate_has (body, "starts_at")))
    ed_validate_fail (fields, ed_validate_has (body, "ends_at") ? "ends_at" : "starts_at",
                      "must leave the end after the start");

  if (event->rsvp_deadline != 0 && event->starts_at != 0 && event->rsvp_deadline > event->starts_at &&
      (ed_validate_has (body, "rsvp_deadline") || ed_validate_has (body, "starts_at")))
    ed_validate_fail (fields, ed_validate_has (body, "rsvp_deadline") ? "rsvp_deadline" : "starts_at",
                      "must leave the RSVP deadline before the start");

  if (creating && !ed_validate_has (body, "capacity"))
    ed_validate_fail (fields, "capacity", "is required");
  if (ed_validate_int (body, "capacity", 1, CAPACITY_MAX, &number, fields))
    event->capacity = number;

  if (ed_validate_int (body, "max_party_size", 1, PARTY_SIZE_MAX, &number, fields))
    event->max_party_size = (gint) number;

  if (ed_validate_boolean (body, "waitlist_enabled", &flag, fields))
    event->waitlist_enabled = flag;
}

static void
handle_list_events (EdRequest *request,
                    gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  gint64 after, limit, total = 0;

  ed_validate_query_int (request->query, "after", 0, G_MAXINT64, 0, &after, fields);
  ed_validate_query_int (request->query, "limit", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT, &limit, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  /* One more than asked tells whether a next page exists. */
  if (!(events = ed_store_list_events (self->store, after, limit + 1, &total, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < MIN (events->len, (guint) limit); i++)
    if (!add_event (self, builder, g_ptr_array_index (events, i), &error))
      {
        ed_http_reply_gerror (request->msg, error);
        return;
      }
  json_builder_end_array (builder);
  ed_json_add_int (builder, "total", total);
  if (events->len > (guint) limit)
    ed_json_add_int (builder, "next", ((EdEvent *) g_ptr_array_index (events, limit - 1))->id);
  else
    ed_json_add_null (builder, "next");
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

static void
handle_create_event (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *location = NULL;

  if (!(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  apply_event_fields (body, event, TRUE, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!ed_store_insert_event (self->store, event, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "ED_ADMIN", request->username,
                    "MESSAGE", "Admin “%s” created event %" G_GINT64_FORMAT,
                    request->username, event->id);

  location = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, event->id);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Location", location);
  reply_event (self, request, SOUP_STATUS_CREATED, event);
}

static void
handle_get_event (EdRequest *request,
                  gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  if (!(event = ed_store_get_event (self->store, request->ids[0], &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  reply_event (self, request, SOUP_STATUS_OK, event);
}

static void
handle_update_event (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  EdEventStats stats;
  guint n_promoted = 0;

  if (!(event = ed_store_get_event (self->store, request->ids[0], &error)) ||
      !(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  apply_event_fields (body, event, FALSE, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!ed_store_get_event_stats (self->store, event->id, &stats, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  if (event->capacity < stats.seats_taken)
    {
      ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "capacity_below_seats_taken",
                           "Accepted guests already take %" G_GINT64_FORMAT " seats; "
                           "the capacity cannot go below that",
                           stats.seats_taken);
      return;
    }

  /* A larger capacity lets the waiting list's head in, in the same
   * transaction (see ed-store-rsvp.c).
   */
  if (!ed_store_update_event_promoting (self->store, event, &n_promoted, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_live_hub_event_changed (self->live, event->id);
  if (n_promoted > 0)
    ed_daemon_wake_mailer (self);

  if (n_promoted > 0)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                      "ED_ADMIN", request->username,
                      "MESSAGE", "Event %" G_GINT64_FORMAT ": %u guest(s) promoted from the waiting list "
                      "after a change by admin “%s”",
                      event->id, n_promoted, request->username);

  reply_event (self, request, SOUP_STATUS_OK, event);
}

static void
handle_delete_event (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;
  EdEventStats stats;
  gint64 guests = 0;

  if (!ed_store_get_event_stats (self->store, request->ids[0], &stats, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    guests += stats.guests[i];

  if (guests > 0 && g_strcmp0 (ed_request_get_query (request, "confirm"), "true") != 0)
    {
      ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "confirmation_required",
                           "The event has %" G_GINT64_FORMAT " guests, who would be deleted "
                           "with it; repeat the request with ?confirm=true to go ahead",
                           guests);
      return;
    }

  if (!ed_store_delete_event (self->store, request->ids[0], &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_live_hub_event_changed (self->live, request->ids[0]);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "ED_ADMIN", request->username,
                    "MESSAGE", "Admin “%s” deleted event %" G_GINT64_FORMAT " with %" G_GINT64_FORMAT " guests",
                    request->username, request->ids[0], guests);

  ed_http_reply_empty (request->msg, SOUP_STATUS_NO_CONTENT);
}

static void
handle_event_stats (EdRequest *request,
                    gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;
  EdEventStats stats;

  if (!ed_store_get_event_stats (self->store, request->ids[0], &stats, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  add_stats (builder, &stats);
  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

void
ed_daemon_add_event_routes (EdDaemon *self)
{
  ed_router_add (self->router, "GET", "/api/v1/events", ED_ROUTE_AUTH, handle_list_events);
  ed_router_add (self->router, "POST", "/api/v1/events", ED_ROUTE_AUTH, handle_create_event);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}", ED_ROUTE_AUTH, handle_get_event);
  ed_router_add (self->router, "PATCH", "/api/v1/events/{id}", ED_ROUTE_AUTH, handle_update_event);
  ed_router_add (self->router, "DELETE", "/api/v1/events/{id}", ED_ROUTE_AUTH, handle_delete_event);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/stats", ED_ROUTE_AUTH, handle_event_stats);
}
