/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-live"

#include "config.h"

#include <string.h>
#include <sys/ioctl.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include "ed-campaign.h"
#include "ed-error.h"
#include "ed-json-util.h"
#include "ed-live-hub.h"
#include "ed-live-io.h"
#include "ed-time-util.h"

/* The live feed: WebSocket clients subscribed to events, and what they
 * are sent.
 *
 * A change only marks its event dirty (ed_live_hub_event_changed()). A
 * tick, at most every ED_LIVE_HUB_TICK_MS and only while something is
 * dirty or a client lags, builds each dirty event's snapshot once — from
 * counter tables, a handful of index lookups — and hands the same text to
 * every subscriber. Each subscriber thus gets at most one update per
 * event and tick, whatever the rate of changes, and the update after the
 * last change carries the final numbers.
 *
 * Back-pressure: before each frame the client's socket is checked; when
 * the kernel holds more than SLOW_OUTQ_BYTES unsent for it, or cannot
 * take more, the frame is not sent and the client is marked lagging. A
 * lagging client keeps no queue of its own: it only remembers which
 * version of each event it has, and once its socket drains it gets the
 * latest. A client that stays lagging for STUCK_TIMEOUT_US is closed with
 * a reason. Nothing here ever waits for a client.
 *
 * The WebSockets themselves live on the live-feed thread (EdLiveIo, see
 * ed-live-io.c): everything here runs on the main context and decides,
 * and that thread does the connections' reads and writes, so that the
 * HTTP server's main loop does not poll the subscribers' sockets on each
 * turn. A message is built once per tick as one GBytes that every
 * subscriber's frame shares. Auth deadlines and session ends are checked
 * by one sweep a second, not a timer per client.
 *
 * The mail part of a snapshot (campaigns, queue, errors) reads the
 * campaigns' counters and walks the failed attempts from the newest; it
 * is refreshed at most every MAIL_REFRESH_US per event, and a refresh
 * that was held back happens on a later tick, so the final numbers still
 * go out.
 */

#define AUTH_TIMEOUT_S 5
#define MAX_SUBSCRIPTIONS 64
#define MAX_INCOMING_BYTES 4096
#define SLOW_OUTQ_BYTES (64 * 1024)
#define STUCK_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define MAIL_REFRESH_US (G_USEC_PER_SEC / 2)
#define ERRORS_SHOWN 5
#define PUBLIC_PER_ADDRESS 4
#define KEEPALIVE_S 30

/* Close codes (RFC 6455) and their reasons, short: a reason has at most 123 bytes. */
#define CLOSE_POLICY SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION
#define CLOSE_GOING_AWAY SOUP_WEBSOCKET_CLOSE_GOING_AWAY

typedef struct _LiveEvent LiveEvent;
typedef struct _LiveClient LiveClient;

struct _LiveEvent
{
  gint64      id;
  GPtrArray  *subscribers;     /* LiveClient, borrowed */
  gboolean    dirty;
  gboolean    mail_dirty;
  gboolean    gone;            /* deleted */

  guint64     version;         /* of the messages below; 0 before the first build */
  char       *members;         /* the snapshot's members after "type", and the closing brace */
  GBytes     *update_message;
  GBytes     *snapshot_message;

  gint64      seats_left;
  guint64     seats_version;
  GBytes     *seats_message;

  gint64      mail_built_us;
  JsonNode   *queue;
  JsonNode   *campaigns;
  JsonNode   *errors;
};

typedef struct
{
  LiveEvent *event;
  guint64    sent_version;
  gboolean   snapshot_sent;
} Subscription;

struct _LiveClient
{
  EdLiveHub               *hub;           /* borrowed */
  EdLiveClientKind         kind;
  EdLiveLink              *link;          /* its WebSocket, on the live-feed thread */
  GSocket                 *socket;
  char                    *address;
  gboolean                 authenticated;
  gboolean                 closing;
  gint64                   auth_deadline_us; /* monotonic; 0 once authenticated */
  gint64                   expires_at;       /* the session's end, Unix seconds; 0 for none */
  GHashTable              *subscriptions; /* event id (gint64 *) -> Subscription */
  gint64                   lagging_since_us; /* 0 while it keeps up */
};

struct _EdLiveHub
{
  GObject             parent_instance;

  /* owned */
  EdStore            *store;
  GHashTable         *events;      /* event id (gint64 *) -> LiveEvent */
  GHashTable         *clients;     /* LiveClient set */
  GHashTable         *dirty;       /* LiveEvent set */
  GHashTable         *lagging;     /* LiveClient set */
  GHashTable         *per_address; /* address -> number of public clients */
  GArray             *snapshot_funcs;
  GMainContext       *context;
  EdLiveIo           *io;
  guint               tick_id;
  guint               sweep_id;
  gint64              last_tick_us;

