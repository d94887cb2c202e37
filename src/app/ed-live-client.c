/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-live"

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "ed-live-client.h"

#define FIRST_RETRY_S 1
#define MAX_RETRY_S 30
/* Pings keep NAT and proxies from dropping an idle feed, and find a dead
 * peer once the writes start failing. */
#define KEEPALIVE_S 30
/* A snapshot with five errors and a few dozen campaigns is a few KiB. */
#define MAX_MESSAGE_BYTES (1024 * 1024)
#define CLOSE_POLICY_VIOLATION 1008

struct _EdLiveClient
{
  GObject                  parent_instance;

  /* owned */
  EdClient                *client;
  SoupSession             *session;
  SoupWebsocketConnection *connection;
  SoupMessage             *upgrade;        /* while connecting */
  GCancellable            *connect_cancellable;
  GHashTable              *subscriptions;  /* gint64* event id → GUINT_TO_POINTER (count) */
  GHashTable              *states;         /* gint64* event id → JsonObject */

  guint                    retry_source;
  guint                    retry_delay_s;
  gboolean                 connected;
  /* The daemon refused the token: wait for a new one, do not retry. */
  gboolean                 needs_login;
};

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_CONNECTED,
  N_PROPS
};

enum {
  EVENT_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdLiveClient, ed_live_client, G_TYPE_OBJECT)

static void open_connection (EdLiveClient *self);

static gint64 *
new_key (gint64 event_id)
{
  gint64 *key = g_new (gint64, 1);

  *key = event_id;
  return key;
}

