/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-import"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-csv-reader.h"
#include "ed-csv-writer.h"
#include "ed-guest-columns.h"
#include "ed-import-wizard.h"

/* The preview reads this much of the file, and shows this many rows. */
#define PREVIEW_BYTES (64 * 1024)
#define PREVIEW_ROWS 8
#define MAX_FIELD_BYTES (64 * 1024)
#define MAX_LISTED_REJECTED 200

/* What a column can hold, in the order of each column's drop-down; the
 * names are the report's `field`s. */
static const char * const fields[] = {
  "email", "first_name", "last_name", "full_name", "extra", "ignored",
};

struct _EdImportWizard
{
  AdwWindow       parent_instance;

  /* template widgets */
  AdwWindowTitle *window_title;
  GtkButton      *back_button;
  GtkButton      *next_button;
  GtkStack       *stack;
  GtkLabel       *choose_error;
  GtkLabel       *preview_title;
  GtkGrid        *preview_grid;
  GtkLabel       *preview_error;
  GtkCheckButton *skip_check;
  GtkCheckButton *update_check;
  GtkCheckButton *dry_run_check;
  GtkLabel       *upload_title;
  GtkProgressBar *upload_progress;
  GtkLabel       *upload_detail;
  GtkLabel       *summary_title;
  GtkLabel       *summary_counts;
  GtkListBox     *rejected_list;
  GtkWidget      *rejected_scroller;
  GtkWidget      *save_rejected_button;

  /* owned */
  EdClient       *client;
  GCancellable   *cancellable;     /* of the window */
  GCancellable   *upload_cancellable;
  GFile          *file;
  GFile          *rewritten;       /* the file with the header the user chose */
  GPtrArray      *rows;            /* GStrv: the header, then up to PREVIEW_ROWS */
  GPtrArray      *dropdowns;       /* GtkDropDown per column */
  GArray         *detected;        /* guint index into fields[] per column */
  JsonObject     *report;
  gsize           header_end;      /* byte offset of the line after the header */
  guint           pulse_id;

  gint64          event_id;
  char            separator;
};

enum {
  IMPORTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdImportWizard, ed_import_wizard, ADW_TYPE_WINDOW)

static void
show_label (GtkLabel   *label,
            const char *text)
{
  gtk_label_set_label (label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (label), text != NULL);
}

static guint
field_index (const char *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (g_strcmp0 (fields[i], field) == 0)
      return i;
  return G_N_ELEMENTS (fields) - 1;
}

static guint
chosen (EdImportWizard *self,
        guint           column)
{
  return gtk_drop_down_get_selected (g_ptr_array_index (self->dropdowns, column));
}

/* Whether the chosen columns make an import: one email column, at most one
 * of each name. Sets the preview's message. */
static gboolean
check_mapping (EdImportWizard *self)
{
  guint counts[G_N_ELEMENTS (fields)] = { 0 };
  const char *problem = NULL;

  for (guint i = 0; i < self->dropdowns->len; i++)
    {
      guint kind = chosen (self, i);

      if (kind < G_N_ELEMENTS (fields))
        counts[kind]++;
    }

  if (counts[0] == 0)
    problem = _("Choose the column that holds the email addresses.");
  else if (counts[0] > 1)
    problem = _("Only one column can hold the email addresses.");
  else if (counts[1] > 1)
    problem = _("Only one column can hold first names.");
  else if (counts[2] > 1)
    problem = _("Only one column can hold last names.");
  else if (counts[3] > 1)
    problem = _("Only one column can hold full names.");

  show_label (self->preview_error, problem);
  return problem == NULL;
}

static void
set_step (EdImportWizard *self,
          const char     *step)
{
  gboolean preview = g_str_equal (step, "preview");
  gboolean summary = g_str_equal (step, "summary");

  gtk_stack_set_visible_child_name (self->stack, step);
  gtk_widget_set_visible (GTK_WIDGET (self->next_button), preview || summary);
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), !summary);
  gtk_button_set_label (self->back_button, preview ? _("_Back") : _("_Cancel"));
  gtk_button_set_label (self->next_button, summary ? _("_Done") : _("_Import"));
  if (preview)
    gtk_widget_set_sensitive (GTK_WIDGET (self->next_button), check_mapping (self));
  else
    gtk_widget_set_sensitive (GTK_WIDGET (self->next_button), TRUE);
}

