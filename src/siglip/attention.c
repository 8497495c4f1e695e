/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * attention.c — multi-head scaled dot-product attention, as Siglip2Attention computes it
 * (softmax (q k^T * head_dim^-0.5) v per head, no mask: the towers pass only the tokens that
 * take part, FACTS.md §4 and §6), over the pool, one (sequence, head, block of queries) per task.
 *
 * Three ways to do one head's products, picked per call: our own register-tiled fp32 loops on
 * per-worker copies of K_h and V_h (the usual case), the same in bf16 with vdpbf16ps
 * (attention-avx512bf16.c) when the model is bf16 and the CPU has AVX512-BF16, and cblas for
 * heads wider than our tiles (128 dims).
 */
#include "vec.h" /* first: it sets the file's FP contraction */

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "attention.h"
#include "attention-private.h"
#include "gemm-private.h"
#include "gemm.h"
#include "ops.h"
#include "pool.h"

/* Query rows per task. At 256 patches a whole head is one task (16 per image, 8 per worker):
 * K_h and V_h are packed by sgemm once per head instead of once per block, and the 256 x 256
 * scores (256 KiB) stay in L2 between the two products. Measured against 64-row blocks on
 * SO400M bf16, 256 patches: attention 14.6-14.8% of the image time vs 15.3-15.4%. Longer
 * sequences get several blocks (1024 patches: 64 tasks), the scratch stays 256 x seq. */
#define ATTN_QUERY_BLOCK 256

/* out_h rows [q0, q0 + nq) of one head of one sequence: scores (nq, nk) =
 * q_h k_h^T * hd^-0.5, softmax per row, out_h = scores v_h. */
static void
attention_block (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                 const float *v, int ldv, int nq, int nk, int hd, float *scores)
{
  const float scale = 1.0f / sqrtf ((float) hd); /* Siglip2Attention: head_dim**-0.5 */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, scale, q, ldq, k, ldk, 0.0f,
               scores, nk);
  siglip_softmax_rows (scores, nq, (size_t) nk, nk);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hd, nk, 1.0f, scores, nk, v, ldv,
               0.0f, out, ldo);
}

void
siglip_attention (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                  const float *v, int ldv, int nq, int nk, int dim, int heads, float *scores)
{
  const int hd = dim / heads;
  for (int h = 0; h < heads; h++)
    attention_block (out + h * hd, ldo, q + h * hd, ldq, k + h * hd, ldk, v + h * hd, ldv, nq, nk,
                     hd, scores);
}

/* ---- our own attention products, on per-worker copies of K_h and V_h ----------------------
 * OpenBLAS runs here with the kernels OPENBLAS_CORETYPE picks (Haswell AVX2 in this
 * environment) and packs K_h and V_h on every call; with head_dim 72 the products are small
 * and strided. Below, K_h is transposed once per task into Kt (hd, nkp) and V_h copied into
 * Vp (nk, hdp), both contiguous and zero-padded (nkp: multiple of 32 keys, hdp: of 16 dims), so
 * the two products are plain register-tiled loops the vector code handles well. */

#define QK_MR 8  /* query rows x 32 keys per tile: 16 accumulators */
#define PV_MR 4  /* query rows x hdp dims per tile: up to 4 x 8 accumulators */
#define ATTN_MAX_HDP 128

static void
pack_vp (float *vp, const float *v, int ldv, int nk, int hd, int hdp)
{
  for (int j = 0; j < nk; j++)
    {
      memcpy (vp + (size_t) j * hdp, v + (size_t) j * ldv, (size_t) hd * sizeof (float));
      memset (vp + (size_t) j * hdp + hd, 0, (size_t) (hdp - hd) * sizeof (float));
    }
}

static void
pack_kv (float *kt, float *vp, const float *k, int ldk, const float *v, int ldv, int nk, int hd,
         int nkp, int hdp)
{
  for (int c = 0; c < hd; c++)
    {
      float *dst = kt + (size_t) c * nkp;
      for (int j = 0; j < nk; j++)
        dst[j] = k[(size_t) j * ldk + c];
      memset (dst + nk, 0, (size_t) (nkp - nk) * sizeof (float));
    }
  pack_vp (vp, v, ldv, nk, hd, hdp);
}

