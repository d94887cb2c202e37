/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void  ed_csv_append_field (GString           *out,
                           const char        *value,
                           char               separator);
void  ed_csv_append_row   (GString           *out,
                           const char * const *values,
                           guint              n_values,
                           char               separator);
char *ed_csv_unneutralize (const char        *value);

G_END_DECLS
