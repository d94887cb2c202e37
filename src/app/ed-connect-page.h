/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-application.h"

G_BEGIN_DECLS

#define ED_TYPE_CONNECT_PAGE (ed_connect_page_get_type ())

G_DECLARE_FINAL_TYPE (EdConnectPage, ed_connect_page, ED, CONNECT_PAGE, GtkWidget)

void ed_connect_page_reconnect (EdConnectPage *self,
                                EdApplication *application);
void ed_connect_page_cancel    (EdConnectPage *self);

G_END_DECLS
