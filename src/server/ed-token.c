/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-auth"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "ed-error.h"
#include "ed-token.h"

/* Tokens are JWTs (RFC 7519) signed with HS256 and nothing else: a header
 * naming any other algorithm, "none" included, is refused before anything
 * else is looked at. The signature is HMAC-SHA256 over “header.payload”
 * (RFC 7515), compared in constant time with the token's, as text in the
 * one base64url spelling it has; then the claims, their type and the
 * expiry are checked.
 *
 * GLib's HMAC and JSON do it all. A general JWT library did the same
 * through another JSON library and an OpenSSL HMAC set up anew for every
 * token, which cost more than the rest of an RSVP answer on the main loop,
 * and a mail its own link twice over.
 */

/* {"alg":"HS256","typ":"JWT"} */
#define HS256_HEADER "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

static gboolean
set_rejected (GError     **error,
              const char  *reason)
{
  g_set_error (error, ED_ERROR, ED_ERROR_UNAUTHORIZED, "The token was rejected: %s", reason);
  return FALSE;
}

static gboolean
is_base64url (const char *s,
              gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '-' && s[i] != '_')
      return FALSE;

  return len > 0;
}

static JsonNode *
decode_json_segment (const char *segment,
                     gsize       len)
{
  g_autoptr(GString) b64 = g_string_new_len (segment, len);
  g_autofree guchar *raw = NULL;
  g_autofree char *text = NULL;
  gsize raw_len;

  g_string_replace (b64, "-", "+", 0);
  g_string_replace (b64, "_", "/", 0);
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');

  raw = g_base64_decode (b64->str, &raw_len);
  if (raw == NULL || raw_len == 0 || !g_utf8_validate ((const char *) raw, raw_len, NULL))
    return NULL;

  text = g_strndup ((const char *) raw, raw_len);
  return json_from_string (text, NULL);
}

/* Returns the string claim @name, or NULL if it is missing or not a string. */
const char *
ed_token_get_string_claim (JsonObject *claims,
                           const char *name)
{
  JsonNode *node = json_object_get_member (claims, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
check_header (const char  *token,
              GError     **error)
{
  const char *dot1 = strchr (token, '.');
  const char *dot2 = dot1 ? strchr (dot1 + 1, '.') : NULL;
  g_autoptr(JsonNode) header = NULL;
  JsonObject *object;
  const char *alg;

  if (dot1 == NULL || dot2 == NULL || strchr (dot2 + 1, '.') != NULL)
    return set_rejected (error, "it is not a signed JWT");
  if (!is_base64url (token, dot1 - token) ||
      !is_base64url (dot1 + 1, dot2 - dot1 - 1) ||
      !is_base64url (dot2 + 1, strlen (dot2 + 1)))
    return set_rejected (error, "it is not a signed JWT");

  header = decode_json_segment (token, dot1 - token);
  if (header == NULL || !JSON_NODE_HOLDS_OBJECT (header))
    return set_rejected (error, "its header is not a JSON object");

  object = json_node_get_object (header);
  alg = ed_token_get_string_claim (object, "alg");
  if (alg == NULL)
    return set_rejected (error, "its header names no algorithm");
  if (g_strcmp0 (alg, "HS256") != 0)
    return set_rejected (error, "only HS256 is accepted");

  return TRUE;
}

/* base64url without padding (RFC 7515, section 2) */
static char *
base64url_encode (const guchar *data,
                  gsize         len)
{
  char *text = g_base64_encode (data, len);

  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }

  return text;
}

/* The signature of the first @len bytes of @signing_input, as a token
 * spells it.
 */
static char *
sign_hs256 (GBytes     *key,
            const char *signing_input,
            gsize       len)
{
  g_autoptr(GHmac) hmac = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  const guchar *key_data;
  gsize key_len;

  key_data = g_bytes_get_data (key, &key_len);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, key_data, key_len);
  g_hmac_update (hmac, (const guchar *) signing_input, (gssize) len);
  g_hmac_get_digest (hmac, digest, &digest_len);
  g_assert (digest_len == sizeof digest);

  return base64url_encode (digest, digest_len);
}

/* Compares the two in a time that depends on their lengths only, which
 * are no secret, so that a forger learns nothing from how long a wrong
 * signature takes to refuse.
 */
static gboolean
equal_in_constant_time (const char *a,
                        const char *b)
{
  gsize len = strlen (a);
  guchar diff = 0;

  if (strlen (b) != len)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    diff |= (guchar) a[i] ^ (guchar) b[i];

  return diff == 0;
}

