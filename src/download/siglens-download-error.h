/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What can go wrong while fetching a model from the Hub, as the user needs to hear it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SIGLENS_DOWNLOAD_ERROR (siglens_download_error_quark ())

typedef enum {
  SIGLENS_DOWNLOAD_ERROR_NETWORK,      /* the endpoint could not be reached at all */
  SIGLENS_DOWNLOAD_ERROR_UNAUTHORIZED, /* 401/403: gated or private, a token is needed */
  SIGLENS_DOWNLOAD_ERROR_NOT_FOUND,    /* 404: no such repository, revision or file */
  SIGLENS_DOWNLOAD_ERROR_DISK_FULL,    /* not enough free space, before or while writing */
  SIGLENS_DOWNLOAD_ERROR_INTERRUPTED,  /* the connection broke or the server closed early */
  SIGLENS_DOWNLOAD_ERROR_CHECKSUM,     /* the bytes on disk are not the file the Hub named */
  SIGLENS_DOWNLOAD_ERROR_SERVER,       /* any other status, or an answer we cannot use */
  SIGLENS_DOWNLOAD_ERROR_BAD_INPUT,    /* a repository id, revision or endpoint we refuse */
  SIGLENS_DOWNLOAD_ERROR_WRITE,        /* the cache folder cannot be written */
} SiglensDownloadError;

GQuark siglens_download_error_quark (void);

G_END_DECLS
