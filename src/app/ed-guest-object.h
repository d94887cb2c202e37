/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One row of the guest list: a guest as the API answered it, or a
 * placeholder ("loaded" FALSE) for a row whose page has not arrived yet.
 * Immutable: a page that arrives replaces its placeholders with new
 * objects (EdGuestListModel emits items-changed for them).
 */
#define ED_TYPE_GUEST_OBJECT (ed_guest_object_get_type ())

G_DECLARE_FINAL_TYPE (EdGuestObject, ed_guest_object, ED, GUEST_OBJECT, GObject)

EdGuestObject *ed_guest_object_new_placeholder        (void);
EdGuestObject *ed_guest_object_new_from_json          (JsonObject    *object);

gboolean       ed_guest_object_get_loaded             (EdGuestObject *self);
gint64         ed_guest_object_get_id                 (EdGuestObject *self);
const char    *ed_guest_object_get_email              (EdGuestObject *self);
const char    *ed_guest_object_get_first_name         (EdGuestObject *self);
const char    *ed_guest_object_get_last_name          (EdGuestObject *self);
const char    *ed_guest_object_get_name               (EdGuestObject *self);
const char    *ed_guest_object_get_status             (EdGuestObject *self);
const char    *ed_guest_object_get_status_label       (EdGuestObject *self);
guint          ed_guest_object_get_party_size         (EdGuestObject *self);
const char    *ed_guest_object_get_last_delivery      (EdGuestObject *self);
const char    *ed_guest_object_get_last_delivery_label (EdGuestObject *self);
const char    *ed_guest_object_get_responded_label    (EdGuestObject *self);
JsonObject    *ed_guest_object_get_json               (EdGuestObject *self);

const char    *ed_guest_status_to_label               (const char    *status);
char          *ed_guest_format_time                   (const char    *rfc3339);
const char    *ed_guest_delivery_to_label             (const char    *state);

G_END_DECLS
