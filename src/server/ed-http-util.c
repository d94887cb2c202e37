/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-http"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-http-util.h"

#define JSON_CONTENT_TYPE "application/json; charset=utf-8"

static void
set_body (SoupServerMessage *msg,
          guint              status,
          const char        *content_type,
          char              *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE, body, strlen (body));
}

void
ed_http_reply_json (SoupServerMessage *msg,
                    guint              status,
                    JsonBuilder       *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  json_generator_set_root (generator, root);
  set_body (msg, status, JSON_CONTENT_TYPE, json_generator_to_data (generator, NULL));
}

static void
reply_error_object (SoupServerMessage *msg,
                    guint              status,
                    const char        *code,
                    const char        *message,
                    JsonObject        *fields)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  if (fields != NULL)
    {
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (node, fields);
      json_builder_set_member_name (builder, "fields");
      json_builder_add_value (builder, node);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  ed_http_reply_json (msg, status, builder);
}

/**
 * ed_http_reply_error:
 * @msg: the request
 * @status: an HTTP status
 * @code: a stable, machine-readable code such as "not_found"
 * @format: a message for people, saying what is wrong and what to do
 *
 * Answers `{"error":{"code":…,"message":…}}`.
 */
void
ed_http_reply_error (SoupServerMessage *msg,
                     guint              status,
                     const char        *code,
                     const char        *format,
                     ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  reply_error_object (msg, status, code, message, NULL);
}

/* Maps an error to its HTTP status; database errors are logged and
 * answered without their details.
 */
void
ed_http_reply_gerror (SoupServerMessage *msg,
                      const GError      *error)
{
  g_return_if_fail (error != NULL);

  if (g_error_matches (error, ED_ERROR, ED_ERROR_NO_SPACE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    {
      /* the operator's problem, not the client's: the log names the file */
      g_warning ("%s %s: %s", soup_server_message_get_method (msg),
                 ed_http_get_route (msg), error->message);
      ed_http_reply_error (msg, SOUP_STATUS_INSUFFICIENT_STORAGE, "insufficient_storage",
                           "The server’s disk is full, so nothing of this request was stored; "
                           "try again once its operator has made room");
      return;
    }

  if (error->domain != ED_ERROR)
    {
      g_warning ("%s %s: %s", soup_server_message_get_method (msg),
                 ed_http_get_route (msg), error->message);
      ed_http_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                           "The server could not complete the request; its log says why");
      return;
    }

  switch ((EdError) error->code)
    {
    case ED_ERROR_INVALID:
      ed_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "invalid_request", "%s", error->message);
      break;

    case ED_ERROR_UNAUTHORIZED:
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer realm=\"eventdesk\"");
      ed_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized", "%s", error->message);
      break;

    case ED_ERROR_FORBIDDEN:
      ed_http_reply_error (msg, SOUP_STATUS_FORBIDDEN, "forbidden", "%s", error->message);
      break;

    case ED_ERROR_NOT_FOUND:
      ed_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", "%s", error->message);
      break;

    case ED_ERROR_CONFLICT:
      ed_http_reply_error (msg, SOUP_STATUS_CONFLICT, "conflict", "%s", error->message);
      break;

    case ED_ERROR_TOO_LARGE:
      ed_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                           "%s", error->message);
      break;

    case ED_ERROR_THROTTLED:
      ed_http_reply_error (msg, ED_HTTP_STATUS_TOO_MANY_REQUESTS, "too_many_attempts",
                           "%s", error->message);
      break;

    case ED_ERROR_BUSY:
      ed_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", "%s", error->message);
      break;

    case ED_ERROR_NO_SPACE:  /* answered above */
    case ED_ERROR_STORE:
    case ED_ERROR_UNSUPPORTED:
    default:
      g_warning ("%s %s: %s", soup_server_message_get_method (msg),
                 ed_http_get_route (msg), error->message);
      ed_http_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                           "The server could not complete the request; its log says why");
      break;
    }
}

/**
 * ed_http_reply_fields:
 * @msg: the request
 * @fields: what is wrong with each bad field, by field name
 *
 * Answers 400 with code "invalid_field", a message naming the fields and
 * the @fields object itself.
 */
void
ed_http_reply_fields (SoupServerMessage *msg,
                      JsonObject        *fields)
{
  g_autoptr(GString) message = g_string_new (NULL);
  g_autoptr(GList) members = json_object_get_members (fields);

  for (const GList *l = members; l != NULL; l = l->next)
    g_string_append_printf (message, "%s%s %s", message->len ? "; " : "",
                            (const char *) l->data,
                            json_object_get_string_member (fields, l->data));

  reply_error_object (msg, SOUP_STATUS_BAD_REQUEST, "invalid_field", message->str, fields);
}

