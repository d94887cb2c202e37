/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ED_TYPE_EVENT_OBJECT (ed_event_object_get_type ())

G_DECLARE_FINAL_TYPE (EdEventObject, ed_event_object, ED, EVENT_OBJECT, GObject)

EdEventObject *ed_event_object_new          (JsonObject    *event);
void           ed_event_object_update       (EdEventObject *self,
                                             JsonObject    *event);
gint64         ed_event_object_get_id       (EdEventObject *self);
const char    *ed_event_object_get_name     (EdEventObject *self);
JsonObject    *ed_event_object_get_json     (EdEventObject *self);
gint64         ed_event_object_get_guests   (EdEventObject *self);
char          *ed_event_object_format_time (JsonObject    *event,
                                            const char    *member);

G_END_DECLS
