/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The live feed's WebSockets, on a thread of their own (see ed-live-io.c). */
typedef struct _EdLiveIo EdLiveIo;
typedef struct _EdLiveLink EdLiveLink;

/* Called on the owner's context: a frame from @client, or its end. */
typedef void (*EdLiveIoMessageFunc) (gpointer  client,
                                     gint      type,
                                     GBytes   *message,
                                     gpointer  user_data);
typedef void (*EdLiveIoClosedFunc)  (gpointer  client,
                                     gpointer  user_data);

EdLiveIo   *ed_live_io_new   (EdLiveIoMessageFunc  message_func,
                              EdLiveIoClosedFunc   closed_func,
                              gpointer             user_data);
void        ed_live_io_free  (EdLiveIo            *io);

EdLiveLink *ed_live_io_open  (EdLiveIo            *io,
                              GIOStream           *stream,
                              GSocket             *socket,
                              GUri                *uri,
                              gpointer             client,
                              guint                max_incoming_bytes,
                              guint                keepalive_s);
void        ed_live_io_send  (EdLiveIo            *io,
                              EdLiveLink          *link,
                              GBytes              *text);
void        ed_live_io_close (EdLiveIo            *io,
                              EdLiveLink          *link,
                              gushort              code,
                              const char          *reason);
void        ed_live_io_drop  (EdLiveIo            *io,
                              EdLiveLink          *link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdLiveIo, ed_live_io_free)

G_END_DECLS
