/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

pid_t  ed_test_parse_pid (const char *text);
gint64 ed_test_parse_int (const char *text,
                          const char *where);

G_END_DECLS
