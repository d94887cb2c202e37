/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskctl"

#include "config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>

#include "ed-ctl-client.h"
#include "ed-ctl-error.h"

/* eventdeskctl's side of the daemon's API: one synchronous request at a
 * time (the command line waits for each anyway), the daemon's errors
 * turned into messages that say what to do, and uploads and downloads
 * streamed from and to files with their progress.
 */

/* Long enough for the daemon to add half a million guests after the
 * upload, short enough that a hung server does not hang a script.
 */
#define IO_TIMEOUT_S 300
#define READ_BUFFER_BYTES (128 * 1024)

struct _EdCtlClient
{
  SoupSession *session;
  char        *server;
  char        *token;
};

EdCtlClient *
ed_ctl_client_new (const char *server,
                   const char *token)
{
  EdCtlClient *self = g_new0 (EdCtlClient, 1);
  g_autofree char *user_agent = g_strdup_printf ("eventdeskctl/%s ", PACKAGE_VERSION);

  self->session = soup_session_new_with_options ("timeout", IO_TIMEOUT_S,
                                                 "user-agent", user_agent,
                                                 NULL);
  self->server = g_strdup (server);
  self->token = g_strdup (token);

  return self;
}

void
ed_ctl_client_free (EdCtlClient *self)
{
  if (self == NULL)
    return;

  g_clear_object (&self->session);
  g_free (self->server);
  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_free (self->token);
  g_free (self);
}

static SoupMessage *
new_message (EdCtlClient  *self,
             const char   *method,
             const char   *path,
             GError      **error)
{
  g_autofree char *uri = g_strconcat (self->server, path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);

  if (msg == NULL)
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE,
                   _("“%s” is not a server address such as http://127.0.0.1:8460"), self->server);
      return NULL;
    }

  if (self->token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
    }

  return msg;
}

static void
set_transport_error (EdCtlClient  *self,
                     GError       *transport_error,
                     GError      **error)
{
  g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_UNREACHABLE,
               _("Cannot reach the Eventdesk server at %s: %s"), self->server, transport_error->message);
}

static JsonObject *
parse_object (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data = g_bytes_get_data (body, &length);

  if (length == 0 || !json_parser_load_from_data (parser, data, (gssize) length, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Turns an answer that is not a success into an error saying why. */
static void
set_http_error (EdCtlClient  *self,
                SoupMessage  *msg,
                GBytes       *body,
                GError      **error)
{
  guint status = soup_message_get_status (msg);
  g_autoptr(JsonObject) object = body ? parse_object (body) : NULL;
  JsonObject *details = NULL;
  const char *message = NULL;
  const char *code = NULL;

  if (object != NULL && json_object_has_member (object, "error") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "error")))
    {
      details = json_object_get_object_member (object, "error");
      message = json_object_get_string_member_with_default (details, "message", NULL);
      code = json_object_get_string_member_with_default (details, "code", NULL);
    }

  if (status == SOUP_STATUS_UNAUTHORIZED && g_strcmp0 (code, "invalid_credentials") != 0)
    g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_LOGIN,
                 _("The session has ended or expired; log in again with “eventdeskctl login”"));
  else if (message != NULL)
    g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED, "%s", message);
  else
    g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED, _("The server answered %u %s"),
                 status, soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "");
}

static JsonObject *
send_json (EdCtlClient  *self,
           SoupMessage  *msg,
           guint         expected_status,
           GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) body = NULL;
  JsonObject *object;

  body = soup_session_send_and_read (self->session, msg, NULL, &local_error);
  if (body == NULL)
    {
      set_transport_error (self, local_error, error);
      return NULL;
    }
  if (soup_message_get_status (msg) != expected_status)
    {
      set_http_error (self, msg, body, error);
      return NULL;
    }

  object = parse_object (body);
  if (object == NULL)
    object = json_object_new ();
  return object;
}

