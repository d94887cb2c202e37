/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-daemon-private.h"
#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-password.h"
#include "ed-time-util.h"
#include "ed-token.h"
#include "ed-validate.h"

/* POST /api/v1/session and DELETE /api/v1/session */

typedef struct
{
  EdDaemon  *daemon;
  EdRequest *request;
  char      *username;
  gint64     admin_id; /* 0 for an unknown name */
} Login;

static void
login_free (Login *login)
{
  ed_request_unpause (login->request);
  g_object_unref (login->daemon);
  g_free (login->username);
  g_free (login);
}

static void
reply_wrong_credentials (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "WWW-Authenticate", "Bearer realm=\"eventdesk\"");
  ed_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials",
                       "Wrong username or password");
}

static void
start_session (Login *login)
{
  EdDaemon *self = login->daemon;
  SoupServerMessage *msg = login->request->msg;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonObject) claims = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *session_id = ed_token_new_id ();
  g_autofree char *token = NULL;
  gint64 expires_at = ed_time_now () + (gint64) self->config->session_hours * 3600;

  json_object_set_string_member (claims, "sub", login->username);
  json_object_set_int_member (claims, "aid", login->admin_id);
  json_object_set_string_member (claims, "jti", session_id);

  if (!(token = ed_token_sign (self->secret, "session", expires_at, claims, &error)) ||
      !ed_store_add_session (self->store, session_id, login->admin_id, expires_at, &error))
    {
      ed_http_reply_gerror (msg, error);
      return;
    }

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "ED_ADMIN", login->username,
                    "MESSAGE", "Admin “%s” logged in", login->username);

  json_builder_begin_object (builder);
  ed_json_add_string (builder, "token", token);
  ed_json_add_time (builder, "expires_at", expires_at);
  ed_json_add_string (builder, "username", login->username);
  json_builder_end_object (builder);
  ed_http_reply_json (msg, SOUP_STATUS_CREATED, builder);
}

static void
on_password_verified_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  Login *login = user_data;
  EdDaemon *self = login->daemon;
  gboolean matched = ed_password_verify_finish (result, NULL);

  if (matched && login->admin_id != 0)
    {
      ed_login_throttle_succeeded (self->throttle, login->username);
      start_session (login);
    }
  else
    {
      ed_login_throttle_failed (self->throttle, login->username, g_get_monotonic_time ());
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                        "ED_ADMIN", login->username,
                        "MESSAGE", "Failed login for “%s”", login->username);
      reply_wrong_credentials (login->request->msg);
    }

  login_free (login);
}

static void
handle_login (EdRequest *request,
              gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) fields = json_object_new ();
  g_autoptr(EdAdmin) admin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  static const char * const allowed[] = { "username", "password", NULL };
  const char *hash;
  Login *login;
  gint64 wait_us;

  if (!(body = ed_http_read_json (request->msg, &error)))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_validate_known_members (body, allowed, fields);
  username = ed_validate_string (body, "username", ED_VALIDATE_REQUIRED, 128, fields);
  password = ed_validate_string (body, "password", ED_VALIDATE_REQUIRED | ED_VALIDATE_RAW, ED_PASSWORD_MAX_LENGTH, fields);
  if (json_object_get_size (fields) > 0)
    {
      ed_http_reply_fields (request->msg, fields);
      return;
    }

  wait_us = ed_login_throttle_begin (self->throttle, username, g_get_monotonic_time ());
  if (wait_us > 0)
    {
      gint64 seconds = (wait_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
      g_autofree char *retry_after = g_strdup_printf ("%" G_GINT64_FORMAT, seconds);

      soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                    "Retry-After", retry_after);
      ed_http_reply_error (request->msg, ED_HTTP_STATUS_TOO_MANY_REQUESTS, "too_many_attempts",
                           "Too many failed logins for this account; try again in %" G_GINT64_FORMAT " s",
                           seconds);
      return;
    }

  admin = ed_store_get_admin (self->store, username, &error);
  if (admin == NULL && !g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
    {
      ed_login_throttle_succeeded (self->throttle, username);
      ed_http_reply_gerror (request->msg, error);
      return;
    }
  hash = admin ? admin->password_hash : self->dummy_hash;

  login = g_new0 (Login, 1);
  login->daemon = g_object_ref (self);
  login->request = request;
  login->username = admin ? g_strdup (admin->username) : g_steal_pointer (&username);
  login->admin_id = admin ? admin->id : 0;
  ed_request_pause (request);

  ed_password_verify_async (password, hash, NULL, on_password_verified_cb, login);
  explicit_bzero (password, strlen (password));
}

static void
handle_logout (EdRequest *request,
               gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!ed_store_remove_session (self->store, request->session_id, &error))
    {
      ed_http_reply_gerror (request->msg, error);
      return;
    }

  ed_http_reply_empty (request->msg, SOUP_STATUS_NO_CONTENT);
}

void
ed_daemon_add_session_routes (EdDaemon *self)
{
  ed_router_add (self->router, "POST", "/api/v1/session", ED_ROUTE_PUBLIC, handle_login);
  ed_router_add (self->router, "DELETE", "/api/v1/session", ED_ROUTE_AUTH, handle_logout);
}
