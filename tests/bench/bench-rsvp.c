/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-util.h"
#include "ed-config.h"
#include "ed-data-dir.h"
#include "ed-event.h"
#include "ed-guest.h"
#include "ed-password.h"
#include "ed-rsvp-token.h"
#include "ed-store.h"
#include "ed-time-util.h"

/* The RSVP benchmark of the invitations issue, point 7: fills one event of
 * capacity 5,000 with 12,000 guests through the store, writes a valid
 * link token for each, starts the real daemon on that data and lets wrk
 * post accepts over all the tokens for a fixed time; then, in the same
 * run and against the same daemon, wrk on /healthz as the ceiling.
 * Prints every figure next to its target, checks through the API that
 * exactly 5,000 seats are taken, and exits 1 when a target is missed.
 */

#define DEFAULT_GUESTS 12000
#define DEFAULT_CAPACITY 5000
#define DEFAULT_DURATION_S 10
#define DEFAULT_CONNECTIONS 64
#define DEFAULT_THREADS 1
#define ROWS_PER_TRANSACTION 20000
#define DAEMON_START_TIMEOUT_S 60
#define DAEMON_STOP_TIMEOUT_S 40
#define ADMIN_NAME "bench"
#define ADMIN_PASSWORD "bench-password-of-some-length"

#define TARGET_ANSWERS_PER_S 5000.0
#define TARGET_P99_MS 50.0
#define TARGET_HEALTHZ_RATIO 0.40

typedef struct
{
  gint64  requests;
  gint64  duration_us;
  gint64  p50_us;
  gint64  p90_us;
  gint64  p99_us;
  gint64  max_us;
  gint64  status_errors;
  gint64  socket_errors;
} WrkResult;

typedef struct
{
  /* options */
  char             *eventdeskd;
  char             *wrk;
  char             *lua;
  gint              n_guests;
  gint              capacity;
  gint              duration_s;
  gint              connections;
  gint              threads;
  gboolean          keep;

  /* owned */
  char             *data_dir;
  char             *tokens_path;
  GSubprocess      *daemon;
  char             *base_url;
  gint64            event_id;
} Bench;

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
stop_daemon (Bench *bench)
{
  g_autoptr(GError) error = NULL;

  if (bench->daemon == NULL)
    return;

  g_subprocess_send_signal (bench->daemon, SIGTERM);
  if (!g_subprocess_wait (bench->daemon, NULL, &error))
    g_printerr ("bench-rsvp: waiting for eventdeskd: %s\n", error->message);
  else if (g_subprocess_get_if_exited (bench->daemon) && g_subprocess_get_exit_status (bench->daemon) == 0)
    g_print ("eventdeskd stopped cleanly after SIGTERM\n");
  else
    g_printerr ("bench-rsvp: eventdeskd did not exit cleanly after SIGTERM\n");
  g_clear_object (&bench->daemon);
}

