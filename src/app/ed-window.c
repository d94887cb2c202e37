/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-application-private.h"
#include "ed-campaigns-page.h"
#include "ed-connect-page.h"
#include "ed-deliveries-page.h"
#include "ed-event-dialog.h"
#include "ed-event-object.h"
#include "ed-guests-page.h"
#include "ed-live-client.h"
#include "ed-overview-page.h"
#include "ed-window.h"

#define EVENTS_PAGE_SIZE "200"
#define MAX_RECONNECT_DELAY_S 30

struct _EdWindow
{
  AdwApplicationWindow  parent_instance;

  /* template widgets */
  AdwToastOverlay      *toast_overlay;
  EdConnectPage        *connect_page;
  GtkStack             *main_stack;
  AdwLeaflet           *leaflet;
  GtkStack             *sidebar_stack;
  GtkListView          *events_view;
  GtkStack             *content_stack;
  AdwViewStack         *event_stack;
  AdwViewSwitcherTitle *switcher_title;
  GtkRevealer          *banner_revealer;
  GtkLabel             *banner_label;
  GtkButton            *banner_button;

  /* owned */
  GSettings            *settings;
  EdClient             *client;
  EdLiveClient         *live_client;
  GCancellable         *cancellable;
  GCancellable         *events_cancellable;
  GListStore           *events;
  GtkSingleSelection   *selection;

  /* borrowed */
  EdLocalDaemon        *local_daemon;

  gint64                event_id;
  guint                 reconnect_delay_s;
  guint                 reconnect_in;
  guint                 reconnect_source;
  gboolean              relogging_in;
  gboolean              close_confirmed;
};

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_LIVE_CLIENT,
  PROP_EVENT_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdWindow, ed_window, ADW_TYPE_APPLICATION_WINDOW)


static void load_events (EdWindow *self);

static EdApplication *
get_application (EdWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  return ED_IS_APPLICATION (app) ? ED_APPLICATION (app) : NULL;
}

/* The banner */

static void
show_banner (EdWindow   *self,
             const char *message,
             gboolean    can_retry)
{
  gtk_label_set_text (self->banner_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->banner_button), can_retry);
  gtk_revealer_set_reveal_child (self->banner_revealer, message != NULL);
}

static void
update_banner (EdWindow *self)
{
  g_autofree char *message = NULL;

  if (self->local_daemon != NULL &&
      ed_local_daemon_get_state (self->local_daemon) == ED_LOCAL_DAEMON_RESTARTING)
    {
      guint seconds = ed_local_daemon_get_restart_in (self->local_daemon);

      message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "The server on this computer stopped unexpectedly — restarting it in %u second",
                                              "The server on this computer stopped unexpectedly — restarting it in %u seconds",
                                              seconds), seconds);
      show_banner (self, message, FALSE);
      return;
    }

  if (self->client != NULL && !ed_client_get_reachable (self->client))
    {
      if (self->reconnect_in > 0)
        message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                "Connection lost — reconnecting in %u second",
                                                "Connection lost — reconnecting in %u seconds",
                                                self->reconnect_in), self->reconnect_in);
      else
        message = g_strdup (_("Connection lost — reconnecting…"));
      show_banner (self, message, TRUE);
      return;
    }

  show_banner (self, NULL, FALSE);
}

