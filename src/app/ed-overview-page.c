/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-overview"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "ed-chart-util.h"
#include "ed-event-page.h"
#include "ed-json-util.h"
#include "ed-overview-page.h"

/* While updates arrive, the timelines are fetched again at most this
 * often: the numbers follow every update, the charts over time a little
 * later, and the daemon is not asked ten times a second. */
#define TIMELINE_REFRESH_S 3
/* Enough columns to read a trend, few enough to hover each one. */
#define MIN_SLOTS 24
#define MAX_SLOTS 96

/* The bucket sizes tried, smallest first: whole minutes, as the API wants. */
static const gint64 bucket_sizes[] = { 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400 };

/* The answers by status, in the order of the bars. */
enum {
  BAR_ACCEPTED,
  BAR_WAITLISTED,
  BAR_DECLINED,
  BAR_PENDING,
  BAR_CANCELLED,
  N_BARS
};

static const char * const bar_statuses[N_BARS] = {
  "accepted", "waitlisted", "declined", "pending", "cancelled",
};

enum {
  ANSWER_ACCEPTED,
  ANSWER_WAITLISTED,
  ANSWER_DECLINED,
  ANSWER_CANCELLED,
  N_ANSWER_SERIES
};

static const char * const answer_statuses[N_ANSWER_SERIES] = {
  "accepted", "waitlisted", "declined", "cancelled",
};

enum {
  MAIL_SENT,
  MAIL_RETRIED,
  MAIL_FAILED,
  N_MAIL_SERIES
};

static const char * const mail_results[N_MAIL_SERIES] = {
  "sent", "retried", "failed",
};

struct _EdOverviewPage
{
  EdEventPage   parent_instance;

  /* template widgets */
  GtkLabel     *capacity_label;
  GtkLabel     *live_label;
  GtkLabel     *invited_label;
  GtkLabel     *accepted_label;
  GtkLabel     *declined_label;
  GtkLabel     *waitlisted_label;
  GtkLabel     *pending_label;
  GtkLabel     *seats_left_label;
  GtkLabel     *seats_left_caption;
  GtkLevelBar  *seats_bar;
  EdBarChart   *answers_chart;
  EdTimeChart  *timeline_chart;
  EdTimeChart  *mail_chart;
  GtkLabel     *send_rate_label;

  /* owned */
  GCancellable *cancellable;   /* the event's calls; cancelled on a change */

  gint64        bucket;
  gint64        last_fetch_us;
  guint         timelines_fetched;
  guint         refresh_source;
  gboolean      fetching;
  gboolean      refresh_wanted;
  gboolean      have_live_state;
};

G_DEFINE_FINAL_TYPE (EdOverviewPage, ed_overview_page, ED_TYPE_EVENT_PAGE)

static void fetch_timeline (EdOverviewPage *self);

static gint64
get_time (JsonObject *object,
          const char *member)
{
  const char *text = ed_json_get_string (object, member);
  g_autoptr(GDateTime) date_time = text ? g_date_time_new_from_iso8601 (text, NULL) : NULL;

  return date_time ? g_date_time_to_unix (date_time) : -1;
}

/* Sets a label only when its text changes: ten updates a second must not
 * lay the page out ten times. */
static void
set_label (GtkLabel   *label,
           const char *text)
{
  if (g_strcmp0 (gtk_label_get_label (label), text) != 0)
    gtk_label_set_label (label, text);
}

static void
set_count (GtkLabel *label,
           gint64    value)
{
  g_autofree char *text = ed_chart_format_count ((double) value);

  set_label (label, text);
}

