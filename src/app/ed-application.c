/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-application-private.h"
#include "ed-renderer-util.h"
#include "ed-window.h"

G_DEFINE_FINAL_TYPE (EdApplication, ed_application, ADW_TYPE_APPLICATION)

/* Accelerators of actions that pages install on themselves
 * (gtk_widget_class_install_action); they work wherever the page is.
 */
static const struct {
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.quit", { "<Primary>q", NULL } },
  { "window.close", { "<Primary>w", NULL } },
  { "win.new-event", { "<Primary><Shift>n", NULL } },
  { "win.show-help-overlay", { "<Primary>question", NULL } },
  { "guests.search", { "<Primary>f", NULL } },
  { "guests.new", { "<Primary>n", NULL } },
  { "guests.import", { "<Primary>i", NULL } },
  { "guests.export", { "<Primary>e", NULL } },
};

static EdWindow *
get_window (EdApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (ED_IS_WINDOW (window))
    return ED_WINDOW (window);

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (ED_IS_WINDOW (l->data))
      return l->data;

  return NULL;
}

static void
on_quit_action_cb (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  EdApplication *self = user_data;
  EdWindow *window = get_window (self);

  /* The window asks first when closing would stop something. */
  if (window != NULL)
    gtk_window_close (GTK_WINDOW (window));
  else
    g_application_quit (G_APPLICATION (self));
}

static void
on_about_action_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  EdApplication *self = user_data;
  const char *developers[] = { _("The Eventdesk authors"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", get_window (self),
                        "application-name", _("Eventdesk"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "comments", _("Invite guests, take their answers, keep the event within capacity"),
                        "developers", developers,
                        "license-type", GTK_LICENSE_GPL_3_0,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
ed_application_activate (GApplication *app)
{
  EdApplication *self = ED_APPLICATION (app);
  EdWindow *window = get_window (self);

  if (window == NULL)
    window = ed_window_new (self);

  gtk_window_present (GTK_WINDOW (window));
}

static void
ed_application_startup (GApplication *app)
{
  EdApplication *self = ED_APPLICATION (app);
  static const GActionEntry entries[] = {
    { "quit", on_quit_action_cb },
    { "about", on_about_action_cb },
  };

  G_APPLICATION_CLASS (ed_application_parent_class)->startup (app);

  /* Before the first window is realized: what its renderer will be. */
  ed_renderer_choose_for_display (gdk_display_get_default ());

  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action, accels[i].accels);

  self->settings = g_settings_new ("org.eventdesk.Eventdesk");
}

/* Quitting stops the app's own daemon. */
static void
ed_application_shutdown (GApplication *app)
{
  EdApplication *self = ED_APPLICATION (app);

  if (self->local_daemon != NULL)
    ed_local_daemon_stop (self->local_daemon);

  G_APPLICATION_CLASS (ed_application_parent_class)->shutdown (app);
}

static void
ed_application_finalize (GObject *object)
{
  EdApplication *self = ED_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->local_daemon);

  G_OBJECT_CLASS (ed_application_parent_class)->finalize (object);
}

static void
ed_application_class_init (EdApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = ed_application_finalize;
  app_class->activate = ed_application_activate;
  app_class->startup = ed_application_startup;
  app_class->shutdown = ed_application_shutdown;
}

static void
ed_application_init (EdApplication *self)
{
}

EdApplication *
ed_application_new (const char        *application_id,
                    GApplicationFlags  flags)
{
  g_return_val_if_fail (application_id != NULL, NULL);

  /* The resources stay under one path whatever the profile's app ID. */
  return g_object_new (ED_TYPE_APPLICATION,
                       "application-id", application_id,
                       "flags", flags,
                       "resource-base-path", "/org/eventdesk/Eventdesk",
                       NULL);
}

/* The app's settings; valid from startup on. */
GSettings *
ed_application_get_settings (EdApplication *self)
{
  g_return_val_if_fail (ED_IS_APPLICATION (self), NULL);

  return self->settings;
}

/* The app's own daemon, once "This computer" was chosen; else NULL. */
EdLocalDaemon *
ed_application_get_local_daemon (EdApplication *self)
{
  g_return_val_if_fail (ED_IS_APPLICATION (self), NULL);

  return self->local_daemon;
}
