/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tokenizer.c — the Gemma tokenizer of tokenizer.json, exact to Hugging Face's Rust `tokenizers`.
 *
 * One encode (tokenizers: TokenizerImpl::encode_single_sequence, AddedVocabulary::
 * extract_and_normalize, models/bpe):
 *   1. split the raw text on the non-normalized added tokens (leftmost-longest, exact case), so
 *      "<eos>" in the text is id 1 but "<EOS>" is not an added token at all;
 *   2. normalize each remaining piece: SigLIP 2 lowercases each code point (FACTS.md §8), then the
 *      file's normalizer (Gemma: Replace " " -> "▁");
 *   3. split those pieces on the normalized added tokens (none in Gemma's file);
 *   4. BPE each piece as one word (no pre_tokenizer runs: the Hub files' Split " " finds no space
 *      left after Replace " " -> "▁", see check_pre_tokenizer): code points -> vocab ids, byte fallback
 *      to <0xXX> tokens, then merges by rank through a min-heap over a linked list of symbols, as
 *      bpe/word.rs merge_all — O(n log n), no rescans;
 *   5. unless RAW: truncate to length minus the template's special tokens, apply the template
 *      ($A <eos>), pad with <pad> to `length`.
 *
 * Modes: DEFAULT does all five steps; NO_LOWERCASE skips the lowercasing (the file's own
 * Lowercase step too, if it has one); RAW is steps 1-4 without lowercasing, i.e. the bare Gemma
 * ids (added tokens in the text are still matched, as the goldens' raw_ids show for "<eos>").
 *
 * Loading: tokenizer.json is 11 MB minified, 34 MB pretty-printed as the Hub serves it, nearly
 * all of it model.vocab (256000 entries) and model.merges (580604). cJSON alone needs ~0.3 s just to parse it (measured on the reference
 * machine), more than this whole load (~0.17 s CPU): the file is mapped and scanned once, the
 * two big arrays go straight into flat hash tables, and only the small sections use cJSON.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"
#include "tokenizer.h"

/* Ids beyond this are refused as implausible (Gemma has 256000): keeps a corrupt file from
 * making us allocate gigabytes for the id table. */
#define MAX_TOKEN_ID (1 << 24)
#define JSON_MAX_DEPTH 128
/* Caps so that a hostile file cannot make us read gigabytes: Gemma's tokenizer.json is 33 MB,
 * its tokenizer_config.json 40 KB (4 MB like config.json's cap). */
#define MAX_TOKENIZER_JSON_BYTES (128 << 20)
#define MAX_TOKENIZER_CONFIG_BYTES (4u << 20)

/* ============================================================================================
 * Small growable buffers
 */

/* Makes room for one more element in a growable array, doubling from `first`. */
static bool
grow_array (void **items, size_t *cap, size_t len, size_t elem_size, size_t first)
{
  if (len < *cap)
    return true;
  size_t cap2 = *cap ? *cap * 2 : first;
  void *p = realloc (*items, cap2 * elem_size);
  if (!p)
    return false;
  *items = p;
  *cap = cap2;
  return true;
}

typedef struct {
  char *data;
  size_t len, cap;
} buf;

static bool
buf_reserve (buf *b, size_t extra)
{
  if (b->len + extra <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra)
    cap *= 2;
  char *p = realloc (b->data, cap);
  if (!p)
    return false;
  b->data = p;
  b->cap = cap;
  return true;
}

static bool
buf_append (buf *b, const void *s, size_t n)
{
  if (!buf_reserve (b, n + 1))
    return false;
  if (n)
    memcpy (b->data + b->len, s, n);
  b->len += n;
  return true;
}

static bool
buf_append_cp (buf *b, uint32_t cp)
{
  unsigned char u[4];
  size_t n;
  if (cp < 0x80)
    u[0] = (unsigned char) cp, n = 1;
  else if (cp < 0x800)
    u[0] = 0xC0 | (cp >> 6), u[1] = 0x80 | (cp & 0x3F), n = 2;
  else if (cp < 0x10000)
    u[0] = 0xE0 | (cp >> 12), u[1] = 0x80 | ((cp >> 6) & 0x3F), u[2] = 0x80 | (cp & 0x3F), n = 3;
  else
    u[0] = 0xF0 | (cp >> 18), u[1] = 0x80 | ((cp >> 12) & 0x3F),
    u[2] = 0x80 | ((cp >> 6) & 0x3F), u[3] = 0x80 | (cp & 0x3F), n = 4;
  return buf_append (b, u, n);
}

typedef struct {
  int32_t *data;
  size_t len, cap;
} idvec;

static bool
idvec_push (idvec *v, int32_t id)
{
  if (!grow_array ((void **) &v->data, &v->cap, v->len, sizeof *v->data, 64))
    return false;
  v->data[v->len++] = id;
  return true;
}

static double
now_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* ============================================================================================
 * UTF-8
 */

int
siglip_utf8_decode (const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char b0 = s[0];
  if (b0 < 0x80)
    {
      *cp = b0;
      return 1;
    }
  int len;
  uint32_t v;
  /* Second-byte bounds per lead byte, as RFC 3629's table: they exclude overlongs (E0, F0),
   * surrogates (ED) and code points above U+10FFFF (F4). */
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 < 0xC2)
    return b0 < 0xC0 ? SIGLIP_UTF8_INVALID_BYTE : SIGLIP_UTF8_OVERLONG;
  else if (b0 < 0xE0)
    len = 2, v = b0 & 0x1F;
  else if (b0 < 0xF0)
    {
      len = 3, v = b0 & 0x0F;
      if (b0 == 0xE0)
        lo = 0xA0;
      else if (b0 == 0xED)
        hi = 0x9F;
    }
  else if (b0 < 0xF5)
    {
      len = 4, v = b0 & 0x07;
      if (b0 == 0xF0)
        lo = 0x90;
      else if (b0 == 0xF4)
        hi = 0x8F;
    }
  else
    return b0 < 0xF8 ? SIGLIP_UTF8_TOO_LARGE : SIGLIP_UTF8_INVALID_BYTE;

  for (int i = 1; i < len; i++)
    {
      if ((size_t) i >= n || (s[i] & 0xC0) != 0x80)
        return SIGLIP_UTF8_TRUNCATED;
      if (i == 1 && (s[1] < lo || s[1] > hi))
        return b0 == 0xE0 || b0 == 0xF0 ? SIGLIP_UTF8_OVERLONG
               : b0 == 0xED             ? SIGLIP_UTF8_SURROGATE
                                        : SIGLIP_UTF8_TOO_LARGE;
      v = (v << 6) | (s[i] & 0x3F);
    }
  *cp = v;
  return len;
}

const char *
siglip_utf8_problem_name (int problem)
{
  switch (problem)
    {
    case SIGLIP_UTF8_INVALID_BYTE: return "a byte that cannot start a UTF-8 sequence";
    case SIGLIP_UTF8_TRUNCATED: return "a truncated multi-byte sequence";
    case SIGLIP_UTF8_OVERLONG: return "an overlong encoding";
    case SIGLIP_UTF8_SURROGATE: return "an encoded UTF-16 surrogate (U+D800..U+DFFF)";
    case SIGLIP_UTF8_TOO_LARGE: return "a code point above U+10FFFF";
    default: return "an invalid sequence";
    }
}

/* Rust char::is_whitespace (Unicode White_Space), for the lstrip/rstrip of added tokens. */
static bool
is_unicode_whitespace (uint32_t c)
{
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
         || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
         || c == 0x205F || c == 0x3000;
}

/* ============================================================================================
 * The tokenizer
 */

typedef struct {
  uint32_t off, len; /* key in tok->strings */
  uint32_t hash;     /* of the key: most mismatches are rejected without touching the arena */
  uint32_t id1;      /* id + 1; 0: empty slot */
} vocab_slot;

typedef struct {
  uint32_t a1, b;    /* pair of token ids, the first + 1; a1 == 0: empty slot */
  uint32_t rank;     /* index in model.merges: lower merges first */
  int32_t new_id;    /* id of the concatenation */
} merge_slot;

typedef enum { NORM_LOWERCASE, NORM_REPLACE, NORM_PREPEND } norm_kind;

typedef struct {
  norm_kind kind;
  char *pattern; /* Replace: the literal searched for */
  size_t pattern_len;
  char *content; /* Replace: replacement; Prepend: prefix */
  size_t content_len;
} norm_step;

typedef struct {
  char *content;
  size_t len;
  int32_t id;
  bool normalized, lstrip, rstrip, special;
  char *norm[2]; /* normalized content without / with lowercasing (normalized tokens only) */
  size_t norm_len[2];
} added_token;

typedef struct {
  const char *s;
  size_t n;
  int token; /* index in tok->added */
} added_pattern;

typedef struct {
  added_pattern *items; /* sorted by first byte, then longest first */
  int n;
  int bucket[257];      /* items starting with byte b: [bucket[b], bucket[b + 1]) */
} pattern_set;

struct siglip_tokenizer {
  /* vocabulary: all strings NUL-terminated in one arena */
  buf strings;
  vocab_slot *vocab; /* model vocab: token -> id, open addressing */
  uint32_t vocab_mask, vocab_count;
  uint32_t *id_off;  /* id -> offset in strings (UINT32_MAX: no token), model vocab */
  int n_ids;         /* max id + 1 over vocab and added tokens */
  const char **id_names; /* id -> token text: added tokens first, as Rust's id_to_token */

  merge_slot *merges;
  uint32_t merges_mask, merges_count;

  /* BPE options (model section) */
  bool byte_fallback, fuse_unk, ignore_merges;
  int32_t byte_ids[256]; /* <0xXX> ids, -1 when absent */
  int32_t unk_id;        /* -1: no unk_token */
  char *unk_token;

  norm_step *steps;
  int n_steps;
  bool file_lowercases; /* the file's normalizer has its own Lowercase */

  added_token *added;
  int n_added;
  pattern_set raw_patterns;     /* non-normalized added tokens, matched in the raw text */
  pattern_set norm_patterns[2]; /* normalized ones, per lowercase mode */

  /* post-processing: template = prefix ids, $A, suffix ids */
  int32_t *prefix, *suffix;
  int n_prefix, n_suffix;
  int32_t pad_id; /* -1: none */
  bool pad_left, truncate_left;
  /* tokenizer.json "padding": defaults for tokenizer_config.json's pad_token and padding_side,
   * as PreTrainedTokenizerFast takes them (NULL / -1: no padding block) */
  char *padding_token;
  int padding_left;

  siglip_tokenizer_load_stats stats;
};

/* ---- vocabulary and merges hash tables ----
 * Both are built once, at their final size, from the entries in file order (a repeated key keeps
 * its last value, as the serde HashMaps of the Rust model do). calloc'd: an all-zero slot is
 * empty, so ids are stored + 1 and the kernel's zero pages need no initialising pass. */

/* 64-bit finaliser of MurmurHash3: spreads every input bit over the low bits the tables use */
static uint64_t
mix64 (uint64_t k)
{
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDull;
  k ^= k >> 33;
  k *= 0xC4CEB9FE1A85EC53ull;
  k ^= k >> 33;
  return k;
}

static uint32_t
hash_bytes (const char *s, size_t n)
{
  uint64_t h = 14695981039346656037ull; /* FNV-1a, then mixed */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char) s[i]) * 1099511628211ull;
  return (uint32_t) mix64 (h);
}

