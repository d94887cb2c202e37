/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <errno.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ed-test-fixture.h"

/* Integration tests of eventdeskd's HTTP API: each test starts the real
 * daemon on a fresh data directory and talks to it over loopback, as the
 * app and the CLI do.
 */

#define OTHER_ADMIN_NAME "carol"
#define OTHER_ADMIN_PASSWORD "a different long secret"
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define MAX_BODY_SIZE (1024 * 1024)
#define HTTP_STATUS_TOO_MANY_REQUESTS 429

typedef EdTestFixture Fixture;

typedef struct
{
  gint64  id;
  char   *email;
  char   *first_name;
  char   *last_name;
} GuestRow;

static void
guest_row_free (GuestRow *row)
{
  g_free (row->email);
  g_free (row->first_name);
  g_free (row->last_name);
  g_free (row);
}

/* Fixtures */

static void
fixture_set_up_stopped (Fixture       *fixture,
                        gconstpointer  user_data)
{
  fixture->daemon = ed_test_daemon_new ();
  fixture->session = ed_test_http_session_new ();
}

static char *
login (Fixture    *fixture,
       const char *username,
       const char *password)
{
  return ed_test_http_login (fixture->session, ed_test_daemon_get_url (fixture->daemon),
                             username, password);
}

/* A running daemon with one admin, who is logged in. */
static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture_set_up_stopped (fixture, user_data);
  ed_test_daemon_add_admin (fixture->daemon, ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);
  fixture->token = login (fixture, ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_clear_pointer (&fixture->token, g_free);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->daemon, ed_test_daemon_free);
}

/* Requests */

static EdTestResponse *
request_as (Fixture    *fixture,
            const char *token,
            const char *method,
            const char *path,
            const char *json_body)
{
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request (fixture->session, method, url, token, json_body, NULL);
}

/* A request as the logged-in admin. */
static EdTestResponse *
request (Fixture    *fixture,
         const char *method,
         const char *path,
         const char *json_body)
{
  return request_as (fixture, fixture->token, method, path, json_body);
}

static EdTestResponse *request_printf (Fixture    *fixture,
                                       const char *method,
                                       const char *json_body,
                                       const char *path_format,
                                       ...) G_GNUC_PRINTF (4, 5);

static EdTestResponse *
request_printf (Fixture    *fixture,
                const char *method,
                const char *json_body,
                const char *path_format,
                ...)
{
  g_autofree char *path = NULL;
  va_list args;

  va_start (args, path_format);
  path = g_strdup_vprintf (path_format, args);
  va_end (args);

  return request (fixture, method, path, json_body);
}

static EdTestResponse *
request_with_headers (Fixture            *fixture,
                      const char         *method,
                      const char         *path,
                      const char         *json_body,
                      const char * const *headers)
{
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, path);

  return ed_test_http_request (fixture->session, method, url, fixture->token, json_body, headers);
}

static char *
login_body (const char *username,
            const char *password)
{
  return g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
}

/* JSON
 *
 * Assertions do not end a test (g_test_set_nonfatal_assertions()), so that
 * its teardown runs and the other tests still do; the accessors of
 * ed-test-fixture.h fail the test without crashing it.
 */

/* Whether @object has @name set to null; a missing member fails the test. */
static gboolean
is_null (JsonObject *object,
         const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL)
    g_test_message ("The answer has no member “%s”", name);
  g_assert_nonnull (node);

  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

/* A node of the answer's object, to keep after the answer is freed. */
static JsonNode *
copy_object_node (EdTestResponse *response)
{
  JsonNode *node = json_node_alloc ();

  return json_node_init_object (node, ed_test_response_get_object (response));
}

static void
assert_json_equal (JsonNode *a,
                   JsonNode *b)
{
  gboolean equal = a != NULL && b != NULL && json_node_equal (a, b);

  if (!equal)
    {
      g_autofree char *text_a = a ? json_to_string (a, FALSE) : g_strdup ("nothing");
      g_autofree char *text_b = b ? json_to_string (b, FALSE) : g_strdup ("nothing");

      g_test_message ("Expected %s\n     got %s", text_a, text_b);
    }
  g_assert_true (equal);
}

/* Asserts a 400 with code invalid_field that names each of @names (NULL-terminated). */
static void
assert_fields_named (EdTestResponse     *response,
                     const char * const *names)
{
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_field");
  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *message = ed_test_response_get_error_field (response, names[i]);

      if (message == NULL)
        {
          g_test_message ("error.fields does not name “%s”", names[i]);
          ed_test_response_dump (response);
        }
      g_assert_nonnull (message);
      g_assert_cmpstr (message, !=, "");
    }
}

static void
assert_field_named (EdTestResponse *response,
                    const char     *name)
{
  const char * const names[] = { name, NULL };

  assert_fields_named (response, names);
}

/* Resolves a Location header against the daemon. */
static char *
location_path (EdTestResponse *response)
{
  const char *location = ed_test_response_get_header (response, "Location");
  const char *path = location;

  if (location != NULL && g_str_has_prefix (location, "http://"))
    path = strchr (location + strlen ("http://"), '/');

  if (path == NULL || path[0] != '/')
    g_test_message ("Location: %s", location ? location : "(none)");
  g_assert_true (path != NULL && path[0] == '/');

  return g_strdup (path != NULL ? path : "/");
}

/* Events and guests */

static gint64
create_event (Fixture    *fixture,
              const char *name)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\",\"starts_at\":\"2027-05-01T18:00:00Z\","
                                           "\"capacity\":100}", name);

  response = request (fixture, "POST", "/api/v1/events", body);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return ed_test_json_int (ed_test_response_get_object (response), "id");
}

/* Creates a guest and returns the daemon's answer. */
static JsonNode *
create_guest (Fixture    *fixture,
              gint64      event_id,
              const char *email,
              const char *first_name,
              const char *last_name)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"first_name\":\"%s\",\"last_name\":\"%s\"}",
                                           email, first_name, last_name);

  response = request_printf (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  return copy_object_node (response);
}

static gint64
create_guest_id (Fixture    *fixture,
                 gint64      event_id,
                 const char *email,
                 const char *first_name,
                 const char *last_name)
{
  g_autoptr(JsonNode) guest = create_guest (fixture, event_id, email, first_name, last_name);

  return ed_test_json_int (json_node_get_object (guest), "id");
}

static GuestRow *
add_guest_row (Fixture    *fixture,
               GPtrArray  *rows,
               gint64      event_id,
               const char *email,
               const char *first_name,
               const char *last_name)
{
  g_autoptr(JsonNode) guest = create_guest (fixture, event_id, email, first_name, last_name);
  JsonObject *object = json_node_get_object (guest);
  GuestRow *row = g_new0 (GuestRow, 1);

  row->id = ed_test_json_int (object, "id");
  row->email = g_strdup (ed_test_json_string (object, "email"));
  row->first_name = g_strdup (ed_test_json_string (object, "first_name"));
  row->last_name = g_strdup (ed_test_json_string (object, "last_name"));
  g_ptr_array_add (rows, row);

  return row;
}

static JsonObject *
get_stats (Fixture *fixture,
           gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/stats", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return json_object_ref (ed_test_response_get_object (response));
}

static gint64
count_events (Fixture *fixture)
{
  g_autoptr(EdTestResponse) response = request (fixture, "GET", "/api/v1/events", NULL);

  ed_test_assert_status (response, SOUP_STATUS_OK);
  return ed_test_json_int (ed_test_response_get_object (response), "total");
}

static gint64
count_guests (Fixture *fixture,
              gint64   event_id)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  return ed_test_json_int (ed_test_response_get_object (response), "total");
}

/**
 * list_guest_ids:
 * @query: more query parameters ("sort=name&q=ann"), or ""
 * @expected_total: the total every page must report
 *
 * Follows `next` page by page and checks each page's bookkeeping.
 *
 * Returns: the ids in the order the pages gave them
 */
static GArray *
list_guest_ids (Fixture    *fixture,
                gint64      event_id,
                const char *query,
                guint       limit,
                gint64      expected_total)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 after = 0;
  guint max_pages = (guint) MAX (expected_total, 0) / limit + 2;

  for (guint page = 0; page < max_pages; page++)
    {
      g_autoptr(EdTestResponse) response = NULL;
      g_autofree char *after_param = after > 0 ? g_strdup_printf ("&after=%" G_GINT64_FORMAT, after)
                                               : g_strdup ("");
      JsonObject *object;
      JsonArray *items;
      guint n_items;

      response = request_printf (fixture, "GET", NULL,
                                 "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=%u&%s%s",
                                 event_id, limit, query, after_param);
      ed_test_assert_status (response, SOUP_STATUS_OK);
      object = ed_test_response_get_object (response);
      items = ed_test_json_array (object, "items");
      n_items = json_array_get_length (items);

      g_assert_cmpint (ed_test_json_int (object, "total"), ==, expected_total);
      g_assert_cmpuint (n_items, <=, limit);
      for (guint i = 0; i < n_items; i++)
        {
          JsonObject *guest = json_array_get_object_element (items, i);
          gint64 id = ed_test_json_int (guest, "id");

          g_assert_cmpint (ed_test_json_int (guest, "event_id"), ==, event_id);
          g_array_append_val (ids, id);
        }

      if (is_null (object, "next"))
        return ids;

      /* A page with a next one is full and ends where the next starts. */
      g_assert_cmpuint (n_items, ==, limit);
      after = ed_test_json_int (object, "next");
      if (ids->len > 0)
        g_assert_cmpint (after, ==, g_array_index (ids, gint64, ids->len - 1));
    }

  g_test_fail_printf ("The pages did not end after %u pages", max_pages);
  return ids;
}

static int
compare_rows_by_created (gconstpointer a,
                         gconstpointer b)
{
  const GuestRow *row_a = *(const GuestRow * const *) a;
  const GuestRow *row_b = *(const GuestRow * const *) b;

  return (row_a->id > row_b->id) - (row_a->id < row_b->id);
}

/* Names and emails sort without regard to case, as people expect. */
static int
compare_rows_by_name (gconstpointer a,
                      gconstpointer b)
{
  const GuestRow *row_a = *(const GuestRow * const *) a;
  const GuestRow *row_b = *(const GuestRow * const *) b;
  int result = g_ascii_strcasecmp (row_a->last_name, row_b->last_name);

  if (result == 0)
    result = g_ascii_strcasecmp (row_a->first_name, row_b->first_name);
  if (result == 0)
    result = compare_rows_by_created (a, b);

  return result;
}

static int
compare_rows_by_email (gconstpointer a,
                       gconstpointer b)
{
  const GuestRow *row_a = *(const GuestRow * const *) a;
  const GuestRow *row_b = *(const GuestRow * const *) b;
  int result = g_ascii_strcasecmp (row_a->email, row_b->email);

  return result != 0 ? result : compare_rows_by_created (a, b);
}

/* Tokens */

static char *
base64url_encode (const guint8 *data,
                  gsize         length)
{
  g_autofree char *base64 = g_base64_encode (data, length);
  GString *text = g_string_new (base64);

  g_string_replace (text, "+", "-", 0);
  g_string_replace (text, "/", "_", 0);
  g_string_replace (text, "=", "", 0);

  return g_string_free (text, FALSE);
}

static char *
base64url_decode (const char *segment,
                  gsize       length)
{
  g_autoptr(GString) text = g_string_new_len (segment, (gssize) length);
  g_autofree guchar *raw = NULL;
  gsize raw_length;

  g_string_replace (text, "-", "+", 0);
  g_string_replace (text, "_", "/", 0);
  while (text->len % 4 != 0)
    g_string_append_c (text, '=');

  raw = g_base64_decode (text->str, &raw_length);
  return g_strndup ((const char *) raw, raw_length);
}

