/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-guests"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "ed-event-page.h"
#include "ed-guest-dialog.h"
#include "ed-guest-list-model.h"
#include "ed-guest-object.h"
#include "ed-guests-page.h"
#include "ed-import-wizard.h"

struct _EdGuestsPage
{
  EdEventPage         parent_instance;

  /* template widgets */
  AdwToastOverlay    *toast_overlay;
  GtkSearchEntry     *search_entry;
  GtkDropDown        *status_dropdown;
  GtkRevealer        *export_revealer;
  GtkLabel           *export_label;
  GtkProgressBar     *export_progress;
  GtkStack           *stack;
  GtkColumnView      *column_view;
  GtkColumnViewColumn *name_column;
  GtkColumnViewColumn *email_column;
  GtkLabel           *count_label;

  /* owned */
  EdGuestListModel   *model;
  GtkMultiSelection  *selection;
  GCancellable       *cancellable;        /* cancelled on dispose */
  GCancellable       *export_cancellable;
  EdGuestObject      *probes[2];          /* see read_sort() */

  const char         *probed_sort;
  guint               bulk_running : 1;
};

G_DEFINE_FINAL_TYPE (EdGuestsPage, ed_guests_page, ED_TYPE_EVENT_PAGE)

/* The status filter's entries, in the order of the drop-down. */
static const char * const filter_statuses[] = {
  NULL, "pending", "accepted", "declined", "waitlisted", "cancelled",
};

static void
show_toast (EdGuestsPage *self,
            const char   *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static guint
count_selected (EdGuestsPage *self)
{
  g_autoptr(GtkBitset) selected = NULL;

  if (self->selection == NULL)
    return 0;
  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  return (guint) MIN (gtk_bitset_get_size (selected), G_MAXUINT);
}

static void
update_actions (EdGuestsPage *self)
{
  gboolean ready = self->model != NULL;
  gboolean exporting = self->export_cancellable != NULL;
  guint n_selected = count_selected (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.search", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.new", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.import", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.export", ready && !exporting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.delete",
                                 ready && n_selected > 0 && !self->bulk_running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.set-status",
                                 ready && n_selected > 0 && !self->bulk_running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "guests.resend",
                                 ready && n_selected > 0 && !self->bulk_running);
}

static void
update_count (EdGuestsPage *self)
{
  g_autofree char *text = NULL;
  guint n_items = self->model ? g_list_model_get_n_items (G_LIST_MODEL (self->model)) : 0;
  guint n_selected = count_selected (self);

  if (n_selected > 0)
    /* TRANSLATORS: %u selected guests of %u shown */
    text = g_strdup_printf (ngettext ("%u of %u guest selected", "%u of %u guests selected", n_items),
                            n_selected, n_items);
  else
    text = g_strdup_printf (ngettext ("%u guest", "%u guests", n_items), n_items);
  gtk_label_set_label (self->count_label, text);
}

static void
update_stack (EdGuestsPage *self)
{
  const char *name = "list";

  if (self->model != NULL && !ed_guest_list_model_get_loading (self->model) &&
      g_list_model_get_n_items (G_LIST_MODEL (self->model)) == 0)
    {
      if (ed_guest_list_model_get_query (self->model) != NULL ||
          ed_guest_list_model_get_status (self->model) != NULL)
        name = "no-results";
      else
        name = "empty";
    }
  gtk_stack_set_visible_child_name (self->stack, name);
}

static void
on_model_changed_cb (EdGuestsPage *self)
{
  update_stack (self);
  update_count (self);
  update_actions (self);
}

static void
on_model_failed_cb (EdGuestsPage     *self,
                    GError           *error,
                    EdGuestListModel *model)
{
  g_autofree char *title = g_strdup_printf (_("Could not load guests: %s"), error->message);

  show_toast (self, title);
}

static void
on_selection_changed_cb (EdGuestsPage *self)
{
  update_count (self);
  update_actions (self);
}

/* The cells. GTK 4.8's list view keeps about 200 rows of widgets around
 * what is shown, whatever the window's height, so each of the 1,200 cells
 * of the guest list is made once with plain setup code (no builder
 * template per cell) and a bind only sets its text: no expression watches
 * per cell, and a page that arrives rebinds its rows once.
 */
static GtkWidget *
new_inscription (float xalign)
{
  GtkWidget *inscription = gtk_inscription_new (NULL);

  gtk_inscription_set_xalign (GTK_INSCRIPTION (inscription), xalign);
  gtk_inscription_set_text_overflow (GTK_INSCRIPTION (inscription), GTK_INSCRIPTION_OVERFLOW_ELLIPSIZE_END);
  return inscription;
}

static void
on_text_cell_setup_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       EdGuestsPage             *self)
{
  gtk_list_item_set_child (item, new_inscription (0));
}

