/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "ed-enums.h"

G_BEGIN_DECLS

#define ED_TYPE_GUEST (ed_guest_get_type ())

/* Times are Unix seconds in UTC; 0 means "not set". */
typedef struct
{
  gint64        id;
  gint64        event_id;
  char         *email;
  char         *first_name;
  char         *last_name;
  JsonObject   *extra;             /* string values by column name; may be NULL */
  EdRsvpStatus  status;
  gint          party_size;
  gint64        waitlist_position; /* 0 when not on the waiting list */
  gint          token_version;
  gint64        created_at;
  gint64        updated_at;
  gint64        responded_at;
  gint64        unsubscribed_at;   /* 0 unless they stopped bulk mail */
} EdGuest;

GType    ed_guest_get_type (void) G_GNUC_CONST;
EdGuest *ed_guest_new      (void);
EdGuest *ed_guest_copy     (const EdGuest *guest);
void     ed_guest_free     (EdGuest       *guest);
void     ed_guest_add_json_members (const EdGuest *guest,
                            JsonBuilder   *builder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdGuest, ed_guest_free)

G_END_DECLS
