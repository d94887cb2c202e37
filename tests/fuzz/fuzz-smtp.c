/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-fuzz"

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ed-smtp-wire.h"

/* Both sides of the SMTP transport's wire. The input is what a mail
 * server sends back: the replies read from it are the same whether it
 * comes at once or in two pieces (split where the first byte says); each
 * has a three-digit code and a text of at most ED_SMTP_REPLY_TEXT_MAX
 * bytes without a line end. The input is also a message to send after
 * DATA: dot-stuffed, no line of it is the lone “.” that ends the data
 * before its end, and the receiver's undoing of the stuffing gives the
 * message back (with a line end added when it had none).
 */

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static GPtrArray *
read_replies (const char *data,
              gsize       size,
              gsize       split)
{
  GPtrArray *replies = g_ptr_array_new_with_free_func (g_free);
  EdSmtpReplyReader reader;
  gsize pieces[2][2] = { { 0, split }, { split, size - split } };

  ed_smtp_reply_reader_init (&reader);
  for (guint i = 0; i < 2; i++)
    {
      const EdSmtpReply *reply;

      if (!ed_smtp_reply_reader_feed (&reader, data + pieces[i][0], pieces[i][1]))
        {
          /* only a line longer than any reply is refused */
          g_ptr_array_add (replies, g_strdup ("(too long)"));
          break;
        }
      while ((reply = ed_smtp_reply_reader_next (&reader)) != NULL)
        {
          if (reply->code > 999 || reply->text->len > ED_SMTP_REPLY_TEXT_MAX ||
              memchr (reply->text->str, '\n', reply->text->len) != NULL)
            abort ();
          g_ptr_array_add (replies, g_strdup_printf ("%03u %s", reply->code, reply->text->str));
        }
    }
  ed_smtp_reply_reader_clear (&reader);

  return replies;
}

static void
check_data (const char *message,
            gsize       size)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) undone = g_string_new (NULL);
  const char *end_marker = "\r\n.\r\n";
  gsize at = 0;

  ed_smtp_append_data (out, message, size);

  /* the data ends with CRLF . CRLF, and only there: seen from the
   * receiver, which starts at a line's beginning
   */
  {
    g_autoptr(GString) seen = g_string_new ("\r\n");

    g_string_append_len (seen, out->str, (gssize) out->len);
    for (gsize from = 0; from + 5 <= seen->len; from++)
      if (memcmp (seen->str + from, end_marker, 5) == 0)
        {
          if (from + 5 != seen->len)
            abort ();
          break;
        }
    if (seen->len < 5 || memcmp (seen->str + seen->len - 5, end_marker, 5) != 0)
      abort ();
  }

  /* the receiver takes lines up to the final “.” and drops one leading
   * dot from each
   */
  while (at < out->len)
    {
      const char *newline = memchr (out->str + at, '\n', out->len - at);
      gsize line_end = newline != NULL ? (gsize) (newline - out->str) + 1 : out->len;

      if (line_end - at == 3 && memcmp (out->str + at, ".\r\n", 3) == 0)
        break;
      if (out->str[at] == '.')
        at++;
      g_string_append_len (undone, out->str + at, (gssize) (line_end - at));
      at = line_end;
    }

  if (size >= 2 && message[size - 2] == '\r' && message[size - 1] == '\n')
    {
      if (undone->len != size || memcmp (undone->str, message, size) != 0)
        abort ();
    }
  else if (undone->len != size + 2 || memcmp (undone->str, message, size) != 0 ||
           memcmp (undone->str + size, "\r\n", 2) != 0)
    abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_abort_on_warnings ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text = (const char *) data;
  g_autoptr(GPtrArray) whole = NULL;
  g_autoptr(GPtrArray) split = NULL;

  if (size == 0)
    return 0;

  whole = read_replies (text + 1, size - 1, 0);
  split = read_replies (text + 1, size - 1, MIN ((gsize) data[0] * 8, size - 1));
  if (whole->len != split->len)
    {
      /* a too-long line is seen in the piece it ends in: the replies
       * before it are the same
       */
      GPtrArray *shorter = whole->len < split->len ? whole : split;

      if (shorter->len == 0 || g_strcmp0 (g_ptr_array_index (shorter, shorter->len - 1), "(too long)") != 0)
        abort ();
    }
  else
    for (guint i = 0; i < whole->len; i++)
      if (g_strcmp0 (g_ptr_array_index (whole, i), g_ptr_array_index (split, i)) != 0)
        abort ();

  check_data (text, size);
  return 0;
}
