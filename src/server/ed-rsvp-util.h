/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ed-catalog.h"
#include "ed-event.h"

G_BEGIN_DECLS

char     *ed_rsvp_expand          (const char  *template_text,
                                   ...) G_GNUC_NULL_TERMINATED;
char     *ed_rsvp_format_number   (EdCatalog   *catalog,
                                   gint64       number);
char     *ed_rsvp_format_date     (EdCatalog   *catalog,
                                   GDateTime   *date_time);
char     *ed_rsvp_format_time     (EdCatalog   *catalog,
                                   GDateTime   *date_time);
char     *ed_rsvp_format_moment   (EdCatalog   *catalog,
                                   gint64       unix_seconds,
                                   const char  *timezone);
char     *ed_rsvp_format_when     (EdCatalog   *catalog,
                                   const EdEvent *event);

char     *ed_ics_escape_text      (const char  *text);
char     *ed_rsvp_build_ics       (const EdEvent *event,
                                   gint64       guest_id,
                                   const char  *uid_domain,
                                   gint64       now);
char     *ed_rsvp_ics_file_name   (const EdEvent *event);

G_END_DECLS
