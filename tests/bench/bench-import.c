/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-util.h"

/* The import benchmark of issue 3, point 5: generates a reproducible guest
 * list (500,000 rows by default, about 1% duplicates and 0.5% invalid
 * rows), times sqlite3's `.import` of it into a bare table with a unique
 * index on the address (the floor), then imports it over HTTP into a
 * running daemon, end to end, reads the daemon's peak memory, and times
 * the export of the event. It prints every figure, the ratio to the floor,
 * PASS or FAIL per target, and exits 1 when a target is missed.
 */

#define DEFAULT_ROWS 500000
#define SEED 20250301
#define IMPORT_TARGET_S 5.0
#define FLOOR_RATIO_TARGET 2.0
#define MEMORY_TARGET_MB 200.0
#define EXPORT_TARGET_ROWS_S 200000.0
#define DAEMON_START_TIMEOUT_S 30
#define HTTP_TIMEOUT_S 300
#define ADMIN_NAME "bench"
#define ADMIN_PASSWORD "bench-password-of-some-length"

static const char * const first_names[] = {
  "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
  "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
  "Mohammed", "Fatima", "Wei", "Mei", "Hiroshi", "Yuki", "Priya", "Arjun", "Olga", "Dmitri",
  "Søren", "Björn", "Zoë", "José", "François", "Amélie", "Jürgen", "Łukasz", "Chloé", "Matteo",
  "Giulia", "Lucía", "João", "Kwame", "Ama", "Chidi", "Ngozi", "Thandiwe", "Siddharth", "Minh",
  "Linh", "Hyun-woo", "Emre", "Elif", "Ömer", "Ingrid", "Niamh", "Aoife", "Ahmed", "Aisha",
};

static const char * const last_names[] = {
  "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
  "Wang", "Li", "Zhang", "Liu", "Chen", "Müller", "Schneider", "Fischer", "Weber", "Singh",
  "Kumar", "Sharma", "Patel", "Khan", "Nguyen", "Dubois", "Lefèvre", "Rossi", "Sato", "Suzuki",
  "Kowalski", "Nowak", "Wiśniewski", "Novák", "Horváth", "Ivanov", "Jensen", "Kim", "Park",
  "O'Brien", "Yılmaz", "Papadopoulos", "Cohen", "Okafor", "Mensah", "van den Berg", "da Silva",
  "Andersson", "Virtanen", "Haddad", "Reddy", "Kobayashi", "Dlamini", "Esposito", "Kovács",
};

static const char * const domains[] = {
  "gmail.com", "outlook.com", "yahoo.com", "gmx.de", "orange.fr", "libero.it", "wp.pl",
  "naver.com", "qq.com", "proton.me", "acme-corp.com", "example.org", "uni-heidelberg.de",
};

static const char * const companies[] = {
  "", "", "", "ACME", "Globex", "Initech", "Umbrella, Inc.", "Stark Industries", "Wayne Enterprises",
};

static const char * const diets[] = { "", "", "", "", "vegetarian", "vegan", "halal", "kosher", "no nuts" };

typedef struct
{
  /* options */
  char             *eventdeskd;
  gint              n_rows;
  gboolean          keep;

  /* owned */
  char             *dir;
  char             *csv_path;
  GSubprocess      *daemon;
  GDataInputStream *daemon_stdout;
  SoupSession      *session;
  char             *base_url;
  char             *token;

  /* what the generator wrote */
  gint64            file_bytes;
  gint64            n_duplicates;
  gint64            n_invalid;
} Bench;

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children = NULL;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (children != NULL)
    {
      GFileInfo *info;

      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autoptr(GFileInfo) owned_info = info;
          g_autoptr(GFile) child = g_file_enumerator_get_child (children, owned_info);

          if (g_file_info_get_file_type (owned_info) == G_FILE_TYPE_DIRECTORY)
            remove_tree (child);
          else
            g_file_delete (child, NULL, NULL);
        }
    }
  g_file_delete (file, NULL, NULL);
}

