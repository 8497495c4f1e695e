/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Gemma tokenizer against Hugging Face's ids in both layouts of its tokenizer.json (the npm
 * package's, golden/tokenizer.json, 408 texts; the Hub's, golden/tokenizer-hub.json, 438 texts),
 * its error paths, small hand-made tokenizer.json files for the BPE options, and
 * `siglens-cli tokenize`. */
#include <siglip.h>
#include <tokenizer.h>

#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-util.h"

#define LENGTH 64 /* SigLIP 2 text max_position_embeddings; the goldens' max_length */

/* One tokenizer.json and the goldens made with it. */
typedef struct {
  const char *dir, *golden_file;
  siglip_tokenizer *tok;
  cJSON *golden;
  GPtrArray *texts; /* GBytes per case: the exact text, NUL bytes included */
} golden_set;

static golden_set npm_set = { "gemma-tokenizer", "golden/tokenizer.json" };
/* as a real SigLIP 2 checkpoint ships it: pretty-printed, Split pre_tokenizer, 217 added tokens,
 * a padding block, merges as pairs (FIXTURES.md "Added later") */
static golden_set hub_set = { "gemma-tokenizer-hub", "golden/tokenizer-hub.json" };

/* the npm layout, for the tests beyond the goldens */
static siglip_tokenizer *gemma;
static cJSON *golden;

/* ---------------------------------------------------------------------------------------------
 * Goldens
 */

/* Decodes the JSON string literal at *p (just after its opening quote). cJSON stops strings at
 * "\u0000", and one golden text contains a NUL byte, so the texts are decoded here. */
static GBytes *
decode_json_string (const char *p)
{
  GString *s = g_string_new (NULL);
  while (*p != '"')
    {
      g_assert_cmpint (*p, !=, '\0');
      if (*p != '\\')
        {
          g_string_append_c (s, *p++);
          continue;
        }
      char e = p[1];
      p += 2;
      switch (e)
        {
        case 'n': g_string_append_c (s, '\n'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 'b': g_string_append_c (s, '\b'); break;
        case 'f': g_string_append_c (s, '\f'); break;
        case '"': case '\\': case '/': g_string_append_c (s, e); break;
        case 'u':
          {
            g_autofree char *hex = g_strndup (p, 4);
            gunichar c = (gunichar) g_ascii_strtoull (hex, NULL, 16);
            p += 4;
            if (c >= 0xD800 && c <= 0xDBFF)
              {
                g_assert_true (p[0] == '\\' && p[1] == 'u');
                g_autofree char *lo = g_strndup (p + 2, 4);
                c = 0x10000 + ((c - 0xD800) << 10) + ((gunichar) g_ascii_strtoull (lo, NULL, 16) - 0xDC00);
                p += 6;
              }
            if (c == 0)
              g_string_append_len (s, "", 1);
            else
              g_string_append_unichar (s, c);
            break;
          }
        default: g_assert_not_reached ();
        }
    }
  return g_string_free_to_bytes (s);
}

static void
load_golden (golden_set *set)
{
  g_autofree char *path = test_data_path (set->golden_file);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  set->golden = cJSON_Parse (text);
  g_assert_nonnull (set->golden);

  /* the "text" members in file order are the cases in order; cross-checked against cJSON's
   * reading wherever that is complete */
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive (set->golden, "cases");
  GPtrArray *golden_texts = set->texts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (const char *p = text; (p = strstr (p, "\"text\": \"")); p += 9)
    g_ptr_array_add (golden_texts, decode_json_string (p + 9));
  g_assert_cmpint ((int) golden_texts->len, ==, cJSON_GetArraySize (cases));
  int i = 0, with_nul = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, cases)
    {
      gsize n;
      const char *t = g_bytes_get_data (golden_texts->pdata[i++], &n);
      const char *j = cJSON_GetObjectItemCaseSensitive (c, "text")->valuestring;
      if (memchr (t, '\0', n))
        with_nul++;
      else
        g_assert_true (strlen (j) == n && memcmp (j, t, n) == 0);
    }
  g_assert_cmpint (with_nul, ==, 1);
}

/* The text with non-ASCII and control characters as \u{XXXX}, for messages: the test log may
 * be written in the C locale, which would turn them into '?'. (transfer full) */
static char *
shown_text (const char *text, gsize len)
{
  GString *s = g_string_new (NULL);
  for (const char *p = text; p < text + len; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c >= 0x20 && c < 0x7F)
        g_string_append_c (s, (char) c);
      else
        g_string_append_printf (s, "\\u{%04X}", c);
    }
  return g_string_free (s, FALSE);
}

static int32_t *
json_ids (const cJSON *array, int *n)
{
  *n = cJSON_GetArraySize (array);
  int32_t *ids = g_new (int32_t, *n + 1);
  int i = 0;
  const cJSON *v;
  cJSON_ArrayForEach (v, array)
    ids[i++] = (int32_t) v->valuedouble;
  return ids;
}

static char *
ids_string (const int32_t *ids, int n)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", ids[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Tokenizes case `i` and compares with `expected`; returns whether they agree and, when they
 * do not, prints both. */
static gboolean
case_matches (const golden_set *set, int i, unsigned flags, int length, const int32_t *expected,
              int n_expected)
{
  gsize len;
  const char *text = g_bytes_get_data (set->texts->pdata[i], &len);
  int32_t *ids = NULL;
  int n = -1;
  siglip_error *err = NULL;
  if (!siglip_tokenize (set->tok, text, (ptrdiff_t) len, flags, &ids, &n, length, &err))
    {
      g_test_message ("case %d: %s", i, err->message);
      siglip_error_free (err);
      return FALSE;
    }
  gboolean same = n == n_expected && memcmp (ids, expected, (size_t) n * sizeof *ids) == 0;
  if (!same)
    {
      g_autofree char *got = ids_string (ids, n);
      g_autofree char *want = ids_string (expected, n_expected);
      g_autofree char *shown = shown_text (text, len);
      g_test_message ("case %d \"%.80s\" (flags 0x%x): got %s, expected %s", i, shown, flags, got,
                      want);
    }
  free (ids);
  return same;
}

static void
test_load (gconstpointer data)
{
  const golden_set *set = data;
  const siglip_tokenizer *tok = set->tok;
  const siglip_tokenizer_load_stats *st = siglip_tokenizer_get_load_stats (tok);
  g_test_message ("%s/tokenizer.json load: %.1f ms (read %.1f, vocab %.1f, %d merges %.1f)",
                  set->dir, st->total * 1e3, st->read * 1e3, st->vocab * 1e3, st->n_merges,
                  st->merges * 1e3);
  g_assert_cmpint (st->n_merges, ==, 580604);
  g_assert_cmpint (siglip_tokenizer_vocab_size (gemma), ==, 256000);
  /* FACTS.md §8 id map */
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 0), ==, "<pad>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 1), ==, "<eos>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 2), ==, "<bos>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 3), ==, "<unk>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 106), ==, "<start_of_turn>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 108), ==, "\n");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 139), ==, "▁▁");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 217), ==, "<0x00>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 226), ==, "\t");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 472), ==, "<0xFF>");
  g_assert_null (siglip_tokenizer_id_to_token (tok, -1));
  g_assert_null (siglip_tokenizer_id_to_token (tok, 256000));
}

/* input_ids: lowercase, BPE, ids[:63] + <eos>, <pad> to 64 — every case, exactly. */
static void
test_golden_input_ids (gconstpointer data)
{
  const golden_set *set = data;
  const cJSON *c;
  int i = 0, bad = 0;
  gint64 t0 = g_get_monotonic_time ();
  cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (set->golden, "cases"))
    {
      int n;
      g_autofree int32_t *want = json_ids (cJSON_GetObjectItemCaseSensitive (c, "input_ids"), &n);
      g_assert_cmpint (n, ==, LENGTH);
      bad += !case_matches (set, i++, SIGLIP_TOKENIZE_DEFAULT, LENGTH, want, n);
    }
  g_test_message ("%s input_ids: %d of %d cases match (%.1f us per text, comparison included)",
                  set->dir, i - bad, i, (double) (g_get_monotonic_time () - t0) / i);
  g_assert_cmpint (bad, ==, 0);
}

