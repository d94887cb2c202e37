/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-mail"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "ed-error.h"
#include "ed-mail-render.h"
#include "ed-rsvp-token.h"
#include "ed-rsvp-util.h"
#include "ed-template.h"
#include "ed-template-fields.h"
#include "ed-time-util.h"

/* Campaign + event + guest → message. Everything here is read-only after
 * ed_mail_renderer_new(); each render compiles the campaign's templates
 * afresh (a few microseconds for a mail-sized template), so that an edit
 * of a paused campaign is used by the next message without any cache to
 * invalidate or lock.
 */

/* The transactional kinds' texts when their campaign leaves them empty.
 * Marked for translation (xgettext); they are sent in English, the
 * source language, since a guest has no language of their own yet.
 */
#define PROMOTION_SUBJECT N_("A place for you at {{event_name}}")
#define PROMOTION_TEXT \
  N_("Hello {{first_name}},\n\n" \
     "good news: a place has become free at {{event_name}}, and it is yours. " \
     "You were on the waiting list and are now confirmed.\n\n" \
     "If you can no longer come, please say so on your personal page, so that " \
     "the next guest in line can have the seat:\n{{rsvp_url}}\n")

#define CONFIRMATION_SUBJECT N_("You are coming to {{event_name}}")
#define CONFIRMATION_TEXT \
  N_("Hello {{first_name}},\n\n" \
     "thank you for your answer: you are on the guest list of {{event_name}} " \
     "for {{party_size}} seat(s).\n\n" \
     "When:  {{event_starts_at}} ({{event_timezone}})\n" \
     "Where: {{event_venue}}\n\n" \
     "The attached calendar file adds the event to your calendar. To change " \
     "your answer, open your personal page:\n{{rsvp_url}}\n")

#define MESSAGE_ID_TAG_CHARS 12

/* Compiled templates kept, by their text, for the messages to come; a
 * campaign's subject and bodies are the same for all its guests. Past
 * this many (edits of many campaigns), new texts are compiled per use.
 */
#define MAX_COMPILED_TEMPLATES 256

struct _EdMailRenderer
{
  char   *mail_from;
  char   *public_url;   /* without a trailing “/” */
  char   *uid_domain;   /* the public URL's host, for calendar UIDs */
  char   *id_domain;    /* mail-from's domain, for Message-IDs */
  char   *id_tag;       /* tells this installation's Message-IDs apart */
  EdMailMessage *sender; /* mail_from, parsed and checked */
  EdTokenSigner *signer; /* signs the guests' links with the daemon's key */

  /* text -> EdTemplate, under templates_lock; an entry stays until the
   * renderer goes, so a template taken from it can be used unlocked
   */
  GMutex      templates_lock;
  GHashTable *templates;
};

const char *
ed_mail_builtin_subject (EdCampaignKind kind)
{
  switch (kind)
    {
    case ED_CAMPAIGN_KIND_WAITLIST_PROMOTION:
      return PROMOTION_SUBJECT;
    case ED_CAMPAIGN_KIND_CONFIRMATION:
      return CONFIRMATION_SUBJECT;
    case ED_CAMPAIGN_KIND_INVITATION:
    case ED_CAMPAIGN_KIND_REMINDER:
    case ED_CAMPAIGN_KIND_UPDATE:
    default:
      return NULL;
    }
}

const char *
ed_mail_builtin_text (EdCampaignKind kind)
{
  switch (kind)
    {
    case ED_CAMPAIGN_KIND_WAITLIST_PROMOTION:
      return PROMOTION_TEXT;
    case ED_CAMPAIGN_KIND_CONFIRMATION:
      return CONFIRMATION_TEXT;
    case ED_CAMPAIGN_KIND_INVITATION:
    case ED_CAMPAIGN_KIND_REMINDER:
    case ED_CAMPAIGN_KIND_UPDATE:
    default:
      return NULL;
    }
}

static gboolean
is_blank (const char *text)
{
  if (text == NULL)
    return TRUE;

  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;

  return TRUE;
}

/**
 * ed_mail_renderer_new:
 * @mail_from: the sender, `Name <address>` or `address`
 * @public_url: the http(s) URL guests reach the daemon at
 * @secret: the key that signs the guests' links
 * @error: return location for an error naming the bad setting
 *
 * Returns: (transfer full) (nullable): a renderer
 */
