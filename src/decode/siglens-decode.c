/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until the preprocessing issue lands. */
#include "siglens-decode.h"
