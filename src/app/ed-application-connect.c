/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "ed-application-private.h"
#include "ed-secret-util.h"

/* Connecting: to the private daemon of "This computer", whose admin
 * password the app makes and keeps in the keyring, or to a server with
 * the user's own account.
 */

#define LOCAL_USERNAME "local"

typedef struct
{
  char     *server;      /* the keyring's key */
  char     *url;
  char     *username;
  char     *password;
  gboolean  typed;       /* the user typed the password: keep it */
  gboolean  generated;   /* a new local password: keep it once set */
  gboolean  repaired;    /* the local admin's password was set again */
  EdClient *client;
} Connect;

static void
connect_free (gpointer data)
{
  Connect *connect = data;

  g_free (connect->server);
  g_free (connect->url);
  g_free (connect->username);
  if (connect->password != NULL)
    explicit_bzero (connect->password, strlen (connect->password));
  g_free (connect->password);
  g_clear_object (&connect->client);
  g_free (connect);
}

static void
ensure_local_daemon (EdApplication *self)
{
  g_autofree char *program = NULL;
  g_autofree char *data_dir = NULL;

  if (self->local_daemon != NULL)
    return;

  program = ed_local_daemon_find_program ();
  data_dir = ed_local_daemon_default_data_dir ();
  self->local_daemon = ed_local_daemon_new (program, data_dir);
}

static void local_set_admin (GTask *task);

static void
on_local_login_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdApplication *self = g_task_get_source_object (task);
  Connect *connect = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!ed_client_login_finish (ED_CLIENT (source), result, &error))
    {
      /* The keyring and the database disagree (one of them was reset):
       * the keyring's password becomes the admin's again.
       */
      if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED) && !connect->repaired)
        {
          connect->repaired = TRUE;
          ed_local_daemon_stop (self->local_daemon);
          local_set_admin (g_steal_pointer (&task));
          return;
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_settings_set_enum (self->settings, "connection-mode", ED_CONNECTION_LOCAL);
  g_task_return_pointer (task, g_steal_pointer (&connect->client), g_object_unref);
}

static void
on_local_started_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Connect *connect = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  if (!ed_local_daemon_start_finish (ED_LOCAL_DAEMON (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_clear_object (&connect->client);
  connect->client = ed_client_new (ed_local_daemon_get_url (ED_LOCAL_DAEMON (source)));
  ed_client_login_async (connect->client, LOCAL_USERNAME, connect->password, cancellable,
                         on_local_login_cb, g_steal_pointer (&task));
}

static void
local_start (GTask *task)
{
  EdApplication *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  ed_local_daemon_start_async (self->local_daemon, cancellable, on_local_started_cb, task);
}

static void
on_local_stored_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!ed_secret_store_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  local_start (g_steal_pointer (&task));
}

static void
on_local_admin_set_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Connect *connect = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  if (!ed_local_daemon_set_admin_finish (ED_LOCAL_DAEMON (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (connect->generated)
    ed_secret_store_async (connect->server, LOCAL_USERNAME, connect->password, cancellable,
                           on_local_stored_cb, g_steal_pointer (&task));
  else
    local_start (g_steal_pointer (&task));
}

static void
local_set_admin (GTask *task)
{
  EdApplication *self = g_task_get_source_object (task);
  Connect *connect = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  ed_local_daemon_set_admin_async (self->local_daemon, LOCAL_USERNAME, connect->password, cancellable,
                                   on_local_admin_set_cb, task);
}

static void
on_local_lookup_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdApplication *self = g_task_get_source_object (task);
  Connect *connect = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  connect->password = ed_secret_lookup_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (connect->password != NULL)
    {
      local_start (g_steal_pointer (&task));
      return;
    }

  /* The first start: an admin only the app knows. */
  connect->password = ed_secret_generate_password ();
  connect->generated = TRUE;
  ed_local_daemon_stop (self->local_daemon);
  local_set_admin (g_steal_pointer (&task));
}

/**
 * ed_application_connect_local_async:
 *
 * Starts the app's own daemon if needed (making its admin the first
 * time) and logs in; the result is the logged-in client.
 */
void
ed_application_connect_local_async (EdApplication       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  GTask *task;
  Connect *connect;

  g_return_if_fail (ED_IS_APPLICATION (self));

  ensure_local_daemon (self);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_application_connect_local_async);
  connect = g_new0 (Connect, 1);
  connect->server = ed_secret_local_server (ed_local_daemon_get_data_dir (self->local_daemon));
  g_task_set_task_data (task, connect, connect_free);

  ed_secret_lookup_async (connect->server, LOCAL_USERNAME, cancellable, on_local_lookup_cb, task);
}

/* A server */

static void
on_server_stored_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Connect *connect = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  /* Logged in all the same; the next start asks again. */
  if (!ed_secret_store_finish (result, &error))
    g_warning ("%s", error->message);

  g_task_return_pointer (task, g_steal_pointer (&connect->client), g_object_unref);
}

