/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ed-application.h"
#include "ed-live-client.h"
#include "ed-overview-page.h"
#include "ed-renderer-util.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"
#include "ed-window.h"

/* The app showing an event's overview while it is fed about 10 live
 * updates a second for a minute (issue 8, point 5). The real daemon; the
 * app's own window (under Xvfb, see bench-app-overview.sh) with the event
 * shown; a second process of this program posting guests' answers through
 * their links at a steady rate, so that the daemon's coalescing (at most
 * one update per event per 100 ms) sends about ten updates a second. After
 * a warm-up, it reads the app's CPU time from /proc/PID/stat and its
 * resident memory from /proc/PID/status over the minute. Targets: under
 * 10% of one core, and no growth of memory (under 2 MB over the minute).
 */

#define DEFAULT_SECONDS 60
#define DEFAULT_RATE 25          /* answers per second: above 10, so every tick has a change */
#define WARM_UP_S 10
#define N_GUESTS 200
#define CPU_TARGET_PERCENT 10.0
#define GROWTH_TARGET_MB 2.0

/* The poster: answers through the links in @tokens_path at @rate a
 * second for @seconds, each guest accepting and declining in turn. */
static int
post_answers (const char *base_url,
              const char *tokens_path,
              int         rate,
              int         seconds)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *contents = NULL;
  g_auto(GStrv) tokens = NULL;
  g_autoptr(GError) error = NULL;
  guint n_tokens;
  gint64 start = g_get_monotonic_time ();
  guint64 sent = 0, failed = 0;

  if (!g_file_get_contents (tokens_path, &contents, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  tokens = g_strsplit (g_strstrip (contents), "\n", -1);
  n_tokens = g_strv_length (tokens);
  g_assert_cmpuint (n_tokens, >, 0);

  for (guint64 i = 0; ; i++)
    {
      gint64 due = start + (gint64) (i * G_USEC_PER_SEC / (guint64) rate);
      gint64 now = g_get_monotonic_time ();
      const char *form = (i / n_tokens) % 2 == 0 ? "response=accept&party_size=1" : "response=decline";
      g_autofree char *url = NULL;
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GBytes) reply = NULL;

      if (now - start >= (gint64) seconds * G_USEC_PER_SEC)
        break;
      if (due > now)
        g_usleep ((gulong) (due - now));

      url = g_strdup_printf ("%s/r/%s", base_url, tokens[i % n_tokens]);
      msg = soup_message_new ("POST", url);
      body = g_bytes_new_static (form, strlen (form));
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
      soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
      reply = soup_session_send_and_read (session, msg, NULL, NULL);
      if (reply != NULL && soup_message_get_status (msg) == SOUP_STATUS_OK)
        sent++;
      else
        failed++;
    }

  g_print ("poster: %" G_GUINT64_FORMAT " answers posted, %" G_GUINT64_FORMAT " failed\n", sent, failed);
  return failed == 0 ? 0 : 1;
}

/* The app's CPU time so far, in seconds (user + system, all threads). */
static double
read_cpu_seconds (void)
{
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) ||
      !(after_name = strrchr (stat, ')')))
    g_error ("Cannot read /proc/self/stat");

  /* After "pid (comm)": state is field 3, utime 14, stime 15. */
  fields = g_strsplit (after_name + 2, " ", 0);
  g_assert_cmpuint (g_strv_length (fields), >, 13);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

static void
on_event_changed_cb (EdLiveClient *live,
                     gint64        event_id,
                     JsonObject   *state,
                     guint        *count)
{
  (*count)++;
}

static void
on_paint_cb (GdkFrameClock *clock,
             guint         *count)
{
  (*count)++;
}

