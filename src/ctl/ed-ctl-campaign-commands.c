/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskctl"

#include "config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ed-ctl-client.h"
#include "ed-ctl-commands-private.h"
#include "ed-ctl-error.h"
#include "ed-json-util.h"
#include "ed-terminal-util.h"

/* The commands that look at events, campaigns and the mail queue, and
 * steer campaigns: events, campaigns, campaign, queue. Lists are read
 * page by page with the API's `next` key and printed as each page comes,
 * so a long list is never held whole.
 */

#define PAGE_SIZE 100
#define ANSWER_MAX_BYTES 64
#define WATCH_INTERVAL_US G_USEC_PER_SEC
#define WATCH_TIMEOUT_DEFAULT_S (24 * 3600)
#define NEXT_RETRIES_DEFAULT 10
#define NEXT_RETRIES_MAX 500

typedef enum
{
  ACTION_SHOW,
  ACTION_LAUNCH,
  ACTION_PAUSE,
  ACTION_RESUME,
  ACTION_CANCEL,
  ACTION_RETRY_FAILED,
  ACTION_WATCH,
} Action;

static const char * const action_names[] = {
  [ACTION_SHOW] = "show",
  [ACTION_LAUNCH] = "launch",
  [ACTION_PAUSE] = "pause",
  [ACTION_RESUME] = "resume",
  [ACTION_CANCEL] = "cancel",
  [ACTION_RETRY_FAILED] = "retry-failed",
  [ACTION_WATCH] = "watch",
};

/* The API's words, as people read them. */
static const struct
{
  const char *name;
  const char *label;
} labels[] = {
  { "draft", N_("draft") },
  { "running", N_("running") },
  { "paused", N_("paused") },
  { "done", N_("done") },
  { "cancelled", N_("cancelled") },
  { "invitation", N_("invitation") },
  { "reminder", N_("reminder") },
  { "update", N_("update") },
  { "waitlist_promotion", N_("waiting-list promotion") },
  { "confirmation", N_("confirmation") },
};

/* The message states in the order the queue shows them. */
static const struct
{
  const char *name;
  const char *label;
} message_states[] = {
  { "queued", N_("queued") },
  { "sending", N_("being sent") },
  { "retry", N_("to retry") },
  { "sent", N_("sent") },
  { "failed", N_("failed") },
  { "cancelled", N_("cancelled") },
};

static const char *
label_for (const char *name)
{
  if (name == NULL)
    return "";

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (strcmp (labels[i].name, name) == 0)
      return _(labels[i].label);

  return name;
}

static char *
format_count (gint64 n)
{
  /* Grouped as the locale groups thousands. */
  return g_strdup_printf ("%'" G_GINT64_FORMAT, n);
}

static gint64
get_count (JsonObject *object,
           const char *state)
{
  return ed_json_get_int (ed_json_get_object (object, "counts"), state);
}

/* The messages still to go out, queued or being sent. */
static gint64
get_waiting (JsonObject *object)
{
  return get_count (object, "queued") + get_count (object, "sending");
}

/* The member @name when it is a string, else "": for printing. */
static const char *
get_text (JsonObject *object,
          const char *name)
{
  const char *text = ed_json_get_string (object, name);

  return text != NULL ? text : "";
}

/* A table's column: its title, and its width in characters (0: as wide
 * as its text, for the last column).
 */
typedef struct
{
  const char *title;
  guint       width;
  gboolean    right;
} Column;

/* A table's line being written a cell at a time, from its first column. */
typedef struct
{
  GString      *line;
  const Column *column;
} Row;

/* Appends @text padded to the column's width in characters (not bytes). */
static void
row_add_text (Row        *row,
              const char *text)
{
  glong length = g_utf8_strlen (text, -1);
  guint width = row->column->width;
  guint padding = length < (glong) width ? width - (guint) length : 0;

  if (row->line->len > 0)
    g_string_append_c (row->line, ' ');
  if (!row->column->right)
    g_string_append (row->line, text);
  for (guint i = 0; i < padding; i++)
    g_string_append_c (row->line, ' ');
  if (row->column->right)
    g_string_append (row->line, text);
  row->column++;
}

static void
row_add_count (Row    *row,
               gint64  n)
{
  g_autofree char *text = format_count (n);

  row_add_text (row, text);
}

