/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-client"

#include "config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>

#include "ed-client.h"

/* JSON calls time out when the server stops answering for this long;
 * uploads and downloads only when no byte moves for TRANSFER_TIMEOUT_S,
 * since the daemon may take minutes to add half a million guests after an
 * upload's last byte.
 */
#define CALL_TIMEOUT_S 30
#define TRANSFER_TIMEOUT_S 600
#define READ_CHUNK_BYTES (128 * 1024)
#define MAX_ERROR_BODY_BYTES (1024 * 1024)

struct _EdClient
{
  GObject      parent_instance;

  /* owned */
  SoupSession *session;
  SoupSession *transfer_session;
  char        *base_url;
  char        *token;
  char        *username;

  guint        reachable : 1;
};

enum {
  PROP_0,
  PROP_BASE_URL,
  PROP_TOKEN,
  PROP_USERNAME,
  PROP_REACHABLE,
  N_PROPS
};

enum {
  SESSION_EXPIRED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdClient, ed_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (ed-client-error-quark, ed_client_error)

/* What one call keeps until it ends. */
typedef struct
{
  SoupMessage          *msg;
  GHashTable           *error_fields;
  gboolean              had_token;

  /* uploads and downloads */
  EdClientProgressFunc  progress;
  gpointer              progress_data;
  GDestroyNotify        progress_data_free;
  goffset               done;
  goffset               total;
  GInputStream         *body;
  GOutputStream        *output;
  GFile                *destination;
} Call;

static void
call_free (gpointer data)
{
  Call *call = data;

  g_clear_object (&call->msg);
  g_clear_pointer (&call->error_fields, g_hash_table_unref);
  if (call->progress_data_free != NULL)
    call->progress_data_free (call->progress_data);
  g_clear_object (&call->body);
  g_clear_object (&call->output);
  g_clear_object (&call->destination);
  g_free (call);
}

static void
set_reachable (EdClient *self,
               gboolean  reachable)
{
  if (self->reachable == !!reachable)
    return;

  self->reachable = !!reachable;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REACHABLE]);
}

static void
set_username (EdClient   *self,
              const char *username)
{
  if (g_strcmp0 (self->username, username) == 0)
    return;

  g_free (self->username);
  self->username = g_strdup (username);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
}

static char *
make_url (EdClient   *self,
          const char *path)
{
  return g_strconcat (self->base_url, path, NULL);
}

static SoupMessage *
new_message (EdClient   *self,
             const char *method,
             const char *path,
             GError    **error)
{
  g_autofree char *url = make_url (self, path);
  g_autoptr(GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  SoupMessage *msg;
  SoupMessageHeaders *headers;

  if (uri == NULL ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
       g_strcmp0 (g_uri_get_scheme (uri), "https") != 0) ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE,
                   _("“%s” is not a server address; it looks like https://eventdesk.example.org"),
                   self->base_url);
      return NULL;
    }

  msg = soup_message_new_from_uri (method, uri);
  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (self->token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (headers, "Authorization", authorization);
    }

  return msg;
}

/* Turns a failure to get any answer into the kind the UI explains. */
static GError *
transport_error (EdClient *self,
                 GError   *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  if (error->domain == G_TLS_ERROR)
    return g_error_new (ED_CLIENT_ERROR, ED_CLIENT_ERROR_TLS,
                        _("The secure connection to %s failed: %s"), self->base_url, error->message);

  if (error->domain == SOUP_SESSION_ERROR)
    return g_error_new (ED_CLIENT_ERROR, ED_CLIENT_ERROR_PROTOCOL,
                        _("%s did not answer like an Eventdesk server: %s"),
                        self->base_url, error->message);

  set_reachable (self, FALSE);
  return g_error_new (ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE,
                      _("Cannot reach %s: %s"), self->base_url, error->message);
}

static EdClientError
error_for_status (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return ED_CLIENT_ERROR_UNAUTHORIZED;
    case SOUP_STATUS_FORBIDDEN:
      return ED_CLIENT_ERROR_FORBIDDEN;
    case SOUP_STATUS_NOT_FOUND:
      return ED_CLIENT_ERROR_NOT_FOUND;
    case SOUP_STATUS_CONFLICT:
      return ED_CLIENT_ERROR_CONFLICT;
    case SOUP_STATUS_BAD_REQUEST:
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
    case SOUP_STATUS_UNPROCESSABLE_ENTITY:
    case SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE:
      return ED_CLIENT_ERROR_INVALID;
    case 429: /* Too Many Requests */
      return ED_CLIENT_ERROR_THROTTLED;
    default:
      return status >= 500 ? ED_CLIENT_ERROR_SERVER : ED_CLIENT_ERROR_PROTOCOL;
    }
}

