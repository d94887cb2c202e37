/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ed-config.h"
#include "ed-daemon-private.h"
#include "ed-test-fixture.h"
#include "ed-test-util.h"

/* What an attacker would try against the real daemon over loopback: every
 * /api route without a session and with forged ones, script and SQL in
 * what organizers and guests type, oversized requests, a burst of password
 * guesses, and the security headers and file permissions that limit what a
 * successful attack could reach.
 */

#define FUTURE_START "2030-06-01T19:00:00+02:00"

#define LOGIN_BURST 40

/* The /api routes anyone may call; every other one needs a session. A new
 * public route must be added here on purpose, or this test fails.
 */
static const char * const public_api_routes[] = {
  "POST /api/v1/session",
  "GET /api/v1/version",
  /* a WebSocket that checks the session itself: a bearer token on the
   * upgrade or, for browsers, in its first message (tests/test-live.c)
   */
  "GET /api/v1/live",
  NULL,
};

typedef EdTestFixture Fixture;

static gint64
post_object (Fixture    *fixture,
             const char *path,
             JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *body = json_to_string (node, FALSE);
  return ed_test_api_create (fixture, body, "%s", path);
}

static gint64
create_event (Fixture    *fixture,
              const char *name,
              const char *description,
              const char *venue)
{
  g_autoptr(JsonObject) event = json_object_new ();

  json_object_set_string_member (event, "name", name);
  json_object_set_string_member (event, "description", description);
  json_object_set_string_member (event, "venue", venue);
  json_object_set_string_member (event, "starts_at", FUTURE_START);
  json_object_set_int_member (event, "capacity", 10);
  return post_object (fixture, "/api/v1/events", event);
}

static gint64
create_guest (Fixture    *fixture,
              gint64      event_id,
              const char *email,
              const char *first_name,
              const char *last_name)
{
  g_autoptr(JsonObject) guest = json_object_new ();
  g_autofree char *path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);

  json_object_set_string_member (guest, "email", email);
  json_object_set_string_member (guest, "first_name", first_name);
  json_object_set_string_member (guest, "last_name", last_name);
  return post_object (fixture, path, guest);
}

static void
assert_healthy (Fixture *fixture)
{
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/healthz");
  g_autoptr(SoupSession) session = ed_test_http_session_new ();
  g_autoptr(EdTestResponse) response = ed_test_http_request (session, "GET", url, NULL, NULL, NULL);

  ed_test_assert_status (response, SOUP_STATUS_OK);
}

/* Tokens made by hand */

static char *
base64url (const void *data,
           gsize       length)
{
  g_autofree char *b64 = g_base64_encode (data, length);
  GString *out = g_string_new (b64);

  g_string_replace (out, "+", "-", 0);
  g_string_replace (out, "/", "_", 0);
  g_string_replace (out, "=", "", 0);
  return g_string_free (out, FALSE);
}

/* header.payload.signature, signed with HMAC @digest over @key, or
 * unsigned when @key is NULL.
 */
static char *
sign (GBytes        *key,
      GChecksumType  digest,
      const char    *header,
      JsonObject    *claims)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), claims);
  g_autofree char *payload = json_to_string (node, FALSE);
  g_autofree char *header_b64 = base64url (header, strlen (header));
  g_autofree char *payload_b64 = base64url (payload, strlen (payload));
  g_autofree char *signing_input = g_strconcat (header_b64, ".", payload_b64, NULL);
  g_autoptr(GHmac) hmac = NULL;
  guint8 mac[64];
  gsize mac_length = sizeof mac;
  g_autofree char *signature = NULL;

  if (key == NULL)
    return g_strconcat (signing_input, ".", NULL);

  hmac = g_hmac_new (digest, g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  g_hmac_update (hmac, (const guchar *) signing_input, -1);
  g_hmac_get_digest (hmac, mac, &mac_length);
  signature = base64url (mac, mac_length);

  return g_strconcat (signing_input, ".", signature, NULL);
}

typedef struct
{
  const char *what;
  char       *authorization; /* NULL: no header at all */
} BadCredential;

/* "Bearer TOKEN", taking the token */
static char *
bearer (char *token)
{
  g_autofree char *owned = token;

  return g_strconcat ("Bearer ", owned, NULL);
}

