/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-campaigns"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-campaign-row.h"
#include "ed-campaign-util.h"

struct _EdCampaignRow
{
  GtkListBoxRow   parent_instance;

  /* children */
  GtkLabel       *kind_label;
  GtkLabel       *title_label;
  GtkLabel       *state_label;
  GtkLabel       *reason_label;
  GtkProgressBar *progress_bar;
  GtkLabel       *progress_label;
  GtkWidget      *buttons[6];

  /* owned */
  JsonObject     *campaign;
  char           *progress_text;

  gint64          id;
};

G_DEFINE_FINAL_TYPE (EdCampaignRow, ed_campaign_row, GTK_TYPE_LIST_BOX_ROW)

/* The buttons, in the order they show, and when each is there. */
typedef enum
{
  BUTTON_EDIT,
  BUTTON_LAUNCH,
  BUTTON_PAUSE,
  BUTTON_RESUME,
  BUTTON_RETRY,
  BUTTON_CANCEL,
} Button;

static const struct
{
  const char *label;
  const char *action;
} button_info[] = {
  [BUTTON_EDIT] = { N_("_Edit…"), "campaign.edit" },
  [BUTTON_LAUNCH] = { N_("_Launch…"), "campaign.launch" },
  [BUTTON_PAUSE] = { N_("_Pause"), "campaign.pause" },
  [BUTTON_RESUME] = { N_("_Resume"), "campaign.resume" },
  [BUTTON_RETRY] = { N_("Retry _Failed"), "campaign.retry-failed" },
  [BUTTON_CANCEL] = { N_("_Cancel Campaign…"), "campaign.cancel" },
};

static JsonObject *
get_counts (JsonObject *campaign)
{
  JsonNode *node = json_object_get_member (campaign, "counts");

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static void
update_state_badge (EdCampaignRow *self,
                    const char    *state)
{
  g_autofree char *state_class = g_strconcat ("campaign-", state, NULL);
  const char *classes[] = { "badge", state_class, NULL };

  gtk_label_set_label (self->state_label, ed_campaign_state_label (state));
  gtk_widget_set_css_classes (GTK_WIDGET (self->state_label), classes);
}

static void
update_progress (EdCampaignRow *self)
{
  JsonObject *counts = get_counts (self->campaign);
  const char *state = json_object_get_string_member_with_default (self->campaign, "state", "draft");
  gint64 sent = ed_campaign_count (counts, "sent");
  gint64 failed = ed_campaign_count (counts, "failed");
  gint64 cancelled = ed_campaign_count (counts, "cancelled");
  gint64 retry = ed_campaign_count (counts, "retry");
  gint64 total = 0;
  double rate = json_object_get_double_member_with_default (self->campaign, "send_rate", 0.0);
  g_autoptr(GString) text = g_string_new (NULL);
  static const char * const states[] = { "queued", "sending", "sent", "retry", "failed", "cancelled" };

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    total += ed_campaign_count (counts, states[i]);

  if (g_str_equal (state, "draft"))
    g_string_append (text, _("Not launched yet"));
  else
    {
      g_autofree char *sent_text = ed_campaign_format_count (sent);
      g_autofree char *total_text = ed_campaign_format_count (total);
      g_autofree char *failed_text = ed_campaign_format_count (failed);
      g_autofree char *retry_text = ed_campaign_format_count (retry);
      g_autofree char *cancelled_text = ed_campaign_format_count (cancelled);

      /* TRANSLATORS: progress of a campaign, e.g. "15 of 20 sent" */
      g_string_append_printf (text, ngettext ("%s of %s sent", "%s of %s sent", (gulong) total),
                              sent_text, total_text);
      if (failed > 0)
        /* TRANSLATORS: appended to the progress: " · 2 failed" */
        g_string_append_printf (text, _(" · %s failed"), failed_text);
      if (retry > 0)
        g_string_append_printf (text, _(" · %s to retry"), retry_text);
      if (cancelled > 0)
        g_string_append_printf (text, _(" · %s cancelled"), cancelled_text);
      if (g_str_equal (state, "running"))
        {
          g_autofree char *rate_text = ed_campaign_format_rate (rate);

          g_string_append_printf (text, " · %s", rate_text);
        }
    }

  g_free (self->progress_text);
  self->progress_text = g_string_free (g_steal_pointer (&text), FALSE);
  gtk_label_set_label (self->progress_label, self->progress_text);
  gtk_progress_bar_set_fraction (self->progress_bar,
                                 total > 0 ? (double) (sent + failed + cancelled) / (double) total : 0.0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), !g_str_equal (state, "draft"));
}

