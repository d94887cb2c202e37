/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <gio/gnetworking.h>
#include <sqlite3.h>
#include <string.h>

#include "ed-data-dir.h"
#include "ed-rsvp-token.h"
#include "ed-test-fixture.h"

/* The live feed against the real daemon over loopback, with libsoup's
 * WebSocket client: authentication, pushes, coalescing under a burst of
 * answers, a subscriber that stops reading, the public seats channel and
 * its limits, timelines and /metrics.
 */

#define FUTURE_START "2030-06-01T19:00:00+02:00"

/* an answer reaches a subscriber within this: a hub tick (100 ms) and the
 * answer's own work, which the sanitizer build (build-aux/ci-sanitize) does
 * several times slower (its RSVP POST alone took 281 ms at load 15) */
#ifdef __SANITIZE_ADDRESS__
#define PUSH_BOUND_MS 1000
#else
#define PUSH_BOUND_MS 200
#endif
#define WAIT_MS 10000            /* how long a test waits for what must come */
#define BURST_GUESTS 5000
#define BURST_CAPACITY 3000
#define BURST_CONNECTIONS 64
#define MAX_UPDATES_PER_SECOND 11 /* 10 per second, and one of the next second's at the edge */
#define STALL_EVENTS 4
#define STALL_GUESTS_PER_EVENT 1000
#define STALL_TIMEOUT_S 150
#define PUBLIC_PER_ADDRESS 4

typedef EdTestFixture Fixture;

/* Helpers */

static gint64
create_event (Fixture *fixture,
              gint64   capacity)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"Live Party\",\"starts_at\":\"" FUTURE_START "\","
                                           "\"timezone\":\"Europe/Berlin\",\"capacity\":%" G_GINT64_FORMAT ","
                                           "\"max_party_size\":4,\"waitlist_enabled\":true}", capacity);
  return ed_test_api_create (fixture, body, "/api/v1/events");
}

static gint64
create_guest (Fixture *fixture,
              gint64   event_id,
              guint    n)
{
  g_autofree char *body = g_strdup_printf ("{\"email\":\"guest%u@example.com\",\"first_name\":\"Guest %u\"}", n, n);
  return ed_test_api_create (fixture, body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
}

static JsonObject *
get_stats (Fixture *fixture,
           gint64   event_id)
{
  g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return json_object_ref (ed_test_response_get_object (response));
}

/* A guest's answer through their link, as the page's script sends it. */
static gint64
answer (Fixture    *fixture,
        const char *token,
        const char *form)
{
  g_autofree char *url = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GBytes) body = g_bytes_new (form, strlen (form));
  const char * const headers[] = { "Accept", "application/json", NULL };
  g_autoptr(SoupMessage) msg = NULL;

  url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon), token);
  msg = ed_test_http_message_new ("POST", url, NULL, NULL, headers);
  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);
  response = ed_test_http_send (fixture->session, msg);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return ed_test_json_int (ed_test_response_get_object (response), "seats_left");
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context for @ms. */
static void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, on_timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* A WebSocket client of the live feed */

typedef struct
{
  JsonObject *object;
  gint64      received_us; /* monotonic */
} Received;

typedef struct
{
  SoupSession             *session;
  SoupMessage             *msg;
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 done;
  GPtrArray               *messages;   /* Received */
  guint                    read;       /* messages handed out by live_next() */
  gboolean                 closed;
  gushort                  close_code;
  char                    *close_reason;
} Live;

static void
received_free (Received *received)
{
  json_object_unref (received->object);
  g_free (received);
}

static void
on_live_message_cb (SoupWebsocketConnection *connection,
                    gint                     type,
                    GBytes                  *message,
                    Live                    *live)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data = g_bytes_get_data (message, &length);
  Received *received;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_true (json_parser_load_from_data (parser, data, length, NULL));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  received = g_new0 (Received, 1);
  received->object = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  received->received_us = g_get_monotonic_time ();
  g_ptr_array_add (live->messages, received);
}

static void
on_live_closed_cb (SoupWebsocketConnection *connection,
                   Live                    *live)
{
  live->closed = TRUE;
  live->close_code = soup_websocket_connection_get_close_code (connection);
  live->close_reason = g_strdup (soup_websocket_connection_get_close_data (connection));
}

static void
on_live_connected_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Live *live = user_data;

  live->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &live->error);
  live->done = TRUE;
  if (live->connection != NULL)
    {
      g_signal_connect (live->connection, "message", G_CALLBACK (on_live_message_cb), live);
      g_signal_connect (live->connection, "closed", G_CALLBACK (on_live_closed_cb), live);
    }
}

static void
live_free (Live *live)
{
  if (live->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (live->connection, live);
      if (soup_websocket_connection_get_state (live->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (live->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (live->connection);
    }
  g_clear_object (&live->msg);
  g_clear_object (&live->session);
  g_clear_error (&live->error);
  g_ptr_array_unref (live->messages);
  g_free (live->close_reason);
  g_free (live);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Live, live_free)

/* Opens a WebSocket to @path; check live->connection, or live->msg's
 * status when the daemon refused the upgrade.
 */
static Live *
live_open_from (Fixture    *fixture,
                const char *path,
                const char *bearer,
                const char *forwarded_for)
{
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);
  Live *live = g_new0 (Live, 1);

  live->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) received_free);
  live->session = soup_session_new ();
  soup_session_set_proxy_resolver (live->session, NULL);
  live->msg = soup_message_new ("GET", url);
  if (bearer != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", bearer, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (live->msg), "Authorization", value);
    }
  if (forwarded_for != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (live->msg), "X-Forwarded-For", forwarded_for);

  soup_session_websocket_connect_async (live->session, live->msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_live_connected_cb, live);
  while (!live->done)
    g_main_context_iteration (NULL, TRUE);

  return live;
}

static Live *
live_open (Fixture    *fixture,
           const char *path,
           const char *bearer)
{
  return live_open_from (fixture, path, bearer, NULL);
}

static void
live_send (Live       *live,
           const char *text)
{
  soup_websocket_connection_send_text (live->connection, text);
}

static void
live_subscribe (Live   *live,
                gint64  event_id)
{
  g_autofree char *text = g_strdup_printf ("{\"type\":\"subscribe\",\"event\":%" G_GINT64_FORMAT "}", event_id);

  live_send (live, text);
}

static const char *
type_of (JsonObject *object)
{
  return json_object_get_string_member_with_default (object, "type", "");
}

/* The next message not handed out yet, waiting up to @timeout_ms. */
static Received *
live_next (Live  *live,
           guint  timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, on_timeout_cb, &timed_out);

  while (live->read >= live->messages->len && !timed_out && !live->closed)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);

  if (live->read >= live->messages->len)
    return NULL;
  return g_ptr_array_index (live->messages, live->read++);
}

