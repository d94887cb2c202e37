/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdio.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _EdCtlProgress EdCtlProgress;

EdCtlProgress *ed_ctl_progress_new       (FILE          *out,
                                          const char    *label,
                                          gint64         total_bytes);
void           ed_ctl_progress_free      (EdCtlProgress *self);
void           ed_ctl_progress_update    (EdCtlProgress *self,
                                          gint64         bytes,
                                          gint64         rows);
void           ed_ctl_progress_set_label (EdCtlProgress *self,
                                          const char    *label);
void           ed_ctl_progress_finish    (EdCtlProgress *self);
gboolean       ed_ctl_progress_is_tty    (EdCtlProgress *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCtlProgress, ed_ctl_progress_free)

G_END_DECLS