static char *
encode_segment (const char *json)
{
  return base64url_encode ((const guint8 *) json, strlen (json));
}

/* The claims of a token the daemon issued. */
static JsonObject *
decode_claims (const char *token)
{
  g_auto(GStrv) parts = g_strsplit (token ? token : "", ".", -1);
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  if (g_strv_length (parts) != 3)
    return json_object_new ();

  json = base64url_decode (parts[1], strlen (parts[1]));
  node = json_from_string (json, &error);
  g_assert_no_error (error);
  g_assert_true (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return json_object_new ();

  return json_object_ref (json_node_get_object (node));
}

/* The daemon's signing key, which a forger is assumed to have stolen. */
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

/* Builds a JWT by hand: base64url(header) "." base64url(claims) "." HMAC. */
static char *
sign_token (GBytes        *key,
            GChecksumType  digest_type,
            const char    *header_json,
            const char    *claims_json)
{
  g_autofree char *header = encode_segment (header_json);
  g_autofree char *claims = encode_segment (claims_json);
  g_autofree char *signing_input = g_strconcat (header, ".", claims, NULL);
  g_autofree char *signature = NULL;
  g_autoptr(GHmac) hmac = NULL;
  guint8 digest[64];
  gsize digest_length = sizeof digest;
  gsize key_length;
  const guchar *key_data = g_bytes_get_data (key, &key_length);

  hmac = g_hmac_new (digest_type, key_data, key_length);
  g_hmac_update (hmac, (const guchar *) signing_input, -1);
  g_hmac_get_digest (hmac, digest, &digest_length);
  signature = base64url_encode (digest, digest_length);

  return g_strconcat (signing_input, ".", signature, NULL);
}

/* Session claims like the daemon's own, with the parts a test varies. */
static char *
session_claims (JsonObject *real_claims,
                const char *type,
                gint64      expires_in,
                const char *session_id)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  return g_strdup_printf ("{\"sub\":\"%s\",\"aid\":%" G_GINT64_FORMAT ",\"jti\":\"%s\","
                          "\"typ\":\"%s\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT "}",
                          ed_test_json_string (real_claims, "sub"), ed_test_json_int (real_claims, "aid"),
                          session_id ? session_id : ed_test_json_string (real_claims, "jti"),
                          type, now - 10, now + expires_in);
}

/* A correctly signed HS256 session token for the fixture's real session. */
static char *
forge_session_token (Fixture *fixture)
{
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autoptr(JsonObject) real_claims = decode_claims (fixture->token);
  g_autofree char *claims = session_claims (real_claims, "session", 600, NULL);

  return sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, claims);
}

static void
assert_token_accepted (Fixture    *fixture,
                       const char *token)
{
  g_autoptr(EdTestResponse) response = request_as (fixture, token, "GET", "/api/v1/events", NULL);

  ed_test_assert_status (response, SOUP_STATUS_OK);
}

static void
assert_token_refused (Fixture    *fixture,
                      const char *token)
{
  g_autoptr(EdTestResponse) response = NULL;

  g_test_message ("Trying token %.80s", token);
  response = request_as (fixture, token, "GET", "/api/v1/events", NULL);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");
  g_assert_nonnull (ed_test_response_get_header (response, "WWW-Authenticate"));

  /* Nor can it write. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, token, "POST", "/api/v1/events",
                         "{\"name\":\"Intruder\",\"starts_at\":\"2027-01-01T00:00:00Z\",\"capacity\":1}");
  ed_test_assert_status (response, SOUP_STATUS_UNAUTHORIZED);
}

/* /api/session */

static void
test_session_login (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GDateTime) expires_at = NULL;
  g_autofree char *body = login_body (ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  g_auto(GStrv) parts = NULL;
  JsonObject *object;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  response = request_as (fixture, NULL, "POST", "/api/v1/session", body);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  object = ed_test_response_get_object (response);

  parts = g_strsplit (ed_test_json_string (object, "token"), ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  for (guint i = 0; parts[i] != NULL; i++)
    g_assert_cmpstr (parts[i], !=, "");

  expires_at = g_date_time_new_from_iso8601 (ed_test_json_string (object, "expires_at"), NULL);
  g_assert_nonnull (expires_at);
  if (expires_at != NULL)
    {
      g_assert_cmpint (g_date_time_to_unix (expires_at), >, now + 60);
      g_assert_cmpint (g_date_time_to_unix (expires_at), <=, now + 31 * 24 * 3600);
    }

  /* The token opens the API. */
  assert_token_accepted (fixture, ed_test_json_string (object, "token"));
}

static void
test_session_login_invalid (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request_as (fixture, NULL, "POST", "/api/v1/session", "{\"username\":\"" ED_TEST_ADMIN_NAME "\"}");
  assert_field_named (response, "password");

  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, NULL, "POST", "/api/v1/session",
                         "{\"username\":\"" ED_TEST_ADMIN_NAME "\",\"password\":\"" ED_TEST_ADMIN_PASSWORD "\",\"remember\":true}");
  assert_field_named (response, "remember");
}

static void
test_session_wrong_password (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *body = login_body (ED_TEST_ADMIN_NAME, "not the password");

  response = request_as (fixture, NULL, "POST", "/api/v1/session", body);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials");
  g_assert_false (json_object_has_member (ed_test_response_get_object (response), "token"));
}

/* Whether a name is an admin's must not show in the answer. */
static void
test_session_unknown_user (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) wrong_password = NULL;
  g_autoptr(EdTestResponse) unknown_user = NULL;
  g_autofree char *wrong_password_body = login_body (ED_TEST_ADMIN_NAME, "not the password");
  g_autofree char *unknown_user_body = login_body ("nobody", "not the password");
  g_autofree char *wrong_password_text = NULL;
  g_autofree char *unknown_user_text = NULL;

  wrong_password = request_as (fixture, NULL, "POST", "/api/v1/session", wrong_password_body);
  unknown_user = request_as (fixture, NULL, "POST", "/api/v1/session", unknown_user_body);

  ed_test_assert_error (unknown_user, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials");
  g_assert_cmpuint (unknown_user->status, ==, wrong_password->status);
  wrong_password_text = ed_test_response_get_body_text (wrong_password);
  unknown_user_text = ed_test_response_get_body_text (unknown_user);
  g_assert_cmpstr (unknown_user_text, ==, wrong_password_text);
  g_assert_cmpstr (ed_test_response_get_header (unknown_user, "WWW-Authenticate"), ==,
                   ed_test_response_get_header (wrong_password, "WWW-Authenticate"));
  g_assert_cmpstr (ed_test_response_get_header (unknown_user, "Content-Type"), ==,
                   ed_test_response_get_header (wrong_password, "Content-Type"));
}

static void
test_session_logout (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *other_token = login (fixture, ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);

  response = request (fixture, "DELETE", "/api/v1/session", NULL);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", "/api/v1/events", NULL);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "DELETE", "/api/v1/session", NULL);
  ed_test_assert_status (response, SOUP_STATUS_UNAUTHORIZED);

  /* Logging out ends that session only. */
  assert_token_accepted (fixture, other_token);
}

/* Fails logins of @username until one is refused with 429; returns how
 * many were answered 401 before that, and the 429 answer (NULL, failing
 * the test, if none came).
 */
static guint
fail_logins_until_throttled (Fixture         *fixture,
                             const char      *username,
                             EdTestResponse **throttled)
{
  g_autofree char *body = login_body (username, "wrong password");

  for (guint failures = 0; failures < 10; failures++)
    {
      g_autoptr(EdTestResponse) response = request_as (fixture, NULL, "POST", "/api/v1/session", body);

      if (response->status == HTTP_STATUS_TOO_MANY_REQUESTS)
        {
          *throttled = g_steal_pointer (&response);
          return failures;
        }
      ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials");
    }

  g_test_fail_printf ("Ten failed logins for “%s” in a row were never throttled", username);
  return 10;
}

static void
test_session_throttle (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) throttled = NULL;
  g_autoptr(EdTestResponse) unknown_throttled = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *right = login_body (OTHER_ADMIN_NAME, OTHER_ADMIN_PASSWORD);
  g_autofree char *right_other_case = login_body ("CAROL", OTHER_ADMIN_PASSWORD);
  g_autofree char *admin_token = NULL;
  g_autofree char *carol_token = NULL;
  const char *retry_after;
  guint64 seconds = 1;
  guint failures;

  ed_test_daemon_add_admin (fixture->daemon, ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  ed_test_daemon_add_admin (fixture->daemon, OTHER_ADMIN_NAME, OTHER_ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);

  failures = fail_logins_until_throttled (fixture, OTHER_ADMIN_NAME, &throttled);
  if (throttled == NULL)
    return;
  g_assert_cmpuint (failures, >=, 1);
  ed_test_assert_error (throttled, HTTP_STATUS_TOO_MANY_REQUESTS, "too_many_attempts");
  retry_after = ed_test_response_get_header (throttled, "Retry-After");
  g_assert_nonnull (retry_after);
  g_assert_true (retry_after != NULL &&
                 g_ascii_string_to_unsigned (retry_after, 10, 1, 3600, &seconds, NULL));

  /* Even the right password waits. */
  response = request_as (fixture, NULL, "POST", "/api/v1/session", right);
  ed_test_assert_error (response, HTTP_STATUS_TOO_MANY_REQUESTS, "too_many_attempts");
  g_assert_nonnull (ed_test_response_get_header (response, "Retry-After"));

  /* The same account written in other case is the same account. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, NULL, "POST", "/api/v1/session", right_other_case);
  ed_test_assert_status (response, HTTP_STATUS_TOO_MANY_REQUESTS);

  /* Other accounts are not locked out. */
  admin_token = login (fixture, ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  assert_token_accepted (fixture, admin_token);

  /* An unknown name is throttled exactly like a real one. */
  g_assert_cmpuint (fail_logins_until_throttled (fixture, "nobody", &unknown_throttled), ==, failures);

  /* Once the wait is over, the right password works again. */
  g_usleep (seconds * G_USEC_PER_SEC + G_USEC_PER_SEC / 10);
  carol_token = login (fixture, OTHER_ADMIN_NAME, OTHER_ADMIN_PASSWORD);
  assert_token_accepted (fixture, carol_token);
}

/* /api/auth */

static void
test_auth_missing (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/events");

  response = request_as (fixture, NULL, "GET", "/api/v1/events", NULL);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");
  g_assert_nonnull (ed_test_response_get_header (response, "WWW-Authenticate"));

  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, NULL, "POST", "/api/v1/events",
                         "{\"name\":\"Intruder\",\"starts_at\":\"2027-01-01T00:00:00Z\",\"capacity\":1}");
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");

  /* Another scheme is no better than none. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request (fixture->session, "GET", url, NULL, NULL,
                                   (const char * const []) { "Authorization", "Basic YWRtaW46YWRtaW4=", NULL });
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "unauthorized");

  g_assert_cmpint (count_events (fixture), ==, 0);
}

static void
test_auth_garbage (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *long_token = g_strnfill (5000, 'A');
  const char * const garbage[] = {
    "garbage", "a.b.c", "...", "eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.e30.", long_token,
  };

  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++)
    assert_token_refused (fixture, garbage[i]);

  assert_token_accepted (fixture, fixture->token);
}

static void
test_auth_tampered (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_auto(GStrv) parts = g_strsplit (fixture->token ? fixture->token : "", ".", -1);
  g_autofree char *claims = NULL;
  g_autofree char *tampered_claims = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *flipped = NULL;
  char *exp;
  gsize middle;

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  if (g_strv_length (parts) != 3)
    return;
  assert_token_accepted (fixture, fixture->token);

  /* One digit of the expiry changed: still well-formed claims of a live
   * session, so only the signature can give it away.
   */
  claims = base64url_decode (parts[1], strlen (parts[1]));
  exp = strstr (claims, "\"exp\":");
  g_assert_nonnull (exp);
  if (exp == NULL)
    return;
  exp += strlen ("\"exp\":");
  while (g_ascii_isdigit (exp[1]))
    exp++;
  *exp = *exp == '9' ? '8' : (char) (*exp + 1);
  tampered_claims = encode_segment (claims);
  tampered = g_strjoin (".", parts[0], tampered_claims, parts[2], NULL);
  assert_token_refused (fixture, tampered);

  /* One character of the encoded claims changed. */
  flipped = g_strdup (fixture->token);
  middle = strlen (parts[0]) + 1 + strlen (parts[1]) / 2;
  flipped[middle] = flipped[middle] == 'A' ? 'B' : 'A';
  assert_token_refused (fixture, flipped);
}

static void
test_auth_alg_none (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(JsonObject) real_claims = decode_claims (fixture->token);
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autofree char *claims = session_claims (real_claims, "session", 600, NULL);
  g_autofree char *header = encode_segment ("{\"alg\":\"none\",\"typ\":\"JWT\"}");
  g_autofree char *payload = encode_segment (claims);
  g_autofree char *unsigned_token = g_strconcat (header, ".", payload, ".", NULL);
  g_autofree char *two_parts = g_strconcat (header, ".", payload, NULL);
  g_autofree char *none_with_hmac = sign_token (key, G_CHECKSUM_SHA256, "{\"alg\":\"none\",\"typ\":\"JWT\"}", claims);
  g_autofree char *control = sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, claims);

  assert_token_accepted (fixture, control);
  assert_token_refused (fixture, unsigned_token);
  assert_token_refused (fixture, two_parts);
  assert_token_refused (fixture, none_with_hmac);
}

