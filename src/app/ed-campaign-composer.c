/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-campaigns"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <webkit/webkit.h>

#include "ed-campaign-composer.h"
#include "ed-campaign-util.h"
#include "ed-json-util.h"
#include "ed-template-fields.h"

#define AUDIENCE_COUNT_DELAY_MS 300
#define PREVIEW_GUESTS "100"
/* What the preview's web view may load: the HTML it is given, and images
 * and styles inside it; nothing from the network (a sender would learn
 * that the message was looked at, and remote content may be anything).
 */
#define PREVIEW_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

typedef enum
{
  FIELD_KIND,
  FIELD_AUDIENCE,
  FIELD_SUBJECT,
  FIELD_TEXT,
  FIELD_HTML,
  N_FIELDS
} Field;

static const char * const field_names[N_FIELDS] = { "kind", "audience", "subject", "text", "html" };
static const char * const kinds[] = { "invitation", "reminder", "update" };

/* What to do once a save went through. */
typedef enum
{
  THEN_NOTHING,
  THEN_CLOSE,
  THEN_PREVIEW,
  THEN_TEST,
} Then;

struct _EdCampaignComposer
{
  AdwWindow        parent_instance;

  /* template widgets */
  AdwToastOverlay *toast_overlay;
  AdwViewStack    *view_stack;
  GtkSpinner      *spinner;
  AdwComboRow     *kind_row;
  AdwComboRow     *audience_row;
  AdwEntryRow     *subject_row;
  GtkTextView     *text_view;
  GtkTextView     *html_view;
  GtkMenuButton   *subject_menu_button;
  GtkMenuButton   *text_menu_button;
  GtkMenuButton   *html_menu_button;
  GtkLabel        *audience_error;
  GtkLabel        *subject_error;
  GtkLabel        *text_error;
  GtkLabel        *html_error;
  GtkDropDown     *guest_dropdown;
  GtkEntry        *test_entry;
  GtkLabel        *test_result_label;
  GtkLabel        *preview_to_label;
  GtkLabel        *preview_subject_label;
  GtkFrame        *html_frame;
  GtkTextView     *preview_text_view;

  /* owned */
  EdClient        *client;
  GCancellable    *cancellable;        /* cancelled when the window goes */
  GCancellable    *count_cancellable;
  JsonObject      *campaign;           /* as last saved, or NULL */
  GPtrArray       *audiences;          /* the API's forms, as in audience_row */
  GArray          *guest_ids;          /* gint64, as in guest_dropdown */
  JsonObject      *preview;
  JsonObject      *test_result;
  char            *test_address;

  /* borrowed */
  GtkWidget       *web_view;
  AdwToast        *error_toast;        /* why the last save failed, while shown */

  gint64           event_id;
  gint64           campaign_id;
  gint64           recipients;
  guint            count_source;
  guint            n_busy;
  gboolean         dirty;
  gboolean         loading_fields;
  gboolean         guests_loaded;
  gboolean         preview_loaded;
};

enum {
  SIGNAL_SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EdCampaignComposer, ed_campaign_composer, ADW_TYPE_WINDOW)

static void save (EdCampaignComposer *self, Then then);
static void load_preview (EdCampaignComposer *self);
static void send_test (EdCampaignComposer *self);

static void
show_toast (EdCampaignComposer *self,
            const char         *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
on_error_toast_dismissed_cb (AdwToast           *toast,
                             EdCampaignComposer *self)
{
  if (self->error_toast == toast)
    self->error_toast = NULL;
}

/* One message about the last save at a time; a save that works takes it
 * away. */
static void
show_save_error (EdCampaignComposer *self,
                 const char         *title)
{
  if (self->error_toast != NULL)
    adw_toast_dismiss (self->error_toast);
  self->error_toast = adw_toast_new (title);
  adw_toast_set_timeout (self->error_toast, 0);
  g_signal_connect_object (self->error_toast, "dismissed", G_CALLBACK (on_error_toast_dismissed_cb), self, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, self->error_toast);
}

static void
update_busy (EdCampaignComposer *self)
{
  gtk_spinner_set_spinning (self->spinner, self->n_busy > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.save", self->n_busy == 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.send-test", self->n_busy == 0);
}

static void
begin_busy (EdCampaignComposer *self)
{
  self->n_busy++;
  update_busy (self);
}

static void
end_busy (EdCampaignComposer *self)
{
  g_assert (self->n_busy > 0);
  self->n_busy--;
  update_busy (self);
}

static Field
field_from_name (const char *name)
{
  for (Field field = 0; field < N_FIELDS; field++)
    if (g_strcmp0 (name, field_names[field]) == 0)
      return field;

  g_return_val_if_reached (N_FIELDS);
}

static GtkLabel *
get_error_label (EdCampaignComposer *self,
                 Field               field)
{
  switch (field)
    {
    case FIELD_KIND:
    case FIELD_AUDIENCE:
      return self->audience_error;
    case FIELD_SUBJECT:
      return self->subject_error;
    case FIELD_TEXT:
      return self->text_error;
    case FIELD_HTML:
      return self->html_error;
    case N_FIELDS:
    default:
      g_return_val_if_reached (NULL);
    }
}

static void
set_field_error (EdCampaignComposer *self,
                 Field               field,
                 const char         *message)
{
  GtkLabel *label = get_error_label (self, field);

  gtk_label_set_label (label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
  if (field == FIELD_SUBJECT)
    {
      if (message != NULL)
        gtk_widget_add_css_class (GTK_WIDGET (self->subject_row), "error");
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self->subject_row), "error");
    }
}