static void
set_connected (EdLiveClient *self,
               gboolean      connected)
{
  if (self->connected == !!connected)
    return;

  self->connected = !!connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

static void
send_message (EdLiveClient *self,
              const char   *type,
              gint64        event_id)
{
  g_autofree char *text = NULL;

  if (!self->connected || self->connection == NULL ||
      soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;

  text = g_strdup_printf ("{\"type\":\"%s\",\"event\":%" G_GINT64_FORMAT "}", type, event_id);
  soup_websocket_connection_send_text (self->connection, text);
}

static void
drop_connection (EdLiveClient *self)
{
  g_cancellable_cancel (self->connect_cancellable);
  g_clear_object (&self->connect_cancellable);
  g_clear_object (&self->upgrade);

  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_clear_object (&self->connection);
    }

  set_connected (self, FALSE);
}

static gboolean
on_retry_cb (gpointer user_data)
{
  EdLiveClient *self = user_data;

  self->retry_source = 0;
  open_connection (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (EdLiveClient *self)
{
  if (self->retry_source != 0 || self->needs_login)
    return;

  g_debug ("Reopening the live feed in %u s", self->retry_delay_s);
  self->retry_source = g_timeout_add_seconds (self->retry_delay_s, on_retry_cb, self);
  self->retry_delay_s = MIN (self->retry_delay_s * 2, MAX_RETRY_S);
}

/* A reply older than the one held (late, after a reconnect) is dropped. */
static gboolean
is_newer (JsonObject *state,
          JsonObject *old)
{
  if (old == NULL)
    return TRUE;

  return json_object_get_int_member_with_default (state, "at", 0) >=
         json_object_get_int_member_with_default (old, "at", 0);
}

static void
handle_state (EdLiveClient *self,
              JsonObject   *message)
{
  JsonNode *event = json_object_get_member (message, "event");
  gint64 event_id;
  JsonObject *old;

  if (event == NULL || json_node_get_value_type (event) != G_TYPE_INT64)
    return;

  event_id = json_node_get_int (event);
  if (!g_hash_table_contains (self->subscriptions, &event_id))
    return;

  old = g_hash_table_lookup (self->states, &event_id);
  if (!is_newer (message, old))
    return;

  g_hash_table_replace (self->states, new_key (event_id), json_object_ref (message));
  g_signal_emit (self, signals[EVENT_CHANGED], 0, event_id, message);
}

static void
handle_authenticated (EdLiveClient *self)
{
  GHashTableIter iter;
  gpointer key;

  self->retry_delay_s = FIRST_RETRY_S;
  set_connected (self, TRUE);

  /* The snapshots bring every event shown up to date. */
  g_hash_table_iter_init (&iter, self->subscriptions);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    send_message (self, "subscribe", *(gint64 *) key);
}

static void
on_connection_message_cb (SoupWebsocketConnection *connection,
                          int                      type,
                          GBytes                  *message,
                          gpointer                 user_data)
{
  EdLiveClient *self = user_data;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  gconstpointer data;
  gsize length;
  JsonNode *root;
  JsonObject *object;
  const char *kind;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;

  data = g_bytes_get_data (message, &length);
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) length, &error))
    {
      g_warning ("The live feed sent something that is not JSON: %s", error->message);
      return;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;

  object = json_node_get_object (root);
  kind = json_object_get_string_member_with_default (object, "type", "");

  if (strcmp (kind, "authenticated") == 0)
    handle_authenticated (self);
  else if (strcmp (kind, "snapshot") == 0 || strcmp (kind, "update") == 0)
    handle_state (self, object);
  else if (strcmp (kind, "error") == 0)
    g_debug ("The live feed refused a message: %s",
             json_object_get_string_member_with_default (object, "message", ""));
}

static void
on_connection_closed_cb (SoupWebsocketConnection *connection,
                         gpointer                 user_data)
{
  EdLiveClient *self = user_data;
  gushort code = soup_websocket_connection_get_close_code (connection);
  const char *reason = soup_websocket_connection_get_close_data (connection);

  g_debug ("The live feed closed: %u %s", code, reason ? reason : "");

  /* The session ended: EdWindow logs in again, which sets a new token
   * (on_client_token_cb). Retrying the old token would only be refused. */
  if (code == CLOSE_POLICY_VIOLATION && reason != NULL && strstr (reason, "session") != NULL)
    {
      self->needs_login = TRUE;
      g_signal_emit_by_name (self->client, "session-expired");
    }

  g_signal_handlers_disconnect_by_data (connection, self);
  g_clear_object (&self->connection);
  set_connected (self, FALSE);
  schedule_retry (self);
}

static void
on_connection_error_cb (SoupWebsocketConnection *connection,
                        GError                  *error,
                        gpointer                 user_data)
{
  g_debug ("The live feed failed: %s", error->message);
}

static void
on_connected_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(EdLiveClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) upgrade = NULL;
  SoupWebsocketConnection *connection;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->connect_cancellable);
  upgrade = g_steal_pointer (&self->upgrade);

  if (connection == NULL)
    {
      g_debug ("Cannot open the live feed: %s", error->message);
      if (upgrade != NULL && soup_message_get_status (upgrade) == SOUP_STATUS_UNAUTHORIZED)
        {
          self->needs_login = TRUE;
          g_signal_emit_by_name (self->client, "session-expired");
        }
      schedule_retry (self);
      return;
    }

  self->connection = connection;
  soup_websocket_connection_set_max_incoming_payload_size (connection, MAX_MESSAGE_BYTES);
  soup_websocket_connection_set_keepalive_interval (connection, KEEPALIVE_S);
  g_signal_connect (connection, "message", G_CALLBACK (on_connection_message_cb), self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed_cb), self);
  g_signal_connect (connection, "error", G_CALLBACK (on_connection_error_cb), self);
}

static void
open_connection (EdLiveClient *self)
{
  const char *token = ed_client_get_token (self->client);
  g_autofree char *url = NULL;
  g_autofree char *authorization = NULL;
  g_autoptr(SoupMessage) msg = NULL;

  g_clear_handle_id (&self->retry_source, g_source_remove);
  drop_connection (self);

  if (token == NULL || self->needs_login)
    return;

  url = g_strconcat (ed_client_get_base_url (self->client), "/api/v1/live", NULL);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      g_warning ("Cannot open the live feed of %s: not a server address",
                 ed_client_get_base_url (self->client));
      return;
    }

  authorization = g_strconcat ("Bearer ", token, NULL);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
  g_set_object (&self->upgrade, msg);

  self->connect_cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connect_cancellable,
                                        on_connected_cb, g_object_ref (self));
}

static void
on_client_token_cb (EdLiveClient *self)
{
  self->needs_login = FALSE;
  self->retry_delay_s = FIRST_RETRY_S;
  open_connection (self);
}

/* A call got through again: no need to wait out the back-off. */
static void
on_client_reachable_cb (EdLiveClient *self)
{
  if (self->retry_source != 0 && ed_client_get_reachable (self->client))
    open_connection (self);
}

static void
ed_live_client_dispose (GObject *object)
{
  EdLiveClient *self = (EdLiveClient *)object;

  g_clear_handle_id (&self->retry_source, g_source_remove);
  drop_connection (self);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (ed_live_client_parent_class)->dispose (object);
}

