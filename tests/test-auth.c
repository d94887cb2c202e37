/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-login-throttle.h"
#include "ed-password.h"
#include "ed-time-util.h"
#include "ed-rsvp-token.h"
#include "ed-token.h"

static void
test_password_yescrypt (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = ed_password_hash ("correct horse battery", &error);
  g_autofree char *again = ed_password_hash ("correct horse battery", &error);

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (hash, "$y$"));
  /* A fresh salt every time. */
  g_assert_cmpstr (hash, !=, again);

  g_assert_true (ed_password_verify ("correct horse battery", hash));
  g_assert_false (ed_password_verify ("correct horse batterY", hash));
  g_assert_false (ed_password_verify ("", hash));
  g_assert_false (ed_password_verify ("correct horse battery", "not a hash"));
  g_assert_false (ed_password_verify ("correct horse battery", ""));
}

static void
test_password_bcrypt (void)
{
  /* The crypt_blowfish test vector, as $2a$ and as $2b$, which are the
   * same for short passwords; hashes made by other systems log in.
   */
  g_assert_true (ed_password_verify ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  g_assert_true (ed_password_verify ("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  g_assert_false (ed_password_verify ("U*V", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

static void
on_verified_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  int *state = user_data;
  g_autoptr(GError) error = NULL;
  gboolean matched = ed_password_verify_finish (result, &error);

  g_assert_no_error (error);
  *state = matched ? 1 : 2;
}

static void
test_password_async (void)
{
  g_autofree char *hash = ed_password_hash ("in a thread please", NULL);
  int good = 0, bad = 0;

  ed_password_verify_async ("in a thread please", hash, NULL, on_verified_cb, &good);
  ed_password_verify_async ("wrong", hash, NULL, on_verified_cb, &bad);
  while (good == 0 || bad == 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (good, ==, 1);
  g_assert_cmpint (bad, ==, 2);
}

static void
test_password_strength (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *huge = g_strnfill (ED_PASSWORD_MAX_LENGTH + 1, 'x');

  g_assert_false (ed_password_check_strength ("short", &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "at least 8"));
  g_clear_error (&error);

  g_assert_false (ed_password_check_strength (huge, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (ed_password_check_strength ("long enough", &error));
  g_assert_no_error (error);
}

static GBytes *
make_key (guint8 fill)
{
  guint8 raw[ED_TOKEN_KEY_SIZE];

  memset (raw, fill, sizeof raw);
  return g_bytes_new (raw, sizeof raw);
}

static char *
base64url (const void *data,
           gsize       len)
{
  g_autofree char *b64 = g_base64_encode (data, len);
  GString *out = g_string_new (b64);

  g_string_replace (out, "+", "-", 0);
  g_string_replace (out, "/", "_", 0);
  g_string_replace (out, "=", "", 0);
  return g_string_free (out, FALSE);
}

/* A token built by hand, to send what a well-behaved signer never would. */
static char *
forge (GBytes       *key,
       const char   *header_json,
       const char   *payload_json,
       GChecksumType hmac)
{
  g_autofree char *header = base64url (header_json, strlen (header_json));
  g_autofree char *payload = base64url (payload_json, strlen (payload_json));
  g_autofree char *signing_input = g_strconcat (header, ".", payload, NULL);
  g_autofree char *signature = NULL;

  if (key != NULL)
    {
      g_autoptr(GHmac) mac = g_hmac_new (hmac, g_bytes_get_data (key, NULL), g_bytes_get_size (key));
      guint8 digest[64];
      gsize digest_len = sizeof digest;

      g_hmac_update (mac, (const guchar *) signing_input, -1);
      g_hmac_get_digest (mac, digest, &digest_len);
      signature = base64url (digest, digest_len);
    }

  return g_strconcat (signing_input, ".", signature ? signature : "", NULL);
}

static void
assert_rejected (GBytes     *key,
                 const char *token,
                 const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) claims = ed_token_verify (key, token, "session", ed_time_now (), &error);

  g_assert_null (claims);
  g_assert_error (error, ED_ERROR, ED_ERROR_UNAUTHORIZED);
  if (reason != NULL && strstr (error->message, reason) == NULL)
    g_error ("expected “%s” in “%s”", reason, error->message);
}

static void
test_token_round_trip (void)
{
  g_autoptr(GBytes) key = make_key (7);
  g_autoptr(JsonObject) claims = json_object_new ();
  g_autoptr(JsonObject) verified = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  gint64 now = ed_time_now ();

  json_object_set_string_member (claims, "sub", "alice");
  json_object_set_int_member (claims, "aid", 3);
  token = ed_token_sign (key, "session", now + 60, claims, &error);
  g_assert_no_error (error);

  verified = ed_token_verify (key, token, "session", now, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ed_token_get_string_claim (verified, "sub"), ==, "alice");
  g_assert_cmpint (ed_token_get_int_claim (verified, "aid"), ==, 3);
  g_assert_cmpint (ed_token_get_int_claim (verified, "exp"), ==, now + 60);
  g_assert_null (ed_token_get_string_claim (verified, "aid"));

  /* What any JWT library expects: the HS256 header, and the HMAC-SHA256
   * of “header.payload” as the forger (checked against the daemon's
   * verifier in test_token_rejections) computes it.
   */
  {
    g_auto(GStrv) parts = g_strsplit (token, ".", -1);
    g_autofree char *payload_b64 = NULL;
    g_autofree char *payload_json = NULL;
    g_autofree char *forged = NULL;
    gsize len;

    g_assert_cmpuint (g_strv_length (parts), ==, 3);
    g_assert_cmpstr (parts[0], ==, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    payload_b64 = g_strconcat (parts[1], parts[1][0] != '\0' ? "==" : "", NULL);
    g_strdelimit (payload_b64, "-", '+');
    g_strdelimit (payload_b64, "_", '/');
    payload_b64[strlen (parts[1]) + (4 - strlen (parts[1]) % 4) % 4] = '\0';
    payload_json = (char *) g_base64_decode (payload_b64, &len);
    payload_json = g_realloc (payload_json, len + 1);
    payload_json[len] = '\0';
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autofree frees payload_json; clang 14's analyzer does not run cleanups */
    forged = forge (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload_json, G_CHECKSUM_SHA256);
    g_assert_cmpstr (forged, ==, token);
  }
}

/* The mailer's signer makes the very token libjwt makes for a guest's
 * link, and the daemon takes it.
 */
static void
test_token_signer (void)
{
  g_autoptr(GBytes) key = make_key (7);
  g_autoptr(GBytes) other_key = make_key (8);
  g_autoptr(EdTokenSigner) signer = ed_token_signer_new (key);
  EdRsvpTokenClaims claims = { .event_id = 12, .guest_id = 345678, .token_version = 3 };
  EdRsvpTokenClaims verified = { 0 };
  gint64 expires_at = ed_time_now () + 86400;
  g_autofree char *token = NULL;
  g_autofree char *libjwt_token = NULL;

  /* the same second, for the same iat */
  do
    {
      g_autoptr(GError) error = NULL;
      gint64 second = g_get_real_time () / G_USEC_PER_SEC;

      g_clear_pointer (&token, g_free);
      g_clear_pointer (&libjwt_token, g_free);
      token = ed_rsvp_token_sign_with (signer, &claims, expires_at);
      libjwt_token = ed_rsvp_token_sign (key, &claims, expires_at, &error);
      g_assert_no_error (error);
      if (g_get_real_time () / G_USEC_PER_SEC == second)
        break;
    }
  while (TRUE);

  g_assert_cmpstr (token, ==, libjwt_token);
  g_assert_true (ed_rsvp_token_verify (key, token, ed_time_now (), &verified));
  g_assert_cmpint (verified.event_id, ==, 12);
  g_assert_cmpint (verified.guest_id, ==, 345678);
  g_assert_cmpint (verified.token_version, ==, 3);
  g_assert_false (ed_rsvp_token_verify (other_key, token, ed_time_now (), &verified));
  g_assert_false (ed_rsvp_token_verify (key, token, expires_at, &verified));
}

static void
test_token_rejections (void)
{
  g_autoptr(GBytes) key = make_key (7);
  g_autoptr(GBytes) other_key = make_key (8);
  g_autoptr(GError) error = NULL;
  g_autofree char *good = ed_token_sign (key, "session", ed_time_now () + 60, NULL, &error);
  g_autofree char *expired = ed_token_sign (key, "session", ed_time_now () - 1, NULL, &error);
  g_autofree char *rsvp = ed_token_sign (key, "rsvp", ed_time_now () + 60, NULL, &error);
  g_autofree char *tampered = g_strdup (good);
  g_autofree char *payload = g_strdup_printf ("{\"typ\":\"session\",\"exp\":%" G_GINT64_FORMAT "}",
                                              ed_time_now () + 60);
  g_autofree char *none = forge (NULL, "{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, G_CHECKSUM_SHA256);
  g_autofree char *none_signed = forge (key, "{\"alg\":\"none\"}", payload, G_CHECKSUM_SHA256);
  g_autofree char *none_caps = forge (key, "{\"alg\":\"NONE\"}", payload, G_CHECKSUM_SHA256);
  g_autofree char *hs384 = forge (key, "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", payload, G_CHECKSUM_SHA384);
  g_autofree char *hs512 = forge (key, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, G_CHECKSUM_SHA512);
  g_autofree char *rs256 = forge (key, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, G_CHECKSUM_SHA256);
  g_autofree char *no_alg = forge (key, "{\"typ\":\"JWT\"}", payload, G_CHECKSUM_SHA256);
  g_autofree char *hs256 = forge (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, G_CHECKSUM_SHA256);
  g_autofree char *no_exp = forge (key, "{\"alg\":\"HS256\"}", "{\"typ\":\"session\"}", G_CHECKSUM_SHA256);
  g_autofree char *text_exp = forge (key, "{\"alg\":\"HS256\"}", "{\"typ\":\"session\",\"exp\":\"9999999999\"}", G_CHECKSUM_SHA256);
  g_autofree char *huge = g_strnfill (ED_TOKEN_MAX_LENGTH + 1, 'a');
  char *dot;
  g_autoptr(JsonObject) hand_made = NULL;

  g_assert_no_error (error);

  /* The hand-made HS256 token is accepted, so the forger is right and the
   * refusals below are about what they change.
   */
  hand_made = ed_token_verify (key, hs256, "session", ed_time_now (), &error);
  g_assert_no_error (error);
  g_assert_nonnull (hand_made);

  /* One character of the payload changed. */
  dot = strchr (tampered, '.');
  dot[3] = dot[3] == 'A' ? 'B' : 'A';

  assert_rejected (key, tampered, "signature");
  assert_rejected (other_key, good, "signature");
  assert_rejected (key, expired, "expired");
  assert_rejected (key, rsvp, "not meant");
  assert_rejected (key, none, NULL);
  assert_rejected (key, none_signed, "HS256");
  assert_rejected (key, none_caps, "HS256");
  assert_rejected (key, hs384, "HS256");
  assert_rejected (key, hs512, "HS256");
  assert_rejected (key, rs256, "HS256");
  assert_rejected (key, no_alg, "algorithm");
  assert_rejected (key, no_exp, "expiry");
  assert_rejected (key, text_exp, "expiry");
  assert_rejected (key, "", "empty");
  assert_rejected (key, "garbage", "not a signed JWT");
  assert_rejected (key, "a.b.c.d", "not a signed JWT");
  assert_rejected (key, "a.b.", "not a signed JWT");
  assert_rejected (key, "!!.??.**", "not a signed JWT");
  assert_rejected (key, huge, "too long");
}

static void
test_throttle (void)
{
  g_autoptr(EdLoginThrottle) throttle = ed_login_throttle_new ();
  gint64 now = 1000 * G_USEC_PER_SEC;
  gint64 previous = 0;

  /* A few mistakes are free. */
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (ed_login_throttle_wait (throttle, "alice", now), ==, 0);
      ed_login_throttle_failed (throttle, "alice", now);
    }
  g_assert_cmpint (ed_login_throttle_wait (throttle, "alice", now), ==, 0);

  /* Then each failure makes the wait longer, up to a limit. */
  for (guint i = 0; i < 12; i++)
    {
      gint64 wait;

      ed_login_throttle_failed (throttle, "alice", now);
      wait = ed_login_throttle_wait (throttle, "ALICE", now);
      g_assert_cmpint (wait, >=, previous);
      g_assert_cmpint (wait, >, 0);
      g_assert_cmpint (wait, <=, 60 * G_USEC_PER_SEC);
      previous = wait;
    }
  g_assert_cmpint (previous, ==, 60 * G_USEC_PER_SEC);
  g_assert_cmpint (ed_login_throttle_wait (throttle, "alice", now + 61 * G_USEC_PER_SEC), ==, 0);

  /* Other accounts are not affected; success forgets. */
  g_assert_cmpint (ed_login_throttle_wait (throttle, "bob", now), ==, 0);
  ed_login_throttle_succeeded (throttle, "Alice");
  g_assert_cmpint (ed_login_throttle_wait (throttle, "alice", now), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/auth/password/yescrypt", test_password_yescrypt);
  g_test_add_func ("/auth/password/bcrypt", test_password_bcrypt);
  g_test_add_func ("/auth/password/async", test_password_async);
  g_test_add_func ("/auth/password/strength", test_password_strength);
  g_test_add_func ("/auth/token/round-trip", test_token_round_trip);
  g_test_add_func ("/auth/token/rejections", test_token_rejections);
  g_test_add_func ("/auth/token/signer", test_token_signer);
  g_test_add_func ("/auth/throttle", test_throttle);

  return g_test_run ();
}
