/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "ed-application.h"
#include "ed-renderer-util.h"
#include "ed-test-app.h"

/* Which renderer the app's window draws with. Under Xvfb the only OpenGL
 * is Mesa's software rasteriser (llvmpipe), on which GTK 4.8 would still
 * pick its GL renderer: the app picks Cairo there, unless the user set
 * GSK_RENDERER. GSK reads GSK_RENDERER once per process, so each case
 * runs the app in a process of its own.
 */

static const char *
run_app_for_renderer (void)
{
  g_autoptr(EdApplication) app = ed_application_new (APP_ID ".Test", G_APPLICATION_NON_UNIQUE);
  g_autoptr(GError) error = NULL;
  GtkWindow *window;
  const char *renderer;

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_nonnull (window);
  ed_test_app_wait_drawn (GTK_WIDGET (window));

  renderer = G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window)));
  gtk_window_destroy (window);
  return renderer;
}

static void
test_software_gl_draws_with_cairo (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *gl_renderer = NULL;

      g_unsetenv ("GSK_RENDERER");
      /* What GTK on its own would draw with here: OpenGL, in software. */
      gl_renderer = ed_renderer_dup_gl_renderer (gdk_display_get_default ());
      g_test_message ("GL_RENDERER: %s", gl_renderer);
      g_assert_nonnull (gl_renderer);
      g_assert_nonnull (strstr (gl_renderer, "llvmpipe"));

      g_assert_cmpstr (run_app_for_renderer (), ==, "GskCairoRenderer");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_user_choice_kept (void)
{
  if (g_test_subprocess ())
    {
      g_setenv ("GSK_RENDERER", "gl", TRUE);
      g_assert_cmpstr (run_app_for_renderer (), ==, "GskGLRenderer");
      g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "gl");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_software_names (void)
{
  /* Mesa's own strings, and GPUs' (radeonsi names LLVM too). */
  g_assert_true (ed_renderer_is_software_gl ("llvmpipe (LLVM 15.0.6, 256 bits)"));
  g_assert_true (ed_renderer_is_software_gl ("softpipe"));
  g_assert_true (ed_renderer_is_software_gl ("Software Rasterizer"));
  g_assert_false (ed_renderer_is_software_gl ("Mesa Intel(R) UHD Graphics 620 (KBL GT2)"));
  g_assert_false (ed_renderer_is_software_gl ("AMD Radeon RX 6600 (navi23, LLVM 15.0.6, DRM 3.49, 6.1.0-13-amd64)"));
  g_assert_false (ed_renderer_is_software_gl ("NVIDIA GeForce RTX 3060/PCIe/SSE2"));
}

int
main (int   argc,
      char *argv[])
{
  ed_test_app_init (&argc, &argv);
  adw_init ();

  g_test_add_func ("/app/renderer/software-gl-draws-with-cairo", test_software_gl_draws_with_cairo);
  g_test_add_func ("/app/renderer/user-choice-kept", test_user_choice_kept);
  g_test_add_func ("/app/renderer/software-names", test_software_names);

  return g_test_run ();
}