/* The next message, which must be of @type. */
static JsonObject *
live_expect (Live       *live,
             const char *type)
{
  Received *received = live_next (live, WAIT_MS);

  g_assert_nonnull (received);
  g_assert_cmpstr (type_of (received->object), ==, type);
  return received->object;
}

/* Waits until the connection is closed, skipping what comes before. */
static void
live_wait_closed (Live *live)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (WAIT_MS, on_timeout_cb, &timed_out);

  while (!live->closed && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_true (live->closed);
}

/* Authentication */

static void
test_refused (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) plain = NULL;
  g_autoptr(Live) bad_bearer = NULL;
  g_autoptr(Live) no_auth = NULL;
  g_autoptr(Live) bad_auth = NULL;
  g_autoptr(Live) late = NULL;
  g_autoptr(Live) good = NULL;
  g_autoptr(Live) logged_out = NULL;
  g_autofree char *text = NULL;
  g_autofree char *other = NULL;
  gint64 event_id = create_event (fixture, 10);
  JsonObject *object;

  /* A plain request is told what the address is. */
  plain = ed_test_api (fixture, "GET", NULL, "/api/v1/live");
  ed_test_assert_error (plain, SOUP_STATUS_BAD_REQUEST, "websocket_required");

  /* A bad bearer token never gets a WebSocket. */
  bad_bearer = live_open (fixture, "/api/v1/live", "not-a-token");
  g_assert_null (bad_bearer->connection);
  g_assert_cmpuint (soup_message_get_status (bad_bearer->msg), ==, SOUP_STATUS_UNAUTHORIZED);

  /* Without one, the first message must be a valid "auth". */
  no_auth = live_open (fixture, "/api/v1/live", NULL);
  g_assert_nonnull (no_auth->connection);
  live_subscribe (no_auth, event_id);
  live_wait_closed (no_auth);
  g_assert_cmpuint (no_auth->messages->len, ==, 0);
  g_assert_cmpuint (no_auth->close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_true (g_str_has_prefix (no_auth->close_reason, "Authenticate first"));

  bad_auth = live_open (fixture, "/api/v1/live", NULL);
  live_send (bad_auth, "{\"type\":\"auth\",\"token\":\"eyJhbGciOiJIUzI1NiJ9.e30.x\"}");
  live_wait_closed (bad_auth);
  g_assert_cmpuint (bad_auth->messages->len, ==, 0);
  g_assert_cmpuint (bad_auth->close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_nonnull (strstr (bad_auth->close_reason, "not valid"));

  /* Silence is not kept open for long. */
  late = live_open (fixture, "/api/v1/live", NULL);
  live_wait_closed (late);
  g_assert_cmpuint (late->close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_cmpstr (late->close_reason, ==, "No auth message in time");

  /* The browser's way: auth first, then subscribe. */
  good = live_open (fixture, "/api/v1/live", NULL);
  text = g_strdup_printf ("{\"type\":\"auth\",\"token\":\"%s\"}", fixture->token);
  live_send (good, text);
  live_expect (good, "authenticated");
  live_subscribe (good, event_id);
  object = live_expect (good, "snapshot");
  g_assert_cmpint (ed_test_json_int (object, "event"), ==, event_id);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "stats"), "capacity"), ==, 10);

  /* Unknown events and messages get errors, not a closed connection. */
  live_subscribe (good, event_id + 1000);
  object = live_expect (good, "error");
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, "not_found");
  live_send (good, "{\"type\":\"dance\"}");
  object = live_expect (good, "error");
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, "invalid_message");
  live_send (good, "not json");
  object = live_expect (good, "error");
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, "invalid_message");
  g_assert_false (good->closed);

  /* A session that was logged out is refused too. */
  other = ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon), ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  {
    g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/session");
    g_autoptr(EdTestResponse) response = ed_test_http_request (fixture->session, "DELETE", url, other, NULL, NULL);

    g_assert_cmpuint (response->status, <, 300);
  }
  logged_out = live_open (fixture, "/api/v1/live", other);
  g_assert_null (logged_out->connection);
  g_assert_cmpuint (soup_message_get_status (logged_out->msg), ==, SOUP_STATUS_UNAUTHORIZED);
}

/* Pushes */

static JsonObject *
wait_for_update (Live       *live,
                 const char *member,
                 gint64      value)
{
  for (;;)
    {
      Received *received = live_next (live, WAIT_MS);
      JsonObject *stats;

      g_assert_nonnull (received);
      if (strcmp (type_of (received->object), "update") != 0)
        continue;
      stats = ed_test_json_object (received->object, "stats");
      if (ed_test_json_int (stats, member) == value)
        return received->object;
    }
}

