/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define ED_TYPE_APPLICATION (ed_application_get_type ())

G_DECLARE_FINAL_TYPE (EdApplication, ed_application, ED, APPLICATION, AdwApplication)

EdApplication *ed_application_new          (const char        *application_id,
                                            GApplicationFlags  flags);
GSettings     *ed_application_get_settings (EdApplication     *self);

G_END_DECLS
