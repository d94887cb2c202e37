/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-daemon-private.h"
#include "ed-error.h"
#include "ed-export-job.h"
#include "ed-http-util.h"
#include "ed-import-indexer.h"
#include "ed-import-job.h"
#include "ed-json-util.h"
#include "ed-time-util.h"
#include "ed-validate.h"

/* Guest import (POST /api/v1/events/{id}/guests/import, and GET of the same
 * path for its progress) and export (GET /api/v1/events/{id}/guests.csv).
 *
 * The import is a streaming route: its headers are checked before the body
 * is read, and the body goes to an EdImportJob chunk by chunk as it arrives
 * (never into memory as a whole), past the daemon's 1 MiB limit for other
 * requests up to MAX_IMPORT_BYTES. The answer, the import's report, is
 * sent once the job has written (or refused) everything. An upload that
 * breaks off, for a dropped connection or a daemon that stops, writes
 * nothing.
 */

#define MAX_IMPORT_BYTES (G_GINT64_CONSTANT (2) * 1024 * 1024 * 1024)

/* How long the progress of a finished import stays to be read. */
#define IMPORT_KEPT_SECONDS (24 * 3600)
#define QUERY_MAX_CHARS 200

/* How long a stopping daemon waits for workers to let go of the database. */
#define STOP_TIMEOUT_US (30 * G_USEC_PER_SEC)

struct _EdTransfers
{
  char            *db_path;
  GCancellable    *cancellable;
  GHashTable      *imports;    /* event id (gint64 *) -> EdImportJob, the latest */
  GPtrArray       *exports;    /* EdExportJob, running */
  EdImportIndexer *indexer;
};

static void
transfers_clear (EdTransfers *transfers)
{
  g_clear_pointer (&transfers->indexer, ed_import_indexer_free);
  g_clear_pointer (&transfers->imports, g_hash_table_unref);
  g_clear_pointer (&transfers->exports, g_ptr_array_unref);
  g_clear_object (&transfers->cancellable);
  g_free (transfers->db_path);
}

/* Uploads and downloads keep it until their last callback. */
static EdTransfers *
transfers_ref (EdTransfers *transfers)
{
  return g_atomic_rc_box_acquire (transfers);
}

static void
transfers_unref (EdTransfers *transfers)
{
  g_atomic_rc_box_release_full (transfers, (GDestroyNotify) transfers_clear);
}

/* Import */

typedef struct
{
  EdTransfers       *transfers;
  EdImportJob       *job;
  SoupServerMessage *msg;        /* borrowed while alive */
  EdRequest         *waiting;    /* the request, paused once its body is in */
  gboolean           alive;
  gboolean           paused;
  gboolean           done;
  gint64             bytes;
  EdImportReport    *report;
  GError            *error;
} Upload;

static Upload *
upload_ref (Upload *upload)
{
  return g_atomic_rc_box_acquire (upload);
}

static void
upload_clear (Upload *upload)
{
  g_clear_pointer (&upload->transfers, transfers_unref);
  g_clear_pointer (&upload->job, ed_import_job_unref);
  g_clear_pointer (&upload->waiting, ed_request_unref);
  g_clear_pointer (&upload->report, ed_import_report_free);
  g_clear_error (&upload->error);
}

static void
upload_unref (Upload *upload)
{
  g_atomic_rc_box_release_full (upload, (GDestroyNotify) upload_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Upload, upload_unref)

static void
reply_report (SoupServerMessage    *msg,
              const EdImportReport *report)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  ed_import_report_add_members (report, builder);
  json_builder_end_object (builder);
  ed_http_reply_json (msg, SOUP_STATUS_OK, builder);
}

static void
reply_import_failure (Upload *upload)
{
  SoupServerMessage *msg = upload->msg;
  const char *code = ed_import_job_get_error_code (upload->job);

  if (g_strcmp0 (code, "no_email_column") == 0 || g_strcmp0 (code, "invalid_header") == 0 ||
      g_strcmp0 (code, "not_csv") == 0 || g_strcmp0 (code, "empty_file") == 0)
    ed_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, code, "%s", upload->error->message);
  else if (g_strcmp0 (code, "cancelled") == 0)
    ed_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "shutting_down",
                         "The server is shutting down; nothing was imported. Try again in a moment");
  else
    ed_http_reply_gerror (msg, upload->error);
}