static void
test_push (Fixture       *fixture,
           gconstpointer  user_data)
{
  g_autoptr(Live) live = NULL;
  g_autoptr(Live) second = NULL;
  g_autofree char *ann = NULL;
  g_autofree char *bob = NULL;
  gint64 event_id = create_event (fixture, 10);
  gint64 ann_id = create_guest (fixture, event_id, 1);
  gint64 bob_id = create_guest (fixture, event_id, 2);
  JsonObject *object;
  JsonObject *stats;
  gint64 sent_us;
  Received *received;

  ann = ed_test_api_link_token (fixture, ann_id);
  bob = ed_test_api_link_token (fixture, bob_id);

  live = live_open (fixture, "/api/v1/live", fixture->token);
  g_assert_nonnull (live->connection);
  live_expect (live, "authenticated");
  live_subscribe (live, event_id);
  object = live_expect (live, "snapshot");
  stats = ed_test_json_object (object, "stats");
  g_assert_cmpint (ed_test_json_int (stats, "pending"), ==, 2);
  g_assert_cmpint (ed_test_json_int (stats, "seats_left"), ==, 10);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "waitlist"), "length"), ==, 0);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "queue"), "queued"), ==, 0);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "campaigns")));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "errors")));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (object, "import")));

  /* Ann accepts with three: the subscriber sees it, pushed. */
  sent_us = g_get_monotonic_time ();
  g_assert_cmpint (answer (fixture, ann, "response=accept&party_size=3"), ==, 7);
  object = wait_for_update (live, "accepted", 1);
  received = g_ptr_array_index (live->messages, live->read - 1);
  g_test_message ("The update came %.1f ms after the answer was sent",
                  (received->received_us - sent_us) / 1000.0);
  g_assert_cmpint (received->received_us - sent_us, <, PUSH_BOUND_MS * 1000);
  stats = ed_test_json_object (object, "stats");
  g_assert_cmpint (ed_test_json_int (stats, "seats_taken"), ==, 3);
  g_assert_cmpint (ed_test_json_int (stats, "seats_left"), ==, 7);
  g_assert_cmpint (ed_test_json_int (stats, "pending"), ==, 1);

  /* A second subscriber gets the current numbers as its snapshot. */
  second = live_open (fixture, "/api/v1/live", fixture->token);
  live_expect (second, "authenticated");
  live_subscribe (second, event_id);
  object = live_expect (second, "snapshot");
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "stats"), "accepted"), ==, 1);

  /* The admin's changes are pushed too: capacity, a new guest, a decline. */
  {
    g_autoptr(EdTestResponse) response = ed_test_api (fixture, "PATCH", "{\"capacity\":4}", "/api/v1/events/%" G_GINT64_FORMAT,
                                                      event_id);

    ed_test_assert_status (response, SOUP_STATUS_OK);
  }
  object = wait_for_update (live, "capacity", 4);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "stats"), "seats_left"), ==, 1);
  wait_for_update (second, "capacity", 4);

  /* Bob's party does not fit: the waiting list grows. */
  answer (fixture, bob, "response=accept&party_size=2");
  object = wait_for_update (live, "waitlisted", 1);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "waitlist"), "length"), ==, 1);

  create_guest (fixture, event_id, 3);
  wait_for_update (live, "guests", 3);

  /* Ann declines: Bob is promoted, and his promotion mail is queued. */
  answer (fixture, ann, "response=decline");
  object = wait_for_update (live, "declined", 1);
  stats = ed_test_json_object (object, "stats");
  g_assert_cmpint (ed_test_json_int (stats, "accepted"), ==, 1);
  g_assert_cmpint (ed_test_json_int (stats, "waitlisted"), ==, 0);
  g_assert_cmpint (ed_test_json_int (stats, "seats_taken"), ==, 2);

  /* The mail part follows (it may lag the answers by up to half a
   * second): Bob's promotion mail, queued or already sent.
   */
  for (;;)
    {
      JsonArray *campaigns = json_object_get_array_member (object, "campaigns");
      gboolean found = FALSE;
      Received *next;

      for (guint i = 0; i < json_array_get_length (campaigns); i++)
        {
          JsonObject *campaign = json_array_get_object_element (campaigns, i);
          JsonObject *counts = ed_test_json_object (campaign, "counts");

          if (g_strcmp0 (json_object_get_string_member (campaign, "kind"), "waitlist_promotion") == 0 &&
              ed_test_json_int (counts, "queued") + ed_test_json_int (counts, "sending") + ed_test_json_int (counts, "sent") == 1)
            found = TRUE;
        }
      if (found)
        break;
      next = live_next (live, WAIT_MS);
      g_assert_nonnull (next);
      object = next->object;
    }

  /* Unsubscribed, nothing more comes. */
  {
    g_autofree char *text = g_strdup_printf ("{\"type\":\"unsubscribe\",\"event\":%" G_GINT64_FORMAT "}", event_id);
    g_autoptr(EdTestResponse) response = NULL;

    live_send (second, text);
    run_for (300);
    second->read = second->messages->len;
    response = ed_test_api (fixture, "PATCH", "{\"capacity\":5}", "/api/v1/events/%" G_GINT64_FORMAT, event_id);
    ed_test_assert_status (response, SOUP_STATUS_OK);
    wait_for_update (live, "capacity", 5);
    run_for (300);
    g_assert_cmpuint (second->read, ==, second->messages->len);
  }

  /* Deleting the event is the last word. */
  {
    g_autoptr(EdTestResponse) response = ed_test_api (fixture, "DELETE", NULL,
                                                      "/api/v1/events/%" G_GINT64_FORMAT "?confirm=true", event_id);

    ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);
  }
  for (;;)
    {
      Received *next = live_next (live, WAIT_MS);

      g_assert_nonnull (next);
      if (json_object_get_boolean_member_with_default (next->object, "deleted", FALSE))
        break;
    }
}

static double metric_value (Fixture    *fixture,
                            const char *series);

/* A campaign's progress, pushed as the mailer sends (into the test
 * daemon's own Maildir).
 */
static void
test_campaign (Fixture       *fixture,
               gconstpointer  user_data)
{
  g_autoptr(Live) live = NULL;
  g_autoptr(EdTestResponse) created = NULL;
  g_autoptr(EdTestResponse) launched = NULL;
  gint64 event_id = create_event (fixture, 10);
  gint64 campaign_id;
  JsonObject *object;
  JsonObject *campaign = NULL;
  JsonObject *mail;

  for (guint i = 0; i < 3; i++)
    create_guest (fixture, event_id, i);

  live = live_open (fixture, "/api/v1/live", fixture->token);
  live_expect (live, "authenticated");
  live_subscribe (live, event_id);
  object = live_expect (live, "snapshot");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "campaigns")), ==, 0);
  mail = ed_test_json_object (object, "mail");
  g_assert_true (json_object_has_member (mail, "send_rate"));

  created = ed_test_api (fixture, "POST", "{}", "/api/v1/events/%" G_GINT64_FORMAT "/campaigns", event_id);
  ed_test_assert_status (created, SOUP_STATUS_CREATED);
  campaign_id = ed_test_json_int (ed_test_response_get_object (created), "id");
  launched = ed_test_api (fixture, "POST", "{}", "/api/v1/campaigns/%" G_GINT64_FORMAT "/launch", campaign_id);
  ed_test_assert_status (launched, SOUP_STATUS_OK);

  /* Queued, then sent: the feed follows to the end. */
  for (;;)
    {
      Received *received = live_next (live, WAIT_MS);
      JsonArray *campaigns;

      g_assert_nonnull (received);
      campaigns = json_object_get_array_member (received->object, "campaigns");
      if (json_array_get_length (campaigns) != 1)
        continue;
      campaign = json_array_get_object_element (campaigns, 0);
      if (ed_test_json_int (ed_test_json_object (campaign, "counts"), "sent") == 3)
        {
          object = received->object;
          break;
        }
    }
  g_assert_cmpint (ed_test_json_int (campaign, "id"), ==, campaign_id);
  g_assert_cmpstr (json_object_get_string_member (campaign, "kind"), ==, "invitation");
  g_assert_true (json_object_has_member (campaign, "send_rate"));
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "queue"), "sent"), ==, 3);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (object, "queue"), "queued"), ==, 0);

  g_assert_cmpfloat (metric_value (fixture, "eventdesk_mail_messages_total{result=\"sent\"}"), ==, 3);
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_queue_messages{state=\"sent\"}"), ==, 3);
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_smtp_replies_total{class=\"none\"}"), ==, 3);
}

