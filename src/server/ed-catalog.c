/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdeskd-i18n"

#include "config.h"

#include <string.h>

#include "ed-catalog.h"
#include "ed-error.h"
#include "ed-resources.h"

/* The .mo format (GNU gettext manual, "The Format of GNU MO Files"): a
 * header of 32-bit words — magic, revision, number of strings N, offset of
 * the table of original strings, offset of the table of translations —
 * then two tables of N (length, offset) pairs. Each string is followed by
 * a NUL that its length does not count. A plural entry holds the forms
 * separated by NULs; a context is written before the msgid, ended by EOT.
 * Every offset is checked against the file before it is used.
 */

#define MO_MAGIC 0x950412deu
#define MO_MAGIC_SWAPPED 0xde120495u
#define MO_HEADER_SIZE 28
#define CONTEXT_SEPARATOR "\004"
#define PLURAL_MAX_DEPTH 32
#define LOCALE_RESOURCE_DIR "/org/eventdesk/eventdeskd/locale/"

struct _EdCatalog
{
  /* owned */
  GBytes     *bytes;
  GHashTable *messages;    /* msgid (in bytes) -> translation (in bytes) */
  GHashTable *lengths;     /* translation -> its length with the NULs of plural forms */
  char       *language;
  char       *plural;      /* the Plural-Forms expression, or NULL for n != 1 */
  gulong      n_plurals;
};

static guint32
read_word (const guint8 *data,
           gsize         offset,
           gboolean      swapped)
{
  guint32 word;

  memcpy (&word, data + offset, sizeof word);
  return swapped ? GUINT32_SWAP_LE_BE (word) : word;
}

/* Reads entry @index of the table at @table; the string must lie inside
 * the file and end with a NUL.
 */
static gboolean
read_string (const guint8  *data,
             gsize          size,
             guint32        table,
             guint32        index,
             gboolean       swapped,
             const char   **string,
             guint32       *length)
{
  guint64 entry = (guint64) table + (guint64) index * 8;
  guint32 len, offset;

  if (entry + 8 > size)
    return FALSE;

  len = read_word (data, entry, swapped);
  offset = read_word (data, entry + 4, swapped);
  if ((guint64) offset + len >= size || data[(gsize) offset + len] != '\0')
    return FALSE;

  *string = (const char *) data + offset;
  *length = len;
  return TRUE;
}

static void
parse_plural_forms (EdCatalog  *self,
                    const char *header)
{
  g_autofree char *expression = NULL;
  const char *line = strstr (header, "Plural-Forms:");
  const char *nplurals;
  const char *plural;
  const char *end;
  const char *stop;
  char *number_end = NULL;
  guint64 n;
  gulong index;

  if (line == NULL)
    return;

  end = strchr (line, '\n');
  if (end == NULL)
    end = line + strlen (line);

  nplurals = g_strstr_len (line, end - line, "nplurals=");
  plural = g_strstr_len (line, end - line, " plural=");
  if (plural == NULL)
    plural = g_strstr_len (line, end - line, ";plural=");
  if (nplurals == NULL || plural == NULL)
    return;

  n = g_ascii_strtoull (nplurals + 9, &number_end, 10);
  if (number_end == nplurals + 9 || n < 1 || n > 16)
    return;

  plural += 8;
  stop = memchr (plural, ';', end - plural);
  expression = g_strndup (plural, (stop ? stop : end) - plural);

  /* An expression this parser cannot read is ignored, not trusted. */
  if (!ed_catalog_eval_plural (expression, 1, &index))
    return;

  self->n_plurals = (gulong) n;
  self->plural = g_steal_pointer (&expression);
}

/**
 * ed_catalog_new_from_bytes:
 * @mo: the contents of a .mo file
 * @language: the language it translates to, such as "de"
 * @error: return location for an %ED_ERROR_INVALID error
 *
 * Returns: (transfer full): the catalog, or %NULL when @mo is not a
 *   well-formed .mo file
 */
