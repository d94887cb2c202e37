/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ed-client.h"

G_BEGIN_DECLS

/* The guests of one event as a GListModel of EdGuestObject, fetched from
 * the API page by page as the view asks for them; see the comment at the
 * top of ed-guest-list-model.c for how positions map to key-paged pages.
 */
#define ED_TYPE_GUEST_LIST_MODEL (ed_guest_list_model_get_type ())

G_DECLARE_FINAL_TYPE (EdGuestListModel, ed_guest_list_model, ED, GUEST_LIST_MODEL, GObject)

EdGuestListModel *ed_guest_list_model_new            (EdClient         *client,
                                                      gint64            event_id,
                                                      guint             page_size);

EdClient         *ed_guest_list_model_get_client     (EdGuestListModel *self);
gint64            ed_guest_list_model_get_event_id   (EdGuestListModel *self);
guint             ed_guest_list_model_get_page_size  (EdGuestListModel *self);
gboolean          ed_guest_list_model_get_loading    (EdGuestListModel *self);
guint             ed_guest_list_model_get_n_loaded_pages (EdGuestListModel *self);

/* Changing any of these fetches the list again; the old rows stay until
 * the first page of the new list arrives, then one items-changed swaps
 * them. */
const char       *ed_guest_list_model_get_query      (EdGuestListModel *self);
void              ed_guest_list_model_set_query      (EdGuestListModel *self,
                                                      const char       *query);
const char       *ed_guest_list_model_get_status     (EdGuestListModel *self);
void              ed_guest_list_model_set_status     (EdGuestListModel *self,
                                                      const char       *status);
const char       *ed_guest_list_model_get_sort       (EdGuestListModel *self);
void              ed_guest_list_model_set_sort       (EdGuestListModel *self,
                                                      const char       *sort);

void              ed_guest_list_model_set_max_pages  (EdGuestListModel *self,
                                                      guint             max_pages);
void              ed_guest_list_model_reload         (EdGuestListModel *self);

/* Whether the row at @position has arrived, without asking for it. */
gboolean          ed_guest_list_model_is_loaded      (EdGuestListModel *self,
                                                      guint             position);

G_END_DECLS
