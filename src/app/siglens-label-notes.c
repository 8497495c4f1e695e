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
