/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-test"

#include "config.h"

#include <glib/gstdio.h>

#include "ed-guest-list-model.h"
#include "ed-guest-object.h"
#include "ed-test-app.h"
#include "ed-test-guest-util.h"

/* EdGuestListModel against the real daemon: the total from the first
 * page, rows far down fetched on demand with exactly one items-changed
 * per page, the end of the list without walking to it, search, status
 * filter and sort changing the model, and a bounded number of pages.
 */

#define N_GUESTS 1000
#define PAGE_SIZE 50

typedef struct
{
  EdTestGuestServer *server;
  char              *dir;
  gint64             event_id;
  EdGuestListModel  *model;
  GArray            *changes;    /* Change */
} Fixture;

typedef struct
{
  guint position;
  guint removed;
  guint added;
} Change;

static void
on_items_changed_cb (GListModel *model,
                     guint       position,
                     guint       removed,
                     guint       added,
                     Fixture    *fixture)
{
  Change change = { position, removed, added };

  g_array_append_val (fixture->changes, change);
}

static gboolean
model_idle (gpointer data)
{
  return !ed_guest_list_model_get_loading (data);
}

static void
wait_idle (Fixture *fixture)
{
  g_assert_true (ed_test_app_wait_until (model_idle, fixture->model, 60000));
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GFile) csv = NULL;
  g_autoptr(JsonObject) report = NULL;
  g_autoptr(GError) error = NULL;

  fixture->server = ed_test_guest_server_new ();
  fixture->dir = g_dir_make_tmp ("test-guest-model-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->event_id = ed_test_guest_create_event (fixture->server->client, "Model Gala", 5000);

  csv = ed_test_guest_write_csv (fixture->dir, N_GUESTS);
  report = ed_test_guest_import (fixture->server->client, fixture->event_id, csv);
  g_assert_cmpint (json_object_get_int_member (report, "imported"), ==, N_GUESTS);
  g_file_delete (csv, NULL, NULL);

  fixture->changes = g_array_new (FALSE, FALSE, sizeof (Change));
  fixture->model = ed_guest_list_model_new (fixture->server->client, fixture->event_id, PAGE_SIZE);
  g_signal_connect (fixture->model, "items-changed", G_CALLBACK (on_items_changed_cb), fixture);
  wait_idle (fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_assert_finalize_object (fixture->model);
  g_clear_pointer (&fixture->changes, g_array_unref);
  g_rmdir (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->server, ed_test_guest_server_free);
}

static EdGuestObject *
get_guest (Fixture *fixture,
           guint    position)
{
  EdGuestObject *guest = g_list_model_get_item (G_LIST_MODEL (fixture->model), position);

  g_assert_nonnull (guest);
  /* The model keeps its own reference while the page is held. */
  g_object_unref (guest);
  return guest;
}

static void
assert_guest_at (Fixture *fixture,
                 guint    position,
                 guint    number)
{
  g_autofree char *email = g_strdup_printf ("guest%04u@example.com", number);
  g_autoptr(EdGuestObject) guest = g_list_model_get_item (G_LIST_MODEL (fixture->model), position);

  g_assert_true (ed_guest_object_get_loaded (guest));
  g_assert_cmpstr (ed_guest_object_get_email (guest), ==, email);
}

static void
assert_one_change_per_page (Fixture *fixture,
                            guint    first_change)
{
  for (guint i = first_change; i < fixture->changes->len; i++)
    {
      Change *change = &g_array_index (fixture->changes, Change, i);

      g_assert_cmpuint (change->position % PAGE_SIZE, ==, 0);
      g_assert_cmpuint (change->removed, ==, change->added);
      g_assert_cmpuint (change->added, ==, MIN (PAGE_SIZE, N_GUESTS - change->position));
      for (guint j = first_change; j < i; j++)
        g_assert_cmpuint (g_array_index (fixture->changes, Change, j).position, !=, change->position);
    }
}

static void
test_first_page (Fixture       *fixture,
                 gconstpointer  user_data)
{
  Change *first;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (fixture->model)), ==, N_GUESTS);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (fixture->model)) == ED_TYPE_GUEST_OBJECT);

  /* The whole list appears at once, then the end is fetched ahead. */
  g_assert_cmpuint (fixture->changes->len, ==, 2);
  first = &g_array_index (fixture->changes, Change, 0);
  g_assert_cmpuint (first->position, ==, 0);
  g_assert_cmpuint (first->removed, ==, 0);
  g_assert_cmpuint (first->added, ==, N_GUESTS);
  assert_one_change_per_page (fixture, 1);

  assert_guest_at (fixture, 0, 0);
  assert_guest_at (fixture, PAGE_SIZE - 1, PAGE_SIZE - 1);
  assert_guest_at (fixture, N_GUESTS - 1, N_GUESTS - 1);
  g_assert_false (ed_guest_list_model_is_loaded (fixture->model, PAGE_SIZE));
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (fixture->model), N_GUESTS));

  {
    EdGuestObject *guest = get_guest (fixture, 3);

    g_assert_cmpstr (ed_guest_object_get_name (guest), ==, "First 0003 Last0003");
    g_assert_cmpstr (ed_guest_object_get_status (guest), ==, "pending");
    g_assert_cmpuint (ed_guest_object_get_party_size (guest), ==, 1);
    g_assert_cmpstr (ed_guest_object_get_last_delivery (guest), ==, "");
    g_assert_cmpstr (ed_guest_object_get_responded_label (guest), ==, "");
  }
}

