/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include "ed-daemon-private.h"

/* guest import (/api/v1/events/{id}/guests/import) and export (/api/v1/events/{id}/guests.csv) */

void
ed_daemon_add_transfer_routes (EdDaemon *self)
{
}