static void
test_auth_other_algorithms (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(JsonObject) real_claims = decode_claims (fixture->token);
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autofree char *claims = session_claims (real_claims, "session", 600, NULL);
  g_autofree char *control = sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, claims);
  g_autofree char *hs384 = sign_token (key, G_CHECKSUM_SHA384, "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", claims);
  g_autofree char *hs512 = sign_token (key, G_CHECKSUM_SHA512, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims);

  assert_token_accepted (fixture, control);
  assert_token_refused (fixture, hs384);
  assert_token_refused (fixture, hs512);
}

static void
test_auth_expired (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(JsonObject) real_claims = decode_claims (fixture->token);
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autofree char *live_claims = session_claims (real_claims, "session", 60, NULL);
  g_autofree char *expired_claims = session_claims (real_claims, "session", -60, NULL);
  g_autofree char *live = sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, live_claims);
  g_autofree char *expired = sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, expired_claims);

  assert_token_accepted (fixture, live);
  assert_token_refused (fixture, expired);
}

static void
test_auth_wrong_type (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(JsonObject) real_claims = decode_claims (fixture->token);
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autofree char *rsvp_claims = session_claims (real_claims, "rsvp", 600, NULL);
  g_autofree char *rsvp = sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, rsvp_claims);
  g_autofree char *control = forge_session_token (fixture);

  assert_token_accepted (fixture, control);
  assert_token_refused (fixture, rsvp);
}

static void
test_auth_unknown_session (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(JsonObject) real_claims = decode_claims (fixture->token);
  g_autoptr(GBytes) key = read_signing_key (fixture);
  g_autofree char *claims = session_claims (real_claims, "session", 600, "0123456789abcdef0123456789abcdef");
  g_autofree char *token = sign_token (key, G_CHECKSUM_SHA256, HS256_HEADER, claims);
  g_autofree char *control = forge_session_token (fixture);

  assert_token_accepted (fixture, control);
  assert_token_refused (fixture, token);
}

/* The forging helpers are right: what they build with the real key and a
 * real session is accepted, so the refusals above are the daemon's doing.
 */
static void
test_auth_forged_valid (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *forged = forge_session_token (fixture);
  g_autoptr(EdTestResponse) response = NULL;

  g_assert_cmpstr (forged, !=, fixture->token);
  response = request_as (fixture, forged, "POST", "/api/v1/events",
                         "{\"name\":\"Forged\",\"starts_at\":\"2027-01-01T00:00:00Z\",\"capacity\":1}");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  assert_token_accepted (fixture, forged);

  /* A forged token of an ended session is refused like the real one. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "DELETE", "/api/v1/session", NULL);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);
  assert_token_refused (fixture, forged);
}

/* /api/events */

static void
test_events_create (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) fetched = NULL;
  g_autofree char *location = NULL;
  g_autofree char *expected_location = NULL;
  JsonObject *event;
  JsonObject *stats;
  gint64 id;

  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Winter Gala\",\"description\":\"Black tie.\\nDinner at eight.\","
                      "\"venue\":\"Grand Hall\",\"timezone\":\"Europe/Berlin\","
                      "\"starts_at\":\"2026-12-31T19:00:00+01:00\",\"ends_at\":\"2027-01-01T02:00:00+01:00\","
                      "\"rsvp_deadline\":\"2026-12-15T00:00:00Z\",\"capacity\":120,"
                      "\"waitlist_enabled\":false,\"max_party_size\":4}");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  event = ed_test_response_get_object (response);
  id = ed_test_json_int (event, "id");
  g_assert_cmpint (id, >, 0);

  location = location_path (response);
  expected_location = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, id);
  g_assert_cmpstr (location, ==, expected_location);

  g_assert_cmpstr (ed_test_json_string (event, "name"), ==, "Winter Gala");
  g_assert_cmpstr (ed_test_json_string (event, "description"), ==, "Black tie.\nDinner at eight.");
  g_assert_cmpstr (ed_test_json_string (event, "venue"), ==, "Grand Hall");
  g_assert_cmpstr (ed_test_json_string (event, "timezone"), ==, "Europe/Berlin");
  g_assert_cmpstr (ed_test_json_string (event, "starts_at"), ==, "2026-12-31T18:00:00Z");
  g_assert_cmpstr (ed_test_json_string (event, "ends_at"), ==, "2027-01-01T01:00:00Z");
  g_assert_cmpstr (ed_test_json_string (event, "rsvp_deadline"), ==, "2026-12-15T00:00:00Z");
  g_assert_cmpint (ed_test_json_int (event, "capacity"), ==, 120);
  g_assert_false (ed_test_json_boolean (event, "waitlist_enabled"));
  g_assert_cmpint (ed_test_json_int (event, "max_party_size"), ==, 4);
  stats = ed_test_json_object (event, "stats");
  g_assert_cmpint (ed_test_json_int (stats, "capacity"), ==, 120);
  g_assert_cmpint (ed_test_json_int (stats, "seats_left"), ==, 120);

  /* What the Location names is the event as created. */
  fetched = request (fixture, "GET", location, NULL);
  ed_test_assert_status (fetched, SOUP_STATUS_OK);
  assert_json_equal (response->json, fetched->json);

  /* Only name, start and capacity are needed; the rest has defaults. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Picnic\",\"starts_at\":\"2027-06-01T12:00:00Z\",\"capacity\":10}");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  event = ed_test_response_get_object (response);
  g_assert_cmpstr (ed_test_json_string (event, "timezone"), ==, "UTC");
  g_assert_cmpstr (ed_test_json_string (event, "description"), ==, "");
  g_assert_cmpstr (ed_test_json_string (event, "venue"), ==, "");
  g_assert_true (is_null (event, "ends_at"));
  g_assert_true (is_null (event, "rsvp_deadline"));
  g_assert_true (ed_test_json_boolean (event, "waitlist_enabled"));
  g_assert_cmpint (ed_test_json_int (event, "max_party_size"), ==, 1);
  g_assert_cmpint (ed_test_json_int (event, "id"), !=, id);

  g_assert_cmpint (count_events (fixture), ==, 2);
}

static char *
event_body_with_name (const char *name)
{
  return g_strdup_printf ("{\"name\":\"%s\",\"starts_at\":\"2027-06-01T12:00:00Z\",\"capacity\":10}", name);
}

/* Lengths count characters, not bytes: 200 is the most for a name. */
static void
test_events_name_length (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GString) name = g_string_new (NULL);
  g_autofree char *longest = NULL;
  g_autofree char *too_long = NULL;

  for (guint i = 0; i < 200; i++)
    g_string_append (name, "é");
  longest = event_body_with_name (name->str);
  response = request (fixture, "POST", "/api/v1/events", longest);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "name"), ==, name->str);

  g_string_append (name, "e");
  too_long = event_body_with_name (name->str);
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events", too_long);
  assert_field_named (response, "name");

  g_assert_cmpint (count_events (fixture), ==, 1);
}

static void
test_events_create_invalid (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  const char * const bad_fields[] = {
    "name", "starts_at", "ends_at", "timezone", "capacity", "max_party_size", "waitlist_enabled", NULL,
  };
  const char * const required_fields[] = { "name", "starts_at", "capacity", NULL };

  /* Every bad field is named at once, not only the first. */
  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"  \",\"starts_at\":\"next friday\",\"ends_at\":42,"
                      "\"timezone\":\"Mars/Olympus_Mons\",\"capacity\":0,\"max_party_size\":1000,"
                      "\"waitlist_enabled\":\"yes\"}");
  assert_fields_named (response, bad_fields);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events", "{}");
  assert_fields_named (response, required_fields);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Backwards\",\"starts_at\":\"2027-05-01T18:00:00Z\","
                      "\"ends_at\":\"2027-05-01T17:00:00Z\",\"capacity\":10}");
  assert_field_named (response, "ends_at");

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Late answers\",\"starts_at\":\"2027-05-01T18:00:00Z\","
                      "\"rsvp_deadline\":\"2027-05-02T00:00:00Z\",\"capacity\":10}");
  assert_field_named (response, "rsvp_deadline");

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Line\\nbreak\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10.5}");
  assert_field_named (response, "name");
  assert_field_named (response, "capacity");

  g_assert_cmpint (count_events (fixture), ==, 0);
}

