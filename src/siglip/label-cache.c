/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * label-cache.c — label embeddings kept on disk between runs, so a long label list is encoded
 * once per model and is instant afterwards.
 *
 * One file per text under the cache directory ($XDG_CACHE_HOME/siglens/labels by default),
 * named by a hash of its key. The key is everything the embedding depends on: the model's
 * identity (see model_identity), the precision the weights run at, the lowercase flag and the
 * exact text after templating (template and label together). The whole key is stored in the
 * entry and compared on read, so a hash collision is a miss, never a wrong answer.
 *
 * Entry layout (native byte order; the magic differs on a machine of the other order):
 *   char     magic[8]  "SGLNEMB1"
 *   uint32   key_len, dim
 *   char     key[key_len]
 *   float    embedding[dim]
 *   uint64   checksum of everything above
 * A file of the wrong size, magic, key or checksum is dropped (unlinked) and recomputed.
 * Entries are written to a temporary file and renamed into place, so a killed process leaves
 * at worst a stray temporary (removed at the next open), never a half-written entry under a
 * real name. The directory is kept under a size cap by evicting the least recently used
 * entries (a hit refreshes the file's mtime).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define ENTRY_MAGIC     "SGLNEMB1"
#define ENTRY_SUFFIX    ".emb"
#define TEMP_PREFIX     ".tmp-"
#define MAX_KEY_BYTES   (64 * 1024)
#define MAX_DIM         (1 << 16)
/* Evicting down to this fraction of the cap leaves room for a while before the next scan. */
#define EVICT_TO_NUM    3
#define EVICT_TO_DEN    4
/* Temporaries older than this belong to a process that died mid-write. */
#define STALE_TEMP_SECONDS 600
/* Weight files up to this size are digested whole; larger ones by header and samples. */
#define FULL_DIGEST_BYTES (64u << 20)
#define DIGEST_SAMPLES    64
#define DIGEST_SAMPLE_BYTES 4096

struct siglip_label_cache {
  char *directory;
  int64_t max_bytes;
  pthread_mutex_t lock; /* guards the counters and `bytes` */
  int64_t bytes;        /* entries on disk, as of the last scan plus what we wrote since */
  unsigned temp_serial;
  siglip_label_cache_stats stats;
};

/* ---------------------------------------------------------------------------------------------
 * Hashing: 64-bit, fast, not cryptographic. It detects corruption and spreads file names; the
 * stored key is what decides a hit.
 */

typedef struct {
  uint64_t h;
} digest;

static void
digest_init (digest *d)
{
  d->h = 0x9e3779b97f4a7c15u;
}

static uint64_t
mix (uint64_t h, uint64_t v)
{
  h ^= v;
  h *= 0xff51afd7ed558ccdu;
  h ^= h >> 33;
  return h;
}

static void
digest_update (digest *d, const void *data, size_t len)
{
  const unsigned char *p = data;
  uint64_t h = d->h;
  while (len >= 8)
    {
      uint64_t v;
      memcpy (&v, p, 8);
      h = mix (h, v);
      p += 8;
      len -= 8;
    }
  uint64_t tail = 0;
  memcpy (&tail, p, len);
  h = mix (h, tail ^ ((uint64_t) len << 56));
  d->h = h;
}

static void
digest_string (digest *d, const char *s)
{
  digest_update (d, s, strlen (s) + 1); /* the NUL keeps "ab"+"c" apart from "a"+"bc" */
}

static uint64_t
digest_final (const digest *d)
{
  return mix (d->h, 0x2545f4914f6cdd1du);
}

/* ---------------------------------------------------------------------------------------------
 * The model's identity: what makes two loads of "the same model" give the same embeddings.
 */

static char *
join (const char *dir, const char *name)
{
  size_t n = strlen (dir) + strlen (name) + 2;
  char *s = malloc (n);
  if (s)
    snprintf (s, n, "%s/%s", dir, name);
  return s;
}

/* Adds a file's size and content (whole, or header + evenly spaced samples when large) to the
 * digest; a missing file adds a marker, so adding one later changes the identity too. Opened
 * without blocking, and only a regular file is read: the identity is taken while the tokenizer
 * is still being parsed (model.c), before a FIFO in its place has been refused. */
static void
digest_file (digest *d, const char *dir, const char *name)
{
  char *path = join (dir, name);
  int fd = path ? open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
  free (path);
  digest_string (d, name);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      digest_string (d, "<absent>");
      if (fd >= 0)
        close (fd);
      return;
    }
  const uint64_t size = (uint64_t) st.st_size;
  digest_update (d, &size, sizeof size);
  unsigned char buf[DIGEST_SAMPLE_BYTES];
  if (size <= FULL_DIGEST_BYTES)
    {
      ssize_t n;
      while ((n = read (fd, buf, sizeof buf)) > 0)
        digest_update (d, buf, (size_t) n);
    }
  else
    {
      /* A safetensors header names every tensor, dtype and offset; the samples tell apart two
       * checkpoints of one architecture (a fine-tune has the same header). */
      uint64_t header_len = 0;
      if (pread (fd, &header_len, 8, 0) == 8 && header_len < size)
        for (uint64_t off = 0; off < 8 + header_len; off += sizeof buf)
          {
            ssize_t n = pread (fd, buf, sizeof buf, (off_t) off);
            if (n <= 0)
              break;
            digest_update (d, buf, (size_t) n);
          }
      for (int i = 0; i < DIGEST_SAMPLES; i++)
        {
          const uint64_t off = (size - sizeof buf) / (DIGEST_SAMPLES - 1) * (uint64_t) i;
          ssize_t n = pread (fd, buf, sizeof buf, (off_t) off);
          if (n > 0)
            digest_update (d, buf, (size_t) n);
        }
    }
  close (fd);
}

