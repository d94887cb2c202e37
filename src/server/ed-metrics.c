/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-metrics.h"

/* Requests are counted by method, route pattern (never the path, which
 * can hold a guest's token) and status: a bounded set of series.
 */

typedef struct
{
  const char *method;  /* interned */
  const char *route;   /* interned */
  guint       status;
  guint64     count;
} RequestCounter;

struct _EdMetrics
{
  GHashTable *requests; /* "method route status" -> RequestCounter */
};

EdMetrics *
ed_metrics_new (void)
{
  EdMetrics *self = g_new0 (EdMetrics, 1);

  self->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
ed_metrics_free (EdMetrics *self)
{
  if (self == NULL)
    return;

  g_hash_table_unref (self->requests);
  g_free (self);
}

void
ed_metrics_count_request (EdMetrics  *self,
                          const char *method,
                          const char *route,
                          guint       status)
{
  g_autofree char *key = NULL;
  RequestCounter *counter;

  g_return_if_fail (self != NULL);

  method = method ? method : "-";
  key = g_strdup_printf ("%s %s %u", method, route, status);
  counter = g_hash_table_lookup (self->requests, key);
  if (counter == NULL)
    {
      counter = g_new0 (RequestCounter, 1);
      counter->method = g_intern_string (method);
      counter->route = g_intern_string (route);
      counter->status = status;
      g_hash_table_insert (self->requests, g_steal_pointer (&key), counter);
    }
  counter->count++;
}

static void
append_label_value (GString    *out,
                    const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '"')
        g_string_append (out, "\\\"");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
}

static void
append_value (GString *out,
              double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (value == (double) (gint64) value)
    g_string_append_printf (out, " %" G_GINT64_FORMAT "\n", (gint64) value);
  else
    g_string_append_printf (out, " %s\n", g_ascii_dtostr (buffer, sizeof buffer, value));
}

void
ed_metrics_append_family (GString    *out,
                          const char *name,
                          const char *type,
                          const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample, with one label or none (@label_name %NULL). */
void
ed_metrics_append_sample (GString    *out,
                          const char *name,
                          const char *label_name,
                          const char *label_value,
                          double      value)
{
  g_string_append (out, name);
  if (label_name != NULL)
    {
      g_string_append_printf (out, "{%s=\"", label_name);
      append_label_value (out, label_value);
      g_string_append (out, "\"}");
    }
  append_value (out, value);
}

static int
compare_counters (gconstpointer a,
                  gconstpointer b)
{
  const RequestCounter *x = *(RequestCounter * const *) a;
  const RequestCounter *y = *(RequestCounter * const *) b;
  int cmp = strcmp (x->route, y->route);

  if (cmp == 0)
    cmp = strcmp (x->method, y->method);
  if (cmp == 0)
    cmp = (x->status > y->status) - (x->status < y->status);
  return cmp;
}

void
ed_metrics_append_requests (EdMetrics *self,
                            GString   *out)
{
  g_autoptr(GPtrArray) counters = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (self != NULL);

  g_hash_table_iter_init (&iter, self->requests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (counters, value);
  g_ptr_array_sort (counters, compare_counters);

  ed_metrics_append_family (out, "eventdesk_http_requests_total", "counter",
                            "HTTP requests answered, by method, route pattern and status");
  for (guint i = 0; i < counters->len; i++)
    {
      RequestCounter *counter = g_ptr_array_index (counters, i);

      g_string_append (out, "eventdesk_http_requests_total{method=\"");
      append_label_value (out, counter->method);
      g_string_append (out, "\",route=\"");
      append_label_value (out, counter->route);
      g_string_append_printf (out, "\",status=\"%u\"} %" G_GUINT64_FORMAT "\n", counter->status, counter->count);
    }
}
