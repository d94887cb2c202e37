/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-store"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-store-private.h"
#include "ed-time-util.h"

/* The guests of an event: their rows, key-paged lists and search. */

#define MAX_SEARCH_WORDS 8

EdGuest *
ed_store_guest_from_row (sqlite3_stmt *stmt)
{
  EdGuest *guest = g_new0 (EdGuest, 1);
  const char *extra;

  guest->id = sqlite3_column_int64 (stmt, 0);
  guest->event_id = sqlite3_column_int64 (stmt, 1);
  guest->email = ed_store_column_strdup (stmt, 2);
  guest->first_name = ed_store_column_strdup (stmt, 3);
  guest->last_name = ed_store_column_strdup (stmt, 4);

  extra = (const char *) sqlite3_column_text (stmt, 5);
  if (extra != NULL && *extra != '\0')
    {
      g_autoptr(JsonNode) node = json_from_string (extra, NULL);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        guest->extra = json_object_ref (json_node_get_object (node));
    }

  if (!ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 6), &guest->status))
    guest->status = ED_RSVP_PENDING;
  guest->party_size = sqlite3_column_int (stmt, 7);
  guest->waitlist_position = sqlite3_column_int64 (stmt, 8);
  guest->token_version = sqlite3_column_int (stmt, 9);
  guest->created_at = sqlite3_column_int64 (stmt, 10);
  guest->updated_at = sqlite3_column_int64 (stmt, 11);
  guest->responded_at = sqlite3_column_int64 (stmt, 12);
  guest->unsubscribed_at = sqlite3_column_int64 (stmt, 13);

  return guest;
}

char *
ed_store_extra_to_string (JsonObject *extra)
{
  g_autoptr(JsonNode) node = NULL;

  if (extra == NULL || json_object_get_size (extra) == 0)
    return NULL;

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, extra);
  return json_to_string (node, FALSE);
}

static gboolean
set_duplicate_email_error (EdStore        *self,
                           const EdGuest  *guest,
                           GError        **error)
{
  gint64 existing = ed_store_find_guest_by_email (self, guest->event_id, guest->email, NULL);

  g_set_error (error, ED_ERROR, ED_ERROR_CONFLICT,
               "Guest %" G_GINT64_FORMAT " of this event already has the email address %s",
               existing, guest->email);
  return FALSE;
}

/**
 * ed_store_insert_guest:
 * @self: a store
 * @guest: the guest; its id and timestamps are set
 * @error: return location for an error
 *
 * Inserts one guest with a cached prepared statement, so that a caller
 * holding a transaction (ed_store_begin()) can add many quickly. A second
 * guest with the same email (any case) in one event is %ED_ERROR_CONFLICT.
 */
gboolean
ed_store_insert_guest (EdStore  *self,
                       EdGuest  *guest,
                       GError  **error)
{
  g_autofree char *extra = NULL;
  g_autofree char *email_key = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (guest != NULL && guest->email != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                        "INSERT INTO guests (event_id, email, first_name, last_name, extra, "
                        "status, party_size, created_at, updated_at, email_key) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)", error)))
    return FALSE;

  if (guest->created_at == 0)
    guest->created_at = ed_time_now ();
  guest->updated_at = guest->created_at;
  if (guest->party_size < 1)
    guest->party_size = 1;
  guest->token_version = 1;
  extra = ed_store_extra_to_string (guest->extra);
  email_key = g_utf8_casefold (guest->email, -1);

  sqlite3_bind_int64 (stmt, 1, guest->event_id);
  sqlite3_bind_text (stmt, 2, guest->email, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, guest->first_name ? guest->first_name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, guest->last_name ? guest->last_name : "", -1, SQLITE_STATIC);
  ed_store_bind_text_or_null (stmt, 5, extra);
  sqlite3_bind_text (stmt, 6, ed_rsvp_status_to_string (guest->status), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 7, guest->party_size);
  sqlite3_bind_int64 (stmt, 8, guest->created_at);
  sqlite3_bind_text (stmt, 9, email_key, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);

  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return set_duplicate_email_error (self, guest, error);
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no event %" G_GINT64_FORMAT, guest->event_id);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);

  guest->id = sqlite3_last_insert_rowid (self->db);
  return TRUE;
}

