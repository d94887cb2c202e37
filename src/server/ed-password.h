/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define ED_PASSWORD_MIN_LENGTH 8
#define ED_PASSWORD_MAX_LENGTH 1024

gboolean  ed_password_check_strength (const char           *password,
                                      GError              **error);
char     *ed_password_hash           (const char           *password,
                                      GError              **error);
gboolean  ed_password_verify         (const char           *password,
                                      const char           *hash);
void      ed_password_verify_async   (const char           *password,
                                      const char           *hash,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data);
gboolean  ed_password_verify_finish  (GAsyncResult         *result,
                                      GError              **error);

G_END_DECLS
