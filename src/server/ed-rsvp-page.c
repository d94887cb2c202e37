/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-rsvp"

#include "config.h"

#include <string.h>

#include "ed-rsvp-page.h"
#include "ed-html-util.h"
#include "ed-rsvp-util.h"
#include "ed-time-util.h"

/* The guest's page, rendered in C: every value from the database or the
 * request goes through ed_html_escape_append(), and the page carries no
 * inline script or style, so that a strict Content-Security-Policy holds.
 * It works without JavaScript (a plain form posting to the page itself);
 * /r/static/rsvp.js only adds the live seat count.
 */

static const char * const notice_names[] = {
  [ED_RSVP_NOTICE_NONE] = "",
  [ED_RSVP_NOTICE_SAVED] = "saved",
  [ED_RSVP_NOTICE_FULL] = "full",
  [ED_RSVP_NOTICE_NOT_ENOUGH_SEATS] = "not-enough-seats",
  [ED_RSVP_NOTICE_CLOSED] = "closed",
  [ED_RSVP_NOTICE_INVALID] = "invalid",
};

const char *
ed_rsvp_notice_to_string (EdRsvpNotice notice)
{
  g_return_val_if_fail ((guint) notice < G_N_ELEMENTS (notice_names), "");

  return notice_names[notice];
}

EdRsvpNotice
ed_rsvp_notice_from_string (const char *text)
{
  if (text == NULL)
    return ED_RSVP_NOTICE_NONE;

  for (guint i = 1; i < G_N_ELEMENTS (notice_names); i++)
    if (strcmp (text, notice_names[i]) == 0)
      return (EdRsvpNotice) i;

  return ED_RSVP_NOTICE_NONE;
}

static gint64
answer_deadline (const EdEvent *event)
{
  return event->rsvp_deadline != 0 ? event->rsvp_deadline : event->starts_at;
}

/* Past the deadline, or cancelled by the organizer: the answer is shown
 * but can no longer be changed.
 */
gboolean
ed_rsvp_page_is_closed (const EdRsvpPage *page)
{
  return page->now >= answer_deadline (page->event) ||
         page->guest->status == ED_RSVP_CANCELLED;
}

/* The head every public page shares (the RSVP page, the unsubscribe
 * page): language, the style sheet and script, no referrer.
 */
void
ed_rsvp_page_append_head (GString    *html,
                          EdCatalog  *catalog,
                          const char *title)
{
  g_string_append (html, "<!DOCTYPE html>\n<html lang=\"");
  ed_html_escape_append (html, ed_catalog_get_language (catalog), -1);
  g_string_append (html, "\">\n<head>\n"
                         "<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                         "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
                         "<meta name=\"referrer\" content=\"no-referrer\">\n"
                         "<title>");
  ed_html_escape_append (html, title, -1);
  g_string_append (html, "</title>\n"
                         "<link rel=\"stylesheet\" href=\"/r/static/rsvp.css\">\n"
                         "<script src=\"/r/static/rsvp.js\" defer></script>\n"
                         "</head>\n");
}

/* Text as paragraphs: a blank line starts a new one, a line break stays. */
static void
append_paragraphs (GString    *html,
                   const char *text)
{
  g_auto(GStrv) paragraphs = NULL;
  g_autofree char *normalized = NULL;
  GString *copy = g_string_new (text);

  g_string_replace (copy, "\r\n", "\n", 0);
  normalized = g_string_free (copy, FALSE);
  paragraphs = g_strsplit (normalized, "\n\n", -1);

  for (guint i = 0; paragraphs[i] != NULL; i++)
    {
      g_auto(GStrv) lines = NULL;
      char *paragraph = g_strstrip (paragraphs[i]);

      if (*paragraph == '\0')
        continue;

      lines = g_strsplit (paragraph, "\n", -1);
      g_string_append (html, "<p>");
      for (guint j = 0; lines[j] != NULL; j++)
        {
          if (j > 0)
            g_string_append (html, "<br>\n");
          ed_html_escape_append (html, lines[j], -1);
        }
      g_string_append (html, "</p>\n");
    }
}