static void
clear_field_errors (EdCampaignComposer *self)
{
  for (Field field = 0; field < N_FIELDS; field++)
    set_field_error (self, field, NULL);
}

static char *
get_buffer_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static const char *
get_audience (EdCampaignComposer *self)
{
  guint selected = adw_combo_row_get_selected (self->audience_row);

  return selected < self->audiences->len ? g_ptr_array_index (self->audiences, selected) : "all";
}

/* Selects @audience, adding it to the choices when it is another (one
 * made with eventdeskctl, say). */
static void
select_audience (EdCampaignComposer *self,
                 const char         *audience)
{
  GtkStringList *model = GTK_STRING_LIST (adw_combo_row_get_model (self->audience_row));

  for (guint i = 0; i < self->audiences->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->audiences, i), audience) == 0)
      {
        adw_combo_row_set_selected (self->audience_row, i);
        return;
      }

  g_ptr_array_add (self->audiences, g_strdup (audience));
  gtk_string_list_append (model, audience);
  adw_combo_row_set_selected (self->audience_row, self->audiences->len - 1);
}

static void
update_title (EdCampaignComposer *self)
{
  const char *state = self->campaign ? json_object_get_string_member_with_default (self->campaign, "state", NULL) : NULL;

  if (self->campaign_id == 0)
    gtk_window_set_title (GTK_WINDOW (self), _("New Campaign"));
  else if (g_strcmp0 (state, "paused") == 0)
    gtk_window_set_title (GTK_WINDOW (self), _("Edit Paused Campaign"));
  else
    gtk_window_set_title (GTK_WINDOW (self), _("Edit Campaign"));
}

static void
set_campaign (EdCampaignComposer *self,
              JsonObject         *campaign)
{
  g_clear_pointer (&self->campaign, json_object_unref);
  self->campaign = campaign ? json_object_ref (campaign) : NULL;
  self->campaign_id = campaign ? json_object_get_int_member_with_default (campaign, "id", 0) : 0;
  update_title (self);
}

/* Fills the fields from @campaign (NULL: a new invitation). */
static void
load_fields (EdCampaignComposer *self,
             JsonObject         *campaign)
{
  const char *kind = campaign ? json_object_get_string_member_with_default (campaign, "kind", "invitation") : "invitation";
  JsonNode *html = campaign ? json_object_get_member (campaign, "html") : NULL;

  self->loading_fields = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kinds[i], kind))
      adw_combo_row_set_selected (self->kind_row, i);
  select_audience (self, campaign ? json_object_get_string_member_with_default (campaign, "audience", "all") : "all");
  gtk_editable_set_text (GTK_EDITABLE (self->subject_row),
                         campaign ? json_object_get_string_member_with_default (campaign, "subject", "") : "");
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view),
                            campaign ? json_object_get_string_member_with_default (campaign, "text", "") : "", -1);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->html_view),
                            html != NULL && JSON_NODE_HOLDS_VALUE (html) ? json_node_get_string (html) : "", -1);
  self->loading_fields = FALSE;
  self->dirty = FALSE;
}

static gboolean
is_blank (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;

  return TRUE;
}

static JsonNode *
build_body (EdCampaignComposer *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *text = get_buffer_text (self->text_view);
  g_autofree char *html = get_buffer_text (self->html_view);
  guint kind = adw_combo_row_get_selected (self->kind_row);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, kinds[MIN (kind, G_N_ELEMENTS (kinds) - 1)]);
  json_builder_set_member_name (builder, "audience");
  json_builder_add_string_value (builder, get_audience (self));
  json_builder_set_member_name (builder, "subject");
  json_builder_add_string_value (builder, gtk_editable_get_text (GTK_EDITABLE (self->subject_row)));
  json_builder_set_member_name (builder, "text");
  json_builder_add_string_value (builder, text);
  /* An empty HTML body is a text-only message. */
  json_builder_set_member_name (builder, "html");
  if (is_blank (html))
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, html);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* Saving */

