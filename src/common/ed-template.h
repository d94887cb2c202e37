/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Mail templates: text with placeholders written {{name}}, compiled once
 * and rendered for every guest. The syntax is in docs/templates.md:
 *
 * - {{name}} or {{ name }}: the value of name; spaces and tabs around the
 *   name are allowed, a line break is not;
 * - names are letters, digits and “_”, “-”, “.”; non-ASCII letters too;
 * - {{{{ is a literal “{{”; a lone “{”, “}” or “}}” is literal text.
 */

/* A placeholder name longer than this is an error. */
#define ED_TEMPLATE_MAX_NAME 128

/* Returns the value of @name, borrowed until the render returns, or NULL
 * for an empty value.
 */
typedef const char *(*EdTemplateLookup) (const char *name,
                                         gpointer    user_data);

typedef struct _EdTemplate EdTemplate;

EdTemplate  *ed_template_new               (const char          *text,
                                            const char * const  *known_names,
                                            GError             **error);
gboolean     ed_template_check             (const char          *text,
                                            const char * const  *known_names,
                                            GError             **error);
void         ed_template_free              (EdTemplate          *self);

char        *ed_template_render            (EdTemplate          *self,
                                            EdTemplateLookup     lookup,
                                            gpointer             user_data,
                                            gboolean             html_escape);
void         ed_template_render_append     (EdTemplate          *self,
                                            GString             *out,
                                            EdTemplateLookup     lookup,
                                            gpointer             user_data,
                                            gboolean             html_escape);
char        *ed_template_render_with_table (EdTemplate          *self,
                                            GHashTable          *values,
                                            gboolean             html_escape);

gboolean     ed_template_uses              (EdTemplate          *self,
                                            const char          *name);
const char * const *ed_template_get_names  (EdTemplate          *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTemplate, ed_template_free)

G_END_DECLS