static void
print_header (const Column *columns,
              guint         n_columns)
{
  g_autoptr(GString) line = g_string_new (NULL);
  Row row = { line, columns };

  for (guint i = 0; i < n_columns; i++)
    row_add_text (&row, _(columns[i].title));
  g_print ("%s\n", line->str);
}

/* Prints "Label:  value" lines with the values lined up. */
static void
print_fields (const char * const *pairs)
{
  glong width = 0;

  for (guint i = 0; pairs[i] != NULL; i += 2)
    width = MAX (width, g_utf8_strlen (pairs[i], -1));

  for (guint i = 0; pairs[i] != NULL; i += 2)
    {
      g_autoptr(GString) line = g_string_new (pairs[i]);

      g_string_append_c (line, ':');
      for (glong n = g_utf8_strlen (pairs[i], -1); n < width + 2; n++)
        g_string_append_c (line, ' ');
      g_string_append (line, pairs[i + 1]);
      g_print ("%s\n", line->str);
    }
}

static void
print_json_object (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = json_to_string (node, TRUE);

  g_print ("%s\n", text);
}

/* One JSON array, written an element at a time as pages come. */
typedef struct
{
  gboolean started;
} JsonArrayWriter;

static void
json_array_writer_add (JsonArrayWriter *writer,
                       JsonNode        *element)
{
  g_autofree char *text = json_to_string (element, TRUE);

  g_print ("%s%s", writer->started ? ",\n" : "[\n", text);
  writer->started = TRUE;
}

static void
json_array_writer_end (JsonArrayWriter *writer)
{
  g_print ("%s]\n", writer->started ? "\n" : "[");
}

/* Lists */

typedef void (*PrintRowFunc) (JsonObject *item);

/* Prints the list at @base (a path without a query) page by page: the
 * columns' titles, then each item; at most @limit items (0: all) after the id
 * @after. Sets @total to the server's count of the whole list and @next
 * to the key to go on from, 0 at its end.
 */
static gboolean
print_list (EdCtlClient  *client,
            const char   *base,
            gint64        after,
            gint64        limit,
            gboolean      json,
            const Column *columns,
            guint         n_columns,
            PrintRowFunc  print_row,
            gint64       *total,
            gint64       *next,
            GError      **error)
{
  JsonArrayWriter writer = { FALSE };
  gint64 printed = 0;

  *next = after;
  do
    {
      g_autoptr(JsonObject) page = NULL;
      g_autofree char *path = NULL;
      gint64 wanted = limit > 0 ? MIN (PAGE_SIZE, limit - printed) : PAGE_SIZE;
      JsonArray *items;
      guint n;

      if (*next > 0)
        path = g_strdup_printf ("%s?limit=%" G_GINT64_FORMAT "&after=%" G_GINT64_FORMAT, base, wanted, *next);
      else
        path = g_strdup_printf ("%s?limit=%" G_GINT64_FORMAT, base, wanted);
      if (!(page = ed_ctl_client_get (client, path, error)))
        return FALSE;

      items = ed_json_get_array (page, "items");
      n = items ? json_array_get_length (items) : 0;
      if (printed == 0)
        {
          *total = ed_json_get_int (page, "total");
          if (!json && n > 0)
            print_header (columns, n_columns);
        }
      for (guint i = 0; i < n; i++)
        {
          if (json)
            json_array_writer_add (&writer, json_array_get_element (items, i));
          else
            print_row (json_array_get_object_element (items, i));
        }
      printed += n;
      *next = ed_json_get_int (page, "next");
    }
  while (*next > 0 && (limit == 0 || printed < limit));

  if (json)
    json_array_writer_end (&writer);

  return TRUE;
}

static const Column event_columns[] = {
  { N_("ID"), 6, TRUE },
  { N_("STARTS"), 20, FALSE },
  { N_("CAPACITY"), 9, TRUE },
  { N_("TAKEN"), 9, TRUE },
  { N_("GUESTS"), 9, TRUE },
  { N_("ACCEPTED"), 9, TRUE },
  { N_("DECLINED"), 9, TRUE },
  { N_("WAITLIST"), 9, TRUE },
  { N_("NAME"), 0, FALSE },
};

