/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskctl"

#include "config.h"

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ed-ctl-client.h"
#include "ed-ctl-commands.h"
#include "ed-ctl-commands-private.h"
#include "ed-ctl-error.h"
#include "ed-ctl-progress.h"
#include "ed-ctl-session.h"
#include "ed-terminal-util.h"

/* eventdeskctl COMMAND [OPTION…]: login, logout, import, export here; events,
 * campaigns, campaign and queue in ed-ctl-campaign-commands.c. Each
 * command parses its own options; what it prints for people goes to
 * standard error (progress) and standard output (results), and its exit
 * status says what went wrong (see ed-ctl-error.h and docs/eventdeskctl.md).
 */

#define DEFAULT_SERVER "http://127.0.0.1:8460"
#define PASSWORD_MAX_BYTES 1024
#define REJECTED_SHOWN 20

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
  char *password;
  FILE *tty;

  if (from_stdin)
    {
      if (!(password = ed_terminal_read_line (stdin, PASSWORD_MAX_BYTES)))
        g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("No password on standard input"));
      return password;
    }

  tty = fopen ("/dev/tty", "r+e");
  if (tty == NULL)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE,
                           _("There is no terminal to ask for the password; "
                             "pipe it in and add --password-stdin"));
      return NULL;
    }
  password = ed_terminal_prompt_hidden (tty, _("Password: "), PASSWORD_MAX_BYTES);
  fclose (tty);

  if (password == NULL)
    g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("No password was given"));
  return password;
}

gboolean
ed_ctl_parse_options (GOptionContext  *context,
                      int             *argc,
                      char          ***argv,
                      GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_option_context_parse (context, argc, argv, &local_error))
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* For a command that takes options only: @argv as parsing left it. */
gboolean
ed_ctl_check_no_arguments (int      argc,
                           char   **argv,
                           GError **error)
{
  if (argc > 1)
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("Unexpected argument “%s”"), argv[1]);
      return FALSE;
    }

  return TRUE;
}

/* A positive id, as the API's ids are. */
static gboolean
parse_id (const char *text,
          gint64     *id)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &value, NULL))
    return FALSE;

  *id = (gint64) value;
  return TRUE;
}

gboolean
ed_ctl_parse_event_id (const char  *text,
                       gint64      *event_id,
                       GError     **error)
{
  if (parse_id (text, event_id))
    return TRUE;

  g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE,
               _("“%s” is not an event id (a number such as 12)"), text);
  return FALSE;
}

gboolean
ed_ctl_parse_campaign_id (const char  *text,
                          gint64      *campaign_id,
                          GError     **error)
{
  if (parse_id (text, campaign_id))
    return TRUE;

  g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE,
               _("“%s” is not a campaign id (a number such as 4)"), text);
  return FALSE;
}

static char *
normalize_server (const char *server)
{
  char *normalized = g_strdup (server);
  gsize len = strlen (normalized);

  while (len > 0 && normalized[len - 1] == '/')
    normalized[--len] = '\0';

  return normalized;
}

static int
run_login (int      argc,
           char   **argv,
           GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("— log in to an Eventdesk server"));
  g_autoptr(EdCtlSession) saved = ed_ctl_session_load (NULL);
  g_autoptr(EdCtlSession) session = ed_ctl_session_new ();
  g_autoptr(EdCtlClient) client = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(SecretString) password = NULL;
  g_autofree char *server = NULL;
  g_autofree char *user = NULL;
  gboolean password_stdin = FALSE;
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &server,
      /* DEFAULT_SERVER spelled out: xgettext cannot see through a macro */
      N_("The server's address (default: the last one, else http://127.0.0.1:8460)"), N_("URL") },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user,
      N_("The admin's name (default: the last one, else your user name)"), N_("NAME") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      N_("Read the password from standard input instead of asking for it"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!ed_ctl_parse_options (context, &argc, &argv, error) || !ed_ctl_check_no_arguments (argc, argv, error))
    return ED_CTL_EXIT_USAGE;

  session->server = normalize_server (server ? server : saved && saved->server ? saved->server : DEFAULT_SERVER);
  session->username = g_strdup (user ? user : saved && saved->username ? saved->username : g_get_user_name ());

  if (!(password = read_password (password_stdin, error)))
    return ED_CTL_EXIT_USAGE;

  client = ed_ctl_client_new (session->server, NULL);
  if (!(answer = ed_ctl_client_login (client, session->username, password, error)))
    return ed_ctl_error_to_exit_status (*error);

  session->token = g_strdup (json_object_get_string_member (answer, "token"));
  session->expires_at = g_strdup (json_object_get_string_member_with_default (answer, "expires_at", NULL));
  if (!ed_ctl_session_save (session, error))
    return ED_CTL_EXIT_FAILED;

  if (session->expires_at != NULL)
    g_print (_("Logged in to %s as %s until %s\n"), session->server, session->username, session->expires_at);
  else
    g_print (_("Logged in to %s as %s\n"), session->server, session->username);

  return ED_CTL_EXIT_OK;
}