  EdLiveAuthFunc      auth_func;
  gpointer            auth_data;
  EdLiveRateFunc      rate_func;
  gpointer            rate_data;

  /* changes reported by other threads */
  GMutex              thread_lock;
  GArray             *thread_changes;
  gboolean            thread_scheduled;

  EdLiveHubStats      stats;
};

typedef struct
{
  EdLiveSnapshotFunc func;
  gpointer           data;
} SnapshotFunc;

G_DEFINE_FINAL_TYPE (EdLiveHub, ed_live_hub, G_TYPE_OBJECT)

static void schedule_tick (EdLiveHub *self);
static void close_client  (LiveClient *client,
                           gushort     code,
                           const char *reason);

static void
live_event_free (LiveEvent *event)
{
  g_ptr_array_unref (event->subscribers);
  g_free (event->members);
  g_clear_pointer (&event->update_message, g_bytes_unref);
  g_clear_pointer (&event->snapshot_message, g_bytes_unref);
  g_clear_pointer (&event->seats_message, g_bytes_unref);
  g_clear_pointer (&event->queue, json_node_unref);
  g_clear_pointer (&event->campaigns, json_node_unref);
  g_clear_pointer (&event->errors, json_node_unref);
  g_free (event);
}

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

/* Building */

static JsonNode *
message_counts_node (const EdMessageCounts *counts)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  for (guint i = 0; i < ED_MESSAGE_N_STATES; i++)
    ed_json_add_int (builder, ed_message_state_to_string (i), counts->states[i]);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static void
add_node (JsonBuilder *builder,
          const char  *name,
          JsonNode    *node)
{
  json_builder_set_member_name (builder, name);
  if (node != NULL)
    json_builder_add_value (builder, json_node_copy (node));
  else
    json_builder_add_null_value (builder);
}

/* The campaigns, queue and errors of the event: index scans, so at most
 * once per MAIL_REFRESH_US.
 */
