/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EdLoginThrottle EdLoginThrottle;

EdLoginThrottle *ed_login_throttle_new       (void);
void             ed_login_throttle_free      (EdLoginThrottle *self);
gint64           ed_login_throttle_wait      (EdLoginThrottle *self,
                                              const char      *username,
                                              gint64           now_us);
gint64           ed_login_throttle_begin     (EdLoginThrottle *self,
                                              const char      *username,
                                              gint64           now_us);
void             ed_login_throttle_failed    (EdLoginThrottle *self,
                                              const char      *username,
                                              gint64           now_us);
void             ed_login_throttle_succeeded (EdLoginThrottle *self,
                                              const char      *username);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdLoginThrottle, ed_login_throttle_free)

G_END_DECLS
