/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-campaigns"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "ed-campaign-composer.h"
#include "ed-campaign-row.h"
#include "ed-campaign-util.h"
#include "ed-campaigns-page.h"
#include "ed-event-page.h"
#include "ed-json-util.h"

#define CAMPAIGNS_PAGE_SIZE "100"

struct _EdCampaignsPage
{
  EdEventPage      parent_instance;

  /* template widgets */
  AdwToastOverlay *toast_overlay;
  GtkStack        *stack;
  GtkListBox      *list_box;

  /* owned */
  GCancellable    *cancellable;   /* the event's: cancelled when it changes */
  GHashTable      *rows;          /* campaign id → EdCampaignRow (borrowed) */

  guint            n_busy;
  gboolean         reload_again;
};

G_DEFINE_FINAL_TYPE (EdCampaignsPage, ed_campaigns_page, ED_TYPE_EVENT_PAGE)

static void load_campaigns (EdCampaignsPage *self);

static void
show_toast (EdCampaignsPage *self,
            const char      *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Cancelled calls say nothing; lost connections and expired sessions
 * have the window's banner and login. */
static GtkWindow *
get_window (EdCampaignsPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
update_actions (EdCampaignsPage *self)
{
  gboolean ready = ed_event_page_has_event (ED_EVENT_PAGE (self));
  static const char * const actions[] = {
    "campaigns.new", "campaign.edit", "campaign.launch", "campaign.pause",
    "campaign.resume", "campaign.cancel", "campaign.retry-failed",
  };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), actions[i], ready);
}

static EdCampaignRow *
find_row (EdCampaignsPage *self,
          gint64           campaign_id)
{
  return g_hash_table_lookup (self->rows, &campaign_id);
}

static void
clear_rows (EdCampaignsPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box))) != NULL)
    gtk_list_box_remove (self->list_box, child);
  g_hash_table_remove_all (self->rows);
}

static void
update_stack (EdCampaignsPage *self)
{
  gtk_stack_set_visible_child_name (self->stack, g_hash_table_size (self->rows) > 0 ? "list" : "empty");
}

/* A campaign from the API: its row updated, or a new one at the end. */
static void
show_campaign (EdCampaignsPage *self,
               JsonObject      *campaign)
{
  gint64 id = json_object_get_int_member_with_default (campaign, "id", 0);
  EdCampaignRow *row;
  JsonObject *state;

  if (id <= 0)
    return;

  if ((row = find_row (self, id)) != NULL)
    {
      ed_campaign_row_update (row, campaign);
      return;
    }

  row = ed_campaign_row_new (campaign);
  g_hash_table_insert (self->rows, g_memdup2 (&id, sizeof id), row);
  gtk_list_box_append (self->list_box, GTK_WIDGET (row));
  update_stack (self);

  /* The live numbers may be newer than the list's. */
  if ((state = ed_event_page_get_live_state (ED_EVENT_PAGE (self))) != NULL)
    {
      JsonArray *campaigns = ed_json_get_array (state, "campaigns");

      for (guint i = 0; campaigns != NULL && i < json_array_get_length (campaigns); i++)
        {
          JsonObject *live = json_array_get_object_element (campaigns, i);

          if (live != NULL && json_object_get_int_member_with_default (live, "id", 0) == id)
            ed_campaign_row_update_live (row, live);
        }
    }
}

/* Busy counts the calls under way, for tests. */
static void
begin_busy (EdCampaignsPage *self)
{
  self->n_busy++;
}

static void
end_busy (EdCampaignsPage *self)
{
  g_assert (self->n_busy > 0);
  self->n_busy--;
}

/* Loading: every page of the event's campaigns (they are few). */

typedef struct
{
  EdCampaignsPage *self;
  GPtrArray       *campaigns;  /* JsonObject */
  gint64           event_id;
} Load;

static void
load_free (Load *load)
{
  end_busy (load->self);
  g_object_unref (load->self);
  g_ptr_array_unref (load->campaigns);
  g_free (load);
}

static void load_page (Load *load, const char *after);

static void
on_campaigns_page_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Load *load = user_data;
  EdCampaignsPage *self = load->self;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *page;
  JsonArray *items;
  JsonNode *next;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      if (error != NULL && !ed_client_error_is_quiet (error))
        {
          g_autofree char *title = g_strdup_printf (_("Could not load the campaigns: %s"), error->message);

          show_toast (self, title);
        }
      load_free (load);
      return;
    }

  page = json_node_get_object (answer);
  items = ed_json_get_array (page, "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *campaign = json_array_get_object_element (items, i);

      if (campaign != NULL)
        g_ptr_array_add (load->campaigns, json_object_ref (campaign));
    }

  next = json_object_get_member (page, "next");
  if (next != NULL && JSON_NODE_HOLDS_VALUE (next))
    {
      g_autofree char *after = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (next));

      load_page (load, after);
      return;
    }

  /* Campaigns are never deleted: rows are only added or updated. */
  if (load->event_id == ed_event_page_get_event_id (ED_EVENT_PAGE (self)))
    {
      for (guint i = 0; i < load->campaigns->len; i++)
        show_campaign (self, g_ptr_array_index (load->campaigns, i));
      update_stack (self);
    }

  load_free (load);
  if (self->reload_again)
    {
      self->reload_again = FALSE;
      load_campaigns (self);
    }
}

