/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "ed-mail-transport.h"
#include "ed-mailer.h"
#include "ed-store.h"
#include "ed-test-daemon.h"
#include "ed-test-smtp.h"
/* How many messages a campaign failing at 200/s may send before its pause
 * is noticed, beyond the buckets already claimed.
 */
#ifdef __SANITIZE_ADDRESS__
#define SLACK_AT_200_PER_SECOND 300
#else
#define SLACK_AT_200_PER_SECOND 100
#endif


/* The dispatcher against real SMTP servers on loopback (smtp-sink and the
 * capture server) and a real database: campaigns and messages are queued
 * with SQL as a launch would queue them, and what the mailer made of them
 * is read back from the tables and from the servers.
 */

#define FROM "Eventdesk Tests <events@example.org>"
#define WAIT_TIMEOUT_US (60 * G_USEC_PER_SEC)

typedef struct
{
  char     *dir;
  char     *db_path;
  EdStore  *store;     /* makes the schema, and stays open as the daemon's would */
  sqlite3  *db;        /* the test's own connection, for queueing and checking */
  GBytes   *secret;
  gint64    event_id;
  EdMailer *mailer;
  guint     n_progress;
  gboolean  progress_had_event;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  guint8 key[32] = { 0 };

  fixture->dir = g_dir_make_tmp ("eventdesk-test-mailer-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->db_path = g_build_filename (fixture->dir, "eventdesk.db", NULL);
  fixture->store = ed_store_open (fixture->db_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (fixture->db_path, &fixture->db), ==, SQLITE_OK);
  sqlite3_busy_timeout (fixture->db, 10000);
  fixture->secret = g_bytes_new (key, sizeof key);

  g_assert_cmpint (sqlite3_exec (fixture->db,
                                 "INSERT INTO events (name, starts_at, capacity, created_at, updated_at) "
                                 "VALUES ('Sommerfest in Köln', 1900000000, 1000, 1, 1)",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  fixture->event_id = sqlite3_last_insert_rowid (fixture->db);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  if (fixture->mailer != NULL)
    {
      ed_mailer_stop (fixture->mailer);
      g_assert_finalize_object (fixture->mailer);
    }
  sqlite3_close (fixture->db);
  ed_store_close (fixture->store);
  g_clear_object (&fixture->store);
  g_bytes_unref (fixture->secret);
  ed_test_remove_tree (fixture->dir);
  g_free (fixture->db_path);
  g_free (fixture->dir);
}

static void
exec_sql (Fixture    *fixture,
          const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (fixture->db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static gint64
query_int (Fixture    *fixture,
           const char *sql,
           gint64      argument)
{
  sqlite3_stmt *stmt;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, argument);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  return value;
}

static char *
query_text (Fixture    *fixture,
            const char *sql,
            gint64      argument)
{
  sqlite3_stmt *stmt;
  char *value = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, argument);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  return value;
}

/* The mailer counts its attempts into the timelines itself, by batch:
 * each table has, per unit of time, exactly the attempts the delivery log
 * holds, and so as many as the triggers would have counted.
 */
static void
assert_timelines_match_log (Fixture *fixture)
{
  static const struct
  {
    const char *table;
    const char *unit;
    guint       seconds;
  } tables[] = {
    { "timeline_minutes", "minute", 60 },
    { "timeline_quarters", "quarter", 900 },
    { "timeline_hours", "hour", 3600 },
    { "timeline_days", "day", 86400 },
  };

  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE NOT tallied", 0), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *timeline = g_strdup_printf ("SELECT event_id, %s, sent, retried, failed FROM %s "
                                                   "WHERE sent + retried + failed > 0",
                                                   tables[i].unit, tables[i].table);
      g_autofree char *log = g_strdup_printf ("SELECT c.event_id, d.at / %u, sum(d.result = 'sent'), "
                                              "sum(d.result = 'retry'), sum(d.result = 'failed') "
                                              "FROM delivery_log d JOIN messages m ON m.id = d.message_id "
                                              "JOIN campaigns c ON c.id = m.campaign_id GROUP BY 1, 2",
                                              tables[i].seconds);
      g_autofree char *missing = g_strdup_printf ("SELECT count(*) FROM (%s EXCEPT %s)", log, timeline);
      g_autofree char *extra = g_strdup_printf ("SELECT count(*) FROM (%s EXCEPT %s)", timeline, log);

      g_assert_cmpint (query_int (fixture, missing, 0), ==, 0);
      g_assert_cmpint (query_int (fixture, extra, 0), ==, 0);
    }
}

/* Guests guest0@example.org … guest{n-1}@example.org. */
static void
add_guests (Fixture *fixture,
            guint    n)
{
  sqlite3_stmt *stmt;

  exec_sql (fixture, "BEGIN");
  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db,
                                       "INSERT INTO guests (event_id, email, email_key, first_name, last_name, "
                                       "created_at, updated_at) VALUES (?1, ?2, ?2, 'Zoë', ?3, 1, 1)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *email = g_strdup_printf ("guest%u@example.org", i);
      g_autofree char *last = g_strdup_printf ("Ørsted %u", i);

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, fixture->event_id);
      sqlite3_bind_text (stmt, 2, email, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, last, -1, SQLITE_TRANSIENT);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
    }
  sqlite3_finalize (stmt);
  exec_sql (fixture, "COMMIT");
}

