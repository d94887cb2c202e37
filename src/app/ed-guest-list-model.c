/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-guests"

#include "config.h"

#include <glib/gi18n.h>

#include "ed-guest-list-model.h"
#include "ed-guest-object.h"

/* How positions become API pages.
 *
 * The API pages by key (`after=<id>`), never by offset, so the row at a
 * position can only be asked for relative to a row whose id is known. The
 * model cuts the list into pages of page_size positions and remembers, for
 * every page it has seen, the id of its first and last row (16 bytes a
 * page, so 160 KB for 500,000 guests at 50 a page), even after the page's
 * rows are dropped. A page can then be fetched with one request when
 *   - it is the first page (no `after`),
 *   - it is the last page: the first page of the reverse order (`sort=-…`),
 *   - the page before it is known (`after` = that page's last id), or
 *   - the page after it is known (reverse order, `after` = its first id).
 * Scrolling therefore costs one request per page in either direction, and
 * the end of the list is as near as its start. A jump into the middle,
 * far from any known page, first asks the daemon for the keys in between
 * (`…/guests/keys`: the id ending, or starting, every page from the nearer
 * known page or end on, up to 50,000 rows a request), then for the page.
 *
 * Rows not there yet are placeholder objects ("loaded" FALSE), kept per
 * page so that the view gets the same object when it asks again. When a
 * page arrives its placeholders are replaced by the guests and the model
 * emits exactly one items-changed (position, n, n) for the page: the view
 * rebinds only those rows, and objects never change under a bound row.
 *
 * Memory stays bounded: at most max_pages pages of rows are kept, the
 * least recently asked for are dropped first (a dropped page is fetched
 * again, with one request, when the view comes back to it).
 *
 * Pages are small (50 rows, two or three screens): the first one is what
 * opening the list waits for, and the rows it brings are what the first
 * frame lays out and draws. GTK 4.8's list view keeps about 200 rows of
 * widgets whatever its height; those past the first page show
 * placeholders until their pages come, after the first frame.
 *
 * A reply whose total differs from the model's, or a page shorter than
 * expected, means the list changed on the server: the model reloads.
 */

#define DEFAULT_PAGE_SIZE 50
#define DEFAULT_MAX_PAGES 100
#define KEYS_MAX_ROWS 50000
#define MAX_PARALLEL_FETCHES 3
#define MAX_WANTED 8

typedef struct
{
  GPtrArray *items;      /* EdGuestObject */
  guint64    last_used;
  guint      loaded : 1;
  guint      in_flight : 1;
} Page;

struct _EdGuestListModel
{
  GObject       parent_instance;

  /* owned */
  EdClient     *client;
  GCancellable *cancellable;   /* of the current generation */
  GHashTable   *pages;         /* page index → Page */
  GArray       *first_ids;     /* gint64 per page, 0 while unknown */
  GArray       *last_ids;
  GQueue        wanted;        /* page indexes + 1, most recent first */
  char         *query;
  char         *status;
  char         *sort;

  gint64        event_id;
  guint         total;
  guint         page_size;
  guint         max_pages;
  guint         generation;
  guint64       clock;
  guint         n_fetches;
  guint         pump_id;

  guint         walking : 1;
  guint         resetting : 1;
  guint         loading : 1;
};

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_EVENT_ID,
  PROP_PAGE_SIZE,
  PROP_QUERY,
  PROP_STATUS,
  PROP_SORT,
  PROP_LOADING,
  PROP_N_ITEMS,
  N_PROPS
};

enum {
  FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void ed_guest_list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (EdGuestListModel, ed_guest_list_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, ed_guest_list_model_iface_init))

/* One request: for rows (a page, or the first page of a reload), which
 * come back in list order from @start_position on, or, for @reverse, in
 * reverse order from @start_position down; or, for @walk, for the keys of
 * @limit pages: the first key at @start_position, then one every page
 * (downwards for @reverse), the first one @first rows past the cursor.
 */
