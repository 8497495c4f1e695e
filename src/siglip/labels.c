/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Label lists as people type them, and the prompt template around each label. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tokenizer.h"

/* Length in bytes of a separator starting at s, or 0: ',' '，' (U+FF0C) '、' (U+3001) and
 * line breaks, so that Chinese and Japanese typists need not switch input methods. */
static size_t
separator_len (const char *s)
{
  if (*s == ',' || *s == '\n' || *s == '\r')
    return 1;
  if (!strncmp (s, "\xEF\xBC\x8C", 3) || !strncmp (s, "\xE3\x80\x81", 3))
    return 3;
  return 0;
}

/* Length of a whitespace character at s: ASCII space/tab/VT/FF, NBSP (U+00A0) and the
 * ideographic space (U+3000) an IME may leave after a separator. */
static size_t
space_len (const char *s, const char *end)
{
  if (s >= end)
    return 0;
  if (*s == ' ' || *s == '\t' || *s == '\v' || *s == '\f')
    return 1;
  if (end - s >= 2 && !strncmp (s, "\xC2\xA0", 2))
    return 2;
  if (end - s >= 3 && !strncmp (s, "\xE3\x80\x80", 3))
    return 3;
  return 0;
}

static size_t
trailing_space_len (const char *begin, const char *end)
{
  if (end - begin >= 1 && space_len (end - 1, end) == 1)
    return 1;
  if (end - begin >= 2 && space_len (end - 2, end) == 2)
    return 2;
  if (end - begin >= 3 && space_len (end - 3, end) == 3)
    return 3;
  return 0;
}

/* Calls entry (start, len, data) for every non-empty trimmed entry of text, in order; stops
 * and returns false as soon as entry does. */
typedef bool (*entry_func) (const char *start, size_t len, void *data);

static bool
for_each_entry (const char *text, entry_func entry, void *data)
{
  const char *p = text ? text : "";
  while (*p)
    {
      const char *start = p;
      while (*p && !separator_len (p))
        p++;
      const char *end = p;
      if (*p)
        p += separator_len (p);

      size_t k;
      while ((k = space_len (start, end)) > 0)
        start += k;
      while ((k = trailing_space_len (start, end)) > 0)
        end -= k;
      if (end != start && !entry (start, (size_t) (end - start), data))
        return false;
    }
  return true;
}

/* A NULL-terminated array of malloc'd strings that grows by one. */
typedef struct {
  char **items;
  int n, cap;
} strv;

static bool
strv_push (strv *v, const char *s, size_t len)
{
  if (v->n == v->cap)
    {
      int cap = v->cap ? v->cap * 2 : 8;
      char **grown = realloc (v->items, ((size_t) cap + 1) * sizeof *grown);
      if (!grown)
        return false;
      v->items = grown;
      v->cap = cap;
    }
  char *copy = malloc (len + 1);
  if (!copy)
    return false;
  memcpy (copy, s, len);
  copy[len] = '\0';
  v->items[v->n++] = copy;
  v->items[v->n] = NULL;
  return true;
}

static bool
push_unless_duplicate (const char *start, size_t len, void *data)
{
  strv *v = data;
  for (int i = 0; i < v->n; i++)
    if (strlen (v->items[i]) == len && !memcmp (v->items[i], start, len))
      return true;
  return strv_push (v, start, len);
}

char **
siglip_split_labels (const char *text, int *n_out)
{
  strv v = { .items = calloc (1, sizeof (char *)) };
  if (!v.items || !for_each_entry (text, push_unless_duplicate, &v))
    goto fail;
  if (n_out)
    *n_out = v.n;
  return v.items;

fail:
  siglip_labels_free (v.items);
  if (n_out)
    *n_out = 0;
  return NULL;
}

void
siglip_labels_free (char **labels)
{
  if (!labels)
    return;
  for (char **l = labels; *l; l++)
    free (*l);
  free (labels);
}