/* A table of n zeroed elements, its pages faulted in writable at once: filled by probing, each
 * page would otherwise be read first (the zero page mapped) and then written (a copy-on-write
 * fault and a TLB shootdown to every other thread of the process). Those faults were 20% of a
 * first load's CPU time here. */
static void *
zeroed_table (size_t n, size_t elem)
{
  void *p = calloc (n, elem);
  if (p)
    siglip_populate_pages (p, n * elem, true);
  return p;
}

/* Table size for n keys at a load factor of at most 0.6. */
static uint32_t
table_size (size_t n)
{
  uint32_t size = 1024;
  while ((uint64_t) size * 3 < (uint64_t) n * 5)
    size *= 2;
  return size;
}

static int32_t
vocab_get_hashed (const siglip_tokenizer *tok, const char *s, size_t n, uint32_t h)
{
  for (uint32_t i = h & tok->vocab_mask;; i = (i + 1) & tok->vocab_mask)
    {
      const vocab_slot *slot = &tok->vocab[i];
      if (!slot->id1)
        return -1;
      if (slot->hash == h && slot->len == n && memcmp (tok->strings.data + slot->off, s, n) == 0)
        return (int32_t) slot->id1 - 1;
    }
}

static int32_t
vocab_get (const siglip_tokenizer *tok, const char *s, size_t n)
{
  return tok->vocab ? vocab_get_hashed (tok, s, n, hash_bytes (s, n)) : -1;
}

/* entries[i].hash must be set; entries[i].id1 is the id + 1. */
static bool
vocab_build (siglip_tokenizer *tok, const vocab_slot *entries, size_t n)
{
  uint32_t size = table_size (n);
  tok->vocab = zeroed_table (size, sizeof *tok->vocab);
  if (!tok->vocab)
    return false;
  tok->vocab_mask = size - 1;
  for (size_t k = 0; k < n; k++)
    {
      const vocab_slot *e = &entries[k];
      for (uint32_t i = e->hash & tok->vocab_mask;; i = (i + 1) & tok->vocab_mask)
        {
          vocab_slot *slot = &tok->vocab[i];
          if (!slot->id1 || (slot->hash == e->hash && slot->len == e->len
                             && !memcmp (tok->strings.data + slot->off,
                                         tok->strings.data + e->off, e->len)))
            {
              *slot = *e;
              break;
            }
        }
    }
  return true;
}

static uint32_t
pair_hash (uint32_t a, uint32_t b)
{
  return (uint32_t) mix64 ((uint64_t) a << 32 | b);
}

static const merge_slot *
merge_get (const siglip_tokenizer *tok, uint32_t a, uint32_t b)
{
  if (!tok->merges)
    return NULL;
  for (uint32_t i = pair_hash (a, b) & tok->merges_mask;; i = (i + 1) & tok->merges_mask)
    {
      const merge_slot *slot = &tok->merges[i];
      if (!slot->a1)
        return NULL;
      if (slot->a1 == a + 1 && slot->b == b)
        return slot;
    }
}

/* Rehashes the merges into a calloc'd table of `size` slots (a power of two). */
static bool
merges_resize (siglip_tokenizer *tok, uint32_t size)
{
  merge_slot *slots = zeroed_table (size, sizeof *slots);
  if (!slots)
    return false;
  for (uint32_t j = 0; tok->merges && j <= tok->merges_mask; j++)
    if (tok->merges[j].a1)
      {
        uint32_t i = pair_hash (tok->merges[j].a1 - 1, tok->merges[j].b) & (size - 1);
        while (slots[i].a1)
          i = (i + 1) & (size - 1);
        slots[i] = tok->merges[j];
      }
  free (tok->merges);
  tok->merges = slots;
  tok->merges_mask = size - 1;
  return true;
}

/* Inserts merges in file order, growing the table when it passes a load of 0.6. The slots of
 * the batch are prefetched first: each insert is otherwise a cache miss in a 16 MB table. */
static bool
merges_insert (siglip_tokenizer *tok, const merge_slot *entries, size_t n)
{
  for (size_t k = 0; k < n; k++)
    __builtin_prefetch (&tok->merges[pair_hash (entries[k].a1 - 1, entries[k].b) & tok->merges_mask], 1);
  for (size_t k = 0; k < n; k++)
    {
      if ((uint64_t) (tok->merges_count + 1) * 5 > (uint64_t) (tok->merges_mask + 1) * 3
          && !merges_resize (tok, (tok->merges_mask + 1) * 2))
        return false;
      const merge_slot *e = &entries[k];
      for (uint32_t i = pair_hash (e->a1 - 1, e->b) & tok->merges_mask;; i = (i + 1) & tok->merges_mask)
        {
          merge_slot *slot = &tok->merges[i];
          if (!slot->a1 || (slot->a1 == e->a1 && slot->b == e->b))
            {
              tok->merges_count += !slot->a1;
              *slot = *e;
              break;
            }
        }
    }
  return true;
}

/* ============================================================================================
 * A minimal JSON scanner for the two big arrays of tokenizer.json
 */

typedef struct {
  const char *start, *p, *end;
  const char *file;
  siglip_error **error;
} json_cursor;

typedef struct {
  const char *p;
  size_t n;
} slice;

static bool
json_fail (json_cursor *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static bool
json_fail (json_cursor *c, const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  return siglip_set_error (c->error, SIGLIP_ERR_FORMAT, "%s: malformed JSON at byte %zu: %s",
                           c->file, (size_t) (c->p - c->start), msg);
}

static void
json_ws (json_cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
    c->p++;
}

/* Skips whitespace and consumes `ch` if it is next. */
static bool
json_accept (json_cursor *c, char ch)
{
  json_ws (c);
  if (c->p < c->end && *c->p == ch)
    {
      c->p++;
      return true;
    }
  return false;
}

static bool
json_expect (json_cursor *c, char ch)
{
  if (json_accept (c, ch))
    return true;
  if (c->p >= c->end)
    return json_fail (c, "expected '%c', found the end of the file", ch);
  return json_fail (c, "expected '%c', found '%c'", ch, *c->p);
}

static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      char ch = p[i];
      int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                       : -1;
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  return v;
}

/* Decodes a JSON string and appends it to `out` (not NUL-terminated; may contain NUL). Strict
 * like serde_json: raw control characters, invalid UTF-8 and lone surrogates are errors. */
static bool
json_string (json_cursor *c, buf *out)
{
  if (!json_expect (c, '"'))
    return false;
  for (;;)
    {
      const char *run = c->p;
      while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char) *c->p >= 0x20
             && (unsigned char) *c->p < 0x80)
        c->p++;
      if (!buf_append (out, run, (size_t) (c->p - run)))
        return siglip_set_error (c->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", c->file);
      if (c->p >= c->end)
        return json_fail (c, "unterminated string");
      unsigned char ch = (unsigned char) *c->p;
      if (ch == '"')
        {
          c->p++;
          return true;
        }
      if (ch < 0x20)
        return json_fail (c, "control character 0x%02X inside a string", ch);
      if (ch >= 0x80)
        {
          uint32_t cp;
          int n = siglip_utf8_decode ((const unsigned char *) c->p, (size_t) (c->end - c->p), &cp);
          if (n < 0)
            return json_fail (c, "invalid UTF-8 (%s)", siglip_utf8_problem_name (n));
          if (!buf_append (out, c->p, (size_t) n))
            return siglip_set_error (c->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", c->file);
          c->p += n;
          continue;
        }
      /* backslash escape */
      if (c->end - c->p < 2)
        return json_fail (c, "unterminated escape");
      char e = c->p[1];
      c->p += 2;
      const char *simple = strchr ("\"\\/bfnrt", e);
      if (e && simple)
        {
          static const char decoded[] = "\"\\/\b\f\n\r\t";
          if (!buf_append (out, &decoded[simple - "\"\\/bfnrt"], 1))
            return siglip_set_error (c->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", c->file);
          continue;
        }
      if (e != 'u')
        return json_fail (c, "unknown escape '\\%c'", e);
      int u = c->end - c->p >= 4 ? hex4 (c->p) : -1;
      if (u < 0)
        return json_fail (c, "bad \\u escape");
      c->p += 4;
      uint32_t cp = (uint32_t) u;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return json_fail (c, "lone low surrogate \\u%04X", cp);
      if (cp >= 0xD800 && cp <= 0xDBFF)
        {
          int lo = c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' ? hex4 (c->p + 2) : -1;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return json_fail (c, "lone high surrogate \\u%04X", cp);
          c->p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t) lo - 0xDC00);
        }
      if (!buf_append_cp (out, cp))
        return siglip_set_error (c->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", c->file);
    }
}