static void
load_page (Load       *load,
           const char *after)
{
  EdCampaignsPage *self = load->self;
  g_autofree char *base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/campaigns", load->event_id);
  g_autofree char *path = ed_client_build_path (base, "limit", CAMPAIGNS_PAGE_SIZE, "after", after, NULL);

  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL, self->cancellable,
                        on_campaigns_page_cb, load);
}

static void
load_campaigns (EdCampaignsPage *self)
{
  Load *load;

  if (!ed_event_page_has_event (ED_EVENT_PAGE (self)))
    return;

  load = g_new0 (Load, 1);
  load->self = g_object_ref (self);
  load->campaigns = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  load->event_id = ed_event_page_get_event_id (ED_EVENT_PAGE (self));
  begin_busy (self);
  load_page (load, NULL);
}

/* The live feed */

/* The live feed's state of the event: the campaigns' progress. */
static void
show_live_state (EdCampaignsPage *self,
                 JsonObject      *state)
{
  JsonArray *campaigns;
  gboolean unknown = FALSE;

  campaigns = ed_json_get_array (state, "campaigns");
  for (guint i = 0; campaigns != NULL && i < json_array_get_length (campaigns); i++)
    {
      JsonObject *live = json_array_get_object_element (campaigns, i);
      EdCampaignRow *row;

      if (live == NULL)
        continue;
      if ((row = find_row (self, json_object_get_int_member_with_default (live, "id", 0))) != NULL)
        ed_campaign_row_update_live (row, live);
      else
        unknown = TRUE;
    }

  /* A campaign made elsewhere (another window, the command line). */
  if (unknown)
    {
      if (self->n_busy > 0)
        self->reload_again = TRUE;
      else
        load_campaigns (self);
    }
}

static void
reset (EdCampaignsPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->reload_again = FALSE;
  clear_rows (self);
  update_stack (self);
  update_actions (self);
  load_campaigns (self);
}

/* Actions */

typedef struct
{
  EdCampaignsPage *self;
  char            *action;
} ActionCall;

static void
action_call_free (ActionCall *call)
{
  end_busy (call->self);
  g_object_unref (call->self);
  g_free (call->action);
  g_free (call);
}

static void
on_action_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ActionCall *call = user_data;
  EdCampaignsPage *self = call->self;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  const char *done = NULL;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      if (error != NULL && !ed_client_error_is_quiet (error))
        {
          g_autofree char *title = g_strdup_printf (_("The campaign was not changed: %s"), error->message);

          show_toast (self, title);
        }
      /* It may have changed meanwhile: show what it is now. */
      load_campaigns (self);
      action_call_free (call);
      return;
    }

  show_campaign (self, json_node_get_object (answer));

  if (g_str_equal (call->action, "launch"))
    done = _("Campaign launched");
  else if (g_str_equal (call->action, "pause"))
    done = _("Campaign paused");
  else if (g_str_equal (call->action, "resume"))
    done = _("Campaign resumed");
  else if (g_str_equal (call->action, "cancel"))
    done = _("Campaign cancelled");
  else if (g_str_equal (call->action, "retry-failed"))
    done = _("Failed messages queued again");
  if (done != NULL)
    show_toast (self, done);

  action_call_free (call);
}

static void
run_action (EdCampaignsPage *self,
            gint64           campaign_id,
            const char      *action)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/%s", campaign_id, action);
  ActionCall *call = g_new0 (ActionCall, 1);

  call->self = g_object_ref (self);
  call->action = g_strdup (action);
  begin_busy (self);
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "POST", path, NULL,
                        self->cancellable, on_action_done_cb, call);
}

static void
on_composer_saved_cb (EdCampaignsPage *self,
                      JsonObject      *campaign)
{
  if (json_object_get_int_member_with_default (campaign, "event_id", 0) ==
      ed_event_page_get_event_id (ED_EVENT_PAGE (self)))
    show_campaign (self, campaign);
}

