/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <time.h>

#include "ed-guest-list-model.h"
#include "ed-guest-object.h"
#include "ed-guests-page.h"
#include "ed-renderer-util.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"

/* The desktop app's guest list with 500,000 guests (issue 7, point 10):
 * the real daemon, filled through the import API, and the Guests page in
 * a window (under Xvfb, see bench-app-guests.sh). It times opening the
 * page until the first rows are drawn, the jump to the last row until it
 * is drawn, a jump to the middle (the keys in between asked for first,
 * see ed-guest-list-model.c), and reads the app's resident memory. Targets:
 * under 500 ms, under 500 ms, under 250 MB.
 */

#define DEFAULT_GUESTS 500000
#define OPEN_TARGET_MS 500.0
#define JUMP_TARGET_MS 500.0
#define MEMORY_TARGET_MB 250.0

typedef struct
{
  GtkWidget  *root;
  const char *text;
  gboolean    painted;
  gulong      handler;
} Wait;

static void
on_after_paint_cb (GdkFrameClock *clock,
                   Wait          *wait)
{
  /* Drawn: the frame that showed the row has been painted. */
  if (ed_test_guest_find_text (wait->root, wait->text) != NULL)
    wait->painted = TRUE;
}

static gboolean
painted (gpointer data)
{
  return ((Wait *) data)->painted;
}

/* CPU time of this process (all its threads, the renderer's too), in
 * milliseconds: on a shared machine it says how much work a step was,
 * where the wall clock also counts the wait for a core. */
static double
cpu_ms (void)
{
  struct timespec now;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &now);
  return (double) now.tv_sec * 1000.0 + (double) now.tv_nsec / 1e6;
}

