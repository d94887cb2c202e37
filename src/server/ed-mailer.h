/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define ED_TYPE_MAILER (ed_mailer_get_type ())

G_DECLARE_FINAL_TYPE (EdMailer, ed_mailer, ED, MAILER, GObject)

/* Defaults of the settings below, as the config file documents them. */
#define ED_MAILER_DEFAULT_RETRY_DELAY 60            /* seconds before the first retry */
#define ED_MAILER_DEFAULT_RETRY_MAX_AGE (2 * 86400) /* seconds after which a message fails */
#define ED_MAILER_DEFAULT_FAILURE_THRESHOLD 0.2
#define ED_MAILER_DEFAULT_TIMEOUT 60                /* seconds for one SMTP attempt */
#define ED_MAILER_MAX_RETRY_DELAY 3600
#define ED_MAILER_FAILURE_MIN_ATTEMPTS 50

/* What the mailer is told at its start; strings and the secret are
 * copied.
 */
typedef struct
{
  const char *db_path;            /* the daemon's database; the mailer opens its own connection */
  const char *transport;          /* the mail-transport URL (see ed-mail-transport.h) */
  const char *password;           /* nullable: mail-password */
  const char *mail_from;
  const char *public_url;         /* for the links in the messages */
  GBytes     *secret;             /* signs the links */
  guint       connections;        /* sender threads, each one SMTP connection */
  double      rate;               /* messages per second for all connections; 0: no limit */
  guint       retry_delay;        /* seconds before the first retry; doubles after each */
  guint       retry_max_age;      /* seconds after queueing when a message stops being retried */
  double      failure_threshold;  /* a campaign pauses above this share of failed attempts */
  guint       timeout;            /* seconds one SMTP attempt may take */
  guint       throttle_quiet;     /* seconds without throttling before the rate steps up; 0: 30 */
} EdMailerOptions;

/* Counters since the start, and the current state; see
 * ed_mailer_get_stats().
 */
typedef struct
{
  guint64  sent;          /* messages delivered */
  guint64  retried;       /* attempts that failed and will be tried again */
  guint64  failed;        /* messages that failed for good */
  guint64  replies_2xx;   /* attempts by their final SMTP reply */
  guint64  replies_4xx;
  guint64  replies_5xx;
  guint64  replies_none;  /* no reply: connection faults, timeouts, Maildir */
  double   send_rate;     /* messages delivered per second, over the last few seconds */
  double   rate_limit;    /* the rate in force now (lower while throttled); 0: no limit */
  double   configured_rate; /* mail-rate; 0: no limit */
  gboolean throttled;     /* whether a throttling reply holds the rate down */
  guint    in_flight;     /* messages claimed and not yet written back */
} EdMailerStats;

EdMailer *ed_mailer_new               (const EdMailerOptions  *options);
gboolean  ed_mailer_start             (EdMailer               *self,
                                       GError                **error);
void      ed_mailer_stop              (EdMailer               *self);
void      ed_mailer_wake              (EdMailer               *self);
void      ed_mailer_get_stats         (EdMailer               *self,
                                       EdMailerStats          *stats);
double    ed_mailer_get_campaign_rate (EdMailer               *self,
                                       gint64                  campaign_id);
const char *ed_mailer_get_transport_description (EdMailer     *self);

G_END_DECLS