EdMailRenderer *
ed_mail_renderer_new (const char  *mail_from,
                      const char  *public_url,
                      GBytes      *secret,
                      GError     **error)
{
  g_autoptr(EdMailRenderer) self = NULL;
  g_autoptr(EdMailMessage) probe = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  const char *address;
  const char *scheme;
  gsize len;

  g_return_val_if_fail (mail_from != NULL, NULL);
  g_return_val_if_fail (public_url != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A message to a placeholder address checks the sender as sending will. */
  if (!(probe = ed_mail_message_new (mail_from, "guest@example.org", NULL, error)))
    {
      g_prefix_error (error, "mail-from: ");
      return NULL;
    }

  uri = g_uri_parse (public_url, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "public-url: “%s” is not an http or https URL", public_url);
      return NULL;
    }

  self = g_new0 (EdMailRenderer, 1);
  self->mail_from = g_strdup (mail_from);
  self->public_url = g_strdup (public_url);
  len = strlen (self->public_url);
  while (len > 0 && self->public_url[len - 1] == '/')
    self->public_url[--len] = '\0';
  self->uid_domain = g_strdup (g_uri_get_host (uri));

  address = ed_mail_message_get_envelope_from (probe);
  self->id_domain = g_strdup (strrchr (address, '@') + 1);

  /* Derived from the secret, never showing it: two installations sending
   * from one domain do not make the same Message-IDs.
   */
  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, (const guchar *) "eventdesk-message-id", -1);
  g_checksum_update (checksum, g_bytes_get_data (secret, NULL), g_bytes_get_size (secret));
  self->id_tag = g_strndup (g_checksum_get_string (checksum), MESSAGE_ID_TAG_CHARS);

  self->sender = g_steal_pointer (&probe);
  self->signer = ed_token_signer_new (secret);
  g_mutex_init (&self->templates_lock);
  self->templates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) ed_template_free);

  return g_steal_pointer (&self);
}

void
ed_mail_renderer_free (EdMailRenderer *self)
{
  if (self == NULL)
    return;

  g_free (self->mail_from);
  g_free (self->public_url);
  g_free (self->uid_domain);
  g_free (self->id_domain);
  g_free (self->id_tag);
  g_clear_pointer (&self->sender, ed_mail_message_free);
  g_clear_pointer (&self->signer, ed_token_signer_free);
  if (self->templates != NULL)
    {
      g_hash_table_unref (self->templates);
      g_mutex_clear (&self->templates_lock);
    }
  g_free (self);
}

const char *
ed_mail_renderer_get_mail_from (EdMailRenderer *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->mail_from;
}

void
ed_mail_parts_clear (EdMailParts *parts)
{
  g_clear_pointer (&parts->to, g_free);
  g_clear_pointer (&parts->to_address, g_free);
  g_clear_pointer (&parts->to_name, g_free);
  g_clear_pointer (&parts->subject, g_free);
  g_clear_pointer (&parts->text, g_free);
  g_clear_pointer (&parts->html, g_free);
  g_clear_pointer (&parts->rsvp_url, g_free);
  g_clear_pointer (&parts->unsubscribe_url, g_free);
}

static char *
render_one (EdMailRenderer    *self,
            const char        *source,
            const char        *what,
            EdTemplateValues  *values,
            gboolean           html,
            GError           **error)
{
  g_autoptr(EdTemplate) compiled = NULL;
  EdTemplate *template;

  g_mutex_lock (&self->templates_lock);
  template = g_hash_table_lookup (self->templates, source);
  g_mutex_unlock (&self->templates_lock);

  if (template == NULL)
    {
      if (!(compiled = ed_template_new (source, ed_template_fields_get_names (), error)))
        {
          g_prefix_error (error, "the %s: ", what);
          return NULL;
        }
      template = compiled;

      g_mutex_lock (&self->templates_lock);
      if (g_hash_table_size (self->templates) < MAX_COMPILED_TEMPLATES &&
          !g_hash_table_contains (self->templates, source))
        g_hash_table_insert (self->templates, g_strdup (source), g_steal_pointer (&compiled));
      g_mutex_unlock (&self->templates_lock);
    }

  return ed_template_render (template, ed_template_values_lookup, values, html);
}

static char *
full_name (const EdGuest *guest)
{
  const char *first = guest->first_name != NULL ? guest->first_name : "";
  const char *last = guest->last_name != NULL ? guest->last_name : "";

  if (*first != '\0' && *last != '\0')
    return g_strconcat (first, " ", last, NULL);
  if (*first == '\0' && *last == '\0')
    return NULL;
  return g_strconcat (first, last, NULL);
}

/**
 * ed_mail_renderer_render_parts:
 * @self: a renderer
 * @campaign: the campaign whose templates are used; a transactional kind
 *   with an empty subject or text uses the built-in one
 * @event: the campaign's event
 * @guest: the recipient, a guest of @event
 * @parts: (out caller-allocates): the filled-in parts; clear them with
 *   ed_mail_parts_clear()
 * @error: return location for an error (a template that does not
 *   compile)
 */
