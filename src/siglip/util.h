/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * util.h — the small helpers several rooms of libsiglip need, one copy each: formatting into a
 * new string, joining a path, mapping a file read-only, faulting pages in, making a cache's folders. A leaf: it knows nothing of the rest of
 * the core (no error values; callers say what failed in their own words).
 */
#ifndef SIGLIP_UTIL_H
#define SIGLIP_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* printf into a new malloc'd string; NULL when out of memory. */
char *siglip_strdup_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *siglip_strdup_vprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

/* "dir/name", malloc'd; NULL when out of memory. */
char *siglip_path_join (const char *dir, const char *name);

/* A whole regular file mapped read-only and private: no copy, and the page cache serves
 * repeated loads. */
typedef struct {
  const void *data; /* NULL for an empty file (which cannot be mapped) */
  size_t size;
} siglip_mapping;

struct stat;
/* The one way the core opens a file it did not write: stat first, then open read-only and
 * non-blocking, then fstat, so that a FIFO, a device or a directory is refused instead of
 * blocking forever. Returns the fd, or -errno of the step that failed with *step set to it:
 * "open", "stat", or "read" with EINVAL when the path is not a regular file. */
int  siglip_open_regular_fd (const char *path, struct stat *st, const char **step);

/* Maps `path` (opened by siglip_open_regular_fd); `populate` faults every page in now
 * (MAP_POPULATE). With `fd` the descriptor stays open and is stored there (the caller closes
 * it; -1 on failure), so the very file mapped can also be read with pread; else it is closed.
 * Returns 0, or the errno of the step that failed with *step set to it: "open", "stat",
 * "map", or "read" with EINVAL when the path is not a regular file (a directory, a FIFO). */
int  siglip_map_readonly (const char *path, bool populate, siglip_mapping *out, int *fd,
                          const char **step);
void siglip_unmap (siglip_mapping *mapping);

/* Faults in every page of [data, data + bytes) in one call where Linux can (MADV_POPULATE_READ
 * or _WRITE, 5.14), instead of one fault per page as it is first touched; `writable` for memory
 * about to be written, which then takes no copy-on-write fault from the zero page either. Best
 * effort: elsewhere, or when it fails, the pages fault in as they are touched. */
void siglip_populate_pages (const void *data, size_t bytes, bool writable);

/* mkdir -p with mode 0700 (the caches are the user's alone); false with errno set. */
bool siglip_make_dirs (const char *path);

#endif /* SIGLIP_UTIL_H */
