/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-util.h"
#include "ed-data-dir.h"
#include "ed-rsvp-token.h"

/* The live feed's benchmark (issue 6, point 7), against the real daemon
 * on loopback:
 *
 * 1. wrk posts accepts at full speed to one event for --duration seconds,
 *    with nobody subscribed: the reference rate.
 * 2. --subscribers WebSocket clients subscribe to a second event (and to
 *    a probe event), and wrk posts accepts to the second event the same
 *    way. Meanwhile the bench answers for a probe guest every 200 ms,
 *    alternating accept and decline, and every subscriber notes when the
 *    probe event's update showing it arrives: the update latency, from
 *    sending the answer to the subscriber having the new number.
 * 3. The daemon stops; --timeline-guests guests with a full history over
 *    14 days (answers, changes of mind, an invitation per guest with its
 *    delivery attempts) go straight into the database; the daemon starts
 *    again and GET /api/v1/events/ID/timeline is timed for several
 *    bucket sizes.
 *
 * Prints every figure next to its target and exits 1 when one is missed.
 */

#define DEFAULT_SUBSCRIBERS 200
#define DEFAULT_DURATION_S 10
#define DEFAULT_GUESTS_PER_RUN 40000
#define DEFAULT_TIMELINE_GUESTS 500000
#define DEFAULT_CONNECTIONS 64
#define PROBE_INTERVAL_MS 200
#define TIMELINE_DAYS 14
#define TIMELINE_REPEAT 20
#define INDEXER_WAIT_S 300
#define ADMIN_NAME "bench"
#define ADMIN_PASSWORD "bench-password-of-some-length"

#define TARGET_P99_MS 250.0
#define TARGET_RATIO 0.90
#define TARGET_TIMELINE_MS 50.0

typedef struct _Bench Bench;

typedef struct
{
  Bench                   *bench;
  int                      fd;             /* its WebSocket, after the handshake */
  GByteArray              *in;             /* read, not parsed yet */
  gboolean                 ready;          /* has both snapshots */
  guint                    snapshots;
  gint64                   probe_accepted; /* as the last probe update said */
  guint                    probe_round;    /* the last probe round it saw */
  guint                    load_updates;
  GArray                  *load_times_ms;  /* server "at" of each load update */
} Subscriber;

/* CPU time spent during a run: clock ticks by thread name (digits at
 * the end left out, so that a pool counts as one; the main thread as
 * "main"), for the daemon, and for this process. Threads that ended
 * during the run only count in the daemon's total.
 */
typedef struct
{
  GHashTable *daemon;        /* name -> ticks (GINT_TO_POINTER) */
  gint64      daemon_total;  /* all its threads, ended ones too */
  gint64      bench;
} CpuUse;

typedef struct
{
  gint64  requests;
  double  seconds;
  CpuUse  cpu;      /* during the run */
  gint64  p50_us;
  gint64  p99_us;
  gint64  errors;
} WrkResult;

struct _Bench
{
  /* options */
  char         *eventdeskd;
  char         *wrk;
  char         *lua;
  gint          subscribers;
  gint          duration_s;
  gint          guests_per_run;
  gint          timeline_guests;
  gint          connections;
  gboolean      keep;

  /* state */
  char         *data_dir;
  GSubprocess  *daemon;
  char         *base_url;
  char         *token;
  SoupSession  *http;
  GBytes       *secret;

  gint64        probe_event;
  char         *probe_token;
  guint         probe_round;    /* 0 before the first probe */
  gint64        probe_sent_us;
  gint64        probe_expected;
  GArray       *latencies_us;
  guint         probes_sent;
  GPtrArray    *subs;
  GThread      *subs_thread;
  int           subs_epoll;
  gboolean      subs_stop;      /* atomic */
  guint         subs_ready;     /* under subs_lock */
  GMutex        subs_lock;      /* the probe's fields above, and latencies_us */
  gint64        load_event;
};

static void
child_setup (gpointer user_data)
{
  /* The daemon and wrk die with the bench. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) dir = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;

  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        remove_tree (child);
      else
        g_unlink (child);
      g_object_unref (info);
    }
  g_rmdir (path);
}

static void
stop_daemon (Bench *bench)
{
  if (bench->daemon == NULL)
    return;

  g_subprocess_send_signal (bench->daemon, SIGTERM);
  g_subprocess_wait (bench->daemon, NULL, NULL);
  g_clear_object (&bench->daemon);
  g_clear_pointer (&bench->base_url, g_free);
}

static gboolean
start_daemon (Bench   *bench,
              GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *log_path = g_build_filename (bench->data_dir, "eventdeskd.log", NULL);
  g_autofree char *line = NULL;

  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  bench->daemon = g_subprocess_launcher_spawn (launcher, error, bench->eventdeskd, "--listen", "127.0.0.1:0",
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

static void stop_subscribers (Bench *bench);

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
  stop_subscribers (bench);
  g_clear_pointer (&bench->subs, g_ptr_array_unref);
  g_clear_pointer (&bench->latencies_us, g_array_unref);
  g_mutex_clear (&bench->subs_lock);
  g_clear_pointer (&bench->secret, g_bytes_unref);
  g_clear_object (&bench->http);
  g_free (bench->eventdeskd);
  g_free (bench->wrk);
  g_free (bench->lua);
  g_free (bench->data_dir);
  g_free (bench->token);
  g_free (bench->probe_token);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Bench, bench_clear)

/* HTTP */

static GBytes *
request_bytes (Bench       *bench,
               const char  *method,
               const char  *path,
               const char  *content_type,
               const char  *body,
               guint       *status)
{
  g_autofree char *url = g_strconcat (bench->base_url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  GBytes *reply;

  if (bench->token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", bench->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", value);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, content_type, bytes);
    }

  reply = soup_session_send_and_read (bench->http, msg, NULL, NULL);
  *status = soup_message_get_status (msg);
  return reply;
}

