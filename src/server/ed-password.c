/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-auth"

#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>

#include "ed-error.h"
#include "ed-password.h"

/* Hashing is deliberately slow (tens of milliseconds), so the daemon calls
 * it only through ed_password_verify_async(), which runs in a worker thread.
 */

gboolean
ed_password_check_strength (const char  *password,
                            GError     **error)
{
  g_return_val_if_fail (password != NULL, FALSE);

  if (!g_utf8_validate (password, -1, NULL))
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The password is not valid UTF-8");
      return FALSE;
    }
  if (g_utf8_strlen (password, -1) < ED_PASSWORD_MIN_LENGTH)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "The password must have at least %d characters", ED_PASSWORD_MIN_LENGTH);
      return FALSE;
    }
  if (strlen (password) > ED_PASSWORD_MAX_LENGTH)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "The password must have at most %d bytes", ED_PASSWORD_MAX_LENGTH);
      return FALSE;
    }

  return TRUE;
}

/**
 * ed_password_hash:
 * @password: the password
 * @error: return location for an error
 *
 * Hashes with yescrypt at libxcrypt's default cost and a fresh random salt.
 *
 * Returns: (transfer full): the hash in crypt(5) form
 */
char *
ed_password_hash (const char  *password,
                  GError     **error)
{
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  struct crypt_data *data;
  char *hash = NULL;

  g_return_val_if_fail (password != NULL, NULL);

  if (crypt_gensalt_rn ("$y$", 0, NULL, 0, setting, sizeof setting) == NULL)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_STORE,
                   "Cannot make a password salt: %s", g_strerror (errno));
      return NULL;
    }

  data = g_new0 (struct crypt_data, 1);
  if (crypt_rn (password, setting, data, sizeof *data) != NULL && data->output[0] != '*')
    hash = g_strdup (data->output);
  else
    g_set_error (error, ED_ERROR, ED_ERROR_STORE, "Cannot hash the password: %s",
                 g_strerror (errno));

  explicit_bzero (data, sizeof *data);
  g_free (data);

  return hash;
}

/**
 * ed_password_verify:
 * @password: the password offered
 * @hash: a stored hash (yescrypt `$y$`, bcrypt `$2b$` or any method
 *   libxcrypt enables)
 *
 * Compares in constant time. Blocks for as long as the hash's cost says.
 *
 * Returns: %TRUE if @password matches @hash
 */
gboolean
ed_password_verify (const char *password,
                    const char *hash)
{
  struct crypt_data *data;
  gboolean matches = FALSE;
  gsize hash_len;

  g_return_val_if_fail (password != NULL, FALSE);
  g_return_val_if_fail (hash != NULL, FALSE);

  hash_len = strlen (hash);
  data = g_new0 (struct crypt_data, 1);
  if (crypt_rn (password, hash, data, sizeof *data) != NULL &&
      data->output[0] != '*' &&
      strlen (data->output) == hash_len)
    {
      guchar diff = 0;

      for (gsize i = 0; i < hash_len; i++)
        diff |= (guchar) data->output[i] ^ (guchar) hash[i];
      matches = diff == 0;
    }

  explicit_bzero (data, sizeof *data);
  g_free (data);

  return matches;
}

typedef struct
{
  char *password;
  char *hash;
} VerifyData;

static void
verify_data_free (VerifyData *data)
{
  explicit_bzero (data->password, strlen (data->password));
  g_free (data->password);
  g_free (data->hash);
  g_free (data);
}

static void
verify_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  VerifyData *data = task_data;

  g_task_return_boolean (task, ed_password_verify (data->password, data->hash));
}

void
ed_password_verify_async (const char          *password,
                          const char          *hash,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  VerifyData *data;

  g_return_if_fail (password != NULL);
  g_return_if_fail (hash != NULL);

  data = g_new0 (VerifyData, 1);
  data->password = g_strdup (password);
  data->hash = g_strdup (hash);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, ed_password_verify_async);
  g_task_set_task_data (task, data, (GDestroyNotify) verify_data_free);
  g_task_run_in_thread (task, verify_thread);
}

/* Returns TRUE if the password matched; FALSE without an error if not. */
gboolean
ed_password_verify_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