/* After a failed or cancelled upload: the preview, with what happened. */
static void
back_to_preview (EdImportWizard *self,
                 const char     *message)
{
  g_clear_object (&self->upload_cancellable);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (self->rewritten != NULL)
    {
      g_file_delete_async (self->rewritten, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      g_clear_object (&self->rewritten);
    }
  set_step (self, "preview");
  show_label (self->preview_error, message);
}

static void
on_mapping_changed_cb (EdImportWizard *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->next_button), check_mapping (self));
}

static GtkWidget *
cell_label (const char *text,
            gboolean    header)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_width_chars (GTK_LABEL (label), 12);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 28);
  gtk_label_set_single_line_mode (GTK_LABEL (label), TRUE);
  if (header)
    gtk_widget_add_css_class (label, "heading");
  return label;
}

static void
build_preview (EdImportWizard *self)
{
  g_autoptr(GtkStringList) choices = NULL;
  g_autofree char *name = g_file_get_basename (self->file);
  g_autofree char *title = NULL;
  GtkWidget *child;
  char **header = g_ptr_array_index (self->rows, 0);
  guint n_columns = g_strv_length (header);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->preview_grid))) != NULL)
    gtk_grid_remove (self->preview_grid, child);
  g_ptr_array_set_size (self->dropdowns, 0);

  choices = gtk_string_list_new (NULL);
  gtk_string_list_append (choices, _("Email"));
  gtk_string_list_append (choices, _("First name"));
  gtk_string_list_append (choices, _("Last name"));
  gtk_string_list_append (choices, _("Full name"));
  gtk_string_list_append (choices, _("Extra field"));
  gtk_string_list_append (choices, _("Don’t import"));

  for (guint column = 0; column < n_columns; column++)
    {
      GtkWidget *dropdown = gtk_drop_down_new (G_LIST_MODEL (g_object_ref (choices)), NULL);
      g_autofree char *accessible = g_strdup_printf (_("What column “%s” holds"), header[column]);

      gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), g_array_index (self->detected, guint, column));
      gtk_accessible_update_property (GTK_ACCESSIBLE (dropdown), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
      g_signal_connect_object (dropdown, "notify::selected", G_CALLBACK (on_mapping_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_ptr_array_add (self->dropdowns, dropdown);
      gtk_grid_attach (self->preview_grid, dropdown, (int) column, 0, 1, 1);
      gtk_grid_attach (self->preview_grid, cell_label (header[column], TRUE), (int) column, 1, 1, 1);

      for (guint row = 1; row < self->rows->len; row++)
        {
          char **fields_of_row = g_ptr_array_index (self->rows, row);
          const char *value = column < g_strv_length (fields_of_row) ? fields_of_row[column] : "";

          gtk_grid_attach (self->preview_grid, cell_label (value, FALSE), (int) column, (int) row + 1, 1, 1);
        }
    }

  title = g_strdup_printf (_("“%s”: %u columns"), name, n_columns);
  gtk_label_set_label (self->preview_title, title);
  adw_window_title_set_subtitle (self->window_title, name);
  set_step (self, "preview");
}

static gboolean
on_preview_row_cb (const EdCsvRow  *row,
                   gpointer         user_data,
                   GError         **error)
{
  EdImportWizard *self = user_data;
  GStrvBuilder *builder;

  if (self->rows->len > PREVIEW_ROWS)
    return TRUE;

  builder = g_strv_builder_new ();
  for (guint i = 0; i < row->n_fields; i++)
    {
      g_autofree char *value = g_utf8_make_valid (row->fields[i], -1);

      g_strv_builder_add (builder, self->rows->len == 0 ? value : g_strstrip (value));
    }
  g_ptr_array_add (self->rows, g_strv_builder_end (builder));
  g_strv_builder_unref (builder);
  return TRUE;
}

/* Where the header record ends: its line break outside quotes. */
static gsize
find_header_end (const char *data,
                 gsize       len)
{
  gboolean quoted = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '"')
        quoted = !quoted;
      else if (!quoted && (data[i] == '\n' || data[i] == '\r'))
        return (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') ? i + 2 : i + 1;
    }
  return len;
}