typedef struct
{
  EdGuestListModel *self;
  guint             generation;
  guint             page;
  guint             start_position;
  guint             limit;
  guint             first;
  guint             reverse : 1;
  guint             walk : 1;
  guint             reset : 1;
} Request;

static void
request_free (Request *request)
{
  g_clear_object (&request->self);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_free)

static void pump (EdGuestListModel *self);
static void fetch (EdGuestListModel *self,
                   Request          *request,
                   gint64            after);

static void
page_free (Page *page)
{
  g_clear_pointer (&page->items, g_ptr_array_unref);
  g_free (page);
}

static guint
n_pages (EdGuestListModel *self)
{
  return (self->total + self->page_size - 1) / self->page_size;
}

static guint
page_length (EdGuestListModel *self,
             guint             page)
{
  return MIN (self->page_size, self->total - page * self->page_size);
}

static gint64
first_id (EdGuestListModel *self,
          guint             page)
{
  return page < self->first_ids->len ? g_array_index (self->first_ids, gint64, page) : 0;
}

static gint64
last_id (EdGuestListModel *self,
         guint             page)
{
  return page < self->last_ids->len ? g_array_index (self->last_ids, gint64, page) : 0;
}

static void
update_loading (EdGuestListModel *self)
{
  gboolean loading = self->resetting || self->n_fetches > 0 || self->walking ||
                     self->wanted.length > 0;

  if (loading == self->loading)
    return;
  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

/* The reversed order for the API's `sort`: "name" ↔ "-name". */
static char *
reverse_sort (const char *sort)
{
  if (sort == NULL || *sort == '\0')
    return g_strdup ("-created");
  if (*sort == '-')
    return g_strdup (sort + 1);
  return g_strconcat ("-", sort, NULL);
}

static void
evict_pages (EdGuestListModel *self)
{
  while (g_hash_table_size (self->pages) > self->max_pages)
    {
      GHashTableIter iter;
      gpointer key, value;
      gpointer oldest_key = NULL;
      guint64 oldest = G_MAXUINT64;

      g_hash_table_iter_init (&iter, self->pages);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          Page *page = value;

          if (!page->in_flight && page->last_used < oldest)
            {
              oldest = page->last_used;
              oldest_key = key;
            }
        }
      if (oldest_key == NULL)
        break;
      g_queue_remove (&self->wanted, oldest_key);
      g_hash_table_remove (self->pages, oldest_key);
    }
}

static Page *
ensure_page (EdGuestListModel *self,
             guint             index)
{
  Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (index + 1));

  if (page == NULL)
    {
      guint length = page_length (self, index);

      page = g_new0 (Page, 1);
      page->items = g_ptr_array_new_full (length, g_object_unref);
      for (guint i = 0; i < length; i++)
        g_ptr_array_add (page->items, ed_guest_object_new_placeholder ());
      page->last_used = ++self->clock;
      g_hash_table_insert (self->pages, GUINT_TO_POINTER (index + 1), page);
      evict_pages (self);
    }

  return page;
}

static void
record_boundary (EdGuestListModel *self,
                 guint             position,
                 gint64            id)
{
  guint page = position / self->page_size;

  if (page >= self->first_ids->len)
    return;
  if (position % self->page_size == 0)
    g_array_index (self->first_ids, gint64, page) = id;
  if (position % self->page_size == self->page_size - 1 || position == self->total - 1)
    g_array_index (self->last_ids, gint64, page) = id;
}

static gboolean
can_fetch_directly (EdGuestListModel *self,
                    guint             page)
{
  return page == 0 || page == n_pages (self) - 1 ||
         last_id (self, page - 1) != 0 || first_id (self, page + 1) != 0;
}

