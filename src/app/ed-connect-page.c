/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-application-private.h"
#include "ed-connect-page.h"

/* The first screen: "This computer" or "A server", and the form of the
 * latter; also what shows while a later start reconnects silently, and
 * the error when that fails.
 */
struct _EdConnectPage
{
  GtkWidget       parent_instance;

  /* template widgets */
  GtkWidget      *content;
  GtkStack       *stack;
  GtkLabel       *local_error_label;
  AdwEntryRow    *url_row;
  AdwEntryRow    *username_row;
  AdwEntryRow    *password_row;
  GtkLabel       *server_error_label;
  AdwStatusPage  *working_page;

  /* owned */
  GCancellable   *cancellable;

  /* borrowed */
  EdApplication  *application;
};

enum {
  CONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdConnectPage, ed_connect_page, GTK_TYPE_WIDGET)

static EdApplication *
get_application (EdConnectPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkApplication *app = GTK_IS_WINDOW (root) ? gtk_window_get_application (GTK_WINDOW (root)) : NULL;

  if (self->application != NULL)
    return self->application;

  return ED_IS_APPLICATION (app) ? ED_APPLICATION (app) : NULL;
}

static void
set_error (GtkLabel   *label,
           const char *message)
{
  gtk_label_set_text (label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
}

/* A spinning spinner keeps the frame clock ticking even on a hidden page
 * (GTK 4.8): it spins only while it is on screen. */
static void
on_spinner_map_cb (GtkSpinner *spinner)
{
  gtk_spinner_start (spinner);
}

static void
on_spinner_unmap_cb (GtkSpinner *spinner)
{
  gtk_spinner_stop (spinner);
}

static void
show_working (EdConnectPage *self,
              const char    *title,
              const char    *description)
{
  adw_status_page_set_title (self->working_page, title);
  adw_status_page_set_description (self->working_page, description);
  gtk_stack_set_visible_child_name (self->stack, "working");
}

static void
restart_cancellable (EdConnectPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
}

static void
on_local_connected_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(EdConnectPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(EdClient) client = NULL;

  client = ed_application_connect_finish (ED_APPLICATION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (client == NULL)
    {
      g_autofree char *message = ed_application_describe_error (error, NULL);

      set_error (self->local_error_label, message);
      gtk_stack_set_visible_child_name (self->stack, "choice");
      return;
    }

  g_signal_emit (self, signals[CONNECTED], 0, client);
}

static void
connect_local (EdConnectPage *self)
{
  EdApplication *app = get_application (self);

  g_return_if_fail (app != NULL);

  set_error (self->local_error_label, NULL);
  restart_cancellable (self);
  show_working (self, _("Starting Eventdesk on This Computer…"),
                _("Your events are kept in your personal folder"));
  ed_application_connect_local_async (app, self->cancellable, on_local_connected_cb, g_object_ref (self));
}

static void
on_server_connected_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(EdConnectPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(EdClient) client = NULL;

  client = ed_application_connect_finish (ED_APPLICATION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (client == NULL)
    {
      g_autofree char *message = ed_application_describe_error (error, gtk_editable_get_text (GTK_EDITABLE (self->url_row)));

      set_error (self->server_error_label, message);
      gtk_stack_set_visible_child_name (self->stack, "server");
      /* Only the password is worth retyping after a refusal. */
      if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_UNAUTHORIZED))
        gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      else
        gtk_widget_grab_focus (GTK_WIDGET (self->url_row));
      return;
    }

  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  g_signal_emit (self, signals[CONNECTED], 0, client);
}

static void
on_local_action_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  connect_local (ED_CONNECT_PAGE (widget));
}

static void
on_show_server_action_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  EdConnectPage *self = ED_CONNECT_PAGE (widget);

  gtk_stack_set_visible_child_name (self->stack, "server");
  gtk_widget_grab_focus (GTK_WIDGET (self->url_row));
}

