/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef gboolean (*EdTestCondition) (gpointer user_data);

void      ed_test_app_init             (int             *argc,
                                        char          ***argv);
gboolean  ed_test_app_wait_until       (EdTestCondition  condition,
                                        gpointer         user_data,
                                        guint            timeout_ms);
void      ed_test_app_wait_ms          (guint            ms);
GAsyncResult *ed_test_app_wait_result  (GAsyncResult   **result);
void      ed_test_app_wait_drawn       (GtkWidget       *widget);
char     *ed_test_app_save_screenshot  (GtkWidget       *widget,
                                        const char      *name);
double    ed_test_app_read_status_mb   (const char      *field);
GdkTexture *ed_test_app_render         (GtkWidget       *widget);
char     *ed_test_app_save_texture     (GdkTexture      *texture,
                                        const char      *name);
GtkWidget *ed_test_app_find_widget     (GtkWidget       *root,
                                        GType            type,
                                        const char      *label);
void      ed_test_app_on_result_cb     (GObject         *source,
                                        GAsyncResult    *result,
                                        gpointer         user_data);

G_END_DECLS