static void
print_event_row (JsonObject *event)
{
  g_autoptr(GString) line = g_string_new (NULL);
  Row row = { line, event_columns };
  JsonObject *stats = ed_json_get_object (event, "stats");

  row_add_count (&row, ed_json_get_int (event, "id"));
  row_add_text (&row, get_text (event, "starts_at"));
  row_add_count (&row, ed_json_get_int (event, "capacity"));
  row_add_count (&row, ed_json_get_int (stats, "seats_taken"));
  row_add_count (&row, ed_json_get_int (stats, "guests"));
  row_add_count (&row, ed_json_get_int (stats, "accepted"));
  row_add_count (&row, ed_json_get_int (stats, "declined"));
  row_add_count (&row, ed_json_get_int (stats, "waitlisted"));
  row_add_text (&row, get_text (event, "name"));
  g_print ("%s\n", line->str);
}

int
ed_ctl_run_events (int      argc,
                   char   **argv,
                   GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("— list the events"));
  g_autoptr(EdCtlClient) client = NULL;
  gboolean json = FALSE;
  gint64 after = 0;
  gint64 limit = 0;
  gint64 total = 0;
  gint64 next = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the events as the server sends them, as a JSON array"), NULL },
    { "limit", 'n', 0, G_OPTION_ARG_INT64, &limit, N_("List at most N events (default: all)"), N_("N") },
    { "after", 0, 0, G_OPTION_ARG_INT64, &after, N_("Start after the event with this id"), N_("ID") },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context, _("Seats taken and the guests' answers come from the server's counts."));
  if (!ed_ctl_parse_options (context, &argc, &argv, error) || !ed_ctl_check_no_arguments (argc, argv, error))
    return ED_CTL_EXIT_USAGE;
  if (limit < 0 || after < 0)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("--limit and --after take a number from 0 up"));
      return ED_CTL_EXIT_USAGE;
    }

  if (!(client = ed_ctl_client_from_session (error)))
    return ED_CTL_EXIT_LOGIN;

  if (!print_list (client, "/api/v1/events", after, limit, json, event_columns, G_N_ELEMENTS (event_columns),
                   print_event_row, &total, &next, error))
    return ed_ctl_error_to_exit_status (*error);

  if (!json && total == 0)
    g_print (_("No events yet\n"));
  else if (!json && next > 0)
    {
      g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT, next);

      /* Standard error: the list on standard output stays a table. */
      g_printerr (_("More events follow: eventdeskctl events --after %s\n"), key);
    }

  return ED_CTL_EXIT_OK;
}

static const Column campaign_columns[] = {
  { N_("ID"), 6, TRUE },
  { N_("KIND"), 12, FALSE },
  { N_("STATE"), 9, FALSE },
  { N_("SENT"), 10, TRUE },
  { N_("TOTAL"), 10, TRUE },
  { N_("WAITING"), 10, TRUE },
  { N_("TO RETRY"), 9, TRUE },
  { N_("FAILED"), 9, TRUE },
  { N_("SUBJECT"), 0, FALSE },
};

static void
print_campaign_row (JsonObject *campaign)
{
  g_autoptr(GString) line = g_string_new (NULL);
  Row row = { line, campaign_columns };

  row_add_count (&row, ed_json_get_int (campaign, "id"));
  row_add_text (&row, label_for (ed_json_get_string (campaign, "kind")));
  row_add_text (&row, label_for (ed_json_get_string (campaign, "state")));
  row_add_count (&row, get_count (campaign, "sent"));
  row_add_count (&row, ed_json_get_int (campaign, "total"));
  row_add_count (&row, get_waiting (campaign));
  row_add_count (&row, get_count (campaign, "retry"));
  row_add_count (&row, get_count (campaign, "failed"));
  row_add_text (&row, get_text (campaign, "subject"));
  g_print ("%s\n", line->str);
}

int
ed_ctl_run_campaigns (int      argc,
                      char   **argv,
                      GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("EVENT — list an event's campaigns with their progress"));
  g_autoptr(EdCtlClient) client = NULL;
  g_autofree char *base = NULL;
  gboolean json = FALSE;
  gint64 event_id;
  gint64 total = 0;
  gint64 next = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the campaigns as the server sends them, as a JSON array"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context, _("WAITING counts the messages queued or being sent."));
  if (!ed_ctl_parse_options (context, &argc, &argv, error))
    return ED_CTL_EXIT_USAGE;
  if (argc != 2)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("Usage: eventdeskctl campaigns EVENT"));
      return ED_CTL_EXIT_USAGE;
    }
  if (!ed_ctl_parse_event_id (argv[1], &event_id, error))
    return ED_CTL_EXIT_USAGE;

  if (!(client = ed_ctl_client_from_session (error)))
    return ED_CTL_EXIT_LOGIN;

  base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/campaigns", event_id);
  if (!print_list (client, base, 0, 0, json, campaign_columns, G_N_ELEMENTS (campaign_columns),
                   print_campaign_row, &total, &next, error))
    return ed_ctl_error_to_exit_status (*error);

  if (!json && total == 0)
    {
      g_autofree char *event = g_strdup_printf ("%" G_GINT64_FORMAT, event_id);

      g_print (_("Event %s has no campaigns yet\n"), event);
    }

  return ED_CTL_EXIT_OK;
}