/* s (nq, nkp) = q (nq, hd) Kt (hd, nkp) * scale */
INLINE void
qk_product_body (float *s, const float *q, int ldq, const float *kt, int nq, int hd, int nkp,
            float scale)
{
  int i0 = 0;
  for (; i0 + QK_MR <= nq; i0 += QK_MR)
    for (int j0 = 0; j0 < nkp; j0 += 32)
      {
        vf acc[QK_MR][2];
#pragma GCC unroll 8
        for (int r = 0; r < QK_MR; r++)
          acc[r][0] = acc[r][1] = vsplat (0.0f);
        for (int c = 0; c < hd; c++)
          {
            const vf b0 = vload (kt + (size_t) c * nkp + j0);
            const vf b1 = vload (kt + (size_t) c * nkp + j0 + 16);
#pragma GCC unroll 8
            for (int r = 0; r < QK_MR; r++)
              {
                const float a = q[(size_t) (i0 + r) * ldq + c];
                acc[r][0] += a * b0;
                acc[r][1] += a * b1;
              }
          }
#pragma GCC unroll 8
        for (int r = 0; r < QK_MR; r++)
          {
            vstore (s + (size_t) (i0 + r) * nkp + j0, acc[r][0] * scale);
            vstore (s + (size_t) (i0 + r) * nkp + j0 + 16, acc[r][1] * scale);
          }
      }
  for (; i0 < nq; i0++) /* the last rows, one at a time */
    for (int j0 = 0; j0 < nkp; j0 += 16)
      {
        vf acc = vsplat (0.0f);
        for (int c = 0; c < hd; c++)
          acc += q[(size_t) i0 * ldq + c] * vload (kt + (size_t) c * nkp + j0);
        vstore (s + (size_t) i0 * nkp + j0, acc * scale);
      }
}

ROW_KERNEL_DISPATCH (qk_product,
                     (float *s, const float *q, int ldq, const float *kt, int nq, int hd, int nkp,
                      float scale),
                     (s, q, ldq, kt, nq, hd, nkp, scale))

/* out rows [i0, i0 + MR) (hd of hdp = NV * 16 columns) = p (., nkp) Vp (nk, hdp) */
INLINE void
pv_tile (float *out, int ldo, const float *p, int nkp, const float *vp, int nk, int hd, int i0,
         const int MR, const int NV)
{
  /* unrolled, so that for the constant shapes the accumulators are registers: without it GCC
   * kept them in memory, a load and a store around every FMA (pv_product took three times the
   * samples of qk_product for the same multiply-adds) */
  vf acc[PV_MR][ATTN_MAX_HDP / LANES];
#pragma GCC unroll 4
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++)
      acc[r][v] = vsplat (0.0f);
  for (int j = 0; j < nk; j++)
    {
      vf b[ATTN_MAX_HDP / LANES] = { 0 }; /* past NV never read; GCC cannot tell when NV varies */
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++)
        b[v] = vload (vp + (size_t) j * NV * LANES + v * LANES);
#pragma GCC unroll 4
      for (int r = 0; r < MR; r++)
        {
          const float a = p[(size_t) (i0 + r) * nkp + j];
#pragma GCC unroll 8
          for (int v = 0; v < NV; v++)
            acc[r][v] += a * b[v];
        }
    }
  for (int r = 0; r < MR; r++)
    {
      float row[ATTN_MAX_HDP];
      for (int v = 0; v < NV; v++)
        vstore (row + v * LANES, acc[r][v]);
      memcpy (out + (size_t) (i0 + r) * ldo, row, (size_t) hd * sizeof (float));
    }
}