static void
show_stats (EdOverviewPage *self,
            JsonObject     *stats)
{
  gint64 capacity = ed_json_get_int (stats, "capacity");
  gint64 seats_taken = ed_json_get_int (stats, "seats_taken");
  gint64 seats_left = ed_json_get_int (stats, "seats_left");
  g_autofree char *capacity_text = NULL;
  g_autofree char *taken_text = NULL;
  g_autofree char *accepted_text = NULL;
  g_autofree char *caption = NULL;
  g_autofree char *summary = NULL;

  set_count (self->invited_label, ed_json_get_int (stats, "guests"));
  set_count (self->accepted_label, seats_taken);
  set_count (self->declined_label, ed_json_get_int (stats, "declined"));
  set_count (self->waitlisted_label, ed_json_get_int (stats, "waitlisted"));
  set_count (self->pending_label, ed_json_get_int (stats, "pending"));
  set_count (self->seats_left_label, seats_left);

  capacity_text = ed_chart_format_count ((double) capacity);
  taken_text = ed_chart_format_count ((double) seats_taken);
  accepted_text = ed_chart_format_count ((double) ed_json_get_int (stats, "accepted"));
  /* TRANSLATORS: the caption under the seats left: "Seats Left of 500" */
  caption = g_strdup_printf (_("Seats Left of %s"), capacity_text);
  set_label (self->seats_left_caption, caption);
  /* TRANSLATORS: "312 of 500 seats taken by 280 accepted guests" */
  summary = g_strdup_printf (ngettext ("%s of %s seat taken by %s accepted guests",
                                       "%s of %s seats taken by %s accepted guests",
                                       (gulong) MIN (capacity, G_MAXINT)),
                             taken_text, capacity_text, accepted_text);
  set_label (self->capacity_label, summary);

  gtk_level_bar_set_value (self->seats_bar, capacity > 0 ? CLAMP ((double) seats_taken / capacity, 0, 1) : 0);

  for (guint i = 0; i < N_BARS; i++)
    ed_bar_chart_set_value (self->answers_chart, i, (double) ed_json_get_int (stats, bar_statuses[i]));
}

static void
show_mail (EdOverviewPage *self,
           JsonObject     *state)
{
  JsonArray *campaigns = ed_json_get_array (state, "campaigns");
  JsonObject *queue = ed_json_get_object (state, "queue");
  double rate = 0;
  gboolean running = FALSE;
  g_autofree char *text = NULL;
  g_autofree char *queued = NULL;

  for (guint i = 0; campaigns != NULL && i < json_array_get_length (campaigns); i++)
    {
      JsonNode *node = json_array_get_element (campaigns, i);
      JsonObject *campaign = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      rate += ed_json_get_double (campaign, "send_rate");
      if (g_strcmp0 (ed_json_get_string (campaign, "state"), "running") == 0)
        running = TRUE;
    }

  queued = ed_chart_format_count ((double) (ed_json_get_int (queue, "queued") + ed_json_get_int (queue, "retry") +
                                            ed_json_get_int (queue, "sending")));
  if (running || rate > 0)
    /* TRANSLATORS: the mail chart's current rate and what is left to send */
    text = g_strdup_printf (_("Sending %.1f messages/s · %s waiting"), rate, queued);
  else
    /* TRANSLATORS: no campaign is sending; %s messages are still queued */
    text = g_strdup_printf (_("Not sending · %s waiting"), queued);
  set_label (self->send_rate_label, text);
}

static void
update_live_label (EdOverviewPage *self)
{
  EdLiveClient *live_client = ed_event_page_get_live_client (ED_EVENT_PAGE (self));
  gboolean connected = live_client != NULL && ed_live_client_get_connected (live_client);

  set_label (self->live_label, connected ? _("● Live") : _("Reconnecting…"));
  if (connected)
    gtk_widget_remove_css_class (GTK_WIDGET (self->live_label), "dim-label");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->live_label), "dim-label");
  gtk_widget_set_visible (GTK_WIDGET (self->live_label), live_client != NULL);
}

/* Timelines */

static gint64
choose_bucket (gint64 span,
               gint64 at_least)
{
  for (guint i = 0; i < G_N_ELEMENTS (bucket_sizes); i++)
    if (bucket_sizes[i] >= at_least && span / bucket_sizes[i] <= MAX_SLOTS)
      return bucket_sizes[i];
  return bucket_sizes[G_N_ELEMENTS (bucket_sizes) - 1];
}