typedef struct
{
  EdCampaignComposer *self;
  Then                then;
} SaveCall;

static void
on_saved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  SaveCall *call = user_data;
  g_autoptr(EdCampaignComposer) self = call->self;
  Then then = call->then;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) fields = NULL;

  g_free (call);
  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      fields = ed_client_call_dup_error_fields (ED_CLIENT (source), result);
      clear_field_errors (self);
      if (fields != NULL && g_hash_table_size (fields) > 0)
        {
          GHashTableIter iter;
          const char *name, *message;
          gboolean shown = FALSE;

          g_hash_table_iter_init (&iter, fields);
          while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &message))
            for (Field field = 0; field < N_FIELDS; field++)
              if (g_str_equal (name, field_names[field]))
                {
                  set_field_error (self, field, message);
                  shown = TRUE;
                }
          show_save_error (self, shown ? _("Not saved: see the marked fields") : error->message);
        }
      else
        {
          g_autofree char *title = g_strdup_printf (_("Not saved: %s"), error ? error->message : _("no answer"));

          show_save_error (self, title);
        }
      /* Back where the fields are. */
      adw_view_stack_set_visible_child_name (self->view_stack, "compose");
      return;
    }

  clear_field_errors (self);
  if (self->error_toast != NULL)
    adw_toast_dismiss (self->error_toast);
  set_campaign (self, json_node_get_object (answer));
  self->dirty = FALSE;
  g_signal_emit (self, signals[SIGNAL_SAVED], 0, self->campaign);

  switch (then)
    {
    case THEN_CLOSE:
      gtk_window_close (GTK_WINDOW (self));
      break;
    case THEN_PREVIEW:
      load_preview (self);
      break;
    case THEN_TEST:
      send_test (self);
      break;
    case THEN_NOTHING:
    default:
      break;
    }
}

static void
save (EdCampaignComposer *self,
      Then                then)
{
  g_autoptr(JsonNode) body = build_body (self);
  g_autofree char *path = NULL;
  SaveCall *call;

  if (self->campaign_id > 0)
    path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT, self->campaign_id);
  else
    path = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/campaigns", self->event_id);

  call = g_new0 (SaveCall, 1);
  call->self = g_object_ref (self);
  call->then = then;
  begin_busy (self);
  ed_client_call_async (self->client, self->campaign_id > 0 ? "PATCH" : "POST", path, body,
                        self->cancellable, on_saved_cb, call);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  save (ED_CAMPAIGN_COMPOSER (widget), THEN_CLOSE);
}

/* The audience's count */

static void
on_audience_count_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(EdCampaignComposer) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *count = NULL;

  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->audience_row), "");
      set_field_error (self, FIELD_AUDIENCE, error ? error->message : NULL);
      return;
    }

  self->recipients = json_object_get_int_member_with_default (json_node_get_object (answer), "count", 0);
  count = ed_campaign_format_count (self->recipients);
  subtitle = g_strdup_printf (ngettext ("%s guest now", "%s guests now", (gulong) self->recipients), count);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->audience_row), subtitle);
}

static gboolean
on_count_timeout_cb (gpointer user_data)
{
  EdCampaignComposer *self = user_data;
  g_autofree char *base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/audience", self->event_id);
  g_autofree char *path = ed_client_build_path (base, "audience", get_audience (self), NULL);

  self->count_source = 0;
  g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);
  self->count_cancellable = g_cancellable_new ();
  ed_client_call_async (self->client, "GET", path, NULL, self->count_cancellable,
                        on_audience_count_cb, g_object_ref (self));

  return G_SOURCE_REMOVE;
}

/* Counts after a short pause, so that going through the list asks once. */
static void
schedule_count (EdCampaignComposer *self)
{
  self->recipients = -1;
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->audience_row), _("Counting…"));
  g_clear_handle_id (&self->count_source, g_source_remove);
  self->count_source = g_timeout_add (AUDIENCE_COUNT_DELAY_MS, on_count_timeout_cb, self);
}

static void
on_field_changed_cb (EdCampaignComposer *self)
{
  if (!self->loading_fields)
    self->dirty = TRUE;
}

static void
on_audience_changed_cb (EdCampaignComposer *self)
{
  on_field_changed_cb (self);
  set_field_error (self, FIELD_AUDIENCE, NULL);
  if (self->audiences != NULL)
    schedule_count (self);
}

