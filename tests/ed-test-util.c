/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include "ed-test-util.h"

/**
 * ed_test_parse_pid:
 * @text: a process id as text, such as g_subprocess_get_identifier() gives
 *
 * Fails the test, saying what it got, unless @text is a whole process id.
 *
 * Returns: the process id, at least 1
 */
pid_t
ed_test_parse_pid (const char *text)
{
  g_autoptr(GError) error = NULL;
  guint64 pid = 0;

  if (text == NULL)
    g_error ("No process id: the process is not running");
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT32, &pid, &error))
    g_error ("Not a process id: %s", error->message);

  return (pid_t) pid;
}

/**
 * ed_test_parse_int:
 * @text: a whole number as text, such as a query or a program printed
 * @where: what printed it, for the message
 *
 * Fails the test, saying what it got and from where, unless @text is a
 * whole number in base 10.
 *
 * Returns: the number
 */
gint64
ed_test_parse_int (const char *text,
                   const char *where)
{
  g_autoptr(GError) error = NULL;
  gint64 number = 0;

  if (text == NULL)
    g_error ("No number from %s", where);
  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &number, &error))
    g_error ("Not a number from %s: “%s”: %s", where, text, error->message);

  return number;
}
