/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-validate.h"

/* The input is a request body as the API receives it. It goes through
 * the parser every JSON body goes through (ed_http_parse_json()), then
 * through the field checks the routes use, with the members of an event
 * and of a guest. Every refusal is an ED_ERROR_INVALID with a message; a
 * check either gives a value that keeps its promises (length, no control
 * characters, range) or names the member in the problems it reports.
 */

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static const char * const known[] = {
  "name", "description", "venue", "timezone", "starts_at", "ends_at", "rsvp_deadline",
  "capacity", "waitlist_enabled", "max_party_size", "email", "first_name", "last_name",
  "password", NULL,
};

static GTimeZone *zone;

static void
check_string (JsonObject      *body,
              const char      *name,
              EdValidateFlags  flags,
              guint            max_chars,
              JsonObject      *fields)
{
  JsonNode *node = json_object_get_member (body, name);
  g_autofree char *value = ed_validate_string (body, name, flags, max_chars, fields);

  if (value == NULL)
    {
      /* missing is fine unless required; anything else was reported */
      if (node != NULL && !json_object_has_member (fields, name))
        abort ();
      if (node == NULL && (flags & ED_VALIDATE_REQUIRED) && !json_object_has_member (fields, name))
        abort ();
      return;
    }

  if (!g_utf8_validate (value, -1, NULL) || g_utf8_strlen (value, -1) > (glong) max_chars)
    abort ();
  if ((flags & ED_VALIDATE_REQUIRED) && *value == '\0')
    abort ();
  for (const char *p = value; *p != '\0'; p++)
    {
      guchar c = *p;

      if (c == 0x7f || (c < 0x20 && !((flags & ED_VALIDATE_MULTILINE) && (c == '\n' || c == '\r' || c == '\t'))))
        abort ();
    }
  if (!(flags & ED_VALIDATE_RAW) && (g_ascii_isspace (value[0]) ||
                                     (*value != '\0' && g_ascii_isspace (value[strlen (value) - 1]))))
    abort ();
}

static void
check_int (JsonObject *body,
           const char *name,
           gint64      min,
           gint64      max,
           JsonObject *fields)
{
  gint64 value = G_MININT64;

  if (ed_validate_int (body, name, min, max, &value, fields))
    {
      if (value < min || value > max)
        abort ();
    }
  else if (json_object_has_member (body, name) && !json_object_has_member (fields, name))
    abort ();
}

static void
check_time (JsonObject *body,
            const char *name,
            gboolean    nullable,
            JsonObject *fields)
{
  gint64 value = -1;

  if (ed_validate_time (body, name, nullable, zone, &value, fields))
    {
      if (value < 0 || (value == 0 && !nullable))
        abort ();
    }
  else if (json_object_has_member (body, name) && !json_object_has_member (fields, name))
    abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_abort_on_warnings ();
  zone = g_time_zone_new_utc ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) body = ed_http_parse_json ((const char *) data, size, &error);
  g_autoptr(JsonObject) fields = json_object_new ();
  gboolean flag = FALSE;

  if ((body == NULL) == (error == NULL))
    abort ();
  if (body == NULL)
    {
      if (!g_error_matches (error, ED_ERROR, ED_ERROR_INVALID) || !g_utf8_validate (error->message, -1, NULL))
        abort ();
      return 0;
    }

  ed_validate_known_members (body, known, fields);
  {
    g_autoptr(GList) members = json_object_get_members (body);

    for (const GList *l = members; l != NULL; l = l->next)
      if (!g_strv_contains (known, l->data) && !json_object_has_member (fields, l->data))
        abort ();
  }

  check_string (body, "name", ED_VALIDATE_REQUIRED, 200, fields);
  check_string (body, "description", ED_VALIDATE_MULTILINE, 10000, fields);
  check_string (body, "venue", ED_VALIDATE_NONE, 500, fields);
  check_string (body, "timezone", ED_VALIDATE_REQUIRED, 64, fields);
  check_string (body, "email", ED_VALIDATE_REQUIRED, 254, fields);
  check_string (body, "first_name", ED_VALIDATE_NONE, 200, fields);
  check_string (body, "password", ED_VALIDATE_REQUIRED | ED_VALIDATE_RAW, 1024, fields);
  check_time (body, "starts_at", FALSE, fields);
  check_time (body, "ends_at", TRUE, fields);
  check_time (body, "rsvp_deadline", TRUE, fields);
  check_int (body, "capacity", 1, 1000000, fields);
  check_int (body, "max_party_size", 1, 100, fields);
  if (!ed_validate_boolean (body, "waitlist_enabled", &flag, fields) &&
      json_object_has_member (body, "waitlist_enabled") && !json_object_has_member (fields, "waitlist_enabled"))
    abort ();

  /* every reported problem is text for people */
  {
    g_autoptr(GList) problems = json_object_get_members (fields);

    for (const GList *l = problems; l != NULL; l = l->next)
      {
        const char *message = json_object_get_string_member (fields, l->data);

        if (message == NULL || *message == '\0' || !g_utf8_validate (message, -1, NULL))
          abort ();
      }
  }

  return 0;
}
