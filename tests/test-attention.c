/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-attention.c — attention.c on its own: the pool's (sequence, head, query block) tasks
 * against the serial cblas reference, for the fp32 products, the cblas path of wide heads and
 * the bf16 products (bounded against the fp32 loops and against an emulation of their own
 * arithmetic); the scratch's growth.
 */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "gemm.h"
#include "pool.h"
#include "test-util.h"

/* The pool's (sequence, head, query block) attention equals the serial cblas one per
 * sequence: our own fp32 products for the usual head sizes, cblas on the pool for heads wider
 * than the tiles (hd > 128). */
static void
check_attention_seqs (int n_seq, int nq, int len, int dim, int heads, guint32 seed)
{
  const int ld = 3 * dim;
  const gsize rows = (gsize) n_seq * len;
  g_autofree float *qkv = g_new (float, rows * ld);
  g_autofree float *out = g_new (float, (gsize) n_seq * nq * dim);
  g_autofree float *ref = g_new (float, (gsize) n_seq * nq * dim);
  g_autofree float *scores = g_new (float, (gsize) nq * len);
  GRand *rand = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < rows * ld; i++)
    qkv[i] = (float) g_rand_double_range (rand, -2, 2);
  g_rand_free (rand);
  /* the queries: the first nq rows of each sequence, packed */
  g_autofree float *q = g_new (float, (gsize) n_seq * nq * dim);
  for (int s = 0; s < n_seq; s++)
    for (int i = 0; i < nq; i++)
      memcpy (q + ((gsize) s * nq + i) * dim, qkv + ((gsize) s * len + i) * ld,
              dim * sizeof (float));

  siglip_attention_scratch sc = { 0 };
  g_assert_true (siglip_attention_reserve (&sc, len, dim / heads));
  siglip_attention_seqs (&sc, out, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq, len,
                         dim, heads);
  for (int s = 0; s < n_seq; s++)
    {
      const float *base = qkv + (gsize) s * len * ld;
      siglip_attention (ref + (gsize) s * nq * dim, dim, q + (gsize) s * nq * dim, dim,
                        base + dim, ld, base + 2 * dim, ld, nq, len, dim, heads, scores);
    }
  g_autofree char *what = g_strdup_printf ("attention over the pool, %d x %d queries of %d keys, "
                                           "%d heads of %d", n_seq, nq, len, heads, dim / heads);
  test_assert_close (what, out, ref, (gsize) n_seq * nq * dim, 1e-6, 1e-5);
  siglip_attention_scratch_clear (&sc);
}

static void
test_attention_seqs (void)
{
  check_attention_seqs (3, 150, 150, 48, 4, 3);   /* hd 12: one vector */
  check_attention_seqs (1, 1, 37, 48, 2, 4);      /* hd 24, one query, odd length */
  check_attention_seqs (2, 300, 300, 144, 2, 5);  /* hd 72 (SO400M's), two query blocks */
  check_attention_seqs (2, 20, 45, 288, 2, 6);    /* hd 144: cblas */
}

/* The scratch grows for longer sequences and wider heads and keeps what it had. */
static void
test_attention_reserve (void)
{
  siglip_attention_scratch sc = { 0 };
  g_assert_true (siglip_attention_reserve (&sc, 64, 16));
  float *first = sc.data;
  g_assert_nonnull (first);
  g_assert_true (siglip_attention_reserve (&sc, 32, 8)); /* smaller: nothing to do */
  g_assert_true (sc.data == first);
  g_assert_true (siglip_attention_reserve (&sc, 100, 8));
  g_assert_cmpint (sc.seq, ==, 100);
  g_assert_cmpint (sc.head_dim, ==, 16);
  g_assert_cmpint (sc.n_workers, >=, 2);
  siglip_attention_scratch_clear (&sc);
  g_assert_null (sc.data);
}

/* Attention with bf16 products (sc.bf16, the model's precision bf16) against the fp32
 * loops on the same input. The bound is derived from the roundings, per output (i, c):
 * u = 2^-9 is bf16's unit roundoff, so a product of two rounded values is off by at most
 * eps = 2u + u^2 relative, and each score q_i.k_j * scale by at most
 *   D_i = scale * eps * max_j sum_c |q_ic| |k_jc|   (+ the fp32 sums' hd 2^-24, both paths).
 * Shifting every score by at most D moves each softmax weight by a factor in [e^-2D, e^2D],
 * so sum_j |p'_j - p_j| <= e^2D - 1; rounding p' and v adds eps relative per term. Hence
 *   |o' - o| <= (e^2D - 1 + eps + (2 nk + 2 hd + 8) 2^-24) max_j |v_jc|
 * (the last term: both paths' fp32 sums and exp's few ulp). Without AVX512-BF16, or with the
 * generic bf16 backend forced, attention must fall back to the fp32 loops bit for bit. */