static JsonNode *
parse_json (GBytes  *bytes,
            GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &length) : NULL;

  if (length == 0)
    return NULL;

  if (!json_parser_load_from_data (parser, data, (gssize) length, error))
    return NULL;

  return json_node_ref (json_parser_get_root (parser));
}

/* Makes the error of an answer that is not a success, keeping the
 * server's message and per-field messages.
 */
static GError *
http_error (EdClient    *self,
            Call        *call,
            GBytes      *body)
{
  guint status = soup_message_get_status (call->msg);
  g_autoptr(JsonNode) root = parse_json (body, NULL);
  EdClientError code = error_for_status (status);
  const char *message = NULL;
  JsonObject *details = NULL;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *object = json_node_get_object (root);

      if (json_object_has_member (object, "error") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "error")))
        details = json_object_get_object_member (object, "error");
    }

  if (details != NULL)
    {
      message = json_object_get_string_member_with_default (details, "message", NULL);

      if (json_object_has_member (details, "fields") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (details, "fields")))
        {
          JsonObject *fields = json_object_get_object_member (details, "fields");
          JsonObjectIter iter;
          const char *name;
          JsonNode *value;

          call->error_fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          json_object_iter_init (&iter, fields);
          while (json_object_iter_next (&iter, &name, &value))
            if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
              g_hash_table_insert (call->error_fields, g_strdup (name),
                                   g_strdup (json_node_get_string (value)));
        }
    }

  if (message != NULL && *message != '\0')
    return g_error_new_literal (ED_CLIENT_ERROR, code, message);

  return g_error_new (ED_CLIENT_ERROR, code, _("The server answered %u %s"), status,
                      soup_message_get_reason_phrase (call->msg) ?: "");
}

/* Ends @task from an answer's status and body. */
static void
return_answer (EdClient *self,
               GTask    *task,
               GBytes   *body)
{
  Call *call = g_task_get_task_data (task);
  guint status = soup_message_get_status (call->msg);
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  set_reachable (self, TRUE);

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      error = http_error (self, call, body);
      if (status == SOUP_STATUS_UNAUTHORIZED && call->had_token)
        g_signal_emit (self, signals[SESSION_EXPIRED], 0);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  root = parse_json (body, &error);
  if (error != NULL)
    {
      g_task_return_new_error (task, ED_CLIENT_ERROR, ED_CLIENT_ERROR_PROTOCOL,
                               _("%s answered something that is not JSON: %s"),
                               self->base_url, error->message);
      return;
    }

  g_task_return_pointer (task, root, (GDestroyNotify) json_node_unref);
}

static void
on_send_and_read_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdClient *self = g_task_get_source_object (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      g_task_return_error (task, transport_error (self, error));
      return;
    }

  return_answer (self, task, body);
}

static GTask *
new_call_task (EdClient            *self,
               const char          *method,
               const char          *path,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data,
               gpointer             source_tag,
               GError             **error)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, call, call_free);
  call->had_token = self->token != NULL;
  call->msg = new_message (self, method, path, error);

  return task;
}

static void
set_json_body (SoupMessage *msg,
               JsonNode    *body)
{
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr(GBytes) bytes = NULL;

  text = json_to_string (body, FALSE);
  length = strlen (text);
  bytes = g_bytes_new_take (g_steal_pointer (&text), length);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
}

/* Progress */

static void
report_progress (Call *call)
{
  if (call->progress != NULL)
    call->progress (call->done, call->total, call->progress_data);
}

static void
on_wrote_body_data_cb (SoupMessage *msg,
                       guint        chunk_size,
                       gpointer     user_data)
{
  Call *call = user_data;

  call->done += chunk_size;
  report_progress (call);
}

/* Downloads */

static void read_download_chunk (GTask *task);

/* Ends a download that failed without replacing the destination: closing
 * with a cancelled cancellable makes GIO drop its temporary file.
 */
static void
fail_download (GTask  *task,
               GError *error)
{
  Call *call = g_task_get_task_data (task);

  if (call->output != NULL)
    {
      g_autoptr(GCancellable) abandon = g_cancellable_new ();

      g_cancellable_cancel (abandon);
      g_output_stream_close (call->output, abandon, NULL);
    }
  if (call->body != NULL)
    g_input_stream_close (call->body, NULL, NULL);

  g_task_return_error (task, error);
}

