/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until its issue lands; see internal.h for the contract. */
#include "internal.h"