/* One campaign */

/* "running: 5 of 12 sent, 7 waiting, 0 to retry, 0 failed" */
static char *
describe_progress (JsonObject *campaign)
{
  g_autofree char *sent = format_count (get_count (campaign, "sent"));
  g_autofree char *total = format_count (ed_json_get_int (campaign, "total"));
  g_autofree char *waiting = format_count (get_waiting (campaign));
  g_autofree char *retry = format_count (get_count (campaign, "retry"));
  g_autofree char *failed = format_count (get_count (campaign, "failed"));

  return g_strdup_printf (_("%s: %s of %s sent, %s waiting, %s to retry, %s failed"),
                          label_for (ed_json_get_string (campaign, "state")), sent, total, waiting, retry, failed);
}

static void
print_campaign (JsonObject *campaign)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, ed_json_get_int (campaign, "id"));
  g_autofree char *event = g_strdup_printf ("%" G_GINT64_FORMAT, ed_json_get_int (campaign, "event_id"));
  g_autofree char *sent = format_count (get_count (campaign, "sent"));
  g_autofree char *total = format_count (ed_json_get_int (campaign, "total"));
  g_autofree char *sent_text = NULL;
  g_autofree char *queued = format_count (get_count (campaign, "queued"));
  g_autofree char *sending = format_count (get_count (campaign, "sending"));
  g_autofree char *waiting = NULL;
  g_autofree char *retry = format_count (get_count (campaign, "retry"));
  g_autofree char *failed = format_count (get_count (campaign, "failed"));
  g_autofree char *cancelled = format_count (get_count (campaign, "cancelled"));
  g_autofree char *rate = g_strdup_printf (_("%.1f messages a second"), ed_json_get_double (campaign, "send_rate"));
  const char *reason = ed_json_get_string (campaign, "state_reason");
  const char *launched = ed_json_get_string (campaign, "launched_at");
  const char *finished = ed_json_get_string (campaign, "finished_at");
  g_autofree char *state = NULL;

  sent_text = g_strdup_printf (_("%s of %s"), sent, total);
  waiting = g_strdup_printf (_("%s queued, %s being sent"), queued, sending);
  if (reason != NULL)
    state = g_strdup_printf (_("%s (%s)"), label_for (ed_json_get_string (campaign, "state")), reason);
  else
    state = g_strdup (label_for (ed_json_get_string (campaign, "state")));

  g_print (_("Campaign %s of event %s\n"), id, event);
  print_fields ((const char * const []) {
    _("Kind"), label_for (ed_json_get_string (campaign, "kind")),
    _("Subject"), get_text (campaign, "subject"),
    _("Audience"), get_text (campaign, "audience"),
    _("State"), state,
    _("Sent"), sent_text,
    _("Waiting"), waiting,
    _("To retry"), retry,
    _("Failed"), failed,
    _("Cancelled"), cancelled,
    _("Send rate"), rate,
    _("Launched"), launched ? launched : _("not yet"),
    _("Finished"), finished ? finished : _("not yet"),
    NULL,
  });
}

static JsonObject *
get_campaign (EdCtlClient  *client,
              gint64        campaign_id,
              GError      **error)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT, campaign_id);

  return ed_ctl_client_get (client, path, error);
}

/* How many guests the campaign's audience has now. */
static gboolean
count_audience (EdCtlClient  *client,
                JsonObject   *campaign,
                gint64       *count,
                GError      **error)
{
  const char *audience = ed_json_get_string (campaign, "audience");
  g_autofree char *encoded = soup_form_encode ("audience", audience ? audience : "all", NULL);
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/audience?%s",
                                           ed_json_get_int (campaign, "event_id"), encoded);
  g_autoptr(JsonObject) answer = NULL;

  if (!(answer = ed_ctl_client_get (client, path, error)))
    return FALSE;

  *count = ed_json_get_int (answer, "count");
  return TRUE;
}

