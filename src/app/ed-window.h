/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-application.h"
#include "ed-client.h"
#include "ed-live-client.h"

G_BEGIN_DECLS

#define ED_TYPE_WINDOW (ed_window_get_type ())

G_DECLARE_FINAL_TYPE (EdWindow, ed_window, ED, WINDOW, AdwApplicationWindow)

EdWindow *ed_window_new          (EdApplication *application);
EdClient *ed_window_get_client   (EdWindow      *self);
void      ed_window_set_client   (EdWindow      *self,
                                  EdClient      *client);
/* The live feed of the client (NULL without one); pages bind to the
 * window's "live-client" property. */
EdLiveClient *ed_window_get_live_client (EdWindow *self);
gint64    ed_window_get_event_id (EdWindow      *self);
void      ed_window_set_event_id (EdWindow      *self,
                                  gint64         event_id);
void      ed_window_add_toast    (EdWindow      *self,
                                  const char    *message);

G_END_DECLS