/* out (nq, hd) = p (nq, nkp; the first nk columns) Vp (nk, hdp) */
INLINE void
pv_product_body (float *out, int ldo, const float *p, int nkp, const float *vp, int nq, int nk, int hd,
            int hdp)
{
  const int nv = hdp / LANES;
  int i0 = 0;
  /* constant tile shapes for the usual head sizes (64, 72/80, 128), so the accumulators live
   * in registers; anything else takes the same code with a variable width */
  for (; i0 + PV_MR <= nq; i0 += PV_MR)
    switch (nv)
      {
      case 4: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, 4); break;
      case 5: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, 5); break;
      case 8: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, 8); break;
      default: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, nv); break;
      }
  for (; i0 < nq; i0++)
    pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, 1, nv);
}

ROW_KERNEL_DISPATCH (pv_product,
                     (float *out, int ldo, const float *p, int nkp, const float *vp, int nq, int nk,
                      int hd, int hdp),
                     (out, ldo, p, nkp, vp, nq, nk, hd, hdp))

/* On AVX2 CPUs (no AVX-512) both products go to the GEMM's AVX2 kernel instead: the loops
 * above are written with 16-float vectors, which AVX2 holds in two registers each, and GCC's
 * x86-64-v3 clones of them moved every scalar splat and half the accumulators through the
 * stack (qk and pv took 36% of a classify run, at a tenth of the GEMM's rate; after, the run
 * took 38% fewer samples). SIGLIP_ISA=avx2 takes this path on AVX-512 machines too. */
static bool
avx2_products (void)
{
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
  return siglip_isa_get () == SIGLIP_ISA_AVX2;
#else
  return false;
#endif
}

/* attention_block with our products; scratch holds scores (nq, nkp), Kt and Vp. */
static void
attention_block_packed (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                        const float *v, int ldv, int nq, int nk, int hd, float *scratch)
{
  const int nkp = round_up (nk, 32), hdp = round_up (hd, LANES);
  float *scores = scratch, *kt = scores + (size_t) nq * nkp, *vp = kt + (size_t) hd * nkp;
  const float scale = 1.0f / sqrtf ((float) hd);
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
  if (avx2_products ())
    {
      /* the keys transposed 8 x 8 in registers and scaled on the way, so that the scores come
       * out of the product scaled: the element-wise transpose and a pass over the scores took
       * a sixth of this function's time (perf, SO400M's 16 heads of 72 over 256 patches) */
      siglip_avx2_pack_columns (kt, nkp, k, (size_t) ldk, nk, hd, scale);
      pack_vp (vp, v, ldv, nk, hd, hdp);
      siglip_avx2_sgemm_nn (scores, (size_t) nkp, q, (size_t) ldq, kt, (size_t) nkp, nq, nkp, hd);
      siglip_softmax_rows (scores, nq, (size_t) nkp, nk);
      siglip_avx2_sgemm_nn (out, (size_t) ldo, scores, (size_t) nkp, vp, (size_t) hdp, nq, hd, nk);
      return;
    }
#endif
  pack_kv (kt, vp, k, ldk, v, ldv, nk, hd, nkp, hdp);
  qk_product (scores, q, ldq, kt, nq, hd, nkp, scale);
  siglip_softmax_rows (scores, nq, (size_t) nkp, nk);
  pv_product (out, ldo, scores, nkp, vp, nq, nk, hd, hdp);
}

#ifdef SIGLIP_HAVE_AVX512BF16
/* The bf16 scratch, carved in 64-byte pieces: scores (nq, nkp) fp32, then bf16 pairs of
 * Kt (nkp * hp), Vp (nkp / 2 * hdp), the queries (nq * hp) and the softmax rows (nq * nkp / 2)
 * — see attention-private.h for the layouts. */
typedef struct {
  float *scores;
  uint32_t *kt, *vp, *qa, *pa;
} attn_bf16_scratch;

static size_t
attn_bf16_carve (float *base, int qb, int seq, int hd, attn_bf16_scratch *out)
{
  const size_t nkp = (size_t) round_up (seq, 32), hdp = (size_t) round_up (hd, LANES);
  const size_t hp = (size_t) (hd + 1) / 2;
  const size_t sizes[5] = { (size_t) qb * nkp, nkp * hp, nkp / 2 * hdp, (size_t) qb * hp,
                            (size_t) qb * nkp / 2 };
  void *parts[5];
  size_t at = 0;
  for (int i = 0; i < 5; i++)
    {
      parts[i] = base ? base + at : NULL;
      at += (size_t) round_up ((int) sizes[i], 16);
    }
  if (out)
    *out = (attn_bf16_scratch) { parts[0], parts[1], parts[2], parts[3], parts[4] };
  return at;
}