static gboolean
build_mail_part (EdLiveHub  *self,
                 LiveEvent  *event,
                 GError    **error)
{
  g_autoptr(GPtrArray) campaigns = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  EdMessageCounts totals;

  if (!(campaigns = ed_store_list_campaign_progress (self->store, event->id, &totals, error)) ||
      !(errors = ed_store_list_delivery_errors (self->store, event->id, ERRORS_SHOWN, error)))
    return FALSE;

  g_clear_pointer (&event->queue, json_node_unref);
  event->queue = message_counts_node (&totals);

  json_builder_begin_array (builder);
  for (guint i = 0; i < campaigns->len; i++)
    {
      EdCampaignProgress *campaign = g_ptr_array_index (campaigns, i);
      g_autoptr(JsonNode) counts = message_counts_node (&campaign->counts);

      json_builder_begin_object (builder);
      ed_json_add_int (builder, "id", campaign->id);
      ed_json_add_string (builder, "kind", campaign->kind);
      ed_json_add_string (builder, "state", campaign->state);
      add_node (builder, "counts", counts);
      if (self->rate_func != NULL)
        {
          json_builder_set_member_name (builder, "send_rate");
          json_builder_add_double_value (builder, self->rate_func (campaign->id, self->rate_data));
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  g_clear_pointer (&event->campaigns, json_node_unref);
  event->campaigns = json_builder_get_root (builder);

  json_builder_reset (builder);
  json_builder_begin_array (builder);
  for (guint i = 0; i < errors->len; i++)
    {
      EdDeliveryError *item = g_ptr_array_index (errors, i);

      json_builder_begin_object (builder);
      ed_json_add_time (builder, "at", item->at);
      ed_json_add_int (builder, "campaign_id", item->campaign_id);
      ed_json_add_int (builder, "guest_id", item->guest_id);
      ed_json_add_string (builder, "result", item->result);
      if (item->code > 0)
        ed_json_add_int (builder, "code", item->code);
      else
        ed_json_add_null (builder, "code");
      ed_json_add_string (builder, "text", item->text);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  g_clear_pointer (&event->errors, json_node_unref);
  event->errors = json_builder_get_root (builder);

  event->mail_built_us = g_get_monotonic_time ();
  event->mail_dirty = FALSE;
  return TRUE;
}

/* A message to send, without its terminating nul. */
static GBytes *
text_bytes (char *text)
{
  return g_bytes_new_take (text, strlen (text));
}

static void
set_messages (LiveEvent *event,
              char      *members)
{
  g_free (event->members);
  event->members = members;
  g_clear_pointer (&event->snapshot_message, g_bytes_unref);
  g_clear_pointer (&event->update_message, g_bytes_unref);
  event->update_message = text_bytes (g_strconcat ("{\"type\":\"update\",", members, NULL));
  event->version++;
}

static void
set_seats (LiveEvent *event,
           gint64     seats_left)
{
  if (event->seats_message != NULL && event->seats_left == seats_left)
    return;

  event->seats_left = seats_left;
  g_clear_pointer (&event->seats_message, g_bytes_unref);
  event->seats_message = text_bytes (g_strdup_printf ("{\"type\":\"seats\",\"seats_left\":%" G_GINT64_FORMAT "}",
                                                      seats_left));
  event->seats_version++;
}

/* Builds the event's messages from the database; FALSE when it failed
 * for now (the event stays dirty).
 */
static gboolean
build_event (EdLiveHub *self,
             LiveEvent *event)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  EdEventStats stats;
  gint64 total = 0;

  if (!ed_store_get_event_stats (self->store, event->id, &stats, &error))
    {
      if (!g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
        {
          g_warning ("Live feed of event %" G_GINT64_FORMAT ": %s", event->id, error->message);
          return FALSE;
        }
      if (!event->gone)
        {
          event->gone = TRUE;
          set_messages (event, g_strdup_printf ("\"event\":%" G_GINT64_FORMAT ",\"at\":%" G_GINT64_FORMAT
                                                ",\"deleted\":true}", event->id, now_ms ()));
          set_seats (event, 0);
        }
      return TRUE;
    }
  event->gone = FALSE;

  if (event->queue == NULL ||
      (event->mail_dirty && g_get_monotonic_time () - event->mail_built_us >= MAIL_REFRESH_US))
    if (!build_mail_part (self, event, &error))
      {
        g_warning ("Live feed of event %" G_GINT64_FORMAT ": %s", event->id, error->message);
        return FALSE;
      }

  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    total += stats.guests[i];

  json_builder_begin_object (builder);
  ed_json_add_int (builder, "event", event->id);
  ed_json_add_int (builder, "at", now_ms ());

  json_builder_set_member_name (builder, "stats");
  json_builder_begin_object (builder);
  ed_json_add_int (builder, "capacity", stats.capacity);
  ed_json_add_int (builder, "seats_taken", stats.seats_taken);
  ed_json_add_int (builder, "seats_left", MAX (stats.capacity - stats.seats_taken, 0));
  ed_json_add_int (builder, "guests", total);
  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    ed_json_add_int (builder, ed_rsvp_status_to_string (i), stats.guests[i]);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "waitlist");
  json_builder_begin_object (builder);
  ed_json_add_int (builder, "length", stats.guests[ED_RSVP_WAITLISTED]);
  json_builder_end_object (builder);

  add_node (builder, "queue", event->queue);
  add_node (builder, "campaigns", event->campaigns);
  add_node (builder, "errors", event->errors);

  for (guint i = 0; i < self->snapshot_funcs->len; i++)
    {
      SnapshotFunc *func = &g_array_index (self->snapshot_funcs, SnapshotFunc, i);

      func->func (event->id, builder, func->data);
    }
  json_builder_end_object (builder);

  /* The members, without the opening brace: each message puts its type first. */
  text = ed_json_to_string (builder);
  g_assert (text[0] == '{');
  set_messages (event, g_strdup (text + 1));
  set_seats (event, MAX (stats.capacity - stats.seats_taken, 0));

  return TRUE;
}

static GBytes *
snapshot_message (LiveEvent *event)
{
  if (event->snapshot_message == NULL)
    event->snapshot_message = text_bytes (g_strconcat ("{\"type\":\"snapshot\",", event->members, NULL));

  return event->snapshot_message;
}

/* Sending */

/* Whether the client's socket has taken what it was sent so far. An
 * empty send queue can take more; only a partly full one needs asking.
 */
static gboolean
client_keeps_up (LiveClient *client)
{
#ifdef SIOCOUTQ
  int unsent = 0;

  if (ioctl (g_socket_get_fd (client->socket), SIOCOUTQ, &unsent) == 0)
    {
      if (unsent > SLOW_OUTQ_BYTES)
        return FALSE;
      if (unsent == 0)
        return TRUE;
    }
#endif

  return (g_socket_condition_check (client->socket, G_IO_OUT) & G_IO_OUT) != 0;
}

/* Sends the client what it lacks of @sub's event; FALSE when it lags. */
static gboolean
flush_subscription (LiveClient   *client,
                    Subscription *sub,
                    gboolean      keeps_up)
{
  EdLiveHub *hub = client->hub;
  LiveEvent *event = sub->event;
  GBytes *text;
  guint64 version;

  if (event->version == 0)
    return TRUE;

  if (client->kind == ED_LIVE_CLIENT_PUBLIC)
    {
      version = event->seats_version;
      text = event->seats_message;
    }
  else
    {
      version = event->version;
      text = sub->snapshot_sent ? event->update_message : snapshot_message (event);
    }

  if (sub->snapshot_sent && sub->sent_version == version)
    return TRUE;

  if (!keeps_up)
    {
      hub->stats.updates_skipped++;
      return FALSE;
    }

  ed_live_io_send (hub->io, client->link, text);
  sub->sent_version = version;
  sub->snapshot_sent = TRUE;
  hub->stats.updates_sent++;
  return TRUE;
}

/* Sends what the client lacks, or marks it lagging (and closes it when it
 * has lagged too long). @event limits it to one event's subscription.
 */
static void
flush_client (LiveClient *client,
              LiveEvent  *event)
{
  EdLiveHub *hub = client->hub;
  gboolean keeps_up;
  gboolean lags = FALSE;

  if (client->closing)
    return;

  keeps_up = client_keeps_up (client);

  if (event != NULL)
    {
      Subscription *sub = g_hash_table_lookup (client->subscriptions, &event->id);

      if (sub != NULL && !flush_subscription (client, sub, keeps_up))
        lags = TRUE;
    }
  else
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, client->subscriptions);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (!flush_subscription (client, value, keeps_up))
          lags = TRUE;
    }

  if (!lags)
    {
      /* Caught up (as far as this event goes; a lagging client's other
       * events are flushed by the tick).
       */
      if (event == NULL || keeps_up)
        {
          client->lagging_since_us = 0;
          if (event == NULL)
            g_hash_table_remove (hub->lagging, client);
        }
      return;
    }

  if (client->lagging_since_us == 0)
    client->lagging_since_us = g_get_monotonic_time ();
  g_hash_table_add (hub->lagging, client);
  schedule_tick (hub);

  if (g_get_monotonic_time () - client->lagging_since_us >= STUCK_TIMEOUT_US)
    {
      g_autofree char *reason = g_strdup_printf ("Too slow: updates not read for %d s; reconnect",
                                                 (int) (STUCK_TIMEOUT_US / G_USEC_PER_SEC));

      g_message ("Closing a live-feed client at %s that has not read its updates for %d s",
                 client->address, (int) (STUCK_TIMEOUT_US / G_USEC_PER_SEC));
      hub->stats.clients_closed_slow++;
      close_client (client, CLOSE_POLICY, reason);
    }
}