EdGuest *
ed_store_get_guest (EdStore  *self,
                    gint64    guest_id,
                    GError  **error)
{
  sqlite3_stmt *stmt;
  EdGuest *guest = NULL;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self, "SELECT " GUEST_COLUMNS " FROM guests WHERE id = ?", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    guest = ed_store_guest_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                 "There is no guest %" G_GINT64_FORMAT, guest_id);
  else
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return guest;
}

/* Returns the id of the event's guest with @email (any case), or 0. */
gint64
ed_store_find_guest_by_email (EdStore     *self,
                              gint64       event_id,
                              const char  *email,
                              GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 id = 0;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), 0);
  g_return_val_if_fail (email != NULL, 0);

  if (!(stmt = ed_store_prepare (self, "SELECT id FROM guests WHERE event_id = ? AND email_key = ?", error)))
    return 0;
  sqlite3_bind_int64 (stmt, 1, event_id);
  sqlite3_bind_text (stmt, 2, g_utf8_casefold (email, -1), -1, g_free);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    ed_store_set_error (self, rc, error);
  sqlite3_reset (stmt);

  return id;
}

/* Writes the guest's contact fields (email, names, extra). */
gboolean
ed_store_update_guest (EdStore  *self,
                       EdGuest  *guest,
                       GError  **error)
{
  g_autofree char *extra = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (guest != NULL && guest->email != NULL, FALSE);

  if (!(stmt = ed_store_prepare (self,
                        "UPDATE guests SET email = ?1, first_name = ?2, last_name = ?3, "
                        "extra = ?4, updated_at = ?5, email_key = ?7 WHERE id = ?6", error)))
    return FALSE;

  guest->updated_at = ed_time_now ();
  extra = ed_store_extra_to_string (guest->extra);
  sqlite3_bind_text (stmt, 7, g_utf8_casefold (guest->email, -1), -1, g_free);
  sqlite3_bind_text (stmt, 1, guest->email, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, guest->first_name ? guest->first_name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, guest->last_name ? guest->last_name : "", -1, SQLITE_STATIC);
  ed_store_bind_text_or_null (stmt, 4, extra);
  sqlite3_bind_int64 (stmt, 5, guest->updated_at);
  sqlite3_bind_int64 (stmt, 6, guest->id);

  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);

  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return set_duplicate_email_error (self, guest, error);
  if (rc != SQLITE_DONE)
    return ed_store_set_error (self, rc, error);
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no guest %" G_GINT64_FORMAT, guest->id);
      return FALSE;
    }

  return TRUE;
}

gboolean
ed_store_delete_guest (EdStore  *self,
                       gint64    guest_id,
                       GError  **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);

  if (!(stmt = ed_store_prepare (self, "DELETE FROM guests WHERE id = ?", error)))
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, guest_id);
  if (!ed_store_step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_NOT_FOUND,
                   "There is no guest %" G_GINT64_FORMAT, guest_id);
      return FALSE;
    }

  return TRUE;
}

/* The search words of a query: words of three or more characters go to the
 * trigram index as one FTS5 query; shorter ones, which the index cannot
 * find, are matched with ed_contains() on the case-folded columns. Guests
 * that the index does not hold yet (those above its watermark, added by a
 * bulk import and not indexed yet) are matched with ed_contains() against
 * the long words too.
 */
typedef struct
{
  GString   *match;
  GPtrArray *words;      /* short words, case-folded */
  GPtrArray *long_words; /* the words of @match, case-folded */
} SearchTerms;