static void
append_fact (GString    *html,
             const char *term,
             const char *escaped_value)
{
  g_string_append (html, "<div class=\"fact\"><dt>");
  ed_html_escape_append (html, term, -1);
  g_string_append (html, "</dt><dd>");
  g_string_append (html, escaped_value);
  g_string_append (html, "</dd></div>\n");
}

static char *
status_text (const EdRsvpPage *page,
             EdCatalog        *catalog)
{
  const EdGuest *guest = page->guest;
  g_autofree char *position = NULL;
  g_autofree char *party = g_strdup_printf ("%d", guest->party_size);

  switch (guest->status)
    {
    case ED_RSVP_ACCEPTED:
      return ed_rsvp_expand (ed_catalog_ngettext (catalog,
                                                  "You’re coming. We’ve kept a seat for you.",
                                                  "You’re coming. We’ve kept {n} seats for your party.",
                                                  (gulong) guest->party_size),
                             "n", party, NULL);

    case ED_RSVP_WAITLISTED:
      position = ed_rsvp_format_number (catalog, guest->waitlist_position);
      return ed_rsvp_expand (ed_catalog_ngettext (catalog,
                                                  "You’re on the waiting list, number {position} in line. "
                                                  "As soon as a seat is free for you, it’s yours, and we’ll email you.",
                                                  "You’re on the waiting list, number {position} in line. "
                                                  "As soon as {n} seats are free for your party, they’re yours, and we’ll email you.",
                                                  (gulong) guest->party_size),
                             "position", position, "n", party, NULL);

    case ED_RSVP_DECLINED:
      return g_strdup (ed_catalog_gettext (catalog, "You’ve said you can’t come."));

    case ED_RSVP_CANCELLED:
      return g_strdup (ed_catalog_gettext (catalog,
                                           "Your invitation has been cancelled. If you think this is "
                                           "a mistake, please contact the organizer."));

    case ED_RSVP_PENDING:
    default:
      return g_strdup (ed_catalog_gettext (catalog, "You haven’t answered yet."));
    }
}

static char *
notice_text (const EdRsvpPage *page,
             EdCatalog        *catalog)
{
  g_autofree char *deadline = NULL;
  g_autofree char *max = NULL;

  switch (page->notice)
    {
    case ED_RSVP_NOTICE_SAVED:
      return g_strdup (ed_catalog_gettext (catalog, "Thank you! Your answer has been saved."));

    case ED_RSVP_NOTICE_FULL:
      return g_strdup (ed_catalog_gettext (catalog,
                                           "Sorry, the event is full and has no waiting list. "
                                           "Your answer has not been changed."));

    case ED_RSVP_NOTICE_NOT_ENOUGH_SEATS:
      return g_strdup (ed_catalog_gettext (catalog,
                                           "Sorry, there are not enough free seats for a larger party. "
                                           "You keep the seats you have."));

    case ED_RSVP_NOTICE_CLOSED:
      deadline = ed_rsvp_format_moment (catalog, answer_deadline (page->event), page->event->timezone);
      return ed_rsvp_expand (ed_catalog_gettext (catalog,
                                                 "Answers closed on {date}. Your answer has not been changed."),
                             "date", deadline, NULL);

    case ED_RSVP_NOTICE_INVALID:
      max = g_strdup_printf ("%d", page->event->max_party_size);
      return ed_rsvp_expand (ed_catalog_gettext (catalog,
                                                 "Please choose whether you’ll come, and how many people "
                                                 "you’ll be (1 to {max})."),
                             "max", max, NULL);

    case ED_RSVP_NOTICE_NONE:
    default:
      return NULL;
    }
}