static void
fetch_page (EdGuestListModel *self,
            guint             index)
{
  Page *page = ensure_page (self, index);
  Request *request = g_new0 (Request, 1);
  guint n = n_pages (self);
  gint64 after = 0;

  request->page = index;
  request->limit = page_length (self, index);
  if (index == 0 || last_id (self, index - 1) != 0)
    {
      request->start_position = index * self->page_size;
      after = index == 0 ? 0 : last_id (self, index - 1);
    }
  else
    {
      /* From the end backwards: the last page needs no key. */
      request->reverse = TRUE;
      request->start_position = index * self->page_size + request->limit - 1;
      after = index == n - 1 ? 0 : first_id (self, index + 1);
    }

  page->in_flight = TRUE;
  self->n_fetches++;
  fetch (self, request, after);
}

/* Learns the keys of the pages between @target and the nearer page (or
 * end) whose key is known, so that @target can be fetched by key.
 */
static void
walk_towards (EdGuestListModel *self,
              guint             target)
{
  Request *request = g_new0 (Request, 1);
  guint n = n_pages (self);
  gint below = (gint) target - 1;
  guint above = target + 1;
  guint forward_pages, backward_pages;
  gint64 after;

  while (below >= 0 && last_id (self, (guint) below) == 0)
    below--;
  while (above < n && first_id (self, above) == 0)
    above++;

  /* The pages whose last (forward) or first (backward) key is wanted. */
  forward_pages = target - (guint) (below + 1);
  backward_pages = above - 1 - target;

  request->walk = TRUE;
  request->page = target;
  if (forward_pages <= backward_pages)
    {
      /* The last row of each page from the one after @below on. */
      request->first = self->page_size;
      request->start_position = (guint) (below + 1) * self->page_size + self->page_size - 1;
      request->limit = forward_pages;
      after = below >= 0 ? last_id (self, (guint) below) : 0;
    }
  else
    {
      /* The first row of each page from the one before @above down; from
       * the end, the first of them is the last page's length away. */
      request->reverse = TRUE;
      request->first = above < n ? self->page_size : page_length (self, n - 1);
      request->start_position = (above - 1) * self->page_size;
      request->limit = backward_pages;
      after = above < n ? first_id (self, above) : 0;
    }
  request->limit = MIN (request->limit, (KEYS_MAX_ROWS - request->first) / self->page_size + 1);

  g_assert (request->limit > 0);
  self->walking = TRUE;
  fetch (self, request, after);
}

static void
pump (EdGuestListModel *self)
{
  GList *l, *next;

  if (self->resetting || self->total == 0)
    return;

  for (l = self->wanted.head; l != NULL && self->n_fetches < MAX_PARALLEL_FETCHES; l = next)
    {
      guint index = GPOINTER_TO_UINT (l->data) - 1;

      next = l->next;
      if (can_fetch_directly (self, index))
        {
          g_queue_delete_link (&self->wanted, l);
          fetch_page (self, index);
        }
    }

  /* One walk at a time, towards the page asked for last. */
  for (l = self->wanted.head; l != NULL && !self->walking; l = l->next)
    {
      guint index = GPOINTER_TO_UINT (l->data) - 1;

      if (!can_fetch_directly (self, index))
        walk_towards (self, index);
    }

  update_loading (self);
}