static void
on_number_cell_setup_cb (GtkSignalListItemFactory *factory,
                         GtkListItem              *item,
                         EdGuestsPage             *self)
{
  gtk_list_item_set_child (item, new_inscription (1));
}

static void
on_badge_cell_setup_cb (GtkSignalListItemFactory *factory,
                        GtkListItem              *item,
                        EdGuestsPage             *self)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_halign (label, GTK_ALIGN_START);
  gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
set_cell_text (GtkListItem *item,
               const char  *text)
{
  gtk_inscription_set_text (GTK_INSCRIPTION (gtk_list_item_get_child (item)), text);
}

/* A badge: its label, and the classes "badge" and @prefix@value that
 * colour it; nothing for a row not there yet. */
static void
set_cell_badge (GtkListItem *item,
                const char  *prefix,
                const char  *value,
                const char  *label)
{
  GtkWidget *child = gtk_list_item_get_child (item);
  g_autofree char *name = NULL;

  gtk_label_set_label (GTK_LABEL (child), label);
  if (value == NULL || *value == '\0')
    {
      gtk_widget_set_css_classes (child, NULL);
      return;
    }

  name = g_strconcat (prefix, value, NULL);
  gtk_widget_set_css_classes (child, (const char *[]) { "badge", name, NULL });
}

static void
on_name_cell_bind_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      EdGuestsPage             *self)
{
  set_cell_text (item, ed_guest_object_get_name (gtk_list_item_get_item (item)));
}

static void
on_email_cell_bind_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       EdGuestsPage             *self)
{
  set_cell_text (item, ed_guest_object_get_email (gtk_list_item_get_item (item)));
}

static void
on_party_cell_bind_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       EdGuestsPage             *self)
{
  EdGuestObject *guest = gtk_list_item_get_item (item);
  char text[16] = "";

  if (ed_guest_object_get_loaded (guest))
    g_snprintf (text, sizeof text, "%u", ed_guest_object_get_party_size (guest));
  set_cell_text (item, text);
}

static void
on_answered_cell_bind_cb (GtkSignalListItemFactory *factory,
                          GtkListItem              *item,
                          EdGuestsPage             *self)
{
  set_cell_text (item, ed_guest_object_get_responded_label (gtk_list_item_get_item (item)));
}

static void
on_status_cell_bind_cb (GtkSignalListItemFactory *factory,
                        GtkListItem              *item,
                        EdGuestsPage             *self)
{
  EdGuestObject *guest = gtk_list_item_get_item (item);

  set_cell_badge (item, "status-", ed_guest_object_get_status (guest),
                  ed_guest_object_get_status_label (guest));
}

static void
on_delivery_cell_bind_cb (GtkSignalListItemFactory *factory,
                          GtkListItem              *item,
                          EdGuestsPage             *self)
{
  EdGuestObject *guest = gtk_list_item_get_item (item);

  set_cell_badge (item, "delivery-", ed_guest_object_get_last_delivery (guest),
                  ed_guest_object_get_last_delivery_label (guest));
}

/* GTK 4.8 has no API for the column a GtkColumnView sorts by. Each sortable
 * column gets a sorter that only records its API order when asked to
 * compare; comparing two rows with the view's sorter then asks the
 * primary column, and the view inverts its answer for descending order.
 */
static int
probe_compare (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  EdGuestsPage *self = g_object_get_data (G_OBJECT (a), "ed-guests-page");

  if (self != NULL)
    self->probed_sort = user_data;
  return GTK_ORDERING_SMALLER;
}

