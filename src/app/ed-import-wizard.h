/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ed-client.h"

G_BEGIN_DECLS

/* Imports a CSV file of guests in steps: pick the file, check the
 * detected columns on a preview of the first rows (and change what each
 * column holds), choose skip / update / dry run, upload with progress and
 * cancel, then the summary with the rejected rows, which can be saved.
 * "imported" is emitted with the report once the server has it.
 */
#define ED_TYPE_IMPORT_WIZARD (ed_import_wizard_get_type ())

G_DECLARE_FINAL_TYPE (EdImportWizard, ed_import_wizard, ED, IMPORT_WIZARD, AdwWindow)

EdImportWizard *ed_import_wizard_new         (EdClient       *client,
                                              gint64          event_id);

/* The steps without a file chooser, for tests and screenshots. */
void            ed_import_wizard_open_file   (EdImportWizard *self,
                                              GFile          *file);
const char     *ed_import_wizard_get_step    (EdImportWizard *self);
void            ed_import_wizard_set_mode    (EdImportWizard *self,
                                              const char     *mode);
void            ed_import_wizard_set_column  (EdImportWizard *self,
                                              guint           column,
                                              const char     *field);
void            ed_import_wizard_start       (EdImportWizard *self);
void            ed_import_wizard_save_rejected_to (EdImportWizard *self,
                                              GFile          *file);
JsonObject     *ed_import_wizard_get_report  (EdImportWizard *self);

G_END_DECLS
