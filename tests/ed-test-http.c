/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <string.h>

#include "ed-test-http.h"

/* Synchronous HTTP for tests: each call sends one request and reads the
 * whole answer, so that a test reads top to bottom like a user's session.
 */

/* A daemon that stops answering fails the test instead of hanging it. */
#define IO_TIMEOUT_SECONDS 20

void
ed_test_response_free (EdTestResponse *response)
{
  if (response == NULL)
    return;

  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_pointer (&response->body, g_bytes_unref);
  g_clear_pointer (&response->json, json_node_unref);
  g_free (response);
}

/**
 * ed_test_response_new:
 * @msg: a message whose answer has arrived
 * @body: (nullable): the answer's body
 *
 * Keeps the status, headers and body of @msg, and parses a body sent as
 * JSON; a JSON body that does not parse fails the test.
 */
EdTestResponse *
ed_test_response_new (SoupMessage *msg,
                      GBytes      *body)
{
  EdTestResponse *response = g_new0 (EdTestResponse, 1);
  const char *content_type;

  response->status = soup_message_get_status (msg);
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  response->body = body ? g_bytes_ref (body) : g_bytes_new (NULL, 0);

  content_type = soup_message_headers_get_content_type (response->headers, NULL);
  if (g_strcmp0 (content_type, "application/json") == 0 && g_bytes_get_size (response->body) > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      gsize length;
      const char *data = g_bytes_get_data (response->body, &length);

      json_parser_load_from_data (parser, data, (gssize) length, &error);
      g_assert_no_error (error);
      if (error == NULL)
        response->json = json_node_ref (json_parser_get_root (parser));
    }

  return response;
}

char *
ed_test_response_get_body_text (EdTestResponse *response)
{
  gsize length;
  const char *data = g_bytes_get_data (response->body, &length);

  return g_strndup (data, length);
}

/* Shows the answer in the test log, for a status the test did not expect. */
void
ed_test_response_dump (EdTestResponse *response)
{
  g_autofree char *text = ed_test_response_get_body_text (response);

  g_test_message ("Unexpected answer: HTTP %u, body: %s", response->status, text);
}

const char *
ed_test_response_get_header (EdTestResponse *response,
                             const char     *name)
{
  return soup_message_headers_get_one (response->headers, name);
}

/* An object with no members, for answers that have none to give. */
static JsonObject *
get_empty_object (void)
{
  static JsonObject *empty = NULL;

  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, json_object_new ());

  return empty;
}

/**
 * ed_test_response_get_object:
 *
 * Returns the body as an object. Anything else fails the test, and gives
 * an empty object so that the test can go on to its end and teardown.
 *
 * Returns: (transfer none): the object
 */
JsonObject *
ed_test_response_get_object (EdTestResponse *response)
{
  gboolean is_object = response->json != NULL && JSON_NODE_HOLDS_OBJECT (response->json);

  if (!is_object)
    ed_test_response_dump (response);
  g_assert_true (is_object);

  return is_object ? json_node_get_object (response->json) : get_empty_object ();
}

static JsonObject *
get_error_object (EdTestResponse *response)
{
  JsonObject *root;
  JsonNode *node;

  if (response->json == NULL || !JSON_NODE_HOLDS_OBJECT (response->json))
    return NULL;

  root = json_node_get_object (response->json);
  node = json_object_get_member (root, "error");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;

  return json_node_get_object (node);
}

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* Returns `error.code` of the body, or NULL when there is none. */
const char *
ed_test_response_get_error_code (EdTestResponse *response)
{
  return get_string_member (get_error_object (response), "code");
}

/* Returns what `error.fields` says about @field, or NULL when it is not named. */
const char *
ed_test_response_get_error_field (EdTestResponse *response,
                                  const char     *field)
{
  JsonObject *error = get_error_object (response);
  JsonNode *fields = error ? json_object_get_member (error, "fields") : NULL;

  if (fields == NULL || !JSON_NODE_HOLDS_OBJECT (fields))
    return NULL;

  return get_string_member (json_node_get_object (fields), field);
}