/* attention_block_packed with the two products in bf16 (vdpbf16ps, fp32 sums); the scores
 * and the softmax stay fp32 (max-subtracted, siglip_softmax_rows), and only its result
 * is rounded to bf16 for the second product. Halves the bytes the products stream and runs at
 * twice the fp32 FMA rate; test-attention bounds the difference from the fp32 loops. Measured on
 * SO400M (256 patches, 16 heads of 72, 2 threads, back to back in one process): 27 layers'
 * attention 34.5 ms (236 GFLOP/s) with the fp32 loops, 19.5 ms (420 GFLOP/s) here. */
static void
attention_block_bf16 (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                      const float *v, int ldv, int nq, int nk, int hd, float *scratch)
{
  attn_bf16_scratch b;
  attn_bf16_carve (scratch, nq, nk, hd, &b);
  const int nkp = round_up (nk, 32), hp = (hd + 1) / 2;
  siglip_attn_bf16_pack_kv (b.kt, b.vp, k, ldk, v, ldv, nk, hd);
  siglip_attn_bf16_pack_rows (b.qa, (size_t) hp, q, (size_t) ldq, nq, hd);
  siglip_attn_bf16_qk (b.scores, b.qa, b.kt, nq, hd, nk, 1.0f / sqrtf ((float) hd));
  siglip_softmax_rows (b.scores, nq, (size_t) nkp, nk);
  siglip_attn_bf16_pack_rows (b.pa, (size_t) nkp / 2, b.scores, (size_t) nkp, nq, nk);
  siglip_attn_bf16_pv (out, ldo, b.pa, b.vp, nq, nk, hd);
}
#endif

/* floats of attention_block_packed's (or _bf16's) scratch for up to `qb` queries, `seq` keys,
 * `hd` dims */
static size_t
packed_scratch_floats (int qb, int seq, int hd)
{
  const size_t nkp = (size_t) round_up (seq, 32), hdp = (size_t) round_up (hd, LANES);
  size_t floats = (size_t) qb * nkp + (size_t) hd * nkp + (size_t) seq * hdp;
#ifdef SIGLIP_HAVE_AVX512BF16
  const size_t bf16 = attn_bf16_carve (NULL, qb, seq, hd, NULL);
  floats = bf16 > floats ? bf16 : floats;
#endif
  return floats;
}

typedef struct {
  float *out;
  const float *q, *k, *v;
  int ldo, ldq, ldk, ldv;
  int seq_len, nq, dim, heads, blocks;
  float *scratch;
  size_t scratch_stride;
  /* attention_block_packed or attention_block_bf16, else attention_block (cblas) for heads
   * wider than our tiles */
  void (*block) (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                 const float *v, int ldv, int nq, int nk, int hd, float *scratch);
} attention_job;

/* task = (sequence, head, query block), sequence-major so a worker's run of tasks shares K/V */
static void
attention_task (void *data, int task, int worker)
{
  const attention_job *j = data;
  const int per_seq = j->heads * j->blocks;
  const int s = task / per_seq, h = task % per_seq / j->blocks, blk = task % j->blocks;
  const int hd = j->dim / j->heads;
  const int q0 = blk * ATTN_QUERY_BLOCK;
  const int nq = j->nq - q0 < ATTN_QUERY_BLOCK ? j->nq - q0 : ATTN_QUERY_BLOCK;
  const size_t qrow = (size_t) s * j->nq + q0, krow = (size_t) s * j->seq_len;
  j->block (
    j->out + qrow * j->ldo + h * hd, j->ldo, j->q + qrow * j->ldq + h * hd, j->ldq,
    j->k + krow * j->ldk + h * hd, j->ldk, j->v + krow * j->ldv + h * hd, j->ldv, nq, j->seq_len,
    hd, j->scratch + worker * j->scratch_stride);
}

