/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-deliveries"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "ed-campaign-util.h"
#include "ed-deliveries-page.h"
#include "ed-event-page.h"
#include "ed-guest-object.h"
#include "ed-json-util.h"

#define FAILURES_PAGE_SIZE "100"
#define RETRIES_SHOWN "10"
#define RETRY_IDS_MAX 500
/* After the live numbers change, the lists are read again this much
 * later, once for a burst of changes. */
#define RELOAD_DELAY_MS 500

static const char * const states[] = { "queued", "sending", "sent", "retry", "failed", "cancelled" };
#define N_STATES G_N_ELEMENTS (states)

struct _EdDeliveriesPage
{
  EdEventPage      parent_instance;

  /* template widgets */
  AdwToastOverlay *toast_overlay;
  GtkLabel        *rate_label;
  GtkBox          *counts_box;
  GtkListBox      *retries_list;
  GtkDropDown     *campaign_dropdown;
  GtkListBox      *failures_list;
  GtkWidget       *more_button;
  GtkLabel        *selected_label;

  /* children made in init */
  GtkLabel        *count_labels[N_STATES];

  /* owned */
  GCancellable    *cancellable;      /* the event's: cancelled when it changes */
  GCancellable    *lists_cancellable;
  GArray          *campaign_ids;     /* gint64, as in campaign_dropdown; 0 = all */
  GHashTable      *failed_counts;    /* campaign id → failed messages (gint64) */
  GPtrArray       *failure_rows;     /* AdwActionRow, in list order */
  char            *rate_text;
  char            *next_failure;     /* the failures' next page key, or NULL */

  char            *last_errors;      /* the live feed's latest errors, as JSON */
  gint64           last_failed;
  gint64           last_retry;
  guint            reload_source;
  gboolean         reload_failures;
  gboolean         reload_retries;
  guint            n_busy;
  guint            n_retries;
  gboolean         filling_dropdown;
};

G_DEFINE_FINAL_TYPE (EdDeliveriesPage, ed_deliveries_page, ED_TYPE_EVENT_PAGE)

static void load_lists (EdDeliveriesPage *self);
static void load_campaigns (EdDeliveriesPage *self);

static void
show_toast (EdDeliveriesPage *self,
            const char       *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
begin_busy (EdDeliveriesPage *self)
{
  self->n_busy++;
}

static void
end_busy (EdDeliveriesPage *self)
{
  g_assert (self->n_busy > 0);
  self->n_busy--;
}

static gint64
get_filter_campaign (EdDeliveriesPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->campaign_dropdown);

  return selected < self->campaign_ids->len ? g_array_index (self->campaign_ids, gint64, selected) : 0;
}

static guint
count_selected (EdDeliveriesPage *self)
{
  guint n = 0;

  for (guint i = 0; i < self->failure_rows->len; i++)
    {
      GtkCheckButton *check = g_object_get_data (g_ptr_array_index (self->failure_rows, i), "ed-check");

      if (gtk_check_button_get_active (check))
        n++;
    }
  return n;
}

static void
update_actions (EdDeliveriesPage *self)
{
  gboolean ready = ed_event_page_has_event (ED_EVENT_PAGE (self));
  guint n_selected = count_selected (self);
  g_autofree char *text = NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "deliveries.retry-selected", ready && n_selected > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "deliveries.retry-all", ready && self->failure_rows->len > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "deliveries.show-more", ready && self->next_failure != NULL);
  gtk_widget_set_visible (self->more_button, self->next_failure != NULL);

  if (n_selected > 0)
    text = g_strdup_printf (ngettext ("%u failure selected", "%u failures selected", n_selected), n_selected);
  gtk_label_set_label (self->selected_label, text ? text : "");
}

/* The numbers, from the live feed */

