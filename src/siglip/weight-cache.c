/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * weight-cache.c — packed weight panels in a file under $XDG_CACHE_HOME/siglens/weights.
 *
 * Why: a bf16 load packs 2.2 GB of panels (SO400M). Packed into fresh anonymous memory that
 * took 19x the time of reading the weight files, 63% of it the kernel zeroing new pages (slow
 * in a VM). Panels written once to a file come back from the page cache: a load maps them and
 * verifies their checksums, which also faults them in, and nothing is zeroed or packed. The
 * first load of a model (or after it changed) builds the file: it checks every source tensor
 * finite, packs, writes, and only then is the file trusted. The write stays inside that load:
 * the panels must be in fresh memory before the first product either way, and packed into
 * anonymous memory (to write the file later on a thread) they took longer than the file's page
 * cache does (README, Speed).
 *
 * Keyed by everything the panels depend on (siglip_weight_cache_key): the model's identity
 * (revision, config/tokenizer files, weight file digests, as label-cache.c's), each weight
 * file's size, inode, mtime and ctime (a file rewritten in place, or a NaN patched into it,
 * is a different key), the panel layout named by gemm.h, and the precision. Not the ISA:
 * every kernel (AVX-512 BF16, AVX2, generic) reads the same panels, packed by portable code,
 * so SIGLIP_ISA=avx2 and the default share one file instead of rebuilding each other's.
 *
 * File layout (native byte order, checked by `order`):
 *   header   magic "SGLNWC01", order 0x01020304, counts and sizes (file_header below)
 *   key      key_len bytes, compared whole: a file made for other weights is stale
 *   entries  n_entries x { rows, cols, name_len, offset, bytes } then the names, in the order
 *            the loader binds the matrices; each must match the matrix asked for
 *   sums     one 64-bit checksum per CHUNK_BYTES of each entry's panels
 *   (padding to a page), then each entry's panels at its page-aligned offset
 * The header's own checksum covers header, key, entries and sums; the sums cover the panels.
 * Any mismatch — size, magic, key, shapes, a checksum — and the file is removed and rebuilt,
 * never used. It is written to a temporary (".tmp-PID-...") and renamed into place only when
 * whole, so a process killed mid-write leaves a temporary that the next build removes, and
 * nothing under the real name. No fsync: a file cut short by a power loss fails its checksums.
 *
 * Disk use: one file per model directory and precision, about half the size of fp32 weights
 * (2.2 GB for SO400M); the directory is kept under SIGLIP_WEIGHT_CACHE_MAX_BYTES by removing
 * the least recently used files (a hit refreshes the mtime).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "util.h"
#include "weight-cache.h"

#define FILE_MAGIC   "SGLNWC01"
#define FILE_SUFFIX  ".wcache"
#define TEMP_PREFIX  ".tmp-"
#define BYTE_ORDER_MARK 0x01020304u
#define CHUNK_BYTES  ((uint64_t) 1 << 20)
#define PAGE_ALIGN   ((uint64_t) 4096)
#define MAX_META_BYTES ((uint64_t) 64 << 20)
/* a temporary whose process cannot be asked (another PID namespace) counts as dead after this */
#define STALE_TEMP_SECONDS (24 * 3600)

typedef struct {
  char magic[8];
  uint32_t order;
  uint32_t n_entries;
  uint64_t file_bytes;
  uint64_t meta_bytes;    /* header + key + entries + names + sums, before padding */
  uint64_t payload_offset;
  uint64_t n_chunks;
  uint32_t key_len;
  uint32_t names_len;
  uint64_t meta_checksum; /* of the meta bytes with this field zero */
} file_header;

typedef struct {
  uint32_t rows, cols, name_len, reserved;
  uint64_t offset, bytes;
} file_entry;

struct siglip_weight_cache {
  void *map;
  size_t map_bytes;
};