static void
reply_import (Upload *upload)
{
  g_autoptr(EdRequest) request = g_steal_pointer (&upload->waiting);

  g_assert (upload->done && upload->alive);

  if (upload->report != NULL)
    reply_report (upload->msg, upload->report);
  else
    reply_import_failure (upload);

  if (request != NULL)
    soup_server_message_unpause (upload->msg);
}

static void
on_import_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(Upload) upload = user_data;

  upload->report = ed_import_job_run_finish (upload->job, result, &upload->error);
  upload->done = TRUE;

  if (upload->report != NULL)
    {
      g_message ("Import into event %" G_GINT64_FORMAT " (%s): %" G_GINT64_FORMAT " rows, %"
                 G_GINT64_FORMAT " imported, %" G_GINT64_FORMAT " updated, %" G_GINT64_FORMAT
                 " duplicates, %" G_GINT64_FORMAT " rejected",
                 ed_import_job_get_event_id (upload->job), ed_import_mode_to_string (upload->report->mode),
                 upload->report->rows, upload->report->imported, upload->report->updated,
                 upload->report->duplicates, upload->report->rejected);
      if (upload->report->mode != ED_IMPORT_MODE_DRY_RUN && upload->transfers->indexer != NULL)
        ed_import_indexer_kick (upload->transfers->indexer);
    }
  else
    g_message ("Import into event %" G_GINT64_FORMAT " failed (%s): %s",
               ed_import_job_get_event_id (upload->job),
               ed_import_job_get_error_code (upload->job), upload->error->message);

  /* Before its whole body is in, a request cannot be answered yet. */
  if (upload->alive && upload->waiting != NULL)
    reply_import (upload);
}

static void
on_upload_resume_cb (gpointer user_data)
{
  Upload *upload = user_data;

  if (upload->alive && upload->paused)
    {
      upload->paused = FALSE;
      soup_server_message_unpause (upload->msg);
    }
}

static void
on_upload_got_chunk_cb (SoupServerMessage *msg,
                        GBytes            *chunk,
                        Upload            *upload)
{
  upload->bytes += g_bytes_get_size (chunk);

  if (upload->bytes > MAX_IMPORT_BYTES)
    {
      if (soup_server_message_get_status (msg) == 0)
        {
          ed_import_job_break_input (upload->job, "payload_too_large", "The file is too large");
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Connection", "close");
          ed_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                               "A guest list may have at most %" G_GINT64_FORMAT " bytes",
                               MAX_IMPORT_BYTES);
        }
      return;
    }

  if (ed_import_job_push (upload->job, chunk) && !upload->paused)
    {
      upload->paused = TRUE;
      soup_server_message_pause (msg);
    }
}

static void
on_upload_finished_cb (SoupServerMessage *msg,
                       Upload            *upload)
{
  g_autofree char *message = NULL;

  upload->alive = FALSE;
  upload->msg = NULL;
  ed_import_job_set_resume_func (upload->job, NULL, NULL);

  /* A message that ends while paused is not unpaused again. */
  g_clear_pointer (&upload->waiting, ed_request_unref);

  message = g_strdup_printf ("The upload broke off after %" G_GINT64_FORMAT " bytes; nothing was imported",
                             upload->bytes);
  ed_import_job_break_input (upload->job, "upload_incomplete", message);
}

/* On the import's worker thread. */
static void
on_import_progress_cb (gint64   event_id,
                       gpointer user_data)
{
  ed_live_hub_event_changed_from_thread (user_data, event_id);
}

/* The latest import into the event (running or finished), or NULL. */
EdImportJob *
ed_daemon_get_import (EdDaemon *self,
                      gint64    event_id)
{
  if (self->transfers == NULL)
    return NULL;

  return g_hash_table_lookup (self->transfers->imports, &event_id);
}

static gboolean
is_csv_content_type (SoupServerMessage *msg)
{
  const char *type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);

  return type != NULL && (g_ascii_strcasecmp (type, "text/csv") == 0 ||
                          g_ascii_strcasecmp (type, "application/csv") == 0);
}