static void
bench_clear (Bench *bench)
{
  if (bench->daemon != NULL)
    {
      g_subprocess_send_signal (bench->daemon, SIGTERM);
      g_subprocess_wait (bench->daemon, NULL, NULL);
      g_clear_object (&bench->daemon_stdout);
      g_clear_object (&bench->daemon);
    }
  g_clear_object (&bench->session);

  if (bench->dir != NULL)
    {
      g_autoptr(GFile) dir = g_file_new_for_path (bench->dir);

      if (bench->keep)
        g_print ("Kept %s\n", bench->dir);
      else
        remove_tree (dir);
    }

  g_clear_pointer (&bench->eventdeskd, g_free);
  g_clear_pointer (&bench->dir, g_free);
  g_clear_pointer (&bench->csv_path, g_free);
  g_clear_pointer (&bench->base_url, g_free);
  g_clear_pointer (&bench->token, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Bench, bench_clear)

static char *
local_part (const char *name)
{
  g_autofree char *ascii = g_str_to_ascii (name, "C");
  GString *local = g_string_new (NULL);

  for (const char *p = ascii; *p; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (local, g_ascii_tolower (*p));

  return g_string_free (local, FALSE);
}

static void
append_field (GString    *out,
              const char *value)
{
  if (strpbrk (value, ",\"\r\n") == NULL)
    {
      g_string_append (out, value);
      return;
    }

  g_string_append_c (out, '"');
  for (const char *p = value; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* An address that any importer must refuse, one of several kinds. */
static char *
invalid_address (GRand *rand,
                 gint   n)
{
  switch (g_rand_int_range (rand, 0, 5))
    {
    case 0:
      return g_strdup_printf ("guest%d.example.com", n);
    case 1:
      return g_strdup_printf ("guest%d@@example.com", n);
    case 2:
      return g_strdup_printf ("guest %d@example.com", n);
    case 3:
      return g_strdup_printf ("guest%d@localhost", n);
    default:
      return g_strdup ("");
    }
}

/* Same seed, same file: every address unique except the duplicates, which
 * repeat an earlier one in other capitals, as hand-merged lists do.
 */
static gboolean
generate_file (Bench   *bench,
               GError **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (SEED);
  g_autoptr(GFile) file = g_file_new_for_path (bench->csv_path);
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GString) out = g_string_sized_new (1024 * 1024);
  g_autoptr(GPtrArray) valid = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GTimer) timer = g_timer_new ();

  if (!(stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, error)))
    return FALSE;

  g_string_append (out, "Email,First Name,Last Name,Company,Dietary,Table\r\n");
  for (gint n = 1; n <= bench->n_rows; n++)
    {
      const char *first = first_names[g_rand_int_range (rand, 0, G_N_ELEMENTS (first_names))];
      const char *last = last_names[g_rand_int_range (rand, 0, G_N_ELEMENTS (last_names))];
      double kind = g_rand_double (rand);
      g_autofree char *email = NULL;
      g_autofree char *table = g_strdup_printf ("%d", g_rand_int_range (rand, 1, 400));

      if (kind < 0.01 && valid->len > 0)
        {
          email = g_ascii_strup (g_ptr_array_index (valid, g_rand_int_range (rand, 0, valid->len)), -1);
          bench->n_duplicates++;
        }
      else if (kind < 0.015)
        {
          email = invalid_address (rand, n);
          bench->n_invalid++;
        }
      else
        {
          g_autofree char *first_local = local_part (first);
          g_autofree char *last_local = local_part (last);

          email = g_strdup_printf ("%s.%s.%d@%s", first_local, last_local, n,
                                   domains[g_rand_int_range (rand, 0, G_N_ELEMENTS (domains))]);
          g_ptr_array_add (valid, g_strdup (email));
        }

      append_field (out, email);
      g_string_append_c (out, ',');
      append_field (out, first);
      g_string_append_c (out, ',');
      append_field (out, last);
      g_string_append_c (out, ',');
      append_field (out, companies[g_rand_int_range (rand, 0, G_N_ELEMENTS (companies))]);
      g_string_append_c (out, ',');
      append_field (out, diets[g_rand_int_range (rand, 0, G_N_ELEMENTS (diets))]);
      g_string_append_c (out, ',');
      g_string_append (out, table);
      g_string_append (out, "\r\n");

      if (out->len > 900 * 1024 || n == bench->n_rows)
        {
          if (!g_output_stream_write_all (G_OUTPUT_STREAM (stream), out->str, out->len, NULL, NULL, error))
            return FALSE;
          bench->file_bytes += out->len;
          g_string_truncate (out, 0);
        }
    }

  if (!g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, error))
    return FALSE;

  g_print ("Generated %s: %d rows, %.1f MB, %" G_GINT64_FORMAT " duplicates, %" G_GINT64_FORMAT
           " invalid (seed %d, %.1f s)\n", bench->csv_path, bench->n_rows, bench->file_bytes / 1e6,
           bench->n_duplicates, bench->n_invalid, SEED, g_timer_elapsed (timer, NULL));
  return TRUE;
}