static void
open_composer (EdCampaignsPage *self,
               JsonObject      *campaign)
{
  EdCampaignComposer *composer = ed_campaign_composer_new (ed_event_page_get_client (ED_EVENT_PAGE (self)),
                                                           ed_event_page_get_event_id (ED_EVENT_PAGE (self)),
                                                           campaign);
  GtkWindow *window = get_window (self);

  if (window != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (composer), window);
  g_signal_connect_object (composer, "saved", G_CALLBACK (on_composer_saved_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (composer));
}

static void
new_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  open_composer (ED_CAMPAIGNS_PAGE (widget), NULL);
}

static void
edit_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  EdCampaignsPage *self = ED_CAMPAIGNS_PAGE (widget);
  EdCampaignRow *row = find_row (self, g_variant_get_int64 (parameter));

  if (row != NULL)
    open_composer (self, ed_campaign_row_get_campaign (row));
}

static void
on_confirm_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        EdCampaignsPage  *self)
{
  gint64 campaign_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "ed-campaign-id"));
  const char *action = g_object_get_data (G_OBJECT (dialog), "ed-action");

  if (g_strcmp0 (response, action) == 0 && campaign_id > 0)
    run_action (self, campaign_id, action);
}

/* Asks before @action; its response is named after the action, the other
 * one "dismiss". */
static void
confirm (EdCampaignsPage       *self,
         gint64                 campaign_id,
         const char            *action,
         const char            *heading,
         const char            *body,
         const char            *dismiss_label,
         const char            *label,
         AdwResponseAppearance  appearance)
{
  AdwMessageDialog *dialog;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (get_window (self), heading, body));
  adw_message_dialog_add_responses (dialog, "dismiss", dismiss_label, action, label, NULL);
  adw_message_dialog_set_response_appearance (dialog, action, appearance);
  adw_message_dialog_set_default_response (dialog, "dismiss");
  adw_message_dialog_set_close_response (dialog, "dismiss");
  g_object_set_data (G_OBJECT (dialog), "ed-campaign-id", GSIZE_TO_POINTER ((gsize) campaign_id));
  g_object_set_data_full (G_OBJECT (dialog), "ed-action", g_strdup (action), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_confirm_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct
{
  EdCampaignsPage *self;
  gint64           campaign_id;
} Count;

static void
on_launch_count_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Count *count = user_data;
  EdCampaignsPage *self = count->self;
  EdCampaignRow *row = find_row (self, count->campaign_id);
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  g_autofree char *what = NULL;
  g_autofree char *n_text = NULL;
  gint64 n;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer) || row == NULL)
    {
      if (error != NULL && !ed_client_error_is_quiet (error))
        {
          g_autofree char *title = g_strdup_printf (_("Could not count the recipients: %s"), error->message);

          show_toast (self, title);
        }
      goto out;
    }

  n = json_object_get_int_member_with_default (json_node_get_object (answer), "count", 0);
  n_text = ed_campaign_format_count (n);
  what = ed_campaign_describe (ed_campaign_row_get_campaign (row));
  heading = g_strdup_printf (ngettext ("Send to %s Guest?", "Send to %s Guests?", (gulong) n), n_text);
  if (n == 0)
    body = g_strdup_printf (_("%s has no recipients: nobody is in its audience now. It will be done at once."), what);
  else
    /* TRANSLATORS: the first %s is the campaign, e.g. Invitation: “Summer party”; the second its
     * audience, e.g. Every guest */
    body = g_strdup_printf (ngettext ("%s goes out now to %s guest (%s).\n\nA launched campaign can be paused or cancelled, but not turned back into a draft.",
                                      "%s goes out now to %s guests (%s).\n\nA launched campaign can be paused or cancelled, but not turned back into a draft.",
                                      (gulong) n),
                            what, n_text,
                            ed_campaign_audience_label (json_object_get_string_member_with_default (ed_campaign_row_get_campaign (row), "audience", NULL)));
  confirm (self, count->campaign_id, "launch", heading, body, _("_Cancel"), _("_Launch"), ADW_RESPONSE_SUGGESTED);

out:
  end_busy (self);
  g_object_unref (count->self);
  g_free (count);
}

static void
launch_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdCampaignsPage *self = ED_CAMPAIGNS_PAGE (widget);
  gint64 campaign_id = g_variant_get_int64 (parameter);
  EdCampaignRow *row = find_row (self, campaign_id);
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  Count *count;

  if (row == NULL)
    return;

  /* The count now, not the one of the composer: guests answer meanwhile. */
  base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/audience",
                          ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  path = ed_client_build_path (base, "audience",
                               json_object_get_string_member_with_default (ed_campaign_row_get_campaign (row), "audience", "all"),
                               NULL);
  count = g_new0 (Count, 1);
  count->self = g_object_ref (self);
  count->campaign_id = campaign_id;
  begin_busy (self);
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL, self->cancellable,
                        on_launch_count_cb, count);
}

static void
pause_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  run_action (ED_CAMPAIGNS_PAGE (widget), g_variant_get_int64 (parameter), "pause");
}