/* A non-negative integer (vocabulary ids). */
static bool
json_uint (json_cursor *c, int64_t *value)
{
  json_ws (c);
  const char *begin = c->p;
  int64_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
    {
      v = v * 10 + (*c->p - '0');
      if (v > INT32_MAX)
        return json_fail (c, "number too large for a token id");
      c->p++;
    }
  if (c->p == begin || (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E')))
    return json_fail (c, "expected a non-negative integer");
  *value = v;
  return true;
}

/* Skips a string, checking it as json_string would (escapes, control characters, UTF-8). */
static bool
json_skip_string (json_cursor *c)
{
  c->p++; /* the opening quote */
  while (c->p < c->end)
    {
      unsigned char ch = (unsigned char) *c->p;
      if (ch == '"')
        {
          c->p++;
          return true;
        }
      if (ch < 0x20)
        return json_fail (c, "control character 0x%02X inside a string", ch);
      if (ch == '\\')
        {
          char e = c->end - c->p >= 2 ? c->p[1] : '\0';
          if (e == 'u' && (c->end - c->p < 6 || hex4 (c->p + 2) < 0))
            return json_fail (c, "bad \\u escape");
          if (e != 'u' && (!e || !strchr ("\"\\/bfnrt", e)))
            return json_fail (c, "bad escape in a string");
          c->p += e == 'u' ? 6 : 2;
          continue;
        }
      if (ch >= 0x80)
        {
          uint32_t cp;
          int n = siglip_utf8_decode ((const unsigned char *) c->p, (size_t) (c->end - c->p), &cp);
          if (n < 0)
            return json_fail (c, "invalid UTF-8 (%s)", siglip_utf8_problem_name (n));
          c->p += n;
          continue;
        }
      c->p++;
    }
  return json_fail (c, "unterminated string");
}

static bool
json_digits (json_cursor *c)
{
  const char *begin = c->p;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
    c->p++;
  return c->p > begin || json_fail (c, "malformed number");
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
json_skip_number (json_cursor *c)
{
  if (c->p < c->end && *c->p == '-')
    c->p++;
  if (c->p < c->end && *c->p == '0')
    c->p++;
  else if (!json_digits (c))
    return false;
  if (c->p < c->end && *c->p == '.')
    {
      c->p++;
      if (!json_digits (c))
        return false;
    }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
    {
      c->p++;
      if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
        c->p++;
      if (!json_digits (c))
        return false;
    }
  return true;
}

/* Skips any value, checking it fully: a malformed section is an error even when nothing here
 * reads it, as serde_json refuses the whole file. */
static bool
json_skip (json_cursor *c, int depth)
{
  if (depth > JSON_MAX_DEPTH)
    return json_fail (c, "nested deeper than %d", JSON_MAX_DEPTH);
  json_ws (c);
  if (c->p >= c->end)
    return json_fail (c, "expected a value, found the end of the file");
  char ch = *c->p;
  if (ch == '"')
    return json_skip_string (c);
  if (ch == '{' || ch == '[')
    {
      char close = ch == '{' ? '}' : ']';
      c->p++;
      if (json_accept (c, close))
        return true;
      do
        {
          if (ch == '{')
            {
              json_ws (c);
              if (c->p >= c->end || *c->p != '"')
                return json_fail (c, "expected a string key");
              if (!json_skip_string (c) || !json_expect (c, ':'))
                return false;
            }
          if (!json_skip (c, depth + 1))
            return false;
        }
      while (json_accept (c, ','));
      return json_expect (c, close);
    }
  if (ch == '-' || (ch >= '0' && ch <= '9'))
    return json_skip_number (c);
  static const char *const literals[] = { "true", "false", "null" };
  for (int i = 0; i < 3; i++)
    {
      size_t n = strlen (literals[i]);
      if ((size_t) (c->end - c->p) >= n && !memcmp (c->p, literals[i], n))
        {
          c->p += n;
          return true;
        }
    }
  return json_fail (c, "unexpected character '%c'", ch);
}

/* Called for each member of an object scanned by json_object: returns 1 when it consumed the
 * value, 0 to let the scanner skip (and maybe record) it, -1 on error. */
typedef int (*json_member_func) (json_cursor *c, const buf *key, void *data);

/* Scans an object and records the raw text of the values of `keys` in `values` (n.p == NULL
 * when absent); `member` (may be NULL) may consume values itself. `key` is scratch space. */
static bool
json_object (json_cursor *c, const char *const *keys, slice *values, int n_keys, buf *key,
             json_member_func member, void *data)
{
  for (int i = 0; i < n_keys; i++)
    values[i] = (slice) { NULL, 0 };
  if (!json_expect (c, '{'))
    return false;
  if (json_accept (c, '}'))
    return true;
  do
    {
      key->len = 0;
      if (!json_string (c, key) || !json_expect (c, ':'))
        return false;
      json_ws (c);
      int consumed = member ? member (c, key, data) : 0;
      if (consumed < 0)
        return false;
      if (consumed)
        continue;
      const char *value = c->p;
      if (!json_skip (c, 1))
        return false;
      for (int i = 0; i < n_keys; i++)
        if (strlen (keys[i]) == key->len && memcmp (keys[i], key->data, key->len) == 0)
          values[i] = (slice) { value, (size_t) (c->p - value) };
    }
  while (json_accept (c, ','));
  return json_expect (c, '}');
}

static bool
key_is (const buf *key, const char *name)
{
  return key->len == strlen (name) && memcmp (key->data, name, key->len) == 0;
}

/* ============================================================================================
 * Loading: model.vocab and model.merges
 */

static bool
load_vocab (siglip_tokenizer *tok, json_cursor *c)
{
  vocab_slot *entries = NULL;
  size_t n = 0, cap = 0, cap_ids = 0;
  bool ok = false;
  if (!json_expect (c, '{'))
    goto out;
  if (json_accept (c, '}'))
    {
      siglip_set_error (c->error, SIGLIP_ERR_FORMAT, "%s: model.vocab is empty", c->file);
      goto out;
    }
  do
    {
      size_t off = tok->strings.len;
      int64_t id = 0;
      if (!json_string (c, &tok->strings) || !json_expect (c, ':') || !json_uint (c, &id))
        goto out;
      size_t len = tok->strings.len - off;
      if (!buf_append (&tok->strings, "", 1)) /* NUL terminator for id_to_token */
        goto oom;
      if (tok->strings.len > UINT32_MAX / 2)
        {
          siglip_set_error (c->error, SIGLIP_ERR_FORMAT, "%s: model.vocab is too large", c->file);
          goto out;
        }
      if (id >= MAX_TOKEN_ID)
        {
          json_fail (c, "token id %lld is implausibly large", (long long) id);
          goto out;
        }
      while ((size_t) id >= cap_ids)
        {
          size_t old = cap_ids;
          if (!grow_array ((void **) &tok->id_off, &cap_ids, cap_ids, sizeof *tok->id_off, 4096))
            goto oom;
          for (size_t i = old; i < cap_ids; i++)
            tok->id_off[i] = UINT32_MAX;
        }
      tok->id_off[id] = (uint32_t) off;
      if (id + 1 > tok->n_ids)
        tok->n_ids = (int) id + 1;
      if (!grow_array ((void **) &entries, &cap, n, sizeof *entries, 4096))
        goto oom;
      entries[n++] = (vocab_slot) { (uint32_t) off, (uint32_t) len,
                                    hash_bytes (tok->strings.data + off, len), (uint32_t) id + 1 };
    }
  while (json_accept (c, ','));
  if (!json_expect (c, '}'))
    goto out;
  if (!vocab_build (tok, entries, n))
    goto oom;
  tok->vocab_count = (uint32_t) n;
  ok = true;
  goto out;
oom:
  siglip_set_error (c->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", c->file);
out:
  free (entries);
  return ok;
}

/* Merges waiting for their ids: a at scratch[off, off + len_a), b right after it, so that
 * scratch[off, off + len) is the merged token. */
typedef struct {
  size_t off, len_a, len;
} pending_merge;

enum { MERGE_BATCH = 64 };

/* Looks up the 3 x n tokens of a batch of merges. The lookups are cache misses into a table of
 * megabytes, so they are overlapped: all slots are prefetched, then the strings of the first
 * slots probed, then the lookups run on warm lines (this halves the load time). */
static bool
resolve_merges (siglip_tokenizer *tok, json_cursor *c, const buf *scratch, const pending_merge *pm,
                size_t n, size_t first_rank, merge_slot *out)
{
  uint32_t h[MERGE_BATCH][3];
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 3; k++)
      {
        const char *s = scratch->data + pm[i].off + (k == 1 ? pm[i].len_a : 0);
        size_t len = k == 0 ? pm[i].len_a : k == 1 ? pm[i].len - pm[i].len_a : pm[i].len;
        h[i][k] = hash_bytes (s, len);
        __builtin_prefetch (&tok->vocab[h[i][k] & tok->vocab_mask]);
      }
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 3; k++)
      {
        const vocab_slot *slot = &tok->vocab[h[i][k] & tok->vocab_mask];
        if (slot->id1)
          __builtin_prefetch (tok->strings.data + slot->off);
      }
  for (size_t i = 0; i < n; i++)
    {
      int32_t id[3];
      for (int k = 0; k < 3; k++)
        {
          const char *s = scratch->data + pm[i].off + (k == 1 ? pm[i].len_a : 0);
          size_t len = k == 0 ? pm[i].len_a : k == 1 ? pm[i].len - pm[i].len_a : pm[i].len;
          id[k] = vocab_get_hashed (tok, s, len, h[i][k]);
          if (id[k] < 0)
            return siglip_set_error (c->error, SIGLIP_ERR_FORMAT,
                                     "%s: model.merges[%zu]: token \"%.*s\" is not in model.vocab",
                                     c->file, first_rank + i, (int) (len > 64 ? 64 : len), s);
        }
      out[i] = (merge_slot) { (uint32_t) id[0] + 1, (uint32_t) id[1], (uint32_t) (first_rank + i),
                              id[2] };
    }
  return true;
}

/* One merge, either form: "a b" strings (split on the one space, as convert_merges_to_hashmap)
 * or ["a", "b"] pairs (tokenizers >= 0.20); appended to scratch as a then b. */
static bool
read_merge (json_cursor *c, buf *scratch, size_t rank, pending_merge *pm)
{
  pm->off = scratch->len;
  json_ws (c);
  if (c->p < c->end && *c->p == '[')
    {
      c->p++;
      if (!json_string (c, scratch))
        return false;
      pm->len_a = scratch->len - pm->off;
      if (!json_expect (c, ',') || !json_string (c, scratch) || !json_expect (c, ']'))
        return false;
    }
  else
    {
      if (!json_string (c, scratch))
        return false;
      char *text = scratch->data + pm->off;
      size_t len = scratch->len - pm->off;
      char *space = memchr (text, ' ', len);
      if (!space || memchr (space + 1, ' ', len - (size_t) (space - text) - 1))
        return siglip_set_error (c->error, SIGLIP_ERR_FORMAT,
                                 "%s: model.merges[%zu] is not two tokens separated by one space",
                                 c->file, rank);
      pm->len_a = (size_t) (space - text);
      memmove (space, space + 1, len - pm->len_a - 1);
      scratch->len--;
    }
  pm->len = scratch->len - pm->off;
  return true;
}

/* model.merges: the rank of a merge is its index. */
static bool
load_merges (siglip_tokenizer *tok, json_cursor *c)
{
  buf scratch = { 0 };
  pending_merge batch[MERGE_BATCH];
  merge_slot resolved[MERGE_BATCH];
  size_t rank = 0, n_batch = 0;
  bool ok = false;
  /* BPE vocabularies carry about two merges per token (Gemma: 580604 for 256000): sized so,
   * the table is allocated once and never rehashed */
  if (!merges_resize (tok, table_size ((size_t) tok->vocab_count * 2)))
    goto oom;
  if (!json_expect (c, '['))
    goto out;
  bool empty = json_accept (c, ']');
  if (!empty)
    for (bool more = true; more;)
      {
        if (!read_merge (c, &scratch, rank + n_batch, &batch[n_batch]))
          goto out;
        n_batch++;
        more = json_accept (c, ',');
        if (n_batch < MERGE_BATCH && more)
          continue;
        if (rank + n_batch >= UINT32_MAX)
          goto oom;
        if (!resolve_merges (tok, c, &scratch, batch, n_batch, rank, resolved))
          goto out;
        if (!merges_insert (tok, resolved, n_batch))
          goto oom;
        rank += n_batch;
        n_batch = 0;
        scratch.len = 0;
      }
  if (!empty && !json_expect (c, ']'))
    goto out;
  ok = true;
  goto out;
oom:
  siglip_set_error (c->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", c->file);
out:
  tok->stats.n_merges = (int) rank;
  free (scratch.data);
  return ok;
}

/* ============================================================================================
 * Loading: the small sections (cJSON)
 */

/* cJSON tree of a slice of the file; NULL (with the error set) when malformed. */
static cJSON *
parse_slice (slice s, const char *file, const char *section, siglip_error **error)
{
  cJSON *json = cJSON_ParseWithLength (s.p, s.n);
  if (!json)
    siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: %s is not valid JSON", file, section);
  return json;
}

/* A JSON string value as a NUL-terminated copy, or NULL. */
static char *
dup_string (const cJSON *item)
{
  return cJSON_IsString (item) && item->valuestring ? strdup (item->valuestring) : NULL;
}

static bool
get_bool (const cJSON *obj, const char *key, bool fallback)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);
  return cJSON_IsBool (item) ? cJSON_IsTrue (item) : fallback;
}

static bool
add_norm_step (siglip_tokenizer *tok, norm_step step)
{
  norm_step *p = realloc (tok->steps, (size_t) (tok->n_steps + 1) * sizeof *p);
  if (!p)
    return false;
  tok->steps = p;
  tok->steps[tok->n_steps++] = step;
  return true;
}

/* The normalizer types that Gemma and SigLIP 2 files use (normalizers/mod.rs names); anything
 * else would change the ids in ways this file does not implement, so it is refused. */
static bool
load_normalizer (siglip_tokenizer *tok, const cJSON *n, const char *file, int depth,
                 siglip_error **error)
{
  if (cJSON_IsNull (n))
    return true;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (n, "type");
  if (!cJSON_IsString (type) || depth > 8)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: normalizer without a \"type\"", file);
  const char *t = type->valuestring;
  if (!strcmp (t, "Sequence"))
    {
      const cJSON *list = cJSON_GetObjectItemCaseSensitive (n, "normalizers");
      if (!cJSON_IsArray (list))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: normalizer Sequence without a \"normalizers\" list", file);
      const cJSON *item;
      cJSON_ArrayForEach (item, list)
        if (!load_normalizer (tok, item, file, depth + 1, error))
          return false;
      return true;
    }
  if (!strcmp (t, "Lowercase"))
    {
      tok->file_lowercases = true;
      return add_norm_step (tok, (norm_step) { NORM_LOWERCASE })
             || siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
    }
  if (!strcmp (t, "Replace"))
    {
      const cJSON *pattern = cJSON_GetObjectItemCaseSensitive (n, "pattern");
      const cJSON *literal = cJSON_GetObjectItemCaseSensitive (pattern, "String");
      const cJSON *content = cJSON_GetObjectItemCaseSensitive (n, "content");
      if (cJSON_GetObjectItemCaseSensitive (pattern, "Regex"))
        return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                                 "%s: normalizer Replace with a Regex pattern is not supported "
                                 "(only String patterns)", file);
      if (!cJSON_IsString (literal) || !*literal->valuestring || !cJSON_IsString (content))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: normalizer Replace needs a non-empty pattern.String and a "
                                 "content string", file);
      norm_step step = { NORM_REPLACE, strdup (literal->valuestring), strlen (literal->valuestring),
                         strdup (content->valuestring), strlen (content->valuestring) };
      if (!step.pattern || !step.content || !add_norm_step (tok, step))
        {
          free (step.pattern);
          free (step.content);
          return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
        }
      return true;
    }
  if (!strcmp (t, "Prepend"))
    {
      const cJSON *prepend = cJSON_GetObjectItemCaseSensitive (n, "prepend");
      if (!cJSON_IsString (prepend))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: normalizer Prepend without a \"prepend\" string", file);
      norm_step step = { NORM_PREPEND, NULL, 0, strdup (prepend->valuestring),
                         strlen (prepend->valuestring) };
      if (!step.content || !add_norm_step (tok, step))
        {
          free (step.content);
          return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
        }
      return true;
    }
  return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                           "%s: normalizer type \"%s\" is not supported (supported: Sequence, "
                           "Lowercase, Replace with a String pattern, Prepend)", file, t);
}