static GBytes *
read_signing_key (Fixture *fixture)
{
  g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, "secret.key");
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, 32);
  return g_bytes_new_take (contents, length);
}

/* Session tokens an attacker could make: the claims of the fixture's
 * real session, so that only what is named differs.
 */
static GPtrArray *
bad_credentials (Fixture *fixture)
{
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autoptr(GBytes) other_key = g_bytes_new_static ("0123456789abcdef0123456789abcdef", 32);
  g_autoptr(JsonObject) claims = ed_test_token_claims (fixture->token);
  g_autoptr(JsonObject) expired = ed_test_token_claims (fixture->token);
  g_autoptr(JsonObject) rsvp = ed_test_token_claims (fixture->token);
  GPtrArray *list = g_ptr_array_new ();
  static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  BadCredential *c;

  json_object_set_int_member (expired, "exp", g_get_real_time () / G_USEC_PER_SEC - 10);
  json_object_set_string_member (rsvp, "typ", "rsvp");

#define ADD_CREDENTIAL(description, value)            \
  c = g_new0 (BadCredential, 1);                       \
  c->what = (description);                             \
  c->authorization = (value);                          \
  g_ptr_array_add (list, c);

  ADD_CREDENTIAL ("no Authorization header", NULL);
  ADD_CREDENTIAL ("garbage", g_strdup ("Bearer garbage"));
  ADD_CREDENTIAL ("Basic credentials", g_strdup ("Basic YWRtaW46Y29ycmVjdCBob3JzZQ=="));
  ADD_CREDENTIAL ("an empty bearer token", g_strdup ("Bearer "));
  ADD_CREDENTIAL ("signed with another key",
                  bearer (sign (other_key, G_CHECKSUM_SHA256, hs256, claims)));
  ADD_CREDENTIAL ("alg none, unsigned",
                  bearer (sign (NULL, 0, "{\"alg\":\"none\",\"typ\":\"JWT\"}", claims)));
  ADD_CREDENTIAL ("HS512 with the real key",
                  bearer (sign (key, G_CHECKSUM_SHA512, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims)));
  ADD_CREDENTIAL ("RS256 header, HMAC over the real key (algorithm confusion)",
                  bearer (sign (key, G_CHECKSUM_SHA256, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims)));
  ADD_CREDENTIAL ("expired, signed with the real key",
                  bearer (sign (key, G_CHECKSUM_SHA256, hs256, expired)));
  ADD_CREDENTIAL ("an RSVP token as a session",
                  bearer (sign (key, G_CHECKSUM_SHA256, hs256, rsvp)));
#undef ADD_CREDENTIAL

  return list;
}

static void
bad_credential_free (BadCredential *c)
{
  g_free (c->authorization);
  g_free (c);
}

/* The routes of the daemon itself, read from its router: a daemon started
 * in this process on a scratch data directory.
 */
static GStrv
list_routes (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_dir_make_tmp ("eventdesk-test-routes-XXXXXX", &error);
  g_autofree char *db = NULL;
  EdConfig *config = ed_config_new ();
  g_autoptr(EdDaemon) daemon = NULL;
  GStrv routes;
  const char * const files[] = {
    "eventdesk.db", "eventdesk.db-wal", "eventdesk.db-shm", "secret.key", "eventdeskd.lock", NULL,
  };

  g_assert_no_error (error);
  g_free (config->listen);
  config->listen = g_strdup ("127.0.0.1:0");
  g_free (config->data_dir);
  config->data_dir = g_strdup (data_dir);

  daemon = ed_daemon_new (config);
  ed_daemon_start (daemon, &error);
  g_assert_no_error (error);
  routes = ed_router_list (daemon->router);
  ed_daemon_stop (daemon);

  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (data_dir, files[i], NULL);

      g_unlink (path);
    }
  g_rmdir (data_dir);

  return routes;
}