/* A burst of answers */

typedef struct
{
  SoupSession  *session;
  const char   *base_url;
  char        **tokens;
  guint         n;
  guint         next;     /* the next token to answer for */
  guint         pending;  /* answers not answered yet */
  guint         failed;
} Burst;

typedef struct
{
  Burst       *burst;
  SoupMessage *msg;
} BurstCall;

static void send_next_answer (Burst *burst);

static void
on_burst_call_done_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  BurstCall *call = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  if (body == NULL || soup_message_get_status (call->msg) != SOUP_STATUS_OK)
    call->burst->failed++;
  call->burst->pending--;
  send_next_answer (call->burst);
  g_object_unref (call->msg);
  g_free (call);
}

static void
send_next_answer (Burst *burst)
{
  g_autofree char *url = NULL;
  g_autoptr(GBytes) body = NULL;
  BurstCall *call;

  if (burst->next >= burst->n)
    return;

  url = g_strdup_printf ("%s/r/%s", burst->base_url, burst->tokens[burst->next++]);
  body = g_bytes_new_static ("response=accept&party_size=1", 28);
  call = g_new0 (BurstCall, 1);
  call->burst = burst;
  call->msg = soup_message_new ("POST", url);
  soup_message_set_request_body_from_bytes (call->msg, "application/x-www-form-urlencoded", body);
  soup_message_headers_replace (soup_message_get_request_headers (call->msg), "Accept", "application/json");
  soup_session_send_and_read_async (burst->session, call->msg, G_PRIORITY_DEFAULT, NULL, on_burst_call_done_cb, call);
}

/* Posts an accept for each token as fast as the daemon takes them, over
 * BURST_CONNECTIONS connections (as many requests in flight: libsoup's
 * queue gets slow with thousands), and returns at once; @burst->pending
 * counts the answers still to come.
 */
static void
start_burst (Fixture  *fixture,
             char    **tokens,
             guint     n,
             Burst    *burst)
{
  burst->session = soup_session_new_with_options ("max-conns", BURST_CONNECTIONS,
                                                  "max-conns-per-host", BURST_CONNECTIONS,
                                                  "timeout", 120, NULL);
  soup_session_set_proxy_resolver (burst->session, NULL);
  burst->base_url = ed_test_daemon_get_url (fixture->daemon);
  burst->tokens = tokens;
  burst->n = n;
  burst->pending = n;

  for (guint i = 0; i < BURST_CONNECTIONS; i++)
    send_next_answer (burst);
}

static void
burst_clear (Burst *burst)
{
  g_clear_object (&burst->session);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Burst, burst_clear)

/* Imports @n guests into the event and signs a link for each with the
 * daemon's own key; returns the tokens in guest id order.
 */
static char **
import_guests (Fixture *fixture,
               gint64   event_id,
               guint    n,
               guint    first)
{
  g_autoptr(GString) csv = g_string_new ("email,first_name\n");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GBytes) secret = NULL;
  g_autofree char *url = NULL;
  g_autofree char *secret_path = ed_test_daemon_get_path (fixture->daemon, "secret.key");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  gint64 after = 0;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (csv, "burst%u@example.com,Guest %u\n", first + i, first + i);
  body = g_string_free_to_bytes (g_steal_pointer (&csv));
  url = g_strdup_printf ("%s/api/v1/events/%" G_GINT64_FORMAT "/guests/import",
                         ed_test_daemon_get_url (fixture->daemon), event_id);
  response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token, "text/csv", body, FALSE);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "imported"), ==, n);

  secret = ed_data_dir_load_secret (secret_path, &error);
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr(EdTestResponse) page = ed_test_api (fixture, "GET", NULL,
                                                    "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500&after=%" G_GINT64_FORMAT,
                                                    event_id, after);
      JsonObject *object = ed_test_response_get_object (page);
      JsonArray *items = json_object_get_array_member (object, "items");
      JsonNode *next = json_object_get_member (object, "next");

      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          EdRsvpTokenClaims claims = { event_id, ed_test_json_int (json_array_get_object_element (items, i), "id"), 1 };
          char *token = ed_rsvp_token_sign (secret, &claims, g_get_real_time () / G_USEC_PER_SEC + 86400, &error);

          g_assert_no_error (error);
          g_ptr_array_add (tokens, token);
        }
      if (next == NULL || JSON_NODE_HOLDS_NULL (next))
        break;
      after = json_node_get_int (next);
    }

  g_assert_cmpuint (tokens->len, ==, n);
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&tokens), FALSE);
}

/* The most updates whose server times ("at", ms) fall in one second. */
static guint
max_updates_per_second (Live *live)
{
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint most = 0;

  for (guint i = 0; i < live->messages->len; i++)
    {
      Received *received = g_ptr_array_index (live->messages, i);
      gint64 at;

      if (strcmp (type_of (received->object), "update") != 0)
        continue;
      at = ed_test_json_int (received->object, "at");
      g_array_append_val (times, at);
    }

  for (guint i = 0, j = 0; j < times->len; j++)
    {
      while (g_array_index (times, gint64, j) - g_array_index (times, gint64, i) >= 1000)
        i++;
      most = MAX (most, j - i + 1);
    }

  return most;
}

static gint64
count_in_database (Fixture    *fixture,
                   const char *sql,
                   gint64      event_id)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, event_id);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return value;
}

