/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-common"

#include "config.h"

#include <string.h>

#include "ed-error.h"
#include "ed-html-util.h"
#include "ed-template.h"

/* A compiled template is a list of segments over one buffer of literal
 * text: rendering appends runs of bytes and looked-up values, with no
 * parsing per message.
 */

/* A known name ending in “*” matches every name that starts with the rest
 * of it and goes on (“extra.*” matches “extra.company”).
 */
#define WILDCARD '*'

/* An unknown name this close (in edits) to a known one gets a “did you
 * mean”.
 */
#define SUGGEST_DISTANCE 2

typedef struct
{
  /* a literal is a run of self->literals */
  gsize  offset;
  gsize  length;
  /* index in self->names, or -1 for a literal */
  gint   name;
} Segment;

struct _EdTemplate
{
  char      *literals;
  GArray    *segments;
  /* distinct names in order of first use, NULL-terminated */
  GPtrArray *names;
  gsize      literals_length;
};

typedef struct
{
  const char          *text;
  const char * const  *known_names;
  GString             *literals;
  GArray              *segments;
  GPtrArray           *names;
  GError             **error;
} Parser;

static void
position_of (const char *text,
             const char *at,
             guint      *line,
             guint      *column)
{
  *line = 1;
  *column = 1;
  for (const char *p = text; p < at; p = g_utf8_next_char (p))
    {
      if (*p == '\n')
        {
          (*line)++;
          *column = 1;
        }
      else
        (*column)++;
    }
}

G_GNUC_PRINTF (3, 4)
static gboolean
set_error_at (Parser     *parser,
              const char *at,
              const char *format,
              ...)
{
  g_autofree char *message = NULL;
  guint line, column;
  va_list args;

  position_of (parser->text, at, &line, &column);
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (parser->error, ED_ERROR, ED_ERROR_INVALID,
               "line %u, column %u: %s", line, column, message);
  return FALSE;
}

static gboolean
is_name_char (gunichar c)
{
  if (c < 0x80)
    return g_ascii_isalnum (c) || c == '_' || c == '-' || c == '.';
  return g_unichar_isalnum (c);
}

static gboolean
name_is_known (const char * const *known_names,
               const char         *name)
{
  if (known_names == NULL)
    return TRUE;

  for (guint i = 0; known_names[i] != NULL; i++)
    {
      const char *known = known_names[i];
      gsize len = strlen (known);

      if (len > 0 && known[len - 1] == WILDCARD)
        {
          if (strncmp (name, known, len - 1) == 0 && name[len - 1] != '\0')
            return TRUE;
        }
      else if (strcmp (name, known) == 0)
        return TRUE;
    }

  return FALSE;
}

/* Edit distance in bytes, capped: enough to catch typos in ASCII names. */
static guint
edit_distance (const char *a,
               const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  guint row[ED_TEMPLATE_MAX_NAME + 1];

  if (la > ED_TEMPLATE_MAX_NAME || lb > ED_TEMPLATE_MAX_NAME)
    return G_MAXUINT;

  for (gsize j = 0; j <= lb; j++)
    row[j] = j;

  for (gsize i = 1; i <= la; i++)
    {
      guint diagonal = row[0];

      row[0] = i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint above = row[j];
          guint cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;

          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diagonal + cost);
          diagonal = above;
        }
    }

  return row[lb];
}

static const char *
suggest_name (const char * const *known_names,
              const char         *name)
{
  const char *best = NULL;
  guint best_distance = SUGGEST_DISTANCE + 1;

  for (guint i = 0; known_names[i] != NULL; i++)
    {
      const char *known = known_names[i];
      guint distance;

      if (strchr (known, WILDCARD) != NULL)
        continue;

      distance = edit_distance (name, known);
      if (distance < best_distance)
        {
          best = known;
          best_distance = distance;
        }
    }

  return best;
}

static gint
intern_name (Parser     *parser,
             const char *name,
             gsize       length)
{
  for (guint i = 0; i < parser->names->len; i++)
    {
      const char *known = g_ptr_array_index (parser->names, i);

      if (strncmp (known, name, length) == 0 && known[length] == '\0')
        return (gint) i;
    }

  g_ptr_array_add (parser->names, g_strndup (name, length));
  return (gint) parser->names->len - 1;
}

static void
add_literal (Parser     *parser,
             const char *text,
             gsize       length)
{
  Segment *last;

  if (length == 0)
    return;

  /* runs split by {{{{ join the one before */
  last = parser->segments->len > 0
    ? &g_array_index (parser->segments, Segment, parser->segments->len - 1)
    : NULL;
  if (last != NULL && last->name < 0)
    last->length += length;
  else
    {
      Segment segment = { parser->literals->len, length, -1 };

      g_array_append_val (parser->segments, segment);
    }

  g_string_append_len (parser->literals, text, length);
}

