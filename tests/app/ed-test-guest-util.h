/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <json-glib/json-glib.h>

#include "ed-client.h"
#include "ed-test-daemon.h"

G_BEGIN_DECLS

/* The guest pages' tests: a real eventdeskd with an admin, a logged-in
 * EdClient, and synchronous wrappers around the client's calls that run
 * the main loop until the answer is there (ed-test-app.h's waits).
 */
typedef struct
{
  EdTestDaemon *daemon;
  EdClient     *client;
} EdTestGuestServer;

EdTestGuestServer *ed_test_guest_server_new     (void);
void               ed_test_guest_server_free    (EdTestGuestServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTestGuestServer, ed_test_guest_server_free)

/* One API call; @error_out NULL asserts that it succeeds. */
JsonNode   *ed_test_guest_call          (EdClient             *client,
                                         const char           *method,
                                         const char           *path,
                                         const char           *json_body,
                                         GError              **error_out);
gint64      ed_test_guest_create_event  (EdClient             *client,
                                         const char           *name,
                                         guint                 capacity);
gint64      ed_test_guest_create_guest  (EdClient             *client,
                                         gint64                event_id,
                                         const char           *email,
                                         const char           *first_name,
                                         const char           *last_name);
/* A guest's answer through their own link (POST /r/TOKEN, as the RSVP
 * page sends it): @response "accept" or "decline". Returns the seats
 * left that the daemon answered. */
gint64      ed_test_guest_answer        (EdClient             *client,
                                         gint64                guest_id,
                                         const char           *response,
                                         guint                 party_size);
/* Writes a CSV of @n guests "guestNNNN@example.com", "First NNNN",
 * "LastNNNN" (NNNN from 0, four digits) into @dir and returns it. */
GFile      *ed_test_guest_write_csv     (const char           *dir,
                                         guint                 n);
/* The row cell (GtkInscription) under @root that shows @text on screen. */
GtkWidget  *ed_test_guest_find_text     (GtkWidget            *root,
                                         const char           *text);
/* Imports @file into the event (mode skip) and returns the report. */
JsonObject *ed_test_guest_import        (EdClient             *client,
                                         gint64                event_id,
                                         GFile                *file);

G_END_DECLS