static char *
fill_pattern (const char *pattern,
              gint64      event_id,
              gint64      guest_id)
{
  g_auto(GStrv) segments = g_strsplit (pattern, "/", -1);
  gboolean guests = FALSE;

  for (guint i = 0; segments[i] != NULL; i++)
    {
      if (strcmp (segments[i], "{id}") == 0)
        {
          g_free (segments[i]);
          segments[i] = g_strdup_printf ("%" G_GINT64_FORMAT, guests ? guest_id : event_id);
        }
      else if (strcmp (segments[i], "{token}") == 0)
        {
          g_free (segments[i]);
          segments[i] = g_strdup ("x");
        }
      guests = strcmp (segments[i], "guests") == 0;
    }

  return g_strjoinv ("/", segments);
}

/* Tests */

static void
test_routes_need_session (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_auto(GStrv) routes = list_routes ();
  g_autoptr(GPtrArray) credentials = bad_credentials (fixture);
  gint64 event_id = create_event (fixture, "Kept", "", "");
  gint64 guest_id = create_guest (fixture, event_id, "kept@example.com", "Kept", "Guest");
  guint n_walked = 0;

  g_ptr_array_set_free_func (credentials, (GDestroyNotify) bad_credential_free);

  for (guint i = 0; routes[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (routes[i], " ", 3);
      const char *method = parts[0];
      const char *pattern = parts[1];
      gboolean needs_auth = strcmp (parts[2], "auth") == 0;
      g_autofree char *method_pattern = g_strdup_printf ("%s %s", method, pattern);
      g_autofree char *path = NULL;
      g_autofree char *url = NULL;

      if (!g_str_has_prefix (pattern, "/api/"))
        continue;
      if (!needs_auth)
        {
          if (!g_strv_contains (public_api_routes, method_pattern))
            g_test_message ("%s needs no session, and is not in public_api_routes", method_pattern);
          g_assert_true (g_strv_contains (public_api_routes, method_pattern));
          continue;
        }

      path = fill_pattern (pattern, event_id, guest_id);
      url = ed_test_daemon_url (fixture->daemon, path);

      for (guint j = 0; j < credentials->len; j++)
        {
          const BadCredential *c = g_ptr_array_index (credentials, j);
          const char *headers[] = { "Authorization", c->authorization, NULL };
          g_autoptr(SoupMessage) msg = NULL;
          g_autoptr(EdTestResponse) response = NULL;

          msg = ed_test_http_message_new (method, url, NULL,
                                          strcmp (method, "GET") == 0 || strcmp (method, "DELETE") == 0 ? NULL : "{}",
                                          c->authorization ? headers : NULL);
          if (g_str_has_suffix (pattern, "/import"))
            {
              g_autoptr(GBytes) csv = g_bytes_new_static ("email\nintruder@example.com\n", 27);

              soup_message_set_request_body_from_bytes (msg, "text/csv", csv);
            }
          response = ed_test_http_send (fixture->session, msg);

          if (response->status != SOUP_STATUS_UNAUTHORIZED)
            g_test_message ("%s %s with %s: %u", method, path, c->what, response->status);
          ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");
          g_assert_nonnull (ed_test_response_get_header (response, "WWW-Authenticate"));
        }
      n_walked++;
    }

  /* the router was read, not an empty list: events, guests, session,
   * import and export, links at least
   */
  g_test_message ("%u /api routes need a session", n_walked);
  g_assert_cmpuint (n_walked, >=, 15);

  /* nothing the refused requests asked for happened */
  {
    g_autoptr(EdTestResponse) guest = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);
    g_autoptr(EdTestResponse) events = ed_test_api (fixture, "GET", NULL, "/api/v1/events");
    g_autoptr(EdTestResponse) guests = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);

    ed_test_assert_status (guest, SOUP_STATUS_OK);
    g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (guest), "first_name"), ==, "Kept");
    ed_test_assert_status (events, SOUP_STATUS_OK);
    g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (events), "total"), ==, 1);
    ed_test_assert_status (guests, SOUP_STATUS_OK);
    g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (guests), "total"), ==, 1);
  }
}

/* Every <script> on the page loads a file of the site: nothing inline. */
static void
assert_no_inline_script (const char *html)
{
  for (const char *p = strstr (html, "<script"); p != NULL; p = strstr (p + 1, "<script"))
    g_assert_true (g_str_has_prefix (p, "<script src=\"/r/static/"));
}