/* Asks @question after @statement on the terminal. Without a terminal to
 * ask on, nothing is done: the error says to add --yes.
 */
static gboolean
confirm (const char  *statement,
         const char  *question,
         GError     **error)
{
  g_autofree char *answer = NULL;

  if (!isatty (STDIN_FILENO))
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE,
                   _("%s Nothing was done: add --yes to go ahead without being asked "
                     "(standard input is not a terminal to ask on)."), statement);
      return FALSE;
    }

  /* Translators: the question's answers; "y" and "yes" (or their
   * translations as the locale's yes) say yes, anything else no */
  fprintf (stderr, _("%s\n%s [y/N] "), statement, question);
  fflush (stderr);
  answer = ed_terminal_read_line (stdin, ANSWER_MAX_BYTES);
  if (answer == NULL || rpmatch (answer) != 1)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED, _("Nothing was done"));
      return FALSE;
    }

  return TRUE;
}

/* Before a launch or a cancel that the campaign's state allows, says what
 * it does and asks. A state the server refuses anyway goes ahead: the
 * server says why not.
 */
static gboolean
confirm_action (EdCtlClient  *client,
                Action        action,
                JsonObject   *campaign,
                GError      **error)
{
  const char *state = ed_json_get_string (campaign, "state");
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, ed_json_get_int (campaign, "id"));
  g_autofree char *statement = NULL;
  g_autofree char *count_text = NULL;
  gint64 count;

  if (action == ACTION_LAUNCH && g_strcmp0 (state, "draft") == 0)
    {
      if (!count_audience (client, campaign, &count, error))
        return FALSE;
      count_text = format_count (count);
      statement = g_strdup_printf (ngettext ("Campaign %s (%s “%s”) will be sent to %s recipient.",
                                             "Campaign %s (%s “%s”) will be sent to %s recipients.",
                                             (gulong) count),
                                   id, label_for (ed_json_get_string (campaign, "kind")),
                                   get_text (campaign, "subject"), count_text);
      return confirm (statement, _("Launch it?"), error);
    }

  if (action == ACTION_CANCEL &&
      (g_strcmp0 (state, "draft") == 0 || g_strcmp0 (state, "running") == 0 || g_strcmp0 (state, "paused") == 0))
    {
      /* Those being sent count too: most that do not go through come back
       * to wait, and are then cancelled. */
      count = get_waiting (campaign) + get_count (campaign, "retry");
      count_text = format_count (count);
      if (count > 0)
        statement = g_strdup_printf (ngettext ("Campaign %s stops for good: its %s message still waiting will not be sent.",
                                               "Campaign %s stops for good: its %s messages still waiting will not be sent.",
                                               (gulong) count),
                                     id, count_text);
      else
        statement = g_strdup_printf (_("Campaign %s stops for good and cannot be launched again."), id);
      return confirm (statement, _("Cancel it?"), error);
    }

  return TRUE;
}

/* @before is the campaign before a cancel or a retry-failed, to count
 * what it changed; NULL for the other actions.
 */
static void
print_action_done (Action      action,
                   JsonObject *before,
                   JsonObject *after)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, ed_json_get_int (after, "id"));
  g_autofree char *progress = describe_progress (after);
  g_autofree char *count_text = NULL;
  gint64 count;

  switch (action)
    {
    case ACTION_LAUNCH:
      count = ed_json_get_int (after, "total");
      count_text = format_count (count);
      g_print (ngettext ("Campaign %s launched: %s message queued\n",
                         "Campaign %s launched: %s messages queued\n", (gulong) count),
               id, count_text);
      break;
    case ACTION_PAUSE:
      g_print (_("Campaign %s paused: nothing more is sent until it resumes\n"), id);
      break;
    case ACTION_RESUME:
      g_print (_("Campaign %s resumed\n"), id);
      break;
    case ACTION_CANCEL:
      count = get_count (after, "cancelled") - get_count (before, "cancelled");
      count_text = format_count (MAX (count, 0));
      g_print (ngettext ("Campaign %s cancelled: %s message will not be sent\n",
                         "Campaign %s cancelled: %s messages will not be sent\n", (gulong) MAX (count, 0)),
               id, count_text);
      break;
    case ACTION_RETRY_FAILED:
      count = get_count (before, "failed") - get_count (after, "failed");
      count_text = format_count (MAX (count, 0));
      g_print (ngettext ("Campaign %s: %s failed message queued again\n",
                         "Campaign %s: %s failed messages queued again\n", (gulong) MAX (count, 0)),
               id, count_text);
      break;
    case ACTION_SHOW:
    case ACTION_WATCH:
    default:
      g_assert_not_reached ();
    }

  g_print ("%s\n", progress);
}