static char *
read_sort (EdGuestsPage *self)
{
  GtkSorter *sorter = gtk_column_view_get_sorter (self->column_view);
  GtkOrdering order;

  self->probed_sort = NULL;
  order = gtk_sorter_compare (sorter, self->probes[0], self->probes[1]);
  if (self->probed_sort == NULL)
    return NULL;
  return order == GTK_ORDERING_LARGER ? g_strconcat ("-", self->probed_sort, NULL)
                                      : g_strdup (self->probed_sort);
}

static void
on_sorter_changed_cb (EdGuestsPage *self)
{
  g_autofree char *sort = read_sort (self);

  if (self->model != NULL)
    ed_guest_list_model_set_sort (self->model, sort);
}

static void
on_search_entry_search_changed_cb (EdGuestsPage *self)
{
  g_autofree char *query = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry))));

  if (self->model != NULL)
    ed_guest_list_model_set_query (self->model, query);
}

static void
on_status_dropdown_selected_cb (EdGuestsPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->status_dropdown);

  if (self->model != NULL && selected < G_N_ELEMENTS (filter_statuses))
    ed_guest_list_model_set_status (self->model, filter_statuses[selected]);
}

static void
reload (EdGuestsPage *self)
{
  if (self->model != NULL)
    ed_guest_list_model_reload (self->model);
}

static void
on_dialog_saved_cb (EdGuestsPage *self)
{
  reload (self);
}

static void
open_guest_dialog (EdGuestsPage *self,
                   JsonObject   *guest)
{
  EdGuestDialog *dialog = ed_guest_dialog_new (ed_event_page_get_client (ED_EVENT_PAGE (self)),
                                               ed_event_page_get_event_id (ED_EVENT_PAGE (self)), guest);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (root));
  g_signal_connect_object (dialog, "saved", G_CALLBACK (on_dialog_saved_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_column_view_activate_cb (EdGuestsPage *self,
                            guint         position)
{
  g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (self->model), position);

  if (guest != NULL && ed_guest_object_get_loaded (guest))
    open_guest_dialog (self, ed_guest_object_get_json (guest));
}

/* Export */

static void
on_export_progress_cb (goffset  done,
                       goffset  total,
                       gpointer user_data)
{
  EdGuestsPage *self = user_data;
  g_autofree char *size = g_format_size ((guint64) done);
  g_autofree char *text = g_strdup_printf (_("Exporting… %s"), size);

  gtk_label_set_label (self->export_label, text);
  if (total > 0)
    gtk_progress_bar_set_fraction (self->export_progress, (double) done / (double) total);
  else
    gtk_progress_bar_pulse (self->export_progress);
}

typedef struct
{
  EdGuestsPage *self;
  GFile        *file;
} ExportData;

static void
on_export_finished_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  ExportData *data = user_data;
  g_autoptr(EdGuestsPage) self = data->self;
  g_autoptr(GFile) file = data->file;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  g_free (data);
  g_clear_object (&self->export_cancellable);
  gtk_revealer_set_reveal_child (self->export_revealer, FALSE);
  update_actions (self);

  if (!ed_client_download_finish (ED_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        title = g_strdup (_("Export cancelled"));
      else
        title = g_strdup_printf (_("Could not export the guests: %s"), error->message);
    }
  else
    {
      g_autofree char *name = g_file_get_basename (file);

      title = g_strdup_printf (_("Guests exported to “%s”"), name);
    }
  show_toast (self, title);
}

void
ed_guests_page_export_to (EdGuestsPage *self,
                          GFile        *file)
{
  g_autofree char *events_path = NULL;
  g_autofree char *path = NULL;
  ExportData *data;

  g_return_if_fail (ED_IS_GUESTS_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (self->model != NULL);
  g_return_if_fail (self->export_cancellable == NULL);

  events_path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests.csv",
                                 ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  path = ed_client_build_path (events_path,
                               "q", ed_guest_list_model_get_query (self->model),
                               "status", ed_guest_list_model_get_status (self->model),
                               "sort", ed_guest_list_model_get_sort (self->model),
                               NULL);

  self->export_cancellable = g_cancellable_new ();
  gtk_label_set_label (self->export_label, _("Exporting…"));
  gtk_progress_bar_set_fraction (self->export_progress, 0);
  gtk_revealer_set_reveal_child (self->export_revealer, TRUE);
  update_actions (self);

  data = g_new0 (ExportData, 1);
  data->self = g_object_ref (self);
  data->file = g_object_ref (file);
  ed_client_download_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), path, file,
                            on_export_progress_cb, self, NULL,
                            self->export_cancellable, on_export_finished_cb, data);
}

