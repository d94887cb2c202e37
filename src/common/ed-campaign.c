/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ed-campaign.h"
#include "ed-enums.h"
#include "ed-json-util.h"

G_DEFINE_BOXED_TYPE (EdCampaign, ed_campaign, ed_campaign_copy, ed_campaign_free)

/* Stored in the database and sent over the API. */
static const char * const kind_names[ED_CAMPAIGN_N_KINDS] = {
  [ED_CAMPAIGN_KIND_INVITATION] = "invitation",
  [ED_CAMPAIGN_KIND_REMINDER] = "reminder",
  [ED_CAMPAIGN_KIND_UPDATE] = "update",
  [ED_CAMPAIGN_KIND_WAITLIST_PROMOTION] = "waitlist_promotion",
  [ED_CAMPAIGN_KIND_CONFIRMATION] = "confirmation",
};

static const char * const state_names[ED_CAMPAIGN_N_STATES] = {
  [ED_CAMPAIGN_STATE_DRAFT] = "draft",
  [ED_CAMPAIGN_STATE_RUNNING] = "running",
  [ED_CAMPAIGN_STATE_PAUSED] = "paused",
  [ED_CAMPAIGN_STATE_DONE] = "done",
  [ED_CAMPAIGN_STATE_CANCELLED] = "cancelled",
};

const char *
ed_campaign_kind_to_string (EdCampaignKind kind)
{
  g_return_val_if_fail ((guint) kind < ED_CAMPAIGN_N_KINDS, NULL);

  return kind_names[kind];
}

gboolean
ed_campaign_kind_from_string (const char     *str,
                              EdCampaignKind *kind)
{
  guint index;

  g_return_val_if_fail (kind != NULL, FALSE);

  if (!ed_enum_from_name (kind_names, ED_CAMPAIGN_N_KINDS, str, &index))
    return FALSE;

  *kind = index;
  return TRUE;
}

const char *
ed_campaign_state_to_string (EdCampaignState state)
{
  g_return_val_if_fail ((guint) state < ED_CAMPAIGN_N_STATES, NULL);

  return state_names[state];
}

gboolean
ed_campaign_state_from_string (const char      *str,
                               EdCampaignState *state)
{
  guint index;

  g_return_val_if_fail (state != NULL, FALSE);

  if (!ed_enum_from_name (state_names, ED_CAMPAIGN_N_STATES, str, &index))
    return FALSE;

  *state = index;
  return TRUE;
}

EdCampaign *
ed_campaign_new (void)
{
  EdCampaign *campaign = g_new0 (EdCampaign, 1);

  campaign->kind = ED_CAMPAIGN_KIND_INVITATION;
  campaign->state = ED_CAMPAIGN_STATE_DRAFT;
  campaign->audience = g_strdup ("all");
  campaign->subject = g_strdup ("");
  campaign->text = g_strdup ("");

  return campaign;
}

EdCampaign *
ed_campaign_copy (const EdCampaign *campaign)
{
  EdCampaign *copy;

  g_return_val_if_fail (campaign != NULL, NULL);

  copy = g_memdup2 (campaign, sizeof *campaign);
  copy->audience = g_strdup (campaign->audience);
  copy->subject = g_strdup (campaign->subject);
  copy->text = g_strdup (campaign->text);
  copy->html = g_strdup (campaign->html);
  copy->state_reason = g_strdup (campaign->state_reason);

  return copy;
}

void
ed_campaign_free (EdCampaign *campaign)
{
  if (campaign == NULL)
    return;

  g_free (campaign->audience);
  g_free (campaign->subject);
  g_free (campaign->text);
  g_free (campaign->html);
  g_free (campaign->state_reason);
  g_free (campaign);
}

/* The campaign's own members; the API adds its counts. */
void
ed_campaign_add_json_members (const EdCampaign *campaign,
                              JsonBuilder      *builder)
{
  g_return_if_fail (campaign != NULL);
  g_return_if_fail (JSON_IS_BUILDER (builder));

  ed_json_add_int (builder, "id", campaign->id);
  ed_json_add_int (builder, "event_id", campaign->event_id);
  ed_json_add_string (builder, "kind", ed_campaign_kind_to_string (campaign->kind));
  ed_json_add_string (builder, "audience", campaign->audience ? campaign->audience : "");
  ed_json_add_string (builder, "subject", campaign->subject ? campaign->subject : "");
  ed_json_add_string (builder, "text", campaign->text ? campaign->text : "");
  ed_json_add_string (builder, "html", campaign->html);
  ed_json_add_string (builder, "state", ed_campaign_state_to_string (campaign->state));
  ed_json_add_boolean (builder, "transactional", campaign->transactional);
  ed_json_add_string (builder, "state_reason", campaign->state_reason);
  ed_json_add_time (builder, "created_at", campaign->created_at);
  ed_json_add_time (builder, "updated_at", campaign->updated_at);
  ed_json_add_time (builder, "launched_at", campaign->launched_at);
  ed_json_add_time (builder, "finished_at", campaign->finished_at);
}