/* A running campaign whose audience is the guests with ids in
 * [first_guest, last_guest], queued as a launch queues it.
 */
static gint64
launch_campaign (Fixture    *fixture,
                 const char *kind,
                 gboolean    transactional,
                 gint64      first_guest,
                 gint64      last_guest)
{
  sqlite3_stmt *stmt;
  gint64 campaign_id;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db,
                                       "INSERT INTO campaigns (event_id, kind, audience, subject, text_body, "
                                       "state, transactional, created_at, updated_at, launched_at) "
                                       "VALUES (?1, ?2, 'all', 'Einladung: Sommerfest in Köln', "
                                       "'Hallo, wir feiern.', 'running', ?3, ?4, ?4, ?4)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, fixture->event_id);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 3, transactional);
  sqlite3_bind_int64 (stmt, 4, now);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  campaign_id = sqlite3_last_insert_rowid (fixture->db);

  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db,
                                       "INSERT INTO messages (campaign_id, guest_id, priority, next_attempt_at, created_at) "
                                       "SELECT ?1, id, ?2, ?3, ?3 FROM guests WHERE event_id = ?4 "
                                       "AND id BETWEEN ?5 AND ?6 ORDER BY id",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, campaign_id);
  sqlite3_bind_int (stmt, 2, transactional ? 100 : 0);
  sqlite3_bind_int64 (stmt, 3, now);
  sqlite3_bind_int64 (stmt, 4, fixture->event_id);
  sqlite3_bind_int64 (stmt, 5, first_guest);
  sqlite3_bind_int64 (stmt, 6, last_guest);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);

  return campaign_id;
}

static void
on_progress_cb (EdMailer *mailer,
                GArray   *event_ids,
                Fixture  *fixture)
{
  fixture->n_progress++;
  for (guint i = 0; i < event_ids->len; i++)
    if (g_array_index (event_ids, gint64, i) == fixture->event_id)
      fixture->progress_had_event = TRUE;
}

static void
start_mailer (Fixture               *fixture,
              const char            *transport,
              const EdMailerOptions *overrides)
{
  g_autoptr(GError) error = NULL;
  EdMailerOptions options = { 0 };

  if (overrides != NULL)
    options = *overrides;
  options.db_path = fixture->db_path;
  options.transport = transport;
  options.mail_from = FROM;
  options.public_url = "https://events.example.org";
  options.secret = fixture->secret;
  if (options.connections == 0)
    options.connections = 4;
  if (options.retry_delay == 0)
    options.retry_delay = 1;

  fixture->mailer = ed_mailer_new (&options);
  g_signal_connect (fixture->mailer, "progress", G_CALLBACK (on_progress_cb), fixture);
  g_assert_true (ed_mailer_start (fixture->mailer, &error));
  g_assert_no_error (error);
}

