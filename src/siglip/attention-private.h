/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * attention-private.h — what attention.c shares with its bf16 kernels (attention-avx512bf16.c):
 * the layouts of one head's operands as bf16 pairs (bf16.h).
 */
#ifndef SIGLIP_ATTENTION_PRIVATE_H
#define SIGLIP_ATTENTION_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "bf16.h"

#ifdef SIGLIP_HAVE_AVX512BF16
/* The products of one head, with nkp = nk rounded up to 32 keys, hp = ceil (hd / 2) pairs,
 * hdp = hd rounded up to 16 dims, hd <= 128; every buffer holds u32 words, each a bf16 pair
 * (low half first):
 *   pack_rows: out[r * ldout + p] = (x[r][2p], x[r][2p + 1])          (queries, softmax rows)
 *   kt[((j / 32) * hp + p) * 32 + j % 32] = (k[j][2p], k[j][2p + 1])   (nkp * hp words, zero
 *                                                                        past nk)
 *   vp[p * hdp + c] = (v[2p][c], v[2p + 1][c])                           (ceil (nk/2) * hdp)
 *   qk: s (nq, nkp) = qa (nq, hp pairs) kt * scale, fp32
 *   pv: out (nq, hd; row stride ldo) = pa (nq, nkp / 2 pairs) vp */
void siglip_attn_bf16_pack_rows (uint32_t *out, size_t ldout, const float *x, size_t ldx,
                                 int rows, int n);
void siglip_attn_bf16_pack_kv (uint32_t *kt, uint32_t *vp, const float *k, int ldk,
                               const float *v, int ldv, int nk, int hd);
void siglip_attn_bf16_qk (float *s, const uint32_t *qa, const uint32_t *kt, int nq, int hd,
                          int nk, float scale);
void siglip_attn_bf16_pv (float *out, int ldo, const uint32_t *pa, const uint32_t *vp, int nq,
                          int nk, int hd);
#endif

#endif /* SIGLIP_ATTENTION_PRIVATE_H */
