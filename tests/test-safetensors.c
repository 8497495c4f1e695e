/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-safetensors: the safetensors reader against files this test writes — valid F32, F16,
 * BF16 (every bit pattern), unaligned data, shards — and every kind of hostile file the issue
 * lists, each checked for its status and for a message naming the file and the tensor.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "internal.h"
#include "test-util.h"

/* A fresh directory SIGLENS_TEST_OUT/safetensors/<name>. (transfer full) */
static char *
case_dir (const char *name)
{
  g_autofree char *rel = g_build_filename ("safetensors", name, "x", NULL);
  g_autofree char *probe = test_out_path (rel);
  char *dir = g_path_get_dirname (probe);
  /* leftovers of an earlier run would change what the reader sees */
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  while (d && (entry = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, entry, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  return dir;
}

static void
write_bytes (const char *dir, const char *file, const void *data, gsize len)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

/* A safetensors file: little-endian u64 header length, the header as given, the data. */
static void
write_safetensors (const char *dir, const char *file, const char *header, const void *data,
                   gsize data_len)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint64 n = strlen (header);
  for (int i = 0; i < 8; i++)
    {
      guint8 b = (guint8) (n >> (8 * i));
      g_byte_array_append (bytes, &b, 1);
    }
  g_byte_array_append (bytes, (const guint8 *) header, (guint) n);
  if (data_len)
    g_byte_array_append (bytes, data, (guint) data_len);
  write_bytes (dir, file, bytes->data, bytes->len);
}

static const float four_floats[4] = { 1.0f, -2.5f, 3.25f, 1e-3f };

/* Opening `dir` must fail with `status` and a message containing every one of `needles`. */
static void
expect_error (const char *dir, siglip_status status, const char *const *needles)
{
  siglip_error *error = NULL;
  siglip_weights *w = siglip_weights_open (dir, &error);
  g_assert_null (w);
  test_assert_error (error, status, dir, needles);
}

#define NEEDLES(...) TEST_ARGS (__VA_ARGS__)

static void
test_bad_truncated (void)
{
  g_autofree char *dir = case_dir ("truncated");
  write_bytes (dir, "model.safetensors", "\x10\0\0", 3);
  expect_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "truncated", "3 bytes"));
}

static void
test_bad_header_length (void)
{
  g_autofree char *dir = case_dir ("header-too-long");
  /* claims a 1 MB header in a 20-byte file */
  const guint8 bytes[20] = { 0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0, '{', '}' };
  write_bytes (dir, "model.safetensors", bytes, sizeof bytes);
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "header length 1048576", "larger than the file"));

  /* a length near 2^64 must not wrap around the bounds check */
  g_autofree char *dir2 = case_dir ("header-length-huge");
  const guint8 huge[16] = { 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}' };
  write_bytes (dir2, "model.safetensors", huge, sizeof huge);
  expect_error (dir2, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "larger than the file"));
}

/* Headers that would cost too much: 2^63 bytes, 17 MB (a sparse file), 70,000 tensors,
 * nesting 100,000 deep. Each refused with the cap named, before the JSON is parsed. */
static void
test_bad_header_caps (void)
{
  g_autofree char *dir = case_dir ("header-2-63");
  const guint8 big[16] = { 0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}' };
  write_bytes (dir, "model.safetensors", big, sizeof big);
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "header length 9223372036854775808",
                         "larger than the file"));

  g_autofree char *dir2 = case_dir ("header-17mb");
  g_autofree char *path = g_build_filename (dir2, "model.safetensors", NULL);
  {
    FILE *f = fopen (path, "wb");
    g_assert_nonnull (f);
    guint64 n = 17u << 20;
    for (int i = 0; i < 8; i++)
      fputc ((int) (n >> (8 * i)) & 0xff, f);
    fputc ('{', f);
    g_assert_cmpint (ftruncate (fileno (f), (off_t) n + 8), ==, 0);
    fclose (f);
  }
  expect_error (dir2, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "header length 17825792",
                         "exceeds the 16 MB a header may have"));

  g_autofree char *dir3 = case_dir ("many-tensors");
  g_autoptr (GString) h = g_string_new ("{");
  for (int i = 0; i < 70000; i++)
    g_string_append_printf (h, "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                            i ? "," : "", i);
  g_string_append (h, "}");
  write_safetensors (dir3, "model.safetensors", h->str, NULL, 0);
  expect_error (dir3, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "more than the 65536 tensors a file may have"));

  g_autofree char *dir4 = case_dir ("deep");
  g_autoptr (GString) deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, ']');
  g_string_append (deep, "}");
  write_safetensors (dir4, "model.safetensors", deep->str, NULL, 0);
  expect_error (dir4, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "not valid JSON"));
}