static void
show_counts (EdDeliveriesPage *self,
             JsonObject       *queue,
             double            rate)
{
  for (guint i = 0; i < N_STATES; i++)
    {
      g_autofree char *value = ed_campaign_format_count (ed_campaign_count (queue, states[i]));

      gtk_label_set_label (self->count_labels[i], value);
    }

  g_free (self->rate_text);
  self->rate_text = ed_campaign_format_rate (rate);
  gtk_label_set_label (self->rate_label, self->rate_text);
}

static void load_failures (EdDeliveriesPage *self, const char *after);
static void load_retries (EdDeliveriesPage *self);

static gboolean
on_reload_timeout_cb (gpointer user_data)
{
  EdDeliveriesPage *self = user_data;

  self->reload_source = 0;
  if (self->reload_failures && self->reload_retries)
    load_lists (self);
  else if (self->reload_failures)
    load_failures (self, NULL);
  else if (self->reload_retries)
    load_retries (self);
  self->reload_failures = self->reload_retries = FALSE;
  return G_SOURCE_REMOVE;
}

static void
schedule_reload (EdDeliveriesPage *self,
                 gboolean          failures,
                 gboolean          retries)
{
  self->reload_failures |= failures;
  self->reload_retries |= retries;
  if (self->reload_source == 0)
    self->reload_source = g_timeout_add (RELOAD_DELAY_MS, on_reload_timeout_cb, self);
}

/* The live feed's state of the event: the queue's counts and rate, and
 * the lists again when failures or retries changed. */
static void
show_live_state (EdDeliveriesPage *self,
                 JsonObject       *state)
{
  g_autofree char *errors = NULL;
  JsonNode *errors_node;
  JsonObject *queue;
  JsonArray *campaigns;
  double rate = 0.0;
  gboolean unknown = FALSE;
  gint64 failed, retry;

  if ((queue = ed_json_get_object (state, "queue")) == NULL)
    return;

  campaigns = ed_json_get_array (state, "campaigns");
  /* This event's rate: its campaigns' rates together. */
  for (guint i = 0; campaigns != NULL && i < json_array_get_length (campaigns); i++)
    {
      JsonObject *campaign = json_array_get_object_element (campaigns, i);
      gint64 id;

      if (campaign == NULL)
        continue;
      id = json_object_get_int_member_with_default (campaign, "id", 0);
      rate += json_object_get_double_member_with_default (campaign, "send_rate", 0.0);
      if (!g_hash_table_contains (self->failed_counts, &id))
        unknown = TRUE;
      g_hash_table_insert (self->failed_counts, g_memdup2 (&id, sizeof id),
                           GSIZE_TO_POINTER ((gsize) ed_campaign_count (ed_json_get_object (campaign, "counts"),
                                                                          "failed")));
    }
  show_counts (self, queue, rate);

  if (unknown)
    load_campaigns (self);

  /* The lists follow the failures and retries, not every message sent:
   * the failures their count, the retries also each new deferral, which
   * moves a message's next attempt. */
  failed = ed_campaign_count (queue, "failed");
  retry = ed_campaign_count (queue, "retry");
  errors_node = json_object_get_member (state, "errors");
  errors = errors_node ? json_to_string (errors_node, FALSE) : NULL;
  if (failed != self->last_failed || retry != self->last_retry || g_strcmp0 (errors, self->last_errors) != 0)
    {
      schedule_reload (self, failed != self->last_failed, TRUE);
      self->last_failed = failed;
      self->last_retry = retry;
      g_free (self->last_errors);
      self->last_errors = g_steal_pointer (&errors);
    }
}

/* The campaigns, for the filter */