static void
test_burst (Fixture       *fixture,
            gconstpointer  user_data)
{
  g_autoptr(Live) first = NULL;
  g_autoptr(Live) second = NULL;
  g_autoptr(JsonObject) stats = NULL;
  g_auto(GStrv) tokens = NULL;
  gint64 event_id = create_event (fixture, BURST_CAPACITY);
  gint64 started_us, ended_us;
  JsonObject *last = NULL;
  JsonObject *final;
  JsonObject *import;
  g_auto(Burst) burst = { 0 };
  guint n_updates = 0;

  first = live_open (fixture, "/api/v1/live", fixture->token);
  live_expect (first, "authenticated");
  live_subscribe (first, event_id);
  live_expect (first, "snapshot");

  /* The import's progress comes through the feed, up to its end. */
  tokens = import_guests (fixture, event_id, BURST_GUESTS, 0);
  for (;;)
    {
      Received *received = live_next (first, WAIT_MS);
      JsonNode *node;

      g_assert_nonnull (received);
      node = json_object_get_member (received->object, "import");
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        continue;
      import = json_node_get_object (node);
      if (g_strcmp0 (json_object_get_string_member (import, "state"), "done") == 0 &&
          ed_test_json_int (ed_test_json_object (received->object, "stats"), "pending") == BURST_GUESTS)
        break;
    }
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (import, "report"), "imported"), ==, BURST_GUESTS);

  second = live_open (fixture, "/api/v1/live", fixture->token);
  live_expect (second, "authenticated");
  live_subscribe (second, event_id);
  live_expect (second, "snapshot");
  first->read = first->messages->len;
  g_ptr_array_set_size (first->messages, 0);
  first->read = 0;

  started_us = g_get_monotonic_time ();
  start_burst (fixture, tokens, BURST_GUESTS, &burst);
  while (burst.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  ended_us = g_get_monotonic_time ();
  g_assert_cmpuint (burst.failed, ==, 0);

  /* The last update comes within a tick or two of the last answer. */
  run_for (500);
  g_test_message ("%u answers in %.2f s", BURST_GUESTS, (ended_us - started_us) / 1e6);

  stats = get_stats (fixture, event_id);
  for (guint round = 0; round < 2; round++)
    {
      Live *live = round == 0 ? first : second;
      guint most = max_updates_per_second (live);

      n_updates = 0;
      last = NULL;
      for (guint i = 0; i < live->messages->len; i++)
        {
          Received *received = g_ptr_array_index (live->messages, i);

          if (strcmp (type_of (received->object), "update") == 0)
            {
              n_updates++;
              last = received->object;
            }
        }
      g_test_message ("Subscriber %u: %u updates over %.2f s, at most %u in one second",
                      round + 1, n_updates, (ended_us - started_us) / 1e6, most);
      g_assert_nonnull (last);
      g_assert_cmpuint (most, <=, MAX_UPDATES_PER_SECOND);
      g_assert_cmpuint (n_updates, <=, ((ended_us - started_us) / 1000 + 600) / 100 + 2);

      /* The last update is the database's final state. */
      final = ed_test_json_object (last, "stats");
      g_assert_cmpint (ed_test_json_int (final, "accepted"), ==, BURST_CAPACITY);
      g_assert_cmpint (ed_test_json_int (final, "waitlisted"), ==, BURST_GUESTS - BURST_CAPACITY);
      g_assert_cmpint (ed_test_json_int (final, "pending"), ==, 0);
      g_assert_cmpint (ed_test_json_int (final, "seats_left"), ==, 0);
      g_assert_cmpint (ed_test_json_int (final, "accepted"), ==, ed_test_json_int (stats, "accepted"));
      g_assert_cmpint (ed_test_json_int (final, "seats_taken"), ==, ed_test_json_int (stats, "seats_taken"));
      g_assert_cmpint (ed_test_json_int (final, "waitlisted"), ==,
                       count_in_database (fixture, "SELECT count(*) FROM guests WHERE event_id = ? "
                                          "AND status = 'waitlisted'", event_id));
      g_assert_cmpint (ed_test_json_int (final, "accepted"), ==,
                       count_in_database (fixture, "SELECT count(*) FROM guests WHERE event_id = ? "
                                          "AND status = 'accepted'", event_id));
      g_assert_cmpint (ed_test_json_int (ed_test_json_object (last, "waitlist"), "length"), ==, BURST_GUESTS - BURST_CAPACITY);
    }
}

/* A subscriber that stops reading */

/* A WebSocket client on a raw socket with a tiny receive buffer, which
 * can stop reading: what the daemon sends it piles up on the daemon's
 * side at once.
 */
typedef struct
{
  GSocket *socket;
} RawClient;

static void
raw_send_frame (RawClient  *raw,
                const char *text)
{
  gsize length = strlen (text);
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  guint8 header[4] = { 0x81, 0x80, 0, 0 };
  guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (length, <, 65536);
  if (length < 126)
    {
      header[1] |= (guint8) length;
      g_byte_array_append (frame, header, 2);
    }
  else
    {
      header[1] |= 126;
      header[2] = (guint8) (length >> 8);
      header[3] = (guint8) (length & 0xff);
      g_byte_array_append (frame, header, 4);
    }
  g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < length; i++)
    {
      guint8 byte = (guint8) text[i] ^ mask[i % 4];

      g_byte_array_append (frame, &byte, 1);
    }

  g_assert_cmpint (g_socket_send (raw->socket, (const char *) frame->data, frame->len, NULL, &error), ==,
                   (gssize) frame->len);
}

static RawClient *
raw_connect (Fixture    *fixture,
             const char *token)
{
  g_autoptr(GUri) uri = g_uri_parse (ed_test_daemon_get_url (fixture->daemon), G_URI_FLAGS_NONE, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, (guint16) g_uri_get_port (uri));
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autoptr(GString) reply = g_string_new (NULL);
  RawClient *raw = g_new0 (RawClient, 1);

  raw->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_option (raw->socket, SOL_SOCKET, SO_RCVBUF, 2048, &error);
  g_assert_no_error (error);
  g_socket_connect (raw->socket, address, NULL, &error);
  g_assert_no_error (error);

  request = g_strdup_printf ("GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                             g_uri_get_port (uri), token);
  g_socket_send (raw->socket, request, strlen (request), NULL, &error);
  g_assert_no_error (error);

  /* The 101, byte by byte so as not to read into the frames after it. */
  while (!g_str_has_suffix (reply->str, "\r\n\r\n"))
    {
      char c;

      g_assert_cmpint (g_socket_receive (raw->socket, &c, 1, NULL, &error), ==, 1);
      g_string_append_c (reply, c);
    }
  g_assert_true (g_str_has_prefix (reply->str, "HTTP/1.1 101"));

  return raw;
}

/* Reads every frame until the connection ends; returns the close frame's
 * code and reason, and how many text frames came before it.
 */
static void
raw_read_to_close (RawClient  *raw,
                   guint      *close_code,
                   char      **close_reason,
                   guint      *n_text)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  gsize offset = 0;
  char buffer[65536];
  gssize n;

  g_socket_set_timeout (raw->socket, 20);
  while ((n = g_socket_receive (raw->socket, buffer, sizeof buffer, NULL, &error)) > 0)
    g_byte_array_append (data, (const guint8 *) buffer, (guint) n);
  g_assert_no_error (error);

  *close_code = 0;
  *close_reason = NULL;
  *n_text = 0;
  while (offset + 2 <= data->len)
    {
      guint8 opcode = data->data[offset] & 0x0f;
      guint64 length = data->data[offset + 1] & 0x7f;
      gsize header = 2;

      if (length == 126)
        {
          length = ((guint64) data->data[offset + 2] << 8) | data->data[offset + 3];
          header = 4;
        }
      else if (length == 127)
        {
          length = 0;
          for (guint i = 0; i < 8; i++)
            length = (length << 8) | data->data[offset + 2 + i];
          header = 10;
        }
      g_assert_cmpuint (offset + header + length, <=, data->len);

      if (opcode == 0x1)
        (*n_text)++;
      else if (opcode == 0x8 && length >= 2)
        {
          const guint8 *payload = data->data + offset + header;

          *close_code = ((guint) payload[0] << 8) | payload[1];
          *close_reason = g_strndup ((const char *) payload + 2, length - 2);
        }
      offset += header + length;
    }
}

