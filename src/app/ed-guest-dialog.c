/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-guests"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-guest-dialog.h"
#include "ed-guest-object.h"

struct _EdGuestDialog
{
  AdwWindow          parent_instance;

  /* template widgets */
  AdwWindowTitle    *window_title;
  GtkWidget         *save_button;
  GtkSpinner        *spinner;
  GtkLabel          *general_error;
  AdwEntryRow       *email_row;
  GtkLabel          *email_error;
  AdwEntryRow       *first_name_row;
  GtkLabel          *first_name_error;
  AdwEntryRow       *last_name_row;
  GtkLabel          *last_name_error;
  GtkWidget         *answer_group;
  AdwComboRow       *status_row;
  GtkSpinButton     *party_spin;
  GtkLabel          *status_error;
  AdwPreferencesGroup *history_group;
  AdwPreferencesGroup *deliveries_group;

  /* owned */
  EdClient          *client;
  JsonObject        *guest;        /* NULL when adding */
  GCancellable      *cancellable;  /* cancelled when the dialog closes */

  gint64             event_id;
  guint              n_history_rows;
  guint              busy : 1;
};

enum {
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdGuestDialog, ed_guest_dialog, ADW_TYPE_WINDOW)

/* The answer's choices, in the order of the combo row. */
static const char * const statuses[] = {
  "pending", "accepted", "declined", "waitlisted", "cancelled",
};

static const char *
json_string (JsonObject *object,
             const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static GtkLabel *
error_label_for (EdGuestDialog *self,
                 const char    *field)
{
  if (g_strcmp0 (field, "email") == 0)
    return self->email_error;
  if (g_strcmp0 (field, "first_name") == 0)
    return self->first_name_error;
  if (g_strcmp0 (field, "last_name") == 0)
    return self->last_name_error;
  if (g_strcmp0 (field, "status") == 0 || g_strcmp0 (field, "party_size") == 0)
    return self->status_error;
  return NULL;
}

static AdwEntryRow *
entry_row_for (EdGuestDialog *self,
               const char    *field)
{
  if (g_strcmp0 (field, "email") == 0)
    return self->email_row;
  if (g_strcmp0 (field, "first_name") == 0)
    return self->first_name_row;
  if (g_strcmp0 (field, "last_name") == 0)
    return self->last_name_row;
  return NULL;
}

static void
show_error (GtkLabel   *label,
            const char *message)
{
  gtk_label_set_label (label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
}

static void
clear_errors (EdGuestDialog *self)
{
  static const char * const fields[] = { "email", "first_name", "last_name" };

  show_error (self->general_error, NULL);
  show_error (self->status_error, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      show_error (error_label_for (self, fields[i]), NULL);
      gtk_widget_remove_css_class (GTK_WIDGET (entry_row_for (self, fields[i])), "error");
    }
}

/* The server's message for a field, with the field's name in front as the
 * API words it ("email is not a valid address…" → "Is not a valid…"). */
static void
show_field_error (EdGuestDialog *self,
                  const char    *field,
                  const char    *message)
{
  GtkLabel *label = error_label_for (self, field);
  AdwEntryRow *row = entry_row_for (self, field);
  g_autofree char *text = NULL;

  if (label == NULL)
    {
      text = g_strdup_printf ("%s: %s", field, message);
      show_error (self->general_error, text);
      return;
    }

  /* The API words it after the field's name: "email is not valid…". */
  if (row != NULL)
    text = g_strdup_printf ("%s %s", adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), message);
  else
    text = g_strdup (message);
  if (text[0] != '\0')
    text[0] = g_ascii_toupper (text[0]);
  show_error (label, text);
  if (row != NULL)
    {
      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      gtk_widget_grab_focus (GTK_WIDGET (row));
    }
}

static void
set_busy (EdGuestDialog *self,
          gboolean       busy)
{
  self->busy = busy;
  gtk_widget_set_sensitive (self->save_button, !busy);
  gtk_spinner_set_spinning (self->spinner, busy);
}

static void
on_save_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(EdGuestDialog) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) fields = NULL;

  reply = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);

  if (error != NULL)
    {
      /* Everything typed stays; the messages go next to their fields. */
      fields = ed_client_call_dup_error_fields (ED_CLIENT (source), result);
      if (fields != NULL && g_hash_table_size (fields) > 0)
        {
          GHashTableIter iter;
          gpointer key, value;

          g_hash_table_iter_init (&iter, fields);
          while (g_hash_table_iter_next (&iter, &key, &value))
            show_field_error (self, key, value);
        }
      else if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_CONFLICT))
        show_field_error (self, strstr (error->message, "email") ? "email" : "status", error->message);
      else
        show_error (self->general_error, error->message);
      return;
    }

  if (reply != NULL && JSON_NODE_HOLDS_OBJECT (reply))
    g_signal_emit (self, signals[SAVED], 0, json_node_get_object (reply));
  gtk_window_close (GTK_WINDOW (self));
}

