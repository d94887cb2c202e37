/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "ed-error.h"
#include "ed-store.h"
#include "ed-test-util.h"
#include "ed-time-util.h"

typedef struct
{
  char    *dir;
  char    *path;
  EdStore *store;
} Fixture;

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("eventdesk-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "eventdesk.db", NULL);
  fixture->store = ed_store_open (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->store);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  if (fixture->store != NULL)
    {
      ed_store_close (fixture->store);
      g_assert_finalize_object (fixture->store);
    }
  rm_rf (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

/* A second, raw connection, to look at what the store wrote. */
static sqlite3 *
open_raw (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 2000);
  return db;
}

static char *
raw_query_text (sqlite3    *db,
                const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  char *text = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
    text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  return text;
}

static gint64
add_event (EdStore    *store,
           const char *name,
           gint64      capacity)
{
  g_autoptr(EdEvent) event = ed_event_new ();
  g_autoptr(GError) error = NULL;

  event->name = g_strdup (name);
  event->starts_at = ed_time_now () + 86400;
  event->capacity = capacity;
  g_assert_true (ed_store_insert_event (store, event, &error));
  g_assert_no_error (error);
  g_assert_cmpint (event->id, >, 0);

  return event->id;
}

static gint64
add_guest (EdStore    *store,
           gint64      event_id,
           const char *email,
           const char *first_name,
           const char *last_name)
{
  g_autoptr(EdGuest) guest = ed_guest_new ();
  g_autoptr(GError) error = NULL;

  guest->event_id = event_id;
  guest->email = g_strdup (email);
  guest->first_name = g_strdup (first_name);
  guest->last_name = g_strdup (last_name);
  g_assert_true (ed_store_insert_guest (store, guest, &error));
  g_assert_no_error (error);

  return guest->id;
}

static void
test_store_open (Fixture       *fixture,
                 gconstpointer  user_data)
{
  sqlite3 *db = open_raw (fixture->path);
  g_autofree char *journal = raw_query_text (db, "PRAGMA journal_mode");
  g_autofree char *version = raw_query_text (db, "PRAGMA user_version");

  g_assert_cmpstr (journal, ==, "wal");
  g_assert_cmpint (ed_test_parse_int (version, "PRAGMA user_version"), ==, ED_STORE_SCHEMA_VERSION);
  g_assert_cmpint (ed_store_get_schema_version (fixture->store), ==, ED_STORE_SCHEMA_VERSION);
  sqlite3_close (db);
}

static void
test_store_foreign_keys (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(EdGuest) guest = ed_guest_new ();
  g_autoptr(GError) error = NULL;

  /* A guest of an event that does not exist is refused. */
  guest->event_id = 4242;
  guest->email = g_strdup ("ann@example.com");
  g_assert_false (ed_store_insert_guest (fixture->store, guest, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_NOT_FOUND);
}

static void
test_store_admins (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) admins = NULL;
  g_autoptr(EdAdmin) admin = NULL;
  gint64 id;

  id = ed_store_add_admin (fixture->store, "alice", "$y$hash1", &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);

  g_assert_cmpint (ed_store_add_admin (fixture->store, "ALICE", "$y$hash2", &error), ==, 0);
  g_assert_error (error, ED_ERROR, ED_ERROR_CONFLICT);
  g_clear_error (&error);

  ed_store_add_admin (fixture->store, "bob", "$y$hash3", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ed_store_count_admins (fixture->store, NULL), ==, 2);

  admins = ed_store_list_admins (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (admins->len, ==, 2);
  g_assert_cmpstr (((EdAdmin *) admins->pdata[0])->username, ==, "alice");

  admin = ed_store_get_admin (fixture->store, "Alice", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (admin->username, ==, "alice");
  g_assert_cmpstr (admin->password_hash, ==, "$y$hash1");

  /* A new password ends the admin's sessions. */
  g_assert_true (ed_store_add_session (fixture->store, "s1", id, ed_time_now () + 60, &error));
  g_assert_true (ed_store_has_session (fixture->store, "s1", ed_time_now (), &error));
  g_assert_true (ed_store_set_admin_password (fixture->store, "alice", "$y$new", &error));
  g_assert_no_error (error);
  g_assert_false (ed_store_has_session (fixture->store, "s1", ed_time_now (), &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  /* Removing the admin ends theirs too. */
  g_assert_true (ed_store_add_session (fixture->store, "s2", id, ed_time_now () + 60, &error));
  g_assert_true (ed_store_remove_admin (fixture->store, "alice", &error));
  g_assert_false (ed_store_has_session (fixture->store, "s2", ed_time_now (), NULL));
  g_assert_false (ed_store_remove_admin (fixture->store, "alice", &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_NOT_FOUND);
}

static void
test_store_sessions_expire (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  gint64 id = ed_store_add_admin (fixture->store, "alice", "$y$x", &error);
  gint64 now = ed_time_now ();

  g_assert_true (ed_store_add_session (fixture->store, "live", id, now + 100, &error));
  g_assert_true (ed_store_add_session (fixture->store, "old", id, now + 10, &error));
  g_assert_true (ed_store_has_session (fixture->store, "old", now, &error));
  g_assert_false (ed_store_has_session (fixture->store, "old", now + 10, NULL));

  g_assert_true (ed_store_prune_sessions (fixture->store, now + 50, &error));
  g_assert_true (ed_store_has_session (fixture->store, "live", now + 50, &error));
  g_assert_false (ed_store_has_session (fixture->store, "old", now, NULL));

  g_assert_true (ed_store_remove_session (fixture->store, "live", &error));
  g_assert_false (ed_store_has_session (fixture->store, "live", now, NULL));
}

static void
test_store_events (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GPtrArray) page = NULL;
  gint64 total = 0;
  gint64 first = add_event (fixture->store, "First", 10);
  gint64 second = add_event (fixture->store, "Second", 20);

  add_event (fixture->store, "Third", 30);

  event = ed_store_get_event (fixture->store, second, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (event->name, ==, "Second");
  g_assert_cmpint (event->capacity, ==, 20);
  g_assert_true (event->waitlist_enabled);
  g_assert_cmpstr (event->timezone, ==, "UTC");

  g_free (event->venue);
  event->venue = g_strdup ("Town Hall");
  event->rsvp_deadline = event->starts_at - 3600;
  g_assert_true (ed_store_update_event (fixture->store, event, &error));
  g_clear_pointer (&event, ed_event_free);
  event = ed_store_get_event (fixture->store, second, &error);
  g_assert_cmpstr (event->venue, ==, "Town Hall");
  g_assert_cmpint (event->rsvp_deadline, ==, event->starts_at - 3600);

  page = ed_store_list_events (fixture->store, first, 10, &total, &error);
  g_assert_no_error (error);
  g_assert_cmpint (total, ==, 3);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (((EdEvent *) page->pdata[0])->name, ==, "Second");

  g_assert_true (ed_store_delete_event (fixture->store, first, &error));
  g_assert_null (ed_store_get_event (fixture->store, first, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_NOT_FOUND);
}

static void
test_store_event_delete_cascades (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  gint64 event_id = add_event (fixture->store, "Doomed", 10);
  gint64 other = add_event (fixture->store, "Kept", 10);
  gint64 guest_id = add_guest (fixture->store, event_id, "a@example.com", "Ann", "A");
  sqlite3 *db;
  g_autofree char *guests = NULL;
  g_autofree char *counts = NULL;
  g_autofree char *search = NULL;

  add_guest (fixture->store, other, "a@example.com", "Ann", "A");

  g_assert_true (ed_store_delete_event (fixture->store, event_id, &error));
  g_assert_no_error (error);
  g_assert_null (ed_store_get_guest (fixture->store, guest_id, NULL));

  db = open_raw (fixture->path);
  guests = raw_query_text (db, "SELECT count(*) FROM guests");
  counts = raw_query_text (db, "SELECT count(*) FROM event_counts");
  search = raw_query_text (db, "SELECT count(*) FROM guests_search WHERE guests_search MATCH '\"ann\"'");
  g_assert_cmpstr (guests, ==, "1");
  g_assert_cmpstr (counts, ==, "1");
  g_assert_cmpstr (search, ==, "1");
  sqlite3_close (db);
}

static void
test_store_guests_duplicates (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EdGuest) dup = ed_guest_new ();
  g_autoptr(EdGuest) other = NULL;
  gint64 event_id = add_event (fixture->store, "E", 10);
  gint64 other_event = add_event (fixture->store, "F", 10);
  gint64 ann = add_guest (fixture->store, event_id, "Ann@Example.com", "Ann", "Smith");
  gint64 bob = add_guest (fixture->store, event_id, "bob@example.com", "Bob", "Jones");

  dup->event_id = event_id;
  dup->email = g_strdup ("ANN@example.COM");
  g_assert_false (ed_store_insert_guest (fixture->store, dup, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "Guest"));
  g_clear_error (&error);

  g_assert_cmpint (ed_store_find_guest_by_email (fixture->store, event_id, "ANN@example.com", NULL), ==, ann);

  /* The same address in another event is another guest. */
  add_guest (fixture->store, other_event, "ann@example.com", "Ann", "Smith");

  /* Changing Bob's address to Ann's is refused too. */
  other = ed_store_get_guest (fixture->store, bob, &error);
  g_free (other->email);
  other->email = g_strdup ("ANN@example.com");
  g_assert_false (ed_store_update_guest (fixture->store, other, &error));
  g_assert_error (error, ED_ERROR, ED_ERROR_CONFLICT);
}

static void
test_store_guests_counters (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  gint64 event_id = add_event (fixture->store, "E", 100);
  EdEventStats stats;
  gint64 ids[10];
  sqlite3 *db;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *email = g_strdup_printf ("g%u@example.com", i);

      ids[i] = add_guest (fixture->store, event_id, email, "G", "H");
    }

  g_assert_true (ed_store_get_event_stats (fixture->store, event_id, &stats, &error));
  g_assert_cmpint (stats.capacity, ==, 100);
  g_assert_cmpint (stats.guests[ED_RSVP_PENDING], ==, 10);
  g_assert_cmpint (stats.seats_taken, ==, 0);

  /* Answers are written by a later part of the daemon; the counters
   * follow whatever writes the rows.
   */
  db = open_raw (fixture->path);
  g_assert_cmpint (sqlite3_exec (db,
                                 "UPDATE guests SET status = 'accepted', party_size = 3 WHERE id IN (1, 2);"
                                 "UPDATE guests SET status = 'declined' WHERE id = 3;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  g_assert_true (ed_store_delete_guest (fixture->store, ids[9], &error));
  g_assert_true (ed_store_get_event_stats (fixture->store, event_id, &stats, &error));
  g_assert_cmpint (stats.guests[ED_RSVP_PENDING], ==, 6);
  g_assert_cmpint (stats.guests[ED_RSVP_ACCEPTED], ==, 2);
  g_assert_cmpint (stats.guests[ED_RSVP_DECLINED], ==, 1);
  g_assert_cmpint (stats.seats_taken, ==, 6);
}

static void
test_store_guests_rollback (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) page = NULL;
  EdGuestQuery query = { .limit = 10 };
  gint64 event_id = add_event (fixture->store, "E", 10);
  gboolean has_more;
  gint64 total = -1;

  g_assert_true (ed_store_begin (fixture->store, &error));
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *email = g_strdup_printf ("g%u@example.com", i);

      add_guest (fixture->store, event_id, email, "G", "H");
    }
  ed_store_rollback (fixture->store);

  page = ed_store_list_guests (fixture->store, event_id, &query, &total, &has_more, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 0);
  g_assert_cmpint (total, ==, 0);
}

static const char * const first_names[] = {
  "Ada", "alan", "Grace", "Linus", "margaret", "Dennis", "Barbara", "Ken",
  "Frances", "edsger", "Donald", "Radia", "Tim", "Hedy", "John",
};
static const char * const last_names[] = {
  "Lovelace", "turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov",
  "Thompson", "Allen", "dijkstra", "Knuth", "Perlman", "Berners-Lee", "Lamarr",
};

static int
compare_by_name (gconstpointer a,
                 gconstpointer b)
{
  const EdGuest *ga = *(EdGuest * const *) a;
  const EdGuest *gb = *(EdGuest * const *) b;
  int cmp = g_ascii_strcasecmp (ga->last_name, gb->last_name);

  if (cmp == 0)
    cmp = g_ascii_strcasecmp (ga->first_name, gb->first_name);
  if (cmp == 0)
    cmp = ga->id < gb->id ? -1 : ga->id > gb->id;
  return cmp;
}

static int
compare_by_email (gconstpointer a,
                  gconstpointer b)
{
  const EdGuest *ga = *(EdGuest * const *) a;
  const EdGuest *gb = *(EdGuest * const *) b;
  int cmp = g_ascii_strcasecmp (ga->email, gb->email);

  if (cmp == 0)
    cmp = ga->id < gb->id ? -1 : ga->id > gb->id;
  return cmp;
}

static int
compare_by_id (gconstpointer a,
               gconstpointer b)
{
  const EdGuest *ga = *(EdGuest * const *) a;
  const EdGuest *gb = *(EdGuest * const *) b;

  return ga->id < gb->id ? -1 : ga->id > gb->id;
}

/* Pages through the event in @sort order and checks that every guest is
 * seen once, in the order @compare gives.
 */
static void
check_paging (EdStore          *store,
              gint64            event_id,
              GPtrArray        *all,
              EdGuestSort       sort,
              gboolean          descending,
              GCompareFunc      compare)
{
  g_autoptr(GPtrArray) expected = g_ptr_array_new ();
  EdGuestQuery query = { .sort = sort, .descending = descending, .limit = 7 };
  guint seen = 0;

  g_ptr_array_extend (expected, all, NULL, NULL);
  g_ptr_array_sort (expected, compare);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) page = NULL;
      gboolean has_more = FALSE;
      gint64 total = 0;

      page = ed_store_list_guests (store, event_id, &query, &total, &has_more, &error);
      g_assert_no_error (error);
      g_assert_cmpint (total, ==, all->len);

      for (guint i = 0; i < page->len; i++)
        {
          const EdGuest *got = page->pdata[i];
          guint index = descending ? expected->len - 1 - seen : seen;
          const EdGuest *want = expected->pdata[index];

          g_assert_cmpint (got->id, ==, want->id);
          seen++;
        }

      if (!has_more)
        break;
      g_assert_cmpuint (page->len, ==, query.limit);
      query.after = ((EdGuest *) page->pdata[page->len - 1])->id;
    }

  g_assert_cmpuint (seen, ==, all->len);
}

static void
test_store_guests_paging (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_guest_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autoptr(GError) error = NULL;
  gint64 event_id = add_event (fixture->store, "E", 1000);
  gint64 other = add_event (fixture->store, "Other", 1000);

  add_guest (fixture->store, other, "stranger@example.com", "Ada", "Aaron");

  g_assert_true (ed_store_begin (fixture->store, &error));
  for (guint i = 0; i < 123; i++)
    {
      EdGuest *guest = ed_guest_new ();

      guest->event_id = event_id;
      guest->first_name = g_strdup (first_names[g_rand_int_range (rand, 0, G_N_ELEMENTS (first_names))]);
      guest->last_name = g_strdup (last_names[g_rand_int_range (rand, 0, G_N_ELEMENTS (last_names))]);
      guest->email = g_strdup_printf ("%s.%u@%s.example", guest->first_name, g_rand_int_range (rand, 0, 100000),
                                      last_names[g_rand_int_range (rand, 0, G_N_ELEMENTS (last_names))]);
      if (!ed_store_insert_guest (fixture->store, guest, NULL))
        {
          ed_guest_free (guest);
          continue;
        }
      g_ptr_array_add (all, guest);
    }
  g_assert_true (ed_store_commit (fixture->store, &error));

  check_paging (fixture->store, event_id, all, ED_GUEST_SORT_CREATED, FALSE, compare_by_id);
  check_paging (fixture->store, event_id, all, ED_GUEST_SORT_CREATED, TRUE, compare_by_id);
  check_paging (fixture->store, event_id, all, ED_GUEST_SORT_NAME, FALSE, compare_by_name);
  check_paging (fixture->store, event_id, all, ED_GUEST_SORT_NAME, TRUE, compare_by_name);
  check_paging (fixture->store, event_id, all, ED_GUEST_SORT_EMAIL, FALSE, compare_by_email);
  check_paging (fixture->store, event_id, all, ED_GUEST_SORT_EMAIL, TRUE, compare_by_email);
}

static GPtrArray *
search (EdStore    *store,
        gint64      event_id,
        const char *text,
        gint64     *total)
{
  g_autoptr(GError) error = NULL;
  EdGuestQuery query = { .query = text, .limit = 100, .sort = ED_GUEST_SORT_NAME };
  gboolean has_more;
  GPtrArray *page;

  page = ed_store_list_guests (store, event_id, &query, total, &has_more, &error);
  g_assert_no_error (error);
  g_assert_false (has_more);
  g_assert_cmpint (*total, ==, page->len);

  return page;
}

static void
test_store_guests_search (Fixture       *fixture,
                          gconstpointer  user_data)
{
  gint64 event_id = add_event (fixture->store, "E", 100);
  gint64 other = add_event (fixture->store, "Other", 100);
  gint64 total;

  add_guest (fixture->store, event_id, "ada@analytical.example", "Ada", "Lovelace");
  add_guest (fixture->store, event_id, "grace@navy.example", "Grace", "Hopper");
  add_guest (fixture->store, event_id, "alan@bletchley.example", "Alan", "Turing");
  add_guest (fixture->store, event_id, "odd%name_@weird.example", "Per\"cent", "O'Neil");
  add_guest (fixture->store, other, "ada2@analytical.example", "Ada", "Lovelace");

  {
    g_autoptr(GPtrArray) page = search (fixture->store, event_id, "LOVE", &total);

    g_assert_cmpint (total, ==, 1);
    g_assert_cmpstr (((EdGuest *) page->pdata[0])->last_name, ==, "Lovelace");
  }
  {
    /* Part of an email, and two words that must both match. */
    g_autoptr(GPtrArray) page = search (fixture->store, event_id, "navy.ex", &total);

    g_assert_cmpint (total, ==, 1);
    g_assert_cmpstr (((EdGuest *) page->pdata[0])->first_name, ==, "Grace");
  }
  {
    g_autoptr(GPtrArray) page = search (fixture->store, event_id, "ala tur", &total);

    g_assert_cmpint (total, ==, 1);
    g_assert_cmpstr (((EdGuest *) page->pdata[0])->first_name, ==, "Alan");
  }
  {
    g_autoptr(GPtrArray) page = search (fixture->store, event_id, "ada grace", &total);

    g_assert_cmpint (total, ==, 0);
  }
  {
    /* Short words match as substrings too. */
    g_autoptr(GPtrArray) page = search (fixture->store, event_id, "ur", &total);

    g_assert_cmpint (total, ==, 1);
    g_assert_cmpstr (((EdGuest *) page->pdata[0])->last_name, ==, "Turing");
  }
  {
    /* Search syntax characters are just characters. */
    g_autoptr(GPtrArray) percent = search (fixture->store, event_id, "%", &total);

    g_assert_cmpint (total, ==, 1);
    g_ptr_array_unref (search (fixture->store, event_id, "d%n", &total));
    g_assert_cmpint (total, ==, 1);
    g_ptr_array_unref (search (fixture->store, event_id, "r\"c", &total));
    g_assert_cmpint (total, ==, 1);
    g_ptr_array_unref (search (fixture->store, event_id, "O'N", &total));
    g_assert_cmpint (total, ==, 1);
    g_ptr_array_unref (search (fixture->store, event_id, "NEAR(x y)", &total));
    g_assert_cmpint (total, ==, 0);
    g_ptr_array_unref (search (fixture->store, event_id, "_", &total));
    g_assert_cmpint (total, ==, 1);
  }
}

static void
test_store_guests_extra (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EdGuest) guest = ed_guest_new ();
  g_autoptr(EdGuest) read = NULL;
  gint64 event_id = add_event (fixture->store, "E", 100);

  guest->event_id = event_id;
  guest->email = g_strdup ("x@example.com");
  guest->extra = json_object_new ();
  json_object_set_string_member (guest->extra, "Company", "ACME; \"quoted\"");
  json_object_set_string_member (guest->extra, "Table", "7");
  g_assert_true (ed_store_insert_guest (fixture->store, guest, &error));

  read = ed_store_get_guest (fixture->store, guest->id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (read->extra);
  g_assert_cmpstr (json_object_get_string_member (read->extra, "Company"), ==, "ACME; \"quoted\"");
  g_assert_cmpstr (json_object_get_string_member (read->extra, "Table"), ==, "7");
  g_assert_cmpint (read->token_version, ==, 1);
  g_assert_cmpint (read->status, ==, ED_RSVP_PENDING);
}

static void
test_store_migrate_from_v1 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eventdesk-migrate-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "eventdesk.db", NULL);
  g_autofree char *fixture_sql = NULL;
  g_autoptr(EdStore) store = NULL;
  g_autoptr(EdGuest) ada = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GPtrArray) history = NULL;
  EdGuestQuery query = { .query = "hopp", .limit = 10 };
  EdEventStats stats;
  gboolean has_more;
  gint64 total;
  sqlite3 *db;

  g_assert_true (g_file_get_contents (g_test_get_filename (G_TEST_DIST, "data", "schema-v1.sql", NULL),
                                      &fixture_sql, NULL, &error));
  db = open_raw (path);
  g_assert_cmpint (sqlite3_exec (db, fixture_sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = ed_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ed_store_get_schema_version (store), ==, ED_STORE_SCHEMA_VERSION);

  /* The old rows are there, and what schema 2 adds covers them. */
  ada = ed_store_get_guest (store, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ada->email, ==, "ada@example.com");
  g_assert_cmpint (ada->status, ==, ED_RSVP_ACCEPTED);

  found = ed_store_list_guests (store, 1, &query, &total, &has_more, &error);
  g_assert_no_error (error);
  g_assert_cmpint (total, ==, 1);
  g_assert_cmpstr (((EdGuest *) found->pdata[0])->last_name, ==, "Hopper");

  g_assert_true (ed_store_get_event_stats (store, 1, &stats, &error));
  g_assert_cmpint (stats.seats_taken, ==, 2);
  g_assert_cmpint (stats.guests[ED_RSVP_PENDING], ==, 1);
  g_assert_cmpint (stats.guests[ED_RSVP_DECLINED], ==, 1);

  history = ed_store_list_rsvp_history (store, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 1);
  g_assert_cmpint (((EdRsvpChange *) history->pdata[0])->new_status, ==, ED_RSVP_ACCEPTED);

  /* New guests are counted and found as well, and the old addresses
   * still refuse a second guest in another case.
   */
  add_guest (store, 1, "new@example.com", "Newton", "Isaac");
  {
    g_autoptr(EdGuest) dup = ed_guest_new ();

    dup->event_id = 1;
    dup->email = g_strdup ("ADA@EXAMPLE.COM");
    g_assert_false (ed_store_insert_guest (store, dup, &error));
    g_assert_error (error, ED_ERROR, ED_ERROR_CONFLICT);
    g_clear_error (&error);
  }
  g_assert_true (ed_store_get_event_stats (store, 1, &stats, &error));
  g_assert_cmpint (stats.guests[ED_RSVP_PENDING], ==, 2);

  ed_store_close (store);
  rm_rf (dir);
}

static void
test_store_refuse_newer (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eventdesk-newer-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "eventdesk.db", NULL);
  g_autoptr(EdStore) store = NULL;
  g_autofree char *version = NULL;
  sqlite3 *db;

  db = open_raw (path);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE future (x); PRAGMA user_version = 99;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = ed_store_open (path, &error);
  g_assert_null (store);
  g_assert_error (error, ED_ERROR, ED_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "newer"));
  g_assert_nonnull (strstr (error->message, "99"));

  /* And it was left alone. */
  db = open_raw (path);
  version = raw_query_text (db, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "99");
  sqlite3_close (db);
  rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/store/open/wal-and-version", test_store_open);
  ADD ("/store/open/foreign-keys", test_store_foreign_keys);
  ADD ("/store/admins/add-list-passwd-remove", test_store_admins);
  ADD ("/store/sessions/expire", test_store_sessions_expire);
  ADD ("/store/events/crud", test_store_events);
  ADD ("/store/events/delete-cascades", test_store_event_delete_cascades);
  ADD ("/store/guests/duplicate-email", test_store_guests_duplicates);
  ADD ("/store/guests/counters", test_store_guests_counters);
  ADD ("/store/guests/rollback", test_store_guests_rollback);
  ADD ("/store/guests/paging", test_store_guests_paging);
  ADD ("/store/guests/search", test_store_guests_search);
  ADD ("/store/guests/extra", test_store_guests_extra);
#undef ADD
  g_test_add_func ("/store/migrate/from-v1", test_store_migrate_from_v1);
  g_test_add_func ("/store/migrate/refuse-newer", test_store_refuse_newer);

  return g_test_run ();
}