static char *
write_tokens (EdClient   *client,
              gint64      event_id,
              const char *dir)
{
  g_autoptr(GString) tokens = g_string_new (NULL);
  g_autofree char *path = g_build_filename (dir, "tokens", NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < N_GUESTS; i++)
    {
      g_autofree char *email = g_strdup_printf ("guest%03u@example.com", i);
      g_autofree char *first = g_strdup_printf ("Guest %03u", i);
      gint64 guest_id = ed_test_guest_create_guest (client, event_id, email, first, "Bench");
      g_autofree char *link_path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT "/link", guest_id);
      g_autoptr(JsonNode) link = ed_test_guest_call (client, "GET", link_path, NULL, NULL);

      g_string_append_printf (tokens, "%s\n",
                              json_object_get_string_member (json_node_get_object (link), "token"));
    }

  g_file_set_contents (path, tokens->str, (gssize) tokens->len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static const char *
verdict (gboolean pass)
{
  return pass ? "PASS" : "FAIL";
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(EdTestGuestServer) server = NULL;
  g_autoptr(EdApplication) app = NULL;
  g_autoptr(GSubprocess) poster = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *tokens_path = NULL;
  g_autofree char *load_before = NULL;
  g_autofree char *load_after = NULL;
  g_autofree char *post_url = NULL;
  g_autofree char *post_tokens = NULL;
  g_autofree char *rate_text = NULL;
  g_autofree char *seconds_text = NULL;
  g_autofree char *user_renderer = NULL;
  g_autofree char *gl_renderer = NULL;
  EdOverviewPage *page;
  EdLiveClient *live;
  EdWindow *window;
  gint64 event_id, start_us, end_us;
  double cpu_start, cpu_end, rss_start, rss_end, cpu_percent, elapsed_s;
  guint updates = 0, updates_at_start, fetched_at_start;
  guint frames = 0, frames_at_start;
  int seconds = DEFAULT_SECONDS;
  int rate = DEFAULT_RATE;
  gboolean ok;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "How long to measure (default 60)", "S" },
    { "rate", 0, 0, G_OPTION_ARG_INT, &rate, "Answers posted per second (default 25)", "N" },
    { "post", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &post_url, NULL, NULL },
    { "tokens", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &post_tokens, NULL, NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— the overview page fed live updates");

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (post_url != NULL)
    return post_answers (post_url, post_tokens, rate, seconds);

  /* Read before the app starts, which may set it (ed-renderer-util.c). */
  if (g_getenv ("GSK_RENDERER") != NULL)
    user_renderer = g_strdup_printf ("GSK_RENDERER=%s set for the run", g_getenv ("GSK_RENDERER"));
  adw_init ();
  gl_renderer = ed_renderer_dup_gl_renderer (gdk_display_get_default ());
  g_file_get_contents ("/proc/loadavg", &load_before, NULL, NULL);

  dir = g_dir_make_tmp ("bench-app-overview-XXXXXX", &error);
  g_assert_no_error (error);
  server = ed_test_guest_server_new ();
  event_id = ed_test_guest_create_event (server->client, "Bench Gala", 100000);
  g_print ("creating %d guests and their links…\n", N_GUESTS);
  tokens_path = write_tokens (server->client, event_id, dir);

  /* The app as a user has it: its window, the event chosen. */
  app = ed_application_new (APP_ID ".Bench", G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_application_activate (G_APPLICATION (app));
  window = ED_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  ed_window_set_client (window, server->client);
  ed_window_set_event_id (window, event_id);
  page = ED_OVERVIEW_PAGE (ed_test_app_find_widget (GTK_WIDGET (window), ED_TYPE_OVERVIEW_PAGE, NULL));
  g_assert_nonnull (page);
  live = ed_window_get_live_client (window);
  g_signal_connect (live, "event-changed", G_CALLBACK (on_event_changed_cb), &updates);
  ed_test_app_wait_drawn (GTK_WIDGET (page));
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "paint",
                    G_CALLBACK (on_paint_cb), &frames);

  /* Idle, nothing is drawn (a spinner on a hidden page once kept the
   * frame clock at 60 frames a second). */
  ed_test_app_wait_ms (2000);
  {
    guint idle_frames = frames;

    ed_test_app_wait_ms (3000);
    g_print ("frames painted while idle:     %.1f/s\n", (frames - idle_frames) / 3.0);
    g_print ("renderer:                      %s (%s)\n",
             G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))),
             user_renderer ? user_renderer : "the app's own choice");
    g_print ("OpenGL here:                   %s\n", gl_renderer ? gl_renderer : "none");
  }

  /* The answers come from another process, so that their cost is not the app's. */
  rate_text = g_strdup_printf ("%d", rate);
  seconds_text = g_strdup_printf ("%d", seconds + WARM_UP_S + 5);
  poster = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, argv[0],
                             "--post", ed_client_get_base_url (server->client),
                             "--tokens", tokens_path, "--rate", rate_text, "--seconds", seconds_text, NULL);
  g_assert_no_error (error);

  g_print ("warming up for %d s…\n", WARM_UP_S);
  ed_test_app_wait_ms (WARM_UP_S * 1000);

  updates_at_start = updates;
  frames_at_start = frames;
  fetched_at_start = ed_overview_page_get_timelines_fetched (page);
  cpu_start = read_cpu_seconds ();
  rss_start = ed_test_app_read_status_mb ("VmRSS:");
  start_us = g_get_monotonic_time ();
  g_print ("measuring for %d s…\n", seconds);
  for (int i = 0; i < seconds / 10; i++)
    {
      ed_test_app_wait_ms (10000);
      g_print ("  %3d s: %u updates so far, VmRSS %.1f MB, accepted seats shown %s\n", (i + 1) * 10,
               updates - updates_at_start, ed_test_app_read_status_mb ("VmRSS:"), ed_overview_page_get_number (page, "accepted"));
    }
  if (seconds % 10 != 0)
    ed_test_app_wait_ms ((guint) (seconds % 10) * 1000);
  end_us = g_get_monotonic_time ();
  cpu_end = read_cpu_seconds ();
  rss_end = ed_test_app_read_status_mb ("VmRSS:");
  g_file_get_contents ("/proc/loadavg", &load_after, NULL, NULL);

  elapsed_s = (double) (end_us - start_us) / G_USEC_PER_SEC;
  cpu_percent = (cpu_end - cpu_start) / elapsed_s * 100;
  ok = cpu_percent < CPU_TARGET_PERCENT && rss_end - rss_start < GROWTH_TARGET_MB;

  g_print ("load average before:           %s", load_before ? load_before : "?\n");
  g_print ("answers posted per second:     %d (another process)\n", rate);
  g_print ("live updates received:         %u in %.1f s (%.1f/s)\n", updates - updates_at_start, elapsed_s,
           (updates - updates_at_start) / elapsed_s);
  g_print ("frames painted:                %u (%.1f/s)\n", frames - frames_at_start,
           (frames - frames_at_start) / elapsed_s);
  g_print ("timelines fetched:             %u\n", ed_overview_page_get_timelines_fetched (page) - fetched_at_start);
  g_print ("app CPU (/proc/PID/stat):      %.2f s in %.1f s = %.1f%% of one core (target < %.0f%%) %s\n",
           cpu_end - cpu_start, elapsed_s, cpu_percent, CPU_TARGET_PERCENT, verdict (cpu_percent < CPU_TARGET_PERCENT));
  g_print ("app VmRSS at start:            %.1f MB\n", rss_start);
  g_print ("app VmRSS at end:              %.1f MB (growth %+.1f MB, target < %.0f MB) %s\n", rss_end,
           rss_end - rss_start, GROWTH_TARGET_MB, verdict (rss_end - rss_start < GROWTH_TARGET_MB));
  g_print ("load average after:            %s", load_after ? load_after : "?\n");

  g_subprocess_force_exit (poster);
  g_subprocess_wait (poster, NULL, NULL);
  gtk_window_destroy (GTK_WINDOW (window));
  g_unlink (tokens_path);
  g_rmdir (dir);
  return ok ? 0 : 1;
}