/* Runs the main context (for the progress signal) until the query gives
 * at least @wanted, and returns what it gives then.
 */
static gint64
wait_for_count (Fixture    *fixture,
                const char *sql,
                gint64      argument,
                gint64      wanted)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_US;
  gint64 value;

  while ((value = query_int (fixture, sql, argument)) < wanted && g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (20 * 1000);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;

  return value;
}

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
}

/* Runs the main context until the mailer's progress signal has come, or
 * for a few seconds.
 */
static void
wait_for_progress (Fixture *fixture)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (fixture->n_progress == 0 && g_get_monotonic_time () < deadline)
    run_for (20);
}

/* The messages smtp-sink has counted, once it has counted @wanted or
 * after a few seconds.
 */
static guint
wait_for_sink_messages (EdTestSmtpServer *sink,
                        guint             wanted)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint sessions = 0, quits = 0, messages = 0;

  while (ed_test_smtp_sink_get_counters (sink, &sessions, &quits, &messages) &&
         messages < wanted && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);

  return messages;
}

#define COUNT_STATE "SELECT count(*) FROM messages WHERE campaign_id = ?1 AND state = "
#define CAMPAIGN_DONE "SELECT count(*) FROM campaigns WHERE id = ?1 AND state = 'done'"

/* A campaign to a few hundred guests: every one gets exactly one message,
 * over a few reused connections, and the campaign ends done.
 */
static void
test_deliver_all (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions options = { .connections = 4 };
  EdMailerStats stats;
  guint sessions = 0, quits = 0, messages = 0;
  gint64 campaign_id;
  g_autofree char *finished_at = NULL;

  add_guests (fixture, 600);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 600);
  start_mailer (fixture, url, &options);

  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, 600);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM messages WHERE campaign_id = ?1 "
                                       "AND attempts = 1 AND last_code = 250 AND sent_at IS NOT NULL",
                              campaign_id), ==, 600);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'sent' AND code = 250 "
                                       "AND message_id IN (SELECT id FROM messages WHERE campaign_id = ?1)",
                              campaign_id), ==, 600);
  finished_at = query_text (fixture, "SELECT finished_at FROM campaigns WHERE id = ?1", campaign_id);
  g_assert_nonnull (finished_at);

  /* the sink counted every message, over a handful of connections */
  g_assert_cmpuint (wait_for_sink_messages (sink, 600), ==, 600);
  g_assert_true (ed_test_smtp_sink_get_counters (sink, &sessions, &quits, &messages));
  /* a new connection after every 100 messages (max-messages), plus one per sender */
  g_assert_cmpuint (sessions, <=, 600 / ED_MAIL_TRANSPORT_DEFAULT_MAX_MESSAGES + 4);

  ed_mailer_get_stats (fixture->mailer, &stats);
  g_assert_cmpuint (stats.sent, ==, 600);
  g_assert_cmpuint (stats.replies_2xx, ==, 600);
  g_assert_cmpuint (stats.failed + stats.retried, ==, 0);
  g_assert_cmpuint (stats.in_flight, ==, 0);
  g_assert_cmpfloat (stats.send_rate, >, 0);
  g_assert_cmpfloat (ed_mailer_get_campaign_rate (fixture->mailer, campaign_id), >, 0);

  /* the signal comes within PROGRESS_INTERVAL_MS of a change, on this
   * main context; a campaign can be done before that
   */
  wait_for_progress (fixture);
  g_assert_cmpuint (fixture->n_progress, >, 0);
  g_assert_true (fixture->progress_had_event);
}

/* 450 to the first try: the message waits and goes again, with the
 * backoff, and then arrives once.
 */
