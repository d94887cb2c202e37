/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-rsvp"

#include "config.h"

#include "ed-rsvp-token.h"
#include "ed-time-util.h"
#include "ed-token.h"

/* The token of a guest's personal link: a JWT (HS256, see ed-token.c) of
 * type "rsvp" naming the event (`evt`), the guest (`gst`) and the guest's
 * token version (`ver`). Bumping the version in the database revokes
 * every link issued before; the claims themselves are checked against
 * the database by the caller.
 */

gint64
ed_rsvp_token_expiry (const EdEvent *event)
{
  g_return_val_if_fail (event != NULL, 0);

  return MAX (event->ends_at, event->starts_at) + ED_RSVP_LINK_GRACE_SECONDS;
}

char *
ed_rsvp_token_sign (GBytes                   *key,
                    const EdRsvpTokenClaims  *claims,
                    gint64                    expires_at,
                    GError                  **error)
{
  g_autoptr(JsonObject) object = json_object_new ();

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (claims != NULL, NULL);

  json_object_set_int_member (object, "evt", claims->event_id);
  json_object_set_int_member (object, "gst", claims->guest_id);
  json_object_set_int_member (object, "ver", claims->token_version);

  return ed_token_sign (key, "rsvp", expires_at, object, error);
}

/**
 * ed_rsvp_token_sign_with:
 * @signer: a signer made with the key
 * @claims: the link's claims
 * @expires_at: when it expires
 *
 * The token ed_rsvp_token_sign() makes, byte for byte, at a fraction of
 * the cost: for the mailer, which signs one per message.
 *
 * Returns: (transfer full): the token
 */
char *
ed_rsvp_token_sign_with (EdTokenSigner            *signer,
                         const EdRsvpTokenClaims  *claims,
                         gint64                    expires_at)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (signer != NULL, NULL);
  g_return_val_if_fail (claims != NULL, NULL);

  /* the claims ed_token_sign() writes, keys in order, as libjwt has them */
  json = g_strdup_printf ("{\"evt\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT ",\"gst\":%" G_GINT64_FORMAT
                          ",\"iat\":%" G_GINT64_FORMAT ",\"typ\":\"rsvp\",\"ver\":%" G_GINT64_FORMAT "}",
                          claims->event_id, expires_at, claims->guest_id,
                          ed_time_now (), claims->token_version);
  return ed_token_signer_sign (signer, json);
}

struct _EdRsvpTokenCache
{
  GHashTable *entries; /* token -> CachedToken */
  guint       max_entries;
};

typedef struct
{
  EdRsvpTokenClaims claims;
  gint64            expires_at;
} CachedToken;

static gboolean
verify (GBytes             *key,
        const char         *token,
        gint64              now,
        EdRsvpTokenClaims  *claims,
        gint64             *expires_at)
{
  g_autoptr(JsonObject) object = ed_token_verify (key, token, "rsvp", now, NULL);

  if (object == NULL)
    return FALSE;

  claims->event_id = ed_token_get_int_claim (object, "evt");
  claims->guest_id = ed_token_get_int_claim (object, "gst");
  claims->token_version = ed_token_get_int_claim (object, "ver");
  if (expires_at != NULL)
    *expires_at = ed_token_get_int_claim (object, "exp");

  return claims->event_id > 0 && claims->guest_id > 0 && claims->token_version > 0;
}

/**
 * ed_rsvp_token_verify:
 * @key: the daemon's signing key
 * @token: the token from the link
 * @now: the current Unix time
 * @claims: (out): what the token names
 *
 * Checks the signature (HS256 only), the type and the expiry. Why a token
 * fails is not told: every failure looks the same to the guest.
 *
 * Returns: whether @token is a valid, unexpired RSVP token
 */
gboolean
ed_rsvp_token_verify (GBytes             *key,
                      const char         *token,
                      gint64              now,
                      EdRsvpTokenClaims  *claims)
{
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (claims != NULL, FALSE);

  return verify (key, token, now, claims, NULL);
}

EdRsvpTokenCache *
ed_rsvp_token_cache_new (guint max_entries)
{
  EdRsvpTokenCache *cache = g_new0 (EdRsvpTokenCache, 1);

  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cache->max_entries = MAX (max_entries, 1);
  return cache;
}

void
ed_rsvp_token_cache_free (EdRsvpTokenCache *cache)
{
  if (cache == NULL)
    return;

  g_hash_table_unref (cache->entries);
  g_free (cache);
}

/**
 * ed_rsvp_token_cache_verify:
 *
 * Like ed_rsvp_token_verify(), remembering the tokens that pass. Only a
 * token that passed the whole check is kept, under its exact text, and
 * its expiry is checked again at each use; revocation is the caller's
 * check against the database either way. When full, the cache starts
 * over rather than tracking recency.
 */
gboolean
ed_rsvp_token_cache_verify (EdRsvpTokenCache  *cache,
                            GBytes            *key,
                            const char        *token,
                            gint64             now,
                            EdRsvpTokenClaims *claims)
{
  CachedToken *cached;
  gint64 expires_at = 0;

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (claims != NULL, FALSE);

  if (token == NULL)
    return FALSE;

  cached = g_hash_table_lookup (cache->entries, token);
  if (cached != NULL)
    {
      if (cached->expires_at <= now)
        {
          g_hash_table_remove (cache->entries, token);
          return FALSE;
        }
      *claims = cached->claims;
      return TRUE;
    }

  if (!verify (key, token, now, claims, &expires_at))
    return FALSE;

  if (g_hash_table_size (cache->entries) >= cache->max_entries)
    g_hash_table_remove_all (cache->entries);
  cached = g_new (CachedToken, 1);
  cached->claims = *claims;
  cached->expires_at = expires_at;
  g_hash_table_insert (cache->entries, g_strdup (token), cached);

  return TRUE;
}