static gboolean
pump_idle_cb (gpointer user_data)
{
  EdGuestListModel *self = user_data;

  self->pump_id = 0;
  pump (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_pump (EdGuestListModel *self)
{
  if (self->pump_id == 0)
    self->pump_id = g_idle_add (pump_idle_cb, self);
}

static void
want_page (EdGuestListModel *self,
           guint             index)
{
  gpointer key = GUINT_TO_POINTER (index + 1);

  g_queue_remove (&self->wanted, key);
  g_queue_push_head (&self->wanted, key);
  while (self->wanted.length > MAX_WANTED)
    g_queue_pop_tail (&self->wanted);
  schedule_pump (self);
  update_loading (self);
}

static void
start_reset (EdGuestListModel *self)
{
  GHashTableIter iter;
  gpointer value;
  Request *request;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;
  self->n_fetches = 0;
  self->walking = FALSE;
  g_queue_clear (&self->wanted);
  g_clear_handle_id (&self->pump_id, g_source_remove);
  self->resetting = TRUE;
  g_hash_table_iter_init (&iter, self->pages);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((Page *) value)->in_flight = FALSE;

  request = g_new0 (Request, 1);
  request->reset = TRUE;
  request->limit = self->page_size;
  fetch (self, request, 0);
  update_loading (self);
}

/* Installs the first page of a new list and swaps it in with one signal. */
static void
finish_reset (EdGuestListModel *self,
              GPtrArray        *rows,
              guint             total)
{
  guint old_total = self->total;
  Page *page;

  g_hash_table_remove_all (self->pages);
  self->total = total;
  g_array_set_size (self->first_ids, 0);
  g_array_set_size (self->last_ids, 0);
  g_array_set_size (self->first_ids, n_pages (self));
  g_array_set_size (self->last_ids, n_pages (self));
  self->resetting = FALSE;

  if (total > 0)
    {
      page = ensure_page (self, 0);
      g_ptr_array_set_size (page->items, 0);
      for (guint i = 0; i < rows->len; i++)
        {
          EdGuestObject *guest = g_ptr_array_index (rows, i);

          record_boundary (self, i, ed_guest_object_get_id (guest));
          g_ptr_array_add (page->items, g_object_ref (guest));
        }
      page->loaded = TRUE;
    }

  if (old_total != 0 || total != 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old_total, total);
  if (old_total != total)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);

  /* The end of the list is where people jump first: have it ready. */
  if (n_pages (self) > 1)
    want_page (self, n_pages (self) - 1);
}

static void
install_page (EdGuestListModel *self,
              guint             index,
              GPtrArray        *rows,
              gboolean          reverse)
{
  Page *page = ensure_page (self, index);
  guint length = rows->len;

  g_ptr_array_set_size (page->items, 0);
  for (guint i = 0; i < length; i++)
    g_ptr_array_add (page->items, g_object_ref (g_ptr_array_index (rows, reverse ? length - 1 - i : i)));
  page->loaded = TRUE;
  page->in_flight = FALSE;
  page->last_used = ++self->clock;

  g_list_model_items_changed (G_LIST_MODEL (self), index * self->page_size, length, length);
}

/* A walk's answer: where pages start or end. */
static void
learn_keys (EdGuestListModel *self,
            Request          *request,
            JsonNode         *node,
            GError           *error)
{
  g_autoptr(GError) protocol_error = NULL;
  JsonArray *keys = NULL;

  if (error == NULL &&
      (!JSON_NODE_HOLDS_OBJECT (node) ||
       !json_object_has_member (json_node_get_object (node), "keys") ||
       !(keys = json_object_get_array_member (json_node_get_object (node), "keys"))))
    {
      protocol_error = g_error_new_literal (ED_CLIENT_ERROR, ED_CLIENT_ERROR_PROTOCOL,
                                            _("The server’s guest list was not understood"));
      error = protocol_error;
    }
  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      update_loading (self);
      /* The key walked from went away (the guest was deleted): start again. */
      if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_INVALID))
        ed_guest_list_model_reload (self);
      else
        g_signal_emit (self, signals[FAILED], 0, error);
      return;
    }

  /* Fewer keys than pages: the list is shorter than it was counted. */
  if (json_array_get_length (keys) != request->limit)
    {
      ed_guest_list_model_reload (self);
      return;
    }

  for (guint i = 0; i < request->limit; i++)
    {
      guint step = i * self->page_size;

      record_boundary (self,
                       request->reverse ? request->start_position - step : request->start_position + step,
                       json_array_get_int_element (keys, i));
    }
  pump (self);
}