static void
remove_dirty_event (EdLiveHub *self,
                    LiveEvent *event)
{
  g_hash_table_remove (self->dirty, event);
}

/* The keys of a set, to iterate over while it changes (GLib 2.74 has no
 * g_hash_table_get_keys_as_ptr_array()).
 */
static GPtrArray *
set_to_array (GHashTable *set)
{
  GPtrArray *array = g_ptr_array_sized_new (g_hash_table_size (set));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (array, key);

  return array;
}

static gboolean
tick_cb (gpointer user_data)
{
  EdLiveHub *self = user_data;
  g_autoptr(GPtrArray) built = g_ptr_array_new ();
  g_autoptr(GHashTable) to_flush = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) clients = NULL;
  GHashTableIter iter;
  gpointer key;

  self->tick_id = 0;
  self->last_tick_us = g_get_monotonic_time ();

  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      LiveEvent *event = key;

      if (!build_event (self, event))
        continue;
      g_ptr_array_add (built, event);
      /* A mail refresh held back keeps the event dirty for a later tick. */
      event->dirty = event->mail_dirty;
      if (!event->dirty)
        g_hash_table_iter_remove (&iter);
    }

  /* Each client once, with all its events built in this tick (and a
   * lagging one with all it lacks): its socket is looked at once per
   * tick, not once per event.
   */
  for (guint i = 0; i < built->len; i++)
    {
      LiveEvent *event = g_ptr_array_index (built, i);

      for (guint j = 0; j < event->subscribers->len; j++)
        g_hash_table_add (to_flush, g_ptr_array_index (event->subscribers, j));
    }
  g_hash_table_iter_init (&iter, self->lagging);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (to_flush, key);

  /* flushing may close clients and change the sets */
  clients = set_to_array (to_flush);
  for (guint i = 0; i < clients->len; i++)
    {
      LiveClient *client = g_ptr_array_index (clients, i);

      if (g_hash_table_contains (self->clients, client))
        flush_client (client, NULL);
    }

  schedule_tick (self);
  return G_SOURCE_REMOVE;
}

/* The next tick comes ED_LIVE_HUB_TICK_MS after the last one, at once
 * when that is past: a lone change goes out without delay.
 */
static void
schedule_tick (EdLiveHub *self)
{
  gint64 due_us;
  gint64 now_us;

  if (self->tick_id != 0)
    return;
  if (g_hash_table_size (self->dirty) == 0 && g_hash_table_size (self->lagging) == 0)
    return;

  now_us = g_get_monotonic_time ();
  due_us = self->last_tick_us + ED_LIVE_HUB_TICK_MS * 1000;
  if (due_us <= now_us)
    self->tick_id = g_idle_add_full (G_PRIORITY_DEFAULT, tick_cb, self, NULL);
  else
    self->tick_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) ((due_us - now_us + 999) / 1000),
                                        tick_cb, self, NULL);
}

/* Clients */

