/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ED_CTL_ERROR (ed_ctl_error_quark ())

/* Each maps to one exit status of eventdeskctl (ed_ctl_error_to_exit_status()). */
typedef enum
{
  ED_CTL_ERROR_FAILED,       /* the server refused or failed the request: 1 */
  ED_CTL_ERROR_USAGE,        /* wrong command line, unreadable file: 2 */
  ED_CTL_ERROR_LOGIN,        /* not logged in, or the session has ended: 3 */
  ED_CTL_ERROR_UNREACHABLE,  /* no answer from the server: 4 */
  ED_CTL_ERROR_REFUSED,      /* a campaign's state does not allow the action (409): 5 */
} EdCtlError;

enum
{
  ED_CTL_EXIT_OK = 0,
  ED_CTL_EXIT_FAILED = 1,
  ED_CTL_EXIT_USAGE = 2,
  ED_CTL_EXIT_LOGIN = 3,
  ED_CTL_EXIT_UNREACHABLE = 4,
  ED_CTL_EXIT_REFUSED = 5,
};

GQuark ed_ctl_error_quark              (void);
int    ed_ctl_error_to_exit_status     (const GError *error);

G_END_DECLS
