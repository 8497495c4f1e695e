/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

void
siglip_error_free (siglip_error *error)
{
  if (!error)
    return;
  free (error->message);
  free (error);
}

const char *
siglip_status_name (siglip_status status)
{
  switch (status)
    {
    case SIGLIP_OK: return "ok";
    case SIGLIP_ERR_IO: return "i/o error";
    case SIGLIP_ERR_FORMAT: return "malformed file";
    case SIGLIP_ERR_MISSING: return "missing";
    case SIGLIP_ERR_SHAPE: return "shape mismatch";
    case SIGLIP_ERR_UNSUPPORTED: return "unsupported";
    case SIGLIP_ERR_INVALID_INPUT: return "invalid input";
    case SIGLIP_ERR_NO_MEMORY: return "out of memory";
    case SIGLIP_ERR_CANCELLED: return "cancelled";
    }
  return "unknown error";
}

bool
siglip_set_error (siglip_error **error, siglip_status status, const char *fmt, ...)
{
  if (!error)
    return false;
  /* The first error is the one that explains what went wrong; keep it. */
  if (*error)
    return false;
  siglip_error *e = calloc (1, sizeof *e);
  if (!e)
    return false;
  va_list ap;
  va_start (ap, fmt);
  e->message = siglip_strdup_vprintf (fmt, ap);
  va_end (ap);
  e->status = status;
  if (!e->message)
    e->message = strdup (siglip_status_name (status));
  *error = e;
  return false;
}

void
siglip_prefix_error (siglip_error **error, const char *fmt, ...)
{
  if (!error || !*error)
    return;
  va_list ap;
  va_start (ap, fmt);
  char *prefix = siglip_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (!prefix)
    return;
  size_t n = strlen (prefix) + 2 + strlen ((*error)->message) + 1;
  char *msg = malloc (n);
  if (msg)
    {
      snprintf (msg, n, "%s: %s", prefix, (*error)->message);
      free ((*error)->message);
      (*error)->message = msg;
    }
  free (prefix);
}