/* raw_ids: the bare BPE of the unmodified text; "<eos>" in the text is still id 1, as the Rust
 * tokenizer matches added tokens even without add_special_tokens. */
static void
test_golden_raw_ids (gconstpointer data)
{
  const golden_set *set = data;
  const cJSON *c;
  int i = 0, bad = 0;
  cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (set->golden, "cases"))
    {
      int n;
      g_autofree int32_t *want = json_ids (cJSON_GetObjectItemCaseSensitive (c, "raw_ids"), &n);
      bad += !case_matches (set, i++, SIGLIP_TOKENIZE_RAW, 0, want, n);
    }
  g_test_message ("%s raw_ids: %d of %d cases match", set->dir, i - bad, i);
  g_assert_cmpint (bad, ==, 0);
}

/* NO_LOWERCASE is the SigLIP 2 framing of the raw ids: raw_ids[:63] + <eos> + <pad>s. */
static void
test_golden_no_lowercase (gconstpointer data)
{
  const golden_set *set = data;
  const cJSON *c;
  int i = 0, bad = 0;
  cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (set->golden, "cases"))
    {
      int n;
      g_autofree int32_t *raw = json_ids (cJSON_GetObjectItemCaseSensitive (c, "raw_ids"), &n);
      int32_t want[LENGTH];
      int keep = MIN (n, LENGTH - 1);
      for (int k = 0; k < LENGTH; k++)
        want[k] = k < keep ? raw[k] : k == keep ? 1 : 0;
      bad += !case_matches (set, i++, SIGLIP_TOKENIZE_NO_LOWERCASE, LENGTH, want, LENGTH);
    }
  g_assert_cmpint (bad, ==, 0);
}

/* The flagged cases, one by one, so the log says how each kind behaves. */
static void
test_golden_flagged (gconstpointer data)
{
  const golden_set *set = data;
  const siglip_tokenizer *tok = set->tok;
  const cJSON *c;
  int i = 0;
  cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (set->golden, "cases"))
    {
      const cJSON *flags = cJSON_GetObjectItemCaseSensitive (c, "flags"), *f;
      int idx = i++;
      cJSON_ArrayForEach (f, flags)
        {
          const char *flag = f->valuestring;
          if (!strcmp (flag, "truncated"))
            continue;
          gsize len;
          const char *text = g_bytes_get_data (set->texts->pdata[idx], &len);
          int32_t *ids = NULL;
          int n;
          g_assert_true (siglip_tokenize (tok, text, (ptrdiff_t) len, SIGLIP_TOKENIZE_DEFAULT,
                                          &ids, &n, LENGTH, NULL));
          g_autofree char *shown = shown_text (text, len);
          g_autofree char *first = ids_string (ids, 4);
          g_test_message ("%s \"%s\": %s... (golden input_ids matched above)", flag, shown, first);
          if (!strcmp (flag, "lowercase_rule_sensitive"))
            {
              /* "ΟΔΟΣ": per code point Σ -> σ (Rust char::to_lowercase), not the final ς of
               * JS toLowerCase: the last piece is "οσ" */
              g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, ids[2]), ==, "σ");
            }
          else if (!strcmp (flag, "hf_tokenizers_js_quirk"))
            {
              /* "<EOS>"/"<Pad>"/"<START_OF_TURN>": Rust matches non-normalized added tokens on
               * the raw text only, so the lowercased "<eos>" is NOT id 1 (tokenizers.js 0.2.0
               * says it is) */
              g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, ids[0]), ==, "<");
              if (len == 5)
                g_assert_cmpint (ids[3], ==, 1);
            }
          else if (!strcmp (flag, "user_defined_token_sensitive"))
            {
              /* "<mask>", "<start_of_turn>", ...: this tokenizer.json lists only ids 0-3 as added
               * tokens, so they are ordinary BPE text; a file listing ids 4-216 would give one id */
              g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, ids[0]), !=, text);
            }
          free (ids);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Gemma behaviour beyond the goldens
 */

static int32_t *
tokenize_ok (const siglip_tokenizer *tok, const char *text, ptrdiff_t len, unsigned flags,
             int length, int *n)
{
  int32_t *ids = NULL;
  siglip_error *err = NULL;
  if (!siglip_tokenize (tok, text, len, flags, &ids, n, length, &err))
    g_error ("tokenize \"%s\": %s", text, err->message);
  g_assert_nonnull (ids);
  return ids;
}

static void
assert_ids (const siglip_tokenizer *tok, const char *text, unsigned flags, int length,
            const char *expected)
{
  int n;
  g_autofree int32_t *ids = tokenize_ok (tok, text, -1, flags, length, &n);
  g_autofree char *got = ids_string (ids, n);
  g_assert_cmpstr (got, ==, expected);
}

static void
test_truncation (void)
{
  /* truncation keeps <eos> at the end, however short the length */
  assert_ids (gemma, "a red car", SIGLIP_TOKENIZE_DEFAULT, 5, "[235250, 3118, 1226, 1, 0]");
  assert_ids (gemma, "a red car", SIGLIP_TOKENIZE_DEFAULT, 3, "[235250, 3118, 1]");
  assert_ids (gemma, "a red car", SIGLIP_TOKENIZE_DEFAULT, 1, "[1]");
  assert_ids (gemma, "", SIGLIP_TOKENIZE_DEFAULT, 2, "[1, 0]");

  siglip_error *err = NULL;
  int32_t *ids = NULL;
  int n;
  g_assert_false (siglip_tokenize (gemma, "cat", -1, 0, &ids, &n, 0, &err));
  g_assert_cmpint (err->status, ==, SIGLIP_ERR_INVALID_INPUT);
  g_assert_nonnull (strstr (err->message, "length 0"));
  siglip_error_free (g_steal_pointer (&err));
  g_assert_false (siglip_tokenize (gemma, "cat", -1, 1u << 7, &ids, &n, LENGTH, &err));
  g_assert_cmpint (err->status, ==, SIGLIP_ERR_INVALID_INPUT);
  siglip_error_free (err);
}

static void
test_no_lowercase (void)
{
  assert_ids (gemma, "A Cat", SIGLIP_TOKENIZE_DEFAULT, 4, "[235250, 4401, 1, 0]");
  assert_ids (gemma, "A Cat", SIGLIP_TOKENIZE_NO_LOWERCASE, 4, "[235280, 6828, 1, 0]");
  assert_ids (gemma, "A Cat", SIGLIP_TOKENIZE_RAW, 0, "[235280, 6828]");
  /* RAW is bare whatever the other flag says */
  assert_ids (gemma, "A Cat", SIGLIP_TOKENIZE_RAW | SIGLIP_TOKENIZE_NO_LOWERCASE, 0,
              "[235280, 6828]");
  /* İ lowercases to i + U+0307 (two code points), Σ to σ even at the end of a word */
  assert_ids (gemma, "İ", SIGLIP_TOKENIZE_RAW, 0, "[236104]");
  assert_ids (gemma, "İ", SIGLIP_TOKENIZE_DEFAULT, 3, "[235252, 241780, 1]");
  int n;
  g_autofree int32_t *ids = tokenize_ok (gemma, "İ", -1, 0, 8, &n);
  g_assert_cmpstr (siglip_tokenizer_id_to_token (gemma, ids[0]), ==, "i");
}