EdCatalog *
ed_catalog_new_from_bytes (GBytes      *mo,
                           const char  *language,
                           GError     **error)
{
  g_autoptr(EdCatalog) self = NULL;
  const guint8 *data;
  gsize size;
  guint32 magic, n_strings, originals, translations;
  gboolean swapped;

  g_return_val_if_fail (mo != NULL, NULL);
  g_return_val_if_fail (language != NULL, NULL);

  data = g_bytes_get_data (mo, &size);
  if (data == NULL || size < MO_HEADER_SIZE)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The catalog is too short to be a .mo file");
      return NULL;
    }

  memcpy (&magic, data, sizeof magic);
  if (magic != MO_MAGIC && magic != MO_MAGIC_SWAPPED)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The catalog is not a .mo file");
      return NULL;
    }
  swapped = magic == MO_MAGIC_SWAPPED;

  /* Revisions 0 and 1 share the layout read here. */
  if ((read_word (data, 4, swapped) >> 16) > 1)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The catalog has an unknown .mo revision");
      return NULL;
    }

  n_strings = read_word (data, 8, swapped);
  originals = read_word (data, 12, swapped);
  translations = read_word (data, 16, swapped);
  if ((guint64) originals + (guint64) n_strings * 8 > size ||
      (guint64) translations + (guint64) n_strings * 8 > size)
    {
      g_set_error_literal (error, ED_ERROR, ED_ERROR_INVALID, "The catalog's tables lie outside the file");
      return NULL;
    }

  self = g_new0 (EdCatalog, 1);
  self->bytes = g_bytes_ref (mo);
  self->language = g_strdup (language);
  self->n_plurals = 2;
  self->messages = g_hash_table_new (g_str_hash, g_str_equal);
  self->lengths = g_hash_table_new (g_direct_hash, g_direct_equal);

  for (guint32 i = 0; i < n_strings; i++)
    {
      const char *original, *translation;
      guint32 original_length, translation_length;

      if (!read_string (data, size, originals, i, swapped, &original, &original_length) ||
          !read_string (data, size, translations, i, swapped, &translation, &translation_length))
        {
          /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): g_autoptr frees self; clang 14's analyzer does not run cleanups */
          g_set_error (error, ED_ERROR, ED_ERROR_INVALID, "String %u of the catalog lies outside the file", i);
          return NULL;
        }

      if (original_length == 0)
        {
          parse_plural_forms (self, translation);
          continue;
        }

      /* Untranslated entries fall back to the source text anyway. */
      if (translation_length == 0)
        continue;

      g_hash_table_insert (self->messages, (gpointer) original, (gpointer) translation);
      g_hash_table_insert (self->lengths, (gpointer) translation, GUINT_TO_POINTER (translation_length));
    }

  return g_steal_pointer (&self);
}

void
ed_catalog_free (EdCatalog *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->messages, g_hash_table_unref);
  g_clear_pointer (&self->lengths, g_hash_table_unref);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self->language);
  g_free (self->plural);
  g_free (self);
}

/* Returns the language, or "en" for the %NULL (source) catalog. */
const char *
ed_catalog_get_language (EdCatalog *self)
{
  return self != NULL ? self->language : "en";
}

/* The number of translated messages. */
guint
ed_catalog_get_size (EdCatalog *self)
{
  return self != NULL ? g_hash_table_size (self->messages) : 0;
}

const char *
ed_catalog_gettext (EdCatalog  *self,
                    const char *msgid)
{
  const char *translation;

  g_return_val_if_fail (msgid != NULL, NULL);

  if (self == NULL || (translation = g_hash_table_lookup (self->messages, msgid)) == NULL)
    return msgid;

  return translation;
}

/* Like pgettext(): @msgid as used in @context ("month", "weekday"…). */
const char *
ed_catalog_pgettext (EdCatalog  *self,
                     const char *context,
                     const char *msgid)
{
  g_autofree char *key = NULL;
  const char *translation;

  g_return_val_if_fail (context != NULL, NULL);
  g_return_val_if_fail (msgid != NULL, NULL);

  if (self == NULL)
    return msgid;

  key = g_strconcat (context, CONTEXT_SEPARATOR, msgid, NULL);
  translation = g_hash_table_lookup (self->messages, key);
  return translation != NULL ? translation : msgid;
}

