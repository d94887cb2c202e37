/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "ed-ctl-progress.h"

G_BEGIN_DECLS

typedef struct _EdCtlClient EdCtlClient;

EdCtlClient *ed_ctl_client_new     (const char     *server,
                                    const char     *token);
void         ed_ctl_client_free    (EdCtlClient    *self);
JsonObject  *ed_ctl_client_login   (EdCtlClient    *self,
                                    const char     *username,
                                    const char     *password,
                                    GError        **error);
gboolean     ed_ctl_client_logout  (EdCtlClient    *self,
                                    GError        **error);
JsonObject  *ed_ctl_client_import  (EdCtlClient    *self,
                                    gint64          event_id,
                                    const char     *mode,
                                    GInputStream   *body,
                                    gint64          length,
                                    EdCtlProgress  *progress,
                                    GError        **error);
gboolean     ed_ctl_client_export  (EdCtlClient    *self,
                                    gint64          event_id,
                                    GHashTable     *query,
                                    GOutputStream  *out,
                                    EdCtlProgress  *progress,
                                    gint64         *n_rows,
                                    GError        **error);
JsonObject  *ed_ctl_client_get     (EdCtlClient    *self,
                                    const char     *path,
                                    GError        **error);
JsonObject  *ed_ctl_client_post    (EdCtlClient    *self,
                                    const char     *path,
                                    GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCtlClient, ed_ctl_client_free)

G_END_DECLS
