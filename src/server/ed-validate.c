/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-http"

#include "config.h"

#include "ed-time-util.h"
#include "ed-validate.h"

void
ed_validate_fail (JsonObject *fields,
                  const char *name,
                  const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  /* The first problem found with a field is the one reported. */
  if (json_object_has_member (fields, name))
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  json_object_set_string_member (fields, name, message);
}

void
ed_validate_known_members (JsonObject         *body,
                           const char * const *allowed,
                           JsonObject         *fields)
{
  g_autoptr(GList) members = json_object_get_members (body);

  for (const GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      ed_validate_fail (fields, l->data, "is not a known field");
}

gboolean
ed_validate_has (JsonObject *body,
                 const char *name)
{
  return json_object_has_member (body, name);
}

static gboolean
is_string_node (JsonNode *node)
{
  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING;
}

/**
 * ed_validate_string:
 * @body: the request body
 * @name: the member
 * @flags: what is allowed
 * @max_chars: the longest value allowed, in characters
 * @fields: where problems are added
 *
 * Returns: (transfer full) (nullable): the value, trimmed unless
 *   %ED_VALIDATE_RAW; "" for null; %NULL when missing or bad
 */
char *
ed_validate_string (JsonObject      *body,
                    const char      *name,
                    EdValidateFlags  flags,
                    guint            max_chars,
                    JsonObject      *fields)
{
  JsonNode *node = json_object_get_member (body, name);
  g_autofree char *value = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (flags & ED_VALIDATE_REQUIRED)
        {
          ed_validate_fail (fields, name, "is required");
          return NULL;
        }
      return node ? g_strdup ("") : NULL;
    }

  if (!is_string_node (node))
    {
      ed_validate_fail (fields, name, "must be a string");
      return NULL;
    }

  value = g_strdup (json_node_get_string (node));
  if (!(flags & ED_VALIDATE_RAW))
    g_strstrip (value);

  if ((flags & ED_VALIDATE_REQUIRED) && *value == '\0')
    {
      ed_validate_fail (fields, name, "must not be empty");
      return NULL;
    }

  if (g_utf8_strlen (value, -1) > (glong) max_chars)
    {
      ed_validate_fail (fields, name, "must be at most %u characters long", max_chars);
      return NULL;
    }

  for (const char *p = value; *p; p++)
    {
      guchar c = *p;

      if (c == 0x7f || (c < 0x20 && !((flags & ED_VALIDATE_MULTILINE) &&
                                      (c == '\n' || c == '\r' || c == '\t'))))
        {
          ed_validate_fail (fields, name, (flags & ED_VALIDATE_MULTILINE)
                                          ? "must not contain control characters"
                                          : "must be one line without control characters");
          return NULL;
        }
    }

  return g_steal_pointer (&value);
}

/* Returns TRUE when the member is present and valid, setting @value. */
gboolean
ed_validate_int (JsonObject *body,
                 const char *name,
                 gint64      min,
                 gint64      max,
                 gint64     *value,
                 JsonObject *fields)
{
  JsonNode *node = json_object_get_member (body, name);

  if (node == NULL)
    return FALSE;

  if (json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < min || json_node_get_int (node) > max)
    {
      ed_validate_fail (fields, name,
                        "must be a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                        min, max);
      return FALSE;
    }

  *value = json_node_get_int (node);
  return TRUE;
}

gboolean
ed_validate_boolean (JsonObject *body,
                     const char *name,
                     gboolean   *value,
                     JsonObject *fields)
{
  JsonNode *node = json_object_get_member (body, name);

  if (node == NULL)
    return FALSE;

  if (json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      ed_validate_fail (fields, name, "must be true or false");
      return FALSE;
    }

  *value = json_node_get_boolean (node);
  return TRUE;
}

/**
 * ed_validate_time:
 * @nullable: whether null (stored as 0, "not set") is allowed
 * @local_tz: (nullable): zone for a time written without an offset
 *
 * Returns: %TRUE when the member is present and valid, setting @value
 */
gboolean
ed_validate_time (JsonObject *body,
                  const char *name,
                  gboolean    nullable,
                  GTimeZone  *local_tz,
                  gint64     *value,
                  JsonObject *fields)
{
  JsonNode *node = json_object_get_member (body, name);

  if (node == NULL)
    return FALSE;

  if (JSON_NODE_HOLDS_NULL (node))
    {
      if (!nullable)
        {
          ed_validate_fail (fields, name, "is required");
          return FALSE;
        }
      *value = 0;
      return TRUE;
    }

  if (!is_string_node (node) ||
      !ed_time_parse_rfc3339 (json_node_get_string (node), local_tz, value) ||
      *value <= 0)
    {
      ed_validate_fail (fields, name,
                        "must be a date and time such as 2026-12-31T19:30:00+01:00");
      return FALSE;
    }

  return TRUE;
}

/**
 * ed_validate_query_int:
 * @query: the decoded query parameters
 * @fallback: the value when the parameter is absent
 *
 * Returns: %TRUE unless the parameter is present and not a whole number
 *   from @min to @max
 */
gboolean
ed_validate_query_int (GHashTable *query,
                       const char *name,
                       gint64      min,
                       gint64      max,
                       gint64      fallback,
                       gint64     *value,
                       JsonObject *fields)
{
  const char *text = query ? g_hash_table_lookup (query, name) : NULL;

  if (text == NULL || *text == '\0')
    {
      *value = fallback;
      return TRUE;
    }

  if (!g_ascii_string_to_signed (text, 10, min, max, value, NULL))
    {
      ed_validate_fail (fields, name,
                        "must be a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                        min, max);
      return FALSE;
    }

  return TRUE;
}
