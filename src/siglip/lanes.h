/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lanes.h — the lane masks with which the AVX-512 kernels load and store the edges of a row:
 * a K tail, the last panel's columns, a strip's last rows.
 */
#ifndef SIGLIP_LANES_H
#define SIGLIP_LANES_H

#include <stdint.h>

/* The first n of 16 lanes: none for n <= 0, all for n >= 16 (a __mmask16). The lanes of a
 * second vector of 16 are siglip_lanes16 (n - 16). */
static inline uint16_t
siglip_lanes16 (int n)
{
  return n >= 16 ? 0xffff : n <= 0 ? 0 : (uint16_t) ((1u << n) - 1);
}

#endif /* SIGLIP_LANES_H */
