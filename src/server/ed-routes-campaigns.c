/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-daemon-private.h"
#include "ed-email.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-mail-render.h"
#include "ed-mail-transport.h"
#include "ed-mailer.h"
#include "ed-resources.h"
#include "ed-template.h"
#include "ed-template-fields.h"
#include "ed-time-util.h"
#include "ed-validate.h"

/* /api/v1/events/{id}/campaigns, /api/v1/campaigns/{id} and its actions,
 * previews and test sends, /api/v1/events/{id}/audience and /invitations,
 * and the queue's
 * monitoring: /api/v1/queue, /api/v1/messages,
 * /api/v1/guests/{id}/deliveries.
 *
 * Launch, cancel and retry-failed write a row per message, half a million
 * for a large event, so every action runs in a worker thread on a
 * database connection of its own (one action at a time), while the
 * request waits paused; the reply goes out after the commit.
 */

#define STATE_KEY "ed-campaigns-state"
#define MAIL_RESOURCE_DIR "/org/eventdesk/eventdeskd/mail/"
#define SUBJECT_MAX_CHARS 500
#define BODY_MAX_CHARS 200000
#define LANGUAGE_MAX_CHARS 16
#define PAGE_LIMIT_DEFAULT 50
#define PAGE_LIMIT_MAX 500

static const char * const create_fields[] = {
  "kind", "audience", "subject", "text", "html", "language", NULL,
};

static const char * const edit_fields[] = {
  "kind", "audience", "subject", "text", "html", NULL,
};

#define MESSAGES_LIMIT_DEFAULT 50
#define TEST_SEND_TIMEOUT_MS 30000

static const char * const preview_fields[] = { "guest_id", NULL };
static const char * const test_fields[] = { "to", "guest_id", NULL };
static const char * const retry_fields[] = { "message_ids", NULL };

#define RETRY_IDS_MAX 500

typedef struct
{
  GMutex          lock;      /* held by the one action using the writer */
  EdStore        *writer;
  EdMailRenderer *renderer;  /* made on first use, once the public URL is known */
} CampaignsState;

/* A test send in a worker thread: it owns everything it touches. */
typedef struct
{
  EdRequest       *request;
  char            *transport_url;
  char            *password;
  char            *to;
  EdMailMessage   *message;
  EdMailResult     result;
} TestSend;

typedef struct
{
  CampaignsState   *state;
  EdDaemon         *daemon;
  EdRequest        *request;
  gint64            campaign_id;
  EdCampaignAction  action;
  GArray           *message_ids;  /* retry-failed of chosen messages, or NULL */
  gint64            n_changed;
  gint64            elapsed_us;
} ActionJob;

static void
campaigns_state_free (CampaignsState *state)
{
  if (state->writer != NULL)
    ed_store_close (state->writer);
  g_clear_object (&state->writer);
  g_clear_pointer (&state->renderer, ed_mail_renderer_free);
  g_mutex_clear (&state->lock);
}

static void
release_state (CampaignsState *state)
{
  g_atomic_rc_box_release_full (state, (GDestroyNotify) campaigns_state_free);
}

static CampaignsState *
get_state (EdDaemon *self)
{
  return g_object_get_data (G_OBJECT (self), STATE_KEY);
}

static void
action_job_free (ActionJob *job)
{
  g_clear_pointer (&job->request, ed_request_unref);
  g_clear_object (&job->daemon);
  g_clear_pointer (&job->message_ids, g_array_unref);
  release_state (job->state);
  g_free (job);
}

/* The key of the next page, or null after the last. */
static void
add_next (JsonBuilder *builder,
          gboolean     has_more,
          gint64       last_id)
{
  if (has_more)
    ed_json_add_int (builder, "next", last_id);
  else
    ed_json_add_null (builder, "next");
}

static void
add_counts (JsonBuilder           *builder,
            const EdMessageCounts *counts)
{
  json_builder_set_member_name (builder, "counts");
  json_builder_begin_object (builder);
  for (guint i = 0; i < ED_MESSAGE_N_STATES; i++)
    ed_json_add_int (builder, ed_message_state_to_string (i), counts->states[i]);
  json_builder_end_object (builder);
  ed_json_add_int (builder, "total", counts->total);
}

static gboolean
add_campaign (EdDaemon          *self,
              JsonBuilder       *builder,
              const EdCampaign  *campaign,
              GError           **error)
{
  EdMessageCounts counts;

  if (!ed_store_get_message_counts (self->store, campaign->id, -1, &counts, error))
    return FALSE;

  json_builder_begin_object (builder);
  ed_campaign_add_json_members (campaign, builder);
  add_counts (builder, &counts);
  json_builder_set_member_name (builder, "send_rate");
  json_builder_add_double_value (builder, self->mailer ? ed_mailer_get_campaign_rate (self->mailer, campaign->id) : 0.0);
  json_builder_end_object (builder);
  return TRUE;
}