static JsonObject *
parse_object (GBytes *reply)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data;

  if (reply == NULL)
    return NULL;
  data = g_bytes_get_data (reply, &length);
  if (!json_parser_load_from_data (parser, data, length, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static JsonObject *
request (Bench       *bench,
         const char  *method,
         const char  *path,
         const char  *content_type,
         const char  *body,
         guint       *status)
{
  g_autoptr(GBytes) reply = request_bytes (bench, method, path, content_type, body, status);

  return parse_object (reply);
}

static gint64
create_event (Bench *bench,
              gint64 capacity)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"Bench\",\"starts_at\":\"2030-06-01T19:00:00Z\","
                                           "\"capacity\":%" G_GINT64_FORMAT ",\"waitlist_enabled\":true}", capacity);
  g_autoptr(JsonObject) event = NULL;
  guint status;

  event = request (bench, "POST", "/api/v1/events", "application/json", body, &status);
  if (status != SOUP_STATUS_CREATED || event == NULL)
    g_error ("Cannot create an event: HTTP %u", status);

  return json_object_get_int_member (event, "id");
}

/* Imports @n guests and writes a signed link token for each, one a line,
 * to @tokens_path (when not NULL); returns the first token.
 */
static char *
add_guests (Bench      *bench,
            gint64      event_id,
            guint       n,
            const char *prefix,
            const char *tokens_path)
{
  g_autoptr(GString) csv = g_string_new ("email,first_name\n");
  g_autoptr(GString) tokens = g_string_new (NULL);
  g_autoptr(JsonObject) report = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import", event_id);
  g_autoptr(GError) error = NULL;
  char *first = NULL;
  gint64 after = 0;
  guint status;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (csv, "%s%u@example.com,Guest %u\n", prefix, i, i);
  report = request (bench, "POST", path, "text/csv", csv->str, &status);
  if (status != SOUP_STATUS_OK || report == NULL)
    g_error ("Cannot import guests: HTTP %u", status);
  if (json_object_get_int_member (report, "imported") != n)
    g_error ("Only %" G_GINT64_FORMAT " of %u guests were imported",
             json_object_get_int_member (report, "imported"), n);

  for (;;)
    {
      g_autofree char *page_path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500&after=%"
                                                    G_GINT64_FORMAT, event_id, after);
      g_autoptr(JsonObject) page = request (bench, "GET", page_path, NULL, NULL, &status);
      JsonArray *items = json_object_get_array_member (page, "items");
      JsonNode *next = json_object_get_member (page, "next");

      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          EdRsvpTokenClaims claims = { event_id, json_object_get_int_member (json_array_get_object_element (items, i), "id"), 1 };
          g_autofree char *token = ed_rsvp_token_sign (bench->secret, &claims,
                                                       g_get_real_time () / G_USEC_PER_SEC + 86400, &error);

          g_assert_no_error (error);
          if (first == NULL)
            first = g_strdup (token);
          g_string_append_printf (tokens, "%s\n", token);
        }
      if (next == NULL || JSON_NODE_HOLDS_NULL (next))
        break;
      after = json_node_get_int (next);
    }

  if (tokens_path != NULL && !g_file_set_contents (tokens_path, tokens->str, tokens->len, &error))
    g_error ("%s", error->message);

  return first;
}

/* wrk */

typedef struct
{
  WrkResult *result;
  gboolean   done;
} WrkRun;

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

static void
on_wrk_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  WrkRun *run = user_data;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *line;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, NULL, &error))
    g_error ("wrk: %s", error->message);

  line = out ? strstr (out, "WRK ") : NULL;
  if (line == NULL)
    g_error ("wrk said no figures: %s", out ? out : "");
  run->result->requests = read_field (line, "requests");
  run->result->seconds = read_field (line, "duration_us") / 1e6;
  run->result->p50_us = read_field (line, "p50_us");
  run->result->p99_us = read_field (line, "p99_us");
  run->result->errors = read_field (line, "status_errors") + read_field (line, "connect_errors") +
                        read_field (line, "read_errors") + read_field (line, "write_errors") +
                        read_field (line, "timeouts");
  run->done = TRUE;
}

/* The CPU time (utime + stime, in clock ticks) in the stat file at
 * @path, and the name it gives; -1 when it cannot be read.
 */
static gint64
read_stat_ticks (const char  *path,
                 char       **name)
{
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *start, *end;
  gsize length;

  /* The name is in parentheses; utime and stime are the 12th and 13th fields after it. */
  if (!g_file_get_contents (path, &stat, NULL, NULL) ||
      (start = strchr (stat, '(')) == NULL || (end = strrchr (stat, ')')) == NULL)
    return -1;
  fields = g_strsplit (end + 2, " ", 14);
  if (g_strv_length (fields) < 14)
    return -1;

  /* A pool's threads end in a number: one name for all. */
  for (length = end - start - 1; length > 1 && g_ascii_isdigit (start[length]); length--)
    ;
  if (length > 1 && start[length] == '-')
    length--;
  *name = g_strndup (start + 1, length);

  return bench_parse_int (fields[11], strlen (fields[11]), path) + bench_parse_int (fields[12], strlen (fields[12]), path);
}