static int
run_action (EdCtlClient  *client,
            Action        action,
            gint64        campaign_id,
            gboolean      yes,
            gboolean      json,
            GError      **error)
{
  g_autoptr(JsonObject) before = NULL;
  g_autoptr(JsonObject) after = NULL;
  g_autofree char *path = NULL;
  gboolean asks = !yes && (action == ACTION_LAUNCH || action == ACTION_CANCEL);
  gboolean compares = !json && (action == ACTION_CANCEL || action == ACTION_RETRY_FAILED);

  /* As it is now, only when needed: for the question, or to tell what the
   * action changed. A campaign that is not there is the action's error. */
  if ((asks || compares) && !(before = get_campaign (client, campaign_id, error)))
    return ed_ctl_error_to_exit_status (*error);
  if (asks && !confirm_action (client, action, before, error))
    return ed_ctl_error_to_exit_status (*error);

  path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/%s", campaign_id, action_names[action]);
  if (!(after = ed_ctl_client_post (client, path, error)))
    return ed_ctl_error_to_exit_status (*error);

  if (json)
    print_json_object (after);
  else
    print_action_done (action, before, after);

  return ED_CTL_EXIT_OK;
}

/* Prints the campaign's progress, polling once a second, until it is
 * done (0), paused or cancelled (1), or @timeout_s have passed.
 */
static int
watch (EdCtlClient  *client,
       gint64        campaign_id,
       gint64        timeout_s,
       GError      **error)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, campaign_id);
  g_autofree char *last = NULL;
  gboolean tty = isatty (STDOUT_FILENO);
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(JsonObject) campaign = NULL;
      g_autofree char *line = NULL;
      const char *state;
      const char *reason;

      if (!(campaign = get_campaign (client, campaign_id, error)))
        {
          if (tty && last != NULL)
            g_print ("\n");
          return ed_ctl_error_to_exit_status (*error);
        }

      state = ed_json_get_string (campaign, "state");
      line = describe_progress (campaign);
      /* On a terminal the line is redrawn; in a log, a line per change. */
      if (tty)
        g_print ("\r\033[K%s", line);
      else if (g_strcmp0 (line, last) != 0)
        g_print ("%s\n", line);
      fflush (stdout);
      g_free (last);
      last = g_steal_pointer (&line);

      if (g_strcmp0 (state, "done") == 0 || g_strcmp0 (state, "cancelled") == 0 ||
          g_strcmp0 (state, "paused") == 0 || g_strcmp0 (state, "draft") == 0)
        {
          if (tty)
            g_print ("\n");
          reason = ed_json_get_string (campaign, "state_reason");
          if (g_strcmp0 (state, "done") == 0)
            {
              g_print (_("Campaign %s is done\n"), id);
              return ED_CTL_EXIT_OK;
            }
          if (g_strcmp0 (state, "cancelled") == 0)
            g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED, _("Campaign %s was cancelled"), id);
          else if (g_strcmp0 (state, "draft") == 0)
            g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED,
                         _("Campaign %s is a draft: launch it first"), id);
          /* A paused campaign waits for someone to resume it: say how.
           * The reason ends with a mail server's reply, so the hint
           * goes on a line of its own after it. */
          else if (reason != NULL)
            g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED,
                         _("Campaign %s paused: %s\nResume it with: eventdeskctl campaign resume %s"),
                         id, reason, id);
          else
            g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED,
                         _("Campaign %s paused; resume it with: eventdeskctl campaign resume %s"), id, id);
          return ED_CTL_EXIT_FAILED;
        }

      if (g_get_monotonic_time () + WATCH_INTERVAL_US > deadline)
        {
          g_autofree char *seconds = g_strdup_printf ("%" G_GINT64_FORMAT, timeout_s);

          if (tty)
            g_print ("\n");
          g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED,
                       _("Stopped watching after %s seconds; campaign %s is still running"), seconds, id);
          return ED_CTL_EXIT_FAILED;
        }
      g_usleep (WATCH_INTERVAL_US);
    }
}

