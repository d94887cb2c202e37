/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd"

#include "config.h"

#include <string.h>

#include "ed-catalog.h"
#include "ed-daemon-private.h"
#include "ed-error.h"
#include "ed-html-util.h"
#include "ed-http-util.h"
#include "ed-json-util.h"
#include "ed-rsvp-page.h"
#include "ed-rsvp-token.h"
#include "ed-rsvp-util.h"
#include "ed-time-util.h"

/* /u/{token}: the unsubscribe link of every bulk message, the same token
 * as the guest's RSVP link.
 *
 * GET shows a page with a button and never unsubscribes by itself (mail
 * scanners open links). POST unsubscribes: the page's button, or a mail
 * program's one-click request (RFC 8058: the body
 * `List-Unsubscribe=One-Click`, no cookies, no confirmation). The write
 * runs in a worker thread on a connection of its own, so that a burst of
 * one-click requests after a large campaign, or a launch holding the
 * write lock, never stalls the main loop.
 */

#define STATE_KEY "ed-unsubscribe-state"
#define ONE_CLICK_FIELD "List-Unsubscribe"
#define ONE_CLICK_VALUE "One-Click"

typedef struct
{
  GMutex   lock;
  EdStore *writer;
} UnsubscribeState;

typedef struct
{
  UnsubscribeState  *state;
  EdDaemon          *daemon;
  EdRequest         *request;
  EdCatalog         *catalog;   /* borrowed from the registry, which lives forever */
  gboolean           wants_json;
  EdRsvpTokenClaims  claims;
  gboolean           changed;
} Unsubscribe;

static void
unsubscribe_state_free (UnsubscribeState *state)
{
  if (state->writer != NULL)
    ed_store_close (state->writer);
  g_clear_object (&state->writer);
  g_mutex_clear (&state->lock);
}

static void
release_state (UnsubscribeState *state)
{
  g_atomic_rc_box_release_full (state, (GDestroyNotify) unsubscribe_state_free);
}

static void
unsubscribe_free (Unsubscribe *job)
{
  g_clear_pointer (&job->request, ed_request_unref);
  g_clear_object (&job->daemon);
  release_state (job->state);
  g_free (job);
}

/* The token is in the URL: no referrer, no cache, no frame. */
static void
reply_page (SoupServerMessage *msg,
            guint              status,
            EdCatalog         *catalog,
            char              *html)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  ed_http_set_private_headers (msg);
  soup_message_headers_replace (headers, "Content-Language", ed_catalog_get_language (catalog));
  soup_message_headers_replace (headers, "Vary", "Accept-Language");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/html; charset=utf-8", SOUP_MEMORY_TAKE, html, strlen (html));
}

static void
append_text (GString    *html,
             const char *element,
             const char *text)
{
  g_string_append_printf (html, "<%s>", element);
  ed_html_escape_append (html, text, -1);
  g_string_append_printf (html, "</%s>\n", element);
}

/* The page before (with its button) or after unsubscribing. */
static char *
render_page (EdCatalog     *catalog,
             const EdEvent *event,
             const char    *token,
             gboolean       unsubscribed)
{
  GString *html = g_string_sized_new (2048);
  const char *title;
  g_autofree char *text = NULL;

  if (unsubscribed)
    {
      title = ed_catalog_gettext (catalog, "You are unsubscribed");
      text = ed_rsvp_expand (ed_catalog_gettext (catalog,
                                                 "You will receive no more invitations, reminders "
                                                 "and news about {event}."),
                             "event", event->name, NULL);
    }
  else
    {
      title = ed_catalog_gettext (catalog, "Unsubscribe");
      text = ed_rsvp_expand (ed_catalog_gettext (catalog,
                                                 "You are on the guest list of {event}. Do you want to "
                                                 "receive no more invitations, reminders and news "
                                                 "about this event?"),
                             "event", event->name, NULL);
    }

  ed_rsvp_page_append_head (html, catalog, title);
  g_string_append (html, "<body>\n<main class=\"card\">\n<header class=\"intro\">\n");
  append_text (html, "h1", title);
  g_string_append (html, "</header>\n");
  append_text (html, "p", text);

  if (!unsubscribed)
    {
      g_string_append (html, "<form method=\"post\" action=\"/u/");
      ed_html_escape_append (html, token, -1);
      g_string_append (html, "\">\n<input type=\"hidden\" name=\"" ONE_CLICK_FIELD "\" value=\"" ONE_CLICK_VALUE "\">\n"
                             "<button type=\"submit\" class=\"primary\">");
      ed_html_escape_append (html, ed_catalog_gettext (catalog, "Unsubscribe"), -1);
      g_string_append (html, "</button>\n</form>\n");
    }

  g_string_append (html, "<p class=\"hint\">");
  ed_html_escape_append (html, ed_catalog_gettext (catalog,
                                                    "Messages about your own answer, such as a "
                                                    "confirmation, still reach you."), -1);
  g_string_append (html, " <a href=\"/r/");
  ed_html_escape_append (html, token, -1);
  g_string_append (html, "\">");
  ed_html_escape_append (html, ed_catalog_gettext (catalog, "Your invitation"), -1);
  g_string_append (html, "</a></p>\n</main>\n</body>\n</html>\n");

  return g_string_free (html, FALSE);
}

