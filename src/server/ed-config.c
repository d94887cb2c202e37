/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ed-config.h"
#include "ed-error.h"
#include "ed-mail-transport.h"
#include "ed-mailer.h"

EdConfig *
ed_config_new (void)
{
  EdConfig *config = g_new0 (EdConfig, 1);

  config->listen = g_strdup (ED_CONFIG_DEFAULT_LISTEN);
  config->data_dir = g_build_filename (g_get_user_data_dir (), "eventdeskd", NULL);
  config->mail_from = g_strdup ("Eventdesk <eventdesk@localhost.localdomain>");
  config->mail_connections = 4;
  config->mail_rate = 50.0;
  config->mail_retry_delay = ED_MAILER_DEFAULT_RETRY_DELAY;
  config->mail_retry_max_age = ED_MAILER_DEFAULT_RETRY_MAX_AGE;
  config->mail_failure_threshold = ED_MAILER_DEFAULT_FAILURE_THRESHOLD;
  config->mail_timeout = ED_MAILER_DEFAULT_TIMEOUT;
  config->session_hours = 12;
  config->max_body_size = 1024 * 1024;
  config->client_timeout = 30;

  return config;
}

void
ed_config_free (EdConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->listen);
  g_free (config->data_dir);
  g_free (config->public_url);
  g_free (config->mail_transport);
  if (config->mail_password != NULL)
    explicit_bzero (config->mail_password, strlen (config->mail_password));
  g_free (config->mail_password);
  g_free (config->mail_from);
  g_free (config->tls_cert);
  g_free (config->tls_key);
  g_free (config);
}

static const char * const known_keys[] = {
  "listen", "data-dir", "public-url", "mail-transport", "mail-password", "mail-from",
  "mail-connections", "mail-rate", "session-hours",
  "mail-retry-delay", "mail-retry-max-age", "mail-failure-threshold", "mail-timeout",
  "client-timeout", "tls-cert", "tls-key", NULL,
};

static gboolean
read_string (GKeyFile    *keyfile,
             const char  *key,
             char       **value,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *text = g_key_file_get_string (keyfile, ED_CONFIG_GROUP, key, &local_error);

  if (text == NULL)
    {
      if (g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_strstrip (text);
  g_free (*value);
  *value = text;
  return TRUE;
}

static gboolean
read_int (GKeyFile    *keyfile,
          const char  *path,
          const char  *key,
          gint        *value,
          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gint number;

  if (!g_key_file_has_key (keyfile, ED_CONFIG_GROUP, key, NULL))
    return TRUE;

  number = g_key_file_get_integer (keyfile, ED_CONFIG_GROUP, key, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "%s: key “%s” in [%s] must be a whole number",
                   path, key, ED_CONFIG_GROUP);
      return FALSE;
    }

  *value = number;
  return TRUE;
}

static gboolean
read_double (GKeyFile    *keyfile,
             const char  *path,
             const char  *key,
             const char  *what,
             double      *value,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  double number;

  if (!g_key_file_has_key (keyfile, ED_CONFIG_GROUP, key, NULL))
    return TRUE;

  number = g_key_file_get_double (keyfile, ED_CONFIG_GROUP, key, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "%s: key “%s” in [%s] must be %s", path, key, ED_CONFIG_GROUP, what);
      return FALSE;
    }

  *value = number;
  return TRUE;
}

/**
 * ed_config_load_file:
 * @config: the settings to update
 * @path: a GKeyFile with an `[eventdeskd]` group and the command line's
 *   long option names as keys
 * @error: return location for an error naming the file and key
 */
gboolean
ed_config_load_file (EdConfig    *config,
                     const char  *path,
                     GError     **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;
  g_auto(GStrv) keys = NULL;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "Cannot read the config file %s: %s", path, local_error->message);
      return FALSE;
    }

  groups = g_key_file_get_groups (keyfile, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (strcmp (groups[i], ED_CONFIG_GROUP) != 0)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "%s: unknown group [%s]; the settings go in [%s]",
                       path, groups[i], ED_CONFIG_GROUP);
          return FALSE;
        }
    }

  keys = g_key_file_get_keys (keyfile, ED_CONFIG_GROUP, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      if (!g_strv_contains (known_keys, keys[i]))
        {
          g_autofree char *known = g_strjoinv (", ", (char **) known_keys);

          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "%s: unknown key “%s” in [%s]; known keys are %s",
                       path, keys[i], ED_CONFIG_GROUP, known);
          return FALSE;
        }
    }

  if (!read_string (keyfile, "listen", &config->listen, error) ||
      !read_string (keyfile, "data-dir", &config->data_dir, error) ||
      !read_string (keyfile, "public-url", &config->public_url, error) ||
      !read_string (keyfile, "mail-transport", &config->mail_transport, error) ||
      !read_string (keyfile, "mail-password", &config->mail_password, error) ||
      !read_string (keyfile, "mail-from", &config->mail_from, error) ||
      !read_string (keyfile, "tls-cert", &config->tls_cert, error) ||
      !read_string (keyfile, "tls-key", &config->tls_key, error) ||
      !read_int (keyfile, path, "mail-connections", &config->mail_connections, error) ||
      !read_int (keyfile, path, "session-hours", &config->session_hours, error) ||
      !read_int (keyfile, path, "mail-retry-delay", &config->mail_retry_delay, error) ||
      !read_int (keyfile, path, "mail-retry-max-age", &config->mail_retry_max_age, error) ||
      !read_int (keyfile, path, "mail-timeout", &config->mail_timeout, error) ||
      !read_int (keyfile, path, "client-timeout", &config->client_timeout, error))
    return FALSE;

  if (!read_double (keyfile, path, "mail-rate", "a number of messages per second",
                    &config->mail_rate, error) ||
      !read_double (keyfile, path, "mail-failure-threshold", "a number from 0 to 1",
                    &config->mail_failure_threshold, error))
    return FALSE;

  return TRUE;
}