static void
search_terms_clear (SearchTerms *terms)
{
  if (terms->match != NULL)
    g_string_free (terms->match, TRUE);
  g_clear_pointer (&terms->words, g_ptr_array_unref);
  g_clear_pointer (&terms->long_words, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SearchTerms, search_terms_clear)

static void
search_terms_init (SearchTerms *terms,
                   const char  *query)
{
  g_auto(GStrv) words = NULL;
  guint n_words = 0;

  terms->match = NULL;
  terms->words = g_ptr_array_new_with_free_func (g_free);
  terms->long_words = g_ptr_array_new_with_free_func (g_free);

  if (query == NULL)
    return;

  words = g_strsplit_set (query, " \t\r\n", -1);
  for (guint i = 0; words[i] != NULL && n_words < MAX_SEARCH_WORDS; i++)
    {
      const char *word = words[i];

      if (*word == '\0')
        continue;
      n_words++;

      if (g_utf8_strlen (word, -1) >= 3)
        {
          if (terms->match == NULL)
            terms->match = g_string_new (NULL);
          else
            g_string_append_c (terms->match, ' ');

          /* An FTS5 string: quotes doubled, everything else literal. */
          g_string_append_c (terms->match, '"');
          for (const char *p = word; *p; p++)
            {
              if (*p == '"')
                g_string_append_c (terms->match, '"');
              g_string_append_c (terms->match, *p);
            }
          g_string_append_c (terms->match, '"');
          g_ptr_array_add (terms->long_words, g_utf8_casefold (word, -1));
        }
      else
        {
          g_ptr_array_add (terms->words, g_utf8_casefold (word, -1));
        }
    }
}

static const char * const word_parameters[MAX_SEARCH_WORDS] = {
  ":word0", ":word1", ":word2", ":word3", ":word4", ":word5", ":word6", ":word7",
};

static const char * const word_conditions[MAX_SEARCH_WORDS] = {
#define WORD_CONDITION(n) \
  " AND (ed_contains(guests.email, :word" #n ") OR ed_contains(guests.first_name, :word" #n ")" \
  " OR ed_contains(guests.last_name, :word" #n "))"
  WORD_CONDITION (0), WORD_CONDITION (1), WORD_CONDITION (2), WORD_CONDITION (3),
  WORD_CONDITION (4), WORD_CONDITION (5), WORD_CONDITION (6), WORD_CONDITION (7),
#undef WORD_CONDITION
};

static const char * const long_word_parameters[MAX_SEARCH_WORDS] = {
  ":long0", ":long1", ":long2", ":long3", ":long4", ":long5", ":long6", ":long7",
};

static const char * const long_word_conditions[MAX_SEARCH_WORDS] = {
#define LONG_WORD_CONDITION(n) \
  " AND (ed_contains(guests.email, :long" #n ") OR ed_contains(guests.first_name, :long" #n ")" \
  " OR ed_contains(guests.last_name, :long" #n "))"
  LONG_WORD_CONDITION (0), LONG_WORD_CONDITION (1), LONG_WORD_CONDITION (2), LONG_WORD_CONDITION (3),
  LONG_WORD_CONDITION (4), LONG_WORD_CONDITION (5), LONG_WORD_CONDITION (6), LONG_WORD_CONDITION (7),
#undef LONG_WORD_CONDITION
};

/* The guests the search index does not hold yet: a range of ids, empty
 * (and free to look at) whenever the index is up to date.
 */
#define NOT_INDEXED "guests.id > (SELECT indexed_upto FROM guests_search_state)"

/* GUEST_COLUMNS_OF_GUESTS without the first, guests.id. */
#define GUEST_COLUMNS_AFTER_ID \
  "guests.event_id, guests.email, guests.first_name, guests.last_name, " \
  "guests.extra, guests.status, guests.party_size, guests.waitlist_position, " \
  "guests.token_version, guests.created_at, guests.updated_at, guests.responded_at, " \
  "guests.unsubscribed_at"

G_STATIC_ASSERT (sizeof ("guests.id, " GUEST_COLUMNS_AFTER_ID) == sizeof (GUEST_COLUMNS_OF_GUESTS));

/* Search words reach the trigram index in one of two ways. Either the index
 * drives the query (FROM guests_search CROSS JOIN guests, see
 * search_drives_query()): it yields matches in rowid order and stops with
 * the page, and each match costs one lookup by primary key. Or the matches
 * are collected into a list first ("id IN (…)"), which orders by name or
 * email need anyway.
 */
static gboolean
search_drives_query (const EdGuestQuery *query,
                     const SearchTerms  *terms)
{
  return terms->match != NULL && query->sort == ED_GUEST_SORT_CREATED;
}

static void
append_long_word_conditions (GString           *sql,
                             const SearchTerms *terms)
{
  for (guint i = 0; i < terms->long_words->len; i++)
    g_string_append (sql, long_word_conditions[i]);
}

/* The filters other than the search index's: status and short words. */
static void
append_plain_filters (GString            *sql,
                      const EdGuestQuery *query,
                      const SearchTerms  *terms)
{
  if (query->has_status)
    g_string_append (sql, " AND guests.status = :status");
  for (guint i = 0; i < terms->words->len; i++)
    g_string_append (sql, word_conditions[i]);
}

static void
append_filters (GString           *sql,
                const EdGuestQuery *query,
                const SearchTerms  *terms,
                gboolean            search_joined)
{
  if (terms->match != NULL && !search_joined)
    {
      g_string_append (sql, " AND guests.id IN (SELECT rowid FROM guests_search WHERE guests_search MATCH :match"
                            " UNION ALL SELECT guests.id FROM guests WHERE " NOT_INDEXED
                            " AND guests.event_id = :event");
      append_long_word_conditions (sql, terms);
      g_string_append (sql, ")");
    }
  append_plain_filters (sql, query, terms);
}

static void
bind_filters (sqlite3_stmt       *stmt,
              gint64              event_id,
              const EdGuestQuery *query,
              const SearchTerms  *terms)
{
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":event"), event_id);
  if (query->has_status)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":status"),
                       ed_rsvp_status_to_string (query->status), -1, SQLITE_STATIC);
  if (terms->match != NULL)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, ":match"),
                       terms->match->str, -1, SQLITE_TRANSIENT);
  for (guint i = 0; i < terms->words->len; i++)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, word_parameters[i]),
                       g_ptr_array_index (terms->words, i), -1, SQLITE_TRANSIENT);
  for (guint i = 0; i < terms->long_words->len; i++)
    sqlite3_bind_text (stmt, sqlite3_bind_parameter_index (stmt, long_word_parameters[i]),
                       g_ptr_array_index (terms->long_words, i), -1, SQLITE_TRANSIENT);
}

