/* SPDX-License-Identifier: GPL-3.0-or-later */
/* util.c — see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

char *
siglip_strdup_vprintf (const char *fmt, va_list ap)
{
  va_list copy;
  va_copy (copy, ap);
  int n = vsnprintf (NULL, 0, fmt, copy);
  va_end (copy);
  if (n < 0)
    return NULL;
  char *s = malloc ((size_t) n + 1);
  if (s)
    vsnprintf (s, (size_t) n + 1, fmt, ap);
  return s;
}

char *
siglip_strdup_printf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = siglip_strdup_vprintf (fmt, ap);
  va_end (ap);
  return s;
}

char *
siglip_path_join (const char *dir, const char *name)
{
  return siglip_strdup_printf ("%s/%s", dir, name);
}

int
siglip_open_regular_fd (const char *path, struct stat *st, const char **step)
{
  /* stat first: open() itself would block on a FIFO with no writer */
  if (stat (path, st) != 0)
    {
      *step = "open";
      return -errno;
    }
  if (!S_ISREG (st->st_mode))
    {
      *step = "read";
      return -EINVAL;
    }
  /* O_NONBLOCK: a FIFO swapped in since the stat still does not block the open; the fstat
   * then refuses it */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    {
      *step = "open";
      return -errno;
    }
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode))
    {
      int err = S_ISREG (st->st_mode) ? errno : EINVAL;
      close (fd);
      *step = S_ISREG (st->st_mode) ? "stat" : "read";
      return -err;
    }
  return fd;
}

int
siglip_map_readonly (const char *path, bool populate, siglip_mapping *out, int *keep_fd,
                     const char **step)
{
  *out = (siglip_mapping) { NULL, 0 };
  if (keep_fd)
    *keep_fd = -1;
  struct stat st;
  int fd = siglip_open_regular_fd (path, &st, step);
  if (fd < 0)
    return -fd;
  int err = 0;
  if ((uint64_t) st.st_size > SIZE_MAX)
    *step = "map", err = EFBIG;
  else if (st.st_size > 0)
    {
      void *p = mmap (NULL, (size_t) st.st_size, PROT_READ,
                      MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
      if (p == MAP_FAILED)
        *step = "map", err = errno;
      else
        *out = (siglip_mapping) { p, (size_t) st.st_size };
    }
  if (keep_fd && !err)
    *keep_fd = fd;
  else
    close (fd);
  return err;
}

void
siglip_unmap (siglip_mapping *mapping)
{
  if (mapping->data)
    munmap ((void *) mapping->data, mapping->size);
  *mapping = (siglip_mapping) { NULL, 0 };
}

bool
siglip_make_dirs (const char *path)
{
  char *copy = strdup (path);
  if (!copy)
    return false;
  for (char *p = copy + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (copy, 0700) != 0 && errno != EEXIST)
          {
            free (copy);
            return false;
          }
        *p = '/';
      }
  bool ok = mkdir (copy, 0700) == 0 || errno == EEXIST;
  free (copy);
  return ok;
}

void
siglip_populate_pages (const void *data, size_t bytes, bool writable)
{
#if defined(MADV_POPULATE_READ) && defined(MADV_POPULATE_WRITE)
  const uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
  const uintptr_t begin = (uintptr_t) data & ~(page - 1);
  const uintptr_t end = ((uintptr_t) data + bytes + page - 1) & ~(page - 1);
  if (data && end > begin)
    madvise ((void *) begin, end - begin, writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#endif
}