/* Adds the CPU time of each thread of process @pid to @by_name. */
static void
read_cpu_ticks (const char *pid,
                GHashTable *by_name)
{
  g_autofree char *tasks_path = g_strdup_printf ("/proc/%s/task", pid);
  g_autoptr(GDir) tasks = g_dir_open (tasks_path, 0, NULL);
  const char *tid;

  while (tasks != NULL && (tid = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree char *stat_path = g_build_filename (tasks_path, tid, "stat", NULL);
      g_autofree char *name = NULL;
      gint64 ticks = read_stat_ticks (stat_path, &name);

      if (ticks < 0)
        continue;
      if (strcmp (tid, pid) == 0)
        {
          g_free (name);
          name = g_strdup ("main");
        }
      ticks += GPOINTER_TO_INT (g_hash_table_lookup (by_name, name));
      g_hash_table_insert (by_name, g_steal_pointer (&name), GINT_TO_POINTER ((gint) ticks));
    }
}

static void
cpu_use_read (Bench  *bench,
              CpuUse *use)
{
  const char *pid = g_subprocess_get_identifier (bench->daemon);
  g_autofree char *daemon_stat = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *name = NULL;
  g_autofree char *self_name = NULL;

  use->daemon = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  read_cpu_ticks (pid, use->daemon);
  use->daemon_total = read_stat_ticks (daemon_stat, &name);
  use->bench = read_stat_ticks ("/proc/self/stat", &self_name);
}

/* @after becomes what was spent since @before. */
static void
cpu_use_subtract (CpuUse *after,
                  CpuUse *before)
{
  GHashTableIter iter;
  gpointer name, ticks;

  g_hash_table_iter_init (&iter, after->daemon);
  while (g_hash_table_iter_next (&iter, &name, &ticks))
    g_hash_table_iter_replace (&iter, GINT_TO_POINTER (GPOINTER_TO_INT (ticks) -
                                                       GPOINTER_TO_INT (g_hash_table_lookup (before->daemon, name))));
  after->daemon_total -= before->daemon_total;
  after->bench -= before->bench;
  g_clear_pointer (&before->daemon, g_hash_table_unref);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* Where the CPU went: what the daemon's main loop spent per answer, its
 * other threads, and this process (the subscribers).
 */
static void
print_cpu_use (const WrkResult *result)
{
  double hz = (double) sysconf (_SC_CLK_TCK);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GString) line = g_string_new (NULL);
  GHashTableIter iter;
  gpointer name, ticks;
  gint64 main_ticks = GPOINTER_TO_INT (g_hash_table_lookup (result->cpu.daemon, "main"));

  g_hash_table_iter_init (&iter, result->cpu.daemon);
  while (g_hash_table_iter_next (&iter, &name, &ticks))
    if (GPOINTER_TO_INT (ticks) > 0 && strcmp (name, "main") != 0)
      g_ptr_array_add (names, name);
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (line, ", %s %.2f s", (char *) g_ptr_array_index (names, i),
                            GPOINTER_TO_INT (g_hash_table_lookup (result->cpu.daemon, g_ptr_array_index (names, i))) / hz);

  g_print ("  CPU during the run: eventdeskd %.2f s in all: its main loop %.2f s (%.0f us per answer)%s; "
           "bench-live %.2f s\n", result->cpu.daemon_total / hz,
           main_ticks / hz, result->requests > 0 ? main_ticks / hz * 1e6 / result->requests : 0.0,
           line->str, result->cpu.bench / hz);
}

/* Runs wrk over @tokens_path while the main context goes on. */
static void
run_wrk (Bench      *bench,
         const char *tokens_path,
         WrkResult  *result)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GSubprocess) wrk = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *threads = g_strdup ("--threads=1");
  g_autofree char *connections = g_strdup_printf ("--connections=%d", bench->connections);
  g_autofree char *duration = g_strdup_printf ("--duration=%ds", bench->duration_s);
  g_autofree char *script = g_strdup_printf ("--script=%s", bench->lua);
  g_autofree char *url = g_strconcat (bench->base_url, "/", NULL);
  WrkRun run = { result, FALSE };
  CpuUse before;

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  wrk = g_subprocess_launcher_spawn (launcher, &error, bench->wrk, threads, connections, duration,
                                     "--timeout=10s", "--latency", script, url, "--", tokens_path, NULL);
  if (wrk == NULL)
    g_error ("wrk: %s", error->message);
  cpu_use_read (bench, &before);
  g_subprocess_communicate_utf8_async (wrk, NULL, NULL, on_wrk_done_cb, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  cpu_use_read (bench, &result->cpu);
  cpu_use_subtract (&result->cpu, &before);
}


/* Subscribers */

/* The subscribers are plain WebSocket clients over sockets, all on one
 * thread with epoll: the bench shares the machine's cores with the daemon
 * and wrk, and 200 libsoup connections on a GLib main loop cost it about
 * a third of what the daemon's main loop spent. Each still reads every
 * frame in full and notes the time it has it.
 */

static void
write_all (int         fd,
           const void *data,
           gsize       length)
{
  const guint8 *p = data;

  while (length > 0)
    {
      gssize n = write (fd, p, length);

      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        {
          struct pollfd pfd = { fd, POLLOUT, 0 };

          poll (&pfd, 1, 1000);
          continue;
        }
      if (n < 0)
        g_error ("A subscriber cannot write: %s", g_strerror (errno));
      p += n;
      length -= (gsize) n;
    }
}

/* A client frame (masked, as RFC 6455 wants) of @length bytes at most 125. */
static void
send_frame (Subscriber   *sub,
            guint8        opcode,
            const guint8 *payload,
            gsize         length)
{
  guint8 frame[2 + 4 + 125];
  guint32 mask = g_random_int ();

  g_assert (length <= 125);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (guint8) length;
  memcpy (frame + 2, &mask, 4);
  for (gsize i = 0; i < length; i++)
    frame[6 + i] = payload[i] ^ frame[2 + i % 4];
  write_all (sub->fd, frame, 6 + length);
}

