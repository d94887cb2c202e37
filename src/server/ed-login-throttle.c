/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-auth"

#include "config.h"

#include "ed-login-throttle.h"

/* Failed logins are counted per account name, existing or not, so that a
 * guess at an unknown name is throttled exactly like one at a real admin.
 * The first few failures are free; after that each one doubles the wait
 * before the next attempt is even looked at, up to a minute. While one
 * attempt for an account is being checked, the others wait: a burst of
 * guesses sent at once would otherwise all be checked before the first
 * failure counts.
 */

/* An attempt whose end was never reported stops holding the others back. */
#define CHECKING_MAX_US (G_GINT64_CONSTANT (30) * G_USEC_PER_SEC)
#define CHECKING_WAIT_US G_USEC_PER_SEC

#define FREE_FAILURES 3
#define MAX_WAIT_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define FORGET_AFTER_US (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define MAX_ENTRIES 10000

typedef struct
{
  guint  failures;
  gint64 next_attempt_us;
  gint64 last_failure_us;
  gint64 checking_since_us; /* 0: no attempt is being checked */
} Entry;

struct _EdLoginThrottle
{
  GHashTable *entries; /* folded username -> Entry */
};

EdLoginThrottle *
ed_login_throttle_new (void)
{
  EdLoginThrottle *self = g_new0 (EdLoginThrottle, 1);

  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
ed_login_throttle_free (EdLoginThrottle *self)
{
  if (self == NULL)
    return;

  g_hash_table_unref (self->entries);
  g_free (self);
}

static char *
fold (const char *username)
{
  return g_utf8_casefold (username, -1);
}

/* Returns how many microseconds must pass before @username may try again;
 * 0 when an attempt is allowed now.
 */
gint64
ed_login_throttle_wait (EdLoginThrottle *self,
                        const char      *username,
                        gint64           now_us)
{
  g_autofree char *key = fold (username);
  Entry *entry = g_hash_table_lookup (self->entries, key);

  if (entry == NULL || entry->next_attempt_us <= now_us)
    return 0;

  return entry->next_attempt_us - now_us;
}

static void
forget_old (EdLoginThrottle *self,
            gint64           now_us)
{
  GHashTableIter iter;
  Entry *entry;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (now_us - entry->last_failure_us > FORGET_AFTER_US)
      g_hash_table_iter_remove (&iter);
}

static Entry *
lookup_or_add (EdLoginThrottle *self,
               const char      *username,
               gint64           now_us)
{
  g_autofree char *key = fold (username);
  Entry *entry = g_hash_table_lookup (self->entries, key);

  if (entry == NULL)
    {
      if (g_hash_table_size (self->entries) >= MAX_ENTRIES)
        forget_old (self, now_us);
      entry = g_new0 (Entry, 1);
      entry->last_failure_us = now_us;
      g_hash_table_insert (self->entries, g_steal_pointer (&key), entry);
    }

  return entry;
}

/**
 * ed_login_throttle_begin:
 * @username: the account name given
 * @now_us: the monotonic time
 *
 * Like ed_login_throttle_wait(), and when there is no wait, marks an
 * attempt for @username as being checked until ed_login_throttle_failed()
 * or ed_login_throttle_succeeded(); attempts meanwhile wait a second.
 *
 * Returns: how long to wait before trying again, 0 to go ahead
 */
gint64
ed_login_throttle_begin (EdLoginThrottle *self,
                         const char      *username,
                         gint64           now_us)
{
  gint64 wait = ed_login_throttle_wait (self, username, now_us);
  Entry *entry;

  if (wait > 0)
    return wait;

  entry = lookup_or_add (self, username, now_us);
  if (entry->checking_since_us != 0 && now_us - entry->checking_since_us < CHECKING_MAX_US)
    return CHECKING_WAIT_US;

  entry->checking_since_us = now_us;
  return 0;
}

void
ed_login_throttle_failed (EdLoginThrottle *self,
                          const char      *username,
                          gint64           now_us)
{
  Entry *entry = lookup_or_add (self, username, now_us);

  entry->checking_since_us = 0;
  entry->failures++;
  entry->last_failure_us = now_us;
  if (entry->failures > FREE_FAILURES)
    {
      guint shift = MIN (entry->failures - FREE_FAILURES - 1, 16);
      gint64 wait = MIN ((gint64) G_USEC_PER_SEC << shift, MAX_WAIT_US);

      entry->next_attempt_us = now_us + wait;
    }
}

void
ed_login_throttle_succeeded (EdLoginThrottle *self,
                             const char      *username)
{
  g_autofree char *key = fold (username);

  g_hash_table_remove (self->entries, key);
}
