/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ed-event-page.h"

G_BEGIN_DECLS

/* An event's mail queue: its messages by state and the send rate (from
 * the live feed), the next retries, and the failures with the guest, the
 * SMTP code and the server's reply, for all campaigns or one. Actions:
 * deliveries.retry-selected (the ticked failures), deliveries.retry-all
 * (every failure shown), deliveries.show-more (the next page).
 */
#define ED_TYPE_DELIVERIES_PAGE (ed_deliveries_page_get_type ())

G_DECLARE_FINAL_TYPE (EdDeliveriesPage, ed_deliveries_page, ED, DELIVERIES_PAGE, EdEventPage)

GtkWidget    *ed_deliveries_page_new              (void);

/* What a user sees and does, for tests. */
void          ed_deliveries_page_set_campaign     (EdDeliveriesPage *self,
                                                   gint64            campaign_id);
const char   *ed_deliveries_page_get_count_text   (EdDeliveriesPage *self,
                                                   const char       *state);
const char   *ed_deliveries_page_get_rate_text    (EdDeliveriesPage *self);
guint         ed_deliveries_page_get_n_failures   (EdDeliveriesPage *self);
/* The failure shown at @position: its message id, and its row's title
 * and subtitle (guest; code and reply). */
gint64        ed_deliveries_page_get_failure      (EdDeliveriesPage *self,
                                                   guint             position,
                                                   const char      **title,
                                                   const char      **subtitle);
void          ed_deliveries_page_set_failure_selected (EdDeliveriesPage *self,
                                                   guint             position,
                                                   gboolean          selected);
guint         ed_deliveries_page_get_n_retries    (EdDeliveriesPage *self);
gboolean      ed_deliveries_page_get_busy         (EdDeliveriesPage *self);

G_END_DECLS