/* Each report may list a thousand rows: keep them for a day. */
static void
forget_old_imports (EdTransfers *transfers)
{
  gint64 oldest = ed_time_now () - IMPORT_KEPT_SECONDS;
  GHashTableIter iter;
  gpointer job;

  g_hash_table_iter_init (&iter, transfers->imports);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    {
      gint64 finished_at = ed_import_job_get_finished_at (job);

      if (finished_at != 0 && finished_at < oldest)
        g_hash_table_iter_remove (&iter);
    }
}

/* Headers of an upload: checked before the body is read. */
static void
handle_import_headers (EdRequest *request,
                       gpointer   user_data)
{
  EdDaemon *self = user_data;
  EdTransfers *transfers = self->transfers;
  SoupServerMessage *msg = request->msg;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(JsonObject) fields = json_object_new ();
  gint64 event_id = request->ids[0];
  g_autoptr(GError) error = NULL;
  g_autoptr(Upload) upload = NULL;
  const char *mode_text = ed_request_get_query (request, "mode");
  EdImportMode mode = ED_IMPORT_MODE_SKIP;
  EdImportJob *running;
  gint64 length = -1;

  if (mode_text != NULL && !ed_import_mode_from_string (mode_text, &mode))
    ed_validate_fail (fields, "mode", "must be skip, update or dry-run");
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (msg, fields);
      return;
    }

  if (!ed_store_check_event_exists (self->store, event_id, &error))
    {
      ed_http_reply_gerror (msg, error);
      return;
    }

  if (!is_csv_content_type (msg))
    {
      ed_http_reply_error (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                           "Send the guest list as CSV, with Content-Type: text/csv");
      return;
    }

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    {
      length = soup_message_headers_get_content_length (headers);
      if (length > MAX_IMPORT_BYTES)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
          ed_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                               "A guest list may have at most %" G_GINT64_FORMAT " bytes", MAX_IMPORT_BYTES);
          return;
        }
    }

  running = g_hash_table_lookup (transfers->imports, &event_id);
  if (running != NULL && (ed_import_job_get_state (running) == ED_IMPORT_STATE_RECEIVING ||
                          ed_import_job_get_state (running) == ED_IMPORT_STATE_SAVING))
    {
      ed_http_reply_error (msg, SOUP_STATUS_CONFLICT, "import_running",
                           "A guest list is being imported into this event; wait for it to finish "
                           "(GET /api/v1/events/%" G_GINT64_FORMAT "/guests/import)", event_id);
      return;
    }

  forget_old_imports (transfers);

  upload = g_atomic_rc_box_new0 (Upload);
  upload->transfers = transfers_ref (transfers);
  upload->msg = msg;
  upload->alive = TRUE;
  upload->job = ed_import_job_new (transfers->db_path, event_id, mode, length);
  ed_import_job_set_resume_func (upload->job, on_upload_resume_cb, upload);
  ed_import_job_set_progress_func (upload->job, on_import_progress_cb, self->live);
  g_hash_table_replace (transfers->imports, g_memdup2 (&event_id, sizeof event_id),
                        ed_import_job_ref (upload->job));

  g_signal_connect_data (msg, "got-chunk", G_CALLBACK (on_upload_got_chunk_cb),
                         upload_ref (upload), (GClosureNotify) upload_unref, 0);
  g_signal_connect_data (msg, "finished", G_CALLBACK (on_upload_finished_cb),
                         upload_ref (upload), (GClosureNotify) upload_unref, 0);
  g_object_set_data_full (G_OBJECT (msg), "ed-upload", upload_ref (upload), (GDestroyNotify) upload_unref);

  ed_import_job_run_async (upload->job, transfers->cancellable, on_import_done_cb, upload_ref (upload));
}

/* The whole body is in: answer once the import is done. */
static void
handle_import (EdRequest *request,
               gpointer   user_data)
{
  Upload *upload = g_object_get_data (G_OBJECT (request->msg), "ed-upload");

  /* The headers handler took every upload it did not answer. */
  if (upload == NULL || !upload->alive)
    {
      g_warning ("An import request arrived whole without its upload");
      ed_http_reply_error (request->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                           "The server could not complete the request; its log says why");
      return;
    }

  ed_import_job_end_input (upload->job);
  if (upload->done)
    {
      reply_import (upload);
      return;
    }

  upload->waiting = ed_request_ref (request);
  soup_server_message_pause (request->msg);
}

