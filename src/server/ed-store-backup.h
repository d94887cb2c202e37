/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What one backup copied. */
typedef struct
{
  gint   schema_version;
  gint64 pages;
  gint64 page_size;
} EdStoreBackupInfo;

gboolean ed_store_backup (const char         *db_path,
                          const char         *backup_path,
                          EdStoreBackupInfo  *info,
                          GError            **error);

G_END_DECLS
