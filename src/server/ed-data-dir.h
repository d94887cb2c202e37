/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean  ed_data_dir_prepare     (const char  *path,
                                   GError     **error);
int       ed_data_dir_lock        (const char  *lock_path,
                                   const char  *data_dir,
                                   GError     **error);
GBytes   *ed_data_dir_load_secret (const char  *path,
                                   GError     **error);

G_END_DECLS
