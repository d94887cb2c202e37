/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-event-page"

#include "config.h"

#include "ed-event-page.h"

typedef struct
{
  /* owned */
  EdClient     *client;
  EdLiveClient *live_client;

  gint64        event_id;
  gint64        subscribed_id;   /* the event subscribed to on live_client, or 0 */
} EdEventPagePrivate;

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_EVENT_ID,
  PROP_LIVE_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (EdEventPage, ed_event_page, GTK_TYPE_WIDGET)

static void
unsubscribe (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  if (priv->subscribed_id > 0)
    ed_live_client_unsubscribe (priv->live_client, priv->subscribed_id);
  priv->subscribed_id = 0;
}

static void
subscribe (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_assert (priv->subscribed_id == 0);

  if (priv->live_client == NULL || priv->event_id <= 0)
    return;
  priv->subscribed_id = priv->event_id;
  ed_live_client_subscribe (priv->live_client, priv->subscribed_id);
}

/* Hands the subclass the state the feed already holds, if any. */
static void
update_from_live_state (EdEventPage *self)
{
  EdEventPageClass *klass = ED_EVENT_PAGE_GET_CLASS (self);
  JsonObject *state;

  if (klass->live_update != NULL && (state = ed_event_page_get_live_state (self)) != NULL)
    klass->live_update (self, state);
}

static void
event_changed (EdEventPage *self)
{
  EdEventPageClass *klass = ED_EVENT_PAGE_GET_CLASS (self);

  if (klass->event_changed != NULL)
    klass->event_changed (self);
  update_from_live_state (self);
}

static void
live_changed (EdEventPage *self)
{
  EdEventPageClass *klass = ED_EVENT_PAGE_GET_CLASS (self);

  if (klass->live_changed != NULL)
    klass->live_changed (self);
}

static void
on_live_event_changed_cb (EdLiveClient *live_client,
                          gint64        event_id,
                          JsonObject   *state,
                          EdEventPage  *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);
  EdEventPageClass *klass = ED_EVENT_PAGE_GET_CLASS (self);

  if (event_id == priv->subscribed_id && state != NULL && klass->live_update != NULL)
    klass->live_update (self, state);
}

static void
on_live_notify_connected_cb (EdLiveClient *live_client,
                             GParamSpec   *pspec,
                             EdEventPage  *self)
{
  live_changed (self);
}

static void
ed_event_page_dispose (GObject *object)
{
  EdEventPage *self = ED_EVENT_PAGE (object);
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);
  GtkWidget *child;

  unsubscribe (self);
  if (priv->live_client != NULL)
    g_signal_handlers_disconnect_by_data (priv->live_client, self);
  g_clear_object (&priv->live_client);

  /* What a subclass's template left without a field to clear. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (ed_event_page_parent_class)->dispose (object);
}

/* The client stays until the end: a call finishing after dispose may
 * still read it. */
static void
ed_event_page_finalize (GObject *object)
{
  EdEventPage *self = ED_EVENT_PAGE (object);
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_clear_object (&priv->client);

  G_OBJECT_CLASS (ed_event_page_parent_class)->finalize (object);
}

static void
ed_event_page_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  EdEventPage *self = ED_EVENT_PAGE (object);
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, priv->client);
      break;
    case PROP_EVENT_ID:
      g_value_set_int64 (value, priv->event_id);
      break;
    case PROP_LIVE_CLIENT:
      g_value_set_object (value, priv->live_client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_event_page_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  EdEventPage *self = ED_EVENT_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      ed_event_page_set_client (self, g_value_get_object (value));
      break;
    case PROP_EVENT_ID:
      ed_event_page_set_event_id (self, g_value_get_int64 (value));
      break;
    case PROP_LIVE_CLIENT:
      ed_event_page_set_live_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_event_page_class_init (EdEventPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ed_event_page_dispose;
  object_class->finalize = ed_event_page_finalize;
  object_class->get_property = ed_event_page_get_property;
  object_class->set_property = ed_event_page_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, ED_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EVENT_ID] =
    g_param_spec_int64 ("event-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LIVE_CLIENT] =
    g_param_spec_object ("live-client", NULL, NULL, ED_TYPE_LIVE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A page is one child filling it: its template's. */
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
ed_event_page_init (EdEventPage *self)
{
}

EdClient *
ed_event_page_get_client (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_val_if_fail (ED_IS_EVENT_PAGE (self), NULL);
  return priv->client;
}

void
ed_event_page_set_client (EdEventPage *self,
                          EdClient    *client)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_if_fail (ED_IS_EVENT_PAGE (self));
  g_return_if_fail (client == NULL || ED_IS_CLIENT (client));

  if (!g_set_object (&priv->client, client))
    return;
  event_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

gint64
ed_event_page_get_event_id (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_val_if_fail (ED_IS_EVENT_PAGE (self), 0);
  return priv->event_id;
}

void
ed_event_page_set_event_id (EdEventPage *self,
                            gint64       event_id)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_if_fail (ED_IS_EVENT_PAGE (self));
  g_return_if_fail (event_id >= 0);

  if (priv->event_id == event_id)
    return;
  unsubscribe (self);
  priv->event_id = event_id;
  subscribe (self);
  event_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVENT_ID]);
}

EdLiveClient *
ed_event_page_get_live_client (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_val_if_fail (ED_IS_EVENT_PAGE (self), NULL);
  return priv->live_client;
}

void
ed_event_page_set_live_client (EdEventPage  *self,
                               EdLiveClient *live_client)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_if_fail (ED_IS_EVENT_PAGE (self));
  g_return_if_fail (live_client == NULL || ED_IS_LIVE_CLIENT (live_client));

  if (priv->live_client == live_client)
    return;

  if (priv->live_client != NULL)
    {
      unsubscribe (self);
      g_signal_handlers_disconnect_by_data (priv->live_client, self);
    }
  g_set_object (&priv->live_client, live_client);
  if (live_client != NULL)
    {
      g_signal_connect_object (live_client, "event-changed", G_CALLBACK (on_live_event_changed_cb), self, 0);
      g_signal_connect_object (live_client, "notify::connected", G_CALLBACK (on_live_notify_connected_cb),
                               self, 0);
      subscribe (self);
      update_from_live_state (self);
    }
  live_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE_CLIENT]);
}

JsonObject *
ed_event_page_get_live_state (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_val_if_fail (ED_IS_EVENT_PAGE (self), NULL);
  if (priv->subscribed_id <= 0)
    return NULL;
  return ed_live_client_get_state (priv->live_client, priv->subscribed_id);
}

gboolean
ed_event_page_has_event (EdEventPage *self)
{
  EdEventPagePrivate *priv = ed_event_page_get_instance_private (self);

  g_return_val_if_fail (ED_IS_EVENT_PAGE (self), FALSE);
  return priv->client != NULL && priv->event_id > 0;
}