/* The filters of a guest list, for other queries over the same guests
 * (the CSV export).
 */
struct _EdStoreGuestFilter
{
  EdGuestQuery query;
  SearchTerms  terms;
};

EdStoreGuestFilter *
ed_store_guest_filter_new (const EdGuestQuery *query)
{
  EdStoreGuestFilter *filter = g_new0 (EdStoreGuestFilter, 1);

  filter->query = *query;
  filter->query.query = NULL;
  search_terms_init (&filter->terms, query->query);
  return filter;
}

void
ed_store_guest_filter_free (EdStoreGuestFilter *filter)
{
  if (filter == NULL)
    return;

  search_terms_clear (&filter->terms);
  g_free (filter);
}

/* Appends " AND …" conditions on the table "guests" of the event bound
 * as :event.
 */
void
ed_store_guest_filter_append_sql (const EdStoreGuestFilter *filter,
                                  GString                  *sql)
{
  append_filters (sql, &filter->query, &filter->terms, FALSE);
}

void
ed_store_guest_filter_bind (const EdStoreGuestFilter *filter,
                            sqlite3_stmt             *stmt,
                            gint64                    event_id)
{
  bind_filters (stmt, event_id, &filter->query, &filter->terms);
}

static gboolean
count_guests (EdStore            *self,
              gint64              event_id,
              const EdGuestQuery *query,
              const SearchTerms  *terms,
              gint64             *total,
              GError            **error)
{
  g_autoptr(GString) sql = NULL;
  sqlite3_stmt *stmt;
  int rc;

  /* Without search words the counters answer at once. */
  if (terms->match == NULL && terms->words->len == 0)
    {
      if (query->has_status)
        stmt = ed_store_prepare (self, "SELECT coalesce(sum(guests), 0) FROM event_counts "
                              "WHERE event_id = :event AND status = :status", error);
      else
        stmt = ed_store_prepare (self, "SELECT coalesce(sum(guests), 0) FROM event_counts "
                              "WHERE event_id = :event", error);
      if (stmt == NULL)
        return FALSE;
      bind_filters (stmt, event_id, query, terms);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        *total = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
      return rc == SQLITE_ROW ? TRUE : ed_store_set_error (self, rc, error);
    }

  if (terms->match != NULL)
    {
      sql = g_string_new ("SELECT (SELECT count(*) FROM guests_search CROSS JOIN guests"
                          " ON guests.id = guests_search.rowid"
                          " WHERE guests_search MATCH :match AND guests.event_id = :event");
      append_plain_filters (sql, query, terms);
      g_string_append (sql, ") + (SELECT count(*) FROM guests WHERE " NOT_INDEXED
                            " AND guests.event_id = :event");
      append_long_word_conditions (sql, terms);
      append_plain_filters (sql, query, terms);
      g_string_append (sql, ")");
    }
  else
    {
      sql = g_string_new ("SELECT count(*) FROM guests WHERE guests.event_id = :event");
      append_filters (sql, query, terms, FALSE);
    }

  rc = sqlite3_prepare_v2 (self->db, sql->str, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return ed_store_set_error (self, rc, error);
  bind_filters (stmt, event_id, query, terms);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *total = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  return rc == SQLITE_ROW ? TRUE : ed_store_set_error (self, rc, error);
}

/* The SELECT of a page of the guest list, up to its LIMIT: whole rows,
 * or with @keys_only their ids alone (the indexes cover them).
 */
static GString *
list_sql (const EdGuestQuery *query,
          const SearchTerms  *terms,
          gboolean            keys_only)
{
  GString *sql;
  const char *key;
  const char *direction;

  switch (query->sort)
    {
    case ED_GUEST_SORT_NAME:
      key = "last_name, first_name, id";
      break;

    case ED_GUEST_SORT_EMAIL:
      key = "email_key, id";
      break;

    case ED_GUEST_SORT_CREATED:
    default:
      key = "id";
      break;
    }
  direction = query->descending ? " DESC" : "";

  if (search_drives_query (query, terms))
    {
      /* Two arms, each in id order, merged: the index's matches and the
       * guests it does not hold yet. The first arm names the id by the
       * index's rowid so that the index hands out its matches in order
       * instead of having them sorted.
       */
      sql = g_string_new ("SELECT guests_search.rowid");
      if (!keys_only)
        g_string_append (sql, ", " GUEST_COLUMNS_AFTER_ID);
      g_string_append (sql, " FROM guests_search CROSS JOIN guests"
                            " ON guests.id = guests_search.rowid"
                            " WHERE guests_search MATCH :match AND guests.event_id = :event");
      append_filters (sql, query, terms, TRUE);
      if (query->after > 0)
        g_string_append_printf (sql, " AND guests_search.rowid %s :after",
                                query->descending ? "<" : ">");
      g_string_append_printf (sql, " UNION ALL SELECT %s FROM guests"
                                   " WHERE " NOT_INDEXED " AND guests.event_id = :event",
                              keys_only ? "guests.id" : GUEST_COLUMNS_OF_GUESTS);
      append_long_word_conditions (sql, terms);
      append_plain_filters (sql, query, terms);
      if (query->after > 0)
        g_string_append_printf (sql, " AND guests.id %s :after", query->descending ? "<" : ">");
      g_string_append_printf (sql, " ORDER BY 1%s", direction);
    }
  else
    {
      sql = g_string_new ("SELECT ");
      g_string_append (sql, keys_only ? "id" : GUEST_COLUMNS);
      g_string_append (sql, " FROM guests WHERE event_id = :event");
      append_filters (sql, query, terms, FALSE);
      if (query->after > 0)
        g_string_append_printf (sql, " AND (%s) %s (SELECT %s FROM guests WHERE id = :after)",
                                key, query->descending ? "<" : ">", key);

      g_string_append (sql, " ORDER BY ");
      switch (query->sort)
        {
        case ED_GUEST_SORT_NAME:
          g_string_append_printf (sql, "last_name%s, first_name%s, id%s", direction, direction, direction);
          break;

        case ED_GUEST_SORT_EMAIL:
          g_string_append_printf (sql, "email_key%s, id%s", direction, direction);
          break;

        case ED_GUEST_SORT_CREATED:
        default:
          g_string_append_printf (sql, "id%s", direction);
          break;
        }
    }

  return sql;
}

/**
 * ed_store_list_guests:
 * @self: a store
 * @event_id: the event
 * @query: filters, order and the page to return
 * @total: (out) (optional): the number of guests matching the filters
 * @has_more: (out): whether more guests follow this page
 * @error: return location for an error
 *
 * Pages by key: the page starts after the guest @query->after in the
 * chosen order, so that any page costs the same however deep it is.
 *
 * Returns: (transfer full) (element-type EdGuest): the page
 */
GPtrArray *
ed_store_list_guests (EdStore             *self,
                      gint64               event_id,
                      const EdGuestQuery  *query,
                      gint64              *total,
                      gboolean            *has_more,
                      GError             **error)
{
  g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_guest_free);
  g_auto(SearchTerms) terms = { 0 };
  g_autoptr(GString) sql = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (has_more != NULL, NULL);

  search_terms_init (&terms, query->query);

  if (total != NULL && !count_guests (self, event_id, query, &terms, total, error))
    return NULL;

  sql = list_sql (query, &terms, FALSE);
  g_string_append (sql, " LIMIT :limit");

  rc = sqlite3_prepare_v2 (self->db, sql->str, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  bind_filters (stmt, event_id, query, &terms);
  if (query->after > 0)
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":after"), query->after);
  /* One row more than asked tells whether another page follows. */
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":limit"), (gint64) query->limit + 1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (guests, ed_store_guest_from_row (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  *has_more = guests->len > query->limit;
  if (*has_more)
    g_ptr_array_set_size (guests, query->limit);

  return g_steal_pointer (&guests);
}

/**
 * ed_store_list_guest_keys:
 * @self: a store
 * @event_id: the event
 * @query: filters, order and where to start (@query->limit is not used)
 * @first: which row after @query->after gives the first key (1 for the
 *   very next one)
 * @every: how many rows on the next key is
 * @n_keys: how many keys at the most
 * @keys: (element-type gint64): where the ids go
 * @error: return location for an error
 *
 * The ids of every @every-th guest of the list from the @first-th on,
 * in the list's order: where its pages start or end, for a client that
 * jumps far into the list and then asks for a page by key. Only ids are
 * read, from the index that orders the list; it stops at the end of the
 * list, so fewer keys may come.
 */
gboolean
ed_store_list_guest_keys (EdStore             *self,
                          gint64               event_id,
                          const EdGuestQuery  *query,
                          guint                first,
                          guint                every,
                          guint                n_keys,
                          GArray              *keys,
                          GError             **error)
{
  g_auto(SearchTerms) terms = { 0 };
  g_autoptr(GString) sql = NULL;
  sqlite3_stmt *stmt;
  gint64 row = 0;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), FALSE);
  g_return_val_if_fail (query != NULL, FALSE);
  g_return_val_if_fail (first > 0 && every > 0 && n_keys > 0, FALSE);
  g_return_val_if_fail (keys != NULL, FALSE);

  search_terms_init (&terms, query->query);
  sql = list_sql (query, &terms, TRUE);
  g_string_append (sql, " LIMIT :limit");

  rc = sqlite3_prepare_v2 (self->db, sql->str, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return ed_store_set_error (self, rc, error);

  bind_filters (stmt, event_id, query, &terms);
  if (query->after > 0)
    sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":after"), query->after);
  sqlite3_bind_int64 (stmt, sqlite3_bind_parameter_index (stmt, ":limit"),
                      (gint64) first + (gint64) every * (n_keys - 1));

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      row++;
      if (row >= first && (row - first) % every == 0)
        {
          gint64 id = sqlite3_column_int64 (stmt, 0);

          g_array_append_val (keys, id);
        }
    }
  sqlite3_finalize (stmt);

  return rc == SQLITE_DONE ? TRUE : ed_store_set_error (self, rc, error);
}