/* Runs the normalizer on s[0..n) into `out` (cleared first). `lowercase`: SigLIP 2's per-code-
 * point lowercasing, done first as Siglip2Tokenizer's Sequence([Lowercase(), Replace(...)]),
 * unless the file's own normalizer places it; false also skips the file's Lowercase steps.
 * `tmp` is scratch. The input is valid UTF-8. */
static bool
normalize (const siglip_tokenizer *tok, bool lowercase, const char *s, size_t n, buf *out, buf *tmp)
{
  out->len = 0;
  if (!buf_append (out, s, n))
    return false;
  for (int i = -1; i < tok->n_steps; i++)
    {
      norm_kind kind = i < 0 ? NORM_LOWERCASE : tok->steps[i].kind;
      if (i < 0 && (!lowercase || tok->file_lowercases))
        continue;
      if (kind == NORM_LOWERCASE && !lowercase)
        continue;
      tmp->len = 0;
      if (kind == NORM_LOWERCASE)
        {
          /* NormalizedString::lowercase: each char through char::to_lowercase, no context */
          const unsigned char *p = (const unsigned char *) out->data;
          for (size_t k = 0; k < out->len;)
            {
              uint32_t cp, lower[3];
              k += (size_t) siglip_utf8_decode (p + k, out->len - k, &cp);
              int m = siglip_unicode_lower (cp, lower);
              for (int j = 0; j < m; j++)
                if (!buf_append_cp (tmp, lower[j]))
                  return false;
            }
        }
      else if (kind == NORM_REPLACE)
        {
          /* all non-overlapping occurrences, left to right */
          const norm_step *st = &tok->steps[i];
          const char *p = out->data, *end = out->data + out->len;
          const char *hit;
          while ((hit = memmem (p, (size_t) (end - p), st->pattern, st->pattern_len)))
            {
              if (!buf_append (tmp, p, (size_t) (hit - p))
                  || !buf_append (tmp, st->content, st->content_len))
                return false;
              p = hit + st->pattern_len;
            }
          if (!buf_append (tmp, p, (size_t) (end - p)))
            return false;
        }
      else
        {
          /* Prepend: only to non-empty pieces (normalizers/prepend.rs) */
          const norm_step *st = &tok->steps[i];
          if (out->len && !buf_append (tmp, st->content, st->content_len))
            return false;
          if (!buf_append (tmp, out->data, out->len))
            return false;
        }
      buf swap = *out;
      *out = *tmp;
      *tmp = swap;
    }
  return true;
}

static int
pattern_cmp (const void *pa, const void *pb)
{
  const added_pattern *a = pa, *b = pb;
  unsigned char fa = (unsigned char) a->s[0], fb = (unsigned char) b->s[0];
  if (fa != fb)
    return fa < fb ? -1 : 1;
  return a->n > b->n ? -1 : a->n < b->n ? 1 : a->token - b->token;
}

/* Builds the set of the raw (mode < 0) or the normalized (mode 0/1) added tokens. */
static bool
build_patterns (siglip_tokenizer *tok, pattern_set *set, int mode)
{
  set->items = calloc ((size_t) tok->n_added + 1, sizeof *set->items);
  if (!set->items)
    return false;
  for (int i = 0; i < tok->n_added; i++)
    {
      const added_token *t = &tok->added[i];
      if ((mode < 0) == t->normalized)
        continue;
      added_pattern p = { mode < 0 ? t->content : t->norm[mode], mode < 0 ? t->len : t->norm_len[mode], i };
      if (p.n == 0) /* AddedVocabulary ignores empty tokens */
        continue;
      set->items[set->n++] = p;
    }
  qsort (set->items, (size_t) set->n, sizeof *set->items, pattern_cmp);
  for (int b = 0, k = 0; b <= 256; b++)
    {
      while (k < set->n && (unsigned char) set->items[k].s[0] < b)
        k++;
      set->bucket[b] = k;
    }
  return true;
}

/* The id of a token's text: added tokens first, then model.vocab (AddedVocabulary::token_to_id). */
static int32_t
token_to_id (const siglip_tokenizer *tok, const char *s)
{
  for (int i = 0; i < tok->n_added; i++)
    if (!strcmp (tok->added[i].content, s))
      return tok->added[i].id;
  return vocab_get (tok, s, strlen (s));
}

