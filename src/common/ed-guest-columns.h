/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a column of an imported guest list holds, from its header. */
typedef enum
{
  ED_GUEST_COLUMN_EXTRA,       /* kept as an extra field under its trimmed header */
  ED_GUEST_COLUMN_IGNORED,     /* written by the export but not guest input, or no header */
  ED_GUEST_COLUMN_EMAIL,
  ED_GUEST_COLUMN_FIRST_NAME,
  ED_GUEST_COLUMN_LAST_NAME,
  ED_GUEST_COLUMN_FULL_NAME,   /* one name column: the importer splits it at the last space */
} EdGuestColumn;

typedef struct
{
  /* Index of the column holding each guest field, or -1. full_name is
   * only set when there is neither a first-name nor a last-name column.
   */
  int             email;
  int             first_name;
  int             last_name;
  int             full_name;

  /* Per column: what it holds, and its header without surrounding white
   * space or byte-order mark (the key of an extra field).
   */
  guint           n_columns;
  EdGuestColumn  *kinds;
  char          **names;
} EdGuestColumnMap;

EdGuestColumn     ed_guest_column_from_header (const char          *header);
const char       *ed_guest_column_to_string   (EdGuestColumn        column);

EdGuestColumnMap *ed_guest_column_map_new     (const char * const  *headers,
                                               guint                n_headers,
                                               GError             **error);
void              ed_guest_column_map_free    (EdGuestColumnMap    *map);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdGuestColumnMap, ed_guest_column_map_free)

G_END_DECLS