static void
on_ping_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(EdWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = ed_client_call_finish (ED_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Any answer makes the client reachable again (see on_reachable); a
   * failure waits longer before the next try.
   */
  if (!ed_client_get_reachable (ED_CLIENT (source)))
    {
      self->reconnect_delay_s = CLAMP (self->reconnect_delay_s * 2, 1, MAX_RECONNECT_DELAY_S);
      self->reconnect_in = self->reconnect_delay_s;
      update_banner (self);
    }
}

static void
ping (EdWindow *self)
{
  if (self->client == NULL)
    return;

  self->reconnect_in = 0;
  update_banner (self);
  ed_client_call_async (self->client, "GET", "/api/v1/version", NULL, self->cancellable,
                        on_ping_cb, g_object_ref (self));
}

static gboolean
on_reconnect_tick_cb (gpointer user_data)
{
  EdWindow *self = user_data;

  if (self->client == NULL || ed_client_get_reachable (self->client))
    {
      self->reconnect_source = 0;
      return G_SOURCE_REMOVE;
    }

  if (self->reconnect_in > 1)
    {
      self->reconnect_in--;
      update_banner (self);
    }
  else if (self->reconnect_in == 1)
    ping (self);

  return G_SOURCE_CONTINUE;
}

static void
on_client_reachable_cb (EdWindow *self)
{
  if (ed_client_get_reachable (self->client))
    {
      g_clear_handle_id (&self->reconnect_source, g_source_remove);
      self->reconnect_delay_s = 0;
      self->reconnect_in = 0;
      update_banner (self);
      /* What was missed while away. */
      load_events (self);
      return;
    }

  self->reconnect_delay_s = 1;
  self->reconnect_in = 1;
  update_banner (self);
  if (self->reconnect_source == 0)
    self->reconnect_source = g_timeout_add_seconds (1, on_reconnect_tick_cb, self);
}

static void
on_reconnect_action_cb (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  ping (ED_WINDOW (widget));
}

static void
on_relogin_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(EdWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->relogging_in = FALSE;
  if (!ed_application_relogin_finish (ED_APPLICATION (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      /* The saved password no longer works: ask for it. */
      ed_window_set_client (self, NULL);
      gtk_stack_set_visible_child_name (self->main_stack, "connect");
      ed_connect_page_reconnect (self->connect_page, ED_APPLICATION (source));
      return;
    }

  load_events (self);
}

static void
on_client_session_expired_cb (EdWindow *self)
{
  EdApplication *app = get_application (self);

  if (self->relogging_in || app == NULL)
    return;

  self->relogging_in = TRUE;
  ed_application_relogin_async (app, self->client, self->cancellable, on_relogin_cb, g_object_ref (self));
}

/* The local daemon */

static void
on_local_daemon_url_cb (EdWindow *self)
{
  const char *url = ed_local_daemon_get_url (self->local_daemon);

  /* Started again on another port: a new client for the new address. */
  if (self->client != NULL && url != NULL &&
      g_strcmp0 (url, ed_client_get_base_url (self->client)) != 0)
    {
      g_autoptr(EdClient) client = ed_client_new (url);

      ed_client_set_token (client, ed_client_get_token (self->client));
      ed_window_set_client (self, client);
    }
}

static void
on_local_daemon_state_cb (EdWindow *self)
{
  update_banner (self);

  if (ed_local_daemon_get_state (self->local_daemon) == ED_LOCAL_DAEMON_RUNNING && self->client != NULL)
    ping (self);
}

static void
watch_local_daemon (EdWindow *self)
{
  EdApplication *app = get_application (self);
  EdLocalDaemon *daemon = app ? ed_application_get_local_daemon (app) : NULL;

  if (daemon == NULL || daemon == self->local_daemon)
    return;

  self->local_daemon = daemon;
  g_signal_connect_object (daemon, "notify::state", G_CALLBACK (on_local_daemon_state_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (daemon, "notify::restart-in", G_CALLBACK (update_banner), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (daemon, "notify::url", G_CALLBACK (on_local_daemon_url_cb), self, G_CONNECT_SWAPPED);
}

/* Events */

static EdEventObject *
find_event (EdWindow *self,
            gint64    event_id,
            guint    *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->events));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(EdEventObject) event = g_list_model_get_item (G_LIST_MODEL (self->events), i);

      if (ed_event_object_get_id (event) == event_id)
        {
          if (position != NULL)
            *position = i;
          return event;
        }
    }

  return NULL;
}

/* The sidebar's numbers follow the live feed of the event shown, as its
 * overview does. */
static void
on_live_event_changed_cb (EdLiveClient *live_client,
                          gint64        event_id,
                          JsonObject   *state,
                          EdWindow     *self)
{
  EdEventObject *event = find_event (self, event_id, NULL);
  JsonNode *stats = json_object_get_member (state, "stats");
  g_autoptr(JsonObject) updated = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  if (event == NULL || stats == NULL || !JSON_NODE_HOLDS_OBJECT (stats))
    return;

  updated = json_object_new ();
  json_object_iter_init (&iter, ed_event_object_get_json (event));
  while (json_object_iter_next (&iter, &name, &node))
    if (g_strcmp0 (name, "stats") != 0)
      json_object_set_member (updated, name, json_node_ref (node));
  json_object_set_member (updated, "stats", json_node_ref (stats));
  ed_event_object_update (event, updated);
}

static EdEventObject *
get_selected_event (EdWindow *self)
{
  return gtk_single_selection_get_selected_item (self->selection);
}

static void
update_actions (EdWindow *self)
{
  gboolean connected = self->client != NULL;
  gboolean has_event = get_selected_event (self) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-event", connected);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.edit-event", connected && has_event);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.delete-event", connected && has_event);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reconnect", connected);
}

static void
select_event (EdWindow *self,
              gint64    event_id)
{
  guint position = GTK_INVALID_LIST_POSITION;

  if (event_id > 0)
    find_event (self, event_id, &position);
  gtk_single_selection_set_selected (self->selection, position);
}

static void
on_selection_changed_cb (EdWindow *self)
{
  EdEventObject *event = get_selected_event (self);
  gint64 event_id = event ? ed_event_object_get_id (event) : 0;
  g_autofree char *when = event ? ed_event_object_format_time (ed_event_object_get_json (event), "starts_at") : NULL;

  adw_view_switcher_title_set_title (self->switcher_title, event ? ed_event_object_get_name (event) : "");
  adw_view_switcher_title_set_subtitle (self->switcher_title, when ? when : "");
  ed_window_set_event_id (self, event_id);
  if (self->settings != NULL && event_id > 0)
    g_settings_set_int64 (self->settings, "last-event", event_id);
  update_actions (self);
}

static void
on_events_view_activate_cb (EdWindow *self,
                            guint     position)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

typedef struct
{
  EdWindow  *self;
  GPtrArray *events;
} LoadEvents;

static void
load_events_free (LoadEvents *load)
{
  g_object_unref (load->self);
  g_ptr_array_unref (load->events);
  g_free (load);
}

static void load_events_page (LoadEvents *load, const char *after);

static void
on_events_page_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  LoadEvents *load = user_data;
  EdWindow *self = load->self;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *next = NULL;
  gint64 selected;
  JsonObject *page;
  JsonArray *items;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      /* Lost connections and expired sessions have their own handling. */
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNREACHABLE) &&
          !g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED))
        ed_window_add_toast (self, error->message);
      load_events_free (load);
      return;
    }

  page = json_node_get_object (answer);
  items = json_object_get_array_member (page, "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *event = json_array_get_object_element (items, i);

      if (event != NULL)
        g_ptr_array_add (load->events, ed_event_object_new (event));
    }

  if (json_object_has_member (page, "next") && !json_object_get_null_member (page, "next"))
    {
      next = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (page, "next"));
      load_events_page (load, next);
      return;
    }

  /* All pages are in: one change of the list, the selection kept. */
  selected = self->event_id > 0 ? self->event_id
                                : (self->settings ? g_settings_get_int64 (self->settings, "last-event") : 0);
  g_signal_handlers_block_by_func (self->selection, on_selection_changed_cb, self);
  g_list_store_splice (self->events, 0, g_list_model_get_n_items (G_LIST_MODEL (self->events)),
                       load->events->pdata, load->events->len);
  g_signal_handlers_unblock_by_func (self->selection, on_selection_changed_cb, self);
  select_event (self, selected);
  on_selection_changed_cb (self);
  gtk_stack_set_visible_child_name (self->sidebar_stack, load->events->len > 0 ? "list" : "empty");

  load_events_free (load);
}

