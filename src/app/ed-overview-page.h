/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ed-bar-chart.h"
#include "ed-event-page.h"
#include "ed-time-chart.h"

G_BEGIN_DECLS

/* An event at a glance, live: the key numbers (invited, accepted seats,
 * declined, waitlisted, no answer yet, seats left of the capacity), the
 * answers by status, the answers over time and the mail sent and failed
 * over time with the current send rate. Numbers come from the live feed
 * (EdLiveClient) and, before its first snapshot, from /stats; the charts
 * over time from /timeline, fetched again at most every few seconds while
 * updates arrive.
 */
#define ED_TYPE_OVERVIEW_PAGE (ed_overview_page_get_type ())

G_DECLARE_FINAL_TYPE (EdOverviewPage, ed_overview_page, ED, OVERVIEW_PAGE, EdEventPage)

GtkWidget    *ed_overview_page_new             (void);

/* For tests and the benchmark: the text shown for one key number
 * ("invited", "accepted", "declined", "waitlisted", "pending",
 * "seats-left"), the charts, and how many timelines were fetched. */
const char   *ed_overview_page_get_number      (EdOverviewPage *self,
                                                const char     *key);
EdBarChart   *ed_overview_page_get_answers_chart  (EdOverviewPage *self);
EdTimeChart  *ed_overview_page_get_timeline_chart (EdOverviewPage *self);
EdTimeChart  *ed_overview_page_get_mail_chart     (EdOverviewPage *self);
const char   *ed_overview_page_get_send_rate   (EdOverviewPage *self);
guint         ed_overview_page_get_timelines_fetched (EdOverviewPage *self);

G_END_DECLS
