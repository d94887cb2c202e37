/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-http"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-http-util.h"
#include "ed-router.h"

/* Routes are patterns of path segments where "{id}" stands for a positive
 * integer and "{token}" for any non-empty segment. Matching is by segment,
 * so "/api/v1/events/12/guests" matches "/api/v1/events/{id}/guests" and
 * nothing else.
 */

#define ID_MAX G_GINT64_CONSTANT (9007199254740991) /* 2^53 - 1, safe in JSON */

typedef struct
{
  char           *method;
  char           *pattern;
  char          **segments;
  EdRouteFlags    flags;
  EdRouteHandler  handler;
  EdRouteHandler  headers_handler; /* streaming routes only */
} Route;

struct _EdRouter
{
  GPtrArray *routes;
};

static void
route_free (Route *route)
{
  g_free (route->method);
  g_free (route->pattern);
  g_strfreev (route->segments);
  g_free (route);
}

EdRouter *
ed_router_new (void)
{
  EdRouter *router = g_new0 (EdRouter, 1);

  router->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) route_free);
  return router;
}

void
ed_router_free (EdRouter *router)
{
  if (router == NULL)
    return;

  g_ptr_array_unref (router->routes);
  g_free (router);
}

void
ed_router_add (EdRouter       *router,
               const char     *method,
               const char     *pattern,
               EdRouteFlags    flags,
               EdRouteHandler  handler)
{
  Route *route;

  g_return_if_fail (router != NULL);
  g_return_if_fail (method != NULL);
  g_return_if_fail (pattern != NULL && pattern[0] == '/');
  g_return_if_fail (handler != NULL);

  route = g_new0 (Route, 1);
  route->method = g_strdup (method);
  route->pattern = g_strdup (pattern);
  route->segments = g_strsplit (pattern + 1, "/", -1);
  route->flags = flags;
  route->handler = handler;
  g_ptr_array_add (router->routes, route);
}

/**
 * ed_router_add_streaming:
 * @headers_handler: called when the request's headers have arrived, before
 *   its body (see ed_router_dispatch_headers())
 * @handler: called once the whole body has arrived, as for ed_router_add()
 *
 * Adds a route whose request body is not collected in memory: the headers
 * handler checks the request and takes the body as it arrives (it sets
 * up its own "got-chunk" handling and size limit).
 */
void
ed_router_add_streaming (EdRouter       *router,
                         const char     *method,
                         const char     *pattern,
                         EdRouteFlags    flags,
                         EdRouteHandler  headers_handler,
                         EdRouteHandler  handler)
{
  Route *route;

  g_return_if_fail (headers_handler != NULL);

  ed_router_add (router, method, pattern, flags, handler);
  route = g_ptr_array_index (router->routes, router->routes->len - 1);
  route->headers_handler = headers_handler;
}

static gboolean
parse_id (const char *text,
          gint64     *id)
{
  guint64 value;

  if (text[0] < '1' || text[0] > '9')
    return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, ID_MAX, &value, NULL))
    return FALSE;

  *id = (gint64) value;
  return TRUE;
}

static gboolean
route_matches (const Route  *route,
               char * const *segments,
               gint64       *ids,
               const char  **token)
{
  guint n_ids = 0;
  guint i;

  for (i = 0; route->segments[i] != NULL && segments[i] != NULL; i++)
    {
      if (strcmp (route->segments[i], "{id}") == 0)
        {
          if (n_ids >= 2 || !parse_id (segments[i], &ids[n_ids]))
            return FALSE;
          n_ids++;
        }
      else if (strcmp (route->segments[i], "{token}") == 0)
        {
          if (segments[i][0] == '\0')
            return FALSE;
          *token = segments[i];
        }
      else if (strcmp (route->segments[i], segments[i]) != 0)
        return FALSE;
    }

  return route->segments[i] == NULL && segments[i] == NULL;
}

static EdRequest *
request_new (const Route       *route,
             SoupServerMessage *msg,
             GHashTable        *query,
             const gint64      *ids,
             const char        *token)
{
  EdRequest *request = g_atomic_rc_box_new0 (EdRequest);

  request->msg = g_object_ref (msg);
  request->query = query ? g_hash_table_ref (query)
                         : g_hash_table_new (g_str_hash, g_str_equal);
  request->route = route->pattern;
  request->ids[0] = ids[0];
  request->ids[1] = ids[1];
  request->token = g_strdup (token);
  ed_http_set_route (msg, route->pattern);

  return request;
}

static void
request_free (EdRequest *request)
{
  g_clear_object (&request->msg);
  g_clear_pointer (&request->query, g_hash_table_unref);
  g_free (request->token);
  g_free (request->session_id);
  g_free (request->username);
}

/**
 * ed_router_dispatch:
 * @router: the routes
 * @msg: the request
 * @query: (nullable): its decoded query
 * @auth_func: checks credentials for routes that need them
 * @user_data: passed to @auth_func and to the handler
 *
 * Calls the handler of the route matching @msg's method and path, or
 * answers 404, 405 (with `Allow`) or 401 itself.
 */
