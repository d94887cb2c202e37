/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ed-campaign.h"
#include "ed-enums.h"
#include "ed-event.h"
#include "ed-guest.h"

G_BEGIN_DECLS

#define ED_TYPE_STORE (ed_store_get_type ())

G_DECLARE_FINAL_TYPE (EdStore, ed_store, ED, STORE, GObject)

/* The schema version this build writes; older databases are migrated. */
#define ED_STORE_SCHEMA_VERSION 10

typedef struct
{
  gint64  id;
  char   *username;
  char   *password_hash;
  gint64  created_at;
  gint64  last_login_at;
} EdAdmin;

void ed_admin_free (EdAdmin *admin);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdAdmin, ed_admin_free)

typedef enum
{
  ED_GUEST_SORT_CREATED,
  ED_GUEST_SORT_NAME,
  ED_GUEST_SORT_EMAIL,
} EdGuestSort;

gboolean ed_guest_sort_parse (const char  *text,
                              EdGuestSort *sort,
                              gboolean    *descending);

typedef struct
{
  const char   *query;        /* words matched against names and email, or NULL */
  gboolean      has_status;
  EdRsvpStatus  status;
  EdGuestSort   sort;
  gboolean      descending;
  gint64        after;        /* guest id the previous page ended on, or 0 */
  guint         limit;
} EdGuestQuery;

typedef struct
{
  gint64 capacity;
  gint64 seats_taken;
  gint64 guests[ED_RSVP_N_STATUSES];
} EdEventStats;

typedef struct
{
  gint64        id;
  gint64        at;
  gboolean      has_old_status;
  EdRsvpStatus  old_status;
  EdRsvpStatus  new_status;
  gint          party_size;
  char         *source;
  char         *client_address;
} EdRsvpChange;

void ed_rsvp_change_free (EdRsvpChange *change);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdRsvpChange, ed_rsvp_change_free)

EdStore      *ed_store_open                  (const char          *path,
                                              GError             **error);
void          ed_store_close                 (EdStore             *self);
const char   *ed_store_get_path              (EdStore             *self);
gint          ed_store_get_schema_version    (EdStore             *self);
gboolean      ed_store_check_health          (EdStore             *self,
                                              GError             **error);

gboolean      ed_store_begin                 (EdStore             *self,
                                              GError             **error);
gboolean      ed_store_commit                (EdStore             *self,
                                              GError             **error);
void          ed_store_rollback              (EdStore             *self);

/* Admins and sessions */
gint64        ed_store_add_admin             (EdStore             *self,
                                              const char          *username,
                                              const char          *password_hash,
                                              GError             **error);
EdAdmin      *ed_store_get_admin             (EdStore             *self,
                                              const char          *username,
                                              GError             **error);
GPtrArray    *ed_store_list_admins           (EdStore             *self,
                                              GError             **error);
gboolean      ed_store_set_admin_password    (EdStore             *self,
                                              const char          *username,
                                              const char          *password_hash,
                                              GError             **error);
gboolean      ed_store_remove_admin          (EdStore             *self,
                                              const char          *username,
                                              GError             **error);
gint64        ed_store_count_admins          (EdStore             *self,
                                              GError             **error);
gboolean      ed_store_add_session           (EdStore             *self,
                                              const char          *session_id,
                                              gint64               admin_id,
                                              gint64               expires_at,
                                              GError             **error);
gboolean      ed_store_has_session           (EdStore             *self,
                                              const char          *session_id,
                                              gint64               now,
                                              GError             **error);
gboolean      ed_store_remove_session        (EdStore             *self,
                                              const char          *session_id,
                                              GError             **error);
gboolean      ed_store_prune_sessions        (EdStore             *self,
                                              gint64               now,
                                              GError             **error);

/* Events */
gboolean      ed_store_insert_event          (EdStore             *self,
                                              EdEvent             *event,
                                              GError             **error);
EdEvent      *ed_store_get_event             (EdStore             *self,
                                              gint64               event_id,
                                              GError             **error);
gboolean      ed_store_check_event_exists    (EdStore             *self,
                                              gint64               event_id,
                                              GError             **error);
gboolean      ed_store_update_event          (EdStore             *self,
                                              EdEvent             *event,
                                              GError             **error);
gboolean      ed_store_delete_event          (EdStore             *self,
                                              gint64               event_id,
                                              GError             **error);