static void
on_campaigns_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(EdDeliveriesPage) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  gint64 filter = get_filter_campaign (self);
  guint selected = 0;
  JsonArray *items;

  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      if (error != NULL && !ed_client_error_is_quiet (error))
        {
          g_autofree char *title = g_strdup_printf (_("Could not load the campaigns: %s"), error->message);

          show_toast (self, title);
        }
      return;
    }

  /* The first entry, all campaigns, is id 0. */
  g_array_set_size (self->campaign_ids, 1);
  gtk_string_list_append (names, _("All Campaigns"));
  items = ed_json_get_array (json_node_get_object (answer), "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *campaign = json_array_get_object_element (items, i);
      g_autofree char *name = NULL;
      gint64 id;

      if (campaign == NULL)
        continue;
      id = json_object_get_int_member_with_default (campaign, "id", 0);
      name = ed_campaign_describe (campaign);
      if (id == filter)
        selected = self->campaign_ids->len;
      gtk_string_list_append (names, name);
      g_array_append_val (self->campaign_ids, id);
      g_hash_table_insert (self->failed_counts, g_memdup2 (&id, sizeof id),
                           GSIZE_TO_POINTER ((gsize) ed_campaign_count (ed_json_get_object (campaign, "counts"),
                                                                          "failed")));
    }

  self->filling_dropdown = TRUE;
  gtk_drop_down_set_model (self->campaign_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->campaign_dropdown, selected);
  self->filling_dropdown = FALSE;
}

static void
load_campaigns (EdDeliveriesPage *self)
{
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;

  if (!ed_event_page_has_event (ED_EVENT_PAGE (self)))
    return;

  /* An event has few campaigns: one page of the most there may be. */
  base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/campaigns",
                          ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  path = ed_client_build_path (base, "limit", "500", NULL);
  begin_busy (self);
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL, self->cancellable,
                        on_campaigns_cb, g_object_ref (self));
}

/* The lists */

static char *
describe_guest (JsonObject *message)
{
  g_autofree char *name = g_strdup_printf ("%s %s",
                                           json_object_get_string_member_with_default (message, "first_name", ""),
                                           json_object_get_string_member_with_default (message, "last_name", ""));

  g_strstrip (name);
  if (*name == '\0')
    return g_strdup (json_object_get_string_member_with_default (message, "email", ""));
  /* TRANSLATORS: a guest: name, then address */
  return g_strdup_printf (_("%s <%s>"), name, json_object_get_string_member_with_default (message, "email", ""));
}

static char *
describe_reply (JsonObject *message)
{
  JsonNode *code = json_object_get_member (message, "last_code");
  const char *text = json_object_get_string_member_with_default (message, "last_text", "");

  if (code == NULL || !JSON_NODE_HOLDS_VALUE (code) || json_node_get_int (code) == 0)
    /* TRANSLATORS: a delivery attempt that got no SMTP reply: the error follows */
    return g_strdup_printf (_("No reply: %s"), text);
  return g_strdup_printf ("%" G_GINT64_FORMAT " %s", json_node_get_int (code), text);
}

static void
on_failure_toggled_cb (EdDeliveriesPage *self)
{
  update_actions (self);
}

static void
add_failure (EdDeliveriesPage *self,
             JsonObject       *message)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *check = gtk_check_button_new ();
  g_autofree char *guest = describe_guest (message);
  g_autofree char *reply = describe_reply (message);
  g_autofree char *subtitle = NULL;
  const char *kind = json_object_get_string_member_with_default (message, "campaign_kind", NULL);

  /* TRANSLATORS: a failure: the server's code and reply, then the campaign's kind */
  subtitle = g_strdup_printf (_("%s · %s"), reply, ed_campaign_kind_label (kind));
  /* Names and replies are text, not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), guest);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, guest, -1);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
  g_signal_connect_object (check, "toggled", G_CALLBACK (on_failure_toggled_cb), self, G_CONNECT_SWAPPED);

  g_object_set_data (G_OBJECT (row), "ed-check", check);
  g_object_set_data (G_OBJECT (row), "ed-message-id",
                     GSIZE_TO_POINTER ((gsize) json_object_get_int_member_with_default (message, "id", 0)));
  g_object_set_data (G_OBJECT (row), "ed-campaign-id",
                     GSIZE_TO_POINTER ((gsize) json_object_get_int_member_with_default (message, "campaign_id", 0)));
  g_object_set_data_full (G_OBJECT (row), "ed-subtitle", g_steal_pointer (&subtitle), g_free);
  g_object_set_data_full (G_OBJECT (row), "ed-title", g_steal_pointer (&guest), g_free);

  gtk_list_box_append (self->failures_list, row);
  g_ptr_array_add (self->failure_rows, row);
}

static void
clear_list (GtkListBox *list)
{
  GtkListBoxRow *row;

  while ((row = gtk_list_box_get_row_at_index (list, 0)) != NULL)
    gtk_list_box_remove (list, GTK_WIDGET (row));
}

typedef struct
{
  EdDeliveriesPage *self;
  gboolean          more;  /* a next page, added to the list */
} FailuresCall;

