/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ed-campaign.h"
#include "ed-enums.h"
#include "ed-error.h"
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

static const char * const message_state_names[ED_MESSAGE_N_STATES] = {
  [ED_MESSAGE_STATE_QUEUED] = "queued",
  [ED_MESSAGE_STATE_SENDING] = "sending",
  [ED_MESSAGE_STATE_SENT] = "sent",
  [ED_MESSAGE_STATE_RETRY] = "retry",
  [ED_MESSAGE_STATE_FAILED] = "failed",
  [ED_MESSAGE_STATE_CANCELLED] = "cancelled",
};

#define AUDIENCE_STATUS_PREFIX "status:"

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

const char *
ed_message_state_to_string (EdMessageState state)
{
  g_return_val_if_fail ((guint) state < ED_MESSAGE_N_STATES, NULL);

  return message_state_names[state];
}

gboolean
ed_message_state_from_string (const char     *str,
                              EdMessageState *state)
{
  guint index;

  g_return_val_if_fail (state != NULL, FALSE);

  if (!ed_enum_from_name (message_state_names, ED_MESSAGE_N_STATES, str, &index))
    return FALSE;

  *state = index;
  return TRUE;
}

/**
 * ed_audience_parse:
 * @text: an audience as written in a campaign: `all`, `not_invited` or
 *   `status:S1,S2…` with RSVP statuses
 * @audience: (out): what it means
 * @error: return location for an %ED_ERROR_INVALID saying what is wrong
 */
gboolean
ed_audience_parse (const char  *text,
                   EdAudience  *audience,
                   GError     **error)
{
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (audience != NULL, FALSE);

  memset (audience, 0, sizeof *audience);

  if (text == NULL || strlen (text) > ED_AUDIENCE_MAX_CHARS)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "must be all, not_invited or status: with RSVP statuses, "
                   "at most %d characters", ED_AUDIENCE_MAX_CHARS);
      return FALSE;
    }

  if (strcmp (text, "all") == 0)
    {
      audience->kind = ED_AUDIENCE_ALL;
      return TRUE;
    }
  if (strcmp (text, "not_invited") == 0)
    {
      audience->kind = ED_AUDIENCE_NOT_INVITED;
      return TRUE;
    }
  if (!g_str_has_prefix (text, AUDIENCE_STATUS_PREFIX))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "“%s” is not an audience: write all, not_invited, or status: "
                   "followed by RSVP statuses, e.g. status:accepted,waitlisted", text);
      return FALSE;
    }

  audience->kind = ED_AUDIENCE_STATUS;
  names = g_strsplit (text + strlen (AUDIENCE_STATUS_PREFIX), ",", -1);
  for (guint i = 0; names[i] != NULL; i++)
    {
      EdRsvpStatus status;

      if (!ed_rsvp_status_from_string (g_strstrip (names[i]), &status))
        {
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                       "“%s” in “%s” is not an RSVP status (pending, accepted, declined, "
                       "waitlisted, cancelled)", names[i], text);
          return FALSE;
        }
      audience->statuses |= 1u << status;
    }

  if (audience->statuses == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "“%s” names no RSVP status, e.g. status:accepted", text);
      return FALSE;
    }

  return TRUE;
}

/* The audience written the one way it is stored: statuses in their order. */
char *
ed_audience_to_string (const EdAudience *audience)
{
  GString *out;

  g_return_val_if_fail (audience != NULL, NULL);

  switch (audience->kind)
    {
    case ED_AUDIENCE_ALL:
      return g_strdup ("all");
    case ED_AUDIENCE_NOT_INVITED:
      return g_strdup ("not_invited");
    case ED_AUDIENCE_STATUS:
    default:
      break;
    }

  out = g_string_new (AUDIENCE_STATUS_PREFIX);
  for (guint i = 0; i < ED_RSVP_N_STATUSES; i++)
    {
      if ((audience->statuses & (1u << i)) == 0)
        continue;
      if (out->len > strlen (AUDIENCE_STATUS_PREFIX))
        g_string_append_c (out, ',');
      g_string_append (out, ed_rsvp_status_to_string (i));
    }

  return g_string_free (out, FALSE);
}