/* The Hugging Face snapshot revision when the directory is .../snapshots/REV, else NULL. */
static const char *
snapshot_revision (const char *directory, size_t *len)
{
  const char *marker = strstr (directory, "/snapshots/");
  if (!marker)
    return NULL;
  const char *rev = marker + strlen ("/snapshots/");
  *len = strcspn (rev, "/");
  return *len ? rev : NULL;
}

char *
siglip_model_identity (const siglip_model *model)
{
  digest d;
  digest_init (&d);
  size_t rev_len = 0;
  const char *rev = snapshot_revision (model->directory, &rev_len);
  if (rev)
    digest_update (&d, rev, rev_len);
  static const char *const text_files[] = { "config.json", "preprocessor_config.json",
                                            "tokenizer.json", "tokenizer_config.json" };
  for (size_t i = 0; i < sizeof text_files / sizeof text_files[0]; i++)
    digest_file (&d, model->directory, text_files[i]);
  for (int i = 0; i < siglip_weights_n_files (model->weights); i++)
    digest_file (&d, model->directory, siglip_weights_file_name (model->weights, i));
  char *id = malloc (17);
  if (id)
    snprintf (id, 17, "%016llx", (unsigned long long) digest_final (&d));
  return id;
}

/* ---------------------------------------------------------------------------------------------
 * Opening, scanning, evicting
 */

