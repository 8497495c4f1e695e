/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * finite.c on its own: the first NaN or infinity of F32, BF16 and F16 arrays spanning many of
 * the scan's parallel blocks is found at its exact index — in the vector body, in a block's
 * tail, as the very last value, at any alignment, with a second bad value later — and finite
 * extremes (the largest finite value, subnormals, -0) are not taken for it. Run on both paths
 * (SIGLIP_ISA=generic and the default, AVX2 on this machine) by meson.
 *
 * The load's scan of many tensors read from their file (siglip_first_non_finite_read): the
 * first bad span in their order and its element, across its 4 MiB tasks, through the file and
 * through the mapping; stopped by its hook; progress up to 1; and the mapping left unfaulted.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bf16.h"
#include "finite.h"
#include "pool.h"

#define N_VALUES (3 * 65536 + 77) /* several 256 KiB blocks, and a ragged end */

typedef struct {
  siglip_dtype dtype;
  int size;
  uint32_t nan, pos_inf, neg_inf, largest, subnormal, neg_zero;
} kind;

static const kind kinds[] = {
  { SIGLIP_DTYPE_F32, 4, 0x7fc00001u, 0x7f800000u, 0xff800000u, 0x7f7fffffu, 0x00000001u, 0x80000000u },
  { SIGLIP_DTYPE_BF16, 2, 0x7fc1u, 0x7f80u, 0xff80u, 0x7f7fu, 0x0001u, 0x8000u },
  { SIGLIP_DTYPE_F16, 2, 0x7e01u, 0x7c00u, 0xfc00u, 0x7bffu, 0x0001u, 0x8000u },
};

static void
put (uint8_t *base, const kind *k, int64_t i, uint32_t bits)
{
  memcpy (base + i * k->size, &bits, (size_t) k->size); /* little-endian, as the files */
}

/* A buffer of n finite values of kind k starting `misalign` bytes into it (varied, extremes
 * included). (transfer full) */
static uint8_t *
finite_values (const kind *k, int64_t n, int misalign, uint8_t **values)
{
  uint8_t *buf = g_malloc ((gsize) (n * k->size + 64));
  *values = buf + misalign;
  const uint32_t extremes[] = { k->largest, k->subnormal, k->neg_zero, k->largest | (k->size == 4 ? 0x80000000u : 0x8000u) };
  for (int64_t i = 0; i < n; i++)
    {
      uint32_t bits = (uint32_t) (i * 2654435761u) & (k->size == 4 ? 0x3fffffffu : 0x3fffu);
      if (i % 1001 == 0)
        bits = extremes[(i / 1001) % 4];
      put (*values, k, i, bits);
    }
  return buf;
}

