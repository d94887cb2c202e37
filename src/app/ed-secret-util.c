/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <string.h>
#include <sys/random.h>

#include "ed-secret-util.h"

#define PASSWORD_BYTES 24

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    "org.eventdesk.Eventdesk.Password", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

static void
on_lookup_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  char *password = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                             _("Cannot read the password from the keyring: %s"), error->message);
  else
    g_task_return_pointer (task, password, (GDestroyNotify) secret_password_free);
}

/* Finds the password kept for @username on @server; the result is NULL
 * without an error when there is none.
 */
void
ed_secret_lookup_async (const char          *server,
                        const char          *username,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, ed_secret_lookup_async);
  secret_password_lookup (get_schema (), cancellable, on_lookup_cb, task,
                          "server", server, "username", username, NULL);
}

char *
ed_secret_lookup_finish (GAsyncResult  *result,
                         GError       **error)
{
  char *password = g_task_propagate_pointer (G_TASK (result), error);
  char *copy;

  if (password == NULL)
    return NULL;

  /* Callers free it with g_free(). */
  copy = g_strdup (password);
  secret_password_free (password);
  return copy;
}

static void
on_store_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                             _("Cannot keep the password in the keyring: %s"), error->message);
  else
    g_task_return_boolean (task, TRUE);
}

void
ed_secret_store_async (const char          *server,
                       const char          *username,
                       const char          *password,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *label = g_strdup_printf (_("Eventdesk password for %s on %s"), username, server);

  g_task_set_source_tag (task, ed_secret_store_async);
  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label, password, cancellable,
                         on_store_cb, task, "server", server, "username", username, NULL);
}

gboolean
ed_secret_store_finish (GAsyncResult  *result,
                        GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The keyring's "server" of the daemon the app runs on @data_dir. */
char *
ed_secret_local_server (const char *data_dir)
{
  return g_strconcat ("local:", data_dir, NULL);
}

/* A random password for the local admin: nobody types it. */
char *
ed_secret_generate_password (void)
{
  guint8 bytes[PASSWORD_BYTES];
  char *password;

  /* From the kernel's CSPRNG, not GLib's GRand. */
  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    g_error ("Cannot get random bytes for a password");

  password = g_base64_encode (bytes, sizeof bytes);
  explicit_bzero (bytes, sizeof bytes);
  return password;
}
