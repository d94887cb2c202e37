/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "ed-event-dialog.h"

/* Creates or edits an event. The server checks the fields; its message
 * for each field shows under that field's title, and nothing typed is
 * lost until the event is saved.
 */
struct _EdEventDialog
{
  AdwWindow       parent_instance;

  /* template widgets */
  AdwWindowTitle *window_title;
  GtkButton      *save_button;
  GtkRevealer    *error_revealer;
  GtkLabel       *error_label;
  AdwActionRow   *name_row;
  AdwActionRow   *venue_row;
  AdwActionRow   *description_row;
  AdwActionRow   *starts_at_row;
  AdwActionRow   *ends_at_row;
  AdwActionRow   *rsvp_deadline_row;
  AdwActionRow   *timezone_row;
  AdwActionRow   *capacity_row;
  AdwActionRow   *max_party_size_row;
  AdwActionRow   *waitlist_enabled_row;
  GtkEntry       *name_entry;
  GtkEntry       *venue_entry;
  GtkEntry       *description_entry;
  GtkEntry       *starts_at_entry;
  GtkEntry       *ends_at_entry;
  GtkEntry       *rsvp_deadline_entry;
  GtkEntry       *timezone_entry;
  GtkSpinButton  *capacity_spin;
  GtkSpinButton  *max_party_size_spin;
  GtkSwitch      *waitlist_enabled_switch;

  /* owned */
  EdClient       *client;
  EdEventObject  *event;
  GCancellable   *cancellable;
  GHashTable     *rows;          /* field name → AdwActionRow */
  GHashTable     *subtitles;     /* field name → the row's own subtitle */
};

enum {
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdEventDialog, ed_event_dialog, ADW_TYPE_WINDOW)

static void
show_error (EdEventDialog *self,
            const char    *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
clear_field_errors (EdEventDialog *self)
{
  GHashTableIter iter;
  const char *field;
  AdwActionRow *row;

  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, (gpointer *) &field, (gpointer *) &row))
    {
      adw_action_row_set_subtitle (row, g_hash_table_lookup (self->subtitles, field) ?: "");
      gtk_widget_remove_css_class (GTK_WIDGET (row), "ed-field-invalid");
    }
}

static gboolean
show_field_errors (EdEventDialog *self,
                   GHashTable    *fields)
{
  GHashTableIter iter;
  const char *field, *message;
  GtkWidget *first = NULL;

  g_hash_table_iter_init (&iter, fields);
  while (g_hash_table_iter_next (&iter, (gpointer *) &field, (gpointer *) &message))
    {
      AdwActionRow *row = g_hash_table_lookup (self->rows, field);

      if (row == NULL)
        continue;
      adw_action_row_set_subtitle (row, message);
      gtk_widget_add_css_class (GTK_WIDGET (row), "ed-field-invalid");
      if (first == NULL)
        first = GTK_WIDGET (row);
    }

  if (first != NULL)
    gtk_widget_grab_focus (adw_action_row_get_activatable_widget (ADW_ACTION_ROW (first)));

  return first != NULL;
}

/* "2026-12-31 19:00" as typed → "2026-12-31T19:00", read by the server in
 * the event's time zone; NULL for an empty entry.
 */
static JsonNode *
time_node (GtkEntry *entry)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
  char *space;

  if (*text == '\0')
    return json_node_new (JSON_NODE_NULL);

  if ((space = strchr (text, ' ')) != NULL)
    *space = 'T';
  return json_node_init_string (json_node_alloc (), text);
}