static void
append_seats (GString          *html,
              const EdRsvpPage *page,
              EdCatalog        *catalog)
{
  gint64 seats_left = MAX (page->event->capacity - page->seats_taken, 0);
  g_autofree char *number = ed_rsvp_format_number (catalog, seats_left);
  g_autofree char *url = g_strconcat ("/r/", page->token, "/seats", NULL);
  const char *full_note = page->event->waitlist_enabled
    ? ed_catalog_gettext (catalog, "The event is full: answering yes puts you on the waiting list.")
    : ed_catalog_gettext (catalog, "The event is full.");
  g_autoptr(GString) value = g_string_new ("<span id=\"seats-left\" class=\"seats-left\" data-seats-url=\"");

  ed_html_escape_append (value, url, -1);
  g_string_append (value, "\" data-thousands-separator=\"");
  ed_html_escape_append (value, ed_catalog_pgettext (catalog, "thousands separator", ","), -1);
  g_string_append (value, "\" aria-live=\"polite\">");
  ed_html_escape_append (value, number, -1);
  g_string_append (value, "</span> <span id=\"seats-full-note\" class=\"note\"");
  if (seats_left > 0)
    g_string_append (value, " hidden");
  g_string_append (value, ">");
  ed_html_escape_append (value, full_note, -1);
  g_string_append (value, "</span>");

  append_fact (html, ed_catalog_gettext (catalog, "Seats left"), value->str);
}

static void
append_form (GString          *html,
             const EdRsvpPage *page,
             EdCatalog        *catalog)
{
  const EdGuest *guest = page->guest;
  gboolean coming = guest->status == ED_RSVP_ACCEPTED || guest->status == ED_RSVP_WAITLISTED;
  gboolean answered = guest->status != ED_RSVP_PENDING;
  g_autofree char *action = g_strconcat ("/r/", page->token, NULL);
  g_autofree char *deadline = ed_rsvp_format_moment (catalog, answer_deadline (page->event),
                                                     page->event->timezone);
  g_autofree char *until = ed_rsvp_expand (ed_catalog_gettext (catalog,
                                                               "You can change your answer until {date}."),
                                           "date", deadline, NULL);

  g_string_append (html, "<form class=\"answer-form\" method=\"post\" action=\"");
  ed_html_escape_append (html, action, -1);
  g_string_append (html, "\">\n<fieldset class=\"choices\">\n<legend>");
  ed_html_escape_append (html, ed_catalog_gettext (catalog, "Will you come?"), -1);
  g_string_append (html, "</legend>\n");

  g_string_append_printf (html,
                          "<div class=\"choice\"><input type=\"radio\" id=\"response-accept\" "
                          "name=\"response\" value=\"accept\" required%s>"
                          "<label for=\"response-accept\">",
                          coming ? " checked" : "");
  ed_html_escape_append (html, ed_catalog_gettext (catalog, "Yes, I’ll come"), -1);
  g_string_append_printf (html,
                          "</label></div>\n"
                          "<div class=\"choice\"><input type=\"radio\" id=\"response-decline\" "
                          "name=\"response\" value=\"decline\"%s>"
                          "<label for=\"response-decline\">",
                          guest->status == ED_RSVP_DECLINED ? " checked" : "");
  ed_html_escape_append (html, ed_catalog_gettext (catalog, "No, I can’t come"), -1);
  g_string_append (html, "</label></div>\n</fieldset>\n");

  if (page->event->max_party_size > 1)
    {
      g_autofree char *max = g_strdup_printf ("%d", page->event->max_party_size);
      g_autofree char *hint = ed_rsvp_expand (ed_catalog_gettext (catalog, "Up to {max} people."),
                                              "max", max, NULL);

      g_string_append (html, "<div class=\"party\">\n<label for=\"party-size\">");
      ed_html_escape_append (html, ed_catalog_gettext (catalog, "How many people, including you?"), -1);
      g_string_append (html, "</label>\n<select id=\"party-size\" name=\"party_size\" "
                             "aria-describedby=\"party-size-hint\">\n");
      for (gint i = 1; i <= page->event->max_party_size; i++)
        g_string_append_printf (html, "<option value=\"%d\"%s>%d</option>\n",
                                i, i == guest->party_size ? " selected" : "", i);
      g_string_append (html, "</select>\n<p id=\"party-size-hint\" class=\"hint\">");
      ed_html_escape_append (html, hint, -1);
      g_string_append (html, "</p>\n</div>\n");
    }
  else
    g_string_append (html, "<input type=\"hidden\" name=\"party_size\" value=\"1\">\n");

  g_string_append (html, "<button type=\"submit\" class=\"primary\">");
  ed_html_escape_append (html, answered ? ed_catalog_gettext (catalog, "Change my answer")
                                         : ed_catalog_gettext (catalog, "Send my answer"), -1);
  g_string_append (html, "</button>\n<p class=\"hint\">");
  ed_html_escape_append (html, until, -1);
  g_string_append (html, "</p>\n</form>\n");
}