static void
test_bad_json (void)
{
  g_autofree char *dir = case_dir ("bad-json");
  write_safetensors (dir, "model.safetensors",
                     "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]",
                     four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "not valid JSON"));

  g_autofree char *dir2 = case_dir ("not-object");
  write_safetensors (dir2, "model.safetensors", "[1, 2, 3]", NULL, 0);
  expect_error (dir2, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "not a JSON object"));

  g_autofree char *dir3 = case_dir ("entry-not-object");
  write_safetensors (dir3, "model.safetensors", "{\"w\": 7}", NULL, 0);
  expect_error (dir3, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "tensor w"));
}

static void
test_bad_dtype (void)
{
  g_autofree char *dir = case_dir ("unknown-dtype");
  write_safetensors (dir, "model.safetensors",
                     "{\"enc.w\": {\"dtype\": \"F33\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "tensor enc.w", "unknown dtype \"F33\""));
}

static void
test_bad_size_mismatch (void)
{
  g_autofree char *dir = case_dir ("size-mismatch");
  /* [2, 3] F32 needs 24 bytes, offsets give 16 */
  write_safetensors (dir, "model.safetensors",
                     "{\"m\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 16]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "tensor m", "16 bytes", "[2,3]", "6 x 4"));

  g_autofree char *dir2 = case_dir ("offsets-reversed");
  write_safetensors (dir2, "model.safetensors",
                     "{\"m\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [16, 0]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir2, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "tensor m", "[16,0]"));
}

static void
test_bad_out_of_bounds (void)
{
  g_autofree char *dir = case_dir ("out-of-bounds");
  write_safetensors (dir, "model.safetensors",
                     "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                     " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "tensor b", "out of bounds", "16 bytes"));
}

static void
test_bad_overlap (void)
{
  g_autofree char *dir = case_dir ("overlap");
  write_safetensors (dir, "model.safetensors",
                     "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]},"
                     " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "tensors a and b overlap"));
}

static void
test_bad_shapes (void)
{
  /* 2^32 * 2^32 * 16 elements: the product wraps a u64 */
  g_autofree char *dir = case_dir ("shape-overflow");
  write_safetensors (dir, "model.safetensors",
                     "{\"big\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16],"
                     " \"data_offsets\": [0, 16]}}", four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "tensor big", "overflow"));

  /* 2^62 elements fit in an int64, their 2^64 bytes do not */
  g_autofree char *dir2 = case_dir ("bytes-overflow");
  write_safetensors (dir2, "model.safetensors",
                     "{\"big\": {\"dtype\": \"F32\", \"shape\": [2147483648, 2147483648],"
                     " \"data_offsets\": [0, 16]}}", four_floats, sizeof four_floats);
  expect_error (dir2, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "tensor big"));

  g_autofree char *dir3 = case_dir ("negative-dim");
  write_safetensors (dir3, "model.safetensors",
                     "{\"neg\": {\"dtype\": \"F32\", \"shape\": [-1, 4], \"data_offsets\": [0, 16]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir3, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors", "tensor neg", "dimension 0 is -1"));

  g_autofree char *dir4 = case_dir ("fractional-dim");
  write_safetensors (dir4, "model.safetensors",
                     "{\"f\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 10]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir4, SIGLIP_ERR_FORMAT, NEEDLES ("tensor f", "not a non-negative integer"));

  g_autofree char *dir5 = case_dir ("missing-offsets");
  write_safetensors (dir5, "model.safetensors", "{\"o\": {\"dtype\": \"F32\", \"shape\": [4]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir5, SIGLIP_ERR_FORMAT, NEEDLES ("tensor o", "data_offsets"));
}

static void
test_bad_duplicate (void)
{
  g_autofree char *dir = case_dir ("duplicate");
  write_safetensors (dir, "model.safetensors",
                     "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                     " \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
                     four_floats, sizeof four_floats);
  expect_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors", "tensor a appears twice"));
}

static void
test_no_weights (void)
{
  g_autofree char *dir = case_dir ("no-weights");
  expect_error (dir, SIGLIP_ERR_MISSING,
                NEEDLES ("model.safetensors", "model.safetensors.index.json"));
}

#define SHARD1_A "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}"

/* Two shards with tensors a (shard 1) and b (shard 2) and an index with `weight_map`. */
static void
write_shards (const char *dir, const char *shard2_header, const char *weight_map)
{
  write_safetensors (dir, "model-00001-of-00002.safetensors", SHARD1_A, four_floats,
                     sizeof four_floats);
  write_safetensors (dir, "model-00002-of-00002.safetensors", shard2_header, four_floats, 8);
  g_autofree char *index = g_strdup_printf ("{\"metadata\": {\"total_size\": 24},"
                                            " \"weight_map\": {%s}}", weight_map);
  write_bytes (dir, "model.safetensors.index.json", index, strlen (index));
}

#define SHARD2_B "{\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}"
#define MAP_OK                                                                                     \
  "\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\""

static void
test_sharded_valid (void)
{
  g_autofree char *dir = case_dir ("sharded");
  write_shards (dir, SHARD2_B, MAP_OK);
  siglip_error *error = NULL;
  siglip_weights *w = siglip_weights_open (dir, &error);
  if (!w)
    g_error ("%s", error->message);
  g_assert_cmpint (siglip_weights_n_files (w), ==, 2);
  g_assert_cmpint (siglip_weights_n_tensors (w), ==, 2);
  /* 8 + header + data of each file */
  g_assert_cmpint (siglip_weights_total_bytes (w), ==,
                   8 + (gint64) strlen (SHARD1_A) + 16 + 8 + (gint64) strlen (SHARD2_B) + 8);
  const siglip_tensor *a = siglip_weights_find (w, "a");
  const siglip_tensor *b = siglip_weights_find (w, "b");
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpstr (siglip_weights_file_name (w, a->file_index), ==,
                   "model-00001-of-00002.safetensors");
  g_assert_cmpstr (siglip_weights_file_name (w, b->file_index), ==,
                   "model-00002-of-00002.safetensors");
  g_assert_cmpmem (b->data, 8, four_floats, 8);
  g_assert_null (siglip_weights_find (w, "c"));
  siglip_weights_close (w);
}

static void
test_sharded_bad (void)
{
  g_autofree char *dir = case_dir ("shard-duplicate");
  write_shards (dir,
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
                "\"a\": \"model-00001-of-00002.safetensors\","
                " \"b\": \"model-00002-of-00002.safetensors\"");
  expect_error (dir, SIGLIP_ERR_FORMAT,
                NEEDLES ("tensor a appears in two shards", "model-00001-of-00002.safetensors",
                         "model-00002-of-00002.safetensors"));

  g_autofree char *dir2 = case_dir ("shard-missing");
  write_shards (dir2, SHARD2_B, MAP_OK ", \"c\": \"model-00003-of-00002.safetensors\"");
  expect_error (dir2, SIGLIP_ERR_MISSING,
                NEEDLES ("model.safetensors.index.json", "model-00003-of-00002.safetensors",
                         "tensor c", "missing"));

  g_autofree char *dir3 = case_dir ("shard-wrong-tensor");
  write_shards (dir3, SHARD2_B,
                "\"a\": \"model-00002-of-00002.safetensors\","
                " \"b\": \"model-00002-of-00002.safetensors\"");
  expect_error (dir3, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors.index.json", "tensor a",
                         "model-00002-of-00002.safetensors", "does not contain"));

  g_autofree char *dir4 = case_dir ("shard-traversal");
  write_shards (dir4, SHARD2_B, MAP_OK ", \"c\": \"../../etc/passwd\"");
  expect_error (dir4, SIGLIP_ERR_FORMAT,
                NEEDLES ("model.safetensors.index.json", "tensor c", "file name"));

  g_autofree char *dir5 = case_dir ("index-bad-json");
  write_bytes (dir5, "model.safetensors.index.json", "{\"weight_map\": ", 15);
  expect_error (dir5, SIGLIP_ERR_FORMAT, NEEDLES ("model.safetensors.index.json", "JSON"));

  /* a broken shard is reported with its own name */
  g_autofree char *dir6 = case_dir ("shard-truncated");
  write_shards (dir6, SHARD2_B, MAP_OK);
  write_bytes (dir6, "model-00002-of-00002.safetensors", "\x01", 1);
  expect_error (dir6, SIGLIP_ERR_FORMAT,
                NEEDLES ("model-00002-of-00002.safetensors", "truncated"));
}

