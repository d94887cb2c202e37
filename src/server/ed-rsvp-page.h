/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include "ed-catalog.h"
#include "ed-event.h"
#include "ed-guest.h"

G_BEGIN_DECLS

/* What the page says after an answer (the `notice` of the redirect). */
typedef enum
{
  ED_RSVP_NOTICE_NONE,
  ED_RSVP_NOTICE_SAVED,
  ED_RSVP_NOTICE_FULL,
  ED_RSVP_NOTICE_NOT_ENOUGH_SEATS,
  ED_RSVP_NOTICE_CLOSED,
  ED_RSVP_NOTICE_INVALID,
} EdRsvpNotice;

typedef struct
{
  const EdEvent *event;
  const EdGuest *guest;
  gint64         seats_taken;
  const char    *token;
  gint64         now;
  EdRsvpNotice   notice;
} EdRsvpPage;

const char   *ed_rsvp_notice_to_string   (EdRsvpNotice       notice);
EdRsvpNotice  ed_rsvp_notice_from_string (const char        *text);
gboolean      ed_rsvp_page_is_closed     (const EdRsvpPage  *page);
char         *ed_rsvp_page_render        (const EdRsvpPage  *page,
                                          EdCatalog         *catalog);
char         *ed_rsvp_page_render_invalid_link (EdCatalog   *catalog);
void          ed_rsvp_page_append_head   (GString           *html,
                                          EdCatalog         *catalog,
                                          const char        *title);

/* The pages guests see are in the language their browser prefers. */
EdCatalog *ed_rsvp_page_request_catalog (SoupServerMessage *msg);

G_END_DECLS
