/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-client.h"

G_BEGIN_DECLS

/* Adds a guest to an event, or edits one: contact fields, the answer
 * (status and party size) for an existing guest, its RSVP history and
 * delivery log. Errors show next to their fields and nothing typed is
 * lost; "saved" is emitted with the guest as the server answered it.
 */
#define ED_TYPE_GUEST_DIALOG (ed_guest_dialog_get_type ())

G_DECLARE_FINAL_TYPE (EdGuestDialog, ed_guest_dialog, ED, GUEST_DIALOG, AdwWindow)

/* @guest: (nullable): the guest to edit as the API answers it, or NULL
 * to add one to @event_id. */
EdGuestDialog *ed_guest_dialog_new          (EdClient      *client,
                                             gint64         event_id,
                                             JsonObject    *guest);
/* The message shown next to @field ("email"…), or NULL. */
const char    *ed_guest_dialog_get_field_error (EdGuestDialog *self,
                                             const char    *field);
/* Fills a field as if typed, and presses Save; for tests. */
void           ed_guest_dialog_set_text     (EdGuestDialog *self,
                                             const char    *field,
                                             const char    *text);
const char    *ed_guest_dialog_get_text     (EdGuestDialog *self,
                                             const char    *field);
void           ed_guest_dialog_save         (EdGuestDialog *self);
gboolean       ed_guest_dialog_get_busy     (EdGuestDialog *self);
guint          ed_guest_dialog_get_n_history_rows (EdGuestDialog *self);

G_END_DECLS