static void
test_f32_aligned_and_unaligned (void)
{
  siglip_error *error = NULL;
  g_autofree char *dir = case_dir ("f32-aligned");
  /* header padded with spaces to 8-byte alignment, as writers do */
  g_autoptr (GString) header = g_string_new (
    "{\"__metadata__\": {\"format\": \"pt\"},"
    " \"v\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}}");
  while (header->len % 8)
    g_string_append_c (header, ' ');
  write_safetensors (dir, "model.safetensors", header->str, four_floats, sizeof four_floats);
  siglip_weights *w = siglip_weights_open (dir, &error);
  g_assert_nonnull (w);
  const siglip_tensor *t = siglip_weights_find (w, "v");
  g_assert_nonnull (t);
  g_assert_cmpint (t->ndim, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[1], ==, 2);
  g_assert_cmpint (t->numel, ==, 4);
  g_assert_cmpint (t->dtype, ==, SIGLIP_DTYPE_F32);
  g_assert_cmpstr (t->dtype_name, ==, "F32");
  g_assert_null (siglip_weights_find (w, "__metadata__"));
  float *owned = NULL;
  const float *v = siglip_tensor_as_f32 (w, t, &owned, &error);
  g_assert_true (v == t->data); /* zero copy: the mapping itself */
  g_assert_null (owned);
  g_assert_cmpmem (v, 16, four_floats, 16);
  siglip_weights_close (w);

  /* header length 4k+1: the data starts at an odd address, so the reader must copy */
  g_autofree char *dir2 = case_dir ("f32-unaligned");
  g_autoptr (GString) odd = g_string_new (
    "{\"v\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}");
  while (odd->len % 4 != 1)
    g_string_append_c (odd, ' ');
  write_safetensors (dir2, "model.safetensors", odd->str, four_floats, sizeof four_floats);
  w = siglip_weights_open (dir2, &error);
  g_assert_nonnull (w);
  t = siglip_weights_find (w, "v");
  g_assert_cmpuint ((guintptr) t->data % 4, !=, 0);
  v = siglip_tensor_as_f32 (w, t, &owned, &error);
  g_assert_nonnull (owned);
  g_assert_true (v == owned);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (v[i], ==, four_floats[i]);
  free (owned);
  siglip_weights_close (w);
}

