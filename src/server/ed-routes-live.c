/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>
#include <time.h>

#include "ed-campaign.h"
#include "ed-daemon-private.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-time-util.h"
#include "ed-validate.h"

/* The live feed's WebSockets (/api/v1/live for the admin app,
 * /r/{token}/live for the RSVP page), timelines and /metrics. The feed
 * itself is EdLiveHub; docs/live.md describes its messages.
 *
 * The upgrades are routes like any other, so that the router's patterns,
 * logs and metrics cover them: the route checks the request, answers the
 * handshake, and once libsoup has written the 101 it takes the connection
 * over and hands it to the hub, which runs the WebSocket on its own thread.
 */

#define MAX_TIMELINE_BUCKETS 2000
#define MAX_TIMELINE_ROWS 25000   /* rollup rows one timeline may read */
#define MAX_BUCKET_SECONDS (366 * 24 * 3600)

typedef enum
{
  UPGRADE_ADMIN,
  UPGRADE_PUBLIC,
} UpgradeKind;

typedef struct
{
  EdDaemon    *daemon;
  UpgradeKind  kind;
  GSocket     *socket;
  gint64       expires_at;  /* admin: the bearer token's session end, or 0 */
  gint64       event_id;    /* public */
  char        *address;
} Upgrade;

static void
upgrade_free (Upgrade *upgrade)
{
  g_clear_object (&upgrade->daemon);
  g_clear_object (&upgrade->socket);
  g_free (upgrade->address);
  g_free (upgrade);
}

static void
on_wrote_informational_cb (SoupServerMessage *msg,
                           Upgrade           *upgrade)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GUri) uri = NULL;
  EdDaemon *self = upgrade->daemon;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;

  g_object_ref (msg);
  ed_daemon_request_stolen (self, msg);
  uri = g_uri_ref (soup_server_message_get_uri (msg));
  stream = soup_server_message_steal_connection (msg);
  if (stream != NULL && self->live != NULL)
    {
      /* The hub makes the WebSocket on its own thread. */
      if (upgrade->kind == UPGRADE_ADMIN)
        ed_live_hub_add_admin (self->live, stream, uri, upgrade->socket, upgrade->expires_at);
      else
        ed_live_hub_add_public (self->live, stream, uri, upgrade->socket, upgrade->event_id, upgrade->address);
    }
  g_object_unref (msg);
}

/* Checks that @request asks for a WebSocket from an allowed page, and
 * answers the handshake; the hub gets the connection once the 101 is out.
 */
static gboolean
begin_upgrade (EdDaemon  *self,
               EdRequest *request,
               Upgrade   *upgrade)
{
  SoupServerMessage *msg = request->msg;
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      ed_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "websocket_required",
                           "This address is a WebSocket: connect with an Upgrade: websocket request");
      upgrade_free (upgrade);
      return FALSE;
    }
  if (!ed_daemon_origin_allowed (self, msg))
    {
      ed_http_reply_error (msg, SOUP_STATUS_FORBIDDEN, "forbidden",
                           "Requests from pages of other sites are refused");
      upgrade_free (upgrade);
      return FALSE;
    }

  socket = soup_server_message_get_socket (msg);
  if (socket == NULL || !soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    {
      if (soup_server_message_get_status (msg) == 0)
        ed_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "websocket_required",
                             "The WebSocket handshake failed");
      upgrade_free (upgrade);
      return FALSE;
    }

  upgrade->daemon = g_object_ref (self);
  upgrade->socket = g_object_ref (socket);
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (on_wrote_informational_cb),
                         upgrade, (GClosureNotify) upgrade_free, 0);
  return TRUE;
}

/* GET /api/v1/live */
static void
handle_live (EdRequest *request,
             gpointer   user_data)
{
  EdDaemon *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  Upgrade *upgrade = g_new0 (Upgrade, 1);

  upgrade->kind = UPGRADE_ADMIN;

  /* A native client authenticates on the upgrade; a browser cannot set
   * the header and sends an "auth" message first instead.
   */
  if (authorization != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
        g_set_error_literal (&error, ED_ERROR, ED_ERROR_UNAUTHORIZED,
                             "The Authorization header must be “Bearer TOKEN”");
      else
        upgrade->expires_at = ed_daemon_verify_session (self, authorization + 7, &error);

      if (error != NULL)
        {
          ed_http_reply_gerror (request->msg, error);
          upgrade_free (upgrade);
          return;
        }
    }

  begin_upgrade (self, request, upgrade);
}