/* @open points at “{{”; returns where the text goes on after “}}”, or
 * NULL with the error set.
 */
static const char *
parse_placeholder (Parser     *parser,
                   const char *open)
{
  const char *p = open + 2;
  const char *name_start;
  const char *name_end;
  g_autofree char *name = NULL;
  Segment segment = { 0, 0, -1 };

  while (*p == ' ' || *p == '\t')
    p++;

  name_start = p;
  while (*p != '\0' && is_name_char (g_utf8_get_char (p)))
    p = g_utf8_next_char (p);
  name_end = p;

  while (*p == ' ' || *p == '\t')
    p++;

  if (p[0] != '}' || p[1] != '}')
    {
      gunichar c = g_utf8_get_char (p);

      if (*p == '\0' || *p == '\n' || *p == '\r')
        {
          set_error_at (parser, open, "“{{” is not closed by “}}” on the same line");
          return NULL;
        }
      if (*p == '}')
        {
          set_error_at (parser, p, "a placeholder ends with “}}”, not “}”");
          return NULL;
        }
      if (name_end > name_start && p > name_end && is_name_char (c))
        {
          set_error_at (parser, p, "a placeholder name cannot contain spaces");
          return NULL;
        }
      if (*p == '{' && p == name_start)
        {
          set_error_at (parser, open, "“{{{” is not a placeholder; write “{{{{” for a literal “{{”");
          return NULL;
        }
      if (g_unichar_isprint (c) && c != ' ')
        set_error_at (parser, p, "“%.*s” cannot appear in a placeholder name (letters, digits, “_”, “-” and “.” can)",
                      (int) (g_utf8_next_char (p) - p), p);
      else
        set_error_at (parser, p, "character U+%04X cannot appear in a placeholder name (letters, digits, “_”, “-” and “.” can)",
                      c);
      return NULL;
    }

  if (name_end == name_start)
    {
      set_error_at (parser, open, "the placeholder “{{}}” has no name");
      return NULL;
    }

  if ((gsize) (name_end - name_start) > ED_TEMPLATE_MAX_NAME)
    {
      set_error_at (parser, open, "the placeholder name is longer than %d bytes", ED_TEMPLATE_MAX_NAME);
      return NULL;
    }

  name = g_strndup (name_start, name_end - name_start);
  if (!name_is_known (parser->known_names, name))
    {
      const char *suggestion = suggest_name (parser->known_names, name);

      if (suggestion != NULL)
        set_error_at (parser, open, "unknown placeholder “{{%s}}”; did you mean “{{%s}}”?", name, suggestion);
      else
        set_error_at (parser, open, "unknown placeholder “{{%s}}”; docs/templates.md lists the known ones", name);
      return NULL;
    }

  segment.name = intern_name (parser, name_start, name_end - name_start);
  g_array_append_val (parser->segments, segment);

  return p + 2;
}

static gboolean
parse (Parser *parser)
{
  const char *p = parser->text;
  const char *run = p;

  while ((p = strstr (p, "{{")) != NULL)
    {
      add_literal (parser, run, p - run);

      if (p[2] == '{' && p[3] == '{')
        {
          add_literal (parser, "{{", 2);
          p += 4;
        }
      else
        {
          p = parse_placeholder (parser, p);
          if (p == NULL)
            return FALSE;
        }
      run = p;
    }

  add_literal (parser, run, strlen (run));
  return TRUE;
}

/**
 * ed_template_new:
 * @text: the template, UTF-8
 * @known_names: (nullable): the placeholder names it may use, a name
 *   ending in `*` standing for every longer name with the same start; %NULL
 *   accepts every name
 * @error: return location for an error saying where the template is wrong
 *   (“line 3, column 7: unknown placeholder …”)
 *
 * Compiles @text for rendering. An unknown placeholder is an error here,
 * so that a template is checked when it is saved, not when it is sent.
 *
 * Returns: (transfer full) (nullable): the compiled template
 */