static void
unsubscribe (LiveClient *client,
             gint64      event_id)
{
  EdLiveHub *hub = client->hub;
  Subscription *sub = g_hash_table_lookup (client->subscriptions, &event_id);
  LiveEvent *event;

  if (sub == NULL)
    return;

  event = sub->event;
  g_ptr_array_remove_fast (event->subscribers, client);
  g_hash_table_remove (client->subscriptions, &event_id);

  if (event->subscribers->len == 0)
    {
      remove_dirty_event (hub, event);
      g_hash_table_remove (hub->events, &event->id);
    }
}

static void
client_free (LiveClient *client)
{
  /* The connection goes on the live-feed thread. */
  ed_live_io_drop (client->hub->io, g_steal_pointer (&client->link));
  g_clear_object (&client->socket);
  g_clear_pointer (&client->subscriptions, g_hash_table_unref);
  g_free (client->address);
  g_free (client);
}

static void
remove_client (LiveClient *client)
{
  EdLiveHub *hub = client->hub;
  g_autoptr(GList) ids = g_hash_table_get_keys (client->subscriptions);

  for (GList *l = ids; l != NULL; l = l->next)
    unsubscribe (client, *(gint64 *) l->data);

  g_hash_table_remove (hub->lagging, client);

  if (client->kind == ED_LIVE_CLIENT_PUBLIC)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (hub->per_address, client->address));

      if (n <= 1)
        g_hash_table_remove (hub->per_address, client->address);
      else
        g_hash_table_insert (hub->per_address, g_strdup (client->address), GUINT_TO_POINTER (n - 1));
      hub->stats.public_clients--;
    }
  else
    hub->stats.admin_clients--;

  g_hash_table_remove (hub->clients, client);
  client_free (client);

  if (g_hash_table_size (hub->clients) == 0)
    g_clear_handle_id (&hub->sweep_id, g_source_remove);
}

static void
close_client (LiveClient *client,
              gushort     code,
              const char *reason)
{
  if (client->closing)
    return;

  client->closing = TRUE;
  g_hash_table_remove (client->hub->lagging, client);
  ed_live_io_close (client->hub->io, client->link, code, reason);
}

static void
send_text (LiveClient *client,
           char       *text)
{
  g_autoptr(GBytes) bytes = text_bytes (text);

  ed_live_io_send (client->hub->io, client->link, bytes);
}

static void
send_error (LiveClient *client,
            const char *code,
            const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  ed_json_add_string (builder, "type", "error");
  ed_json_add_string (builder, "code", code);
  ed_json_add_string (builder, "message", message);
  json_builder_end_object (builder);

  send_text (client, ed_json_to_string (builder));
}

static void
set_authenticated (LiveClient *client,
                   gint64      expires_at)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  client->authenticated = TRUE;
  client->auth_deadline_us = 0;
  client->expires_at = expires_at;

  json_builder_begin_object (builder);
  ed_json_add_string (builder, "type", "authenticated");
  if (expires_at > 0)
    ed_json_add_time (builder, "expires_at", expires_at);
  json_builder_end_object (builder);
  send_text (client, ed_json_to_string (builder));
}

static LiveEvent *
get_event (EdLiveHub *self,
           gint64     event_id)
{
  LiveEvent *event = g_hash_table_lookup (self->events, &event_id);

  if (event != NULL)
    return event;

  event = g_new0 (LiveEvent, 1);
  event->id = event_id;
  event->subscribers = g_ptr_array_new ();
  event->seats_left = -1;
  event->mail_dirty = TRUE;
  g_hash_table_insert (self->events, &event->id, event);

  return event;
}

static void
subscribe (LiveClient *client,
           gint64      event_id)
{
  EdLiveHub *hub = client->hub;
  Subscription *sub;
  LiveEvent *event;
  gboolean is_new;

  if (g_hash_table_contains (client->subscriptions, &event_id))
    {
      send_error (client, "already_subscribed", "This connection already has that event");
      return;
    }
  if (g_hash_table_size (client->subscriptions) >= MAX_SUBSCRIPTIONS)
    {
      send_error (client, "too_many_subscriptions", "One connection may follow at most 64 events");
      return;
    }

  is_new = !g_hash_table_contains (hub->events, &event_id);
  event = get_event (hub, event_id);

  /* The first subscriber builds the snapshot; later ones share it. */
  if (is_new && (!build_event (hub, event) || event->gone))
    {
      gboolean gone = event->gone;

      g_hash_table_remove (hub->events, &event_id);
      if (gone)
        send_error (client, "not_found", "There is no such event");
      else
        send_error (client, "internal_error", "The event’s numbers cannot be read now; the server log says why");
      return;
    }

  sub = g_new0 (Subscription, 1);
  sub->event = event;
  g_hash_table_insert (client->subscriptions, &sub->event->id, sub);
  g_ptr_array_add (event->subscribers, client);

  flush_client (client, event);
}

