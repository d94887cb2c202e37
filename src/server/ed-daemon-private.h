/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "ed-daemon.h"
#include "ed-import-job.h"
#include "ed-live-hub.h"
#include "ed-login-throttle.h"
#include "ed-mailer.h"
#include "ed-metrics.h"
#include "ed-router.h"

G_BEGIN_DECLS

typedef struct _EdTransfers EdTransfers;

struct _EdDaemon
{
  GObject          parent_instance;

  /* owned */
  EdConfig        *config;
  EdStore         *store;
  GBytes          *secret;
  SoupServer      *server;
  EdRouter        *router;
  EdLoginThrottle *throttle;
  EdTransfers     *transfers;
  EdMailer        *mailer;
  EdLiveHub       *live;
  EdMetrics       *metrics;
  char            *dummy_hash;
  char            *url;
  char            *public_url;
  int              lock_fd;
  guint            prune_source;

  /* state */
  guint            in_flight;
  gboolean         shutting_down;
};

void ed_daemon_add_session_routes (EdDaemon *self);
void ed_daemon_add_event_routes   (EdDaemon *self);
void ed_daemon_add_guest_routes   (EdDaemon *self);
void ed_daemon_add_transfer_routes (EdDaemon *self);
void ed_daemon_stop_transfers      (EdDaemon *self);
gboolean ed_daemon_add_rsvp_routes (EdDaemon  *self,
                                    GError   **error);
void     ed_daemon_wake_mailer     (EdDaemon  *self);
gboolean ed_daemon_add_campaign_routes (EdDaemon  *self,
                                        GError   **error);
char    *ed_daemon_get_mail_transport_url (EdDaemon *self);
EdStore *ed_daemon_open_writer     (EdDaemon  *self,
                                    GError   **error);
gboolean ed_daemon_add_unsubscribe_routes (EdDaemon  *self,
                                           GError   **error);
void ed_daemon_add_live_routes     (EdDaemon *self);
void ed_daemon_follow_mailer       (EdDaemon *self);
void ed_daemon_campaign_changed    (EdDaemon *self,
                                    gint64    campaign_id);

gboolean     ed_daemon_origin_allowed  (EdDaemon           *self,
                                        SoupServerMessage  *msg);
gint64       ed_daemon_verify_session  (EdDaemon           *self,
                                        const char         *token,
                                        GError            **error);
void         ed_daemon_request_stolen  (EdDaemon           *self,
                                        SoupServerMessage  *msg);
gboolean     ed_daemon_check_rsvp_link (EdDaemon           *self,
                                        const char         *token,
                                        gint64             *event_id,
                                        GError            **error);
EdImportJob *ed_daemon_get_import      (EdDaemon           *self,
                                        gint64              event_id);

G_END_DECLS