char *
siglip_apply_template (const char *template, const char *label)
{
  if (!template)
    template = SIGLIP_DEFAULT_TEMPLATE;
  const char *hole = strstr (template, "{}");
  size_t tlen = strlen (template), llen = strlen (label);
  if (!hole)
    {
      /* A template without a hole would give every label the same text and the same score;
       * treat it as a prefix instead of silently discarding the label. */
      char *s = malloc (tlen + 1 + llen + 1);
      if (s)
        {
          memcpy (s, template, tlen);
          s[tlen] = ' ';
          memcpy (s + tlen + 1, label, llen + 1);
        }
      return s;
    }
  size_t before = (size_t) (hole - template);
  char *s = malloc (tlen - 2 + llen + 1);
  if (!s)
    return NULL;
  memcpy (s, template, before);
  memcpy (s + before, label, llen);
  memcpy (s + before + llen, hole + 2, tlen - before - 2 + 1);
  return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Label lists merged by what the model reads */

/* The list and the storage its pointers borrow from: `texts` owns every entry's string;
 * list.labels points into it. */
typedef struct {
  siglip_label_list list;
  strv texts;
} label_list_impl;

typedef struct {
  const siglip_model *model;
  const siglip_encode_options *options;
  label_list_impl *impl;
  unsigned char **keys; /* per entry: what the model reads, key_len[i] bytes */
  size_t *key_len;
  int cap;
  siglip_error **error;
  bool failed;          /* *error was set (anything else that fails is out of memory) */
} list_builder;

/* The entry's first bytes for a message: at most 40, cut back to a whole UTF-8 character. */
static int
quote_len (const char *s, size_t len)
{
  size_t n = len < 40 ? len : 40;
  while (n > 0 && n < len && ((unsigned char) s[n] & 0xC0) == 0x80)
    n--;
  return (int) n;
}

static bool
check_entry_utf8 (const char *s, size_t len, int index, siglip_error **error)
{
  for (size_t i = 0; i < len;)
    {
      uint32_t cp;
      int k = siglip_utf8_decode ((const unsigned char *) s + i, len - i, &cp);
      if (k < 0)
        return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                                 "label %d (\"%.*s\") is not valid UTF-8: %s at byte %zu",
                                 index + 1, quote_len (s, i), s, siglip_utf8_problem_name (k), i);
      i += (size_t) k;
    }
  return true;
}

static size_t
put_utf8 (unsigned char *out, uint32_t c)
{
  if (c < 0x80)
    {
      out[0] = (unsigned char) c;
      return 1;
    }
  if (c < 0x800)
    {
      out[0] = (unsigned char) (0xC0 | (c >> 6));
      out[1] = (unsigned char) (0x80 | (c & 0x3F));
      return 2;
    }
  if (c < 0x10000)
    {
      out[0] = (unsigned char) (0xE0 | (c >> 12));
      out[1] = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
      out[2] = (unsigned char) (0x80 | (c & 0x3F));
      return 3;
    }
  out[0] = (unsigned char) (0xF0 | (c >> 18));
  out[1] = (unsigned char) (0x80 | ((c >> 12) & 0x3F));
  out[2] = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
  out[3] = (unsigned char) (0x80 | (c & 0x3F));
  return 4;
}

/* Without a model: the (valid UTF-8) entry lowercased code point by code point, as SigLIP 2's
 * tokenizer does. */
static unsigned char *
lowercase_key (const char *s, size_t len, bool no_lowercase, size_t *key_len)
{
  /* one code point of k >= 1 bytes lowercases to at most 3 code points of 4 bytes */
  unsigned char *key = malloc (len * 12 + 1);
  if (!key)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len;)
    {
      uint32_t cp, lower[3];
      int k = siglip_utf8_decode ((const unsigned char *) s + i, len - i, &cp);
      int m = 1;
      lower[0] = cp;
      if (!no_lowercase)
        m = siglip_unicode_lower (cp, lower);
      for (int j = 0; j < m; j++)
        n += put_utf8 (key + n, lower[j]);
      i += (size_t) k;
    }
  *key_len = n;
  return key;
}

/* With a model: the padded token ids of the templated entry, exactly what the text tower gets,
 * and how many ids its window cuts off. */
static unsigned char *
token_key (list_builder *b, const char *entry, size_t *key_len, int *dropped)
{
  const siglip_model *model = b->model;
  const char *template = b->options ? b->options->template : NULL;
  unsigned flags = b->options && b->options->no_lowercase ? SIGLIP_TOKENIZE_NO_LOWERCASE
                                                         : SIGLIP_TOKENIZE_DEFAULT;
  int length = model->config.text.max_position_embeddings;
  char *text = siglip_apply_template (template, entry);
  if (!text)
    return NULL;
  int32_t *ids = NULL;
  int n = 0;
  bool ok = siglip_tokenize (model->tokenizer, text, -1, flags, &ids, &n, length, b->error)
            && siglip_tokenize_overflow (model->tokenizer, text, flags, length, dropped, b->error);
  free (text);
  if (!ok)
    {
      free (ids);
      b->failed = true;
      return NULL;
    }
  *key_len = (size_t) n * sizeof *ids;
  return (unsigned char *) ids;
}

