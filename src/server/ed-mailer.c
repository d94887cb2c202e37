/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-mailer"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ed-error.h"
#include "ed-mail-message.h"
#include "ed-mail-render.h"
#include "ed-mail-transport.h"
#include "ed-mailer.h"
#include "ed-store.h"
#include "ed-time-util.h"

/* The mail dispatcher.
 *
 * One dispatcher thread owns a database connection of its own. It claims
 * due messages in batches (queued or due for a retry → sending, one
 * transaction per campaign and batch, transactional campaigns first) as
 * far as the rate limit's token bucket allows, and hands them to a pool
 * of sender threads, each of which owns a few transports, that is SMTP
 * connections kept open from message to message, and keeps them all busy.
 * The senders render each message and send it; the results come back to
 * the dispatcher, which writes them in batched transactions (the
 * message's state and one delivery_log row per attempt), decides retries,
 * slows down on throttling replies, pauses campaigns that fail too often
 * and marks finished ones done.
 *
 * The main loop only ever calls ed_mailer_wake() and reads the stats,
 * neither of which waits for anything but a short lock; the progress
 * signal is emitted on the main context, coalesced. The senders, where
 * the CPU time of mail goes (rendering, MIME, SMTP), run at a lower
 * priority than the main loop: when both want the CPU, requests are
 * served first and mail goes out with what is left, so a campaign at
 * full speed does not hold up the API, the guests' pages or /healthz.
 * The dispatcher keeps the normal priority: it holds the database's
 * write lock in its transactions, and the answers' writer must not wait
 * for it to be scheduled.
 *
 * Wake-ups after a claim that found little are coalesced for
 * WAKE_CLAIM_INTERVAL_US: an RSVP storm wakes the mailer after each group
 * commit, and a claim per commit (a write transaction, an fsync) would
 * take turns for the write lock with the answers themselves.
 */

/* Messages claimed at once, and most messages claimed and not yet done. */
#define CLAIM_BATCH 200
#define MAX_IN_FLIGHT 400
/* Results are written when this many are waiting, or after this long. */
#define FLUSH_COUNT 100
#define FLUSH_INTERVAL_US (200 * 1000)
/* Senders wake the dispatcher once per this many results (or when they
 * run out of work); it looks at least this often while any are out.
 */
#define RESULT_BATCH 32
#define RESULT_WAIT_US (20 * 1000)
/* With nothing to do, the queue is looked at this often anyway. */
#define POLL_INTERVAL_US G_USEC_PER_SEC
#define MAINTENANCE_INTERVAL_US (2 * G_USEC_PER_SEC)
/* An idle connection is closed (QUIT) after this long. */
#define IDLE_DISCONNECT_US (5 * G_USEC_PER_SEC)
/* The token bucket holds this many seconds' worth of messages. */
#define BURST_SECONDS 0.2
/* Throttling halves the rate at most this often. */
#define THROTTLE_HALVING_US G_USEC_PER_SEC
#define DEFAULT_THROTTLE_QUIET 30
/* The failure window of a campaign: its latest attempts, at most this
 * old.
 */
#define FAILURE_WINDOW 100
#define FAILURE_WINDOW_AGE_US (10 * 60 * G_USEC_PER_SEC)
/* Send rates are averaged over this many seconds. */
#define RATE_SECONDS 5
#define PROGRESS_INTERVAL_MS 100
/* How much nicer than the main loop the senders are. */
#define THREAD_NICE_INCREMENT 10
/* Wake-ups claim at most this often while claims find little. */
#define WAKE_CLAIM_INTERVAL_US (100 * 1000)

typedef struct
{
  gint64 seconds[RATE_SECONDS + 1];
  guint  counts[RATE_SECONDS + 1];
} RateMeter;

/* A campaign with its event, shared by its jobs of one claim. */
typedef struct
{
  EdCampaign *campaign;
  EdEvent         *event;
} CampaignData;

typedef struct
{
  EdQueuedMessage *message;
  CampaignData    *data;
  gboolean         attempted;
  EdMailResult     result;
} Job;

typedef struct
{
  gint64   at_us[FAILURE_WINDOW];
  gboolean failed[FAILURE_WINDOW];
  guint    next;
  guint    len;
} FailureWindow;

/* The dispatcher thread's own state. */
typedef struct
{
  GHashTable *campaigns;        /* id -> CampaignData (atomic rc box) */
  GHashTable *campaign_flight;  /* id -> messages in flight (GUINT_TO_POINTER) */
  GHashTable *campaign_events;  /* id -> event id, campaigns running at the last claim */
  GHashTable *windows;          /* id -> FailureWindow */
  GHashTable *touched;          /* id -> event id, campaigns with results since the last check */
  GHashTable *to_pause;         /* id -> reason */
  GArray     *records;          /* EdDeliveryRecord */
  GPtrArray  *record_texts;
  GArray     *released;         /* gint64 message ids, claimed but not attempted */
  gint64      pending_since_us;
  guint       in_flight;
  double      tokens;
  gint64      refill_us;
  double      effective_rate;   /* 0: no limit */
  double      rate_before_throttle;
  gboolean    throttled;
  gint64      last_throttle_us;
  gint64      last_halving_us;
  gint64      last_step_us;
  gint64      next_claim_us;
  gint64      last_claim_us;
  gboolean    more_due;         /* the last claim filled its batch */
  gint64      next_maintenance_us;
  gboolean    woken;
} Dispatch;

struct _EdMailer
{
  GObject        parent_instance;

  /* settings */
  char          *db_path;
  char          *transport_url;
  char          *password;
  char          *mail_from;
  char          *public_url;
  GBytes        *secret;
  guint          n_connections;
  double         configured_rate;
  guint          retry_delay;
  guint          retry_max_age;
  double         failure_threshold;
  guint          timeout;
  guint          throttle_quiet;
  char          *description;

