/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include "ed-test-fixture.h"

void
ed_test_fixture_set_up (EdTestFixture *fixture,
                        gconstpointer  user_data)
{
  fixture->daemon = ed_test_daemon_new ();
  fixture->session = ed_test_http_session_new ();
  ed_test_daemon_add_admin (fixture->daemon, ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);
  fixture->token = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                                       ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
}

void
ed_test_fixture_tear_down (EdTestFixture *fixture,
                           gconstpointer  user_data)
{
  g_clear_pointer (&fixture->token, g_free);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
}

static EdTestResponse *
api_va (EdTestFixture *fixture,
        const char    *method,
        const char    *json_body,
        const char    *path_format,
        va_list        args)
{
  g_autofree char *path = g_strdup_vprintf (path_format, args);
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request (fixture->session, method, url, fixture->token, json_body, NULL);
}

/* A request as the logged-in admin. */
EdTestResponse *
ed_test_api (EdTestFixture *fixture,
             const char    *method,
             const char    *json_body,
             const char    *path_format,
             ...)
{
  EdTestResponse *response;
  va_list args;

  va_start (args, path_format);
  response = api_va (fixture, method, json_body, path_format, args);
  va_end (args);

  return response;
}

/* POSTs @json_body, expects 201 Created, and gives the new thing's id. */
gint64
ed_test_api_create (EdTestFixture *fixture,
                    const char    *json_body,
                    const char    *path_format,
                    ...)
{
  g_autoptr(EdTestResponse) response = NULL;
  va_list args;

  va_start (args, path_format);
  response = api_va (fixture, "POST", json_body, path_format, args);
  va_end (args);

  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  return ed_test_json_int (ed_test_response_get_object (response), "id");
}

/* The token of the guest's personal RSVP link. */
char *
ed_test_api_link_token (EdTestFixture *fixture,
                        gint64         guest_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT "/link", guest_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  return g_strdup (ed_test_json_string (ed_test_response_get_object (response), "token"));
}

static const char *
describe_type (GType type)
{
  return type == G_TYPE_INVALID ? "null or nothing" : g_type_name (type);
}

static JsonNode *
get_member (JsonObject *object,
            const char *name,
            GType       type)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  GType found = node != NULL ? json_node_get_value_type (node) : G_TYPE_INVALID;

  if (found != type)
    g_test_message ("Member “%s” of the answer: expected %s, found %s",
                    name, describe_type (type), node != NULL ? describe_type (found) : "no such member");
  g_assert_true (found == type);

  return found == type ? node : NULL;
}

gint64
ed_test_json_int (JsonObject *object,
                  const char *name)
{
  JsonNode *node = get_member (object, name, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : 0;
}

/* A number, or 0 for null; a missing member fails the test. */
gint64
ed_test_json_int_or_null (JsonObject *object,
                          const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL)
    g_test_message ("The answer has no member “%s”", name);
  g_assert_nonnull (node);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return 0;

  return ed_test_json_int (object, name);
}

const char *
ed_test_json_string (JsonObject *object,
                     const char *name)
{
  JsonNode *node = get_member (object, name, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : "";
}

gboolean
ed_test_json_boolean (JsonObject *object,
                      const char *name)
{
  JsonNode *node = get_member (object, name, G_TYPE_BOOLEAN);

  return node != NULL && json_node_get_boolean (node);
}

JsonObject *
ed_test_json_object (JsonObject *object,
                     const char *name)
{
  static JsonObject *empty = NULL;
  JsonNode *node = get_member (object, name, JSON_TYPE_OBJECT);

  if (node != NULL)
    return json_node_get_object (node);

  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, json_object_new ());
  return empty;
}

JsonArray *
ed_test_json_array (JsonObject *object,
                    const char *name)
{
  static JsonArray *empty = NULL;
  JsonNode *node = get_member (object, name, JSON_TYPE_ARRAY);

  if (node != NULL)
    return json_node_get_array (node);

  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, json_array_new ());
  return empty;
}