static void
test_soft_then_sent (Fixture       *fixture,
                     gconstpointer  user_data)
{
  const char * const options[] = {
    "--defer-rcpt-once", "guest3@example.org",
    "--defer-rcpt-once", "guest7@example.org",
    NULL
  };
  g_autoptr(EdTestSmtpServer) capture = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (capture, "smtp", "starttls=off");
  g_autofree char *text = NULL;
  EdMailerOptions mailer_options = { .connections = 2, .retry_delay = 2 };
  gint64 campaign_id;
  gint64 first_at, retry_at;

  add_guests (fixture, 12);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 12);
  start_mailer (fixture, url, &mailer_options);

  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, 12);
  g_assert_cmpuint (ed_test_capture_server_get_n_messages (capture), ==, 12);

  /* the two greylisted guests: a retry with the server's reply, then sent */
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM messages WHERE campaign_id = ?1 AND attempts = 2",
                              campaign_id), ==, 2);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'retry' AND code = 450",
                              0), ==, 2);
  text = query_text (fixture, "SELECT text FROM delivery_log WHERE result = 'retry' LIMIT 1", 0);
  g_assert_nonnull (strstr (text, "Greylisted"));
  g_assert_nonnull (strstr (text, "(in reply to RCPT TO)"));

  /* the retry came after the first retry delay, give or take a quarter */
  first_at = query_int (fixture, "SELECT min(at) FROM delivery_log WHERE result = 'retry'", 0);
  retry_at = query_int (fixture, "SELECT max(at) FROM delivery_log WHERE message_id IN "
                                 "(SELECT message_id FROM delivery_log WHERE result = 'retry')", 0);
  g_assert_cmpint (retry_at - first_at, >=, 1);
  g_assert_cmpint (retry_at - first_at, <=, 4);

  g_assert_cmpint (query_int (fixture, "SELECT sum(retried) FROM timeline_days", 0), ==, 2);
  g_assert_cmpint (query_int (fixture, "SELECT sum(sent) FROM timeline_days", 0), ==, 12);
  assert_timelines_match_log (fixture);
}

/* 550 to RCPT: failed at once, with the reply in the delivery log. */
static void
test_hard_failure (Fixture       *fixture,
                   gconstpointer  user_data)
{
  const char * const options[] = { "--reject-rcpt", "guest4@example.org", NULL };
  g_autoptr(EdTestSmtpServer) capture = ed_test_capture_server_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (capture, "smtp", "starttls=off");
  g_autofree char *text = NULL;
  g_autofree char *last_text = NULL;
  EdMailerStats stats;
  gint64 campaign_id;

  add_guests (fixture, 10);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 10);
  start_mailer (fixture, url, NULL);

  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, 9);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM messages m JOIN guests g ON g.id = m.guest_id "
                                       "WHERE m.campaign_id = ?1 AND m.state = 'failed' AND m.attempts = 1 "
                                       "AND m.last_code = 550 AND g.email = 'guest4@example.org'",
                              campaign_id), ==, 1);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'failed' AND code = 550",
                              0), ==, 1);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'retry'", 0), ==, 0);
  text = query_text (fixture, "SELECT text FROM delivery_log WHERE result = 'failed'", 0);
  g_assert_cmpstr (text, ==, "5.1.1 <guest4@example.org>: Recipient address rejected: User unknown "
                             "(in reply to RCPT TO)");
  last_text = query_text (fixture, "SELECT last_text FROM messages WHERE state = 'failed'", 0);
  g_assert_cmpstr (last_text, ==, text);

  ed_mailer_get_stats (fixture->mailer, &stats);
  g_assert_cmpuint (stats.sent, ==, 9);
  g_assert_cmpuint (stats.failed, ==, 1);
  g_assert_cmpuint (stats.replies_5xx, ==, 1);
  g_assert_cmpuint (stats.replies_2xx, ==, 9);

  g_assert_cmpint (query_int (fixture, "SELECT sum(failed) FROM timeline_minutes", 0), ==, 1);
  assert_timelines_match_log (fixture);
}

