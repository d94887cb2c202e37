/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-live"

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "ed-live-io.h"

/* The live feed's WebSocket connections live on a thread of their own,
 * with its own GMainContext: the HTTP server's main loop then polls,
 * prepares and checks only its HTTP connections on each turn, however
 * many subscribers are connected, and the frames' writes happen off it.
 *
 * The owner (EdLiveHub, on the main context) decides everything: who
 * gets which frame, who is closed and why. It hands this thread commands
 * (open a connection on a stolen stream, send a frame, close, drop) and
 * gets back what the peers sent and which connections ended, both
 * through a locked queue and one wake-up source per side, in order. A
 * SoupWebsocketConnection is only ever touched on this thread; a link's
 * client pointer only on the owner's.
 *
 * A tick often gives a client two frames (two events changed): the
 * commands are run in batches, and a socket with more than one frame in
 * the batch is corked until the batch is done, so that its frames leave
 * in one segment; on loopback most of a send's cost is that segment's
 * trip through the stack.
 */

/* How long a peer has to answer our close before its connection is cut. */
#define CLOSE_WAIT_S 3

struct _EdLiveLink
{
  SoupWebsocketConnection *connection; /* IO thread only, as the two below */
  GSocket                 *socket;
  guint                    batch_frames; /* frames for it in the batch being run */
  GSource                 *close_wait;   /* IO thread only: see COMMAND_CLOSE */
  gpointer                 client;     /* owner only; NULL once dropped */
};

typedef enum
{
  COMMAND_OPEN,
  COMMAND_SEND,
  COMMAND_CLOSE,
  COMMAND_DROP,
  COMMAND_QUIT,
} CommandKind;

typedef struct
{
  CommandKind  kind;
  EdLiveLink  *link;     /* a reference */
  GIOStream   *stream;   /* open */
  GSocket     *socket;   /* open */
  GUri        *uri;      /* open */
  guint        max_incoming_bytes;
  guint        keepalive_s;
  GBytes      *text;     /* send */
  gushort      code;     /* close */
  char        *reason;   /* close */
} Command;

typedef enum
{
  EVENT_MESSAGE,
  EVENT_CLOSED,
} EventKind;

typedef struct
{
  EventKind    kind;
  EdLiveLink  *link;     /* a reference */
  gint         type;
  GBytes      *message;
} Event;

/* Items for one side, and the source that wakes that side for them. */
typedef struct
{
  GArray              *items;
  GSource             *wakeup;
} Queue;

struct _EdLiveIo
{
  GThread             *thread;
  GMainContext        *io_context;
  GMainContext        *owner_context;
  gboolean             quit;            /* IO thread only */

  EdLiveIoMessageFunc  message_func;
  EdLiveIoClosedFunc   closed_func;
  gpointer             user_data;

  GMutex               lock;
  Queue                commands;        /* Command, for the IO thread */
  Queue                events;          /* Event, for the owner */
};

static EdLiveLink *
link_ref (EdLiveLink *link)
{
  return g_atomic_rc_box_acquire (link);
}

static void
link_clear (EdLiveLink *link)
{
  /* Dropped before: the connection is gone; the socket went with it. */
  g_assert (link->connection == NULL);
  g_assert (link->close_wait == NULL);
  g_clear_object (&link->socket);
}

static void
link_unref (EdLiveLink *link)
{
  g_atomic_rc_box_release_full (link, (GDestroyNotify) link_clear);
}

