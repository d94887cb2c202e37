/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-catalog.h"
#include "ed-daemon-private.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-resources.h"
#include "ed-rsvp-page.h"
#include "ed-rsvp-token.h"
#include "ed-html-util.h"
#include "ed-rsvp-util.h"
#include "ed-time-util.h"

/* /r/{token} pages and answers, and /api/v1/guests/{id}/link
 *
 * Answers are written by a worker thread on a database connection of its
 * own, in batches (group commit): the first answer starts a batch at once;
 * the answers that arrive while a batch is being written wait, and go
 * together as the next batch, each in its own savepoint of one
 * transaction. Every answer still sees the ones before it, so capacity
 * holds exactly; the replies go out only after the commit, so nothing is
 * acknowledged that is not on disk; a burst of answers costs one fsync
 * instead of one each; and the main loop never waits for the disk. When
 * answers come one at a time, a batch is one answer and adds no delay.
 */

#define MAX_BATCH 512
#define TOKEN_CACHE_SIZE 16384
#define FORM_PARTY_SIZE_MAX 1000
#define STATIC_RESOURCE_DIR "/org/eventdesk/eventdeskd/web/"
#define STATE_KEY "ed-rsvp-state"

#define HTML_CONTENT_TYPE "text/html; charset=utf-8"
#define JSON_CONTENT_TYPE "application/json; charset=utf-8"

typedef struct
{
  EdRequest    *request;
  EdRsvpAnswer  answer;
  char         *client_address;
  gboolean      wants_json;
  EdCatalog    *catalog; /* borrowed from the registry, which lives forever */
} PendingAnswer;

typedef struct
{
  EdRsvpTokenCache *tokens;
  EdStore   *writer;  /* the answers' own connection, used by one batch at a time */
  GPtrArray *pending; /* PendingAnswer, in order of arrival, for the next batch */
  gboolean   writing; /* a batch is in the worker thread */
  EdDaemon  *daemon;  /* borrowed: it owns the state */
  EdLiveHub *live;    /* told of the events whose answers were committed */
} RsvpState;

/* A batch in the worker thread; it touches nothing else. */
typedef struct
{
  EdStore        *store;
  GPtrArray      *answers;   /* PendingAnswer */
  EdRsvpAnswer   *rsvp;
  EdRsvpOutcome  *outcomes;
  GError        **errors;
  GError         *error;
  gboolean        committed;
} Batch;

static void
pending_answer_free (PendingAnswer *pending)
{
  g_clear_pointer (&pending->request, ed_request_unref);
  g_free (pending->client_address);
  g_free (pending);
}

static void
rsvp_state_clear (RsvpState *state)
{
  g_assert (!state->writing);

  if (state->writer != NULL)
    ed_store_close (state->writer);
  g_clear_object (&state->writer);
  g_clear_pointer (&state->pending, g_ptr_array_unref);
  g_clear_pointer (&state->tokens, ed_rsvp_token_cache_free);
  g_clear_object (&state->live);
}

static void
batch_free (Batch *batch)
{
  for (guint i = 0; i < batch->answers->len; i++)
    g_clear_error (&batch->errors[i]);
  g_clear_object (&batch->store);
  g_ptr_array_unref (batch->answers);
  g_free (batch->rsvp);
  g_free (batch->outcomes);
  g_free (batch->errors);
  g_clear_error (&batch->error);
  g_free (batch);
}

static RsvpState *
get_state (EdDaemon *self)
{
  return g_object_get_data (G_OBJECT (self), STATE_KEY);
}

static void
reply_body (SoupServerMessage *msg,
            guint              status,
            const char        *content_type,
            char              *body)
{
  ed_http_set_private_headers (msg);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE, body, strlen (body));
}

static void
reply_html (SoupServerMessage *msg,
            guint              status,
            EdCatalog         *catalog,
            char              *html)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Content-Language", ed_catalog_get_language (catalog));
  soup_message_headers_replace (headers, "Vary", "Accept-Language");
  reply_body (msg, status, HTML_CONTENT_TYPE, html);
}

static void
reply_json_object (SoupServerMessage *msg,
                   guint              status,
                   JsonBuilder       *builder)
{
  reply_body (msg, status, JSON_CONTENT_TYPE, ed_json_to_string (builder));
}