EdTemplate *
ed_template_new (const char          *text,
                 const char * const  *known_names,
                 GError             **error)
{
  g_autoptr(GString) literals = NULL;
  g_autoptr(GArray) segments = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *invalid;
  EdTemplate *self;
  Parser parser;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  literals = g_string_sized_new (strlen (text) + 1);
  segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  names = g_ptr_array_new_with_free_func (g_free);

  parser = (Parser) {
    .text = text,
    .known_names = known_names,
    .literals = literals,
    .segments = segments,
    .names = names,
    .error = error,
  };

  if (!g_utf8_validate (text, -1, &invalid))
    {
      set_error_at (&parser, invalid, "the template is not valid UTF-8 text");
      return NULL;
    }

  if (!parse (&parser))
    return NULL;

  g_ptr_array_add (names, NULL);

  self = g_new0 (EdTemplate, 1);
  self->literals_length = literals->len;
  self->literals = g_string_free (g_steal_pointer (&literals), FALSE);
  self->segments = g_steal_pointer (&segments);
  self->names = g_steal_pointer (&names);
  return self;
}

/**
 * ed_template_check:
 * @text: the template
 * @known_names: (nullable): as for ed_template_new()
 * @error: return location for an error saying where @text is wrong
 *
 * Returns: %TRUE if @text compiles
 */
gboolean
ed_template_check (const char          *text,
                   const char * const  *known_names,
                   GError             **error)
{
  g_autoptr(EdTemplate) template = ed_template_new (text, known_names, error);

  /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees template; clang 14's analyzer does not run cleanups */
  return template != NULL;
}

void
ed_template_free (EdTemplate *self)
{
  if (self == NULL)
    return;

  g_free (self->literals);
  g_array_unref (self->segments);
  g_ptr_array_unref (self->names);
  g_free (self);
}

/**
 * ed_template_render_append:
 * @self: a template
 * @out: where to append the result
 * @lookup: gives the value of each placeholder
 * @user_data: for @lookup
 * @html_escape: whether values are HTML-escaped (the literal text of the
 *   template never is)
 */
void
ed_template_render_append (EdTemplate       *self,
                           GString          *out,
                           EdTemplateLookup  lookup,
                           gpointer          user_data,
                           gboolean          html_escape)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out != NULL);
  g_return_if_fail (lookup != NULL);

  for (guint i = 0; i < self->segments->len; i++)
    {
      const Segment *segment = &g_array_index (self->segments, Segment, i);
      const char *value;

      if (segment->name < 0)
        {
          g_string_append_len (out, self->literals + segment->offset, segment->length);
          continue;
        }

      value = lookup (g_ptr_array_index (self->names, segment->name), user_data);
      if (value == NULL)
        continue;
      if (html_escape)
        ed_html_escape_append (out, value, -1);
      else
        g_string_append (out, value);
    }
}

/**
 * ed_template_render:
 * @self: a template
 * @lookup: gives the value of each placeholder
 * @user_data: for @lookup
 * @html_escape: whether values are HTML-escaped
 *
 * Returns: (transfer full): the text with the placeholders replaced
 */
char *
ed_template_render (EdTemplate       *self,
                    EdTemplateLookup  lookup,
                    gpointer          user_data,
                    gboolean          html_escape)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (lookup != NULL, NULL);

  /* room for the values too, so most renders never grow the buffer */
  out = g_string_sized_new (self->literals_length + 64 * self->segments->len + 1);
  ed_template_render_append (self, out, lookup, user_data, html_escape);
  return g_string_free (out, FALSE);
}

static const char *
lookup_in_table (const char *name,
                 gpointer    user_data)
{
  return g_hash_table_lookup (user_data, name);
}

/**
 * ed_template_render_with_table:
 * @self: a template
 * @values: (element-type utf8 utf8): values by placeholder name; a name
 *   not in it renders as nothing
 * @html_escape: whether values are HTML-escaped
 *
 * Returns: (transfer full): the text with the placeholders replaced
 */
char *
ed_template_render_with_table (EdTemplate *self,
                               GHashTable *values,
                               gboolean    html_escape)
{
  g_return_val_if_fail (values != NULL, NULL);

  return ed_template_render (self, lookup_in_table, values, html_escape);
}

/**
 * ed_template_uses:
 * @self: a template
 * @name: a placeholder name
 *
 * Returns: whether the template has the placeholder @name, e.g. to skip
 *   making a value no message needs
 */
gboolean
ed_template_uses (EdTemplate *self,
                  const char *name)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i + 1 < self->names->len; i++)
    if (strcmp (g_ptr_array_index (self->names, i), name) == 0)
      return TRUE;

  return FALSE;
}

/**
 * ed_template_get_names:
 * @self: a template
 *
 * Returns: (transfer none): the distinct placeholder names it uses, in
 *   order of first use
 */
const char * const *
ed_template_get_names (EdTemplate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char * const *) self->names->pdata;
}