static void
on_export_cancel_clicked_cb (EdGuestsPage *self)
{
  g_cancellable_cancel (self->export_cancellable);
}

static void
on_export_chooser_response_cb (GtkNativeDialog *chooser,
                               int              response,
                               EdGuestsPage    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL && self->export_cancellable == NULL)
        ed_guests_page_export_to (self, file);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *name = g_strdup_printf ("event-%" G_GINT64_FORMAT "-guests.csv",
                                           ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Export Guests"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Bulk actions: one request per selected guest, one after the other, so
 * the daemon serves others in between; the list reloads once at the end. */

typedef struct
{
  EdGuestsPage *self;
  GArray       *ids;
  guint         next;
  guint         n_done;
  guint         n_failed;
  char         *method;
  JsonNode     *body;
  char         *first_error;
  gboolean      deleting;
} Bulk;

static void
bulk_free (Bulk *bulk)
{
  g_clear_object (&bulk->self);
  g_clear_pointer (&bulk->ids, g_array_unref);
  g_clear_pointer (&bulk->method, g_free);
  g_clear_pointer (&bulk->body, json_node_unref);
  g_clear_pointer (&bulk->first_error, g_free);
  g_free (bulk);
}

static void bulk_step (Bulk *bulk);

static void
on_bulk_call_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Bulk *bulk = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ed_client_call_finish (ED_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      bulk_free (bulk);
      return;
    }
  if (error != NULL)
    {
      bulk->n_failed++;
      if (bulk->first_error == NULL)
        bulk->first_error = g_strdup (error->message);
    }
  else
    bulk->n_done++;

  bulk_step (bulk);
}

static void
bulk_step (Bulk *bulk)
{
  EdGuestsPage *self = bulk->self;
  g_autofree char *path = NULL;
  g_autofree char *title = NULL;
  g_autofree char *done = NULL;

  if (bulk->next < bulk->ids->len)
    {
      path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT,
                              g_array_index (bulk->ids, gint64, bulk->next++));
      ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), bulk->method, path, bulk->body,
                            self->cancellable, on_bulk_call_cb, bulk);
      return;
    }

  self->bulk_running = FALSE;
  if (bulk->deleting)
    done = g_strdup_printf (ngettext ("%u guest deleted", "%u guests deleted", bulk->n_done), bulk->n_done);
  else
    done = g_strdup_printf (ngettext ("%u answer changed", "%u answers changed", bulk->n_done), bulk->n_done);
  if (bulk->n_failed > 0)
    /* TRANSLATORS: the first %s is e.g. "3 guests deleted", the last the server's reason */
    title = g_strdup_printf (ngettext ("%s; %u guest was not changed: %s",
                                       "%s; %u guests were not changed: %s", bulk->n_failed),
                             done, bulk->n_failed, bulk->first_error);
  else
    title = g_steal_pointer (&done);
  show_toast (self, title);
  if (self->selection != NULL)
    gtk_selection_model_unselect_all (GTK_SELECTION_MODEL (self->selection));
  reload (self);
  update_actions (self);
  bulk_free (bulk);
}

/* The ids of the selected rows that have arrived; @n_missing counts the
 * selected rows not there yet, which bulk actions leave alone. */
static GArray *
selected_ids (EdGuestsPage *self,
              guint        *n_missing)
{
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GtkBitsetIter iter;
  guint position;

  *n_missing = 0;
  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position); ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      if (ed_guest_list_model_is_loaded (self->model, position))
        {
          g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (self->model), position);
          gint64 id = ed_guest_object_get_id (guest);

          g_array_append_val (ids, id);
        }
      else
        (*n_missing)++;
    }
  return ids;
}

static void
start_bulk (EdGuestsPage *self,
            GArray       *ids,
            const char   *method,
            JsonNode     *body)
{
  Bulk *bulk = g_new0 (Bulk, 1);

  bulk->self = g_object_ref (self);
  bulk->ids = g_array_ref (ids);
  bulk->method = g_strdup (method);
  bulk->body = body ? json_node_ref (body) : NULL;
  bulk->deleting = g_str_equal (method, "DELETE");
  self->bulk_running = TRUE;
  update_actions (self);
  bulk_step (bulk);
}

