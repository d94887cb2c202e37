/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ed-ctl-error.h"

G_DEFINE_QUARK (ed-ctl-error-quark, ed_ctl_error)

int
ed_ctl_error_to_exit_status (const GError *error)
{
  if (error == NULL)
    return ED_CTL_EXIT_OK;
  if (error->domain != ED_CTL_ERROR)
    return ED_CTL_EXIT_FAILED;

  switch ((EdCtlError) error->code)
    {
    case ED_CTL_ERROR_USAGE:
      return ED_CTL_EXIT_USAGE;
    case ED_CTL_ERROR_LOGIN:
      return ED_CTL_EXIT_LOGIN;
    case ED_CTL_ERROR_UNREACHABLE:
      return ED_CTL_EXIT_UNREACHABLE;
    case ED_CTL_ERROR_REFUSED:
      return ED_CTL_EXIT_REFUSED;
    case ED_CTL_ERROR_FAILED:
    default:
      return ED_CTL_EXIT_FAILED;
    }
}
