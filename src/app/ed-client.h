/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The app's one way to talk to eventdeskd: asynchronous JSON calls on a
 * SoupSession, streamed CSV uploads and downloads with progress, and the
 * session token. Every call takes a GCancellable; a cancelled call ends
 * with G_IO_ERROR_CANCELLED, which callers ignore quietly.
 */

#define ED_CLIENT_ERROR (ed_client_error_quark ())

/* What went wrong, so the UI can say what to do. The GError's message is
 * the server's own message when it sent one.
 */
typedef enum
{
  ED_CLIENT_ERROR_UNAUTHORIZED, /* 401: not logged in, wrong password, session expired */
  ED_CLIENT_ERROR_FORBIDDEN,    /* 403 */
  ED_CLIENT_ERROR_NOT_FOUND,    /* 404 */
  ED_CLIENT_ERROR_CONFLICT,     /* 409, e.g. duplicate_email */
  ED_CLIENT_ERROR_INVALID,      /* 400/413/422: see ed_client_call_dup_error_fields() */
  ED_CLIENT_ERROR_THROTTLED,    /* 429: try again after a while */
  ED_CLIENT_ERROR_SERVER,       /* 5xx */
  ED_CLIENT_ERROR_UNREACHABLE,  /* connection refused, DNS, timeout, connection lost */
  ED_CLIENT_ERROR_TLS,          /* certificate or TLS handshake problem */
  ED_CLIENT_ERROR_PROTOCOL,     /* the reply was not what the API promises */
} EdClientError;

/* Reports streamed bytes; @total is -1 when unknown. Called on the
 * thread-default main context of the caller.
 */
typedef void (*EdClientProgressFunc) (goffset  done,
                                      goffset  total,
                                      gpointer user_data);

#define ED_TYPE_CLIENT (ed_client_get_type ())

G_DECLARE_FINAL_TYPE (EdClient, ed_client, ED, CLIENT, GObject)

GQuark      ed_client_error_quark           (void);

/* @base_url: e.g. "http://127.0.0.1:8460" (no trailing slash needed). */
EdClient   *ed_client_new                   (const char           *base_url);

/* Properties: "base-url" (construct-only), "token" (the session token,
 * or NULL), "username", and "reachable" (FALSE after a call failed with
 * ED_CLIENT_ERROR_UNREACHABLE, TRUE again after the next call that got a
 * reply). The signal "session-expired" is emitted when a call that had
 * a token got a 401, so the app can log in again.
 */
const char *ed_client_get_base_url          (EdClient             *self);
const char *ed_client_get_token             (EdClient             *self);
void        ed_client_set_token             (EdClient             *self,
                                             const char           *token);
const char *ed_client_get_username          (EdClient             *self);
gboolean    ed_client_get_reachable         (EdClient             *self);

/* POST /api/v1/session; on success the token and username are set. */
void        ed_client_login_async           (EdClient             *self,
                                             const char           *username,
                                             const char           *password,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean    ed_client_login_finish          (EdClient             *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* One JSON call. @method is "GET", "POST", "PATCH" or "DELETE"; @path
 * starts with "/" and may carry a query built with
 * ed_client_build_path(); @body may be NULL. The reply's JSON, or NULL
 * without an error for an empty reply (204).
 */
void        ed_client_call_async            (EdClient             *self,
                                             const char           *method,
                                             const char           *path,
                                             JsonNode             *body,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
JsonNode   *ed_client_call_finish           (EdClient             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
/* After a call failed with ED_CLIENT_ERROR_INVALID or _CONFLICT: the
 * server's per-field messages (field name → message, both strings), or
 * NULL when it named none.
 */
GHashTable *ed_client_call_dup_error_fields (EdClient             *self,
                                             GAsyncResult         *result);

/* Streams @file as the request body (POST, @content_type e.g.
 * "text/csv"), reporting progress; the reply's JSON. */
void        ed_client_upload_async          (EdClient             *self,
                                             const char           *path,
                                             GFile                *file,
                                             const char           *content_type,
                                             EdClientProgressFunc  progress,
                                             gpointer              progress_data,
                                             GDestroyNotify        progress_data_free,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
JsonNode   *ed_client_upload_finish         (EdClient             *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* Streams a GET reply into @destination (replaced only when the whole
 * download succeeded), reporting progress. */
void        ed_client_download_async        (EdClient             *self,
                                             const char           *path,
                                             GFile                *destination,
                                             EdClientProgressFunc  progress,
                                             gpointer              progress_data,
                                             GDestroyNotify        progress_data_free,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean    ed_client_download_finish       (EdClient             *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* Whether a page should say nothing about @error: a cancelled call, or a
 * lost connection or an expired session, which the window's banner and
 * login take care of. */
gboolean    ed_client_error_is_quiet        (const GError         *error);

/* "/api/v1/events/7/guests" + "?q=J%C3%B6rg&limit=100": the pairs are
 * key, value, …, NULL; pairs whose value is NULL or "" are left out and
 * values are percent-encoded. */
char       *ed_client_build_path            (const char           *path,
                                             const char           *first_key,
                                             ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