  /* owned */
  GMainContext  *main_context;
  EdStore       *store;         /* the dispatcher thread's */
  EdMailRenderer *renderer;     /* shared by the senders */
  GThread       *dispatcher;
  GPtrArray     *senders;       /* GThread */
  GPtrArray     *transports;    /* EdMailTransport, until their threads take them */
  GAsyncQueue   *work;          /* Job, to the senders */
  gint           stopping;      /* atomic */

  /* the senders' results on their way back, under results_lock */
  GMutex         results_lock;
  GCond          results_cond;
  GPtrArray     *results;       /* Job; NULL when not running */
  gboolean       results_ready; /* a batch is waiting */
  gboolean       woken;         /* ed_mailer_wake() was called */

  /* shared with the threads, under lock */
  GMutex         lock;
  EdMailerStats  stats;
  RateMeter      sent_meter;
  GHashTable    *campaign_meters; /* id -> RateMeter */
  GHashTable    *changed_events;  /* event ids for the next progress signal */
  GSource       *progress_source;
};

enum {
  PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static char stop_marker;
#define STOP ((Job *) &stop_marker)

G_DEFINE_FINAL_TYPE (EdMailer, ed_mailer, G_TYPE_OBJECT)

/* Rates */

static void
rate_meter_add (RateMeter *meter,
                gint64     second,
                guint      count)
{
  guint slot = (guint) (second % (RATE_SECONDS + 1));

  if (meter->seconds[slot] != second)
    {
      meter->seconds[slot] = second;
      meter->counts[slot] = 0;
    }
  meter->counts[slot] += count;
}

static double
rate_meter_get (const RateMeter *meter,
                gint64           now_us)
{
  gint64 second = now_us / G_USEC_PER_SEC;
  double span = (RATE_SECONDS - 1) + (double) (now_us % G_USEC_PER_SEC) / G_USEC_PER_SEC;
  guint total = 0;

  for (guint i = 0; i <= RATE_SECONDS; i++)
    if (meter->seconds[i] > second - RATE_SECONDS && meter->seconds[i] <= second)
      total += meter->counts[i];

  return total / MAX (span, 1.0);
}

/* Linux keeps a nice value per thread: this lowers the calling thread's
 * only. Failing leaves it as it was, which only costs latency.
 */
static void
lower_thread_priority (void)
{
  pid_t tid = (pid_t) syscall (SYS_gettid);
  int nice_value;

  errno = 0;
  nice_value = getpriority (PRIO_PROCESS, (id_t) tid);
  if (errno == 0)
    setpriority (PRIO_PROCESS, (id_t) tid, MIN (nice_value + THREAD_NICE_INCREMENT, 19));
}

/* Campaign data and jobs */

static void
campaign_data_clear (CampaignData *data)
{
  g_clear_pointer (&data->campaign, ed_campaign_free);
  g_clear_pointer (&data->event, ed_event_free);
}

static void
campaign_data_unref (CampaignData *data)
{
  g_atomic_rc_box_release_full (data, (GDestroyNotify) campaign_data_clear);
}

static void
job_free (Job *job)
{
  g_clear_pointer (&job->message, ed_queued_message_free);
  g_clear_pointer (&job->data, campaign_data_unref);
  ed_mail_result_clear (&job->result);
  g_free (job);
}

/* Senders
 *
 * A sender thread keeps a few connections (transports) busy at once: it
 * renders the next message for a connection that is free while the
 * others wait for their servers' replies, and one poll serves them all.
 * A thread per connection spent more on waking up, once for each reply,
 * than on the work itself. There are as many senders as processors (or
 * connections, if fewer), and the connections are shared out among them.
 */
typedef struct
{
  EdMailTransport *transport;
  Job             *job;       /* under way on it, or NULL */
} Slot;

typedef struct
{
  EdMailer            *self;
  Slot                *slots;
  guint                n_slots;
  EdMailMessageWriter *writer;
  GArray              *fds;       /* GPollFD */
} Sender;

/* Makes the job's message and starts it on the slot's connection.
 * Returns: %TRUE when it is under way, %FALSE when it is done already
 */
static gboolean
start_job (Sender *sender,
           Slot   *slot,
           Job    *job)
{
  EdMailer *self = sender->self;
  g_autoptr(EdMailMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  job->attempted = TRUE;

  message = ed_mail_renderer_render (self->renderer, job->data->campaign, job->data->event,
                                     job->message->guest, job->message->id, job->message->created_at,
                                     &error);
  if (message != NULL)
    bytes = ed_mail_message_writer_write (sender->writer, message, &error);
  if (bytes == NULL)
    {
      /* the guest's data cannot make a message: no retry will help */
      job->result.kind = ED_MAIL_RESULT_PERMANENT;
      job->result.code = 0;
      job->result.text = g_strdup_printf ("The message could not be made: %s", error->message);
      return FALSE;
    }

  return ed_mail_transport_begin (slot->transport,
                                  ed_mail_message_get_envelope_from (message),
                                  ed_mail_message_get_envelope_to (message),
                                  bytes, &job->result);
}

/* Hands a job back; the dispatcher is woken once per batch, or when the
 * senders have nothing left to do and it should claim more.
 */
static void
return_job (EdMailer *self,
            Job      *job)
{
  g_mutex_lock (&self->results_lock);
  g_ptr_array_add (self->results, job);
  if (!self->results_ready &&
      (self->results->len >= RESULT_BATCH || g_async_queue_length (self->work) <= 0))
    {
      self->results_ready = TRUE;
      g_cond_signal (&self->results_cond);
    }
  g_mutex_unlock (&self->results_lock);
}

/* Waits for any busy connection's sockets or time, and takes each on. */
static void
drive_slots (Sender *sender)
{
  gint64 deadline_us = -1;

  g_array_set_size (sender->fds, 0);
  for (guint i = 0; i < sender->n_slots; i++)
    if (sender->slots[i].job != NULL)
      ed_mail_transport_add_poll (sender->slots[i].transport, sender->fds, &deadline_us);
  ed_mail_transport_poll (sender->fds, deadline_us);

  for (guint i = 0; i < sender->n_slots; i++)
    {
      Slot *slot = &sender->slots[i];

      if (slot->job != NULL &&
          ed_mail_transport_step (slot->transport, (const GPollFD *) sender->fds->data, sender->fds->len))
        return_job (sender->self, g_steal_pointer (&slot->job));
    }
}

static guint
count_busy (Sender *sender)
{
  guint busy = 0;

  for (guint i = 0; i < sender->n_slots; i++)
    busy += sender->slots[i].job != NULL;
  return busy;
}

static gpointer
sender_thread (gpointer user_data)
{
  Sender *sender = user_data;
  EdMailer *self = sender->self;
  gboolean stop = FALSE;

  lower_thread_priority ();

  while (!stop)
    {
      guint busy = count_busy (sender);

      /* each free connection takes the next job; with none busy, the
       * thread waits for one
       */
      for (guint i = 0; i < sender->n_slots && !stop; i++)
        {
          Slot *slot = &sender->slots[i];
          Job *job;

          if (slot->job != NULL)
            continue;

          job = busy == 0 ? g_async_queue_timeout_pop (self->work, IDLE_DISCONNECT_US)
                          : g_async_queue_try_pop (self->work);
          if (job == NULL)
            {
              /* closed now rather than when the server tires of waiting */
              if (busy == 0)
                for (guint k = 0; k < sender->n_slots; k++)
                  ed_mail_transport_disconnect (sender->slots[k].transport);
              break;
            }
          if (job == STOP)
            {
              stop = TRUE;
              break;
            }

          if (!g_atomic_int_get (&self->stopping) && start_job (sender, slot, job))
            {
              slot->job = job;
              busy++;
            }
          else
            return_job (self, job);
        }

      if (busy > 0)
        drive_slots (sender);
    }

  /* the stop comes after the dispatcher has had every job back */
  g_assert (count_busy (sender) == 0);

  for (guint i = 0; i < sender->n_slots; i++)
    ed_mail_transport_free (sender->slots[i].transport);
  ed_mail_message_writer_free (sender->writer);
  g_array_unref (sender->fds);
  g_free (sender->slots);
  g_free (sender);
  return NULL;
}

/* Progress, on the main context */

static gboolean
emit_progress_cb (gpointer user_data)
{
  EdMailer *self = user_data;
  g_autoptr(GArray) event_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter iter;
  gpointer key;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->changed_events);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_array_append_val (event_ids, *(gint64 *) key);
  g_hash_table_remove_all (self->changed_events);
  g_clear_pointer (&self->progress_source, g_source_unref);
  g_mutex_unlock (&self->lock);

  if (event_ids->len > 0)
    g_signal_emit (self, signals[PROGRESS], 0, event_ids);

  return G_SOURCE_REMOVE;
}

/* From the dispatcher thread: the events whose campaigns changed get a
 * progress signal within PROGRESS_INTERVAL_MS.
 */
static void
note_changed_event (EdMailer *self,
                    gint64    event_id)
{
  g_mutex_lock (&self->lock);
  g_hash_table_add (self->changed_events, g_memdup2 (&event_id, sizeof event_id));
  if (self->progress_source == NULL)
    {
      self->progress_source = g_timeout_source_new (PROGRESS_INTERVAL_MS);
      g_source_set_priority (self->progress_source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (self->progress_source, emit_progress_cb,
                             g_object_ref (self), g_object_unref);
      g_source_set_static_name (self->progress_source, "[eventdesk] mailer progress");
      g_source_attach (self->progress_source, self->main_context);
    }
  g_mutex_unlock (&self->lock);
}

/* The dispatcher */

static double
bucket_size (Dispatch *d)
{
  return MAX (1.0, d->effective_rate * BURST_SECONDS);
}

static void
publish_rate (EdMailer *self,
              Dispatch *d)
{
  g_mutex_lock (&self->lock);
  self->stats.rate_limit = d->effective_rate;
  self->stats.throttled = d->throttled;
  self->stats.in_flight = d->in_flight;
  g_mutex_unlock (&self->lock);
}

static void
refill_tokens (EdMailer *self,
               Dispatch *d,
               gint64    now_us)
{
  if (d->effective_rate > 0)
    d->tokens = MIN (bucket_size (d), d->tokens + d->effective_rate * (now_us - d->refill_us) / G_USEC_PER_SEC);
  d->refill_us = now_us;

  /* after a quiet spell, the rate steps back up */
  if (d->throttled &&
      now_us - d->last_throttle_us >= (gint64) self->throttle_quiet * G_USEC_PER_SEC &&
      now_us - d->last_step_us >= (gint64) self->throttle_quiet * G_USEC_PER_SEC)
    {
      d->effective_rate *= 2;
      d->last_step_us = now_us;
      if (d->effective_rate >= d->rate_before_throttle)
        {
          d->effective_rate = self->configured_rate;
          d->throttled = FALSE;
          g_message ("Mail: no more throttling replies; sending at %s again",
                     self->configured_rate > 0 ? "the configured rate" : "full speed");
        }
      else
        g_message ("Mail: no throttling reply for %u s; rate up to %.0f messages/s",
                   self->throttle_quiet, d->effective_rate);
      publish_rate (self, d);
    }
}

static void
on_throttled (EdMailer *self,
              Dispatch *d,
              gint64    now_us)
{
  double base;

  d->last_throttle_us = now_us;
  /* the messages in flight when the server started refusing all come
   * back throttled: one halving for them
   */
  if (d->throttled && now_us - d->last_halving_us < THROTTLE_HALVING_US)
    return;

  if (d->effective_rate > 0)
    base = d->effective_rate;
  else
    {
      g_mutex_lock (&self->lock);
      base = rate_meter_get (&self->sent_meter, now_us);
      g_mutex_unlock (&self->lock);
      base = MAX (base, 2.0);
    }

  if (!d->throttled)
    d->rate_before_throttle = self->configured_rate > 0 ? self->configured_rate : base;
  d->effective_rate = MAX (1.0, base / 2);
  d->throttled = TRUE;
  d->last_halving_us = now_us;
  d->last_step_us = now_us;
  d->tokens = MIN (d->tokens, bucket_size (d));

  g_message ("Mail: the server asks to slow down; rate down to %.0f messages/s", d->effective_rate);
  publish_rate (self, d);
}

static gint64
retry_delay (EdMailer *self,
             guint     attempts)
{
  double delay = (double) self->retry_delay * (1u << (MIN (MAX (attempts, 1), 21) - 1));
  double cap = MAX (ED_MAILER_MAX_RETRY_DELAY, self->retry_delay);

  delay = MIN (delay, cap);
  /* ±25 %, so that a whole batch refused at once does not come back at once */
  delay *= 0.75 + 0.5 * g_random_double ();
  return MAX (1, (gint64) (delay + 0.5));
}

static void
window_add (EdMailer   *self,
            Dispatch   *d,
            Job        *job,
            gboolean    failed,
            const char *text,
            gint64      now_us)
{
  const EdCampaign *campaign = job->data->campaign;
  FailureWindow *window;
  guint n = 0, n_failed = 0;

  /* transactional mail is not paused: each message is one guest's own */
  if (campaign->transactional || self->failure_threshold >= 1.0)
    return;

  window = g_hash_table_lookup (d->windows, &campaign->id);
  if (window == NULL)
    {
      window = g_new0 (FailureWindow, 1);
      g_hash_table_insert (d->windows, g_memdup2 (&campaign->id, sizeof campaign->id), window);
    }

  window->at_us[window->next] = now_us;
  window->failed[window->next] = failed;
  window->next = (window->next + 1) % FAILURE_WINDOW;
  window->len = MIN (window->len + 1, FAILURE_WINDOW);

  for (guint i = 0; i < window->len; i++)
    if (now_us - window->at_us[i] <= FAILURE_WINDOW_AGE_US)
      {
        n++;
        n_failed += window->failed[i] ? 1 : 0;
      }

  if (n >= ED_MAILER_FAILURE_MIN_ATTEMPTS && (double) n_failed / n > self->failure_threshold &&
      !g_hash_table_contains (d->to_pause, &campaign->id))
    {
      g_autofree char *reply = job->result.code != 0
        ? g_strdup_printf ("%u %s", job->result.code, text ? text : "")
        : g_strdup (text ? text : "");
      char *reason = g_strdup_printf ("Paused by the mailer: %u of the last %u attempts failed "
                                      "(more than %.0f%%); the last one: %s",
                                      n_failed, n, self->failure_threshold * 100, reply);

      g_hash_table_insert (d->to_pause, g_memdup2 (&campaign->id, sizeof campaign->id), reason);
    }
}

static void
take_result (EdMailer *self,
             Dispatch *d,
             Job      *job)
{
  const EdQueuedMessage *message = job->message;
  const EdCampaign *campaign = job->data->campaign;
  EdDeliveryRecord record = { 0 };
  gint64 now = ed_time_now ();
  gint64 now_us = g_get_monotonic_time ();
  guint flight;
  char *text = NULL;

  g_assert (d->in_flight > 0);
  d->in_flight--;
  flight = GPOINTER_TO_UINT (g_hash_table_lookup (d->campaign_flight, &campaign->id));
  g_assert (flight > 0);
  g_hash_table_insert (d->campaign_flight, g_memdup2 (&campaign->id, sizeof campaign->id),
                       GUINT_TO_POINTER (flight - 1));

  if (d->records->len == 0 && d->released->len == 0)
    d->pending_since_us = now_us;

  if (!job->attempted)
    {
      g_array_append_val (d->released, message->id);
      job_free (job);
      return;
    }

  record.message_id = message->id;
  record.event_id = campaign->event_id;
  record.code = job->result.code;
  record.at = now;

  switch (job->result.kind)
    {
    case ED_MAIL_RESULT_SENT:
      record.outcome = ED_DELIVERY_SENT;
      break;
    case ED_MAIL_RESULT_PERMANENT:
      record.outcome = ED_DELIVERY_FAILED;
      break;
    case ED_MAIL_RESULT_THROTTLED:
      on_throttled (self, d, now_us);
      G_GNUC_FALLTHROUGH;
    case ED_MAIL_RESULT_TEMPORARY:
    default:
      if (now >= message->created_at + self->retry_max_age)
        {
          record.outcome = ED_DELIVERY_FAILED;
          text = g_strdup_printf ("%s (gave up after %u attempts)", job->result.text, message->attempts + 1);
        }
      else
        {
          record.outcome = ED_DELIVERY_RETRY;
          record.next_attempt_at = MIN (now + retry_delay (self, message->attempts + 1),
                                        message->created_at + self->retry_max_age);
        }
      break;
    }

  if (text == NULL)
    text = g_steal_pointer (&job->result.text);
  record.text = text;
  g_ptr_array_add (d->record_texts, text);
  g_array_append_val (d->records, record);

  if (job->result.kind != ED_MAIL_RESULT_THROTTLED)
    window_add (self, d, job, record.outcome != ED_DELIVERY_SENT, text, now_us);

  g_hash_table_insert (d->touched, g_memdup2 (&campaign->id, sizeof campaign->id),
                       g_memdup2 (&campaign->event_id, sizeof campaign->event_id));

  g_mutex_lock (&self->lock);
  switch (record.outcome)
    {
    case ED_DELIVERY_SENT:
      {
        RateMeter *meter = g_hash_table_lookup (self->campaign_meters, &campaign->id);

        if (meter == NULL)
          {
            meter = g_new0 (RateMeter, 1);
            g_hash_table_insert (self->campaign_meters, g_memdup2 (&campaign->id, sizeof campaign->id), meter);
          }
        rate_meter_add (meter, now_us / G_USEC_PER_SEC, 1);
        rate_meter_add (&self->sent_meter, now_us / G_USEC_PER_SEC, 1);
        self->stats.sent++;
      }
      break;
    case ED_DELIVERY_RETRY:
      self->stats.retried++;
      break;
    case ED_DELIVERY_FAILED:
      self->stats.failed++;
      break;
    default:
      g_assert_not_reached ();
    }
  if (record.code >= 200 && record.code < 300)
    self->stats.replies_2xx++;
  else if (record.code >= 400 && record.code < 500)
    self->stats.replies_4xx++;
  else if (record.code >= 500 && record.code < 600)
    self->stats.replies_5xx++;
  else
    self->stats.replies_none++;
  self->stats.in_flight = d->in_flight;
  g_mutex_unlock (&self->lock);

  job_free (job);
}

static void
check_campaigns_done (EdMailer   *self,
                      Dispatch   *d,
                      GHashTable *campaigns)
{
  GHashTableIter iter;
  gpointer key, value;
  gint64 now = ed_time_now ();

  g_hash_table_iter_init (&iter, campaigns);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 campaign_id = *(gint64 *) key;
      gint64 event_id = *(gint64 *) value;
      CampaignData *data = g_hash_table_lookup (d->campaigns, &campaign_id);
      g_autoptr(GError) error = NULL;
      gboolean finished = FALSE;

      if (data == NULL || data->campaign->transactional ||
          GPOINTER_TO_UINT (g_hash_table_lookup (d->campaign_flight, &campaign_id)) > 0)
        continue;

      if (!ed_store_finish_campaign_if_done (self->store, campaign_id, now, &finished, &error))
        g_warning ("Mail: cannot check whether campaign %" G_GINT64_FORMAT " is done: %s",
                   campaign_id, error->message);
      else if (finished)
        {
          g_message ("Mail: campaign %" G_GINT64_FORMAT " is done", campaign_id);
          note_changed_event (self, event_id);
        }
    }
}

static void
pause_failing_campaigns (EdMailer *self,
                         Dispatch *d)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, d->to_pause);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 campaign_id = *(gint64 *) key;
      CampaignData *data = g_hash_table_lookup (d->campaigns, &campaign_id);
      g_autoptr(GError) error = NULL;
      gboolean paused = FALSE;

      if (!ed_store_pause_failing_campaign (self->store, campaign_id, value, ed_time_now (), &paused, &error))
        {
          g_warning ("Mail: cannot pause campaign %" G_GINT64_FORMAT ": %s", campaign_id, error->message);
          continue;
        }
      if (paused)
        {
          g_message ("Mail: campaign %" G_GINT64_FORMAT ": %s", campaign_id, (const char *) value);
          if (data != NULL)
            note_changed_event (self, data->campaign->event_id);
        }
      g_hash_table_remove (d->windows, &campaign_id);
      g_hash_table_iter_remove (&iter);
    }
}

