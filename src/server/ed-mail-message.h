/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One outgoing message, built with GMime: UTF-8 text and optional HTML as
 * multipart/alternative, RFC 2047 headers where needed, Message-ID, Date,
 * one-click List-Unsubscribe (RFC 8058), and an optional text/calendar
 * attachment (then multipart/mixed). The bytes have CRLF line ends and no
 * dot-stuffing, which is the SMTP transport's job.
 */
typedef struct _EdMailMessage EdMailMessage;

EdMailMessage *ed_mail_message_new                 (const char     *from,
                                                    const char     *to_address,
                                                    const char     *to_name,
                                                    GError        **error);
EdMailMessage *ed_mail_message_new_like            (EdMailMessage  *sender,
                                                    const char     *to_address,
                                                    const char     *to_name,
                                                    GError        **error);
void           ed_mail_message_free                (EdMailMessage  *self);

void           ed_mail_message_set_subject         (EdMailMessage  *self,
                                                    const char     *subject);
void           ed_mail_message_set_text            (EdMailMessage  *self,
                                                    const char     *text);
void           ed_mail_message_set_html            (EdMailMessage  *self,
                                                    const char     *html);
gboolean       ed_mail_message_set_list_unsubscribe (EdMailMessage *self,
                                                    const char     *url,
                                                    GError        **error);
void           ed_mail_message_set_calendar        (EdMailMessage  *self,
                                                    GBytes         *ics,
                                                    const char     *method,
                                                    const char     *file_name);
void           ed_mail_message_set_date            (EdMailMessage  *self,
                                                    gint64          unix_seconds);
gboolean       ed_mail_message_set_message_id      (EdMailMessage  *self,
                                                    const char     *message_id,
                                                    GError        **error);
gboolean       ed_mail_message_set_header          (EdMailMessage  *self,
                                                    const char     *name,
                                                    const char     *value,
                                                    GError        **error);

const char    *ed_mail_message_get_envelope_from   (EdMailMessage  *self);
const char    *ed_mail_message_get_envelope_to     (EdMailMessage  *self);
const char    *ed_mail_message_get_message_id      (EdMailMessage  *self);

GBytes        *ed_mail_message_to_bytes            (EdMailMessage  *self,
                                                    GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdMailMessage, ed_mail_message_free)

typedef struct _EdMailMessageWriter EdMailMessageWriter;

EdMailMessageWriter *ed_mail_message_writer_new   (void);
void                 ed_mail_message_writer_free  (EdMailMessageWriter  *self);
GBytes              *ed_mail_message_writer_write (EdMailMessageWriter  *self,
                                                   EdMailMessage        *message,
                                                   GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdMailMessageWriter, ed_mail_message_writer_free)

G_END_DECLS
