/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ed-enums.h"

/* These strings are stored in the database and sent over the API: never
 * rename them.
 */
static const char * const rsvp_status_names[ED_RSVP_N_STATUSES] = {
  [ED_RSVP_PENDING] = "pending",
  [ED_RSVP_ACCEPTED] = "accepted",
  [ED_RSVP_DECLINED] = "declined",
  [ED_RSVP_WAITLISTED] = "waitlisted",
  [ED_RSVP_CANCELLED] = "cancelled",
};

const char *
ed_rsvp_status_to_string (EdRsvpStatus status)
{
  g_return_val_if_fail ((guint) status < ED_RSVP_N_STATUSES, NULL);

  return rsvp_status_names[status];
}

gboolean
ed_enum_from_name (const char * const *names,
                   guint               n_names,
                   const char         *str,
                   guint              *index)
{
  g_return_val_if_fail (names != NULL && index != NULL, FALSE);

  if (str == NULL)
    return FALSE;

  for (guint i = 0; i < n_names; i++)
    {
      if (strcmp (str, names[i]) == 0)
        {
          *index = i;
          return TRUE;
        }
    }

  return FALSE;
}

gboolean
ed_rsvp_status_from_string (const char   *str,
                            EdRsvpStatus *status)
{
  guint index;

  g_return_val_if_fail (status != NULL, FALSE);

  if (!ed_enum_from_name (rsvp_status_names, ED_RSVP_N_STATUSES, str, &index))
    return FALSE;

  *status = index;
  return TRUE;
}