SoupSession *
ed_test_http_session_new (void)
{
  SoupSession *session = soup_session_new_with_options ("timeout", IO_TIMEOUT_SECONDS,
                                                        "user-agent", "eventdesk-test-api ",
                                                        NULL);

  /* The daemon is on loopback; a proxy from the environment must not come between. */
  soup_session_set_proxy_resolver (session, NULL);

  return session;
}

/**
 * ed_test_http_message_new:
 * @method: the HTTP method
 * @url: the full URL
 * @token: (nullable): a session token, sent as `Authorization: Bearer`
 * @json_body: (nullable): a body sent as `application/json`
 * @headers: (nullable) (array zero-terminated=1): more headers as name,
 *   value, name, value…; they replace headers set before, Content-Type too
 */
SoupMessage *
ed_test_http_message_new (const char          *method,
                          const char          *url,
                          const char          *token,
                          const char          *json_body,
                          const char * const  *headers)
{
  SoupMessage *msg = soup_message_new (method, url);
  SoupMessageHeaders *request_headers;

  /* Not a check of the daemon: nothing sensible can follow. */
  g_assert (msg != NULL);
  request_headers = soup_message_get_request_headers (msg);

  if (json_body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (json_body, strlen (json_body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  if (token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (request_headers, "Authorization", authorization);
    }

  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    {
      g_assert (headers[i + 1] != NULL);
      soup_message_headers_replace (request_headers, headers[i], headers[i + 1]);
    }

  return msg;
}

/* Sends @msg and reads the whole answer; a transport error fails the test
 * and gives an answer with status 0.
 */
EdTestResponse *
ed_test_http_send (SoupSession *session,
                   SoupMessage *msg)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);

  return ed_test_response_new (msg, body);
}

EdTestResponse *
ed_test_http_request (SoupSession         *session,
                      const char          *method,
                      const char          *url,
                      const char          *token,
                      const char          *json_body,
                      const char * const  *headers)
{
  g_autoptr(SoupMessage) msg = ed_test_http_message_new (method, url, token, json_body, headers);

  return ed_test_http_send (session, msg);
}

/**
 * ed_test_http_request_bytes:
 * @chunked: send @body with chunked transfer encoding instead of a
 *   Content-Length, as a client streaming a body of unknown size does
 *
 * Sends an arbitrary body, for requests no well-behaved client would make.
 */
EdTestResponse *
ed_test_http_request_bytes (SoupSession *session,
                            const char  *method,
                            const char  *url,
                            const char  *token,
                            const char  *content_type,
                            GBytes      *body,
                            gboolean     chunked)
{
  g_autoptr(SoupMessage) msg = ed_test_http_message_new (method, url, token, NULL, NULL);

  if (chunked)
    {
      g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (body);

      soup_message_set_request_body (msg, content_type, stream, -1);
      g_assert_cmpint (soup_message_headers_get_encoding (soup_message_get_request_headers (msg)),
                       ==, SOUP_ENCODING_CHUNKED);
    }
  else
    soup_message_set_request_body_from_bytes (msg, content_type, body);

  return ed_test_http_send (session, msg);
}

/* Logs in and returns the session token; anything but 201 fails the test
 * and returns NULL.
 */
char *
ed_test_http_login (SoupSession *session,
                    const char  *base_url,
                    const char  *username,
                    const char  *password)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = NULL;
  g_autofree char *url = g_strconcat (base_url, "/api/v1/session", NULL);
  JsonObject *object;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);

  response = ed_test_http_request (session, "POST", url, NULL, body, NULL);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees response; clang 14's analyzer does not run cleanups */
  object = ed_test_response_get_object (response);
  g_assert_nonnull (get_string_member (object, "token"));

  return g_strdup (get_string_member (object, "token"));
}

/* The claims of a token (signed by the daemon, which the tests trust). */
JsonObject *
ed_test_token_claims (const char *token)
{
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);
  g_autoptr(GString) payload = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  payload = g_string_new (parts[1]);
  g_string_replace (payload, "-", "+", 0);
  g_string_replace (payload, "_", "/", 0);
  while (payload->len % 4 != 0)
    g_string_append_c (payload, '=');
  decoded = g_base64_decode (payload->str, &length);
  json = g_strndup ((const char *) decoded, length);
  node = json_from_string (json, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}
