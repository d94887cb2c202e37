/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ed-event-page.h"
#include "ed-guest-list-model.h"

G_BEGIN_DECLS

/* An event's guests: a GtkColumnView over EdGuestListModel with search,
 * a status filter, sorting by column, bulk actions on the selection, the
 * guest dialog, the import wizard and the CSV export. Actions:
 * guests.search, guests.new, guests.import, guests.export, guests.delete,
 * guests.resend, guests.set-status (a status string).
 */
#define ED_TYPE_GUESTS_PAGE (ed_guests_page_get_type ())

G_DECLARE_FINAL_TYPE (EdGuestsPage, ed_guests_page, ED, GUESTS_PAGE, EdEventPage)

GtkWidget        *ed_guests_page_new          (void);

/* For tests and the benchmark: the model shown, or NULL before an event. */
EdGuestListModel *ed_guests_page_get_model    (EdGuestsPage *self);
GtkColumnView    *ed_guests_page_get_column_view (EdGuestsPage *self);

/* Exports the current view (search, filter and order) to @file without
 * asking for a file name; what guests.export does after its file chooser. */
void              ed_guests_page_export_to    (EdGuestsPage *self,
                                               GFile        *file);
gboolean          ed_guests_page_get_exporting (EdGuestsPage *self);

G_END_DECLS
