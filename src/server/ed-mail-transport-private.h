/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <curl/curl.h>

#include "ed-mail-transport.h"
#include "ed-smtp-wire.h"

G_BEGIN_DECLS

typedef enum
{
  ED_MAIL_TRANSPORT_SMTP,
  ED_MAIL_TRANSPORT_MAILDIR,
} EdMailTransportKind;

typedef enum
{
  ED_STARTTLS_AUTO,      /* when the server offers it */
  ED_STARTTLS_REQUIRED,
  ED_STARTTLS_OFF,
} EdStartTls;

struct _EdMailTransport
{
  EdMailTransportKind  kind;
  char                *description;
  guint                connect_timeout_ms;
  guint                timeout_ms;
  guint                max_messages;

  /* SMTP settings */
  char                *curl_url;
  char                *username;
  char                *password;
  char                *ca_file;
  gboolean             implicit_tls;
  EdStartTls           starttls;

  /* SMTP state. libcurl sets a connection up (greeting, EHLO, STARTTLS,
   * AUTH) with CONNECT_ONLY, its easy handle in a multi handle of its own
   * that whoever polls drives; the mail transactions over it are the
   * transport's own, through curl_easy_send() and curl_easy_recv(), so
   * that MAIL, RCPT and DATA go in one write where the server offers
   * PIPELINING (RFC 2920).
   */
  CURL                *curl;
  CURLM               *multi;
  GArray              *sockets;      /* SmtpSocket: what libcurl waits for */
  gint64               timer_us;     /* when libcurl wants to be called, or -1 */
  gboolean             in_multi;     /* the handle is in the multi */
  gboolean             connecting;   /* libcurl is setting the connection up */
  gboolean             connected;    /* set up: the transactions are ours */
  curl_socket_t        fd;
  gboolean             pipelining;   /* what the server's EHLO offered */
  gboolean             smtputf8;
  gboolean             size_offered;
  char                 curl_error[CURL_ERROR_SIZE];
  guint                n_connections;
  guint                messages_on_connection;

  /* the message under way */
  gboolean             busy;
  EdMailResult        *result;
  gboolean             result_set;   /* known; what is left is to close */
  GBytes              *message;
  char                *envelope_from;
  char                *envelope_to;
  gboolean             needs_smtputf8;
  guint                attempt;
  gboolean             last_on_connection;
  gboolean             new_connection;
  gint64               deadline_us;
  GString             *out;          /* to be written */
  gsize                out_offset;
  EdSmtpReplyReader    reader;       /* the server's replies */
  EdSmtpStage          pending[6];   /* the replies awaited, in order */
  guint                n_pending;
  gboolean             quit_sent;
  guint                n_message_replies;

  /* SMTP replies while libcurl sets a connection up */
  EdSmtpStage          stage;
  gboolean             quitting;
  EdSmtpReply          partial;      /* lines of a multi-line reply so far */
  EdSmtpReply          first_failure;

  /* Maildir settings and state */
  char                *maildir;
  gboolean             maildir_ready;
  guint                maildir_deliveries;
};

gboolean ed_mail_transport_smtp_init     (EdMailTransport  *self,
                                          GUri             *uri,
                                          const char       *password,
                                          GError          **error);
void     ed_mail_transport_smtp_finalize (EdMailTransport  *self);
void     ed_mail_transport_smtp_disconnect (EdMailTransport *self);
gboolean ed_mail_transport_smtp_begin    (EdMailTransport  *self,
                                          const char       *envelope_from,
                                          const char       *envelope_to,
                                          GBytes           *message,
                                          EdMailResult     *result);
void     ed_mail_transport_smtp_add_poll (EdMailTransport  *self,
                                          GArray           *fds,
                                          gint64           *deadline_us);
gboolean ed_mail_transport_smtp_step     (EdMailTransport  *self,
                                          const GPollFD    *fds,
                                          guint             n_fds);

gboolean ed_mail_transport_maildir_init  (EdMailTransport  *self,
                                          const char       *path,
                                          GError          **error);
void     ed_mail_transport_maildir_send  (EdMailTransport  *self,
                                          const char       *envelope_from,
                                          const char       *envelope_to,
                                          GBytes           *message,
                                          EdMailResult     *result);

EdMailResultKind ed_mail_classify_reply  (guint             code,
                                          EdSmtpStage       stage);

G_END_DECLS
