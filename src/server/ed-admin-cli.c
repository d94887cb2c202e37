/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <fcntl.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ed-admin-cli.h"
#include "ed-config.h"
#include "ed-data-dir.h"
#include "ed-error.h"
#include "ed-terminal-util.h"
#include "ed-password.h"
#include "ed-store.h"
#include "ed-store-backup.h"
#include "ed-time-util.h"

/* eventdeskd admin add|list|passwd|remove: works on the database directly,
 * so it takes the data directory's lock and refuses while a daemon runs.
 * eventdeskd admin backup is the exception: it only reads, through its own
 * read-only connection (see ed-store-backup.c), and works while the daemon
 * runs.
 */

#define USERNAME_MAX_CHARS 64

static gboolean
check_username (const char  *name,
                GError     **error)
{
  if (*name == '\0' || strlen (name) > USERNAME_MAX_CHARS)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   _("An admin name must have 1 to %d characters"), USERNAME_MAX_CHARS);
      return FALSE;
    }

  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._@-", *p) == NULL)
      {
        g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                     _("An admin name may contain only letters, digits and . _ @ - (found “%c”)"), *p);
        return FALSE;
      }

  return TRUE;
}

static void
free_secret (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

typedef char SecretString;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretString, free_secret)

static char *
read_password (gboolean   from_stdin,
               GError   **error)
{
  g_autoptr(SecretString) first = NULL;
  g_autoptr(SecretString) second = NULL;
  FILE *tty;

  if (from_stdin)
    {
      first = ed_terminal_read_line (stdin, ED_PASSWORD_MAX_LENGTH + 1);
      if (first == NULL)
        {
          g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                               _("No password on standard input"));
          return NULL;
        }
      if (!ed_password_check_strength (first, error))
        return NULL;
      return g_steal_pointer (&first);
    }

  tty = fopen ("/dev/tty", "r+e");
  if (tty == NULL)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID,
                           _("There is no terminal to ask for the password; "
                             "pipe it in and add --password-stdin"));
      return NULL;
    }

  first = ed_terminal_prompt_hidden (tty, _("New password: "), ED_PASSWORD_MAX_LENGTH + 1);
  if (first == NULL)
    {
      fclose (tty);
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, _("No password was given"));
      return NULL;
    }
  if (!ed_password_check_strength (first, error))
    {
      fclose (tty);
      return NULL;
    }

  second = ed_terminal_prompt_hidden (tty, _("Repeat the password: "), ED_PASSWORD_MAX_LENGTH + 1);
  fclose (tty);
  if (second == NULL || strcmp (first, second) != 0)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, _("The passwords differ"));
      return NULL;
    }

  return g_steal_pointer (&first);
}

static EdStore *
open_store (EdConfig  *config,
            int       *lock_fd,
            GError   **error)
{
  g_autofree char *lock_path = ed_config_get_lock_path (config);
  g_autofree char *db_path = ed_config_get_db_path (config);
  EdStore *store;

  if (!ed_data_dir_prepare (config->data_dir, error))
    return NULL;

  *lock_fd = ed_data_dir_lock (lock_path, config->data_dir, error);
  if (*lock_fd < 0)
    return NULL;

  store = ed_store_open (db_path, error);
  if (store == NULL)
    {
      close (*lock_fd);
      *lock_fd = -1;
    }

  return store;
}

static gboolean
run_backup (EdConfig    *config,
            const char  *backup_path,
            GError     **error)
{
  g_autofree char *db_path = ed_config_get_db_path (config);
  g_autofree char *secret_path = ed_config_get_secret_path (config);
  g_autofree char *size = NULL;
  EdStoreBackupInfo info = { 0 };

  if (!ed_store_backup (db_path, backup_path, &info, error))
    return FALSE;

  size = g_format_size ((guint64) (info.pages * info.page_size));
  g_print (_("Wrote a copy of %s to %s (%s, schema version %d).\n"),
           db_path, backup_path, size, info.schema_version);
  g_print (_("Keep a copy of %s with it: without that key, restored sessions and RSVP links no longer work.\n"),
           secret_path);
  return TRUE;
}

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = NULL;

  if (unix_seconds == 0)
    return g_strdup (_("never"));

  dt = g_date_time_new_from_unix_local (unix_seconds);
  return g_date_time_format (dt, "%Y-%m-%d %H:%M");
}

