/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ED_MAIL_ERROR (ed_mail_error_quark ())

/* Why ed_mail_transport_send() did not deliver; the same as the result's
 * kind.
 */
typedef enum
{
  ED_MAIL_ERROR_TEMPORARY,
  ED_MAIL_ERROR_THROTTLED,
  ED_MAIL_ERROR_PERMANENT,
} EdMailError;

/* What became of one attempt, as the queue records it. */
typedef enum
{
  ED_MAIL_RESULT_SENT,       /* 2xx: the server took the message */
  ED_MAIL_RESULT_TEMPORARY,  /* 4xx, a connection fault or a timeout: try again later */
  ED_MAIL_RESULT_THROTTLED,  /* 421, 451, 452: try again later, and slow down */
  ED_MAIL_RESULT_PERMANENT,  /* 5xx to the sender, recipient or message: do not retry */
} EdMailResultKind;

typedef struct
{
  EdMailResultKind  kind;
  /* The server's final reply to the attempt, e.g. 250 or 550; 0 when
   * there was none (a connection fault, a timeout, Maildir delivery).
   */
  guint             code;
  /* The reply's text without the code (lines joined with a space), or
   * what went wrong when there was no reply. Never holds credentials.
   */
  char             *text;
  /* Whether this attempt opened a new connection. */
  gboolean          new_connection;
} EdMailResult;

/* One connection's worth of sending: a transport is used by one thread at
 * a time, and a pool of connections is a pool of transports.
 */
typedef struct _EdMailTransport EdMailTransport;

/* Settings when the URL does not say otherwise. */
#define ED_MAIL_TRANSPORT_DEFAULT_CONNECT_TIMEOUT_MS 15000
#define ED_MAIL_TRANSPORT_DEFAULT_TIMEOUT_MS 60000
#define ED_MAIL_TRANSPORT_DEFAULT_MAX_MESSAGES 100
#define ED_MAIL_TRANSPORT_PASSWORD_ENV "EVENTDESK_SMTP_PASSWORD"

GQuark            ed_mail_error_quark                          (void);

const char       *ed_mail_result_kind_to_string                (EdMailResultKind  kind);
void              ed_mail_result_clear                         (EdMailResult     *result);

EdMailTransport  *ed_mail_transport_new                        (const char       *url,
                                                                const char       *password,
                                                                GError          **error);
void              ed_mail_transport_free                       (EdMailTransport  *self);

void              ed_mail_transport_set_timeouts               (EdMailTransport  *self,
                                                                guint             connect_timeout_ms,
                                                                guint             timeout_ms);
void              ed_mail_transport_set_max_messages_per_connection (EdMailTransport *self,
                                                                guint             max_messages);
const char       *ed_mail_transport_get_description            (EdMailTransport  *self);
guint             ed_mail_transport_get_n_connections          (EdMailTransport  *self);

gboolean          ed_mail_transport_send                       (EdMailTransport  *self,
                                                                const char       *envelope_from,
                                                                const char       *envelope_to,
                                                                GBytes           *message,
                                                                EdMailResult     *result,
                                                                GError          **error);
gboolean          ed_mail_transport_begin                      (EdMailTransport  *self,
                                                                const char       *envelope_from,
                                                                const char       *envelope_to,
                                                                GBytes           *message,
                                                                EdMailResult     *result);
void              ed_mail_transport_add_poll                   (EdMailTransport  *self,
                                                                GArray           *fds,
                                                                gint64           *deadline_us);
gboolean          ed_mail_transport_step                       (EdMailTransport  *self,
                                                                const GPollFD    *fds,
                                                                guint             n_fds);
void              ed_mail_transport_poll                       (GArray           *fds,
                                                                gint64            deadline_us);
void              ed_mail_transport_disconnect                 (EdMailTransport  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdMailTransport, ed_mail_transport_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (EdMailResult, ed_mail_result_clear)

G_END_DECLS
