/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The real eventdeskd binary ($EVENTDESKD) on a private data directory,
 * listening on a free loopback port.
 */
typedef struct _EdTestDaemon EdTestDaemon;

EdTestDaemon *ed_test_daemon_new          (void);
void          ed_test_daemon_free         (EdTestDaemon        *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTestDaemon, ed_test_daemon_free)

const char   *ed_test_daemon_get_data_dir (EdTestDaemon        *self);
char         *ed_test_daemon_get_path     (EdTestDaemon        *self,
                                           const char          *file_name);
const char   *ed_test_daemon_get_url      (EdTestDaemon        *self);
char         *ed_test_daemon_url          (EdTestDaemon        *self,
                                           const char          *path);
const char   *ed_test_daemon_get_pid      (EdTestDaemon        *self);
gboolean      ed_test_daemon_is_running   (EdTestDaemon        *self);
void          ed_test_daemon_dump_log     (EdTestDaemon        *self);
gboolean      ed_test_daemon_wait_for_log (EdTestDaemon        *self,
                                           const char          *text);

int           ed_test_daemon_run          (EdTestDaemon        *self,
                                           const char * const  *args,
                                           const char          *stdin_text,
                                           char               **stdout_text,
                                           char               **stderr_text);
int           ed_test_daemon_run_unprivileged
                                          (EdTestDaemon        *self,
                                           const char * const  *args,
                                           char               **stderr_text);
void          ed_test_daemon_add_admin    (EdTestDaemon        *self,
                                           const char          *username,
                                           const char          *password);

void          ed_test_daemon_set_args     (EdTestDaemon        *self,
                                           const char * const  *args);
void          ed_test_daemon_start        (EdTestDaemon        *self);
void          ed_test_daemon_send_signal  (EdTestDaemon        *self,
                                           int                  signum);
int           ed_test_daemon_wait         (EdTestDaemon        *self);
int           ed_test_daemon_stop         (EdTestDaemon        *self);
void          ed_test_daemon_kill         (EdTestDaemon        *self);
void          ed_test_daemon_restart      (EdTestDaemon        *self);

void          ed_test_remove_tree         (const char          *path);

G_END_DECLS