static gint64
member_after (const char *text,
              const char *key)
{
  const char *found = strstr (text, key);
  const char *value = found ? found + strlen (key) : NULL;

  return value ? bench_parse_int (value, strcspn (value, ",}]"), "a live update") : -1;
}

/* Reads only what it needs from each frame: parsing 3,000 frames a second
 * in full would measure the bench, not the daemon. On the subscribers'
 * thread; @now_us is when the frame was read.
 */
static void
handle_text (Subscriber *sub,
             const char *text,
             gint64      now_us)
{
  Bench *bench = sub->bench;
  gint64 event_id = member_after (text, "\"event\":");
  gboolean snapshot = g_str_has_prefix (text, "{\"type\":\"snapshot\"");

  if (snapshot && ++sub->snapshots == 2)
    {
      sub->ready = TRUE;
      g_mutex_lock (&bench->subs_lock);
      bench->subs_ready++;
      g_mutex_unlock (&bench->subs_lock);
    }

  if (event_id == bench->probe_event)
    {
      gint64 accepted = member_after (text, "\"accepted\":");

      g_mutex_lock (&bench->subs_lock);
      if (!snapshot && bench->probe_round > sub->probe_round && accepted == bench->probe_expected)
        {
          gint64 latency = now_us - bench->probe_sent_us;

          g_array_append_val (bench->latencies_us, latency);
          sub->probe_round = bench->probe_round;
        }
      g_mutex_unlock (&bench->subs_lock);
      sub->probe_accepted = accepted;
    }
  else if (event_id == bench->load_event && !snapshot)
    {
      gint64 at = member_after (text, "\"at\":");

      sub->load_updates++;
      g_array_append_val (sub->load_times_ms, at);
    }
}

/* Takes the whole frames out of @sub->in. */
static void
handle_frames (Subscriber *sub,
               GString    *scratch,
               gint64      now_us)
{
  for (;;)
    {
      const guint8 *data = sub->in->data;
      guint64 length;
      gsize header = 2;
      guint8 opcode;

      if (sub->in->len < 2)
        return;
      opcode = data[0] & 0x0f;
      length = data[1] & 0x7f;
      if (length == 126)
        {
          if (sub->in->len < 4)
            return;
          length = ((guint64) data[2] << 8) | data[3];
          header = 4;
        }
      else if (length == 127)
        {
          if (sub->in->len < 10)
            return;
          length = 0;
          for (guint i = 0; i < 8; i++)
            length = (length << 8) | data[2 + i];
          header = 10;
        }
      if ((data[1] & 0x80) || !(data[0] & 0x80))
        g_error ("A subscriber got a masked or fragmented frame; the daemon sends neither");
      if (sub->in->len < header + length)
        return;

      switch (opcode)
        {
        case 0x1: /* text */
          g_string_truncate (scratch, 0);
          g_string_append_len (scratch, (const char *) data + header, (gssize) length);
          handle_text (sub, scratch->str, now_us);
          break;
        case 0x8: /* close */
          if (!g_atomic_int_get (&sub->bench->subs_stop))
            g_error ("The daemon closed a subscriber: %.*s", (int) MAX (length, 2) - 2, data + header + 2);
          break;
        case 0x9: /* ping */
          send_frame (sub, 0xA, data + header, length);
          break;
        default:
          break;
        }
      g_byte_array_remove_range (sub->in, 0, (guint) (header + length));
    }
}

static gpointer
subscribers_thread_main (gpointer data)
{
  Bench *bench = data;
  g_autoptr(GString) scratch = g_string_sized_new (4096);
  struct epoll_event events[64];
  guint8 buffer[64 * 1024];

  while (!g_atomic_int_get (&bench->subs_stop))
    {
      int n = epoll_wait (bench->subs_epoll, events, G_N_ELEMENTS (events), 100);

      for (int i = 0; i < n; i++)
        {
          Subscriber *sub = events[i].data.ptr;
          gint64 now_us = g_get_monotonic_time ();
          gssize got;

          while ((got = read (sub->fd, buffer, sizeof buffer)) > 0)
            g_byte_array_append (sub->in, buffer, (guint) got);
          if (got == 0 && !g_atomic_int_get (&bench->subs_stop))
            g_error ("The daemon cut a subscriber's connection");
          handle_frames (sub, scratch, now_us);
        }
    }

  return NULL;
}

/* Opens the WebSocket of @sub with a blocking handshake, then makes it
 * non-blocking for the thread.
 */
