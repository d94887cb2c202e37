/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ED_CONFIG_GROUP "eventdeskd"
#define ED_CONFIG_DEFAULT_LISTEN "127.0.0.1:8460"

/* The daemon's settings: built-in defaults, then the config file, then the
 * command line, each overriding the one before.
 */
typedef struct
{
  char   *listen;
  char   *data_dir;
  char   *public_url;
  char   *mail_transport;
  /* Only from the config file, never the command line (process lists
   * show it); $EVENTDESK_SMTP_PASSWORD is used when it is not set.
   */
  char   *mail_password;
  char   *mail_from;
  gint    mail_connections;
  double  mail_rate;              /* 0: no limit */
  gint    mail_retry_delay;       /* seconds before the first retry */
  gint    mail_retry_max_age;     /* seconds after which a message is no longer retried */
  double  mail_failure_threshold; /* share of failed attempts that pauses a campaign */
  gint    mail_timeout;           /* seconds one SMTP attempt may take */
  gint    session_hours;
  gsize   max_body_size;
  /* seconds a client may take to send its headers, or stay silent */
  gint    client_timeout;
  /* PEM files: with both, the daemon serves HTTPS itself */
  char   *tls_cert;
  char   *tls_key;
} EdConfig;

EdConfig *ed_config_new            (void);
void      ed_config_free           (EdConfig    *config);
gboolean  ed_config_load_file      (EdConfig    *config,
                                    const char  *path,
                                    GError     **error);
gboolean  ed_config_validate       (EdConfig    *config,
                                    GError     **error);
gboolean  ed_config_parse_listen   (const char  *listen,
                                    char       **host,
                                    guint16     *port,
                                    GError     **error);
char     *ed_config_get_db_path     (EdConfig   *config);
char     *ed_config_get_secret_path (EdConfig   *config);
char     *ed_config_get_lock_path   (EdConfig   *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EdConfig, ed_config_free)

G_END_DECLS