/**
 * ed_config_parse_listen:
 * @listen: `ADDRESS:PORT`, an IPv6 address in brackets (`[::1]:8460`)
 * @host: (out): the address
 * @port: (out): the port; 0 asks the system for a free one
 * @error: return location for an error
 */
gboolean
ed_config_parse_listen (const char  *listen,
                        char       **host,
                        guint16     *port,
                        GError     **error)
{
  g_autofree char *address = NULL;
  const char *colon;
  guint64 number;

  g_return_val_if_fail (listen != NULL, FALSE);

  colon = strrchr (listen, ':');
  if (colon == NULL || colon == listen || colon[1] == '\0')
    goto invalid;

  if (listen[0] == '[')
    {
      if (colon[-1] != ']')
        goto invalid;
      address = g_strndup (listen + 1, colon - listen - 2);
    }
  else
    address = g_strndup (listen, colon - listen);

  if (!g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &number, NULL))
    goto invalid;
  if (!g_hostname_is_ip_address (address))
    goto invalid;

  *host = g_steal_pointer (&address);
  *port = (guint16) number;
  return TRUE;

invalid:
  g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
               "listen address “%s” is not ADDRESS:PORT (for example 127.0.0.1:8460 or [::1]:8460)",
               listen);
  return FALSE;
}

gboolean
ed_config_validate (EdConfig  *config,
                    GError   **error)
{
  g_autofree char *host = NULL;
  guint16 port;

  g_return_val_if_fail (config != NULL, FALSE);

  if (!ed_config_parse_listen (config->listen, &host, &port, error))
    return FALSE;

  if (config->data_dir == NULL || *config->data_dir == '\0')
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "data-dir must not be empty");
      return FALSE;
    }

  if (config->public_url != NULL)
    {
      g_autoptr(GUri) uri = g_uri_parse (config->public_url, G_URI_FLAGS_NONE, NULL);

      if (uri == NULL ||
          (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
           g_strcmp0 (g_uri_get_scheme (uri), "https") != 0) ||
          g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "public-url “%s” is not an http:// or https:// URL",
                       config->public_url);
          return FALSE;
        }
    }

  /* parsed as the mailer will, so that a bad URL stops the start */
  if (config->mail_transport != NULL)
    {
      g_autoptr(EdMailTransport) transport = NULL;

      transport = ed_mail_transport_new (config->mail_transport, config->mail_password, error);
      if (transport == NULL)
        return FALSE;
    }

  if (config->mail_from == NULL || *config->mail_from == '\0')
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "mail-from must not be empty");
      return FALSE;
    }

  if (config->mail_connections < 1 || config->mail_connections > 64)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-connections must be from 1 to 64, not %d", config->mail_connections);
      return FALSE;
    }

  if (!(config->mail_rate >= 0.0 && config->mail_rate <= 100000.0))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-rate must be from 0 (no limit) to 100000 messages per second, not %g",
                   config->mail_rate);
      return FALSE;
    }

  if (config->mail_retry_delay < 1 || config->mail_retry_delay > ED_MAILER_MAX_RETRY_DELAY)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-retry-delay must be from 1 to %d seconds, not %d",
                   ED_MAILER_MAX_RETRY_DELAY, config->mail_retry_delay);
      return FALSE;
    }

  if (config->mail_retry_max_age < 1 || config->mail_retry_max_age > 30 * 86400)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-retry-max-age must be from 1 to 2592000 seconds (30 days), not %d",
                   config->mail_retry_max_age);
      return FALSE;
    }

  if (!(config->mail_failure_threshold > 0.0 && config->mail_failure_threshold <= 1.0))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-failure-threshold must be more than 0 and at most 1 (1: never pause), not %g",
                   config->mail_failure_threshold);
      return FALSE;
    }

  if (config->mail_timeout < 1 || config->mail_timeout > 600)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "mail-timeout must be from 1 to 600 seconds, not %d", config->mail_timeout);
      return FALSE;
    }

  if (config->session_hours < 1 || config->session_hours > 24 * 30)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "session-hours must be from 1 to 720, not %d", config->session_hours);
      return FALSE;
    }

  if (config->tls_cert != NULL && *config->tls_cert == '\0')
    g_clear_pointer (&config->tls_cert, g_free);
  if (config->tls_key != NULL && *config->tls_key == '\0')
    g_clear_pointer (&config->tls_key, g_free);
  if ((config->tls_cert != NULL) != (config->tls_key != NULL))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                           "tls-cert and tls-key go together: give both files to serve HTTPS, or neither");
      return FALSE;
    }

  if (config->client_timeout < 1 || config->client_timeout > 3600)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "client-timeout must be from 1 to 3600 seconds, not %d", config->client_timeout);
      return FALSE;
    }

  return TRUE;
}

char *
ed_config_get_db_path (EdConfig *config)
{
  return g_build_filename (config->data_dir, "eventdesk.db", NULL);
}

char *
ed_config_get_secret_path (EdConfig *config)
{
  return g_build_filename (config->data_dir, "secret.key", NULL);
}

char *
ed_config_get_lock_path (EdConfig *config)
{
  return g_build_filename (config->data_dir, "eventdeskd.lock", NULL);
}
