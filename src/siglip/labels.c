/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Label lists as people type them, and the prompt template around each label. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

char **
siglip_split_labels (const char *text, int *n_out)
{
  int n = 0, cap = 8;
  char **labels = calloc ((size_t) cap + 1, sizeof *labels);
  if (!labels)
    goto fail;

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
      if (end == start)
        continue;

      size_t len = (size_t) (end - start);
      bool duplicate = false;
      for (int i = 0; i < n && !duplicate; i++)
        duplicate = strlen (labels[i]) == len && !memcmp (labels[i], start, len);
      if (duplicate)
        continue;

      if (n == cap)
        {
          char **grown = realloc (labels, ((size_t) cap * 2 + 1) * sizeof *labels);
          if (!grown)
            goto fail;
          labels = grown;
          cap *= 2;
        }
      labels[n] = malloc (len + 1);
      if (!labels[n])
        goto fail;
      memcpy (labels[n], start, len);
      labels[n][len] = '\0';
      labels[++n] = NULL;
    }

  if (n_out)
    *n_out = n;
  return labels;

fail:
  siglip_labels_free (labels);
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