static void
flush_results (EdMailer *self,
               Dispatch *d)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer value;

  if (d->records->len > 0)
    {
      if (!ed_store_record_deliveries (self->store, (EdDeliveryRecord *) (gpointer) d->records->data,
                                       d->records->len, &error))
        {
          /* kept, and written with the next ones */
          g_warning ("Mail: cannot record %u results: %s", d->records->len, error->message);
          d->pending_since_us = g_get_monotonic_time ();
          return;
        }
      g_array_set_size (d->records, 0);
      g_ptr_array_set_size (d->record_texts, 0);
    }

  if (d->released->len > 0)
    {
      if (!ed_store_release_messages (self->store, (gint64 *) (gpointer) d->released->data,
                                      d->released->len, &error))
        {
          g_warning ("Mail: cannot put %u messages back in the queue: %s", d->released->len, error->message);
          return;
        }
      g_array_set_size (d->released, 0);
    }

  pause_failing_campaigns (self, d);
  check_campaigns_done (self, d, d->touched);

  g_hash_table_iter_init (&iter, d->touched);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    note_changed_event (self, *(gint64 *) value);
  g_hash_table_remove_all (d->touched);
}

/* Takes @owned_campaign; returns the cached data when neither the campaign
 * nor its event changed since.
 */
static CampaignData *
get_campaign_data (EdMailer    *self,
                   Dispatch    *d,
                   EdCampaign  *owned_campaign,
                   GError     **error)
{
  g_autoptr(EdCampaign) campaign = owned_campaign;
  CampaignData *data = g_hash_table_lookup (d->campaigns, &campaign->id);
  g_autoptr(EdEvent) event = NULL;

  event = ed_store_get_event (self->store, campaign->event_id, error);
  if (event == NULL)
    return NULL;

  if (data != NULL && data->campaign->updated_at == campaign->updated_at &&
      data->event->updated_at == event->updated_at)
    return data;

  data = g_atomic_rc_box_new0 (CampaignData);
  data->campaign = g_steal_pointer (&campaign);
  data->event = g_steal_pointer (&event);
  g_hash_table_insert (d->campaigns, g_memdup2 (&data->campaign->id, sizeof (gint64)), data);
  return data;
}