static void
test_nul_bytes (void)
{
  /* an explicit length carries NUL bytes through (byte fallback <0x00> = 217); -1 stops at NUL */
  assert_ids (gemma, "a", SIGLIP_TOKENIZE_RAW, 0, "[235250]");
  int n;
  g_autofree int32_t *ids = tokenize_ok (gemma, "a\0b", 3, SIGLIP_TOKENIZE_RAW, 0, &n);
  g_autofree char *s = ids_string (ids, n);
  g_assert_cmpstr (s, ==, "[235250, 217, 235268]");
  g_autofree int32_t *ids2 = tokenize_ok (gemma, "a\0b", -1, SIGLIP_TOKENIZE_RAW, 0, &n);
  g_assert_cmpint (n, ==, 1);
  /* the empty text: no ids, but still an allocated array */
  g_autofree int32_t *none = tokenize_ok (gemma, "", 0, SIGLIP_TOKENIZE_RAW, 0, &n);
  g_assert_cmpint (n, ==, 0);
}

static void
test_invalid_utf8 (void)
{
  static const struct {
    const char *bytes;
    int len;
    size_t offset;
    const char *problem;
  } bad[] = {
    { "ab\xC0\xAF", 4, 2, "overlong" },          /* '/' as 2 bytes */
    { "\xE0\x80\xAF", 3, 0, "overlong" },        /* '/' as 3 bytes */
    { "x\xF0\x80\x80\xAF", 5, 1, "overlong" },   /* '/' as 4 bytes */
    { "\xED\xA0\x80", 3, 0, "surrogate" },       /* U+D800 */
    { "ok \xED\xBF\xBF", 6, 3, "surrogate" },    /* U+DFFF */
    { "\xE2\x82", 2, 0, "truncated" },           /* € cut short */
    { "cat\xF0\x9F\x90", 6, 3, "truncated" },    /* 🐱 cut short */
    { "\xC3(", 2, 0, "truncated" },              /* lead byte then ASCII */
    { "\xF4\x90\x80\x80", 4, 0, "above U+10FFFF" },
    { "\xF5\x80\x80\x80", 4, 0, "above U+10FFFF" },
    { "a\x80", 2, 1, "cannot start" },           /* lone continuation byte */
    { "\xFF", 1, 0, "cannot start" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    for (unsigned flags = 0; flags <= SIGLIP_TOKENIZE_RAW; flags += SIGLIP_TOKENIZE_RAW)
      {
        siglip_error *err = NULL;
        int32_t *ids = (int32_t *) &err; /* must be reset to NULL */
        int n = 7;
        g_assert_false (siglip_tokenize (gemma, bad[i].bytes, bad[i].len, flags, &ids, &n,
                                         LENGTH, &err));
        g_assert_null (ids);
        g_assert_nonnull (err);
        g_assert_cmpint (err->status, ==, SIGLIP_ERR_INVALID_INPUT);
        g_autofree char *where = g_strdup_printf ("byte offset %zu ", bad[i].offset);
        if (!strstr (err->message, where) || !strstr (err->message, bad[i].problem))
          g_error ("case %zu: message \"%s\" lacks \"%s\" / \"%s\"", i, err->message, where,
                   bad[i].problem);
        siglip_error_free (err);
      }
  /* valid extremes pass: U+10FFFF, U+FFFF, U+0080 */
  int n;
  g_free (tokenize_ok (gemma, "\xF4\x8F\xBF\xBF\xEF\xBF\xBF\xC2\x80", -1, SIGLIP_TOKENIZE_RAW, 0, &n));
}

/* Thousands of characters are one BPE word (no pre-tokenizer): the heap keeps this O(n log n). */
static void
test_long_inputs (void)
{
  GString *words = g_string_new (NULL), *same = g_string_new (NULL), *mixed = g_string_new (NULL);
  for (int i = 0; i < 20000; i++)
    g_string_append (words, "cat ");
  for (int i = 0; i < 50000; i++)
    g_string_append_c (same, 'a');
  for (int i = 0; i < 4000; i++)
    g_string_append (mixed, "Ünïcödé 猫 🐱 text, ");
  const GString *inputs[] = { words, same, mixed };
  const char *names[] = { "20000 x \"cat \"", "50000 x \"a\"", "4000 x mixed scripts" };
  for (int k = 0; k < 3; k++)
    {
      int n;
      gint64 t0 = g_get_monotonic_time ();
      g_autofree int32_t *ids = tokenize_ok (gemma, inputs[k]->str, (ptrdiff_t) inputs[k]->len,
                                             SIGLIP_TOKENIZE_RAW, 0, &n);
      double ms = (double) (g_get_monotonic_time () - t0) / 1000.0;
      g_test_message ("%s (%zu bytes): %d ids in %.1f ms", names[k], inputs[k]->len, n, ms);
      g_assert_cmpfloat (ms, <, 3000.0); /* a quadratic rescan would take minutes here */
      if (k == 0)
        {
          g_assert_cmpint (n, ==, 20001); /* "cat", 19999 x "▁cat", "▁" */
          g_assert_cmpint (ids[0], ==, 4991);     /* "cat" */
          g_assert_cmpint (ids[1], ==, 4401);     /* "▁cat" */
          g_assert_cmpint (ids[n - 1], ==, 235248); /* trailing "▁" */
        }
      /* the SigLIP 2 form still ends in <eos> at position 63 */
      g_autofree int32_t *framed = tokenize_ok (gemma, inputs[k]->str, (ptrdiff_t) inputs[k]->len,
                                                0, LENGTH, &n);
      g_assert_cmpint (n, ==, LENGTH);
      g_assert_cmpint (framed[LENGTH - 1], ==, 1);
    }
  g_string_free (words, TRUE);
  g_string_free (same, TRUE);
  g_string_free (mixed, TRUE);
}

/* The generated table (from Python's str.lower, Unicode 14) against an independent one: GLib's
 * g_unichar_tolower (Unicode 15; the lowercase mappings did not change in between). Expected
 * differences: İ has the full mapping "i̇" (Rust char::to_lowercase) where GLib's simple mapping
 * gives "i"; and GLib maps letters only, while UnicodeData (so Rust and Python) also lowercases
 * the Roman numerals Ⅰ..Ⅿ (Nl) and circled Ⓐ..Ⓩ (So) — the golden case "Ⅻ" confirms Rust does. */
static void
test_unicode_lower_table (void)
{
  int differences = 0;
  for (gunichar c = 0; c <= 0x10FFFF; c++)
    {
      if (c >= 0xD800 && c <= 0xDFFF)
        continue;
      uint32_t out[3];
      int n = siglip_unicode_lower (c, out);
      if (c == 0x130)
        {
          g_assert_cmpint (n, ==, 2);
          g_assert_cmphex (out[0], ==, 0x69);
          g_assert_cmphex (out[1], ==, 0x307);
          continue;
        }
      g_assert_cmpint (n, ==, 1);
      if (out[0] == g_unichar_tolower (c))
        continue;
      GUnicodeType type = g_unichar_type (c);
      if (g_unichar_tolower (c) != c
          || (type != G_UNICODE_LETTER_NUMBER && type != G_UNICODE_OTHER_SYMBOL))
        g_error ("U+%04X: table U+%04X, GLib U+%04X", c, out[0], g_unichar_tolower (c));
      differences++;
    }
  g_assert_cmpint (differences, ==, 16 + 26); /* Ⅰ..Ⅿ, Ⓐ..Ⓩ */
}

/* Random texts (fixed seed): the default encoding must equal the bare encoding of the text
 * lowercased code point by code point, framed with <eos> and <pad> — lowercasing is the only
 * difference between the two modes. '<' is left out so that lowercasing cannot create "<eos>". */
static void
test_random_texts_consistent (void)
{
  static const gunichar pool[] = {
    'a', 'Z', 'q', 'E', '0', '9', ' ', ' ', ' ', '.', ',', '-', '\'', '\t', '\n', '\r', 0,
    0xE9, 0xC9, 0xDF, 0xA0, 0x130, 0x131, 0x3A3, 0x3C3, 0x3C2, 0x391, 0x416, 0x436, 0x5D0,
    0x627, 0x915, 0x94D, 0xE01, 0x1E9E, 0x2126, 0x212A, 0x2160, 0x24B6, 0x301, 0x308, 0x200D,
    0xFE0F, 0xFEFF, 0xFFFD, 0x3000, 0x732B, 0x72D7, 0xAC00, 0x3042, 0x1F431, 0x1F3FD, 0x1F1EF,
    0x20000, 0x1D400, 0xE000, 0x10FFFF,
  };
  GRand *rand = g_rand_new_with_seed (20250601);
  for (int round = 0; round < 1500; round++)
    {
      GString *text = g_string_new (NULL), *lower = g_string_new (NULL);
      int n_chars = g_rand_int_range (rand, 0, 90);
      for (int k = 0; k < n_chars; k++)
        {
          gunichar c = pool[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool))];
          uint32_t low[3];
          int m = siglip_unicode_lower (c, low);
          if (c == 0)
            {
              g_string_append_len (text, "", 1);
              g_string_append_len (lower, "", 1);
              continue;
            }
          g_string_append_unichar (text, c);
          for (int j = 0; j < m; j++)
            g_string_append_unichar (lower, low[j]);
        }
      int n_raw, n_def;
      g_autofree int32_t *raw = tokenize_ok (gemma, lower->str, (ptrdiff_t) lower->len,
                                             SIGLIP_TOKENIZE_RAW, 0, &n_raw);
      g_autofree int32_t *def = tokenize_ok (gemma, text->str, (ptrdiff_t) text->len,
                                             SIGLIP_TOKENIZE_DEFAULT, LENGTH, &n_def);
      int keep = MIN (n_raw, LENGTH - 1);
      for (int k = 0; k < LENGTH; k++)
        {
          int32_t want = k < keep ? raw[k] : k == keep ? 1 : 0;
          if (def[k] != want)
            {
              g_autofree char *shown = shown_text (text->str, text->len);
              g_error ("round %d \"%s\": position %d is %d, expected %d", round, shown, k,
                       def[k], want);
            }
        }
      g_string_free (text, TRUE);
      g_string_free (lower, TRUE);
    }
  g_rand_free (rand);
}