int
ed_ctl_run_campaign (int      argc,
                     char   **argv,
                     GError **error)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(EdCtlClient) client = NULL;
  gboolean json = FALSE;
  gboolean yes = FALSE;
  gint64 timeout_s = WATCH_TIMEOUT_DEFAULT_S;
  gint64 campaign_id;
  guint action = G_N_ELEMENTS (action_names);
  const GOptionEntry entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_("Launch or cancel without asking"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the campaign as the server sends it, as JSON"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT64, &timeout_s,
      N_("watch: stop after this many seconds (default: 86400, a day)"), N_("SECONDS") },
    { NULL }
  };

  context = g_option_context_new (_("show|launch|pause|resume|cancel|retry-failed|watch ID — one campaign"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context,
    _("show prints the campaign; launch queues a message for each guest of its audience, "
      "pause stops sending until resume, cancel stops it for good, retry-failed queues its "
      "failed messages again, and watch prints its progress every second until it is done "
      "(exit status 0), paused or cancelled (1).\n\n"
      "launch and cancel say what they do and ask first; without a terminal to ask on they "
      "do nothing unless --yes is given. An action the campaign's state does not allow "
      "prints the server's reason and exits with status 5."));
  if (!ed_ctl_parse_options (context, &argc, &argv, error))
    return ED_CTL_EXIT_USAGE;
  if (argc == 3)
    for (action = 0; action < G_N_ELEMENTS (action_names); action++)
      if (strcmp (argv[1], action_names[action]) == 0)
        break;
  if (action == G_N_ELEMENTS (action_names))
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE,
                           _("Usage: eventdeskctl campaign show|launch|pause|resume|cancel|retry-failed|watch ID"));
      return ED_CTL_EXIT_USAGE;
    }
  if (!ed_ctl_parse_campaign_id (argv[2], &campaign_id, error))
    return ED_CTL_EXIT_USAGE;
  if (timeout_s < 1)
    {
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("--timeout takes a number of seconds from 1 up"));
      return ED_CTL_EXIT_USAGE;
    }

  if (!(client = ed_ctl_client_from_session (error)))
    return ED_CTL_EXIT_LOGIN;

  if (action == ACTION_WATCH)
    return watch (client, campaign_id, timeout_s, error);

  if (action == ACTION_SHOW)
    {
      g_autoptr(JsonObject) campaign = get_campaign (client, campaign_id, error);

      if (campaign == NULL)
        return ed_ctl_error_to_exit_status (*error);
      if (json)
        print_json_object (campaign);
      else
        print_campaign (campaign);
      return ED_CTL_EXIT_OK;
    }

  return run_action (client, action, campaign_id, yes, json, error);
}

/* The queue */

static const Column queue_columns[] = {
  { N_("STATE"), 12, FALSE },
  { N_("ALL"), 10, TRUE },
  { N_("BULK"), 10, TRUE },
  { N_("TRANSACTIONAL"), 13, TRUE },
};

static const Column retry_columns[] = {
  { N_("AT"), 20, FALSE },
  { N_("MESSAGE"), 8, TRUE },
  { N_("CAMPAIGN"), 8, TRUE },
  { N_("ATTEMPTS"), 8, TRUE },
  { N_("ADDRESS"), 0, FALSE },
};

static void
print_retry_row (JsonObject *message)
{
  g_autoptr(GString) line = g_string_new (NULL);
  Row row = { line, retry_columns };
  const char *text = get_text (message, "last_text");
  gint64 code = ed_json_get_int (message, "last_code");

  row_add_text (&row, get_text (message, "next_attempt_at"));
  row_add_count (&row, ed_json_get_int (message, "id"));
  row_add_count (&row, ed_json_get_int (message, "campaign_id"));
  row_add_count (&row, ed_json_get_int (message, "attempts"));
  row_add_text (&row, get_text (message, "email"));
  if (code > 0)
    g_string_append_printf (line, " (%" G_GINT64_FORMAT " %s)", code, text);
  else if (*text != '\0')
    g_string_append_printf (line, " (%s)", text);
  g_print ("%s\n", line->str);
}

