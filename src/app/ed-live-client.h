/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "ed-client.h"

G_BEGIN_DECLS

/* The daemon's live feed (/api/v1/live, docs/live.md) for one EdClient:
 * one WebSocket, opened with the client's session token, reopened by
 * itself with a back-off (1 s, 2 s, 4 s… up to 30 s) after the daemon
 * went away, and again at once when the token changes. Pages subscribe to
 * the events they show; every snapshot and update of a subscribed event
 * replaces its state and emits "event-changed" (event id, state).
 *
 * The state is the daemon's last snapshot or update message for the
 * event: `at`, `stats`, `waitlist`, `queue`, `campaigns`, `errors`,
 * `import`, `mail` (and `deleted` once the event is gone).
 */
#define ED_TYPE_LIVE_CLIENT (ed_live_client_get_type ())

G_DECLARE_FINAL_TYPE (EdLiveClient, ed_live_client, ED, LIVE_CLIENT, GObject)

EdLiveClient *ed_live_client_new           (EdClient     *client);
EdClient     *ed_live_client_get_client    (EdLiveClient *self);

/* Counted: N subscribes of an event need N unsubscribes. */
void          ed_live_client_subscribe     (EdLiveClient *self,
                                            gint64        event_id);
void          ed_live_client_unsubscribe   (EdLiveClient *self,
                                            gint64        event_id);

/* Property "connected": the WebSocket is open and authenticated. */
gboolean      ed_live_client_get_connected (EdLiveClient *self);

/* The latest snapshot or update of @event_id (transfer none), or NULL
 * before the first one or when it is not subscribed. */
JsonObject   *ed_live_client_get_state     (EdLiveClient *self,
                                            gint64        event_id);

/* For tests: opens the WebSocket now instead of after the back-off. */
void          ed_live_client_reconnect     (EdLiveClient *self);

G_END_DECLS