static gpointer
thread_encode (gpointer data)
{
  int n;
  int32_t *ids = tokenize_ok (gemma, "a photo of a cat", -1, 0, LENGTH, &n);
  gboolean ok = ids[0] == 235250 && ids[5] == 1;
  free (ids);
  return GINT_TO_POINTER (ok);
}

static void
test_threads (void)
{
  /* a loaded tokenizer is immutable: concurrent encodes need no lock */
  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    threads[i] = g_thread_new ("tok", thread_encode, NULL);
  for (int i = 0; i < 4; i++)
    g_assert_true (GPOINTER_TO_INT (g_thread_join (threads[i])));
}

/* ---------------------------------------------------------------------------------------------
 * Hand-made tokenizer.json files
 */

/* Writes SIGLENS_TEST_OUT/<name>/tokenizer.json (and tokenizer_config.json when `config` is not
 * NULL); returns the directory. */
static char *
write_tokenizer (const char *name, const char *json, const char *config)
{
  g_autofree char *rel = g_build_filename ("tokenizers", name, "tokenizer.json", NULL);
  g_autofree char *path = test_out_path (rel);
  g_autoptr (GError) error = NULL;
  /* no fsync: these files are scratch, and the prefix loop writes hundreds of them. Without
   * G_FILE_SET_CONTENTS_CONSISTENT GLib 2.74 writes in place and leaves the tail of a longer
   * earlier file, hence the unlink. */
  g_unlink (path);
  g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error);
  g_assert_no_error (error);
  char *dir = g_path_get_dirname (path);
  g_autofree char *config_path = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_unlink (config_path);
  if (config)
    g_file_set_contents_full (config_path, config, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error);
  g_assert_no_error (error);
  return dir;
}

static const char tiny_vocab[] =
  "{\"<unk>\": 0, \"<eos>\": 1, \"<pad>\": 2, \"a\": 3, \"b\": 4, \"c\": 5, \"ab\": 6, \"abc\": 7,"
  " \"\\u2581\": 8, \"aa\": 9, \"bc\": 10, \"\\u2581a\": 11, \"<0xC3>\": 12, \"<0xA9>\": 13,"
  " \"x\": 14}";

static char *
tiny_json (const char *normalizer, const char *merges, const char *model_extra, const char *added)
{
  return g_strdup_printf (
    "{\"version\": \"1.0\", \"added_tokens\": %s, \"normalizer\": %s, \"pre_tokenizer\": null,"
    " \"post_processor\": null, \"decoder\": null,"
    " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", %s \"vocab\": %s, \"merges\": %s}}",
    added ? added
          : "[{\"id\": 1, \"content\": \"<eos>\", \"normalized\": false, \"special\": true}]",
    normalizer ? normalizer : "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
                              "\"content\": \"\\u2581\"}",
    model_extra ? model_extra : "\"fuse_unk\": true, \"byte_fallback\": false,", tiny_vocab, merges);
}

static const char tiny_config[] =
  "{\"add_bos_token\": false, \"add_eos_token\": true, \"pad_token\": \"<pad>\", "
  "\"padding_side\": \"right\"}";

static siglip_tokenizer *
load_ok (const char *dir)
{
  siglip_error *err = NULL;
  siglip_tokenizer *tok = siglip_tokenizer_load (dir, &err);
  if (!tok)
    g_error ("%s: %s", dir, err->message);
  return tok;
}

static void
check_tiny_merges (const char *dir)
{
  siglip_tokenizer *tok = load_ok (dir);
  g_assert_cmpint (siglip_tokenizer_vocab_size (tok), ==, 15);
  assert_ids (tok, "abc", SIGLIP_TOKENIZE_RAW, 0, "[7]");       /* a+b (rank 0), then ab+c */
  assert_ids (tok, "abcab", SIGLIP_TOKENIZE_RAW, 0, "[7, 6]");
  assert_ids (tok, "aaa", SIGLIP_TOKENIZE_RAW, 0, "[9, 3]");    /* equal ranks: leftmost first */
  assert_ids (tok, "bc", SIGLIP_TOKENIZE_RAW, 0, "[10]");
  assert_ids (tok, "a a", SIGLIP_TOKENIZE_RAW, 0, "[3, 11]");   /* " " -> "▁", "▁"+"a" */
  assert_ids (tok, "abd", SIGLIP_TOKENIZE_RAW, 0, "[6, 0]");    /* no byte fallback: <unk> */
  assert_ids (tok, "add", SIGLIP_TOKENIZE_RAW, 0, "[3, 0]");    /* fuse_unk: one <unk> */
  assert_ids (tok, "ab<eos>c", SIGLIP_TOKENIZE_RAW, 0, "[6, 1, 5]");
  assert_ids (tok, "ABC", SIGLIP_TOKENIZE_DEFAULT, 4, "[7, 1, 2, 2]");
  assert_ids (tok, "ABC", SIGLIP_TOKENIZE_NO_LOWERCASE, 3, "[0, 1, 2]");
  siglip_tokenizer_free (tok);
}