static gboolean
run_command (EdStore     *store,
             const char  *command,
             const char  *name,
             gboolean     password_stdin,
             GError     **error)
{
  if (strcmp (command, "list") == 0)
    {
      g_autoptr(GPtrArray) admins = ed_store_list_admins (store, error);

      if (admins == NULL)
        return FALSE;

      if (admins->len == 0)
        {
          g_print (_("There are no admins. Add one with: eventdeskd admin add NAME\n"));
          return TRUE;
        }

      g_print ("%-24s  %-16s  %s\n", _("NAME"), _("CREATED"), _("LAST LOGIN"));
      for (guint i = 0; i < admins->len; i++)
        {
          const EdAdmin *admin = g_ptr_array_index (admins, i);
          g_autofree char *created = format_time (admin->created_at);
          g_autofree char *last = format_time (admin->last_login_at);

          g_print ("%-24s  %-16s  %s\n", admin->username, created, last);
        }
      return TRUE;
    }

  if (strcmp (command, "remove") == 0)
    {
      if (!ed_store_remove_admin (store, name, error))
        return FALSE;
      g_print (_("Removed admin “%s” and ended their sessions.\n"), name);
      return TRUE;
    }

  if (strcmp (command, "add") == 0 || strcmp (command, "passwd") == 0)
    {
      g_autoptr(SecretString) password = NULL;
      g_autofree char *hash = NULL;
      g_autoptr(EdAdmin) existing = NULL;

      existing = ed_store_get_admin (store, name, NULL);
      if (strcmp (command, "add") == 0 && existing != NULL)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
                       _("An admin named “%s” already exists; use “eventdeskd admin passwd %s” to change the password"),
                       existing->username, existing->username);
          return FALSE;
        }
      if (strcmp (command, "passwd") == 0 && existing == NULL)
        {
          g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND, _("No admin named “%s”"), name);
          return FALSE;
        }

      if (!(password = read_password (password_stdin, error)) ||
          !(hash = ed_password_hash (password, error)))
        return FALSE;

      if (strcmp (command, "add") == 0)
        {
          if (ed_store_add_admin (store, name, hash, error) == 0)
            return FALSE;
          g_print (_("Added admin “%s”.\n"), name);
        }
      else
        {
          if (!ed_store_set_admin_password (store, name, hash, error))
            return FALSE;
          g_print (_("Changed the password of “%s” and ended their sessions.\n"), name);
        }
      return TRUE;
    }

  g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
               _("Unknown admin command “%s”; use add, list, passwd, remove or backup"), command);
  return FALSE;
}

/**
 * ed_admin_cli_run:
 * @argc: arguments after "eventdeskd"
 * @argv: (array length=argc): "admin" and what follows it
 *
 * Returns: the exit status
 */
int
ed_admin_cli_run (int    argc,
                  char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(EdConfig) config = ed_config_new ();
  g_autoptr(EdStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *config_file = NULL;
  g_autofree char *data_dir = NULL;
  gboolean password_stdin = FALSE;
  const char *command;
  const char *name = NULL;
  int lock_fd = -1;
  gboolean ok;
  const GOptionEntry entries[] = {
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, N_("Data directory"), N_("DIR") },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file, N_("Configuration file"), N_("FILE") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      N_("Read the password from the first line of standard input"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("add|list|passwd|remove [NAME] | backup FILE — manage the admins who can log in, back up the database"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context,
    _("The admin commands work on the database directly and refuse to run while\n"
      "eventdeskd runs on the same data directory: stop the daemon first.\n"
      "The exception is “backup FILE”, which writes a consistent copy of the\n"
      "database to FILE while the daemon runs and goes on writing."));

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("eventdeskd admin: %s\n", error->message);
      return 2;
    }

  /* argv[0] is "admin" */
  if (argc < 2)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_printerr ("%s", help);
      return 2;
    }

  command = argv[1];
  if (strcmp (command, "backup") == 0)
    {
      if (argc != 3)
        {
          g_printerr (_("eventdeskd admin backup: give exactly one FILE to write\n"));
          return 2;
        }
      name = argv[2];
    }
  else if (strcmp (command, "list") != 0)
    {
      if (argc != 3)
        {
          g_printerr (_("eventdeskd admin %s: give exactly one admin NAME\n"), command);
          return 2;
        }
      name = argv[2];
      if (!check_username (name, &error))
        {
          g_printerr ("eventdeskd admin: %s\n", error->message);
          return 2;
        }
    }
  else if (argc != 2)
    {
      g_printerr (_("eventdeskd admin list takes no NAME\n"));
      return 2;
    }

  if (config_file != NULL && !ed_config_load_file (config, config_file, &error))
    {
      g_printerr ("eventdeskd admin: %s\n", error->message);
      return 2;
    }
  if (data_dir != NULL)
    {
      g_free (config->data_dir);
      config->data_dir = g_steal_pointer (&data_dir);
    }

  if (strcmp (command, "backup") == 0)
    {
      if (!run_backup (config, name, &error))
        {
          g_printerr ("eventdeskd admin backup: %s\n", error->message);
          return 1;
        }
      return 0;
    }

  if (!(store = open_store (config, &lock_fd, &error)))
    {
      g_printerr ("eventdeskd admin: %s\n", error->message);
      return 1;
    }

  ok = run_command (store, command, name, password_stdin, &error);
  ed_store_close (store);
  close (lock_fd);

  if (!ok)
    {
      g_printerr ("eventdeskd admin: %s\n", error->message);
      return 1;
    }

  return 0;
}
