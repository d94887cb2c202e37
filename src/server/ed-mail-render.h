/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ed-campaign.h"
#include "ed-event.h"
#include "ed-guest.h"
#include "ed-mail-message.h"

G_BEGIN_DECLS

/* Makes a campaign's message for one guest: fills the templates, signs
 * the guest's link and builds the MIME message. A renderer's settings do
 * not change after ed_mail_renderer_new() and the templates it compiles
 * once and keeps are behind a lock, so one renderer serves any number of
 * threads at once (the mailer's, the API's previews and test sends).
 */
typedef struct _EdMailRenderer EdMailRenderer;

/* The filled-in parts, as the API's preview shows them. */
typedef struct
{
  char *to;               /* “Name <address>”, or the bare address */
  char *to_address;
  char *to_name;          /* nullable */
  char *subject;
  char *text;
  char *html;             /* nullable: the campaign has no HTML body */
  char *rsvp_url;
  char *unsubscribe_url;
} EdMailParts;

EdMailRenderer *ed_mail_renderer_new          (const char        *mail_from,
                                               const char        *public_url,
                                               GBytes            *secret,
                                               GError           **error);
void            ed_mail_renderer_free         (EdMailRenderer    *self);

gboolean        ed_mail_renderer_render_parts (EdMailRenderer    *self,
                                               const EdCampaign  *campaign,
                                               const EdEvent     *event,
                                               const EdGuest     *guest,
                                               EdMailParts       *parts,
                                               GError           **error);
EdMailMessage  *ed_mail_renderer_render       (EdMailRenderer    *self,
                                               const EdCampaign  *campaign,
                                               const EdEvent     *event,
                                               const EdGuest     *guest,
                                               gint64             message_id,
                                               gint64             queued_at,
                                               GError           **error);

EdMailMessage  *ed_mail_renderer_render_test  (EdMailRenderer    *self,
                                               const EdCampaign  *campaign,
                                               const EdEvent     *event,
                                               const EdGuest     *guest,
                                               const char        *to_address,
                                               GError           **error);

const char     *ed_mail_renderer_get_mail_from (EdMailRenderer   *self);

void            ed_mail_parts_clear           (EdMailParts       *parts);

/* The built-in texts of the transactional kinds (waitlist promotion,
 * confirmation), in English, the source language; NULL for the others.
 */
const char     *ed_mail_builtin_subject       (EdCampaignKind     kind);
const char     *ed_mail_builtin_text          (EdCampaignKind     kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdMailRenderer, ed_mail_renderer_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (EdMailParts, ed_mail_parts_clear)

G_END_DECLS