static void
on_failures_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  FailuresCall *call = user_data;
  g_autoptr(EdDeliveriesPage) self = call->self;
  gboolean more = call->more;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *page;
  JsonArray *items;
  JsonNode *next;

  g_free (call);
  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      if (error != NULL && !ed_client_error_is_quiet (error))
        {
          g_autofree char *title = g_strdup_printf (_("Could not load the failures: %s"), error->message);

          show_toast (self, title);
        }
      return;
    }

  if (!more)
    {
      clear_list (self->failures_list);
      g_ptr_array_set_size (self->failure_rows, 0);
    }

  page = json_node_get_object (answer);
  items = ed_json_get_array (page, "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *message = json_array_get_object_element (items, i);

      if (message != NULL)
        add_failure (self, message);
    }

  g_clear_pointer (&self->next_failure, g_free);
  next = json_object_get_member (page, "next");
  if (next != NULL && JSON_NODE_HOLDS_VALUE (next))
    self->next_failure = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (next));
  update_actions (self);
}

static void
load_failures (EdDeliveriesPage *self,
               const char       *after)
{
  g_autofree char *event = g_strdup_printf ("%" G_GINT64_FORMAT,
                                            ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  g_autofree char *campaign = NULL;
  g_autofree char *path = NULL;
  gint64 campaign_id = get_filter_campaign (self);
  FailuresCall *call;

  if (campaign_id > 0)
    campaign = g_strdup_printf ("%" G_GINT64_FORMAT, campaign_id);
  path = ed_client_build_path ("/api/v1/messages",
                               "state", "failed",
                               "event", event,
                               "campaign", campaign,
                               "limit", FAILURES_PAGE_SIZE,
                               "after", after,
                               NULL);
  call = g_new0 (FailuresCall, 1);
  call->self = g_object_ref (self);
  call->more = after != NULL;
  begin_busy (self);
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL,
                        self->lists_cancellable, on_failures_cb, call);
}

/* Retries come seconds or minutes apart: today's to the second. */
static char *
format_next_attempt (const char *rfc3339)
{
  g_autoptr(GDateTime) utc = rfc3339 ? g_date_time_new_from_iso8601 (rfc3339, NULL) : NULL;
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (utc == NULL)
    return ed_guest_format_time (rfc3339);

  local = g_date_time_to_local (utc);
  if (g_date_time_get_year (local) != g_date_time_get_year (now) ||
      g_date_time_get_day_of_year (local) != g_date_time_get_day_of_year (now))
    return ed_guest_format_time (rfc3339);

  /* TRANSLATORS: when a message is tried again today; see strftime(3) */
  return g_date_time_format (local, _("%H:%M:%S"));
}