/* Claims due messages as far as the room and the tokens allow; returns
 * whether there may be more due right now.
 */
static gboolean
claim (EdMailer *self,
       Dispatch *d,
       guint     max_messages)
{
  g_autoptr(GPtrArray) campaigns = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = ed_time_now ();
  guint claimed = 0;

  campaigns = ed_store_list_running_campaigns (self->store, &error);
  if (campaigns == NULL)
    {
      g_warning ("Mail: cannot read the running campaigns: %s", error->message);
      return FALSE;
    }

  g_hash_table_remove_all (d->campaign_events);
  for (guint i = 0; i < campaigns->len; i++)
    {
      EdCampaign *campaign = g_ptr_array_index (campaigns, i);

      g_hash_table_insert (d->campaign_events, g_memdup2 (&campaign->id, sizeof campaign->id),
                           g_memdup2 (&campaign->event_id, sizeof campaign->event_id));
    }

  for (guint i = 0; i < campaigns->len && claimed < max_messages; i++)
    {
      EdCampaign *campaign = g_ptr_array_index (campaigns, i);
      g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_queued_message_free);
      gint64 campaign_id = campaign->id;
      CampaignData *data;
      guint flight;

      if (g_hash_table_contains (d->to_pause, &campaign_id))
        continue;

      data = get_campaign_data (self, d, g_steal_pointer (&campaigns->pdata[i]), &error);
      if (data == NULL)
        {
          g_warning ("Mail: campaign %" G_GINT64_FORMAT ": %s", campaign_id, error->message);
          g_clear_error (&error);
          continue;
        }

      if (!ed_store_claim_messages (self->store, campaign_id, now, max_messages - claimed, messages, &error))
        {
          g_warning ("Mail: cannot claim messages of campaign %" G_GINT64_FORMAT ": %s",
                     campaign_id, error->message);
          g_clear_error (&error);
          continue;
        }

      flight = GPOINTER_TO_UINT (g_hash_table_lookup (d->campaign_flight, &campaign_id));
      g_hash_table_insert (d->campaign_flight, g_memdup2 (&campaign_id, sizeof campaign_id),
                           GUINT_TO_POINTER (flight + messages->len));

      for (guint j = 0; j < messages->len; j++)
        {
          Job *job = g_new0 (Job, 1);

          job->message = g_steal_pointer (&messages->pdata[j]);
          job->data = g_atomic_rc_box_acquire (data);
          /* transactional mail overtakes what waits for a sender */
          if (data->campaign->transactional)
            g_async_queue_push_front (self->work, job);
          else
            g_async_queue_push (self->work, job);
        }

      claimed += messages->len;
      d->in_flight += messages->len;
      if (d->effective_rate > 0)
        d->tokens -= messages->len;
    }

  g_mutex_lock (&self->lock);
  self->stats.in_flight = d->in_flight;
  g_mutex_unlock (&self->lock);

  return claimed == max_messages;
}