void
siglip_attention_seqs (siglip_attention_scratch *sc, float *out, int ldo, const float *q,
                       int ldq, const float *k, int ldk, const float *v, int ldv, int n_seq,
                       int nq, int seq_len, int dim, int heads)
{
  const int blocks = (nq + ATTN_QUERY_BLOCK - 1) / ATTN_QUERY_BLOCK;
  const int hd = dim / heads;
  /* the callers reserve for their longest sequence before the layer loop */
  assert (sc->data && seq_len <= sc->seq && hd <= sc->head_dim);
  attention_job job = {
    .out = out, .q = q, .k = k, .v = v, .ldo = ldo, .ldq = ldq, .ldk = ldk, .ldv = ldv,
    .seq_len = seq_len, .nq = nq, .dim = dim, .heads = heads, .blocks = blocks,
    .scratch = sc->data, .scratch_stride = sc->stride, .block = attention_block,
  };
  if (round_up (hd, LANES) <= ATTN_MAX_HDP)
    {
      job.block = attention_block_packed;
#ifdef SIGLIP_HAVE_AVX512BF16
      /* bf16 products only where the model itself is bf16 and the CPU runs vdpbf16ps: the fp32
       * path stays bit for bit what the goldens were checked with */
      if (sc->bf16 && siglip_gemm_bf16_is_native ())
        job.block = attention_block_bf16;
#endif
    }
  const int n_tasks = n_seq * heads * blocks;
  if (siglip_pool_n_threads () > sc->n_workers)
    {
      /* the pool grew (another model asked for more threads) after sc was sized: run here,
       * with worker 0's block, rather than let a new worker index run past the scratch */
      for (int t = 0; t < n_tasks; t++)
        attention_task (&job, t, 0);
      return;
    }
  siglip_parallel_for (n_tasks, attention_task, &job);
}

void
siglip_attention_weights (float *p, const float *q, const float *k, int ldk, int nk, int dim,
                          int heads)
{
  const int hd = dim / heads;
  const float scale = 1.0f / sqrtf ((float) hd); /* as attention_block */
  for (int h = 0; h < heads; h++)
    {
      float *row = p + (size_t) h * nk;
      for (int j = 0; j < nk; j++)
        {
          const float *kj = k + (size_t) j * ldk + h * hd;
          double dot = 0;
          for (int c = 0; c < hd; c++)
            dot += (double) q[h * hd + c] * kj[c];
          row[j] = (float) dot * scale;
        }
    }
  siglip_softmax_rows (p, heads, (size_t) nk, nk);
}

/* ---------------------------------------------------------------------------------------------
 * Scratch
 */

bool
siglip_attention_reserve (siglip_attention_scratch *sc, int seq, int head_dim)
{
  const int workers = siglip_pool_n_threads ();
  if (sc->data && seq <= sc->seq && head_dim <= sc->head_dim && workers <= sc->n_workers)
    return true;
  /* grow to the max of old and new so that alternating callers do not thrash */
  seq = seq > sc->seq ? seq : sc->seq;
  head_dim = head_dim > sc->head_dim ? head_dim : sc->head_dim;
  /* per worker, rounded to 64 bytes so that the blocks do not share cache lines; the packed
   * products' scratch holds the cblas path's scores (ATTN_QUERY_BLOCK x seq) too */
  const size_t stride = round_up ((int) packed_scratch_floats (ATTN_QUERY_BLOCK, seq, head_dim),
                                  16);
  free (sc->data);
  sc->data = aligned_alloc (64, (size_t) workers * stride * sizeof (float));
  if (!sc->data)
    {
      sc->seq = sc->head_dim = sc->n_workers = 0;
      return false;
    }
  sc->stride = stride;
  sc->seq = seq;
  sc->head_dim = head_dim;
  sc->n_workers = workers;
  return true;
}

void
siglip_attention_scratch_clear (siglip_attention_scratch *sc)
{
  free (sc->data);
  memset (sc, 0, sizeof *sc);
}