static void
on_preview_read_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(EdImportWizard) self = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(EdCsvReader) reader = NULL;
  g_autoptr(EdGuestColumnMap) map = NULL;
  const char *data;
  gsize len;
  char **header;
  guint n_columns;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  g_input_stream_close (G_INPUT_STREAM (source), NULL, NULL);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (bytes == NULL)
    {
      show_label (self->choose_error, error->message);
      return;
    }

  data = g_bytes_get_data (bytes, &len);
  g_ptr_array_set_size (self->rows, 0);
  reader = ed_csv_reader_new (MAX_FIELD_BYTES);
  if (!ed_csv_reader_feed (reader, data, len, on_preview_row_cb, self, &error) ||
      (len < PREVIEW_BYTES && !ed_csv_reader_finish (reader, on_preview_row_cb, self, &error)))
    {
      show_label (self->choose_error, error->message);
      return;
    }
  if (self->rows->len == 0)
    {
      show_label (self->choose_error, _("The file is empty: it needs a header line and a row per guest."));
      return;
    }
  if (memchr (data, '\0', MIN (len, find_header_end (data, len))) != NULL)
    {
      show_label (self->choose_error, _("This is not a CSV file. Save the spreadsheet as “CSV UTF-8” and choose that file."));
      return;
    }

  self->separator = ed_csv_reader_get_separator (reader);
  if (self->separator == 0)
    self->separator = ',';
  self->header_end = find_header_end (data, len);

  header = g_ptr_array_index (self->rows, 0);
  n_columns = g_strv_length (header);
  map = ed_guest_column_map_new ((const char * const *) header, n_columns, NULL);
  g_array_set_size (self->detected, n_columns);
  for (guint i = 0; i < n_columns; i++)
    {
      EdGuestColumn kind = map ? map->kinds[i] : ed_guest_column_from_header (header[i]);

      g_array_index (self->detected, guint, i) = field_index (ed_guest_column_to_string (kind));
    }

  show_label (self->choose_error, NULL);
  build_preview (self);
}

static void
on_file_opened_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(EdImportWizard) self = user_data;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  stream = g_file_read_finish (G_FILE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (stream == NULL)
    {
      show_label (self->choose_error, error->message);
      return;
    }

  g_input_stream_read_bytes_async (G_INPUT_STREAM (stream), PREVIEW_BYTES, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_preview_read_cb, g_object_ref (self));
}

void
ed_import_wizard_open_file (EdImportWizard *self,
                            GFile          *file)
{
  g_return_if_fail (ED_IS_IMPORT_WIZARD (self));
  g_return_if_fail (G_IS_FILE (file));

  g_set_object (&self->file, file);
  g_file_read_async (file, G_PRIORITY_DEFAULT, self->cancellable, on_file_opened_cb, g_object_ref (self));
}