static void
raw_free (RawClient *raw)
{
  g_socket_close (raw->socket, NULL);
  g_object_unref (raw->socket);
  g_free (raw);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawClient, raw_free)

static double
metric_in (const char *text,
           const char *series)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], series) && lines[i][strlen (series)] == ' ')
      return g_ascii_strtod (lines[i] + strlen (series) + 1, NULL);

  return -1;
}

static char *
metrics_text (Fixture *fixture)
{
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/metrics");
  g_autoptr(EdTestResponse) response = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, NULL);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return ed_test_response_get_body_text (response);
}

static double
metric_value (Fixture    *fixture,
              const char *series)
{
  g_autofree char *text = metrics_text (fixture);

  return metric_in (text, series);
}

static void
test_stalled (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autoptr(RawClient) stalled = NULL;
  g_autoptr(Live) healthy = NULL;
  g_autoptr(GPtrArray) all_tokens = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GPtrArray) flat = g_ptr_array_new ();
  g_autofree char *close_reason = NULL;
  gint64 events[STALL_EVENTS];
  g_auto(Burst) burst = { 0 };
  guint close_code = 0;
  guint n_text = 0;
  gint64 started_us;
  gint64 worst_gap_us = 0;
  gint64 last_us;

  for (guint e = 0; e < STALL_EVENTS; e++)
    {
      events[e] = create_event (fixture, 100000);
      g_ptr_array_add (all_tokens, import_guests (fixture, events[e], STALL_GUESTS_PER_EVENT, e * STALL_GUESTS_PER_EVENT));
    }

  /* The stalled client follows every event and never reads. */
  stalled = raw_connect (fixture, fixture->token);
  for (guint e = 0; e < STALL_EVENTS; e++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"subscribe\",\"event\":%" G_GINT64_FORMAT "}", events[e]);

      raw_send_frame (stalled, text);
    }

  healthy = live_open (fixture, "/api/v1/live", fixture->token);
  live_expect (healthy, "authenticated");
  live_subscribe (healthy, events[0]);
  live_expect (healthy, "snapshot");

  /* Answers in every event, for longer than the daemon tolerates a
   * client that does not read; answers are posted in rounds so that
   * the burst lasts.
   */
  for (guint i = 0; i < STALL_GUESTS_PER_EVENT; i++)
    for (guint e = 0; e < STALL_EVENTS; e++)
      g_ptr_array_add (flat, ((char **) g_ptr_array_index (all_tokens, e))[i]);

  started_us = g_get_monotonic_time ();
  last_us = started_us;
  start_burst (fixture, (char **) flat->pdata, flat->len, &burst);
  while (burst.pending > 0)
    {
      guint before = healthy->messages->len;

      g_main_context_iteration (NULL, TRUE);
      if (healthy->messages->len > before)
        {
          gint64 now = g_get_monotonic_time ();

          worst_gap_us = MAX (worst_gap_us, now - last_us);
          last_us = now;
        }
      g_assert_cmpint (g_get_monotonic_time () - started_us, <, STALL_TIMEOUT_S * G_USEC_PER_SEC);
    }
  g_assert_cmpuint (burst.failed, ==, 0);

  /* The daemon gives up on the stalled client a few seconds after it
   * stopped keeping up, traffic or not.
   */
  while (metric_value (fixture, "eventdesk_live_clients_closed_slow_total") < 1)
    {
      run_for (200);
      g_assert_cmpint (g_get_monotonic_time () - started_us, <, STALL_TIMEOUT_S * G_USEC_PER_SEC);
    }

  /* The healthy subscriber kept getting updates all along, and has the
   * final numbers.
   */
  g_test_message ("While the other client stalled, the longest wait between updates was %.0f ms",
                  worst_gap_us / 1000.0);
  g_assert_cmpint (worst_gap_us, <, 1000 * 1000);
  wait_for_update (healthy, "accepted", STALL_GUESTS_PER_EVENT);
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_live_updates_held_total"), >, 0);

  /* The stalled one was closed with a reason, after what it was sent. */
  raw_read_to_close (stalled, &close_code, &close_reason, &n_text);
  g_test_message ("The stalled client had %u messages waiting, then the close: %u %s",
                  n_text, close_code, close_reason);
  g_assert_cmpuint (close_code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_true (g_str_has_prefix (close_reason, "Too slow"));
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_live_clients{channel=\"admin\"}"), ==, 1);
}

/* The public channel */

