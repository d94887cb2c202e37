/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ed-rsvp-token.h"
#include "ed-token.h"

/* The input is a token as a client would send it (in an Authorization
 * header or an RSVP link), checked with a fixed key at a fixed time as
 * a session token and as an RSVP token. The seeds include tokens signed
 * with that key, so that mutations reach past the signature check.
 *
 * What is accepted must be exactly what an independent check accepts:
 * three base64url parts, an HS256 header, an HMAC-SHA256 signature over
 * the first two parts with the key, the right type, a future expiry.
 * The fuzzer cannot forge a signature, so an accepted mutation is a bug.
 */

#define NOW G_GINT64_CONSTANT (1800000000)

static const guint8 key_bytes[ED_TOKEN_KEY_SIZE] = "eventdesk-fuzz-key-0123456789ab";

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static GBytes *key;

static char *
base64url_decode (const char *text,
                  gsize       len,
                  gsize      *out_len)
{
  g_autoptr(GString) b64 = g_string_new_len (text, len);

  g_string_replace (b64, "-", "+", 0);
  g_string_replace (b64, "_", "/", 0);
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');

  return (char *) g_base64_decode (b64->str, out_len);
}

/* The signature part is the HMAC of the rest, with our key. */
static gboolean
signature_matches (const char *token)
{
  const char *last_dot = strrchr (token, '.');
  g_autoptr(GHmac) hmac = NULL;
  g_autofree char *signature = NULL;
  guint8 mac[32];
  gsize mac_len = sizeof mac;
  gsize signature_len = 0;

  if (last_dot == NULL)
    return FALSE;

  hmac = g_hmac_new (G_CHECKSUM_SHA256, key_bytes, sizeof key_bytes);
  g_hmac_update (hmac, (const guchar *) token, last_dot - token);
  g_hmac_get_digest (hmac, mac, &mac_len);

  signature = base64url_decode (last_dot + 1, strlen (last_dot + 1), &signature_len);
  return signature != NULL && signature_len == mac_len && memcmp (signature, mac, mac_len) == 0;
}

static void
check_accepted (const char *token,
                JsonObject *claims,
                const char *type)
{
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);
  g_autofree char *header = NULL;
  gsize header_len = 0;

  if (g_strv_length (parts) != 3 || !signature_matches (token))
    abort ();

  header = base64url_decode (parts[0], strlen (parts[0]), &header_len);
  if (header == NULL || g_strstr_len (header, header_len, "HS256") == NULL)
    abort ();

  if (g_strcmp0 (ed_token_get_string_claim (claims, "typ"), type) != 0)
    abort ();
  if (ed_token_get_int_claim (claims, "exp") <= NOW)
    abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_abort_on_warnings ();
  key = g_bytes_new_static (key_bytes, sizeof key_bytes);

  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *token = g_strndup ((const char *) data, size);
  g_autoptr(JsonObject) session = NULL;
  g_autoptr(GError) error = NULL;
  EdRsvpTokenClaims rsvp = { 0, 0, 0 };

  session = ed_token_verify (key, token, "session", NOW, &error);
  if ((session == NULL) == (error == NULL))
    abort ();
  if (session != NULL)
    check_accepted (token, session, "session");
  else if (!g_utf8_validate (error->message, -1, NULL))
    abort ();

  if (ed_rsvp_token_verify (key, token, NOW, &rsvp))
    {
      g_autoptr(JsonObject) claims = ed_token_verify (key, token, "rsvp", NOW, NULL);

      if (claims == NULL)
        abort ();
      check_accepted (token, claims, "rsvp");
      if (rsvp.event_id <= 0 || rsvp.guest_id <= 0 || rsvp.token_version <= 0)
        abort ();
    }

  return 0;
}
