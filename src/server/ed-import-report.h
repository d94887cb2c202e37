/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "ed-guest-columns.h"
#include "ed-store.h"

G_BEGIN_DECLS

/* The rejected rows a report lists; the count goes on past it. */
#define ED_IMPORT_REPORT_MAX_REJECTED 1000

typedef enum
{
  ED_IMPORT_MODE_SKIP,
  ED_IMPORT_MODE_UPDATE,
  ED_IMPORT_MODE_DRY_RUN,
} EdImportMode;

typedef struct
{
  guint64  line;
  char    *code;    /* stable, e.g. "invalid-email" */
  char    *reason;  /* for people */
  char    *email;   /* as found in the row, when it is text; or NULL */
} EdImportRejection;

/* What an import did, or has done so far. */
typedef struct
{
  EdImportMode  mode;
  char          separator;      /* 0 until the header is read */
  char        **column_names;   /* the header, trimmed */
  EdGuestColumn *column_kinds;
  guint         n_columns;

  gint64        rows;           /* data rows read, the header not counted */
  gint64        imported;
  gint64        updated;
  gint64        duplicates;
  gint64        rejected;
  GPtrArray    *rejections;     /* EdImportRejection, the first MAX_REJECTED */
} EdImportReport;

gboolean        ed_import_mode_from_string   (const char           *text,
                                              EdImportMode         *mode);
const char     *ed_import_mode_to_string     (EdImportMode          mode);

EdImportReport *ed_import_report_new         (EdImportMode          mode);
void            ed_import_report_free        (EdImportReport       *report);
EdImportReport *ed_import_report_copy        (const EdImportReport *report);
void            ed_import_report_set_columns (EdImportReport       *report,
                                              const EdGuestColumnMap *map,
                                              char                  separator);
void            ed_import_report_reject      (EdImportReport       *report,
                                              guint64               line,
                                              const char           *code,
                                              const char           *reason,
                                              const char           *email);
void            ed_import_report_set_counts  (EdImportReport       *report,
                                              const EdImportCounts *counts);
void            ed_import_report_add_members (const EdImportReport *report,
                                              JsonBuilder          *builder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdImportReport, ed_import_report_free)

G_END_DECLS