void
ed_router_dispatch (EdRouter          *router,
                    SoupServerMessage *msg,
                    GHashTable        *query,
                    EdRouteAuthFunc    auth_func,
                    gpointer           user_data)
{
  g_auto(GStrv) segments = NULL;
  g_autoptr(GString) allowed = NULL;
  const char *method = soup_server_message_get_method (msg);
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  gint64 ids[2] = { 0, 0 };
  const char *token = NULL;

  g_return_if_fail (router != NULL);

  if (path == NULL || path[0] != '/')
    {
      ed_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", "There is nothing at this address");
      return;
    }
  segments = g_strsplit (path + 1, "/", -1);

  for (guint i = 0; i < router->routes->len; i++)
    {
      const Route *route = g_ptr_array_index (router->routes, i);
      g_autoptr(EdRequest) request = NULL;
      g_autoptr(GError) error = NULL;

      if (!route_matches (route, segments, ids, &token))
        continue;

      if (strcmp (route->method, method) != 0 &&
          !(strcmp (method, "HEAD") == 0 && strcmp (route->method, "GET") == 0))
        {
          if (allowed == NULL)
            allowed = g_string_new (route->method);
          else if (strstr (allowed->str, route->method) == NULL)
            g_string_append_printf (allowed, ", %s", route->method);
          continue;
        }

      request = request_new (route, msg, query, ids, token);

      if ((route->flags & ED_ROUTE_AUTH) != 0 &&
          !auth_func (request, user_data, &error))
        {
          ed_http_reply_gerror (msg, error);
          return;
        }

      route->handler (request, user_data);
      return;
    }

  if (allowed != NULL)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Allow", allowed->str);
      ed_http_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                           "%s is not allowed here; use %s", method, allowed->str);
      return;
    }

  ed_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", "There is nothing at this address");
}

/**
 * ed_router_dispatch_headers:
 * @router: the routes
 * @msg: a request whose headers have arrived
 * @auth_func: checks credentials for routes that need them
 * @user_data: passed to @auth_func and to the handler
 *
 * Calls the headers handler of the streaming route matching @msg, after
 * checking its credentials (a 401 goes out before the body is read).
 *
 * Returns: %TRUE when @msg is for a streaming route: its headers handler
 *   ran, or it was answered
 */
gboolean
ed_router_dispatch_headers (EdRouter          *router,
                            SoupServerMessage *msg,
                            EdRouteAuthFunc    auth_func,
                            gpointer           user_data)
{
  g_auto(GStrv) segments = NULL;
  const char *method = soup_server_message_get_method (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  const char *path = g_uri_get_path (uri);

  g_return_val_if_fail (router != NULL, FALSE);

  if (path == NULL || path[0] != '/')
    return FALSE;
  segments = g_strsplit (path + 1, "/", -1);

  for (guint i = 0; i < router->routes->len; i++)
    {
      const Route *route = g_ptr_array_index (router->routes, i);
      g_autoptr(EdRequest) request = NULL;
      g_autoptr(GHashTable) query = NULL;
      g_autoptr(GError) error = NULL;
      gint64 ids[2] = { 0, 0 };
      const char *token = NULL;

      if (route->headers_handler == NULL ||
          strcmp (route->method, method) != 0 ||
          !route_matches (route, segments, ids, &token))
        continue;

      if (g_uri_get_query (uri) != NULL)
        query = soup_form_decode (g_uri_get_query (uri));
      request = request_new (route, msg, query, ids, token);

      if ((route->flags & ED_ROUTE_AUTH) != 0 &&
          !auth_func (request, user_data, &error))
        {
          ed_http_reply_gerror (msg, error);
          return TRUE;
        }

      route->headers_handler (request, user_data);
      return TRUE;
    }

  return FALSE;
}

/**
 * ed_router_list:
 * @router: the routes
 *
 * Describes every route, in the order they were added, as
 * "METHOD PATTERN auth" or "METHOD PATTERN public", so that a test can
 * walk all of them, including routes added after it was written.
 *
 * Returns: (transfer full): the descriptions
 */
GStrv
ed_router_list (EdRouter *router)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (router != NULL, NULL);

  for (guint i = 0; i < router->routes->len; i++)
    {
      const Route *route = g_ptr_array_index (router->routes, i);
      g_autofree char *line = g_strdup_printf ("%s %s %s", route->method, route->pattern,
                                               (route->flags & ED_ROUTE_AUTH) ? "auth" : "public");

      g_strv_builder_add (builder, line);
    }

  return g_strv_builder_end (builder);
}

EdRequest *
ed_request_ref (EdRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);

  return g_atomic_rc_box_acquire (request);
}

void
ed_request_unref (EdRequest *request)
{
  g_atomic_rc_box_release_full (request, (GDestroyNotify) request_free);
}

/* For handlers that answer later: keeps the request alive until unpaused. */
void
ed_request_pause (EdRequest *request)
{
  g_return_if_fail (request != NULL);

  ed_request_ref (request);
  soup_server_message_pause (request->msg);
}

void
ed_request_unpause (EdRequest *request)
{
  g_return_if_fail (request != NULL);

  soup_server_message_unpause (request->msg);
  ed_request_unref (request);
}

const char *
ed_request_get_query (EdRequest  *request,
                      const char *name)
{
  g_return_val_if_fail (request != NULL, NULL);

  return g_hash_table_lookup (request->query, name);
}