static void
on_rows_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  EdGuestListModel *self = request->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonArray *items;
  gint64 total;

  node = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (request->generation != self->generation)
    return;

  if (request->walk)
    {
      self->walking = FALSE;
      learn_keys (self, request, node, error);
      return;
    }
  if (!request->reset)
    {
      Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (request->page + 1));

      self->n_fetches--;
      if (page != NULL)
        page->in_flight = FALSE;
    }

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !json_object_has_member ((object = json_node_get_object (node)), "items") ||
      !(items = json_object_get_array_member (object, "items")))
    {
      if (error == NULL)
        error = g_error_new_literal (ED_CLIENT_ERROR, ED_CLIENT_ERROR_PROTOCOL,
                                     _("The server’s guest list was not understood"));
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      /* Without its first page the new list is empty, not the old one. */
      if (request->reset)
        {
          g_autoptr(GPtrArray) none = g_ptr_array_new ();

          finish_reset (self, none, 0);
        }
      update_loading (self);
      /* A key that went away (the guest was deleted): start again. */
      if (g_error_matches (error, ED_CLIENT_ERROR, ED_CLIENT_ERROR_INVALID) && !request->reset)
        {
          ed_guest_list_model_reload (self);
          return;
        }
      g_signal_emit (self, signals[FAILED], 0, error);
      return;
    }

  total = json_object_get_int_member_with_default (object, "total", 0);

  rows = g_ptr_array_new_full (json_array_get_length (items), g_object_unref);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *item = json_array_get_element (items, i);

      if (JSON_NODE_HOLDS_OBJECT (item))
        g_ptr_array_add (rows, ed_guest_object_new_from_json (json_node_get_object (item)));
    }

  if (request->reset)
    {
      finish_reset (self, rows, (guint) CLAMP (total, 0, G_MAXUINT));
      update_loading (self);
      return;
    }

  /* The list changed on the server since the model counted it. */
  if (total != self->total || rows->len != request->limit)
    {
      g_debug ("Guest list changed (%" G_GINT64_FORMAT " guests, was %u): reloading", total, self->total);
      ed_guest_list_model_reload (self);
      return;
    }

  for (guint i = 0; i < rows->len; i++)
    record_boundary (self,
                     request->reverse ? request->start_position - i : request->start_position + i,
                     ed_guest_object_get_id (g_ptr_array_index (rows, i)));

  install_page (self, request->page, rows, request->reverse);
  pump (self);
}

static void
fetch (EdGuestListModel *self,
       Request          *request,
       gint64            after)
{
  g_autofree char *path = NULL;
  g_autofree char *events_path = NULL;
  g_autofree char *after_text = NULL;
  g_autofree char *limit_text = NULL;
  g_autofree char *sort = NULL;

  request->self = g_object_ref (self);
  request->generation = self->generation;
  sort = request->reverse ? reverse_sort (self->sort) : g_strdup (self->sort);

  after_text = after > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, after) : NULL;
  limit_text = g_strdup_printf ("%u", request->limit);
  if (request->walk)
    {
      g_autofree char *first_text = g_strdup_printf ("%u", request->first);
      g_autofree char *every_text = g_strdup_printf ("%u", self->page_size);

      events_path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests/keys", self->event_id);
      path = ed_client_build_path (events_path,
                                   "after", after_text,
                                   "first", first_text,
                                   "every", every_text,
                                   "count", limit_text,
                                   "q", self->query,
                                   "status", self->status,
                                   "sort", sort,
                                   NULL);
    }
  else
    {
      events_path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests", self->event_id);
      path = ed_client_build_path (events_path,
                                   "after", after_text,
                                   "limit", limit_text,
                                   "q", self->query,
                                   "status", self->status,
                                   "sort", sort,
                                   NULL);
    }

  ed_client_call_async (self->client, "GET", path, NULL, self->cancellable, on_rows_cb, request);
}

static guint
ed_guest_list_model_get_n_items (GListModel *model)
{
  return ED_GUEST_LIST_MODEL (model)->total;
}

static GType
ed_guest_list_model_get_item_type (GListModel *model)
{
  return ED_TYPE_GUEST_OBJECT;
}

static gpointer
ed_guest_list_model_get_item (GListModel *model,
                              guint       position)
{
  EdGuestListModel *self = ED_GUEST_LIST_MODEL (model);
  guint index;
  Page *page;

  if (position >= self->total)
    return NULL;

  index = position / self->page_size;
  page = ensure_page (self, index);
  page->last_used = ++self->clock;
  /* While a reload is on its way the old keys mean nothing: wait for it. */
  if (!page->loaded && !page->in_flight && !self->resetting)
    want_page (self, index);

  return g_object_ref (g_ptr_array_index (page->items, position - index * self->page_size));
}