/* One tensor of 65536 16-bit values 0..65535 of `dtype`. */
static siglip_weights *
open_all_patterns (const char *name, const char *dtype, const siglip_tensor **t)
{
  g_autofree char *dir = case_dir (name);
  g_autofree guint16 *all = g_new (guint16, 65536);
  for (guint i = 0; i < 65536; i++)
    all[i] = GUINT16_TO_LE ((guint16) i);
  g_autofree char *header = g_strdup_printf (
    "{\"all\": {\"dtype\": \"%s\", \"shape\": [256, 256], \"data_offsets\": [0, 131072]}}",
    dtype);
  write_safetensors (dir, "model.safetensors", header, all, 131072);
  siglip_error *error = NULL;
  siglip_weights *w = siglip_weights_open (dir, &error);
  g_assert_nonnull (w);
  *t = siglip_weights_find (w, "all");
  g_assert_nonnull (*t);
  return w;
}

static void
test_bf16_exact (void)
{
  const siglip_tensor *t;
  siglip_weights *w = open_all_patterns ("bf16", "BF16", &t);
  g_assert_cmpint (t->dtype, ==, SIGLIP_DTYPE_BF16);
  float *owned = NULL;
  siglip_error *error = NULL;
  const float *v = siglip_tensor_as_f32 (w, t, &owned, &error);
  g_assert_nonnull (owned);
  /* every bf16 bit pattern, nan payloads included, is the upper half of its f32 */
  for (guint32 i = 0; i < 65536; i++)
    {
      guint32 bits;
      memcpy (&bits, &v[i], 4);
      if (bits != i << 16)
        g_error ("bf16 0x%04x -> 0x%08x, expected 0x%08x", i, bits, i << 16);
    }
  g_assert_cmpfloat (v[0x3f80], ==, 1.0f);
  g_assert_cmpfloat (v[0xc040], ==, -3.0f);
  free (owned);
  siglip_weights_close (w);
}

/* IEEE binary16 by its definition, in double arithmetic. */
static double
f16_reference (guint16 h)
{
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double mag;
  if (exp == 31)
    mag = mant ? NAN : INFINITY;
  else if (exp == 0)
    mag = ldexp (mant, -24); /* subnormal */
  else
    mag = ldexp (1024 + mant, exp - 25);
  return sign ? -mag : mag;
}