static void
on_download_closed_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
on_download_written_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      fail_download (task, g_steal_pointer (&error));
      return;
    }

  call->done += (goffset) written;
  report_progress (call);
  read_download_chunk (g_steal_pointer (&task));
}

static void
on_download_read_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GCancellable *cancellable = g_task_get_cancellable (task);
  EdClient *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  gconstpointer data;
  gsize length;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      fail_download (task, transport_error (self, error));
      return;
    }

  data = g_bytes_get_data (bytes, &length);
  if (length == 0)
    {
      if (call->total >= 0 && call->done != call->total)
        {
          fail_download (task, g_error_new (ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE,
                                            _("The download from %s broke off"), self->base_url));
          return;
        }
      g_output_stream_close_async (call->output, G_PRIORITY_DEFAULT, cancellable,
                                   on_download_closed_cb, g_steal_pointer (&task));
      return;
    }

  /* The bytes stay alive as the task's until the write ends. */
  g_object_set_data_full (G_OBJECT (task), "chunk", g_bytes_ref (bytes), (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (call->output, data, length, G_PRIORITY_DEFAULT,
                                   cancellable,
                                   on_download_written_cb, g_steal_pointer (&task));
}

static void
read_download_chunk (GTask *task)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Call *call = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (call->body, READ_CHUNK_BYTES, G_PRIORITY_DEFAULT,
                                   cancellable, on_download_read_cb, task);
}

static void
on_download_replaced_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  call->output = G_OUTPUT_STREAM (g_file_replace_finish (G_FILE (source), result, &error));
  if (call->output == NULL)
    {
      fail_download (task, g_steal_pointer (&error));
      return;
    }

  report_progress (call);
  read_download_chunk (g_steal_pointer (&task));
}

static void
on_download_error_body_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdClient *self = g_task_get_source_object (task);
  g_autoptr(GBytes) body = NULL;

  /* Whatever could be read explains the error; a body that could not be
   * read still leaves the status.
   */
  body = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  return_answer (self, task, body);
}

static void
on_download_sent_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GCancellable *cancellable = g_task_get_cancellable (task);
  EdClient *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  guint status;

  call->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (call->body == NULL)
    {
      g_task_return_error (task, transport_error (self, error));
      return;
    }

  set_reachable (self, TRUE);
  status = soup_message_get_status (call->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_input_stream_read_bytes_async (call->body, MAX_ERROR_BODY_BYTES, G_PRIORITY_DEFAULT,
                                       cancellable,
                                       on_download_error_body_cb, g_steal_pointer (&task));
      return;
    }

  call->total = soup_message_headers_get_content_length (soup_message_get_response_headers (call->msg));
  if (call->total == 0 &&
      soup_message_headers_get_encoding (soup_message_get_response_headers (call->msg)) != SOUP_ENCODING_CONTENT_LENGTH)
    call->total = -1;

  g_file_replace_async (call->destination, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                        G_PRIORITY_DEFAULT, cancellable,
                        on_download_replaced_cb, g_steal_pointer (&task));
}

/* Uploads */

static void
on_upload_info_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GCancellable *cancellable = g_task_get_cancellable (task);
  EdClient *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  const char *content_type = g_object_get_data (G_OBJECT (task), "content-type");

  info = g_file_input_stream_query_info_finish (G_FILE_INPUT_STREAM (source), result, &error);
  if (info == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  call->total = g_file_info_get_size (info);
  soup_message_set_request_body (call->msg, content_type, call->body, call->total);
  /* The daemon refuses a wrong event or a running import before the
   * body; with this it does so before we send the file.
   */
  soup_message_headers_set_expectations (soup_message_get_request_headers (call->msg),
                                         SOUP_EXPECTATION_CONTINUE);
  g_signal_connect (call->msg, "wrote-body-data", G_CALLBACK (on_wrote_body_data_cb), call);
  report_progress (call);

  soup_session_send_and_read_async (self->transfer_session, call->msg, G_PRIORITY_DEFAULT,
                                    cancellable,
                                    on_send_and_read_cb, g_steal_pointer (&task));
}

