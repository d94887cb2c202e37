/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskctl"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <sys/stat.h>

#include "ed-ctl-commands.h"

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  /* Without a locale, text would print as ASCII with “?” for every quote. */
  if (!g_get_charset (NULL))
    setlocale (LC_CTYPE, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Exports hold personal data. */
  umask (077);

  return ed_ctl_run (argc, argv);
}