static void
reply_invalid_link (SoupServerMessage *msg,
                    gboolean           wants_json,
                    EdCatalog         *catalog)
{
  if (wants_json)
    ed_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "invalid_link", "This link doesn’t work");
  else
    reply_page (msg, SOUP_STATUS_NOT_FOUND, catalog, ed_rsvp_page_render_invalid_link (catalog));
}

/* Checks the link as /r/ does: signature, expiry, guest, event, version. */
static gboolean
lookup_link (EdDaemon           *self,
             const char         *token,
             EdRsvpTokenClaims  *claims,
             EdGuest           **guest_out,
             EdEvent           **event_out,
             GError            **error)
{
  g_autoptr(EdGuest) guest = NULL;

  if (!ed_rsvp_token_verify (self->secret, token, ed_time_now (), claims))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_NOT_FOUND, "invalid link");
      return FALSE;
    }

  if (!(guest = ed_store_get_guest (self->store, claims->guest_id, error)))
    return FALSE;
  if (guest->event_id != claims->event_id || guest->token_version != claims->token_version)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_NOT_FOUND, "invalid link");
      return FALSE;
    }
  if (!(*event_out = ed_store_get_event (self->store, guest->event_id, error)))
    return FALSE;

  *guest_out = g_steal_pointer (&guest);
  return TRUE;
}

static void
reply_lookup_error (SoupServerMessage *msg,
                    gboolean           wants_json,
                    EdCatalog         *catalog,
                    const GError      *error)
{
  if (g_error_matches (error, ED_ERROR, ED_ERROR_NOT_FOUND))
    reply_invalid_link (msg, wants_json, catalog);
  else
    ed_http_reply_gerror (msg, error);
}

/* GET /u/{token} */
static void
handle_page (EdRequest *request,
             gpointer   user_data)
{
  EdDaemon *self = user_data;
  EdCatalog *catalog = ed_rsvp_page_request_catalog (request->msg);
  g_autoptr(EdGuest) guest = NULL;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  EdRsvpTokenClaims claims = { 0 };

  if (!lookup_link (self, request->token, &claims, &guest, &event, &error))
    {
      reply_lookup_error (request->msg, FALSE, catalog, error);
      return;
    }

  reply_page (request->msg, SOUP_STATUS_OK, catalog,
              render_page (catalog, event, request->token, guest->unsubscribed_at != 0));
}

static void
unsubscribe_in_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  Unsubscribe *job = task_data;
  GError *error = NULL;
  gboolean ok;

  g_mutex_lock (&job->state->lock);
  ok = ed_store_unsubscribe_guest (job->state->writer, job->claims.guest_id, job->claims.event_id,
                                   job->claims.token_version,
                                   ed_time_now (), &job->changed, &error);
  g_mutex_unlock (&job->state->lock);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_unsubscribed_cb (GObject      *source_object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Unsubscribe *job = g_task_get_task_data (G_TASK (result));
  SoupServerMessage *msg = job->request->msg;
  g_autoptr(EdEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) ||
      !(event = ed_store_get_event (job->daemon->store, job->claims.event_id, &error)))
    reply_lookup_error (msg, job->wants_json, job->catalog, error);
  else
    {
      if (job->changed)
        g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                          "MESSAGE", "Guest %" G_GINT64_FORMAT " of event %" G_GINT64_FORMAT " unsubscribed",
                          job->claims.guest_id, job->claims.event_id);
      if (job->wants_json)
        {
          g_autoptr(JsonBuilder) builder = json_builder_new ();

          json_builder_begin_object (builder);
          ed_json_add_boolean (builder, "unsubscribed", TRUE);
          ed_json_add_boolean (builder, "changed", job->changed);
          json_builder_end_object (builder);
          ed_http_reply_json (msg, SOUP_STATUS_OK, builder);
        }
      else
        reply_page (msg, SOUP_STATUS_OK, job->catalog,
                    render_page (job->catalog, event, job->request->token, TRUE));
    }

  ed_request_unpause (job->request);
}