static void
fill_chart (EdTimeChart        *chart,
            JsonArray          *buckets,
            const char         *group,
            const char * const *names,
            guint               n_names,
            gint64              from,
            gint64              to,
            gint64              bucket)
{
  ed_time_chart_set_range (chart, from, to, bucket);
  ed_time_chart_clear (chart);

  for (guint i = 0; i < json_array_get_length (buckets); i++)
    {
      JsonNode *node = json_array_get_element (buckets, i);
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *values = ed_json_get_object (object, group);
      gint64 start = get_time (object, "start");

      if (values == NULL || start < 0)
        continue;
      for (guint s = 0; s < n_names; s++)
        ed_time_chart_set_value (chart, start, s, (double) ed_json_get_int (values, names[s]));
    }
}

static gboolean
on_refresh_cb (gpointer user_data)
{
  EdOverviewPage *self = user_data;

  self->refresh_source = 0;
  fetch_timeline (self);
  return G_SOURCE_REMOVE;
}

/* Asks for the timelines again, at most every TIMELINE_REFRESH_S. */
static void
schedule_refresh (EdOverviewPage *self)
{
  gint64 since_us = g_get_monotonic_time () - self->last_fetch_us;
  gint64 wait_ms;

  if (self->fetching)
    {
      self->refresh_wanted = TRUE;
      return;
    }
  if (self->refresh_source != 0)
    return;

  wait_ms = MAX (0, TIMELINE_REFRESH_S * 1000 - since_us / 1000);
  self->refresh_source = g_timeout_add ((guint) wait_ms, on_refresh_cb, self);
}

static void
on_timeline_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(EdOverviewPage) self = user_data;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *timeline;
  JsonArray *buckets;
  gint64 from, to, bucket, wanted;

  root = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->fetching = FALSE;
  self->last_fetch_us = g_get_monotonic_time ();

  if (error != NULL)
    {
      /* Too many buckets for the event's history: the next size up. */
      if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_INVALID) &&
          self->bucket < bucket_sizes[G_N_ELEMENTS (bucket_sizes) - 1])
        {
          self->bucket = choose_bucket (0, self->bucket + 1);
          fetch_timeline (self);
          return;
        }
      g_debug ("Cannot read the timeline of event %" G_GINT64_FORMAT ": %s",
               ed_event_page_get_event_id (ED_EVENT_PAGE (self)), error->message);
      return;
    }

  timeline = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  from = get_time (timeline, "from");
  to = get_time (timeline, "to");
  bucket = ed_json_get_int (timeline, "bucket");
  buckets = ed_json_get_array (timeline, "buckets");
  if (from < 0 || to < from || bucket <= 0 || buckets == NULL)
    {
      g_debug ("The timeline of event %" G_GINT64_FORMAT " is not what the API promises",
               ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
      return;
    }

  self->timelines_fetched++;

  /* An event's life grows: a coarser bucket once it holds too many. */
  wanted = choose_bucket (to - from, bucket);
  if (wanted != bucket)
    {
      self->bucket = wanted;
      fetch_timeline (self);
      return;
    }

  /* A young event's few buckets sit at the right of a fuller axis. */
  from = MIN (from, to - MIN_SLOTS * bucket);
  from -= from % bucket;

  fill_chart (self->timeline_chart, buckets, "answers",
              answer_statuses, N_ANSWER_SERIES, from, to, bucket);
  fill_chart (self->mail_chart, buckets, "messages",
              mail_results, N_MAIL_SERIES, from, to, bucket);

  if (self->refresh_wanted)
    {
      self->refresh_wanted = FALSE;
      schedule_refresh (self);
    }
}