/* Claims when there is room for a batch (or a wake-up says there is
 * something new) and the tokens allow; returns when to look again, or
 * G_MAXINT64 when only results coming back can make room.
 */
static gint64
maybe_claim (EdMailer *self,
             Dispatch *d,
             gint64    now_us)
{
  guint room = MAX_IN_FLIGHT - MIN (d->in_flight, MAX_IN_FLIGHT);
  guint threshold = CLAIM_BATCH;
  guint n;

  if (d->effective_rate > 0)
    threshold = (guint) CLAMP (bucket_size (d), 1, CLAIM_BATCH);

  if (room < threshold && !(d->woken && room > 0))
    return G_MAXINT64;

  n = MIN (room, CLAIM_BATCH);
  if (d->effective_rate > 0)
    {
      if (d->tokens < threshold && !(d->woken && d->tokens >= 1))
        return now_us + (gint64) ((threshold - d->tokens) / d->effective_rate * G_USEC_PER_SEC) + 1;
      n = MIN (n, (guint) d->tokens);
    }

  if (!d->woken && now_us < d->next_claim_us)
    return d->next_claim_us;
  if (d->woken && !d->more_due && now_us < d->last_claim_us + WAKE_CLAIM_INTERVAL_US)
    return d->last_claim_us + WAKE_CLAIM_INTERVAL_US;

  d->woken = FALSE;
  d->last_claim_us = now_us;
  d->more_due = claim (self, d, n);
  if (d->more_due)
    d->next_claim_us = now_us;
  else
    d->next_claim_us = now_us + POLL_INTERVAL_US;

  return d->next_claim_us;
}