static void
test_events_create_unknown_field (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Gala\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10,"
                      "\"colour\":\"red\"}");
  assert_field_named (response, "colour");
  g_assert_null (ed_test_response_get_error_field (response, "name"));

  /* Fields the daemon keeps are not the client's to set. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events",
                      "{\"id\":7,\"name\":\"Gala\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10}");
  assert_field_named (response, "id");

  g_assert_cmpint (count_events (fixture), ==, 0);
}

static void
test_events_read (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  gint64 id = create_event (fixture, "Readable");
  const char * const missing[] = {
    "/api/v1/events/999999", "/api/v1/events/0", "/api/v1/events/-1", "/api/v1/events/abc",
    "/api/v1/events/1.5",
  };

  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT, id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "id"), ==, id);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "name"), ==, "Readable");

  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_clear_pointer (&response, ed_test_response_free);
      response = request (fixture, "GET", missing[i], NULL);
      ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
    }
}

static void
test_events_list_paging (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GArray) created = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(EdTestResponse) response = NULL;
  const char * const bad_queries[] = { "limit=0", "limit=501", "limit=-3", "limit=ten", "after=x" };
  gint64 after = 0;
  guint pages = 0;

  for (guint i = 0; i < 7; i++)
    {
      g_autofree char *name = g_strdup_printf ("Event %u", i);
      gint64 id = create_event (fixture, name);

      g_array_append_val (created, id);
    }

  do
    {
      g_autofree char *after_param = after ? g_strdup_printf ("&after=%" G_GINT64_FORMAT, after) : g_strdup ("");
      JsonObject *object;
      JsonArray *items;

      g_clear_pointer (&response, ed_test_response_free);
      response = request_printf (fixture, "GET", NULL, "/api/v1/events?limit=3%s", after_param);
      ed_test_assert_status (response, SOUP_STATUS_OK);
      object = ed_test_response_get_object (response);
      items = ed_test_json_array (object, "items");
      g_assert_cmpint (ed_test_json_int (object, "total"), ==, 7);
      g_assert_cmpuint (json_array_get_length (items), <=, 3);
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          gint64 id = ed_test_json_int (json_array_get_object_element (items, i), "id");

          g_array_append_val (seen, id);
        }

      after = is_null (object, "next") ? 0 : ed_test_json_int (object, "next");
      if (after != 0 && seen->len > 0)
        g_assert_cmpint (after, ==, g_array_index (seen, gint64, seen->len - 1));
      pages++;
    }
  while (after != 0 && pages <= 3);

  g_assert_cmpuint (pages, ==, 3);
  g_assert_cmpmem (seen->data, seen->len * sizeof (gint64), created->data, created->len * sizeof (gint64));

  for (guint i = 0; i < G_N_ELEMENTS (bad_queries); i++)
    {
      g_auto(GStrv) name = g_strsplit (bad_queries[i], "=", 2);

      g_clear_pointer (&response, ed_test_response_free);
      response = request_printf (fixture, "GET", NULL, "/api/v1/events?%s", bad_queries[i]);
      assert_field_named (response, name[0]);
    }
}

static void
test_events_update (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) created = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) fetched = NULL;
  g_autofree char *path = NULL;
  JsonObject *before;
  JsonObject *after;
  const char * const unchanged[] = { "name", "description", "timezone", "starts_at", "ends_at" };

  created = request (fixture, "POST", "/api/v1/events",
                     "{\"name\":\"Summer Party\",\"description\":\"Bring a hat\",\"venue\":\"Garden\","
                     "\"timezone\":\"Europe/Berlin\",\"starts_at\":\"2027-07-01T16:00:00Z\","
                     "\"ends_at\":\"2027-07-01T22:00:00Z\",\"capacity\":80}");
  ed_test_assert_status (created, SOUP_STATUS_CREATED);
  before = ed_test_response_get_object (created);
  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, ed_test_json_int (before, "id"));

  /* Only what is sent changes. */
  response = request (fixture, "PATCH", path, "{\"venue\":\"Hall B\",\"capacity\":90}");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  after = ed_test_response_get_object (response);
  g_assert_cmpstr (ed_test_json_string (after, "venue"), ==, "Hall B");
  g_assert_cmpint (ed_test_json_int (after, "capacity"), ==, 90);
  g_assert_cmpint (ed_test_json_int (ed_test_json_object (after, "stats"), "capacity"), ==, 90);
  for (guint i = 0; i < G_N_ELEMENTS (unchanged); i++)
    g_assert_cmpstr (ed_test_json_string (after, unchanged[i]), ==, ed_test_json_string (before, unchanged[i]));
  g_assert_cmpint (ed_test_json_int (after, "max_party_size"), ==, ed_test_json_int (before, "max_party_size"));
  g_assert_true (ed_test_json_boolean (after, "waitlist_enabled"));

  fetched = request (fixture, "GET", path, NULL);
  ed_test_assert_status (fetched, SOUP_STATUS_OK);
  assert_json_equal (response->json, fetched->json);

  /* Clearing an optional time. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"ends_at\":null}");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_true (is_null (ed_test_response_get_object (response), "ends_at"));

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", "/api/v1/events/999999", "{\"venue\":\"Nowhere\"}");
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
}

static void
test_events_update_invalid (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) before = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) after = NULL;
  g_autofree char *path = NULL;
  const char * const bad_fields[] = { "name", "capacity", NULL };

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, create_event (fixture, "Stable"));
  before = request (fixture, "GET", path, NULL);
  ed_test_assert_status (before, SOUP_STATUS_OK);

  response = request (fixture, "PATCH", path, "{\"name\":\"\",\"capacity\":-1,\"venue\":\"Applied?\"}");
  assert_fields_named (response, bad_fields);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"ends_at\":\"2027-05-01T17:59:59Z\"}");
  assert_field_named (response, "ends_at");

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"id\":99,\"created_at\":\"2020-01-01T00:00:00Z\"}");
  assert_field_named (response, "id");
  assert_field_named (response, "created_at");

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"timezone\":\"Europe/Atlantis\"}");
  assert_field_named (response, "timezone");

  /* A refused change leaves the event as it was. */
  after = request (fixture, "GET", path, NULL);
  ed_test_assert_status (after, SOUP_STATUS_OK);
  assert_json_equal (before->json, after->json);
}

/* Times written without an offset are in the event's own zone, whatever
 * the zone of the machine the daemon runs on.
 */
static void
test_events_local_times (Fixture       *fixture,
                         gconstpointer  user_data)
{
  static const struct {
    const char *timezone;
    const char *written;
    const char *expected;
  } cases[] = {
    { "Europe/Berlin", "2026-12-31T19:00", "2026-12-31T18:00:00Z" },
    { "Europe/Berlin", "2027-07-01T19:00:00", "2027-07-01T17:00:00Z" },
    { "America/New_York", "2027-01-15T09:30", "2027-01-15T14:30:00Z" },
    { "UTC", "2027-01-15T09:30", "2027-01-15T09:30:00Z" },
    { "Europe/Berlin", "2026-12-31T19:00:00-05:00", "2027-01-01T00:00:00Z" },
    { "Europe/Berlin", "2026-12-31T19:00Z", "2026-12-31T19:00:00Z" },
  };
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *path = NULL;
  JsonObject *event;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"name\":\"Local\",\"timezone\":\"%s\",\"starts_at\":\"%s\","
                                               "\"capacity\":10}", cases[i].timezone, cases[i].written);

      g_test_message ("%s in %s", cases[i].written, cases[i].timezone);
      g_clear_pointer (&response, ed_test_response_free);
      response = request (fixture, "POST", "/api/v1/events", body);
      ed_test_assert_status (response, SOUP_STATUS_CREATED);
      g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "starts_at"), ==, cases[i].expected);
    }

  /* A change of zone and a local time in one request: the new zone counts. */
  path = location_path (response);
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path,
                      "{\"timezone\":\"America/New_York\",\"starts_at\":\"2027-03-01T10:00\","
                      "\"ends_at\":\"2027-03-01T23:30\"}");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  event = ed_test_response_get_object (response);
  g_assert_cmpstr (ed_test_json_string (event, "starts_at"), ==, "2027-03-01T15:00:00Z");
  g_assert_cmpstr (ed_test_json_string (event, "ends_at"), ==, "2027-03-02T04:30:00Z");

  /* The event keeps its zone for later changes. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"rsvp_deadline\":\"2027-02-20T18:00\"}");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "rsvp_deadline"), ==,
                   "2027-02-20T23:00:00Z");
}

static void
test_events_delete (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  gint64 event_id = create_event (fixture, "Doomed");
  gint64 empty_id = create_event (fixture, "Empty");
  gint64 kept_id = create_event (fixture, "Kept");
  gint64 guests[2];
  gint64 kept_guest;

  guests[0] = create_guest_id (fixture, event_id, "ann@example.com", "Ann", "Lee");
  guests[1] = create_guest_id (fixture, event_id, "bob@example.com", "Bob", "Ray");
  kept_guest = create_guest_id (fixture, kept_id, "ann@example.com", "Ann", "Lee");

  /* Guests go with their event only when the request says so. */
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "confirmation_required");
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/events/%" G_GINT64_FORMAT "?confirm=false", event_id);
  ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "confirmation_required");

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 2);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/events/%" G_GINT64_FORMAT "?confirm=true", event_id);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpuint (g_bytes_get_size (response->body), ==, 0);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
  for (guint i = 0; i < G_N_ELEMENTS (guests); i++)
    {
      g_clear_pointer (&response, ed_test_response_free);
      response = request_printf (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, guests[i]);
      ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
    }
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");

  /* An event without guests needs no confirmation. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/events/%" G_GINT64_FORMAT, empty_id);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/events/%" G_GINT64_FORMAT "?confirm=true", event_id);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");

  /* Other events keep theirs. */
  g_assert_cmpint (count_events (fixture), ==, 1);
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, kept_guest);
  ed_test_assert_status (response, SOUP_STATUS_OK);
}

static void
assert_stats (JsonObject *stats,
              gint64      capacity,
              gint64      pending)
{
  g_assert_cmpint (ed_test_json_int (stats, "capacity"), ==, capacity);
  g_assert_cmpint (ed_test_json_int (stats, "seats_taken"), ==, 0);
  g_assert_cmpint (ed_test_json_int (stats, "seats_left"), ==, capacity);
  g_assert_cmpint (ed_test_json_int (stats, "pending"), ==, pending);
  g_assert_cmpint (ed_test_json_int (stats, "accepted"), ==, 0);
  g_assert_cmpint (ed_test_json_int (stats, "declined"), ==, 0);
  g_assert_cmpint (ed_test_json_int (stats, "waitlisted"), ==, 0);
  g_assert_cmpint (ed_test_json_int (stats, "cancelled"), ==, 0);
}

static void
test_events_stats (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(JsonObject) stats = NULL;
  gint64 event_id, other_id, guest_id;

  response = request (fixture, "POST", "/api/v1/events",
                      "{\"name\":\"Counted\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":120}");
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  event_id = ed_test_json_int (ed_test_response_get_object (response), "id");
  other_id = create_event (fixture, "Other");

  stats = get_stats (fixture, event_id);
  assert_stats (stats, 120, 0);
  g_clear_pointer (&stats, json_object_unref);

  guest_id = create_guest_id (fixture, event_id, "a@example.com", "A", "One");
  create_guest_id (fixture, event_id, "b@example.com", "B", "Two");
  create_guest_id (fixture, event_id, "c@example.com", "C", "Three");
  create_guest_id (fixture, other_id, "d@example.com", "D", "Four");

  stats = get_stats (fixture, event_id);
  assert_stats (stats, 120, 3);
  g_clear_pointer (&stats, json_object_unref);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, guest_id);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "PATCH", "{\"capacity\":50}", "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  stats = get_stats (fixture, event_id);
  assert_stats (stats, 50, 2);

  /* The event carries the same numbers. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_stats (ed_test_json_object (ed_test_response_get_object (response), "stats"), 50, 2);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", "/api/v1/events/999999/stats", NULL);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
}

/* /api/guests */

