/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ED_TYPE_EVENT (ed_event_get_type ())

/* Times are Unix seconds in UTC; 0 means "not set" for the optional ones. */
typedef struct
{
  gint64    id;
  char     *name;
  char     *description;
  char     *venue;
  char     *timezone;
  gint64    starts_at;
  gint64    ends_at;
  gint64    rsvp_deadline;
  gint64    capacity;
  gboolean  waitlist_enabled;
  gint      max_party_size;
  gint64    created_at;
  gint64    updated_at;
} EdEvent;

GType    ed_event_get_type (void) G_GNUC_CONST;
EdEvent *ed_event_new      (void);
EdEvent *ed_event_copy     (const EdEvent *event);
void     ed_event_free     (EdEvent       *event);
void     ed_event_add_json_members (const EdEvent *event,
                            JsonBuilder   *builder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdEvent, ed_event_free)

G_END_DECLS