static void
on_delete_response_cb (AdwMessageDialog *dialog,
                       const char       *response,
                       EdGuestsPage     *self)
{
  GArray *ids = g_object_get_data (G_OBJECT (dialog), "ed-ids");

  if (g_strcmp0 (response, "delete") == 0 && ids != NULL && !self->bulk_running)
    start_bulk (self, ids, "DELETE", NULL);
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(GArray) ids = NULL;
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;
  guint n_missing;

  ids = selected_ids (self, &n_missing);
  if (ids->len == 0)
    {
      show_toast (self, _("The selected guests have not arrived yet; scroll to them first"));
      return;
    }

  heading = g_strdup_printf (ngettext ("Delete %u Guest?", "Delete %u Guests?", ids->len), ids->len);
  if (n_missing > 0)
    body = g_strdup_printf (ngettext ("Their answers and history go with them. %u selected guest has not arrived yet and stays.",
                                      "Their answers and history go with them. %u selected guests have not arrived yet and stay.",
                                      n_missing), n_missing);
  else
    body = g_strdup (_("Their answers and history go with them. This cannot be undone."));

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                       heading, body));
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "ed-ids", g_array_ref (ids), (GDestroyNotify) g_array_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
set_status_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (widget);
  const char *status = g_variant_get_string (parameter, NULL);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(GArray) ids = NULL;
  guint n_missing;

  ids = selected_ids (self, &n_missing);
  if (ids->len == 0)
    {
      show_toast (self, _("The selected guests have not arrived yet; scroll to them first"));
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, status);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  start_bulk (self, ids, "PATCH", body);
}

/* Resend invitation: the event's invitation queued again for the
 * selected guests, in requests of at most MAX_RESEND_IDS of them. */

#define MAX_RESEND_IDS 1000

typedef struct
{
  EdGuestsPage *self;
  GArray       *ids;
  guint         next;
  guint         n_missing;       /* selected, not arrived: left out */
  guint         n_queued;
  guint         n_waiting;
  guint         n_unsubscribed;
} Resend;

static void
resend_free (Resend *resend)
{
  g_clear_object (&resend->self);
  g_clear_pointer (&resend->ids, g_array_unref);
  g_free (resend);
}

static void resend_step (Resend *resend);

static void
finish_resend (Resend       *resend,
               const GError *error)
{
  EdGuestsPage *self = resend->self;
  g_autoptr(GString) title = g_string_new (NULL);

  self->bulk_running = FALSE;
  if (resend->n_queued > 0 || error == NULL)
    g_string_append_printf (title, ngettext ("Invitation queued for %u guest", "Invitation queued for %u guests",
                                             resend->n_queued), resend->n_queued);
  if (resend->n_waiting > 0)
    /* TRANSLATORS: follows "Invitation queued for 3 guests" */
    g_string_append_printf (title, ngettext ("; %u still on its way", "; %u still on their way",
                                             resend->n_waiting), resend->n_waiting);
  if (resend->n_unsubscribed > 0)
    /* TRANSLATORS: follows "Invitation queued for 3 guests" */
    g_string_append_printf (title, ngettext ("; %u unsubscribed guest left out", "; %u unsubscribed guests left out",
                                             resend->n_unsubscribed), resend->n_unsubscribed);
  if (resend->n_missing > 0)
    /* TRANSLATORS: follows "Invitation queued for 3 guests" */
    g_string_append_printf (title, ngettext ("; %u selected guest had not arrived yet and was left out",
                                             "; %u selected guests had not arrived yet and were left out",
                                             resend->n_missing), resend->n_missing);
  if (error != NULL)
    {
      if (title->len > 0)
        g_string_append (title, "; ");
      if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_CONFLICT))
        g_string_append (title, _("This event’s invitation has not been sent yet: launch an invitation campaign first"));
      else
        g_string_append_printf (title, _("Could not resend the invitation: %s"), error->message);
    }
  show_toast (self, title->str);

  if (resend->n_queued > 0)
    {
      if (self->selection != NULL)
        gtk_selection_model_unselect_all (GTK_SELECTION_MODEL (self->selection));
      /* Their last delivery is now the queued invitation. */
      reload (self);
    }
  update_actions (self);
  resend_free (resend);
}