static void
on_server_login_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  EdApplication *self = g_task_get_source_object (task);
  Connect *connect = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  if (!ed_client_login_finish (ED_CLIENT (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_settings_set_string (self->settings, "server-url", connect->url);
  g_settings_set_string (self->settings, "username", connect->username);
  g_settings_set_enum (self->settings, "connection-mode", ED_CONNECTION_SERVER);

  if (connect->typed)
    ed_secret_store_async (connect->server, connect->username, connect->password, cancellable,
                           on_server_stored_cb, g_steal_pointer (&task));
  else
    g_task_return_pointer (task, g_steal_pointer (&connect->client), g_object_unref);
}

static void
server_login (GTask *task)
{
  Connect *connect = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  connect->client = ed_client_new (connect->url);
  ed_client_login_async (connect->client, connect->username, connect->password, cancellable,
                         on_server_login_cb, task);
}

static void
on_server_lookup_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Connect *connect = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  connect->password = ed_secret_lookup_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (connect->password == NULL)
    {
      g_task_return_new_error (task, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED,
                               _("The keyring has no password for %s on %s"), connect->username, connect->url);
      return;
    }

  server_login (g_steal_pointer (&task));
}

/**
 * ed_application_connect_server_async:
 * @password: (nullable): what the user typed, kept in the keyring once it
 *   works; %NULL to use the one in the keyring
 *
 * Logs in to the server at @url; on success the URL and username are
 * the settings' and the next start connects the same way.
 */
void
ed_application_connect_server_async (EdApplication       *self,
                                     const char          *url,
                                     const char          *username,
                                     const char          *password,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GTask *task;
  Connect *connect;

  g_return_if_fail (ED_IS_APPLICATION (self));
  g_return_if_fail (url != NULL);
  g_return_if_fail (username != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_application_connect_server_async);
  connect = g_new0 (Connect, 1);
  connect->url = g_strstrip (g_strdup (url));
  connect->server = g_strdup (connect->url);
  connect->username = g_strstrip (g_strdup (username));
  connect->password = g_strdup (password);
  connect->typed = password != NULL;
  g_task_set_task_data (task, connect, connect_free);

  if (password != NULL)
    server_login (task);
  else
    ed_secret_lookup_async (connect->server, connect->username, cancellable, on_server_lookup_cb, task);
}

EdClient *
ed_application_connect_finish (EdApplication  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Logging in again after the session expired */

static void
on_relogin_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!ed_client_login_finish (ED_CLIENT (source), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_relogin_lookup_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Connect *connect = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  connect->password = ed_secret_lookup_finish (result, &error);
  if (connect->password == NULL)
    {
      if (error == NULL)
        error = g_error_new (ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED,
                             _("The keyring has no password for %s"), connect->username);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  ed_client_login_async (connect->client, connect->username, connect->password, cancellable,
                         on_relogin_cb, g_steal_pointer (&task));
}

/* Logs @client in again with the password in the keyring. */
void
ed_application_relogin_async (EdApplication       *self,
                              EdClient            *client,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;
  Connect *connect;

  g_return_if_fail (ED_IS_APPLICATION (self));
  g_return_if_fail (ED_IS_CLIENT (client));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_application_relogin_async);
  connect = g_new0 (Connect, 1);
  connect->client = g_object_ref (client);
  if (g_settings_get_enum (self->settings, "connection-mode") == ED_CONNECTION_LOCAL && self->local_daemon != NULL)
    {
      connect->server = ed_secret_local_server (ed_local_daemon_get_data_dir (self->local_daemon));
      connect->username = g_strdup (LOCAL_USERNAME);
    }
  else
    {
      connect->server = g_settings_get_string (self->settings, "server-url");
      connect->username = g_settings_get_string (self->settings, "username");
    }
  g_task_set_task_data (task, connect, connect_free);

  ed_secret_lookup_async (connect->server, connect->username, cancellable, on_relogin_lookup_cb, task);
}

gboolean
ed_application_relogin_finish (EdApplication  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ed_application_describe_error:
 * @url: (nullable): the server's address
 *
 * Returns: (transfer full): what went wrong when connecting, and what to do
 */
char *
ed_application_describe_error (const GError *error,
                               const char   *url)
{
  if (error->domain != ED_CLIENT_ERROR)
    return g_strdup (error->message);

  switch ((EdClientError) error->code)
    {
    case ED_CLIENT_ERROR_UNAUTHORIZED:
      return g_strdup (_("The username or password is wrong. Check them, or ask the server’s administrator "
                         "to set a new password (eventdeskd admin passwd)."));
    case ED_CLIENT_ERROR_THROTTLED:
      return g_strdup (_("Too many wrong passwords. Wait a minute, then try again."));
    case ED_CLIENT_ERROR_UNREACHABLE:
      return g_strdup_printf (_("Cannot reach %s. Check the address and the network connection, "
                                "and that the server is running. (%s)"),
                              url ? url : "", error->message);
    case ED_CLIENT_ERROR_TLS:
      return g_strdup_printf (_("The secure connection failed: the server’s certificate is not trusted "
                                "or has expired. Check the address; a server with its own certificate "
                                "needs it installed among the system’s trusted certificates. (%s)"),
                              error->message);
    case ED_CLIENT_ERROR_PROTOCOL:
    case ED_CLIENT_ERROR_NOT_FOUND:
      return g_strdup_printf (_("%s answers, but not like an Eventdesk server. Check the address."),
                              url ? url : "");
    case ED_CLIENT_ERROR_SERVER:
      return g_strdup_printf (_("The server had a problem (%s). Try again later, or ask its administrator "
                                "to look at its log."), error->message);
    case ED_CLIENT_ERROR_FORBIDDEN:
    case ED_CLIENT_ERROR_CONFLICT:
    case ED_CLIENT_ERROR_INVALID:
    default:
      return g_strdup (error->message);
    }
}