static void
print_queue (JsonObject *queue,
             JsonArray  *retries)
{
  JsonObject *parts[] = {
    queue, ed_json_get_object (queue, "bulk"), ed_json_get_object (queue, "transactional"),
  };
  g_autofree char *rate = g_strdup_printf (_("%.1f messages a second"), ed_json_get_double (queue, "send_rate"));
  g_autofree char *limit = NULL;
  g_autofree char *in_flight = format_count (ed_json_get_int (queue, "in_flight"));
  const char *oldest = ed_json_get_string (queue, "oldest_due_at");
  const char *next_retry = ed_json_get_string (queue, "next_retry_at");
  guint n_retries = retries ? json_array_get_length (retries) : 0;

  G_STATIC_ASSERT (G_N_ELEMENTS (parts) + 1 == G_N_ELEMENTS (queue_columns));

  /* A line per state, and the total last. */
  print_header (queue_columns, G_N_ELEMENTS (queue_columns));
  for (guint i = 0; i <= G_N_ELEMENTS (message_states); i++)
    {
      const char *state = i < G_N_ELEMENTS (message_states) ? message_states[i].name : NULL;
      g_autoptr(GString) line = g_string_new (NULL);
      Row row = { line, queue_columns };

      row_add_text (&row, state ? _(message_states[i].label) : _("total"));
      for (guint j = 0; j < G_N_ELEMENTS (parts); j++)
        row_add_count (&row, state ? get_count (parts[j], state) : ed_json_get_int (parts[j], "total"));
      g_print ("%s\n", line->str);
    }
  g_print ("\n");

  if (ed_json_get_double (queue, "rate_limit") <= 0.0)
    limit = g_strdup (_("no limit"));
  else if (json_object_get_boolean_member_with_default (queue, "throttled", FALSE))
    limit = g_strdup_printf (_("%g a second, lowered because a server asked to slow down"),
                             ed_json_get_double (queue, "rate_limit"));
  else
    limit = g_strdup_printf (_("%g a second"), ed_json_get_double (queue, "rate_limit"));

  print_fields ((const char * const []) {
    _("Send rate"), rate,
    _("Rate limit"), limit,
    _("Being sent"), in_flight,
    _("Waiting since"), oldest ? oldest : _("nothing is due"),
    _("Next retry"), next_retry ? next_retry : _("none"),
    NULL,
  });

  if (n_retries == 0)
    return;

  g_print ("\n%s\n", _("Next retries:"));
  print_header (retry_columns, G_N_ELEMENTS (retry_columns));
  for (guint i = 0; i < n_retries; i++)
    print_retry_row (json_array_get_object_element (retries, i));
}

int
ed_ctl_run_queue (int      argc,
                  char   **argv,
                  GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("— show the mail queue"));
  g_autoptr(EdCtlClient) client = NULL;
  g_autoptr(JsonObject) queue = NULL;
  g_autoptr(JsonObject) retries = NULL;
  gboolean json = FALSE;
  gint64 n_retries = NEXT_RETRIES_DEFAULT;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print the server's queue as JSON, the next retries as its member next_retries"), NULL },
    { "retries", 'r', 0, G_OPTION_ARG_INT64, &n_retries,
      N_("List the N retries to come soonest (default: 10; 0: none)"), N_("N") },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context, _("Counts are the messages of every campaign, by state."));
  if (!ed_ctl_parse_options (context, &argc, &argv, error) || !ed_ctl_check_no_arguments (argc, argv, error))
    return ED_CTL_EXIT_USAGE;
  if (n_retries < 0 || n_retries > NEXT_RETRIES_MAX)
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_USAGE, _("--retries takes a number from 0 to %d"), NEXT_RETRIES_MAX);
      return ED_CTL_EXIT_USAGE;
    }

  if (!(client = ed_ctl_client_from_session (error)))
    return ED_CTL_EXIT_LOGIN;

  if (!(queue = ed_ctl_client_get (client, "/api/v1/queue", error)))
    return ed_ctl_error_to_exit_status (*error);
  if (n_retries > 0)
    {
      g_autofree char *path = g_strdup_printf ("/api/v1/messages?state=retry&order=next_attempt&limit=%" G_GINT64_FORMAT,
                                               n_retries);

      if (!(retries = ed_ctl_client_get (client, path, error)))
        return ed_ctl_error_to_exit_status (*error);
    }

  if (json)
    {
      JsonArray *items = ed_json_get_array (retries, "items");

      json_object_set_array_member (queue, "next_retries", items ? json_array_ref (items) : json_array_new ());
      print_json_object (queue);
    }
  else
    print_queue (queue, ed_json_get_array (retries, "items"));

  return ED_CTL_EXIT_OK;
}
