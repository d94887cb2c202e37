/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-renderer"

#include "config.h"

#include <epoxy/gl.h>
#include <string.h>

#include "ed-renderer-util.h"

/* GTK 4.8 draws with OpenGL wherever OpenGL works, also when the only
 * OpenGL is Mesa's software rasteriser: no GPU, a virtual machine, a
 * remote desktop, Xvfb. There the GL renderer spends on the CPU what a
 * GPU would do, for every frame, and the Cairo renderer, which redraws
 * only what changed, costs a fraction of it: the Overview page fed ten
 * live updates a second took 89% of a core with GL on llvmpipe and 7%
 * with Cairo (tests/bench/bench-app-overview.sh). Later GTK releases
 * refuse llvmpipe by themselves (gl_supported_platform() in
 * gskrenderer.c); with Debian 12's GTK 4.8 the app does.
 *
 * GSK reads GSK_RENDERER once, when it creates its first renderer, that is
 * when the first window is realized (gsk_renderer_new_for_surface(),
 * get_renderer_for_env_var()), so setting it before is enough. A
 * GSK_RENDERER the user set wins: they may know better.
 */

/* GL_RENDERER of Mesa's software drivers: "llvmpipe (LLVM 15.0.6, 256
 * bits)", "softpipe", "Software Rasterizer" (classic swrast). */
static const char * const software_renderers[] = {
  "llvmpipe", "softpipe", "swrast", "software rasterizer",
};

gboolean
ed_renderer_is_software_gl (const char *gl_renderer)
{
  g_autofree char *folded = NULL;

  g_return_val_if_fail (gl_renderer != NULL, FALSE);

  folded = g_ascii_strdown (gl_renderer, -1);
  for (guint i = 0; i < G_N_ELEMENTS (software_renderers); i++)
    if (strstr (folded, software_renderers[i]) != NULL)
      return TRUE;
  return FALSE;
}

char *
ed_renderer_dup_gl_renderer (GdkDisplay *display)
{
  g_autoptr(GdkGLContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  char *result;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), NULL);

  context = gdk_display_create_gl_context (display, &error);
  if (context == NULL || !gdk_gl_context_realize (context, &error))
    {
      g_debug ("No OpenGL: %s", error->message);
      return NULL;
    }

  gdk_gl_context_make_current (context);
  name = (const char *) glGetString (GL_RENDERER);
  result = g_strdup (name);
  gdk_gl_context_clear_current ();

  return result;
}

const char *
ed_renderer_choose_for_display (GdkDisplay *display)
{
  const char *user_choice = g_getenv ("GSK_RENDERER");
  g_autofree char *gl_renderer = NULL;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), NULL);

  if (user_choice != NULL)
    {
      g_debug ("Renderer: GSK_RENDERER=%s, as set", user_choice);
      return user_choice;
    }

  gl_renderer = ed_renderer_dup_gl_renderer (display);
  if (gl_renderer == NULL)
    {
      g_debug ("Renderer: GTK's own choice (Cairo, without OpenGL)");
      return NULL;
    }
  if (!ed_renderer_is_software_gl (gl_renderer))
    {
      g_debug ("Renderer: GTK's own choice (OpenGL on %s)", gl_renderer);
      return NULL;
    }

  /* g_setenv() races with other threads' getenv(): at startup the only
   * other thread is GDBus's worker, which read its variables when the
   * bus connection was made. */
  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  g_debug ("Renderer: Cairo, since OpenGL is %s, a software rasteriser", gl_renderer);
  return "cairo";
}