static JsonNode *
build_body (EdEventDialog *self)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autofree char *timezone = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->timezone_entry))));
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (body, "name", gtk_editable_get_text (GTK_EDITABLE (self->name_entry)));
  json_object_set_string_member (body, "venue", gtk_editable_get_text (GTK_EDITABLE (self->venue_entry)));
  json_object_set_string_member (body, "description", gtk_editable_get_text (GTK_EDITABLE (self->description_entry)));
  json_object_set_string_member (body, "timezone", *timezone ? timezone : "UTC");
  json_object_set_member (body, "starts_at", time_node (self->starts_at_entry));
  json_object_set_member (body, "ends_at", time_node (self->ends_at_entry));
  json_object_set_member (body, "rsvp_deadline", time_node (self->rsvp_deadline_entry));
  json_object_set_int_member (body, "capacity", gtk_spin_button_get_value_as_int (self->capacity_spin));
  json_object_set_int_member (body, "max_party_size", gtk_spin_button_get_value_as_int (self->max_party_size_spin));
  json_object_set_boolean_member (body, "waitlist_enabled", gtk_switch_get_active (self->waitlist_enabled_switch));

  json_node_set_object (node, body);
  return node;
}

static void
on_saved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(EdEventDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GHashTable) fields = NULL;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), TRUE);

  if (error != NULL)
    {
      fields = ed_client_call_dup_error_fields (ED_CLIENT (source), result);
      if (fields != NULL && show_field_errors (self, fields))
        show_error (self, _("Some fields need changes; see below."));
      else if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE))
        show_error (self, _("Not saved: the server cannot be reached. Nothing you typed is lost; save again once the connection is back."));
      else
        show_error (self, error->message);
      return;
    }

  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      show_error (self, _("The server answered without the event"));
      return;
    }

  g_signal_emit (self, signals[SAVED], 0, json_node_get_object (answer));
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_save_action_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  EdEventDialog *self = ED_EVENT_DIALOG (widget);
  g_autoptr(JsonNode) body = build_body (self);
  g_autofree char *path = NULL;

  clear_field_errors (self);
  show_error (self, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), FALSE);

  if (self->event != NULL)
    path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, ed_event_object_get_id (self->event));

  ed_client_call_async (self->client, self->event ? "PATCH" : "POST", path ? path : "/api/v1/events",
                        body, self->cancellable, on_saved_cb, g_object_ref (self));
}

static void
fill_in (EdEventDialog *self)
{
  JsonObject *event;
  g_autofree char *starts = NULL;
  g_autofree char *ends = NULL;
  g_autofree char *deadline = NULL;
  g_autoptr(GTimeZone) local = g_time_zone_new_local ();
  const char *local_zone = g_time_zone_get_identifier (local);

  if (self->event == NULL)
    {
      adw_window_title_set_title (self->window_title, _("New Event"));
      gtk_spin_button_set_value (self->capacity_spin, 100);
      gtk_spin_button_set_value (self->max_party_size_spin, 1);
      gtk_switch_set_active (self->waitlist_enabled_switch, TRUE);
      /* An IANA name when the system has one, else UTC. */
      gtk_editable_set_text (GTK_EDITABLE (self->timezone_entry),
                             local_zone && strchr (local_zone, '/') && local_zone[0] != '/' ? local_zone : "UTC");
      return;
    }

  event = ed_event_object_get_json (self->event);
  adw_window_title_set_title (self->window_title, _("Edit Event"));
  adw_window_title_set_subtitle (self->window_title, ed_event_object_get_name (self->event));

  starts = ed_event_object_format_time (event, "starts_at");
  ends = ed_event_object_format_time (event, "ends_at");
  deadline = ed_event_object_format_time (event, "rsvp_deadline");

  gtk_editable_set_text (GTK_EDITABLE (self->name_entry), json_object_get_string_member_with_default (event, "name", ""));
  gtk_editable_set_text (GTK_EDITABLE (self->venue_entry), json_object_get_string_member_with_default (event, "venue", ""));
  gtk_editable_set_text (GTK_EDITABLE (self->description_entry), json_object_get_string_member_with_default (event, "description", ""));
  gtk_editable_set_text (GTK_EDITABLE (self->timezone_entry), json_object_get_string_member_with_default (event, "timezone", "UTC"));
  gtk_editable_set_text (GTK_EDITABLE (self->starts_at_entry), starts ? starts : "");
  gtk_editable_set_text (GTK_EDITABLE (self->ends_at_entry), ends ? ends : "");
  gtk_editable_set_text (GTK_EDITABLE (self->rsvp_deadline_entry), deadline ? deadline : "");
  gtk_spin_button_set_value (self->capacity_spin, (double) json_object_get_int_member_with_default (event, "capacity", 1));
  gtk_spin_button_set_value (self->max_party_size_spin, (double) json_object_get_int_member_with_default (event, "max_party_size", 1));
  gtk_switch_set_active (self->waitlist_enabled_switch, json_object_get_boolean_member_with_default (event, "waitlist_enabled", TRUE));
}