static void
add_changed_string (JsonBuilder *builder,
                    JsonObject  *guest,
                    const char  *member,
                    AdwEntryRow *row)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));
  const char *old = json_string (guest, member);

  if (guest != NULL && g_strcmp0 (old ? old : "", text) == 0)
    return;
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, text);
}

void
ed_guest_dialog_save (EdGuestDialog *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (ED_IS_GUEST_DIALOG (self));

  if (self->busy)
    return;
  clear_errors (self);

  json_builder_begin_object (builder);
  add_changed_string (builder, self->guest, "email", self->email_row);
  add_changed_string (builder, self->guest, "first_name", self->first_name_row);
  add_changed_string (builder, self->guest, "last_name", self->last_name_row);
  if (self->guest != NULL)
    {
      guint selected = adw_combo_row_get_selected (self->status_row);
      int party_size = gtk_spin_button_get_value_as_int (self->party_spin);

      if (selected < G_N_ELEMENTS (statuses) &&
          g_strcmp0 (statuses[selected], json_string (self->guest, "status")) != 0)
        {
          json_builder_set_member_name (builder, "status");
          json_builder_add_string_value (builder, statuses[selected]);
        }
      if (party_size != json_object_get_int_member_with_default (self->guest, "party_size", 1))
        {
          json_builder_set_member_name (builder, "party_size");
          json_builder_add_int_value (builder, party_size);
        }
      path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT,
                              json_object_get_int_member (self->guest, "id"));
    }
  else
    path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests", self->event_id);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  set_busy (self, TRUE);
  ed_client_call_async (self->client, self->guest ? "PATCH" : "POST", path, body,
                        self->cancellable, on_save_cb, g_object_ref (self));
}

static void
on_save_clicked_cb (EdGuestDialog *self)
{
  ed_guest_dialog_save (self);
}

static void
on_entry_activated_cb (EdGuestDialog *self)
{
  ed_guest_dialog_save (self);
}

static void
add_row (EdGuestDialog       *self,
         AdwPreferencesGroup *group,
         const char          *title,
         const char          *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_group_add (group, row);
}

static const char *
describe_source (const char *source)
{
  if (g_strcmp0 (source, "guest") == 0)
    return _("by the guest");
  if (g_strcmp0 (source, "admin") == 0)
    return _("by an organizer");
  if (g_strcmp0 (source, "system") == 0)
    return _("from the waiting list");
  return source ? source : "";
}

static const char *
describe_kind (const char *kind)
{
  if (g_strcmp0 (kind, "invitation") == 0)
    return _("Invitation");
  if (g_strcmp0 (kind, "reminder") == 0)
    return _("Reminder");
  if (g_strcmp0 (kind, "update") == 0)
    return _("Update");
  if (g_strcmp0 (kind, "waitlist_promotion") == 0)
    return _("Seat from the waiting list");
  if (g_strcmp0 (kind, "confirmation") == 0)
    return _("Confirmation");
  return kind ? kind : _("Message");
}

static JsonArray *
reply_items (JsonNode *reply)
{
  JsonObject *object;

  if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply))
    return NULL;
  object = json_node_get_object (reply);
  if (!json_object_has_member (object, "items"))
    return NULL;
  return json_object_get_array_member (object, "items");
}

