/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-import-job.h"
#include "ed-import-parser.h"
#include "ed-import-spool.h"
#include "ed-json-util.h"
#include "ed-store.h"
#include "ed-time-util.h"

/* One guest import: the main loop pushes the upload's chunks as they
 * arrive; a worker thread parses and checks them and spools the rows to a
 * temporary file (ed-import-spool.c), while a second thread adds them to
 * the event in one transaction on a database connection of its own
 * (ed-store-import.c). The main loop never waits for the worker: it pauses
 * the upload when the worker falls behind by more than QUEUE_HIGH bytes,
 * and the worker has it resumed once it is back under QUEUE_LOW.
 */

#define QUEUE_HIGH (4 * 1024 * 1024)
#define QUEUE_LOW (1024 * 1024)

/* One import at a time holds the write lock: others wait their turn here
 * rather than in SQLite's busy timeout.
 */
static GMutex apply_lock;

struct _EdImportJob
{
  /* set once */
  char               *db_path;
  gint64              event_id;
  EdImportMode        mode;
  gint64              bytes_expected;   /* -1 when the upload is chunked */
  GMainContext       *main_context;
  gint64              started_at;

  /* main context only */
  EdImportResumeFunc  resume_func;
  gpointer            resume_data;

  /* set before the worker starts */
  EdImportProgressFunc progress_func;
  gpointer            progress_data;

  /* guarded by mutex */
  GMutex              mutex;
  GCond               cond;
  GQueue              chunks;           /* GBytes */
  gsize               queued_bytes;
  gboolean            pause_requested;
  gboolean            input_ended;
  gboolean            input_broken;
  gboolean            cancelled;
  EdImportState       state;
  gint64              bytes_received;
  gint64              rows;
  gint64              rejected;
  gint64              finished_at;
  EdImportReport     *report;           /* once done */
  char               *error_code;       /* once failed */
  char               *error_message;
};

static void
ed_import_job_free (EdImportJob *self)
{
  g_queue_clear_full (&self->chunks, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->report, ed_import_report_free);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_free (self->db_path);
  g_free (self->error_code);
  g_free (self->error_message);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
}

/**
 * ed_import_job_new:
 * @db_path: the database; the worker opens a connection of its own
 * @event_id: the event the guests join
 * @mode: what to do with addresses already there, or a dry run
 * @bytes_expected: the upload's Content-Length, or -1
 *
 * The job belongs to the thread-default main context of its caller.
 */
EdImportJob *
ed_import_job_new (const char   *db_path,
                   gint64        event_id,
                   EdImportMode  mode,
                   gint64        bytes_expected)
{
  EdImportJob *self = g_atomic_rc_box_new0 (EdImportJob);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  g_queue_init (&self->chunks);
  self->db_path = g_strdup (db_path);
  self->event_id = event_id;
  self->mode = mode;
  self->bytes_expected = bytes_expected;
  self->main_context = g_main_context_ref_thread_default ();
  self->started_at = ed_time_now ();
  self->state = ED_IMPORT_STATE_RECEIVING;

  return self;
}

EdImportJob *
ed_import_job_ref (EdImportJob *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
ed_import_job_unref (EdImportJob *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify) ed_import_job_free);
}

gint64
ed_import_job_get_event_id (EdImportJob *self)
{
  return self->event_id;
}

EdImportState
ed_import_job_get_state (EdImportJob *self)
{
  EdImportState state;

  g_mutex_lock (&self->mutex);
  state = self->state;
  g_mutex_unlock (&self->mutex);

  return state;
}

void
ed_import_job_set_resume_func (EdImportJob        *self,
                               EdImportResumeFunc  func,
                               gpointer            user_data)
{
  self->resume_func = func;
  self->resume_data = user_data;
}

/* Before ed_import_job_run_async(): the live feed follows the import. */
void
ed_import_job_set_progress_func (EdImportJob          *self,
                                 EdImportProgressFunc  func,
                                 gpointer              user_data)
{
  self->progress_func = func;
  self->progress_data = user_data;
}

