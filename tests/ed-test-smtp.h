/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gmime/gmime.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Real SMTP servers on a free loopback port for the mail tests, started
 * by the test and stopped by pid, also when the test dies:
 *
 * - Postfix's smtp-sink ($SMTP_SINK), which throws the mail away, counts
 *   sessions and messages, and fails on command (-r, -f, -q, -Q …);
 * - tests/smtp-capture-server.py ($PYTHON3), which keeps every message
 *   with its envelope and connection for the test to read back.
 */
typedef struct _EdTestSmtpServer EdTestSmtpServer;

EdTestSmtpServer *ed_test_smtp_sink_new                (const char * const *options);
EdTestSmtpServer *ed_test_capture_server_new           (const char * const *options);
void              ed_test_smtp_sink_restart            (EdTestSmtpServer   *self,
                                                        const char * const *options);
void              ed_test_smtp_server_free             (EdTestSmtpServer   *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdTestSmtpServer, ed_test_smtp_server_free)

guint16           ed_test_smtp_server_get_port         (EdTestSmtpServer   *self);
char             *ed_test_smtp_server_get_url          (EdTestSmtpServer   *self,
                                                        const char         *scheme,
                                                        const char         *query);
const char       *ed_test_smtp_server_get_dir          (EdTestSmtpServer   *self);

gboolean          ed_test_smtp_sink_get_counters       (EdTestSmtpServer   *self,
                                                        guint              *sessions,
                                                        guint              *quits,
                                                        guint              *messages);
gboolean          ed_test_smtp_sink_wait_for_counters  (EdTestSmtpServer   *self,
                                                        guint               sessions,
                                                        guint               quits,
                                                        guint               messages);

guint             ed_test_capture_server_get_n_messages (EdTestSmtpServer  *self);
GBytes           *ed_test_capture_server_get_message   (EdTestSmtpServer   *self,
                                                        guint               n);
JsonObject       *ed_test_capture_server_get_envelope  (EdTestSmtpServer   *self,
                                                        guint               n);
JsonArray        *ed_test_capture_server_get_connections (EdTestSmtpServer *self);
char             *ed_test_capture_server_get_path      (EdTestSmtpServer   *self,
                                                        guint               n);

char             *ed_test_make_certificate             (const char         *dir,
                                                        char              **key_path);
JsonObject       *ed_test_parse_with_python            (const char         *eml_path);
GMimeMessage     *ed_test_parse_with_gmime             (GBytes             *bytes);

G_END_DECLS
