/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-import-report.h"
#include "ed-json-util.h"

static const char * const mode_names[] = {
  [ED_IMPORT_MODE_SKIP] = "skip",
  [ED_IMPORT_MODE_UPDATE] = "update",
  [ED_IMPORT_MODE_DRY_RUN] = "dry-run",
};

gboolean
ed_import_mode_from_string (const char   *text,
                            EdImportMode *mode)
{
  for (guint i = 0; i < G_N_ELEMENTS (mode_names); i++)
    if (g_strcmp0 (text, mode_names[i]) == 0)
      {
        *mode = (EdImportMode) i;
        return TRUE;
      }

  return FALSE;
}

const char *
ed_import_mode_to_string (EdImportMode mode)
{
  g_return_val_if_fail ((guint) mode < G_N_ELEMENTS (mode_names), NULL);

  return mode_names[mode];
}

static void
rejection_free (EdImportRejection *rejection)
{
  g_free (rejection->code);
  g_free (rejection->reason);
  g_free (rejection->email);
  g_free (rejection);
}

static EdImportRejection *
rejection_copy (const EdImportRejection *rejection)
{
  EdImportRejection *copy = g_new0 (EdImportRejection, 1);

  copy->line = rejection->line;
  copy->code = g_strdup (rejection->code);
  copy->reason = g_strdup (rejection->reason);
  copy->email = g_strdup (rejection->email);
  return copy;
}

EdImportReport *
ed_import_report_new (EdImportMode mode)
{
  EdImportReport *report = g_new0 (EdImportReport, 1);

  report->mode = mode;
  report->rejections = g_ptr_array_new_with_free_func ((GDestroyNotify) rejection_free);
  return report;
}

void
ed_import_report_free (EdImportReport *report)
{
  if (report == NULL)
    return;

  g_strfreev (report->column_names);
  g_free (report->column_kinds);
  g_ptr_array_unref (report->rejections);
  g_free (report);
}

EdImportReport *
ed_import_report_copy (const EdImportReport *report)
{
  EdImportReport *copy;

  g_return_val_if_fail (report != NULL, NULL);

  copy = ed_import_report_new (report->mode);
  copy->separator = report->separator;
  copy->column_names = g_strdupv (report->column_names);
  copy->column_kinds = g_memdup2 (report->column_kinds, report->n_columns * sizeof (EdGuestColumn));
  copy->n_columns = report->n_columns;
  copy->rows = report->rows;
  copy->imported = report->imported;
  copy->updated = report->updated;
  copy->duplicates = report->duplicates;
  copy->rejected = report->rejected;
  for (guint i = 0; i < report->rejections->len; i++)
    g_ptr_array_add (copy->rejections, rejection_copy (g_ptr_array_index (report->rejections, i)));

  return copy;
}

void
ed_import_report_set_columns (EdImportReport         *report,
                              const EdGuestColumnMap *map,
                              char                    separator)
{
  g_return_if_fail (report != NULL && map != NULL);

  g_strfreev (report->column_names);
  g_free (report->column_kinds);
  report->separator = separator;
  report->n_columns = map->n_columns;
  report->column_names = g_strdupv (map->names);
  report->column_kinds = g_memdup2 (map->kinds, map->n_columns * sizeof (EdGuestColumn));
}

/* Counts a rejected row, and lists it while the list is not full. */
void
ed_import_report_reject (EdImportReport *report,
                         guint64         line,
                         const char     *code,
                         const char     *reason,
                         const char     *email)
{
  EdImportRejection *rejection;

  g_return_if_fail (report != NULL && code != NULL && reason != NULL);

  report->rejected++;
  if (report->rejections->len >= ED_IMPORT_REPORT_MAX_REJECTED)
    return;

  rejection = g_new0 (EdImportRejection, 1);
  rejection->line = line;
  rejection->code = g_strdup (code);
  rejection->reason = g_strdup (reason);
  if (email != NULL && *email != '\0' && g_utf8_validate (email, -1, NULL))
    rejection->email = g_strdup (email);
  g_ptr_array_add (report->rejections, rejection);
}

void
ed_import_report_set_counts (EdImportReport       *report,
                             const EdImportCounts *counts)
{
  g_return_if_fail (report != NULL && counts != NULL);

  report->imported = counts->imported;
  report->updated = counts->updated;
  report->duplicates = counts->duplicates;
}

static const char *
separator_name (char separator)
{
  switch (separator)
    {
    case ',':
      return "comma";
    case ';':
      return "semicolon";
    case '\t':
      return "tab";
    default:
      return NULL;
    }
}

/* Adds the report's members to the object @builder is in. */
void
ed_import_report_add_members (const EdImportReport *report,
                              JsonBuilder          *builder)
{
  g_return_if_fail (report != NULL);
  g_return_if_fail (JSON_IS_BUILDER (builder));

  ed_json_add_string (builder, "mode", ed_import_mode_to_string (report->mode));
  ed_json_add_int (builder, "rows", report->rows);
  ed_json_add_int (builder, "imported", report->imported);
  ed_json_add_int (builder, "updated", report->updated);
  ed_json_add_int (builder, "duplicates", report->duplicates);
  ed_json_add_int (builder, "rejected", report->rejected);

  json_builder_set_member_name (builder, "rejected_rows");
  json_builder_begin_array (builder);
  for (guint i = 0; i < report->rejections->len; i++)
    {
      const EdImportRejection *rejection = g_ptr_array_index (report->rejections, i);

      json_builder_begin_object (builder);
      ed_json_add_int (builder, "line", (gint64) rejection->line);
      ed_json_add_string (builder, "code", rejection->code);
      ed_json_add_string (builder, "reason", rejection->reason);
      if (rejection->email != NULL)
        ed_json_add_string (builder, "email", rejection->email);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  ed_json_add_boolean (builder, "rejected_rows_truncated",
                       report->rejected > (gint64) report->rejections->len);

  json_builder_set_member_name (builder, "columns");
  json_builder_begin_array (builder);
  for (guint i = 0; i < report->n_columns; i++)
    {
      json_builder_begin_object (builder);
      ed_json_add_string (builder, "header", report->column_names[i]);
      ed_json_add_string (builder, "field", ed_guest_column_to_string (report->column_kinds[i]));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  ed_json_add_string (builder, "separator", separator_name (report->separator));
}
