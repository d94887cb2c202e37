/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Counts over time as stacked columns, one per time bucket (answers or
 * mail per hour…), series stacked in the order added, with a legend, a
 * value axis and the first and last time under it. Hovering a column shows
 * its time and values in a tooltip; screen readers get the title as the
 * label and the totals and the busiest bucket in the description.
 */
#define ED_TYPE_TIME_CHART (ed_time_chart_get_type ())

G_DECLARE_FINAL_TYPE (EdTimeChart, ed_time_chart, ED, TIME_CHART, GtkWidget)

GtkWidget  *ed_time_chart_new            (void);
/* Property "title": what the chart shows, for screen readers. */
const char *ed_time_chart_get_title      (EdTimeChart     *self);
void        ed_time_chart_set_title      (EdTimeChart     *self,
                                          const char      *title);
/* Adds a series; @color_name as for ed_chart_lookup_color(). Returns its index. */
guint       ed_time_chart_add_series     (EdTimeChart     *self,
                                          const char      *label,
                                          const char      *color_name);
/* The time shown, in Unix seconds: buckets of @bucket seconds from @from
 * to @to. Buckets outside are dropped. */
void        ed_time_chart_set_range      (EdTimeChart     *self,
                                          gint64           from,
                                          gint64           to,
                                          gint64           bucket);
/* Empties every bucket (the range stays). */
void        ed_time_chart_clear          (EdTimeChart     *self);
/* The value of @series in the bucket that starts at @start. */
void        ed_time_chart_set_value      (EdTimeChart     *self,
                                          gint64           start,
                                          guint            series,
                                          double           value);
double      ed_time_chart_get_value      (EdTimeChart     *self,
                                          gint64           start,
                                          guint            series);
/* For tests: where the column of the bucket at @start is drawn, all its
 * series stacked (empty when it holds nothing), and the tooltip text. */
void        ed_time_chart_get_column_rect (EdTimeChart    *self,
                                           gint64          start,
                                           graphene_rect_t *rect);
char       *ed_time_chart_dup_bucket_text (EdTimeChart    *self,
                                           gint64          start);

G_END_DECLS