static void
test_guests_create (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) fetched = NULL;
  g_autofree char *location = NULL;
  g_autofree char *expected_location = NULL;
  gint64 event_id = create_event (fixture, "Guests");
  JsonObject *guest;
  JsonObject *extra;
  gint64 id;

  response = request_printf (fixture, "POST",
                             "{\"email\":\"  Ann.Lee@Example.COM \",\"first_name\":\"Ann\",\"last_name\":\"Lee\","
                             "\"extra\":{\"table\":\"7\",\"diet\":\"vegan\"}}",
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  guest = ed_test_response_get_object (response);
  id = ed_test_json_int (guest, "id");

  location = location_path (response);
  expected_location = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, id);
  g_assert_cmpstr (location, ==, expected_location);

  g_assert_cmpint (ed_test_json_int (guest, "event_id"), ==, event_id);
  /* Trimmed, the domain in lower case, the local part as written. */
  g_assert_cmpstr (ed_test_json_string (guest, "email"), ==, "Ann.Lee@example.com");
  g_assert_cmpstr (ed_test_json_string (guest, "first_name"), ==, "Ann");
  g_assert_cmpstr (ed_test_json_string (guest, "last_name"), ==, "Lee");
  extra = ed_test_json_object (guest, "extra");
  g_assert_cmpuint (json_object_get_size (extra), ==, 2);
  g_assert_cmpstr (ed_test_json_string (extra, "table"), ==, "7");
  g_assert_cmpstr (ed_test_json_string (extra, "diet"), ==, "vegan");
  g_assert_cmpstr (ed_test_json_string (guest, "status"), ==, "pending");
  g_assert_cmpint (ed_test_json_int (guest, "party_size"), ==, 1);
  g_assert_true (is_null (guest, "waitlist_position"));

  fetched = request (fixture, "GET", location, NULL);
  ed_test_assert_status (fetched, SOUP_STATUS_OK);
  assert_json_equal (response->json, fetched->json);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 1);
}

static void
test_guests_update_delete (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) fetched = NULL;
  g_autoptr(JsonNode) created = NULL;
  g_autofree char *path = NULL;
  gint64 event_id = create_event (fixture, "Changes");
  JsonObject *before;
  JsonObject *after;
  const char * const unchanged[] = { "email", "last_name", "status" };

  created = create_guest (fixture, event_id, "ann@example.com", "Ann", "Lee");
  before = json_node_get_object (created);
  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, ed_test_json_int (before, "id"));

  response = request (fixture, "PATCH", path, "{\"first_name\":\"Annie\",\"extra\":{\"table\":\"3\"}}");
  ed_test_assert_status (response, SOUP_STATUS_OK);
  after = ed_test_response_get_object (response);
  g_assert_cmpstr (ed_test_json_string (after, "first_name"), ==, "Annie");
  g_assert_cmpstr (ed_test_json_string (ed_test_json_object (after, "extra"), "table"), ==, "3");
  for (guint i = 0; i < G_N_ELEMENTS (unchanged); i++)
    g_assert_cmpstr (ed_test_json_string (after, unchanged[i]), ==, ed_test_json_string (before, unchanged[i]));
  g_assert_cmpint (ed_test_json_int (after, "event_id"), ==, event_id);

  fetched = request (fixture, "GET", path, NULL);
  ed_test_assert_status (fetched, SOUP_STATUS_OK);
  assert_json_equal (response->json, fetched->json);

  /* Refused changes change nothing. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"email\":\"not-an-address\",\"first_name\":\"Zed\"}");
  assert_field_named (response, "email");
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"status\":\"maybe\"}");
  assert_field_named (response, "status");
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"event_id\":1,\"id\":5}");
  assert_field_named (response, "event_id");
  assert_field_named (response, "id");
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"nickname\":\"Nan\"}");
  assert_field_named (response, "nickname");

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", path, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_json_equal (fetched->json, response->json);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "DELETE", path, NULL);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", path, NULL);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", path, "{\"first_name\":\"Ghost\"}");
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "DELETE", path, NULL);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");

  g_assert_cmpint (count_guests (fixture, event_id), ==, 0);
}

static void
test_guests_not_found (Fixture       *fixture,
                       gconstpointer  user_data)
{
  static const struct {
    const char *method;
    const char *path;
    const char *body;
  } cases[] = {
    { "GET", "/api/v1/guests/999999", NULL },
    { "PATCH", "/api/v1/guests/999999", "{\"first_name\":\"X\"}" },
    { "DELETE", "/api/v1/guests/999999", NULL },
    { "GET", "/api/v1/guests/0", NULL },
    { "GET", "/api/v1/events/999999/guests", NULL },
    { "POST", "/api/v1/events/999999/guests", "{\"email\":\"x@example.com\"}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(EdTestResponse) response = NULL;

      g_test_message ("%s %s", cases[i].method, cases[i].path);
      response = request (fixture, cases[i].method, cases[i].path, cases[i].body);
      ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
    }
}

static void
test_guests_invalid (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  gint64 event_id = create_event (fixture, "Strict");
  const char * const bad_emails[] = {
    "ann", "ann@", "@example.com", "ann@@example.com", "ann@example", "ann lee@example.com",
    "ann..lee@example.com", "ann@-example.com", "",
  };
  const char * const bad_fields[] = { "email", "first_name", "extra", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (bad_emails); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"first_name\":\"Ann\"}", bad_emails[i]);

      g_test_message ("email “%s”", bad_emails[i]);
      g_clear_pointer (&response, ed_test_response_free);
      response = request_printf (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
      assert_field_named (response, "email");
      g_assert_null (ed_test_response_get_error_field (response, "first_name"));
    }

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "POST", "{\"first_name\":\"Ann\"}",
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  assert_field_named (response, "email");

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "POST", "{\"email\":\"x\",\"first_name\":42,\"extra\":[1]}",
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  assert_fields_named (response, bad_fields);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "POST", "{\"email\":\"ann@example.com\",\"extra\":{\"table\":7}}",
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  assert_field_named (response, "extra");

  g_assert_cmpint (count_guests (fixture, event_id), ==, 0);
}

static void
assert_duplicate_of (EdTestResponse *response,
                     gint64          existing_id)
{
  JsonObject *error;

  ed_test_assert_error (response, SOUP_STATUS_CONFLICT, "duplicate_email");
  error = ed_test_json_object (ed_test_response_get_object (response), "error");
  g_assert_cmpint (ed_test_json_int (error, "guest_id"), ==, existing_id);
}

static void
test_guests_duplicate_email (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) bob_before = NULL;
  g_autofree char *bob_path = NULL;
  gint64 event_id = create_event (fixture, "Unique");
  gint64 ann_id = create_guest_id (fixture, event_id, "Ann@Example.com", "Ann", "Lee");
  gint64 bob_id = create_guest_id (fixture, event_id, "bob@example.com", "Bob", "Ray");
  const char * const same_address[] = { "ann@example.com", "ANN@EXAMPLE.COM", " Ann@example.COM " };

  for (guint i = 0; i < G_N_ELEMENTS (same_address); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"first_name\":\"Other\"}", same_address[i]);

      g_test_message ("email “%s”", same_address[i]);
      g_clear_pointer (&response, ed_test_response_free);
      response = request_printf (fixture, "POST", body, "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
      assert_duplicate_of (response, ann_id);
    }
  g_assert_cmpint (count_guests (fixture, event_id), ==, 2);

  /* Changing a guest's address to another guest's is the same conflict. */
  bob_path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, bob_id);
  bob_before = request (fixture, "GET", bob_path, NULL);
  ed_test_assert_status (bob_before, SOUP_STATUS_OK);
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "PATCH", bob_path, "{\"email\":\"ann@EXAMPLE.com\"}");
  assert_duplicate_of (response, ann_id);

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", bob_path, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_json_equal (bob_before->json, response->json);
}

/* Addresses differ in case beyond ASCII too: "JÖRG@…" is "Jörg@…". */
static void
test_guests_duplicate_email_non_ascii (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  gint64 event_id = create_event (fixture, "International");
  gint64 jorg_id = create_guest_id (fixture, event_id, "Jörg@bücher.example", "Jörg", "Müller");

  response = request_printf (fixture, "POST", "{\"email\":\"Jörg@BÜCHER.example\"}",
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  assert_duplicate_of (response, jorg_id);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "POST", "{\"email\":\"JÖRG@bücher.example\"}",
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests", event_id);
  assert_duplicate_of (response, jorg_id);
  g_assert_cmpint (count_guests (fixture, event_id), ==, 1);
}

/* Searching ignores case beyond ASCII too, for short words as for long ones. */
static void
test_guests_search_non_ascii (Fixture       *fixture,
                              gconstpointer  user_data)
{
  gint64 event_id = create_event (fixture, "International");
  gint64 guest_id = create_guest_id (fixture, event_id, "e.orsted@example.dk", "Élodie", "Ørsted");
  const char * const queries[] = { "Élo", "élo", "ÉLO", "ØRS", "Él", "él", "øR", "ø" };

  create_guest_id (fixture, event_id, "someone@example.dk", "Some", "One");

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autofree char *escaped = g_uri_escape_string (queries[i], NULL, FALSE);
      g_autofree char *query = g_strdup_printf ("q=%s", escaped);
      g_autoptr(GArray) ids = NULL;

      g_test_message ("q=%s", queries[i]);
      ids = list_guest_ids (fixture, event_id, query, 10, 1);
      g_assert_true (ids->len == 1 && g_array_index (ids, gint64, 0) == guest_id);
    }
}

static void
test_guests_same_email_other_event (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  gint64 first_event = create_event (fixture, "First");
  gint64 second_event = create_event (fixture, "Second");
  gint64 first_guest = create_guest_id (fixture, first_event, "ann@example.com", "Ann", "Lee");
  gint64 second_guest = create_guest_id (fixture, second_event, "ann@example.com", "Ann", "Lee");

  g_assert_cmpint (first_guest, !=, second_guest);
  g_assert_cmpint (count_guests (fixture, first_event), ==, 1);
  g_assert_cmpint (count_guests (fixture, second_event), ==, 1);
}

/* The keys of …/guests/keys with @query: every @every-th guest's id from
 * the @first-th after @after on. */
static void
assert_guest_keys (Fixture      *fixture,
                   gint64        event_id,
                   const char   *query,
                   const GArray *ids,
                   guint         after_position,
                   guint         first,
                   guint         every)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *after = after_position > 0
                             ? g_strdup_printf ("&after=%" G_GINT64_FORMAT, g_array_index (ids, gint64, after_position - 1))
                             : g_strdup ("");
  JsonArray *keys;
  guint n = 0;

  response = request_printf (fixture, "GET", NULL,
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests/keys?first=%u&every=%u&count=100&%s%s",
                             event_id, first, every, query, after);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  keys = ed_test_json_array (ed_test_response_get_object (response), "keys");
  for (guint position = after_position + first - 1; position < ids->len; position += every, n++)
    {
      g_assert_cmpuint (n, <, json_array_get_length (keys));
      g_assert_cmpint (json_array_get_int_element (keys, n), ==, g_array_index (ids, gint64, position));
    }
  g_assert_cmpuint (json_array_get_length (keys), ==, n);
}