static void
test_script_escaped_on_page (Fixture       *fixture,
                             gconstpointer  user_data)
{
  gint64 event_id = create_event (fixture,
                                  "<script>alert('event')</script>",
                                  "Line one <img src=x onerror=alert(1)>\n\n\"><svg onload=alert(2)>",
                                  "</title><script>alert(3)</script>");
  gint64 guest_id = create_guest (fixture, event_id, "mallory@example.com",
                                  "<script>alert('guest')</script>", "&amp; <b>bold</b> javascript:x");
  g_autofree char *token = ed_test_api_link_token (fixture, guest_id);
  g_autofree char *url = NULL;
  g_autoptr(EdTestResponse) page = NULL;
  g_autofree char *html = NULL;
  const char * const headers[] = { "Accept-Language", "en", NULL };

  url = g_strdup_printf ("%s/r/%s", ed_test_daemon_get_url (fixture->daemon), token);
  page = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, headers);
  ed_test_assert_status (page, SOUP_STATUS_OK);
  html = ed_test_response_get_body_text (page);

  assert_no_inline_script (html);
  g_assert_null (strstr (html, "<img"));
  g_assert_null (strstr (html, "<svg"));
  g_assert_null (strstr (html, "<b>"));
  g_assert_null (strstr (html, "</title><script>"));
  /* what they typed is shown, as text */
  g_assert_nonnull (strstr (html, "&lt;/script&gt;"));
  g_assert_nonnull (strstr (html, "&lt;img src=x onerror=alert(1)&gt;"));
}

static void
test_sql_stored_verbatim (Fixture       *fixture,
                          gconstpointer  user_data)
{
  static const char * const names[] = {
    "Robert'); DROP TABLE guests;--",
    "\" OR \"1\"=\"1",
    "100% _under_ \\back\\slash",
    "' UNION SELECT password_hash FROM admins --",
    "x'||(SELECT sqlite_version())||'",
  };
  const char *event_name = "Gala'; DELETE FROM events WHERE '1'='1";
  gint64 event_id = create_event (fixture, event_name, "--\n/* comment */ ;", "%");
  gint64 ids[G_N_ELEMENTS (names)];
  g_autoptr(EdTestResponse) event = NULL;
  g_autoptr(EdTestResponse) list = NULL;
  g_autoptr(EdTestResponse) percent = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *email = g_strdup_printf ("o'brien+%u@example.com", i);

      ids[i] = create_guest (fixture, event_id, email, names[i], names[(i + 1) % G_N_ELEMENTS (names)]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(EdTestResponse) guest = ed_test_api (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, ids[i]);
      g_autofree char *email = g_strdup_printf ("o'brien+%u@example.com", i);
      JsonObject *object;

      ed_test_assert_status (guest, SOUP_STATUS_OK);
      object = ed_test_response_get_object (guest);
      g_assert_cmpstr (ed_test_json_string (object, "first_name"), ==, names[i]);
      g_assert_cmpstr (ed_test_json_string (object, "last_name"), ==, names[(i + 1) % G_N_ELEMENTS (names)]);
      g_assert_cmpstr (ed_test_json_string (object, "email"), ==, email);
    }

  event = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (event, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (event), "name"), ==, event_name);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (event), "venue"), ==, "%");

  /* the tables are all there, and the search takes % and _ literally */
  list = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_status (list, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (list), "total"), ==, G_N_ELEMENTS (names));
  percent = ed_test_api (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=%%25%%25%%25", event_id);
  ed_test_assert_status (percent, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (percent), "total"), ==, 0);
}

/* Sends @request on a fresh connection and reads the answer until the
 * daemon closes it or 10 s pass. Returns what came back ("" if nothing).
 */
static char *
raw_exchange (Fixture    *fixture,
              const char *request,
              gsize       length)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GUri) uri = g_uri_parse (ed_test_daemon_get_url (fixture->daemon), G_URI_FLAGS_NONE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  GOutputStream *out;
  GInputStream *in;
  char buffer[4096];
  gssize n;

  g_socket_client_set_timeout (client, 10);
  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri), g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  in = g_io_stream_get_input_stream (G_IO_STREAM (connection));

  /* the daemon may answer and close before it has read it all */
  g_output_stream_write_all (out, request, length, NULL, NULL, NULL);
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (answer, buffer, n);

  return g_string_free (g_steal_pointer (&answer), FALSE);
}

