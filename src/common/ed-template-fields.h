/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ed-event.h"
#include "ed-guest.h"

G_BEGIN_DECLS

/* The placeholders a campaign's templates may use, and their values for
 * one guest. docs/templates.md documents the same list; keep the two in
 * step.
 */

typedef enum
{
  ED_TEMPLATE_FIELD_GUEST,
  ED_TEMPLATE_FIELD_EVENT,
  ED_TEMPLATE_FIELD_LINK,
} EdTemplateFieldKind;

typedef struct
{
  const char          *name;
  EdTemplateFieldKind  kind;
  const char          *description;
} EdTemplateField;

/* The guest's extra fields: {{extra.company}} for the column “company”. */
#define ED_TEMPLATE_EXTRA_PREFIX "extra."

const EdTemplateField *ed_template_fields_get       (guint *n_fields);
const char * const    *ed_template_fields_get_names (void);

typedef struct _EdTemplateValues EdTemplateValues;

EdTemplateValues *ed_template_values_new       (const EdEvent    *event);
void              ed_template_values_free      (EdTemplateValues *self);
void              ed_template_values_set_guest (EdTemplateValues *self,
                                                const EdGuest    *guest,
                                                const char       *rsvp_url,
                                                const char       *unsubscribe_url);
const char       *ed_template_values_lookup    (const char       *name,
                                                gpointer          values);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTemplateValues, ed_template_values_free)

G_END_DECLS
