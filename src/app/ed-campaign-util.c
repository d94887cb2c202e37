/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-campaigns"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-campaign-util.h"
#include "ed-json-util.h"

static const EdAudienceChoice audience_choices[] = {
  { "all", N_("Every guest") },
  { "not_invited", N_("Guests not invited yet") },
  { "status:pending", N_("Guests who have not answered") },
  { "status:accepted", N_("Guests who are coming") },
  { "status:waitlisted", N_("Guests on the waiting list") },
  { "status:declined", N_("Guests who declined") },
  { "status:accepted,waitlisted", N_("Guests coming or waiting") },
};

const EdAudienceChoice *
ed_campaign_get_audience_choices (guint *n_choices)
{
  g_return_val_if_fail (n_choices != NULL, NULL);

  *n_choices = G_N_ELEMENTS (audience_choices);
  return audience_choices;
}

const char *
ed_campaign_kind_label (const char *kind)
{
  if (g_strcmp0 (kind, "invitation") == 0)
    return C_("campaign kind", "Invitation");
  if (g_strcmp0 (kind, "reminder") == 0)
    return C_("campaign kind", "Reminder");
  if (g_strcmp0 (kind, "update") == 0)
    return C_("campaign kind", "Update");
  if (g_strcmp0 (kind, "waitlist_promotion") == 0)
    return C_("campaign kind", "Waiting-list promotions");
  if (g_strcmp0 (kind, "confirmation") == 0)
    return C_("campaign kind", "Confirmations");

  return kind ? kind : "";
}

const char *
ed_campaign_state_label (const char *state)
{
  if (g_strcmp0 (state, "draft") == 0)
    return C_("campaign state", "Draft");
  if (g_strcmp0 (state, "running") == 0)
    return C_("campaign state", "Sending");
  if (g_strcmp0 (state, "paused") == 0)
    return C_("campaign state", "Paused");
  if (g_strcmp0 (state, "done") == 0)
    return C_("campaign state", "Done");
  if (g_strcmp0 (state, "cancelled") == 0)
    return C_("campaign state", "Cancelled");

  return state ? state : "";
}

const char *
ed_campaign_audience_label (const char *audience)
{
  for (guint i = 0; i < G_N_ELEMENTS (audience_choices); i++)
    if (g_strcmp0 (audience, audience_choices[i].audience) == 0)
      return _(audience_choices[i].label);

  return audience ? audience : "";
}

const char *
ed_message_state_label (const char *state)
{
  if (g_strcmp0 (state, "queued") == 0)
    return C_("message state", "Queued");
  if (g_strcmp0 (state, "sending") == 0)
    return C_("message state", "Sending");
  if (g_strcmp0 (state, "sent") == 0)
    return C_("message state", "Sent");
  if (g_strcmp0 (state, "retry") == 0)
    return C_("message state", "Retrying");
  if (g_strcmp0 (state, "failed") == 0)
    return C_("message state", "Failed");
  if (g_strcmp0 (state, "cancelled") == 0)
    return C_("message state", "Cancelled");

  return state ? state : "";
}

gint64
ed_campaign_count (JsonObject *counts,
                   const char *state)
{
  return ed_json_get_int (counts, state);
}

char *
ed_campaign_format_count (gint64 n)
{
  return g_strdup_printf ("%'" G_GINT64_FORMAT, n);
}

char *
ed_campaign_format_rate (double per_second)
{
  if (per_second <= 0.0)
    return g_strdup (_("Not sending now"));

  /* TRANSLATORS: the send rate, e.g. "12.5 messages a second" */
  return g_strdup_printf (_("%.1f messages a second"), per_second);
}

char *
ed_campaign_describe (JsonObject *campaign)
{
  const char *kind = json_object_get_string_member_with_default (campaign, "kind", NULL);
  const char *subject = json_object_get_string_member_with_default (campaign, "subject", NULL);

  if (subject == NULL || *subject == '\0' || json_object_get_boolean_member_with_default (campaign, "transactional", FALSE))
    return g_strdup (ed_campaign_kind_label (kind));

  /* TRANSLATORS: a campaign: its kind, then its subject, e.g. Invitation: “Summer party” */
  return g_strdup_printf (_("%s: “%s”"), ed_campaign_kind_label (kind), subject);
}