static void
open_subscriber (Bench      *bench,
                 Subscriber *sub,
                 GUri       *uri)
{
  g_autofree char *request = NULL;
  g_autofree char *load = NULL;
  g_autofree char *probe = NULL;
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  struct sockaddr_in address = { 0 };
  const char *end = NULL;

  address.sin_family = AF_INET;
  address.sin_port = htons ((guint16) g_uri_get_port (uri));
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  sub->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sub->fd < 0 || connect (sub->fd, (struct sockaddr *) &address, sizeof address) < 0)
    g_error ("A subscriber could not connect: %s", g_strerror (errno));

  request = g_strdup_printf ("GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: ZXZlbnRkZXNrIGJlbmNoIQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                             g_uri_get_port (uri), bench->token);
  write_all (sub->fd, request, strlen (request));

  /* The 101 and its headers; what follows them is the first frames. */
  while (end == NULL)
    {
      guint8 buffer[4096];
      gssize got = read (sub->fd, buffer, sizeof buffer);

      if (got <= 0)
        g_error ("A subscriber's handshake failed");
      g_byte_array_append (reply, buffer, (guint) got);
      g_byte_array_append (reply, (const guint8 *) "", 1);
      end = strstr ((const char *) reply->data, "\r\n\r\n");
      g_byte_array_set_size (reply, reply->len - 1);
    }
  if (!g_str_has_prefix ((const char *) reply->data, "HTTP/1.1 101"))
    g_error ("A subscriber was refused: %.*s", (int) (strchr ((const char *) reply->data, '\r') - (const char *) reply->data),
             (const char *) reply->data);
  sub->in = g_byte_array_new ();
  g_byte_array_append (sub->in, (const guint8 *) end + 4, reply->len - (guint) ((const guint8 *) end + 4 - reply->data));

  load = g_strdup_printf ("{\"type\":\"subscribe\",\"event\":%" G_GINT64_FORMAT "}", bench->load_event);
  probe = g_strdup_printf ("{\"type\":\"subscribe\",\"event\":%" G_GINT64_FORMAT "}", bench->probe_event);
  send_frame (sub, 0x1, (const guint8 *) load, strlen (load));
  send_frame (sub, 0x1, (const guint8 *) probe, strlen (probe));
  g_unix_set_fd_nonblocking (sub->fd, TRUE, NULL);
}

static void
subscriber_free (Subscriber *sub)
{
  if (sub->fd >= 0)
    close (sub->fd);
  g_clear_pointer (&sub->in, g_byte_array_unref);
  g_array_unref (sub->load_times_ms);
  g_free (sub);
}

static void
connect_subscribers (Bench *bench)
{
  g_autoptr(GUri) uri = g_uri_parse (bench->base_url, G_URI_FLAGS_NONE, NULL);
  gint64 started = g_get_monotonic_time ();
  guint ready = 0;

  bench->subs = g_ptr_array_new_with_free_func ((GDestroyNotify) subscriber_free);
  bench->subs_epoll = epoll_create1 (EPOLL_CLOEXEC);
  for (gint i = 0; i < bench->subscribers; i++)
    {
      Subscriber *sub = g_new0 (Subscriber, 1);
      struct epoll_event event = { EPOLLIN, { .ptr = sub } };

      sub->bench = bench;
      sub->fd = -1;
      sub->load_times_ms = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_ptr_array_add (bench->subs, sub);
      open_subscriber (bench, sub, uri);
      epoll_ctl (bench->subs_epoll, EPOLL_CTL_ADD, sub->fd, &event);
    }
  bench->subs_thread = g_thread_new ("subscribers", subscribers_thread_main, bench);

  while (ready < bench->subs->len)
    {
      g_usleep (10000);
      g_mutex_lock (&bench->subs_lock);
      ready = bench->subs_ready;
      g_mutex_unlock (&bench->subs_lock);
      if (g_get_monotonic_time () - started > 60 * G_USEC_PER_SEC)
        g_error ("Only %u of %u subscribers got their snapshots within 60 s", ready, bench->subs->len);
    }
  g_print ("%u subscribers connected and subscribed in %.2f s\n", bench->subs->len,
           (g_get_monotonic_time () - started) / 1e6);
}

/* Stops the subscribers' thread; their figures can be read after. */
static void
stop_subscribers (Bench *bench)
{
  if (bench->subs_thread == NULL)
    return;

  g_atomic_int_set (&bench->subs_stop, TRUE);
  g_clear_pointer (&bench->subs_thread, g_thread_join);
  close (bench->subs_epoll);
}

/* The probe: one guest of the probe event answers in turn accept and decline. */

static void
on_probe_sent_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  g_object_unref (user_data);
}

static gboolean
on_probe_timeout_cb (gpointer user_data)
{
  Bench *bench = user_data;
  g_autofree char *url = g_strconcat (bench->base_url, "/r/", bench->probe_token, NULL);
  SoupMessage *msg = soup_message_new ("POST", url);
  const char *form;
  g_autoptr(GBytes) body = NULL;

  g_mutex_lock (&bench->subs_lock);
  bench->probe_round++;
  bench->probe_expected = bench->probe_round % 2 == 1 ? 1 : 0;
  form = bench->probe_expected == 1 ? "response=accept&party_size=1" : "response=decline";
  bench->probe_sent_us = g_get_monotonic_time ();
  g_mutex_unlock (&bench->subs_lock);
  body = g_bytes_new_static (form, strlen (form));
  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  bench->probes_sent++;
  soup_session_send_and_read_async (bench->http, msg, G_PRIORITY_HIGH, NULL, on_probe_sent_cb, msg);

  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *done = user_data;

  *done = TRUE;
  return G_SOURCE_REMOVE;
}

/* Lets the last updates arrive. */
static void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, on_timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static gint64
percentile (GArray *values,
            double  p)
{
  if (values->len == 0)
    return -1;
  return g_array_index (values, gint64, MIN ((guint) (p / 100.0 * values->len), values->len - 1));
}

/* The timeline: a big event with a full history, written straight into
 * the database while the daemon is stopped.
 */
