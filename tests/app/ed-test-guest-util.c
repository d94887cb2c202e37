/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "ed-test-app.h"
#include "ed-test-guest-util.h"

#define ADMIN_NAME "admin"
#define ADMIN_PASSWORD "correct horse battery staple"

EdTestGuestServer *
ed_test_guest_server_new (void)
{
  EdTestGuestServer *server = g_new0 (EdTestGuestServer, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  server->daemon = ed_test_daemon_new ();
  ed_test_daemon_add_admin (server->daemon, ADMIN_NAME, ADMIN_PASSWORD);
  ed_test_daemon_start (server->daemon);

  server->client = ed_client_new (ed_test_daemon_get_url (server->daemon));
  ed_client_login_async (server->client, ADMIN_NAME, ADMIN_PASSWORD, NULL, ed_test_app_on_result_cb, &result);
  ed_client_login_finish (server->client, ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);

  return server;
}

void
ed_test_guest_server_free (EdTestGuestServer *server)
{
  if (server == NULL)
    return;

  g_clear_object (&server->client);
  g_clear_pointer (&server->daemon, ed_test_daemon_free);
  g_free (server);
}

JsonNode *
ed_test_guest_call (EdClient    *client,
                    const char  *method,
                    const char  *path,
                    const char  *json_body,
                    GError     **error_out)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  JsonNode *reply;

  if (json_body != NULL)
    {
      body = json_from_string (json_body, &error);
      g_assert_no_error (error);
    }

  ed_client_call_async (client, method, path, body, NULL, ed_test_app_on_result_cb, &result);
  reply = ed_client_call_finish (client, ed_test_app_wait_result (&result), &error);

  if (error_out != NULL)
    g_propagate_error (error_out, g_steal_pointer (&error));
  else
    g_assert_no_error (error);

  return reply;
}

gint64
ed_test_guest_create_event (EdClient   *client,
                            const char *name,
                            guint       capacity)
{
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) reply = NULL;

  body = g_strdup_printf ("{\"name\": \"%s\", \"starts_at\": \"2030-06-01T18:00:00Z\", "
                          "\"capacity\": %u, \"max_party_size\": 4}", name, capacity);
  reply = ed_test_guest_call (client, "POST", "/api/v1/events", body, NULL);
  g_assert_nonnull (reply);
  return json_object_get_int_member (json_node_get_object (reply), "id");
}

gint64
ed_test_guest_create_guest (EdClient   *client,
                            gint64      event_id,
                            const char *email,
                            const char *first_name,
                            const char *last_name)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, email);
  json_builder_set_member_name (builder, "first_name");
  json_builder_add_string_value (builder, first_name);
  json_builder_set_member_name (builder, "last_name");
  json_builder_add_string_value (builder, last_name);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  text = json_to_string (body, FALSE);

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  reply = ed_test_guest_call (client, "POST", path, text, NULL);
  g_assert_nonnull (reply);
  return json_object_get_int_member (json_node_get_object (reply), "id");
}

gint64
ed_test_guest_answer (EdClient   *client,
                      gint64      guest_id,
                      const char *response,
                      guint       party_size)
{
  static SoupSession *session;
  g_autofree char *path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT "/link", guest_id);
  g_autoptr(JsonNode) link = ed_test_guest_call (client, "GET", path, NULL, NULL);
  g_autofree char *url = NULL;
  g_autofree char *form = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;

  if (session == NULL)
    session = soup_session_new ();

  url = g_strdup_printf ("%s/r/%s", ed_client_get_base_url (client),
                         json_object_get_string_member (json_node_get_object (link), "token"));
  form = g_strdup_printf ("response=%s&party_size=%u", response, party_size);
  body = g_bytes_new (form, strlen (form));
  msg = soup_message_new ("POST", url);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);

  /* The main loop runs meanwhile, so the app sees the answer's updates. */
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, ed_test_app_on_result_cb, &result);
  reply = soup_session_send_and_read_finish (session, ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);

  {
    gsize length = 0;
    gconstpointer data = g_bytes_get_data (reply, &length);
    g_autofree char *text = g_strndup (data, length);

    answer = json_from_string (text, &error);
  }
  g_assert_no_error (error);
  return json_object_get_int_member (json_node_get_object (answer), "seats_left");
}

GFile *
ed_test_guest_write_csv (const char *dir,
                         guint       n)
{
  g_autoptr(GString) csv = g_string_new ("Email,First Name,Last Name,Company\n");
  g_autofree char *path = g_build_filename (dir, "guests.csv", NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (csv, "guest%04u@example.com,First %04u,Last%04u,ACME\n", i, i, i);
  g_file_set_contents (path, csv->str, (gssize) csv->len, &error);
  g_assert_no_error (error);

  return g_file_new_for_path (path);
}

JsonObject *
ed_test_guest_import (EdClient *client,
                      gint64    event_id,
                      GFile    *file)
{
  g_autofree char *path = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import?mode=skip", event_id);
  ed_client_upload_async (client, path, file, "text/csv", NULL, NULL, NULL, NULL, ed_test_app_on_result_cb, &result);
  reply = ed_client_upload_finish (client, ed_test_app_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (reply));

  return json_object_ref (json_node_get_object (reply));
}

GtkWidget *
ed_test_guest_find_text (GtkWidget  *root,
                         const char *text)
{
  if (GTK_IS_INSCRIPTION (root) && gtk_widget_get_mapped (root) &&
      g_strcmp0 (gtk_inscription_get_text (GTK_INSCRIPTION (root)), text) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = ed_test_guest_find_text (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}