/* sqlite3's own CSV import of the same file, into a bare table with a
 * unique index on the address: what SQLite itself needs for the work.
 */
static gboolean
measure_floor (Bench   *bench,
               double  *seconds,
               gint64  *n_rows,
               GError **error)
{
  g_autofree char *db_path = g_build_filename (bench->dir, "floor.db", NULL);
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GTimer) timer = NULL;

  script = g_strdup_printf ("CREATE TABLE guests (email TEXT, first_name TEXT, last_name TEXT,"
                            " company TEXT, dietary TEXT, seat TEXT);\n"
                            "CREATE UNIQUE INDEX guests_email ON guests (email COLLATE NOCASE);\n"
                            ".import --csv --skip 1 '%s' guests\n"
                            "SELECT count(*) FROM guests;\n", bench->csv_path);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  timer = g_timer_new ();
  process = g_subprocess_launcher_spawn (launcher, error, "sqlite3", "-batch", db_path, NULL);
  if (process == NULL)
    {
      g_prefix_error (error, "sqlite3 is needed for the floor (apt-get install -y sqlite3): ");
      return FALSE;
    }
  if (!g_subprocess_communicate_utf8 (process, script, NULL, &out, NULL, error))
    return FALSE;
  *seconds = g_timer_elapsed (timer, NULL);

  if (!g_subprocess_get_if_exited (process))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "sqlite3 did not finish");
      return FALSE;
    }

  *n_rows = bench_parse_int (out, strcspn (out, "\n"), "sqlite3 (count of imported rows)");
  return TRUE;
}

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
add_admin (Bench   *bench,
           GError **error)
{
  g_autoptr(GSubprocess) process = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, error,
                              bench->eventdeskd, "admin", "add", ADMIN_NAME, "--password-stdin",
                              "--data-dir", bench->dir, NULL);
  if (process == NULL ||
      !g_subprocess_communicate_utf8 (process, ADMIN_PASSWORD "\n", NULL, NULL, NULL, error))
    return FALSE;
  if (!g_subprocess_get_successful (process))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "eventdeskd admin add failed");
      return FALSE;
    }

  return TRUE;
}