static void
set_cork (EdLiveLink *link,
          gboolean    cork)
{
  int value = cork;

  /* Only an optimization: a socket that cannot be corked sends at once. */
  setsockopt (g_socket_get_fd (link->socket), IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

static void
command_clear (Command *command)
{
  g_clear_pointer (&command->link, link_unref);
  g_clear_object (&command->stream);
  g_clear_object (&command->socket);
  g_clear_pointer (&command->uri, g_uri_unref);
  g_clear_pointer (&command->text, g_bytes_unref);
  g_clear_pointer (&command->reason, g_free);
}

static void
event_clear (Event *event)
{
  g_clear_pointer (&event->link, link_unref);
  g_clear_pointer (&event->message, g_bytes_unref);
}

/* A source that runs its callback once each time it is woken, from any
 * thread, with g_source_set_ready_time (source, 0).
 */
static gboolean
wakeup_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  /* Before the callback looks at its queue: a post after that look wakes
   * the source again.
   */
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs wakeup_funcs = { NULL, NULL, wakeup_dispatch, NULL, NULL, NULL };

static void
queue_init (Queue        *queue,
            guint         element_size,
            GMainContext *context,
            const char   *name,
            GSourceFunc   func,
            gpointer      data)
{
  queue->items = g_array_new (FALSE, TRUE, element_size);
  queue->wakeup = g_source_new (&wakeup_funcs, sizeof (GSource));
  g_source_set_name (queue->wakeup, name);
  g_source_set_callback (queue->wakeup, func, data, NULL);
  g_source_attach (queue->wakeup, context);
}

static void
queue_clear (Queue *queue)
{
  g_source_destroy (queue->wakeup);
  g_clear_pointer (&queue->wakeup, g_source_unref);
  g_clear_pointer (&queue->items, g_array_unref);
}

/* Adds @item, and wakes the other side when the queue was empty. */
static void
queue_post (EdLiveIo      *io,
            Queue         *queue,
            gconstpointer  item)
{
  gboolean wake;

  g_mutex_lock (&io->lock);
  wake = queue->items->len == 0;
  g_array_append_vals (queue->items, item, 1);
  g_mutex_unlock (&io->lock);

  if (wake)
    g_source_set_ready_time (queue->wakeup, 0);
}

/* Takes what @queue holds, leaving it empty. */
static GArray *
queue_take (EdLiveIo *io,
            Queue    *queue)
{
  GArray *taken;

  g_mutex_lock (&io->lock);
  taken = queue->items;
  queue->items = g_array_new (FALSE, TRUE, g_array_get_element_size (taken));
  g_mutex_unlock (&io->lock);

  return taken;
}

/* On the IO thread */

static void
post_event (EdLiveIo    *io,
            EventKind    kind,
            EdLiveLink  *link,
            gint         type,
            GBytes      *message)
{
  Event event = { kind, link_ref (link), type, message ? g_bytes_ref (message) : NULL };

  queue_post (io, &io->events, &event);
}

typedef struct
{
  EdLiveIo   *io;
  EdLiveLink *link;
} Handler;

static void
on_message_cb (SoupWebsocketConnection *connection,
               gint                     type,
               GBytes                  *message,
               Handler                 *handler)
{
  post_event (handler->io, EVENT_MESSAGE, handler->link, type, message);
}

static void
on_closed_cb (SoupWebsocketConnection *connection,
              Handler                 *handler)
{
  post_event (handler->io, EVENT_CLOSED, handler->link, 0, NULL);
}

static void
handler_free (gpointer  data,
              GClosure *closure)
{
  g_free (data);
}

/* Lets go of the link's connection: the owner hears no more of it. */
static void
release_connection (EdLiveLink *link)
{
  /* Its destroy notify lets go of it. */
  if (link->close_wait != NULL)
    g_source_destroy (link->close_wait);
  g_assert (link->close_wait == NULL);
  if (link->connection == NULL)
    return;

  /* Never inside the connection's own emission: commands and the close
   * wait run from their own sources. The handlers go with their closures.
   */
  g_signal_handlers_disconnect_matched (link->connection, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_message_cb, NULL);
  g_signal_handlers_disconnect_matched (link->connection, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_closed_cb, NULL);
  g_clear_object (&link->connection);
  g_clear_object (&link->socket);
}

typedef struct
{
  EdLiveIo   *io;
  EdLiveLink *link;  /* a reference */
} CloseWait;

static void
close_wait_free (gpointer data)
{
  CloseWait *wait = data;

  /* Destroyed: when it ran, when the connection went first, or with the
   * thread's context. */
  g_clear_pointer (&wait->link->close_wait, g_source_unref);
  link_unref (wait->link);
  g_free (wait);
}

/* A peer that has not finished the closing handshake in CLOSE_WAIT_S:
 * its connection is cut, and the owner told it closed.
 */
static gboolean
close_wait_cb (gpointer user_data)
{
  CloseWait *wait = user_data;
  EdLiveLink *link = wait->link;
  SoupWebsocketConnection *connection = link->connection;

  /* Running, it is not destroyed with the connection below: it ends when
   * this returns. */
  g_clear_pointer (&link->close_wait, g_source_unref);
  if (connection != NULL && soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_CLOSED)
    {
      /* Its dispose closes the stream at once, and stops libsoup's own
       * close timer with it: left to fire, that timer's source is never
       * freed (libsoup 3.2, on_timeout_close_io()).
       */
      g_object_ref (connection);
      release_connection (link);
      g_object_run_dispose (G_OBJECT (connection));
      g_object_unref (connection);
      post_event (wait->io, EVENT_CLOSED, link, 0, NULL);
    }

  return G_SOURCE_REMOVE;
}

static void
run_command (EdLiveIo *io,
             Command  *command)
{
  EdLiveLink *link = command->link;
  SoupWebsocketConnection *connection = link ? link->connection : NULL;

  switch (command->kind)
    {
    case COMMAND_OPEN:
      {
        Handler *handler = g_new0 (Handler, 1);

        /* ed_live_io_open() made the link the open fills in */
        g_assert (link != NULL);
        /* Its sources go to this thread's context, the thread default. */
        connection = soup_websocket_connection_new (command->stream, command->uri,
                                                    SOUP_WEBSOCKET_CONNECTION_SERVER, NULL, NULL, NULL);
        soup_websocket_connection_set_max_incoming_payload_size (connection, command->max_incoming_bytes);
        soup_websocket_connection_set_keepalive_interval (connection, command->keepalive_s);
        handler->io = io;
        handler->link = link;
        g_signal_connect_data (connection, "message", G_CALLBACK (on_message_cb), handler, NULL, 0);
        g_signal_connect_data (connection, "closed", G_CALLBACK (on_closed_cb), handler, handler_free, 0);
        link->connection = connection;
        link->socket = g_object_ref (command->socket);
      }
      break;

    case COMMAND_SEND:
      if (connection != NULL && soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_message (connection, SOUP_WEBSOCKET_DATA_TEXT, command->text);
      break;

    case COMMAND_CLOSE:
      if (connection != NULL && soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          CloseWait *wait = g_new0 (CloseWait, 1);

          soup_websocket_connection_close (connection, command->code, command->reason);
          /* A stalled peer never answers the close: libsoup would cut it
           * after 5 s; this does it sooner (see close_wait_cb()).
           */
          wait->io = io;
          wait->link = link_ref (link);
          link->close_wait = g_timeout_source_new_seconds (CLOSE_WAIT_S);
          g_source_set_callback (link->close_wait, close_wait_cb, wait, close_wait_free);
          g_source_attach (link->close_wait, io->io_context);
        }
      break;

    case COMMAND_DROP:
      /* ed_live_io_drop() always names its link */
      g_assert (link != NULL);
      release_connection (link);
      break;

    case COMMAND_QUIT:
      io->quit = TRUE;
      break;

    default:
      g_assert_not_reached ();
    }
}

static gboolean
run_commands_cb (gpointer user_data)
{
  EdLiveIo *io = user_data;
  g_autoptr(GArray) commands = queue_take (io, &io->commands);
  g_autoptr(GPtrArray) corked = g_ptr_array_new_with_free_func ((GDestroyNotify) link_unref);

  for (guint i = 0; i < commands->len; i++)
    {
      Command *command = &g_array_index (commands, Command, i);

      if (command->kind == COMMAND_SEND)
        command->link->batch_frames++;
    }

  for (guint i = 0; i < commands->len; i++)
    {
      Command *command = &g_array_index (commands, Command, i);
      EdLiveLink *link = command->link;

      /* Corked at its first frame of the batch, once. */
      if (command->kind == COMMAND_SEND)
        {
          if (link->batch_frames > 1 && link->connection != NULL)
            {
              set_cork (link, TRUE);
              g_ptr_array_add (corked, link_ref (link));
            }
          link->batch_frames = 0;
        }
      run_command (io, command);
      command_clear (command);
    }

  /* Out go the corked frames. */
  for (guint i = 0; i < corked->len; i++)
    {
      EdLiveLink *link = g_ptr_array_index (corked, i);

      if (link->connection != NULL)
        set_cork (link, FALSE);
    }

  return G_SOURCE_CONTINUE;
}

static gpointer
io_thread_main (gpointer data)
{
  EdLiveIo *io = data;

  g_main_context_push_thread_default (io->io_context);
  while (!io->quit)
    g_main_context_iteration (io->io_context, TRUE);
  g_main_context_pop_thread_default (io->io_context);

  return NULL;
}

/* On the owner's context */

static void
post_command (EdLiveIo *io,
              Command  *command)
{
  queue_post (io, &io->commands, command);
}

static gboolean
run_events_cb (gpointer user_data)
{
  EdLiveIo *io = user_data;
  g_autoptr(GArray) events = queue_take (io, &io->events);

  for (guint i = 0; i < events->len; i++)
    {
      Event *event = &g_array_index (events, Event, i);

      /* A client dropped since hears nothing more. */
      if (event->link->client != NULL)
        {
          if (event->kind == EVENT_MESSAGE)
            io->message_func (event->link->client, event->type, event->message, io->user_data);
          else
            io->closed_func (event->link->client, io->user_data);
        }
      event_clear (event);
    }

  return G_SOURCE_CONTINUE;
}

/**
 * ed_live_io_new:
 * @message_func: gets each frame a client sends
 * @closed_func: hears that a client's connection ended (the client must
 *   still be dropped)
 *
 * Starts the IO thread. The functions run on the caller's thread-default
 * context, which must be the one every other call comes from.
 */
EdLiveIo *
ed_live_io_new (EdLiveIoMessageFunc message_func,
                EdLiveIoClosedFunc  closed_func,
                gpointer            user_data)
{
  EdLiveIo *io = g_new0 (EdLiveIo, 1);

  io->message_func = message_func;
  io->closed_func = closed_func;
  io->user_data = user_data;
  g_mutex_init (&io->lock);
  io->owner_context = g_main_context_ref_thread_default ();
  io->io_context = g_main_context_new ();
  queue_init (&io->commands, sizeof (Command), io->io_context, "ed-live-io commands", run_commands_cb, io);
  queue_init (&io->events, sizeof (Event), io->owner_context, "ed-live-io events", run_events_cb, io);
  io->thread = g_thread_new ("ed-live-io", io_thread_main, io);

  return io;
}

/**
 * ed_live_io_free:
 *
 * Stops the IO thread once it has run the commands given so far. Every
 * link should have been dropped: a connection still open is cut.
 */
void
ed_live_io_free (EdLiveIo *io)
{
  Command quit = { COMMAND_QUIT };

  if (io == NULL)
    return;

  post_command (io, &quit);
  g_thread_join (io->thread);

  /* Events nobody will read. */
  for (guint i = 0; i < io->events.items->len; i++)
    event_clear (&g_array_index (io->events.items, Event, i));
  queue_clear (&io->events);
  queue_clear (&io->commands);
  g_main_context_unref (io->io_context);
  g_main_context_unref (io->owner_context);
  g_mutex_clear (&io->lock);
  g_free (io);
}

/**
 * ed_live_io_open:
 * @stream: (transfer none): the stream stolen from the HTTP server after
 *   the 101 went out
 * @socket: its socket
 * @client: the owner's client, given back to the functions of
 *   ed_live_io_new() until the link is dropped
 *
 * Returns: (transfer full): the link to pass to the other calls, and
 *   finally to ed_live_io_drop()
 */
EdLiveLink *
ed_live_io_open (EdLiveIo  *io,
                 GIOStream *stream,
                 GSocket   *socket,
                 GUri      *uri,
                 gpointer   client,
                 guint      max_incoming_bytes,
                 guint      keepalive_s)
{
  EdLiveLink *link = g_atomic_rc_box_new0 (EdLiveLink);
  Command command = { COMMAND_OPEN };

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (client != NULL, NULL);

  link->client = client;
  command.link = link_ref (link);
  command.stream = g_object_ref (stream);
  command.socket = g_object_ref (socket);
  command.uri = uri ? g_uri_ref (uri) : NULL;
  command.max_incoming_bytes = max_incoming_bytes;
  command.keepalive_s = keepalive_s;
  post_command (io, &command);

  return link;
}

/* Sends @text as a text frame, unless the connection is closing. */
void
ed_live_io_send (EdLiveIo   *io,
                 EdLiveLink *link,
                 GBytes     *text)
{
  Command command = { COMMAND_SEND };

  command.link = link_ref (link);
  command.text = g_bytes_ref (text);
  post_command (io, &command);
}

/* Starts the closing handshake; the closed function follows. */
void
ed_live_io_close (EdLiveIo   *io,
                  EdLiveLink *link,
                  gushort     code,
                  const char *reason)
{
  Command command = { COMMAND_CLOSE };

  command.link = link_ref (link);
  command.code = code;
  command.reason = g_strdup (reason);
  post_command (io, &command);
}

/**
 * ed_live_io_drop:
 * @link: (transfer full): a link of ed_live_io_open()
 *
 * The client is gone: no function hears of it again, and its connection
 * is freed on the IO thread (cut, when it is still open).
 */
void
ed_live_io_drop (EdLiveIo   *io,
                 EdLiveLink *link)
{
  Command command = { COMMAND_DROP };

  link->client = NULL;
  command.link = link;
  post_command (io, &command);
}