static void
on_upload_opened_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GCancellable *cancellable = g_task_get_cancellable (task);
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GFileInputStream *stream;

  stream = g_file_read_finish (G_FILE (source), result, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  call->body = G_INPUT_STREAM (stream);
  g_file_input_stream_query_info_async (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_PRIORITY_DEFAULT,
                                        cancellable,
                                        on_upload_info_cb, g_steal_pointer (&task));
}

/* Login */

static void
on_login_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdClient *self = ED_CLIENT (source);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  const char *token;

  root = ed_client_call_finish (self, result, &error);
  if (root == NULL && error == NULL)
    error = g_error_new (ED_CLIENT_ERROR, ED_CLIENT_ERROR_PROTOCOL,
                         _("%s answered the login without a session"), self->base_url);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  token = object ? json_object_get_string_member_with_default (object, "token", NULL) : NULL;
  if (token == NULL)
    {
      g_task_return_new_error (task, ED_CLIENT_ERROR, ED_CLIENT_ERROR_PROTOCOL,
                               _("%s answered the login without a session"), self->base_url);
      return;
    }

  ed_client_set_token (self, token);
  set_username (self, json_object_get_string_member_with_default (object, "username",
                                                                 g_task_get_task_data (task)));
  g_task_return_boolean (task, TRUE);
}

static void
ed_client_finalize (GObject *object)
{
  EdClient *self = (EdClient *)object;

  g_clear_object (&self->session);
  g_clear_object (&self->transfer_session);
  g_clear_pointer (&self->base_url, g_free);
  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->username, g_free);

  G_OBJECT_CLASS (ed_client_parent_class)->finalize (object);
}

static void
ed_client_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  EdClient *self = ED_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      g_value_set_string (value, self->base_url);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_REACHABLE:
      g_value_set_boolean (value, self->reachable);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_client_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  EdClient *self = ED_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      {
        const char *url = g_value_get_string (value);
        gsize length = url ? strlen (url) : 0;

        /* Paths start with "/": no trailing one on the base. */
        while (length > 0 && url[length - 1] == '/')
          length--;
        self->base_url = g_strndup (url ? url : "", length);
      }
      break;
    case PROP_TOKEN:
      ed_client_set_token (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_client_class_init (EdClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ed_client_finalize;
  object_class->get_property = ed_client_get_property;
  object_class->set_property = ed_client_set_property;

  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_TOKEN] =
    g_param_spec_string ("token", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_REACHABLE] =
    g_param_spec_boolean ("reachable", NULL, NULL, TRUE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SESSION_EXPIRED] =
    g_signal_new ("session-expired",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
ed_client_init (EdClient *self)
{
  g_autofree char *user_agent = g_strdup_printf ("eventdesk/%s ", PACKAGE_VERSION);

  self->reachable = TRUE;
  self->session = soup_session_new_with_options ("timeout", CALL_TIMEOUT_S,
                                                 "idle-timeout", 60,
                                                 "user-agent", user_agent,
                                                 NULL);
  self->transfer_session = soup_session_new_with_options ("timeout", TRANSFER_TIMEOUT_S,
                                                          "user-agent", user_agent,
                                                          NULL);
}

/**
 * ed_client_new:
 * @base_url: the daemon's address, e.g. "http://127.0.0.1:8460"
 *
 * Returns: (transfer full): a client without a session yet
 */
EdClient *
ed_client_new (const char *base_url)
{
  g_return_val_if_fail (base_url != NULL, NULL);

  return g_object_new (ED_TYPE_CLIENT, "base-url", base_url, NULL);
}

const char *
ed_client_get_base_url (EdClient *self)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), NULL);

  return self->base_url;
}

const char *
ed_client_get_token (EdClient *self)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), NULL);

  return self->token;
}

void
ed_client_set_token (EdClient   *self,
                     const char *token)
{
  g_return_if_fail (ED_IS_CLIENT (self));

  if (g_strcmp0 (self->token, token) == 0)
    return;

  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_free (self->token);
  self->token = g_strdup (token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
}

const char *
ed_client_get_username (EdClient *self)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), NULL);

  return self->username;
}

gboolean
ed_client_get_reachable (EdClient *self)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), FALSE);

  return self->reachable;
}

void
ed_client_login_async (EdClient            *self,
                       const char          *username,
                       const char          *password,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  g_return_if_fail (ED_IS_CLIENT (self));
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_client_login_async);
  g_task_set_task_data (task, g_strdup (username), g_free);

  /* A new login replaces the old session rather than sending it along. */
  ed_client_set_token (self, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  ed_client_call_async (self, "POST", "/api/v1/session", body, cancellable,
                        on_login_cb, g_steal_pointer (&task));
}