static void
fetch_timeline (EdOverviewPage *self)
{
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  g_autofree char *bucket = NULL;

  if (!ed_event_page_has_event (ED_EVENT_PAGE (self)) || self->fetching)
    return;

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  self->fetching = TRUE;
  self->refresh_wanted = FALSE;
  bucket = g_strdup_printf ("%" G_GINT64_FORMAT, self->bucket);
  base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/timeline",
                          ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  path = ed_client_build_path (base, "bucket", bucket, NULL);
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL, self->cancellable,
                        on_timeline_cb, g_object_ref (self));
}

/* Stats before the live feed's snapshot */

static void
on_stats_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(EdOverviewPage) self = user_data;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  root = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    {
      g_debug ("Cannot read the stats of event %" G_GINT64_FORMAT ": %s",
               ed_event_page_get_event_id (ED_EVENT_PAGE (self)), error->message);
      return;
    }

  /* The live feed's numbers are as new or newer. */
  if (!self->have_live_state && root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    show_stats (self, json_node_get_object (root));
}

/* The live feed */

static void
show_state (EdOverviewPage *self,
            JsonObject     *state)
{
  JsonObject *stats = ed_json_get_object (state, "stats");

  if (stats == NULL)
    return;

  self->have_live_state = TRUE;
  show_stats (self, stats);
  show_mail (self, state);
  schedule_refresh (self);
}

static void
clear (EdOverviewPage *self)
{
  GtkLabel *labels[] = {
    self->invited_label, self->accepted_label, self->declined_label,
    self->waitlisted_label, self->pending_label, self->seats_left_label,
  };

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    set_label (labels[i], "–");
  set_label (self->capacity_label, "");
  set_label (self->send_rate_label, "");
  gtk_level_bar_set_value (self->seats_bar, 0);
  for (guint i = 0; i < N_BARS; i++)
    ed_bar_chart_set_value (self->answers_chart, i, 0);
  ed_time_chart_clear (self->timeline_chart);
  ed_time_chart_clear (self->mail_chart);
}

/* Loads the event shown from scratch: its stats and timelines. */
static void
reload (EdOverviewPage *self)
{
  g_autofree char *path = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  self->fetching = FALSE;
  self->refresh_wanted = FALSE;
  self->have_live_state = FALSE;
  self->bucket = bucket_sizes[0];
  clear (self);

  if (!ed_event_page_has_event (ED_EVENT_PAGE (self)))
    return;

  self->cancellable = g_cancellable_new ();
  path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/stats",
                          ed_event_page_get_event_id (ED_EVENT_PAGE (self)));
  ed_client_call_async (ed_event_page_get_client (ED_EVENT_PAGE (self)), "GET", path, NULL, self->cancellable,
                        on_stats_cb, g_object_ref (self));
  fetch_timeline (self);
}

/* EdEventPage */

static void
ed_overview_page_event_changed (EdEventPage *page)
{
  reload (ED_OVERVIEW_PAGE (page));
}

static void
ed_overview_page_live_update (EdEventPage *page,
                              JsonObject  *state)
{
  show_state (ED_OVERVIEW_PAGE (page), state);
}

static void
ed_overview_page_live_changed (EdEventPage *page)
{
  update_live_label (ED_OVERVIEW_PAGE (page));
}

static void
ed_overview_page_dispose (GObject *object)
{
  EdOverviewPage *self = (EdOverviewPage *)object;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_OVERVIEW_PAGE);

  G_OBJECT_CLASS (ed_overview_page_parent_class)->dispose (object);
}

static void
ed_overview_page_class_init (EdOverviewPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  EdEventPageClass *page_class = ED_EVENT_PAGE_CLASS (klass);

  object_class->dispose = ed_overview_page_dispose;
  page_class->event_changed = ed_overview_page_event_changed;
  page_class->live_update = ed_overview_page_live_update;
  page_class->live_changed = ed_overview_page_live_changed;

  g_type_ensure (ED_TYPE_BAR_CHART);
  g_type_ensure (ED_TYPE_TIME_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-overview-page.ui");
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, capacity_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, live_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, invited_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, accepted_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, declined_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, waitlisted_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, pending_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, seats_left_label);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, seats_left_caption);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, seats_bar);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, answers_chart);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, timeline_chart);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, mail_chart);
  gtk_widget_class_bind_template_child (widget_class, EdOverviewPage, send_rate_label);
}