GPtrArray    *ed_store_list_events           (EdStore             *self,
                                              gint64               after,
                                              guint                limit,
                                              gint64              *total,
                                              GError             **error);
gboolean      ed_store_get_event_stats       (EdStore             *self,
                                              gint64               event_id,
                                              EdEventStats        *stats,
                                              GError             **error);

/* Guests */
gboolean      ed_store_insert_guest          (EdStore             *self,
                                              EdGuest             *guest,
                                              GError             **error);
EdGuest      *ed_store_get_guest             (EdStore             *self,
                                              gint64               guest_id,
                                              GError             **error);
gint64        ed_store_find_guest_by_email   (EdStore             *self,
                                              gint64               event_id,
                                              const char          *email,
                                              GError             **error);
gboolean      ed_store_update_guest          (EdStore             *self,
                                              EdGuest             *guest,
                                              GError             **error);
gboolean      ed_store_delete_guest          (EdStore             *self,
                                              gint64               guest_id,
                                              GError             **error);
GPtrArray    *ed_store_list_guests           (EdStore             *self,
                                              gint64               event_id,
                                              const EdGuestQuery  *query,
                                              gint64              *total,
                                              gboolean            *has_more,
                                              GError             **error);
gboolean      ed_store_list_guest_keys       (EdStore             *self,
                                              gint64               event_id,
                                              const EdGuestQuery  *query,
                                              guint                first,
                                              guint                every,
                                              guint                n_keys,
                                              GArray              *keys,
                                              GError             **error);
GPtrArray    *ed_store_list_rsvp_history     (EdStore             *self,
                                              gint64               guest_id,
                                              GError             **error);
GPtrArray    *ed_store_list_last_delivery_states (EdStore         *self,
                                              GPtrArray           *guests,
                                              GError             **error);

/* RSVP */
typedef enum
{
  ED_RSVP_SOURCE_GUEST,
  ED_RSVP_SOURCE_ADMIN,
  ED_RSVP_SOURCE_SYSTEM,
} EdRsvpSource;

typedef enum
{
  ED_RSVP_RESULT_CHANGED,
  ED_RSVP_RESULT_UNCHANGED,         /* the same answer again: nothing written */
  ED_RSVP_RESULT_FULL,              /* no seat left and no waiting list */
  ED_RSVP_RESULT_NOT_ENOUGH_SEATS,  /* an accepted guest asked for more seats than are free */
  ED_RSVP_RESULT_CLOSED,            /* past the RSVP deadline */
  ED_RSVP_RESULT_CANCELLED,         /* the organizer cancelled the guest's invitation */
} EdRsvpResult;

/* One answer. A guest may answer accepted or declined; an admin may set
 * any status. Refusals (FULL, NOT_ENOUGH_SEATS, CLOSED, CANCELLED) change
 * nothing and are results, not errors.
 */
typedef struct
{
  gint64        guest_id;
  gint64        event_id;       /* 0, or the event the guest must belong to */
  gint64        token_version;  /* 0, or the token version the guest must have */
  EdRsvpStatus  status;
  gint          party_size;     /* 0 keeps the guest's party size */
  EdRsvpSource  source;
  const char   *client_address; /* nullable */
  gint64        now;
} EdRsvpAnswer;

typedef struct
{
  EdRsvpResult  result;
  EdRsvpStatus  status;            /* the guest's status afterwards */
  gint          party_size;
  gint64        waitlist_position; /* 0 when not waitlisted */
  gint64        capacity;
  gint64        seats_taken;
  guint         n_promoted;        /* waitlisted guests this answer let in */
} EdRsvpOutcome;

const char   *ed_rsvp_source_to_string       (EdRsvpSource         source);
gboolean      ed_store_answer_rsvp           (EdStore             *self,
                                              const EdRsvpAnswer  *answer,
                                              EdRsvpOutcome       *outcome,
                                              GError             **error);
gboolean      ed_store_apply_rsvp_answer     (EdStore             *self,
                                              const EdRsvpAnswer  *answer,
                                              EdRsvpOutcome       *outcome,
                                              GError             **error);
gboolean      ed_store_apply_rsvp_answers    (EdStore             *self,
                                              const EdRsvpAnswer  *answers,
                                              guint                n_answers,
                                              EdRsvpOutcome       *outcomes,
                                              GError             **errors,
                                              GError             **error);