/**
 * ed_rsvp_page_render:
 * @page: what to show
 * @catalog: (nullable): the guest's language; %NULL for English
 *
 * Returns: the page as HTML
 */
char *
ed_rsvp_page_render (const EdRsvpPage *page,
                     EdCatalog        *catalog)
{
  const EdEvent *event;
  const EdGuest *guest;
  GString *html = g_string_sized_new (8192);
  g_autofree char *title = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *when = NULL;
  g_autofree char *zone = NULL;
  g_autofree char *status = NULL;
  g_autofree char *notice = NULL;
  g_autofree char *start_iso = NULL;
  g_autoptr(GString) when_html = g_string_new ("<time datetime=\"");
  gboolean closed;

  g_return_val_if_fail (page != NULL && page->event != NULL && page->guest != NULL, NULL);

  event = page->event;
  guest = page->guest;
  closed = ed_rsvp_page_is_closed (page);

  title = ed_rsvp_expand (ed_catalog_gettext (catalog, "{event} — your invitation"),
                          "event", event->name, NULL);
  ed_rsvp_page_append_head (html, catalog, title);

  g_string_append (html, "<body>\n<main class=\"card\">\n<header class=\"intro\">\n<p class=\"eyebrow\">");
  if (guest->first_name != NULL && *guest->first_name != '\0')
    greeting = ed_rsvp_expand (ed_catalog_gettext (catalog, "Hello {name}, you’re invited to"),
                               "name", guest->first_name, NULL);
  else
    greeting = g_strdup (ed_catalog_gettext (catalog, "Hello, you’re invited to"));
  ed_html_escape_append (html, greeting, -1);
  g_string_append (html, "</p>\n<h1>");
  ed_html_escape_append (html, event->name, -1);
  g_string_append (html, "</h1>\n</header>\n");

  notice = notice_text (page, catalog);
  if (notice != NULL)
    {
      g_string_append_printf (html, "<p id=\"notice\" class=\"notice notice-%s\" role=\"%s\" tabindex=\"-1\">",
                              ed_rsvp_notice_to_string (page->notice),
                              page->notice == ED_RSVP_NOTICE_SAVED ? "status" : "alert");
      ed_html_escape_append (html, notice, -1);
      g_string_append (html, "</p>\n");
    }

  /* When, where, seats */
  g_string_append (html, "<dl class=\"facts\">\n");
  when = ed_rsvp_format_when (catalog, event);
  start_iso = ed_time_format_rfc3339 (event->starts_at);
  zone = ed_rsvp_expand (ed_catalog_gettext (catalog, "Time zone: {zone}"),
                         "zone", event->timezone, NULL);
  ed_html_escape_append (when_html, start_iso, -1);
  g_string_append (when_html, "\">");
  ed_html_escape_append (when_html, when, -1);
  g_string_append (when_html, "</time><br><span class=\"note\">");
  ed_html_escape_append (when_html, zone, -1);
  g_string_append (when_html, "</span>");
  append_fact (html, ed_catalog_gettext (catalog, "When"), when_html->str);

  if (event->venue != NULL && *event->venue != '\0')
    {
      g_autofree char *venue = ed_html_escape_text (event->venue);

      append_fact (html, ed_catalog_gettext (catalog, "Where"), venue);
    }
  append_seats (html, page, catalog);
  g_string_append (html, "</dl>\n");

  if (event->description != NULL && *event->description != '\0')
    {
      g_string_append (html, "<section class=\"description\" aria-label=\"");
      ed_html_escape_append (html, ed_catalog_gettext (catalog, "About the event"), -1);
      g_string_append (html, "\">\n");
      append_paragraphs (html, event->description);
      g_string_append (html, "</section>\n");
    }

  /* The answer */
  g_string_append (html, "<section class=\"answer\" aria-labelledby=\"answer-heading\">\n"
                         "<h2 id=\"answer-heading\">");
  ed_html_escape_append (html, ed_catalog_gettext (catalog, "Your answer"), -1);
  g_string_append_printf (html, "</h2>\n<p id=\"current-answer\" class=\"status status-%s\">",
                          ed_rsvp_status_to_string (guest->status));
  status = status_text (page, catalog);
  ed_html_escape_append (html, status, -1);
  g_string_append (html, "</p>\n");

  if (guest->status == ED_RSVP_ACCEPTED)
    {
      g_autofree char *ics = g_strconcat ("/r/", page->token, "/calendar.ics", NULL);

      g_string_append (html, "<p class=\"calendar\"><a class=\"button\" id=\"add-to-calendar\" href=\"");
      ed_html_escape_append (html, ics, -1);
      g_string_append (html, "\" download>");
      ed_html_escape_append (html, ed_catalog_gettext (catalog, "Add to calendar (.ics)"), -1);
      g_string_append (html, "</a></p>\n");
    }

  if (closed)
    {
      if (guest->status != ED_RSVP_CANCELLED)
        {
          g_autofree char *deadline = ed_rsvp_format_moment (catalog, answer_deadline (event), event->timezone);
          g_autofree char *text = ed_rsvp_expand (ed_catalog_gettext (catalog,
                                                                      "Answers closed on {date}."),
                                                  "date", deadline, NULL);

          g_string_append (html, "<p class=\"closed\">");
          ed_html_escape_append (html, text, -1);
          g_string_append (html, "</p>\n");
        }
    }
  else
    append_form (html, page, catalog);

  g_string_append (html, "</section>\n</main>\n<footer class=\"footer\"><p>");
  ed_html_escape_append (html, ed_catalog_gettext (catalog,
                                                    "This page is personal: please don’t share its address."), -1);
  g_string_append (html, "</p></footer>\n</body>\n</html>\n");

  return g_string_free (html, FALSE);
}

