/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "ed-application.h"
#include "ed-overview-page.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"
#include "ed-window.h"

/* The Overview page in the app's own window against a real daemon: the
 * first page of an event, its numbers and charts following guests'
 * answers posted over HTTP through the live feed, and screenshots of it in
 * light and dark for review (app-screenshots/overview-*.png).
 */

#define WAIT_LIVE_MS 15000

typedef struct
{
  EdOverviewPage *page;
  const char     *key;
  const char     *value;
} NumberWait;

static gboolean
number_is (gpointer user_data)
{
  NumberWait *wait = user_data;

  return g_strcmp0 (ed_overview_page_get_number (wait->page, wait->key), wait->value) == 0;
}

static void
assert_number_becomes (EdOverviewPage *page,
                       const char     *key,
                       const char     *value)
{
  NumberWait wait = { page, key, value };

  if (!ed_test_app_wait_until (number_is, &wait, WAIT_LIVE_MS))
    g_test_message ("“%s” shows “%s”, not “%s”", key, ed_overview_page_get_number (page, key), value);
  g_assert_cmpstr (ed_overview_page_get_number (page, key), ==, value);
}

typedef struct
{
  GtkAccessible *accessible;
  const char    *text;
} DescriptionWait;

static gboolean
description_has (gpointer user_data)
{
  DescriptionWait *wait = user_data;
  g_autofree char *mismatch = gtk_test_accessible_check_property (wait->accessible,
                                                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                                                  "");

  /* check_property() hands back the value when it is not the one asked. */
  return mismatch != NULL && strstr (mismatch, wait->text) != NULL;
}

static void
assert_description_gets (GtkWidget  *widget,
                         const char *text)
{
  DescriptionWait wait = { GTK_ACCESSIBLE (widget), text };

  if (!ed_test_app_wait_until (description_has, &wait, WAIT_LIVE_MS))
    {
      g_autofree char *now = gtk_test_accessible_check_property (GTK_ACCESSIBLE (widget),
                                                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, "");

      g_test_message ("the description is “%s”, without “%s”", now, text);
    }
  g_assert_true (description_has (&wait));
}

static gboolean
window_shows (gpointer user_data)
{
  GtkWidget **args = user_data;

  return ed_test_app_find_widget (args[0], GTK_TYPE_LABEL, (const char *) args[1]) != NULL;
}

static void
test_numbers_follow_answers (void)
{
  g_autoptr(EdTestGuestServer) server = ed_test_guest_server_new ();
  g_autoptr(EdApplication) app = ed_application_new (APP_ID ".Test", G_APPLICATION_NON_UNIQUE);
  g_autoptr(GError) error = NULL;
  g_autofree char *screenshot = NULL;
  EdClient *client = server->client;
  AdwViewStack *stack;
  EdOverviewPage *page;
  EdWindow *window;
  gint64 event_id, guests[5];

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = ED_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (ED_IS_WINDOW (window));
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 900);

  event_id = ed_test_guest_create_event (client, "Spring Ball", 10);
  guests[0] = ed_test_guest_create_guest (client, event_id, "ada@example.com", "Ada", "Lovelace");
  guests[1] = ed_test_guest_create_guest (client, event_id, "bob@example.com", "Bob", "Builder");
  guests[2] = ed_test_guest_create_guest (client, event_id, "cy@example.com", "Cy", "Young");
  guests[3] = ed_test_guest_create_guest (client, event_id, "di@example.com", "Di", "Prince");
  guests[4] = ed_test_guest_create_guest (client, event_id, "ed@example.com", "Ed", "Wood");

  ed_window_set_client (window, client);
  ed_window_set_event_id (window, event_id);

  /* The overview is what an event opens on. */
  stack = ADW_VIEW_STACK (ed_test_app_find_widget (GTK_WIDGET (window), ADW_TYPE_VIEW_STACK, NULL));
  g_assert_nonnull (stack);
  page = ED_OVERVIEW_PAGE (adw_view_stack_get_visible_child (stack));
  g_assert_true (ED_IS_OVERVIEW_PAGE (page));
  g_assert_true (ed_event_page_get_live_client (ED_EVENT_PAGE (page)) == ed_window_get_live_client (window));
  g_assert_nonnull (ed_event_page_get_live_client (ED_EVENT_PAGE (page)));
  ed_test_app_wait_drawn (GTK_WIDGET (page));

  assert_number_becomes (page, "invited", "5");
  assert_number_becomes (page, "pending", "5");
  assert_number_becomes (page, "seats-left", "10");
  assert_number_becomes (page, "accepted", "0");

  /* Guests answer through their links; the page follows without a reload. */
  g_assert_cmpint (ed_test_guest_answer (client, guests[0], "accept", 3), ==, 7);
  g_assert_cmpint (ed_test_guest_answer (client, guests[1], "accept", 4), ==, 3);
  ed_test_guest_answer (client, guests[2], "decline", 1);
  /* Four seats do not fit in three: the waiting list. */
  ed_test_guest_answer (client, guests[3], "accept", 4);

  assert_number_becomes (page, "accepted", "7");
  assert_number_becomes (page, "seats-left", "3");
  assert_number_becomes (page, "declined", "1");
  assert_number_becomes (page, "waitlisted", "1");
  assert_number_becomes (page, "pending", "1");
  assert_number_becomes (page, "invited", "5");
  /* The sidebar's line for the event follows too. */
  {
    gpointer args[] = { window, (gpointer) "7 of 10 seats taken · 1 pending" };

    g_assert_true (ed_test_app_wait_until (window_shows, args, WAIT_LIVE_MS));
  }

  /* The charts: by status at once, over time once the timeline is read
   * again; both say their numbers to screen readers. */
  assert_description_gets (GTK_WIDGET (ed_overview_page_get_answers_chart (page)),
                           "Accepted: 2, Waitlisted: 1, Declined: 1, No answer yet: 1, Cancelled: 0");
  assert_description_gets (GTK_WIDGET (ed_overview_page_get_timeline_chart (page)),
                           "Accepted: 2, Waitlisted: 1, Declined: 1");
  /* Acceptances queue a confirmation each. */
  g_assert_nonnull (ed_overview_page_get_send_rate (page));

  ed_test_app_wait_ms (500);
  screenshot = ed_test_app_save_screenshot (GTK_WIDGET (window), "overview-light");
  g_clear_pointer (&screenshot, g_free);
  {
    GtkScrolledWindow *scrolled = GTK_SCROLLED_WINDOW (ed_test_app_find_widget (GTK_WIDGET (page),
                                                                                GTK_TYPE_SCROLLED_WINDOW, NULL));
    GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (scrolled);

    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
    ed_test_app_wait_ms (300);
    screenshot = ed_test_app_save_screenshot (GTK_WIDGET (window), "overview-light-bottom");
    g_clear_pointer (&screenshot, g_free);
  }
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  ed_test_app_wait_ms (300);
  screenshot = ed_test_app_save_screenshot (GTK_WIDGET (window), "overview-dark");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_LIGHT);

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  /* The accessible properties, as a screen reader would get them. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  ed_test_app_init (&argc, &argv);
  adw_init ();

  g_test_add_func ("/app/overview/numbers-follow-answers", test_numbers_follow_answers);

  return g_test_run ();
}