static EdRsvpChange *
rsvp_change_from_row (sqlite3_stmt *stmt)
{
  EdRsvpChange *change = g_new0 (EdRsvpChange, 1);

  change->id = sqlite3_column_int64 (stmt, 0);
  change->at = sqlite3_column_int64 (stmt, 1);
  change->has_old_status =
    ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 2), &change->old_status);
  ed_rsvp_status_from_string ((const char *) sqlite3_column_text (stmt, 3), &change->new_status);
  change->party_size = sqlite3_column_int (stmt, 4);
  change->source = ed_store_column_strdup (stmt, 5);
  change->client_address = ed_store_column_strdup (stmt, 6);

  return change;
}

GPtrArray *
ed_store_list_rsvp_history (EdStore  *self,
                            gint64    guest_id,
                            GError  **error)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) ed_rsvp_change_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);

  if (!(stmt = ed_store_prepare (self,
                        "SELECT id, at, old_status, new_status, party_size, source, client_address "
                        "FROM rsvp_history WHERE guest_id = ? ORDER BY id", error)))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, guest_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (changes, rsvp_change_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      ed_store_set_error (self, rc, error);
      return NULL;
    }

  return g_steal_pointer (&changes);
}

/**
 * ed_store_list_last_delivery_states:
 * @self: a store
 * @guests: (element-type EdGuest): a page of guests
 * @error: return location for an error
 *
 * The state of each guest's latest message, one index lookup per guest,
 * so that a page of the guest list shows how its invitations fared.
 *
 * Returns: (transfer full) (element-type utf8): per guest of @guests its
 *   latest message's state, or %NULL when it has none
 */