static void
on_resend_call_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Resend *resend = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  reply = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      resend_free (resend);
      return;
    }
  if (error != NULL)
    {
      finish_resend (resend, error);
      return;
    }

  if (JSON_NODE_HOLDS_OBJECT (reply))
    {
      object = json_node_get_object (reply);
      resend->n_queued += (guint) json_object_get_int_member_with_default (object, "queued", 0);
      resend->n_waiting += (guint) json_object_get_int_member_with_default (object, "waiting", 0);
      resend->n_unsubscribed += (guint) json_object_get_int_member_with_default (object, "unsubscribed", 0);
    }
  resend_step (resend);
}

static void
resend_step (Resend *resend)
{
  EdGuestsPage *self = resend->self;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *path = NULL;
  guint end;

  if (resend->next >= resend->ids->len)
    {
      finish_resend (resend, NULL);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "guest_ids");
  json_builder_begin_array (builder);
  end = MIN (resend->ids->len, resend->next + MAX_RESEND_IDS);
  for (; resend->next < end; resend->next++)
    json_builder_add_int_value (builder, g_array_index (resend->ids, gint64, resend->next));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/invitations",
                          ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "POST", path, body,
                        self->cancellable, on_resend_call_cb, resend);
}

static void
resend_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (widget);
  Resend *resend;

  resend = g_new0 (Resend, 1);
  resend->ids = selected_ids (self, &resend->n_missing);
  if (resend->ids->len == 0)
    {
      resend_free (resend);
      show_toast (self, _("The selected guests have not arrived yet; scroll to them first"));
      return;
    }

  resend->self = g_object_ref (self);
  self->bulk_running = TRUE;
  update_actions (self);
  resend_step (resend);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (widget);

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
  gtk_editable_select_region (GTK_EDITABLE (self->search_entry), 0, -1);
}

static void
new_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  open_guest_dialog (ED_GUESTS_PAGE (widget), NULL);
}

static void
on_wizard_imported_cb (EdGuestsPage *self)
{
  reload (self);
}

static void
import_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (widget);
  EdImportWizard *wizard = ed_import_wizard_new (ed_event_page_get_client (ED_EVENT_PAGE (self)),
                                                 ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  GtkRoot *root = gtk_widget_get_root (widget);

  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (wizard), GTK_WINDOW (root));
  g_signal_connect_object (wizard, "imported", G_CALLBACK (on_wizard_imported_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (wizard));
}

static void
rebuild_model (EdGuestsPage *self)
{
  g_autofree char *query = NULL;
  g_autofree char *sort = NULL;
  guint status;

  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  gtk_column_view_set_model (self->column_view, NULL);
  g_clear_object (&self->selection);
  g_clear_object (&self->model);

  if (ed_event_page_has_event (ED_EVENT_PAGE (self)))
    {
      /* The new model starts with the page's search, filter and order. */
      query = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry))));
      sort = read_sort (self);
      status = gtk_drop_down_get_selected (self->status_dropdown);
      self->model = g_object_new (ED_TYPE_GUEST_LIST_MODEL,
                                  "client", ed_event_page_get_client (ED_EVENT_PAGE (self)),
                                  "event-id", ed_event_page_get_event_id (ED_EVENT_PAGE (self)),
                                  "query", query,
                                  "sort", sort,
                                  "status", status < G_N_ELEMENTS (filter_statuses) ? filter_statuses[status] : NULL,
                                  NULL);
      g_signal_connect_object (self->model, "items-changed", G_CALLBACK (on_model_changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->model, "notify::loading", G_CALLBACK (on_model_changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->model, "failed", G_CALLBACK (on_model_failed_cb), self, G_CONNECT_SWAPPED);
      self->selection = gtk_multi_selection_new (G_LIST_MODEL (g_object_ref (self->model)));
      g_signal_connect_object (self->selection, "selection-changed", G_CALLBACK (on_selection_changed_cb),
                               self, G_CONNECT_SWAPPED);
      gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
    }

  on_model_changed_cb (self);
}

/* EdEventPage */