gboolean      ed_store_update_event_promoting (EdStore            *self,
                                              EdEvent             *event,
                                              guint               *n_promoted,
                                              GError             **error);
gint64        ed_store_revoke_guest_link     (EdStore             *self,
                                              gint64               guest_id,
                                              GError             **error);
gint64        ed_store_get_seats_taken       (EdStore             *self,
                                              gint64               event_id,
                                              GError             **error);

/* Import and export */

/* What an import does with a row whose address is already in the event
 * (or earlier in the file).
 */
typedef enum
{
  ED_IMPORT_SKIP,    /* leave the guest as it is */
  ED_IMPORT_UPDATE,  /* fill in the guest's names and extra fields from the row */
} EdImportDuplicates;

/* A row checked and ready to become a guest; strings are not kept. */
typedef struct
{
  guint64     line;
  const char *email;       /* normalized, valid */
  const char *email_key;   /* case-folded email */
  const char *first_name;  /* "" when the file has none */
  const char *last_name;
  const char *extra;       /* a JSON object of text values, or NULL */
} EdImportRow;

/* Hands out the next row; FALSE after the last one or with @error set. */
typedef gboolean (*EdImportNextFunc) (gpointer      user_data,
                                      EdImportRow  *row,
                                      GError      **error);

typedef struct
{
  gint64 imported;    /* new guests */
  gint64 updated;     /* guests the file changed (ED_IMPORT_UPDATE) */
  gint64 duplicates;  /* rows of an address already there that changed nothing */
} EdImportCounts;

/* One row of the CSV export; strings are valid during the callback only. */
typedef struct
{
  gint64      id;
  const char *email;
  const char *email_key;
  const char *first_name;
  const char *last_name;
  const char *extra;             /* JSON object or NULL */
  const char *status;
  gint        party_size;
  gint64      waitlist_position; /* 0 when not waitlisted */
  const char *responded_at;      /* RFC 3339, or NULL */
  const char *last_delivery;     /* state of the guest's latest message, or NULL */
} EdExportRow;

typedef void (*EdExportRowFunc) (const EdExportRow *row,
                                 gpointer           user_data);
typedef void (*EdExtraFunc)     (const char        *extra,
                                 gpointer           user_data);

/* Where a key-paged export goes on: after the row it last handed out. */
typedef struct
{
  gboolean  started;
  gint64    after_id;
  char     *after_key1;
  char     *after_key2;
} EdExportCursor;

void          ed_export_cursor_clear         (EdExportCursor      *cursor);

gboolean      ed_store_import_apply          (EdStore             *self,
                                              gint64               event_id,
                                              EdImportDuplicates   duplicates,
                                              gboolean             dry_run,
                                              guint                lock_timeout_ms,
                                              EdImportNextFunc     next,
                                              gpointer             user_data,
                                              EdImportCounts      *counts,
                                              GError             **error);
gboolean      ed_store_index_search_batch    (EdStore             *self,
                                              guint                max_rows,
                                              guint               *n_indexed,
                                              GError             **error);
void          ed_store_set_lock_timeout      (EdStore             *self,
                                              guint                timeout_ms);
gint64        ed_store_count_unindexed       (EdStore             *self,
                                              GError             **error);
gboolean      ed_store_checkpoint            (EdStore             *self,
                                              GError             **error);
gboolean      ed_store_scan_extra_fields     (EdStore             *self,
                                              gint64               event_id,
                                              EdExtraFunc          func,
                                              gpointer             user_data,
                                              GError             **error);
gint          ed_store_export_guests         (EdStore             *self,
                                              gint64               event_id,
                                              const EdGuestQuery  *query,
                                              EdExportCursor      *cursor,
                                              guint                limit,
                                              EdExportRowFunc      func,
                                              gpointer             user_data,
                                              GError             **error);

/* The mail queue, as the mailer's own connection works it
 * (ed-store-queue.c)
 */

/* A message claimed for sending, with its guest. */
typedef struct
{
  gint64   id;
  gint64   campaign_id;
  guint    attempts;      /* attempts before this one */
  gint64   created_at;
  EdGuest *guest;
} EdQueuedMessage;

void ed_queued_message_free (EdQueuedMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdQueuedMessage, ed_queued_message_free)

typedef enum
{
  ED_DELIVERY_SENT,
  ED_DELIVERY_RETRY,
  ED_DELIVERY_FAILED,
} EdDeliveryOutcome;