static gboolean
resume_cb (gpointer user_data)
{
  EdImportJob *self = user_data;

  if (self->resume_func != NULL)
    self->resume_func (self->resume_data);

  return G_SOURCE_REMOVE;
}

/**
 * ed_import_job_push:
 * @chunk: the next bytes of the upload
 *
 * Returns: %TRUE when the worker is behind and the upload should pause
 *   until the resume function is called
 */
gboolean
ed_import_job_push (EdImportJob *self,
                    GBytes      *chunk)
{
  gboolean pause = FALSE;

  g_mutex_lock (&self->mutex);
  self->bytes_received += g_bytes_get_size (chunk);
  if (self->state == ED_IMPORT_STATE_RECEIVING && !self->input_ended && !self->input_broken)
    {
      g_queue_push_tail (&self->chunks, g_bytes_ref (chunk));
      self->queued_bytes += g_bytes_get_size (chunk);
      if (self->queued_bytes >= QUEUE_HIGH)
        pause = self->pause_requested = TRUE;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->mutex);

  return pause;
}

/* The whole upload has arrived. */
void
ed_import_job_end_input (EdImportJob *self)
{
  g_mutex_lock (&self->mutex);
  self->input_ended = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

/* The upload broke off: the import fails with @code and writes nothing. */
void
ed_import_job_break_input (EdImportJob *self,
                           const char  *code,
                           const char  *message)
{
  g_mutex_lock (&self->mutex);
  if (!self->input_broken && self->state == ED_IMPORT_STATE_RECEIVING)
    {
      self->input_broken = TRUE;
      g_free (self->error_code);
      g_free (self->error_message);
      self->error_code = g_strdup (code);
      self->error_message = g_strdup (message);
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

static void
on_cancelled_cb (GCancellable *cancellable,
                 EdImportJob  *self)
{
  g_mutex_lock (&self->mutex);
  self->cancelled = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

/* Takes the next chunk, or NULL at the end of the input; sets @error when
 * the input broke off or the job was cancelled.
 */
static GBytes *
next_chunk (EdImportJob  *self,
            GError      **error)
{
  GBytes *chunk = NULL;

  g_mutex_lock (&self->mutex);
  while (g_queue_is_empty (&self->chunks) && !self->input_ended &&
         !self->input_broken && !self->cancelled)
    g_cond_wait (&self->cond, &self->mutex);

  if (self->cancelled)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The import was cancelled");
  else if (self->input_broken)
    g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, self->error_message);
  else if ((chunk = g_queue_pop_head (&self->chunks)) != NULL)
    {
      self->queued_bytes -= g_bytes_get_size (chunk);
      if (self->pause_requested && self->queued_bytes <= QUEUE_LOW)
        {
          self->pause_requested = FALSE;
          g_main_context_invoke_full (self->main_context, G_PRIORITY_DEFAULT, resume_cb,
                                      ed_import_job_ref (self), (GDestroyNotify) ed_import_job_unref);
        }
    }
  g_mutex_unlock (&self->mutex);

  return chunk;
}

static void
publish_progress (EdImportJob          *self,
                  const EdImportReport *report,
                  EdImportState         state)
{
  g_mutex_lock (&self->mutex);
  self->rows = report->rows;
  self->rejected = report->rejected;
  if (self->state != ED_IMPORT_STATE_FAILED)
    self->state = state;
  g_mutex_unlock (&self->mutex);

  if (self->progress_func != NULL)
    self->progress_func (self->event_id, self->progress_data);
}

static gboolean
spool_row_cb (const EdImportRow  *row,
              gpointer            user_data,
              GError            **error)
{
  return ed_import_spool_write (user_data, row, error);
}

/* Adding the rows to the event starts with the upload, on a thread of its
 * own, reading the spool as the parser fills it: the insert is the longer
 * half of the work, and it need not wait for the end of the file. Its
 * transaction only commits once the whole file has been read and
 * accepted. If the upload is slower than the insert, holding the write
 * lock while waiting for it would keep every other writer waiting: after
 * STALL_BUDGET_US of waiting in all, the early insert gives up (rolling
 * back) and the rows are added after the upload, from the spool.
 */
#define STALL_BUDGET_US (G_USEC_PER_SEC / 4)
#define EARLY_LOCK_TIMEOUT_MS 1000
#define LATE_LOCK_TIMEOUT_MS 60000

typedef struct
{
  EdImportJob    *job;
  EdImportSpool  *spool;
  GCancellable   *cancellable;
  gint64          budget_us;    /* -1: wait as long as it takes */

  /* results */
  gboolean        applied;
  EdImportCounts  counts;
  GError         *error;
} Apply;

static gboolean
next_row_cb (gpointer      user_data,
             EdImportRow  *row,
             GError      **error)
{
  Apply *apply = user_data;
  gint64 waited = 0;
  gboolean ok;

  ok = ed_import_spool_read (apply->spool, apply->budget_us, apply->cancellable, &waited, row, error);
  if (apply->budget_us >= 0)
    apply->budget_us = MAX (apply->budget_us - waited, 0);

  return ok;
}

static void
run_apply (Apply *apply,
           guint  lock_timeout_ms)
{
  EdImportJob *self = apply->job;
  g_autoptr(EdStore) store = NULL;

  if (!(store = ed_store_open (self->db_path, &apply->error)))
    return;

  apply->applied = ed_store_import_apply (store, self->event_id,
                                          self->mode == ED_IMPORT_MODE_UPDATE ? ED_IMPORT_UPDATE : ED_IMPORT_SKIP,
                                          self->mode == ED_IMPORT_MODE_DRY_RUN, lock_timeout_ms,
                                          next_row_cb, apply, &apply->counts, &apply->error);
  ed_store_close (store);
}

static gpointer
early_apply_thread (gpointer user_data)
{
  Apply *apply = user_data;

  /* The write lock is taken once there are rows to write: a client slow
   * to start does not hold it, nor use up the budget for waiting.
   */
  ed_import_spool_wait (apply->spool, apply->cancellable);

  /* Another import's insert is running: this one waits for the upload. */
  if (!g_mutex_trylock (&apply_lock))
    return NULL;

  run_apply (apply, EARLY_LOCK_TIMEOUT_MS);
  g_mutex_unlock (&apply_lock);

  return NULL;
}

/* Whether the early insert gave up for a reason the late one may not have. */
static gboolean
should_retry (const Apply *apply)
{
  return !apply->applied &&
         (apply->error == NULL ||
          g_error_matches (apply->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
          g_error_matches (apply->error, ED_ERROR, ED_ERROR_BUSY));
}

static gboolean
parse_upload (EdImportJob     *self,
              EdImportParser  *parser,
              EdImportSpool   *spool,
              const char     **code,
              GError         **error)
{
  for (;;)
    {
      g_autoptr(GBytes) chunk = next_chunk (self, error);
      gsize len;
      const char *data;

      if (chunk == NULL)
        {
          if (*error != NULL)
            return FALSE;
          break;
        }

      data = g_bytes_get_data (chunk, &len);
      if (!ed_import_parser_feed (parser, data, len, error))
        {
          *code = ed_import_parser_get_refusal (parser);
          return FALSE;
        }
      if (!ed_import_spool_publish (spool, error))
        return FALSE;
      publish_progress (self, ed_import_parser_get_report (parser), ED_IMPORT_STATE_RECEIVING);
    }

  if (!ed_import_parser_finish (parser, error))
    {
      *code = ed_import_parser_get_refusal (parser);
      return FALSE;
    }

  return ed_import_spool_publish (spool, error);
}

static EdImportReport *
run_import (EdImportJob   *self,
            GCancellable  *cancellable,
            const char   **code,
            GError       **error)
{
  g_autoptr(EdImportSpool) spool = NULL;
  g_autoptr(EdImportParser) parser = NULL;
  g_autoptr(EdImportReport) report = NULL;
  g_autoptr(GThread) early = NULL;
  Apply apply = { 0 };
  gboolean parsed;
  gboolean late = FALSE;
  gint64 start = g_get_monotonic_time ();
  gint64 parsed_at;

  if (!(spool = ed_import_spool_new (error)))
    return NULL;

  apply.job = self;
  apply.spool = spool;
  apply.cancellable = cancellable;
  apply.budget_us = STALL_BUDGET_US;
  early = g_thread_new ("ed-import-insert", early_apply_thread, &apply);

  parser = ed_import_parser_new (self->mode, spool_row_cb, spool);
  parsed = parse_upload (self, parser, spool, code, error);
  ed_import_spool_close (spool, parsed);
  parsed_at = g_get_monotonic_time ();
  if (parsed)
    publish_progress (self, ed_import_parser_get_report (parser), ED_IMPORT_STATE_SAVING);

  g_thread_join (g_steal_pointer (&early));
  if (!parsed)
    {
      g_clear_error (&apply.error);
      return NULL;
    }

  if (should_retry (&apply))
    {
      late = TRUE;
      g_clear_error (&apply.error);
      ed_import_spool_rewind (spool);
      apply.budget_us = -1;

      g_mutex_lock (&apply_lock);
      if (!g_cancellable_set_error_if_cancelled (cancellable, &apply.error))
        run_apply (&apply, LATE_LOCK_TIMEOUT_MS);
      g_mutex_unlock (&apply_lock);
    }

  if (!apply.applied)
    {
      g_propagate_error (error, apply.error);
      return NULL;
    }

  g_debug ("Import into event %" G_GINT64_FORMAT ": read and checked %" G_GINT64_FORMAT " rows in %.2f s; "
           "%s, done %.2f s later", self->event_id, ed_import_parser_get_report (parser)->rows,
           (parsed_at - start) / 1e6, late ? "added them after the upload" : "added them as they came",
           (g_get_monotonic_time () - parsed_at) / 1e6);

  report = ed_import_report_copy (ed_import_parser_get_report (parser));
  ed_import_report_set_counts (report, &apply.counts);
  return g_steal_pointer (&report);
}

static void
import_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  EdImportJob *self = task_data;
  g_autoptr(EdImportReport) report = NULL;
  g_autoptr(GError) error = NULL;
  const char *code = NULL;
  gulong handler = 0;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled_cb), self, NULL);

  report = run_import (self, cancellable, &code, &error);

  g_cancellable_disconnect (cancellable, handler);

  g_mutex_lock (&self->mutex);
  self->finished_at = ed_time_now ();
  g_queue_clear_full (&self->chunks, (GDestroyNotify) g_bytes_unref);
  self->queued_bytes = 0;
  if (report != NULL)
    {
      self->state = ED_IMPORT_STATE_DONE;
      self->report = ed_import_report_copy (report);
    }
  else
    {
      self->state = ED_IMPORT_STATE_FAILED;
      if (self->error_code == NULL)
        {
          if (code != NULL)
            self->error_code = g_strdup (code);
          else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            self->error_code = g_strdup ("cancelled");
          else if (g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
            self->error_code = g_strdup ("not_found");
          else
            self->error_code = g_strdup ("internal_error");
          self->error_message = g_strdup (error->message);
        }
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  if (self->progress_func != NULL)
    self->progress_func (self->event_id, self->progress_data);

  if (report != NULL)
    g_task_return_pointer (task, g_steal_pointer (&report), (GDestroyNotify) ed_import_report_free);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/**
 * ed_import_job_run_async:
 * @cancellable: (nullable): stops the import, which then writes nothing
 *
 * Starts the worker. It waits for chunks until ed_import_job_end_input()
 * or ed_import_job_break_input().
 */
void
ed_import_job_run_async (EdImportJob         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, ed_import_job_run_async);
  g_task_set_task_data (task, ed_import_job_ref (self), (GDestroyNotify) ed_import_job_unref);
  g_task_run_in_thread (task, import_thread);
}

/**
 * ed_import_job_run_finish:
 * @error: the refusal of the file, the upload's failure, or a database
 *   error; ed_import_job_get_error_code() tells which
 *
 * Returns: (transfer full): the report
 */
EdImportReport *
ed_import_job_run_finish (EdImportJob   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Waits at most @timeout_us for the worker to be done with the database. */
gboolean
ed_import_job_wait (EdImportJob *self,
                    gint64       timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  gboolean finished;

  g_mutex_lock (&self->mutex);
  while (self->state != ED_IMPORT_STATE_DONE && self->state != ED_IMPORT_STATE_FAILED)
    if (!g_cond_wait_until (&self->cond, &self->mutex, deadline))
      break;
  finished = self->state == ED_IMPORT_STATE_DONE || self->state == ED_IMPORT_STATE_FAILED;
  g_mutex_unlock (&self->mutex);

  return finished;
}

/* Returns when the job finished (Unix seconds), or 0 while it runs. */
gint64
ed_import_job_get_finished_at (EdImportJob *self)
{
  gint64 finished_at;

  g_mutex_lock (&self->mutex);
  finished_at = self->finished_at;
  g_mutex_unlock (&self->mutex);

  return finished_at;
}

/* Returns why the job failed ("no_email_column", "upload_incomplete",
 * "cancelled", …), or %NULL while it has not.
 */
const char *
ed_import_job_get_error_code (EdImportJob *self)
{
  const char *code;

  g_mutex_lock (&self->mutex);
  code = self->error_code;
  g_mutex_unlock (&self->mutex);

  /* Set once by the worker before it returns, never changed after. */
  return code;
}

static const char *
state_to_string (EdImportState state)
{
  switch (state)
    {
    case ED_IMPORT_STATE_RECEIVING:
      return "receiving";
    case ED_IMPORT_STATE_SAVING:
      return "saving";
    case ED_IMPORT_STATE_DONE:
      return "done";
    case ED_IMPORT_STATE_FAILED:
      return "failed";
    default:
      g_return_val_if_reached (NULL);
    }
}

/* Adds what the job has done so far to the object @builder is in. */
void
ed_import_job_add_progress (EdImportJob *self,
                            JsonBuilder *builder)
{
  g_mutex_lock (&self->mutex);

  ed_json_add_string (builder, "state", state_to_string (self->state));
  ed_json_add_string (builder, "mode", ed_import_mode_to_string (self->mode));
  ed_json_add_int (builder, "event_id", self->event_id);
  ed_json_add_time (builder, "started_at", self->started_at);
  ed_json_add_time (builder, "finished_at", self->finished_at);
  json_builder_set_member_name (builder, "bytes_received");
  json_builder_add_int_value (builder, self->bytes_received);
  json_builder_set_member_name (builder, "bytes_expected");
  if (self->bytes_expected >= 0)
    json_builder_add_int_value (builder, self->bytes_expected);
  else
    json_builder_add_null_value (builder);

  if (self->state == ED_IMPORT_STATE_DONE && self->report != NULL)
    {
      json_builder_set_member_name (builder, "report");
      json_builder_begin_object (builder);
      ed_import_report_add_members (self->report, builder);
      json_builder_end_object (builder);
    }
  else
    {
      json_builder_set_member_name (builder, "rows");
      json_builder_add_int_value (builder, self->rows);
      json_builder_set_member_name (builder, "rejected");
      json_builder_add_int_value (builder, self->rejected);
    }

  if (self->state == ED_IMPORT_STATE_FAILED)
    {
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      ed_json_add_string (builder, "code", self->error_code);
      ed_json_add_string (builder, "message", self->error_message);
      json_builder_end_object (builder);
    }

  g_mutex_unlock (&self->mutex);
}
