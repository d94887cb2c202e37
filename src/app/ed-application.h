/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-client.h"
#include "ed-local-daemon.h"

G_BEGIN_DECLS

#define ED_TYPE_APPLICATION (ed_application_get_type ())

G_DECLARE_FINAL_TYPE (EdApplication, ed_application, ED, APPLICATION, AdwApplication)

EdApplication *ed_application_new          (const char        *application_id,
                                            GApplicationFlags  flags);
GSettings     *ed_application_get_settings (EdApplication     *self);
EdLocalDaemon *ed_application_get_local_daemon (EdApplication *self);

void      ed_application_connect_local_async  (EdApplication        *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
void      ed_application_connect_server_async (EdApplication        *self,
                                               const char           *url,
                                               const char           *username,
                                               const char           *password,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
EdClient *ed_application_connect_finish       (EdApplication        *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void      ed_application_relogin_async        (EdApplication        *self,
                                               EdClient             *client,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean  ed_application_relogin_finish       (EdApplication        *self,
                                               GAsyncResult         *result,
                                               GError              **error);
char     *ed_application_describe_error       (const GError         *error,
                                               const char           *url);

G_END_DECLS