static void
test_guests_list_paging (Fixture       *fixture,
                         gconstpointer  user_data)
{
  static const struct {
    const char       *sort;
    GCompareFunc      compare;
    gboolean          descending;
  } sorts[] = {
    { "", compare_rows_by_created, FALSE },
    { "sort=created", compare_rows_by_created, FALSE },
    { "sort=-created", compare_rows_by_created, TRUE },
    { "sort=name", compare_rows_by_name, FALSE },
    { "sort=-name", compare_rows_by_name, TRUE },
    { "sort=email", compare_rows_by_email, FALSE },
    { "sort=-email", compare_rows_by_email, TRUE },
  };
  /* Names that tie (also when only their case differs) and addresses
   * whose order depends on ignoring case, so that paging by key has to
   * get ties and collation right at page boundaries.
   */
  const char * const last_names[] = { "Zimmer", "adams", "Brown", "ADAMS", "brown" };
  const char * const first_names[] = { "eve", "Bob", "alice" };
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) guest_row_free);
  gint64 event_id = create_event (fixture, "Paged");
  gint64 other_id = create_event (fixture, "Noise");
  const guint n_guests = 30;

  for (guint i = 0; i < n_guests; i++)
    {
      g_autofree char *email = g_strdup_printf ("%s%02u@example.com", i % 2 ? "Guest" : "guest", (i * 7) % n_guests);

      add_guest_row (fixture, rows, event_id, email, first_names[i % 3], last_names[i % 5]);
      if (i % 10 == 0)
        create_guest_id (fixture, other_id, email, first_names[i % 3], last_names[i % 5]);
    }

  for (guint s = 0; s < G_N_ELEMENTS (sorts); s++)
    {
      g_autoptr(GArray) ids = NULL;

      g_test_message ("Paging with “%s”", sorts[s].sort);
      g_ptr_array_sort (rows, sorts[s].compare);
      if (sorts[s].descending)
        for (guint i = 0; i < rows->len / 2; i++)
          {
            gpointer swap = rows->pdata[i];

            rows->pdata[i] = rows->pdata[rows->len - 1 - i];
            rows->pdata[rows->len - 1 - i] = swap;
          }

      ids = list_guest_ids (fixture, event_id, sorts[s].sort, 7, n_guests);
      g_assert_cmpuint (ids->len, ==, n_guests);
      for (guint i = 0; i < MIN (ids->len, n_guests); i++)
        {
          const GuestRow *expected = g_ptr_array_index (rows, i);

          if (g_array_index (ids, gint64, i) != expected->id)
            g_test_message ("Position %u: expected guest %" G_GINT64_FORMAT " (%s, %s, %s)",
                            i, expected->id, expected->last_name, expected->first_name, expected->email);
          g_assert_cmpint (g_array_index (ids, gint64, i), ==, expected->id);
        }

      /* Where pages would start, from the start and from a key on. */
      assert_guest_keys (fixture, event_id, sorts[s].sort, ids, 0, 7, 7);
      assert_guest_keys (fixture, event_id, sorts[s].sort, ids, 4, 3, 7);
      assert_guest_keys (fixture, event_id, sorts[s].sort, ids, 0, 1, 1);
    }
}

static gboolean
contains_casefold (const char *haystack,
                   const char *needle)
{
  g_autofree char *folded_haystack = g_utf8_casefold (haystack, -1);
  g_autofree char *folded_needle = g_utf8_casefold (needle, -1);

  return strstr (folded_haystack, folded_needle) != NULL;
}

/* What a search should find: every word in the name or the address. */
static gboolean
row_matches (const GuestRow *row,
             const char     *query)
{
  g_auto(GStrv) words = g_strsplit (query, " ", -1);

  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0' &&
        !contains_casefold (row->email, words[i]) &&
        !contains_casefold (row->first_name, words[i]) &&
        !contains_casefold (row->last_name, words[i]))
      return FALSE;

  return TRUE;
}

static void
test_guests_search (Fixture       *fixture,
                    gconstpointer  user_data)
{
  static const struct {
    const char *q;
    guint       expected;
  } queries[] = {
    { "ann", 4 },
    { "ANN", 4 },
    { "Joa", 1 },
    { "optics", 1 },
    { "OPTICS.example", 1 },
    { "dora@maps", 1 },
    { "xampl", 7 },
    { "an", 4 },
    { "hB", 1 },
    { "joanna smith", 1 },
    { "an JONES", 1 },
    { "zz", 0 },
    { "nobody-here", 0 },
    { "_", 1 },
    { "%", 0 },
    { "ann*", 0 },
    { "\"ann\"", 0 },
    { "NEAR(ann", 0 },
  };
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) guest_row_free);
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GArray) found = NULL;
  gint64 event_id = create_event (fixture, "Searchable");
  const GuestRow *carl;
  const GuestRow *joanna;
  gint64 other_id = create_event (fixture, "Elsewhere");

  add_guest_row (fixture, rows, event_id, "joanna.smith@example.com", "Joanna", "Smith");
  add_guest_row (fixture, rows, event_id, "anna.j@sample.org", "Anna", "Jones");
  add_guest_row (fixture, rows, event_id, "hb@example.net", "Hannah", "Banana");
  add_guest_row (fixture, rows, event_id, "bob@annex.example.com", "Bob", "Annapolis");
  add_guest_row (fixture, rows, event_id, "carl@optics.example", "Carl", "Zeiss");
  add_guest_row (fixture, rows, event_id, "DORA@Maps.example", "Dora", "Explorer");
  add_guest_row (fixture, rows, event_id, "ed@example.org", "Ed", "Wood");
  add_guest_row (fixture, rows, event_id, "under_score@example.com", "Uma", "Score");
  create_guest_id (fixture, other_id, "anne@example.com", "Anne", "Annerson");

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autofree char *escaped = g_uri_escape_string (queries[i].q, NULL, FALSE);
      g_autofree char *query = g_strdup_printf ("q=%s", escaped);
      g_autoptr(GArray) ids = NULL;
      g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (gint64));

      g_test_message ("q=%s", queries[i].q);
      for (guint r = 0; r < rows->len; r++)
        {
          const GuestRow *row = g_ptr_array_index (rows, r);

          if (row_matches (row, queries[i].q))
            g_array_append_val (expected, row->id);
        }
      /* The test's own idea of a match agrees with what it means to check. */
      g_assert_cmpuint (expected->len, ==, queries[i].expected);

      /* Small pages, so that paging has to keep the filter too. */
      ids = list_guest_ids (fixture, event_id, query, 2, queries[i].expected);
      g_assert_cmpmem (ids->data, ids->len * sizeof (gint64), expected->data, expected->len * sizeof (gint64));
    }

  /* The search follows changes and deletions. */
  carl = g_ptr_array_index (rows, 4);
  g_assert_cmpstr (carl->first_name, ==, "Carl");
  response = request_printf (fixture, "PATCH", "{\"last_name\":\"Quixote\",\"email\":\"carl@lens.example\"}",
                             "/api/v1/guests/%" G_GINT64_FORMAT, carl->id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  joanna = g_ptr_array_index (rows, 0);
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, joanna->id);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);

  found = list_guest_ids (fixture, event_id, "q=quix", 2, 1);
  g_assert_true (found->len == 1 && g_array_index (found, gint64, 0) == carl->id);
  g_clear_pointer (&found, g_array_unref);
  found = list_guest_ids (fixture, event_id, "q=LENS", 2, 1);
  g_assert_true (found->len == 1 && g_array_index (found, gint64, 0) == carl->id);
  g_clear_pointer (&found, g_array_unref);
  found = list_guest_ids (fixture, event_id, "q=zeiss", 2, 0);
  g_clear_pointer (&found, g_array_unref);
  found = list_guest_ids (fixture, event_id, "q=optics", 2, 0);
  g_clear_pointer (&found, g_array_unref);
  found = list_guest_ids (fixture, event_id, "q=joa", 2, 0);
  g_clear_pointer (&found, g_array_unref);
  found = list_guest_ids (fixture, event_id, "q=ann", 2, 3);
}

static void
test_guests_status_filter (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GArray) pending = NULL;
  g_autoptr(GArray) accepted = NULL;
  gint64 event_id = create_event (fixture, "Statuses");
  const char * const empty_statuses[] = { "accepted", "declined", "waitlisted", "cancelled" };

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *email = g_strdup_printf ("guest%u@example.com", i);

      create_guest_id (fixture, event_id, email, "Guest", "Number");
    }

  pending = list_guest_ids (fixture, event_id, "status=pending", 2, 5);
  g_assert_cmpuint (pending->len, ==, 5);

  for (guint i = 0; i < G_N_ELEMENTS (empty_statuses); i++)
    {
      g_autofree char *query = g_strdup_printf ("status=%s", empty_statuses[i]);

      g_clear_pointer (&accepted, g_array_unref);
      accepted = list_guest_ids (fixture, event_id, query, 2, 0);
      g_assert_cmpuint (accepted->len, ==, 0);
    }

  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?status=bogus", event_id);
  assert_field_named (response, "status");
}

static void
test_guests_list_invalid (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  gint64 event_id = create_event (fixture, "Mine");
  gint64 other_id = create_event (fixture, "Theirs");
  gint64 other_guest;
  /* Each names the field it gets wrong; …/guests/keys takes the list's
   * parameters and its own. */
  const struct {
    const char *route;
    const char *query;
    const char *field;
  } bad_queries[] = {
    { "guests", "limit=0", "limit" }, { "guests", "limit=501", "limit" }, { "guests", "limit=-1", "limit" },
    { "guests", "limit=abc", "limit" }, { "guests", "sort=age", "sort" }, { "guests", "sort=--name", "sort" },
    { "guests", "after=abc", "after" }, { "guests", "after=999999", "after" },
    { "guests/keys", "every=0", "every" }, { "guests/keys", "every=501", "every" },
    { "guests/keys", "first=0", "first" }, { "guests/keys", "first=501", "first" },
    { "guests/keys", "count=0", "count" }, { "guests/keys", "count=50001", "count" },
    { "guests/keys", "sort=age", "sort" }, { "guests/keys", "after=999999", "after" },
    { "guests/keys", "every=500&count=201", "count" },
  };

  create_guest_id (fixture, event_id, "mine@example.com", "Mine", "Guest");
  other_guest = create_guest_id (fixture, other_id, "theirs@example.com", "Their", "Guest");

  for (guint i = 0; i < G_N_ELEMENTS (bad_queries); i++)
    {
      g_test_message ("%s?%s", bad_queries[i].route, bad_queries[i].query);
      g_clear_pointer (&response, ed_test_response_free);
      response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/%s?%s",
                                 event_id, bad_queries[i].route, bad_queries[i].query);
      assert_field_named (response, bad_queries[i].field);
    }

  /* A page cannot start after another event's guest. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL,
                             "/api/v1/events/%" G_GINT64_FORMAT "/guests?after=%" G_GINT64_FORMAT,
                             event_id, other_guest);
  assert_field_named (response, "after");

  /* The limits themselves are fine. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=1", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
}

/* /api/http */

static void
test_http_not_found (Fixture       *fixture,
                     gconstpointer  user_data)
{
  const char * const paths[] = {
    "/api/v1/nothing", "/api/v2/events", "/nothing", "/api/v1/events/1/nothing", "/api/v1/events/",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(EdTestResponse) response = NULL;

      g_test_message ("GET %s", paths[i]);
      response = request (fixture, "GET", paths[i], NULL);
      ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
      g_assert_nonnull (ed_test_json_string (ed_test_json_object (ed_test_response_get_object (response), "error"), "message"));
    }
}

static gboolean
allow_lists (EdTestResponse *response,
             const char     *method)
{
  const char *allow = ed_test_response_get_header (response, "Allow");
  g_auto(GStrv) methods = NULL;

  g_assert_nonnull (allow);
  methods = g_strsplit (allow ? allow : "", ",", -1);
  for (guint i = 0; methods[i] != NULL; i++)
    if (strcmp (g_strstrip (methods[i]), method) == 0)
      return TRUE;

  return FALSE;
}