/* Returns the server's answer: token, expires_at, username. */
JsonObject *
ed_ctl_client_login (EdCtlClient  *self,
                     const char   *username,
                     const char   *password,
                     GError      **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonObject) answer = NULL;
  char *text;
  gsize length;

  if (!(msg = new_message (self, "POST", "/api/v1/session", error)))
    return NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  length = strlen (text);
  body = g_bytes_new_with_free_func (text, length, (GDestroyNotify) g_free, text);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);

  if (!(answer = send_json (self, msg, SOUP_STATUS_CREATED, error)))
    {
      explicit_bzero (text, length);
      return NULL;
    }
  explicit_bzero (text, length);

  if (!json_object_has_member (answer, "token"))
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED,
                           _("The server's answer to the login has no session token"));
      return NULL;
    }

  return g_steal_pointer (&answer);
}

/* Ends the session on the server; one that has already ended is fine. */
gboolean
ed_ctl_client_logout (EdCtlClient  *self,
                      GError      **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) local_error = NULL;
  guint status;

  if (!(msg = new_message (self, "DELETE", "/api/v1/session", error)))
    return FALSE;

  body = soup_session_send_and_read (self->session, msg, NULL, &local_error);
  if (body == NULL)
    {
      set_transport_error (self, local_error, error);
      return FALSE;
    }

  status = soup_message_get_status (msg);
  if (status != SOUP_STATUS_NO_CONTENT && status != SOUP_STATUS_UNAUTHORIZED)
    {
      set_http_error (self, msg, body, error);
      return FALSE;
    }

  return TRUE;
}

static void
on_wrote_body_data_cb (SoupMessage   *msg,
                       guint          chunk_size,
                       EdCtlProgress *progress)
{
  gint64 *sent = g_object_get_data (G_OBJECT (msg), "ed-sent");

  *sent += chunk_size;
  ed_ctl_progress_update (progress, *sent, 0);
}

static void
on_wrote_body_cb (SoupMessage   *msg,
                  EdCtlProgress *progress)
{
  /* The server now adds the guests: the answer comes when it is done. */
  ed_ctl_progress_set_label (progress, _("Saving"));
}

/**
 * ed_ctl_client_import:
 * @mode: (nullable): skip, update or dry-run
 * @body: the CSV file
 * @length: its size, or -1 to send it in chunks
 * @progress: (nullable): shows the upload
 *
 * Returns: (transfer full): the import's report
 */
JsonObject *
ed_ctl_client_import (EdCtlClient    *self,
                      gint64          event_id,
                      const char     *mode,
                      GInputStream   *body,
                      gint64          length,
                      EdCtlProgress  *progress,
                      GError        **error)
{
  g_autofree char *path = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *escaped_mode = mode ? g_uri_escape_string (mode, NULL, FALSE) : NULL;
  gint64 sent = 0;

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import%s%s", event_id,
                          mode ? "?mode=" : "", mode ? escaped_mode : "");
  if (!(msg = new_message (self, "POST", path, error)))
    return NULL;

  soup_message_set_request_body (msg, "text/csv", body, (gssize) length);
  /* The server refuses (an ended session, an unknown event, a running
   * import) before the file is sent.
   */
  soup_message_headers_set_expectations (soup_message_get_request_headers (msg), SOUP_EXPECTATION_CONTINUE);

  if (progress != NULL)
    {
      g_object_set_data (G_OBJECT (msg), "ed-sent", &sent);
      g_signal_connect (msg, "wrote-body-data", G_CALLBACK (on_wrote_body_data_cb), progress);
      g_signal_connect (msg, "wrote-body", G_CALLBACK (on_wrote_body_cb), progress);
    }

  return send_json (self, msg, SOUP_STATUS_OK, error);
}

/**
 * ed_ctl_client_export:
 * @query: (element-type utf8 utf8): the list's filters: q, status, sort
 * @out: where the CSV goes, as it arrives
 * @n_rows: (out): how many guests it had
 */