static int
run_logout (int      argc,
            char   **argv,
            GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("— end the session"));
  g_autoptr(EdCtlSession) session = NULL;
  g_autoptr(EdCtlClient) client = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!ed_ctl_parse_options (context, &argc, &argv, error))
    return ED_CTL_EXIT_USAGE;

  if (!(session = ed_ctl_session_load (NULL)))
    {
      g_print (_("Not logged in\n"));
      return ED_CTL_EXIT_OK;
    }

  /* The token is forgotten here even when the server cannot be told. */
  client = ed_ctl_client_new (session->server, session->token);
  if (!ed_ctl_client_logout (client, &local_error))
    g_printerr (_("The server was not told (%s); the session ends when it expires\n"), local_error->message);

  if (!ed_ctl_session_forget (error))
    return ED_CTL_EXIT_FAILED;

  g_print (_("Logged out of %s\n"), session->server);
  return ED_CTL_EXIT_OK;
}

EdCtlClient *
ed_ctl_client_from_session (GError **error)
{
  g_autoptr(EdCtlSession) session = ed_ctl_session_load (error);

  if (session == NULL)
    return NULL;

  return ed_ctl_client_new (session->server, session->token);
}

static void
print_report (JsonObject *report,
              gint64      event_id)
{
  const char *mode = json_object_get_string_member_with_default (report, "mode", "skip");
  JsonArray *rejected = json_object_get_array_member (report, "rejected_rows");
  gint64 n_rejected = json_object_get_int_member (report, "rejected");
  guint shown = MIN (json_array_get_length (rejected), REJECTED_SHOWN);
  g_autofree char *rows = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (report, "rows"));
  g_autofree char *imported = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (report, "imported"));
  g_autofree char *updated = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (report, "updated"));
  g_autofree char *duplicates = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (report, "duplicates"));
  g_autofree char *rejected_text = g_strdup_printf ("%" G_GINT64_FORMAT, n_rejected);
  g_autofree char *event = g_strdup_printf ("%" G_GINT64_FORMAT, event_id);

  if (strcmp (mode, "dry-run") == 0)
    g_print (_("Dry run, nothing was written. Event %s would get %s new guests; "
               "%s rows read, %s duplicates, %s rejected.\n"),
             event, imported, rows, duplicates, rejected_text);
  else
    g_print (_("Event %s: %s guests imported, %s updated; %s rows read, %s duplicates, %s rejected.\n"),
             event, imported, updated, rows, duplicates, rejected_text);

  for (guint i = 0; i < shown; i++)
    {
      JsonObject *row = json_array_get_object_element (rejected, i);
      g_autofree char *line = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (row, "line"));
      const char *email = json_object_get_string_member_with_default (row, "email", NULL);

      if (email != NULL)
        g_print (_("  line %s (%s): %s\n"), line, email, json_object_get_string_member (row, "reason"));
      else
        g_print (_("  line %s: %s\n"), line, json_object_get_string_member (row, "reason"));
    }
  if (n_rejected > shown)
    {
      g_autofree char *more = g_strdup_printf ("%" G_GINT64_FORMAT, n_rejected - shown);

      g_print (_("  … and %s more rejected rows (--json prints the report)\n"), more);
    }
}