static bool
load_added_tokens (siglip_tokenizer *tok, const cJSON *list, const char *file, siglip_error **error)
{
  if (!list || cJSON_IsNull (list))
    return true;
  if (!cJSON_IsArray (list))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: added_tokens is not a list", file);
  int n = cJSON_GetArraySize (list);
  tok->added = calloc ((size_t) n + 1, sizeof *tok->added);
  if (!tok->added)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
  const cJSON *item;
  cJSON_ArrayForEach (item, list)
    {
      int k = tok->n_added;
      const cJSON *id = cJSON_GetObjectItemCaseSensitive (item, "id");
      const cJSON *content = cJSON_GetObjectItemCaseSensitive (item, "content");
      if (!cJSON_IsNumber (id) || id->valuedouble < 0 || id->valuedouble >= MAX_TOKEN_ID
          || !cJSON_IsString (content))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: added_tokens[%d] needs an \"id\" and a \"content\"", file, k);
      if (get_bool (item, "single_word", false))
        return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                                 "%s: added token \"%s\" has single_word, which is not supported",
                                 file, content->valuestring);
      added_token *t = &tok->added[k];
      t->content = strdup (content->valuestring);
      if (!t->content)
        return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
      t->len = strlen (t->content);
      t->id = (int32_t) id->valuedouble;
      t->normalized = get_bool (item, "normalized", true);
      t->lstrip = get_bool (item, "lstrip", false);
      t->rstrip = get_bool (item, "rstrip", false);
      t->special = get_bool (item, "special", false);
      tok->n_added++;
      if (t->id + 1 > tok->n_ids)
        tok->n_ids = t->id + 1;
    }
  buf tmp = { 0 }, out = { 0 };
  for (int i = 0; i < tok->n_added; i++)
    for (int mode = 0; mode < 2 && tok->added[i].normalized; mode++)
      {
        added_token *t = &tok->added[i];
        if (!normalize (tok, mode == 1, t->content, t->len, &out, &tmp)
            || !(t->norm[mode] = malloc (out.len + 1)))
          {
            free (tmp.data);
            free (out.data);
            return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
          }
        memcpy (t->norm[mode], out.data, out.len);
        t->norm[mode][out.len] = '\0';
        t->norm_len[mode] = out.len;
      }
  free (tmp.data);
  free (out.data);
  if (!build_patterns (tok, &tok->raw_patterns, -1) || !build_patterns (tok, &tok->norm_patterns[0], 0)
      || !build_patterns (tok, &tok->norm_patterns[1], 1))
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
  return true;
}

static bool
load_model_options (siglip_tokenizer *tok, const slice *v, const char *file, siglip_error **error)
{
  /* v: type, dropout, unk_token, continuing_subword_prefix, end_of_word_suffix, fuse_unk,
   *    byte_fallback, ignore_merges */
  static const char *const names[] = { "type", "dropout", "unk_token", "continuing_subword_prefix",
                                       "end_of_word_suffix", "fuse_unk", "byte_fallback",
                                       "ignore_merges" };
  cJSON *values[8] = { 0 };
  bool ok = false;
  for (int i = 0; i < 8; i++)
    if (v[i].p && !(values[i] = parse_slice (v[i], file, names[i], error)))
      goto out;
  if (cJSON_IsString (values[0]) && !strcmp (values[0]->valuestring, "Unigram"))
    {
      siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                        "%s: model.type is Unigram, the SentencePiece tokenizer of SigLIP 1 "
                        "checkpoints, which are not supported. " SIGLIP_SUPPORTED, file);
      goto out;
    }
  if (values[0] && (!cJSON_IsString (values[0]) || strcmp (values[0]->valuestring, "BPE")))
    {
      siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                        "%s: model.type is \"%s\"; only BPE is supported", file,
                        cJSON_IsString (values[0]) ? values[0]->valuestring : "?");
      goto out;
    }
  if (values[1] && !cJSON_IsNull (values[1])
      && !(cJSON_IsNumber (values[1]) && values[1]->valuedouble == 0.0))
    {
      siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                        "%s: model.dropout is set; BPE dropout is not supported", file);
      goto out;
    }
  for (int i = 3; i <= 4; i++)
    if (values[i] && !cJSON_IsNull (values[i])
        && !(cJSON_IsString (values[i]) && !*values[i]->valuestring))
      {
        siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED, "%s: model.%s is not supported", file,
                          names[i]);
        goto out;
      }
  tok->unk_token = dup_string (values[2]);
  tok->fuse_unk = cJSON_IsTrue (values[5]);
  tok->byte_fallback = cJSON_IsTrue (values[6]);
  tok->ignore_merges = cJSON_IsTrue (values[7]);
  ok = true;
out:
  for (int i = 0; i < 8; i++)
    cJSON_Delete (values[i]);
  return ok;
}

/* A special token of tokenizer_config.json: a string, or an AddedToken object with "content". */
static const char *
config_token (const cJSON *config, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (config, key);
  if (cJSON_IsObject (item))
    item = cJSON_GetObjectItemCaseSensitive (item, "content");
  return cJSON_IsString (item) ? item->valuestring : NULL;
}

static bool
set_template (siglip_tokenizer *tok, const int32_t *prefix, int n_prefix, const int32_t *suffix,
              int n_suffix)
{
  tok->prefix = malloc ((size_t) (n_prefix + 1) * sizeof (int32_t));
  tok->suffix = malloc ((size_t) (n_suffix + 1) * sizeof (int32_t));
  if (!tok->prefix || !tok->suffix)
    return false;
  if (n_prefix)
    memcpy (tok->prefix, prefix, (size_t) n_prefix * sizeof (int32_t));
  if (n_suffix)
    memcpy (tok->suffix, suffix, (size_t) n_suffix * sizeof (int32_t));
  tok->n_prefix = n_prefix;
  tok->n_suffix = n_suffix;
  return true;
}

/* post_processor TemplateProcessing "single": SpecialToken items before / after $A. */
static bool
load_template (siglip_tokenizer *tok, const cJSON *pp, const char *file, siglip_error **error)
{
  if (!pp || cJSON_IsNull (pp))
    return set_template (tok, NULL, 0, NULL, 0)
           || siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (pp, "type");
  if (!cJSON_IsString (type) || strcmp (type->valuestring, "TemplateProcessing"))
    return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                             "%s: post_processor type \"%s\" is not supported (only "
                             "TemplateProcessing)", file,
                             cJSON_IsString (type) ? type->valuestring : "?");
  const cJSON *single = cJSON_GetObjectItemCaseSensitive (pp, "single");
  const cJSON *specials = cJSON_GetObjectItemCaseSensitive (pp, "special_tokens");
  int32_t ids[2][64];
  int n[2] = { 0, 0 }, side = 0;
  bool seen_a = false;
  const cJSON *item;
  cJSON_ArrayForEach (item, single)
    {
      const cJSON *seq = cJSON_GetObjectItemCaseSensitive (item, "Sequence");
      const cJSON *sp = cJSON_GetObjectItemCaseSensitive (item, "SpecialToken");
      if (seq)
        {
          if (seen_a)
            return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                                     "%s: post_processor.single uses $A twice", file);
          seen_a = true;
          side = 1;
          continue;
        }
      const cJSON *name = cJSON_GetObjectItemCaseSensitive (sp, "id");
      const cJSON *entry = cJSON_IsString (name)
                             ? cJSON_GetObjectItemCaseSensitive (specials, name->valuestring)
                             : NULL;
      const cJSON *entry_ids = cJSON_GetObjectItemCaseSensitive (entry, "ids");
      if (!cJSON_IsArray (entry_ids))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: post_processor.single has an item that is neither a "
                                 "Sequence nor a SpecialToken listed in special_tokens", file);
      const cJSON *id;
      cJSON_ArrayForEach (id, entry_ids)
        {
          if (!cJSON_IsNumber (id) || n[side] >= 64)
            return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                     "%s: post_processor special_tokens ids are malformed", file);
          /* checked here, not when the first label is encoded: (int32_t) 1e20 is undefined */
          if (!(id->valuedouble >= 0 && id->valuedouble < tok->n_ids)
              || id->valuedouble != (double) (int32_t) id->valuedouble)
            return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                     "%s: post_processor special token \"%s\" has id %.17g, "
                                     "not a token id of the vocabulary (0..%d)", file,
                                     name->valuestring, id->valuedouble, tok->n_ids - 1);
          ids[side][n[side]++] = (int32_t) id->valuedouble;
        }
    }
  if (!seen_a)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: post_processor.single has no $A", file);
  return set_template (tok, ids[0], n[0], ids[1], n[1])
         || siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
}

/* Whether no text the normalizer puts out can contain `pattern`, for every lowercase mode. Proved
 * only for the shape transformers' Gemma converter writes: the pattern is one ASCII character
 * that is not a letter (so no Lowercase step, the file's or SigLIP 2's, can make one), a Replace
 * of exactly that character removes every occurrence, and no later step writes it again. */
static bool
normalizer_removes (const siglip_tokenizer *tok, const char *pattern)
{
  unsigned char ch = (unsigned char) pattern[0];
  if (!ch || pattern[1] || ch >= 0x80 || (unsigned) ((ch | 0x20) - 'a') < 26u)
    return false;
  bool removed = false;
  for (int i = 0; i < tok->n_steps; i++)
    {
      const norm_step *st = &tok->steps[i];
      bool writes = st->content && memchr (st->content, ch, st->content_len);
      if (st->kind == NORM_REPLACE && st->pattern_len == 1 && (unsigned char) st->pattern[0] == ch)
        removed = !writes;
      else if (writes)
        removed = false;
    }
  return removed;
}

/* pre_tokenizer: Siglens runs none, so each normalized piece is one BPE word. transformers' Gemma
 * converter writes Split(String " ", MergedWithPrevious) after Replace(" " -> "▁"): a split on a
 * character the normalizer has already removed splits nothing, so that one is accepted. Any other
 * would cut the text into words before BPE, which Siglens does not do: refused. */
