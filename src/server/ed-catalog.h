/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A message catalog read from a compiled GNU gettext file (.mo), so that
 * each request can be answered in its own language without setlocale(),
 * which needs the locales installed and is process-wide.
 *
 * Every lookup function takes a %NULL catalog for English, the language
 * of the source strings. xgettext finds the strings through the keywords
 * that po/meson.build gives it for these functions.
 */
typedef struct _EdCatalog EdCatalog;

EdCatalog  *ed_catalog_new_from_bytes        (GBytes      *mo,
                                              const char  *language,
                                              GError     **error);
void        ed_catalog_free                  (EdCatalog   *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCatalog, ed_catalog_free)

const char *ed_catalog_get_language          (EdCatalog   *self);
guint       ed_catalog_get_size              (EdCatalog   *self);
const char *ed_catalog_gettext               (EdCatalog   *self,
                                              const char  *msgid);
const char *ed_catalog_pgettext              (EdCatalog   *self,
                                              const char  *context,
                                              const char  *msgid);
const char *ed_catalog_ngettext              (EdCatalog   *self,
                                              const char  *msgid,
                                              const char  *msgid_plural,
                                              gulong       n);

gboolean    ed_catalog_eval_plural           (const char  *expression,
                                              gulong       n,
                                              gulong      *index);

const char * const *ed_catalog_get_languages (void);
EdCatalog  *ed_catalog_lookup                (const char  *language);
EdCatalog  *ed_catalog_for_accept_language   (const char  *accept_language);
char       *ed_catalog_negotiate_language    (const char  *accept_language,
                                              const char * const *available);

G_END_DECLS
