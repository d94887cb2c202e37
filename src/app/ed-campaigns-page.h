/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ed-campaign-row.h"
#include "ed-client.h"
#include "ed-live-client.h"

G_BEGIN_DECLS

/* An event's campaigns with their state and progress, which the live
 * feed keeps up to date, and what can be done with them: actions
 * campaigns.new, and campaign.edit, campaign.launch (behind a
 * confirmation that says how many guests get it), campaign.pause,
 * campaign.resume, campaign.cancel (confirmed) and campaign.retry-failed,
 * each with the campaign's id ("x").
 */
#define ED_TYPE_CAMPAIGNS_PAGE (ed_campaigns_page_get_type ())

G_DECLARE_FINAL_TYPE (EdCampaignsPage, ed_campaigns_page, ED, CAMPAIGNS_PAGE, GtkWidget)

GtkWidget     *ed_campaigns_page_new             (void);
EdClient      *ed_campaigns_page_get_client      (EdCampaignsPage *self);
void           ed_campaigns_page_set_client      (EdCampaignsPage *self,
                                                  EdClient        *client);
gint64         ed_campaigns_page_get_event_id    (EdCampaignsPage *self);
void           ed_campaigns_page_set_event_id    (EdCampaignsPage *self,
                                                  gint64           event_id);
EdLiveClient  *ed_campaigns_page_get_live_client (EdCampaignsPage *self);
void           ed_campaigns_page_set_live_client (EdCampaignsPage *self,
                                                  EdLiveClient    *live_client);

/* For tests: the row of a campaign, or NULL; whether a load or an action
 * is under way. */
EdCampaignRow *ed_campaigns_page_get_row         (EdCampaignsPage *self,
                                                  gint64           campaign_id);
gboolean       ed_campaigns_page_get_busy        (EdCampaignsPage *self);

G_END_DECLS