/* A server that hangs up at every RCPT: each attempt is a connection
 * fault, retried with a growing delay until the give-up age, then failed.
 */
static void
test_disconnects_retried (Fixture       *fixture,
                          gconstpointer  user_data)
{
  const char * const options[] = { "-q", "RCPT", NULL };
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  g_autofree char *text = NULL;
  EdMailerOptions mailer_options = { .connections = 2, .retry_delay = 1, .retry_max_age = 5,
                                     .failure_threshold = 1.0 };
  EdMailerStats stats;
  gint64 campaign_id;

  add_guests (fixture, 5);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 5);
  start_mailer (fixture, url, &mailer_options);

  /* at first: retry, no reply code, the fault in words */
  g_assert_cmpint (wait_for_count (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'retry'", 0, 5),
                   >=, 5);
  text = query_text (fixture, "SELECT text FROM delivery_log WHERE result = 'retry' LIMIT 1", 0);
  g_assert_nonnull (strstr (text, "RCPT TO"));
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'retry' "
                                       "AND code IS NOT NULL", 0), ==, 0);

  /* in the end: failed after several attempts, each one logged */
  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'failed'", campaign_id, 5), ==, 5);
  g_assert_cmpint (query_int (fixture, "SELECT min(attempts) FROM messages WHERE campaign_id = ?1",
                              campaign_id), >=, 2);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log", 0), ==,
                   query_int (fixture, "SELECT sum(attempts) FROM messages", 0));
  g_free (text);
  text = query_text (fixture, "SELECT last_text FROM messages WHERE campaign_id = ?1 LIMIT 1", campaign_id);
  g_assert_nonnull (strstr (text, "gave up after"));
  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);

  ed_mailer_get_stats (fixture->mailer, &stats);
  g_assert_cmpuint (stats.failed, ==, 5);
  g_assert_cmpuint (stats.replies_none, ==, stats.failed + stats.retried);
}

/* 452 is the server asking to slow down: the message is retried and the
 * rate in force halves; with the server quiet, it steps back up.
 */
static void
test_throttled (Fixture       *fixture,
                gconstpointer  user_data)
{
  const char * const options[] = { "-r", "RCPT", "-b", "452 4.5.3 Too many recipients, slow down", NULL };
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions mailer_options = { .connections = 2, .rate = 100, .retry_delay = 60,
                                     .failure_threshold = 1.0, .throttle_quiet = 1 };
  EdMailerStats stats;
  gint64 campaign_id;

  add_guests (fixture, 10);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 10);
  start_mailer (fixture, url, &mailer_options);

  ed_mailer_get_stats (fixture->mailer, &stats);
  g_assert_cmpfloat (stats.rate_limit, ==, 100);
  g_assert_false (stats.throttled);

  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'retry'", campaign_id, 10), ==, 10);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM messages WHERE last_code = 452", 0), ==, 10);
  ed_mailer_get_stats (fixture->mailer, &stats);
  g_assert_true (stats.throttled);
  g_assert_cmpfloat (stats.rate_limit, <=, 50);
  g_assert_cmpfloat (stats.rate_limit, >=, 1);
  g_assert_cmpfloat (stats.configured_rate, ==, 100);
  g_assert_cmpuint (stats.replies_4xx, ==, 10);

  /* nothing more is due for a minute: no more throttling replies, and
   * the rate recovers step by step
   */
  run_for (4000);
  ed_mailer_get_stats (fixture->mailer, &stats);
  g_assert_false (stats.throttled);
  g_assert_cmpfloat (stats.rate_limit, ==, 100);
}

/* The rate limit holds for the claims: no second sees more messages than
 * the rate plus the bucket's burst.
 */
