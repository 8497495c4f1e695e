/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Label lists as typed by people, and templates. */
#include <siglip.h>

#include "test-util.h"

static void
check_split (const char *text, const char *const *expected)
{
  int n = -1;
  char **labels = siglip_split_labels (text, &n);
  g_assert_nonnull (labels);
  g_assert_cmpint (n, ==, (int) g_strv_length ((char **) expected));
  for (int i = 0; i < n; i++)
    g_assert_cmpstr (labels[i], ==, expected[i]);
  g_assert_null (labels[n]);
  siglip_labels_free (labels);
}

static void
test_split_ascii (void)
{
  check_split ("cat, dog, a red car", (const char *[]){ "cat", "dog", "a red car", NULL });
  check_split ("  cat  ,\tdog\n\nbird\r\n", (const char *[]){ "cat", "dog", "bird", NULL });
}

static void
test_split_cjk (void)
{
  /* full-width comma, ideographic comma, ideographic space */
  check_split ("猫，狗、一只猫\u3000, 汽车",
               (const char *[]){ "猫", "狗", "一只猫", "汽车", NULL });
}

static void
test_split_empty_and_duplicates (void)
{
  check_split ("", (const char *[]){ NULL });
  check_split (" , ,,\n ", (const char *[]){ NULL });
  check_split (NULL, (const char *[]){ NULL });
  check_split ("cat, dog, cat, Cat", (const char *[]){ "cat", "dog", "Cat", NULL });
}

static void
test_split_many (void)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (int i = 0; i < 1000; i++)
    g_string_append_printf (s, "label %d, ", i);
  int n = 0;
  char **labels = siglip_split_labels (s->str, &n);
  g_assert_cmpint (n, ==, 1000);
  g_assert_cmpstr (labels[999], ==, "label 999");
  siglip_labels_free (labels);
}

static void
test_template (void)
{
  char *s = siglip_apply_template (NULL, "cat");
  g_assert_cmpstr (s, ==, "This is a photo of cat.");
  free (s);
  s = siglip_apply_template ("{}", "a red car");
  g_assert_cmpstr (s, ==, "a red car");
  free (s);
  s = siglip_apply_template ("一张{}的照片", "猫");
  g_assert_cmpstr (s, ==, "一张猫的照片");
  free (s);
  s = siglip_apply_template ("a {} and {}", "x");
  g_assert_cmpstr (s, ==, "a x and {}");
  free (s);
  s = siglip_apply_template ("a photo of", "dog");
  g_assert_cmpstr (s, ==, "a photo of dog");
  free (s);
}

/* ---- label lists as the model reads them ---- */

static siglip_model *tiny;

static siglip_model *
tiny_model (void)
{
  if (!tiny)
    {
      g_autofree char *dir = test_data_path ("tiny-siglip2-naflex");
      siglip_error *err = NULL;
      tiny = siglip_model_load (dir, NULL, &err);
      g_assert_null (err);
    }
  return tiny;
}

static siglip_label_list *
parse_list (const char *text, const siglip_model *model, const siglip_encode_options *options)
{
  siglip_error *err = NULL;
  siglip_label_list *list = siglip_label_list_new (text, model, options, &err);
  if (err)
    g_error ("%s", err->message);
  g_assert_nonnull (list);
  g_assert_null (list->labels[list->n_labels]);
  return list;
}

static void
test_list_none_and_separators (void)
{
  const char *inputs[] = { "", " , ，、\n\r\n,\u3000, \t" };
  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    for (int with_model = 0; with_model < 2; with_model++)
      {
        siglip_label_list *list = parse_list (inputs[i], with_model ? tiny_model () : NULL, NULL);
        g_assert_cmpint (list->n_labels, ==, 0);
        g_assert_cmpint (list->n_entries, ==, 0);
        g_assert_null (list->labels[0]);
        siglip_label_list_free (list);
      }
  siglip_label_list *list = parse_list (NULL, NULL, NULL);
  g_assert_cmpint (list->n_labels, ==, 0);
  siglip_label_list_free (list);
}

/* "cat" and "Cat" read the same once lowercased: one label, the second entry merged into it. */
static void
test_list_case_merged (void)
{
  for (int with_model = 0; with_model < 2; with_model++)
    {
      const siglip_model *model = with_model ? tiny_model () : NULL;
      siglip_label_list *list = parse_list ("cat, dog, Cat, CAT, ÉCOLE, école", model, NULL);
      g_assert_cmpint (list->n_entries, ==, 6);
      g_assert_cmpint (list->n_labels, ==, 3);
      g_assert_cmpint (list->n_merged, ==, 3);
      g_assert_cmpstr (list->labels[0], ==, "cat");
      g_assert_cmpstr (list->labels[1], ==, "dog");
      g_assert_cmpstr (list->labels[2], ==, "ÉCOLE");
      const struct { const char *text; int label; bool merged; } expected[] = {
        { "cat", 0, false }, { "dog", 1, false }, { "Cat", 0, true }, { "CAT", 0, true },
        { "ÉCOLE", 2, false }, { "école", 2, true },
      };
      for (int i = 0; i < 6; i++)
        {
          g_assert_cmpstr (list->entries[i].text, ==, expected[i].text);
          g_assert_cmpint (list->entries[i].label, ==, expected[i].label);
          g_assert_cmpint (list->entries[i].merged, ==, expected[i].merged);
          g_assert_false (list->entries[i].truncated);
        }
      g_assert_cmpint (list->max_tokens, ==, with_model ? 64 : 0);
      siglip_label_list_free (list);

      /* without lowercasing the model tells them apart */
      const siglip_encode_options keep_case = { .no_lowercase = true };
      list = parse_list ("cat, Cat, cat", model, &keep_case);
      g_assert_cmpint (list->n_labels, ==, 2);
      g_assert_cmpint (list->n_merged, ==, 1);
      g_assert_true (list->entries[2].merged);
      siglip_label_list_free (list);
    }
}