/* Placeholders */

static GMenuModel *
build_placeholder_menu (Field field)
{
  GMenu *menu = g_menu_new ();
  static const struct
  {
    EdTemplateFieldKind kind;
    const char         *title;
  } sections[] = {
    { ED_TEMPLATE_FIELD_GUEST, N_("Guest") },
    { ED_TEMPLATE_FIELD_EVENT, N_("Event") },
    { ED_TEMPLATE_FIELD_LINK, N_("Links") },
  };
  guint n_fields;
  const EdTemplateField *fields = ed_template_fields_get (&n_fields);

  for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
    {
      g_autoptr(GMenu) section = g_menu_new ();

      for (guint i = 0; i < n_fields; i++)
        {
          g_autofree char *label = NULL;
          g_autoptr(GMenuItem) item = NULL;

          /* extra.* stands for any column of the guest list. */
          if (fields[i].kind != sections[s].kind || g_str_has_suffix (fields[i].name, "*"))
            continue;
          label = g_strdup_printf ("{{%s}}", fields[i].name);
          item = g_menu_item_new (label, NULL);
          g_menu_item_set_action_and_target_value (item, "composer.insert-placeholder",
                                                   g_variant_new ("(ss)", field_names[field], fields[i].name));
          g_menu_append_item (section, item);
        }
      g_menu_append_section (menu, _(sections[s].title), G_MENU_MODEL (section));
    }

  return G_MENU_MODEL (menu);
}

static void
insert_placeholder (EdCampaignComposer *self,
                    Field               field,
                    const char         *name)
{
  g_autofree char *text = g_strdup_printf ("{{%s}}", name);

  if (field == FIELD_SUBJECT)
    {
      GtkEditable *editable = GTK_EDITABLE (self->subject_row);
      int position = gtk_editable_get_position (editable);

      gtk_editable_insert_text (editable, text, -1, &position);
      gtk_widget_grab_focus (GTK_WIDGET (self->subject_row));
      gtk_editable_set_position (editable, position);
    }
  else if (field == FIELD_TEXT || field == FIELD_HTML)
    {
      GtkTextView *view = field == FIELD_TEXT ? self->text_view : self->html_view;

      gtk_text_buffer_insert_at_cursor (gtk_text_view_get_buffer (view), text, -1);
      gtk_widget_grab_focus (GTK_WIDGET (view));
    }
}

static void
insert_placeholder_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  const char *field, *name;

  g_variant_get (parameter, "(&s&s)", &field, &name);
  insert_placeholder (ED_CAMPAIGN_COMPOSER (widget), field_from_name (field), name);
}

/* The preview */

static char *
with_csp (const char *html)
{
  const char *meta = "<meta http-equiv=\"Content-Security-Policy\" content=\"" PREVIEW_CSP "\">";
  const char *end = strchr (html, '>');

  /* Right after the doctype, so the page keeps its mode; a meta before
   * <html> ends up in the head the parser makes. */
  if (g_ascii_strncasecmp (html, "<!DOCTYPE", 9) == 0 && end != NULL)
    {
      g_autofree char *doctype = g_strndup (html, (gsize) (end + 1 - html));

      return g_strconcat (doctype, meta, end + 1, NULL);
    }

  return g_strconcat (meta, html, NULL);
}

static void
show_preview_html (EdCampaignComposer *self,
                   const char         *html)
{
  g_autofree char *page = NULL;

  if (html == NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (_("This campaign has no HTML part: every guest gets the plain text."), -1);

      page = g_strdup_printf ("<!DOCTYPE html><p style=\"font-family: sans-serif; color: #555\">%s</p>", escaped);
      html = page;
    }

  self->preview_loaded = FALSE;
  {
    g_autofree char *guarded = with_csp (html);

    webkit_web_view_load_html (WEBKIT_WEB_VIEW (self->web_view), guarded, NULL);
  }
}

static void
on_preview_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(EdCampaignComposer) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *preview;
  JsonNode *html;

  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_autofree char *title = g_strdup_printf (_("No preview: %s"), error ? error->message : _("no answer"));

      show_toast (self, title);
      return;
    }

  preview = json_node_get_object (answer);
  g_clear_pointer (&self->preview, json_object_unref);
  self->preview = json_object_ref (preview);
  gtk_label_set_label (self->preview_to_label, json_object_get_string_member_with_default (preview, "to", ""));
  gtk_label_set_label (self->preview_subject_label, json_object_get_string_member_with_default (preview, "subject", ""));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->preview_text_view),
                            json_object_get_string_member_with_default (preview, "text", ""), -1);
  html = json_object_get_member (preview, "html");
  show_preview_html (self, html != NULL && JSON_NODE_HOLDS_VALUE (html) ? json_node_get_string (html) : NULL);
}

