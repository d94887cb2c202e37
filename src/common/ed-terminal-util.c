/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <termios.h>

#include "ed-terminal-util.h"

/* Reading secrets for the command-line tools (eventdeskd admin and
 * eventdeskctl), which both ask for passwords the same way.
 */

/**
 * ed_terminal_read_line:
 * @stream: where to read
 * @max_bytes: the longest line kept; longer input is read but cut there
 *
 * Returns: (transfer full) (nullable): the line without its line end, or
 *   %NULL at the end of input
 */
char *
ed_terminal_read_line (FILE  *stream,
                       gsize  max_bytes)
{
  g_autoptr(GString) line = g_string_new (NULL);
  int c;

  while ((c = fgetc (stream)) != EOF && c != '\n')
    if (line->len <= max_bytes)
      g_string_append_c (line, (char) c);

  if (c == EOF && line->len == 0)
    return NULL;
  if (line->len > 0 && line->str[line->len - 1] == '\r')
    g_string_truncate (line, line->len - 1);

  return g_string_free (g_steal_pointer (&line), FALSE);
}

/**
 * ed_terminal_prompt_hidden:
 * @tty: the terminal, open for reading and writing
 * @prompt: what to ask
 * @max_bytes: as for ed_terminal_read_line()
 *
 * Asks on @tty and reads the answer without echoing it.
 *
 * Returns: (transfer full) (nullable): the answer, or %NULL
 */
char *
ed_terminal_prompt_hidden (FILE       *tty,
                           const char *prompt,
                           gsize       max_bytes)
{
  struct termios saved, quiet;
  char *line;

  fputs (prompt, tty);
  fflush (tty);

  if (tcgetattr (fileno (tty), &saved) != 0)
    return NULL;
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  quiet.c_lflag |= ECHONL;
  if (tcsetattr (fileno (tty), TCSAFLUSH, &quiet) != 0)
    return NULL;

  line = ed_terminal_read_line (tty, max_bytes);
  tcsetattr (fileno (tty), TCSAFLUSH, &saved);

  return line;
}