static gboolean
start_daemon (Bench   *bench,
              GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *log_path = g_build_filename (bench->dir, "eventdeskd.log", NULL);
  g_autofree char *line = NULL;
  const char *prefix = "eventdeskd listening on ";

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "all", TRUE);
  bench->daemon = g_subprocess_launcher_spawn (launcher, error, bench->eventdeskd,
                                               "--listen", "127.0.0.1:0", "--data-dir", bench->dir, NULL);
  if (bench->daemon == NULL)
    return FALSE;

  bench->daemon_stdout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench->daemon));
  while ((line = g_data_input_stream_read_line (bench->daemon_stdout, NULL, NULL, error)) != NULL)
    {
      if (g_str_has_prefix (line, prefix))
        {
          bench->base_url = g_strdup (line + strlen (prefix));
          break;
        }
      g_clear_pointer (&line, g_free);
    }
  if (bench->base_url == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "eventdeskd did not start (see %s)", log_path);
      return FALSE;
    }

  g_print ("eventdeskd (pid %s) listens on %s; its log is %s\n",
           g_subprocess_get_identifier (bench->daemon), bench->base_url, log_path);
  return TRUE;
}

static JsonObject *
request_json (Bench       *bench,
              const char  *method,
              const char  *path,
              const char  *body,
              guint        expected_status,
              GError     **error)
{
  g_autofree char *uri = g_strconcat (bench->base_url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (bench->token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", bench->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  if (!(answer = soup_session_send_and_read (bench->session, msg, NULL, error)))
    return NULL;
  if (soup_message_get_status (msg) != expected_status)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s answered %u: %.*s", method, path,
                   soup_message_get_status (msg), (int) MIN (g_bytes_get_size (answer), 400),
                   (const char *) g_bytes_get_data (answer, NULL));
      return NULL;
    }
  if (!(node = json_from_string (g_bytes_get_data (answer, NULL), error)))
    return NULL;

  return json_object_ref (json_node_get_object (node));
}

static double
read_peak_memory_mb (Bench *bench)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (bench->daemon));
  g_autofree char *contents = NULL;
  const char *hwm;

  if (!g_file_get_contents (path, &contents, NULL, NULL) || !(hwm = strstr (contents, "VmHWM:")))
    return -1;

  return g_ascii_strtod (hwm + strlen ("VmHWM:"), NULL) / 1024.0;
}

/* The file goes up as a client would send it: read from disk as it is
 * sent, with its length known.
 */
static JsonObject *
upload (Bench   *bench,
        gint64   event_id,
        double  *seconds,
        GError **error)
{
  g_autofree char *uri = g_strdup_printf ("%s/api/v1/events/%" G_GINT64_FORMAT "/guests/import",
                                          bench->base_url, event_id);
  g_autofree char *authorization = g_strconcat ("Bearer ", bench->token, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GFile) file = g_file_new_for_path (bench->csv_path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GTimer) timer = NULL;

  if (!(stream = g_file_read (file, NULL, error)))
    return NULL;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
  soup_message_set_request_body (msg, "text/csv", G_INPUT_STREAM (stream), bench->file_bytes);

  timer = g_timer_new ();
  answer = soup_session_send_and_read (bench->session, msg, NULL, error);
  *seconds = g_timer_elapsed (timer, NULL);
  if (answer == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The import answered %u: %.*s",
                   soup_message_get_status (msg), (int) MIN (g_bytes_get_size (answer), 400),
                   (const char *) g_bytes_get_data (answer, NULL));
      return NULL;
    }
  if (!(node = json_from_string (g_bytes_get_data (answer, NULL), error)))
    return NULL;

  return json_object_ref (json_node_get_object (node));
}

/* Reads the whole export as it streams, counting its lines. */
static gboolean
export (Bench   *bench,
        gint64   event_id,
        double  *seconds,
        gint64  *n_lines,
        gint64  *n_bytes,
        GError **error)
{
  g_autofree char *uri = g_strdup_printf ("%s/api/v1/events/%" G_GINT64_FORMAT "/guests.csv",
                                          bench->base_url, event_id);
  g_autofree char *authorization = g_strconcat ("Bearer ", bench->token, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GTimer) timer = NULL;
  g_autofree char *buffer = g_malloc (256 * 1024);
  gssize n;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);

  *n_lines = *n_bytes = 0;
  timer = g_timer_new ();
  if (!(stream = soup_session_send (bench->session, msg, NULL, error)))
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autofree frees buffer; clang 14's analyzer does not run cleanups */
    return FALSE;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The export answered %u", soup_message_get_status (msg));
      return FALSE;
    }

  while ((n = g_input_stream_read (stream, buffer, 256 * 1024, NULL, error)) > 0)
    {
      *n_bytes += n;
      for (gssize i = 0; i < n; i++)
        if (buffer[i] == '\n')
          (*n_lines)++;
    }
  *seconds = g_timer_elapsed (timer, NULL);

  return n == 0;
}

