/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ed-event.h"
#include "ed-token.h"

G_BEGIN_DECLS

/* A personal RSVP link stays valid this long after its event ends (or
 * starts, when it has no end), so that a guest can still look up what
 * they answered and download the calendar entry.
 */
#define ED_RSVP_LINK_GRACE_SECONDS (7 * 24 * 3600)

typedef struct
{
  gint64 event_id;
  gint64 guest_id;
  gint64 token_version;
} EdRsvpTokenClaims;

gint64    ed_rsvp_token_expiry (const EdEvent            *event);
char     *ed_rsvp_token_sign   (GBytes                   *key,
                                const EdRsvpTokenClaims  *claims,
                                gint64                    expires_at,
                                GError                  **error);
char     *ed_rsvp_token_sign_with (EdTokenSigner         *signer,
                                   const EdRsvpTokenClaims *claims,
                                   gint64                 expires_at);
gboolean  ed_rsvp_token_verify (GBytes                   *key,
                                const char               *token,
                                gint64                    now,
                                EdRsvpTokenClaims        *claims);

/* Tokens verified before, so that a page polling its seats every few
 * seconds costs one signature check rather than one per request.
 */
typedef struct _EdRsvpTokenCache EdRsvpTokenCache;

EdRsvpTokenCache *ed_rsvp_token_cache_new    (guint              max_entries);
void              ed_rsvp_token_cache_free   (EdRsvpTokenCache  *cache);
gboolean          ed_rsvp_token_cache_verify (EdRsvpTokenCache  *cache,
                                              GBytes            *key,
                                              const char        *token,
                                              gint64             now,
                                              EdRsvpTokenClaims *claims);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdRsvpTokenCache, ed_rsvp_token_cache_free)

G_END_DECLS