static bool
grow_builder (list_builder *b)
{
  siglip_label_list *list = &b->impl->list;
  int cap = b->cap ? b->cap * 2 : 8;
  unsigned char **keys = realloc (b->keys, (size_t) cap * sizeof *keys);
  if (keys)
    b->keys = keys;
  size_t *key_len = realloc (b->key_len, (size_t) cap * sizeof *key_len);
  if (key_len)
    b->key_len = key_len;
  siglip_label_entry *entries = realloc (list->entries, (size_t) cap * sizeof *entries);
  if (entries)
    list->entries = entries;
  char **labels = realloc (list->labels, ((size_t) cap + 1) * sizeof *labels);
  if (labels)
    list->labels = labels;
  if (!keys || !key_len || !entries || !labels)
    return false;
  b->cap = cap;
  return true;
}

static bool
add_entry (const char *start, size_t len, void *data)
{
  list_builder *b = data;
  siglip_label_list *list = &b->impl->list;
  strv *texts = &b->impl->texts;
  int index = texts->n;
  if (!check_entry_utf8 (start, len, index, b->error))
    return !(b->failed = true);
  if (index == b->cap && !grow_builder (b))
    return false;
  if (!strv_push (texts, start, len))
    return false;

  const char *text = texts->items[index];
  int dropped = 0;
  size_t key_len = 0;
  unsigned char *key = b->model ? token_key (b, text, &key_len, &dropped)
                                : lowercase_key (text, len, b->options && b->options->no_lowercase,
                                                 &key_len);
  b->keys[index] = key; /* freed with the builder, even when the entry fails below */
  b->key_len[index] = key_len;
  if (!key)
    return false;

  siglip_label_entry *e = &list->entries[index];
  *e = (siglip_label_entry) { .text = text, .label = -1, .truncated = dropped > 0,
                              .n_dropped = dropped };
  list->n_entries = index + 1;
  list->n_truncated += e->truncated;
  for (int i = 0; i < index && e->label < 0; i++)
    if (!list->entries[i].merged && b->key_len[i] == key_len && !memcmp (b->keys[i], key, key_len))
      {
        e->label = list->entries[i].label;
        e->merged = true;
        list->n_merged++;
      }
  if (e->label < 0)
    {
      e->label = list->n_labels++;
      list->labels[e->label] = (char *) text;
    }
  list->labels[list->n_labels] = NULL;
  return true;
}

/* Entries come from `text` split at separators, or else from `lines` taken whole. */
static siglip_label_list *
label_list_build (const char *text, const char *const *lines, int n_lines,
                  const siglip_model *model, const siglip_encode_options *options,
                  siglip_error **error)
{
  label_list_impl *impl = calloc (1, sizeof *impl);
  if (!impl)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory while reading the labels");
      return NULL;
    }
  impl->list.max_tokens = model ? model->config.text.max_position_embeddings : 0;
  list_builder b = { .model = model, .options = options, .impl = impl, .error = error };
  bool ok = grow_builder (&b);
  if (ok)
    impl->list.labels[0] = NULL;
  if (lines)
    for (int i = 0; ok && i < n_lines; i++)
      ok = !*lines[i] || add_entry (lines[i], strlen (lines[i]), &b);
  else
    ok = ok && for_each_entry (text, add_entry, &b);
  for (int i = 0; i < impl->texts.n; i++)
    free (b.keys[i]);
  free (b.keys);
  free (b.key_len);
  if (!ok)
    {
      if (!b.failed)
        siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory while reading the labels");
      siglip_label_list_free (&impl->list);
      return NULL;
    }
  return &impl->list;
}

siglip_label_list *
siglip_label_list_new (const char *text, const siglip_model *model,
                       const siglip_encode_options *options, siglip_error **error)
{
  return label_list_build (text, NULL, 0, model, options, error);
}

siglip_label_list *
siglip_label_list_new_from_lines (const char *const *lines, int n_lines,
                                  const siglip_model *model,
                                  const siglip_encode_options *options, siglip_error **error)
{
  return label_list_build (NULL, lines, n_lines, model, options, error);
}

void
siglip_label_list_free (siglip_label_list *list)
{
  if (!list)
    return;
  label_list_impl *impl = (label_list_impl *) list;
  siglip_labels_free (impl->texts.items);
  free (list->labels);
  free (list->entries);
  free (impl);
}