/* The same merges as ["a","b"] pairs (tokenizers >= 0.20) and as "a b" strings. */
static void
test_tiny_merges (void)
{
  g_autofree char *pairs = tiny_json (NULL,
    "[[\"a\", \"b\"], [\"ab\", \"c\"], [\"a\", \"a\"], [\"\\u2581\", \"a\"], [\"b\", \"c\"]]",
    NULL, NULL);
  g_autofree char *strings = tiny_json (NULL,
    "[\"a b\", \"ab c\", \"a a\", \"\\u2581 a\", \"b c\"]", NULL, NULL);
  g_autofree char *dir_pairs = write_tokenizer ("pairs", pairs, tiny_config);
  g_autofree char *dir_strings = write_tokenizer ("strings", strings, tiny_config);
  check_tiny_merges (dir_pairs);
  check_tiny_merges (dir_strings);

  /* merges listed before the vocab (key order is free in JSON): read after the vocab */
  g_autofree char *merges_first = g_strdup_printf (
    "{\"added_tokens\": [{\"id\": 1, \"content\": \"<eos>\", \"normalized\": false}],"
    " \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"},"
    " \"content\": \"\\u2581\"}, \"model\": {\"merges\": [\"a b\", \"ab c\", \"a a\","
    " \"\\u2581 a\", \"b c\"], \"type\": \"BPE\", \"unk_token\": \"<unk>\","
    " \"fuse_unk\": true, \"vocab\": %s}}", tiny_vocab);
  g_autofree char *dir_first = write_tokenizer ("merges-first", merges_first, tiny_config);
  check_tiny_merges (dir_first);

  /* rank order decides, not list position of the pieces: with b+c ranked first, "abc" is a, bc */
  g_autofree char *bc_first = tiny_json (NULL, "[[\"b\", \"c\"], [\"a\", \"b\"], [\"ab\", \"c\"]]",
                                         NULL, NULL);
  g_autofree char *dir = write_tokenizer ("bc-first", bc_first, tiny_config);
  siglip_tokenizer *tok = load_ok (dir);
  assert_ids (tok, "abc", SIGLIP_TOKENIZE_RAW, 0, "[3, 10]");
  siglip_tokenizer_free (tok);
}

static void
test_tiny_byte_fallback (void)
{
  g_autofree char *json = tiny_json (NULL, "[]", "\"fuse_unk\": true, \"byte_fallback\": true,", NULL);
  g_autofree char *dir = write_tokenizer ("bytes", json, tiny_config);
  siglip_tokenizer *tok = load_ok (dir);
  assert_ids (tok, "é", SIGLIP_TOKENIZE_RAW, 0, "[12, 13]");      /* C3 A9 both in the vocab */
  assert_ids (tok, "xßßx", SIGLIP_TOKENIZE_RAW, 0, "[14, 0, 14]"); /* <0x9F> missing: one fused unk */
  /* model.rs does not flush a pending <unk> before byte-fallback tokens: it lands after them */
  assert_ids (tok, "ßé", SIGLIP_TOKENIZE_RAW, 0, "[12, 13, 0]");
  siglip_tokenizer_free (tok);

  g_autofree char *nofuse = tiny_json (NULL, "[]", "\"fuse_unk\": false, \"byte_fallback\": true,", NULL);
  g_autofree char *dir2 = write_tokenizer ("bytes-nofuse", nofuse, tiny_config);
  tok = load_ok (dir2);
  assert_ids (tok, "xßßx", SIGLIP_TOKENIZE_RAW, 0, "[14, 0, 0, 14]");
  siglip_tokenizer_free (tok);
}

static void
test_tiny_normalizers_and_added (void)
{
  /* Sequence[Lowercase, Prepend "▁", Replace " " -> "▁"]: the file's own Lowercase runs in the
   * default mode and is skipped by NO_LOWERCASE / RAW */
  g_autofree char *json = tiny_json (
    "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Lowercase\"},"
    " {\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},"
    " {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"}]}",
    "[[\"\\u2581\", \"a\"], [\"a\", \"b\"]]", NULL,
    "[{\"id\": 1, \"content\": \"<eos>\", \"normalized\": false, \"special\": true},"
    " {\"id\": 15, \"content\": \"XYZ\", \"normalized\": true, \"special\": false},"
    " {\"id\": 16, \"content\": \"<m>\", \"normalized\": false, \"lstrip\": true, \"rstrip\": true}]");
  g_autofree char *dir = write_tokenizer ("normalizers", json,
    "{\"add_bos_token\": true, \"add_eos_token\": true, \"bos_token\": \"<eos>\","
    " \"pad_token\": \"<unk>\", \"padding_side\": \"left\"}");
  siglip_tokenizer *tok = load_ok (dir);
  g_assert_cmpint (siglip_tokenizer_vocab_size (tok), ==, 17);
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 15), ==, "XYZ");
  assert_ids (tok, "a a", SIGLIP_TOKENIZE_RAW, 0, "[11, 11]");
  /* RAW skips the file's Lowercase too: "A" is not in the vocabulary */
  assert_ids (tok, "A", SIGLIP_TOKENIZE_RAW, 0, "[8, 0]");
  assert_ids (tok, "A", SIGLIP_TOKENIZE_DEFAULT, 4, "[0, 1, 11, 1]");
  /* Prepend applies per piece between added tokens: "a" and "a" each get a "▁" */
  assert_ids (tok, "a<eos>a", SIGLIP_TOKENIZE_RAW, 0, "[11, 1, 11]");
  /* lstrip/rstrip: the spaces around <m> belong to it */
  assert_ids (tok, "a  <m>  a", SIGLIP_TOKENIZE_RAW, 0, "[11, 16, 11]");
  /* a normalized added token matches the normalized text: "xyz" lowercased in the pattern too */
  assert_ids (tok, "ab xyz", SIGLIP_TOKENIZE_DEFAULT, 7, "[0, 0, 1, 11, 4, 15, 1]");
  assert_ids (tok, "XYZ", SIGLIP_TOKENIZE_NO_LOWERCASE, 0 + 3, "[1, 15, 1]");
  /* add_bos_token with bos_token "<eos>", left padding with pad_token "<unk>" */
  assert_ids (tok, "b", SIGLIP_TOKENIZE_DEFAULT, 5, "[0, 1, 8, 4, 1]");
  siglip_tokenizer_free (tok);
}

/* AddedVocabulary's Aho-Corasick is leftmost-longest: the earliest match wins, and among
 * matches starting there the longest. */
static void
test_tiny_added_leftmost_longest (void)
{
  g_autofree char *json = tiny_json (NULL, "[[\"a\", \"b\"]]", NULL,
    "[{\"id\": 20, \"content\": \"QQ\", \"normalized\": false},"
    " {\"id\": 21, \"content\": \"QQQ\", \"normalized\": false},"
    " {\"id\": 22, \"content\": \"RQ\", \"normalized\": false}]");
  g_autofree char *dir = write_tokenizer ("leftmost-longest", json, tiny_config);
  siglip_tokenizer *tok = load_ok (dir);
  assert_ids (tok, "QQQQ", SIGLIP_TOKENIZE_RAW, 0, "[21, 0]");    /* QQQ, then Q (<unk>) */
  assert_ids (tok, "RQQQ", SIGLIP_TOKENIZE_RAW, 0, "[22, 20]");   /* RQ starts first */
  assert_ids (tok, "abQQab", SIGLIP_TOKENIZE_RAW, 0, "[6, 20, 6]");
  /* exact case on the raw text: "qq" is ordinary text (lowercasing happens after the split) */
  assert_ids (tok, "qq", SIGLIP_TOKENIZE_RAW, 0, "[0]");
  assert_ids (tok, "QQ", SIGLIP_TOKENIZE_DEFAULT, 3, "[20, 1, 2]");
  siglip_tokenizer_free (tok);
}

static void
expect_load_error (const char *dir, siglip_status status, const char *needle)
{
  siglip_error *err = NULL;
  g_assert_null (siglip_tokenizer_load (dir, &err));
  g_assert_nonnull (err);
  if (err->status != status || !strstr (err->message, needle))
    g_error ("%s: got %s \"%s\", expected %s mentioning \"%s\"", dir,
             siglip_status_name (err->status), err->message, siglip_status_name (status), needle);
  siglip_error_free (err);
}

