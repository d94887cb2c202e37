/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ed-config.h"
#include "ed-store.h"

G_BEGIN_DECLS

#define ED_TYPE_DAEMON (ed_daemon_get_type ())

G_DECLARE_FINAL_TYPE (EdDaemon, ed_daemon, ED, DAEMON, GObject)

EdDaemon   *ed_daemon_new              (EdConfig  *config);
gboolean    ed_daemon_start            (EdDaemon  *self,
                                        GError   **error);
void        ed_daemon_begin_shutdown   (EdDaemon  *self);
void        ed_daemon_stop             (EdDaemon  *self);
const char *ed_daemon_get_url          (EdDaemon  *self);
const char *ed_daemon_get_public_url   (EdDaemon  *self);
EdStore    *ed_daemon_get_store        (EdDaemon  *self);

G_END_DECLS
