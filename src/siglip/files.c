/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * files.c — what to tell the user when a file of a model cannot be used. A model directory may
 * come from strangers: a FIFO or a device named model.safetensors, a directory named
 * tokenizer_config.json and a loop of symbolic links in an HF cache must each be called what
 * they are (util.c's siglip_open_regular_fd refuses them without blocking).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

const char *
siglip_file_type_name (unsigned mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

bool
siglip_file_error (siglip_error **error, const char *path, int err, const char *step)
{
  struct stat st;
  if (err == EINVAL && step && !strcmp (step, "read"))
    return siglip_set_error (error, SIGLIP_ERR_IO, "%s: is %s, not a regular file", path,
                             stat (path, &st) == 0 ? siglip_file_type_name ((unsigned) st.st_mode)
                                                   : "not a regular file");
  switch (err)
    {
    case ENOENT:
      return siglip_set_error (error, SIGLIP_ERR_MISSING, "%s: does not exist", path);
    case ELOOP:
      return siglip_set_error (error, SIGLIP_ERR_IO, "%s: cannot open: a loop of symbolic links "
                               "(a link that leads back to itself)", path);
    default:
      return siglip_set_error (error, SIGLIP_ERR_IO, "%s: cannot %s: %s", path,
                               step ? step : "open", strerror (err));
    }
}

int
siglip_open_regular (const char *path, struct stat *st, siglip_error **error)
{
  const char *step = NULL;
  int fd = siglip_open_regular_fd (path, st, &step);
  if (fd < 0)
    siglip_file_error (error, path, -fd, step);
  return fd;
}