static void
on_file_chooser_response_cb (GtkNativeDialog *chooser,
                             int              response,
                             EdImportWizard  *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        ed_import_wizard_open_file (self, file);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
on_choose_clicked_cb (EdImportWizard *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) csv = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  /* A portal-backed chooser, so it works inside Flatpak too. */
  chooser = gtk_file_chooser_native_new (_("Choose a Guest List"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (csv, _("CSV Files"));
  gtk_file_filter_add_mime_type (csv, "text/csv");
  gtk_file_filter_add_suffix (csv, "csv");
  gtk_file_filter_add_suffix (csv, "txt");
  gtk_file_filter_add_suffix (csv, "tsv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), csv);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  g_signal_connect (chooser, "response", G_CALLBACK (on_file_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Upload */

static gboolean
on_pulse_cb (gpointer user_data)
{
  EdImportWizard *self = user_data;

  gtk_progress_bar_pulse (self->upload_progress);
  return G_SOURCE_CONTINUE;
}

static void
on_upload_progress_cb (goffset  done,
                       goffset  total,
                       gpointer user_data)
{
  EdImportWizard *self = user_data;
  g_autofree char *done_text = g_format_size ((guint64) done);
  g_autofree char *total_text = total > 0 ? g_format_size ((guint64) total) : NULL;
  g_autofree char *detail = NULL;

  if (total > 0 && done >= total)
    {
      /* The daemon adds the last rows and commits after the last byte. */
      gtk_label_set_label (self->upload_detail, _("Adding the guests…"));
      if (self->pulse_id == 0)
        self->pulse_id = g_timeout_add (100, on_pulse_cb, self);
      return;
    }

  if (total > 0)
    {
      /* TRANSLATORS: bytes sent of the file's size, e.g. "1.2 MB of 45.0 MB" */
      detail = g_strdup_printf (_("%s of %s"), done_text, total_text);
      gtk_progress_bar_set_fraction (self->upload_progress, (double) done / (double) total);
    }
  else
    {
      detail = g_strdup (done_text);
      gtk_progress_bar_pulse (self->upload_progress);
    }
  gtk_label_set_label (self->upload_detail, detail);
}

static char *
format_count (gint64 n)
{
  return g_strdup_printf ("%'" G_GINT64_FORMAT, n);
}

static void
show_summary (EdImportWizard *self)
{
  JsonObject *report = self->report;
  gint64 rows = json_object_get_int_member_with_default (report, "rows", 0);
  gint64 imported = json_object_get_int_member_with_default (report, "imported", 0);
  gint64 updated = json_object_get_int_member_with_default (report, "updated", 0);
  gint64 duplicates = json_object_get_int_member_with_default (report, "duplicates", 0);
  gint64 rejected = json_object_get_int_member_with_default (report, "rejected", 0);
  gboolean dry_run = g_strcmp0 (json_object_get_string_member_with_default (report, "mode", ""), "dry-run") == 0;
  JsonArray *rejected_rows = json_object_has_member (report, "rejected_rows")
                             ? json_object_get_array_member (report, "rejected_rows") : NULL;
  g_autofree char *rows_text = format_count (rows);
  g_autofree char *imported_text = format_count (imported);
  g_autofree char *updated_text = format_count (updated);
  g_autofree char *duplicates_text = format_count (duplicates);
  g_autofree char *rejected_text = format_count (rejected);
  g_autofree char *title = NULL;
  g_autofree char *counts = NULL;
  GtkWidget *child;

  if (dry_run)
    title = g_strdup_printf (ngettext ("Dry run: %s guest would be added; nothing was changed",
                                       "Dry run: %s guests would be added; nothing was changed",
                                       (gulong) imported), imported_text);
  else
    title = g_strdup_printf (ngettext ("%s guest added", "%s guests added", (gulong) imported), imported_text);
  gtk_label_set_label (self->summary_title, title);

  /* TRANSLATORS: the import's counts */
  counts = g_strdup_printf (_("%s rows read: %s new, %s updated, %s already on the list, %s rejected"),
                            rows_text, imported_text, updated_text, duplicates_text, rejected_text);
  gtk_label_set_label (self->summary_counts, counts);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->rejected_list))) != NULL)
    gtk_list_box_remove (self->rejected_list, child);
  for (guint i = 0; rejected_rows != NULL && i < json_array_get_length (rejected_rows) && i < MAX_LISTED_REJECTED; i++)
    {
      JsonObject *row = json_array_get_object_element (rejected_rows, i);
      GtkWidget *list_row = adw_action_row_new ();
      const char *email = json_object_get_string_member_with_default (row, "email", NULL);
      g_autofree char *row_title = NULL;
      g_autofree char *line = NULL;

      line = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (row, "line", 0));
      if (email != NULL)
        /* TRANSLATORS: a rejected row: its line in the file and its address */
        row_title = g_strdup_printf (_("Line %s: %s"), line, email);
      else
        row_title = g_strdup_printf (_("Line %s"), line);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (list_row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (list_row), row_title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (list_row),
                                   json_object_get_string_member_with_default (row, "reason", ""));
      gtk_list_box_append (self->rejected_list, list_row);
    }

  gtk_widget_set_visible (self->rejected_scroller, rejected > 0);
  gtk_widget_set_visible (self->save_rejected_button, rejected > 0);
  set_step (self, "summary");
}

