/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-daemon-private.h"
#include "ed-email.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-time-util.h"
#include "ed-validate.h"

/* /api/v1/events/{id}/guests and /api/v1/guests/{id} */

#define NAME_MAX_CHARS 200
#define EXTRA_MAX_MEMBERS 50
#define EXTRA_KEY_MAX_CHARS 100
#define EXTRA_VALUE_MAX_CHARS 2000
#define QUERY_MAX_CHARS 200
#define PAGE_LIMIT_DEFAULT 50
#define PAGE_LIMIT_MAX 500
#define KEYS_MAX_ROWS 50000
#define PARTY_SIZE_MAX 100

static const char * const guest_fields[] = {
  "email", "first_name", "last_name", "extra", "status", "party_size", NULL,
};

/* An admin's answer for the guest, from PATCH: status and party size go
 * through the same capacity logic as the guest's own answers.
 */
typedef struct
{
  gboolean      wanted;
  gboolean      has_status;
  EdRsvpStatus  status;
  gint          party_size; /* 0: unchanged */
} AdminAnswer;

static const char * const read_only_fields[] = {
  "id", "event_id", "created_at", "updated_at", "responded_at", "waitlist_position", NULL,
};

static void
take_str (char **field,
          char **value)
{
  g_free (*field);
  *field = g_steal_pointer (value);
}

static void
validate_extra (JsonObject  *body,
                JsonObject  *fields,
                JsonObject **extra)
{
  JsonNode *node = json_object_get_member (body, "extra");
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  if (node == NULL)
    return;

  result = json_object_new ();
  if (JSON_NODE_HOLDS_NULL (node))
    {
      *extra = g_steal_pointer (&result);
      return;
    }

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      ed_validate_fail (fields, "extra", "must be an object of text values");
      return;
    }

  object = json_node_get_object (node);
  if (json_object_get_size (object) > EXTRA_MAX_MEMBERS)
    {
      ed_validate_fail (fields, "extra", "must have at most %d members", EXTRA_MAX_MEMBERS);
      return;
    }

  members = json_object_get_members (object);
  for (const GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *value = json_object_get_member (object, key);

      if (*key == '\0' || g_utf8_strlen (key, -1) > EXTRA_KEY_MAX_CHARS)
        {
          ed_validate_fail (fields, "extra",
                            "member names must have 1 to %d characters", EXTRA_KEY_MAX_CHARS);
          return;
        }
      if (json_node_get_value_type (value) != G_TYPE_STRING)
        {
          ed_validate_fail (fields, "extra", "member “%s” must be text", key);
          return;
        }
      if (g_utf8_strlen (json_node_get_string (value), -1) > EXTRA_VALUE_MAX_CHARS)
        {
          ed_validate_fail (fields, "extra", "member “%s” must be at most %d characters long",
                            key, EXTRA_VALUE_MAX_CHARS);
          return;
        }
      json_object_set_string_member (result, key, json_node_get_string (value));
    }

  *extra = g_steal_pointer (&result);
}

static void
validate_admin_answer (JsonObject  *body,
                       AdminAnswer *answer,
                       JsonObject  *fields)
{
  g_autofree char *status = NULL;
  gint64 party_size;

  if (ed_validate_has (body, "status") &&
      (status = ed_validate_string (body, "status", ED_VALIDATE_REQUIRED, 20, fields)))
    {
      if (ed_rsvp_status_from_string (status, &answer->status))
        answer->has_status = TRUE;
      else
        ed_validate_fail (fields, "status",
                          "must be one of pending, accepted, declined, waitlisted, cancelled");
    }

  if (ed_validate_int (body, "party_size", 1, PARTY_SIZE_MAX, &party_size, fields))
    answer->party_size = (gint) party_size;

  answer->wanted = answer->has_status || answer->party_size > 0;
}