static gboolean
read_event_id (JsonObject *object,
               gint64     *event_id)
{
  JsonNode *node = json_object_get_member (object, "event");

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  *event_id = json_node_get_int (node);
  return *event_id > 0;
}

static void
handle_admin_message (LiveClient *client,
                      JsonObject *object)
{
  const char *type = json_object_get_string_member_with_default (object, "type", "");
  gint64 event_id = 0;

  if (strcmp (type, "auth") == 0)
    {
      g_autoptr(GError) error = NULL;
      const char *token = json_object_get_string_member_with_default (object, "token", NULL);
      gint64 expires_at;

      if (client->authenticated)
        {
          send_error (client, "already_authenticated", "This connection is already authenticated");
          return;
        }
      if (token == NULL || client->hub->auth_func == NULL)
        {
          close_client (client, CLOSE_POLICY, "The auth message needs a token");
          return;
        }
      expires_at = client->hub->auth_func (token, client->hub->auth_data, &error);
      if (expires_at == 0)
        {
          close_client (client, CLOSE_POLICY, "The session token is not valid; log in again");
          return;
        }
      set_authenticated (client, expires_at);
      return;
    }

  if (!client->authenticated)
    {
      close_client (client, CLOSE_POLICY, "Authenticate first: send {\"type\":\"auth\",\"token\":…}");
      return;
    }

  if (strcmp (type, "subscribe") == 0 || strcmp (type, "unsubscribe") == 0)
    {
      if (!read_event_id (object, &event_id))
        {
          send_error (client, "invalid_message", "“event” must be the id of an event");
          return;
        }
      if (type[0] == 's')
        subscribe (client, event_id);
      else
        unsubscribe (client, event_id);
      return;
    }

  send_error (client, "invalid_message", "Unknown message type; see docs/live.md");
}

/* From the live-feed thread, for a client not dropped yet. */
static void
on_io_message_cb (gpointer  user_data,
                  gint      type,
                  GBytes   *message,
                  gpointer  hub)
{
  LiveClient *client = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data = g_bytes_get_data (message, &length);
  JsonNode *root;

  if (client->closing)
    return;

  /* The public channel only speaks. */
  if (client->kind == ED_LIVE_CLIENT_PUBLIC)
    return;

  if (type != SOUP_WEBSOCKET_DATA_TEXT || !json_parser_load_from_data (parser, data, length, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      if (!client->authenticated)
        close_client (client, CLOSE_POLICY, "Authenticate first: send {\"type\":\"auth\",\"token\":…}");
      else
        send_error (client, "invalid_message", "Messages are JSON objects with a “type”");
      return;
    }

  handle_admin_message (client, json_node_get_object (root));
}

static void
on_io_closed_cb (gpointer user_data,
                 gpointer hub)
{
  remove_client (user_data);
}

/* Once a second while clients are connected: closes those that did not
 * authenticate in time and those whose session ended.
 */
static gboolean
sweep_cb (gpointer user_data)
{
  EdLiveHub *self = user_data;
  g_autoptr(GPtrArray) clients = set_to_array (self->clients);
  gint64 now_us = g_get_monotonic_time ();
  gint64 now = ed_time_now ();

  for (guint i = 0; i < clients->len; i++)
    {
      LiveClient *client = g_ptr_array_index (clients, i);

      if (client->auth_deadline_us > 0 && now_us >= client->auth_deadline_us)
        close_client (client, CLOSE_POLICY, "No auth message in time");
      else if (client->expires_at > 0 && now >= client->expires_at)
        close_client (client, CLOSE_POLICY, "The session has ended; log in again");
    }

  return G_SOURCE_CONTINUE;
}

static LiveClient *
add_client (EdLiveHub        *self,
            EdLiveClientKind  kind,
            GIOStream        *stream,
            GUri             *uri,
            GSocket          *socket,
            const char       *address)
{
  LiveClient *client = g_new0 (LiveClient, 1);

  client->hub = self;
  client->kind = kind;
  client->link = ed_live_io_open (self->io, stream, socket, uri, client, MAX_INCOMING_BYTES, KEEPALIVE_S);
  client->socket = g_object_ref (socket);
  client->address = g_strdup (address ? address : "-");
  client->subscriptions = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  g_hash_table_add (self->clients, client);

  if (self->sweep_id == 0)
    self->sweep_id = g_timeout_add_seconds (1, sweep_cb, self);

  return client;
}

/* GObject */

static void
ed_live_hub_dispose (GObject *object)
{
  EdLiveHub *self = (EdLiveHub *)object;

  ed_live_hub_close_all (self);
  /* Lets the live-feed thread send the closes, and stops it. */
  g_clear_pointer (&self->io, ed_live_io_free);

  G_OBJECT_CLASS (ed_live_hub_parent_class)->dispose (object);
}

static void
ed_live_hub_finalize (GObject *object)
{
  EdLiveHub *self = (EdLiveHub *)object;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->sweep_id, g_source_remove);
  g_clear_pointer (&self->lagging, g_hash_table_unref);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->clients, g_hash_table_unref);
  g_clear_pointer (&self->events, g_hash_table_unref);
  g_clear_pointer (&self->per_address, g_hash_table_unref);
  g_clear_pointer (&self->snapshot_funcs, g_array_unref);
  g_clear_pointer (&self->thread_changes, g_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->thread_lock);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (ed_live_hub_parent_class)->finalize (object);
}