gboolean
ed_ctl_client_export (EdCtlClient    *self,
                      gint64          event_id,
                      GHashTable     *query,
                      GOutputStream  *out,
                      EdCtlProgress  *progress,
                      gint64         *n_rows,
                      GError        **error)
{
  g_autofree char *path = NULL;
  g_autofree char *encoded = query && g_hash_table_size (query) > 0 ? soup_form_encode_hash (query) : NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *buffer = g_malloc (READ_BUFFER_BYTES);
  gint64 bytes = 0;
  gint64 lines = 0;
  gboolean in_quotes = FALSE;
  gssize n;

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests.csv%s%s", event_id,
                          encoded ? "?" : "", encoded ? encoded : "");
  if (!(msg = new_message (self, "GET", path, error)))
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autofree frees buffer; clang 14's analyzer does not run cleanups */
    return FALSE;

  if (!(stream = soup_session_send (self->session, msg, NULL, &local_error)))
    {
      set_transport_error (self, local_error, error);
      return FALSE;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_autoptr(GBytes) body = g_input_stream_read_bytes (stream, 64 * 1024, NULL, NULL);

      set_http_error (self, msg, body, error);
      return FALSE;
    }

  while ((n = g_input_stream_read (stream, buffer, READ_BUFFER_BYTES, NULL, &local_error)) > 0)
    {
      if (!g_output_stream_write_all (out, buffer, (gsize) n, NULL, NULL, error))
        return FALSE;
      bytes += n;
      /* Records, not lines: the server's CSV quotes values with line breaks. */
      for (gssize i = 0; i < n; i++)
        {
          if (buffer[i] == '"')
            in_quotes = !in_quotes;
          else if (buffer[i] == '\n' && !in_quotes)
            lines++;
        }
      if (progress != NULL)
        ed_ctl_progress_update (progress, bytes, MAX (lines - 1, 0));
    }
  if (n < 0)
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_UNREACHABLE,
                   _("The export broke off after %.1f MB: %s"), bytes / 1e6, local_error->message);
      return FALSE;
    }

  /* The header is not a guest. */
  *n_rows = MAX (lines - 1, 0);
  return TRUE;
}

/**
 * ed_ctl_client_get:
 * @path: the API path with its query, e.g. "/api/v1/events?after=12"
 *
 * Returns: (transfer full): the server's answer, a JSON object
 */
JsonObject *
ed_ctl_client_get (EdCtlClient  *self,
                   const char   *path,
                   GError      **error)
{
  g_autoptr(SoupMessage) msg = NULL;

  if (!(msg = new_message (self, "GET", path, error)))
    return NULL;

  return send_json (self, msg, SOUP_STATUS_OK, error);
}

/**
 * ed_ctl_client_post:
 * @path: an action such as "/api/v1/campaigns/4/launch", which takes no body
 *
 * A refusal because of the state of things (409) is %ED_CTL_ERROR_REFUSED
 * with the server's reason.
 *
 * Returns: (transfer full): the server's answer, a JSON object
 */
JsonObject *
ed_ctl_client_post (EdCtlClient  *self,
                    const char   *path,
                    GError      **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = g_bytes_new_static ("{}", 2);
  g_autoptr(GError) local_error = NULL;
  JsonObject *answer;

  if (!(msg = new_message (self, "POST", path, error)))
    return NULL;
  soup_message_set_request_body_from_bytes (msg, "application/json", body);

  answer = send_json (self, msg, SOUP_STATUS_OK, &local_error);
  if (local_error != NULL)
    {
      if (soup_message_get_status (msg) == SOUP_STATUS_CONFLICT && local_error->domain == ED_CTL_ERROR)
        local_error->code = ED_CTL_ERROR_REFUSED;
      g_propagate_error (error, g_steal_pointer (&local_error));
    }

  return answer;
}
