/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ed-import-report.h"
#include "ed-store.h"

G_BEGIN_DECLS

/* The limits of a guest's fields; the same as the guest API's. */
#define ED_IMPORT_NAME_MAX_CHARS 200
#define ED_IMPORT_EXTRA_MAX_MEMBERS 50
#define ED_IMPORT_EXTRA_KEY_MAX_CHARS 100
#define ED_IMPORT_EXTRA_VALUE_MAX_CHARS 2000

/* The longest field read whole; a row with a longer one is rejected. */
#define ED_IMPORT_MAX_FIELD_BYTES (64 * 1024)

/* Receives each row that passed the checks. */
typedef gboolean (*EdImportStageFunc) (const EdImportRow  *row,
                                       gpointer            user_data,
                                       GError            **error);

typedef struct _EdImportParser EdImportParser;

EdImportParser       *ed_import_parser_new          (EdImportMode        mode,
                                                     EdImportStageFunc   stage,
                                                     gpointer            user_data);
void                  ed_import_parser_free         (EdImportParser     *self);
gboolean              ed_import_parser_feed         (EdImportParser     *self,
                                                     const char         *data,
                                                     gsize               len,
                                                     GError            **error);
gboolean              ed_import_parser_finish       (EdImportParser     *self,
                                                     GError            **error);
const char           *ed_import_parser_get_refusal  (EdImportParser     *self);
const EdImportReport *ed_import_parser_get_report   (EdImportParser     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdImportParser, ed_import_parser_free)

G_END_DECLS