/* Every link that does not work gets the same answer. */
static void
reply_invalid_link (SoupServerMessage *msg,
                    gboolean           wants_json,
                    EdCatalog         *catalog)
{
  if (wants_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      ed_json_add_string (builder, "code", "invalid_link");
      ed_json_add_string (builder, "message", "This link doesn’t work");
      json_builder_end_object (builder);
      json_builder_end_object (builder);
      reply_json_object (msg, SOUP_STATUS_NOT_FOUND, builder);
      return;
    }

  reply_html (msg, SOUP_STATUS_NOT_FOUND, catalog, ed_rsvp_page_render_invalid_link (catalog));
}

static void
reply_internal_error (SoupServerMessage *msg,
                      gboolean           wants_json,
                      EdCatalog         *catalog,
                      const GError      *error)
{
  g_autofree char *text = NULL;

  g_warning ("%s %s: %s", soup_server_message_get_method (msg), ed_http_get_route (msg), error->message);

  if (wants_json)
    {
      ed_http_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                           "The server could not complete the request; its log says why");
      ed_http_set_private_headers (msg);
      return;
    }

  text = ed_html_escape_text (ed_catalog_gettext (catalog,
                                             "Something went wrong on our side. "
                                             "Please try again in a moment."));
  reply_html (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, catalog,
              g_strdup_printf ("<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                               "<title>500</title></head><body><p>%s</p></body></html>\n",
                               ed_catalog_get_language (catalog), text));
}

/* Checks the token: signature, HS256, expiry, and then that its guest
 * exists, belongs to its event and has its token version.
 */
static gboolean
lookup_link (EdDaemon   *self,
             const char *token,
             EdGuest   **guest_out,
             EdEvent   **event_out,
             GError    **error)
{
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdEvent) event = NULL;
  EdRsvpTokenClaims claims = { 0 };

  if (!ed_rsvp_token_cache_verify (get_state (self)->tokens, self->secret, token, ed_time_now (), &claims))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_NOT_FOUND, "invalid link");
      return FALSE;
    }

  guest = ed_store_get_guest (self->store, claims.guest_id, error);
  if (guest == NULL)
    return FALSE;
  if (guest->event_id != claims.event_id || guest->token_version != claims.token_version)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_NOT_FOUND, "invalid link");
      return FALSE;
    }

  if (event_out != NULL && !(event = ed_store_get_event (self->store, guest->event_id, error)))
    return FALSE;

  *guest_out = g_steal_pointer (&guest);
  if (event_out != NULL)
    *event_out = g_steal_pointer (&event);
  return TRUE;
}

/* For the public live channel: the event of a working link. */
gboolean
ed_daemon_check_rsvp_link (EdDaemon    *self,
                           const char  *token,
                           gint64      *event_id,
                           GError     **error)
{
  g_autoptr(EdGuest) guest = NULL;

  if (!lookup_link (self, token, &guest, NULL, error))
    return FALSE;

  *event_id = guest->event_id;
  return TRUE;
}