/* A random 128-bit identifier in hex, for the `jti` claim. */
char *
ed_token_new_id (void)
{
  guint8 raw[16];
  gsize done = 0;

  while (done < sizeof raw)
    {
      gssize n = getrandom (raw + done, sizeof raw - done, 0);

      if (n > 0)
        done += n;
      else
        g_assert (errno == EINTR);
    }

  {
    GString *hex = g_string_sized_new (2 * sizeof raw);

    for (gsize i = 0; i < sizeof raw; i++)
      g_string_append_printf (hex, "%02x", raw[i]);
    return g_string_free (hex, FALSE);
  }
}

/* Returns the integer claim @name, or 0 if it is missing or not an integer. */
gint64
ed_token_get_int_claim (JsonObject *claims,
                        const char *name)
{
  JsonNode *node = json_object_get_member (claims, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;

  return json_node_get_int (node);
}

/**
 * ed_token_sign:
 * @key: the HMAC key
 * @type: what the token is for (the `typ` claim), such as "session"
 * @expires_at: Unix time after which the token is refused
 * @claims: (nullable): more claims; not `typ`, `iat` or `exp`, which this
 *   sets
 * @error: return location for an error
 *
 * Returns: (transfer full): the token
 */
char *
ed_token_sign (GBytes      *key,
               const char  *type,
               gint64       expires_at,
               JsonObject  *claims,
               GError     **error)
{
  g_autoptr(JsonObject) payload = json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *payload_json = NULL;
  g_autofree char *payload_b64 = NULL;
  g_autofree char *signing_input = NULL;
  g_autofree char *signature = NULL;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (type != NULL, NULL);

  if (claims != NULL)
    {
      g_autoptr(GList) members = json_object_get_members (claims);

      for (GList *l = members; l != NULL; l = l->next)
        {
          const char *name = l->data;

          if (strcmp (name, "typ") == 0 || strcmp (name, "iat") == 0 || strcmp (name, "exp") == 0)
            {
              g_set_error (error, ED_ERROR, ED_ERROR_STORE, "Cannot sign the token: it sets “%s” itself", name);
              return NULL;
            }
          json_object_set_member (payload, name, json_node_copy (json_object_get_member (claims, name)));
        }
    }
  json_object_set_string_member (payload, "typ", type);
  json_object_set_int_member (payload, "iat", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_int_member (payload, "exp", expires_at);

  json_node_set_object (node, payload);
  payload_json = json_to_string (node, FALSE);
  payload_b64 = base64url_encode ((const guchar *) payload_json, strlen (payload_json));
  signing_input = g_strconcat (HS256_HEADER ".", payload_b64, NULL);
  signature = sign_hs256 (key, signing_input, strlen (signing_input));

  return g_strconcat (signing_input, ".", signature, NULL);
}

/**
 * ed_token_verify:
 * @key: the HMAC key
 * @token: the token as received
 * @type: the `typ` claim required
 * @now: the current Unix time
 * @error: return location for an %ED_ERROR_UNAUTHORIZED error saying why
 *
 * Returns: (transfer full): the token's claims, or %NULL
 */
JsonObject *
ed_token_verify (GBytes      *key,
                 const char  *token,
                 const char  *type,
                 gint64       now,
                 GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *expected = NULL;
  const char *dot1, *dot2;
  JsonObject *claims;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (type != NULL, NULL);

  if (token == NULL || *token == '\0')
    {
      set_rejected (error, "it is empty");
      return NULL;
    }
  if (strlen (token) > ED_TOKEN_MAX_LENGTH)
    {
      set_rejected (error, "it is too long");
      return NULL;
    }
  /* three base64url parts, the header naming HS256 */
  if (!check_header (token, error))
    return NULL;

  dot1 = strchr (token, '.');
  dot2 = strchr (dot1 + 1, '.');
  expected = sign_hs256 (key, token, dot2 - token);
  if (!equal_in_constant_time (expected, dot2 + 1))
    {
      set_rejected (error, "its signature does not match");
      return NULL;
    }

  node = decode_json_segment (dot1 + 1, dot2 - dot1 - 1);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      set_rejected (error, "its claims are not a JSON object");
      return NULL;
    }
  claims = json_node_get_object (node);

  if (g_strcmp0 (ed_token_get_string_claim (claims, "typ"), type) != 0)
    {
      set_rejected (error, "it is not meant for this use");
      return NULL;
    }
  if (!json_object_has_member (claims, "exp") ||
      json_node_get_value_type (json_object_get_member (claims, "exp")) != G_TYPE_INT64)
    {
      set_rejected (error, "it has no expiry time");
      return NULL;
    }
  if (json_object_get_int_member (claims, "exp") <= now)
    {
      set_rejected (error, "it has expired");
      return NULL;
    }

  return json_object_ref (claims);
}