GPtrArray *
ed_store_list_last_delivery_states (EdStore    *self,
                                    GPtrArray  *guests,
                                    GError    **error)
{
  g_autoptr(GPtrArray) states = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (ED_IS_STORE (self), NULL);
  g_return_val_if_fail (guests != NULL, NULL);

  if (!(stmt = ed_store_prepare (self,
                        "SELECT state FROM messages WHERE guest_id = ? ORDER BY id DESC LIMIT 1", error)))
    return NULL;

  states = g_ptr_array_new_full (guests->len, g_free);
  for (guint i = 0; i < guests->len; i++)
    {
      const EdGuest *guest = g_ptr_array_index (guests, i);
      int rc;

      sqlite3_bind_int64 (stmt, 1, guest->id);
      rc = sqlite3_step (stmt);
      g_ptr_array_add (states, rc == SQLITE_ROW ? ed_store_column_strdup (stmt, 0) : NULL);
      sqlite3_reset (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          ed_store_set_error (self, rc, error);
          return NULL;
        }
    }

  return g_steal_pointer (&states);
}

/**
 * ed_guest_sort_parse:
 * @text: (nullable): the `sort` parameter of a guest list: created, name or
 *   email, optionally after "-" for descending order
 * @sort: (out): the order
 * @descending: (out): whether it is reversed
 *
 * Returns: %FALSE if @text names no order
 */
gboolean
ed_guest_sort_parse (const char  *text,
                     EdGuestSort *sort,
                     gboolean    *descending)
{
  static const struct {
    const char  *name;
    EdGuestSort  sort;
  } sorts[] = {
    { "created", ED_GUEST_SORT_CREATED },
    { "name", ED_GUEST_SORT_NAME },
    { "email", ED_GUEST_SORT_EMAIL },
  };

  *sort = ED_GUEST_SORT_CREATED;
  *descending = FALSE;
  if (text == NULL || *text == '\0')
    return TRUE;

  if (*text == '-')
    {
      *descending = TRUE;
      text++;
    }

  for (guint i = 0; i < G_N_ELEMENTS (sorts); i++)
    if (strcmp (text, sorts[i].name) == 0)
      {
        *sort = sorts[i].sort;
        return TRUE;
      }

  return FALSE;
}
