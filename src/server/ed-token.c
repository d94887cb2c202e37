/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-auth"

#include "config.h"

#include <errno.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ed-error.h"
#include "ed-token.h"

/* Tokens are JWTs signed with HS256 and nothing else. The header is checked
 * before libjwt sees the token, and the algorithm libjwt reports is checked
 * again after, so that neither "none" nor another algorithm is accepted
 * whatever the library would do with it. Expiry is checked here too.
 */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (jwt_t, jwt_free)

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
 * @claims: (nullable): more claims
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
  g_autoptr(jwt_t) jwt = NULL;
  gsize key_len;
  const guchar *key_data;
  char *encoded;
  char *token;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (type != NULL, NULL);

  key_data = g_bytes_get_data (key, &key_len);

  if (jwt_new (&jwt) != 0)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_STORE, "Out of memory making a token");
      return NULL;
    }

  if (claims != NULL)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      g_autofree char *json = NULL;

      json_node_set_object (node, claims);
      json = json_to_string (node, FALSE);
      if (jwt_add_grants_json (jwt, json) != 0)
        {
          g_set_error_literal (error, ED_ERROR, ED_ERROR_STORE, "Cannot add the token's claims");
          return NULL;
        }
    }

  if (jwt_add_grant (jwt, "typ", type) != 0 ||
      jwt_add_grant_int (jwt, "iat", g_get_real_time () / G_USEC_PER_SEC) != 0 ||
      jwt_add_grant_int (jwt, "exp", expires_at) != 0 ||
      jwt_set_alg (jwt, JWT_ALG_HS256, key_data, (int) key_len) != 0)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_STORE, "Cannot sign the token");
      return NULL;
    }

  encoded = jwt_encode_str (jwt);
  if (encoded == NULL)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_STORE, "Cannot sign the token");
      return NULL;
    }

  token = g_strdup (encoded);
  free (encoded);
  return token;
}

/* HS256 tokens with the key's HMAC state made once: the mailer signs a
 * guest's links for every message, and libjwt builds and parses JSON
 * objects and sets up the MAC afresh for each token. The header is the
 * one libjwt writes, so that both make the same bytes.
 */
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

struct _EdTokenSigner
{
  GHmac *hmac;        /* keyed, never updated: copied for each token */
  char  *header;      /* HS256_HEADER, base64url */
};

static void
append_base64url (GString      *out,
                  const guchar *data,
                  gsize         len)
{
  g_autofree char *base64 = g_base64_encode (data, len);

  for (const char *p = base64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
}

/**
 * ed_token_signer_new:
 * @key: the HMAC key
 *
 * Returns: (transfer full): a signer, usable from several threads at once
 */
EdTokenSigner *
ed_token_signer_new (GBytes *key)
{
  EdTokenSigner *self;
  GString *header = g_string_new (NULL);
  gsize key_len;
  const guchar *key_data;

  g_return_val_if_fail (key != NULL, NULL);

  key_data = g_bytes_get_data (key, &key_len);
  append_base64url (header, (const guchar *) HS256_HEADER, strlen (HS256_HEADER));

  self = g_new0 (EdTokenSigner, 1);
  self->hmac = g_hmac_new (G_CHECKSUM_SHA256, key_data, key_len);
  self->header = g_string_free (header, FALSE);
  return self;
}

void
ed_token_signer_free (EdTokenSigner *self)
{
  if (self == NULL)
    return;

  g_hmac_unref (self->hmac);
  g_free (self->header);
  g_free (self);
}

/**
 * ed_token_signer_sign:
 * @self: a signer
 * @claims_json: the claims as compact JSON with the keys in order, as
 *   ed_token_sign() writes them: with `typ`, `iat` and `exp`
 *
 * Returns: (transfer full): the token, which ed_token_verify() accepts
 */
char *
ed_token_signer_sign (EdTokenSigner *self,
                      const char    *claims_json)
{
  g_autoptr(GHmac) hmac = NULL;
  GString *token;
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (claims_json != NULL, NULL);

  token = g_string_sized_new (256);
  g_string_append (token, self->header);
  g_string_append_c (token, '.');
  append_base64url (token, (const guchar *) claims_json, strlen (claims_json));

  hmac = g_hmac_copy (self->hmac);
  g_hmac_update (hmac, (const guchar *) token->str, token->len);
  g_hmac_get_digest (hmac, digest, &digest_len);

  g_string_append_c (token, '.');
  append_base64url (token, digest, digest_len);
  return g_string_free (token, FALSE);
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
  g_autoptr(jwt_t) jwt = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *claims;
  const guchar *key_data;
  gsize key_len;
  char *json;

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
  if (!check_header (token, error))
    return NULL;

  key_data = g_bytes_get_data (key, &key_len);
  if (jwt_decode (&jwt, token, key_data, (int) key_len) != 0 || jwt == NULL)
    {
      set_rejected (error, "its signature does not match");
      return NULL;
    }
  if (jwt_get_alg (jwt) != JWT_ALG_HS256)
    {
      set_rejected (error, "only HS256 is accepted");
      return NULL;
    }

  json = jwt_get_grants_json (jwt, NULL);
  if (json != NULL)
    {
      node = json_from_string (json, NULL);
      free (json);
    }
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