static void
test_load_errors (void)
{
  g_autofree char *missing = test_out_path ("tokenizers/does-not-exist");
  expect_load_error (missing, SIGLIP_ERR_MISSING, "does-not-exist/tokenizer.json");

  g_autofree char *good = tiny_json (NULL, "[[\"a\", \"b\"]]", NULL, NULL);
  g_autofree char *cut = g_strndup (good, strlen (good) - 20);
  g_autofree char *d1 = write_tokenizer ("truncated-json", cut, NULL);
  expect_load_error (d1, SIGLIP_ERR_FORMAT, "tokenizer.json: malformed JSON at byte");

  g_autofree char *d2 = write_tokenizer ("not-json", "this is not json", NULL);
  expect_load_error (d2, SIGLIP_ERR_FORMAT, "malformed JSON at byte 0");

  g_autofree char *nfkc = tiny_json ("{\"type\": \"NFKC\"}", "[]", NULL, NULL);
  g_autofree char *d3 = write_tokenizer ("nfkc", nfkc, NULL);
  expect_load_error (d3, SIGLIP_ERR_UNSUPPORTED, "normalizer type \"NFKC\" is not supported");

  g_autofree char *regex = tiny_json (
    "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" +\"}, \"content\": \"_\"}", "[]", NULL, NULL);
  g_autofree char *d4 = write_tokenizer ("regex", regex, NULL);
  expect_load_error (d4, SIGLIP_ERR_UNSUPPORTED, "Regex");

  g_autofree char *oov = tiny_json (NULL, "[[\"a\", \"q\"]]", NULL, NULL);
  g_autofree char *d5 = write_tokenizer ("merge-oov", oov, NULL);
  expect_load_error (d5, SIGLIP_ERR_FORMAT, "model.merges[0]: token \"q\" is not in model.vocab");

  g_autofree char *three = tiny_json (NULL, "[\"a b\", \"a b c\"]", NULL, NULL);
  g_autofree char *d6 = write_tokenizer ("merge-three", three, NULL);
  expect_load_error (d6, SIGLIP_ERR_FORMAT, "model.merges[1] is not two tokens");

  g_autofree char *wordpiece = g_strdup ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
  g_autofree char *d7 = write_tokenizer ("wordpiece", wordpiece, NULL);
  expect_load_error (d7, SIGLIP_ERR_UNSUPPORTED, "only BPE");

  GString *pre = g_string_new (good);
  g_assert_cmpuint (g_string_replace (pre, "\"pre_tokenizer\": null",
                                      "\"pre_tokenizer\": {\"type\": \"Metaspace\"}", 1), ==, 1);
  g_autofree char *d8 = write_tokenizer ("pre-tokenizer", pre->str, NULL);
  g_string_free (pre, TRUE);
  expect_load_error (d8, SIGLIP_ERR_UNSUPPORTED,
                     "pre_tokenizer \"Metaspace\" is not supported: Siglens supports no "
                     "pre_tokenizer, or a Split on a String that the normalizer replaces first");

  g_autofree char *d9 = write_tokenizer ("bad-config", good, "{\"pad_token\": ");
  expect_load_error (d9, SIGLIP_ERR_FORMAT, "tokenizer_config.json: not valid JSON");

  g_autofree char *badutf = tiny_json (NULL, "[\"a \xC0\xAF\"]", NULL, NULL);
  g_autofree char *d10 = write_tokenizer ("bad-utf8", badutf, NULL);
  expect_load_error (d10, SIGLIP_ERR_FORMAT, "invalid UTF-8");

  /* sections nobody reads are still checked, as serde_json checks the whole file */
  GString *bad_literal = g_string_new (good);
  g_string_replace (bad_literal, "\"decoder\": null", "\"decoder\": nul", 1);
  g_autofree char *d13 = write_tokenizer ("bad-literal", bad_literal->str, NULL);
  g_string_free (bad_literal, TRUE);
  expect_load_error (d13, SIGLIP_ERR_FORMAT, "unexpected character 'n'");
  GString *bad_number = g_string_new (good);
  g_string_replace (bad_number, "\"decoder\": null", "\"decoder\": -.5", 1);
  g_autofree char *d14 = write_tokenizer ("bad-number", bad_number->str, NULL);
  g_string_free (bad_number, TRUE);
  expect_load_error (d14, SIGLIP_ERR_FORMAT, "malformed number");

  /* every proper prefix of a valid file is refused cleanly (run under valgrind: no reads past
   * the end of the mapping) */
  g_autofree char *d12 = NULL;
  for (size_t cut_at = 0; cut_at < strlen (good); cut_at++)
    {
      g_autofree char *prefix = g_strndup (good, cut_at);
      g_free (d12);
      d12 = write_tokenizer ("prefix", prefix, NULL);
      siglip_error *e = NULL;
      siglip_tokenizer *t = siglip_tokenizer_load (d12, &e);
      if (t)
        g_error ("a %zu-byte prefix of %zu bytes loaded", cut_at, strlen (good));
      g_assert_true (e->status == SIGLIP_ERR_FORMAT);
      siglip_error_free (e);
    }

  /* special-token ids of the post_processor outside the vocabulary: refused at load, not on
   * the first label ((int32_t) 1e20 used to become -2147483648) */
  const char *bad_ids[] = { "1e20", "-1", "15", "1.5" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      GString *pp = g_string_new (good);
      g_autofree char *tmpl = g_strdup_printf (
        "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": "
        "{\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"<eos>\", \"type_id\": 0}}],"
        " \"special_tokens\": {\"<eos>\": {\"id\": \"<eos>\", \"ids\": [%s], \"tokens\": "
        "[\"<eos>\"]}}}", bad_ids[i]);
      g_assert_cmpuint (g_string_replace (pp, "\"post_processor\": null", tmpl, 1), ==, 1);
      g_autofree char *d15 = write_tokenizer ("special-id", pp->str, NULL);
      g_string_free (pp, TRUE);
      siglip_error *e = NULL;
      g_assert_null (siglip_tokenizer_load (d15, &e));
      test_assert_error (e, SIGLIP_ERR_FORMAT, bad_ids[i],
                         TEST_ARGS ("tokenizer.json: post_processor special token \"<eos>\" has id",
                                    "not a token id of the vocabulary (0..14)"));
    }

  /* a directory, a FIFO or an oversized file as tokenizer_config.json / tokenizer.json: said
   * as such (a directory was "not valid JSON", a FIFO hung, 1.9 GB was read whole) */
  g_autofree char *d16 = write_tokenizer ("config-is-dir", good, NULL);
  g_autofree char *cfg16 = g_build_filename (d16, "tokenizer_config.json", NULL);
  g_assert_cmpint (g_mkdir (cfg16, 0755), ==, 0);
  expect_load_error (d16, SIGLIP_ERR_IO, "tokenizer_config.json: is a directory, not a regular file");
  g_rmdir (cfg16);
  g_assert_cmpint (mkfifo (cfg16, 0644), ==, 0);
  expect_load_error (d16, SIGLIP_ERR_IO,
                     "tokenizer_config.json: is a FIFO (named pipe), not a regular file");
  g_unlink (cfg16);
  g_assert_true (g_file_set_contents (cfg16, "{}", -1, NULL));
  g_assert_cmpint (truncate (cfg16, 5 << 20), ==, 0);
  expect_load_error (d16, SIGLIP_ERR_FORMAT,
                     "tokenizer_config.json: 5242880 bytes, more than the 4194304 a file of this "
                     "kind may have");
  g_unlink (cfg16);
  g_autofree char *json16 = g_build_filename (d16, "tokenizer.json", NULL);
  g_unlink (json16);
  g_assert_cmpint (mkfifo (json16, 0644), ==, 0);
  expect_load_error (d16, SIGLIP_ERR_IO, "tokenizer.json: is a FIFO (named pipe), not a regular file");
  g_unlink (json16);
  g_assert_true (g_file_set_contents (json16, good, -1, NULL));
  g_assert_cmpint (truncate (json16, 129 << 20), ==, 0); /* sparse: costs no disk */
  expect_load_error (d16, SIGLIP_ERR_FORMAT,
                     "tokenizer.json: 135266304 bytes, more than the 128 MB a tokenizer.json may "
                     "have");
  g_unlink (json16);

  /* without tokenizer_config.json the file's post_processor (null here) is used: no <eos> */
  g_autofree char *d11 = write_tokenizer ("no-config", good, NULL);
  siglip_tokenizer *tok = load_ok (d11);
  assert_ids (tok, "ab", SIGLIP_TOKENIZE_DEFAULT, 3, "[6, 2, 2]");
  siglip_tokenizer_free (tok);
}

