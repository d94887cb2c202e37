/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ED_ERROR (ed_error_quark ())

/* Errors shared by every part; each maps to one HTTP status in the daemon. */
typedef enum
{
  ED_ERROR_INVALID,        /* bad input: 400 */
  ED_ERROR_UNAUTHORIZED,   /* no or bad credentials: 401 */
  ED_ERROR_FORBIDDEN,      /* 403 */
  ED_ERROR_NOT_FOUND,      /* 404 */
  ED_ERROR_CONFLICT,       /* 409 */
  ED_ERROR_TOO_LARGE,      /* 413 */
  ED_ERROR_THROTTLED,      /* 429 */
  ED_ERROR_STORE,          /* database trouble: 500 */
  ED_ERROR_UNSUPPORTED,    /* e.g. a database from a newer version */
  ED_ERROR_BUSY,           /* data directory held by another process */
  ED_ERROR_NO_SPACE,       /* the disk (or a file size limit) is full: 507 */
} EdError;

GQuark   ed_error_quark              (void);
gboolean ed_error_errno_is_no_space  (int saved_errno);

G_END_DECLS