static void
on_show_choice_action_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  EdConnectPage *self = ED_CONNECT_PAGE (widget);

  gtk_stack_set_visible_child_name (self->stack, "choice");
}

static void
on_server_action_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  EdConnectPage *self = ED_CONNECT_PAGE (widget);
  EdApplication *app = get_application (self);
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->url_row))));
  g_autofree char *username = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->username_row))));
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));

  g_return_if_fail (app != NULL);

  if (*url == '\0' || *username == '\0' || *password == '\0')
    {
      set_error (self->server_error_label, _("Fill in the server’s address, your username and your password."));
      return;
    }

  /* "eventdesk.example.org" means its HTTPS address. */
  if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    {
      char *with_scheme = g_strconcat ("https://", url, NULL);

      g_free (url);
      url = with_scheme;
      gtk_editable_set_text (GTK_EDITABLE (self->url_row), url);
    }

  set_error (self->server_error_label, NULL);
  restart_cancellable (self);
  show_working (self, _("Connecting…"), url);
  ed_application_connect_server_async (app, url, username, password, self->cancellable,
                                       on_server_connected_cb, g_object_ref (self));
}

static void
ed_connect_page_dispose (GObject *object)
{
  EdConnectPage *self = ED_CONNECT_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_CONNECT_PAGE);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (ed_connect_page_parent_class)->dispose (object);
}

static void
ed_connect_page_class_init (EdConnectPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ed_connect_page_dispose;

  /* A logged-in client. */
  signals[CONNECTED] =
    g_signal_new ("connected",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, ED_TYPE_CLIENT);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-connect-page.ui");
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, content);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, stack);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, local_error_label);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, url_row);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, username_row);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, server_error_label);
  gtk_widget_class_bind_template_child (widget_class, EdConnectPage, working_page);
  gtk_widget_class_bind_template_callback (widget_class, on_spinner_map_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_spinner_unmap_cb);

  gtk_widget_class_install_action (widget_class, "connect.local", NULL, on_local_action_cb);
  gtk_widget_class_install_action (widget_class, "connect.show-server", NULL, on_show_server_action_cb);
  gtk_widget_class_install_action (widget_class, "connect.show-choice", NULL, on_show_choice_action_cb);
  gtk_widget_class_install_action (widget_class, "connect.server", NULL, on_server_action_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
ed_connect_page_init (EdConnectPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

/**
 * ed_connect_page_reconnect:
 *
 * Connects the way the settings say, without asking: the app's own
 * server, or the saved server with the password from the keyring. When
 * none was chosen yet, or that fails, the page asks (with the error).
 */
void
ed_connect_page_reconnect (EdConnectPage *self,
                           EdApplication *application)
{
  GSettings *settings;
  g_autofree char *url = NULL;
  g_autofree char *username = NULL;

  g_return_if_fail (ED_IS_CONNECT_PAGE (self));
  g_return_if_fail (ED_IS_APPLICATION (application));

  self->application = application;
  settings = ed_application_get_settings (application);
  url = g_settings_get_string (settings, "server-url");
  username = g_settings_get_string (settings, "username");
  gtk_editable_set_text (GTK_EDITABLE (self->url_row), url);
  gtk_editable_set_text (GTK_EDITABLE (self->username_row), username);

  switch ((EdConnectionMode) g_settings_get_enum (settings, "connection-mode"))
    {
    case ED_CONNECTION_LOCAL:
      connect_local (self);
      break;
    case ED_CONNECTION_SERVER:
      restart_cancellable (self);
      show_working (self, _("Connecting…"), url);
      ed_application_connect_server_async (application, url, username, NULL, self->cancellable,
                                           on_server_connected_cb, g_object_ref (self));
      break;
    case ED_CONNECTION_NONE:
    default:
      gtk_stack_set_visible_child_name (self->stack, "choice");
      break;
    }
}

void
ed_connect_page_cancel (EdConnectPage *self)
{
  g_return_if_fail (ED_IS_CONNECT_PAGE (self));

  g_cancellable_cancel (self->cancellable);
}