static void
handle_import_progress (EdRequest *request,
                        gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  gint64 event_id = request->ids[0];
  g_autoptr(GError) error = NULL;
  EdImportJob *job;

  if (!ed_store_check_event_exists (self->store, event_id, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  job = g_hash_table_lookup (self->transfers->imports, &event_id);
  if (job == NULL)
    {
      ed_http_reply_error (request->msg, SOUP_STATUS_NOT_FOUND, "not_found",
                           "No guest list has been imported into this event since the server started");
      return;
    }

  json_builder_begin_object (builder);
  ed_import_job_add_progress (job, builder);
  json_builder_end_object (builder);
  ed_http_reply_json (request->msg, SOUP_STATUS_OK, builder);
}

/* Export */

typedef struct
{
  EdTransfers       *transfers;
  EdExportJob       *job;
  SoupServerMessage *msg;        /* borrowed while alive */
  gboolean           alive;
  gboolean           done;
  gboolean           complete;
  guint              in_body;    /* chunks handed to libsoup, not written yet */
  GError            *error;
} Download;

static Download *
download_ref (Download *download)
{
  return g_atomic_rc_box_acquire (download);
}

static void
download_clear (Download *download)
{
  g_clear_pointer (&download->transfers, transfers_unref);
  g_clear_pointer (&download->job, ed_export_job_unref);
  g_clear_error (&download->error);
}

static void
download_unref (Download *download)
{
  g_atomic_rc_box_release_full (download, (GDestroyNotify) download_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Download, download_unref)

/* Ends a response that cannot be completed: the client sees the
 * connection close before the last chunk, not a short file.
 */
static void
break_download (Download *download)
{
  GSocket *socket = soup_server_message_get_socket (download->msg);

  if (socket != NULL)
    g_socket_shutdown (socket, FALSE, TRUE, NULL);
  soup_message_body_append (soup_server_message_get_response_body (download->msg),
                            SOUP_MEMORY_STATIC, "\n", 1);
}

/* Hands libsoup the next chunks while it has few to write. */
static void
pump_download (Download *download)
{
  SoupMessageBody *body;
  gboolean added = FALSE;

  if (!download->alive || download->complete)
    return;
  body = soup_server_message_get_response_body (download->msg);

  while (download->in_body < 2)
    {
      g_autoptr(GBytes) chunk = ed_export_job_take_chunk (download->job);

      if (chunk == NULL)
        break;
      soup_message_body_append_bytes (body, chunk);
      download->in_body++;
      added = TRUE;
    }

  if (download->done && download->in_body == 0 && !added)
    {
      g_autoptr(GBytes) last = ed_export_job_take_chunk (download->job);

      if (last != NULL)
        {
          soup_message_body_append_bytes (body, last);
          download->in_body++;
        }
      else if (download->error != NULL)
        {
          g_warning ("Export of event guests broke off: %s", download->error->message);
          break_download (download);
          download->complete = TRUE;
        }
      else
        {
          soup_message_body_complete (body);
          download->complete = TRUE;
        }
      added = TRUE;
    }

  if (added)
    soup_server_message_unpause (download->msg);
}

static void
on_download_ready_cb (gpointer user_data)
{
  pump_download (user_data);
}

static void
on_export_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(Download) download = user_data;

  ed_export_job_run_finish (download->job, result, NULL, &download->error);
  download->done = TRUE;
  g_ptr_array_remove (download->transfers->exports, download->job);
  pump_download (download);
}

static void
on_download_wrote_chunk_cb (SoupServerMessage *msg,
                            Download          *download)
{
  if (download->in_body > 0)
    download->in_body--;
  pump_download (download);
}

static void
on_download_finished_cb (SoupServerMessage *msg,
                         Download          *download)
{
  download->alive = FALSE;
  download->msg = NULL;
  ed_export_job_set_ready_func (download->job, NULL, NULL);
  ed_export_job_cancel (download->job);
}

static void
handle_export (EdRequest *request,
               gpointer   user_data)
{
  EdDaemon *self = user_data;
  EdTransfers *transfers = self->transfers;
  SoupServerMessage *msg = request->msg;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(JsonObject) fields = json_object_new ();
  gint64 event_id = request->ids[0];
  g_autoptr(GError) error = NULL;
  g_autoptr(Download) download = NULL;
  g_autofree char *disposition = NULL;
  EdGuestQuery query = { 0 };
  const char *status = ed_request_get_query (request, "status");
  const char *q = ed_request_get_query (request, "q");

  if (!ed_store_check_event_exists (self->store, event_id, &error))
    {
      ed_http_reply_gerror (msg, error);
      return;
    }

  if (status != NULL && *status != '\0')
    {
      if (ed_rsvp_status_from_string (status, &query.status))
        query.has_status = TRUE;
      else
        ed_validate_fail (fields, "status",
                          "must be one of pending, accepted, declined, waitlisted, cancelled");
    }
  if (!ed_guest_sort_parse (ed_request_get_query (request, "sort"), &query.sort, &query.descending))
    ed_validate_fail (fields, "sort", "must be one of name, email, created, each optionally after “-” for descending order");
  if (q != NULL && (!g_utf8_validate (q, -1, NULL) || g_utf8_strlen (q, -1) > QUERY_MAX_CHARS))
    ed_validate_fail (fields, "q", "must be text of at most %d characters", QUERY_MAX_CHARS);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (msg, fields);
      return;
    }
  query.query = q;

  disposition = g_strdup_printf ("attachment; filename=\"event-%" G_GINT64_FORMAT "-guests.csv\"", event_id);
  soup_message_headers_replace (headers, "Content-Disposition", disposition);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_set_content_type (headers, "text/csv", NULL);
  soup_message_headers_replace (headers, "Content-Type", "text/csv; charset=utf-8");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);

  if (strcmp (soup_server_message_get_method (msg), "HEAD") == 0)
    return;

  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);

  download = g_atomic_rc_box_new0 (Download);
  download->transfers = transfers_ref (transfers);
  download->msg = msg;
  download->alive = TRUE;
  download->job = ed_export_job_new (transfers->db_path, event_id, &query);
  ed_export_job_set_ready_func (download->job, on_download_ready_cb, download);
  g_ptr_array_add (transfers->exports, ed_export_job_ref (download->job));

  g_signal_connect_data (msg, "wrote-chunk", G_CALLBACK (on_download_wrote_chunk_cb),
                         download_ref (download), (GClosureNotify) download_unref, 0);
  g_signal_connect_data (msg, "finished", G_CALLBACK (on_download_finished_cb),
                         download_ref (download), (GClosureNotify) download_unref, 0);

  ed_export_job_run_async (download->job, transfers->cancellable, on_export_done_cb, download_ref (download));
  pump_download (download);
}

