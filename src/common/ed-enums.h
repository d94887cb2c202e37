/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  ED_RSVP_PENDING,
  ED_RSVP_ACCEPTED,
  ED_RSVP_DECLINED,
  ED_RSVP_WAITLISTED,
  ED_RSVP_CANCELLED,
} EdRsvpStatus;

#define ED_RSVP_N_STATUSES (ED_RSVP_CANCELLED + 1)

/* The index of @str in @names, for the enums stored as names. */
gboolean    ed_enum_from_name          (const char * const *names,
                                        guint               n_names,
                                        const char         *str,
                                        guint              *index);

const char *ed_rsvp_status_to_string   (EdRsvpStatus  status);
gboolean    ed_rsvp_status_from_string (const char   *str,
                                        EdRsvpStatus *status);

G_END_DECLS
