/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Each check reads one member of a request body; a bad value adds a
 * message to @fields under the member's name, so that one 400 answer
 * can name every bad field at once.
 */
typedef enum
{
  ED_VALIDATE_NONE = 0,
  ED_VALIDATE_REQUIRED = 1 << 0,  /* missing, null or empty is an error */
  ED_VALIDATE_MULTILINE = 1 << 1, /* line breaks and tabs are allowed */
  ED_VALIDATE_RAW = 1 << 2,       /* not trimmed (passwords) */
} EdValidateFlags;

void      ed_validate_known_members (JsonObject         *body,
                                     const char * const *allowed,
                                     JsonObject         *fields);
gboolean  ed_validate_has           (JsonObject         *body,
                                     const char         *name);
char     *ed_validate_string        (JsonObject         *body,
                                     const char         *name,
                                     EdValidateFlags     flags,
                                     guint               max_chars,
                                     JsonObject         *fields);
gboolean  ed_validate_int           (JsonObject         *body,
                                     const char         *name,
                                     gint64              min,
                                     gint64              max,
                                     gint64             *value,
                                     JsonObject         *fields);
gboolean  ed_validate_boolean       (JsonObject         *body,
                                     const char         *name,
                                     gboolean           *value,
                                     JsonObject         *fields);
gboolean  ed_validate_time          (JsonObject         *body,
                                     const char         *name,
                                     gboolean            nullable,
                                     GTimeZone          *local_tz,
                                     gint64             *value,
                                     JsonObject         *fields);
gboolean  ed_validate_query_int     (GHashTable         *query,
                                     const char         *name,
                                     gint64              min,
                                     gint64              max,
                                     gint64              fallback,
                                     gint64             *value,
                                     JsonObject         *fields);
void      ed_validate_fail          (JsonObject         *fields,
                                     const char         *name,
                                     const char         *format,
                                     ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