static void
test_f16_exact (void)
{
  const siglip_tensor *t;
  siglip_weights *w = open_all_patterns ("f16", "F16", &t);
  g_assert_cmpint (t->dtype, ==, SIGLIP_DTYPE_F16);
  float *owned = NULL;
  siglip_error *error = NULL;
  const float *v = siglip_tensor_as_f32 (w, t, &owned, &error);
  g_assert_nonnull (owned);
  for (guint i = 0; i < 65536; i++)
    {
      double want = f16_reference ((guint16) i);
      if (isnan (want))
        {
          g_assert_true (isnan (v[i]));
          /* the payload survives: quiet bit and mantissa shifted into place */
          guint32 bits;
          memcpy (&bits, &v[i], 4);
          g_assert_cmphex (bits & 0x7fffff, ==, (guint32) (i & 0x3ff) << 13);
        }
      else if ((double) v[i] != want || !signbit (v[i]) != !signbit (want))
        g_error ("f16 0x%04x -> %.17g, expected %.17g", i, (double) v[i], want);
    }
  /* landmarks: smallest subnormal, largest subnormal, smallest normal, max, inf, -0 */
  g_assert_cmpfloat (v[0x0001], ==, 5.9604644775390625e-08f);
  g_assert_cmpfloat (v[0x03ff], ==, 6.0975551605224609e-05f);
  g_assert_cmpfloat (v[0x0400], ==, 6.103515625e-05f);
  g_assert_cmpfloat (v[0x7bff], ==, 65504.0f);
  g_assert_true (isinf (v[0x7c00]) && v[0x7c00] > 0);
  g_assert_true (isinf (v[0xfc00]) && v[0xfc00] < 0);
  g_assert_true (v[0x8000] == 0.0f && signbit (v[0x8000]));
  g_assert_cmpfloat (v[0x3c00], ==, 1.0f);
  g_assert_cmpfloat (siglip_f16_to_f32 (0xc000), ==, -2.0f);
  free (owned);
  siglip_weights_close (w);
}

static void
test_other_dtype (void)
{
  /* an I64 buffer is a valid file; only computing with it is refused */
  g_autofree char *dir = case_dir ("i64");
  write_safetensors (dir, "model.safetensors",
                     "{\"position_ids\": {\"dtype\": \"I64\", \"shape\": [2],"
                     " \"data_offsets\": [0, 16]}}", four_floats, sizeof four_floats);
  siglip_error *error = NULL;
  siglip_weights *w = siglip_weights_open (dir, &error);
  g_assert_nonnull (w);
  const siglip_tensor *t = siglip_weights_find (w, "position_ids");
  g_assert_cmpint (t->dtype, ==, SIGLIP_DTYPE_OTHER);
  float *owned = NULL;
  g_assert_null (siglip_tensor_as_f32 (w, t, &owned, &error));
  g_assert_null (owned);
  g_assert_nonnull (error);
  g_assert_cmpint (error->status, ==, SIGLIP_ERR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "model.safetensors: tensor position_ids: dtype I64"));
  siglip_error_free (error);
  siglip_weights_close (w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/valid/f32-aligned-unaligned", test_f32_aligned_and_unaligned);
  g_test_add_func ("/safetensors/valid/bf16-exact", test_bf16_exact);
  g_test_add_func ("/safetensors/valid/f16-exact", test_f16_exact);
  g_test_add_func ("/safetensors/valid/other-dtype", test_other_dtype);
  g_test_add_func ("/safetensors/valid/sharded", test_sharded_valid);
  g_test_add_func ("/safetensors/bad/truncated", test_bad_truncated);
  g_test_add_func ("/safetensors/bad/header-length", test_bad_header_length);
  g_test_add_func ("/safetensors/bad/json", test_bad_json);
  g_test_add_func ("/safetensors/bad/header-caps", test_bad_header_caps);
  g_test_add_func ("/safetensors/bad/dtype", test_bad_dtype);
  g_test_add_func ("/safetensors/bad/size-mismatch", test_bad_size_mismatch);
  g_test_add_func ("/safetensors/bad/out-of-bounds", test_bad_out_of_bounds);
  g_test_add_func ("/safetensors/bad/overlap", test_bad_overlap);
  g_test_add_func ("/safetensors/bad/shapes", test_bad_shapes);
  g_test_add_func ("/safetensors/bad/duplicate", test_bad_duplicate);
  g_test_add_func ("/safetensors/bad/no-weights", test_no_weights);
  g_test_add_func ("/safetensors/bad/sharded", test_sharded_bad);
  return g_test_run ();
}