static int
run_import (int      argc,
            char   **argv,
            GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("EVENT FILE — import a guest list (CSV) into an event"));
  g_autoptr(EdCtlClient) client = NULL;
  g_autoptr(EdCtlProgress) progress = NULL;
  g_autoptr(GInputStream) body = NULL;
  g_autoptr(JsonObject) report = NULL;
  g_autofree char *mode = NULL;
  gboolean json = FALSE;
  gboolean quiet = FALSE;
  gint64 event_id;
  gint64 length = -1;
  const GOptionEntry entries[] = {
    { "mode", 'm', 0, G_OPTION_ARG_STRING, &mode,
      N_("What to do with guests already there: skip (default), update, or dry-run to write nothing"), N_("MODE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the server's report as JSON"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Show no progress"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context, _("FILE may be - for standard input."));
  if (!ed_ctl_parse_options (context, &argc, &argv, error))
    return ED_CTL_EXIT_USAGE;
  if (argc != 3)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("Usage: eventdeskctl import EVENT FILE"));
      return ED_CTL_EXIT_USAGE;
    }
  if (!ed_ctl_parse_event_id (argv[1], &event_id, error))
    return ED_CTL_EXIT_USAGE;

  if (strcmp (argv[2], "-") == 0)
    body = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  else
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (argv[2]);
      g_autoptr(GFileInfo) info = NULL;
      g_autoptr(GError) local_error = NULL;

      if (!(body = G_INPUT_STREAM (g_file_read (file, NULL, &local_error))) ||
          !(info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                                      NULL, &local_error)))
        {
          g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("Cannot read %s: %s"),
                       argv[2], local_error->message);
          return ED_CTL_EXIT_USAGE;
        }
      length = g_file_info_get_size (info);
    }

  if (!(client = ed_ctl_client_from_session (error)))
    return ED_CTL_EXIT_LOGIN;

  if (!quiet)
    progress = ed_ctl_progress_new (stderr, _("Uploading"), length);
  report = ed_ctl_client_import (client, event_id, mode, body, length, progress, error);
  if (progress != NULL)
    ed_ctl_progress_finish (progress);
  if (report == NULL)
    return ed_ctl_error_to_exit_status (*error);

  if (json)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), report);
      g_autofree char *text = json_to_string (node, TRUE);

      g_print ("%s\n", text);
    }
  else
    print_report (report, event_id);

  return ED_CTL_EXIT_OK;
}

