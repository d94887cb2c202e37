/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Passwords in the user's keyring (Secret Service, through libsecret),
 * one per server and username. The local server's is keyed by its data
 * folder, so that another folder never gets a stale password.
 */
void      ed_secret_lookup_async   (const char           *server,
                                    const char           *username,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
char     *ed_secret_lookup_finish  (GAsyncResult         *result,
                                    GError              **error);
void      ed_secret_store_async    (const char           *server,
                                    const char           *username,
                                    const char           *password,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
gboolean  ed_secret_store_finish   (GAsyncResult         *result,
                                    GError              **error);
char     *ed_secret_local_server   (const char           *data_dir);
char     *ed_secret_generate_password (void);

G_END_DECLS