static void
update_buttons (EdCampaignRow *self)
{
  const char *state = json_object_get_string_member_with_default (self->campaign, "state", "draft");
  gboolean transactional = json_object_get_boolean_member_with_default (self->campaign, "transactional", FALSE);
  gboolean draft = g_str_equal (state, "draft");
  gboolean running = g_str_equal (state, "running");
  gboolean paused = g_str_equal (state, "paused");
  gboolean done = g_str_equal (state, "done");
  gint64 failed = ed_campaign_count (get_counts (self->campaign), "failed");
  gboolean shown[] = {
    [BUTTON_EDIT] = !transactional && (draft || paused),
    [BUTTON_LAUNCH] = draft,
    [BUTTON_PAUSE] = running,
    [BUTTON_RESUME] = paused,
    [BUTTON_RETRY] = failed > 0 && (running || paused || done),
    [BUTTON_CANCEL] = !transactional && (draft || running || paused),
  };

  for (guint i = 0; i < G_N_ELEMENTS (shown); i++)
    gtk_widget_set_visible (self->buttons[i], shown[i]);
}

static void
update_all (EdCampaignRow *self)
{
  const char *reason = NULL;
  JsonNode *node = json_object_get_member (self->campaign, "state_reason");
  g_autofree char *title = NULL;
  g_autofree char *kind = NULL;
  const char *audience = json_object_get_string_member_with_default (self->campaign, "audience", NULL);
  const char *subject = json_object_get_string_member_with_default (self->campaign, "subject", "");

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node))
    reason = json_node_get_string (node);

  if (json_object_get_boolean_member_with_default (self->campaign, "transactional", FALSE))
    kind = g_strdup (_("Sent by Eventdesk as guests answer"));
  else
    /* TRANSLATORS: a campaign's kind and audience: "Invitation · Every guest" */
    kind = g_strdup_printf (_("%s · %s"),
                            ed_campaign_kind_label (json_object_get_string_member_with_default (self->campaign, "kind", NULL)),
                            ed_campaign_audience_label (audience));
  gtk_label_set_label (self->kind_label, kind);

  if (json_object_get_boolean_member_with_default (self->campaign, "transactional", FALSE) || *subject == '\0')
    title = g_strdup (ed_campaign_kind_label (json_object_get_string_member_with_default (self->campaign, "kind", NULL)));
  else
    title = g_strdup (subject);
  gtk_label_set_label (self->title_label, title);

  update_state_badge (self, json_object_get_string_member_with_default (self->campaign, "state", "draft"));
  gtk_label_set_label (self->reason_label, reason ? reason : "");
  gtk_widget_set_visible (GTK_WIDGET (self->reason_label), reason != NULL && *reason != '\0');
  update_progress (self);
  update_buttons (self);
}

static GtkLabel *
add_label (GtkBox     *box,
           const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  gtk_box_append (box, label);
  return GTK_LABEL (label);
}

static void
ed_campaign_row_finalize (GObject *object)
{
  EdCampaignRow *self = ED_CAMPAIGN_ROW (object);

  g_clear_pointer (&self->campaign, json_object_unref);
  g_clear_pointer (&self->progress_text, g_free);

  G_OBJECT_CLASS (ed_campaign_row_parent_class)->finalize (object);
}