static int
run_export (int      argc,
            char   **argv,
            GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("EVENT — export an event's guests as CSV"));
  g_autoptr(EdCtlClient) client = NULL;
  g_autoptr(EdCtlProgress) progress = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GHashTable) query = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GFile) file = NULL;
  g_autofree char *output = NULL;
  g_autofree char *q = NULL;
  g_autofree char *status = NULL;
  g_autofree char *sort = NULL;
  gboolean quiet = FALSE;
  gint64 event_id;
  gint64 n_rows = 0;
  gboolean exported;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write to FILE instead of standard output (replaced only once the export is whole)"), N_("FILE") },
    { "q", 0, 0, G_OPTION_ARG_STRING, &q, N_("Only guests whose names or address contain these words"), N_("WORDS") },
    { "status", 0, 0, G_OPTION_ARG_STRING, &status,
      N_("Only guests with this answer: pending, accepted, declined, waitlisted, cancelled"), N_("STATUS") },
    { "sort", 0, 0, G_OPTION_ARG_STRING, &sort,
      N_("created (default), name or email; a leading - reverses it"), N_("ORDER") },
    { "quiet", 0, 0, G_OPTION_ARG_NONE, &quiet, N_("Show no progress"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!ed_ctl_parse_options (context, &argc, &argv, error))
    return ED_CTL_EXIT_USAGE;
  if (argc != 2)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("Usage: eventdeskctl export EVENT"));
      return ED_CTL_EXIT_USAGE;
    }
  if (!ed_ctl_parse_event_id (argv[1], &event_id, error))
    return ED_CTL_EXIT_USAGE;
  if (q != NULL)
    g_hash_table_insert (query, (gpointer) "q", q);
  if (status != NULL)
    g_hash_table_insert (query, (gpointer) "status", status);
  if (sort != NULL)
    g_hash_table_insert (query, (gpointer) "sort", sort);

  if (!(client = ed_ctl_client_from_session (error)))
    return ED_CTL_EXIT_LOGIN;

  if (output != NULL && strcmp (output, "-") != 0)
    {
      g_autoptr(GError) local_error = NULL;

      file = g_file_new_for_commandline_arg (output);
      if (!(out = G_OUTPUT_STREAM (g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &local_error))))
        {
          g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("Cannot write %s: %s"), output, local_error->message);
          return ED_CTL_EXIT_USAGE;
        }
    }
  else
    out = g_unix_output_stream_new (STDOUT_FILENO, FALSE);

  /* Progress on a terminal, or in a log when the CSV goes to a file. */
  if (!quiet && (file != NULL || isatty (STDERR_FILENO)))
    progress = ed_ctl_progress_new (stderr, _("Exporting"), -1);

  exported = ed_ctl_client_export (client, event_id, query, out, progress, &n_rows, error);
  if (progress != NULL)
    ed_ctl_progress_finish (progress);

  if (!exported)
    {
      g_autoptr(GCancellable) cancelled = g_cancellable_new ();

      /* Closed cancelled, the replacement goes and FILE stays as it was. */
      g_cancellable_cancel (cancelled);
      g_output_stream_close (out, cancelled, NULL);
      return ed_ctl_error_to_exit_status (*error);
    }

  if (!g_output_stream_close (out, NULL, error))
    {
      g_prefix_error (error, _("Cannot write %s: "), output ? output : _("standard output"));
      return ED_CTL_EXIT_FAILED;
    }

  if (file != NULL)
    {
      g_autofree char *count = g_strdup_printf ("%" G_GINT64_FORMAT, n_rows);

      g_printerr (_("Exported %s guests to %s\n"), count, output);
    }

  return ED_CTL_EXIT_OK;
}

static const struct
{
  const char  *name;
  EdCtlCommandFunc  func;
  const char  *summary;
} commands[] = {
  { "login", run_login, N_("Log in to a server and keep the session for the other commands") },
  { "logout", run_logout, N_("End the session and forget it") },
  { "import", run_import, N_("Import a guest list (CSV) into an event") },
  { "export", run_export, N_("Export an event's guests as CSV") },
  { "events", ed_ctl_run_events, N_("List the events with their seats and answers") },
  { "campaigns", ed_ctl_run_campaigns, N_("List an event's campaigns with their progress") },
  { "campaign", ed_ctl_run_campaign, N_("Show, launch, pause, resume, cancel, retry or watch a campaign") },
  { "queue", ed_ctl_run_queue, N_("Show the mail queue: messages by state, send rate, next retries") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, _("Usage: eventdeskctl COMMAND [OPTION…]\n\nCommands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, _("\n“eventdeskctl COMMAND --help” tells more about a command.\n"));
}

/**
 * ed_ctl_run:
 * @argc: as main() got it
 * @argv: as main() got it
 *
 * Returns: the exit status: 0 done, 1 refused or failed, 2 wrong usage,
 *   3 not logged in, 4 server unreachable, 5 a campaign's state does
 *   not allow the action
 */
int
ed_ctl_run (int    argc,
            char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? ED_CTL_EXIT_USAGE : ED_CTL_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      g_print ("eventdeskctl %s\n", PACKAGE_VERSION);
      return ED_CTL_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        g_autofree char *prgname = g_strconcat ("eventdeskctl ", commands[i].name, NULL);

        g_set_prgname (prgname);
        status = commands[i].func (argc - 1, argv + 1, &error);
        if (error != NULL)
          g_printerr ("eventdeskctl %s: %s\n", commands[i].name, error->message);
        return status;
      }

  g_printerr (_("eventdeskctl: unknown command “%s”\n\n"), argv[1]);
  print_usage (stderr);
  return ED_CTL_EXIT_USAGE;
}