static void
on_upload_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(EdImportWizard) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = ed_client_upload_finish (ED_CLIENT (source), result, &error);
  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        back_to_preview (self, _("The import was cancelled; nothing was changed."));
      else
        back_to_preview (self, error->message);
      return;
    }
  if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply))
    {
      back_to_preview (self, _("The server’s answer was not understood."));
      return;
    }

  g_clear_object (&self->upload_cancellable);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (self->rewritten != NULL)
    {
      g_file_delete_async (self->rewritten, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      g_clear_object (&self->rewritten);
    }

  g_clear_pointer (&self->report, json_object_unref);
  self->report = json_object_ref (json_node_get_object (reply));
  show_summary (self);
  g_signal_emit (self, signals[IMPORTED], 0, self->report);
}

static const char *
chosen_mode (EdImportWizard *self)
{
  if (gtk_check_button_get_active (self->update_check))
    return "update";
  if (gtk_check_button_get_active (self->dry_run_check))
    return "dry-run";
  return "skip";
}

static void
upload (EdImportWizard *self,
        GFile          *file)
{
  g_autofree char *path = NULL;

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/import?mode=%s",
                          self->event_id, chosen_mode (self));
  ed_client_upload_async (self->client, path, file, "text/csv",
                          on_upload_progress_cb, self, NULL,
                          self->upload_cancellable, on_upload_cb, g_object_ref (self));
}

static void
on_rewritten_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(EdImportWizard) self = user_data;
  g_autoptr(GError) error = NULL;

  g_object_set_data (G_OBJECT (self), "ed-tmp-stream", NULL);
  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error) < 0)
    {
      back_to_preview (self, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                             ? _("The import was cancelled; nothing was changed.") : error->message);
      return;
    }
  upload (self, self->rewritten);
}

/* The header the daemon reads as the user's choice of columns: the known
 * names for guest fields, an empty header for a column not to import (the
 * daemon ignores those), and the original header for an extra field, made
 * distinct from the known names when it would match one. */
static char *
build_header (EdImportWizard *self)
{
  char **header = g_ptr_array_index (self->rows, 0);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GString *line = g_string_new (NULL);

  for (guint i = 0; i < self->dropdowns->len; i++)
    {
      const char *field = fields[MIN (chosen (self, i), G_N_ELEMENTS (fields) - 1)];

      if (g_str_equal (field, "ignored"))
        g_ptr_array_add (names, g_strdup (""));
      else if (!g_str_equal (field, "extra"))
        g_ptr_array_add (names, g_strdup (field));
      else if (ed_guest_column_from_header (header[i]) == ED_GUEST_COLUMN_EXTRA)
        g_ptr_array_add (names, g_strdup (g_strstrip (header[i])));
      else
        /* TRANSLATORS: the name of an extra field made from a column whose
         * header names a guest field, e.g. "Name (extra)" */
        g_ptr_array_add (names, g_strdup_printf (_("%s (extra)"), g_strstrip (header[i])));
    }
  ed_csv_append_row (line, (const char * const *) names->pdata, names->len, self->separator);
  return g_string_free (line, FALSE);
}

static gboolean
mapping_changed (EdImportWizard *self)
{
  for (guint i = 0; i < self->dropdowns->len; i++)
    if (chosen (self, i) != g_array_index (self->detected, guint, i))
      return TRUE;
  return FALSE;
}