const char *
ed_catalog_ngettext (EdCatalog  *self,
                     const char *msgid,
                     const char *msgid_plural,
                     gulong      n)
{
  const char *translation;
  const char *form;
  gsize length;
  gulong index = n != 1;

  g_return_val_if_fail (msgid != NULL, NULL);
  g_return_val_if_fail (msgid_plural != NULL, NULL);

  if (self == NULL || (translation = g_hash_table_lookup (self->messages, msgid)) == NULL)
    return n == 1 ? msgid : msgid_plural;

  if (self->plural != NULL && !ed_catalog_eval_plural (self->plural, n, &index))
    index = n != 1;
  if (index >= self->n_plurals)
    index = 0;

  /* The forms follow each other, separated by NULs. */
  length = GPOINTER_TO_UINT (g_hash_table_lookup (self->lengths, translation));
  form = translation;
  for (gulong i = 0; i < index; i++)
    {
      const char *next = form + strlen (form) + 1;

      if (next > translation + length)
        return translation;
      form = next;
    }

  return form;
}

/* Plural-Forms expressions: C's operators on unsigned numbers and the
 * variable n, evaluated by recursive descent while they are parsed.
 */
typedef struct
{
  const char *p;
  gulong      n;
  guint       depth;
  gboolean    failed;
} PluralParser;

static gulong parse_ternary (PluralParser *parser);

static void
skip_spaces (PluralParser *parser)
{
  while (*parser->p == ' ' || *parser->p == '\t' || *parser->p == '\n')
    parser->p++;
}

static gboolean
accept_token (PluralParser *parser,
              const char   *token)
{
  gsize length = strlen (token);

  skip_spaces (parser);
  if (strncmp (parser->p, token, length) != 0)
    return FALSE;
  /* "<" must not match the start of "<=", nor "=" of "==". */
  if (length == 1 && (token[0] == '<' || token[0] == '>' || token[0] == '!') && parser->p[1] == '=')
    return FALSE;

  parser->p += length;
  return TRUE;
}

static gulong
parse_primary (PluralParser *parser)
{
  skip_spaces (parser);

  if (++parser->depth > PLURAL_MAX_DEPTH)
    {
      parser->failed = TRUE;
      return 0;
    }

  if (accept_token (parser, "!"))
    {
      gulong value = !parse_primary (parser);

      parser->depth--;
      return value;
    }

  if (accept_token (parser, "("))
    {
      gulong value = parse_ternary (parser);

      if (!accept_token (parser, ")"))
        parser->failed = TRUE;
      parser->depth--;
      return value;
    }

  parser->depth--;

  if (*parser->p == 'n')
    {
      parser->p++;
      return parser->n;
    }

  if (g_ascii_isdigit (*parser->p))
    {
      gulong value = 0;

      while (g_ascii_isdigit (*parser->p) && value < G_MAXULONG / 10)
        value = value * 10 + (gulong) (*parser->p++ - '0');
      return value;
    }

  parser->failed = TRUE;
  return 0;
}

static gulong
parse_multiplicative (PluralParser *parser)
{
  gulong value = parse_primary (parser);

  while (!parser->failed)
    {
      if (accept_token (parser, "*"))
        value *= parse_primary (parser);
      else if (accept_token (parser, "/"))
        {
          gulong divisor = parse_primary (parser);

          value = divisor ? value / divisor : 0;
        }
      else if (accept_token (parser, "%"))
        {
          gulong divisor = parse_primary (parser);

          value = divisor ? value % divisor : 0;
        }
      else
        break;
    }

  return value;
}

static gulong
parse_additive (PluralParser *parser)
{
  gulong value = parse_multiplicative (parser);

  while (!parser->failed)
    {
      if (accept_token (parser, "+"))
        value += parse_multiplicative (parser);
      else if (accept_token (parser, "-"))
        value -= parse_multiplicative (parser);
      else
        break;
    }

  return value;
}

