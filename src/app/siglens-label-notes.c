/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sentences about a typed label list, for the note under the labels entry. */
#include <glib/gi18n.h>

#include "siglens-label-notes.h"

static void
append_sentence (GString *note, const char *sentence)
{
  if (note->len > 0)
    g_string_append_c (note, ' ');
  g_string_append (note, sentence);
}

static void
describe_merged (GString *note, const siglip_label_list *list)
{
  g_autoptr (GString) names = g_string_new (NULL);
  const siglip_label_entry *only = NULL;

  for (int i = 0; i < list->n_entries; i++)
    {
      const siglip_label_entry *e = &list->entries[i];

      if (!e->merged)
        continue;
      only = e;
      if (names->len > 0)
        /* Translators: between quoted labels in a list, e.g. “Cat”, “DOG” */
        g_string_append (names, _(", "));
      /* Translators: a label quoted in a sentence */
      g_string_append_printf (names, _("“%s”"), e->text);
    }

  if (list->n_merged == 1)
    {
      /* Translators: the first %s is a label as typed, the second the earlier label the model
       * cannot tell it from (SigLIP 2 reads lowercased text) */
      g_autofree char *sentence = g_strdup_printf (_("“%s” reads the same as “%s” to the model, "
                                                     "so it is scored once."),
                                                   only->text, list->labels[only->label]);
      append_sentence (note, sentence);
    }
  else if (list->n_merged > 1)
    {
      /* Translators: %s is a list of quoted labels, e.g. “Cat”, “DOG” */
      g_autofree char *sentence = g_strdup_printf (_("%s read the same as earlier labels to the "
                                                     "model, so each is scored once."),
                                                   names->str);
      append_sentence (note, sentence);
    }
}

char *
siglens_label_notes_describe (const siglip_label_list *list,
                              int                      max_labels)
{
  g_autoptr (GString) note = g_string_new (NULL);

  g_return_val_if_fail (list != NULL, NULL);

  describe_merged (note, list);
  if (list->n_labels > max_labels)
    {
      g_autofree char *sentence = g_strdup_printf (_("Only the first %d labels are compared."),
                                                   max_labels);
      append_sentence (note, sentence);
    }
  return note->len > 0 ? g_string_free (g_steal_pointer (&note), FALSE) : NULL;
}

/* A long label is named by its start: the note stays a sentence, not the label again. */
#define LABEL_HEAD_CHARS 30

char *
siglens_label_notes_describe_unread (const char *const *labels,
                                     const int         *n_unread,
                                     guint              n,
                                     int                max_tokens)
{
  g_autoptr (GString) note = g_string_new (NULL);

  if (n_unread == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *start = NULL;
      g_autofree char *quoted = NULL;
      g_autofree char *sentence = NULL;

      if (n_unread[i] <= 0)
        continue;
      start = g_utf8_substring (labels[i], 0, LABEL_HEAD_CHARS);
      if (g_utf8_strlen (labels[i], -1) > LABEL_HEAD_CHARS)
        {
          /* Translators: the start of a long label, cut short */
          g_autofree char *cut = g_strdup_printf (_("%s…"), start);

          g_free (start);
          start = g_steal_pointer (&cut);
        }
      /* Translators: a label quoted in a sentence */
      quoted = g_strdup_printf (_("“%s”"), start);
      /* Translators: %s is a quoted label, the first %d how many tokens (word pieces) the
       * model reads of a label, the second how many of this label's are past that, not seen */
      sentence = g_strdup_printf (ngettext ("%s is longer than the %d tokens the model reads: "
                                            "its last %d token is not seen.",
                                            "%s is longer than the %d tokens the model reads: "
                                            "its last %d tokens are not seen.",
                                            n_unread[i]),
                                  quoted, max_tokens, n_unread[i]);
      append_sentence (note, sentence);
    }
  return note->len > 0 ? g_string_free (g_steal_pointer (&note), FALSE) : NULL;
}