static void
test_positions (gconstpointer data)
{
  const kind *k = data;
  const int64_t positions[] = { 0, 1, 31, 65535, 65536, 100000, 131071, N_VALUES - 78,
                                N_VALUES - 2, N_VALUES - 1 };
  for (int misalign = 0; misalign < 4; misalign += (k->size == 4 ? 1 : 2))
    {
      uint8_t *values;
      g_autofree uint8_t *buf = finite_values (k, N_VALUES, misalign, &values);
      g_assert_cmpint (siglip_first_non_finite (values, k->dtype, N_VALUES), ==, -1);
      for (gsize p = 0; p < G_N_ELEMENTS (positions); p++)
        {
          const uint32_t bad[] = { k->nan, k->pos_inf, k->neg_inf };
          const int64_t at = positions[p];
          uint32_t saved = 0;
          memcpy (&saved, values + at * k->size, (size_t) k->size);
          put (values, k, at, bad[p % 3]);
          /* a second one later never hides the first */
          uint32_t saved_later = 0;
          const int64_t later = at + 70000 < N_VALUES ? at + 70000 : -1;
          if (later >= 0)
            {
              memcpy (&saved_later, values + later * k->size, (size_t) k->size);
              put (values, k, later, k->nan);
            }
          g_assert_cmpint (siglip_first_non_finite (values, k->dtype, N_VALUES), ==, at);
          /* the array cut just before it is finite */
          g_assert_cmpint (siglip_first_non_finite (values, k->dtype, at), ==, -1);
          put (values, k, at, saved);
          if (later >= 0)
            put (values, k, later, saved_later);
        }
      g_assert_cmpint (siglip_first_non_finite (values, k->dtype, N_VALUES), ==, -1);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* many spans, read from a file */

#define HEADER_BYTES 4098 /* the values start unaligned, as after a safetensors header */
#define BIG_VALUES ((int64_t) 9 << 20 >> 2) /* 9 MiB of F32: three tasks, the last short */
#define SMALL_VALUES 1000

typedef struct {
  char *path;
  int fd;
  uint8_t *map;
  size_t size;
  siglip_finite_span spans[4];
} spans_file;

/* A file of four spans: big F32, small BF16, small F16, big F32 read through the mapping. */
static void
spans_file_make (spans_file *f)
{
  const kind *ks[4] = { &kinds[0], &kinds[1], &kinds[2], &kinds[0] };
  const int64_t ns[4] = { BIG_VALUES, SMALL_VALUES, SMALL_VALUES, BIG_VALUES };
  f->path = g_build_filename (g_get_tmp_dir (), "test-finite-XXXXXX", NULL);
  f->fd = g_mkstemp (f->path);
  g_assert_cmpint (f->fd, >=, 0);
  /* gone from the folder at once: the descriptor keeps it, and a test that fails leaves no
   * 19 MB file behind */
  g_assert_cmpint (g_unlink (f->path), ==, 0);
  int64_t at = HEADER_BYTES;
  uint8_t zeros[HEADER_BYTES] = { 0 };
  g_assert_cmpint (pwrite (f->fd, zeros, sizeof zeros, 0), ==, sizeof zeros);
  for (int s = 0; s < 4; s++)
    {
      uint8_t *values;
      g_autofree uint8_t *buf = finite_values (ks[s], ns[s], 0, &values);
      const size_t bytes = (size_t) (ns[s] * ks[s]->size);
      g_assert_cmpint (pwrite (f->fd, values, bytes, at), ==, (ssize_t) bytes);
      f->spans[s] = (siglip_finite_span) { NULL, s == 3 ? -1 : f->fd, at, ks[s]->dtype, ns[s] };
      at += (int64_t) bytes;
    }
  f->size = (size_t) at;
  f->map = mmap (NULL, f->size, PROT_READ, MAP_SHARED, f->fd, 0);
  g_assert_true (f->map != MAP_FAILED);
  for (int s = 0; s < 4; s++)
    f->spans[s].data = f->map + f->spans[s].offset;
}

static void
spans_file_free (spans_file *f)
{
  munmap (f->map, f->size);
  close (f->fd);
  g_free (f->path);
}

static void
spans_put (spans_file *f, int span, int64_t i, uint32_t bits)
{
  const int size = f->spans[span].dtype == SIGLIP_DTYPE_F32 ? 4 : 2;
  g_assert_cmpint (pwrite (f->fd, &bits, (size_t) size, f->spans[span].offset + i * size), ==,
                   size);
}

/* Resident kB of our page tables in the mapping at `addr` (/proc/self/smaps). */
static long
mapping_rss_kb (const void *addr)
{
  g_autofree char *smaps = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/smaps", &smaps, NULL, NULL));
  char want[32];
  g_snprintf (want, sizeof want, "%lx-", (unsigned long) (uintptr_t) addr);
  const char *entry = strstr (smaps, want);
  g_assert_nonnull (entry);
  const char *rss = strstr (entry, "\nRss:");
  g_assert_nonnull (rss);
  return strtol (rss + 5, NULL, 10);
}

static void
test_read_spans (void)
{
  spans_file f;
  spans_file_make (&f);
  int64_t element = 0;
  /* all finite, and the mapping of the spans read from the file never faulted in */
  g_assert_cmpint (siglip_first_non_finite_read (f.spans, 3, &element, NULL), ==, -1);
  g_assert_cmpint (element, ==, -1);
  g_assert_cmpint (mapping_rss_kb (f.map), <, 64);
  g_assert_cmpint (siglip_first_non_finite_read (f.spans, 4, &element, NULL), ==, -1);

  const struct { int span; int64_t at; } bad[] = {
    { 0, 0 }, { 0, (1 << 20) - 1 }, { 0, 1 << 20 }, { 0, BIG_VALUES - 1 },
    { 1, 0 }, { 1, SMALL_VALUES - 1 }, { 2, 517 }, { 3, (int64_t) 3 << 20 >> 1 },
    { 3, BIG_VALUES - 1 },
  };
  for (gsize b = 0; b < G_N_ELEMENTS (bad); b++)
    {
      const kind *k = f.spans[bad[b].span].dtype == SIGLIP_DTYPE_F32 ? &kinds[0]
                      : f.spans[bad[b].span].dtype == SIGLIP_DTYPE_BF16 ? &kinds[1] : &kinds[2];
      uint32_t saved = 0;
      memcpy (&saved, (const uint8_t *) f.spans[bad[b].span].data + bad[b].at * k->size,
              (size_t) k->size);
      spans_put (&f, bad[b].span, bad[b].at, b % 2 ? k->pos_inf : k->nan);
      /* a later span with a bad value never hides it */
      if (bad[b].span < 3)
        spans_put (&f, 3, 5, kinds[0].neg_inf);
      g_assert_cmpint (siglip_first_non_finite_read (f.spans, 4, &element, NULL), ==,
                       bad[b].span);
      g_assert_cmpint (element, ==, bad[b].at);
      spans_put (&f, bad[b].span, bad[b].at, saved);
      if (bad[b].span < 3)
        spans_put (&f, 3, 5, 0);
    }
  g_assert_cmpint (siglip_first_non_finite_read (f.spans, 4, &element, NULL), ==, -1);
  spans_file_free (&f);
}

typedef struct {
  int calls, stop_after;
  double last;
} hook_log;

static bool
hook_stop (void *data)
{
  hook_log *log = data;
  return log->calls >= log->stop_after;
}

static void
hook_progress (void *data, double fraction)
{
  hook_log *log = data;
  g_assert_cmpfloat (fraction, >=, log->last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  log->last = fraction;
  log->calls++;
}

static void
test_read_spans_hooks (void)
{
  spans_file f;
  spans_file_make (&f);
  int64_t element = 0;
  hook_log log = { 0, G_MAXINT, 0.0 };
  const siglip_finite_hooks hooks = { hook_stop, hook_progress, &log };
  g_assert_cmpint (siglip_first_non_finite_read (f.spans, 4, &element, &hooks), ==, -1);
  g_assert_cmpint (log.calls, >=, 1);
  g_assert_cmpfloat (log.last, ==, 1.0);

  /* stopped before any task: nothing is looked at, even a bad value */
  spans_put (&f, 0, 12345, kinds[0].nan);
  log = (hook_log) { 0, 0, 0.0 };
  g_assert_cmpint (siglip_first_non_finite_read (f.spans, 4, &element, &hooks), ==, -3);
  g_assert_cmpint (element, ==, -1);
  log = (hook_log) { 0, G_MAXINT, 0.0 };
  g_assert_cmpint (siglip_first_non_finite_read (f.spans, 4, &element, &hooks), ==, 0);
  g_assert_cmpint (element, ==, 12345);
  spans_file_free (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  siglip_pool_acquire (0);
  g_test_add_data_func ("/finite/f32", &kinds[0], test_positions);
  g_test_add_data_func ("/finite/bf16", &kinds[1], test_positions);
  g_test_add_data_func ("/finite/f16", &kinds[2], test_positions);
  g_test_add_func ("/finite/read-spans", test_read_spans);
  g_test_add_func ("/finite/read-spans-hooks", test_read_spans_hooks);
  const int rc = g_test_run ();
  siglip_pool_release ();
  return rc;
}