static gint64
fill_history (Bench *bench)
{
  g_autofree char *db_path = g_build_filename (bench->data_dir, "eventdesk.db", NULL);
  g_autofree char *sql = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 created = now - TIMELINE_DAYS * 86400;
  gint64 span = TIMELINE_DAYS * 86400 - 3600;
  gint64 started = g_get_monotonic_time ();
  sqlite3 *db = NULL;
  char *message = NULL;
  gint64 event_id;

  if (sqlite3_open (db_path, &db) != SQLITE_OK)
    g_error ("Cannot open %s", db_path);

  /* Guest ids past the search index's watermark: the daemon indexes them
   * in the background, as after an import.
   */
  sql = g_strdup_printf (
    "PRAGMA foreign_keys = ON; BEGIN;"
    "INSERT INTO events (name, starts_at, capacity, created_at, updated_at) "
    "  VALUES ('Timeline', %" G_GINT64_FORMAT ", 1000000, %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ");"
    "CREATE TEMP TABLE n AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) SELECT x FROM c;"
    "CREATE TEMP TABLE base AS SELECT (SELECT coalesce(max(id), 0) FROM guests) + 10 AS id, "
    "  (SELECT max(id) FROM events) AS event;"
    "INSERT INTO guests (id, event_id, email, email_key, first_name, status, party_size, token_version, "
    "  created_at, updated_at, responded_at) "
    "  SELECT base.id + x, base.event, 'tl' || x || '@example.com', 'tl' || x || '@example.com', 'Guest', "
    "    CASE WHEN x %% 5 = 0 THEN 'declined' WHEN x %% 7 = 0 THEN 'pending' ELSE 'accepted' END, 1, 1, "
    "    %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " FROM n, base;"
    /* first answers, spread over the event's life */
    "INSERT INTO rsvp_history (guest_id, at, old_status, new_status, party_size, source) "
    "  SELECT base.id + x, %" G_GINT64_FORMAT " + (x * 2654435761) %% %" G_GINT64_FORMAT ", 'pending', "
    "    CASE WHEN x %% 5 = 0 OR x %% 10 = 3 THEN 'declined' ELSE 'accepted' END, 1, 'guest' "
    "  FROM n, base WHERE x %% 7 <> 0;"
    /* changes of mind, later */
    "INSERT INTO rsvp_history (guest_id, at, old_status, new_status, party_size, source) "
    "  SELECT base.id + x, %" G_GINT64_FORMAT " + (x * 40503) %% %" G_GINT64_FORMAT ", 'declined', 'accepted', 1, 'guest' "
    "  FROM n, base WHERE x %% 10 = 3 AND x %% 7 <> 0;"
    "INSERT INTO campaigns (event_id, kind, state, created_at, updated_at) "
    "  SELECT event, 'invitation', 'done', %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " FROM base;"
    "INSERT INTO messages (campaign_id, guest_id, state, attempts, next_attempt_at, created_at, sent_at) "
    "  SELECT (SELECT max(id) FROM campaigns), base.id + x, CASE WHEN x %% 97 = 0 THEN 'failed' ELSE 'sent' END, "
    "    1, %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " FROM n, base;"
    "INSERT INTO delivery_log (message_id, at, result, code, text) "
    "  SELECT m.id, %" G_GINT64_FORMAT " + (m.id * 7919) %% %" G_GINT64_FORMAT ", "
    "    CASE WHEN m.state = 'failed' THEN 'failed' ELSE 'sent' END, "
    "    CASE WHEN m.state = 'failed' THEN 550 ELSE 250 END, 'bench' "
    "  FROM messages m WHERE m.campaign_id = (SELECT max(id) FROM campaigns);"
    "INSERT INTO delivery_log (message_id, at, result, code, text) "
    "  SELECT m.id, %" G_GINT64_FORMAT " + (m.id * 104729) %% %" G_GINT64_FORMAT ", 'retry', 451, 'try later' "
    "  FROM messages m WHERE m.campaign_id = (SELECT max(id) FROM campaigns) AND m.id %% 20 = 0;"
    "COMMIT;",
    now + 86400 * 30, created, created, bench->timeline_guests,
    created, created, created,
    created, span,
    created, span,
    created, created,
    created, created, created,
    created, span,
    created, span);

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("Filling the history: %s", message);

  {
    sqlite3_stmt *stmt;

    sqlite3_prepare_v2 (db, "SELECT max(id), (SELECT count(*) FROM rsvp_history), (SELECT count(*) FROM delivery_log) "
                            "FROM events", -1, &stmt, NULL);
    sqlite3_step (stmt);
    event_id = sqlite3_column_int64 (stmt, 0);
    g_print ("Wrote %d guests, %" G_GINT64_FORMAT " answers and %" G_GINT64_FORMAT
             " delivery attempts over %d days in %.1f s\n",
             bench->timeline_guests, (gint64) sqlite3_column_int64 (stmt, 1), (gint64) sqlite3_column_int64 (stmt, 2),
             TIMELINE_DAYS, (g_get_monotonic_time () - started) / 1e6);
    sqlite3_finalize (stmt);
  }
  sqlite3_close (db);

  return event_id;
}

/* Waits for the background search indexer, so that it does not share
 * the machine with the timings.
 */
static void
wait_for_indexer (Bench *bench)
{
  g_autofree char *db_path = g_build_filename (bench->data_dir, "eventdesk.db", NULL);
  gint64 started = g_get_monotonic_time ();
  sqlite3 *db = NULL;

  sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL);
  sqlite3_busy_timeout (db, 5000);
  for (;;)
    {
      sqlite3_stmt *stmt;
      gboolean done;

      sqlite3_prepare_v2 (db, "SELECT (SELECT indexed_upto FROM guests_search_state) >= (SELECT max(id) FROM guests)",
                          -1, &stmt, NULL);
      done = sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 1;
      sqlite3_finalize (stmt);
      if (done || g_get_monotonic_time () - started > INDEXER_WAIT_S * G_USEC_PER_SEC)
        break;
      g_usleep (G_USEC_PER_SEC / 2);
    }
  sqlite3_close (db);
  g_print ("The search indexer caught up in %.1f s\n", (g_get_monotonic_time () - started) / 1e6);
}

