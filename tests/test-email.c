/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ed-email.h"
#include "ed-error.h"

#include <string.h>

static void
test_email_valid (void)
{
  static const char * const valid[] = {
    "ann@example.com",
    "Ann.Smith+events@mail.example.co.uk",
    "o'brien@example.ie",
    "x@a-b.example",
    "jörg@bücher.example",
    "user_name-1@sub.domain.example.org",
    "a!#$%&'*+/=?^_`{|}~-b@example.com",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", valid[i]);
      g_assert_true (ed_email_check (valid[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_email_invalid (void)
{
  static const struct {
    const char *address;
    const char *reason; /* part of the message the user sees */
  } invalid[] = {
    { "", "empty" },
    { "ann.example.com", "no “@”" },
    { "ann@@example.com", "more than one" },
    { "@example.com", "before “@” is empty" },
    { "ann@", "domain after “@” is empty" },
    { "ann@localhost", "no dot" },
    { ".ann@example.com", "starts or ends with a dot" },
    { "ann.@example.com", "starts or ends with a dot" },
    { "an..n@example.com", "two dots" },
    { "ann smith@example.com", "space" },
    { "ann@exa mple.com", "space" },
    { "ann@example..com", "empty part" },
    { "ann@-example.com", "“-”" },
    { "ann@example.123", "number" },
    { "ann@exam_ple.com", "not allowed in the domain" },
    { "an(n@example.com", "not allowed before" },
    { "ann\n@example.com", "control" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", invalid[i].address);
      g_assert_false (ed_email_check (invalid[i].address, &error));
      g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, invalid[i].reason));
    }
}

static void
test_email_lengths (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *local65 = g_strnfill (65, 'a');
  g_autofree char *long_local = g_strconcat (local65, "@example.com", NULL);
  g_autofree char *label64 = g_strnfill (64, 'b');
  g_autofree char *long_label = g_strconcat ("ann@", label64, ".com", NULL);
  g_autofree char *local64 = g_strnfill (64, 'a');
  g_autofree char *ok_local = g_strconcat (local64, "@example.com", NULL);

  g_assert_false (ed_email_check (long_local, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_false (ed_email_check (long_label, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (ed_email_check (ok_local, &error));
  g_assert_no_error (error);
}

static void
test_email_invalid_utf8 (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (ed_email_check ("ann\xff@example.com", &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "UTF-8"));
}

static void
test_email_normalize (void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "  Ann.Smith@Example.COM \t", "Ann.Smith@example.com" },
    { "bob@BÜCHER.example", "bob@bücher.example" },
    { "no-at-sign", "no-at-sign" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *normalized = ed_email_normalize (cases[i].in);

      g_assert_cmpstr (normalized, ==, cases[i].out);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/email/valid", test_email_valid);
  g_test_add_func ("/email/invalid", test_email_invalid);
  g_test_add_func ("/email/lengths", test_email_lengths);
  g_test_add_func ("/email/invalid-utf8", test_email_invalid_utf8);
  g_test_add_func ("/email/normalize", test_email_normalize);

  return g_test_run ();
}