static void
apply_guest_fields (JsonObject  *body,
                    EdGuest     *guest,
                    gboolean     creating,
                    AdminAnswer *answer,
                    JsonObject  *fields)
{
  g_autofree char *email = NULL;
  g_autofree char *first_name = NULL;
  g_autofree char *last_name = NULL;
  JsonObject *extra = NULL;

  ed_validate_known_members (body, guest_fields, fields);
  for (guint i = 0; read_only_fields[i] != NULL; i++)
    if (json_object_has_member (body, read_only_fields[i]))
      ed_validate_fail (fields, read_only_fields[i], "cannot be changed");
  if (creating && (json_object_has_member (body, "status") || json_object_has_member (body, "party_size")))
    ed_validate_fail (fields, json_object_has_member (body, "status") ? "status" : "party_size",
                      "is set by an answer: create the guest, then change it with PATCH");
  else if (!creating)
    validate_admin_answer (body, answer, fields);

  if (creating || ed_validate_has (body, "email"))
    {
      email = ed_validate_string (body, "email", ED_VALIDATE_REQUIRED, 254, fields);
      if (email != NULL)
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *normalized = ed_email_normalize (email);

          if (ed_email_check (normalized, &error))
            take_str (&guest->email, &normalized);
          else
            ed_validate_fail (fields, "email", "is not a valid address: %s", error->message);
        }
    }

  if ((first_name = ed_validate_string (body, "first_name", ED_VALIDATE_NONE, NAME_MAX_CHARS, fields)))
    take_str (&guest->first_name, &first_name);
  if ((last_name = ed_validate_string (body, "last_name", ED_VALIDATE_NONE, NAME_MAX_CHARS, fields)))
    take_str (&guest->last_name, &last_name);

  validate_extra (body, fields, &extra);
  if (extra != NULL)
    {
      g_clear_pointer (&guest->extra, json_object_unref);
      guest->extra = extra;
    }
}