static gboolean
ed_event_dialog_close_request (GtkWindow *window)
{
  EdEventDialog *self = ED_EVENT_DIALOG (window);

  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (ed_event_dialog_parent_class)->close_request (window);
}

static void
ed_event_dialog_dispose (GObject *object)
{
  EdEventDialog *self = ED_EVENT_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_EVENT_DIALOG);
  g_clear_object (&self->client);
  g_clear_object (&self->event);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_clear_pointer (&self->subtitles, g_hash_table_unref);

  G_OBJECT_CLASS (ed_event_dialog_parent_class)->dispose (object);
}

static void
ed_event_dialog_class_init (EdEventDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = ed_event_dialog_dispose;
  window_class->close_request = ed_event_dialog_close_request;

  /* The event as the server saved it. */
  signals[SAVED] =
    g_signal_new ("saved",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-event-dialog.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, EdEventDialog, name)
  BIND (window_title);
  BIND (save_button);
  BIND (error_revealer);
  BIND (error_label);
  BIND (name_row);
  BIND (venue_row);
  BIND (description_row);
  BIND (starts_at_row);
  BIND (ends_at_row);
  BIND (rsvp_deadline_row);
  BIND (timezone_row);
  BIND (capacity_row);
  BIND (max_party_size_row);
  BIND (waitlist_enabled_row);
  BIND (name_entry);
  BIND (venue_entry);
  BIND (description_entry);
  BIND (starts_at_entry);
  BIND (ends_at_entry);
  BIND (rsvp_deadline_entry);
  BIND (timezone_entry);
  BIND (capacity_spin);
  BIND (max_party_size_spin);
  BIND (waitlist_enabled_switch);
#undef BIND

  gtk_widget_class_install_action (widget_class, "event.save", NULL, on_save_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ed_event_dialog_init (EdEventDialog *self)
{
  struct { const char *field; AdwActionRow *row; } rows[] = {
    { "name", NULL }, { "venue", NULL }, { "description", NULL }, { "starts_at", NULL },
    { "ends_at", NULL }, { "rsvp_deadline", NULL }, { "timezone", NULL }, { "capacity", NULL },
    { "max_party_size", NULL }, { "waitlist_enabled", NULL },
  };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  rows[0].row = self->name_row;
  rows[1].row = self->venue_row;
  rows[2].row = self->description_row;
  rows[3].row = self->starts_at_row;
  rows[4].row = self->ends_at_row;
  rows[5].row = self->rsvp_deadline_row;
  rows[6].row = self->timezone_row;
  rows[7].row = self->capacity_row;
  rows[8].row = self->max_party_size_row;
  rows[9].row = self->waitlist_enabled_row;

  self->rows = g_hash_table_new (g_str_hash, g_str_equal);
  self->subtitles = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_hash_table_insert (self->rows, (gpointer) rows[i].field, rows[i].row);
      g_hash_table_insert (self->subtitles, (gpointer) rows[i].field,
                           g_strdup (adw_action_row_get_subtitle (rows[i].row)));
    }

  if (g_strcmp0 (PROFILE, "development") == 0)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

/**
 * ed_event_dialog_new:
 * @event: (nullable): the event to edit, or %NULL for a new one
 */
EdEventDialog *
ed_event_dialog_new (GtkWindow     *parent,
                     EdClient      *client,
                     EdEventObject *event)
{
  EdEventDialog *self;

  g_return_val_if_fail (ED_IS_CLIENT (client), NULL);

  self = g_object_new (ED_TYPE_EVENT_DIALOG, "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  self->event = event ? g_object_ref (event) : NULL;
  fill_in (self);

  return self;
}