static void
load_events_page (LoadEvents *load,
                  const char *after)
{
  EdWindow *self = load->self;
  g_autofree char *path = ed_client_build_path ("/api/v1/events", "limit", EVENTS_PAGE_SIZE, "after", after, NULL);

  ed_client_call_async (self->client, "GET", path, NULL, self->events_cancellable, on_events_page_cb, load);
}

/* Reads the events again, a page at a time; a newer load replaces one
 * still running.
 */
static void
load_events (EdWindow *self)
{
  LoadEvents *load;

  if (self->client == NULL)
    return;

  g_cancellable_cancel (self->events_cancellable);
  g_clear_object (&self->events_cancellable);
  self->events_cancellable = g_cancellable_new ();

  load = g_new0 (LoadEvents, 1);
  load->self = g_object_ref (self);
  load->events = g_ptr_array_new_with_free_func (g_object_unref);
  load_events_page (load, NULL);
}

static void
on_event_saved_cb (EdWindow   *self,
                   JsonObject *saved)
{
  gint64 event_id = json_object_get_int_member_with_default (saved, "id", 0);
  EdEventObject *event = find_event (self, event_id, NULL);

  if (event != NULL)
    ed_event_object_update (event, saved);
  else
    {
      g_autoptr(EdEventObject) added = ed_event_object_new (saved);

      g_list_store_append (self->events, added);
      gtk_stack_set_visible_child_name (self->sidebar_stack, "list");
    }

  select_event (self, event_id);
  on_selection_changed_cb (self);
}

