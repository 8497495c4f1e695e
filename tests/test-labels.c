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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/labels/split/ascii", test_split_ascii);
  g_test_add_func ("/labels/split/cjk", test_split_cjk);
  g_test_add_func ("/labels/split/empty-and-duplicates", test_split_empty_and_duplicates);
  g_test_add_func ("/labels/split/many", test_split_many);
  g_test_add_func ("/labels/template", test_template);
  return g_test_run ();
}
