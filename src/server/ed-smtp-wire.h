/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the last SMTP command was, so that a reply can be judged: a 5xx to
 * RCPT is the recipient's fault, a 5xx to AUTH is the configuration's.
 */
typedef enum
{
  ED_SMTP_STAGE_GREETING,
  ED_SMTP_STAGE_HELLO,
  ED_SMTP_STAGE_STARTTLS,
  ED_SMTP_STAGE_AUTH,
  ED_SMTP_STAGE_MAIL,
  ED_SMTP_STAGE_RCPT,
  ED_SMTP_STAGE_DATA,
  ED_SMTP_STAGE_MESSAGE,   /* the reply after the message's final “.” */
  ED_SMTP_STAGE_QUIT,
  ED_SMTP_STAGE_OTHER,
} EdSmtpStage;

/* The reply text kept; longer replies are cut. */
#define ED_SMTP_REPLY_TEXT_MAX 1024

typedef struct
{
  guint        code;
  EdSmtpStage  stage;
  GString     *text;    /* the lines' texts, joined by spaces */
} EdSmtpReply;

void     ed_smtp_reply_reset    (EdSmtpReply *reply);
void     ed_smtp_reply_copy     (EdSmtpReply       *to,
                                 const EdSmtpReply *from);
void     ed_smtp_reply_clear    (EdSmtpReply *reply);
gboolean ed_smtp_reply_add_line (EdSmtpReply *partial,
                                 const char  *line,
                                 gsize        size);

/* Splits what a server sends into whole replies. */
typedef struct
{
  GString     *buffer;   /* read, not yet taken */
  gsize        start;    /* where the next line starts in it */
  EdSmtpReply  partial;  /* a multi-line reply's lines so far */
  EdSmtpReply  reply;    /* the last one given */
} EdSmtpReplyReader;

void               ed_smtp_reply_reader_init  (EdSmtpReplyReader *reader);
void               ed_smtp_reply_reader_clear (EdSmtpReplyReader *reader);
void               ed_smtp_reply_reader_reset (EdSmtpReplyReader *reader);
gboolean           ed_smtp_reply_reader_feed  (EdSmtpReplyReader *reader,
                                               const char        *data,
                                               gsize              size);
const EdSmtpReply *ed_smtp_reply_reader_next  (EdSmtpReplyReader *reader);

void     ed_smtp_append_data    (GString    *out,
                                 const char *message,
                                 gsize       size);

G_END_DECLS
