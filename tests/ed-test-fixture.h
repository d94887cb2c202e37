/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "ed-test-daemon.h"
#include "ed-test-http.h"

G_BEGIN_DECLS

/* The usual start of an integration test: the real daemon with one admin,
 * who is logged in, and an HTTP session to talk to it as that admin.
 */

#define ED_TEST_ADMIN_NAME "admin"
#define ED_TEST_ADMIN_PASSWORD "correct horse battery staple"

typedef struct
{
  EdTestDaemon *daemon;
  SoupSession  *session;
  char         *token;    /* the admin's session */
} EdTestFixture;

void            ed_test_fixture_set_up    (EdTestFixture  *fixture,
                                           gconstpointer   user_data);
void            ed_test_fixture_tear_down (EdTestFixture  *fixture,
                                           gconstpointer   user_data);

EdTestResponse *ed_test_api               (EdTestFixture  *fixture,
                                           const char     *method,
                                           const char     *json_body,
                                           const char     *path_format,
                                           ...) G_GNUC_PRINTF (4, 5);
gint64          ed_test_api_create        (EdTestFixture  *fixture,
                                           const char     *json_body,
                                           const char     *path_format,
                                           ...) G_GNUC_PRINTF (3, 4);
char           *ed_test_api_link_token    (EdTestFixture  *fixture,
                                           gint64          guest_id);

/* Members of an answer. A member that is missing or of another type fails
 * the test (assertions are non-fatal in these tests) and gives an empty
 * value, so that the test goes on to its end without crashing.
 */
gint64          ed_test_json_int          (JsonObject     *object,
                                           const char     *name);
gint64          ed_test_json_int_or_null  (JsonObject     *object,
                                           const char     *name);
const char     *ed_test_json_string       (JsonObject     *object,
                                           const char     *name);
gboolean        ed_test_json_boolean      (JsonObject     *object,
                                           const char     *name);
JsonObject     *ed_test_json_object       (JsonObject     *object,
                                           const char     *name);
JsonArray      *ed_test_json_array        (JsonObject     *object,
                                           const char     *name);

G_END_DECLS