static gint64
get_preview_guest (EdCampaignComposer *self)
{
  guint selected = gtk_drop_down_get_selected (self->guest_dropdown);

  return self->guest_ids != NULL && selected < self->guest_ids->len ? g_array_index (self->guest_ids, gint64, selected) : 0;
}

static void
load_preview (EdCampaignComposer *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *path = NULL;
  gint64 guest_id = get_preview_guest (self);

  if (self->campaign_id == 0)
    return;

  json_builder_begin_object (builder);
  if (guest_id > 0)
    {
      json_builder_set_member_name (builder, "guest_id");
      json_builder_add_int_value (builder, guest_id);
    }
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/preview", self->campaign_id);
  begin_busy (self);
  ed_client_call_async (self->client, "POST", path, body, self->cancellable, on_preview_cb, g_object_ref (self));
}

static void
on_guests_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(EdCampaignComposer) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  JsonArray *items;

  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    return;

  g_array_set_size (self->guest_ids, 0);
  items = ed_json_get_array (json_node_get_object (answer), "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *guest = json_array_get_object_element (items, i);
      g_autofree char *name = NULL;
      gint64 id;

      if (guest == NULL)
        continue;
      id = json_object_get_int_member_with_default (guest, "id", 0);
      /* TRANSLATORS: a guest in the preview's list: first name, last name, address */
      name = g_strdup_printf (_("%s %s <%s>"),
                              json_object_get_string_member_with_default (guest, "first_name", ""),
                              json_object_get_string_member_with_default (guest, "last_name", ""),
                              json_object_get_string_member_with_default (guest, "email", ""));
      gtk_string_list_append (names, g_strstrip (name));
      g_array_append_val (self->guest_ids, id);
    }

  self->guests_loaded = TRUE;
  self->loading_fields = TRUE;
  gtk_drop_down_set_model (self->guest_dropdown, G_LIST_MODEL (names));
  self->loading_fields = FALSE;
}

static void
load_guests (EdCampaignComposer *self)
{
  g_autofree char *base = g_strdup_printf ("/api/v1/events/%" G_GINT64_FORMAT "/guests", self->event_id);
  g_autofree char *path = ed_client_build_path (base, "limit", PREVIEW_GUESTS, NULL);

  begin_busy (self);
  ed_client_call_async (self->client, "GET", path, NULL, self->cancellable, on_guests_cb, g_object_ref (self));
}

static void
on_guest_dropdown_selected_cb (EdCampaignComposer *self)
{
  if (!self->loading_fields && self->campaign_id > 0 && !self->dirty)
    load_preview (self);
}

static void
refresh_preview (EdCampaignComposer *self)
{
  if (!self->guests_loaded)
    load_guests (self);
  if (self->dirty || self->campaign_id == 0)
    save (self, THEN_PREVIEW);
  else
    load_preview (self);
}

static void
on_view_stack_visible_child_cb (EdCampaignComposer *self)
{
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "preview") == 0)
    refresh_preview (self);
}

/* Only the preview's own page; no link is followed, no window opened. */
static gboolean
on_web_view_decide_policy_cb (WebKitWebView            *web_view,
                              WebKitPolicyDecision     *decision,
                              WebKitPolicyDecisionType  type,
                              gpointer                  user_data)
{
  if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION)
    {
      WebKitNavigationAction *action =
        webkit_navigation_policy_decision_get_navigation_action (WEBKIT_NAVIGATION_POLICY_DECISION (decision));
      const char *uri = webkit_uri_request_get_uri (webkit_navigation_action_get_request (action));

      if (webkit_navigation_action_get_navigation_type (action) == WEBKIT_NAVIGATION_TYPE_OTHER &&
          g_strcmp0 (uri, "about:blank") == 0)
        {
          webkit_policy_decision_use (decision);
          return TRUE;
        }
    }

  webkit_policy_decision_ignore (decision);
  return TRUE;
}

static void
on_web_view_load_changed_cb (EdCampaignComposer *self,
                             WebKitLoadEvent     event)
{
  if (event == WEBKIT_LOAD_FINISHED)
    self->preview_loaded = TRUE;
}