static void
test_far_item_on_demand (Fixture       *fixture,
                         gconstpointer  user_data)
{
  guint before = fixture->changes->len;
  EdGuestObject *placeholder;

  /* Far from both ends: a placeholder first, then the page. */
  placeholder = get_guest (fixture, 612);
  g_assert_false (ed_guest_object_get_loaded (placeholder));
  g_assert_true (get_guest (fixture, 612) == placeholder);
  wait_idle (fixture);

  g_assert_cmpuint (fixture->changes->len, ==, before + 1);
  g_assert_cmpuint (g_array_index (fixture->changes, Change, before).position, ==, 600);
  assert_one_change_per_page (fixture, 1);
  assert_guest_at (fixture, 612, 612);
  assert_guest_at (fixture, 600, 600);
  assert_guest_at (fixture, 649, 649);
  /* Only that page came; the pages walked over were not kept. */
  g_assert_false (ed_guest_list_model_is_loaded (fixture->model, 599));
  g_assert_false (ed_guest_list_model_is_loaded (fixture->model, 300));

  /* Its neighbours now take one request each, in both directions. */
  get_guest (fixture, 599);
  get_guest (fixture, 650);
  wait_idle (fixture);
  g_assert_cmpuint (fixture->changes->len, ==, before + 3);
  assert_one_change_per_page (fixture, 1);
  assert_guest_at (fixture, 599, 599);
  assert_guest_at (fixture, 550, 550);
  assert_guest_at (fixture, 699, 699);

  /* Near the end: backwards from the last page. */
  get_guest (fixture, 930);
  wait_idle (fixture);
  assert_guest_at (fixture, 930, 930);
  assert_one_change_per_page (fixture, 1);
}

static void
test_bounded_pages (Fixture       *fixture,
                    gconstpointer  user_data)
{
  ed_guest_list_model_set_max_pages (fixture->model, 4);
  for (guint position = 0; position < N_GUESTS; position += PAGE_SIZE)
    {
      get_guest (fixture, position);
      wait_idle (fixture);
      assert_guest_at (fixture, position, position);
      g_assert_cmpuint (ed_guest_list_model_get_n_loaded_pages (fixture->model), <=, 4);
    }

  /* A dropped page comes back when asked for again. */
  g_assert_false (ed_guest_list_model_is_loaded (fixture->model, 0));
  get_guest (fixture, 0);
  wait_idle (fixture);
  assert_guest_at (fixture, 0, 0);
}

static void
test_search_filter_sort (Fixture       *fixture,
                         gconstpointer  user_data)
{
  GListModel *list = G_LIST_MODEL (fixture->model);
  guint before;
  gint64 ids[3];

  /* Search: one signal swaps the list. */
  before = fixture->changes->len;
  ed_guest_list_model_set_query (fixture->model, "guest0042");
  /* The old rows stay until the new ones are there. */
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_GUESTS);
  wait_idle (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 1);
  g_assert_cmpuint (fixture->changes->len, ==, before + 1);
  g_assert_cmpuint (g_array_index (fixture->changes, Change, before).removed, ==, N_GUESTS);
  g_assert_cmpuint (g_array_index (fixture->changes, Change, before).added, ==, 1);
  assert_guest_at (fixture, 0, 42);

  ed_guest_list_model_set_query (fixture->model, "first last01");
  wait_idle (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 100);
  assert_guest_at (fixture, 0, 100);
  assert_guest_at (fixture, 99, 199);

  ed_guest_list_model_set_query (fixture->model, NULL);
  wait_idle (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_GUESTS);

  /* Status filter. */
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *path = NULL;
      g_autoptr(JsonNode) reply = NULL;
      EdGuestObject *guest;

      /* the first look asks for the row's page */
      get_guest (fixture, 10 + i * 100);
      wait_idle (fixture);
      guest = get_guest (fixture, 10 + i * 100);
      ids[i] = ed_guest_object_get_id (guest);
      path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, ids[i]);
      reply = ed_test_guest_call (fixture->server->client, "PATCH", path,
                                  "{\"status\": \"accepted\", \"party_size\": 2}", NULL);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, "accepted");
    }
  ed_guest_list_model_set_status (fixture->model, "accepted");
  wait_idle (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, G_N_ELEMENTS (ids));
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      EdGuestObject *guest = get_guest (fixture, i);

      g_assert_cmpint (ed_guest_object_get_id (guest), ==, ids[i]);
      g_assert_cmpstr (ed_guest_object_get_status (guest), ==, "accepted");
      g_assert_cmpstr (ed_guest_object_get_status_label (guest), ==, "Accepted");
      g_assert_cmpuint (ed_guest_object_get_party_size (guest), ==, 2);
      g_assert_cmpstr (ed_guest_object_get_responded_label (guest), !=, "");
    }
  ed_guest_list_model_set_status (fixture->model, "declined");
  wait_idle (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 0);
  ed_guest_list_model_set_status (fixture->model, NULL);
  wait_idle (fixture);

  /* Sort by email, both ways; the end of the reversed list is the start. */
  ed_guest_list_model_set_sort (fixture->model, "-email");
  wait_idle (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_GUESTS);
  assert_guest_at (fixture, 0, N_GUESTS - 1);
  assert_guest_at (fixture, N_GUESTS - 1, 0);
  get_guest (fixture, 500);
  wait_idle (fixture);
  assert_guest_at (fixture, 500, N_GUESTS - 1 - 500);

  ed_guest_list_model_set_sort (fixture->model, "name");
  wait_idle (fixture);
  assert_guest_at (fixture, 0, 0);
  get_guest (fixture, 777);
  wait_idle (fixture);
  assert_guest_at (fixture, 777, 777);
}