static gulong
parse_relational (PluralParser *parser)
{
  gulong value = parse_additive (parser);

  while (!parser->failed)
    {
      if (accept_token (parser, "<="))
        value = value <= parse_additive (parser);
      else if (accept_token (parser, ">="))
        value = value >= parse_additive (parser);
      else if (accept_token (parser, "<"))
        value = value < parse_additive (parser);
      else if (accept_token (parser, ">"))
        value = value > parse_additive (parser);
      else
        break;
    }

  return value;
}

static gulong
parse_equality (PluralParser *parser)
{
  gulong value = parse_relational (parser);

  while (!parser->failed)
    {
      if (accept_token (parser, "=="))
        value = value == parse_relational (parser);
      else if (accept_token (parser, "!="))
        value = value != parse_relational (parser);
      else
        break;
    }

  return value;
}

static gulong
parse_and (PluralParser *parser)
{
  gulong value = parse_equality (parser);

  while (!parser->failed && accept_token (parser, "&&"))
    {
      gulong right = parse_equality (parser);

      value = value && right;
    }

  return value;
}

static gulong
parse_or (PluralParser *parser)
{
  gulong value = parse_and (parser);

  while (!parser->failed && accept_token (parser, "||"))
    {
      gulong right = parse_and (parser);

      value = value || right;
    }

  return value;
}

static gulong
parse_ternary (PluralParser *parser)
{
  gulong condition;
  gulong if_true, if_false;

  if (++parser->depth > PLURAL_MAX_DEPTH)
    {
      parser->failed = TRUE;
      return 0;
    }

  condition = parse_or (parser);
  if (!parser->failed && accept_token (parser, "?"))
    {
      if_true = parse_ternary (parser);
      if (!accept_token (parser, ":"))
        parser->failed = TRUE;
      if_false = parse_ternary (parser);
      condition = condition ? if_true : if_false;
    }

  parser->depth--;
  return condition;
}

/**
 * ed_catalog_eval_plural:
 * @expression: the `plural=` expression of a Plural-Forms header
 * @n: the number
 * @index: (out): which plural form to use
 *
 * Returns: %FALSE if @expression is not a well-formed expression
 */
gboolean
ed_catalog_eval_plural (const char *expression,
                        gulong      n,
                        gulong     *index)
{
  PluralParser parser = { expression, n, 0, FALSE };
  gulong value;

  g_return_val_if_fail (expression != NULL, FALSE);
  g_return_val_if_fail (index != NULL, FALSE);

  value = parse_ternary (&parser);
  skip_spaces (&parser);
  if (parser.failed || *parser.p != '\0')
    return FALSE;

  *index = value;
  return TRUE;
}

/* The catalogs compiled into the daemon, loaded once and kept. */
typedef struct
{
  GHashTable *catalogs;  /* language -> EdCatalog */
  GStrv       languages; /* "en" first, then the built-in ones */
} Registry;

static Registry *
get_registry (void)
{
  static Registry *registry = NULL;

  if (g_once_init_enter (&registry))
    {
      Registry *r = g_new0 (Registry, 1);
      g_autoptr(GStrvBuilder) languages = g_strv_builder_new ();
      g_auto(GStrv) children = NULL;
      g_autoptr(GError) error = NULL;

      r->catalogs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) ed_catalog_free);
      g_strv_builder_add (languages, "en");

      children = g_resource_enumerate_children (ed_server_get_resource (), LOCALE_RESOURCE_DIR,
                                                G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
      if (children == NULL)
        g_warning ("No translations are built in: %s", error->message);

      for (guint i = 0; children != NULL && children[i] != NULL; i++)
        {
          g_autofree char *path = g_strconcat (LOCALE_RESOURCE_DIR, children[i], NULL);
          g_autofree char *language = NULL;
          g_autoptr(GBytes) bytes = NULL;
          g_autoptr(GError) local_error = NULL;
          EdCatalog *catalog;

          if (!g_str_has_suffix (children[i], ".mo"))
            continue;
          language = g_strndup (children[i], strlen (children[i]) - 3);

          bytes = g_resource_lookup_data (ed_server_get_resource (), path,
                                          G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
          if (bytes == NULL ||
              !(catalog = ed_catalog_new_from_bytes (bytes, language, &local_error)))
            {
              g_warning ("Cannot load the %s translation: %s", language, local_error->message);
              continue;
            }

          g_hash_table_insert (r->catalogs, g_strdup (language), catalog);
          g_strv_builder_add (languages, language);
        }

      r->languages = g_strv_builder_end (languages);

      g_once_init_leave (&registry, r);
    }

  return registry;
}

