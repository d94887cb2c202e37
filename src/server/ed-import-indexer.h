/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EdImportIndexer EdImportIndexer;

EdImportIndexer *ed_import_indexer_new  (const char      *db_path);
void             ed_import_indexer_free (EdImportIndexer *self);
void             ed_import_indexer_kick (EdImportIndexer *self);
void             ed_import_indexer_stop (EdImportIndexer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdImportIndexer, ed_import_indexer_free)

G_END_DECLS