/* GET /r/{token} */
static void
handle_page (EdRequest *request,
             gpointer   user_data)
{
  EdDaemon *self = user_data;
  EdCatalog *catalog = ed_rsvp_page_request_catalog (request->msg);
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  EdRsvpPage page = { 0 };
  gint64 seats_taken;

  if (!lookup_link (self, request->token, &guest, &event, &error))
    {
      if (g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
        reply_invalid_link (request->msg, FALSE, catalog);
      else
        reply_internal_error (request->msg, FALSE, catalog, error);
      return;
    }

  if ((seats_taken = ed_store_get_seats_taken (self->store, event->id, &error)) < 0)
    {
      reply_internal_error (request->msg, FALSE, catalog, error);
      return;
    }

  page.event = event;
  page.guest = guest;
  page.seats_taken = seats_taken;
  page.token = request->token;
  page.now = ed_time_now ();
  page.notice = ed_rsvp_notice_from_string (ed_request_get_query (request, "notice"));

  reply_html (request->msg, SOUP_STATUS_OK, catalog, ed_rsvp_page_render (&page, catalog));
}

/* GET /r/{token}/seats: the number the page shows, for its script. */
static void
handle_seats (EdRequest *request,
              gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  gint64 seats_taken;

  if (!lookup_link (self, request->token, &guest, &event, &error))
    {
      if (g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
        reply_invalid_link (request->msg, TRUE, NULL);
      else
        reply_internal_error (request->msg, TRUE, NULL, error);
      return;
    }

  if ((seats_taken = ed_store_get_seats_taken (self->store, event->id, &error)) < 0)
    {
      reply_internal_error (request->msg, TRUE, NULL, error);
      return;
    }

  json_builder_begin_object (builder);
  ed_json_add_int (builder, "seats_left", MAX (event->capacity - seats_taken, 0));
  json_builder_end_object (builder);
  reply_json_object (request->msg, SOUP_STATUS_OK, builder);
}

/* GET /r/{token}/calendar.ics: for a guest who is coming. */
static void
handle_calendar (EdRequest *request,
                 gpointer   user_data)
{
  EdDaemon *self = user_data;
  EdCatalog *catalog = ed_rsvp_page_request_catalog (request->msg);
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) public_uri = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *disposition = NULL;

  if (!lookup_link (self, request->token, &guest, &event, &error) ||
      guest->status != ED_RSVP_ACCEPTED)
    {
      if (error == NULL || g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
        reply_invalid_link (request->msg, FALSE, catalog);
      else
        reply_internal_error (request->msg, FALSE, catalog, error);
      return;
    }

  public_uri = g_uri_parse (self->public_url, G_URI_FLAGS_NONE, NULL);
  file_name = ed_rsvp_ics_file_name (event);
  disposition = g_strdup_printf ("attachment; filename=\"%s\"", file_name);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Content-Disposition", disposition);
  reply_body (request->msg, SOUP_STATUS_OK, "text/calendar; charset=utf-8",
              ed_rsvp_build_ics (event, guest->id,
                                 public_uri && g_uri_get_host (public_uri) ? g_uri_get_host (public_uri) : "eventdesk",
                                 ed_time_now ()));
}

/* GET /r/static/{name}: the page's style sheet and script, built in. */
static void
handle_static (EdRequest *request,
               gpointer   user_data)
{
  const char *name = request->token;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) bytes = NULL;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (request->msg);
  const char *content_type;

  if (g_str_has_suffix (name, ".css"))
    content_type = "text/css; charset=utf-8";
  else if (g_str_has_suffix (name, ".js"))
    content_type = "text/javascript; charset=utf-8";
  else
    content_type = NULL;

  for (const char *p = name; content_type != NULL && *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      content_type = NULL;

  path = g_strconcat (STATIC_RESOURCE_DIR, name, NULL);
  if (content_type == NULL ||
      !(bytes = g_resource_lookup_data (ed_server_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL)))
    {
      ed_http_reply_error (request->msg, SOUP_STATUS_NOT_FOUND, "not_found", "There is nothing at this address");
      return;
    }

  soup_message_headers_replace (headers, "Cache-Control", "public, max-age=3600");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status (request->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (request->msg, content_type, SOUP_MEMORY_COPY,
                                    g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Answers */

/* The answer as JSON, written directly: it has fixed members, the only
 * text among them a status name, and is made for every answer.
 */
static void
reply_answer_json (SoupServerMessage   *msg,
                   const EdRsvpOutcome *outcome)
{
  g_autofree char *position = NULL;
  const char *code = NULL;
  const char *message = NULL;
  GString *body = g_string_sized_new (160);

  switch (outcome->result)
    {
    case ED_RSVP_RESULT_FULL:
      code = "event_full";
      message = "The event is full and has no waiting list; the answer was not changed";
      break;
    case ED_RSVP_RESULT_NOT_ENOUGH_SEATS:
      code = "not_enough_seats";
      message = "There are not enough free seats for a larger party; the guest keeps the seats they have";
      break;
    case ED_RSVP_RESULT_CLOSED:
      code = "rsvp_closed";
      message = "The RSVP deadline has passed; the answer was not changed";
      break;
    case ED_RSVP_RESULT_CANCELLED:
      code = "invitation_cancelled";
      message = "The organizer has cancelled this invitation";
      break;
    case ED_RSVP_RESULT_CHANGED:
    case ED_RSVP_RESULT_UNCHANGED:
    default:
      break;
    }

  position = outcome->waitlist_position > 0
    ? g_strdup_printf ("%" G_GINT64_FORMAT, outcome->waitlist_position)
    : g_strdup ("null");
  g_string_append_printf (body,
                          "{\"status\":\"%s\",\"party_size\":%d,\"waitlist_position\":%s,"
                          "\"seats_left\":%" G_GINT64_FORMAT,
                          ed_rsvp_status_to_string (outcome->status), outcome->party_size, position,
                          MAX (outcome->capacity - outcome->seats_taken, 0));
  if (code != NULL)
    g_string_append_printf (body, ",\"error\":{\"code\":\"%s\",\"message\":\"%s\"}", code, message);
  g_string_append_c (body, '}');

  reply_body (msg, code != NULL ? SOUP_STATUS_CONFLICT : SOUP_STATUS_OK, JSON_CONTENT_TYPE,
              g_string_free (body, FALSE));
}

/* Without JavaScript the form's answer is a redirect back to the page
 * (Post/Redirect/Get), with a notice saying how it went.
 */
static void
reply_redirect (SoupServerMessage *msg,
                const char        *token,
                EdRsvpNotice       notice)
{
  g_autofree char *location = NULL;

  if (notice == ED_RSVP_NOTICE_NONE)
    location = g_strconcat ("/r/", token, NULL);
  else
    location = g_strconcat ("/r/", token, "?notice=", ed_rsvp_notice_to_string (notice), "#notice", NULL);

  ed_http_set_private_headers (msg);
  soup_server_message_set_redirect (msg, SOUP_STATUS_SEE_OTHER, location);
}

static void
reply_answer (PendingAnswer       *pending,
              const EdRsvpOutcome *outcome,
              const GError        *error)
{
  SoupServerMessage *msg = pending->request->msg;
  EdRsvpNotice notice;

  if (error != NULL && g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
    {
      reply_invalid_link (msg, pending->wants_json, pending->catalog);
      return;
    }
  if (error != NULL && g_error_matches (error, ED_ERROR, ED_ERROR_INVALID))
    {
      if (pending->wants_json)
        {
          g_autoptr(JsonObject) fields = json_object_new ();

          json_object_set_string_member (fields, "party_size", error->message);
          ed_http_reply_fields (msg, fields);
          ed_http_set_private_headers (msg);
        }
      else
        reply_redirect (msg, pending->request->token, ED_RSVP_NOTICE_INVALID);
      return;
    }
  if (error != NULL)
    {
      reply_internal_error (msg, pending->wants_json, pending->catalog, error);
      return;
    }

  if (pending->wants_json)
    {
      reply_answer_json (msg, outcome);
      return;
    }

  switch (outcome->result)
    {
    case ED_RSVP_RESULT_FULL:
      notice = ED_RSVP_NOTICE_FULL;
      break;
    case ED_RSVP_RESULT_NOT_ENOUGH_SEATS:
      notice = ED_RSVP_NOTICE_NOT_ENOUGH_SEATS;
      break;
    case ED_RSVP_RESULT_CLOSED:
      notice = ED_RSVP_NOTICE_CLOSED;
      break;
    case ED_RSVP_RESULT_CANCELLED:
      notice = ED_RSVP_NOTICE_NONE;
      break;
    case ED_RSVP_RESULT_CHANGED:
    case ED_RSVP_RESULT_UNCHANGED:
    default:
      notice = ED_RSVP_NOTICE_SAVED;
      break;
    }

  reply_redirect (msg, pending->request->token, notice);
}

static void start_batch (RsvpState *state);

static void
release_state (RsvpState *state)
{
  g_rc_box_release_full (state, (GDestroyNotify) rsvp_state_clear);
}

static void
write_batch_in_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  Batch *batch = task_data;

  for (guint i = 0; i < batch->answers->len; i++)
    batch->rsvp[i].now = ed_time_now ();

  batch->committed = ed_store_apply_rsvp_answers (batch->store, batch->rsvp, batch->answers->len,
                                                  batch->outcomes, batch->errors, &batch->error);
  g_task_return_boolean (task, TRUE);
}

static void
on_batch_written_cb (GObject      *source_object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  RsvpState *state = user_data;
  Batch *batch = g_task_get_task_data (G_TASK (result));

  for (guint i = 0; i < batch->answers->len; i++)
    {
      PendingAnswer *pending = g_ptr_array_index (batch->answers, i);

      if (batch->committed && batch->outcomes[i].result == ED_RSVP_RESULT_CHANGED)
        ed_live_hub_event_changed (state->live, pending->answer.event_id);
      if (batch->committed)
        reply_answer (pending, &batch->outcomes[i], batch->errors[i]);
      else
        reply_internal_error (pending->request->msg, pending->wants_json, pending->catalog, batch->error);
      ed_request_unpause (pending->request);
    }

  /* the answers may have queued confirmations and promotions */
  if (batch->committed)
    ed_daemon_wake_mailer (state->daemon);

  state->writing = FALSE;
  if (state->pending->len > 0)
    start_batch (state);

  g_rc_box_release_full (state, (GDestroyNotify) rsvp_state_clear);
}

/* Hands the waiting answers to the worker thread as one batch. */
static void
start_batch (RsvpState *state)
{
  g_autoptr(GTask) task = NULL;
  Batch *batch;
  guint n;

  g_assert (!state->writing);

  batch = g_new0 (Batch, 1);
  batch->store = g_object_ref (state->writer);
  batch->answers = g_steal_pointer (&state->pending);
  state->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_answer_free);

  /* Past MAX_BATCH, the rest waits for the next batch. */
  if (batch->answers->len > MAX_BATCH)
    {
      for (guint i = MAX_BATCH; i < batch->answers->len; i++)
        g_ptr_array_add (state->pending, g_steal_pointer (&batch->answers->pdata[i]));
      g_ptr_array_set_size (batch->answers, MAX_BATCH);
    }

  n = batch->answers->len;
  batch->rsvp = g_new0 (EdRsvpAnswer, n);
  batch->outcomes = g_new0 (EdRsvpOutcome, n);
  batch->errors = g_new0 (GError *, n);
  for (guint i = 0; i < n; i++)
    batch->rsvp[i] = ((PendingAnswer *) g_ptr_array_index (batch->answers, i))->answer;

  state->writing = TRUE;
  task = g_task_new (NULL, NULL, on_batch_written_cb, g_rc_box_acquire (state));
  g_task_set_source_tag (task, start_batch);
  g_task_set_task_data (task, batch, (GDestroyNotify) batch_free);
  g_task_run_in_thread (task, write_batch_in_thread);
}

static void
queue_answer (RsvpState     *state,
              PendingAnswer *pending)
{
  ed_request_pause (pending->request);
  g_ptr_array_add (state->pending, pending);

  if (!state->writing)
    start_batch (state);
}

/* Reads response= and party_size= from a form or a JSON body. */
static gboolean
read_answer_fields (SoupServerMessage  *msg,
                    EdRsvpStatus       *status,
                    gint               *party_size)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *content_type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autofree char *response = NULL;
  g_autofree char *party = NULL;
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  guint64 number = 0;

  if (content_type != NULL && g_ascii_strcasecmp (content_type, "application/json") == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = ed_http_read_json (msg, &error);
      JsonNode *node;

      if (object == NULL)
        return FALSE;
      node = json_object_get_member (object, "response");
      if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
        response = g_strdup (json_node_get_string (node));
      node = json_object_get_member (object, "party_size");
      if (node != NULL && json_node_get_value_type (node) == G_TYPE_INT64)
        party = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      else if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
        party = g_strdup (json_node_get_string (node));
      else if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        return FALSE;
    }
  else
    {
      g_autofree char *text = g_strndup (data ? data : "", length);
      g_autoptr(GHashTable) form = soup_form_decode (text);

      response = g_strdup (g_hash_table_lookup (form, "response"));
      party = g_strdup (g_hash_table_lookup (form, "party_size"));
    }

  if (g_strcmp0 (response, "accept") == 0)
    *status = ED_RSVP_ACCEPTED;
  else if (g_strcmp0 (response, "decline") == 0)
    *status = ED_RSVP_DECLINED;
  else
    return FALSE;

  *party_size = 0;
  if (party != NULL && *party != '\0')
    {
      if (!g_ascii_string_to_unsigned (party, 10, 1, FORM_PARTY_SIZE_MAX, &number, NULL))
        return FALSE;
      *party_size = (gint) number;
    }
  /* Accepting without a size means one person; declining keeps it. */
  if (*status == ED_RSVP_ACCEPTED && *party_size == 0)
    *party_size = 1;
  if (*status == ED_RSVP_DECLINED)
    *party_size = 0;

  return TRUE;
}

/* POST /r/{token} */
static void
handle_answer (EdRequest *request,
               gpointer   user_data)
{
  EdDaemon *self = user_data;
  RsvpState *state = get_state (self);
  EdCatalog *catalog = ed_rsvp_page_request_catalog (request->msg);
  gboolean wants_json = ed_http_wants_json (request->msg);
  EdRsvpTokenClaims claims = { 0 };
  PendingAnswer *pending;
  EdRsvpStatus status = ED_RSVP_PENDING;
  gint party_size = 0;

  if (!ed_rsvp_token_cache_verify (state->tokens, self->secret, request->token, ed_time_now (), &claims))
    {
      reply_invalid_link (request->msg, wants_json, catalog);
      return;
    }

  if (!read_answer_fields (request->msg, &status, &party_size))
    {
      if (wants_json)
        {
          g_autoptr(JsonObject) fields = json_object_new ();

          json_object_set_string_member (fields, "response", "must be accept or decline, with a party_size of 1 or more to accept");
          ed_http_reply_fields (request->msg, fields);
          ed_http_set_private_headers (request->msg);
        }
      else
        reply_redirect (request->msg, request->token, ED_RSVP_NOTICE_INVALID);
      return;
    }

  pending = g_new0 (PendingAnswer, 1);
  pending->request = ed_request_ref (request);
  pending->client_address = g_strdup (soup_server_message_get_remote_host (request->msg));
  pending->wants_json = wants_json;
  pending->catalog = catalog;
  pending->answer.guest_id = claims.guest_id;
  pending->answer.event_id = claims.event_id;
  pending->answer.token_version = claims.token_version;
  pending->answer.status = status;
  pending->answer.party_size = party_size;
  pending->answer.source = ED_RSVP_SOURCE_GUEST;
  pending->answer.client_address = pending->client_address;

  queue_answer (state, pending);
}

/* /api/v1/guests/{id}/link */

static void
reply_link (EdDaemon  *self,
            EdRequest *request,
            gint64     guest_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  EdRsvpTokenClaims claims = { 0 };
  gint64 expires_at;

  if (!(guest = ed_store_get_guest (self->store, guest_id, &error)) ||
      !(event = ed_store_get_event (self->store, guest->event_id, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  claims.event_id = event->id;
  claims.guest_id = guest->id;
  claims.token_version = guest->token_version;
  expires_at = ed_rsvp_token_expiry (event);
  if (!(token = ed_rsvp_token_sign (self->secret, &claims, expires_at, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  url = g_strconcat (self->public_url, "/r/", token, NULL);

  json_builder_begin_object (builder);
  ed_json_add_int (builder, "guest_id", guest->id);
  ed_json_add_string (builder, "url", url);
  ed_json_add_string (builder, "token", token);
  ed_json_add_int (builder, "token_version", guest->token_version);
  ed_json_add_time (builder, "expires_at", expires_at);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

/* GET /api/v1/guests/{id}/link */
static void
handle_get_link (EdRequest *request,
                 gpointer   user_data)
{
  reply_link (user_data, request, request->ids[0]);
}

/* POST /api/v1/guests/{id}/link/revoke: old links stop working. */
static void
handle_revoke_link (EdRequest *request,
                    gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  if (ed_store_revoke_guest_link (self->store, request->ids[0], &error) == 0)
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "ED_ADMIN", request->username,
                    "MESSAGE", "Admin “%s” revoked the RSVP links of guest %" G_GINT64_FORMAT,
                    request->username, request->ids[0]);

  reply_link (self, request, request->ids[0]);
}

gboolean
ed_daemon_add_rsvp_routes (EdDaemon  *self,
                           GError   **error)
{
  g_autoptr(EdStore) writer = NULL;
  RsvpState *state;

  /* The store is open by now; the answers get a connection of their own. */
  if (!(writer = ed_daemon_open_writer (self, error)))
    return FALSE;

  state = g_rc_box_new0 (RsvpState);
  state->writer = g_steal_pointer (&writer);
  state->daemon = self;
  state->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_answer_free);
  state->tokens = ed_rsvp_token_cache_new (TOKEN_CACHE_SIZE);
  state->live = g_object_ref (self->live);
  g_object_set_data_full (G_OBJECT (self), STATE_KEY, state, (GDestroyNotify) release_state);

  ed_router_add (self->router, "GET", "/r/static/{token}", ED_ROUTE_PUBLIC, handle_static);
  ed_router_add (self->router, "GET", "/r/{token}", ED_ROUTE_PUBLIC, handle_page);
  ed_router_add (self->router, "POST", "/r/{token}", ED_ROUTE_PUBLIC, handle_answer);
  ed_router_add (self->router, "GET", "/r/{token}/seats", ED_ROUTE_PUBLIC, handle_seats);
  ed_router_add (self->router, "GET", "/r/{token}/calendar.ics", ED_ROUTE_PUBLIC, handle_calendar);
  ed_router_add (self->router, "GET", "/api/v1/guests/{id}/link", ED_ROUTE_AUTH, handle_get_link);
  ed_router_add (self->router, "POST", "/api/v1/guests/{id}/link/revoke", ED_ROUTE_AUTH, handle_revoke_link);

  return TRUE;
}
