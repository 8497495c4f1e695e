/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "siglens-download-error.h"

G_DEFINE_QUARK (siglens-download-error-quark, siglens_download_error)
