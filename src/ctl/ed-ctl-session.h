/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What `eventdeskctl login` keeps for the other commands. */
typedef struct
{
  char *server;      /* "http://127.0.0.1:8460", no trailing slash */
  char *username;
  char *token;
  char *expires_at;  /* RFC 3339, as the server said; may be NULL */
} EdCtlSession;

EdCtlSession *ed_ctl_session_new      (void);
void          ed_ctl_session_free     (EdCtlSession        *session);
char         *ed_ctl_session_get_path (void);
EdCtlSession *ed_ctl_session_load     (GError             **error);
gboolean      ed_ctl_session_save     (const EdCtlSession  *session,
                                       GError             **error);
gboolean      ed_ctl_session_forget   (GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCtlSession, ed_ctl_session_free)

G_END_DECLS