static void
ed_live_client_finalize (GObject *object)
{
  EdLiveClient *self = (EdLiveClient *)object;

  g_clear_object (&self->session);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  g_clear_pointer (&self->states, g_hash_table_unref);

  G_OBJECT_CLASS (ed_live_client_parent_class)->finalize (object);
}

static void
ed_live_client_constructed (GObject *object)
{
  EdLiveClient *self = (EdLiveClient *)object;

  G_OBJECT_CLASS (ed_live_client_parent_class)->constructed (object);

  g_assert (ED_IS_CLIENT (self->client));
  g_signal_connect_swapped (self->client, "notify::token", G_CALLBACK (on_client_token_cb), self);
  g_signal_connect_swapped (self->client, "notify::reachable", G_CALLBACK (on_client_reachable_cb), self);
  open_connection (self);
}

static void
ed_live_client_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  EdLiveClient *self = ED_LIVE_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_live_client_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  EdLiveClient *self = ED_LIVE_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_live_client_class_init (EdLiveClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = ed_live_client_constructed;
  object_class->dispose = ed_live_client_dispose;
  object_class->finalize = ed_live_client_finalize;
  object_class->get_property = ed_live_client_get_property;
  object_class->set_property = ed_live_client_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, ED_TYPE_CLIENT,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * EdLiveClient::event-changed:
   * @event_id: the event
   * @state: (transfer none): its new state, as ed_live_client_get_state()
   */
  signals[EVENT_CHANGED] =
    g_signal_new ("event-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_INT64, JSON_TYPE_OBJECT | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
ed_live_client_init (EdLiveClient *self)
{
  g_autofree char *user_agent = g_strdup_printf ("eventdesk/%s ", PACKAGE_VERSION);

  self->session = soup_session_new_with_options ("user-agent", user_agent, NULL);
  self->subscriptions = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->states = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                        (GDestroyNotify) json_object_unref);
  self->retry_delay_s = FIRST_RETRY_S;
}

/**
 * ed_live_client_new:
 * @client: a client, logged in or about to be
 *
 * Returns: (transfer full): a live client that opens the feed as soon as
 *   @client has a token
 */
EdLiveClient *
ed_live_client_new (EdClient *client)
{
  g_return_val_if_fail (ED_IS_CLIENT (client), NULL);

  return g_object_new (ED_TYPE_LIVE_CLIENT, "client", client, NULL);
}

EdClient *
ed_live_client_get_client (EdLiveClient *self)
{
  g_return_val_if_fail (ED_IS_LIVE_CLIENT (self), NULL);

  return self->client;
}

void
ed_live_client_subscribe (EdLiveClient *self,
                          gint64        event_id)
{
  guint count;

  g_return_if_fail (ED_IS_LIVE_CLIENT (self));
  g_return_if_fail (event_id > 0);

  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->subscriptions, &event_id));
  g_hash_table_replace (self->subscriptions, new_key (event_id), GUINT_TO_POINTER (count + 1));
  if (count == 0)
    send_message (self, "subscribe", event_id);
}

void
ed_live_client_unsubscribe (EdLiveClient *self,
                            gint64        event_id)
{
  guint count;

  g_return_if_fail (ED_IS_LIVE_CLIENT (self));

  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->subscriptions, &event_id));
  g_return_if_fail (count > 0);

  if (count > 1)
    {
      g_hash_table_replace (self->subscriptions, new_key (event_id), GUINT_TO_POINTER (count - 1));
      return;
    }

  g_hash_table_remove (self->subscriptions, &event_id);
  g_hash_table_remove (self->states, &event_id);
  send_message (self, "unsubscribe", event_id);
}

gboolean
ed_live_client_get_connected (EdLiveClient *self)
{
  g_return_val_if_fail (ED_IS_LIVE_CLIENT (self), FALSE);

  return self->connected;
}

JsonObject *
ed_live_client_get_state (EdLiveClient *self,
                          gint64        event_id)
{
  g_return_val_if_fail (ED_IS_LIVE_CLIENT (self), NULL);

  return g_hash_table_lookup (self->states, &event_id);
}

void
ed_live_client_reconnect (EdLiveClient *self)
{
  g_return_if_fail (ED_IS_LIVE_CLIENT (self));

  self->needs_login = FALSE;
  open_connection (self);
}