/* ------------------------------------------------------------------------------------------ */
/* checksums: 64-bit, four independent lanes (the rounds of xxHash64), ~8 GB/s a core. They
 * detect damage; the key, compared whole, decides what the file is for. */

#define P1 0x9e3779b185ebca87u
#define P2 0xc2b2ae3d27d4eb4fu
#define P3 0x165667b19e3779f9u

static inline uint64_t
rotl (uint64_t x, int r)
{
  return (x << r) | (x >> (64 - r));
}

static inline uint64_t
round64 (uint64_t acc, uint64_t v)
{
  return rotl (acc + v * P2, 31) * P1;
}

static uint64_t
checksum (const void *data, uint64_t len)
{
  const uint8_t *p = data;
  uint64_t a = P1 + P2, b = P2, c = 0, d = -P1;
  uint64_t i = 0;
  for (; i + 32 <= len; i += 32)
    {
      uint64_t v[4];
      memcpy (v, p + i, 32);
      a = round64 (a, v[0]);
      b = round64 (b, v[1]);
      c = round64 (c, v[2]);
      d = round64 (d, v[3]);
    }
  uint64_t h = rotl (a, 1) + rotl (b, 7) + rotl (c, 12) + rotl (d, 18) + len;
  for (; i + 8 <= len; i += 8)
    {
      uint64_t v;
      memcpy (&v, p + i, 8);
      h = rotl (h ^ round64 (0, v), 27) * P1 + P3;
    }
  for (; i < len; i++)
    h = rotl (h ^ (p[i] * P3), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  return h ^ (h >> 32);
}

/* The chunks of an entry of `bytes`: the last one may be short. */
static uint64_t
chunks_of (uint64_t bytes)
{
  return (bytes + CHUNK_BYTES - 1) / CHUNK_BYTES;
}

typedef struct {
  const uint8_t *base;     /* chunk i is at base + offset[i] - origin, len[i] bytes */
  uint64_t origin;
  const uint64_t *offset, *len;
  uint64_t *sums;          /* computing */
  const uint64_t *expect;  /* verifying */
  atomic_int first_bad;
} sum_job;

static void
sum_task (void *data, int i, int worker)
{
  sum_job *job = data;
  (void) worker;
  const uint64_t h = checksum (job->base + (job->offset[i] - job->origin), job->len[i]);
  if (job->sums)
    job->sums[i] = h;
  else if (h != job->expect[i])
    {
      int seen = atomic_load (&job->first_bad);
      while (i < seen && !atomic_compare_exchange_weak (&job->first_bad, &seen, i))
        ;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* names and keys */

static char *
join (const char *dir, const char *name)
{
  return siglip_strdup_printf ("%s/%s", dir, name);
}

char *
siglip_weight_cache_default_directory (void)
{
  const char *xdg = getenv ("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/')
    return join (xdg, "siglens/weights");
  const char *home = getenv ("HOME");
  if (!home || !*home)
    return NULL;
  return join (home, ".cache/siglens/weights");
}

static const char *
precision_name (siglip_precision precision)
{
  return precision == SIGLIP_PRECISION_BF16 ? "bf16" : "fp32";
}

char *
siglip_weight_cache_path (const char *cache_dir, const char *model_dir, siglip_precision precision)
{
  char *real = realpath (model_dir, NULL);
  const char *where = real ? real : model_dir;
  /* the last part of the path keeps the name readable; the hash keeps two places apart */
  const char *base = strrchr (where, '/');
  base = base && base[1] ? base + 1 : where;
  char safe[48];
  size_t n = 0;
  for (const char *s = base; *s && n < sizeof safe - 1; s++)
    safe[n++] = (char) ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
                        || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ? *s : '_');
  safe[n] = '\0';
  const uint64_t h = checksum (where, strlen (where));
  char *path = siglip_strdup_printf ("%s/%s-%016llx-%s%s", cache_dir, safe,
                                     (unsigned long long) h, precision_name (precision),
                                     FILE_SUFFIX);
  free (real);
  return path;
}

char *
siglip_weight_cache_key (const siglip_model *model, siglip_precision precision,
                         const char *layout)
{
  char *identity = siglip_model_identity (model);
  char *key = identity ? siglip_strdup_printf ("siglens weight cache\nidentity %s\nlayout %s\n"
                                               "precision %s\n", identity,
                                               layout,
                                               precision_name (precision))
                       : NULL;
  free (identity);
  for (int i = 0; key && i < siglip_weights_n_files (model->weights); i++)
    {
      const char *name = siglip_weights_file_name (model->weights, i);
      char *path = join (model->directory, name);
      struct stat st;
      char *grown = NULL;
      if (path && stat (path, &st) == 0)
        grown = siglip_strdup_printf ("%sfile %s size %lld dev %llu inode %llu mtime %lld.%09ld "
                                      "ctime %lld.%09ld\n", key, name, (long long) st.st_size,
                                      (unsigned long long) st.st_dev,
                                      (unsigned long long) st.st_ino,
                                      (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                      (long long) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
      free (path);
      free (key);
      key = grown;
    }
  return key;
}

/* "vision_model.encoder.layers.0.self_attn.q_proj.weight+k_proj.weight+..." */
static char *
job_name (const siglip_pack_job *job)
{
  char *name = strdup (job->tensors[0]->name);
  for (int p = 1; name && p < job->n_parts; p++)
    {
      char *grown = siglip_strdup_printf ("%s+%s", name, job->tensors[p]->name);
      free (name);
      name = grown;
    }
  return name;
}

/* ------------------------------------------------------------------------------------------ */
/* the layout of a file for these jobs */

typedef struct {
  file_header header;
  file_entry *entries;
  char *names;          /* each name NUL-terminated, in order */
  uint64_t *chunk_offset, *chunk_len, *sums;
  size_t meta_used;     /* bytes of the meta block */
} layout;

static void
layout_clear (layout *l)
{
  free (l->entries);
  free (l->names);
  free (l->chunk_offset);
  free (l->chunk_len);
  free (l->sums);
  memset (l, 0, sizeof *l);
}

static uint64_t
align_up (uint64_t v, uint64_t a)
{
  return (v + a - 1) / a * a;
}

/* Fills entries, names and the chunk tables from the entries' sizes; header counts too. */
static bool
layout_chunks (layout *l)
{
  file_header *h = &l->header;
  uint64_t n_chunks = 0;
  for (uint32_t i = 0; i < h->n_entries; i++)
    n_chunks += chunks_of (l->entries[i].bytes);
  h->n_chunks = n_chunks;
  l->chunk_offset = calloc (n_chunks ? n_chunks : 1, sizeof *l->chunk_offset);
  l->chunk_len = calloc (n_chunks ? n_chunks : 1, sizeof *l->chunk_len);
  if (!l->chunk_offset || !l->chunk_len)
    return false;
  uint64_t c = 0;
  for (uint32_t i = 0; i < h->n_entries; i++)
    for (uint64_t o = 0; o < l->entries[i].bytes; o += CHUNK_BYTES, c++)
      {
        l->chunk_offset[c] = l->entries[i].offset + o;
        l->chunk_len[c] = l->entries[i].bytes - o < CHUNK_BYTES ? l->entries[i].bytes - o
                                                                : CHUNK_BYTES;
      }
  return true;
}

static size_t
meta_size (const file_header *h)
{
  return sizeof *h + h->key_len + (size_t) h->n_entries * sizeof (file_entry) + h->names_len
         + (size_t) h->n_chunks * sizeof (uint64_t);
}

/* The layout the jobs want: entries in order, each at a page-aligned offset. */
static bool
layout_for_jobs (layout *l, const char *key, siglip_precision precision,
                 const siglip_pack_job *jobs, int n_jobs)
{
  memset (l, 0, sizeof *l);
  file_header *h = &l->header;
  memcpy (h->magic, FILE_MAGIC, 8);
  h->order = BYTE_ORDER_MARK;
  h->n_entries = (uint32_t) n_jobs;
  h->key_len = (uint32_t) strlen (key);
  l->entries = calloc ((size_t) n_jobs + 1, sizeof *l->entries);
  char **names = calloc ((size_t) n_jobs + 1, sizeof *names);
  bool ok = l->entries && names;
  size_t names_len = 0;
  for (int i = 0; ok && i < n_jobs; i++)
    {
      ok = (names[i] = job_name (&jobs[i])) != NULL;
      if (ok)
        names_len += strlen (names[i]) + 1;
    }
  if (ok && (l->names = malloc (names_len + 1)))
    {
      size_t at = 0;
      for (int i = 0; i < n_jobs; i++)
        {
          const size_t len = strlen (names[i]);
          memcpy (l->names + at, names[i], len + 1);
          at += len + 1;
          l->entries[i] = (file_entry) { .rows = (uint32_t) jobs[i].matrix->rows,
                                         .cols = (uint32_t) jobs[i].matrix->cols,
                                         .name_len = (uint32_t) len };
          l->entries[i].bytes = siglip_gemm_packed_data_bytes (precision, jobs[i].matrix->rows,
                                                               jobs[i].matrix->cols);
        }
      h->names_len = (uint32_t) names_len;
    }
  else
    ok = false;
  for (int i = 0; names && i < n_jobs; i++)
    free (names[i]);
  free (names);
  if (!ok)
    return false;
  /* the counts first (the meta block's size depends on the chunk count), then the offsets */
  uint64_t n_chunks = 0;
  for (int i = 0; i < n_jobs; i++)
    n_chunks += chunks_of (l->entries[i].bytes);
  h->n_chunks = n_chunks;
  h->meta_bytes = meta_size (h);
  h->payload_offset = align_up (h->meta_bytes, PAGE_ALIGN);
  uint64_t at = h->payload_offset;
  for (int i = 0; i < n_jobs; i++)
    {
      l->entries[i].offset = at;
      at = align_up (at + l->entries[i].bytes, PAGE_ALIGN);
    }
  h->file_bytes = at;
  return layout_chunks (l) && (l->sums = calloc (n_chunks ? n_chunks : 1, sizeof *l->sums));
}

/* The meta block as written: header, key, entries, names, sums; checksum set. (transfer full) */
static uint8_t *
meta_serialize (layout *l, const char *key)
{
  file_header *h = &l->header;
  const size_t size = meta_size (h);
  uint8_t *meta = calloc (1, size);
  if (!meta)
    return NULL;
  size_t at = sizeof *h;
  memcpy (meta + at, key, h->key_len);
  at += h->key_len;
  memcpy (meta + at, l->entries, (size_t) h->n_entries * sizeof (file_entry));
  at += (size_t) h->n_entries * sizeof (file_entry);
  memcpy (meta + at, l->names, h->names_len);
  at += h->names_len;
  memcpy (meta + at, l->sums, (size_t) h->n_chunks * sizeof (uint64_t));
  h->meta_checksum = 0;
  memcpy (meta, h, sizeof *h);
  h->meta_checksum = checksum (meta, size);
  memcpy (meta, h, sizeof *h);
  return meta;
}

/* ------------------------------------------------------------------------------------------ */
/* opening */

static siglip_weight_cache *
cache_new (void *map, size_t bytes)
{
  siglip_weight_cache *c = calloc (1, sizeof *c);
  if (c)
    *c = (siglip_weight_cache) { map, bytes };
  return c;
}

/* Each job's matrix borrows its entry's panels. */
static bool
borrow_all (const layout *l, const uint8_t *map, siglip_precision precision,
            siglip_pack_job *jobs, int n_jobs)
{
  for (int i = 0; i < n_jobs; i++)
    if (!siglip_gemm_packed_borrow (jobs[i].matrix, precision, map + l->entries[i].offset, NULL))
      {
        for (int j = 0; j < i; j++)
          siglip_gemm_packed_free (jobs[j].matrix);
        return false;
      }
  return true;
}

/* Why a file does not fit the jobs, or NULL when it does. `got` is the file's layout, `want`
 * the jobs' (its offsets included: the same inputs give the same layout). */
static char *
layout_mismatch (const layout *got, const layout *want, const char *key, const char *file_key)
{
  const file_header *g = &got->header, *w = &want->header;
  if (g->key_len != w->key_len || memcmp (file_key, key, w->key_len) != 0)
    return strdup ("stale: made for other weight files (or another version of them)");
  if (g->n_entries != w->n_entries || g->names_len != w->names_len
      || g->n_chunks != w->n_chunks || g->payload_offset != w->payload_offset
      || g->file_bytes != w->file_bytes
      || memcmp (got->names, want->names, w->names_len) != 0)
    return strdup ("stale: holds other matrices than this model binds");
  for (uint32_t i = 0; i < w->n_entries; i++)
    if (memcmp (&got->entries[i], &want->entries[i], sizeof (file_entry)) != 0)
      return siglip_strdup_printf ("stale: matrix %u has another shape or place", i);
  return NULL;
}

/* Reads and checks the meta block of an open file into *got. NULL when sound, else why. */
static char *
read_meta (int fd, uint64_t size, layout *got, char **file_key)
{
  memset (got, 0, sizeof *got);
  file_header *h = &got->header;
  if (size < sizeof *h || pread (fd, h, sizeof *h, 0) != (ssize_t) sizeof *h)
    return strdup ("damaged: shorter than its header");
  if (memcmp (h->magic, FILE_MAGIC, 8) != 0 || h->order != BYTE_ORDER_MARK)
    return strdup ("damaged or of another version: wrong magic");
  if (h->file_bytes != size)
    return siglip_strdup_printf ("damaged: %llu bytes, the header says %llu",
                                 (unsigned long long) size, (unsigned long long) h->file_bytes);
  if (h->meta_bytes > MAX_META_BYTES || h->meta_bytes > size || h->n_entries > (1u << 20)
      || h->n_chunks > (MAX_META_BYTES / 8) || h->key_len > MAX_META_BYTES
      || h->names_len > MAX_META_BYTES || meta_size (h) != h->meta_bytes)
    return strdup ("damaged: impossible sizes in the header");
  uint8_t *meta = malloc (h->meta_bytes);
  if (!meta)
    return strdup ("cannot be checked: out of memory");
  if (pread (fd, meta, h->meta_bytes, 0) != (ssize_t) h->meta_bytes)
    {
      free (meta);
      return strdup ("damaged: cannot read its header");
    }
  const uint64_t stored = h->meta_checksum;
  memset (meta + offsetof (file_header, meta_checksum), 0, sizeof (uint64_t));
  if (checksum (meta, h->meta_bytes) != stored)
    {
      free (meta);
      return strdup ("damaged: its header fails its checksum");
    }
  size_t at = sizeof *h;
  *file_key = malloc ((size_t) h->key_len + 1);
  got->entries = malloc ((size_t) h->n_entries * sizeof (file_entry) + 1);
  got->names = malloc ((size_t) h->names_len + 1);
  got->sums = malloc ((size_t) h->n_chunks * sizeof (uint64_t) + 1);
  if (!*file_key || !got->entries || !got->names || !got->sums)
    {
      free (meta);
      return strdup ("cannot be checked: out of memory");
    }
  memcpy (*file_key, meta + at, h->key_len);
  (*file_key)[h->key_len] = '\0';
  at += h->key_len;
  memcpy (got->entries, meta + at, (size_t) h->n_entries * sizeof (file_entry));
  at += (size_t) h->n_entries * sizeof (file_entry);
  memcpy (got->names, meta + at, h->names_len);
  at += h->names_len;
  memcpy (got->sums, meta + at, (size_t) h->n_chunks * sizeof (uint64_t));
  free (meta);
  return NULL;
}

/* Every chunk against its checksum, on the pool. -1 when all pass, else the first bad one. */
static int64_t
first_bad_chunk (const layout *l, const uint8_t *map)
{
  sum_job job = { .base = map, .offset = l->chunk_offset, .len = l->chunk_len,
                  .expect = l->sums };
  atomic_init (&job.first_bad, (int) l->header.n_chunks);
  siglip_parallel_for ((int) l->header.n_chunks, sum_task, &job);
  const int bad = atomic_load (&job.first_bad);
  return bad < (int) l->header.n_chunks ? bad : -1;
}

siglip_weight_cache *
siglip_weight_cache_open (const char *path, const char *key, siglip_precision precision,
                          siglip_pack_job *jobs, int n_jobs, char **why)
{
  *why = NULL;
  const int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    {
      *why = errno == ENOENT ? strdup ("not built yet")
                             : siglip_strdup_printf ("cannot be opened: %s", strerror (errno));
      return NULL;
    }
  struct stat st;
  layout got = { 0 }, want = { 0 };
  char *file_key = NULL;
  void *map = MAP_FAILED;
  siglip_weight_cache *cache = NULL;
  bool remove_it = true;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      *why = strdup ("not a regular file");
      remove_it = false;
    }
  else if ((*why = read_meta (fd, (uint64_t) st.st_size, &got, &file_key)))
    ;
  else if (!layout_for_jobs (&want, key, precision, jobs, n_jobs))
    {
      *why = strdup ("cannot be checked: out of memory");
      remove_it = false;
    }
  else if ((*why = layout_mismatch (&got, &want, key, file_key)))
    ;
  else if ((map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
    {
      *why = siglip_strdup_printf ("cannot be mapped: %s", strerror (errno));
      remove_it = false;
    }
  else
    {
      memcpy (want.sums, got.sums, (size_t) got.header.n_chunks * sizeof (uint64_t));
      const int64_t bad = first_bad_chunk (&want, map);
      if (bad >= 0)
        *why = siglip_strdup_printf ("damaged: the panels at byte %llu fail their checksum",
                                     (unsigned long long) want.chunk_offset[bad]);
      else if (!borrow_all (&want, map, precision, jobs, n_jobs)
               || !(cache = cache_new (map, (size_t) st.st_size)))
        {
          *why = strdup ("cannot be used: out of memory");
          remove_it = false;
        }
      else
        futimens (fd, NULL); /* recently used: the last to be evicted */
    }
  if (!cache && map != MAP_FAILED)
    munmap (map, (size_t) st.st_size);
  if (!cache && remove_it)
    unlink (path); /* stale or damaged: never used again, rebuilt by the caller */
  close (fd);
  free (file_key);
  layout_clear (&got);
  layout_clear (&want);
  return cache;
}

bool
siglip_weight_cache_probe (const char *path, const char *key)
{
  const int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return false;
  struct stat st;
  layout got = { 0 };
  char *file_key = NULL, *why = NULL;
  bool sound = fstat (fd, &st) == 0 && S_ISREG (st.st_mode)
               && !(why = read_meta (fd, (uint64_t) st.st_size, &got, &file_key))
               && got.header.key_len == strlen (key)
               && memcmp (file_key, key, got.header.key_len) == 0;
  close (fd);
  free (why);
  free (file_key);
  layout_clear (&got);
  return sound;
}

/* ------------------------------------------------------------------------------------------ */
/* building */

/* A temporary ".tmp-PID-..." whose process is gone (or that is very old) is a write that was
 * killed: removed. One of a live process is another build in progress: left alone. */
static bool
temp_is_dead (const char *name, const struct stat *st)
{
  const long pid = strtol (name + strlen (TEMP_PREFIX), NULL, 10);
  if (pid <= 0 || time (NULL) - st->st_mtime > STALE_TEMP_SECONDS)
    return true;
  return kill ((pid_t) pid, 0) != 0 && errno == ESRCH;
}

typedef struct {
  char *name;
  int64_t bytes;
  struct timespec mtime;
} dir_entry;

static int
by_mtime (const void *a, const void *b)
{
  const dir_entry *x = a, *y = b;
  if (x->mtime.tv_sec != y->mtime.tv_sec)
    return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
  return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

/* Removes dead temporaries, then the least recently used files until `incoming` more bytes fit
 * under the cap (`keep`, the file about to be replaced, is not counted or removed). */
static void
tidy_directory (const char *dir_path, const char *keep, int64_t incoming)
{
  DIR *dir = opendir (dir_path);
  if (!dir)
    return;
  dir_entry *list = NULL;
  size_t n = 0, cap = 0;
  int64_t total = 0;
  for (struct dirent *de; (de = readdir (dir));)
    {
      struct stat st;
      if (fstatat (dirfd (dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG (st.st_mode))
        continue;
      if (!strncmp (de->d_name, TEMP_PREFIX, strlen (TEMP_PREFIX)))
        {
          if (temp_is_dead (de->d_name, &st))
            unlinkat (dirfd (dir), de->d_name, 0);
          continue;
        }
      const size_t len = strlen (de->d_name), slen = strlen (FILE_SUFFIX);
      if (len < slen || strcmp (de->d_name + len - slen, FILE_SUFFIX) || !strcmp (de->d_name, keep))
        continue; /* not ours, or the one being rebuilt */
      if (n == cap)
        {
          cap = cap ? 2 * cap : 16;
          dir_entry *grown = realloc (list, cap * sizeof *list);
          if (!grown)
            break;
          list = grown;
        }
      if (!(list[n].name = strdup (de->d_name)))
        break;
      list[n].bytes = (int64_t) st.st_blocks * 512;
      list[n].mtime = st.st_mtim;
      total += list[n].bytes;
      n++;
    }
  if (n > 1) /* qsort's array may not be NULL, even for no elements (UBSan: nonnull) */
    qsort (list, n, sizeof *list, by_mtime);
  for (size_t i = 0; i < n && total + incoming > SIGLIP_WEIGHT_CACHE_MAX_BYTES; i++)
    if (unlinkat (dirfd (dir), list[i].name, 0) == 0)
      total -= list[i].bytes;
  for (size_t i = 0; i < n; i++)
    free (list[i].name);
  free (list);
  closedir (dir);
}

static bool
write_all (int fd, const void *data, size_t len, uint64_t offset)
{
  const uint8_t *p = data;
  while (len > 0)
    {
      const ssize_t n = pwrite (fd, p, len, (off_t) offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = ENOSPC;
          return false;
        }
      p += n;
      len -= (size_t) n;
      offset += (uint64_t) n;
    }
  return true;
}

siglip_weight_cache *
siglip_weight_cache_build (const char *path, const char *key, siglip_precision precision,
                           siglip_pack_job *jobs, int n_jobs,
                           const siglip_weight_cache_hooks *hooks, siglip_error **error)
{
  char *dir_path = strdup (path);
  char *slash = dir_path ? strrchr (dir_path, '/') : NULL;
  if (!slash)
    {
      free (dir_path);
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "%s: not a path in a directory", path);
      return NULL;
    }
  *slash = '\0';
  const char *base = slash + 1;
  layout l;
  if (!layout_for_jobs (&l, key, precision, jobs, n_jobs))
    {
      free (dir_path);
      layout_clear (&l);
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", path);
      return NULL;
    }
  static atomic_uint serial;
  char *temp = NULL;
  int fd = -1;
  uint8_t *buffer = NULL, *meta = NULL;
  void *map = MAP_FAILED;
  siglip_weight_cache *cache = NULL;
  bool renamed = false;

  if (!siglip_make_dirs (dir_path))
    {
      siglip_file_error (error, dir_path, errno, "create the weight cache directory");
      goto out;
    }
  tidy_directory (dir_path, base, (int64_t) l.header.file_bytes);
  temp = siglip_strdup_printf ("%s/%s%ld-%u-%s", dir_path, TEMP_PREFIX, (long) getpid (),
                               atomic_fetch_add (&serial, 1), base);
  if (!temp || (fd = open (temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
    {
      siglip_file_error (error, temp ? temp : path, errno, "create");
      goto out;
    }
  /* the whole size at once: a full disk says so now, not after gigabytes */
  if (fallocate (fd, 0, 0, (off_t) l.header.file_bytes) != 0 && errno != EOPNOTSUPP
      && errno != ENOSYS)
    {
      siglip_file_error (error, temp, errno, "allocate space for");
      goto out;
    }
  uint64_t largest = 0;
  for (int i = 0; i < n_jobs; i++)
    largest = l.entries[i].bytes > largest ? l.entries[i].bytes : largest;
  if (!(buffer = aligned_alloc (64, align_up (largest ? largest : 64, 64))))
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", path);
      goto out;
    }
  uint64_t chunk = 0;
  for (int i = 0; i < n_jobs; i++)
    {
      if (hooks && hooks->prepare && !hooks->prepare (hooks->data, &jobs[i]))
        {
          siglip_set_error (error, SIGLIP_ERR_CANCELLED, "%s: build stopped", path);
          goto out;
        }
      const file_entry *e = &l.entries[i];
      if (!siglip_gemm_pack_to (buffer, precision, (int) e->rows, (int) e->cols, jobs[i].parts,
                                jobs[i].n_parts, error))
        goto out;
      /* the sums of this entry's chunks, from the buffer before it goes to the file */
      const uint64_t n_chunks = chunks_of (e->bytes);
      sum_job sj = { .base = buffer, .origin = e->offset, .offset = l.chunk_offset + chunk,
                     .len = l.chunk_len + chunk, .sums = l.sums + chunk };
      atomic_init (&sj.first_bad, 0);
      siglip_parallel_for ((int) n_chunks, sum_task, &sj);
      chunk += n_chunks;
      if (!write_all (fd, buffer, e->bytes, e->offset))
        {
          siglip_file_error (error, temp, errno, "write");
          goto out;
        }
      if (hooks && hooks->done)
        hooks->done (hooks->data, &jobs[i]);
    }
  if (!(meta = meta_serialize (&l, key)))
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", path);
      goto out;
    }
  /* the header last: a file is only whole once it has one, and it is renamed after that */
  if (!write_all (fd, meta, l.header.meta_bytes, 0))
    {
      siglip_file_error (error, temp, errno, "write");
      goto out;
    }
  if (rename (temp, path) != 0)
    {
      siglip_file_error (error, path, errno, "rename the finished weight cache to");
      goto out;
    }
  renamed = true;
  map = mmap (NULL, (size_t) l.header.file_bytes, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    siglip_file_error (error, path, errno, "map");
  else if (!borrow_all (&l, map, precision, jobs, n_jobs)
           || !(cache = cache_new (map, (size_t) l.header.file_bytes)))
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", path);

out:
  if (!cache && map != MAP_FAILED)
    munmap (map, (size_t) l.header.file_bytes);
  if (fd >= 0)
    close (fd);
  if (!cache && temp && !renamed)
    unlink (temp);
  free (temp);
  free (buffer);
  free (meta);
  free (dir_path);
  layout_clear (&l);
  return cache;
}

int64_t
siglip_weight_cache_bytes (const siglip_weight_cache *cache)
{
  return (int64_t) cache->map_bytes;
}

void
siglip_weight_cache_close (siglip_weight_cache *cache)
{
  if (!cache)
    return;
  munmap (cache->map, cache->map_bytes);
  free (cache);
}
