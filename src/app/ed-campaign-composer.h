/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-client.h"

G_BEGIN_DECLS

/* Writes a campaign, new or a draft or paused one: its kind, its
 * audience with a live count of the guests in it, the subject and the
 * text and HTML bodies, with a menu that inserts placeholders at the
 * cursor. The server's objections show at their fields. The Preview tab
 * saves, then shows the message for a chosen guest (the HTML part in a
 * web view that loads nothing from the network, the text part beside it)
 * and sends a test to any address. "saved" (the campaign as the API
 * answered it) after each save.
 */
#define ED_TYPE_CAMPAIGN_COMPOSER (ed_campaign_composer_get_type ())

G_DECLARE_FINAL_TYPE (EdCampaignComposer, ed_campaign_composer, ED, CAMPAIGN_COMPOSER, AdwWindow)

/* @campaign: (nullable): the campaign to edit; NULL for a new one */
EdCampaignComposer *ed_campaign_composer_new              (EdClient           *client,
                                                           gint64              event_id,
                                                           JsonObject         *campaign);
gint64              ed_campaign_composer_get_campaign_id  (EdCampaignComposer *self);

/* What a user does, for tests. The fields: "kind", "audience" (the API's
 * form, e.g. "status:accepted"), "subject", "text", "html". */
void                ed_campaign_composer_set_field        (EdCampaignComposer *self,
                                                           const char         *field,
                                                           const char         *value);
char               *ed_campaign_composer_get_field        (EdCampaignComposer *self,
                                                           const char         *field);
/* Puts the cursor of a text field at @offset (-1: the end) and inserts
 * the placeholder as its menu does. */
void                ed_campaign_composer_insert_placeholder (EdCampaignComposer *self,
                                                           const char         *field,
                                                           int                 offset,
                                                           const char         *name);
/* The server's objection shown at @field, or NULL. */
const char         *ed_campaign_composer_get_field_error  (EdCampaignComposer *self,
                                                           const char         *field);
/* The count of recipients shown, -1 while it is counted. */
gint64              ed_campaign_composer_get_recipients   (EdCampaignComposer *self);
void                ed_campaign_composer_save             (EdCampaignComposer *self);
/* Saves when needed, then shows the preview for @guest_id (0: the event's
 * first guest). */
void                ed_campaign_composer_show_preview     (EdCampaignComposer *self,
                                                           gint64              guest_id);
JsonObject         *ed_campaign_composer_get_preview      (EdCampaignComposer *self);
gboolean            ed_campaign_composer_get_preview_loaded (EdCampaignComposer *self);
void                ed_campaign_composer_send_test        (EdCampaignComposer *self,
                                                           const char         *address);
/* The last test send's answer ({"to","result","code","text"}), or NULL. */
JsonObject         *ed_campaign_composer_get_test_result  (EdCampaignComposer *self);
gboolean            ed_campaign_composer_get_busy         (EdCampaignComposer *self);

G_END_DECLS
