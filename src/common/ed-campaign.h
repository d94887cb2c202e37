/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "ed-enums.h"

G_BEGIN_DECLS

#define ED_TYPE_CAMPAIGN (ed_campaign_get_type ())

/* The strings of these enums are the schema's (campaigns.kind and
 * campaigns.state) and the API's: never rename them.
 */
typedef enum
{
  ED_CAMPAIGN_KIND_INVITATION,
  ED_CAMPAIGN_KIND_REMINDER,
  ED_CAMPAIGN_KIND_UPDATE,
  ED_CAMPAIGN_KIND_WAITLIST_PROMOTION,
  ED_CAMPAIGN_KIND_CONFIRMATION,
} EdCampaignKind;

#define ED_CAMPAIGN_N_KINDS (ED_CAMPAIGN_KIND_CONFIRMATION + 1)

typedef enum
{
  ED_CAMPAIGN_STATE_DRAFT,
  ED_CAMPAIGN_STATE_RUNNING,
  ED_CAMPAIGN_STATE_PAUSED,
  ED_CAMPAIGN_STATE_DONE,
  ED_CAMPAIGN_STATE_CANCELLED,
} EdCampaignState;

#define ED_CAMPAIGN_N_STATES (ED_CAMPAIGN_STATE_CANCELLED + 1)

/* Times are Unix seconds in UTC; 0 means "not yet". */
typedef struct
{
  gint64           id;
  gint64           event_id;
  EdCampaignKind   kind;
  char            *audience;
  char            *subject;
  char            *text;
  char            *html;          /* nullable: text only */
  EdCampaignState  state;
  gboolean         transactional;
  char            *state_reason;  /* nullable: why it paused itself */
  gint64           created_at;
  gint64           updated_at;
  gint64           launched_at;
  gint64           finished_at;
} EdCampaign;

GType        ed_campaign_get_type          (void) G_GNUC_CONST;
EdCampaign  *ed_campaign_new               (void);
EdCampaign  *ed_campaign_copy              (const EdCampaign *campaign);
void         ed_campaign_free              (EdCampaign       *campaign);
void         ed_campaign_add_json_members  (const EdCampaign *campaign,
                                            JsonBuilder      *builder);

const char  *ed_campaign_kind_to_string    (EdCampaignKind    kind);
gboolean     ed_campaign_kind_from_string  (const char       *str,
                                            EdCampaignKind   *kind);
const char  *ed_campaign_state_to_string   (EdCampaignState   state);
gboolean     ed_campaign_state_from_string (const char       *str,
                                            EdCampaignState  *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCampaign, ed_campaign_free)

/* A queued message's state (messages.state). */
typedef enum
{
  ED_MESSAGE_STATE_QUEUED,
  ED_MESSAGE_STATE_SENDING,
  ED_MESSAGE_STATE_SENT,
  ED_MESSAGE_STATE_RETRY,
  ED_MESSAGE_STATE_FAILED,
  ED_MESSAGE_STATE_CANCELLED,
} EdMessageState;

#define ED_MESSAGE_N_STATES (ED_MESSAGE_STATE_CANCELLED + 1)

const char  *ed_message_state_to_string    (EdMessageState    state);
gboolean     ed_message_state_from_string  (const char       *str,
                                            EdMessageState   *state);

/* Which guests a bulk campaign goes to; the grammar is in
 * docs/templates.md:
 *
 *   all                        every guest of the event
 *   not_invited                guests without a sent or queued invitation
 *   status:accepted,waitlisted guests with any of these RSVP statuses
 */
typedef enum
{
  ED_AUDIENCE_ALL,
  ED_AUDIENCE_NOT_INVITED,
  ED_AUDIENCE_STATUS,
} EdAudienceKind;

typedef struct
{
  EdAudienceKind kind;
  guint          statuses;  /* ED_AUDIENCE_STATUS: bit 1 << EdRsvpStatus per status */
} EdAudience;

#define ED_AUDIENCE_MAX_CHARS 200

gboolean     ed_audience_parse             (const char       *text,
                                            EdAudience       *audience,
                                            GError          **error);
char        *ed_audience_to_string         (const EdAudience *audience);

G_END_DECLS