/* The guest's address, for the per-address limit. Behind a reverse proxy
 * on the same machine (nginx, as the README sets it up) every connection
 * comes from loopback, and the proxy names the client in the last entry of
 * X-Forwarded-For: that header is believed from a loopback peer only.
 */
static char *
get_client_address (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *forwarded = soup_message_headers_get_one (headers, "X-Forwarded-For");
  GSocketAddress *peer = soup_server_message_get_remote_address (msg);
  const char *host = soup_server_message_get_remote_host (msg);

  if (forwarded != NULL && peer != NULL && G_IS_INET_SOCKET_ADDRESS (peer) &&
      g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer))))
    {
      const char *last = strrchr (forwarded, ',');
      g_autofree char *client = g_strstrip (g_strdup (last != NULL ? last + 1 : forwarded));

      if (g_hostname_is_ip_address (client))
        return g_steal_pointer (&client);
    }

  return g_strdup (host != NULL ? host : "-");
}

/* GET /r/{token}/live: seats left, for the guest's page. */
static void
handle_public_live (EdRequest *request,
                    gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;
  Upgrade *upgrade = g_new0 (Upgrade, 1);

  upgrade->kind = UPGRADE_PUBLIC;
  upgrade->address = get_client_address (request->msg);

  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Cache-Control", "no-store");
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Referrer-Policy", "no-referrer");

  if (!ed_daemon_check_rsvp_link (self, request->token, &upgrade->event_id, &error))
    {
      if (g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
        ed_http_reply_error (request->msg, SOUP_STATUS_NOT_FOUND, "invalid_link", "This link doesn’t work");
      else
        ed_http_reply_gerror (request->msg, error);
      upgrade_free (upgrade);
      return;
    }

  if (!ed_live_hub_may_add_public (self->live, upgrade->address))
    {
      ed_http_reply_error (request->msg, ED_HTTP_STATUS_TOO_MANY_REQUESTS, "too_many_connections",
                           "This address already has the most live connections allowed; "
                           "close a page or use GET /r/TOKEN/seats");
      upgrade_free (upgrade);
      return;
    }

  begin_upgrade (self, request, upgrade);
}

static gint64
on_live_auth_cb (const char  *token,
                 gpointer     user_data,
                 GError     **error)
{
  return ed_daemon_verify_session (user_data, token, error);
}

/* The "import" member of the admin feed. */
static void
add_import_progress_cb (gint64       event_id,
                        JsonBuilder *builder,
                        gpointer     user_data)
{
  EdImportJob *job = ed_daemon_get_import (user_data, event_id);

  json_builder_set_member_name (builder, "import");
  if (job == NULL)
    {
      json_builder_add_null_value (builder);
      return;
    }

  json_builder_begin_object (builder);
  ed_import_job_add_progress (job, builder);
  json_builder_end_object (builder);
}

/* The mailer's part of the admin feed: its rates, and which events its
 * progress changed.
 */
static void
add_mail_cb (gint64       event_id,
             JsonBuilder *builder,
             gpointer     user_data)
{
  EdDaemon *self = user_data;
  EdMailerStats stats;

  json_builder_set_member_name (builder, "mail");
  if (self->mailer == NULL)
    {
      json_builder_add_null_value (builder);
      return;
    }

  ed_mailer_get_stats (self->mailer, &stats);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "send_rate");
  json_builder_add_double_value (builder, stats.send_rate);
  json_builder_set_member_name (builder, "rate_limit");
  json_builder_add_double_value (builder, stats.rate_limit);
  ed_json_add_boolean (builder, "throttled", stats.throttled);
  ed_json_add_int (builder, "in_flight", stats.in_flight);
  json_builder_end_object (builder);
}

static double
get_campaign_rate_cb (gint64   campaign_id,
                      gpointer user_data)
{
  EdDaemon *self = user_data;

  return self->mailer != NULL ? ed_mailer_get_campaign_rate (self->mailer, campaign_id) : 0.0;
}

static void
on_mailer_progress_cb (EdMailer *mailer,
                       GArray   *event_ids,
                       EdDaemon *self)
{
  for (guint i = 0; i < event_ids->len; i++)
    ed_live_hub_event_changed (self->live, g_array_index (event_ids, gint64, i));
}