static bool
check_pre_tokenizer (const siglip_tokenizer *tok, const cJSON *pre, const char *file,
                     siglip_error **error)
{
  if (!pre || cJSON_IsNull (pre))
    return true;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (pre, "type");
  const char *name = cJSON_IsString (type) ? type->valuestring : "without a type";
  if (cJSON_IsString (type) && !strcmp (name, "Split"))
    {
      const cJSON *pattern = cJSON_GetObjectItemCaseSensitive (pre, "pattern");
      const cJSON *literal = cJSON_GetObjectItemCaseSensitive (pattern, "String");
      const cJSON *invert = cJSON_GetObjectItemCaseSensitive (pre, "invert");
      if (cJSON_IsString (literal) && !cJSON_IsTrue (invert)
          && normalizer_removes (tok, literal->valuestring))
        return true;
      return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                               "%s: pre_tokenizer Split on %s%s%s is not supported: Siglens "
                               "supports no pre_tokenizer, or a Split on a String that the "
                               "normalizer replaces first (Gemma's Split \" \" after Replace "
                               "\" \" -> \"\u2581\")",
                               file, cJSON_IsString (literal) ? "\"" : "a Regex",
                               cJSON_IsString (literal) ? literal->valuestring : "",
                               cJSON_IsString (literal) ? "\"" : "");
    }
  return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                           "%s: pre_tokenizer \"%s\" is not supported: Siglens supports no "
                           "pre_tokenizer, or a Split on a String that the normalizer replaces "
                           "first (Gemma's Split \" \" after Replace \" \" -> \"\u2581\")",
                           file, name);
}

/* tokenizer.json "padding" (null, or {"strategy", "direction": "Left"|"Right", "pad_token", ...}).
 * Siglens always pads to the text tower's length, so only the token and the side are kept. */
static bool
load_padding (siglip_tokenizer *tok, const cJSON *padding, const char *file, siglip_error **error)
{
  tok->padding_left = -1;
  if (!padding || cJSON_IsNull (padding))
    return true;
  const cJSON *direction = cJSON_GetObjectItemCaseSensitive (padding, "direction");
  const cJSON *token = cJSON_GetObjectItemCaseSensitive (padding, "pad_token");
  if (!cJSON_IsObject (padding) || !cJSON_IsString (direction)
      || (strcmp (direction->valuestring, "Left") && strcmp (direction->valuestring, "Right"))
      || (token && !cJSON_IsString (token)))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: padding needs a \"direction\" of \"Left\" or \"Right\" and a "
                             "string \"pad_token\"", file);
  tok->padding_left = !strcmp (direction->valuestring, "Left");
  if (token && !(tok->padding_token = strdup (token->valuestring)))
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
  return true;
}

/* tokenizer_config.json: as transformers' GemmaTokenizerFast, add_bos_token/add_eos_token
 * rebuild the template (update_post_processor: "<bos> $A <eos>" with either part optional);
 * pad_token and padding_side decide the padding. Without the file, the post_processor of
 * tokenizer.json is used as is, <pad> pads and padding is on the right (the SigLIP 2 processor's
 * choice, FACTS.md §8). */
static bool
load_config (siglip_tokenizer *tok, const char *directory, const cJSON *post_processor,
             const char *json_file, siglip_error **error)
{
  char *path = NULL;
  char *text = NULL;
  cJSON *config = NULL;
  bool ok = false;
  if (!(path = siglip_path_join (directory, "tokenizer_config.json")))
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
  siglip_error *read_error = NULL;
  text = siglip_read_text_file (path, MAX_TOKENIZER_CONFIG_BYTES, &read_error);
  if (!text && read_error->status != SIGLIP_ERR_MISSING)
    {
      /* a directory, a FIFO, too large, unreadable: said as such */
      if (error)
        *error = read_error;
      else
        siglip_error_free (read_error);
      goto out;
    }
  siglip_error_free (read_error);
  if (text && !(config = cJSON_Parse (text)))
    {
      siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: not valid JSON", path);
      goto out;
    }

  const cJSON *add_bos = cJSON_GetObjectItemCaseSensitive (config, "add_bos_token");
  const cJSON *add_eos = cJSON_GetObjectItemCaseSensitive (config, "add_eos_token");
  if (cJSON_IsBool (add_bos) || cJSON_IsBool (add_eos))
    {
      int32_t bos[1], eos[1];
      int n_bos = 0, n_eos = 0;
      const char *names[2] = { config_token (config, "bos_token"), config_token (config, "eos_token") };
      const char *fallback[2] = { "<bos>", "<eos>" };
      /* GemmaTokenizerFast defaults: add_bos_token=True, add_eos_token=False */
      bool want[2] = { cJSON_IsBool (add_bos) ? cJSON_IsTrue (add_bos) : true,
                       cJSON_IsBool (add_eos) ? cJSON_IsTrue (add_eos) : false };
      for (int k = 0; k < 2; k++)
        {
          if (!want[k])
            continue;
          const char *name = names[k] ? names[k] : fallback[k];
          int32_t id = token_to_id (tok, name);
          if (id < 0)
            {
              siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: %s \"%s\" is not in the vocabulary",
                                path, k ? "eos_token" : "bos_token", name);
              goto out;
            }
          if (k == 0)
            bos[n_bos++] = id;
          else
            eos[n_eos++] = id;
        }
      if (!set_template (tok, bos, n_bos, eos, n_eos))
        {
          siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
          goto out;
        }
    }
  else if (!load_template (tok, post_processor, json_file, error))
    goto out;

  const char *pad = config_token (config, "pad_token");
  const char *pad_file = path;
  if (!pad && tok->padding_token)
    {
      pad = tok->padding_token;
      pad_file = json_file;
    }
  tok->pad_id = token_to_id (tok, pad ? pad : "<pad>");
  if (pad && tok->pad_id < 0)
    {
      siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: pad_token \"%s\" is not in the vocabulary",
                        pad_file, pad);
      goto out;
    }
  const cJSON *side = cJSON_GetObjectItemCaseSensitive (config, "padding_side");
  if (cJSON_IsString (side))
    tok->pad_left = !strcmp (side->valuestring, "left");
  else
    tok->pad_left = tok->padding_left == 1;
  side = cJSON_GetObjectItemCaseSensitive (config, "truncation_side");
  tok->truncate_left = cJSON_IsString (side) && !strcmp (side->valuestring, "left");
  ok = true;
out:
  cJSON_Delete (config);
  free (text);
  free (path);
  return ok;
}

/* Maps the file read-only: no copy of its 11 MB, and the page cache serves repeated loads. */
static bool
map_file (const char *path, siglip_mapping *mapping, siglip_error **error)
{
  /* the cap before the mapping, which faults every page in */
  struct stat st;
  if (stat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > MAX_TOKENIZER_JSON_BYTES)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: %lld bytes, more than the %d MB a "
                             "tokenizer.json may have (Gemma's is 33 MB)", path,
                             (long long) st.st_size, MAX_TOKENIZER_JSON_BYTES >> 20);
  const char *step = NULL;
  const int err = siglip_map_readonly (path, true, mapping, NULL, &step);
  if (err)
    return siglip_file_error (error, path, err, step);
  if (mapping->size == 0)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: the file is empty", path);
  return true;
}

static const char *const model_keys[] = { "type", "dropout", "unk_token",
                                          "continuing_subword_prefix", "end_of_word_suffix",
                                          "fuse_unk", "byte_fallback", "ignore_merges", "merges" };
enum { N_MODEL_KEYS = sizeof model_keys / sizeof model_keys[0], MODEL_MERGES = N_MODEL_KEYS - 1 };

typedef struct {
  siglip_tokenizer *tok;
  slice model[N_MODEL_KEYS];
  bool have_model, have_vocab, have_merges;
  buf key;
} load_context;

/* model.vocab and model.merges are read in the one pass over the file; merges listed before the
 * vocab (not so in any file seen) are recorded and read afterwards. */
static int
model_member (json_cursor *c, const buf *key, void *data)
{
  load_context *ctx = data;
  const slice *type = &ctx->model[0];
  if (type->p && !(type->n == 5 && !memcmp (type->p, "\"BPE\"", 5)))
    return 0; /* not BPE: load_model_options says so */
  if (key_is (key, "vocab"))
    {
      if (ctx->have_vocab)
        return json_fail (c, "model.vocab appears twice") ? 1 : -1;
      double t0 = now_seconds ();
      if (!load_vocab (ctx->tok, c))
        return -1;
      ctx->tok->stats.vocab = now_seconds () - t0;
      ctx->have_vocab = true;
      return 1;
    }
  if (key_is (key, "merges") && ctx->have_vocab)
    {
      if (ctx->have_merges)
        return json_fail (c, "model.merges appears twice") ? 1 : -1;
      double t0 = now_seconds ();
      if (!load_merges (ctx->tok, c))
        return -1;
      ctx->tok->stats.merges = now_seconds () - t0;
      ctx->have_merges = true;
      return 1;
    }
  return 0;
}

static int
top_member (json_cursor *c, const buf *key, void *data)
{
  load_context *ctx = data;
  if (!key_is (key, "model"))
    return 0;
  if (ctx->have_model)
    return json_fail (c, "\"model\" appears twice") ? 1 : -1;
  ctx->have_model = true;
  return json_object (c, model_keys, ctx->model, N_MODEL_KEYS, &ctx->key, model_member, ctx) ? 1 : -1;
}

