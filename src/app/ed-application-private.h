/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ed-application.h"

G_BEGIN_DECLS

/* The values of the settings' connection-mode. */
typedef enum
{
  ED_CONNECTION_NONE,
  ED_CONNECTION_LOCAL,
  ED_CONNECTION_SERVER,
} EdConnectionMode;

struct _EdApplication
{
  AdwApplication  parent_instance;

  /* owned */
  GSettings      *settings;
  EdLocalDaemon  *local_daemon;
};

G_END_DECLS
