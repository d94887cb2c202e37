/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What the Campaigns and Deliveries pages say about campaigns and their
 * messages, from the API's words (docs/api.md, "Campaigns").
 */

typedef struct
{
  const char *audience;  /* the API's one written form */
  const char *label;     /* translatable, N_() */
} EdAudienceChoice;

/* The audiences the composer offers, in its order. */
const EdAudienceChoice *ed_campaign_get_audience_choices (guint      *n_choices);

const char *ed_campaign_kind_label      (const char *kind);
const char *ed_campaign_state_label     (const char *state);
const char *ed_campaign_audience_label  (const char *audience);
const char *ed_message_state_label      (const char *state);

/* A count of @counts (the API's "counts" object), 0 when it is missing. */
gint64      ed_campaign_count           (JsonObject *counts,
                                         const char *state);
/* A count as text, grouped as the locale does ("500,000"), to go into a
 * translatable string as %s. */
char       *ed_campaign_format_count    (gint64      n);
/* "12.5 messages a second", or "Not sending" for 0. */
char       *ed_campaign_format_rate     (double      per_second);
/* The campaign as a user names it: its kind and its subject template. */
char       *ed_campaign_describe        (JsonObject *campaign);

G_END_DECLS
