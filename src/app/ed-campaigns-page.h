/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ed-campaign-row.h"
#include "ed-event-page.h"

G_BEGIN_DECLS

/* An event's campaigns with their state and progress, which the live
 * feed keeps up to date, and what can be done with them: actions
 * campaigns.new, and campaign.edit, campaign.launch (behind a
 * confirmation that says how many guests get it), campaign.pause,
 * campaign.resume, campaign.cancel (confirmed) and campaign.retry-failed,
 * each with the campaign's id ("x").
 */
#define ED_TYPE_CAMPAIGNS_PAGE (ed_campaigns_page_get_type ())

G_DECLARE_FINAL_TYPE (EdCampaignsPage, ed_campaigns_page, ED, CAMPAIGNS_PAGE, EdEventPage)

GtkWidget     *ed_campaigns_page_new             (void);

/* For tests: the row of a campaign, or NULL; whether a load or an action
 * is under way. */
EdCampaignRow *ed_campaigns_page_get_row         (EdCampaignsPage *self,
                                                  gint64           campaign_id);
gboolean       ed_campaigns_page_get_busy        (EdCampaignsPage *self);

G_END_DECLS
