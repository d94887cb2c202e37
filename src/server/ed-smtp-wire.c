/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-smtp-wire.h"

/* The SMTP transport's side of the wire: replies read from the server
 * (RFC 5321 4.2) and the message written after DATA (4.5.2). Kept apart
 * from the transport so that fuzz-smtp can feed it anything.
 */

/* The longest line the reader waits for the end of: no server writes
 * one; a longer one is a broken or hostile server.
 */
#define LINE_MAX_BYTES (4 * ED_SMTP_REPLY_TEXT_MAX)

void
ed_smtp_reply_reset (EdSmtpReply *reply)
{
  reply->code = 0;
  reply->stage = ED_SMTP_STAGE_OTHER;
  if (reply->text == NULL)
    reply->text = g_string_sized_new (128);
  g_string_truncate (reply->text, 0);
}

void
ed_smtp_reply_copy (EdSmtpReply       *to,
                    const EdSmtpReply *from)
{
  ed_smtp_reply_reset (to);
  to->code = from->code;
  to->stage = from->stage;
  g_string_append_len (to->text, from->text->str, (gssize) from->text->len);
}

void
ed_smtp_reply_clear (EdSmtpReply *reply)
{
  if (reply->text != NULL)
    g_string_free (reply->text, TRUE);
  reply->text = NULL;
}

/**
 * ed_smtp_reply_add_line:
 * @partial: the reply so far, made with ed_smtp_reply_reset()
 * @line: one line of a reply, “250-more follows” or “250 last line”,
 *   with or without its line end
 *
 * A line that does not start with three digits is not taken.
 *
 * Returns: %TRUE when it was the reply's last line; @partial then holds
 *   the whole reply
 */
gboolean
ed_smtp_reply_add_line (EdSmtpReply *partial,
                        const char  *line,
                        gsize        size)
{
  guint code;

  while (size > 0 && (line[size - 1] == '\n' || line[size - 1] == '\r'))
    size--;
  if (size < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2]))
    return FALSE;

  code = (guint) (line[0] - '0') * 100 + (guint) (line[1] - '0') * 10 + (guint) (line[2] - '0');
  if (partial->code != code)
    {
      ed_smtp_reply_reset (partial);
      partial->code = code;
    }

  if (size > 4)
    {
      gsize room = ED_SMTP_REPLY_TEXT_MAX - MIN (partial->text->len, ED_SMTP_REPLY_TEXT_MAX);
      gsize len = MIN (size - 4, room);

      if (partial->text->len > 0 && len > 0)
        g_string_append_c (partial->text, ' ');
      g_string_append_len (partial->text, line + 4, (gssize) len);
    }

  return size == 3 || line[3] != '-';
}

void
ed_smtp_reply_reader_init (EdSmtpReplyReader *reader)
{
  reader->buffer = g_string_sized_new (512);
  reader->start = 0;
  reader->partial.text = NULL;
  reader->reply.text = NULL;
  ed_smtp_reply_reset (&reader->partial);
  ed_smtp_reply_reset (&reader->reply);
}

void
ed_smtp_reply_reader_clear (EdSmtpReplyReader *reader)
{
  if (reader->buffer != NULL)
    g_string_free (reader->buffer, TRUE);
  reader->buffer = NULL;
  ed_smtp_reply_clear (&reader->partial);
  ed_smtp_reply_clear (&reader->reply);
}

/* Forgets what was read: a new connection. */
void
ed_smtp_reply_reader_reset (EdSmtpReplyReader *reader)
{
  g_string_truncate (reader->buffer, 0);
  reader->start = 0;
  ed_smtp_reply_reset (&reader->partial);
}

/**
 * ed_smtp_reply_reader_feed:
 * @data: bytes the server sent
 *
 * Returns: %FALSE when a line grows longer than any reply's: the server
 *   is not to be believed any more
 */
gboolean
ed_smtp_reply_reader_feed (EdSmtpReplyReader *reader,
                           const char        *data,
                           gsize              size)
{
  gsize tail = 0;

  /* what was taken goes before the buffer grows */
  if (reader->start > 0)
    {
      g_string_erase (reader->buffer, 0, (gssize) reader->start);
      reader->start = 0;
    }
  g_string_append_len (reader->buffer, data, (gssize) size);

  /* the line not ended yet */
  for (const char *newline; (newline = memchr (reader->buffer->str + tail, '\n', reader->buffer->len - tail)); )
    tail = (gsize) (newline - reader->buffer->str) + 1;

  return reader->buffer->len - tail <= LINE_MAX_BYTES;
}

/**
 * ed_smtp_reply_reader_next:
 *
 * Returns: (nullable): the next whole reply read, valid until the next
 *   call; %NULL when none is whole yet
 */
const EdSmtpReply *
ed_smtp_reply_reader_next (EdSmtpReplyReader *reader)
{
  for (;;)
    {
      const char *line = reader->buffer->str + reader->start;
      const char *end = memchr (line, '\n', reader->buffer->len - reader->start);

      if (end == NULL)
        return NULL;
      reader->start = (gsize) (end - reader->buffer->str) + 1;

      if (ed_smtp_reply_add_line (&reader->partial, line, (gsize) (end - line)))
        {
          ed_smtp_reply_copy (&reader->reply, &reader->partial);
          ed_smtp_reply_reset (&reader->partial);
          return &reader->reply;
        }
    }
}

/**
 * ed_smtp_append_data:
 * @out: where the data goes
 * @message: the message, CRLF line ends
 *
 * Appends @message as it is sent after DATA's 354: a line that starts
 * with a dot gets one more (RFC 5321 4.5.2), a last line without its end
 * gets one, and CRLF “.” CRLF ends it.
 */
void
ed_smtp_append_data (GString    *out,
                     const char *message,
                     gsize       size)
{
  gsize start = 0;

  if (size > 0 && message[0] == '.')
    g_string_append_c (out, '.');
  for (gsize at = 0; at < size; )
    {
      const char *newline = memchr (message + at, '\n', size - at);

      if (newline == NULL)
        break;
      at = (gsize) (newline - message) + 1;
      if (at < size && message[at] == '.')
        {
          g_string_append_len (out, message + start, (gssize) (at - start));
          g_string_append_c (out, '.');
          start = at;
        }
    }
  g_string_append_len (out, message + start, (gssize) (size - start));
  if (size < 2 || message[size - 2] != '\r' || message[size - 1] != '\n')
    g_string_append (out, "\r\n");
  g_string_append (out, ".\r\n");
}