static void
test_public (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func ((GDestroyNotify) live_free);
  g_autoptr(Live) refused = NULL;
  g_autoptr(Live) again = NULL;
  g_autoptr(Live) broken = NULL;
  g_autofree char *ann = NULL;
  g_autofree char *bob = NULL;
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) node = NULL;
  gint64 event_id = create_event (fixture, 20);
  JsonObject *object;
  Live *page;

  ann = ed_test_api_link_token (fixture, create_guest (fixture, event_id, 1));
  bob = ed_test_api_link_token (fixture, create_guest (fixture, event_id, 2));
  path = g_strdup_printf ("/r/%s/live", ann);

  page = live_open (fixture, path, NULL);
  g_assert_nonnull (page->connection);
  g_ptr_array_add (pages, page);
  object = live_expect (page, "seats");
  g_assert_cmpint (ed_test_json_int (object, "seats_left"), ==, 20);
  g_assert_cmpuint (json_object_get_size (object), ==, 2);

  /* Another guest answers: the number follows, and only the number. */
  answer (fixture, bob, "response=accept&party_size=4");
  object = live_expect (page, "seats");
  g_assert_cmpint (ed_test_json_int (object, "seats_left"), ==, 16);
  node = json_node_init_object (json_node_alloc (), object);
  body = json_to_string (node, FALSE);
  g_assert_null (strstr (body, "example.com"));
  g_assert_null (strstr (body, "Guest"));
  g_assert_cmpuint (json_object_get_size (object), ==, 2);

  /* Changes that leave the seats as they are send nothing. */
  create_guest (fixture, event_id, 3);
  run_for (400);
  g_assert_cmpuint (page->read, ==, page->messages->len);

  /* A few pages per address, no more. */
  for (guint i = 1; i < PUBLIC_PER_ADDRESS; i++)
    {
      page = live_open (fixture, path, NULL);
      g_assert_nonnull (page->connection);
      g_ptr_array_add (pages, page);
      live_expect (page, "seats");
    }
  refused = live_open (fixture, path, NULL);
  g_assert_null (refused->connection);
  g_assert_cmpuint (soup_message_get_status (refused->msg), ==, 429);
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_live_clients{channel=\"public\"}"), ==, PUBLIC_PER_ADDRESS);

  /* Behind a reverse proxy on this machine, the proxy's X-Forwarded-For
   * names the client: another guest is not refused for the first one's
   * pages, and the first one's limit holds through the proxy too.
   */
  page = live_open_from (fixture, path, NULL, "198.51.100.9, 203.0.113.7");
  g_assert_nonnull (page->connection);
  g_ptr_array_add (pages, page);
  live_expect (page, "seats");
  for (guint i = 1; i < PUBLIC_PER_ADDRESS; i++)
    {
      page = live_open_from (fixture, path, NULL, "203.0.113.7");
      g_assert_nonnull (page->connection);
      g_ptr_array_add (pages, page);
    }
  {
    g_autoptr(Live) proxied = live_open_from (fixture, path, NULL, "203.0.113.7");

    g_assert_null (proxied->connection);
    g_assert_cmpuint (soup_message_get_status (proxied->msg), ==, 429);
  }

  /* Closing one makes room. */
  page = g_ptr_array_index (pages, 0);
  soup_websocket_connection_close (page->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  live_wait_closed (page);
  run_for (200);
  again = live_open (fixture, path, NULL);
  g_assert_nonnull (again->connection);
  live_expect (again, "seats");

  /* A link that does not work gets no channel. */
  g_free (path);
  path = g_strdup_printf ("/r/%sx/live", ann);
  broken = live_open (fixture, path, NULL);
  g_assert_null (broken->connection);
  g_assert_cmpuint (soup_message_get_status (broken->msg), ==, SOUP_STATUS_NOT_FOUND);
}

/* Timelines */

static void
run_sql (Fixture    *fixture,
         const char *sql)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}

static JsonObject *
get_timeline (Fixture *fixture,
              gint64   event_id,
              gint64   bucket)
{
  g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL,
                                                    "/api/v1/events/%" G_GINT64_FORMAT "/timeline?bucket=%" G_GINT64_FORMAT,
                                                    event_id, bucket);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return json_object_ref (ed_test_response_get_object (response));
}

static void
test_timeline (Fixture       *fixture,
               gconstpointer  user_data)
{
  g_autoptr(JsonObject) minutes = NULL;
  g_autoptr(JsonObject) hours = NULL;
  g_autoptr(JsonObject) old = NULL;
  g_autofree char *sql = NULL;
  gint64 event_id = create_event (fixture, 2);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_auto(GStrv) tokens = g_new0 (char *, 4 + 1);
  JsonArray *buckets;
  JsonObject *totals;
  gint64 sum_accepted = 0;

  for (guint i = 0; i < 4; i++)
    tokens[i] = ed_test_api_link_token (fixture, create_guest (fixture, event_id, i));

  answer (fixture, tokens[0], "response=accept");
  answer (fixture, tokens[1], "response=accept");
  answer (fixture, tokens[2], "response=accept");  /* waitlisted */
  answer (fixture, tokens[3], "response=decline");
  answer (fixture, tokens[0], "response=decline"); /* promotes the third */

  /* Bad buckets are named. */
  {
    const char *bad[] = { "", "0", "59", "61", "7000", "abc", "100000000000" };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL,
                                                          "/api/v1/events/%" G_GINT64_FORMAT "/timeline?bucket=%s",
                                                          event_id, bad[i]);

        ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
        g_assert_nonnull (ed_test_response_get_error_field (response, "bucket"));
      }
  }
  {
    g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL,
                                                      "/api/v1/events/%" G_GINT64_FORMAT "/timeline", event_id);

    ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  }
  {
    g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL, "/api/v1/events/999/timeline?bucket=60");

    ed_test_assert_status (response, SOUP_STATUS_NOT_FOUND);
  }

  minutes = get_timeline (fixture, event_id, 60);
  g_assert_cmpint (ed_test_json_int (minutes, "bucket"), ==, 60);
  totals = ed_test_json_object (ed_test_json_object (minutes, "totals"), "answers");
  g_assert_cmpint (ed_test_json_int (totals, "accepted"), ==, 3);    /* two answers and one promotion */
  g_assert_cmpint (ed_test_json_int (totals, "declined"), ==, 2);
  g_assert_cmpint (ed_test_json_int (totals, "waitlisted"), ==, 1);
  buckets = json_object_get_array_member (minutes, "buckets");
  g_assert_cmpuint (json_array_get_length (buckets), >=, 1);
  for (guint i = 0; i < json_array_get_length (buckets); i++)
    sum_accepted += ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, i), "answers"), "accepted");
  g_assert_cmpint (sum_accepted, ==, 3);

  hours = get_timeline (fixture, event_id, 3600);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (ed_test_json_object (hours, "totals"), "answers"), "accepted"), ==, 3);

  /* Deliveries count by result, in the bucket of their time; an event
   * a year old needs buckets large enough for its history.
   */
  sql = g_strdup_printf ("UPDATE events SET created_at = %" G_GINT64_FORMAT " WHERE id = %" G_GINT64_FORMAT ";"
                         "INSERT INTO delivery_log (message_id, at, result, code, text) "
                         "SELECT min(id), %" G_GINT64_FORMAT ", 'sent', 250, 'OK' FROM messages;"
                         "INSERT INTO delivery_log (message_id, at, result, code, text) "
                         "SELECT min(id), %" G_GINT64_FORMAT ", 'failed', 550, 'No such user' FROM messages;",
                         now - 365 * 86400, event_id, now - 200 * 86400, now - 100 * 86400);
  run_sql (fixture, sql);

  {
    g_autoptr(EdTestResponse) response = ed_test_api (fixture, "GET", NULL,
                                                      "/api/v1/events/%" G_GINT64_FORMAT "/timeline?bucket=3600", event_id);

    ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
    g_assert_nonnull (strstr (ed_test_response_get_error_field (response, "bucket"), "too small"));
  }
  /* (The daemon's own confirmations and promotion go out now, into the
   * last bucket.)
   */
  old = get_timeline (fixture, event_id, 86400);
  totals = ed_test_json_object (ed_test_json_object (old, "totals"), "messages");
  g_assert_cmpint (ed_test_json_int (totals, "failed"), ==, 1);
  buckets = json_object_get_array_member (old, "buckets");
  g_assert_cmpuint (json_array_get_length (buckets), ==, 3);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, 0), "messages"), "sent"), ==, 1);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, 0), "messages"), "failed"), ==, 0);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, 1), "messages"), "failed"), ==, 1);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, 1), "messages"), "sent"), ==, 0);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, 0), "answers"), "accepted"), ==, 0);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (json_array_get_object_element (buckets, 2), "answers"), "accepted"), ==, 3);

  /* The errors reach the live feed too. */
  {
    g_autoptr(Live) live = live_open (fixture, "/api/v1/live", fixture->token);
    JsonObject *object;
    JsonArray *errors;

    live_expect (live, "authenticated");
    live_subscribe (live, event_id);
    object = live_expect (live, "snapshot");
    errors = json_object_get_array_member (object, "errors");
    g_assert_cmpuint (json_array_get_length (errors), ==, 1);
    g_assert_cmpint (ed_test_json_int (json_array_get_object_element (errors, 0), "code"), ==, 550);
  }
}