/* What became of one attempt; the text is borrowed. */
typedef struct
{
  gint64             message_id;
  gint64             event_id;         /* the message's campaign's */
  EdDeliveryOutcome  outcome;
  guint              code;             /* the SMTP reply code, 0 for none */
  const char        *text;
  gint64             at;
  gint64             next_attempt_at;  /* for ED_DELIVERY_RETRY */
} EdDeliveryRecord;

gboolean      ed_store_requeue_sending       (EdStore             *self,
                                              gint64              *n_requeued,
                                              GError             **error);
GPtrArray    *ed_store_list_running_campaigns (EdStore            *self,
                                              GError             **error);
gboolean      ed_store_claim_messages        (EdStore             *self,
                                              gint64               campaign_id,
                                              gint64               now,
                                              guint                max_messages,
                                              GPtrArray           *messages,
                                              GError             **error);
gboolean      ed_store_record_deliveries     (EdStore             *self,
                                              const EdDeliveryRecord *records,
                                              guint                n_records,
                                              GError             **error);
gboolean      ed_store_release_messages      (EdStore             *self,
                                              const gint64        *message_ids,
                                              guint                n_messages,
                                              GError             **error);
gboolean      ed_store_finish_campaign_if_done (EdStore           *self,
                                              gint64               campaign_id,
                                              gint64               now,
                                              gboolean            *finished,
                                              GError             **error);
gboolean      ed_store_pause_failing_campaign (EdStore            *self,
                                              gint64               campaign_id,
                                              const char          *reason,
                                              gint64               now,
                                              gboolean            *paused,
                                              GError             **error);

/* Campaigns (ed-store-campaigns.c) */
typedef struct
{
  gint64 states[ED_MESSAGE_N_STATES];
  gint64 total;
} EdMessageCounts;

typedef enum
{
  ED_CAMPAIGN_ACTION_LAUNCH,
  ED_CAMPAIGN_ACTION_PAUSE,
  ED_CAMPAIGN_ACTION_RESUME,
  ED_CAMPAIGN_ACTION_CANCEL,
  ED_CAMPAIGN_ACTION_RETRY_FAILED,
} EdCampaignAction;

gboolean      ed_store_insert_campaign       (EdStore             *self,
                                              EdCampaign          *campaign,
                                              GError             **error);
EdCampaign   *ed_store_get_campaign          (EdStore             *self,
                                              gint64               campaign_id,
                                              GError             **error);
gboolean      ed_store_update_campaign       (EdStore             *self,
                                              EdCampaign          *campaign,
                                              GError             **error);
GPtrArray    *ed_store_list_campaigns        (EdStore             *self,
                                              gint64               event_id,
                                              gint64               after,
                                              guint                limit,
                                              gboolean            *has_more,
                                              GError             **error);
gint64        ed_store_count_campaigns       (EdStore             *self,
                                              gint64               event_id,
                                              GError             **error);
gboolean      ed_store_get_message_counts    (EdStore             *self,
                                              gint64               campaign_id,
                                              gint                 transactional,
                                              EdMessageCounts     *counts,
                                              GError             **error);
gint64        ed_store_count_audience        (EdStore             *self,
                                              gint64               event_id,
                                              const EdAudience    *audience,
                                              GError             **error);
/* A message as the monitoring API lists it. */
typedef struct
{
  gint64          id;
  gint64          at;
  char           *result;   /* sent, retry, failed */
  gboolean        has_code;
  gint            code;
  char           *text;
} EdDeliveryAttempt;

typedef struct
{
  gint64          id;
  gint64          campaign_id;
  gint64          event_id;
  gint64          guest_id;
  char           *email;
  char           *first_name;
  char           *last_name;
  EdMessageState  state;
  gint            attempts;
  gint64          next_attempt_at;
  gboolean        has_last_code;
  gint            last_code;
  char           *last_text;
  gint64          sent_at;
  gint64          created_at;
  char           *campaign_kind;
  char           *campaign_subject;
  GPtrArray      *attempts_log;  /* EdDeliveryAttempt, for a guest's deliveries only */
} EdMessageRow;

void ed_delivery_attempt_free (EdDeliveryAttempt *attempt);
void ed_message_row_free      (EdMessageRow      *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdMessageRow, ed_message_row_free)