void
ed_import_wizard_start (EdImportWizard *self)
{
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;

  g_return_if_fail (ED_IS_IMPORT_WIZARD (self));

  if (self->file == NULL || self->upload_cancellable != NULL || !check_mapping (self))
    return;

  name = g_file_get_basename (self->file);
  title = g_strdup_printf (_("Importing “%s”"), name);
  gtk_label_set_label (self->upload_title, title);
  gtk_label_set_label (self->upload_detail, _("Starting…"));
  gtk_progress_bar_set_fraction (self->upload_progress, 0);
  show_label (self->preview_error, NULL);
  self->upload_cancellable = g_cancellable_new ();
  set_step (self, "upload");

  if (!mapping_changed (self))
    {
      upload (self, self->file);
      return;
    }

  /* A copy of the file under the chosen header, streamed to a temporary
   * file: the daemon reads columns by their headers. */
  {
    g_autoptr(GFileIOStream) tmp_stream = NULL;
    g_autoptr(GFileInputStream) input = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *header = build_header (self);
    GOutputStream *output;

    self->rewritten = g_file_new_tmp ("eventdesk-import-XXXXXX.csv", &tmp_stream, &error);
    if (self->rewritten != NULL)
      {
        output = g_io_stream_get_output_stream (G_IO_STREAM (tmp_stream));
        if (g_output_stream_write_all (output, header, strlen (header), NULL, NULL, &error) &&
            (input = g_file_read (self->file, NULL, &error)) &&
            g_input_stream_skip (G_INPUT_STREAM (input), (gssize) self->header_end, NULL, &error) >= 0)
          {
            g_output_stream_splice_async (output, G_INPUT_STREAM (input),
                                          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                          G_PRIORITY_DEFAULT, self->upload_cancellable,
                                          on_rewritten_cb, g_object_ref (self));
            g_object_set_data_full (G_OBJECT (self), "ed-tmp-stream", g_steal_pointer (&tmp_stream), g_object_unref);
            return;
          }
      }

    back_to_preview (self, error->message);
  }
}

/* Rejected rows */

static void
on_rejected_saved_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(EdImportWizard) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_file_get_basename (G_FILE (source));
  g_autofree char *text = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    text = g_strdup_printf (_("Could not save the rejected rows: %s"), error->message);
  else
    text = g_strdup_printf (_("Rejected rows saved to “%s”"), name);
  gtk_button_set_label (GTK_BUTTON (self->save_rejected_button), text);
}

void
ed_import_wizard_save_rejected_to (EdImportWizard *self,
                                   GFile          *file)
{
  GString *csv = g_string_new (NULL);
  JsonArray *rows;
  GBytes *bytes;
  static const char * const header[] = { "line", "code", "email", "reason" };

  g_return_if_fail (ED_IS_IMPORT_WIZARD (self));
  g_return_if_fail (self->report != NULL);

  ed_csv_append_row (csv, header, G_N_ELEMENTS (header), ',');
  rows = json_object_has_member (self->report, "rejected_rows")
         ? json_object_get_array_member (self->report, "rejected_rows") : NULL;
  for (guint i = 0; rows != NULL && i < json_array_get_length (rows); i++)
    {
      JsonObject *row = json_array_get_object_element (rows, i);
      g_autofree char *line = g_strdup_printf ("%" G_GINT64_FORMAT,
                                               json_object_get_int_member_with_default (row, "line", 0));
      const char *values[] = {
        line,
        json_object_get_string_member_with_default (row, "code", ""),
        json_object_get_string_member_with_default (row, "email", ""),
        json_object_get_string_member_with_default (row, "reason", ""),
      };

      ed_csv_append_row (csv, values, G_N_ELEMENTS (values), ',');
    }

  bytes = g_string_free_to_bytes (csv);
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       self->cancellable, on_rejected_saved_cb, g_object_ref (self));
  g_bytes_unref (bytes);
}

