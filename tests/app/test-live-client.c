/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <string.h>

#include "ed-campaigns-page.h"
#include "ed-live-client.h"
#include "ed-overview-page.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"

/* EdLiveClient against a real eventdeskd: snapshots and updates of the
 * events subscribed, counted subscriptions, and the feed reopening by
 * itself after the daemon restarts.
 */

#define WAIT_LIVE_MS 10000

typedef struct
{
  EdTestGuestServer *server;
  EdLiveClient      *live;
  guint              connected_notified;
  guint              changed;
  gint64             last_event_id;
  guint              changed_per_event[8];
} Fixture;

static void
on_changed_cb (EdLiveClient *live,
               gint64        event_id,
               JsonObject   *state,
               Fixture      *fixture)
{
  g_assert_true (state == ed_live_client_get_state (live, event_id));
  fixture->changed++;
  fixture->last_event_id = event_id;
  if (event_id < (gint64) G_N_ELEMENTS (fixture->changed_per_event))
    fixture->changed_per_event[event_id]++;
}

static void
on_connected_cb (Fixture *fixture)
{
  fixture->connected_notified++;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->server = ed_test_guest_server_new ();
  fixture->live = ed_live_client_new (fixture->server->client);
  g_signal_connect (fixture->live, "event-changed", G_CALLBACK (on_changed_cb), fixture);
  g_signal_connect_swapped (fixture->live, "notify::connected", G_CALLBACK (on_connected_cb), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_assert_finalize_object (fixture->live);
  ed_test_guest_server_free (fixture->server);
}

static gboolean
is_connected (gpointer user_data)
{
  return ed_live_client_get_connected (user_data);
}

static gboolean
is_disconnected (gpointer user_data)
{
  return !ed_live_client_get_connected (user_data);
}

typedef struct
{
  EdLiveClient *live;
  gint64        event_id;
  const char   *member;
  gint64        value;
} StatWait;

static gint64
get_stat (EdLiveClient *live,
          gint64        event_id,
          const char   *member)
{
  JsonObject *state = ed_live_client_get_state (live, event_id);
  JsonObject *stats;

  if (state == NULL || !json_object_has_member (state, "stats"))
    return -1;
  stats = json_object_get_object_member (state, "stats");
  return json_object_get_int_member_with_default (stats, member, -1);
}

static gboolean
stat_is (gpointer user_data)
{
  StatWait *wait = user_data;

  return get_stat (wait->live, wait->event_id, wait->member) == wait->value;
}

static void
assert_stat_becomes (EdLiveClient *live,
                     gint64        event_id,
                     const char   *member,
                     gint64        value)
{
  StatWait wait = { live, event_id, member, value };

  if (!ed_test_app_wait_until (stat_is, &wait, WAIT_LIVE_MS))
    g_test_message ("stats.%s of event %" G_GINT64_FORMAT " is %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT,
                    member, event_id, get_stat (live, event_id, member), value);
  g_assert_cmpint (get_stat (live, event_id, member), ==, value);
}

static void
test_snapshot_and_updates (Fixture       *fixture,
                           gconstpointer  user_data)
{
  EdClient *client = fixture->server->client;
  gint64 event_id = ed_test_guest_create_event (client, "Live Party", 10);
  gint64 other_id = ed_test_guest_create_event (client, "Other Party", 10);
  gint64 guest_id = ed_test_guest_create_guest (client, event_id, "ada@example.com", "Ada", "Lovelace");
  gint64 other_guest_id = ed_test_guest_create_guest (client, other_id, "bob@example.com", "Bob", "Other");
  JsonObject *state;

  g_assert_true (ed_test_app_wait_until (is_connected, fixture->live, WAIT_LIVE_MS));
  g_assert_cmpuint (fixture->connected_notified, ==, 1);
  g_assert_null (ed_live_client_get_state (fixture->live, event_id));

  /* A snapshot right after subscribing. */
  ed_live_client_subscribe (fixture->live, event_id);
  assert_stat_becomes (fixture->live, event_id, "capacity", 10);
  state = ed_live_client_get_state (fixture->live, event_id);
  g_assert_cmpint (json_object_get_int_member (state, "event"), ==, event_id);
  g_assert_true (json_object_has_member (state, "queue"));
  g_assert_cmpint (get_stat (fixture->live, event_id, "pending"), ==, 1);
  g_assert_cmpint (fixture->last_event_id, ==, event_id);

  /* A guest's answer posted over HTTP comes as an update. */
  g_assert_cmpint (ed_test_guest_answer (client, guest_id, "accept", 3), ==, 7);
  assert_stat_becomes (fixture->live, event_id, "seats_taken", 3);
  g_assert_cmpint (get_stat (fixture->live, event_id, "accepted"), ==, 1);
  g_assert_cmpint (get_stat (fixture->live, event_id, "seats_left"), ==, 7);

  /* Events not subscribed to bring nothing. */
  ed_test_guest_answer (client, other_guest_id, "decline", 1);
  ed_test_app_wait_ms (500);
  g_assert_cmpint (other_id, <, G_N_ELEMENTS (fixture->changed_per_event));
  g_assert_cmpuint (fixture->changed_per_event[other_id], ==, 0);
  g_assert_null (ed_live_client_get_state (fixture->live, other_id));
}

static void
test_counted_subscriptions (Fixture       *fixture,
                            gconstpointer  user_data)
{
  EdClient *client = fixture->server->client;
  gint64 event_id = ed_test_guest_create_event (client, "Shared Party", 10);
  gint64 ada = ed_test_guest_create_guest (client, event_id, "ada@example.com", "Ada", "Lovelace");
  gint64 bob = ed_test_guest_create_guest (client, event_id, "bob@example.com", "Bob", "Builder");

  g_assert_true (ed_test_app_wait_until (is_connected, fixture->live, WAIT_LIVE_MS));

  /* Two pages show the event; one goes away, the other still follows. */
  ed_live_client_subscribe (fixture->live, event_id);
  ed_live_client_subscribe (fixture->live, event_id);
  assert_stat_becomes (fixture->live, event_id, "capacity", 10);
  ed_live_client_unsubscribe (fixture->live, event_id);
  ed_test_guest_answer (client, ada, "accept", 1);
  assert_stat_becomes (fixture->live, event_id, "accepted", 1);

  /* The last one goes: no state, no more signals. */
  ed_live_client_unsubscribe (fixture->live, event_id);
  g_assert_null (ed_live_client_get_state (fixture->live, event_id));
  fixture->changed = 0;
  ed_test_guest_answer (client, bob, "accept", 1);
  ed_test_app_wait_ms (500);
  g_assert_cmpuint (fixture->changed, ==, 0);
  g_assert_null (ed_live_client_get_state (fixture->live, event_id));
}

static gboolean
is_null (gpointer user_data)
{
  return *(gpointer *) user_data == NULL;
}

/* The pages of an event (EdEventPage) subscribe to the event they show
 * while they have a live client, and let go of it when they show another,
 * lose the live client or go away. */
static void
test_event_pages_follow_event (Fixture       *fixture,
                               gconstpointer  user_data)
{
  EdClient *client = fixture->server->client;
  gint64 first = ed_test_guest_create_event (client, "First Party", 10);
  gint64 second = ed_test_guest_create_event (client, "Second Party", 20);
  gint64 ada = ed_test_guest_create_guest (client, first, "ada@example.com", "Ada", "Lovelace");
  EdEventPage *overview = g_object_ref_sink (ED_EVENT_PAGE (ed_overview_page_new ()));
  EdEventPage *campaigns = g_object_ref_sink (ED_EVENT_PAGE (ed_campaigns_page_new ()));

  g_assert_true (ed_test_app_wait_until (is_connected, fixture->live, WAIT_LIVE_MS));

  /* Both show the first event: one subscription each. */
  g_object_set (overview, "client", client, "live-client", fixture->live, "event-id", first, NULL);
  g_object_set (campaigns, "client", client, "live-client", fixture->live, "event-id", first, NULL);
  assert_stat_becomes (fixture->live, first, "capacity", 10);
  g_assert_true (ed_event_page_get_live_state (overview) == ed_live_client_get_state (fixture->live, first));

  /* The overview moves on; the campaigns page still follows the first. */
  ed_event_page_set_event_id (overview, second);
  assert_stat_becomes (fixture->live, second, "capacity", 20);
  ed_test_guest_answer (client, ada, "accept", 2);
  assert_stat_becomes (fixture->live, first, "seats_taken", 2);
  g_assert_true (ed_event_page_get_live_state (overview) == ed_live_client_get_state (fixture->live, second));

  /* The campaigns page goes away: nobody follows the first event. */
  g_object_add_weak_pointer (G_OBJECT (campaigns), (gpointer *) &campaigns);
  g_object_unref (campaigns);
  g_assert_true (ed_test_app_wait_until (is_null, &campaigns, WAIT_LIVE_MS));
  g_assert_null (ed_live_client_get_state (fixture->live, first));

  /* Without a live client, the overview lets go of the second. */
  ed_event_page_set_live_client (overview, NULL);
  g_assert_null (ed_live_client_get_state (fixture->live, second));
  g_assert_null (ed_event_page_get_live_state (overview));

  g_object_add_weak_pointer (G_OBJECT (overview), (gpointer *) &overview);
  g_object_unref (overview);
  g_assert_true (ed_test_app_wait_until (is_null, &overview, WAIT_LIVE_MS));
}

static void
test_reconnects_after_restart (Fixture       *fixture,
                               gconstpointer  user_data)
{
  EdClient *client = fixture->server->client;
  EdTestDaemon *daemon = fixture->server->daemon;
  gint64 event_id = ed_test_guest_create_event (client, "Restart Party", 10);
  gint64 ada = ed_test_guest_create_guest (client, event_id, "ada@example.com", "Ada", "Lovelace");
  g_autofree char *listen = NULL;
  g_autoptr(GUri) uri = NULL;

  ed_live_client_subscribe (fixture->live, event_id);
  assert_stat_becomes (fixture->live, event_id, "capacity", 10);

  /* The daemon stops: the feed says so. */
  uri = g_uri_parse (ed_test_daemon_get_url (daemon), G_URI_FLAGS_NONE, NULL);
  listen = g_strdup_printf ("127.0.0.1:%d", g_uri_get_port (uri));
  g_assert_cmpint (ed_test_daemon_stop (daemon), ==, 0);
  g_assert_true (ed_test_app_wait_until (is_disconnected, fixture->live, WAIT_LIVE_MS));
  g_assert_cmpuint (fixture->connected_notified, ==, 2);

  /* A while later it is back on the same address: the feed reopens by
   * itself (after one or two failed tries), subscribes again and follows
   * the event as before. */
  ed_test_app_wait_ms (1500);
  g_assert_false (ed_live_client_get_connected (fixture->live));
  {
    const char * const args[] = { "--listen", listen, NULL };

    ed_test_daemon_set_args (daemon, args);
  }
  ed_test_daemon_start (daemon);
  g_assert_true (ed_test_app_wait_until (is_connected, fixture->live, 40000));
  g_assert_cmpuint (fixture->connected_notified, ==, 3);

  ed_test_guest_answer (client, ada, "accept", 2);
  assert_stat_becomes (fixture->live, event_id, "seats_taken", 2);
  ed_live_client_unsubscribe (fixture->live, event_id);
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static gboolean
has_count (gpointer user_data)
{
  return *(guint *) user_data > 0;
}

static void
test_new_token_reconnects (Fixture       *fixture,
                           gconstpointer  user_data)
{
  EdClient *client = fixture->server->client;
  g_autofree char *old_token = NULL;
  guint expired = 0;

  g_assert_true (ed_test_app_wait_until (is_connected, fixture->live, WAIT_LIVE_MS));

  /* Logged out: no token, no feed. */
  old_token = g_strdup (ed_client_get_token (client));
  g_assert_null (ed_test_guest_call (client, "DELETE", "/api/v1/session", NULL, NULL));
  ed_client_set_token (client, NULL);
  g_assert_true (ed_test_app_wait_until (is_disconnected, fixture->live, WAIT_LIVE_MS));

  /* A token that is no longer valid is refused: the client hears that its
   * session expired, and the feed is not retried until the next token. */
  g_signal_connect_swapped (client, "session-expired", G_CALLBACK (count_cb), &expired);
  ed_client_set_token (client, old_token);
  g_assert_true (ed_test_app_wait_until (has_count, &expired, WAIT_LIVE_MS));
  ed_test_app_wait_ms (2500);
  g_assert_false (ed_live_client_get_connected (fixture->live));
  g_assert_cmpuint (expired, ==, 1);

  /* A new login opens it again. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GError) error = NULL;

    ed_client_login_async (client, "admin", "correct horse battery staple", NULL,
                           ed_test_app_on_result_cb, &result);
    ed_client_login_finish (client, ed_test_app_wait_result (&result), &error);
    g_assert_no_error (error);
  }
  g_assert_true (ed_test_app_wait_until (is_connected, fixture->live, WAIT_LIVE_MS));
  g_signal_handlers_disconnect_by_data (client, &expired);
}

int
main (int   argc,
      char *argv[])
{
  ed_test_app_init (&argc, &argv);

  g_test_add ("/live-client/snapshot-and-updates", Fixture, NULL,
              fixture_set_up, test_snapshot_and_updates, fixture_tear_down);
  g_test_add ("/live-client/counted-subscriptions", Fixture, NULL,
              fixture_set_up, test_counted_subscriptions, fixture_tear_down);
  g_test_add ("/live-client/event-pages-follow-event", Fixture, NULL,
              fixture_set_up, test_event_pages_follow_event, fixture_tear_down);
  g_test_add ("/live-client/reconnects-after-restart", Fixture, NULL,
              fixture_set_up, test_reconnects_after_restart, fixture_tear_down);
  g_test_add ("/live-client/new-token-reconnects", Fixture, NULL,
              fixture_set_up, test_new_token_reconnects, fixture_tear_down);

  return g_test_run ();
}
