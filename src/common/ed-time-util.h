/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char     *ed_time_format_rfc3339 (gint64       unix_seconds);
gboolean  ed_time_parse_rfc3339  (const char  *text,
                                  GTimeZone   *local_tz,
                                  gint64      *unix_seconds);
gboolean  ed_time_zone_is_valid  (const char  *identifier);
gint64    ed_time_now            (void);

G_END_DECLS