static void
on_retries_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(EdDeliveriesPage) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *items;

  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      if (error != NULL && !ed_client_error_is_quiet (error))
        {
          g_autofree char *title = g_strdup_printf (_("Could not load the retries: %s"), error->message);

          show_toast (self, title);
        }
      return;
    }

  clear_list (self->retries_list);
  self->n_retries = 0;
  items = ed_json_get_array (json_node_get_object (answer), "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *message = json_array_get_object_element (items, i);
      GtkWidget *row, *when;
      g_autofree char *guest = NULL;
      g_autofree char *reply = NULL;
      g_autofree char *at = NULL;
      g_autofree char *subtitle = NULL;
      g_autofree char *count = NULL;
      gint64 attempts;

      if (message == NULL)
        continue;
      guest = describe_guest (message);
      reply = describe_reply (message);
      attempts = json_object_get_int_member_with_default (message, "attempts", 0);
      count = ed_campaign_format_count (attempts);
      at = format_next_attempt (json_object_get_string_member_with_default (message, "next_attempt_at", NULL));
      /* TRANSLATORS: a retry: attempts so far, then the server's last reply */
      subtitle = g_strdup_printf (ngettext ("%s attempt so far · %s", "%s attempts so far · %s", (gulong) attempts),
                                  count, reply);
      row = adw_action_row_new ();
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), guest);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      when = gtk_label_new (at);
      gtk_widget_add_css_class (when, "numeric");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), when);
      gtk_list_box_append (self->retries_list, row);
      self->n_retries++;
    }
}

static void
load_retries (EdDeliveriesPage *self)
{
  g_autofree char *event = g_strdup_printf ("%" G_GINT64_FORMAT,
                                            ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  g_autofree char *path = ed_client_build_path ("/api/v1/messages",
                                                "state", "retry",
                                                "order", "next_attempt",
                                                "event", event,
                                                "limit", RETRIES_SHOWN,
                                                NULL);

  begin_busy (self);
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL,
                        self->lists_cancellable, on_retries_cb, g_object_ref (self));
}

/* Both lists from their start; what was ticked is let go. */
static void
load_lists (EdDeliveriesPage *self)
{
  if (!ed_event_page_has_event (ED_EVENT_PAGE (self)))
    return;

  g_cancellable_cancel (self->lists_cancellable);
  g_clear_object (&self->lists_cancellable);
  self->lists_cancellable = g_cancellable_new ();
  load_failures (self, NULL);
  load_retries (self);
}

static void
on_campaign_dropdown_selected_cb (EdDeliveriesPage *self)
{
  if (!self->filling_dropdown)
    load_lists (self);
}

/* Retrying: one request per campaign (and per 500 messages), one after
 * the other. */

typedef struct
{
  EdDeliveriesPage *self;
  GPtrArray        *paths;   /* char * */
  GPtrArray        *bodies;  /* JsonNode *, or NULL for all of its failures */
  guint             next;
  guint             n_failed;
  char             *first_error;
} Retry;

static void
retry_free (Retry *retry)
{
  g_object_unref (retry->self);
  g_ptr_array_unref (retry->paths);
  g_ptr_array_unref (retry->bodies);
  g_free (retry->first_error);
  g_free (retry);
}

static void retry_step (Retry *retry);

static void
on_retry_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Retry *retry = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = ed_client_call_finish (ED_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      end_busy (retry->self);
      retry_free (retry);
      return;
    }
  if (error != NULL)
    {
      retry->n_failed++;
      if (retry->first_error == NULL)
        retry->first_error = g_strdup (error->message);
    }
  retry_step (retry);
}

static void
retry_step (Retry *retry)
{
  EdDeliveriesPage *self = retry->self;

  if (retry->next < retry->paths->len)
    {
      guint i = retry->next++;

      ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "POST",
                            g_ptr_array_index (retry->paths, i), g_ptr_array_index (retry->bodies, i),
                            self->cancellable, on_retry_cb, retry);
      return;
    }

  if (retry->n_failed > 0)
    {
      g_autofree char *title = g_strdup_printf (_("Some failures were not retried: %s"), retry->first_error);

      show_toast (self, title);
    }
  else
    show_toast (self, _("Failed messages queued again"));
  end_busy (self);
  load_lists (self);
  retry_free (retry);
}

