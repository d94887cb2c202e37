/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gint64 bench_parse_int (const char *text,
                        gsize       length,
                        const char *where);

G_END_DECLS
