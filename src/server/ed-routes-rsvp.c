/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include "ed-daemon-private.h"

/* /r/{token} pages and answers, and /api/v1/guests/{id}/link */

void
ed_daemon_add_rsvp_routes (EdDaemon *self)
{
}