char *
siglip_label_cache_default_directory (void)
{
  const char *xdg = getenv ("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/')
    return join (xdg, "siglens/labels");
  const char *home = getenv ("HOME");
  if (!home || !*home)
    return NULL;
  return join (home, ".cache/siglens/labels");
}

static bool
has_suffix (const char *s, const char *suffix)
{
  size_t n = strlen (s), m = strlen (suffix);
  return n >= m && !strcmp (s + n - m, suffix);
}

typedef struct {
  char *name;
  int64_t bytes;
  struct timespec mtime;
} scanned_entry;

static int
by_mtime (const void *a, const void *b)
{
  const scanned_entry *x = a, *y = b;
  if (x->mtime.tv_sec != y->mtime.tv_sec)
    return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
  return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

/* Counts the entries, removes dead temporaries and, when over `cap` (cap < 0: no cap; 0: remove
 * all), the least recently used entries. Returns the bytes left, or -1 when the directory cannot
 * be read. Called with the lock held (or before the cache is shared). */
static int64_t
scan (const char *directory, int64_t cap, int *entries_out, int64_t *evicted_out)
{
  DIR *dir = opendir (directory);
  if (!dir)
    return -1;
  scanned_entry *list = NULL;
  size_t n = 0, capacity = 0;
  int64_t total = 0;
  const time_t now = time (NULL);
  struct dirent *de;
  while ((de = readdir (dir)))
    {
      const bool is_temp = !strncmp (de->d_name, TEMP_PREFIX, strlen (TEMP_PREFIX));
      if (!is_temp && !has_suffix (de->d_name, ENTRY_SUFFIX))
        continue; /* not ours: leave it alone */
      struct stat st;
      if (fstatat (dirfd (dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG (st.st_mode))
        continue;
      if (is_temp)
        {
          if (cap == 0 || now - st.st_mtime > STALE_TEMP_SECONDS)
            unlinkat (dirfd (dir), de->d_name, 0);
          continue;
        }
      if (n == capacity)
        {
          capacity = capacity ? 2 * capacity : 64;
          scanned_entry *grown = realloc (list, capacity * sizeof *list);
          if (!grown)
            break;
          list = grown;
        }
      list[n].name = strdup (de->d_name);
      if (!list[n].name)
        break;
      list[n].bytes = (int64_t) st.st_size;
      list[n].mtime = st.st_mtim;
      total += list[n].bytes;
      n++;
    }

  int64_t evicted = 0;
  if (cap >= 0 && total > cap)
    {
      const int64_t target = cap * EVICT_TO_NUM / EVICT_TO_DEN;
      qsort (list, n, sizeof *list, by_mtime);
      for (size_t i = 0; i < n && total > target; i++)
        if (unlinkat (dirfd (dir), list[i].name, 0) == 0)
          {
            total -= list[i].bytes;
            list[i].bytes = -1;
            evicted++;
          }
    }
  int entries = 0;
  for (size_t i = 0; i < n; i++)
    {
      entries += list[i].bytes >= 0;
      free (list[i].name);
    }
  free (list);
  closedir (dir);
  if (entries_out)
    *entries_out = entries;
  if (evicted_out)
    *evicted_out = evicted;
  return total;
}

siglip_label_cache *
siglip_label_cache_open (const char *directory, int64_t max_bytes, siglip_error **error)
{
  char *dir = directory ? strdup (directory) : siglip_label_cache_default_directory ();
  if (!dir)
    {
      siglip_set_error (error, directory ? SIGLIP_ERR_NO_MEMORY : SIGLIP_ERR_MISSING,
                        directory ? "out of memory"
                                  : "label cache: neither XDG_CACHE_HOME nor HOME is set");
      return NULL;
    }
  if (!siglip_make_dirs (dir))
    {
      siglip_set_error (error, SIGLIP_ERR_IO, "label cache %s: cannot create the directory: %s",
                        dir, strerror (errno));
      free (dir);
      return NULL;
    }
  siglip_label_cache *cache = calloc (1, sizeof *cache);
  if (!cache)
    {
      free (dir);
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
  cache->directory = dir;
  cache->max_bytes = max_bytes > 0 ? max_bytes : SIGLIP_LABEL_CACHE_DEFAULT_MAX_BYTES;
  pthread_mutex_init (&cache->lock, NULL);
  int64_t evicted = 0;
  cache->bytes = scan (dir, cache->max_bytes, &cache->stats.entries, &evicted);
  if (cache->bytes < 0)
    {
      siglip_set_error (error, SIGLIP_ERR_IO, "label cache %s: cannot read the directory: %s",
                        dir, strerror (errno));
      siglip_label_cache_free (cache);
      return NULL;
    }
  cache->stats.evictions = (uint64_t) evicted;
  return cache;
}

void
siglip_label_cache_free (siglip_label_cache *cache)
{
  if (!cache)
    return;
  pthread_mutex_destroy (&cache->lock);
  free (cache->directory);
  free (cache);
}

const char *
siglip_label_cache_get_directory (const siglip_label_cache *cache)
{
  return cache->directory;
}

void
siglip_label_cache_get_stats (siglip_label_cache *cache, siglip_label_cache_stats *stats)
{
  pthread_mutex_lock (&cache->lock);
  *stats = cache->stats;
  stats->bytes = cache->bytes;
  pthread_mutex_unlock (&cache->lock);
}

bool
siglip_label_cache_clear (const char *directory, siglip_error **error)
{
  char *dir = directory ? strdup (directory) : siglip_label_cache_default_directory ();
  if (!dir)
    return siglip_set_error (error, SIGLIP_ERR_MISSING,
                             "label cache: neither XDG_CACHE_HOME nor HOME is set");
  int64_t left = scan (dir, 0, NULL, NULL);
  bool ok = true;
  if (left < 0 && errno != ENOENT) /* never created: nothing to clear */
    ok = siglip_set_error (error, SIGLIP_ERR_IO, "label cache %s: cannot read the directory: %s",
                           dir, strerror (errno));
  else if (left > 0)
    ok = siglip_set_error (error, SIGLIP_ERR_IO, "label cache %s: some entries could not be "
                           "removed", dir);
  free (dir);
  return ok;
}

/* ---------------------------------------------------------------------------------------------
 * Entries
 */

/* identity \n precision \n lowercase flag \n text — everything the embedding depends on. */
static char *
entry_key (const char *identity, siglip_precision precision, bool no_lowercase, const char *text)
{
  const char *prec = precision == SIGLIP_PRECISION_BF16 ? "bf16" : "fp32";
  const size_t n = strlen (identity) + strlen (prec) + strlen (text) + 8;
  char *key = malloc (n);
  if (key)
    snprintf (key, n, "%s\n%s\n%c\n%s", identity, prec, no_lowercase ? 'K' : 'L', text);
  return key;
}

static char *
entry_path (const siglip_label_cache *cache, const char *key)
{
  digest d;
  digest_init (&d);
  digest_string (&d, key);
  char name[32];
  snprintf (name, sizeof name, "%016llx" ENTRY_SUFFIX, (unsigned long long) digest_final (&d));
  return join (cache->directory, name);
}

static size_t
entry_size (size_t key_len, int dim)
{
  return 8 + 2 * sizeof (uint32_t) + key_len + (size_t) dim * sizeof (float) + sizeof (uint64_t);
}

typedef enum { ENTRY_HIT, ENTRY_ABSENT, ENTRY_OTHER_KEY, ENTRY_BAD } entry_result;

/* Reads and checks the entry at `path` into `out`. */
static entry_result
read_entry (const char *path, const char *key, int dim, float *out)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ENTRY_ABSENT;
  const size_t key_len = strlen (key);
  const size_t want = entry_size (key_len, dim);
  struct stat st;
  entry_result result = ENTRY_BAD;
  unsigned char *buf = NULL;
  if (fstat (fd, &st) != 0 || st.st_size < (off_t) (8 + 2 * sizeof (uint32_t)))
    goto out;
  if ((size_t) st.st_size != want)
    {
      /* Another key of another size under the same name is a collision, not damage: only a
       * well-formed header saying so counts as that. */
      unsigned char head[8 + 2 * sizeof (uint32_t)];
      uint32_t klen, edim;
      if (pread (fd, head, sizeof head, 0) == (ssize_t) sizeof head
          && !memcmp (head, ENTRY_MAGIC, 8))
        {
          memcpy (&klen, head + 8, 4);
          memcpy (&edim, head + 12, 4);
          if (klen <= MAX_KEY_BYTES && edim <= MAX_DIM
              && (size_t) st.st_size == entry_size (klen, (int) edim)
              && (klen != key_len || (int) edim != dim))
            result = ENTRY_OTHER_KEY;
        }
      goto out;
    }
  if (!(buf = malloc (want)) || read (fd, buf, want) != (ssize_t) want)
    goto out;
  uint64_t stored;
  memcpy (&stored, buf + want - sizeof stored, sizeof stored);
  digest d;
  digest_init (&d);
  digest_update (&d, buf, want - sizeof stored);
  uint32_t klen, edim;
  memcpy (&klen, buf + 8, 4);
  memcpy (&edim, buf + 12, 4);
  if (memcmp (buf, ENTRY_MAGIC, 8) || digest_final (&d) != stored || klen != key_len
      || (int) edim != dim)
    goto out;
  if (memcmp (buf + 16, key, key_len))
    {
      result = ENTRY_OTHER_KEY;
      goto out;
    }
  memcpy (out, buf + 16 + key_len, (size_t) dim * sizeof (float));
  futimens (fd, NULL); /* recently used: the last to be evicted */
  result = ENTRY_HIT;
out:
  free (buf);
  close (fd);
  return result;
}

static bool
write_all (int fd, const void *data, size_t len)
{
  const unsigned char *p = data;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      p += n;
      len -= (size_t) n;
    }
  return true;
}

/* Writes the entry beside `path` and renames it over; false if anything failed (the cache is
 * best effort: the caller already has the embedding). */
static bool
write_entry (siglip_label_cache *cache, const char *path, const char *key, const float *embedding,
             int dim)
{
  const size_t key_len = strlen (key), size = entry_size (key_len, dim);
  unsigned char *buf = malloc (size);
  if (!buf)
    return false;
  const uint32_t klen = (uint32_t) key_len, edim = (uint32_t) dim;
  memcpy (buf, ENTRY_MAGIC, 8);
  memcpy (buf + 8, &klen, 4);
  memcpy (buf + 12, &edim, 4);
  memcpy (buf + 16, key, key_len);
  memcpy (buf + 16 + key_len, embedding, (size_t) dim * sizeof (float));
  digest d;
  digest_init (&d);
  digest_update (&d, buf, size - sizeof (uint64_t));
  const uint64_t sum = digest_final (&d);
  memcpy (buf + size - sizeof sum, &sum, sizeof sum);

  pthread_mutex_lock (&cache->lock);
  const unsigned serial = cache->temp_serial++;
  pthread_mutex_unlock (&cache->lock);
  char name[64];
  snprintf (name, sizeof name, TEMP_PREFIX "%ld-%u", (long) getpid (), serial);
  char *temp = join (cache->directory, name);
  int fd = temp ? open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  bool ok = fd >= 0 && write_all (fd, buf, size);
  if (fd >= 0)
    ok = close (fd) == 0 && ok;
  ok = ok && rename (temp, path) == 0;
  if (!ok && temp)
    unlink (temp);
  free (temp);
  free (buf);
  return ok;
}

bool
siglip_label_cache_lookup (siglip_label_cache *cache, const char *identity,
                           siglip_precision precision, bool no_lowercase, const char *text,
                           float *embedding, int dim)
{
  char *key = entry_key (identity, precision, no_lowercase, text);
  char *path = key ? entry_path (cache, key) : NULL;
  entry_result r = path ? read_entry (path, key, dim, embedding) : ENTRY_ABSENT;
  if (r == ENTRY_BAD)
    {
      struct stat st;
      const int64_t bytes = stat (path, &st) == 0 ? (int64_t) st.st_size : 0;
      if (unlink (path) == 0)
        {
          pthread_mutex_lock (&cache->lock);
          cache->bytes -= bytes;
          cache->stats.entries--;
          pthread_mutex_unlock (&cache->lock);
        }
    }
  pthread_mutex_lock (&cache->lock);
  if (r == ENTRY_HIT)
    cache->stats.hits++;
  else
    cache->stats.misses++;
  if (r == ENTRY_BAD)
    cache->stats.dropped++;
  pthread_mutex_unlock (&cache->lock);
  free (path);
  free (key);
  return r == ENTRY_HIT;
}

void
siglip_label_cache_store (siglip_label_cache *cache, const char *identity,
                          siglip_precision precision, bool no_lowercase, const char *text,
                          const float *embedding, int dim)
{
  char *key = entry_key (identity, precision, no_lowercase, text);
  if (!key || strlen (key) > MAX_KEY_BYTES || dim <= 0 || dim > MAX_DIM)
    {
      free (key);
      return;
    }
  char *path = entry_path (cache, key);
  struct stat st;
  const int64_t replaced = path && stat (path, &st) == 0 ? (int64_t) st.st_size : -1;
  if (path && write_entry (cache, path, key, embedding, dim))
    {
      pthread_mutex_lock (&cache->lock);
      cache->bytes += (int64_t) entry_size (strlen (key), dim) - (replaced > 0 ? replaced : 0);
      cache->stats.entries += replaced < 0;
      cache->stats.stores++;
      if (cache->bytes > cache->max_bytes)
        {
          int64_t evicted = 0;
          const int64_t left = scan (cache->directory, cache->max_bytes, &cache->stats.entries,
                                     &evicted);
          if (left >= 0)
            cache->bytes = left;
          cache->stats.evictions += (uint64_t) evicted;
        }
      pthread_mutex_unlock (&cache->lock);
    }
  free (path);
  free (key);
}
