/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Which of GTK's renderers the app's windows draw with. */

/* Whether @gl_renderer, an OpenGL GL_RENDERER string, names a software
 * rasteriser (Mesa's llvmpipe, softpipe or swrast) rather than a GPU. */
gboolean  ed_renderer_is_software_gl        (const char *gl_renderer);

/* Reads the GL_RENDERER of @display's OpenGL; NULL when it has none
 * (then GTK draws with Cairo anyway). */
char     *ed_renderer_dup_gl_renderer       (GdkDisplay *display);

/* Picks GTK's Cairo renderer when @display's only OpenGL is a software
 * rasteriser and the user did not set GSK_RENDERER. Call it before the
 * first window is realized. Returns the GSK_RENDERER now in force (NULL:
 * GTK's own choice). */
const char *ed_renderer_choose_for_display  (GdkDisplay *display);

G_END_DECLS