static void
ed_guest_list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = ed_guest_list_model_get_item_type;
  iface->get_n_items = ed_guest_list_model_get_n_items;
  iface->get_item = ed_guest_list_model_get_item;
}

static void
ed_guest_list_model_constructed (GObject *object)
{
  EdGuestListModel *self = ED_GUEST_LIST_MODEL (object);

  G_OBJECT_CLASS (ed_guest_list_model_parent_class)->constructed (object);

  g_assert (self->client != NULL);
  start_reset (self);
}

static void
ed_guest_list_model_dispose (GObject *object)
{
  EdGuestListModel *self = ED_GUEST_LIST_MODEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->pump_id, g_source_remove);

  G_OBJECT_CLASS (ed_guest_list_model_parent_class)->dispose (object);
}

static void
ed_guest_list_model_finalize (GObject *object)
{
  EdGuestListModel *self = ED_GUEST_LIST_MODEL (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pages, g_hash_table_unref);
  g_clear_pointer (&self->first_ids, g_array_unref);
  g_clear_pointer (&self->last_ids, g_array_unref);
  g_queue_clear (&self->wanted);
  g_clear_pointer (&self->query, g_free);
  g_clear_pointer (&self->status, g_free);
  g_clear_pointer (&self->sort, g_free);

  G_OBJECT_CLASS (ed_guest_list_model_parent_class)->finalize (object);
}

static void
ed_guest_list_model_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  EdGuestListModel *self = ED_GUEST_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_EVENT_ID:
      g_value_set_int64 (value, self->event_id);
      break;
    case PROP_PAGE_SIZE:
      g_value_set_uint (value, self->page_size);
      break;
    case PROP_QUERY:
      g_value_set_string (value, self->query);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_SORT:
      g_value_set_string (value, self->sort);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->total);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_guest_list_model_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  EdGuestListModel *self = ED_GUEST_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    case PROP_EVENT_ID:
      self->event_id = g_value_get_int64 (value);
      break;
    case PROP_PAGE_SIZE:
      self->page_size = g_value_get_uint (value);
      break;
    case PROP_QUERY:
      ed_guest_list_model_set_query (self, g_value_get_string (value));
      break;
    case PROP_STATUS:
      ed_guest_list_model_set_status (self, g_value_get_string (value));
      break;
    case PROP_SORT:
      ed_guest_list_model_set_sort (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ed_guest_list_model_class_init (EdGuestListModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = ed_guest_list_model_constructed;
  object_class->dispose = ed_guest_list_model_dispose;
  object_class->finalize = ed_guest_list_model_finalize;
  object_class->get_property = ed_guest_list_model_get_property;
  object_class->set_property = ed_guest_list_model_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, ED_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EVENT_ID] =
    g_param_spec_int64 ("event-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PAGE_SIZE] =
    g_param_spec_uint ("page-size", NULL, NULL, 1, 500, DEFAULT_PAGE_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_QUERY] =
    g_param_spec_string ("query", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_string ("status", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SORT] =
    g_param_spec_string ("sort", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * EdGuestListModel::failed:
   * @error: what went wrong
   *
   * A page could not be fetched; the rows stay placeholders until the
   * view asks for them again.
   */
  signals[FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
ed_guest_list_model_init (EdGuestListModel *self)
{
  self->page_size = DEFAULT_PAGE_SIZE;
  self->max_pages = DEFAULT_MAX_PAGES;
  self->pages = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) page_free);
  self->first_ids = g_array_new (FALSE, TRUE, sizeof (gint64));
  self->last_ids = g_array_new (FALSE, TRUE, sizeof (gint64));
  g_queue_init (&self->wanted);
}

/**
 * ed_guest_list_model_new:
 * @client: the API client
 * @event_id: the event whose guests to list
 * @page_size: rows per request (1 to 500), 0 for the default
 *
 * Returns: (transfer full): a model that starts fetching at once
 */
EdGuestListModel *
ed_guest_list_model_new (EdClient *client,
                         gint64    event_id,
                         guint     page_size)
{
  g_return_val_if_fail (ED_IS_CLIENT (client), NULL);
  g_return_val_if_fail (page_size <= 500, NULL);

  return g_object_new (ED_TYPE_GUEST_LIST_MODEL,
                       "client", client,
                       "event-id", event_id,
                       "page-size", page_size ? page_size : DEFAULT_PAGE_SIZE,
                       NULL);
}

EdClient *
ed_guest_list_model_get_client (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), NULL);
  return self->client;
}

gint64
ed_guest_list_model_get_event_id (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), 0);
  return self->event_id;
}

