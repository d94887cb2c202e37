/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

void   ed_json_add_int     (JsonBuilder *builder,
                            const char  *name,
                            gint64       value);
void   ed_json_add_string  (JsonBuilder *builder,
                            const char  *name,
                            const char  *value);
void   ed_json_add_boolean (JsonBuilder *builder,
                            const char  *name,
                            gboolean     value);
void   ed_json_add_time    (JsonBuilder *builder,
                            const char  *name,
                            gint64       unix_seconds);
void   ed_json_add_null    (JsonBuilder *builder,
                            const char  *name);
char  *ed_json_to_string   (JsonBuilder *builder);

/* The member @name of @object when it is an object (an array), else NULL:
 * for reading what a server sent, where a member may be missing or null. */
JsonObject *ed_json_get_object (JsonObject *object,
                                const char *name);
JsonArray  *ed_json_get_array  (JsonObject *object,
                                const char *name);
/* The member @name when it is a number (a string), else 0 (NULL). */
gint64      ed_json_get_int    (JsonObject *object,
                                const char *name);
double      ed_json_get_double (JsonObject *object,
                                const char *name);
const char *ed_json_get_string (JsonObject *object,
                                const char *name);

G_END_DECLS