static void
maintenance (EdMailer *self,
             Dispatch *d)
{
  /* campaigns that ended without results in a while: an empty audience,
   * or the last messages failed permanently between checks
   */
  check_campaigns_done (self, d, d->campaign_events);
}

static void
dispatch_clear (Dispatch *d)
{
  g_clear_pointer (&d->campaigns, g_hash_table_unref);
  g_clear_pointer (&d->campaign_flight, g_hash_table_unref);
  g_clear_pointer (&d->campaign_events, g_hash_table_unref);
  g_clear_pointer (&d->windows, g_hash_table_unref);
  g_clear_pointer (&d->touched, g_hash_table_unref);
  g_clear_pointer (&d->to_pause, g_hash_table_unref);
  g_clear_pointer (&d->records, g_array_unref);
  g_clear_pointer (&d->record_texts, g_ptr_array_unref);
  g_clear_pointer (&d->released, g_array_unref);
}

static gpointer
dispatcher_thread (gpointer user_data)
{
  EdMailer *self = user_data;
  Dispatch d = { 0 };
  g_autoptr(GError) error = NULL;
  gint64 n_requeued = 0;

  d.campaigns = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) campaign_data_unref);
  d.campaign_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  d.campaign_events = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  d.windows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  d.touched = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  d.to_pause = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  d.records = g_array_sized_new (FALSE, TRUE, sizeof (EdDeliveryRecord), FLUSH_COUNT * 2);
  d.record_texts = g_ptr_array_new_with_free_func (g_free);
  d.released = g_array_new (FALSE, FALSE, sizeof (gint64));
  d.effective_rate = self->configured_rate;
  d.tokens = bucket_size (&d);
  d.refill_us = g_get_monotonic_time ();
  d.woken = TRUE;

  if (!ed_store_requeue_sending (self->store, &n_requeued, &error))
    g_warning ("Mail: cannot put back the messages a crash left in sending: %s", error->message);
  else if (n_requeued > 0)
    g_message ("Mail: %" G_GINT64_FORMAT " messages were being sent when eventdeskd stopped; "
               "they go out again", n_requeued);

  for (;;)
    {
      gboolean stopping = g_atomic_int_get (&self->stopping);
      gint64 now_us = g_get_monotonic_time ();
      gint64 deadline_us = now_us + POLL_INTERVAL_US;
      GPtrArray *results;

      if (!stopping)
        {
          refill_tokens (self, &d, now_us);
          deadline_us = MIN (deadline_us, maybe_claim (self, &d, now_us));

          if (now_us >= d.next_maintenance_us)
            {
              maintenance (self, &d);
              d.next_maintenance_us = now_us + MAINTENANCE_INTERVAL_US;
            }
        }
      else if (d.in_flight == 0)
        break;

      if (d.records->len > 0 || d.released->len > 0)
        deadline_us = MIN (deadline_us, d.pending_since_us + FLUSH_INTERVAL_US);
      deadline_us = MIN (deadline_us, d.next_maintenance_us);

      if (d.in_flight > 0)
        deadline_us = MIN (deadline_us, g_get_monotonic_time () + RESULT_WAIT_US);

      g_mutex_lock (&self->results_lock);
      while (!self->results_ready && !self->woken)
        if (!g_cond_wait_until (&self->results_cond, &self->results_lock, deadline_us))
          break;
      results = self->results;
      self->results = g_ptr_array_sized_new (MAX_IN_FLIGHT);
      self->results_ready = FALSE;
      if (self->woken)
        d.woken = TRUE;
      self->woken = FALSE;
      g_mutex_unlock (&self->results_lock);

      for (guint i = 0; i < results->len; i++)
        {
          take_result (self, &d, g_ptr_array_index (results, i));
          if (d.records->len >= FLUSH_COUNT)
            flush_results (self, &d);
        }
      g_ptr_array_unref (results);

      /* a failing campaign is paused at once, not at the next flush */
      if (d.records->len >= FLUSH_COUNT || stopping || g_hash_table_size (d.to_pause) > 0 ||
          ((d.records->len > 0 || d.released->len > 0) &&
           g_get_monotonic_time () >= d.pending_since_us + FLUSH_INTERVAL_US))
        flush_results (self, &d);
    }

  flush_results (self, &d);
  dispatch_clear (&d);
  return NULL;
}