static void
on_new_event_action_cb (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  EdWindow *self = ED_WINDOW (widget);
  EdEventDialog *dialog;

  g_return_if_fail (self->client != NULL);

  dialog = ed_event_dialog_new (GTK_WINDOW (self), self->client, NULL);
  g_signal_connect_object (dialog, "saved", G_CALLBACK (on_event_saved_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_edit_event_action_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  EdWindow *self = ED_WINDOW (widget);
  EdEventObject *event = get_selected_event (self);
  EdEventDialog *dialog;

  g_return_if_fail (self->client != NULL && event != NULL);

  dialog = ed_event_dialog_new (GTK_WINDOW (self), self->client, event);
  g_signal_connect_object (dialog, "saved", G_CALLBACK (on_event_saved_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_event_deleted_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(EdWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = ed_client_call_finish (ED_CLIENT (source), result, &error);

  if (error != NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("The event was not deleted: %s"), error->message);

          ed_window_add_toast (self, message);
        }
      return;
    }

  load_events (self);
}

static void
on_delete_response_cb (AdwMessageDialog *dialog,
                       const char       *response,
                       gpointer          user_data)
{
  EdWindow *self = user_data;
  gint64 event_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "event-id"));
  g_autofree char *path = NULL;
  g_autofree char *base = NULL;

  if (g_strcmp0 (response, "delete") != 0 || self->client == NULL)
    return;

  base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT, event_id);
  /* The user confirmed with the guest count in view. */
  path = ed_client_build_path (base, "confirm", "true", NULL);
  ed_client_call_async (self->client, "DELETE", path, NULL, self->cancellable,
                        on_event_deleted_cb, g_object_ref (self));
}

static void
on_delete_event_action_cb (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  EdWindow *self = ED_WINDOW (widget);
  EdEventObject *event = get_selected_event (self);
  gint64 guests;
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  g_return_if_fail (event != NULL);

  guests = ed_event_object_get_guests (event);
  heading = g_strdup_printf (_("Delete “%s”?"), ed_event_object_get_name (event));
  if (guests > 0)
    {
      g_autofree char *count = g_strdup_printf ("%'" G_GINT64_FORMAT, guests);

      body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "Its %s guest and their answers are deleted with it. This cannot be undone.",
                                           "Its %s guests and their answers are deleted with it. This cannot be undone.",
                                           (gulong) guests), count);
    }
  else
    body = g_strdup (_("The event has no guests yet. This cannot be undone."));

  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "event-id", GSIZE_TO_POINTER ((gsize) ed_event_object_get_id (event)));
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Pages install their own actions (guests.search…); the application's
 * accelerators for them activate on the window, which cannot see a
 * child's actions, so the window passes them to the page shown.
 */
static gboolean
on_page_shortcut_cb (GtkWidget *widget,
                     GVariant  *args,
                     gpointer   user_data)
{
  EdWindow *self = ED_WINDOW (widget);
  GtkWidget *page = adw_view_stack_get_visible_child (self->event_stack);

  if (page == NULL || !gtk_widget_get_mapped (page))
    return FALSE;

  return gtk_widget_activate_action (page, g_variant_get_string (args, NULL), NULL);
}

/* Connecting */

static void
on_connect_page_connected_cb (EdWindow *self,
                              EdClient *client)
{
  watch_local_daemon (self);
  ed_window_set_client (self, client);
}

/* Quitting while a campaign sends */

static void
on_quit_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          user_data)
{
  EdWindow *self = user_data;

  if (g_strcmp0 (response, "quit") != 0)
    return;

  self->close_confirmed = TRUE;
  gtk_window_close (GTK_WINDOW (self));
}

static gint64
count_sending (JsonObject *queue)
{
  static const char * const states[] = { "queued", "sending", "retry" };
  JsonObject *counts = queue;
  gint64 total = 0;

  if (json_object_has_member (queue, "counts") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (queue, "counts")))
    counts = json_object_get_object_member (queue, "counts");

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    if (json_object_has_member (counts, states[i]) &&
        JSON_NODE_HOLDS_VALUE (json_object_get_member (counts, states[i])))
      total += json_object_get_int_member (counts, states[i]);

  return total;
}

