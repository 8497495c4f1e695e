/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli presets: the label presets `classify --preset NAME` accepts, built-in and saved. */
#include <stdio.h>

#include <cjson/cJSON.h>
#include <glib.h>

#include "cli.h"
#include "siglens-presets.h"

static void
print_json (GPtrArray *presets)
{
  cJSON *arr = cJSON_CreateArray ();

  for (guint i = 0; i < presets->len; i++)
    {
      const SiglensPreset *p = g_ptr_array_index (presets, i);
      cJSON *o = cJSON_CreateObject ();

      cJSON_AddStringToObject (o, "name", p->id);
      cJSON_AddStringToObject (o, "title", p->name);
      cJSON_AddNumberToObject (o, "count", p->n_labels);
      cJSON_AddStringToObject (o, "language", p->language);
      cJSON_AddBoolToObject (o, "builtin", p->builtin);
      cJSON_AddItemToArray (arr, o);
    }
  char *text = cJSON_PrintUnformatted (arr);
  puts (text);
  cJSON_free (text);
  cJSON_Delete (arr);
}

static void
print_table (GPtrArray *presets)
{
  printf ("%-16s %6s  %-8s  %s\n", "name", "count", "language", "title");
  for (guint i = 0; i < presets->len; i++)
    {
      const SiglensPreset *p = g_ptr_array_index (presets, i);

      printf ("%-16s %6u  %-8s  %s%s\n", p->id, p->n_labels, *p->language ? p->language : "-",
              p->name, p->builtin ? "" : " (saved)");
    }
}

int
siglens_cli_presets (int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *dir = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON array of {name, title, count, "
      "language, builtin}", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) presets = NULL;

  g_set_prgname ("siglens-cli presets");
  g_option_context_set_summary (ctx, "The label presets for `classify --preset NAME`: the "
                                "built-in ones, then the sets saved in the app.");
  dir = siglens_presets_dup_user_dir ();
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "siglens-cli presets: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      fprintf (stderr, "siglens-cli presets: unexpected argument '%s'\n", argv[1]);
      return 2;
    }

  presets = siglens_presets_list (NULL);
  if (json)
    print_json (presets);
  else
    {
      print_table (presets);
      printf ("\nSaved sets are the files NAME.txt in %s, one label per line.\n", dir);
    }
  return 0;
}