/* Once the mailer runs: its progress marks events changed. */
void
ed_daemon_follow_mailer (EdDaemon *self)
{
  g_return_if_fail (self->mailer != NULL);

  g_signal_connect_object (self->mailer, "progress", G_CALLBACK (on_mailer_progress_cb), self, 0);
}

/* A campaign was launched, paused, resumed, cancelled or retried: its
 * event's queue changed.
 */
void
ed_daemon_campaign_changed (EdDaemon *self,
                            gint64    campaign_id)
{
  g_autoptr(EdCampaign) campaign = ed_store_get_campaign (self->store, campaign_id, NULL);

  if (campaign != NULL)
    ed_live_hub_event_changed (self->live, campaign->event_id);
}

/* Timelines: written as text, not through JsonBuilder, which would take
 * most of the time of a timeline of two thousand buckets.
 */

typedef struct
{
  GString *out;
  gint64   totals[ED_RSVP_N_STATUSES];
  gint64   sent;
  gint64   retried;
  gint64   failed;
  gboolean first;
} TimelineState;

static void
append_counts (GString      *out,
               const gint64 *answers,
               gint64        sent,
               gint64        retried,
               gint64        failed)
{
  g_string_append (out, "\"answers\":{");
  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    g_string_append_printf (out, "%s\"%s\":%" G_GINT64_FORMAT, i > 0 ? "," : "",
                            ed_rsvp_status_to_string (i), answers[i]);
  g_string_append_printf (out, "},\"messages\":{\"sent\":%" G_GINT64_FORMAT ",\"retried\":%" G_GINT64_FORMAT
                          ",\"failed\":%" G_GINT64_FORMAT "}", sent, retried, failed);
}