static void
on_save_chooser_response_cb (GtkNativeDialog *chooser,
                             int              response,
                             EdImportWizard  *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        ed_import_wizard_save_rejected_to (self, file);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
on_save_rejected_clicked_cb (EdImportWizard *self)
{
  GtkFileChooserNative *chooser;
  g_autofree char *base = g_file_get_basename (self->file);
  g_autofree char *stem = g_strndup (base, strcspn (base, "."));
  /* TRANSLATORS: the suggested file name for the rejected rows of FILE.csv */
  g_autofree char *name = g_strdup_printf (_("%s-rejected.csv"), stem);

  chooser = gtk_file_chooser_native_new (_("Save Rejected Rows"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", G_CALLBACK (on_save_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_back_clicked_cb (EdImportWizard *self)
{
  const char *step = gtk_stack_get_visible_child_name (self->stack);

  if (g_str_equal (step, "upload"))
    g_cancellable_cancel (self->upload_cancellable);
  else if (g_str_equal (step, "preview"))
    set_step (self, "choose");
  else
    gtk_window_close (GTK_WINDOW (self));
}

static void
on_next_clicked_cb (EdImportWizard *self)
{
  const char *step = gtk_stack_get_visible_child_name (self->stack);

  if (g_str_equal (step, "preview"))
    ed_import_wizard_start (self);
  else if (g_str_equal (step, "summary"))
    gtk_window_close (GTK_WINDOW (self));
}

static gboolean
ed_import_wizard_close_request (GtkWindow *window)
{
  EdImportWizard *self = ED_IMPORT_WIZARD (window);

  /* Closing during the upload cancels it: the daemon keeps nothing. */
  g_cancellable_cancel (self->upload_cancellable);
  g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (ed_import_wizard_parent_class)->close_request (window);
}

static void
ed_import_wizard_dispose (GObject *object)
{
  EdImportWizard *self = ED_IMPORT_WIZARD (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->upload_cancellable);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_IMPORT_WIZARD);

  G_OBJECT_CLASS (ed_import_wizard_parent_class)->dispose (object);
}

static void
ed_import_wizard_finalize (GObject *object)
{
  EdImportWizard *self = ED_IMPORT_WIZARD (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->upload_cancellable);
  g_clear_object (&self->file);
  g_clear_object (&self->rewritten);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->dropdowns, g_ptr_array_unref);
  g_clear_pointer (&self->detected, g_array_unref);
  g_clear_pointer (&self->report, json_object_unref);

  G_OBJECT_CLASS (ed_import_wizard_parent_class)->finalize (object);
}

static void
ed_import_wizard_class_init (EdImportWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = ed_import_wizard_dispose;
  object_class->finalize = ed_import_wizard_finalize;
  window_class->close_request = ed_import_wizard_close_request;

  /**
   * EdImportWizard::imported:
   * @report: the import's report (a JsonObject)
   */
  signals[IMPORTED] =
    g_signal_new ("imported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-import-wizard.ui");
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, window_title);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, back_button);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, next_button);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, stack);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, choose_error);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, preview_title);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, preview_grid);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, preview_error);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, skip_check);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, update_check);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, dry_run_check);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, upload_title);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, upload_progress);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, upload_detail);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, summary_title);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, summary_counts);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, rejected_list);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, rejected_scroller);
  gtk_widget_class_bind_template_child (widget_class, EdImportWizard, save_rejected_button);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_next_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_save_rejected_clicked_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ed_import_wizard_init (EdImportWizard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  self->dropdowns = g_ptr_array_new ();
  self->detected = g_array_new (FALSE, TRUE, sizeof (guint));
  set_step (self, "choose");
}

EdImportWizard *
ed_import_wizard_new (EdClient *client,
                      gint64    event_id)
{
  EdImportWizard *self;

  g_return_val_if_fail (ED_IS_CLIENT (client), NULL);

  self = g_object_new (ED_TYPE_IMPORT_WIZARD, NULL);
  self->client = g_object_ref (client);
  self->event_id = event_id;
  return self;
}

/* "choose", "preview", "upload" or "summary". */
const char *
ed_import_wizard_get_step (EdImportWizard *self)
{
  g_return_val_if_fail (ED_IS_IMPORT_WIZARD (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

/* "skip", "update" or "dry-run". */
void
ed_import_wizard_set_mode (EdImportWizard *self,
                           const char     *mode)
{
  g_return_if_fail (ED_IS_IMPORT_WIZARD (self));

  if (g_strcmp0 (mode, "update") == 0)
    gtk_check_button_set_active (self->update_check, TRUE);
  else if (g_strcmp0 (mode, "dry-run") == 0)
    gtk_check_button_set_active (self->dry_run_check, TRUE);
  else
    gtk_check_button_set_active (self->skip_check, TRUE);
}

/* What @column holds: "email", "first_name", "last_name", "full_name",
 * "extra" or "ignored". */
void
ed_import_wizard_set_column (EdImportWizard *self,
                             guint           column,
                             const char     *field)
{
  g_return_if_fail (ED_IS_IMPORT_WIZARD (self));
  g_return_if_fail (column < self->dropdowns->len);

  gtk_drop_down_set_selected (g_ptr_array_index (self->dropdowns, column), field_index (field));
}

JsonObject *
ed_import_wizard_get_report (EdImportWizard *self)
{
  g_return_val_if_fail (ED_IS_IMPORT_WIZARD (self), NULL);
  return self->report;
}
