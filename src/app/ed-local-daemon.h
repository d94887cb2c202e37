/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  ED_LOCAL_DAEMON_STOPPED,
  ED_LOCAL_DAEMON_STARTING,
  ED_LOCAL_DAEMON_RUNNING,
  ED_LOCAL_DAEMON_RESTARTING, /* it died; see "restart-in" */
} EdLocalDaemonState;

#define ED_TYPE_LOCAL_DAEMON (ed_local_daemon_get_type ())

G_DECLARE_FINAL_TYPE (EdLocalDaemon, ed_local_daemon, ED, LOCAL_DAEMON, GObject)

char               *ed_local_daemon_find_program       (void);
char               *ed_local_daemon_default_data_dir   (void);
EdLocalDaemon      *ed_local_daemon_new                (const char           *program,
                                                        const char           *data_dir);
const char         *ed_local_daemon_get_data_dir       (EdLocalDaemon        *self);
const char         *ed_local_daemon_get_url            (EdLocalDaemon        *self);
EdLocalDaemonState  ed_local_daemon_get_state          (EdLocalDaemon        *self);
guint               ed_local_daemon_get_restart_in     (EdLocalDaemon        *self);
const char         *ed_local_daemon_get_pid            (EdLocalDaemon        *self);
void                ed_local_daemon_set_admin_async    (EdLocalDaemon        *self,
                                                        const char           *username,
                                                        const char           *password,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
gboolean            ed_local_daemon_set_admin_finish   (EdLocalDaemon        *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);
void                ed_local_daemon_start_async        (EdLocalDaemon        *self,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
gboolean            ed_local_daemon_start_finish       (EdLocalDaemon        *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);
void                ed_local_daemon_stop               (EdLocalDaemon        *self);

G_END_DECLS