static void
test_rate_limit (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions options = { .connections = 4, .rate = 20 };
  gint64 campaign_id;
  gint64 busiest, span;

  add_guests (fixture, 100);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 100);
  start_mailer (fixture, url, &options);

  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, 100);

  /* 20 a second and a bucket of 4 (0.2 s worth) */
  busiest = query_int (fixture, "SELECT max(n) FROM (SELECT count(*) AS n FROM delivery_log GROUP BY at)", 0);
  g_assert_cmpint (busiest, <=, 20 + 4);
  span = query_int (fixture, "SELECT max(at) - min(at) FROM delivery_log", 0);
  g_assert_cmpint (span, >=, (100 - 4) / 20 - 1);
}

/* Transactional mail goes before a bulk backlog, also when it is queued
 * while the backlog is being sent.
 */
static void
test_transactional_first (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions options = { .connections = 2, .rate = 100 };
  gint64 bulk_id, early_id, late_id;
  gint64 sent_before;

  add_guests (fixture, 1000);
  bulk_id = launch_campaign (fixture, "invitation", FALSE, 1, 990);
  early_id = launch_campaign (fixture, "confirmation", TRUE, 991, 995);
  start_mailer (fixture, url, &options);

  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'sent'", early_id, 5), ==, 5);
  /* in the log's order: within the first claim, a bucket's worth (20) */
  g_assert_cmpint (query_int (fixture, "SELECT max(id) FROM delivery_log WHERE message_id IN "
                                       "(SELECT id FROM messages WHERE campaign_id = ?1)", early_id), <=, 20);

  run_for (500);
  late_id = launch_campaign (fixture, "waitlist_promotion", TRUE, 996, 1000);
  sent_before = query_int (fixture, "SELECT max(id) FROM delivery_log", 0);
  ed_mailer_wake (fixture->mailer);
  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'sent'", late_id, 5), ==, 5);
  /* behind at most what was claimed already (a bucket) and what was sent
   * but not yet written (0.2 s worth, up to a second on a loaded machine),
   * far from the backlog of hundreds
   */
  g_assert_cmpint (query_int (fixture, "SELECT max(id) FROM delivery_log WHERE message_id IN "
                                       "(SELECT id FROM messages WHERE campaign_id = ?1)", late_id) - sent_before,
                   <=, 5 + 20 + 100);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'queued'", bulk_id), >, 500);
}

/* A paused campaign is no longer claimed; resumed, it finishes. */
static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions options = { .connections = 2, .rate = 100 };
  gint64 campaign_id, sent;

  add_guests (fixture, 400);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 400);
  start_mailer (fixture, url, &options);

  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'sent'", campaign_id, 50), >=, 50);
  exec_sql (fixture, "UPDATE campaigns SET state = 'paused'");
  /* what was claimed before the pause finishes */
  g_assert_cmpint (wait_for_count (fixture, "SELECT 1 - count(*) FROM messages WHERE state = 'sending'", 0, 1), ==, 1);
  sent = query_int (fixture, COUNT_STATE "'sent'", campaign_id);
  run_for (1500);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, sent);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'queued'", campaign_id), ==, 400 - sent);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM campaigns WHERE state = 'paused'", 0), ==, 1);

  exec_sql (fixture, "UPDATE campaigns SET state = 'running'");
  ed_mailer_wake (fixture->mailer);
  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, 400);
}

/* A campaign whose messages keep failing pauses itself after the first
 * fifty or so, instead of failing its whole audience.
 */
