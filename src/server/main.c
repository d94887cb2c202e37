/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ed-admin-cli.h"
#include "ed-config.h"
#include "ed-daemon.h"
#include "ed-log.h"

/* How long in-flight requests get to finish after SIGTERM. */
#define DRAIN_TIMEOUT_SECONDS 30

typedef struct
{
  GMainLoop *loop;
  EdDaemon  *daemon;
  guint      drain_timeout;
} Context;

static gboolean
on_signal_cb (gpointer user_data)
{
  Context *context = user_data;

  ed_daemon_begin_shutdown (context->daemon);
  return G_SOURCE_CONTINUE;
}

static void
on_daemon_drained_cb (EdDaemon *daemon,
                      Context  *context)
{
  g_main_loop_quit (context->loop);
}

static gboolean
on_drain_timeout_cb (gpointer user_data)
{
  Context *context = user_data;

  g_warning ("Requests still in flight after %d s; stopping anyway", DRAIN_TIMEOUT_SECONDS);
  context->drain_timeout = 0;
  g_main_loop_quit (context->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_first_signal_cb (gpointer user_data)
{
  Context *context = user_data;

  if (context->drain_timeout == 0)
    context->drain_timeout = g_timeout_add_seconds (DRAIN_TIMEOUT_SECONDS, on_drain_timeout_cb, context);
  return on_signal_cb (user_data);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(EdConfig) config = NULL;
  g_autoptr(EdDaemon) daemon = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *config_file = NULL;
  g_autofree char *public_url = NULL;
  g_autofree char *mail_transport = NULL;
  g_autofree char *mail_from = NULL;
  gint mail_connections = 0;
  double mail_rate = -1;
  gint client_timeout = 0;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  gboolean version = FALSE;
  Context context = { 0 };
  guint sigterm, sigint;
  const GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen,
      /* the default spelled out: xgettext cannot see through a macro */
      N_("Address and port to listen on (default 127.0.0.1:8460)"), N_("ADDR:PORT") },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
      N_("Directory for the database and the signing key"), N_("DIR") },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file,
      N_("Configuration file ([eventdeskd] group, keys named like these options)"), N_("FILE") },
    { "public-url", 0, 0, G_OPTION_ARG_STRING, &public_url,
      N_("URL guests reach this server at, used in RSVP links"), N_("URL") },
    { "mail-transport", 0, 0, G_OPTION_ARG_STRING, &mail_transport,
      N_("Where mail goes: smtp://HOST:PORT, smtps://HOST:PORT or maildir:PATH"), N_("URL") },
    { "mail-from", 0, 0, G_OPTION_ARG_STRING, &mail_from,
      N_("Sender of outgoing mail"), N_("ADDRESS") },
    { "mail-connections", 0, 0, G_OPTION_ARG_INT, &mail_connections,
      N_("SMTP connections to keep open"), N_("N") },
    { "mail-rate", 0, 0, G_OPTION_ARG_DOUBLE, &mail_rate,
      N_("Most messages sent per second; 0 for no limit"), N_("PER_SECOND") },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
      N_("Serve HTTPS with this certificate (PEM; with --tls-key)"), N_("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key,
      N_("The private key of --tls-cert (PEM)"), N_("FILE") },
    { "client-timeout", 0, 0, G_OPTION_ARG_INT, &client_timeout,
      N_("Seconds a client may take to send its headers, or stay silent (default 30)"), N_("SECONDS") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  /* Without a locale (LANG unset, as in containers) text would print as
   * ASCII with “?” for every quote; C.UTF-8 is always there on Debian.
   */
  if (!g_get_charset (NULL))
    setlocale (LC_CTYPE, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Everything the daemon writes holds personal data or secrets. */
  umask (077);

  /* A file-size limit (RLIMIT_FSIZE) must turn into a write error that
   * SQLite reports and rolls back, not kill the daemon mid-write.
   */
  signal (SIGXFSZ, SIG_IGN);

  if (argc > 1 && strcmp (argv[1], "admin") == 0)
    return ed_admin_cli_run (argc - 1, argv + 1);

  option_context = g_option_context_new (_("— the Eventdesk daemon"));
  g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (option_context,
    _("Admin accounts:\n"
      "  eventdeskd admin add|list|passwd|remove [NAME] [--password-stdin] [--data-dir DIR]\n"
      "  (run “eventdeskd admin --help” for details)\n"));
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("eventdeskd: %s\n", error->message);
      g_printerr (_("Run “eventdeskd --help” to see the options.\n"));
      return 2;
    }
  if (argc > 1)
    {
      g_printerr (_("eventdeskd: unexpected argument “%s”\n"), argv[1]);
      return 2;
    }

  if (version)
    {
      g_print ("eventdeskd %s\n", PACKAGE_VERSION);
      return 0;
    }

  config = ed_config_new ();
  if (config_file != NULL && !ed_config_load_file (config, config_file, &error))
    {
      g_printerr ("eventdeskd: %s\n", error->message);
      return 2;
    }

#define OVERRIDE(field, value) \
  if ((value) != NULL) { g_free (config->field); config->field = g_steal_pointer (&(value)); }
  OVERRIDE (listen, listen);
  OVERRIDE (data_dir, data_dir);
  OVERRIDE (public_url, public_url);
  OVERRIDE (mail_transport, mail_transport);
  OVERRIDE (mail_from, mail_from);
  OVERRIDE (tls_cert, tls_cert);
  OVERRIDE (tls_key, tls_key);
#undef OVERRIDE
  if (client_timeout != 0)
    config->client_timeout = client_timeout;
  if (mail_connections != 0)
    config->mail_connections = mail_connections;
  if (mail_rate >= 0)
    config->mail_rate = mail_rate;

  if (!ed_config_validate (config, &error))
    {
      g_printerr ("eventdeskd: %s\n", error->message);
      return 2;
    }

  g_log_set_writer_func (ed_log_writer, NULL, NULL);

  daemon = ed_daemon_new (g_steal_pointer (&config));
  loop = g_main_loop_new (NULL, FALSE);
  context.loop = loop;
  context.daemon = daemon;
  g_signal_connect (daemon, "drained", G_CALLBACK (on_daemon_drained_cb), &context);

  /* Before anything can tell the outside world we are up, so that a stop
   * sent the moment the port is known still shuts down cleanly.
   */
  sigterm = g_unix_signal_add (SIGTERM, on_first_signal_cb, &context);
  sigint = g_unix_signal_add (SIGINT, on_first_signal_cb, &context);

  if (!ed_daemon_start (daemon, &error))
    {
      g_printerr ("eventdeskd: %s\n", error->message);
      return 1;
    }

  /* For people and for scripts that wait for the port. */
  g_print ("eventdeskd listening on %s\n", ed_daemon_get_url (daemon));
  fflush (stdout);

  g_main_loop_run (loop);

  g_source_remove (sigterm);
  g_source_remove (sigint);
  g_clear_handle_id (&context.drain_timeout, g_source_remove);
  ed_daemon_stop (daemon);
  g_message ("Stopped; the database is closed");

  return 0;
}