static void
test_http_method_not_allowed (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;

  response = request (fixture, "PUT", "/api/v1/events", "{}");
  ed_test_assert_error (response, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed");
  g_assert_true (allow_lists (response, "GET"));
  g_assert_true (allow_lists (response, "POST"));
  g_assert_false (allow_lists (response, "PUT"));

  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events/1", "{}");
  ed_test_assert_error (response, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed");
  g_assert_true (allow_lists (response, "GET"));
  g_assert_true (allow_lists (response, "PATCH"));
  g_assert_true (allow_lists (response, "DELETE"));

  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, NULL, "DELETE", "/healthz", NULL);
  ed_test_assert_error (response, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed");
  g_assert_true (allow_lists (response, "GET"));

  g_assert_cmpint (count_events (fixture), ==, 0);
}

/* {"name":"aaa…"}, @size bytes in all */
static GBytes *
oversized_body (gsize size)
{
  g_autofree char *name = g_strnfill (size - strlen ("{\"name\":\"\"}"), 'a');
  char *body = g_strconcat ("{\"name\":\"", name, "\"}", NULL);

  g_assert_cmpuint (strlen (body), ==, size);
  return g_bytes_new_take (body, size);
}

static void
assert_body_too_large (Fixture  *fixture,
                       gboolean  chunked)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(GBytes) too_large = oversized_body (MAX_BODY_SIZE + 1);
  g_autoptr(GBytes) much_too_large = oversized_body (4 * MAX_BODY_SIZE);
  g_autoptr(GBytes) just_fits = oversized_body (MAX_BODY_SIZE);
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/events");

  response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                         "application/json", too_large, chunked);
  ed_test_assert_error (response, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large");

  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                         "application/json", much_too_large, chunked);
  ed_test_assert_error (response, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large");

  /* Under the limit the body is read: the name is too long, not the body. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                         "application/json", just_fits, chunked);
  assert_field_named (response, "name");

  /* And the daemon still answers. */
  g_assert_cmpint (count_events (fixture), ==, 0);
}

static void
test_http_body_too_large (Fixture       *fixture,
                          gconstpointer  user_data)
{
  assert_body_too_large (fixture, FALSE);
}

static void
test_http_body_too_large_chunked (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  assert_body_too_large (fixture, TRUE);
}

static void
test_http_not_json (Fixture       *fixture,
                    gconstpointer  user_data)
{
  static const struct {
    const char *content_type;
    const char *body;
  } cases[] = {
    { "application/json", "name=Gala&capacity=10" },
    { "application/json", "{\"name\":\"Gala\"," },
    { "application/json", "[{\"name\":\"Gala\"}]" },
    { "application/json", "\"Gala\"" },
    { "application/json", "" },
    { "application/json", "{\"name\":\"\xff\xfe\"}" },
    { "text/plain", "{\"name\":\"Gala\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10}" },
    { "application/x-www-form-urlencoded", "{\"name\":\"Gala\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10}" },
  };
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/events");
  g_autoptr(SoupMessage) untyped = ed_test_http_message_new ("POST", url, fixture->token, NULL, NULL);
  g_autoptr(GBytes) untyped_body = g_bytes_new_static ("{}", 2);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = g_bytes_new_static (cases[i].body, strlen (cases[i].body));

      g_test_message ("%s: %s", cases[i].content_type, cases[i].body);
      g_clear_pointer (&response, ed_test_response_free);
      response = ed_test_http_request_bytes (fixture->session, "POST", url, fixture->token,
                                             cases[i].content_type, body, FALSE);
      ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_request");
    }

  /* Without any Content-Type. */
  g_clear_pointer (&response, ed_test_response_free);
  soup_message_set_request_body_from_bytes (untyped, NULL, untyped_body);
  response = ed_test_http_send (fixture->session, untyped);
  ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_request");

  /* A charset parameter is fine. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_with_headers (fixture, "POST", "/api/v1/events",
                                   "{\"name\":\"Gala\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10}",
                                   (const char * const []) { "Content-Type", "application/json; charset=utf-8", NULL });
  ed_test_assert_status (response, SOUP_STATUS_CREATED);

  g_assert_cmpint (count_events (fixture), ==, 1);
}

static char *
nested (const char *open,
        const char *middle,
        const char *close,
        guint       depth)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (text, open);
  g_string_append (text, middle);
  for (guint i = 0; i < depth; i++)
    g_string_append (text, close);

  return g_string_free (text, FALSE);
}

static void
test_http_deep_nesting (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *arrays = nested ("[", "1", "]", 10000);
  g_autofree char *objects = nested ("{\"a\":", "1", "}", 10000);
  g_autofree char *inside = nested ("[", "", "]", 10000);
  g_autofree char *inside_object = g_strdup_printf ("{\"name\":\"Deep\",\"capacity\":%s}", inside);
  g_autofree char *brackets = g_strnfill (150, '[');
  g_autofree char *bracket_name = g_strdup_printf ("{\"name\":\"x\\\"%s\",\"starts_at\":\"2027-05-01T18:00:00Z\","
                                                   "\"capacity\":10}", brackets);
  const char * const bodies[] = { arrays, objects, inside_object };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_clear_pointer (&response, ed_test_response_free);
      response = request (fixture, "POST", "/api/v1/events", bodies[i]);
      ed_test_assert_error (response, SOUP_STATUS_BAD_REQUEST, "invalid_request");
    }

  /* The daemon survived. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, NULL, "GET", "/healthz", NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);

  /* Brackets inside a string are text, not nesting. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "POST", "/api/v1/events", bracket_name);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  g_assert_true (g_str_has_suffix (ed_test_json_string (ed_test_response_get_object (response), "name"), brackets));
}

static void
test_http_cross_origin (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *login_json = login_body (ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  g_autofree char *session_url = ed_test_daemon_url (fixture->daemon, "/api/v1/session");
  const char *event = "{\"name\":\"Gala\",\"starts_at\":\"2027-05-01T18:00:00Z\",\"capacity\":10}";
  const char * const foreign_origins[] = {
    "https://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1",
  };
  const char * const evil_origin[] = { "Origin", "https://evil.example", NULL };
  const char *own_origin[] = { "Origin", NULL, NULL };

  for (guint i = 0; i < G_N_ELEMENTS (foreign_origins); i++)
    {
      const char * const headers[] = { "Origin", foreign_origins[i], NULL };

      g_test_message ("Origin: %s", foreign_origins[i]);
      g_clear_pointer (&response, ed_test_response_free);
      response = request_with_headers (fixture, "POST", "/api/v1/events", event, headers);
      ed_test_assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");

      g_clear_pointer (&response, ed_test_response_free);
      response = request_with_headers (fixture, "DELETE", "/api/v1/session", NULL, headers);
      ed_test_assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");
    }
  g_assert_cmpint (count_events (fixture), ==, 0);

  /* Nor may they log in. */
  g_clear_pointer (&response, ed_test_response_free);
  response = ed_test_http_request (fixture->session, "POST", session_url, NULL, login_json, evil_origin);
  ed_test_assert_error (response, SOUP_STATUS_FORBIDDEN, "forbidden");

  /* The daemon's own pages may. */
  own_origin[1] = ed_test_daemon_get_url (fixture->daemon);
  g_clear_pointer (&response, ed_test_response_free);
  response = request_with_headers (fixture, "POST", "/api/v1/events", event, own_origin);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  g_assert_cmpint (count_events (fixture), ==, 1);
}

static void
test_http_public (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  JsonObject *object;

  response = request_as (fixture, NULL, "GET", "/healthz", NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  object = ed_test_response_get_object (response);
  g_assert_cmpstr (ed_test_json_string (object, "status"), ==, "ok");
  g_assert_cmpstr (ed_test_json_string (object, "database"), ==, "ok");

  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, NULL, "GET", "/api/v1/version", NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  object = ed_test_response_get_object (response);
  g_assert_cmpstr (ed_test_json_string (object, "name"), ==, "eventdeskd");
  g_assert_cmpstr (ed_test_json_string (object, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpint (ed_test_json_int (object, "api_version"), ==, 1);
  g_assert_cmpint (ed_test_json_int (object, "schema_version"), >=, 1);

  /* A bad token does not lock out what needs none. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request_as (fixture, "garbage", "GET", "/healthz", NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
}

/* /api/daemon */

static void
test_daemon_second_instance (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *err = NULL;
  g_autofree char *pid_text = g_strdup_printf ("pid %s", ed_test_daemon_get_pid (fixture->daemon));
  const char * const args[] = {
    "--listen", "127.0.0.1:0", "--data-dir", ed_test_daemon_get_data_dir (fixture->daemon), NULL,
  };
  int status;

  status = ed_test_daemon_run (fixture->daemon, args, NULL, NULL, &err);
  g_test_message ("The second eventdeskd said: %s", err);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "in use"));
  g_assert_nonnull (strstr (err, pid_text));

  /* The first one carries on undisturbed. */
  g_assert_cmpint (count_events (fixture), ==, 0);
  create_event (fixture, "Still here");
}

static void
assert_healthy (Fixture *fixture)
{
  g_autoptr(EdTestResponse) response = request_as (fixture, NULL, "GET", "/healthz", NULL);

  ed_test_assert_status (response, SOUP_STATUS_OK);
}

static guint
file_mode (const char *path)
{
  GStatBuf st = { 0 };

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static void
test_daemon_permissions (Fixture       *fixture,
                         gconstpointer  user_data)
{
  const char *data_dir = ed_test_daemon_get_data_dir (fixture->daemon);
  g_autofree char *secret = ed_test_daemon_get_path (fixture->daemon, "secret.key");
  g_autofree char *database = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db");
  g_autofree char *err = NULL;
  const char * const args[] = { "--listen", "127.0.0.1:0", "--data-dir", data_dir, NULL };
  GStatBuf st;

  /* A data directory that does not exist yet is made private. */
  g_assert_cmpint (g_rmdir (data_dir), ==, 0);
  ed_test_daemon_start (fixture->daemon);
  assert_healthy (fixture);
  g_assert_cmpuint (file_mode (data_dir), ==, 0700);
  g_assert_cmpuint (file_mode (secret), ==, 0600);
  g_assert_cmpint (g_stat (secret, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 32);
  g_assert_cmpuint (file_mode (database) & 077, ==, 0);
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);

  /* One that others can read is narrowed. */
  g_assert_cmpint (g_chmod (data_dir, 0755), ==, 0);
  ed_test_daemon_start (fixture->daemon);
  assert_healthy (fixture);
  g_assert_cmpuint (file_mode (data_dir), ==, 0700);
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);

  /* A signing key others can read is refused rather than used. */
  g_assert_cmpint (g_chmod (secret, 0644), ==, 0);
  g_assert_cmpint (ed_test_daemon_run (fixture->daemon, args, NULL, NULL, &err), !=, 0);
  g_test_message ("eventdeskd said: %s", err);
  g_assert_nonnull (strstr (err, "secret.key"));
  g_assert_nonnull (strstr (err, "chmod 600"));
}

/* A service manager or script may stop the daemon as soon as it says
 * where it listens; that must be an orderly stop too. The window is
 * short, hence a few tries.
 */
static void
test_daemon_sigterm_after_start (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  for (guint i = 0; i < 20; i++)
    {
      int status;

      ed_test_daemon_start (fixture->daemon);
      status = ed_test_daemon_stop (fixture->daemon);
      g_assert_cmpint (status, ==, 0);
      if (status != 0)
        {
          g_test_message ("Stopping right after start went wrong on try %u", i + 1);
          break;
        }
    }
}

static void
test_daemon_sigterm (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *wal = ed_test_daemon_get_path (fixture->daemon, "eventdesk.db-wal");
  gint64 event_id = create_event (fixture, "Durable");
  GStatBuf st;

  /* The write went to the write-ahead log... */
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 0);

  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);

  /* ...which a clean stop folds into the database. */
  if (g_stat (wal, &st) == 0)
    g_assert_cmpint (st.st_size, ==, 0);
  else
    g_assert_cmpint (errno, ==, ENOENT);

  ed_test_daemon_start (fixture->daemon);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT, event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpstr (ed_test_json_string (ed_test_response_get_object (response), "name"), ==, "Durable");
}

static void
on_wrote_headers_cb (SoupMessage *msg,
                     gpointer     user_data)
{
  gboolean *wrote_headers = user_data;

  *wrote_headers = TRUE;
}