/* GObject */

static void
ed_mailer_dispose (GObject *object)
{
  EdMailer *self = (EdMailer *)object;

  ed_mailer_stop (self);

  G_OBJECT_CLASS (ed_mailer_parent_class)->dispose (object);
}

static void
ed_mailer_finalize (GObject *object)
{
  EdMailer *self = (EdMailer *)object;

  g_free (self->db_path);
  g_free (self->transport_url);
  if (self->password != NULL)
    explicit_bzero (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self->mail_from);
  g_free (self->public_url);
  g_free (self->description);
  g_clear_pointer (&self->secret, g_bytes_unref);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_clear_pointer (&self->campaign_meters, g_hash_table_unref);
  g_clear_pointer (&self->changed_events, g_hash_table_unref);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->results_lock);
  g_cond_clear (&self->results_cond);

  G_OBJECT_CLASS (ed_mailer_parent_class)->finalize (object);
}

static void
ed_mailer_class_init (EdMailerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ed_mailer_dispose;
  object_class->finalize = ed_mailer_finalize;

  /**
   * EdMailer::progress:
   * @self: the mailer
   * @event_ids: (element-type gint64): the events whose campaigns made
   *   progress: messages sent, retried or failed, a campaign done or
   *   paused
   *
   * Emitted on the main context of the thread that made the mailer, at
   * most every 100 ms.
   */
  signals[PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ARRAY);
}

static void
ed_mailer_init (EdMailer *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->results_lock);
  g_cond_init (&self->results_cond);
  self->campaign_meters = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  self->changed_events = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

/* Public API */

/**
 * ed_mailer_new:
 * @options: the settings, copied
 *
 * Returns: (transfer full): a mailer, not started yet
 */
EdMailer *
ed_mailer_new (const EdMailerOptions *options)
{
  EdMailer *self;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->db_path != NULL && options->transport != NULL, NULL);
  g_return_val_if_fail (options->mail_from != NULL && options->public_url != NULL, NULL);
  g_return_val_if_fail (options->secret != NULL, NULL);
  g_return_val_if_fail (options->connections >= 1, NULL);
  g_return_val_if_fail (options->rate >= 0, NULL);

  self = g_object_new (ED_TYPE_MAILER, NULL);
  self->db_path = g_strdup (options->db_path);
  self->transport_url = g_strdup (options->transport);
  self->password = g_strdup (options->password);
  self->mail_from = g_strdup (options->mail_from);
  self->public_url = g_strdup (options->public_url);
  self->secret = g_bytes_ref (options->secret);
  self->n_connections = options->connections;
  self->configured_rate = options->rate;
  self->retry_delay = options->retry_delay > 0 ? options->retry_delay : ED_MAILER_DEFAULT_RETRY_DELAY;
  self->retry_max_age = options->retry_max_age > 0 ? options->retry_max_age : ED_MAILER_DEFAULT_RETRY_MAX_AGE;
  self->failure_threshold = options->failure_threshold > 0 ? options->failure_threshold
                                                           : ED_MAILER_DEFAULT_FAILURE_THRESHOLD;
  self->timeout = options->timeout > 0 ? options->timeout : ED_MAILER_DEFAULT_TIMEOUT;
  self->throttle_quiet = options->throttle_quiet > 0 ? options->throttle_quiet : DEFAULT_THROTTLE_QUIET;
  self->main_context = g_main_context_ref_thread_default ();
  self->stats.rate_limit = self->configured_rate;
  self->stats.configured_rate = self->configured_rate;

  return self;
}

/**
 * ed_mailer_start:
 * @self: a mailer
 * @error: return location for an error: a bad transport, or a database
 *   that cannot be opened
 *
 * Opens the mailer's database connection, puts back messages a crash
 * left in `sending`, and starts the dispatcher and the senders.
 */