static bool
load_tokenizer_json (siglip_tokenizer *tok, const char *directory, const char *path,
                     const char *text, size_t size, siglip_error **error)
{
  enum { TOP_ADDED, TOP_NORMALIZER, TOP_PRE_TOKENIZER, TOP_POST_PROCESSOR, TOP_PADDING, N_TOP };
  static const char *const top_keys[N_TOP] = { "added_tokens", "normalizer", "pre_tokenizer",
                                               "post_processor", "padding" };
  slice top[N_TOP];
  cJSON *added = NULL, *normalizer = NULL, *pre = NULL, *post = NULL, *padding = NULL;
  buf key = { 0 };
  load_context ctx = { .tok = tok };
  bool ok = false;

  json_cursor c = { text, text, text + size, path, error };
  if (!json_object (&c, top_keys, top, N_TOP, &key, top_member, &ctx))
    goto out;
  json_ws (&c);
  if (c.p != c.end)
    {
      json_fail (&c, "trailing characters after the top-level object");
      goto out;
    }
  if (!ctx.have_model)
    {
      siglip_set_error (error, SIGLIP_ERR_MISSING, "%s: no \"model\" section", path);
      goto out;
    }
  if (!load_model_options (tok, ctx.model, path, error))
    goto out;
  if (!ctx.have_vocab || (!ctx.have_merges && !ctx.model[MODEL_MERGES].p))
    {
      siglip_set_error (error, SIGLIP_ERR_MISSING, "%s: model has no \"%s\"", path,
                        ctx.have_vocab ? "merges" : "vocab");
      goto out;
    }
  if (!ctx.have_merges)
    {
      double t0 = now_seconds ();
      json_cursor m = { text, ctx.model[MODEL_MERGES].p,
                        ctx.model[MODEL_MERGES].p + ctx.model[MODEL_MERGES].n, path, error };
      if (!load_merges (tok, &m))
        goto out;
      tok->stats.merges = now_seconds () - t0;
    }

  for (int b = 0; b < 256; b++)
    {
      char name[8];
      snprintf (name, sizeof name, "<0x%02X>", b); /* as format!("<{b:#04X}>") */
      tok->byte_ids[b] = vocab_get (tok, name, strlen (name));
    }
  tok->unk_id = -1;
  if (tok->unk_token && (tok->unk_id = vocab_get (tok, tok->unk_token, strlen (tok->unk_token))) < 0)
    {
      siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: model.unk_token \"%s\" is not in model.vocab",
                        path, tok->unk_token);
      goto out;
    }

  if ((top[TOP_NORMALIZER].p
       && !(normalizer = parse_slice (top[TOP_NORMALIZER], path, "normalizer", error)))
      || (top[TOP_PRE_TOKENIZER].p
          && !(pre = parse_slice (top[TOP_PRE_TOKENIZER], path, "pre_tokenizer", error)))
      || (top[TOP_ADDED].p && !(added = parse_slice (top[TOP_ADDED], path, "added_tokens", error)))
      || (top[TOP_POST_PROCESSOR].p
          && !(post = parse_slice (top[TOP_POST_PROCESSOR], path, "post_processor", error)))
      || (top[TOP_PADDING].p && !(padding = parse_slice (top[TOP_PADDING], path, "padding", error))))
    goto out;
  if (normalizer && !load_normalizer (tok, normalizer, path, 0, error))
    goto out;
  if (!check_pre_tokenizer (tok, pre, path, error) || !load_padding (tok, padding, path, error))
    goto out;
  if (!load_added_tokens (tok, added, path, error))
    goto out;
  if (!load_config (tok, directory, post, path, error))
    goto out;
  ok = true;
out:
  cJSON_Delete (added);
  cJSON_Delete (normalizer);
  cJSON_Delete (pre);
  cJSON_Delete (post);
  cJSON_Delete (padding);
  free (key.data);
  free (ctx.key.data);
  return ok;
}

static bool
build_id_names (siglip_tokenizer *tok)
{
  tok->id_names = calloc ((size_t) tok->n_ids + 1, sizeof *tok->id_names);
  if (!tok->id_names)
    return false;
  for (int id = 0; id < tok->n_ids; id++)
    if (tok->id_off && tok->id_off[id] != UINT32_MAX)
      tok->id_names[id] = tok->strings.data + tok->id_off[id];
  for (int i = 0; i < tok->n_added; i++)
    tok->id_names[tok->added[i].id] = tok->added[i].content;
  return true;
}

/* SigLIP 1 checkpoints may ship only spiece.model (SiglipTokenizer): say what the directory
 * holds instead of just that tokenizer.json is missing. */
static void
refuse_sentencepiece_only (const char *directory, siglip_error **error)
{
  char *spiece = NULL;
  struct stat st;
  if (asprintf (&spiece, "%s/spiece.model", directory) >= 0 && stat (spiece, &st) == 0)
    {
      siglip_error_free (*error);
      *error = NULL;
      siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                        "%s: only SentencePiece's spiece.model, no tokenizer.json: this is the "
                        "tokenizer of a SigLIP 1 checkpoint, which is not supported. "
                        SIGLIP_SUPPORTED, directory);
    }
  free (spiece);
}

siglip_tokenizer *
siglip_tokenizer_load (const char *directory, siglip_error **error)
{
  if (!directory)
    {
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "tokenizer directory is NULL");
      return NULL;
    }
  double t0 = now_seconds ();
  siglip_tokenizer *tok = calloc (1, sizeof *tok);
  char *path = tok ? siglip_path_join (directory, "tokenizer.json") : NULL;
  siglip_mapping file = { NULL, 0 };
  if (!path)
    {
      free (tok);
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
  bool ok = map_file (path, &file, error);
  if (!ok && error && *error && (*error)->status == SIGLIP_ERR_MISSING)
    refuse_sentencepiece_only (directory, error);
  tok->stats.read = now_seconds () - t0;
  ok = ok && load_tokenizer_json (tok, directory, path, file.data, file.size, error);
  if (ok && !build_id_names (tok))
    ok = siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
  siglip_unmap (&file);
  free (path);
  if (!ok)
    {
      siglip_tokenizer_free (tok);
      return NULL;
    }
  tok->stats.total = now_seconds () - t0;
  return tok;
}

void
siglip_tokenizer_free (siglip_tokenizer *tok)
{
  if (!tok)
    return;
  free (tok->strings.data);
  free (tok->vocab);
  free (tok->id_off);
  free (tok->id_names);
  free (tok->merges);
  free (tok->unk_token);
  free (tok->padding_token);
  for (int i = 0; i < tok->n_steps; i++)
    {
      free (tok->steps[i].pattern);
      free (tok->steps[i].content);
    }
  free (tok->steps);
  for (int i = 0; i < tok->n_added; i++)
    {
      free (tok->added[i].content);
      free (tok->added[i].norm[0]);
      free (tok->added[i].norm[1]);
    }
  free (tok->added);
  free (tok->raw_patterns.items);
  free (tok->norm_patterns[0].items);
  free (tok->norm_patterns[1].items);
  free (tok->prefix);
  free (tok->suffix);
  free (tok);
}

int
siglip_tokenizer_vocab_size (const siglip_tokenizer *tok)
{
  return tok ? tok->n_ids : 0;
}

const char *
siglip_tokenizer_id_to_token (const siglip_tokenizer *tok, int32_t id)
{
  if (!tok || id < 0 || id >= tok->n_ids)
    return NULL;
  return tok->id_names[id];
}

const siglip_tokenizer_load_stats *
siglip_tokenizer_get_load_stats (const siglip_tokenizer *tok)
{
  return &tok->stats;
}

/* ============================================================================================
 * Encoding
 */

typedef struct {
  int32_t id;
  int32_t prev, next; /* neighbours in the word, -1 at the ends */
  uint32_t len;       /* bytes covered; 0 once merged into its left neighbour */
} symbol;

typedef struct {
  uint32_t rank, pos; /* popped lowest rank first, then leftmost (word.rs: impl Ord for Merge) */
  int32_t new_id;
} heap_item;

typedef struct {
  const siglip_tokenizer *tok;
  bool lowercase;
  buf norm, tmp;
  symbol *symbols;
  size_t n_symbols, cap_symbols;
  heap_item *heap;
  size_t n_heap, cap_heap;
  idvec out;
} encoder;

static bool
heap_less (const heap_item *a, const heap_item *b)
{
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static bool
heap_push (encoder *e, uint32_t rank, uint32_t pos, int32_t new_id)
{
  if (!grow_array ((void **) &e->heap, &e->cap_heap, e->n_heap, sizeof *e->heap, 64))
    return false;
  size_t i = e->n_heap++;
  heap_item item = { rank, pos, new_id };
  while (i > 0 && heap_less (&item, &e->heap[(i - 1) / 2]))
    {
      e->heap[i] = e->heap[(i - 1) / 2];
      i = (i - 1) / 2;
    }
  e->heap[i] = item;
  return true;
}

static heap_item
heap_pop (encoder *e)
{
  heap_item top = e->heap[0];
  heap_item last = e->heap[--e->n_heap];
  size_t i = 0, n = e->n_heap;
  for (;;)
    {
      size_t child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && heap_less (&e->heap[child + 1], &e->heap[child]))
        child++;
      if (!heap_less (&e->heap[child], &last))
        break;
      e->heap[i] = e->heap[child];
      i = child;
    }
  if (n)
    e->heap[i] = last;
  return top;
}

/* word.rs Word::add: appends a symbol linked after the current last one. */
static bool
word_add (encoder *e, int32_t id, uint32_t len)
{
  if (e->n_symbols == e->cap_symbols)
    {
      size_t cap = e->cap_symbols ? e->cap_symbols * 2 : 64;
      symbol *p = realloc (e->symbols, cap * sizeof *p);
      if (!p)
        return false;
      e->symbols = p;
      e->cap_symbols = cap;
    }
  int32_t k = (int32_t) e->n_symbols;
  if (k > 0)
    e->symbols[k - 1].next = k;
  e->symbols[e->n_symbols++] = (symbol) { id, k - 1, -1, len };
  return true;
}

/* Pushes the merge of the pair starting at `pos`, if there is one. */
static bool
queue_pair (encoder *e, int32_t pos)
{
  const symbol *left = &e->symbols[pos];
  if (left->next < 0)
    return true;
  const merge_slot *m = merge_get (e->tok, (uint32_t) left->id, (uint32_t) e->symbols[left->next].id);
  return !m || heap_push (e, m->rank, (uint32_t) pos, m->new_id);
}

/* BPE::merge_word then Word::merge_all for one word (bpe/model.rs, bpe/word.rs). Each code point
 * becomes its vocab id, or with byte_fallback one <0xXX> per UTF-8 byte, or <unk> (consecutive
 * ones fused when fuse_unk); then the lowest-ranked adjacent pair is merged until none is left.
 * Stale queue entries are recognised as word.rs does: the pair now at `pos` must still merge
 * into the same new id. */