static double
attention_bf16_worst (const float *qkv, int ld, int n_seq, int nq, int len, int dim, int heads,
                      const float *out, const float *ref)
{
  const int hd = dim / heads;
  const double u = ldexp (1.0, -9), eps = 2 * u + u * u, scale = 1.0 / sqrt (hd);
  double worst = 0; /* largest |o' - o| / bound */
  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < nq; i++)
        {
          /* the queries are the last nq rows of each sequence, as siglip_attention_seqs reads
           * them from the same [q; k; v] rows */
          const float *qi = qkv + ((gsize) s * len + (len - nq) + i) * ld + h * hd;
          double dot_max = 0;
          for (int j = 0; j < len; j++)
            {
              const float *kj = qkv + ((gsize) s * len + j) * ld + dim + h * hd;
              double dot = 0;
              for (int c = 0; c < hd; c++)
                dot += fabs (qi[c]) * fabs (kj[c]);
              dot_max = fmax (dot_max, dot);
            }
          const double d_i = scale * (eps + hd * ldexp (1.0, -24)) * dot_max;
          for (int c = 0; c < hd; c++)
            {
              double v_max = 0;
              for (int j = 0; j < len; j++)
                v_max = fmax (v_max, fabs (qkv[((gsize) s * len + j) * ld + 2 * dim + h * hd + c]));
              const double bound
                = (expm1 (2 * d_i) + eps + (2.0 * len + 2 * hd + 8) * ldexp (1.0, -24)) * v_max;
              const gsize o = ((gsize) s * nq + i) * dim + h * hd + c;
              const double err = fabs ((double) out[o] - ref[o]);
              if (!(err <= bound))
                g_error ("bf16 attention (%d heads of %d, %d of %d keys): out[%d][%d] = %g vs "
                         "fp32 %g, off by %g > bound %g", heads, hd, nq, len, s * nq + i,
                         h * hd + c, out[o], ref[o], err, bound);
              worst = fmax (worst, err / bound);
            }
        }
  return worst;
}

/* float rounded to the nearest bf16, ties to even, as vcvtne2ps2bf16 does (no NaNs here) */
static double
round_bf16 (float x)
{
  guint32 bits;
  memcpy (&bits, &x, sizeof bits);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  float r;
  memcpy (&r, &bits, sizeof r);
  return r;
}

/* The bf16 attention against an emulation of the arithmetic it is meant to do: q, k and v
 * rounded to bf16, scores q'.k' * scale and the softmax in double, the weights rounded to bf16,
 * out = p'.v'. What is left is fp32 summation noise, plus a weight that rounds the other way
 * because its fp32 value differs from the double one in the last bits: at most one bf16 ulp,
 * 2^-8 relative, of that term. So per output (i, c):
 *   |o' - o| <= (2^-8 + (nk + hd + 8) 2^-23) sum_j p_j |v'_jc|
 * — a few tenths of a percent of the output, where a score scaled 5% wrong moves it by several
 * percent (the fp32-loop bound above allows that much, this one does not). */
static double
attention_bf16_emulated_worst (const float *q, const float *qkv, int ld, int n_seq, int nq,
                               int len, int dim, int heads, const float *out)
{
  const int hd = dim / heads;
  const double scale = 1.0f / sqrtf ((float) hd);
  double worst = 0;
  g_autofree double *p = g_new (double, len);
  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < nq; i++)
        {
          const float *qi = q + ((gsize) s * nq + i) * dim + h * hd;
          double max = -INFINITY, sum = 0;
          for (int j = 0; j < len; j++)
            {
              const float *kj = qkv + ((gsize) s * len + j) * ld + dim + h * hd;
              double dot = 0;
              for (int c = 0; c < hd; c++)
                dot += round_bf16 (qi[c]) * round_bf16 (kj[c]);
              p[j] = dot * scale;
              max = fmax (max, p[j]);
            }
          for (int j = 0; j < len; j++)
            sum += p[j] = exp (p[j] - max);
          for (int c = 0; c < hd; c++)
            {
              double o = 0, mag = 0;
              for (int j = 0; j < len; j++)
                {
                  const double vj = round_bf16 (qkv[((gsize) s * len + j) * ld + 2 * dim + h * hd + c]);
                  const double pj = p[j] / sum;
                  o += round_bf16 ((float) pj) * vj;
                  mag += pj * fabs (vj);
                }
              const double bound = (ldexp (1.0, -8) + (len + hd + 8) * ldexp (1.0, -23)) * mag;
              const double err = fabs ((double) out[((gsize) s * nq + i) * dim + h * hd + c] - o);
              if (!(err <= bound))
                g_error ("bf16 attention (%d heads of %d, %d of %d keys): out[%d][%d] = %g vs "
                         "emulated bf16 %g, off by %g > bound %g", heads, hd, nq, len,
                         s * nq + i, h * hd + c, out[((gsize) s * nq + i) * dim + h * hd + c], o,
                         err, bound);
              worst = fmax (worst, err / bound);
            }
        }
  return worst;
}

