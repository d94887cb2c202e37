/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ED_TOKEN_KEY_SIZE 32
#define ED_TOKEN_MAX_LENGTH 4096

char       *ed_token_sign   (GBytes      *key,
                             const char  *type,
                             gint64       expires_at,
                             JsonObject  *claims,
                             GError     **error);
JsonObject *ed_token_verify (GBytes      *key,
                             const char  *token,
                             const char  *type,
                             gint64       now,
                             GError     **error);

typedef struct _EdTokenSigner EdTokenSigner;

EdTokenSigner *ed_token_signer_new  (GBytes         *key);
void           ed_token_signer_free (EdTokenSigner  *self);
char          *ed_token_signer_sign (EdTokenSigner  *self,
                                     const char     *claims_json);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTokenSigner, ed_token_signer_free)

char       *ed_token_new_id           (void);
const char *ed_token_get_string_claim (JsonObject *claims,
                                       const char *name);
gint64      ed_token_get_int_claim    (JsonObject *claims,
                                       const char *name);

G_END_DECLS