/* Whether the body asks to unsubscribe: the form field RFC 8058 names,
 * sent as a form (urlencoded, or multipart by some mail programs).
 */
static gboolean
is_one_click (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(GHashTable) form = NULL;
  g_autofree char *text = NULL;
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  if (content_type != NULL && g_ascii_strcasecmp (content_type, "multipart/form-data") == 0)
    {
      g_autoptr(SoupMultipart) multipart = soup_multipart_new_from_message (headers, bytes);

      if (multipart == NULL)
        return FALSE;
      for (int i = 0; i < soup_multipart_get_length (multipart); i++)
        {
          SoupMessageHeaders *part_headers;
          GBytes *part_body;
          g_autoptr(GHashTable) params = NULL;
          const char *value;
          gsize value_length;

          if (!soup_multipart_get_part (multipart, i, &part_headers, &part_body) ||
              !soup_message_headers_get_content_disposition (part_headers, NULL, &params))
            continue;
          value = g_bytes_get_data (part_body, &value_length);
          if (g_strcmp0 (g_hash_table_lookup (params, "name"), ONE_CLICK_FIELD) == 0 &&
              value_length == strlen (ONE_CLICK_VALUE) &&
              memcmp (value, ONE_CLICK_VALUE, value_length) == 0)
            return TRUE;
        }
      return FALSE;
    }

  text = g_strndup (data ? data : "", length);
  form = soup_form_decode (text);
  return g_strcmp0 (g_hash_table_lookup (form, ONE_CLICK_FIELD), ONE_CLICK_VALUE) == 0;
}

/* POST /u/{token} */
static void
handle_unsubscribe (EdRequest *request,
                    gpointer   user_data)
{
  EdDaemon *self = user_data;
  g_autoptr(GTask) task = NULL;
  EdCatalog *catalog = ed_rsvp_page_request_catalog (request->msg);
  gboolean wants_json = ed_http_wants_json (request->msg);
  EdRsvpTokenClaims claims = { 0 };
  Unsubscribe *job;

  if (!ed_rsvp_token_verify (self->secret, request->token, ed_time_now (), &claims))
    {
      reply_invalid_link (request->msg, wants_json, catalog);
      return;
    }
  if (!is_one_click (request->msg))
    {
      ed_http_reply_error (request->msg, SOUP_STATUS_BAD_REQUEST, "invalid_request",
                           "To unsubscribe, post the form field " ONE_CLICK_FIELD "=" ONE_CLICK_VALUE);
      return;
    }

  job = g_new0 (Unsubscribe, 1);
  job->state = g_atomic_rc_box_acquire ((UnsubscribeState *) g_object_get_data (G_OBJECT (self), STATE_KEY));
  job->daemon = g_object_ref (self);
  job->request = ed_request_ref (request);
  job->catalog = catalog;
  job->wants_json = wants_json;
  job->claims = claims;

  ed_request_pause (request);
  task = g_task_new (NULL, NULL, on_unsubscribed_cb, NULL);
  g_task_set_source_tag (task, handle_unsubscribe);
  g_task_set_task_data (task, job, (GDestroyNotify) unsubscribe_free);
  g_task_run_in_thread (task, unsubscribe_in_thread);
}

gboolean
ed_daemon_add_unsubscribe_routes (EdDaemon  *self,
                                  GError   **error)
{
  g_autoptr(EdStore) writer = NULL;
  UnsubscribeState *state;

  if (!(writer = ed_daemon_open_writer (self, error)))
    return FALSE;

  state = g_atomic_rc_box_new0 (UnsubscribeState);
  g_mutex_init (&state->lock);
  state->writer = g_steal_pointer (&writer);
  g_object_set_data_full (G_OBJECT (self), STATE_KEY, state, (GDestroyNotify) release_state);

  ed_router_add (self->router, "GET", "/u/{token}", ED_ROUTE_PUBLIC, handle_page);
  ed_router_add (self->router, "POST", "/u/{token}", ED_ROUTE_PUBLIC, handle_unsubscribe);

  return TRUE;
}
