/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* libsoup 3.2 has no name for it. */
#define ED_HTTP_STATUS_TOO_MANY_REQUESTS 429

void         ed_http_reply_json     (SoupServerMessage  *msg,
                                     guint               status,
                                     JsonBuilder        *builder);
void         ed_http_reply_error    (SoupServerMessage  *msg,
                                     guint               status,
                                     const char         *code,
                                     const char         *format,
                                     ...) G_GNUC_PRINTF (4, 5);
void         ed_http_reply_gerror   (SoupServerMessage  *msg,
                                     const GError       *error);
void         ed_http_reply_fields   (SoupServerMessage  *msg,
                                     JsonObject         *fields);
void         ed_http_reply_empty    (SoupServerMessage  *msg,
                                     guint               status);
JsonObject  *ed_http_read_json      (SoupServerMessage  *msg,
                                     GError            **error);
JsonObject  *ed_http_parse_json     (const char         *data,
                                     gsize               length,
                                     GError            **error);
/* The public pages' (/r/, /u/): their URLs carry the guest's token. */
#define ED_HTTP_PAGE_CSP \
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " \
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

void         ed_http_set_private_headers (SoupServerMessage *msg);
gboolean     ed_http_wants_json     (SoupServerMessage  *msg);
void         ed_http_set_route      (SoupServerMessage  *msg,
                                     const char         *route);
const char  *ed_http_get_route      (SoupServerMessage  *msg);

G_END_DECLS