gboolean
ed_mail_renderer_render_parts (EdMailRenderer    *self,
                               const EdCampaign  *campaign,
                               const EdEvent     *event,
                               const EdGuest     *guest,
                               EdMailParts       *parts,
                               GError           **error)
{
  g_autoptr(EdTemplateValues) values = NULL;
  g_autofree char *token = NULL;
  EdRsvpTokenClaims claims = { 0 };
  const char *subject;
  const char *text;
  g_auto(EdMailParts) out = { 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (campaign != NULL && event != NULL && guest != NULL, FALSE);
  g_return_val_if_fail (parts != NULL, FALSE);

  if (guest->event_id != event->id || campaign->event_id != event->id)
    {
      g_set_error (error, ED_ERROR, ED_ERROR_INVALID,
                   "guest %" G_GINT64_FORMAT " and campaign %" G_GINT64_FORMAT " are not of event %" G_GINT64_FORMAT,
                   guest->id, campaign->id, event->id);
      return FALSE;
    }

  claims.event_id = event->id;
  claims.guest_id = guest->id;
  claims.token_version = guest->token_version;
  token = ed_rsvp_token_sign_with (self->signer, &claims, ed_rsvp_token_expiry (event));

  out.rsvp_url = g_strconcat (self->public_url, "/r/", token, NULL);
  out.unsubscribe_url = g_strconcat (self->public_url, "/u/", token, NULL);

  values = ed_template_values_new (event);
  ed_template_values_set_guest (values, guest, out.rsvp_url, out.unsubscribe_url);

  subject = campaign->subject;
  text = campaign->text;
  if (is_blank (subject) && ed_mail_builtin_subject (campaign->kind) != NULL)
    subject = ed_mail_builtin_subject (campaign->kind);
  if (is_blank (text) && ed_mail_builtin_text (campaign->kind) != NULL)
    text = ed_mail_builtin_text (campaign->kind);

  if (!(out.subject = render_one (self, subject ? subject : "", "subject", values, FALSE, error)) ||
      !(out.text = render_one (self, text ? text : "", "text", values, FALSE, error)))
    return FALSE;
  if (!is_blank (campaign->html) &&
      !(out.html = render_one (self, campaign->html, "HTML body", values, TRUE, error)))
    return FALSE;

  out.to_address = g_strdup (guest->email);
  out.to_name = full_name (guest);
  out.to = out.to_name != NULL ? g_strdup_printf ("%s <%s>", out.to_name, guest->email)
                               : g_strdup (guest->email);

  *parts = out;
  memset (&out, 0, sizeof out);
  return TRUE;
}

static EdMailMessage *
build_message (EdMailRenderer    *self,
               const EdCampaign  *campaign,
               const EdEvent     *event,
               const EdGuest     *guest,
               gint64             message_id,
               gint64             queued_at,
               const char        *to_address,
               GError           **error)
{
  g_auto(EdMailParts) parts = { 0 };
  g_autoptr(EdMailMessage) message = NULL;
  gint64 now = ed_time_now ();

  if (!ed_mail_renderer_render_parts (self, campaign, event, guest, &parts, error))
    return NULL;

  if (!(message = ed_mail_message_new_like (self->sender, to_address ? to_address : parts.to_address,
                                            parts.to_name, error)))
    return NULL;

  ed_mail_message_set_subject (message, parts.subject);
  ed_mail_message_set_text (message, parts.text);
  ed_mail_message_set_html (message, parts.html);
  ed_mail_message_set_date (message, now);

  if (message_id > 0)
    {
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%s@%s",
                                             message_id, campaign->id, queued_at, self->id_tag, self->id_domain);

      if (!ed_mail_message_set_message_id (message, id, error))
        return NULL;
    }

  if (!campaign->transactional &&
      !ed_mail_message_set_list_unsubscribe (message, parts.unsubscribe_url, error))
    return NULL;

  if (campaign->kind == ED_CAMPAIGN_KIND_CONFIRMATION)
    {
      g_autofree char *file_name = ed_rsvp_ics_file_name (event);
      char *ics = ed_rsvp_build_ics (event, guest->id, self->uid_domain, now);
      g_autoptr(GBytes) bytes = g_bytes_new_take (ics, strlen (ics));

      ed_mail_message_set_calendar (message, bytes, "PUBLISH", file_name);
    }

  return g_steal_pointer (&message);
}

/**
 * ed_mail_renderer_render:
 * @self: a renderer
 * @campaign: the campaign
 * @event: its event
 * @guest: the recipient
 * @message_id: the queue row the message is for, which names its
 *   Message-ID (so that a retry sends the same one); 0 for previews and
 *   test sends, which get a random one
 * @queued_at: when the row was queued, also in the Message-ID: a message
 *   queued again (an invitation resent) is a new message, which mail
 *   systems must not drop as a duplicate of the first
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the message: From, To with the
 *   guest's name, Subject, Date, Message-ID, the bodies, List-Unsubscribe
 *   and List-Unsubscribe-Post for bulk (non-transactional) campaigns, and
 *   the event's .ics file for confirmations
 */
EdMailMessage *
ed_mail_renderer_render (EdMailRenderer    *self,
                         const EdCampaign  *campaign,
                         const EdEvent     *event,
                         const EdGuest     *guest,
                         gint64             message_id,
                         gint64             queued_at,
                         GError           **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  return build_message (self, campaign, event, guest, message_id, queued_at, NULL, error);
}

/**
 * ed_mail_renderer_render_test:
 * @to_address: where the test goes instead of the guest's address
 *
 * The message @guest would get, addressed to @to_address: a test send
 * shows the organizer exactly what the guest will see.
 */
EdMailMessage *
ed_mail_renderer_render_test (EdMailRenderer    *self,
                              const EdCampaign  *campaign,
                              const EdEvent     *event,
                              const EdGuest     *guest,
                              const char        *to_address,
                              GError           **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (to_address != NULL, NULL);

  return build_message (self, campaign, event, guest, 0, 0, to_address, error);
}
