/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-client.h"
#include "ed-event-object.h"

G_BEGIN_DECLS

#define ED_TYPE_EVENT_DIALOG (ed_event_dialog_get_type ())

G_DECLARE_FINAL_TYPE (EdEventDialog, ed_event_dialog, ED, EVENT_DIALOG, AdwWindow)

EdEventDialog *ed_event_dialog_new (GtkWindow     *parent,
                                    EdClient      *client,
                                    EdEventObject *event);

G_END_DECLS