static void
on_history_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(EdGuestDialog) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *items;

  reply = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL || !(items = reply_items (reply)))
    {
      add_row (self, self->history_group, _("The history could not be loaded"),
               error ? error->message : NULL);
      return;
    }

  if (json_array_get_length (items) == 0)
    add_row (self, self->history_group, _("No answers yet"), NULL);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *change = json_array_get_object_element (items, i);
      g_autofree char *title = NULL;
      g_autofree char *when = ed_guest_format_time (json_string (change, "at"));
      g_autofree char *subtitle = NULL;
      const char *old_status = json_string (change, "old_status");
      gint64 party = json_object_get_int_member_with_default (change, "party_size", 1);

      if (old_status != NULL)
        /* TRANSLATORS: an answer's change, e.g. "Pending → Accepted, party of 2" */
        title = g_strdup_printf (ngettext ("%s → %s, party of %d", "%s → %s, party of %d", (gulong) party),
                                 ed_guest_status_to_label (old_status),
                                 ed_guest_status_to_label (json_string (change, "new_status")), (int) party);
      else
        title = g_strdup_printf (ngettext ("%s, party of %d", "%s, party of %d", (gulong) party),
                                 ed_guest_status_to_label (json_string (change, "new_status")), (int) party);
      /* TRANSLATORS: when and by whom, e.g. "2026-12-01 18:00, by the guest" */
      subtitle = g_strdup_printf (_("%s, %s"), when, describe_source (json_string (change, "source")));
      add_row (self, self->history_group, title, subtitle);
      self->n_history_rows++;
    }
}

static void
on_deliveries_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(EdGuestDialog) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *items;

  reply = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Servers before the delivery log answer 404. */
  if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_NOT_FOUND))
    {
      add_row (self, self->deliveries_group, _("This server keeps no delivery log"), NULL);
      return;
    }
  if (error != NULL || !(items = reply_items (reply)))
    {
      add_row (self, self->deliveries_group, _("The delivery log could not be loaded"),
               error ? error->message : NULL);
      return;
    }

  if (json_array_get_length (items) == 0)
    add_row (self, self->deliveries_group, _("Nothing sent to this guest yet"), NULL);
  /* Newest first: each message with its state and last SMTP reply. */
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *message = json_array_get_object_element (items, i);
      const char *sent_at = json_string (message, "sent_at");
      const char *last_text = json_string (message, "last_text");
      g_autofree char *when = ed_guest_format_time (sent_at ? sent_at : json_string (message, "created_at"));
      g_autofree char *title = NULL;
      g_autofree char *subtitle = NULL;

      /* TRANSLATORS: a message to the guest: its kind and its state, e.g. "Invitation: Sent" */
      title = g_strdup_printf (_("%s: %s"), describe_kind (json_string (message, "campaign_kind")),
                               ed_guest_delivery_to_label (json_string (message, "state")));
      if (last_text != NULL && *last_text != '\0')
        subtitle = g_strdup_printf ("%s — %" G_GINT64_FORMAT " %s", when,
                                    json_object_get_int_member_with_default (message, "last_code", 0), last_text);
      else
        subtitle = g_strdup (when);
      add_row (self, self->deliveries_group, title, subtitle);
    }
}

static void
fill_in (EdGuestDialog *self)
{
  g_autofree char *path = NULL;
  const char *status;

  if (self->guest == NULL)
    {
      adw_window_title_set_title (self->window_title, _("New Guest"));
      gtk_widget_set_visible (self->answer_group, FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->history_group), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->deliveries_group), FALSE);
      gtk_button_set_label (GTK_BUTTON (self->save_button), _("_Add"));
      return;
    }

  adw_window_title_set_title (self->window_title, _("Edit Guest"));
  adw_window_title_set_subtitle (self->window_title, json_string (self->guest, "email"));
  gtk_editable_set_text (GTK_EDITABLE (self->email_row), json_string (self->guest, "email") ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->first_name_row), json_string (self->guest, "first_name") ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->last_name_row), json_string (self->guest, "last_name") ?: "");
  status = json_string (self->guest, "status");
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (g_strcmp0 (status, statuses[i]) == 0)
      adw_combo_row_set_selected (self->status_row, i);
  gtk_spin_button_set_value (self->party_spin,
                             (double) json_object_get_int_member_with_default (self->guest, "party_size", 1));

  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT "/history",
                          json_object_get_int_member (self->guest, "id"));
  ed_client_call_async (self->client, "GET", path, NULL, self->cancellable, on_history_cb, g_object_ref (self));
  g_free (path);
  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT "/deliveries",
                          json_object_get_int_member (self->guest, "id"));
  ed_client_call_async (self->client, "GET", path, NULL, self->cancellable, on_deliveries_cb, g_object_ref (self));
}