void
ed_http_reply_empty (SoupServerMessage *msg,
                     guint              status)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
}

#define JSON_MAX_DEPTH 32

/* json-glib's parser recurses once per level: refuse deep nesting before
 * it sees the text rather than let a request exhaust the stack.
 */
static gboolean
json_depth_ok (const char *data,
               gsize       length)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > JSON_MAX_DEPTH)
            return FALSE;
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }

  return TRUE;
}

/* json-glib turns a bad "\u" escape (a lone surrogate, "\ud8kk") into
 * bytes that are not UTF-8: such text must not reach the database, nor
 * the error answers that quote member names.
 */
static gboolean
json_text_ok (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          if (!g_utf8_validate (name, -1, NULL) || !json_text_ok (member))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!json_text_ok (json_array_get_element (array, i)))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_STRING ||
             g_utf8_validate (json_node_get_string (node), -1, NULL);

    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

/**
 * ed_http_parse_json:
 * @data: a request body
 * @length: its length in bytes
 * @error: return location for an %ED_ERROR_INVALID error
 *
 * The checks every JSON request body goes through, apart from its
 * transport: UTF-8, nesting depth, JSON syntax, an object at the top.
 *
 * Returns: (transfer full): the object
 */
JsonObject *
ed_http_parse_json (const char  *data,
                    gsize        length,
                    GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;

  if (length == 0)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The request body is empty; a JSON object is expected");
      return NULL;
    }
  if (!g_utf8_validate (data, length, NULL))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The request body is not valid UTF-8");
      return NULL;
    }

  if (!json_depth_ok (data, length))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "The request body nests more than %d levels deep", JSON_MAX_DEPTH);
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, length, &local_error))
    {
      /* json-glib quotes the bad part, which may be half a character */
      g_autofree char *reason = g_utf8_make_valid (local_error->message, -1);

      g_set_error (error, ED_ERROR, ED_ERROR_INVALID, "The request body is not valid JSON: %s", reason);
      return NULL;
    }

  /* only white space parses to no root at all */
  if (json_parser_get_root (parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The request body must be a JSON object");
      return NULL;
    }

  if (!json_text_ok (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                           "The request body has a “\\u” escape that is not a character (a lone surrogate?)");
      return NULL;
    }

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/**
 * ed_http_read_json:
 * @msg: the request
 * @error: return location for an %ED_ERROR_INVALID error
 *
 * Returns: (transfer full): the request body, which must be a JSON object
 *   sent as `application/json`
 */
JsonObject *
ed_http_read_json (SoupServerMessage  *msg,
                   GError            **error)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = NULL;
  const char *content_type;
  const char *data;
  gsize length;

  content_type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  if (content_type == NULL || g_ascii_strcasecmp (content_type, "application/json") != 0)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                           "The request body must be JSON sent as Content-Type: application/json");
      return NULL;
    }

  bytes = soup_message_body_flatten (body);
  data = g_bytes_get_data (bytes, &length);

  return ed_http_parse_json (data, length, error);
}

/* The matched route pattern, kept for the access log: paths can hold
 * tokens that must not be logged.
 */
void
ed_http_set_route (SoupServerMessage *msg,
                   const char        *route)
{
  g_object_set_data (G_OBJECT (msg), "ed-route", (gpointer) route);
}

const char *
ed_http_get_route (SoupServerMessage *msg)
{
  const char *route = g_object_get_data (G_OBJECT (msg), "ed-route");

  return route ? route : "(no route)";
}

/**
 * ed_http_set_private_headers:
 *
 * Headers of a page whose URL holds a guest's token: it must not leak
 * through a Referer, a cache or a frame.
 */
void
ed_http_set_private_headers (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "X-Frame-Options", "DENY");
  soup_message_headers_replace (headers, "Content-Security-Policy", ED_HTTP_PAGE_CSP);
  soup_message_headers_replace (headers, "X-Robots-Tag", "noindex, nofollow");
}

/* Whether the request's Accept header prefers JSON to HTML: a script's
 * "application/json" does, a browser's "text/html,…,*\/\*" does not.
 */
gboolean
ed_http_wants_json (SoupServerMessage *msg)
{
  const char *accept = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Accept");
  const char *json;
  const char *html;

  if (accept == NULL)
    return FALSE;

  json = strstr (accept, "application/json");
  html = strstr (accept, "text/html");
  return json != NULL && (html == NULL || json < html);
}