static const char *
pass_or_fail (gboolean passed)
{
  return passed ? "PASS" : "FAIL";
}

static gboolean
run (Bench    *bench,
     gboolean *all_passed,
     GError  **error)
{
  g_autoptr(JsonObject) login = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(JsonObject) report = NULL;
  double floor_s, import_s, export_s, memory_mb, import_memory_mb;
  gint64 floor_rows, export_lines, export_bytes, imported, expected;
  gboolean import_ok, ratio_ok, memory_ok, export_ok, counts_ok;
  double export_rate;

  if (!generate_file (bench, error))
    return FALSE;

  g_print ("Timing sqlite3 .import into a bare table with a unique index (the floor)…\n");
  if (!measure_floor (bench, &floor_s, &floor_rows, error))
    return FALSE;
  g_print ("sqlite3 .import: %.2f s, %" G_GINT64_FORMAT " rows kept\n", floor_s, floor_rows);

  if (!add_admin (bench, error) || !start_daemon (bench, error))
    return FALSE;
  bench->session = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_S, NULL);
  soup_session_set_proxy_resolver (bench->session, NULL);
  if (!(login = request_json (bench, "POST", "/api/v1/session",
                              "{\"username\":\"" ADMIN_NAME "\",\"password\":\"" ADMIN_PASSWORD "\"}",
                              SOUP_STATUS_CREATED, error)))
    return FALSE;
  bench->token = g_strdup (json_object_get_string_member (login, "token"));
  if (!(event = request_json (bench, "POST", "/api/v1/events",
                              "{\"name\":\"Import benchmark\",\"starts_at\":\"2027-06-01T18:00:00Z\","
                              "\"capacity\":600000}", SOUP_STATUS_CREATED, error)))
    return FALSE;

  g_print ("Importing over HTTP…\n");
  if (!(report = upload (bench, json_object_get_int_member (event, "id"), &import_s, error)))
    return FALSE;
  import_memory_mb = read_peak_memory_mb (bench);
  imported = json_object_get_int_member (report, "imported");
  expected = bench->n_rows - bench->n_duplicates - bench->n_invalid;
  g_print ("Import: %.2f s end to end; report: %" G_GINT64_FORMAT " rows, %" G_GINT64_FORMAT " imported, %"
           G_GINT64_FORMAT " duplicates, %" G_GINT64_FORMAT " rejected\n", import_s,
           json_object_get_int_member (report, "rows"), imported,
           json_object_get_int_member (report, "duplicates"), json_object_get_int_member (report, "rejected"));

  g_print ("Exporting…\n");
  if (!export (bench, json_object_get_int_member (event, "id"), &export_s, &export_lines, &export_bytes, error))
    return FALSE;
  export_rate = (export_lines - 1) / export_s;
  memory_mb = read_peak_memory_mb (bench);
  g_print ("Export: %" G_GINT64_FORMAT " rows, %.1f MB in %.2f s\n", export_lines - 1, export_bytes / 1e6, export_s);

  counts_ok = imported == expected &&
              json_object_get_int_member (report, "duplicates") == bench->n_duplicates &&
              json_object_get_int_member (report, "rejected") == bench->n_invalid &&
              export_lines - 1 == imported;
  import_ok = import_s <= IMPORT_TARGET_S;
  ratio_ok = import_s / floor_s <= FLOOR_RATIO_TARGET;
  memory_ok = memory_mb >= 0 && memory_mb < MEMORY_TARGET_MB;
  export_ok = export_rate >= EXPORT_TARGET_ROWS_S;

  g_print ("\nSummary (%d rows, %.1f MB)\n", bench->n_rows, bench->file_bytes / 1e6);
  g_print ("%-40s %14s %14s  %s\n", "figure", "value", "target", "result");
  g_print ("%-40s %12.2f s %14s\n", "sqlite3 .import (floor)", floor_s, "");
  g_print ("%-40s %12.2f s %12.1f s  %s\n", "import over HTTP, end to end", import_s, IMPORT_TARGET_S,
           pass_or_fail (import_ok));
  g_print ("%-40s %12.0f/s %14s\n", "import rate", bench->n_rows / import_s, "");
  g_print ("%-40s %13.2fx %13.1fx  %s\n", "ratio to the floor", import_s / floor_s, FLOOR_RATIO_TARGET,
           pass_or_fail (ratio_ok));
  g_print ("%-40s %11.1f MB %14s\n", "daemon VmHWM after the import", import_memory_mb, "");
  g_print ("%-40s %11.1f MB %11.0f MB  %s\n", "daemon VmHWM after the export", memory_mb, MEMORY_TARGET_MB,
           pass_or_fail (memory_ok));
  g_print ("%-40s %12.2f s %14s\n", "export, end to end", export_s, "");
  g_print ("%-40s %12.0f/s %12.0f/s  %s\n", "export rate", export_rate, EXPORT_TARGET_ROWS_S,
           pass_or_fail (export_ok));
  g_print ("%-40s %14s %14s  %s\n", "counts match the generated file",
           counts_ok ? "yes" : "no", "yes", pass_or_fail (counts_ok));
  if (!counts_ok)
    g_print ("  expected %" G_GINT64_FORMAT " imported, %" G_GINT64_FORMAT " duplicates, %" G_GINT64_FORMAT
             " rejected, the export to have them all\n", expected, bench->n_duplicates, bench->n_invalid);

  *all_passed = counts_ok && import_ok && ratio_ok && memory_ok && export_ok;
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Bench) bench = { 0 };
  g_autofree char *eventdeskd = NULL;
  gboolean all_passed = FALSE;
  const GOptionEntry entries[] = {
    { "eventdeskd", 0, 0, G_OPTION_ARG_FILENAME, &eventdeskd,
      "The daemon to run (default: $EVENTDESKD, else the one in the build tree)", "PATH" },
    { "rows", 0, 0, G_OPTION_ARG_INT, &bench.n_rows, "Rows in the file (default 500000)", "N" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &bench.keep, "Keep the file, the databases and the log", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");

  context = g_option_context_new ("— time eventdeskd's guest import and export with 500,000 rows");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-import: %s\n", error->message);
      return 2;
    }

  if (eventdeskd == NULL && g_getenv ("EVENTDESKD") != NULL)
    eventdeskd = g_strdup (g_getenv ("EVENTDESKD"));
  if (eventdeskd == NULL)
    eventdeskd = g_strdup (EVENTDESKD_PATH);
  bench.eventdeskd = g_steal_pointer (&eventdeskd);
  if (bench.n_rows <= 0)
    bench.n_rows = DEFAULT_ROWS;

  if (!(bench.dir = g_dir_make_tmp ("eventdesk-bench-import-XXXXXX", &error)))
    {
      g_printerr ("bench-import: %s\n", error->message);
      return 2;
    }
  bench.csv_path = g_build_filename (bench.dir, "guests.csv", NULL);

  if (!run (&bench, &all_passed, &error))
    {
      g_printerr ("bench-import: %s\n", error->message);
      return 2;
    }

  g_print ("\n%s\n", all_passed ? "All targets met." : "Some targets were missed.");
  return all_passed ? 0 : 1;
}
