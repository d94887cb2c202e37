/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ed-store.h"

G_BEGIN_DECLS

typedef struct _EdImportSpool EdImportSpool;

EdImportSpool *ed_import_spool_new          (GError            **error);
void           ed_import_spool_free         (EdImportSpool      *self);

/* The writer's side. */
gboolean       ed_import_spool_write        (EdImportSpool      *self,
                                             const EdImportRow  *row,
                                             GError            **error);
gboolean       ed_import_spool_publish      (EdImportSpool      *self,
                                             GError            **error);
void           ed_import_spool_close        (EdImportSpool      *self,
                                             gboolean            complete);

/* The reader's side, in another thread. */
void           ed_import_spool_wait         (EdImportSpool      *self,
                                             GCancellable       *cancellable);
void           ed_import_spool_rewind       (EdImportSpool      *self);
gboolean       ed_import_spool_read         (EdImportSpool      *self,
                                             gint64              max_wait_us,
                                             GCancellable       *cancellable,
                                             gint64             *waited_us,
                                             EdImportRow        *row,
                                             GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdImportSpool, ed_import_spool_free)

G_END_DECLS
