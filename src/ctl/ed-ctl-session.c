/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskctl"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ed-ctl-error.h"
#include "ed-ctl-session.h"

/* The session token is a password for as long as it is valid: it lives in
 * the user's config folder (XDG_CONFIG_HOME/eventdesk/ctl-session), in a
 * folder only the user may open and a file only the user may read, and a
 * file that others can read is not used.
 */

#define GROUP "session"

EdCtlSession *
ed_ctl_session_new (void)
{
  return g_new0 (EdCtlSession, 1);
}

static void
free_secret (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

void
ed_ctl_session_free (EdCtlSession *session)
{
  if (session == NULL)
    return;

  g_free (session->server);
  g_free (session->username);
  free_secret (session->token);
  g_free (session->expires_at);
  g_free (session);
}

char *
ed_ctl_session_get_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "eventdesk", "ctl-session", NULL);
}

/**
 * ed_ctl_session_load:
 * @error: %ED_CTL_ERROR_LOGIN when there is no usable session
 *
 * Returns: (transfer full): the session of the last `eventdeskctl login`
 */
EdCtlSession *
ed_ctl_session_load (GError **error)
{
  g_autofree char *path = ed_ctl_session_get_path ();
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(EdCtlSession) session = ed_ctl_session_new ();
  g_autoptr(GError) local_error = NULL;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees session; clang 14's analyzer does not run cleanups */
      g_set_error_literal (error, ED_CTL_ERROR, ED_CTL_ERROR_LOGIN,
                           _("Not logged in; run “eventdeskctl login” first"));
      return NULL;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_LOGIN,
                   _("%s can be read by other users, so its session may have leaked: "
                     "log in again with “eventdeskctl login”"), path);
      return NULL;
    }

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error) ||
      !(session->server = g_key_file_get_string (file, GROUP, "server", &local_error)) ||
      !(session->token = g_key_file_get_string (file, GROUP, "token", &local_error)))
    {
      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_LOGIN,
                   _("Cannot read %s (%s); log in again with “eventdeskctl login”"),
                   path, local_error->message);
      return NULL;
    }
  session->username = g_key_file_get_string (file, GROUP, "username", NULL);
  session->expires_at = g_key_file_get_string (file, GROUP, "expires-at", NULL);

  return g_steal_pointer (&session);
}

gboolean
ed_ctl_session_save (const EdCtlSession  *session,
                     GError             **error)
{
  g_autofree char *path = ed_ctl_session_get_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *data = NULL;
  gsize length;
  gboolean saved;

  g_return_val_if_fail (session != NULL && session->server != NULL && session->token != NULL, FALSE);

  if (g_mkdir_with_parents (dir, 0700) != 0 || g_chmod (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED, _("Cannot make %s: %s"),
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  g_key_file_set_string (file, GROUP, "server", session->server);
  if (session->username != NULL)
    g_key_file_set_string (file, GROUP, "username", session->username);
  g_key_file_set_string (file, GROUP, "token", session->token);
  if (session->expires_at != NULL)
    g_key_file_set_string (file, GROUP, "expires-at", session->expires_at);
  data = g_key_file_to_data (file, &length, NULL);

  /* Written whole, with its mode, to a new file renamed into place. */
  saved = g_file_set_contents_full (path, data, (gssize) length,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                    0600, error);
  explicit_bzero (data, length);

  return saved;
}

gboolean
ed_ctl_session_forget (GError **error)
{
  g_autofree char *path = ed_ctl_session_get_path ();

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error, ED_CTL_ERROR, ED_CTL_ERROR_FAILED, _("Cannot remove %s: %s"),
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}