/* Metrics */

static void
test_metrics (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/metrics");
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GRegex) sample = g_regex_new ("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
                                          "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? -?[0-9.e+]+$",
                                          0, 0, NULL);
  g_autofree char *text = NULL;
  g_autofree char *ann = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 event_id = create_event (fixture, 5);
  static const char * const families[] = {
    "eventdesk_http_requests_total", "eventdesk_rsvp_guests", "eventdesk_rsvp_seats_taken",
    "eventdesk_queue_messages", "eventdesk_live_clients", "eventdesk_database_size_bytes",
  };
  const char *stats_series = "eventdesk_http_requests_total{method=\"GET\",route=\"/api/v1/events/{id}/stats\",status=\"200\"}";
  double before_requests, before_accepted;
  guint n_samples = 0;

  ann = ed_test_api_link_token (fixture, create_guest (fixture, event_id, 1));

  response = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_true (g_str_has_prefix (ed_test_response_get_header (response, "Content-Type"), "text/plain; version=0.0.4"));
  text = ed_test_response_get_body_text (response);
  g_assert_null (strstr (text, ann));

  /* Every sample belongs to a family announced with HELP and TYPE before it. */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (line[0] == '\0')
        continue;
      if (g_str_has_prefix (line, "# HELP "))
        {
          g_auto(GStrv) parts = g_strsplit (line + 7, " ", 2);

          g_assert_nonnull (parts[1]);
          g_assert_true (lines[i + 1] != NULL && g_str_has_prefix (lines[i + 1], "# TYPE "));
          continue;
        }
      if (g_str_has_prefix (line, "# TYPE "))
        {
          g_auto(GStrv) parts = g_strsplit (line + 7, " ", 2);

          g_assert_true (g_strv_contains ((const char * const []) { "counter", "gauge", NULL }, parts[1]));
          g_assert_false (g_hash_table_contains (types, parts[0]));
          g_hash_table_insert (types, g_strdup (parts[0]), g_strdup (parts[1]));
          continue;
        }
      {
        g_autoptr(GMatchInfo) match = NULL;
        g_autofree char *name = NULL;

        if (!g_regex_match (sample, line, 0, &match))
          g_error ("Not a sample line: %s", line);
        name = g_match_info_fetch (match, 1);
        g_assert_true (g_hash_table_contains (types, name));
        if (g_str_equal (g_hash_table_lookup (types, name), "counter"))
          g_assert_true (g_str_has_suffix (name, "_total"));
        n_samples++;
      }
    }
  g_assert_cmpuint (n_samples, >, 10);
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    g_assert_true (g_hash_table_contains (types, families[i]));
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_database_size_bytes"), >, 4096);

  /* Counters move. */
  before_requests = MAX (metric_value (fixture, stats_series), 0);
  before_accepted = metric_value (fixture, "eventdesk_rsvp_guests{status=\"accepted\"}");
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JsonObject) stats = get_stats (fixture, event_id);

      g_assert_cmpint (ed_test_json_int (stats, "capacity"), ==, 5);
    }
  answer (fixture, ann, "response=accept&party_size=2");
  g_assert_cmpfloat (metric_value (fixture, stats_series), ==, before_requests + 3);
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_rsvp_guests{status=\"accepted\"}"), ==, before_accepted + 1);
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_rsvp_seats_taken"), ==, 2);
  /* The acceptance queued its confirmation (the mailer may be sending it). */
  {
    g_autofree char *now = metrics_text (fixture);

    g_assert_cmpfloat (metric_in (now, "eventdesk_queue_messages{state=\"queued\"}") +
                       metric_in (now, "eventdesk_queue_messages{state=\"sending\"}") +
                       metric_in (now, "eventdesk_queue_messages{state=\"sent\"}"), ==, 1);
  }
  g_assert_cmpfloat (metric_value (fixture, "eventdesk_http_requests_total{method=\"POST\",route=\"/r/{token}\",status=\"200\"}"),
                     ==, 1);

  {
    g_autofree char *path = g_strdup_printf ("/r/%s/live", ann);
    g_autoptr(Live) page = live_open (fixture, path, NULL);
    g_autoptr(Live) admin = live_open (fixture, "/api/v1/live", fixture->token);

    live_expect (page, "seats");
    live_expect (admin, "authenticated");
    g_assert_cmpfloat (metric_value (fixture, "eventdesk_live_clients{channel=\"public\"}"), ==, 1);
    g_assert_cmpfloat (metric_value (fixture, "eventdesk_live_clients{channel=\"admin\"}"), ==, 1);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/live/refused", Fixture, NULL, ed_test_fixture_set_up, test_refused, ed_test_fixture_tear_down);
  g_test_add ("/live/push", Fixture, NULL, ed_test_fixture_set_up, test_push, ed_test_fixture_tear_down);
  g_test_add ("/live/campaign", Fixture, NULL, ed_test_fixture_set_up, test_campaign, ed_test_fixture_tear_down);
  g_test_add ("/live/burst", Fixture, NULL, ed_test_fixture_set_up, test_burst, ed_test_fixture_tear_down);
  g_test_add ("/live/stalled", Fixture, NULL, ed_test_fixture_set_up, test_stalled, ed_test_fixture_tear_down);
  g_test_add ("/live/public", Fixture, NULL, ed_test_fixture_set_up, test_public, ed_test_fixture_tear_down);
  g_test_add ("/live/timeline", Fixture, NULL, ed_test_fixture_set_up, test_timeline, ed_test_fixture_tear_down);
  g_test_add ("/live/metrics", Fixture, NULL, ed_test_fixture_set_up, test_metrics, ed_test_fixture_tear_down);

  return g_test_run ();
}
