/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean  ed_email_check     (const char  *address,
                              GError     **error);
char     *ed_email_normalize (const char  *address);

G_END_DECLS