gboolean
ed_mailer_start (EdMailer  *self,
                 GError   **error)
{
  g_autoptr(GPtrArray) transports = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_mail_transport_free);
  guint connect_timeout_ms;
  guint n_senders;

  g_return_val_if_fail (ED_IS_MAILER (self), FALSE);
  g_return_val_if_fail (self->dispatcher == NULL, FALSE);

  connect_timeout_ms = MIN (self->timeout, ED_MAIL_TRANSPORT_DEFAULT_CONNECT_TIMEOUT_MS / 1000) * 1000;
  for (guint i = 0; i < self->n_connections; i++)
    {
      EdMailTransport *transport = ed_mail_transport_new (self->transport_url, self->password, error);

      if (transport == NULL)
        return FALSE;
      ed_mail_transport_set_timeouts (transport, connect_timeout_ms, self->timeout * 1000);
      g_ptr_array_add (transports, transport);
    }
  self->description = g_strdup (ed_mail_transport_get_description (g_ptr_array_index (transports, 0)));

  self->renderer = ed_mail_renderer_new (self->mail_from, self->public_url, self->secret, error);
  if (self->renderer == NULL)
    return FALSE;

  self->store = ed_store_open (self->db_path, error);
  if (self->store == NULL)
    {
      g_prefix_error (error, "The mailer cannot open the database: ");
      return FALSE;
    }

  self->work = g_async_queue_new ();
  g_mutex_lock (&self->results_lock);
  self->results = g_ptr_array_sized_new (MAX_IN_FLIGHT);
  self->woken = FALSE;
  self->results_ready = FALSE;
  g_mutex_unlock (&self->results_lock);
  self->senders = g_ptr_array_new ();
  g_atomic_int_set (&self->stopping, FALSE);

  n_senders = MIN (self->n_connections, (guint) MAX (1, g_get_num_processors ()));
  for (guint i = 0, next = 0; i < n_senders; i++)
    {
      Sender *sender = g_new0 (Sender, 1);
      g_autofree char *name = g_strdup_printf ("ed-mail-send-%u", i);
      /* the first ones take one more when they do not share out evenly */
      guint n_slots = self->n_connections / n_senders + (i < self->n_connections % n_senders ? 1 : 0);

      sender->self = self;
      sender->slots = g_new0 (Slot, n_slots);
      for (; sender->n_slots < n_slots; sender->n_slots++)
        sender->slots[sender->n_slots].transport = g_steal_pointer (&transports->pdata[next++]);
      sender->writer = ed_mail_message_writer_new ();
      sender->fds = g_array_new (FALSE, FALSE, sizeof (GPollFD));
      g_ptr_array_add (self->senders, g_thread_new (name, sender_thread, sender));
    }
  self->dispatcher = g_thread_new ("ed-mailer", dispatcher_thread, self);

  g_message ("Mail goes to %s over %u connection(s), %s", self->description, self->n_connections,
             self->configured_rate > 0 ? "rate-limited" : "without a rate limit");
  return TRUE;
}

/**
 * ed_mailer_stop:
 * @self: a mailer
 *
 * Stops claiming, lets the messages being sent finish (each within the
 * transport's timeout), puts the ones not yet started back in the queue,
 * writes every result and closes the connections. Blocks until then: call
 * it when the main loop has ended. Safe to call more than once.
 */
void
ed_mailer_stop (EdMailer *self)
{
  g_return_if_fail (ED_IS_MAILER (self));

  if (self->dispatcher == NULL)
    return;

  g_atomic_int_set (&self->stopping, TRUE);
  ed_mailer_wake (self);
  g_thread_join (g_steal_pointer (&self->dispatcher));

  for (guint i = 0; i < self->senders->len; i++)
    g_async_queue_push (self->work, STOP);
  for (guint i = 0; i < self->senders->len; i++)
    g_thread_join (g_ptr_array_index (self->senders, i));
  g_clear_pointer (&self->senders, g_ptr_array_unref);

  /* every job came back before the dispatcher ended */
  g_mutex_lock (&self->results_lock);
  g_assert (self->results->len == 0);
  g_clear_pointer (&self->results, g_ptr_array_unref);
  g_mutex_unlock (&self->results_lock);
  g_clear_pointer (&self->work, g_async_queue_unref);

  ed_store_close (self->store);
  g_clear_object (&self->store);
  g_clear_pointer (&self->renderer, ed_mail_renderer_free);

  g_mutex_lock (&self->lock);
  if (self->progress_source != NULL)
    {
      g_source_destroy (self->progress_source);
      g_clear_pointer (&self->progress_source, g_source_unref);
    }
  g_mutex_unlock (&self->lock);
}

/**
 * ed_mailer_wake:
 * @self: a mailer
 *
 * Tells the mailer that there are new messages to send (a launch, a
 * resume, a confirmation), so that it looks now rather than at its next
 * poll. Never blocks; callable from any thread.
 */
void
ed_mailer_wake (EdMailer *self)
{
  g_return_if_fail (ED_IS_MAILER (self));

  g_mutex_lock (&self->results_lock);
  if (self->results != NULL)
    {
      self->woken = TRUE;
      g_cond_signal (&self->results_cond);
    }
  g_mutex_unlock (&self->results_lock);
}

/**
 * ed_mailer_get_stats:
 * @self: a mailer
 * @stats: (out caller-allocates): the counters and rates now
 *
 * Callable from any thread.
 */
void
ed_mailer_get_stats (EdMailer      *self,
                     EdMailerStats *stats)
{
  g_return_if_fail (ED_IS_MAILER (self));
  g_return_if_fail (stats != NULL);

  g_mutex_lock (&self->lock);
  *stats = self->stats;
  stats->send_rate = rate_meter_get (&self->sent_meter, g_get_monotonic_time ());
  g_mutex_unlock (&self->lock);
}

/**
 * ed_mailer_get_campaign_rate:
 * @self: a mailer
 * @campaign_id: a campaign
 *
 * Returns: the campaign's messages delivered per second over the last few
 *   seconds
 */
double
ed_mailer_get_campaign_rate (EdMailer *self,
                             gint64    campaign_id)
{
  RateMeter *meter;
  double rate = 0;

  g_return_val_if_fail (ED_IS_MAILER (self), 0);

  g_mutex_lock (&self->lock);
  meter = g_hash_table_lookup (self->campaign_meters, &campaign_id);
  if (meter != NULL)
    rate = rate_meter_get (meter, g_get_monotonic_time ());
  g_mutex_unlock (&self->lock);

  return rate;
}

/**
 * ed_mailer_get_transport_description:
 *
 * Returns: (nullable): where mail goes, without secrets, once started
 */
const char *
ed_mailer_get_transport_description (EdMailer *self)
{
  g_return_val_if_fail (ED_IS_MAILER (self), NULL);

  return self->description;
}