void
ed_daemon_add_transfer_routes (EdDaemon *self)
{
  EdTransfers *transfers = g_atomic_rc_box_new0 (EdTransfers);

  transfers->db_path = ed_config_get_db_path (self->config);
  transfers->cancellable = g_cancellable_new ();
  transfers->imports = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                              (GDestroyNotify) ed_import_job_unref);
  transfers->exports = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_export_job_unref);
  transfers->indexer = ed_import_indexer_new (transfers->db_path);
  self->transfers = transfers;

  ed_router_add_streaming (self->router, "POST", "/api/v1/events/{id}/guests/import", ED_ROUTE_AUTH,
                           handle_import_headers, handle_import);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/guests/import", ED_ROUTE_AUTH,
                 handle_import_progress);
  ed_router_add (self->router, "GET", "/api/v1/events/{id}/guests.csv", ED_ROUTE_AUTH, handle_export);

  /* An import's guests may still wait for the search index from before a
   * restart.
   */
  ed_import_indexer_kick (transfers->indexer);
}

/* Stops imports (they write nothing), exports and the search indexer, and
 * waits for their threads to be done with the database.
 */
void
ed_daemon_stop_transfers (EdDaemon *self)
{
  EdTransfers *transfers = g_steal_pointer (&self->transfers);
  GHashTableIter iter;
  gpointer job;

  if (transfers == NULL)
    return;

  g_cancellable_cancel (transfers->cancellable);

  g_hash_table_iter_init (&iter, transfers->imports);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    if (!ed_import_job_wait (job, STOP_TIMEOUT_US))
      g_warning ("An import did not stop in time");
  for (guint i = 0; i < transfers->exports->len; i++)
    if (!ed_export_job_wait (g_ptr_array_index (transfers->exports, i), STOP_TIMEOUT_US))
      g_warning ("An export did not stop in time");
  ed_import_indexer_stop (transfers->indexer);

  transfers_unref (transfers);
}