static void
on_queue_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(EdWindow) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  g_autofree char *count = NULL;
  gint64 waiting;
  GtkWidget *dialog;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);

  /* No mail queue (404, an older daemon), or no answer: nothing to lose. */
  waiting = answer && JSON_NODE_HOLDS_OBJECT (answer) ? count_sending (json_node_get_object (answer)) : 0;
  if (waiting == 0)
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
      return;
    }

  count = g_strdup_printf ("%'" G_GINT64_FORMAT, waiting);
  body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "%s message is still to be sent. Quitting stops the server on this computer, and sending goes on only when Eventdesk runs again.",
                                       "%s messages are still to be sent. Quitting stops the server on this computer, and sending goes on only when Eventdesk runs again.",
                                       (gulong) waiting), count);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Quit While Sending?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Keep Sending"),
                                    "quit", _("_Quit"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "quit", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_quit_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
save_window_state (EdWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
}

static void
on_show_events_action_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  EdWindow *self = ED_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static gboolean
ed_window_close_request (GtkWindow *window)
{
  EdWindow *self = ED_WINDOW (window);

  /* Only the app's own server stops with the app: ask first when it
   * still has mail to send.
   */
  if (!self->close_confirmed && self->client != NULL && self->local_daemon != NULL &&
      ed_local_daemon_get_state (self->local_daemon) == ED_LOCAL_DAEMON_RUNNING)
    {
      ed_client_call_async (self->client, "GET", "/api/v1/queue", NULL, self->cancellable,
                            on_queue_cb, g_object_ref (self));
      return TRUE;
    }

  save_window_state (self);
  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (ed_window_parent_class)->close_request (window);
}

/* Once the window has its application (which GtkWindow sets only after
 * constructed): its size, then the connection.
 */
static void
set_up_with_application (EdWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (ED_IS_APPLICATION (app))
    self->settings = g_object_ref (ed_application_get_settings (ED_APPLICATION (app)));

  if (self->settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (self->settings, "window-width"),
                                   g_settings_get_int (self->settings, "window-height"));
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }

  if (ED_IS_APPLICATION (app))
    ed_connect_page_reconnect (self->connect_page, ED_APPLICATION (app));
}

static void
ed_window_dispose (GObject *object)
{
  EdWindow *self = ED_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->events_cancellable != NULL)
    g_cancellable_cancel (self->events_cancellable);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_WINDOW);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->events_cancellable);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  if (self->live_client != NULL)
    g_signal_handlers_disconnect_by_data (self->live_client, self);
  g_clear_object (&self->live_client);
  g_clear_object (&self->client);
  g_clear_object (&self->selection);
  g_clear_object (&self->events);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (ed_window_parent_class)->dispose (object);
}