static gboolean
ed_guest_dialog_close_request (GtkWindow *window)
{
  EdGuestDialog *self = ED_GUEST_DIALOG (window);

  g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (ed_guest_dialog_parent_class)->close_request (window);
}

static void
ed_guest_dialog_dispose (GObject *object)
{
  EdGuestDialog *self = ED_GUEST_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_GUEST_DIALOG);

  G_OBJECT_CLASS (ed_guest_dialog_parent_class)->dispose (object);
}

static void
ed_guest_dialog_finalize (GObject *object)
{
  EdGuestDialog *self = ED_GUEST_DIALOG (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->guest, json_object_unref);

  G_OBJECT_CLASS (ed_guest_dialog_parent_class)->finalize (object);
}

static void
ed_guest_dialog_class_init (EdGuestDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = ed_guest_dialog_dispose;
  object_class->finalize = ed_guest_dialog_finalize;
  window_class->close_request = ed_guest_dialog_close_request;

  /**
   * EdGuestDialog::saved:
   * @guest: the guest as the server answered it (a JsonObject)
   */
  signals[SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-guest-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, save_button);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, general_error);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, email_row);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, email_error);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, first_name_row);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, first_name_error);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, last_name_row);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, last_name_error);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, answer_group);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, status_row);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, party_spin);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, status_error);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, history_group);
  gtk_widget_class_bind_template_child (widget_class, EdGuestDialog, deliveries_group);
  gtk_widget_class_bind_template_callback (widget_class, on_save_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activated_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ed_guest_dialog_init (EdGuestDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

EdGuestDialog *
ed_guest_dialog_new (EdClient   *client,
                     gint64      event_id,
                     JsonObject *guest)
{
  EdGuestDialog *self;

  g_return_val_if_fail (ED_IS_CLIENT (client), NULL);

  self = g_object_new (ED_TYPE_GUEST_DIALOG, NULL);
  self->client = g_object_ref (client);
  self->event_id = event_id;
  self->guest = guest ? json_object_ref (guest) : NULL;
  fill_in (self);
  return self;
}

const char *
ed_guest_dialog_get_field_error (EdGuestDialog *self,
                                 const char    *field)
{
  GtkLabel *label;

  g_return_val_if_fail (ED_IS_GUEST_DIALOG (self), NULL);

  label = g_strcmp0 (field, "general") == 0 ? self->general_error : error_label_for (self, field);
  if (label == NULL || !gtk_widget_get_visible (GTK_WIDGET (label)))
    return NULL;
  return gtk_label_get_label (label);
}

void
ed_guest_dialog_set_text (EdGuestDialog *self,
                          const char    *field,
                          const char    *text)
{
  AdwEntryRow *row;

  g_return_if_fail (ED_IS_GUEST_DIALOG (self));
  row = entry_row_for (self, field);
  g_return_if_fail (row != NULL);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

const char *
ed_guest_dialog_get_text (EdGuestDialog *self,
                          const char    *field)
{
  AdwEntryRow *row;

  g_return_val_if_fail (ED_IS_GUEST_DIALOG (self), NULL);
  row = entry_row_for (self, field);
  g_return_val_if_fail (row != NULL, NULL);
  return gtk_editable_get_text (GTK_EDITABLE (row));
}

gboolean
ed_guest_dialog_get_busy (EdGuestDialog *self)
{
  g_return_val_if_fail (ED_IS_GUEST_DIALOG (self), FALSE);
  return self->busy;
}

guint
ed_guest_dialog_get_n_history_rows (EdGuestDialog *self)
{
  g_return_val_if_fail (ED_IS_GUEST_DIALOG (self), 0);
  return self->n_history_rows;
}
