/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

char *ed_terminal_read_line     (FILE       *stream,
                                 gsize       max_bytes);
char *ed_terminal_prompt_hidden (FILE       *tty,
                                 const char *prompt,
                                 gsize       max_bytes);

G_END_DECLS