/* The one page for every link that does not work — unknown, mistyped,
 * tampered with, revoked or expired — so that it tells nothing.
 */
char *
ed_rsvp_page_render_invalid_link (EdCatalog *catalog)
{
  GString *html = g_string_sized_new (2048);
  const char *title = ed_catalog_gettext (catalog, "This link doesn’t work");

  ed_rsvp_page_append_head (html, catalog, title);
  g_string_append (html, "<body>\n<main class=\"card\">\n<header class=\"intro\">\n<h1>");
  ed_html_escape_append (html, title, -1);
  g_string_append (html, "</h1>\n</header>\n<p>");
  ed_html_escape_append (html, ed_catalog_gettext (catalog,
                                                    "The link may be incomplete, or it may have been "
                                                    "replaced by a newer one."), -1);
  g_string_append (html, "</p>\n<p>");
  ed_html_escape_append (html, ed_catalog_gettext (catalog,
                                                    "Please open the link in your most recent invitation "
                                                    "email, or ask the organizer of the event for a new one."), -1);
  g_string_append (html, "</p>\n</main>\n</body>\n</html>\n");

  return g_string_free (html, FALSE);
}

/* The catalog of the language the request's Accept-Language prefers. */
EdCatalog *
ed_rsvp_page_request_catalog (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  return ed_catalog_for_accept_language (soup_message_headers_get_one (headers, "Accept-Language"));
}