static GtkWidget *
create_web_view (EdCampaignComposer *self)
{
  g_autoptr(WebKitNetworkSession) session = webkit_network_session_new_ephemeral ();
  g_autoptr(WebKitSettings) settings = webkit_settings_new ();
  GtkWidget *web_view;

  webkit_settings_set_enable_javascript (settings, FALSE);
  webkit_settings_set_enable_javascript_markup (settings, FALSE);
  webkit_settings_set_auto_load_images (settings, TRUE);
  webkit_settings_set_enable_page_cache (settings, FALSE);
  webkit_settings_set_enable_html5_local_storage (settings, FALSE);
  webkit_settings_set_enable_html5_database (settings, FALSE);
  webkit_settings_set_enable_developer_extras (settings, FALSE);

  /* Its own ephemeral session: nothing the preview does is kept. */
  web_view = g_object_new (WEBKIT_TYPE_WEB_VIEW,
                           "network-session", session,
                           "settings", settings,
                           NULL);
  gtk_widget_set_hexpand (web_view, TRUE);
  gtk_widget_set_vexpand (web_view, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (web_view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("HTML part as sent"), -1);
  g_signal_connect (web_view, "decide-policy", G_CALLBACK (on_web_view_decide_policy_cb), NULL);
  g_signal_connect_object (web_view, "load-changed", G_CALLBACK (on_web_view_load_changed_cb), self,
                           G_CONNECT_SWAPPED);
  return web_view;
}

/* Test sends */

static void
on_test_sent_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(EdCampaignComposer) self = user_data;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *code = NULL;
  JsonObject *reply;
  const char *outcome;

  end_busy (self);
  answer = ed_client_call_finish (ED_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  gtk_widget_remove_css_class (GTK_WIDGET (self->test_result_label), "ed-field-error");
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_autoptr(GHashTable) fields = ed_client_call_dup_error_fields (ED_CLIENT (source), result);
      const char *to_error = fields ? g_hash_table_lookup (fields, "to") : NULL;

      text = g_strdup_printf (_("Not sent: %s"), to_error ? to_error : (error ? error->message : _("no answer")));
      gtk_widget_add_css_class (GTK_WIDGET (self->test_result_label), "ed-field-error");
    }
  else
    {
      reply = json_node_get_object (answer);
      g_clear_pointer (&self->test_result, json_object_unref);
      self->test_result = json_object_ref (reply);
      outcome = json_object_get_string_member_with_default (reply, "result", "");
      code = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (reply, "code", 0));
      if (g_str_equal (outcome, "sent"))
        /* TRANSLATORS: a test message went out; the mail server's reply follows */
        text = g_strdup_printf (_("Test sent to %s (%s %s)"),
                                json_object_get_string_member_with_default (reply, "to", ""), code,
                                json_object_get_string_member_with_default (reply, "text", ""));
      else
        {
          text = g_strdup_printf (_("The mail server did not take the test for %s: %s %s"),
                                  json_object_get_string_member_with_default (reply, "to", ""), code,
                                  json_object_get_string_member_with_default (reply, "text", ""));
          gtk_widget_add_css_class (GTK_WIDGET (self->test_result_label), "ed-field-error");
        }
    }

  gtk_label_set_label (self->test_result_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->test_result_label), TRUE);
}

static void
send_test (EdCampaignComposer *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *path = NULL;
  gint64 guest_id = get_preview_guest (self);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "to");
  json_builder_add_string_value (builder, self->test_address ? self->test_address : "");
  if (guest_id > 0)
    {
      json_builder_set_member_name (builder, "guest_id");
      json_builder_add_int_value (builder, guest_id);
    }
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  path = g_strdup_printf ("/api/v1/campaigns/%" G_GINT64_FORMAT "/test", self->campaign_id);
  begin_busy (self);
  ed_client_call_async (self->client, "POST", path, body, self->cancellable, on_test_sent_cb, g_object_ref (self));
}

static void
send_test_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  EdCampaignComposer *self = ED_CAMPAIGN_COMPOSER (widget);

  g_free (self->test_address);
  self->test_address = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->test_entry))));
  gtk_label_set_label (self->test_result_label, _("Sending…"));
  gtk_widget_set_visible (GTK_WIDGET (self->test_result_label), TRUE);

  /* The test is made from the saved campaign: save the edits first. */
  if (self->dirty || self->campaign_id == 0)
    save (self, THEN_TEST);
  else
    send_test (self);
}

static void
on_test_entry_activate_cb (EdCampaignComposer *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "composer.send-test", NULL);
}

static void
ed_campaign_composer_dispose (GObject *object)
{
  EdCampaignComposer *self = ED_CAMPAIGN_COMPOSER (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->count_cancellable);
  g_clear_handle_id (&self->count_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), ED_TYPE_CAMPAIGN_COMPOSER);

  G_OBJECT_CLASS (ed_campaign_composer_parent_class)->dispose (object);
}