static void
test_failing_campaign_pauses (Fixture       *fixture,
                              gconstpointer  user_data)
{
  const char * const options[] = { "-f", "RCPT", NULL };
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (options);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions mailer_options = { .connections = 2, .rate = 200 };
  gint64 campaign_id, transactional_id, failed;
  g_autofree char *reason = NULL;

  add_guests (fixture, 1010);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 1000);
  start_mailer (fixture, url, &mailer_options);

  g_assert_cmpint (wait_for_count (fixture, "SELECT count(*) FROM campaigns WHERE id = ?1 AND state = 'paused'",
                                   campaign_id, 1), ==, 1);
  g_assert_cmpint (wait_for_count (fixture, "SELECT 1 - count(*) FROM messages WHERE state = 'sending'", 0, 1), ==, 1);
  failed = query_int (fixture, COUNT_STATE "'failed'", campaign_id);
  g_assert_cmpint (failed, >=, ED_MAILER_FAILURE_MIN_ATTEMPTS);
  /* and what was claimed or sent meanwhile: a bucket (40) or two, and
   * under load up to half a second at 200/s (a second and a half in the
   * sanitizer build, whose results come in more slowly)
   */
  g_assert_cmpint (failed, <=, ED_MAILER_FAILURE_MIN_ATTEMPTS + 2 * 40 + SLACK_AT_200_PER_SECOND);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'queued'", campaign_id), ==, 1000 - failed);
  reason = query_text (fixture, "SELECT state_reason FROM campaigns WHERE id = ?1", campaign_id);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, "of the last"));
  g_assert_nonnull (strstr (reason, "500 5.3.0 Error: command failed (in reply to RCPT TO)"));
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log WHERE result = 'failed' AND code = 500",
                              0), ==, failed);

  /* transactional mail is each guest's own: it fails message by message */
  transactional_id = launch_campaign (fixture, "confirmation", TRUE, 1001, 1010);
  ed_mailer_wake (fixture->mailer);
  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'failed'", transactional_id, 10), ==, 10);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM campaigns WHERE id = ?1 AND state = 'running'",
                              transactional_id), ==, 1);
}

/* Cancel leaves the messages out being tried to finish. Those that come
 * back to be retried, are put back unsent, or are found in `sending` after
 * a crash are cancelled then: nothing would ever claim them again, and the
 * organizer would see a cancelled campaign with messages "to retry". A
 * running campaign's keep their state, as a control.
 */
static void
test_cancel_in_flight (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) claimed = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_queued_message_free);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 cancelled_id, running_id, n_changed = -1, n_requeued = -1;
  EdDeliveryRecord records[6];
  gint64 released[2];

  add_guests (fixture, 12);
  cancelled_id = launch_campaign (fixture, "invitation", FALSE, 1, 6);
  running_id = launch_campaign (fixture, "invitation", FALSE, 7, 12);

  g_assert_true (ed_store_claim_messages (fixture->store, cancelled_id, now, 6, claimed, &error));
  g_assert_true (ed_store_claim_messages (fixture->store, running_id, now, 6, claimed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (claimed->len, ==, 12);

  g_assert_true (ed_store_run_campaign_action (fixture->store, cancelled_id, ED_CAMPAIGN_ACTION_CANCEL,
                                               NULL, now, &n_changed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (n_changed, ==, 0);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM messages WHERE state = 'sending'", 0), ==, 12);

  /* of each campaign: one sent, one failed, two to retry (one written
   * alone, one in a grouped statement), one put back, one left in
   * `sending` as a crash would leave it
   */
  for (guint c = 0; c < 2; c++)
    {
      for (guint i = 0; i < 4; i++)
        {
          const EdQueuedMessage *message = g_ptr_array_index (claimed, 6 * c + i);
          EdDeliveryRecord record = {
            .message_id = message->id,
            .event_id = fixture->event_id,
            .outcome = i == 0 ? ED_DELIVERY_SENT : i == 1 ? ED_DELIVERY_FAILED : ED_DELIVERY_RETRY,
            .code = i == 0 ? 250 : i == 1 ? 550 : 451,
            .text = "reply",
            .at = now,
            .next_attempt_at = now + 60,
          };

          if (i < 3)
            records[3 * c + i] = record;
          else
            g_assert_true (ed_store_record_deliveries (fixture->store, &record, 1, &error));
          g_assert_no_error (error);
        }
      released[c] = ((const EdQueuedMessage *) g_ptr_array_index (claimed, 6 * c + 4))->id;
    }
  g_assert_true (ed_store_record_deliveries (fixture->store, records, G_N_ELEMENTS (records), &error));
  g_assert_no_error (error);
  g_assert_true (ed_store_release_messages (fixture->store, released, 2, &error));
  g_assert_no_error (error);
  g_assert_true (ed_store_requeue_sending (fixture->store, &n_requeued, &error));
  g_assert_no_error (error);
  g_assert_cmpint (n_requeued, ==, 2);

#define COUNT_IN(state) "SELECT count(*) FROM messages WHERE campaign_id = ? AND state = '" state "'"
  g_assert_cmpint (query_int (fixture, COUNT_IN ("sent"), cancelled_id), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_IN ("failed"), cancelled_id), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_IN ("cancelled"), cancelled_id), ==, 4);
  g_assert_cmpint (query_int (fixture, COUNT_IN ("sent"), running_id), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_IN ("failed"), running_id), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_IN ("retry"), running_id), ==, 2);
  g_assert_cmpint (query_int (fixture, COUNT_IN ("queued"), running_id), ==, 2);