gboolean
ed_client_login_finish (EdClient      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
ed_client_call_async (EdClient            *self,
                      const char          *method,
                      const char          *path,
                      JsonNode            *body,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Call *call;

  g_return_if_fail (ED_IS_CLIENT (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (path != NULL && path[0] == '/');

  task = new_call_task (self, method, path, cancellable, callback, user_data,
                        ed_client_call_async, &error);
  call = g_task_get_task_data (task);
  if (call->msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (body != NULL)
    set_json_body (call->msg, body);

  soup_session_send_and_read_async (self->session, call->msg, G_PRIORITY_DEFAULT, cancellable,
                                    on_send_and_read_cb, g_steal_pointer (&task));
}

JsonNode *
ed_client_call_finish (EdClient      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

GHashTable *
ed_client_call_dup_error_fields (EdClient     *self,
                                 GAsyncResult *result)
{
  Call *call;

  g_return_val_if_fail (ED_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  /* A login's task wraps the call's; its fields are not kept. */
  if (g_task_get_source_tag (G_TASK (result)) == ed_client_login_async)
    return NULL;

  call = g_task_get_task_data (G_TASK (result));
  if (call == NULL || call->error_fields == NULL)
    return NULL;

  return g_hash_table_ref (call->error_fields);
}

void
ed_client_upload_async (EdClient             *self,
                        const char           *path,
                        GFile                *file,
                        const char           *content_type,
                        EdClientProgressFunc  progress,
                        gpointer              progress_data,
                        GDestroyNotify        progress_data_free,
                        GCancellable         *cancellable,
                        GAsyncReadyCallback   callback,
                        gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Call *call;

  g_return_if_fail (ED_IS_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (content_type != NULL);

  task = new_call_task (self, "POST", path, cancellable, callback, user_data,
                        ed_client_upload_async, &error);
  call = g_task_get_task_data (task);
  call->progress = progress;
  call->progress_data = progress_data;
  call->progress_data_free = progress_data_free;
  call->total = -1;
  g_object_set_data_full (G_OBJECT (task), "content-type", g_strdup (content_type), g_free);
  if (call->msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_file_read_async (file, G_PRIORITY_DEFAULT, cancellable, on_upload_opened_cb, g_steal_pointer (&task));
}

JsonNode *
ed_client_upload_finish (EdClient      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
ed_client_download_async (EdClient             *self,
                          const char           *path,
                          GFile                *destination,
                          EdClientProgressFunc  progress,
                          gpointer              progress_data,
                          GDestroyNotify        progress_data_free,
                          GCancellable         *cancellable,
                          GAsyncReadyCallback   callback,
                          gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Call *call;

  g_return_if_fail (ED_IS_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (G_IS_FILE (destination));

  task = new_call_task (self, "GET", path, cancellable, callback, user_data,
                        ed_client_download_async, &error);
  call = g_task_get_task_data (task);
  call->progress = progress;
  call->progress_data = progress_data;
  call->progress_data_free = progress_data_free;
  call->total = -1;
  call->destination = g_object_ref (destination);
  if (call->msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  soup_message_headers_replace (soup_message_get_request_headers (call->msg), "Accept", "text/csv, application/json");
  soup_session_send_async (self->transfer_session, call->msg, G_PRIORITY_DEFAULT, cancellable,
                           on_download_sent_cb, g_steal_pointer (&task));
}

gboolean
ed_client_download_finish (EdClient      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (ED_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
ed_client_error_is_quiet (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE) ||
         g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED);
}

char *
ed_client_build_path (const char *path,
                      const char *first_key,
                      ...)
{
  GString *result;
  const char *key;
  va_list args;
  gboolean first;

  g_return_val_if_fail (path != NULL, NULL);

  result = g_string_new (path);
  first = strchr (path, '?') == NULL;

  va_start (args, first_key);
  for (key = first_key; key != NULL; key = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);

      if (value == NULL || *value == '\0')
        continue;

      g_string_append_c (result, first ? '?' : '&');
      g_string_append_uri_escaped (result, key, NULL, FALSE);
      g_string_append_c (result, '=');
      g_string_append_uri_escaped (result, value, NULL, FALSE);
      first = FALSE;
    }
  va_end (args);

  return g_string_free (result, FALSE);
}
