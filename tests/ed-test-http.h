/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* One answer of the daemon, read whole. */
typedef struct
{
  guint               status;
  SoupMessageHeaders *headers;
  GBytes             *body;
  JsonNode           *json;     /* the parsed body when it was sent as JSON, else NULL */
} EdTestResponse;

void            ed_test_response_free            (EdTestResponse      *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTestResponse, ed_test_response_free)

EdTestResponse *ed_test_response_new             (SoupMessage         *msg,
                                                  GBytes              *body);
void            ed_test_response_dump            (EdTestResponse      *response);
const char     *ed_test_response_get_header      (EdTestResponse      *response,
                                                  const char          *name);
JsonObject     *ed_test_response_get_object      (EdTestResponse      *response);
const char     *ed_test_response_get_error_code  (EdTestResponse      *response);
const char     *ed_test_response_get_error_field (EdTestResponse      *response,
                                                  const char          *field);
char           *ed_test_response_get_body_text   (EdTestResponse      *response);

SoupSession    *ed_test_http_session_new         (void);
SoupMessage    *ed_test_http_message_new         (const char          *method,
                                                  const char          *url,
                                                  const char          *token,
                                                  const char          *json_body,
                                                  const char * const  *headers);
EdTestResponse *ed_test_http_send                (SoupSession         *session,
                                                  SoupMessage         *msg);
EdTestResponse *ed_test_http_request             (SoupSession         *session,
                                                  const char          *method,
                                                  const char          *url,
                                                  const char          *token,
                                                  const char          *json_body,
                                                  const char * const  *headers);
EdTestResponse *ed_test_http_request_bytes       (SoupSession         *session,
                                                  const char          *method,
                                                  const char          *url,
                                                  const char          *token,
                                                  const char          *content_type,
                                                  GBytes              *body,
                                                  gboolean             chunked);
char           *ed_test_http_login               (SoupSession         *session,
                                                  const char          *base_url,
                                                  const char          *username,
                                                  const char          *password);

/* Asserts the HTTP status, showing the body of an unexpected answer. */
#define ed_test_assert_status(response, expected)                              \
  G_STMT_START {                                                               \
    if ((response)->status != (guint) (expected))                              \
      ed_test_response_dump (response);                                        \
    g_assert_cmpuint ((response)->status, ==, (expected));                     \
  } G_STMT_END

/* Asserts an error answer: the status and the `error.code` of its body. */
#define ed_test_assert_error(response, expected_status, expected_code)         \
  G_STMT_START {                                                               \
    ed_test_assert_status ((response), (expected_status));                     \
    g_assert_cmpstr (ed_test_response_get_error_code (response), ==,           \
                     (expected_code));                                         \
  } G_STMT_END

JsonObject     *ed_test_token_claims             (const char          *token);

G_END_DECLS