static void
bench_clear (Bench *bench)
{
  stop_daemon (bench);

  if (bench->data_dir != NULL)
    {
      if (bench->keep)
        g_print ("Kept the data directory %s\n", bench->data_dir);
      else
        remove_tree (bench->data_dir);
    }

  g_clear_pointer (&bench->eventdeskd, g_free);
  g_clear_pointer (&bench->wrk, g_free);
  g_clear_pointer (&bench->lua, g_free);
  g_clear_pointer (&bench->data_dir, g_free);
  g_clear_pointer (&bench->tokens_path, g_free);
  g_clear_pointer (&bench->base_url, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Bench, bench_clear)

/* The event, its guests and one token per guest, written straight to the
 * store (the daemon is not running yet) with the daemon's own signing key.
 */
static gboolean
fill (Bench   *bench,
      GError **error)
{
  g_autoptr(EdConfig) config = ed_config_new ();
  g_autoptr(EdStore) store = NULL;
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GString) tokens = g_string_new (NULL);
  g_autofree char *db_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *hash = NULL;
  gint64 started = g_get_monotonic_time ();
  gint64 expires_at;

  g_free (config->data_dir);
  config->data_dir = g_strdup (bench->data_dir);
  db_path = ed_config_get_db_path (config);
  secret_path = ed_config_get_secret_path (config);

  if (!ed_data_dir_prepare (bench->data_dir, error) ||
      !(key = ed_data_dir_load_secret (secret_path, error)) ||
      !(store = ed_store_open (db_path, error)) ||
      !(hash = ed_password_hash (ADMIN_PASSWORD, error)) ||
      ed_store_add_admin (store, ADMIN_NAME, hash, error) == 0)
    return FALSE;

  event->name = g_strdup ("RSVP benchmark");
  g_free (event->timezone);
  event->timezone = g_strdup ("Europe/Berlin");
  event->starts_at = ed_time_now () + 90 * 24 * 3600;
  event->capacity = bench->capacity;
  event->max_party_size = 1;
  event->waitlist_enabled = TRUE;
  if (!ed_store_insert_event (store, event, error))
    return FALSE;
  bench->event_id = event->id;
  expires_at = ed_rsvp_token_expiry (event);

  for (gint i = 0; i < bench->n_guests; i++)
    {
      g_autoptr(EdGuest) guest = ed_guest_new ();
      g_autofree char *token = NULL;
      EdRsvpTokenClaims claims;

      if (i % ROWS_PER_TRANSACTION == 0 && !ed_store_begin (store, error))
        return FALSE;

      guest->event_id = event->id;
      guest->email = g_strdup_printf ("guest%06d@bench.example", i);
      guest->first_name = g_strdup ("Bench");
      guest->last_name = g_strdup_printf ("Guest %d", i);
      if (!ed_store_insert_guest (store, guest, error))
        return FALSE;

      claims.event_id = event->id;
      claims.guest_id = guest->id;
      claims.token_version = guest->token_version;
      if (!(token = ed_rsvp_token_sign (key, &claims, expires_at, error)))
        return FALSE;
      g_string_append (tokens, token);
      g_string_append_c (tokens, '\n');

      if ((i + 1) % ROWS_PER_TRANSACTION == 0 || i + 1 == bench->n_guests)
        if (!ed_store_commit (store, error))
          return FALSE;
    }
  ed_store_close (store);

  bench->tokens_path = g_build_filename (bench->data_dir, "tokens.txt", NULL);
  if (!g_file_set_contents (bench->tokens_path, tokens->str, tokens->len, error))
    return FALSE;

  g_print ("Filled event %" G_GINT64_FORMAT " (capacity %d) with %d guests and their tokens in %.1f s\n",
           bench->event_id, bench->capacity, bench->n_guests,
           (g_get_monotonic_time () - started) / 1e6);
  return TRUE;
}

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
start_daemon (Bench   *bench,
              GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *log_path = g_build_filename (bench->data_dir, "eventdeskd.log", NULL);
  g_autofree char *line = NULL;

  /* The access log goes to a file, as it would to the journal. */
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  bench->daemon = g_subprocess_launcher_spawn (launcher, error, bench->eventdeskd,
                                               "--listen", "127.0.0.1:0",
                                               "--data-dir", bench->data_dir, NULL);
  if (bench->daemon == NULL)
    return FALSE;

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench->daemon));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, error);
  if (line == NULL || !g_str_has_prefix (line, "eventdeskd listening on "))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "eventdeskd did not start; see %s", log_path);
      return FALSE;
    }

  bench->base_url = g_strdup (line + strlen ("eventdeskd listening on "));
  g_print ("eventdeskd (pid %s) listening on %s\n", g_subprocess_get_identifier (bench->daemon), bench->base_url);
  return TRUE;
}

static gint64
read_field (const char *line,
            const char *name)
{
  g_autofree char *key = g_strconcat (" ", name, "=", NULL);
  g_autofree char *where = g_strdup_printf ("wrk (%s)", name);
  const char *found = strstr (line, key);
  const char *value = found ? found + strlen (key) : NULL;

  return value ? bench_parse_int (value, strcspn (value, " \n"), where) : -1;
}

static gboolean
run_wrk (Bench       *bench,
         const char  *label,
         const char  *path,
         gboolean     answers,
         WrkResult   *result,
         GError     **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) wrk = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *url = g_strconcat (bench->base_url, path, NULL);
  const char *line;

  g_ptr_array_add (argv, g_strdup (bench->wrk));
  g_ptr_array_add (argv, g_strdup_printf ("--threads=%d", bench->threads));
  g_ptr_array_add (argv, g_strdup_printf ("--connections=%d", bench->connections));
  g_ptr_array_add (argv, g_strdup_printf ("--duration=%ds", bench->duration_s));
  g_ptr_array_add (argv, g_strdup ("--timeout=10s"));
  g_ptr_array_add (argv, g_strdup ("--latency"));
  g_ptr_array_add (argv, g_strdup_printf ("--script=%s", bench->lua));
  g_ptr_array_add (argv, g_strdup (url));
  if (answers)
    {
      g_ptr_array_add (argv, g_strdup ("--"));
      g_ptr_array_add (argv, g_strdup (bench->tokens_path));
    }
  g_ptr_array_add (argv, NULL);

  {
    g_autofree char *command = g_strjoinv (" ", (char **) argv->pdata);

    g_print ("\n%s: %s\n", label, command);
  }

  wrk = g_subprocess_newv ((const char * const *) argv->pdata,
                           G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (wrk == NULL || !g_subprocess_communicate_utf8 (wrk, NULL, NULL, &out, &err, error))
    return FALSE;

  g_print ("%s%s", out, err);
  line = out ? strstr (out, "WRK ") : NULL;
  if (!g_subprocess_get_successful (wrk) || line == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "wrk failed: %s", err ? err : "");
      return FALSE;
    }

  result->requests = read_field (line, "requests");
  result->duration_us = read_field (line, "duration_us");
  result->p50_us = read_field (line, "p50_us");
  result->p90_us = read_field (line, "p90_us");
  result->p99_us = read_field (line, "p99_us");
  result->max_us = read_field (line, "max_us");
  result->status_errors = read_field (line, "status_errors");
  result->socket_errors = read_field (line, "connect_errors") + read_field (line, "read_errors") +
                          read_field (line, "write_errors") + read_field (line, "timeouts");
  return result->requests > 0 && result->duration_us > 0;
}

