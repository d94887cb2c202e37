/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "ed-import-report.h"

G_BEGIN_DECLS

typedef enum
{
  ED_IMPORT_STATE_RECEIVING,  /* the file is arriving; rows are checked and staged */
  ED_IMPORT_STATE_SAVING,     /* the staged rows go into the event */
  ED_IMPORT_STATE_DONE,
  ED_IMPORT_STATE_FAILED,     /* refused, cut off or broken: nothing was written */
} EdImportState;

typedef struct _EdImportJob EdImportJob;

/* Called on the job's main context once the worker has caught up with
 * the chunks pushed so far, after ed_import_job_push() asked for a pause.
 */
typedef void (*EdImportResumeFunc) (gpointer user_data);

/* Called from the job's worker thread when its progress moved. */
typedef void (*EdImportProgressFunc) (gint64   event_id,
                                      gpointer user_data);

EdImportJob    *ed_import_job_new              (const char          *db_path,
                                                gint64               event_id,
                                                EdImportMode         mode,
                                                gint64               bytes_expected);
EdImportJob    *ed_import_job_ref              (EdImportJob         *self);
void            ed_import_job_unref            (EdImportJob         *self);

gint64          ed_import_job_get_event_id     (EdImportJob         *self);
EdImportState   ed_import_job_get_state        (EdImportJob         *self);
void            ed_import_job_set_resume_func  (EdImportJob         *self,
                                                EdImportResumeFunc   func,
                                                gpointer             user_data);
void            ed_import_job_set_progress_func (EdImportJob        *self,
                                                EdImportProgressFunc func,
                                                gpointer             user_data);

void            ed_import_job_run_async        (EdImportJob         *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
EdImportReport *ed_import_job_run_finish       (EdImportJob         *self,
                                                GAsyncResult        *result,
                                                GError             **error);

gboolean        ed_import_job_push             (EdImportJob         *self,
                                                GBytes              *chunk);
void            ed_import_job_end_input        (EdImportJob         *self);
void            ed_import_job_break_input      (EdImportJob         *self,
                                                const char          *code,
                                                const char          *message);

gboolean        ed_import_job_wait             (EdImportJob         *self,
                                                gint64               timeout_us);
gint64          ed_import_job_get_finished_at  (EdImportJob         *self);
const char     *ed_import_job_get_error_code   (EdImportJob         *self);
void            ed_import_job_add_progress     (EdImportJob         *self,
                                                JsonBuilder         *builder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdImportJob, ed_import_job_unref)

G_END_DECLS