static void
ed_campaign_composer_finalize (GObject *object)
{
  EdCampaignComposer *self = ED_CAMPAIGN_COMPOSER (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->count_cancellable);
  g_clear_pointer (&self->campaign, json_object_unref);
  g_clear_pointer (&self->preview, json_object_unref);
  g_clear_pointer (&self->test_result, json_object_unref);
  g_clear_pointer (&self->audiences, g_ptr_array_unref);
  g_clear_pointer (&self->guest_ids, g_array_unref);
  g_clear_pointer (&self->test_address, g_free);

  G_OBJECT_CLASS (ed_campaign_composer_parent_class)->finalize (object);
}

static void
ed_campaign_composer_class_init (EdCampaignComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ed_campaign_composer_dispose;
  object_class->finalize = ed_campaign_composer_finalize;

  signals[SIGNAL_SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/eventdesk/Eventdesk/ed-campaign-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, view_stack);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, spinner);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, kind_row);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, audience_row);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, subject_row);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, text_view);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, html_view);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, subject_menu_button);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, text_menu_button);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, html_menu_button);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, audience_error);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, subject_error);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, text_error);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, html_error);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, guest_dropdown);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, test_entry);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, test_result_label);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, preview_to_label);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, preview_subject_label);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, html_frame);
  gtk_widget_class_bind_template_child (widget_class, EdCampaignComposer, preview_text_view);
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_audience_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_view_stack_visible_child_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_guest_dropdown_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_test_entry_activate_cb);

  gtk_widget_class_install_action (widget_class, "composer.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "composer.send-test", NULL, send_test_action);
  gtk_widget_class_install_action (widget_class, "composer.insert-placeholder", "(ss)", insert_placeholder_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "composer.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ed_campaign_composer_init (EdCampaignComposer *self)
{
  g_autoptr(GtkStringList) audience_labels = gtk_string_list_new (NULL);
  guint n_choices;
  const EdAudienceChoice *choices = ed_campaign_get_audience_choices (&n_choices);
  g_autoptr(GMenuModel) subject_menu = build_placeholder_menu (FIELD_SUBJECT);
  g_autoptr(GMenuModel) text_menu = build_placeholder_menu (FIELD_TEXT);
  g_autoptr(GMenuModel) html_menu = build_placeholder_menu (FIELD_HTML);
  g_autofree char *count_text = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->guest_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->recipients = -1;

  self->loading_fields = TRUE;
  for (guint i = 0; i < n_choices; i++)
    gtk_string_list_append (audience_labels, _(choices[i].label));
  adw_combo_row_set_model (self->audience_row, G_LIST_MODEL (audience_labels));
  self->audiences = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_choices; i++)
    g_ptr_array_add (self->audiences, g_strdup (choices[i].audience));
  self->loading_fields = FALSE;

  gtk_menu_button_set_menu_model (self->subject_menu_button, subject_menu);
  gtk_menu_button_set_menu_model (self->text_menu_button, text_menu);
  gtk_menu_button_set_menu_model (self->html_menu_button, html_menu);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->text_view), "changed",
                            G_CALLBACK (on_field_changed_cb), self);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->html_view), "changed",
                            G_CALLBACK (on_field_changed_cb), self);

  self->web_view = create_web_view (self);
  gtk_frame_set_child (self->html_frame, self->web_view);

  update_busy (self);
}

EdCampaignComposer *
ed_campaign_composer_new (EdClient   *client,
                          gint64      event_id,
                          JsonObject *campaign)
{
  EdCampaignComposer *self;

  g_return_val_if_fail (ED_IS_CLIENT (client), NULL);
  g_return_val_if_fail (event_id > 0, NULL);

  self = g_object_new (ED_TYPE_CAMPAIGN_COMPOSER, NULL);
  self->client = g_object_ref (client);
  self->event_id = event_id;
  set_campaign (self, campaign);
  load_fields (self, campaign);
  schedule_count (self);

  return self;
}

gint64
ed_campaign_composer_get_campaign_id (EdCampaignComposer *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), 0);
  return self->campaign_id;
}

