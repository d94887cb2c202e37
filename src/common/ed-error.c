/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>

#include "ed-error.h"

G_DEFINE_QUARK (ed-error-quark, ed_error)

/**
 * ed_error_errno_is_no_space:
 * @saved_errno: an errno value from a failed write
 *
 * Whether the write failed for want of room: a full disk (`ENOSPC`), a
 * used-up quota (`EDQUOT`) or a file grown to its size limit (`EFBIG`, as
 * `RLIMIT_FSIZE` or the file system imposes). Each is an
 * %ED_ERROR_NO_SPACE, which the operator resolves by making room.
 */
gboolean
ed_error_errno_is_no_space (int saved_errno)
{
  return saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EFBIG;
}
