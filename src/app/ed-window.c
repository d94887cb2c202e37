/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-window.h"

struct _EdWindow
{
  AdwApplicationWindow  parent_instance;

  /* template widgets */
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  AdwLeaflet           *leaflet;
  GtkStack             *sidebar_stack;
  GtkListView          *events_view;
  GtkStack             *content_stack;
  AdwViewStack         *event_stack;
  GtkRevealer          *banner_revealer;
  GtkLabel             *banner_label;
  GtkButton            *banner_button;

  /* owned */
  GSettings            *settings;
  EdClient             *client;
  GCancellable         *cancellable;

  gint64                event_id;
};

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_EVENT_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (EdWindow, ed_window, ADW_TYPE_APPLICATION_WINDOW)

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

  save_window_state (self);
  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (ed_window_parent_class)->close_request (window);
}

static void
ed_window_constructed (GObject *object)
{
  EdWindow *self = ED_WINDOW (object);
  GtkApplication *app;

  G_OBJECT_CLASS (ed_window_parent_class)->constructed (object);

  app = gtk_window_get_application (GTK_WINDOW (self));
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
}

static void
ed_window_dispose (GObject *object)
{
  EdWindow *self = ED_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);

  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_WINDOW);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
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

  object_class->constructed = ed_window_constructed;
  object_class->dispose = ed_window_dispose;
  object_class->get_property = ed_window_get_property;
  object_class->set_property = ed_window_set_property;
  window_class->close_request = ed_window_close_request;

  /* The connected client and the event shown: pages bind to these. */
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, ED_TYPE_CLIENT,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_EVENT_ID] =
    g_param_spec_int64 ("event-id", NULL, NULL, 0, G_MAXINT64, 0,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-window.ui");
  gtk_widget_class_bind_template_child (widget_class, EdWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, events_view);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, event_stack);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, EdWindow, banner_button);

  gtk_widget_class_install_action (widget_class, "win.show-events", NULL, on_show_events_action_cb);
}

static void
ed_window_init (EdWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();

  if (g_strcmp0 (PROFILE, "development") == 0)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

EdWindow *
ed_window_new (EdApplication *application)
{
  g_return_val_if_fail (ED_IS_APPLICATION (application), NULL);

  return g_object_new (ED_TYPE_WINDOW, "application", application, NULL);
}

EdClient *
ed_window_get_client (EdWindow *self)
{
  g_return_val_if_fail (ED_IS_WINDOW (self), NULL);

  return self->client;
}

void
ed_window_set_client (EdWindow *self,
                      EdClient *client)
{
  g_return_if_fail (ED_IS_WINDOW (self));
  g_return_if_fail (client == NULL || ED_IS_CLIENT (client));

  if (g_set_object (&self->client, client))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
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