static bool
bpe_word (encoder *e, const char *s, size_t n)
{
  const siglip_tokenizer *tok = e->tok;
  if (n == 0)
    return true;
  if (tok->ignore_merges)
    {
      int32_t id = vocab_get (tok, s, n);
      if (id >= 0)
        return idvec_push (&e->out, id);
    }
  e->n_symbols = 0;
  e->n_heap = 0;
  int32_t unk_id = -1;
  uint32_t unk_len = 0;
  for (size_t i = 0; i < n;)
    {
      uint32_t cp;
      uint32_t len = (uint32_t) siglip_utf8_decode ((const unsigned char *) s + i, n - i, &cp);
      int32_t id = vocab_get (tok, s + i, len);
      if (id >= 0)
        {
          if (unk_id >= 0 && !word_add (e, unk_id, unk_len))
            return false;
          unk_id = -1;
          if (!word_add (e, id, len))
            return false;
        }
      else
        {
          bool have_bytes = tok->byte_fallback;
          for (uint32_t k = 0; have_bytes && k < len; k++)
            have_bytes = tok->byte_ids[(unsigned char) s[i + k]] >= 0;
          if (have_bytes)
            {
              /* a pending <unk> is not flushed here: model.rs adds it after these bytes */
              for (uint32_t k = 0; k < len; k++)
                if (!word_add (e, tok->byte_ids[(unsigned char) s[i + k]], 1))
                  return false;
            }
          else if (tok->unk_id >= 0)
            {
              if (unk_id >= 0 && tok->fuse_unk)
                unk_len += len;
              else
                {
                  if (unk_id >= 0 && !word_add (e, unk_id, unk_len))
                    return false;
                  unk_id = tok->unk_id;
                  unk_len = len;
                }
            }
        }
      i += len;
    }
  if (unk_id >= 0 && !word_add (e, unk_id, unk_len))
    return false;

  for (size_t k = 0; k + 1 < e->n_symbols; k++)
    if (!queue_pair (e, (int32_t) k))
      return false;
  while (e->n_heap)
    {
      heap_item top = heap_pop (e);
      symbol *cur = &e->symbols[top.pos];
      if (cur->len == 0 || cur->next < 0)
        continue;
      symbol *right = &e->symbols[cur->next];
      const merge_slot *m = merge_get (tok, (uint32_t) cur->id, (uint32_t) right->id);
      if (!m || m->new_id != top.new_id)
        continue;
      cur->id = top.new_id;
      cur->len += right->len;
      right->len = 0;
      cur->next = right->next;
      if (cur->next >= 0)
        e->symbols[cur->next].prev = (int32_t) top.pos;
      if ((cur->prev >= 0 && !queue_pair (e, cur->prev)) || !queue_pair (e, (int32_t) top.pos))
        return false;
    }
  for (size_t k = 0; k < e->n_symbols; k++)
    if (e->symbols[k].len && !idvec_push (&e->out, e->symbols[k].id))
      return false;
  return true;
}

/* AddedVocabulary::find_matches: calls `piece` for the text between matches and pushes the ids
 * of the matched added tokens, leftmost-longest. */
typedef bool (*piece_func) (encoder *e, const char *s, size_t n);

static size_t
whitespace_run_before (const char *s, size_t end)
{
  size_t start = end;
  while (start > 0)
    {
      size_t k = start - 1;
      while (k > 0 && ((unsigned char) s[k] & 0xC0) == 0x80)
        k--;
      uint32_t cp;
      siglip_utf8_decode ((const unsigned char *) s + k, start - k, &cp);
      if (!is_unicode_whitespace (cp))
        break;
      start = k;
    }
  return start;
}

static size_t
whitespace_run_after (const char *s, size_t n, size_t start)
{
  size_t end = start;
  while (end < n)
    {
      uint32_t cp;
      int len = siglip_utf8_decode ((const unsigned char *) s + end, n - end, &cp);
      if (!is_unicode_whitespace (cp))
        break;
      end += (size_t) len;
    }
  return end - start;
}

static bool
split_added (encoder *e, const pattern_set *set, const char *s, size_t n, piece_func piece)
{
  size_t done = 0; /* start_offset: text before it is emitted */
  size_t i = 0;    /* where the search for the next match resumes */
  while (set->n && i < n)
    {
      const added_pattern *hit = NULL;
      for (; i < n && !hit; i++)
        {
          unsigned char b = (unsigned char) s[i];
          for (int k = set->bucket[b]; k < set->bucket[b + 1]; k++)
            {
              const added_pattern *p = &set->items[k];
              if (p->n <= n - i && memcmp (p->s, s + i, p->n) == 0)
                {
                  hit = p; /* the bucket is sorted longest first */
                  break;
                }
            }
        }
      if (!hit)
        break;
      const added_token *t = &e->tok->added[hit->token];
      size_t start = i - 1, stop = start + hit->n;
      i = stop;
      if (t->lstrip)
        {
          size_t ws = whitespace_run_before (s, start);
          start = ws > done ? ws : done;
        }
      if (t->rstrip)
        stop += whitespace_run_after (s, n, stop);
      if (done < start && !piece (e, s + done, start - done))
        return false;
      if (!idvec_push (&e->out, t->id))
        return false;
      done = stop;
    }
  return done >= n || piece (e, s + done, n - done);
}

static bool
bpe_piece (encoder *e, const char *s, size_t n)
{
  return bpe_word (e, s, n);
}

/* Normalizes a piece between raw added tokens, then splits it on the normalized ones. The
 * normalized text lives in e->norm until the next piece, so it is copied out first. */
static bool
normalized_piece (encoder *e, const char *s, size_t n)
{
  if (!normalize (e->tok, e->lowercase, s, n, &e->norm, &e->tmp))
    return false;
  const pattern_set *set = &e->tok->norm_patterns[e->lowercase ? 1 : 0];
  if (!set->n)
    return bpe_word (e, e->norm.data, e->norm.len);
  char *copy = malloc (e->norm.len + 1);
  if (!copy)
    return false;
  memcpy (copy, e->norm.data, e->norm.len);
  bool ok = split_added (e, set, copy, e->norm.len, bpe_piece);
  free (copy);
  return ok;
}

static bool
check_utf8 (const char *text, size_t len, siglip_error **error)
{
  const unsigned char *p = (const unsigned char *) text;
  for (size_t i = 0; i < len;)
    {
      if (p[i] < 0x80)
        {
          i++;
          continue;
        }
      uint32_t cp;
      int n = siglip_utf8_decode (p + i, len - i, &cp);
      if (n < 0)
        return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                                 "text is not valid UTF-8: %s at byte offset %zu (byte 0x%02X)",
                                 siglip_utf8_problem_name (n), i, p[i]);
      i += (size_t) n;
    }
  return true;
}

/* The BPE ids of text without specials, truncation or padding into *out (malloc'd data). */
static bool
encode_text (const siglip_tokenizer *tok, const char *text, ptrdiff_t len, unsigned flags,
             idvec *out, siglip_error **error)
{
  size_t n = len < 0 ? strlen (text) : (size_t) len;
  if (!check_utf8 (text, n, error))
    return false;

  encoder e = { .tok = tok, .lowercase = !(flags & (SIGLIP_TOKENIZE_NO_LOWERCASE | SIGLIP_TOKENIZE_RAW)) };
  bool ok = split_added (&e, &tok->raw_patterns, text ? text : "", n, normalized_piece);
  free (e.norm.data);
  free (e.tmp.data);
  free (e.symbols);
  free (e.heap);
  if (!ok || e.out.len > INT_MAX)
    {
      free (e.out.data);
      return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory while tokenizing");
    }
  *out = e.out;
  return true;
}

bool
siglip_tokenize_overflow (const siglip_tokenizer *tok, const char *text, unsigned flags,
                          int length, int *dropped, siglip_error **error)
{
  idvec out;
  if (!encode_text (tok, text, -1, flags & ~(unsigned) SIGLIP_TOKENIZE_RAW, &out, error))
    return false;
  free (out.data);
  size_t room = length > tok->n_prefix + tok->n_suffix
                  ? (size_t) (length - tok->n_prefix - tok->n_suffix) : 0;
  *dropped = out.len > room ? (int) (out.len - room) : 0;
  return true;
}

bool
siglip_tokenize (const siglip_tokenizer *tok, const char *text, ptrdiff_t len, unsigned flags,
                 int32_t **ids_out, int *n_out, int length, siglip_error **error)
{
  if (!tok || !ids_out || !n_out || (!text && len != 0))
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "siglip_tokenize: tokenizer, text, ids_out and n_out are required");
  *ids_out = NULL;
  *n_out = 0;
  if (flags & ~(unsigned) (SIGLIP_TOKENIZE_NO_LOWERCASE | SIGLIP_TOKENIZE_RAW))
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "siglip_tokenize: unknown flags 0x%x",
                             flags);
  bool raw = flags & SIGLIP_TOKENIZE_RAW;
  int n_special = tok->n_prefix + tok->n_suffix;
  if (!raw && (length < n_special || length <= 0))
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "siglip_tokenize: length %d cannot hold the template's %d special "
                             "token(s) and must be positive", length, n_special);
  if (!raw && tok->pad_id < 0)
    return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                             "the tokenizer has no pad token to pad to %d tokens", length);
  idvec out;
  if (!encode_text (tok, text, len, flags, &out, error))
    return false;

  if (raw)
    {
      if (!out.data && !(out.data = malloc (sizeof (int32_t))))
        return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory while tokenizing");
      *ids_out = out.data;
      *n_out = (int) out.len;
      return true;
    }

  /* as transformers with truncation=True, max_length=length: the sequence keeps
   * length - (special tokens of the template) ids, then the template, then padding */
  int32_t *ids = malloc ((size_t) length * sizeof *ids);
  if (!ids)
    {
      free (out.data);
      return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory while tokenizing");
    }
  size_t keep = out.len < (size_t) (length - n_special) ? out.len : (size_t) (length - n_special);
  size_t first = tok->truncate_left ? out.len - keep : 0;
  int used = tok->n_prefix + (int) keep + tok->n_suffix;
  int k = tok->pad_left ? length - used : 0;
  for (int i = 0; i < length; i++)
    ids[i] = tok->pad_id;
  memcpy (ids + k, tok->prefix, (size_t) tok->n_prefix * sizeof *ids);
  k += tok->n_prefix;
  if (keep)
    memcpy (ids + k, out.data + first, keep * sizeof *ids);
  k += (int) keep;
  memcpy (ids + k, tok->suffix, (size_t) tok->n_suffix * sizeof *ids);
  free (out.data);
  *ids_out = ids;
  *n_out = length;
  return true;
}