static void
resume_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  run_action (ED_CAMPAIGNS_PAGE (widget), g_variant_get_int64 (parameter), "resume");
}

static void
retry_failed_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  run_action (ED_CAMPAIGNS_PAGE (widget), g_variant_get_int64 (parameter), "retry-failed");
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  EdCampaignsPage *self = ED_CAMPAIGNS_PAGE (widget);
  gint64 campaign_id = g_variant_get_int64 (parameter);
  EdCampaignRow *row = find_row (self, campaign_id);
  JsonObject *counts;
  g_autofree char *what = NULL;
  g_autofree char *body = NULL;
  g_autofree char *count = NULL;
  gint64 waiting;

  if (row == NULL)
    return;

  counts = ed_json_get_object (ed_campaign_row_get_campaign (row), "counts");
  /* Those being tried right now count too: most come back to wait (a
   * deferral, a dropped connection) and are then cancelled; a moment after a
   * resume, a campaign retried soon has all of them out at once. */
  waiting = ed_campaign_count (counts, "queued") + ed_campaign_count (counts, "sending") +
            ed_campaign_count (counts, "retry");
  what = ed_campaign_describe (ed_campaign_row_get_campaign (row));
  count = ed_campaign_format_count (waiting);
  if (waiting > 0)
    body = g_strdup_printf (ngettext ("%s stops for good: its %s message still waiting is not sent. Pause it instead to send it later.",
                                      "%s stops for good: its %s messages still waiting are not sent. Pause it instead to send it later.",
                                      (gulong) waiting), what, count);
  else
    body = g_strdup_printf (_("%s stops for good and cannot be launched again."), what);
  confirm (self, campaign_id, "cancel", _("Cancel the Campaign?"), body, _("_Keep It"), _("Cancel _Campaign"),
           ADW_RESPONSE_DESTRUCTIVE);
}

/* EdEventPage */

static void
ed_campaigns_page_event_changed (EdEventPage *page)
{
  reset (ED_CAMPAIGNS_PAGE (page));
}

static void
ed_campaigns_page_live_update (EdEventPage *page,
                               JsonObject  *state)
{
  show_live_state (ED_CAMPAIGNS_PAGE (page), state);
}

static void
ed_campaigns_page_dispose (GObject *object)
{
  EdCampaignsPage *self = ED_CAMPAIGNS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_hash_table_remove_all (self->rows);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_CAMPAIGNS_PAGE);

  G_OBJECT_CLASS (ed_campaigns_page_parent_class)->dispose (object);
}

static void
ed_campaigns_page_finalize (GObject *object)
{
  EdCampaignsPage *self = ED_CAMPAIGNS_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rows, g_hash_table_unref);

  G_OBJECT_CLASS (ed_campaigns_page_parent_class)->finalize (object);
}

static void
ed_campaigns_page_class_init (EdCampaignsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  EdEventPageClass *page_class = ED_EVENT_PAGE_CLASS (klass);

  object_class->dispose = ed_campaigns_page_dispose;
  object_class->finalize = ed_campaigns_page_finalize;
  page_class->event_changed = ed_campaigns_page_event_changed;
  page_class->live_update = ed_campaigns_page_live_update;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-campaigns-page.ui");
  gtk_widget_class_bind_template_child (widget_class, EdCampaignsPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignsPage, list_box);

  gtk_widget_class_install_action (widget_class, "campaigns.new", NULL, new_action);
  gtk_widget_class_install_action (widget_class, "campaign.edit", "x", edit_action);
  gtk_widget_class_install_action (widget_class, "campaign.launch", "x", launch_action);
  gtk_widget_class_install_action (widget_class, "campaign.pause", "x", pause_action);
  gtk_widget_class_install_action (widget_class, "campaign.resume", "x", resume_action);
  gtk_widget_class_install_action (widget_class, "campaign.cancel", "x", cancel_action);
  gtk_widget_class_install_action (widget_class, "campaign.retry-failed", "x", retry_failed_action);

  gtk_widget_class_set_css_name (widget_class, "campaignspage");
}

static void
ed_campaigns_page_init (EdCampaignsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  update_stack (self);
  update_actions (self);
}

GtkWidget *
ed_campaigns_page_new (void)
{
  return g_object_new (ED_TYPE_CAMPAIGNS_PAGE, NULL);
}

EdCampaignRow *
ed_campaigns_page_get_row (EdCampaignsPage *self,
                           gint64           campaign_id)
{
  g_return_val_if_fail (ED_IS_CAMPAIGNS_PAGE (self), NULL);
  return find_row (self, campaign_id);
}

gboolean
ed_campaigns_page_get_busy (EdCampaignsPage *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGNS_PAGE (self), FALSE);
  return self->n_busy > 0;
}