static void
ed_live_hub_class_init (EdLiveHubClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ed_live_hub_dispose;
  object_class->finalize = ed_live_hub_finalize;
}

static void
ed_live_hub_init (EdLiveHub *self)
{
  self->events = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) live_event_free);
  self->clients = g_hash_table_new (NULL, NULL);
  self->dirty = g_hash_table_new (NULL, NULL);
  self->lagging = g_hash_table_new (NULL, NULL);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->snapshot_funcs = g_array_new (FALSE, FALSE, sizeof (SnapshotFunc));
  self->thread_changes = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->context = g_main_context_ref_thread_default ();
  self->io = ed_live_io_new (on_io_message_cb, on_io_closed_cb, self);
  g_mutex_init (&self->thread_lock);
}

/* Public API */

/**
 * ed_live_hub_new:
 * @store: the main loop's database connection; only read
 *
 * The hub belongs to the thread-default main context of its caller.
 */
EdLiveHub *
ed_live_hub_new (EdStore *store)
{
  EdLiveHub *self;

  g_return_val_if_fail (ED_IS_STORE (store), NULL);

  self = g_object_new (ED_TYPE_LIVE_HUB, NULL);
  self->store = g_object_ref (store);
  return self;
}

void
ed_live_hub_set_auth_func (EdLiveHub      *self,
                           EdLiveAuthFunc  func,
                           gpointer        user_data)
{
  g_return_if_fail (ED_IS_LIVE_HUB (self));

  self->auth_func = func;
  self->auth_data = user_data;
}

/* Gives each campaign of the feed its send rate (from the mailer). */
void
ed_live_hub_set_rate_func (EdLiveHub      *self,
                           EdLiveRateFunc  func,
                           gpointer        user_data)
{
  g_return_if_fail (ED_IS_LIVE_HUB (self));

  self->rate_func = func;
  self->rate_data = user_data;
}

/**
 * ed_live_hub_add_snapshot_func:
 *
 * Adds a part to every snapshot and update of the admin feed (the
 * import's progress, the mailer's rate).
 */
void
ed_live_hub_add_snapshot_func (EdLiveHub          *self,
                               EdLiveSnapshotFunc  func,
                               gpointer            user_data)
{
  SnapshotFunc entry = { func, user_data };

  g_return_if_fail (ED_IS_LIVE_HUB (self));
  g_return_if_fail (func != NULL);

  g_array_append_val (self->snapshot_funcs, entry);
}

/**
 * ed_live_hub_event_changed:
 * @self: a hub
 * @event_id: the event whose guests, answers, mail or import changed
 *
 * Marks the event's numbers for the next tick; cheap, and nothing
 * happens when nobody follows the event. Main context only; other
 * threads call ed_live_hub_event_changed_from_thread().
 */
void
ed_live_hub_event_changed (EdLiveHub *self,
                           gint64     event_id)
{
  LiveEvent *event;

  g_return_if_fail (ED_IS_LIVE_HUB (self));

  event = g_hash_table_lookup (self->events, &event_id);
  if (event == NULL)
    return;

  event->mail_dirty = TRUE;
  if (!event->dirty)
    {
      event->dirty = TRUE;
      g_hash_table_add (self->dirty, event);
    }
  schedule_tick (self);
}

static gboolean
drain_thread_changes_cb (gpointer user_data)
{
  EdLiveHub *self = user_data;
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_mutex_lock (&self->thread_lock);
  g_array_append_vals (changes, self->thread_changes->data, self->thread_changes->len);
  g_array_set_size (self->thread_changes, 0);
  self->thread_scheduled = FALSE;
  g_mutex_unlock (&self->thread_lock);

  for (guint i = 0; i < changes->len; i++)
    ed_live_hub_event_changed (self, g_array_index (changes, gint64, i));

  return G_SOURCE_REMOVE;
}

/**
 * ed_live_hub_event_changed_from_thread:
 *
 * As ed_live_hub_event_changed(), from any thread: the change is handed
 * to the hub's main context, many changes in one go.
 */
