/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ed-store.h"

G_BEGIN_DECLS

typedef struct _EdExportJob EdExportJob;

/* Called on the job's main context when a chunk is ready for a consumer
 * that found none.
 */
typedef void (*EdExportReadyFunc) (gpointer user_data);

EdExportJob *ed_export_job_new             (const char          *db_path,
                                            gint64               event_id,
                                            const EdGuestQuery  *query);
EdExportJob *ed_export_job_ref             (EdExportJob         *self);
void         ed_export_job_unref           (EdExportJob         *self);

void         ed_export_job_set_ready_func  (EdExportJob         *self,
                                            EdExportReadyFunc    func,
                                            gpointer             user_data);
void         ed_export_job_run_async       (EdExportJob         *self,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
gboolean     ed_export_job_run_finish      (EdExportJob         *self,
                                            GAsyncResult        *result,
                                            gint64              *n_rows,
                                            GError             **error);
GBytes      *ed_export_job_take_chunk      (EdExportJob         *self);
void         ed_export_job_cancel          (EdExportJob         *self);
gboolean     ed_export_job_wait            (EdExportJob         *self,
                                            gint64               timeout_us);

/* Exposed for the tests. */
gboolean     ed_export_parse_extra         (char                *json,
                                            GPtrArray           *keys,
                                            GPtrArray           *values);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdExportJob, ed_export_job_unref)

G_END_DECLS