static Retry *
retry_new (EdDeliveriesPage *self)
{
  Retry *retry = g_new0 (Retry, 1);

  retry->self = g_object_ref (self);
  retry->paths = g_ptr_array_new_with_free_func (g_free);
  retry->bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  return retry;
}

static void
retry_add (Retry  *retry,
           gint64  campaign_id,
           GArray *ids)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (ids != NULL)
    {
      json_builder_set_member_name (builder, "message_ids");
      json_builder_begin_array (builder);
      for (guint i = 0; i < ids->len; i++)
        json_builder_add_int_value (builder, g_array_index (ids, gint64, i));
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);

  g_ptr_array_add (retry->paths, g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/retry-failed", campaign_id));
  g_ptr_array_add (retry->bodies, json_builder_get_root (builder));
}

static void
retry_start (Retry *retry)
{
  begin_busy (retry->self);
  retry_step (retry);
}

static void
retry_selected_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  EdDeliveriesPage *self = ED_DELIVERIES_PAGE (widget);
  g_autoptr(GHashTable) by_campaign = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                             (GDestroyNotify) g_array_unref);
  Retry *retry = retry_new (self);
  GHashTableIter iter;
  gint64 *campaign_id;
  GArray *ids;

  for (guint i = 0; i < self->failure_rows->len; i++)
    {
      GObject *row = g_ptr_array_index (self->failure_rows, i);
      gint64 id = GPOINTER_TO_SIZE (g_object_get_data (row, "ed-message-id"));
      gint64 campaign = GPOINTER_TO_SIZE (g_object_get_data (row, "ed-campaign-id"));

      if (!gtk_check_button_get_active (g_object_get_data (row, "ed-check")))
        continue;
      if ((ids = g_hash_table_lookup (by_campaign, &campaign)) == NULL)
        {
          ids = g_array_new (FALSE, FALSE, sizeof (gint64));
          g_hash_table_insert (by_campaign, g_memdup2 (&campaign, sizeof campaign), ids);
        }
      g_array_append_val (ids, id);
    }

  g_hash_table_iter_init (&iter, by_campaign);
  while (g_hash_table_iter_next (&iter, (gpointer *) &campaign_id, (gpointer *) &ids))
    for (guint start = 0; start < ids->len; start += RETRY_IDS_MAX)
      {
        g_autoptr(GArray) chunk = g_array_new (FALSE, FALSE, sizeof (gint64));

        g_array_append_vals (chunk, &g_array_index (ids, gint64, start), MIN (RETRY_IDS_MAX, ids->len - start));
        retry_add (retry, *campaign_id, chunk);
      }

  retry_start (retry);
}

static void
retry_all_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  EdDeliveriesPage *self = ED_DELIVERIES_PAGE (widget);
  gint64 filter = get_filter_campaign (self);
  Retry *retry = retry_new (self);
  GHashTableIter iter;
  gint64 *campaign_id;
  gpointer failed;

  if (filter > 0)
    retry_add (retry, filter, NULL);
  else
    {
      g_hash_table_iter_init (&iter, self->failed_counts);
      while (g_hash_table_iter_next (&iter, (gpointer *) &campaign_id, &failed))
        if (GPOINTER_TO_SIZE (failed) > 0)
          retry_add (retry, *campaign_id, NULL);
    }

  retry_start (retry);
}

static void
show_more_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  EdDeliveriesPage *self = ED_DELIVERIES_PAGE (widget);
  g_autofree char *after = g_strdup (self->next_failure);

  if (after != NULL)
    load_failures (self, after);
}

/* The event */

static void
reset (EdDeliveriesPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_hash_table_remove_all (self->failed_counts);
  clear_list (self->failures_list);
  clear_list (self->retries_list);
  g_ptr_array_set_size (self->failure_rows, 0);
  g_clear_pointer (&self->next_failure, g_free);
  self->n_retries = 0;
  self->last_failed = self->last_retry = -1;
  g_clear_pointer (&self->last_errors, g_free);
  self->reload_failures = self->reload_retries = FALSE;
  show_counts (self, NULL, 0.0);
  update_actions (self);

  load_campaigns (self);
  load_lists (self);
}

