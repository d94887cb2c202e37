/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Counters for /metrics that only the main loop writes, and the
 * Prometheus text format (version 0.0.4) they are written in.
 */
typedef struct _EdMetrics EdMetrics;

EdMetrics *ed_metrics_new            (void);
void       ed_metrics_free           (EdMetrics   *self);
void       ed_metrics_count_request  (EdMetrics   *self,
                                      const char  *method,
                                      const char  *route,
                                      guint        status);
void       ed_metrics_append_requests (EdMetrics  *self,
                                      GString     *out);

void       ed_metrics_append_family  (GString     *out,
                                      const char  *name,
                                      const char  *type,
                                      const char  *help);
void       ed_metrics_append_sample  (GString     *out,
                                      const char  *name,
                                      const char  *label_name,
                                      const char  *label_value,
                                      double       value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdMetrics, ed_metrics_free)

G_END_DECLS