static void
reply_campaign (EdDaemon  *self,
                EdRequest *request,
                guint      status,
                gint64     campaign_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(EdCampaign) campaign = NULL;
  g_autoptr(GError) error = NULL;

  if (!(campaign = ed_store_get_campaign (self->store, campaign_id, &error)) ||
      !add_campaign (self, builder, campaign, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_http_reply_json (request->msg, status, builder);
}

/* The default invitation of data/mail/, built in: LANGUAGE/NAME when
 * there is a translation, else the English NAME.
 */
static char *
load_default_template (const char *language,
                       const char *name)
{
  g_autoptr(GBytes) bytes = NULL;

  if (language != NULL && g_strcmp0 (language, "en") != 0)
    {
      g_autofree char *path = g_strconcat (MAIL_RESOURCE_DIR, language, "/", name, NULL);

      bytes = g_resource_lookup_data (ed_server_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    }
  if (bytes == NULL)
    {
      g_autofree char *path = g_strconcat (MAIL_RESOURCE_DIR, name, NULL);

      bytes = g_resource_lookup_data (ed_server_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    }
  g_return_val_if_fail (bytes != NULL, g_strdup (""));

  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static gboolean
is_language_code (const char *text)
{
  gsize len = strlen (text);

  if (len < 2 || len > LANGUAGE_MAX_CHARS)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalpha (*p) && *p != '_' && *p != '-')
      return FALSE;

  return TRUE;
}

/* A template field: set when present and valid, its placeholders checked. */
static void
read_template (JsonObject      *body,
               const char      *name,
               EdValidateFlags  flags,
               guint            max_chars,
               char           **field,
               JsonObject      *fields)
{
  g_autofree char *value = NULL;
  g_autoptr(GError) error = NULL;

  if (!ed_validate_has (body, name))
    return;
  if (!(value = ed_validate_string (body, name, flags, max_chars, fields)))
    return;

  if (!ed_template_check (value, ed_template_fields_get_names (), &error))
    {
      ed_validate_fail (fields, name, "%s", error->message);
      return;
    }

  g_free (*field);
  *field = g_steal_pointer (&value);
}

static void
apply_campaign_fields (JsonObject *body,
                       EdCampaign *campaign,
                       gboolean    creating,
                       JsonObject *fields)
{
  g_autofree char *kind = NULL;
  g_autofree char *audience = NULL;
  g_autofree char *language = NULL;
  JsonNode *html;

  ed_validate_known_members (body, creating ? create_fields : edit_fields, fields);

  if (ed_validate_has (body, "kind") &&
      (kind = ed_validate_string (body, "kind", ED_VALIDATE_REQUIRED, 40, fields)))
    {
      EdCampaignKind value;

      if (ed_campaign_kind_from_string (kind, &value) && value <= ED_CAMPAIGN_KIND_UPDATE)
        campaign->kind = value;
      else
        ed_validate_fail (fields, "kind", "must be one of invitation, reminder, update");
    }

  if (ed_validate_has (body, "audience") &&
      (audience = ed_validate_string (body, "audience", ED_VALIDATE_REQUIRED, ED_AUDIENCE_MAX_CHARS, fields)))
    {
      g_autoptr(GError) error = NULL;
      EdAudience parsed;

      if (ed_audience_parse (audience, &parsed, &error))
        {
          g_free (campaign->audience);
          campaign->audience = ed_audience_to_string (&parsed);
        }
      else
        ed_validate_fail (fields, "audience", "%s", error->message);
    }

  if (creating && ed_validate_has (body, "language") &&
      (language = ed_validate_string (body, "language", ED_VALIDATE_REQUIRED, LANGUAGE_MAX_CHARS, fields)) &&
      !is_language_code (language))
    ed_validate_fail (fields, "language", "must be a language code such as en or de");

  read_template (body, "subject", ED_VALIDATE_NONE, SUBJECT_MAX_CHARS, &campaign->subject, fields);
  read_template (body, "text", ED_VALIDATE_MULTILINE | ED_VALIDATE_RAW, BODY_MAX_CHARS, &campaign->text, fields);

  html = json_object_get_member (body, "html");
  if (html != NULL && JSON_NODE_HOLDS_NULL (html))
    g_clear_pointer (&campaign->html, g_free);
  else
    read_template (body, "html", ED_VALIDATE_MULTILINE | ED_VALIDATE_RAW, BODY_MAX_CHARS, &campaign->html, fields);

  /* A new invitation without its texts starts from the default one. */
  if (creating && campaign->kind == ED_CAMPAIGN_KIND_INVITATION &&
      !ed_validate_has (body, "subject") && !ed_validate_has (body, "text") &&
      json_object_get_size (fields) == 0)
    {
      g_autofree char *subject = load_default_template (language, "invitation.subject");

      g_free (campaign->subject);
      campaign->subject = g_strdup (g_strstrip (subject));
      g_free (campaign->text);
      campaign->text = load_default_template (language, "invitation.txt");
      if (!ed_validate_has (body, "html"))
        {
          g_free (campaign->html);
          campaign->html = load_default_template (language, "invitation.html");
        }
    }
}

/* GET /api/v1/events/{id}/campaigns */
static void
handle_list_campaigns (EdRequest *request,
                       gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(GPtrArray) campaigns = NULL;
  gint64 event_id = request->ids[0];
  g_autoptr(GError) error = NULL;
  gint64 after, limit, total;
  gboolean has_more = FALSE;

  if (!ed_store_check_event_exists (self->store, event_id, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_validate_query_int (request->query, "after", 0, G_MAXINT64, 0, &after, fields);
  ed_validate_query_int (request->query, "limit", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT, &limit, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!(campaigns = ed_store_list_campaigns (self->store, event_id, after, (guint) limit, &has_more, &error)) ||
      (total = ed_store_count_campaigns (self->store, event_id, &error)) < 0)
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < campaigns->len; i++)
    if (!add_campaign (self, builder, g_ptr_array_index (campaigns, i), &error))
      {
        ed_http_reply_gerror (request->msg, error);
        return;
      }
  json_builder_end_array (builder);
  ed_json_add_int (builder, "total", total);
  add_next (builder, has_more && campaigns->len > 0,
            campaigns->len > 0 ? ((EdCampaign *) g_ptr_array_index (campaigns, campaigns->len - 1))->id : 0);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

/* POST /api/v1/events/{id}/campaigns */
static void
handle_create_campaign (EdRequest *request,
                        gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdCampaign) campaign = ed_campaign_new ();
  gint64 event_id = request->ids[0];
  g_autoptr(GError) error = NULL;
  g_autofree char *location = NULL;

  if (!ed_store_check_event_exists (self->store, event_id, &error) ||
      !(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  campaign->event_id = event_id;
  apply_campaign_fields (body, campaign, TRUE, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!ed_store_insert_campaign (self->store, campaign, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "ED_ADMIN", request->username,
                    "MESSAGE", "Admin “%s” created campaign %" G_GINT64_FORMAT " (%s) of event %" G_GINT64_FORMAT,
                    request->username, campaign->id, ed_campaign_kind_to_string (campaign->kind), event_id);

  location = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT, campaign->id);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Location", location);
  reply_campaign (self, request, SOUP_STATUS_CREATED, campaign->id);
}

/* GET /api/v1/campaigns/{id} */
static void
handle_get_campaign (EdRequest *request,
                     gpointer   user_data)
{
  EdDaemon *self = user_data;

  reply_campaign (self, request, SOUP_STATUS_OK, request->ids[0]);
}

/* PATCH /api/v1/campaigns/{id} */
static void
handle_update_campaign (EdRequest *request,
                        gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdCampaign) campaign = NULL;
  g_autoptr(GError) error = NULL;

  if (!(campaign = ed_store_get_campaign (self->store, request->ids[0], &error)) ||
      !(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  apply_campaign_fields (body, campaign, FALSE, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if (!ed_store_update_campaign (self->store, campaign, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  reply_campaign (self, request, SOUP_STATUS_OK, campaign->id);
}

/* GET /api/v1/events/{id}/audience?audience=… */
static void
handle_audience (EdRequest *request,
                 gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) fields = json_object_new ();
  gint64 event_id = request->ids[0];
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  const char *text = ed_request_get_query (request, "audience");
  EdAudience audience;
  gint64 count;

  if (!ed_store_check_event_exists (self->store, event_id, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  if (!ed_audience_parse (text ? text : "all", &audience, &error))
    {
      ed_validate_fail (fields, "audience", "%s", error->message);
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  if ((count = ed_store_count_audience (self->store, event_id, &audience, &error)) < 0)
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  normalized = ed_audience_to_string (&audience);
  json_builder_begin_object (builder);
  ed_json_add_string (builder, "audience", normalized);
  ed_json_add_int (builder, "count", count);
  json_builder_end_object (builder);
  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

/* Actions */

/* A body that may be empty: an empty one is {}. */
static JsonObject *
read_optional_json (EdRequest  *request,
                    GError    **error)
{
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);

  if (body->length == 0)
    return json_object_new ();

  return ed_http_read_json (request->msg, error);
}

static const char *
action_name (EdCampaignAction action)
{
  switch (action)
    {
    case ED_CAMPAIGN_ACTION_LAUNCH:
      return "launched";
    case ED_CAMPAIGN_ACTION_PAUSE:
      return "paused";
    case ED_CAMPAIGN_ACTION_RESUME:
      return "resumed";
    case ED_CAMPAIGN_ACTION_CANCEL:
      return "cancelled";
    case ED_CAMPAIGN_ACTION_RETRY_FAILED:
      return "retried the failed messages of";
    default:
      g_return_val_if_reached (NULL);
    }
}

static void
run_action_in_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  ActionJob *job = task_data;
  GError *error = NULL;
  gint64 started = g_get_monotonic_time ();
  gboolean ok;

  g_mutex_lock (&job->state->lock);
  ok = ed_store_run_campaign_action (job->state->writer, job->campaign_id, job->action, job->message_ids,
                                     ed_time_now (), &job->n_changed, &error);
  g_mutex_unlock (&job->state->lock);
  job->elapsed_us = g_get_monotonic_time () - started;

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_action_done_cb (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ActionJob *job = g_task_get_task_data (G_TASK (result));
  EdRequest *request = job->request;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    ed_http_reply_gerror (request->msg, error);
  else
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                        "ED_ADMIN", request->username,
                        "MESSAGE", "Admin “%s” %s campaign %" G_GINT64_FORMAT
                        " (%" G_GINT64_FORMAT " messages, %" G_GINT64_FORMAT " ms)",
                        request->username, action_name (job->action), job->campaign_id,
                        job->n_changed, job->elapsed_us / 1000);
      /* Messages to send now: the mailer need not wait for its next look. */
      if (job->action == ED_CAMPAIGN_ACTION_LAUNCH || job->action == ED_CAMPAIGN_ACTION_RESUME ||
          job->action == ED_CAMPAIGN_ACTION_RETRY_FAILED)
        ed_daemon_wake_mailer (job->daemon);
      ed_daemon_campaign_changed (job->daemon, job->campaign_id);
      reply_campaign (job->daemon, request, SOUP_STATUS_OK, job->campaign_id);
    }

  ed_request_unpause (request);
}

static void
start_action (EdDaemon         *self,
              EdRequest        *request,
              EdCampaignAction  action,
              GArray           *message_ids)
{
  g_autoptr(GTask) task = NULL;
  ActionJob *job;

  job = g_new0 (ActionJob, 1);
  job->state = g_atomic_rc_box_acquire (get_state (self));
  job->daemon = g_object_ref (self);
  job->request = ed_request_ref (request);
  job->campaign_id = request->ids[0];
  job->action = action;
  job->message_ids = message_ids ? g_array_ref (message_ids) : NULL;

  ed_request_pause (request);
  task = g_task_new (NULL, NULL, on_action_done_cb, NULL);
  g_task_set_source_tag (task, start_action);
  g_task_set_task_data (task, job, (GDestroyNotify) action_job_free);
  g_task_run_in_thread (task, run_action_in_thread);
}

static void
handle_launch (EdRequest *request,
               gpointer   user_data)
{
  start_action (user_data, request, ED_CAMPAIGN_ACTION_LAUNCH, NULL);
}

static void
handle_pause (EdRequest *request,
              gpointer   user_data)
{
  start_action (user_data, request, ED_CAMPAIGN_ACTION_PAUSE, NULL);
}

static void
handle_resume (EdRequest *request,
               gpointer   user_data)
{
  start_action (user_data, request, ED_CAMPAIGN_ACTION_RESUME, NULL);
}

static void
handle_cancel (EdRequest *request,
               gpointer   user_data)
{
  start_action (user_data, request, ED_CAMPAIGN_ACTION_CANCEL, NULL);
}

/* {"message_ids": [ids]}: the failed messages to queue again, 1 to
 * RETRY_IDS_MAX of them; NULL in @ids when the body names none (all).
 */
static gboolean
read_message_ids (JsonObject  *body,
                  JsonObject  *fields,
                  GArray     **ids)
{
  JsonNode *node;
  JsonArray *array;
  guint n;

  ed_validate_known_members (body, retry_fields, fields);
  *ids = NULL;
  if (!(node = json_object_get_member (body, "message_ids")))
    return json_object_get_size (fields) == 0;

  if (!JSON_NODE_HOLDS_ARRAY (node) || (n = json_array_get_length (array = json_node_get_array (node))) == 0 ||
      n > RETRY_IDS_MAX)
    {
      ed_validate_fail (fields, "message_ids", "must be an array of 1 to %d message ids", RETRY_IDS_MAX);
      return FALSE;
    }

  *ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      gint64 id;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_INT64 ||
          (id = json_node_get_int (element)) <= 0)
        {
          ed_validate_fail (fields, "message_ids", "must hold message ids (whole numbers above 0)");
          g_clear_pointer (ids, g_array_unref);
          return FALSE;
        }
      g_array_append_val (*ids, id);
    }

  return json_object_get_size (fields) == 0;
}

/* POST /api/v1/campaigns/{id}/retry-failed {"message_ids"?} */
static void
handle_retry_failed (EdRequest *request,
                     gpointer   user_data)
{
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;

  if (!(body = read_optional_json (request, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  if (!read_message_ids (body, fields, &ids))
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  start_action (user_data, request, ED_CAMPAIGN_ACTION_RETRY_FAILED, ids);
}

/* Previews and test sends */

static EdMailRenderer *
get_renderer (EdDaemon  *self,
              GError   **error)
{
  CampaignsState *state = get_state (self);

  /* The main loop is the only caller, and the public URL is known by the
   * first request.
   */
  if (state->renderer == NULL)
    state->renderer = ed_mail_renderer_new (self->config->mail_from, self->public_url, self->secret, error);

  return state->renderer;
}

/* Reads the campaign, its event and the guest of {"guest_id"} (the
 * event's first guest when not given) for a preview or a test send.
 */
static gboolean
load_preview (EdDaemon     *self,
              EdRequest    *request,
              JsonObject   *body,
              JsonObject   *fields,
              EdCampaign  **campaign_out,
              EdEvent     **event_out,
              EdGuest     **guest_out)
{
  g_autoptr(EdCampaign) campaign = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(GError) error = NULL;
  gint64 guest_id = 0;

  if (!(campaign = ed_store_get_campaign (self->store, request->ids[0], &error)) ||
      !(event = ed_store_get_event (self->store, campaign->event_id, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return FALSE;
    }

  if (ed_validate_has (body, "guest_id"))
    ed_validate_int (body, "guest_id", 1, G_MAXINT64, &guest_id, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return FALSE;
    }

  if (guest_id == 0 && (guest_id = ed_store_get_first_guest_id (self->store, event->id, &error)) <= 0)
    {
      if (guest_id < 0)
        ed_http_reply_gerror (request->msg, error);
      else
        ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "no_guests",
                             "Event %" G_GINT64_FORMAT " has no guests yet to show the message for; add one first",
                             event->id);
      return FALSE;
    }

  guest = ed_store_get_guest (self->store, guest_id, &error);
  if (guest == NULL && !g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
    {
      ed_http_reply_gerror (request->msg, error);
      return FALSE;
    }
  if (guest == NULL || guest->event_id != event->id)
    {
      ed_validate_fail (fields, "guest_id", "is not a guest of event %" G_GINT64_FORMAT, event->id);
      ed_http_reply_fields (request->msg, fields);
      return FALSE;
    }

  *campaign_out = g_steal_pointer (&campaign);
  *event_out = g_steal_pointer (&event);
  *guest_out = g_steal_pointer (&guest);
  return TRUE;
}

static void
reply_render_error (EdRequest    *request,
                    const GError *error)
{
  if (error->domain == ED_ERROR)
    ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "render_failed",
                         "The message cannot be made: %s", error->message);
  else
    ed_http_reply_gerror (request->msg, error);
}

/* POST /api/v1/campaigns/{id}/preview {"guest_id"?} */
static void
handle_preview (EdRequest *request,
                gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdCampaign) campaign = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(EdMailParts) parts = { 0 };
  EdMailRenderer *renderer;

  if (!(body = read_optional_json (request, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  ed_validate_known_members (body, preview_fields, fields);
  if (!load_preview (self, request, body, fields, &campaign, &event, &guest))
    return;

  if (!(renderer = get_renderer (self, &error)) ||
      !ed_mail_renderer_render_parts (renderer, campaign, event, guest, &parts, &error))
    {
      reply_render_error (request, error);
      return;
    }

  json_builder_begin_object (builder);
  ed_json_add_int (builder, "guest_id", guest->id);
  ed_json_add_string (builder, "to", parts.to);
  ed_json_add_string (builder, "subject", parts.subject);
  ed_json_add_string (builder, "text", parts.text);
  ed_json_add_string (builder, "html", parts.html);
  json_builder_end_object (builder);
  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

static void
test_send_free (TestSend *send)
{
  g_clear_pointer (&send->request, ed_request_unref);
  g_free (send->transport_url);
  if (send->password != NULL)
    explicit_bzero (send->password, strlen (send->password));
  g_free (send->password);
  g_free (send->to);
  g_clear_pointer (&send->message, ed_mail_message_free);
  ed_mail_result_clear (&send->result);
  g_free (send);
}

static void
send_test_in_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  TestSend *send = task_data;
  g_autoptr(EdMailTransport) transport = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GError *error = NULL;

  if (!(transport = ed_mail_transport_new (send->transport_url, send->password, &error)) ||
      !(bytes = ed_mail_message_to_bytes (send->message, &error)))
    {
      g_task_return_error (task, error);
      return;
    }

  ed_mail_transport_set_timeouts (transport, TEST_SEND_TIMEOUT_MS / 2, TEST_SEND_TIMEOUT_MS);
  /* A refusal is an answer to show, not an error of the request. */
  ed_mail_transport_send (transport, ed_mail_message_get_envelope_from (send->message), send->to,
                          bytes, &send->result, NULL);
  ed_mail_transport_disconnect (transport);
  g_task_return_boolean (task, TRUE);
}

static void
on_test_sent_cb (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TestSend *send = g_task_get_task_data (G_TASK (result));
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    ed_http_reply_error (send->request->msg, SOUP_STATUS_BAD_GATEWAY, "transport_failed",
                         "The test message could not be handed to the mail transport: %s", error->message);
  else
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                        "ED_ADMIN", send->request->username,
                        "MESSAGE", "Admin “%s” sent a test of campaign %" G_GINT64_FORMAT ": %s %u",
                        send->request->username, send->request->ids[0],
                        ed_mail_result_kind_to_string (send->result.kind), send->result.code);
      json_builder_begin_object (builder);
      ed_json_add_string (builder, "to", send->to);
      ed_json_add_string (builder, "result", ed_mail_result_kind_to_string (send->result.kind));
      ed_json_add_int (builder, "code", send->result.code);
      ed_json_add_string (builder, "text", send->result.text ? send->result.text : "");
      json_builder_end_object (builder);
      ed_http_reply_json (send->request->msg, SOUP_STATUS_OK, builder);
    }

  ed_request_unpause (send->request);
}

/* POST /api/v1/campaigns/{id}/test {"to", "guest_id"?} */
static void
handle_test (EdRequest *request,
             gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdCampaign) campaign = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  g_autoptr(EdMailMessage) message = NULL;
  g_autofree char *to = NULL;
  EdMailRenderer *renderer;
  TestSend *send;

  if (!(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  ed_validate_known_members (body, test_fields, fields);
  if ((to = ed_validate_string (body, "to", ED_VALIDATE_REQUIRED, 254, fields)))
    {
      g_autofree char *normalized = ed_email_normalize (to);

      if (ed_email_check (normalized, &error))
        {
          g_free (to);
          to = g_steal_pointer (&normalized);
        }
      else
        ed_validate_fail (fields, "to", "is not a valid address: %s", error->message);
      g_clear_error (&error);
    }
  if (!load_preview (self, request, body, fields, &campaign, &event, &guest))
    return;

  if (!(renderer = get_renderer (self, &error)) ||
      !(message = ed_mail_renderer_render_test (renderer, campaign, event, guest, to, &error)))
    {
      reply_render_error (request, error);
      return;
    }

  send = g_new0 (TestSend, 1);
  send->request = ed_request_ref (request);
  send->to = g_steal_pointer (&to);
  send->message = g_steal_pointer (&message);
  send->transport_url = ed_daemon_get_mail_transport_url (self);
  send->password = g_strdup (self->config->mail_password);
  task = g_task_new (NULL, NULL, on_test_sent_cb, NULL);
  g_task_set_source_tag (task, handle_test);
  g_task_set_task_data (task, send, (GDestroyNotify) test_send_free);

  ed_request_pause (request);
  g_task_run_in_thread (task, send_test_in_thread);
}

/* The invitation sent again to chosen guests:
 * POST /api/v1/events/{id}/invitations {"guest_ids": [...]}.
 *
 * It is the event's action, not a campaign's: the app names guests, and
 * the daemon knows which campaign carries the event's invitation (see
 * ed-store-invitations.c). It writes the queue on the campaigns' writer,
 * after any launch holding it, in a worker thread.
 */

static const char * const invitation_fields[] = { "guest_ids", NULL };

typedef struct
{
  CampaignsState      *state;
  EdDaemon            *daemon;
  EdRequest           *request;
  gint64               event_id;
  GArray              *guest_ids;   /* gint64 */
  EdInvitationsQueued  queued;
  gint64               bad_guest_id;
} QueueJob;

static void
queue_job_free (QueueJob *job)
{
  g_clear_pointer (&job->request, ed_request_unref);
  g_clear_object (&job->daemon);
  g_clear_pointer (&job->guest_ids, g_array_unref);
  release_state (job->state);
  g_free (job);
}

/* The guest ids of the body, each once, in their order; NULL after
 * saying what is wrong in @fields. */
static GArray *
read_guest_ids (JsonObject *body,
                JsonObject *fields)
{
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GHashTable) seen = NULL;
  JsonNode *node = json_object_get_member (body, "guest_ids");
  JsonArray *array;
  guint length;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      ed_validate_fail (fields, "guest_ids", "must be a list of guest ids");
      return NULL;
    }
  array = json_node_get_array (node);
  length = json_array_get_length (array);
  if (length == 0)
    {
      ed_validate_fail (fields, "guest_ids", "must name at least one guest");
      return NULL;
    }
  if (length > ED_STORE_MAX_INVITATIONS)
    {
      ed_validate_fail (fields, "guest_ids", "must name at most %d guests; send more in several requests",
                        ED_STORE_MAX_INVITATIONS);
      return NULL;
    }

  ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), length);
  seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < length; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      gint64 id;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_INT64 ||
          (id = json_node_get_int (element)) <= 0)
        {
          ed_validate_fail (fields, "guest_ids", "must hold guest ids (whole numbers above 0)");
          return NULL;
        }
      g_array_append_val (ids, id);
      if (!g_hash_table_add (seen, &g_array_index (ids, gint64, ids->len - 1)))
        g_array_set_size (ids, ids->len - 1);
    }

  return g_steal_pointer (&ids);
}

static void
queue_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  QueueJob *job = task_data;
  GError *error = NULL;
  gboolean ok;

  g_mutex_lock (&job->state->lock);
  ok = ed_store_queue_invitations (job->state->writer, job->event_id,
                                   (const gint64 *) (gpointer) job->guest_ids->data, job->guest_ids->len,
                                   ed_time_now (), &job->queued, &job->bad_guest_id, &error);
  g_mutex_unlock (&job->state->lock);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_queued_cb (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  QueueJob *job = g_task_get_task_data (G_TASK (result));
  EdRequest *request = job->request;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, ED_ERROR, ED_ERROR_INVALID) && job->bad_guest_id != 0)
        {
          g_autoptr(JsonObject) fields = json_object_new ();

          json_object_set_string_member (fields, "guest_ids", error->message);
          ed_http_reply_fields (request->msg, fields);
        }
      else if (g_error_matches (error, ED_ERROR, ED_ERROR_CONFLICT))
        ed_http_reply_error (request->msg, SOUP_STATUS_CONFLICT, "no_invitation", "%s", error->message);
      else
        ed_http_reply_gerror (request->msg, error);
      ed_request_unpause (request);
      return;
    }

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "ED_ADMIN", request->username,
                    "MESSAGE", "Admin “%s” queued the invitation of event %" G_GINT64_FORMAT
                    " again for %u guests (campaign %" G_GINT64_FORMAT "; %u still on their way, "
                    "%u unsubscribed)",
                    request->username, job->event_id, job->queued.n_queued, job->queued.campaign_id,
                    job->queued.n_waiting, job->queued.n_unsubscribed);
  if (job->queued.n_queued > 0)
    {
      ed_daemon_wake_mailer (job->daemon);
      ed_daemon_campaign_changed (job->daemon, job->queued.campaign_id);
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  ed_json_add_int (builder, "campaign_id", job->queued.campaign_id);
  ed_json_add_string (builder, "campaign_state", ed_campaign_state_to_string (job->queued.campaign_state));
  ed_json_add_int (builder, "queued", job->queued.n_queued);
  ed_json_add_int (builder, "waiting", job->queued.n_waiting);
  ed_json_add_int (builder, "unsubscribed", job->queued.n_unsubscribed);
  json_builder_end_object (builder);
  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
  ed_request_unpause (request);
}

/* POST /api/v1/events/{id}/invitations */
static void
handle_queue_invitations (EdRequest *request,
                          gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  gint64 event_id = request->ids[0];
  g_autoptr(GArray) guest_ids = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  QueueJob *job;

  if (!ed_store_check_event_exists (self->store, event_id, &error) ||
      !(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_validate_known_members (body, invitation_fields, fields);
  guest_ids = read_guest_ids (body, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  job = g_new0 (QueueJob, 1);
  job->state = g_atomic_rc_box_acquire (get_state (self));
  job->daemon = g_object_ref (self);
  job->request = ed_request_ref (request);
  job->event_id = event_id;
  job->guest_ids = g_steal_pointer (&guest_ids);

  ed_request_pause (request);
  task = g_task_new (NULL, NULL, on_queued_cb, NULL);
  g_task_set_source_tag (task, handle_queue_invitations);
  g_task_set_task_data (task, job, (GDestroyNotify) queue_job_free);
  g_task_run_in_thread (task, queue_in_thread);
}

/* Monitoring */

static void
add_times (JsonBuilder *builder,
           const char  *name,
           gint64       unix_seconds)
{
  if (unix_seconds > 0)
    ed_json_add_time (builder, name, unix_seconds);
  else
    ed_json_add_null (builder, name);
}

/* GET /api/v1/queue */
static void
handle_queue (EdRequest *request,
              gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;
  EdMessageCounts bulk, transactional, all;
  gint64 oldest_due = 0, next_retry = 0;
  EdMailerStats stats = { 0 };

  if (!ed_store_get_message_counts (self->store, 0, 0, &bulk, &error) ||
      !ed_store_get_message_counts (self->store, 0, 1, &transactional, &error) ||
      !ed_store_get_message_counts (self->store, 0, -1, &all, &error) ||
      !ed_store_get_queue_times (self->store, ed_time_now (), &oldest_due, &next_retry, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  if (self->mailer != NULL)
    ed_mailer_get_stats (self->mailer, &stats);

  json_builder_begin_object (builder);
  add_counts (builder, &all);
  json_builder_set_member_name (builder, "bulk");
  json_builder_begin_object (builder);
  add_counts (builder, &bulk);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "transactional");
  json_builder_begin_object (builder);
  add_counts (builder, &transactional);
  json_builder_end_object (builder);
  add_times (builder, "oldest_due_at", oldest_due);
  add_times (builder, "next_retry_at", next_retry);
  json_builder_set_member_name (builder, "send_rate");
  json_builder_add_double_value (builder, stats.send_rate);
  json_builder_set_member_name (builder, "rate_limit");
  json_builder_add_double_value (builder, stats.rate_limit);
  ed_json_add_boolean (builder, "throttled", stats.throttled);
  ed_json_add_int (builder, "in_flight", stats.in_flight);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

static void
add_message_row (JsonBuilder        *builder,
                 const EdMessageRow *row)
{
  ed_json_add_int (builder, "id", row->id);
  ed_json_add_int (builder, "campaign_id", row->campaign_id);
  ed_json_add_int (builder, "event_id", row->event_id);
  ed_json_add_string (builder, "campaign_kind", row->campaign_kind);
  ed_json_add_int (builder, "guest_id", row->guest_id);
  ed_json_add_string (builder, "email", row->email);
  ed_json_add_string (builder, "first_name", row->first_name ? row->first_name : "");
  ed_json_add_string (builder, "last_name", row->last_name ? row->last_name : "");
  ed_json_add_string (builder, "state", ed_message_state_to_string (row->state));
  ed_json_add_int (builder, "attempts", row->attempts);
  add_times (builder, "next_attempt_at",
             row->state == ED_MESSAGE_STATE_QUEUED || row->state == ED_MESSAGE_STATE_RETRY ? row->next_attempt_at : 0);
  if (row->has_last_code)
    ed_json_add_int (builder, "last_code", row->last_code);
  else
    ed_json_add_null (builder, "last_code");
  ed_json_add_string (builder, "last_text", row->last_text);
  add_times (builder, "sent_at", row->sent_at);
  add_times (builder, "created_at", row->created_at);
}

/* GET /api/v1/messages?state=&campaign=&event=&order=&after=&limit= */
static void
handle_messages (EdRequest *request,
                 gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  const char *state = ed_request_get_query (request, "state");
  const char *order = ed_request_get_query (request, "order");
  EdMessageFilter filter = { 0 };
  gint64 limit;
  gboolean has_more = FALSE;

  ed_validate_query_int (request->query, "after", 0, G_MAXINT64, 0, &filter.after, fields);
  ed_validate_query_int (request->query, "limit", 1, PAGE_LIMIT_MAX, MESSAGES_LIMIT_DEFAULT, &limit, fields);
  ed_validate_query_int (request->query, "campaign", 1, G_MAXINT64, 0, &filter.campaign_id, fields);
  ed_validate_query_int (request->query, "event", 1, G_MAXINT64, 0, &filter.event_id, fields);
  if (state != NULL && *state != '\0')
    {
      if (ed_message_state_from_string (state, &filter.state))
        filter.has_state = TRUE;
      else
        ed_validate_fail (fields, "state", "must be one of queued, sending, sent, retry, failed, cancelled");
    }
  if (order != NULL && *order != '\0' && g_strcmp0 (order, "id") != 0)
    {
      if (g_strcmp0 (order, "next_attempt") != 0)
        ed_validate_fail (fields, "order", "must be id or next_attempt");
      else if (!filter.has_state || filter.state != ED_MESSAGE_STATE_RETRY)
        ed_validate_fail (fields, "order", "next_attempt orders retries only: add state=retry");
      else
        filter.by_next_attempt = TRUE;
    }
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }
  filter.limit = (guint) limit;

  if (!(rows = ed_store_list_messages (self->store, &filter, &has_more, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < rows->len; i++)
    {
      json_builder_begin_object (builder);
      add_message_row (builder, g_ptr_array_index (rows, i));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_next (builder, has_more && rows->len > 0,
            rows->len > 0 ? ((EdMessageRow *) g_ptr_array_index (rows, rows->len - 1))->id : 0);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

/* GET /api/v1/guests/{id}/deliveries */
static void
handle_deliveries (EdRequest *request,
                   gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(GError) error = NULL;

  if (!(guest = ed_store_get_guest (self->store, request->ids[0], &error)) ||
      !(rows = ed_store_list_guest_deliveries (self->store, guest->id, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; i < rows->len; i++)
    {
      const EdMessageRow *row = g_ptr_array_index (rows, i);

      json_builder_begin_object (builder);
      add_message_row (builder, row);
      ed_json_add_string (builder, "subject", row->campaign_subject);
      json_builder_set_member_name (builder, "deliveries");
      json_builder_begin_array (builder);
      for (guint j = 0; j < row->attempts_log->len; j++)
        {
          const EdDeliveryAttempt *attempt = g_ptr_array_index (row->attempts_log, j);

          json_builder_begin_object (builder);
          ed_json_add_time (builder, "at", attempt->at);
          ed_json_add_string (builder, "result", attempt->result);
          if (attempt->has_code)
            ed_json_add_int (builder, "code", attempt->code);
          else
            ed_json_add_null (builder, "code");
          ed_json_add_string (builder, "text", attempt->text);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  ed_json_add_int (builder, "total", rows->len);
  json_builder_end_object (builder);

  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

gboolean
ed_daemon_add_campaign_routes (EdDaemon  *self,
                               GError   **error)
{
  g_autoptr(EdStore) writer = NULL;
  CampaignsState *state;

  if (!(writer = ed_daemon_open_writer (self, error)) ||
      !ed_store_prepare_for_bulk (writer, error))
    return FALSE;

  state = g_atomic_rc_box_new0 (CampaignsState);
  g_mutex_init (&state->lock);
  state->writer = g_steal_pointer (&writer);
  g_object_set_data_full (G_OBJECT (self), STATE_KEY, state, (GDestroyNotify) release_state);

  ed_router_add (self->router, "GET", "/api/v1/events/{id}/campaigns", ED_ROUTE_AUTH, handle_list_campaigns);
  ed_router_add (self->router, "POST", "/api/v1/events/{id}/campaigns", ED_ROUTE_AUTH, handle_create_campaign);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/audience", ED_ROUTE_AUTH, handle_audience);
  ed_router_add (self->router, "POST", "/api/v1/events/{id}/invitations", ED_ROUTE_AUTH, handle_queue_invitations);
  ed_router_add (self->router, "GET", "/api/v1/campaigns/{id}", ED_ROUTE_AUTH, handle_get_campaign);
  ed_router_add (self->router, "PATCH", "/api/v1/campaigns/{id}", ED_ROUTE_AUTH, handle_update_campaign);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/launch", ED_ROUTE_AUTH, handle_launch);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/pause", ED_ROUTE_AUTH, handle_pause);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/resume", ED_ROUTE_AUTH, handle_resume);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/cancel", ED_ROUTE_AUTH, handle_cancel);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/retry-failed", ED_ROUTE_AUTH, handle_retry_failed);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/preview", ED_ROUTE_AUTH, handle_preview);
  ed_router_add (self->router, "POST", "/api/v1/campaigns/{id}/test", ED_ROUTE_AUTH, handle_test);
  ed_router_add (self->router, "GET", "/api/v1/queue", ED_ROUTE_AUTH, handle_queue);
  ed_router_add (self->router, "GET", "/api/v1/messages", ED_ROUTE_AUTH, handle_messages);
  ed_router_add (self->router, "GET", "/api/v1/guests/{id}/deliveries", ED_ROUTE_AUTH, handle_deliveries);

  return TRUE;
}