#undef COUNT_IN
  /* every attempt is logged and counted all the same */
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM delivery_log", 0), ==, 8);
  assert_timelines_match_log (fixture);
}

/* Stopping mid-campaign leaves nothing in sending and loses nothing; a
 * crash's leftovers in sending are sent at the next start.
 */
static void
test_stop_and_recover (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autoptr(EdTestSmtpServer) sink = ed_test_smtp_sink_new (NULL);
  g_autofree char *url = ed_test_smtp_server_get_url (sink, "smtp", "starttls=off");
  EdMailerOptions options = { .connections = 2, .rate = 200 };
  gint64 campaign_id;
  gint64 sent;
  guint sessions, quits, messages;

  add_guests (fixture, 300);
  campaign_id = launch_campaign (fixture, "invitation", FALSE, 1, 300);
  start_mailer (fixture, url, &options);

  g_assert_cmpint (wait_for_count (fixture, COUNT_STATE "'sent'", campaign_id, 40), >=, 40);
  ed_mailer_stop (fixture->mailer);
  g_assert_finalize_object (g_steal_pointer (&fixture->mailer));

  sent = query_int (fixture, COUNT_STATE "'sent'", campaign_id);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sending'", campaign_id), ==, 0);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'queued'", campaign_id), ==, 300 - sent);
  g_assert_cmpuint (wait_for_sink_messages (sink, (guint) sent), ==, sent);

  /* as a crash would leave them */
  exec_sql (fixture, "UPDATE messages SET state = 'sending' WHERE id IN "
                     "(SELECT id FROM messages WHERE state = 'queued' LIMIT 10)");
  start_mailer (fixture, url, &options);
  g_assert_cmpint (wait_for_count (fixture, CAMPAIGN_DONE, campaign_id, 1), ==, 1);
  g_assert_cmpint (query_int (fixture, COUNT_STATE "'sent'", campaign_id), ==, 300);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM messages WHERE attempts != 1", 0), ==, 0);
  g_assert_cmpuint (wait_for_sink_messages (sink, 300), ==, 300);
  run_for (200);
  g_assert_true (ed_test_smtp_sink_get_counters (sink, &sessions, &quits, &messages));
  g_assert_cmpuint (messages, ==, 300);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/mailer/deliver-all", test_deliver_all);
  ADD ("/mailer/soft-then-sent", test_soft_then_sent);
  ADD ("/mailer/hard-failure", test_hard_failure);
  ADD ("/mailer/disconnects-retried", test_disconnects_retried);
  ADD ("/mailer/throttled", test_throttled);
  ADD ("/mailer/rate-limit", test_rate_limit);
  ADD ("/mailer/transactional-first", test_transactional_first);
  ADD ("/mailer/pause-resume", test_pause_resume);
  ADD ("/mailer/failing-campaign-pauses", test_failing_campaign_pauses);
  ADD ("/mailer/stop-and-recover", test_stop_and_recover);
  ADD ("/mailer/cancel-in-flight", test_cancel_in_flight);
#undef ADD

  return g_test_run ();
}