/* As ed_time_format_rfc3339() writes it, without a GDateTime per bucket. */
static void
append_time (GString    *out,
             const char *name,
             gint64      unix_seconds)
{
  time_t t = (time_t) unix_seconds;
  struct tm tm;

  gmtime_r (&t, &tm);
  g_string_append_printf (out, "\"%s\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", name, tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
on_timeline_bucket_cb (const EdTimelineBucket *bucket,
                       gpointer                user_data)
{
  TimelineState *state = user_data;

  g_string_append (state->out, state->first ? "{" : ",{");
  state->first = FALSE;
  append_time (state->out, "start", bucket->start);
  g_string_append_c (state->out, ',');
  append_counts (state->out, bucket->answers, bucket->sent, bucket->retried, bucket->failed);
  g_string_append_c (state->out, '}');

  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    state->totals[i] += bucket->answers[i];
  state->sent += bucket->sent;
  state->retried += bucket->retried;
  state->failed += bucket->failed;
}

/* The smallest of a few round bucket sizes that covers @span seconds in
 * at most MAX_TIMELINE_BUCKETS buckets and MAX_TIMELINE_ROWS rows.
 */
static gint64
suggest_bucket (gint64 span)
{
  const gint64 sizes[] = { 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    if (span / sizes[i] < MAX_TIMELINE_BUCKETS && span / ed_store_timeline_unit (sizes[i]) <= MAX_TIMELINE_ROWS)
      return sizes[i];

  return MAX_BUCKET_SECONDS;
}

/* GET /api/v1/events/{id}/timeline?bucket=SECONDS */
static void
handle_timeline (EdRequest *request,
                 gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  TimelineState state = { 0 };
  gint64 bucket = 0;
  gint64 from, to, n_buckets;
  gsize length;

  if (ed_request_get_query (request, "bucket") == NULL)
    ed_validate_fail (fields, "bucket", "is required: the length of a bucket in seconds, such as 3600");
  else if (ed_validate_query_int (request->query, "bucket", 60, MAX_BUCKET_SECONDS, 0, &bucket, fields) &&
           (bucket < 60 || bucket % 60 != 0))
    ed_validate_fail (fields, "bucket", "must be a whole number of minutes, in seconds (60, 300, 3600, 86400…)");
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }
  /* a missing, empty or zero bucket was refused above */
  g_assert (bucket >= 60);

  if (!(event = ed_store_get_event (self->store, request->ids[0], &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  /* The event's life so far, in whole buckets from its creation. */
  from = event->created_at - event->created_at % bucket;
  to = MAX (ed_time_now () + 1, from + 1);
  n_buckets = (to - from + bucket - 1) / bucket;
  if (n_buckets > MAX_TIMELINE_BUCKETS)
    {
      ed_validate_fail (fields, "bucket",
                        "is too small: the event’s history would take %" G_GINT64_FORMAT " buckets, "
                        "and at most %d are given; use %" G_GINT64_FORMAT " seconds or more",
                        n_buckets, MAX_TIMELINE_BUCKETS, suggest_bucket (to - from));
      ed_http_reply_fields (request->msg, fields);
      return;
    }
  if ((to - from) / ed_store_timeline_unit (bucket) > MAX_TIMELINE_ROWS)
    {
      ed_validate_fail (fields, "bucket",
                        "must be a multiple of 900 (a quarter hour), 3600 or 86400 for an event with "
                        "this much history; %" G_GINT64_FORMAT " would do", suggest_bucket (to - from));
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  state.out = g_string_sized_new (256 + n_buckets * 64);
  state.first = TRUE;
  g_string_append_printf (state.out, "{\"event_id\":%" G_GINT64_FORMAT ",\"bucket\":%" G_GINT64_FORMAT ",",
                          event->id, bucket);
  append_time (state.out, "from", from);
  g_string_append_c (state.out, ',');
  append_time (state.out, "to", from + n_buckets * bucket);
  g_string_append (state.out, ",\"buckets\":[");
  if (!ed_store_get_timeline (self->store, event->id, from, to, bucket, on_timeline_bucket_cb, &state, &error))
    {
      g_string_free (state.out, TRUE);
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  g_string_append (state.out, "],\"totals\":{");
  append_counts (state.out, state.totals, state.sent, state.retried, state.failed);
  g_string_append (state.out, "}}");

  length = state.out->len;
  soup_server_message_set_status (request->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (request->msg, "application/json; charset=utf-8", SOUP_MEMORY_TAKE,
                                    g_string_free (state.out, FALSE), length);
}

/* /metrics */

static gboolean
append_store_metrics (EdDaemon  *self,
                      GString   *out,
                      GError   **error)
{
  gint64 guests[ED_RSVP_N_STATUSES];
  gint64 seats_taken = 0;
  gint64 size;
  EdMessageCounts queue;

  if (!ed_store_get_rsvp_totals (self->store, guests, &seats_taken, error) ||
      !ed_store_get_message_counts (self->store, 0, -1, &queue, error) ||
      (size = ed_store_get_database_size (self->store, error)) < 0)
    return FALSE;

  ed_metrics_append_family (out, "eventdesk_rsvp_guests", "gauge", "Guests of all events by RSVP status");
  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    ed_metrics_append_sample (out, "eventdesk_rsvp_guests", "status", ed_rsvp_status_to_string (i), guests[i]);
  ed_metrics_append_family (out, "eventdesk_rsvp_seats_taken", "gauge",
                            "Seats taken by accepted guests, all events");
  ed_metrics_append_sample (out, "eventdesk_rsvp_seats_taken", NULL, NULL, seats_taken);

  ed_metrics_append_family (out, "eventdesk_queue_messages", "gauge", "Messages of the mail queue by state");
  for (guint i = 0; i < ED_MESSAGE_N_STATES; i++)
    ed_metrics_append_sample (out, "eventdesk_queue_messages", "state", ed_message_state_to_string (i),
                              queue.states[i]);

  ed_metrics_append_family (out, "eventdesk_database_size_bytes", "gauge",
                            "Size of the database file and its write-ahead log");
  ed_metrics_append_sample (out, "eventdesk_database_size_bytes", NULL, NULL, size);

  return TRUE;
}

static void
append_mail_metrics (EdDaemon *self,
                     GString  *out)
{
  EdMailerStats stats;

  if (self->mailer == NULL)
    return;

  ed_mailer_get_stats (self->mailer, &stats);

  ed_metrics_append_family (out, "eventdesk_mail_send_rate", "gauge",
                            "Messages delivered per second, over the last few seconds");
  ed_metrics_append_sample (out, "eventdesk_mail_send_rate", NULL, NULL, stats.send_rate);
  ed_metrics_append_family (out, "eventdesk_mail_rate_limit", "gauge",
                            "The send rate in force, lower while throttled; 0 for none");
  ed_metrics_append_sample (out, "eventdesk_mail_rate_limit", NULL, NULL, stats.rate_limit);
  ed_metrics_append_family (out, "eventdesk_mail_throttled", "gauge",
                            "1 while a throttling reply holds the send rate down");
  ed_metrics_append_sample (out, "eventdesk_mail_throttled", NULL, NULL, stats.throttled ? 1 : 0);
  ed_metrics_append_family (out, "eventdesk_mail_in_flight", "gauge",
                            "Messages claimed by the mailer and not written back yet");
  ed_metrics_append_sample (out, "eventdesk_mail_in_flight", NULL, NULL, stats.in_flight);
  ed_metrics_append_family (out, "eventdesk_mail_messages_total", "counter",
                            "Messages since the start: delivered, deferred for a retry, failed for good");
  ed_metrics_append_sample (out, "eventdesk_mail_messages_total", "result", "sent", (double) stats.sent);
  ed_metrics_append_sample (out, "eventdesk_mail_messages_total", "result", "retried", (double) stats.retried);
  ed_metrics_append_sample (out, "eventdesk_mail_messages_total", "result", "failed", (double) stats.failed);
  ed_metrics_append_family (out, "eventdesk_smtp_replies_total", "counter",
                            "Delivery attempts since the start by the class of their final SMTP reply");
  ed_metrics_append_sample (out, "eventdesk_smtp_replies_total", "class", "2xx", (double) stats.replies_2xx);
  ed_metrics_append_sample (out, "eventdesk_smtp_replies_total", "class", "4xx", (double) stats.replies_4xx);
  ed_metrics_append_sample (out, "eventdesk_smtp_replies_total", "class", "5xx", (double) stats.replies_5xx);
  ed_metrics_append_sample (out, "eventdesk_smtp_replies_total", "class", "none", (double) stats.replies_none);
}

static void
append_live_metrics (EdDaemon *self,
                     GString  *out)
{
  EdLiveHubStats stats;

  ed_live_hub_get_stats (self->live, &stats);

  ed_metrics_append_family (out, "eventdesk_live_clients", "gauge", "Open WebSockets of the live feed, by channel");
  ed_metrics_append_sample (out, "eventdesk_live_clients", "channel", "admin", stats.admin_clients);
  ed_metrics_append_sample (out, "eventdesk_live_clients", "channel", "public", stats.public_clients);
  ed_metrics_append_family (out, "eventdesk_live_updates_sent_total", "counter",
                            "Live-feed snapshots and updates sent");
  ed_metrics_append_sample (out, "eventdesk_live_updates_sent_total", NULL, NULL, stats.updates_sent);
  ed_metrics_append_family (out, "eventdesk_live_updates_held_total", "counter",
                            "Live-feed updates held back for clients that did not keep up");
  ed_metrics_append_sample (out, "eventdesk_live_updates_held_total", NULL, NULL, stats.updates_skipped);
  ed_metrics_append_family (out, "eventdesk_live_clients_closed_slow_total", "counter",
                            "Live-feed clients closed for not reading their updates");
  ed_metrics_append_sample (out, "eventdesk_live_clients_closed_slow_total", NULL, NULL, stats.clients_closed_slow);
}

/* GET /metrics, without a session: see docs/live.md for why. */
static void
handle_metrics (EdRequest *request,
                gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;
  GString *out = g_string_sized_new (4096);
  gsize length;

  if (!append_store_metrics (self, out, &error))
    {
      g_string_free (out, TRUE);
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  append_mail_metrics (self, out);
  append_live_metrics (self, out);
  ed_metrics_append_requests (self->metrics, out);

  length = out->len;
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_status (request->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (request->msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_string_free (out, FALSE), length);
}

void
ed_daemon_add_live_routes (EdDaemon *self)
{
  ed_live_hub_set_auth_func (self->live, on_live_auth_cb, self);
  ed_live_hub_add_snapshot_func (self->live, add_import_progress_cb, self);
  ed_live_hub_add_snapshot_func (self->live, add_mail_cb, self);
  ed_live_hub_set_rate_func (self->live, get_campaign_rate_cb, self);

  ed_router_add (self->router, "GET", "/api/v1/live", ED_ROUTE_PUBLIC, handle_live);
  ed_router_add (self->router, "GET", "/r/{token}/live", ED_ROUTE_PUBLIC, handle_public_live);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/timeline", ED_ROUTE_AUTH, handle_timeline);
  ed_router_add (self->router, "GET", "/metrics", ED_ROUTE_PUBLIC, handle_metrics);
}