static GtkWidget *
make_count_cell (const char  *caption,
                 GtkLabel   **value_out)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *value = gtk_label_new ("0");
  GtkWidget *label = gtk_label_new (caption);

  gtk_widget_add_css_class (box, "card");
  gtk_widget_add_css_class (box, "ed-queue-count");
  gtk_widget_add_css_class (value, "title-2");
  gtk_widget_add_css_class (value, "numeric");
  gtk_widget_add_css_class (label, "caption");
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (box), value);
  gtk_box_append (GTK_BOX (box), label);
  *value_out = GTK_LABEL (value);
  return box;
}

/* EdEventPage */

static void
ed_deliveries_page_event_changed (EdEventPage *page)
{
  reset (ED_DELIVERIES_PAGE (page));
}

static void
ed_deliveries_page_live_update (EdEventPage *page,
                                JsonObject  *state)
{
  show_live_state (ED_DELIVERIES_PAGE (page), state);
}

static void
ed_deliveries_page_dispose (GObject *object)
{
  EdDeliveriesPage *self = ED_DELIVERIES_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->lists_cancellable);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  if (self->failure_rows != NULL)
    g_ptr_array_set_size (self->failure_rows, 0);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_DELIVERIES_PAGE);

  G_OBJECT_CLASS (ed_deliveries_page_parent_class)->dispose (object);
}

static void
ed_deliveries_page_finalize (GObject *object)
{
  EdDeliveriesPage *self = ED_DELIVERIES_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->lists_cancellable);
  g_clear_pointer (&self->campaign_ids, g_array_unref);
  g_clear_pointer (&self->failed_counts, g_hash_table_unref);
  g_clear_pointer (&self->failure_rows, g_ptr_array_unref);
  g_clear_pointer (&self->rate_text, g_free);
  g_clear_pointer (&self->next_failure, g_free);
  g_clear_pointer (&self->last_errors, g_free);

  G_OBJECT_CLASS (ed_deliveries_page_parent_class)->finalize (object);
}

static void
ed_deliveries_page_class_init (EdDeliveriesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  EdEventPageClass *page_class = ED_EVENT_PAGE_CLASS (klass);

  object_class->dispose = ed_deliveries_page_dispose;
  object_class->finalize = ed_deliveries_page_finalize;
  page_class->event_changed = ed_deliveries_page_event_changed;
  page_class->live_update = ed_deliveries_page_live_update;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-deliveries-page.ui");
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, rate_label);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, counts_box);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, retries_list);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, campaign_dropdown);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, failures_list);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, more_button);
  gtk_widget_class_bind_template_child (widget_class, EdDeliveriesPage, selected_label);
  gtk_widget_class_bind_template_callback (widget_class, on_campaign_dropdown_selected_cb);

  gtk_widget_class_install_action (widget_class, "deliveries.retry-selected", NULL, retry_selected_action);
  gtk_widget_class_install_action (widget_class, "deliveries.retry-all", NULL, retry_all_action);
  gtk_widget_class_install_action (widget_class, "deliveries.show-more", NULL, show_more_action);

  gtk_widget_class_set_css_name (widget_class, "deliveriespage");
}