/* A guest as every answer shows it: with its latest message's state. */
static void
reply_guest (EdDaemon  *self,
             EdRequest *request,
             guint      status,
             EdGuest   *guest)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  g_autoptr(GPtrArray) deliveries = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (one, guest);
  if (!(deliveries = ed_store_list_last_delivery_states (self->store, one, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  ed_guest_add_json_members (guest, builder);
  ed_json_add_string (builder, "last_delivery_status", g_ptr_array_index (deliveries, 0));
  json_builder_end_object (builder);
  ed_http_reply_json (request->msg, status, builder);
}

/* Answers a store error; a duplicate email names the guest who has it. */
static void
reply_store_error (EdDaemon     *self,
                   EdRequest    *request,
                   const EdGuest *guest,
                   GError       *error)
{
  g_autoptr(JsonBuilder) builder = NULL;
  gint64 existing;

  if (!g_error_matches (error, ED_ERROR, ED_ERROR_CONFLICT))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  existing = ed_store_find_guest_by_email (self->store, guest->event_id, guest->email, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  ed_json_add_string (builder, "code", "duplicate_email");
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, error->message);
  ed_json_add_int (builder, "guest_id", existing);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  ed_http_reply_json (request->msg, SOUP_STATUS_CONFLICT, builder);
}

/* The list's filters, order and cursor (`after`) from the query string,
 * as GET …/guests and …/guests/keys take them; what is wrong goes to
 * @fields. @query borrows the request's strings.
 */
static void
read_list_query (EdDaemon     *self,
                 EdRequest    *request,
                 gint64        event_id,
                 EdGuestQuery *query,
                 JsonObject   *fields)
{
  const char *status = ed_request_get_query (request, "status");
  const char *q = ed_request_get_query (request, "q");
  gint64 after;

  ed_validate_query_int (request->query, "after", 0, G_MAXINT64, 0, &after, fields);
  if (status != NULL && *status != '\0')
    {
      if (ed_rsvp_status_from_string (status, &query->status))
        query->has_status = TRUE;
      else
        ed_validate_fail (fields, "status",
                          "must be one of pending, accepted, declined, waitlisted, cancelled");
    }
  if (!ed_guest_sort_parse (ed_request_get_query (request, "sort"), &query->sort, &query->descending))
    ed_validate_fail (fields, "sort", "must be one of name, email, created, each optionally after “-” for descending order");
  if (q != NULL && (!g_utf8_validate (q, -1, NULL) || g_utf8_strlen (q, -1) > QUERY_MAX_CHARS))
    ed_validate_fail (fields, "q", "must be text of at most %d characters", QUERY_MAX_CHARS);

  if (after > 0 && json_object_get_size (fields) == 0)
    {
      g_autoptr(EdGuest) cursor = ed_store_get_guest (self->store, after, NULL);

      if (cursor == NULL || cursor->event_id != event_id)
        ed_validate_fail (fields, "after", "is not a guest of this event (it may have been deleted; start again from the first page)");
    }

  query->query = q;
  query->after = after;
}

/* Replies 404 for an event that is not there, so that its lists are not
 * answered as empty.
 *
 * Returns: %TRUE when the event exists
 */
static gboolean
check_event_exists (EdDaemon  *self,
                    EdRequest *request,
                    gint64     event_id)
{
  g_autoptr(GError) error = NULL;

  if (!ed_store_check_event_exists (self->store, event_id, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return FALSE;
    }
  return TRUE;
}

static void
handle_list_guests (EdRequest *request,
                    gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(GPtrArray) guests = NULL;
  g_autoptr(GPtrArray) deliveries = NULL;
  g_autoptr(GError) error = NULL;
  EdGuestQuery query = { 0 };
  gint64 event_id = request->ids[0];
  gint64 limit, total = 0;
  gboolean has_more = FALSE;

  if (!check_event_exists (self, request, event_id))
    return;

  ed_validate_query_int (request->query, "limit", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT, &limit, fields);
  read_list_query (self, request, event_id, &query, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  query.limit = (guint) limit;

  if (!(guests = ed_store_list_guests (self->store, event_id, &query, &total, &has_more, &error)) ||
      !(deliveries = ed_store_list_last_delivery_states (self->store, guests, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < guests->len; i++)
    {
      json_builder_begin_object (builder);
      ed_guest_add_json_members (g_ptr_array_index (guests, i), builder);
      ed_json_add_string (builder, "last_delivery_status", g_ptr_array_index (deliveries, i));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  ed_json_add_int (builder, "total", total);
  if (has_more && guests->len > 0)
    ed_json_add_int (builder, "next", ((EdGuest *) g_ptr_array_index (guests, guests->len - 1))->id);
  else
    ed_json_add_null (builder, "next");
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

/* GET /api/v1/events/{id}/guests/keys?after=&q=&status=&sort=&first=&every=&count=
 *
 * The ids of every `every`-th guest of the list, from the `first`-th after
 * `after` on: where its pages start or end. A client that jumps far into
 * the list learns there the key of the page it jumps to, then asks for
 * that page as usual; the daemon reads only the ids from the index that
 * orders the list, and at most KEYS_MAX_ROWS of them a request, so that
 * the main loop stays free.
 */
static void
handle_list_guest_keys (EdRequest *request,
                        gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;
  EdGuestQuery query = { 0 };
  gint64 event_id = request->ids[0];
  gint64 first, every, count;

  if (!check_event_exists (self, request, event_id))
    return;

  read_list_query (self, request, event_id, &query, fields);
  ed_validate_query_int (request->query, "every", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT, &every, fields);
  ed_validate_query_int (request->query, "first", 1, PAGE_LIMIT_MAX, 0, &first, fields);
  ed_validate_query_int (request->query, "count", 1, KEYS_MAX_ROWS, 100, &count, fields);
  if (first == 0)
    first = every;
  if (json_object_get_size (fields) == 0 && first + every * (count - 1) > KEYS_MAX_ROWS)
    ed_validate_fail (fields, "count", "reaches more than %d guests past “after”: ask for fewer keys, "
                      "then again from the last one", KEYS_MAX_ROWS);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!ed_store_list_guest_keys (self->store, event_id, &query, (guint) first, (guint) every, (guint) count,
                                 keys, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "keys");
  json_builder_begin_array (builder);
  for (guint i = 0; i < keys->len; i++)
    json_builder_add_int_value (builder, g_array_index (keys, gint64, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

static void
handle_create_guest (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdGuest) guest = ed_guest_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *location = NULL;

  if (!ed_store_check_event_exists (self->store, request->ids[0], &error) ||
      !(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  guest->event_id = request->ids[0];
  apply_guest_fields (body, guest, TRUE, NULL, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!ed_store_insert_guest (self->store, guest, &error))
    {
      reply_store_error (self, request, guest, error);
      return;
    }

  ed_live_hub_event_changed (self->live, guest->event_id);
  location = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, guest->id);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Location", location);
  reply_guest (self, request, SOUP_STATUS_CREATED, guest);
}

static void
handle_get_guest (EdRequest *request,
                  gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(GError) error = NULL;

  if (!(guest = ed_store_get_guest (self->store, request->ids[0], &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  reply_guest (self, request, SOUP_STATUS_OK, guest);
}

/* Answers the refusal of an admin's answer with 409 and a stable code. */
static gboolean
reply_refused_answer (EdRequest           *request,
                      const EdRsvpOutcome *outcome)
{
  switch (outcome->result)
    {
    case ED_RSVP_RESULT_FULL:
      ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "event_full",
                           "The event is full and has no waiting list; nothing was changed");
      return TRUE;

    case ED_RSVP_RESULT_NOT_ENOUGH_SEATS:
      ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "not_enough_seats",
                           "There are not enough free seats for the larger party (or guests are "
                           "waiting for them); nothing was changed");
      return TRUE;

    case ED_RSVP_RESULT_CLOSED:
    case ED_RSVP_RESULT_CANCELLED:
    case ED_RSVP_RESULT_CHANGED:
    case ED_RSVP_RESULT_UNCHANGED:
    default:
      return FALSE;
    }
}

static void
handle_update_guest (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdGuest) updated = NULL;
  g_autoptr(GError) error = NULL;
  AdminAnswer answer = { 0 };
  EdRsvpOutcome outcome = { 0 };
  gboolean contact_changed;

  if (!(guest = ed_store_get_guest (self->store, request->ids[0], &error)) ||
      !(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  apply_guest_fields (body, guest, FALSE, &answer, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  /* The contact fields and the answer change together or not at all. */
  contact_changed = ed_validate_has (body, "email") || ed_validate_has (body, "first_name") ||
                    ed_validate_has (body, "last_name") || json_object_has_member (body, "extra");
  if (!ed_store_begin (self->store, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  if (contact_changed && !ed_store_update_guest (self->store, guest, &error))
    {
      ed_store_rollback (self->store);
      reply_store_error (self, request, guest, error);
      return;
    }

  if (answer.wanted)
    {
      EdRsvpAnswer rsvp = { 0 };

      rsvp.guest_id = guest->id;
      rsvp.status = answer.has_status ? answer.status : guest->status;
      rsvp.party_size = answer.party_size;
      rsvp.source = ED_RSVP_SOURCE_ADMIN;
      rsvp.client_address = soup_server_message_get_remote_host (request->msg);
      rsvp.now = ed_time_now ();

      if (!ed_store_apply_rsvp_answer (self->store, &rsvp, &outcome, &error))
        {
          ed_store_rollback (self->store);
          if (g_error_matches (error, ED_ERROR, ED_ERROR_INVALID))
            {
              ed_validate_fail (fields, answer.party_size > 0 && !answer.has_status ? "party_size" : "status",
                                "%s", error->message);
              ed_http_reply_fields (request->msg, fields);
            }
          else
            ed_http_reply_gerror (request->msg, error);
          return;
        }

      if (reply_refused_answer (request, &outcome))
        {
          ed_store_rollback (self->store);
          return;
        }
    }

  if (!ed_store_commit (self->store, &error))
    {
      ed_store_rollback (self->store);
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  /* a confirmation or promotions may have been queued */
  if (answer.wanted && outcome.result == ED_RSVP_RESULT_CHANGED)
    ed_daemon_wake_mailer (self);

  ed_live_hub_event_changed (self->live, guest->event_id);
  if (answer.wanted && outcome.result == ED_RSVP_RESULT_CHANGED)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                      "ED_ADMIN", request->username,
                      "MESSAGE", "Admin “%s” set guest %" G_GINT64_FORMAT " to %s (party of %d); "
                      "%u promoted from the waiting list",
                      request->username, guest->id, ed_rsvp_status_to_string (outcome.status),
                      outcome.party_size, outcome.n_promoted);

  if (!(updated = ed_store_get_guest (self->store, guest->id, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  reply_guest (self, request, SOUP_STATUS_OK, updated);
}

static void
handle_delete_guest (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(EdGuest) guest = NULL;

  if (!(guest = ed_store_get_guest (self->store, request->ids[0], &error)) ||
      !ed_store_delete_guest (self->store, request->ids[0], &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_live_hub_event_changed (self->live, guest->event_id);
  ed_http_reply_empty (request->msg, SOUP_STATUS_NO_CONTENT);
}

static void
handle_guest_history (EdRequest *request,
                      gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(GError) error = NULL;

  if (!(guest = ed_store_get_guest (self->store, request->ids[0], &error)) ||
      !(changes = ed_store_list_rsvp_history (self->store, guest->id, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < changes->len; i++)
    {
      const EdRsvpChange *change = g_ptr_array_index (changes, i);

      json_builder_begin_object (builder);
      ed_json_add_int (builder, "id", change->id);
      ed_json_add_time (builder, "at", change->at);
      ed_json_add_string (builder, "old_status",
                          change->has_old_status ? ed_rsvp_status_to_string (change->old_status) : NULL);
      ed_json_add_string (builder, "new_status", ed_rsvp_status_to_string (change->new_status));
      ed_json_add_int (builder, "party_size", change->party_size);
      ed_json_add_string (builder, "source", change->source);
      ed_json_add_string (builder, "client_address", change->client_address);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  ed_json_add_int (builder, "total", changes->len);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

void
ed_daemon_add_guest_routes (EdDaemon *self)
{
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/guests", ED_ROUTE_AUTH, handle_list_guests);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/guests/keys", ED_ROUTE_AUTH, handle_list_guest_keys);
  ed_router_add (self->router, "POST", "/api/v1/events/{id}/guests", ED_ROUTE_AUTH, handle_create_guest);
  ed_router_add (self->router, "GET", "/api/v1/guests/{id}", ED_ROUTE_AUTH, handle_get_guest);
  ed_router_add (self->router, "PATCH", "/api/v1/guests/{id}", ED_ROUTE_AUTH, handle_update_guest);
  ed_router_add (self->router, "DELETE", "/api/v1/guests/{id}", ED_ROUTE_AUTH, handle_delete_guest);
  ed_router_add (self->router, "GET", "/api/v1/guests/{id}/history", ED_ROUTE_AUTH, handle_guest_history);
}
