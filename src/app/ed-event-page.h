/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <json-glib/json-glib.h>

#include "ed-client.h"
#include "ed-live-client.h"

G_BEGIN_DECLS

/* What the pages of an event (Overview, Guests, Campaigns, Deliveries)
 * share: the client they call, the event they show, and the live feed,
 * to which a page is subscribed for its event while it has both. The
 * window binds the three properties; a subclass is told through its
 * vfuncs and reads them with the getters.
 */
#define ED_TYPE_EVENT_PAGE (ed_event_page_get_type ())

G_DECLARE_DERIVABLE_TYPE (EdEventPage, ed_event_page, ED, EVENT_PAGE, GtkWidget)

struct _EdEventPageClass
{
  GtkWidgetClass parent_class;

  /* The client or the event changed: forget what was shown, load the
   * event anew. */
  void (* event_changed)  (EdEventPage *self);
  /* A new live state of the event (ed-live-client.h): each update, and
   * the state the feed already has when the page starts to follow it. */
  void (* live_update)    (EdEventPage *self,
                           JsonObject  *state);
  /* The live client came, went, connected or lost its connection. */
  void (* live_changed)   (EdEventPage *self);

  gpointer padding[4];
};

EdClient     *ed_event_page_get_client      (EdEventPage  *self);
void          ed_event_page_set_client      (EdEventPage  *self,
                                             EdClient     *client);
gint64        ed_event_page_get_event_id    (EdEventPage  *self);
void          ed_event_page_set_event_id    (EdEventPage  *self,
                                             gint64        event_id);
EdLiveClient *ed_event_page_get_live_client (EdEventPage  *self);
void          ed_event_page_set_live_client (EdEventPage  *self,
                                             EdLiveClient *live_client);
/* The live feed's latest state of the event (transfer none), or NULL. */
JsonObject   *ed_event_page_get_live_state  (EdEventPage  *self);
/* Whether there is an event to show: a client and an event id. */
gboolean      ed_event_page_has_event       (EdEventPage  *self);

G_END_DECLS