static void
ed_deliveries_page_init (EdDeliveriesPage *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new ((const char * const []) { _("All Campaigns"), NULL });
  GtkWidget *placeholder;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->lists_cancellable = g_cancellable_new ();
  self->campaign_ids = g_array_new (FALSE, TRUE, sizeof (gint64));
  g_array_set_size (self->campaign_ids, 1);
  self->failed_counts = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->failure_rows = g_ptr_array_new ();
  self->last_failed = self->last_retry = -1;

  self->filling_dropdown = TRUE;
  gtk_drop_down_set_model (self->campaign_dropdown, G_LIST_MODEL (names));
  self->filling_dropdown = FALSE;

  for (guint i = 0; i < N_STATES; i++)
    gtk_box_append (self->counts_box, make_count_cell (ed_message_state_label (states[i]), &self->count_labels[i]));

  placeholder = gtk_label_new (_("No retries waiting"));
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 12);
  gtk_widget_set_margin_bottom (placeholder, 12);
  gtk_list_box_set_placeholder (self->retries_list, placeholder);
  placeholder = gtk_label_new (_("No failed messages"));
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 12);
  gtk_widget_set_margin_bottom (placeholder, 12);
  gtk_list_box_set_placeholder (self->failures_list, placeholder);

  show_counts (self, NULL, 0.0);
  update_actions (self);
}

GtkWidget *
ed_deliveries_page_new (void)
{
  return g_object_new (ED_TYPE_DELIVERIES_PAGE, NULL);
}

void
ed_deliveries_page_set_campaign (EdDeliveriesPage *self,
                                 gint64            campaign_id)
{
  g_return_if_fail (ED_IS_DELIVERIES_PAGE (self));

  for (guint i = 0; i < self->campaign_ids->len; i++)
    if (g_array_index (self->campaign_ids, gint64, i) == campaign_id)
      gtk_drop_down_set_selected (self->campaign_dropdown, i);
}

const char *
ed_deliveries_page_get_count_text (EdDeliveriesPage *self,
                                   const char       *state)
{
  g_return_val_if_fail (ED_IS_DELIVERIES_PAGE (self), NULL);

  for (guint i = 0; i < N_STATES; i++)
    if (g_strcmp0 (states[i], state) == 0)
      return gtk_label_get_label (self->count_labels[i]);

  g_return_val_if_reached (NULL);
}

const char *
ed_deliveries_page_get_rate_text (EdDeliveriesPage *self)
{
  g_return_val_if_fail (ED_IS_DELIVERIES_PAGE (self), NULL);
  return self->rate_text;
}

guint
ed_deliveries_page_get_n_failures (EdDeliveriesPage *self)
{
  g_return_val_if_fail (ED_IS_DELIVERIES_PAGE (self), 0);
  return self->failure_rows->len;
}

gint64
ed_deliveries_page_get_failure (EdDeliveriesPage  *self,
                                guint              position,
                                const char       **title,
                                const char       **subtitle)
{
  GObject *row;

  g_return_val_if_fail (ED_IS_DELIVERIES_PAGE (self), 0);
  g_return_val_if_fail (position < self->failure_rows->len, 0);

  row = g_ptr_array_index (self->failure_rows, position);
  if (title != NULL)
    *title = g_object_get_data (row, "ed-title");
  if (subtitle != NULL)
    *subtitle = g_object_get_data (row, "ed-subtitle");
  return GPOINTER_TO_SIZE (g_object_get_data (row, "ed-message-id"));
}

void
ed_deliveries_page_set_failure_selected (EdDeliveriesPage *self,
                                         guint             position,
                                         gboolean          selected)
{
  g_return_if_fail (ED_IS_DELIVERIES_PAGE (self));
  g_return_if_fail (position < self->failure_rows->len);

  gtk_check_button_set_active (g_object_get_data (g_ptr_array_index (self->failure_rows, position), "ed-check"),
                               selected);
}

guint
ed_deliveries_page_get_n_retries (EdDeliveriesPage *self)
{
  g_return_val_if_fail (ED_IS_DELIVERIES_PAGE (self), 0);
  return self->n_retries;
}

gboolean
ed_deliveries_page_get_busy (EdDeliveriesPage *self)
{
  g_return_val_if_fail (ED_IS_DELIVERIES_PAGE (self), FALSE);
  return self->n_busy > 0 || self->reload_source != 0;
}