void
ed_campaign_composer_set_field (EdCampaignComposer *self,
                                const char         *field,
                                const char         *value)
{
  g_return_if_fail (ED_IS_CAMPAIGN_COMPOSER (self));
  g_return_if_fail (value != NULL);

  switch (field_from_name (field))
    {
    case FIELD_KIND:
      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        if (g_str_equal (kinds[i], value))
          adw_combo_row_set_selected (self->kind_row, i);
      break;
    case FIELD_AUDIENCE:
      select_audience (self, value);
      break;
    case FIELD_SUBJECT:
      gtk_editable_set_text (GTK_EDITABLE (self->subject_row), value);
      break;
    case FIELD_TEXT:
      gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), value, -1);
      break;
    case FIELD_HTML:
      gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->html_view), value, -1);
      break;
    case N_FIELDS:
    default:
      g_return_if_reached ();
    }
}

char *
ed_campaign_composer_get_field (EdCampaignComposer *self,
                                const char         *field)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), NULL);

  switch (field_from_name (field))
    {
    case FIELD_KIND:
      return g_strdup (kinds[MIN (adw_combo_row_get_selected (self->kind_row), G_N_ELEMENTS (kinds) - 1)]);
    case FIELD_AUDIENCE:
      return g_strdup (get_audience (self));
    case FIELD_SUBJECT:
      return g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->subject_row)));
    case FIELD_TEXT:
      return get_buffer_text (self->text_view);
    case FIELD_HTML:
      return get_buffer_text (self->html_view);
    case N_FIELDS:
    default:
      g_return_val_if_reached (NULL);
    }
}

void
ed_campaign_composer_insert_placeholder (EdCampaignComposer *self,
                                         const char         *field,
                                         int                 offset,
                                         const char         *name)
{
  Field which;

  g_return_if_fail (ED_IS_CAMPAIGN_COMPOSER (self));

  which = field_from_name (field);
  if (which == FIELD_SUBJECT)
    gtk_editable_set_position (GTK_EDITABLE (self->subject_row), offset);
  else if (which == FIELD_TEXT || which == FIELD_HTML)
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (which == FIELD_TEXT ? self->text_view : self->html_view);
      GtkTextIter iter;

      if (offset < 0)
        gtk_text_buffer_get_end_iter (buffer, &iter);
      else
        gtk_text_buffer_get_iter_at_offset (buffer, &iter, offset);
      gtk_text_buffer_place_cursor (buffer, &iter);
    }

  gtk_widget_activate_action (GTK_WIDGET (self), "composer.insert-placeholder", "(ss)", field, name);
}

const char *
ed_campaign_composer_get_field_error (EdCampaignComposer *self,
                                      const char         *field)
{
  GtkLabel *label;

  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), NULL);

  label = get_error_label (self, field_from_name (field));
  return gtk_widget_get_visible (GTK_WIDGET (label)) ? gtk_label_get_label (label) : NULL;
}

gint64
ed_campaign_composer_get_recipients (EdCampaignComposer *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), -1);
  return self->recipients;
}

void
ed_campaign_composer_save (EdCampaignComposer *self)
{
  g_return_if_fail (ED_IS_CAMPAIGN_COMPOSER (self));
  gtk_widget_activate_action (GTK_WIDGET (self), "composer.save", NULL);
}

void
ed_campaign_composer_show_preview (EdCampaignComposer *self,
                                   gint64              guest_id)
{
  g_return_if_fail (ED_IS_CAMPAIGN_COMPOSER (self));

  for (guint i = 0; guest_id > 0 && i < self->guest_ids->len; i++)
    if (g_array_index (self->guest_ids, gint64, i) == guest_id)
      {
        self->loading_fields = TRUE;
        gtk_drop_down_set_selected (self->guest_dropdown, i);
        self->loading_fields = FALSE;
      }

  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "preview") == 0)
    refresh_preview (self);
  else
    adw_view_stack_set_visible_child_name (self->view_stack, "preview");
}

JsonObject *
ed_campaign_composer_get_preview (EdCampaignComposer *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), NULL);
  return self->preview;
}

gboolean
ed_campaign_composer_get_preview_loaded (EdCampaignComposer *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), FALSE);
  return self->preview_loaded;
}

void
ed_campaign_composer_send_test (EdCampaignComposer *self,
                                const char         *address)
{
  g_return_if_fail (ED_IS_CAMPAIGN_COMPOSER (self));
  g_return_if_fail (address != NULL);

  gtk_editable_set_text (GTK_EDITABLE (self->test_entry), address);
  gtk_widget_activate_action (GTK_WIDGET (self), "composer.send-test", NULL);
}

JsonObject *
ed_campaign_composer_get_test_result (EdCampaignComposer *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), NULL);
  return self->test_result;
}

gboolean
ed_campaign_composer_get_busy (EdCampaignComposer *self)
{
  g_return_val_if_fail (ED_IS_CAMPAIGN_COMPOSER (self), FALSE);
  return self->n_busy > 0 || self->count_source != 0;
}
