/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ed-ctl-client.h"

G_BEGIN_DECLS

/* What the commands of ed-ctl-commands.c and ed-ctl-campaign-commands.c
 * share: each command is a CommandFunc returning its exit status.
 */
typedef int (*EdCtlCommandFunc) (int argc, char **argv, GError **error);

gboolean     ed_ctl_parse_options       (GOptionContext  *context,
                                         int             *argc,
                                         char          ***argv,
                                         GError         **error);
gboolean     ed_ctl_check_no_arguments  (int              argc,
                                         char           **argv,
                                         GError         **error);
gboolean     ed_ctl_parse_event_id      (const char      *text,
                                         gint64          *event_id,
                                         GError         **error);
gboolean     ed_ctl_parse_campaign_id   (const char      *text,
                                         gint64          *campaign_id,
                                         GError         **error);
EdCtlClient *ed_ctl_client_from_session (GError         **error);

int          ed_ctl_run_events          (int              argc,
                                         char           **argv,
                                         GError         **error);
int          ed_ctl_run_campaigns       (int              argc,
                                         char           **argv,
                                         GError         **error);
int          ed_ctl_run_campaign        (int              argc,
                                         char           **argv,
                                         GError         **error);
int          ed_ctl_run_queue           (int              argc,
                                         char           **argv,
                                         GError         **error);

G_END_DECLS