static JsonObject *
get_json (SoupSession *session,
          const char  *url,
          const char  *token,
          const char  *body,
          GError     **error)
{
  g_autoptr(SoupMessage) msg = soup_message_new (body ? "POST" : "GET", url);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;

  if (token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }

  if (!(bytes = soup_session_send_and_read (session, msg, NULL, error)))
    return NULL;
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (!json_parser_load_from_data (parser, text, -1, error))
    return NULL;
  if (!SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s answered %u: %s",
                   url, soup_message_get_status (msg), text);
      return NULL;
    }

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static const char *
pass_or_fail (gboolean passed)
{
  return passed ? "PASS" : "FAIL";
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Bench) bench = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(JsonObject) login = NULL;
  g_autoptr(JsonObject) stats = NULL;
  g_autofree char *login_url = NULL;
  g_autofree char *stats_url = NULL;
  WrkResult answers = { 0 }, healthz = { 0 };
  double answers_rate, healthz_rate, ratio, p99_ms;
  gint64 seats_taken, accepted, waitlisted, answered;
  gboolean ok_rate, ok_p99, ok_ratio, ok_seats, ok_errors, ok_counts;
  GOptionEntry entries[] = {
    { "guests", 0, 0, G_OPTION_ARG_INT, &bench.n_guests, "Guests with a token (default 12000)", "N" },
    { "capacity", 0, 0, G_OPTION_ARG_INT, &bench.capacity, "The event's capacity (default 5000)", "N" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &bench.duration_s, "Seconds of each wrk run (default 10)", "S" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &bench.connections, "wrk connections (default 64)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &bench.threads, "wrk threads (default 1)", "N" },
    { "eventdeskd", 0, 0, G_OPTION_ARG_FILENAME, &bench.eventdeskd, "The daemon to run", "PATH" },
    { "wrk", 0, 0, G_OPTION_ARG_FILENAME, &bench.wrk, "wrk (default: wrk from PATH)", "PATH" },
    { "lua", 0, 0, G_OPTION_ARG_FILENAME, &bench.lua, "The wrk script (default: bench-rsvp.lua beside the source)", "PATH" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &bench.keep, "Keep the data directory", NULL },
    { NULL }
  };

  context = g_option_context_new ("— RSVP answers against capacity, with wrk");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-rsvp: %s\n", error->message);
      return 2;
    }

  if (bench.n_guests <= 0)
    bench.n_guests = DEFAULT_GUESTS;
  if (bench.capacity <= 0)
    bench.capacity = DEFAULT_CAPACITY;
  if (bench.duration_s <= 0)
    bench.duration_s = DEFAULT_DURATION_S;
  if (bench.connections <= 0)
    bench.connections = DEFAULT_CONNECTIONS;
  if (bench.threads <= 0)
    bench.threads = DEFAULT_THREADS;
  if (bench.eventdeskd == NULL)
    bench.eventdeskd = g_strdup (g_getenv ("EVENTDESKD") ? g_getenv ("EVENTDESKD") : EVENTDESKD_PATH);
  if (bench.wrk == NULL)
    bench.wrk = g_find_program_in_path ("wrk");
  if (bench.lua == NULL)
    bench.lua = g_strdup (BENCH_LUA_PATH);
  if (bench.wrk == NULL)
    {
      g_printerr ("bench-rsvp: wrk is not installed (Debian: apt-get install wrk)\n");
      return 2;
    }

  if (!(bench.data_dir = g_dir_make_tmp ("eventdesk-bench-rsvp-XXXXXX", &error)) ||
      !fill (&bench, &error) ||
      !start_daemon (&bench, &error) ||
      !run_wrk (&bench, "Answers", "/", TRUE, &answers, &error) ||
      !run_wrk (&bench, "Ceiling", "/healthz", FALSE, &healthz, &error))
    {
      g_printerr ("bench-rsvp: %s\n", error->message);
      return 1;
    }

  session = soup_session_new ();
  soup_session_set_proxy_resolver (session, NULL);
  login_url = g_strconcat (bench.base_url, "/api/v1/session", NULL);
  stats_url = g_strdup_printf ("%s/api/v1/events/%" G_GINT64_FORMAT "/stats", bench.base_url, bench.event_id);
  if (!(login = get_json (session, login_url, NULL,
                          "{\"username\":\"" ADMIN_NAME "\",\"password\":\"" ADMIN_PASSWORD "\"}", &error)) ||
      !(stats = get_json (session, stats_url, json_object_get_string_member (login, "token"), NULL, &error)))
    {
      g_printerr ("bench-rsvp: %s\n", error->message);
      return 1;
    }

  answers_rate = answers.requests / (answers.duration_us / 1e6);
  healthz_rate = healthz.requests / (healthz.duration_us / 1e6);
  ratio = answers_rate / healthz_rate;
  p99_ms = answers.p99_us / 1000.0;
  seats_taken = json_object_get_int_member (stats, "seats_taken");
  accepted = json_object_get_int_member (stats, "accepted");
  waitlisted = json_object_get_int_member (stats, "waitlisted");
  answered = MIN (answers.requests, bench.n_guests);

  ok_rate = answers_rate >= TARGET_ANSWERS_PER_S;
  ok_p99 = p99_ms < TARGET_P99_MS;
  ok_ratio = ratio >= TARGET_HEALTHZ_RATIO;
  ok_seats = seats_taken == bench.capacity;
  ok_errors = answers.status_errors == 0 && answers.socket_errors == 0 &&
              healthz.status_errors == 0 && healthz.socket_errors == 0;
  /* Everyone who answered is in or waiting; nobody more than the guests. */
  ok_counts = accepted == bench.capacity && accepted + waitlisted <= bench.n_guests &&
              (bench.threads > 1 || accepted + waitlisted == answered);

  g_print ("\nRSVP benchmark: %d guests, capacity %d, wrk %d thread(s) x %d connections, %d s per run\n",
           bench.n_guests, bench.capacity, bench.threads, bench.connections, bench.duration_s);
  g_print ("%-34s %14s %14s  %s\n", "figure", "measured", "target", "result");
  g_print ("%-34s %14.0f %14s  %s\n", "answers per second", answers_rate, ">= 5000", pass_or_fail (ok_rate));
  g_print ("%-34s %14.1f %14s  %s\n", "answer latency p99 (ms)", p99_ms, "< 50", pass_or_fail (ok_p99));
  g_print ("%-34s %14.1f %14s\n", "answer latency p50 (ms)", answers.p50_us / 1000.0, "");
  g_print ("%-34s %14.1f %14s\n", "answer latency p90 (ms)", answers.p90_us / 1000.0, "");
  g_print ("%-34s %14.1f %14s\n", "answer latency max (ms)", answers.max_us / 1000.0, "");
  g_print ("%-34s %14.0f %14s\n", "/healthz per second (ceiling)", healthz_rate, "");
  g_print ("%-34s %14.1f %14s\n", "/healthz latency p99 (ms)", healthz.p99_us / 1000.0, "");
  g_print ("%-34s %13.1f%% %14s  %s\n", "answers / healthz", ratio * 100, ">= 40%", pass_or_fail (ok_ratio));
  g_print ("%-34s %14" G_GINT64_FORMAT " %14d  %s\n", "seats taken afterwards", seats_taken, bench.capacity,
           pass_or_fail (ok_seats));
  g_print ("%-34s %14" G_GINT64_FORMAT " %14s  %s\n", "accepted / waitlisted guests", accepted, "", pass_or_fail (ok_counts));
  g_print ("%-34s %14" G_GINT64_FORMAT "\n", "", waitlisted);
  g_print ("%-34s %14" G_GINT64_FORMAT " %14s\n", "answers sent", answers.requests, "");
  g_print ("%-34s %14" G_GINT64_FORMAT " %14d  %s\n", "non-2xx answers + socket errors",
           answers.status_errors + answers.socket_errors + healthz.status_errors + healthz.socket_errors, 0,
           pass_or_fail (ok_errors));

  stop_daemon (&bench);

  return ok_rate && ok_p99 && ok_ratio && ok_seats && ok_errors && ok_counts ? 0 : 1;
}