static void
ed_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  EdWindow *self = ED_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_LIVE_CLIENT:
      g_value_set_object (value, self->live_client);
      break;
    case PROP_EVENT_ID:
      g_value_set_int64 (value, self->event_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  EdWindow *self = ED_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      ed_window_set_client (self, g_value_get_object (value));
      break;
    case PROP_EVENT_ID:
      ed_window_set_event_id (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_window_class_init (EdWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = ed_window_dispose;
  object_class->get_property = ed_window_get_property;
  object_class->set_property = ed_window_set_property;
  window_class->close_request = ed_window_close_request;

  g_type_ensure (ED_TYPE_GUESTS_PAGE);
  g_type_ensure (ED_TYPE_OVERVIEW_PAGE);
  g_type_ensure (ED_TYPE_CAMPAIGNS_PAGE);
  g_type_ensure (ED_TYPE_DELIVERIES_PAGE);

  /* The connected client and the event shown: pages bind to these. */
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, ED_TYPE_CLIENT,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  /* The client's live feed, one for all pages (see ed-live-client.h). */
  properties[PROP_LIVE_CLIENT] =
    g_param_spec_object ("live-client", NULL, NULL, ED_TYPE_LIVE_CLIENT,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_EVENT_ID] =
    g_param_spec_int64 ("event-id", NULL, NULL, 0, G_MAXINT64, 0,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-window.ui");
  g_type_ensure (ED_TYPE_CONNECT_PAGE);
  g_type_ensure (ED_TYPE_EVENT_OBJECT);

  gtk_widget_class_bind_template_child (widget_class, EdWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, connect_page);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, events_view);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, event_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, banner_button);

  gtk_widget_class_bind_template_callback (widget_class, on_connect_page_connected_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_events_view_activate_cb);

  gtk_widget_class_install_action (widget_class, "win.show-events", NULL, on_show_events_action_cb);
  gtk_widget_class_install_action (widget_class, "win.new-event", NULL, on_new_event_action_cb);
  gtk_widget_class_install_action (widget_class, "win.edit-event", NULL, on_edit_event_action_cb);
  gtk_widget_class_install_action (widget_class, "win.delete-event", NULL, on_delete_event_action_cb);
  gtk_widget_class_install_action (widget_class, "win.reconnect", NULL, on_reconnect_action_cb);

  gtk_widget_class_add_binding (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, on_page_shortcut_cb, "s", "guests.search");
  gtk_widget_class_add_binding (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, on_page_shortcut_cb, "s", "guests.new");
  gtk_widget_class_add_binding (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, on_page_shortcut_cb, "s", "guests.import");
  gtk_widget_class_add_binding (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, on_page_shortcut_cb, "s", "guests.export");
}

static void
ed_window_init (EdWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->events = g_list_store_new (ED_TYPE_EVENT_OBJECT);
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->events)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (on_selection_changed_cb), self);
  gtk_list_view_set_model (self->events_view, GTK_SELECTION_MODEL (self->selection));
  update_actions (self);

  if (g_strcmp0 (PROFILE, "development") == 0)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

EdWindow *
ed_window_new (EdApplication *application)
{
  EdWindow *self;

  g_return_val_if_fail (ED_IS_APPLICATION (application), NULL);

  self = g_object_new (ED_TYPE_WINDOW, "application", application, NULL);
  set_up_with_application (self);

  return self;
}

EdClient *
ed_window_get_client (EdWindow *self)
{
  g_return_val_if_fail (ED_IS_WINDOW (self), NULL);

  return self->client;
}

/**
 * ed_window_set_client:
 * @client: (nullable): a logged-in client
 *
 * Shows the events of @client's server (the connect page does this once
 * it has logged in; tests may too). Pages bind to the "client" property.
 */
void
ed_window_set_client (EdWindow *self,
                      EdClient *client)
{
  g_return_if_fail (ED_IS_WINDOW (self));
  g_return_if_fail (client == NULL || ED_IS_CLIENT (client));

  if (self->client == client)
    return;

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_set_object (&self->client, client);
  if (client != NULL)
    {
      g_signal_connect_swapped (client, "notify::reachable", G_CALLBACK (on_client_reachable_cb), self);
      g_signal_connect_swapped (client, "session-expired", G_CALLBACK (on_client_session_expired_cb), self);
    }
  if (self->live_client != NULL)
    g_signal_handlers_disconnect_by_data (self->live_client, self);
  g_clear_object (&self->live_client);
  if (client != NULL)
    {
      self->live_client = ed_live_client_new (client);
      g_signal_connect (self->live_client, "event-changed", G_CALLBACK (on_live_event_changed_cb), self);
    }
  update_actions (self);
  update_banner (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE_CLIENT]);

  /* A logged-in client: the events, from the server. */
  if (client != NULL)
    {
      ed_connect_page_cancel (self->connect_page);
      gtk_stack_set_visible_child_name (self->main_stack, "main");
      load_events (self);
    }
}

EdLiveClient *
ed_window_get_live_client (EdWindow *self)
{
  g_return_val_if_fail (ED_IS_WINDOW (self), NULL);

  return self->live_client;
}

gint64
ed_window_get_event_id (EdWindow *self)
{
  g_return_val_if_fail (ED_IS_WINDOW (self), 0);

  return self->event_id;
}

void
ed_window_set_event_id (EdWindow *self,
                        gint64    event_id)
{
  g_return_if_fail (ED_IS_WINDOW (self));

  if (self->event_id == event_id)
    return;

  self->event_id = event_id;
  gtk_stack_set_visible_child_name (self->content_stack, event_id > 0 ? "event" : "no-event");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVENT_ID]);
}

/* Shows a short message at the bottom of the window. */
void
ed_window_add_toast (EdWindow   *self,
                     const char *message)
{
  g_return_if_fail (ED_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}