static gboolean
time_timelines (Bench  *bench,
                gint64  event_id)
{
  const gint64 buckets[] = { 900, 1800, 3600, 86400 };
  gboolean ok = TRUE;

  g_print ("\nTimeline of %d guests with a full history (%d requests per bucket size, sequential):\n",
           bench->timeline_guests, TIMELINE_REPEAT);
  for (guint b = 0; b < G_N_ELEMENTS (buckets); b++)
    {
      g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/timeline?bucket=%" G_GINT64_FORMAT,
                                               event_id, buckets[b]);
      gint64 n_buckets = 0;
      gint64 p50, p95, max;

      for (guint i = 0; i < TIMELINE_REPEAT; i++)
        {
          g_autoptr(JsonObject) timeline = NULL;
          g_autoptr(GBytes) reply = NULL;
          gint64 started = g_get_monotonic_time ();
          gint64 elapsed;
          guint status;

          /* From the request to the last byte of the answer, not its parsing. */
          reply = request_bytes (bench, "GET", path, NULL, NULL, &status);
          elapsed = g_get_monotonic_time () - started;
          timeline = parse_object (reply);
          if (status != SOUP_STATUS_OK || timeline == NULL)
            g_error ("GET %s: HTTP %u", path, status);
          n_buckets = json_array_get_length (json_object_get_array_member (timeline, "buckets"));
          g_array_append_val (times, elapsed);
        }
      g_array_sort (times, compare_gint64);
      p50 = percentile (times, 50);
      p95 = percentile (times, 95);
      max = g_array_index (times, gint64, times->len - 1);
      g_print ("  bucket=%-6" G_GINT64_FORMAT " %5" G_GINT64_FORMAT " buckets with activity: "
               "p50 %.1f ms, p95 %.1f ms, max %.1f ms  (target < %.0f ms: %s)\n",
               buckets[b], n_buckets, p50 / 1000.0, p95 / 1000.0, max / 1000.0, TARGET_TIMELINE_MS,
               p95 / 1000.0 < TARGET_TIMELINE_MS ? "PASS" : "FAIL");
      ok = ok && p95 / 1000.0 < TARGET_TIMELINE_MS;
    }

  return ok;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Bench) bench = { 0 };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the live feed's benchmark");
  g_autoptr(GError) error = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *without_path = NULL;
  g_autofree char *with_path = NULL;
  g_autofree char *login = NULL;
  g_autoptr(JsonObject) session = NULL;
  WrkResult without = { 0 }, with = { 0 };
  gint64 without_event, timeline_event;
  guint status, probe_id;
  double rate_without, rate_with, ratio;
  gint64 p50, p99, max_update_rate = 0;
  gboolean ok = TRUE;
  const GOptionEntry entries[] = {
    { "subscribers", 0, 0, G_OPTION_ARG_INT, &bench.subscribers, "WebSocket subscribers (200)", "N" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &bench.duration_s, "Seconds of each wrk run (10)", "S" },
    { "guests", 0, 0, G_OPTION_ARG_INT, &bench.guests_per_run, "Guests answering in each run (40000)", "N" },
    { "timeline-guests", 0, 0, G_OPTION_ARG_INT, &bench.timeline_guests, "Guests of the timeline event (500000)", "N" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &bench.connections, "wrk connections (64)", "N" },
    { "eventdeskd", 0, 0, G_OPTION_ARG_FILENAME, &bench.eventdeskd, "The daemon", "PATH" },
    { "wrk", 0, 0, G_OPTION_ARG_FILENAME, &bench.wrk, "wrk", "PATH" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &bench.keep, "Keep the data directory", NULL },
    { NULL }
  };

  bench.subscribers = DEFAULT_SUBSCRIBERS;
  bench.duration_s = DEFAULT_DURATION_S;
  bench.guests_per_run = DEFAULT_GUESTS_PER_RUN;
  bench.timeline_guests = DEFAULT_TIMELINE_GUESTS;
  bench.connections = DEFAULT_CONNECTIONS;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-live: %s\n", error->message);
      return 2;
    }
  if (bench.eventdeskd == NULL)
    bench.eventdeskd = g_strdup (g_getenv ("EVENTDESKD") ? g_getenv ("EVENTDESKD") : EVENTDESKD_PATH);
  if (bench.wrk == NULL)
    bench.wrk = g_find_program_in_path ("wrk");
  if (bench.wrk == NULL)
    {
      g_printerr ("bench-live: wrk is not installed (Debian: apt-get install wrk)\n");
      return 2;
    }
  bench.lua = g_strdup (BENCH_LUA_PATH);
  bench.latencies_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_mutex_init (&bench.subs_lock);

  bench.data_dir = g_dir_make_tmp ("eventdesk-bench-live-XXXXXX", &error);
  g_assert_no_error (error);

  /* An admin, then the daemon. */
  {
    g_autoptr(GSubprocess) admin = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE,
                                                     &error, bench.eventdeskd, "admin", "add", ADMIN_NAME,
                                                     "--password-stdin", "--data-dir", bench.data_dir, NULL);

    if (admin == NULL || !g_subprocess_communicate_utf8 (admin, ADMIN_PASSWORD "\n", NULL, NULL, NULL, &error) ||
        !g_subprocess_get_successful (admin))
      g_error ("eventdeskd admin add failed%s%s", error ? ": " : "", error ? error->message : "");
  }
  if (!start_daemon (&bench, &error))
    g_error ("%s", error->message);

  bench.http = soup_session_new_with_options ("timeout", 60, NULL);
  soup_session_set_proxy_resolver (bench.http, NULL);
  login = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}", ADMIN_NAME, ADMIN_PASSWORD);
  session = request (&bench, "POST", "/api/v1/session", "application/json", login, &status);
  if (session == NULL || status != SOUP_STATUS_CREATED)
    g_error ("Cannot log in: HTTP %u", status);
  bench.token = g_strdup (json_object_get_string_member (session, "token"));
  secret_path = g_build_filename (bench.data_dir, "secret.key", NULL);
  if (!(bench.secret = ed_data_dir_load_secret (secret_path, &error)))
    g_error ("%s", error->message);

  g_print ("\nLive-feed benchmark: %d subscribers, wrk 1 thread x %d connections, %d s per run, "
           "%d guests per run; load average %s", bench.subscribers, bench.connections, bench.duration_s,
           bench.guests_per_run, "");
  {
    g_autofree char *loadavg = NULL;

    g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL);
    g_print ("%s", loadavg ? loadavg : "?\n");
  }

  without_event = create_event (&bench, 10000000);
  bench.load_event = create_event (&bench, 10000000);
  bench.probe_event = create_event (&bench, 10);
  without_path = g_build_filename (bench.data_dir, "tokens-without.txt", NULL);
  with_path = g_build_filename (bench.data_dir, "tokens-with.txt", NULL);
  g_free (add_guests (&bench, without_event, bench.guests_per_run, "a", without_path));
  g_free (add_guests (&bench, bench.load_event, bench.guests_per_run, "b", with_path));
  bench.probe_token = add_guests (&bench, bench.probe_event, 1, "probe", NULL);

  /* 1: no subscribers */
  run_wrk (&bench, without_path, &without);
  rate_without = without.requests / without.seconds;
  g_print ("\nAnswers without subscribers: %" G_GINT64_FORMAT " in %.1f s = %.0f/s, p50 %.1f ms, p99 %.1f ms, "
           "%" G_GINT64_FORMAT " errors\n", without.requests, without.seconds, rate_without,
           without.p50_us / 1000.0, without.p99_us / 1000.0, without.errors);
  print_cpu_use (&without);

  /* 2: subscribers, and the probe */
  connect_subscribers (&bench);
  probe_id = g_timeout_add (PROBE_INTERVAL_MS, on_probe_timeout_cb, &bench);
  run_wrk (&bench, with_path, &with);
  g_source_remove (probe_id);
  run_for (1000);
  stop_subscribers (&bench);
  rate_with = with.requests / with.seconds;
  ratio = rate_with / rate_without;
  g_print ("Answers with %d subscribers: %" G_GINT64_FORMAT " in %.1f s = %.0f/s, p50 %.1f ms, p99 %.1f ms, "
           "%" G_GINT64_FORMAT " errors\n", bench.subscribers, with.requests, with.seconds, rate_with,
           with.p50_us / 1000.0, with.p99_us / 1000.0, with.errors);
  print_cpu_use (&with);

  g_array_sort (bench.latencies_us, compare_gint64);
  p50 = percentile (bench.latencies_us, 50);
  p99 = percentile (bench.latencies_us, 99);
  for (guint i = 0; i < bench.subs->len; i++)
    {
      Subscriber *sub = g_ptr_array_index (bench.subs, i);
      GArray *times = sub->load_times_ms;

      for (guint a = 0, z = 0; z < times->len; z++)
        {
          while (g_array_index (times, gint64, z) - g_array_index (times, gint64, a) >= 1000)
            a++;
          max_update_rate = MAX (max_update_rate, (gint64) (z - a + 1));
        }
    }
  g_print ("Update latency (answer sent -> every subscriber has the new number), %u samples from %u probes:\n"
           "  p50 %.1f ms, p99 %.1f ms, max %.1f ms  (target p99 < %.0f ms: %s)\n",
           bench.latencies_us->len, bench.probes_sent, p50 / 1000.0, p99 / 1000.0,
           bench.latencies_us->len ? g_array_index (bench.latencies_us, gint64, bench.latencies_us->len - 1) / 1000.0 : -1,
           TARGET_P99_MS, p99 >= 0 && p99 / 1000.0 < TARGET_P99_MS ? "PASS" : "FAIL");
  g_print ("Updates of the loaded event per subscriber: %u over the run, at most %" G_GINT64_FORMAT
           " in one second\n", ((Subscriber *) g_ptr_array_index (bench.subs, 0))->load_updates, max_update_rate);
  g_print ("Throughput with subscribers / without: %.0f / %.0f = %.1f%%  (target >= %.0f%%: %s)\n",
           rate_with, rate_without, ratio * 100, TARGET_RATIO * 100, ratio >= TARGET_RATIO ? "PASS" : "FAIL");
  ok = p99 >= 0 && p99 / 1000.0 < TARGET_P99_MS && ratio >= TARGET_RATIO && without.errors == 0 && with.errors == 0;
  g_clear_pointer (&bench.subs, g_ptr_array_unref);
  g_clear_pointer (&without.cpu.daemon, g_hash_table_unref);
  g_clear_pointer (&with.cpu.daemon, g_hash_table_unref);

  /* 3: timelines */
  if (bench.timeline_guests > 0)
    {
      stop_daemon (&bench);
      timeline_event = fill_history (&bench);
      if (!start_daemon (&bench, &error))
        g_error ("%s", error->message);
      wait_for_indexer (&bench);
      ok = time_timelines (&bench, timeline_event) && ok;
    }

  g_print ("\n%s\n", ok ? "All targets met" : "Some targets were missed");
  return ok ? 0 : 1;
}