static void
ed_campaign_row_class_init (EdCampaignRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ed_campaign_row_finalize;
}

static void
ed_campaign_row_init (EdCampaignRow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_widget_add_css_class (GTK_WIDGET (self), "ed-campaign-row");
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (self), FALSE);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);

  gtk_widget_set_hexpand (texts, TRUE);
  self->kind_label = add_label (GTK_BOX (texts), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (self->kind_label), "dim-label");
  self->title_label = add_label (GTK_BOX (texts), "heading");
  gtk_box_append (GTK_BOX (top), texts);
  self->state_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_valign (GTK_WIDGET (self->state_label), GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (top), GTK_WIDGET (self->state_label));
  gtk_box_append (GTK_BOX (box), top);

  self->reason_label = add_label (GTK_BOX (box), "ed-field-error");
  self->progress_bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress_bar));
  self->progress_label = add_label (GTK_BOX (box), "caption");

  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  for (guint i = 0; i < G_N_ELEMENTS (button_info); i++)
    {
      GtkWidget *button = gtk_button_new_with_mnemonic (_(button_info[i].label));

      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), button_info[i].action);
      if (i == BUTTON_LAUNCH)
        gtk_widget_add_css_class (button, "suggested-action");
      if (i == BUTTON_CANCEL)
        gtk_widget_add_css_class (button, "destructive-action");
      gtk_box_append (GTK_BOX (buttons), button);
      self->buttons[i] = button;
    }
  gtk_box_append (GTK_BOX (box), buttons);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), box);
}

EdCampaignRow *
ed_campaign_row_new (JsonObject *campaign)
{
  EdCampaignRow *self;

  g_return_val_if_fail (campaign != NULL, NULL);

  self = g_object_new (ED_TYPE_CAMPAIGN_ROW, NULL);
  ed_campaign_row_update (self, campaign);
  return self;
}

gint64
ed_campaign_row_get_id (EdCampaignRow *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_ROW (self), 0);
  return self->id;
}

JsonObject *
ed_campaign_row_get_campaign (EdCampaignRow *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_ROW (self), NULL);
  return self->campaign;
}

void
ed_campaign_row_update (EdCampaignRow *self,
                        JsonObject    *campaign)
{
  g_return_if_fail (ED_IS_CAMPAIGN_ROW (self));
  g_return_if_fail (campaign != NULL);

  if (self->campaign != campaign)
    {
      g_clear_pointer (&self->campaign, json_object_unref);
      self->campaign = json_object_ref (campaign);
    }
  self->id = json_object_get_int_member_with_default (campaign, "id", 0);
  for (guint i = 0; i < G_N_ELEMENTS (self->buttons); i++)
    gtk_actionable_set_action_target (GTK_ACTIONABLE (self->buttons[i]), "x", self->id);
  update_all (self);
}

/* The live feed carries the numbers, not the templates: they replace
 * those of the campaign the API gave.
 */
void
ed_campaign_row_update_live (EdCampaignRow *self,
                             JsonObject    *live)
{
  static const char * const members[] = { "state", "counts", "send_rate" };

  g_return_if_fail (ED_IS_CAMPAIGN_ROW (self));
  g_return_if_fail (live != NULL);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *member = json_object_get_member (live, members[i]);

      if (member != NULL)
        json_object_set_member (self->campaign, members[i], json_node_copy (member));
    }
  update_all (self);
}

const char *
ed_campaign_row_get_state (EdCampaignRow *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_ROW (self), NULL);
  return json_object_get_string_member_with_default (self->campaign, "state", NULL);
}

const char *
ed_campaign_row_get_progress_text (EdCampaignRow *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_ROW (self), NULL);
  return self->progress_text;
}

double
ed_campaign_row_get_fraction (EdCampaignRow *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_ROW (self), 0.0);
  return gtk_progress_bar_get_fraction (self->progress_bar);
}