typedef struct
{
  gboolean        has_state;
  EdMessageState  state;
  gint64          campaign_id;  /* 0: any */
  gint64          event_id;     /* 0: any */
  gint64          after;
  guint           limit;
  gboolean        by_next_attempt; /* retries only: soonest first */
} EdMessageFilter;

gint64        ed_store_get_first_guest_id    (EdStore             *self,
                                              gint64               event_id,
                                              GError             **error);
gboolean      ed_store_get_queue_times       (EdStore             *self,
                                              gint64               now,
                                              gint64              *oldest_due,
                                              gint64              *next_retry,
                                              GError             **error);
GPtrArray    *ed_store_list_messages         (EdStore             *self,
                                              const EdMessageFilter *filter,
                                              gboolean            *has_more,
                                              GError             **error);
GPtrArray    *ed_store_list_guest_deliveries (EdStore             *self,
                                              gint64               guest_id,
                                              GError             **error);
gboolean      ed_store_unsubscribe_guest     (EdStore             *self,
                                              gint64               guest_id,
                                              gint64               event_id,
                                              gint64               token_version,
                                              gint64               now,
                                              gboolean            *changed,
                                              GError             **error);
gboolean      ed_store_prepare_for_bulk      (EdStore             *self,
                                              GError             **error);
gboolean      ed_store_run_campaign_action   (EdStore             *self,
                                              gint64               campaign_id,
                                              EdCampaignAction     action,
                                              const GArray        *message_ids,
                                              gint64               now,
                                              gint64              *n_changed,
                                              GError             **error);

/* The invitation sent again to chosen guests (ed-store-invitations.c) */

#define ED_STORE_MAX_INVITATIONS 1000

typedef struct
{
  gint64           campaign_id;     /* the event's invitation campaign */
  EdCampaignState  campaign_state;  /* after the guests were queued */
  guint            n_queued;
  guint            n_waiting;       /* their invitation was still on its way */
  guint            n_unsubscribed;  /* left out */
} EdInvitationsQueued;

gboolean      ed_store_queue_invitations     (EdStore             *self,
                                              gint64               event_id,
                                              const gint64        *guest_ids,
                                              guint                n_guest_ids,
                                              gint64               now,
                                              EdInvitationsQueued *queued,
                                              gint64              *bad_guest_id,
                                              GError             **error);

/* Live numbers, timelines and metrics (ed-store-timeline.c) */

typedef struct
{
  gint64           id;
  char            *kind;
  char            *state;
  EdMessageCounts  counts;
} EdCampaignProgress;

void ed_campaign_progress_free (EdCampaignProgress *progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdCampaignProgress, ed_campaign_progress_free)

/* One failed or deferred delivery attempt. */
typedef struct
{
  gint64  at;
  gint64  campaign_id;
  gint64  guest_id;
  char   *result;       /* "retry" or "failed" */
  gint    code;         /* SMTP reply code, 0 for none */
  char   *text;         /* nullable */
} EdDeliveryError;

void ed_delivery_error_free (EdDeliveryError *error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdDeliveryError, ed_delivery_error_free)

/* One bucket of a timeline; buckets without activity are not reported. */
typedef struct
{
  gint64 start;                          /* Unix seconds */
  gint64 answers[ED_RSVP_N_STATUSES];    /* answers by new status */
  gint64 sent;
  gint64 retried;
  gint64 failed;
} EdTimelineBucket;

typedef void (*EdTimelineFunc) (const EdTimelineBucket *bucket,
                                gpointer                user_data);

GPtrArray    *ed_store_list_campaign_progress (EdStore            *self,
                                              gint64               event_id,
                                              EdMessageCounts     *totals,
                                              GError             **error);
GPtrArray    *ed_store_list_delivery_errors  (EdStore             *self,
                                              gint64               event_id,
                                              guint                limit,
                                              GError             **error);
gint64        ed_store_timeline_unit         (gint64               bucket);
gboolean      ed_store_get_timeline          (EdStore             *self,
                                              gint64               event_id,
                                              gint64               from,
                                              gint64               to,
                                              gint64               bucket,
                                              EdTimelineFunc       func,
                                              gpointer             user_data,
                                              GError             **error);
gboolean      ed_store_get_rsvp_totals       (EdStore             *self,
                                              gint64              *guests,
                                              gint64              *seats_taken,
                                              GError             **error);
gint64        ed_store_get_database_size     (EdStore             *self,
                                              GError             **error);

G_END_DECLS