void
ed_live_hub_event_changed_from_thread (EdLiveHub *self,
                                       gint64     event_id)
{
  g_return_if_fail (ED_IS_LIVE_HUB (self));

  g_mutex_lock (&self->thread_lock);
  for (guint i = 0; i < self->thread_changes->len; i++)
    if (g_array_index (self->thread_changes, gint64, i) == event_id)
      {
        event_id = 0;
        break;
      }
  if (event_id != 0)
    g_array_append_val (self->thread_changes, event_id);
  if (!self->thread_scheduled)
    {
      self->thread_scheduled = TRUE;
      g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, drain_thread_changes_cb,
                                  g_object_ref (self), g_object_unref);
    }
  g_mutex_unlock (&self->thread_lock);
}

/**
 * ed_live_hub_add_admin:
 * @stream: the connection of /api/v1/live, stolen from the server once
 *   its 101 went out; the WebSocket on it is made on the live-feed thread
 * @uri: the request's URI
 * @socket: its socket, for watching how much it has not taken yet
 * @session_expires_at: when the session of the upgrade request's bearer
 *   token ends, or 0 when the request had none: then the client must
 *   send an "auth" message within AUTH_TIMEOUT_S
 */
void
ed_live_hub_add_admin (EdLiveHub *self,
                       GIOStream *stream,
                       GUri      *uri,
                       GSocket   *socket,
                       gint64     session_expires_at)
{
  LiveClient *client;
  g_autoptr(GInetSocketAddress) address = NULL;
  g_autofree char *text = NULL;

  g_return_if_fail (ED_IS_LIVE_HUB (self));
  g_return_if_fail (G_IS_IO_STREAM (stream));
  g_return_if_fail (G_IS_SOCKET (socket));

  address = (GInetSocketAddress *) g_socket_get_remote_address (socket, NULL);
  if (address != NULL && G_IS_INET_SOCKET_ADDRESS (address))
    text = g_inet_address_to_string (g_inet_socket_address_get_address (address));

  client = add_client (self, ED_LIVE_CLIENT_ADMIN, stream, uri, socket, text);
  self->stats.admin_clients++;

  if (session_expires_at > 0)
    set_authenticated (client, session_expires_at);
  else
    client->auth_deadline_us = g_get_monotonic_time () + AUTH_TIMEOUT_S * G_USEC_PER_SEC;
}

/* Whether another public client from @client_address is allowed. */
gboolean
ed_live_hub_may_add_public (EdLiveHub  *self,
                            const char *client_address)
{
  g_return_val_if_fail (ED_IS_LIVE_HUB (self), FALSE);

  return GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, client_address ? client_address : "-"))
         < PUBLIC_PER_ADDRESS;
}

/**
 * ed_live_hub_add_public:
 * @stream: the connection of /r/{token}/live, as for ed_live_hub_add_admin()
 * @event_id: the event of the guest's link
 * @client_address: the peer's address, for the per-address limit
 *
 * The client gets {"type":"seats","seats_left":N} now and whenever the
 * number changes, nothing else.
 *
 * Returns: %FALSE when the event cannot be read (the connection is
 *   closed with a reason)
 */
gboolean
ed_live_hub_add_public (EdLiveHub  *self,
                        GIOStream  *stream,
                        GUri       *uri,
                        GSocket    *socket,
                        gint64      event_id,
                        const char *client_address)
{
  LiveClient *client;
  LiveEvent *event;
  Subscription *sub;
  guint n;

  g_return_val_if_fail (ED_IS_LIVE_HUB (self), FALSE);
  g_return_val_if_fail (G_IS_IO_STREAM (stream), FALSE);

  client = add_client (self, ED_LIVE_CLIENT_PUBLIC, stream, uri, socket, client_address);
  client->authenticated = TRUE;
  n = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, client->address));
  g_hash_table_insert (self->per_address, g_strdup (client->address), GUINT_TO_POINTER (n + 1));
  self->stats.public_clients++;

  if (!g_hash_table_contains (self->events, &event_id))
    {
      event = get_event (self, event_id);
      if (!build_event (self, event) || event->gone)
        {
          g_hash_table_remove (self->events, &event_id);
          close_client (client, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "Seats cannot be read now");
          return FALSE;
        }
    }
  event = get_event (self, event_id);

  sub = g_new0 (Subscription, 1);
  sub->event = event;
  g_hash_table_insert (client->subscriptions, &sub->event->id, sub);
  g_ptr_array_add (event->subscribers, client);
  flush_client (client, event);

  return TRUE;
}

void
ed_live_hub_get_stats (EdLiveHub      *self,
                       EdLiveHubStats *stats)
{
  g_return_if_fail (ED_IS_LIVE_HUB (self));

  *stats = self->stats;
}

/* Closes every client, for a daemon that stops. */
void
ed_live_hub_close_all (EdLiveHub *self)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (ED_IS_LIVE_HUB (self));

  if (self->clients == NULL)
    return;

  clients = set_to_array (self->clients);
  for (guint i = 0; i < clients->len; i++)
    {
      LiveClient *client = g_ptr_array_index (clients, i);

      close_client (client, CLOSE_GOING_AWAY, "The server is shutting down");
      remove_client (client);
    }
}