/* ---------------------------------------------------------------------------------------------
 * The Hub layout beyond the goldens
 */

/* The 217 added tokens are normalized: false, so they are found in the raw text with their exact
 * case before anything is lowercased: "<b>" is one id, "<B>" is three pieces of BPE. */
static void
test_hub_added_tokens (void)
{
  siglip_tokenizer *tok = hub_set.tok;
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 4), ==, "<mask>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 201), ==, "<b>");
  g_assert_cmpstr (siglip_tokenizer_id_to_token (tok, 216), ==, "</code>");
  assert_ids (tok, "a <b>bold</b> text", SIGLIP_TOKENIZE_RAW, 0, "[235250, 235248, 201, 8766, 210, 2793]");
  assert_ids (tok, "<B>caps</B>", SIGLIP_TOKENIZE_RAW, 0,
              "[235322, 235305, 235313, 33620, 727, 235305, 235313]");
  /* lowercasing comes after the split: "<START_OF_TURN>" does not become id 106 */
  int n;
  g_autofree int32_t *ids = tokenize_ok (tok, "<START_OF_TURN>", -1, SIGLIP_TOKENIZE_DEFAULT, LENGTH, &n);
  for (int i = 0; i < n; i++)
    g_assert_cmpint (ids[i], !=, 106);
  assert_ids (tok, "<start_of_turn>user", SIGLIP_TOKENIZE_DEFAULT, 4, "[106, 1645, 1, 0]");
  /* the same texts through the npm layout, which lists only ids 0-3: ordinary BPE text */
  g_autofree int32_t *npm = tokenize_ok (gemma, "<start_of_turn>user", -1, SIGLIP_TOKENIZE_RAW, 0, &n);
  g_assert_cmpint (npm[0], !=, 106);
}

/* Both layouts hold the same vocabulary and merges: the pretty-printed 34 MB file must not cost
 * much more than the 11 MB minified one (a ratio is logged, never asserted: speed is `make
 * bench`'s business), and the ids of every golden text not touching added tokens 4-216 agree. */
static void
test_hub_same_as_npm (void)
{
  const siglip_tokenizer_load_stats *a = siglip_tokenizer_get_load_stats (npm_set.tok);
  const siglip_tokenizer_load_stats *b = siglip_tokenizer_get_load_stats (hub_set.tok);
  g_test_message ("load in this run: npm layout (11 MB, minified) %.1f ms, Hub layout (34 MB, "
                  "pretty-printed) %.1f ms: %.2fx", a->total * 1e3, b->total * 1e3,
                  b->total / a->total);
  const cJSON *differs = cJSON_GetObjectItemCaseSensitive (hub_set.golden, "differs_from_npm_layout");
  g_assert_cmpint (cJSON_GetArraySize (differs), ==, 5);
  int same = 0;
  for (guint i = 0; i < npm_set.texts->len; i++)
    {
      gsize len;
      const char *text = g_bytes_get_data (npm_set.texts->pdata[i], &len);
      gboolean listed = FALSE;
      const cJSON *d;
      cJSON_ArrayForEach (d, differs)
        listed |= strlen (d->valuestring) == len && !memcmp (d->valuestring, text, len);
      int n1, n2;
      g_autofree int32_t *x = tokenize_ok (npm_set.tok, text, (ptrdiff_t) len, 0, LENGTH, &n1);
      g_autofree int32_t *y = tokenize_ok (hub_set.tok, text, (ptrdiff_t) len, 0, LENGTH, &n2);
      gboolean equal = memcmp (x, y, sizeof (int32_t) * LENGTH) == 0;
      g_assert_true (equal != listed);
      same += equal;
    }
  g_assert_cmpint (same, ==, (int) npm_set.texts->len - 5);
}

/* A Split pre_tokenizer is accepted only where the normalizer provably leaves nothing to split. */
static void
test_pre_tokenizer_split (void)
{
  g_autofree char *good = tiny_json (NULL, "[[\"a\", \"b\"]]", NULL, NULL);
  const char *split_space = "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"},"
                            " \"behavior\": \"MergedWithPrevious\", \"invert\": false}";
  GString *ok = g_string_new (good);
  g_assert_cmpuint (g_string_replace (ok, "\"pre_tokenizer\": null", split_space, 1), ==, 1);
  g_autofree char *dir = write_tokenizer ("split-space", ok->str, tiny_config);
  siglip_tokenizer *tok = load_ok (dir);
  assert_ids (tok, "ab ab", SIGLIP_TOKENIZE_RAW, 0, "[6, 8, 6]");
  siglip_tokenizer_free (tok);

  /* a normalizer that keeps the space (Replace "a" -> "b"): the split would cut, refused */
  g_autofree char *keeps = tiny_json ("{\"type\": \"Replace\", \"pattern\": {\"String\": \"x\"},"
                                      " \"content\": \"y\"}", "[]", NULL, NULL);
  GString *bad = g_string_new (keeps);
  g_string_replace (bad, "\"pre_tokenizer\": null", split_space, 1);
  g_autofree char *d1 = write_tokenizer ("split-kept", bad->str, NULL);
  expect_load_error (d1, SIGLIP_ERR_UNSUPPORTED, "pre_tokenizer Split on \" \" is not supported: "
                     "Siglens supports no pre_tokenizer, or a Split on a String that the "
                     "normalizer replaces first");
  g_string_free (bad, TRUE);

  /* the space replaced, but a later Prepend writes one back */
  g_autofree char *back = tiny_json ("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Replace\","
                                     " \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"},"
                                     " {\"type\": \"Prepend\", \"prepend\": \" \"}]}", "[]", NULL, NULL);
  bad = g_string_new (back);
  g_string_replace (bad, "\"pre_tokenizer\": null", split_space, 1);
  g_autofree char *d2 = write_tokenizer ("split-written-back", bad->str, NULL);
  expect_load_error (d2, SIGLIP_ERR_UNSUPPORTED, "pre_tokenizer Split on \" \"");
  g_string_free (bad, TRUE);

  /* a Regex split, and an inverted one */
  bad = g_string_new (good);
  g_string_replace (bad, "\"pre_tokenizer\": null", "\"pre_tokenizer\": {\"type\": \"Split\","
                    " \"pattern\": {\"Regex\": \" \"}, \"behavior\": \"Isolated\", \"invert\": false}", 1);
  g_autofree char *d3 = write_tokenizer ("split-regex", bad->str, NULL);
  expect_load_error (d3, SIGLIP_ERR_UNSUPPORTED, "pre_tokenizer Split on a Regex is not supported");
  g_string_free (bad, TRUE);
  GString *inv = g_string_new (ok->str);
  g_string_replace (inv, "\"invert\": false", "\"invert\": true", 1);
  g_autofree char *d4 = write_tokenizer ("split-invert", inv->str, NULL);
  expect_load_error (d4, SIGLIP_ERR_UNSUPPORTED, "pre_tokenizer Split on \" \"");
  g_string_free (inv, TRUE);
  g_string_free (ok, TRUE);
}

/* tokenizer.json's padding block gives the pad token and side when tokenizer_config.json does
 * not (PreTrainedTokenizerFast's defaults); the config wins where it says. */