guint
ed_guest_list_model_get_page_size (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), 0);
  return self->page_size;
}

/* TRUE while a page, a walk or a reload is on its way. */
gboolean
ed_guest_list_model_get_loading (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), FALSE);
  return self->loading;
}

/* How many pages of rows the model holds (loaded or waiting). */
guint
ed_guest_list_model_get_n_loaded_pages (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), 0);
  return g_hash_table_size (self->pages);
}

static gboolean
set_filter_string (EdGuestListModel *self,
                   char            **field,
                   const char       *value,
                   GParamSpec       *pspec)
{
  if (value != NULL && *value == '\0')
    value = NULL;
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;

  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
  /* Before construction the first fetch comes from constructed(). */
  if (self->client != NULL && self->cancellable != NULL)
    start_reset (self);
  return TRUE;
}

const char *
ed_guest_list_model_get_query (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), NULL);
  return self->query;
}

/* Server-side search (`q`); NULL or "" for everyone. */
void
ed_guest_list_model_set_query (EdGuestListModel *self,
                               const char       *query)
{
  g_return_if_fail (ED_IS_GUEST_LIST_MODEL (self));
  set_filter_string (self, &self->query, query, properties[PROP_QUERY]);
}

const char *
ed_guest_list_model_get_status (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), NULL);
  return self->status;
}

/* Only guests with this RSVP status ("accepted"…); NULL or "" for all. */
void
ed_guest_list_model_set_status (EdGuestListModel *self,
                                const char       *status)
{
  g_return_if_fail (ED_IS_GUEST_LIST_MODEL (self));
  set_filter_string (self, &self->status, status, properties[PROP_STATUS]);
}

const char *
ed_guest_list_model_get_sort (EdGuestListModel *self)
{
  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), NULL);
  return self->sort;
}

/* The API's `sort`: "name", "email", "created", or one of them after "-"
 * for the reverse order; NULL or "" for the order they were added in. */
void
ed_guest_list_model_set_sort (EdGuestListModel *self,
                              const char       *sort)
{
  g_return_if_fail (ED_IS_GUEST_LIST_MODEL (self));
  set_filter_string (self, &self->sort, sort, properties[PROP_SORT]);
}

/* The most pages of rows kept at a time (at least 4). */
void
ed_guest_list_model_set_max_pages (EdGuestListModel *self,
                                   guint             max_pages)
{
  g_return_if_fail (ED_IS_GUEST_LIST_MODEL (self));
  self->max_pages = MAX (max_pages, 4);
  evict_pages (self);
}

/* Fetches the list again, e.g. after guests were added or deleted. */
void
ed_guest_list_model_reload (EdGuestListModel *self)
{
  g_return_if_fail (ED_IS_GUEST_LIST_MODEL (self));
  start_reset (self);
}

gboolean
ed_guest_list_model_is_loaded (EdGuestListModel *self,
                               guint             position)
{
  Page *page;

  g_return_val_if_fail (ED_IS_GUEST_LIST_MODEL (self), FALSE);

  if (position >= self->total)
    return FALSE;
  page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (position / self->page_size + 1));
  return page != NULL && page->loaded;
}