/* Milliseconds until @text is on screen in a painted frame. */
static double
time_until_drawn (GtkWidget  *root,
                  const char *text,
                  gint64      start)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (root);
  Wait wait = { root, text, FALSE, 0 };

  wait.handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint_cb), &wait);
  gtk_widget_queue_draw (root);
  if (!ed_test_app_wait_until (painted, &wait, 60000))
    g_error ("“%s” was not drawn within 60 s", text);
  g_signal_handler_disconnect (clock, wait.handler);
  return (double) (g_get_monotonic_time () - start) / 1000.0;
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
  g_autoptr(GFile) csv = NULL;
  g_autoptr(JsonObject) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *load = NULL;
  const char *renderer;
  g_autofree char *first_text = NULL;
  g_autofree char *last_text = NULL;
  g_autofree char *middle_text = NULL;
  GtkScrolledWindow *scrolled;
  GtkAdjustment *vadjustment;
  EdGuestsPage *page;
  GtkWindow *window;
  gint64 event_id, start;
  double open_ms, jump_ms, middle_ms, rss_mb, hwm_mb;
  double cpu_start, open_cpu_ms, jump_cpu_ms, shown_rss_mb;
  int guests = DEFAULT_GUESTS;
  gboolean ok;
  gboolean skip_middle = FALSE;
  GOptionEntry entries[] = {
    { "guests", 0, 0, G_OPTION_ARG_INT, &guests, "How many guests (default 500,000)", "N" },
    { "skip-middle", 0, 0, G_OPTION_ARG_NONE, &skip_middle, "Leave out the jump to the middle", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— the app's guest list with many guests");

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  adw_init ();
  /* The renderer the app would pick here (EdApplication's startup does the
   * same), so that the figures are what a user gets. */
  renderer = ed_renderer_choose_for_display (gdk_display_get_default ());
  g_print ("renderer: %s\n", renderer ? renderer : "GTK's own choice");

  g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);
  g_print ("load average before: %s", load ? load : "?\n");

  dir = g_dir_make_tmp ("bench-app-guests-XXXXXX", &error);
  g_assert_no_error (error);
  server = ed_test_guest_server_new ();
  event_id = ed_test_guest_create_event (server->client, "Bench Gala", 1000000);
  g_print ("filling the event with %d guests through the import API…\n", guests);
  start = g_get_monotonic_time ();
  csv = ed_test_guest_write_csv (dir, (guint) guests);
  report = ed_test_guest_import (server->client, event_id, csv);
  g_file_delete (csv, NULL, NULL);
  g_rmdir (dir);
  g_print ("  %" G_GINT64_FORMAT " imported in %.1f s\n",
           json_object_get_int_member (report, "imported"),
           (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  /* The daemon's background search index catches up after an import. */
  ed_test_app_wait_ms (2000);

  window = GTK_WINDOW (adw_window_new ());
  gtk_window_set_default_size (window, 1100, 720);
  page = ED_GUESTS_PAGE (ed_guests_page_new ());
  ed_event_page_set_client (ED_EVENT_PAGE (page), server->client);
  adw_window_set_content (ADW_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (window);
  ed_test_app_wait_ms (1000);
  shown_rss_mb = ed_test_app_read_status_mb ("VmRSS:");

  first_text = g_strdup_printf ("guest%04u@example.com", 0);
  last_text = g_strdup_printf ("guest%04u@example.com", (guint) guests - 1);
  middle_text = g_strdup_printf ("guest%04u@example.com", (guint) guests / 2);

  /* Opening the page: the event is chosen, the first rows drawn. */
  cpu_start = cpu_ms ();
  start = g_get_monotonic_time ();
  ed_event_page_set_event_id (ED_EVENT_PAGE (page), event_id);
  open_ms = time_until_drawn (GTK_WIDGET (window), first_text, start);
  open_cpu_ms = cpu_ms () - cpu_start;
  ed_test_app_wait_ms (500);

  scrolled = GTK_SCROLLED_WINDOW (gtk_widget_get_parent (GTK_WIDGET (ed_guests_page_get_column_view (page))));
  vadjustment = gtk_scrolled_window_get_vadjustment (scrolled);

  /* The scroll bar dragged to the end. */
  cpu_start = cpu_ms ();
  start = g_get_monotonic_time ();
  gtk_adjustment_set_value (vadjustment, gtk_adjustment_get_upper (vadjustment));
  jump_ms = time_until_drawn (GTK_WIDGET (window), last_text, start);
  jump_cpu_ms = cpu_ms () - cpu_start;
  ed_test_app_wait_ms (500);

  /* And to the middle, far from both ends: its key asked for first. */
  middle_ms = -1;
  if (!skip_middle)
    {
      /* The row at the middle may sit a few rows off the exact fraction:
       * wait for whichever row of the middle page is drawn. */
      EdGuestListModel *model = ed_guests_page_get_model (page);
      guint position = (guint) guests / 2;
      g_autoptr(EdGuestObject) guest = NULL;

      start = g_get_monotonic_time ();
      gtk_adjustment_set_value (vadjustment,
                                (gtk_adjustment_get_upper (vadjustment) - gtk_adjustment_get_page_size (vadjustment)) *
                                (((double) guests / 2) / (double) guests));
      while (!ed_guest_list_model_is_loaded (model, position))
        g_main_context_iteration (NULL, TRUE);
      guest = g_list_model_get_item (G_LIST_MODEL (model), position);
      g_free (middle_text);
      middle_text = g_strdup (ed_guest_object_get_email (guest));
      middle_ms = time_until_drawn (GTK_WIDGET (window), middle_text, start);
      ed_test_app_wait_ms (500);
    }

  rss_mb = ed_test_app_read_status_mb ("VmRSS:");
  hwm_mb = ed_test_app_read_status_mb ("VmHWM:");
  g_free (load);
  g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);

  ok = open_ms < OPEN_TARGET_MS && jump_ms < JUMP_TARGET_MS && rss_mb < MEMORY_TARGET_MB;
  g_print ("guests:                          %d\n", guests);
  g_print ("open Guests page → first rows:   %.1f ms (target < %.0f ms) %s\n", open_ms, OPEN_TARGET_MS,
           verdict (open_ms < OPEN_TARGET_MS));
  g_print ("  the app's CPU time meanwhile:   %.1f ms\n", open_cpu_ms);
  g_print ("jump to the last row → drawn:    %.1f ms (target < %.0f ms) %s\n", jump_ms, JUMP_TARGET_MS,
           verdict (jump_ms < JUMP_TARGET_MS));
  g_print ("  the app's CPU time meanwhile:   %.1f ms\n", jump_cpu_ms);
  if (middle_ms >= 0)
    g_print ("jump to the middle → drawn:      %.1f ms (no target; keys, then the page)\n", middle_ms);
  g_print ("app resident memory (VmRSS):     %.1f MB (target < %.0f MB) %s\n", rss_mb, MEMORY_TARGET_MB,
           verdict (rss_mb < MEMORY_TARGET_MB));
  g_print ("app peak resident memory (HWM):  %.1f MB\n", hwm_mb);
  g_print ("  of which before the page opened: %.1f MB (the window shown, no guests)\n", shown_rss_mb);
  g_print ("pages of rows held by the model: %u\n",
           ed_guest_list_model_get_n_loaded_pages (ed_guests_page_get_model (page)));
  g_print ("load average after: %s", load ? load : "?\n");

  gtk_window_destroy (window);
  return ok ? 0 : 1;
}