/* The languages built in, English first. */
const char * const *
ed_catalog_get_languages (void)
{
  return (const char * const *) get_registry ()->languages;
}

/* The built-in catalog of @language; %NULL for English or an unknown one. */
EdCatalog *
ed_catalog_lookup (const char *language)
{
  g_return_val_if_fail (language != NULL, NULL);

  return g_hash_table_lookup (get_registry ()->catalogs, language);
}

/* Reads one language range's quality ("q=0.8"); 1 when it has none. */
static double
read_quality (const char *parameters)
{
  const char *q = parameters;

  while (q != NULL && *q != '\0')
    {
      while (*q == ';' || *q == ' ' || *q == '\t')
        q++;
      if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
        {
          double value = g_ascii_strtod (q + 2, NULL);

          return CLAMP (value, 0.0, 1.0);
        }
      q = strchr (q, ';');
    }

  return 1.0;
}

/* Whether the language range @range ("de-AT", "de", "*") covers @tag. */
static gboolean
range_matches (const char *range,
               const char *tag)
{
  gsize tag_length = strlen (tag);

  if (g_ascii_strcasecmp (range, tag) == 0)
    return TRUE;
  /* "de-AT" is served by "de"; "pt_BR"-style catalogs by "pt-br". */
  if (g_ascii_strncasecmp (range, tag, tag_length) == 0 && range[tag_length] == '-')
    return TRUE;
  for (gsize i = 0; i < tag_length; i++)
    if (g_ascii_tolower (range[i]) != g_ascii_tolower (tag[i] == '_' ? '-' : tag[i]))
      return FALSE;
  return range[tag_length] == '\0';
}

/**
 * ed_catalog_negotiate_language:
 * @accept_language: (nullable): an Accept-Language header
 * @available: (array zero-terminated=1): the languages to choose from
 *
 * Picks the available language the header prefers most (RFC 9110, 12.5.4:
 * the highest quality wins, the earlier range on a tie; q=0 refuses).
 *
 * Returns: (transfer full) (nullable): the language, or %NULL when none
 *   is acceptable
 */
char *
ed_catalog_negotiate_language (const char         *accept_language,
                               const char * const *available)
{
  g_auto(GStrv) ranges = NULL;
  const char *best = NULL;
  double best_quality = 0.0;

  g_return_val_if_fail (available != NULL, NULL);

  if (accept_language == NULL || strlen (accept_language) > 1024)
    return NULL;

  ranges = g_strsplit (accept_language, ",", 32);
  for (guint i = 0; ranges[i] != NULL; i++)
    {
      g_autofree char *range = NULL;
      const char *semicolon = strchr (ranges[i], ';');
      double quality = read_quality (semicolon);

      range = g_strstrip (g_strndup (ranges[i], semicolon ? (gsize) (semicolon - ranges[i]) : strlen (ranges[i])));
      if (*range == '\0' || quality <= best_quality)
        continue;

      if (strcmp (range, "*") == 0)
        {
          /* Anything will do: the first choice, English. */
          best = available[0];
          best_quality = quality;
          continue;
        }

      for (guint j = 0; available[j] != NULL; j++)
        if (range_matches (range, available[j]))
          {
            best = available[j];
            best_quality = quality;
            break;
          }
    }

  return g_strdup (best);
}

/**
 * ed_catalog_for_accept_language:
 * @accept_language: (nullable): an Accept-Language header
 *
 * Returns: (transfer none) (nullable): the built-in catalog the header
 *   prefers, or %NULL for English
 */
EdCatalog *
ed_catalog_for_accept_language (const char *accept_language)
{
  g_autofree char *language = ed_catalog_negotiate_language (accept_language, ed_catalog_get_languages ());

  return language != NULL ? ed_catalog_lookup (language) : NULL;
}