/* 10,000 characters: cut to the text tower's 64 tokens, and the entry says by how much. Two such
 * labels that differ only past the cut are one label to the model. */
static void
test_list_truncated (void)
{
  g_autoptr (GString) a = g_string_new (NULL);
  while (a->len < 10000)
    g_string_append (a, "a cat ");
  g_string_truncate (a, 10000); /* ends in "ca": nothing to trim */
  g_autofree char *b = g_strdup (a->str);
  b[9999] = 'x';
  g_autofree char *text = g_strdup_printf ("dog, %s, %s", a->str, b);
  siglip_label_list *list = parse_list (text, tiny_model (), NULL);
  g_assert_cmpint (list->n_entries, ==, 3);
  g_assert_cmpint (list->n_labels, ==, 2);
  g_assert_cmpint (list->n_truncated, ==, 2);
  g_assert_false (list->entries[0].truncated);
  g_assert_true (list->entries[1].truncated);
  g_assert_true (list->entries[2].truncated);
  g_assert_true (list->entries[2].merged);
  /* the tokenizer's full count for the templated text, less the 63 the window keeps */
  int32_t *ids = NULL;
  int n = 0;
  g_autofree char *templated = siglip_apply_template (NULL, a->str);
  g_assert_true (siglip_tokenize (siglip_model_get_tokenizer (tiny_model ()), templated, -1,
                                  SIGLIP_TOKENIZE_RAW, &ids, &n, 0, NULL));
  free (ids);
  g_assert_cmpint (list->entries[1].n_dropped, ==, n - 63);
  g_assert_cmpint (list->entries[1].n_dropped, >, 1000);
  g_assert_true (strcmp (list->labels[1], a->str) == 0); /* (too long for the log) */
  siglip_label_list_free (list);

  /* just at the window: 63 BPE ids + <eos> fit, one more does not */
  const siglip_encode_options bare = { .template = "{}" };
  g_autoptr (GString) fit = g_string_new (NULL);
  for (int i = 0; i < 63; i++)
    g_string_append (fit, "\xe7\x8c\xab"); /* one id each in the Gemma vocab: checked below */
  g_assert_true (siglip_tokenize (siglip_model_get_tokenizer (tiny_model ()), fit->str, -1,
                                  SIGLIP_TOKENIZE_RAW, &ids, &n, 0, NULL));
  free (ids);
  g_assert_cmpint (n, ==, 63);
  list = parse_list (fit->str, tiny_model (), &bare);
  g_assert_false (list->entries[0].truncated);
  siglip_label_list_free (list);
  g_string_append (fit, "\xe7\x8c\xab");
  list = parse_list (fit->str, tiny_model (), &bare);
  g_assert_true (list->entries[0].truncated);
  g_assert_cmpint (list->entries[0].n_dropped, ==, 1);
  siglip_label_list_free (list);
}

static void
test_list_many (void)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (int i = 0; i < 500; i++)
    g_string_append_printf (s, "label %d, ", i);
  siglip_label_list *list = parse_list (s->str, tiny_model (), NULL);
  g_assert_cmpint (list->n_labels, ==, 500);
  g_assert_cmpint (list->n_merged, ==, 0);
  g_assert_cmpstr (list->labels[499], ==, "label 499");
  siglip_label_list_free (list);
}

static void
test_list_invalid_utf8 (void)
{
  for (int with_model = 0; with_model < 2; with_model++)
    {
      siglip_error *err = NULL;
      siglip_label_list *list =
        siglip_label_list_new ("cat, caf\xc3 au lait", with_model ? tiny_model () : NULL, NULL,
                               &err);
      g_assert_null (list);
      test_assert_error (err, SIGLIP_ERR_INVALID_INPUT, "invalid UTF-8 label",
                         TEST_ARGS ("label 2", "\"caf\"", "not valid UTF-8", "truncated",
                                    "byte 3"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/labels/split/ascii", test_split_ascii);
  g_test_add_func ("/labels/split/cjk", test_split_cjk);
  g_test_add_func ("/labels/split/empty-and-duplicates", test_split_empty_and_duplicates);
  g_test_add_func ("/labels/split/many", test_split_many);
  g_test_add_func ("/labels/template", test_template);
  g_test_add_func ("/labels/list/none-and-separators", test_list_none_and_separators);
  g_test_add_func ("/labels/list/case-merged", test_list_case_merged);
  g_test_add_func ("/labels/list/truncated", test_list_truncated);
  g_test_add_func ("/labels/list/many", test_list_many);
  g_test_add_func ("/labels/list/invalid-utf8", test_list_invalid_utf8);
  int status = g_test_run ();
  siglip_model_free (tiny);
  return status;
}