static void
assert_refused (const char *answer,
                const char *what)
{
  g_autofree char *code = NULL;
  gint64 status = 0;

  g_test_message ("%s: %.60s", what, *answer ? answer : "(connection closed)");
  if (*answer == '\0')
    return;
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 "));
  code = g_strndup (answer + 9, 3);
  status = ed_test_parse_int (code, "the status line");
  g_assert_cmpint (status, >=, 400);
  g_assert_cmpint (status, <, 500);
}

static void
test_oversized_requests (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GString) request = g_string_new (NULL);
  g_autofree char *big = g_strnfill (256 * 1024, 'a');
  g_autofree char *answer = NULL;

  /* one huge header */
  g_string_printf (request, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
  answer = raw_exchange (fixture, request->str, request->len);
  assert_refused (answer, "a 256 KiB header");
  assert_healthy (fixture);

  /* thousands of small headers */
  g_string_assign (request, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (request, "X-H%u: v\r\n", i);
  g_string_append (request, "\r\n");
  g_clear_pointer (&answer, g_free);
  answer = raw_exchange (fixture, request->str, request->len);
  assert_refused (answer, "20,000 headers");
  assert_healthy (fixture);

  /* a 256 KiB path */
  g_string_printf (request, "GET /r/%s HTTP/1.1\r\nHost: x\r\n\r\n", big);
  g_clear_pointer (&answer, g_free);
  answer = raw_exchange (fixture, request->str, request->len);
  assert_refused (answer, "a 256 KiB path");
  assert_healthy (fixture);

  /* a body announced far over the limit is refused before it comes, to a
   * client that waits for "100 Continue" as big uploads do
   */
  g_string_printf (request,
                   "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n",
                   fixture->token);
  g_clear_pointer (&answer, g_free);
  answer = raw_exchange (fixture, request->str, request->len);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 413 "));
  assert_healthy (fixture);

  /* the same over the login route, which needs no session */
  g_string_printf (request,
                   "POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n");
  g_clear_pointer (&answer, g_free);
  answer = raw_exchange (fixture, request->str, request->len);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 413 "));
  assert_healthy (fixture);
}

static void
on_login_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  guint *n_left = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  (*n_left)--;
}

static void
test_login_burst (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("max-conns", LOGIN_BURST + 2,
                                                                  "max-conns-per-host", LOGIN_BURST + 2,
                                                                  "timeout", 60, NULL);
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/session");
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(EdTestResponse) right = NULL;
  guint n_left = LOGIN_BURST;
  guint n_unauthorized = 0, n_throttled = 0, n_other = 0;

  for (guint i = 0; i < LOGIN_BURST; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"guess %u\"}",
                                               i % 2 ? ED_TEST_ADMIN_NAME : "ADMIN", i);
      SoupMessage *msg = ed_test_http_message_new ("POST", url, NULL, body, NULL);

      g_ptr_array_add (messages, msg);
    }
  for (guint i = 0; i < LOGIN_BURST; i++)
    soup_session_send_and_read_async (session, g_ptr_array_index (messages, i), G_PRIORITY_DEFAULT,
                                      NULL, on_login_done_cb, &n_left);
  while (n_left > 0)
    g_main_context_iteration (NULL, TRUE);

  for (guint i = 0; i < LOGIN_BURST; i++)
    {
      guint status = soup_message_get_status (g_ptr_array_index (messages, i));

      if (status == SOUP_STATUS_UNAUTHORIZED)
        n_unauthorized++;
      else if (status == 429)
        n_throttled++;
      else
        n_other++;
    }
  g_test_message ("%d guesses at once: %u checked (401), %u refused unchecked (429)",
                  LOGIN_BURST, n_unauthorized, n_throttled);

  /* no guess got through; only the few free ones were checked at all */
  g_assert_cmpuint (n_other, ==, 0);
  g_assert_cmpuint (n_unauthorized, <=, 4);
  g_assert_cmpuint (n_throttled, >=, LOGIN_BURST - 4);

  /* and guesses one after the other are soon refused unchecked too */
  for (guint i = 0; i < 6; i++)
    {
      g_clear_pointer (&right, ed_test_response_free);
      right = ed_test_http_request (fixture->session, "POST", url, NULL,
                                    "{\"username\":\"admin\",\"password\":\"one more guess\"}", NULL);
      if (right->status == 429)
        break;
      ed_test_assert_status (right, SOUP_STATUS_UNAUTHORIZED);
    }
  ed_test_assert_error (right, 429, "too_many_attempts");
  g_assert_nonnull (ed_test_response_get_header (right, "Retry-After"));
}