static void
test_attention_bf16 (void)
{
  /* sequences, queries, keys, width, heads: hd 12 (one vector), 72 (SO400M's, 5 vectors),
   * 9 (an odd pair partner); keys off multiples of 32 and 2; one query (the text tower's) */
  static const struct { int n_seq, nq, len, dim, heads; } cases[] = {
    { 3, 150, 150, 48, 4 }, { 2, 37, 37, 144, 2 }, { 2, 33, 33, 27, 3 }, { 2, 1, 64, 144, 2 },
  };
  GRand *rand = g_rand_new_with_seed (8);
  for (gsize t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      const int n_seq = cases[t].n_seq, nq = cases[t].nq, len = cases[t].len;
      const int dim = cases[t].dim, heads = cases[t].heads, ld = 3 * dim;
      const gsize rows = (gsize) n_seq * len;
      g_autofree float *qkv = g_new (float, rows * ld);
      for (gsize i = 0; i < rows * ld; i++)
        qkv[i] = (float) g_rand_double_range (rand, -2, 2);
      /* the queries: the last nq rows of each sequence, packed as siglip_attention_seqs wants */
      g_autofree float *q = g_new (float, (gsize) n_seq * nq * dim);
      for (int s = 0; s < n_seq; s++)
        for (int i = 0; i < nq; i++)
          memcpy (q + ((gsize) s * nq + i) * dim, qkv + ((gsize) s * len + len - nq + i) * ld,
                  dim * sizeof (float));
      const gsize n_out = (gsize) n_seq * nq * dim;
      g_autofree float *ref = g_new (float, n_out), *out = g_new (float, n_out);

      siglip_attention_scratch sc = { 0 };
      g_assert_true (siglip_attention_reserve (&sc, len, dim / heads));
      sc.bf16 = false;
      siglip_attention_seqs (&sc, ref, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq,
                             len, dim, heads);
      sc.bf16 = true;
      /* the vdpbf16ps products wherever the CPU has them, though the default choice may widen
       * bf16 for fp32 FMAs instead (AMX CPUs: gemm.c's bf16_kernel_get); that one below */
      siglip_gemm_set_bf16_backend (siglip_gemm_cpu_has_avx512bf16 () ? SIGLIP_GEMM_BF16_AVX512BF16
                                                                       : SIGLIP_GEMM_BF16_AUTO);
      siglip_attention_seqs (&sc, out, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq,
                             len, dim, heads);
      const double worst = attention_bf16_worst (qkv, ld, n_seq, nq, len, dim, heads, out, ref);
      g_test_message ("bf16 attention, %d heads of %d, %d queries of %d keys: worst error %.3g "
                      "of the bound (%s)", heads, dim / heads, nq, len, worst,
                      siglip_gemm_bf16_is_native () ? "vdpbf16ps" : "fp32 fallback");
      if (siglip_gemm_bf16_is_native ())
        {
          /* the bf16 products did run: the result is not the fp32 one, and it is the bf16
           * arithmetic it should be */
          g_assert_cmpfloat (worst, >, 0);
          const double emulated
            = attention_bf16_emulated_worst (q, qkv, ld, n_seq, nq, len, dim, heads, out);
          g_test_message ("  against the emulated bf16 arithmetic: worst %.3g of its bound",
                          emulated);
        }
      else
        g_assert_cmpmem (out, n_out * sizeof (float), ref, n_out * sizeof (float));

      /* the default choice: where it is not vdpbf16ps, the fp32 loops bit for bit */
      siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
      if (!siglip_gemm_bf16_is_native ())
        {
          siglip_attention_seqs (&sc, out, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq,
                                 nq, len, dim, heads);
          g_assert_cmpmem (out, n_out * sizeof (float), ref, n_out * sizeof (float));
        }

      /* the fallback, forced: the fp32 loops bit for bit */
      siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_GENERIC);
      siglip_attention_seqs (&sc, out, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq,
                             len, dim, heads);
      siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
      g_assert_cmpmem (out, n_out * sizeof (float), ref, n_out * sizeof (float));
      siglip_attention_scratch_clear (&sc);
    }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* two workers even on a one-core runner, so the split between workers is exercised */
  siglip_pool_set_threads (2);
  g_test_add_func ("/attention/seqs", test_attention_seqs);
  g_test_add_func ("/attention/reserve", test_attention_reserve);
  g_test_add_func ("/attention/bf16", test_attention_bf16);
  return g_test_run ();
}
