/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _EdRouter EdRouter;
typedef struct _EdRequest EdRequest;

typedef enum
{
  ED_ROUTE_PUBLIC = 0,
  ED_ROUTE_AUTH = 1 << 0, /* needs a valid session token */
} EdRouteFlags;

typedef void     (*EdRouteHandler)  (EdRequest *request,
                                     gpointer   user_data);
/* Checks the request's credentials; fills in the request's session. */
typedef gboolean (*EdRouteAuthFunc) (EdRequest  *request,
                                     gpointer    user_data,
                                     GError    **error);

struct _EdRequest
{
  /* read-only for handlers */
  SoupServerMessage *msg;
  GHashTable        *query;      /* decoded query parameters; never NULL */
  const char        *route;      /* the pattern that matched */
  gint64             ids[2];     /* the {id} parts of the path, in order */
  char              *token;      /* the {token} part of the path, or NULL */

  /* set by the auth function */
  char              *session_id;
  char              *username;
  gint64             admin_id;
};

EdRouter   *ed_router_new        (void);
void        ed_router_free       (EdRouter           *router);
void        ed_router_add        (EdRouter           *router,
                                  const char         *method,
                                  const char         *pattern,
                                  EdRouteFlags        flags,
                                  EdRouteHandler      handler);
void        ed_router_dispatch   (EdRouter           *router,
                                  SoupServerMessage  *msg,
                                  GHashTable         *query,
                                  EdRouteAuthFunc     auth_func,
                                  gpointer            user_data);
void        ed_router_add_streaming    (EdRouter           *router,
                                        const char         *method,
                                        const char         *pattern,
                                        EdRouteFlags        flags,
                                        EdRouteHandler      headers_handler,
                                        EdRouteHandler      handler);
gboolean    ed_router_dispatch_headers (EdRouter           *router,
                                        SoupServerMessage  *msg,
                                        EdRouteAuthFunc     auth_func,
                                        gpointer            user_data);
GStrv       ed_router_list             (EdRouter           *router);

EdRequest  *ed_request_ref       (EdRequest          *request);
void        ed_request_unref     (EdRequest          *request);
void        ed_request_pause     (EdRequest          *request);
void        ed_request_unpause   (EdRequest          *request);
const char *ed_request_get_query (EdRequest          *request,
                                  const char         *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdRouter, ed_router_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdRequest, ed_request_unref)

G_END_DECLS