static void
on_send_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* SIGTERM lets requests in flight finish. The login's body is held back
 * until after the signal, so the request is certainly in flight (the
 * daemon has its headers and waits for the rest) when the signal lands.
 */
static void
test_daemon_sigterm_in_flight (Fixture       *fixture,
                               gconstpointer  user_data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) body_stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autoptr(EdTestResponse) late = NULL;
  g_autoptr(SoupSession) late_session = ed_test_http_session_new ();
  g_autofree char *url = ed_test_daemon_url (fixture->daemon, "/api/v1/session");
  g_autofree char *healthz = ed_test_daemon_url (fixture->daemon, "/healthz");
  g_autofree char *login_json = login_body (ED_TEST_ADMIN_NAME, ED_TEST_ADMIN_PASSWORD);
  g_autofree char *new_token = NULL;
  gboolean wrote_headers = FALSE;
  int fds[2];

  g_unix_open_pipe (fds, FD_CLOEXEC, &error);
  g_assert_no_error (error);
  body_stream = g_unix_input_stream_new (fds[0], TRUE);

  msg = ed_test_http_message_new ("POST", url, NULL, NULL, NULL);
  soup_message_set_request_body (msg, "application/json", body_stream, (gssize) strlen (login_json));
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (on_wrote_headers_cb), &wrote_headers);
  soup_session_send_and_read_async (fixture->session, msg, G_PRIORITY_DEFAULT, NULL,
                                    on_send_ready_cb, &result);
  while (!wrote_headers && result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (result);

  /* Give the daemon ample time to read the headers, then stop it. */
  g_usleep (3 * G_USEC_PER_SEC / 10);
  ed_test_daemon_send_signal (fixture->daemon, SIGTERM);
  g_assert_true (ed_test_daemon_wait_for_log (fixture->daemon, "Shutting down"));

  /* While it drains, it turns new requests away. */
  late = ed_test_http_request (late_session, "GET", healthz, NULL, NULL, NULL);
  ed_test_assert_error (late, SOUP_STATUS_SERVICE_UNAVAILABLE, "shutting_down");

  g_assert_cmpint (write (fds[1], login_json, strlen (login_json)), ==, (gssize) strlen (login_json));
  close (fds[1]);

  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  body = soup_session_send_and_read_finish (fixture->session, result, &error);
  g_assert_no_error (error);
  response = ed_test_response_new (msg, body);
  ed_test_assert_status (response, SOUP_STATUS_CREATED);
  new_token = g_strdup (ed_test_json_string (ed_test_response_get_object (response), "token"));

  g_assert_cmpint (ed_test_daemon_wait (fixture->daemon), ==, 0);

  /* The session it granted on the way out was kept. */
  ed_test_daemon_start (fixture->daemon);
  assert_token_accepted (fixture, new_token);
}

static void
test_daemon_crash_restart (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autoptr(EdTestResponse) event_before = NULL;
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *event_path = NULL;
  gint64 event_id = create_event (fixture, "Survivor");
  gint64 deleted_id;
  const guint n_guests = 50;
  JsonArray *items;

  event_path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, event_id);
  for (guint i = 0; i < n_guests; i++)
    {
      g_autofree char *email = g_strdup_printf ("guest%02u@example.com", i);
      g_autofree char *first = g_strdup_printf ("First%02u", i);

      g_ptr_array_add (guests, create_guest (fixture, event_id, email, first, "Crash"));
    }

  /* Acknowledged changes and a deletion count as much as creations. */
  response = request_printf (fixture, "PATCH", "{\"last_name\":\"Changed\",\"extra\":{\"note\":\"kept\"}}",
                             "/api/v1/guests/%" G_GINT64_FORMAT,
                             ed_test_json_int (json_node_get_object (g_ptr_array_index (guests, 7)), "id"));
  ed_test_assert_status (response, SOUP_STATUS_OK);
  json_node_unref (guests->pdata[7]);
  guests->pdata[7] = copy_object_node (response);

  deleted_id = ed_test_json_int (json_node_get_object (g_ptr_array_index (guests, 13)), "id");
  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "DELETE", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, deleted_id);
  ed_test_assert_status (response, SOUP_STATUS_NO_CONTENT);
  g_ptr_array_remove_index (guests, 13);

  event_before = request (fixture, "GET", event_path, NULL);
  ed_test_assert_status (event_before, SOUP_STATUS_OK);

  ed_test_daemon_kill (fixture->daemon);
  ed_test_daemon_restart (fixture->daemon);

  /* The session survived too. */
  g_clear_pointer (&response, ed_test_response_free);
  response = request (fixture, "GET", event_path, NULL);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  assert_json_equal (event_before->json, response->json);

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=500", event_id);
  ed_test_assert_status (response, SOUP_STATUS_OK);
  g_assert_cmpint (ed_test_json_int (ed_test_response_get_object (response), "total"), ==, n_guests - 1);
  items = ed_test_json_array (ed_test_response_get_object (response), "items");
  g_assert_cmpuint (json_array_get_length (items), ==, n_guests - 1);
  /* Listed by creation, like the acknowledgements. */
  for (guint i = 0; i < MIN (json_array_get_length (items), guests->len); i++)
    assert_json_equal (g_ptr_array_index (guests, i), json_array_get_element (items, i));

  g_clear_pointer (&response, ed_test_response_free);
  response = request_printf (fixture, "GET", NULL, "/api/v1/guests/%" G_GINT64_FORMAT, deleted_id);
  ed_test_assert_error (response, SOUP_STATUS_NOT_FOUND, "not_found");
}

static void
test_daemon_admin_add_while_running (Fixture       *fixture,
                                     gconstpointer  user_data)
{
  g_autoptr(EdTestResponse) response = NULL;
  g_autofree char *err = NULL;
  g_autofree char *pid_text = g_strdup_printf ("pid %s", ed_test_daemon_get_pid (fixture->daemon));
  g_autofree char *input = g_strconcat (OTHER_ADMIN_PASSWORD, "\n", NULL);
  g_autofree char *carol_login = login_body (OTHER_ADMIN_NAME, OTHER_ADMIN_PASSWORD);
  g_autofree char *carol_token = NULL;
  const char * const args[] = {
    "admin", "add", OTHER_ADMIN_NAME, "--password-stdin",
    "--data-dir", ed_test_daemon_get_data_dir (fixture->daemon), NULL,
  };
  int status;

  status = ed_test_daemon_run (fixture->daemon, args, input, NULL, &err);
  g_test_message ("eventdeskd admin add said: %s", err);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "in use"));
  g_assert_nonnull (strstr (err, pid_text));

  response = request_as (fixture, NULL, "POST", "/api/v1/session", carol_login);
  ed_test_assert_error (response, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials");

  /* Once the daemon has stopped, the same command works. */
  g_assert_cmpint (ed_test_daemon_stop (fixture->daemon), ==, 0);
  ed_test_daemon_add_admin (fixture->daemon, OTHER_ADMIN_NAME, OTHER_ADMIN_PASSWORD);
  ed_test_daemon_start (fixture->daemon);
  carol_token = login (fixture, OTHER_ADMIN_NAME, OTHER_ADMIN_PASSWORD);
  assert_token_accepted (fixture, carol_token);
}

int
main (int   argc,
      char *argv[])
{
  /* Names and addresses beyond ASCII show as they are in the test log. */
  setlocale (LC_ALL, "");
  if (!g_get_charset (NULL))
    setlocale (LC_ALL, "C.UTF-8");

  g_test_init (&argc, &argv, NULL);

  /* A failed check fails its test, which then runs on to its teardown
   * (stopping its daemon), and the other tests still run.
   */
  g_test_set_nonfatal_assertions ();

#define ADD(path, test) \
  g_test_add (path, Fixture, NULL, fixture_set_up, test, fixture_tear_down)
#define ADD_STOPPED(path, test) \
  g_test_add (path, Fixture, NULL, fixture_set_up_stopped, test, fixture_tear_down)

  ADD ("/api/session/login", test_session_login);
  ADD ("/api/session/login-invalid", test_session_login_invalid);
  ADD ("/api/session/wrong-password", test_session_wrong_password);
  ADD ("/api/session/unknown-user", test_session_unknown_user);
  ADD ("/api/session/logout", test_session_logout);
  ADD_STOPPED ("/api/session/throttle", test_session_throttle);

  ADD ("/api/auth/missing", test_auth_missing);
  ADD ("/api/auth/garbage", test_auth_garbage);
  ADD ("/api/auth/tampered", test_auth_tampered);
  ADD ("/api/auth/alg-none", test_auth_alg_none);
  ADD ("/api/auth/other-algorithms", test_auth_other_algorithms);
  ADD ("/api/auth/expired", test_auth_expired);
  ADD ("/api/auth/wrong-type", test_auth_wrong_type);
  ADD ("/api/auth/unknown-session", test_auth_unknown_session);
  ADD ("/api/auth/forged-valid", test_auth_forged_valid);

  ADD ("/api/events/create", test_events_create);
  ADD ("/api/events/create-invalid", test_events_create_invalid);
  ADD ("/api/events/name-length", test_events_name_length);
  ADD ("/api/events/create-unknown-field", test_events_create_unknown_field);
  ADD ("/api/events/read", test_events_read);
  ADD ("/api/events/list-paging", test_events_list_paging);
  ADD ("/api/events/update", test_events_update);
  ADD ("/api/events/update-invalid", test_events_update_invalid);
  ADD ("/api/events/local-times", test_events_local_times);
  ADD ("/api/events/delete", test_events_delete);
  ADD ("/api/events/stats", test_events_stats);

  ADD ("/api/guests/create", test_guests_create);
  ADD ("/api/guests/update-delete", test_guests_update_delete);
  ADD ("/api/guests/not-found", test_guests_not_found);
  ADD ("/api/guests/invalid", test_guests_invalid);
  ADD ("/api/guests/duplicate-email", test_guests_duplicate_email);
  ADD ("/api/guests/same-email-other-event", test_guests_same_email_other_event);
  ADD ("/api/guests/list-paging", test_guests_list_paging);
  ADD ("/api/guests/search", test_guests_search);
  ADD ("/api/guests/status-filter", test_guests_status_filter);
  ADD ("/api/guests/list-invalid", test_guests_list_invalid);
  ADD ("/api/guests/duplicate-email-non-ascii", test_guests_duplicate_email_non_ascii);
  ADD ("/api/guests/search-non-ascii", test_guests_search_non_ascii);

  ADD ("/api/http/not-found", test_http_not_found);
  ADD ("/api/http/method-not-allowed", test_http_method_not_allowed);
  ADD ("/api/http/body-too-large", test_http_body_too_large);
  ADD ("/api/http/body-too-large-chunked", test_http_body_too_large_chunked);
  ADD ("/api/http/not-json", test_http_not_json);
  ADD ("/api/http/deep-nesting", test_http_deep_nesting);
  ADD ("/api/http/cross-origin", test_http_cross_origin);
  ADD ("/api/http/public", test_http_public);

  ADD ("/api/daemon/second-instance", test_daemon_second_instance);
  ADD_STOPPED ("/api/daemon/permissions", test_daemon_permissions);
  ADD ("/api/daemon/sigterm", test_daemon_sigterm);
  ADD ("/api/daemon/sigterm-in-flight", test_daemon_sigterm_in_flight);
  ADD ("/api/daemon/crash-restart", test_daemon_crash_restart);
  ADD ("/api/daemon/admin-add-while-running", test_daemon_admin_add_while_running);
  ADD_STOPPED ("/api/daemon/sigterm-after-start", test_daemon_sigterm_after_start);

#undef ADD
#undef ADD_STOPPED

  return g_test_run ();
}