static void
test_padding_block (void)
{
  g_autofree char *good = tiny_json (NULL, "[[\"a\", \"b\"]]", NULL, NULL);
  GString *json = g_string_new (good);
  g_string_replace (json, "\"decoder\": null", "\"decoder\": null, \"padding\": {\"strategy\": "
                    "{\"Fixed\": 4}, \"direction\": \"Left\", \"pad_to_multiple_of\": null,"
                    " \"pad_id\": 0, \"pad_type_id\": 0, \"pad_token\": \"<unk>\"}", 1);
  const char *eos_only = "{\"add_bos_token\": false, \"add_eos_token\": true}";
  g_autofree char *dir = write_tokenizer ("padding-block", json->str, eos_only);
  siglip_tokenizer *tok = load_ok (dir);
  assert_ids (tok, "ab", SIGLIP_TOKENIZE_DEFAULT, 4, "[0, 0, 6, 1]");
  siglip_tokenizer_free (tok);
  g_autofree char *dir2 = write_tokenizer ("padding-block-config", json->str, tiny_config);
  tok = load_ok (dir2);
  assert_ids (tok, "ab", SIGLIP_TOKENIZE_DEFAULT, 4, "[6, 1, 2, 2]");
  siglip_tokenizer_free (tok);

  GString *bad = g_string_new (json->str);
  g_string_replace (bad, "\"Left\"", "\"Up\"", 1);
  g_autofree char *d1 = write_tokenizer ("padding-bad", bad->str, eos_only);
  expect_load_error (d1, SIGLIP_ERR_FORMAT, "padding needs a \"direction\" of \"Left\" or \"Right\"");
  g_string_free (bad, TRUE);
  bad = g_string_new (json->str);
  g_string_replace (bad, "\"pad_token\": \"<unk>\"", "\"pad_token\": \"<nope>\"", 1);
  g_autofree char *d2 = write_tokenizer ("padding-unknown", bad->str, eos_only);
  expect_load_error (d2, SIGLIP_ERR_FORMAT, "tokenizer.json: pad_token \"<nope>\" is not in the vocabulary");
  g_string_free (bad, TRUE);
  g_string_free (json, TRUE);
}

/* ---------------------------------------------------------------------------------------------
 * siglens-cli tokenize
 */

static char *
run_cli (const char *const *args, int *status, char **err_out)
{
  const char *cli = g_getenv ("SIGLENS_CLI");
  g_assert_nonnull (cli);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) cli);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  char *out = NULL;
  g_autoptr (GError) error = NULL;
  int wait = 0;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, err_out,
                &wait, &error);
  g_assert_no_error (error);
  *status = g_spawn_check_wait_status (wait, NULL) ? 0 : 1;
  return out;
}

static const cJSON *
golden_case (const char *text)
{
  const cJSON *c;
  cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (golden, "cases"))
    if (!strcmp (cJSON_GetObjectItemCaseSensitive (c, "text")->valuestring, text))
      return c;
  g_error ("no golden case \"%s\"", text);
}

static void
check_cli_line (const char *line, const char *text, const char *key)
{
  cJSON *got = cJSON_Parse (line);
  g_assert_nonnull (got);
  const cJSON *want = cJSON_GetObjectItemCaseSensitive (golden_case (text), key);
  g_assert_true (cJSON_Compare (got, want, TRUE));
  cJSON_Delete (got);
}

static void
test_cli (void)
{
  g_autofree char *model = test_data_path ("gemma-tokenizer");
  int status;
  g_autofree char *err = NULL;
  const char *texts[] = { "American robin", "<eos>", "ΟΔΟΣ", "猫" };
  const char *args[] = { "tokenize", "--model", model, texts[0], texts[1], texts[2], texts[3], NULL };
  g_autofree char *out = run_cli (args, &status, &err);
  g_assert_cmpint (status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, 5); /* 4 lines + the empty rest after the last \n */
  for (int i = 0; i < 4; i++)
    check_cli_line (lines[i], texts[i], "input_ids");

  const char *raw_args[] = { "tokenize", "--raw", "--model", model, texts[0], "<EOS>", NULL };
  g_autofree char *err2 = NULL;
  g_autofree char *raw = run_cli (raw_args, &status, &err2);
  g_assert_cmpint (status, ==, 0);
  g_auto (GStrv) raw_lines = g_strsplit (raw, "\n", -1);
  check_cli_line (raw_lines[0], texts[0], "raw_ids");
  check_cli_line (raw_lines[1], "<EOS>", "raw_ids");

  /* options after the texts, and a text that looks like an option after "--" */
  const char *mixed[] = { "tokenize", "American robin", "--model", model, "--raw", "--", "--", NULL };
  g_autofree char *err6 = NULL;
  g_autofree char *mixed_out = run_cli (mixed, &status, &err6);
  g_assert_cmpint (status, ==, 0);
  g_auto (GStrv) mixed_lines = g_strsplit (mixed_out, "\n", -1);
  check_cli_line (mixed_lines[0], "American robin", "raw_ids");
  check_cli_line (mixed_lines[1], "--", "raw_ids");

  const char *help[] = { "tokenize", "--help", NULL };
  g_autofree char *err3 = NULL;
  g_autofree char *usage = run_cli (help, &status, &err3);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (usage, "--raw"));

  const char *bad[] = { "tokenize", "--model", "/nonexistent/tokenizer-dir", "cat", NULL };
  g_autofree char *err4 = NULL;
  g_autofree char *nothing = run_cli (bad, &status, &err4);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (nothing, ==, "");
  g_assert_nonnull (strstr (err4, "/nonexistent/tokenizer-dir"));

  const char *no_model[] = { "tokenize", "cat", NULL };
  g_autofree char *err5 = NULL;
  g_autofree char *nothing2 = run_cli (no_model, &status, &err5);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err5, "--model is required"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  golden_set *sets[] = { &npm_set, &hub_set };
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *dir = test_data_path (sets[i]->dir);
      sets[i]->tok = load_ok (dir);
      load_golden (sets[i]);
    }
  gemma = npm_set.tok;
  golden = npm_set.golden;

  for (int i = 0; i < 2; i++)
    {
      const char *layout = i ? "hub" : "npm";
      static const struct {
        const char *name;
        GTestDataFunc func;
      } golden_tests[] = {
        { "load", test_load },
        { "golden/input-ids", test_golden_input_ids },
        { "golden/raw-ids", test_golden_raw_ids },
        { "golden/no-lowercase", test_golden_no_lowercase },
        { "golden/flagged", test_golden_flagged },
      };
      for (size_t k = 0; k < G_N_ELEMENTS (golden_tests); k++)
        {
          g_autofree char *path = g_strdup_printf ("/tokenizer/%s/%s", layout, golden_tests[k].name);
          g_test_add_data_func (path, sets[i], golden_tests[k].func);
        }
    }
  g_test_add_func ("/tokenizer/hub/added-tokens", test_hub_added_tokens);
  g_test_add_func ("/tokenizer/hub/same-as-npm", test_hub_same_as_npm);
  g_test_add_func ("/tokenizer/truncation", test_truncation);
  g_test_add_func ("/tokenizer/no-lowercase", test_no_lowercase);
  g_test_add_func ("/tokenizer/nul-bytes", test_nul_bytes);
  g_test_add_func ("/tokenizer/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/tokenizer/long-inputs", test_long_inputs);
  g_test_add_func ("/tokenizer/threads", test_threads);
  g_test_add_func ("/tokenizer/unicode-lower-table", test_unicode_lower_table);
  g_test_add_func ("/tokenizer/random-texts", test_random_texts_consistent);
  g_test_add_func ("/tokenizer/tiny/merges", test_tiny_merges);
  g_test_add_func ("/tokenizer/tiny/byte-fallback", test_tiny_byte_fallback);
  g_test_add_func ("/tokenizer/tiny/normalizers-and-added-tokens", test_tiny_normalizers_and_added);
  g_test_add_func ("/tokenizer/tiny/added-leftmost-longest", test_tiny_added_leftmost_longest);
  g_test_add_func ("/tokenizer/tiny/pre-tokenizer-split", test_pre_tokenizer_split);
  g_test_add_func ("/tokenizer/tiny/padding-block", test_padding_block);
  g_test_add_func ("/tokenizer/load-errors", test_load_errors);
  g_test_add_func ("/tokenizer/cli", test_cli);

  int status = g_test_run ();
  for (int i = 0; i < 2; i++)
    {
      siglip_tokenizer_free (sets[i]->tok);
      cJSON_Delete (sets[i]->golden);
      g_ptr_array_unref (sets[i]->texts);
    }
  return status;
}
