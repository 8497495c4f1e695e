/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * finite.c on its own: the first NaN or infinity of F32, BF16 and F16 arrays spanning many of
 * the scan's parallel blocks is found at its exact index — in the vector body, in a block's
 * tail, as the very last value, at any alignment, with a second bad value later — and finite
 * extremes (the largest finite value, subnormals, -0) are not taken for it. Run on both paths
 * (SIGLIP_ISA=generic and the default, AVX2 on this machine) by meson.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  siglip_pool_acquire (0);
  g_test_add_data_func ("/finite/f32", &kinds[0], test_positions);
  g_test_add_data_func ("/finite/bf16", &kinds[1], test_positions);
  g_test_add_data_func ("/finite/f16", &kinds[2], test_positions);
  const int rc = g_test_run ();
  siglip_pool_release ();
  return rc;
}