static gboolean
model_has_items (gpointer data)
{
  return g_list_model_get_n_items (data) > 0 && !ed_guest_list_model_get_loading (data);
}

static void
test_changes_on_server (Fixture       *fixture,
                        gconstpointer  user_data)
{
  /* A guest deleted between two pages: the model notices the new total
   * and reloads rather than showing rows at the wrong places. */
  EdGuestObject *guest = get_guest (fixture, 5);
  g_autofree char *path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, ed_guest_object_get_id (guest));
  g_autoptr(JsonNode) reply = ed_test_guest_call (fixture->server->client, "DELETE", path, NULL, NULL);

  get_guest (fixture, 400);
  wait_idle (fixture);
  g_assert_true (ed_test_app_wait_until (model_has_items, fixture->model, 60000));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (fixture->model)), ==, N_GUESTS - 1);
  assert_guest_at (fixture, 5, 6);
}

static void
test_last_delivery (void)
{
  g_autoptr(EdTestGuestServer) server = ed_test_guest_server_new ();
  g_autoptr(EdGuestListModel) model = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *path = NULL;
  gint64 event_id, first, second;
  EdGuestObject *guest;

  /* An acceptance queues a confirmation, a promotion from the waiting
   * list its message; a guest who never answered has none. */
  event_id = ed_test_guest_create_event (server->client, "Small Dinner", 1);
  first = ed_test_guest_create_guest (server->client, event_id, "ann@example.com", "Ann", "Lee");
  second = ed_test_guest_create_guest (server->client, event_id, "bob@example.com", "Bob", "Ray");
  ed_test_guest_create_guest (server->client, event_id, "cy@example.com", "Cy", "Poe");
  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, first);
  g_clear_pointer (&reply, json_node_unref);
  reply = ed_test_guest_call (server->client, "PATCH", path, "{\"status\": \"accepted\"}", NULL);
  g_free (path);
  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, second);
  g_clear_pointer (&reply, json_node_unref);
  reply = ed_test_guest_call (server->client, "PATCH", path, "{\"status\": \"accepted\"}", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, "waitlisted");
  g_free (path);
  path = g_strdup_printf ("/api/v1/guests/%" G_GINT64_FORMAT, first);
  g_clear_pointer (&reply, json_node_unref);
  reply = ed_test_guest_call (server->client, "PATCH", path, "{\"status\": \"declined\"}", NULL);

  model = ed_guest_list_model_new (server->client, event_id, 0);
  g_assert_true (ed_test_app_wait_until (model_idle, model, 60000));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3);

  guest = g_list_model_get_item (G_LIST_MODEL (model), 1);
  g_assert_cmpstr (ed_guest_object_get_email (guest), ==, "bob@example.com");
  g_assert_cmpstr (ed_guest_object_get_status (guest), ==, "accepted");
  g_assert_cmpstr (ed_guest_object_get_last_delivery (guest), !=, "");
  g_assert_cmpstr (ed_guest_object_get_last_delivery_label (guest), !=, "");
  g_object_unref (guest);

  guest = g_list_model_get_item (G_LIST_MODEL (model), 2);
  g_assert_cmpstr (ed_guest_object_get_status (guest), ==, "pending");
  g_assert_cmpstr (ed_guest_object_get_last_delivery (guest), ==, "");
  g_assert_cmpstr (ed_guest_object_get_last_delivery_label (guest), ==, "");
  g_object_unref (guest);
}

int
main (int   argc,
      char *argv[])
{
  ed_test_app_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/app/guest-model/first-page", test_first_page);
  ADD ("/app/guest-model/far-item-on-demand", test_far_item_on_demand);
  ADD ("/app/guest-model/bounded-pages", test_bounded_pages);
  ADD ("/app/guest-model/search-filter-sort", test_search_filter_sort);
  ADD ("/app/guest-model/changes-on-server", test_changes_on_server);
#undef ADD
  g_test_add_func ("/app/guest-model/last-delivery", test_last_delivery);

  return g_test_run ();
}
