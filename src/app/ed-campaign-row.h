/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One campaign in the Campaigns page's list: its kind, subject and
 * audience, its state, a progress bar over its messages with the send
 * rate, and the buttons of what can be done with it now (the page's
 * campaign.* actions, with the campaign's id as target).
 */
#define ED_TYPE_CAMPAIGN_ROW (ed_campaign_row_get_type ())

G_DECLARE_FINAL_TYPE (EdCampaignRow, ed_campaign_row, ED, CAMPAIGN_ROW, GtkListBoxRow)

EdCampaignRow *ed_campaign_row_new               (JsonObject    *campaign);
gint64         ed_campaign_row_get_id            (EdCampaignRow *self);
/* The campaign as the API last gave it (transfer none). */
JsonObject    *ed_campaign_row_get_campaign      (EdCampaignRow *self);
/* A whole campaign from the API. */
void           ed_campaign_row_update            (EdCampaignRow *self,
                                                  JsonObject    *campaign);
/* A campaign of the live feed: id, kind, state, counts, send_rate. */
void           ed_campaign_row_update_live       (EdCampaignRow *self,
                                                  JsonObject    *live);

/* What the row shows, for tests. */
const char    *ed_campaign_row_get_state         (EdCampaignRow *self);
const char    *ed_campaign_row_get_progress_text (EdCampaignRow *self);
double         ed_campaign_row_get_fraction      (EdCampaignRow *self);

G_END_DECLS
