/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

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