static void
test_security_headers (Fixture       *fixture,
                       gconstpointer  user_data)
{
  gint64 event_id = create_event (fixture, "Headers", "", "");
  gint64 guest_id = create_guest (fixture, event_id, "h@example.com", "H", "G");
  g_autofree char *token = ed_test_api_link_token (fixture, guest_id);
  const char * const suffixes[] = { "", "/seats", "-not-a-token" };
  g_autoptr(EdTestResponse) json = ed_test_api (fixture, "GET", NULL, "/api/v1/events");

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *url = g_strdup_printf ("%s/r/%s%s", ed_test_daemon_get_url (fixture->daemon),
                                              token, suffixes[i]);
      g_autoptr(EdTestResponse) page = ed_test_http_request (fixture->session, "GET", url, NULL, NULL, NULL);
      const char *csp = ed_test_response_get_header (page, "Content-Security-Policy");
      const char *type = ed_test_response_get_header (page, "Content-Type");

      g_test_message ("/r/TOKEN%s: %u %s", suffixes[i], page->status, type);
      g_assert_cmpstr (ed_test_response_get_header (page, "X-Content-Type-Options"), ==, "nosniff");
      if (type == NULL || !g_str_has_prefix (type, "text/html"))
        continue;

      /* a strict policy: nothing inline, nothing from elsewhere, no framing */
      g_assert_nonnull (csp);
      g_assert_nonnull (strstr (csp, "default-src 'none'"));
      g_assert_nonnull (strstr (csp, "script-src 'self'"));
      g_assert_null (strstr (csp, "unsafe-inline"));
      g_assert_null (strstr (csp, "unsafe-eval"));
      g_assert_null (strstr (csp, "*"));
      g_assert_nonnull (strstr (csp, "frame-ancestors 'none'"));
      g_assert_nonnull (strstr (csp, "form-action 'self'"));
      g_assert_nonnull (strstr (csp, "base-uri 'none'"));
      g_assert_cmpstr (ed_test_response_get_header (page, "X-Frame-Options"), ==, "DENY");
      g_assert_cmpstr (ed_test_response_get_header (page, "Referrer-Policy"), ==, "no-referrer");
      g_assert_cmpstr (ed_test_response_get_header (page, "Cache-Control"), ==, "no-store");
    }

  ed_test_assert_status (json, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_response_get_header (json, "X-Content-Type-Options"), ==, "nosniff");
  g_assert_cmpstr (ed_test_response_get_header (json, "Cache-Control"), ==, "no-store");
}

static void
test_secret_permissions (Fixture       *fixture,
                         gconstpointer  user_data)
{
  const char *data_dir = ed_test_daemon_get_data_dir (fixture->daemon);
  const char * const files[] = { "secret.key", "eventdesk.db", "eventdesk.db-wal", "eventdeskd.lock" };
  struct stat st;

  g_assert_cmpint (g_stat (data_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = ed_test_daemon_get_path (fixture->daemon, files[i]);

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_test_message ("%s: %o", files[i], st.st_mode & 0777);
      g_assert_cmpint (st.st_mode & 077, ==, 0);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

#define ADD(path, test) \
  g_test_add (path, Fixture, NULL, ed_test_fixture_set_up, test, ed_test_fixture_tear_down)

  ADD ("/attacks/routes/need-session", test_routes_need_session);
  ADD ("/attacks/escaping/rsvp-page", test_script_escaped_on_page);
  ADD ("/attacks/sql/verbatim", test_sql_stored_verbatim);
  ADD ("/attacks/http/oversized", test_oversized_requests);
  ADD ("/attacks/login/burst", test_login_burst);
  ADD ("/attacks/headers/rsvp", test_security_headers);
  ADD ("/attacks/files/permissions", test_secret_permissions);

#undef ADD

  return g_test_run ();
}
