/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *ed_html_escape_text   (const char *text);
void  ed_html_escape_append (GString    *out,
                             const char *text,
                             gssize      length);

G_END_DECLS