static void
ed_guests_page_event_changed (EdEventPage *page)
{
  rebuild_model (ED_GUESTS_PAGE (page));
}

static void
ed_guests_page_dispose (GObject *object)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->export_cancellable);
  if (self->column_view != NULL)
    {
      g_signal_handlers_disconnect_by_data (gtk_column_view_get_sorter (self->column_view), self);
      gtk_column_view_set_model (self->column_view, NULL);
    }
  g_clear_object (&self->selection);
  g_clear_object (&self->model);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_GUESTS_PAGE);

  G_OBJECT_CLASS (ed_guests_page_parent_class)->dispose (object);
}

static void
ed_guests_page_finalize (GObject *object)
{
  EdGuestsPage *self = ED_GUESTS_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->export_cancellable);
  g_clear_object (&self->probes[0]);
  g_clear_object (&self->probes[1]);

  G_OBJECT_CLASS (ed_guests_page_parent_class)->finalize (object);
}

static void
ed_guests_page_class_init (EdGuestsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  EdEventPageClass *page_class = ED_EVENT_PAGE_CLASS (klass);

  object_class->dispose = ed_guests_page_dispose;
  object_class->finalize = ed_guests_page_finalize;
  page_class->event_changed = ed_guests_page_event_changed;

  g_type_ensure (ED_TYPE_GUEST_OBJECT);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-guests-page.ui");
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, status_dropdown);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, export_revealer);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, export_label);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, export_progress);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, column_view);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, name_column);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, email_column);
  gtk_widget_class_bind_template_child (widget_class, EdGuestsPage, count_label);
  gtk_widget_class_bind_template_callback (widget_class, on_search_entry_search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_status_dropdown_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_column_view_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_export_cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_text_cell_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_number_cell_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_badge_cell_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_name_cell_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_email_cell_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_party_cell_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_answered_cell_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_status_cell_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_delivery_cell_bind_cb);

  gtk_widget_class_install_action (widget_class, "guests.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "guests.new", NULL, new_action);
  gtk_widget_class_install_action (widget_class, "guests.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "guests.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "guests.delete", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "guests.resend", NULL, resend_action);
  gtk_widget_class_install_action (widget_class, "guests.set-status", "s", set_status_action);

  gtk_widget_class_set_css_name (widget_class, "guestspage");
}

static void
ed_guests_page_init (EdGuestsPage *self)
{
  g_autoptr(GtkSorter) name_sorter = NULL;
  g_autoptr(GtkSorter) email_sorter = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  /* Two objects: a sorter finds any object equal to itself. */
  for (guint i = 0; i < G_N_ELEMENTS (self->probes); i++)
    {
      self->probes[i] = ed_guest_object_new_placeholder ();
      g_object_set_data (G_OBJECT (self->probes[i]), "ed-guests-page", self);
    }

  /* the columns take their own references */
  name_sorter = GTK_SORTER (gtk_custom_sorter_new (probe_compare, (gpointer) "name", NULL));
  email_sorter = GTK_SORTER (gtk_custom_sorter_new (probe_compare, (gpointer) "email", NULL));
  gtk_column_view_column_set_sorter (self->name_column, name_sorter);
  gtk_column_view_column_set_sorter (self->email_column, email_sorter);
  g_signal_connect_object (gtk_column_view_get_sorter (self->column_view), "changed",
                           G_CALLBACK (on_sorter_changed_cb), self, G_CONNECT_SWAPPED);

  on_model_changed_cb (self);
}

GtkWidget *
ed_guests_page_new (void)
{
  return g_object_new (ED_TYPE_GUESTS_PAGE, NULL);
}

EdGuestListModel *
ed_guests_page_get_model (EdGuestsPage *self)
{
  g_return_val_if_fail (ED_IS_GUESTS_PAGE (self), NULL);
  return self->model;
}

GtkColumnView *
ed_guests_page_get_column_view (EdGuestsPage *self)
{
  g_return_val_if_fail (ED_IS_GUESTS_PAGE (self), NULL);
  return self->column_view;
}

gboolean
ed_guests_page_get_exporting (EdGuestsPage *self)
{
  g_return_val_if_fail (ED_IS_GUESTS_PAGE (self), FALSE);
  return self->export_cancellable != NULL;
}