static void
ed_overview_page_init (EdOverviewPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->bucket = bucket_sizes[0];

  /* Colours: style.css's ed_chart_* names, which follow libadwaita's
   * light, dark and high-contrast colours. */
  ed_bar_chart_add_bar (self->answers_chart, _("Accepted"), "ed_chart_accepted");
  ed_bar_chart_add_bar (self->answers_chart, _("Waitlisted"), "ed_chart_waitlisted");
  ed_bar_chart_add_bar (self->answers_chart, _("Declined"), "ed_chart_declined");
  ed_bar_chart_add_bar (self->answers_chart, _("No answer yet"), "ed_chart_neutral");
  ed_bar_chart_add_bar (self->answers_chart, _("Cancelled"), "ed_chart_faint");

  ed_time_chart_add_series (self->timeline_chart, _("Accepted"), "ed_chart_accepted");
  ed_time_chart_add_series (self->timeline_chart, _("Waitlisted"), "ed_chart_waitlisted");
  ed_time_chart_add_series (self->timeline_chart, _("Declined"), "ed_chart_declined");
  ed_time_chart_add_series (self->timeline_chart, _("Cancelled"), "ed_chart_faint");

  ed_time_chart_add_series (self->mail_chart, _("Sent"), "ed_chart_sent");
  ed_time_chart_add_series (self->mail_chart, _("Deferred"), "ed_chart_retried");
  ed_time_chart_add_series (self->mail_chart, _("Failed"), "ed_chart_failed");

  update_live_label (self);
  clear (self);
}

GtkWidget *
ed_overview_page_new (void)
{
  return g_object_new (ED_TYPE_OVERVIEW_PAGE, NULL);
}

const char *
ed_overview_page_get_number (EdOverviewPage *self,
                             const char     *key)
{
  g_return_val_if_fail (ED_IS_OVERVIEW_PAGE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (g_str_equal (key, "invited"))
    return gtk_label_get_label (self->invited_label);
  if (g_str_equal (key, "accepted"))
    return gtk_label_get_label (self->accepted_label);
  if (g_str_equal (key, "declined"))
    return gtk_label_get_label (self->declined_label);
  if (g_str_equal (key, "waitlisted"))
    return gtk_label_get_label (self->waitlisted_label);
  if (g_str_equal (key, "pending"))
    return gtk_label_get_label (self->pending_label);
  if (g_str_equal (key, "seats-left"))
    return gtk_label_get_label (self->seats_left_label);

  g_return_val_if_reached (NULL);
}

EdBarChart *
ed_overview_page_get_answers_chart (EdOverviewPage *self)
{
  g_return_val_if_fail (ED_IS_OVERVIEW_PAGE (self), NULL);

  return self->answers_chart;
}

EdTimeChart *
ed_overview_page_get_timeline_chart (EdOverviewPage *self)
{
  g_return_val_if_fail (ED_IS_OVERVIEW_PAGE (self), NULL);

  return self->timeline_chart;
}

EdTimeChart *
ed_overview_page_get_mail_chart (EdOverviewPage *self)
{
  g_return_val_if_fail (ED_IS_OVERVIEW_PAGE (self), NULL);

  return self->mail_chart;
}

const char *
ed_overview_page_get_send_rate (EdOverviewPage *self)
{
  g_return_val_if_fail (ED_IS_OVERVIEW_PAGE (self), NULL);

  return gtk_label_get_label (self->send_rate_label);
}

guint
ed_overview_page_get_timelines_fetched (EdOverviewPage *self)
{
  g_return_val_if_fail (ED_IS_OVERVIEW_PAGE (self), 0);

  return self->timelines_fetched;
}
