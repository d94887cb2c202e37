/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "ed-store.h"

G_BEGIN_DECLS

#define ED_TYPE_LIVE_HUB (ed_live_hub_get_type ())

G_DECLARE_FINAL_TYPE (EdLiveHub, ed_live_hub, ED, LIVE_HUB, GObject)

/* Updates go out at most once per ED_LIVE_HUB_TICK_MS per event and client. */
#define ED_LIVE_HUB_TICK_MS 100

typedef enum
{
  ED_LIVE_CLIENT_ADMIN,   /* /api/v1/live: the whole snapshot of the events it subscribes to */
  ED_LIVE_CLIENT_PUBLIC,  /* /r/{token}/live: seats left of one event, nothing else */
} EdLiveClientKind;

/* Checks a session token sent in an "auth" message; returns when the
 * session ends (Unix seconds), or 0 with @error set.
 */
typedef gint64 (*EdLiveAuthFunc)     (const char   *token,
                                      gpointer      user_data,
                                      GError      **error);

/* Adds members of an outside part (the import's progress, the mailer's
 * rate) to the object @builder is in, for @event_id; runs on the main
 * context and must not block.
 */
typedef void   (*EdLiveSnapshotFunc) (gint64        event_id,
                                      JsonBuilder  *builder,
                                      gpointer      user_data);

/* The current send rate of a campaign, messages per second. */
typedef double (*EdLiveRateFunc)     (gint64        campaign_id,
                                      gpointer      user_data);

typedef struct
{
  guint   admin_clients;
  guint   public_clients;
  guint64 updates_sent;     /* update and seats messages sent */
  guint64 updates_skipped;  /* held back for a client that did not keep up */
  guint64 clients_closed_slow;
} EdLiveHubStats;

EdLiveHub *ed_live_hub_new               (EdStore             *store);
void       ed_live_hub_set_auth_func     (EdLiveHub           *self,
                                          EdLiveAuthFunc       func,
                                          gpointer             user_data);
void       ed_live_hub_add_snapshot_func (EdLiveHub           *self,
                                          EdLiveSnapshotFunc   func,
                                          gpointer             user_data);
void       ed_live_hub_set_rate_func     (EdLiveHub           *self,
                                          EdLiveRateFunc       func,
                                          gpointer             user_data);

void       ed_live_hub_event_changed     (EdLiveHub           *self,
                                          gint64               event_id);
void       ed_live_hub_event_changed_from_thread (EdLiveHub   *self,
                                          gint64               event_id);

void       ed_live_hub_add_admin         (EdLiveHub           *self,
                                          GIOStream           *stream,
                                          GUri                *uri,
                                          GSocket             *socket,
                                          gint64               session_expires_at);
gboolean   ed_live_hub_add_public        (EdLiveHub           *self,
                                          GIOStream           *stream,
                                          GUri                *uri,
                                          GSocket             *socket,
                                          gint64               event_id,
                                          const char          *client_address);
gboolean   ed_live_hub_may_add_public    (EdLiveHub               *self,
                                          const char              *client_address);

void       ed_live_hub_get_stats         (EdLiveHub           *self,
                                          EdLiveHubStats      *stats);
void       ed_live_hub_close_all         (EdLiveHub           *self);

G_END_DECLS
