/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * safetensors.c — memory-mapped safetensors files, read as hostile input.
 *
 * Format (huggingface/safetensors, FACTS.md §11): an 8-byte little-endian u64 header length N,
 * N bytes of UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
 * "__metadata__": {...}}, then the raw little-endian data; offsets are relative to the end of
 * the header. Sharded checkpoints list their files in model.safetensors.index.json
 * {"weight_map": {name: file}}.
 *
 * Every number in a header is checked before it is used: shapes against overflow, offsets
 * against the data section and against each other, so nothing later can read out of bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bf16.h"
#include "internal.h"
#include "util.h"

#define SINGLE_FILE "model.safetensors"
#define INDEX_FILE  "model.safetensors.index.json"

/* Caps stated so that a hostile header cannot cost gigabytes: cJSON spends ~15x a header's size
 * on its tree. SO400M's header is 100 KB with ~900 tensors; the reference allows 100 MB
 * (safetensors' MAX_HEADER_SIZE), which no SigLIP checkpoint comes near. */
#define MAX_HEADER_BYTES (16u << 20)
#define MAX_TENSORS_PER_FILE 65536
#define MAX_DIMS 8
/* Largest integer a JSON double carries exactly. */
#define MAX_JSON_INT 9007199254740992.0

typedef struct {
  char *name;          /* relative to the model directory */
  siglip_mapping mapping; /* the whole file */
  int fd;              /* the file mapped, kept open for siglip_tensor_file_offset */
  const uint8_t *data; /* start of the data section */
  size_t data_size;
} mapped_file;

struct siglip_weights {
  mapped_file *files;
  int n_files;
  siglip_tensor *tensors; /* sorted by name */
  int n_tensors;
  int64_t total_bytes;
};

/* ------------------------------------------------------------------------------------------ */
/* dtypes */

static const struct {
  const char *name;
  siglip_dtype dtype;
  size_t size;
} dtypes[] = {
  /* every dtype of the safetensors specification */
  { "F32", SIGLIP_DTYPE_F32, 4 },    { "F16", SIGLIP_DTYPE_F16, 2 },
  { "BF16", SIGLIP_DTYPE_BF16, 2 },  { "F64", SIGLIP_DTYPE_OTHER, 8 },
  { "I64", SIGLIP_DTYPE_OTHER, 8 },  { "U64", SIGLIP_DTYPE_OTHER, 8 },
  { "I32", SIGLIP_DTYPE_OTHER, 4 },  { "U32", SIGLIP_DTYPE_OTHER, 4 },
  { "I16", SIGLIP_DTYPE_OTHER, 2 },  { "U16", SIGLIP_DTYPE_OTHER, 2 },
  { "I8", SIGLIP_DTYPE_OTHER, 1 },   { "U8", SIGLIP_DTYPE_OTHER, 1 },
  { "BOOL", SIGLIP_DTYPE_OTHER, 1 }, { "F8_E4M3", SIGLIP_DTYPE_OTHER, 1 },
  { "F8_E5M2", SIGLIP_DTYPE_OTHER, 1 },
};

float
siglip_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;

  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13); /* inf, or nan keeping its payload */
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (mant << 13); /* rebias 15 -> 127 */
  else if (mant == 0)
    bits = sign; /* signed zero */
  else
    {
      /* subnormal: mant * 2^-24, renormalised so the leading 1 becomes implicit */
      int e = 113;
      while (!(mant & 0x400))
        {
          mant <<= 1;
          e--;
        }
      bits = sign | ((uint32_t) e << 23) | ((mant & 0x3ff) << 13);
    }
  float f;
  memcpy (&f, &bits, sizeof f);
  return f;
}

static uint16_t
read_u16le (const uint8_t *p)
{
  return (uint16_t) (p[0] | (p[1] << 8));
}

const float *
siglip_tensor_as_f32 (const siglip_weights *weights, const siglip_tensor *t, float **owned,
                      siglip_error **error)
{
  *owned = NULL;
  const char *file = siglip_weights_file_name (weights, t->file_index);
  if (t->dtype == SIGLIP_DTYPE_OTHER)
    {
      siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                        "%s: tensor %s: dtype %s is not supported (expected F32, F16 or BF16)",
                        file, t->name, t->dtype_name);
      return NULL;
    }
  if (t->dtype == SIGLIP_DTYPE_F32 && ((uintptr_t) t->data % _Alignof (float)) == 0)
    return t->data;

  float *out = malloc (t->numel > 0 ? (size_t) t->numel * sizeof (float) : 1);
  if (!out)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: tensor %s: out of memory converting "
                        "%lld values to F32", file, t->name, (long long) t->numel);
      return NULL;
    }
  const uint8_t *src = t->data;
  switch (t->dtype)
    {
    case SIGLIP_DTYPE_F32: /* unaligned: memcpy is the portable unaligned load */
      memcpy (out, src, (size_t) t->numel * sizeof (float));
      break;
    case SIGLIP_DTYPE_F16:
      for (int64_t i = 0; i < t->numel; i++)
        out[i] = siglip_f16_to_f32 (read_u16le (src + 2 * i));
      break;
    case SIGLIP_DTYPE_BF16:
      for (int64_t i = 0; i < t->numel; i++)
        out[i] = siglip_bf16_to_f32 (read_u16le (src + 2 * i));
      break;
    case SIGLIP_DTYPE_OTHER:
      break;
    }
  *owned = out;
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* header parsing */

/* A non-negative integral JSON number that a double holds exactly. */
static bool
json_to_u64 (const cJSON *item, uint64_t *out)
{
  if (!cJSON_IsNumber (item))
    return false;
  double v = item->valuedouble;
  if (!(v >= 0.0) || v > MAX_JSON_INT || v != floor (v))
    return false;
  *out = (uint64_t) v;
  return true;
}

void
siglip_format_shape (char *buf, size_t len, const int64_t *shape, int ndim)
{
  size_t pos = (size_t) snprintf (buf, len, "[");
  for (int i = 0; i < ndim && pos < len; i++)
    pos += (size_t) snprintf (buf + pos, len - pos, "%s%lld", i ? "," : "", (long long) shape[i]);
  if (pos < len)
    snprintf (buf + pos, len - pos, "]");
}

static bool
parse_shape (const cJSON *shape, const char *file, const char *name, siglip_tensor *t,
             siglip_error **error)
{
  if (!cJSON_IsArray (shape))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: tensor %s: \"shape\" is missing or not an array", file, name);
  int ndim = cJSON_GetArraySize (shape);
  if (ndim > MAX_DIMS)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: tensor %s: %d dimensions, at most %d are supported", file, name,
                             ndim, MAX_DIMS);
  t->ndim = ndim;
  /* numel of a 0-d tensor is 1, as in numpy/torch */
  uint64_t numel = 1;
  bool overflow = false;
  int i = 0;
  const cJSON *dim;
  cJSON_ArrayForEach (dim, shape)
    {
      uint64_t d;
      if (!json_to_u64 (dim, &d))
        {
          char *text = cJSON_PrintUnformatted (dim);
          siglip_set_error (error, SIGLIP_ERR_FORMAT,
                            "%s: tensor %s: dimension %d is %s, not a non-negative integer "
                            "below 2^53", file,
                            name, i, text ? text : "?");
          free (text);
          return false;
        }
      t->shape[i++] = (int64_t) d;
      overflow |= __builtin_mul_overflow (numel, d, &numel) || numel > (uint64_t) INT64_MAX;
    }
  if (overflow)
    {
      char buf[256];
      siglip_format_shape (buf, sizeof buf, t->shape, ndim);
      return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                               "%s: tensor %s: shape %s overflows a 64-bit element count", file,
                               name, buf);
    }
  t->numel = (int64_t) numel;
  return true;
}

static bool
parse_dtype (const cJSON *dtype, const char *file, const char *name, siglip_tensor *t,
             size_t *elem_size, siglip_error **error)
{
  if (!cJSON_IsString (dtype))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: tensor %s: \"dtype\" is missing or not a string", file, name);
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (!strcmp (dtype->valuestring, dtypes[i].name))
      {
        t->dtype = dtypes[i].dtype;
        snprintf (t->dtype_name, sizeof t->dtype_name, "%s", dtypes[i].name);
        *elem_size = dtypes[i].size;
        return true;
      }
  return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: tensor %s: unknown dtype \"%.32s\"",
                           file, name, dtype->valuestring);
}

/* Checks [begin, end) against the data section and against numel * element size. */
static bool
parse_offsets (const cJSON *offsets, const mapped_file *f, const char *name, size_t elem_size,
               siglip_tensor *t, siglip_error **error)
{
  uint64_t begin, end;
  if (!cJSON_IsArray (offsets) || cJSON_GetArraySize (offsets) != 2
      || !json_to_u64 (cJSON_GetArrayItem (offsets, 0), &begin)
      || !json_to_u64 (cJSON_GetArrayItem (offsets, 1), &end))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: tensor %s: \"data_offsets\" must be two non-negative integers "
                             "[begin, end]", f->name, name);
  if (begin > end)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: tensor %s: data_offsets [%llu,%llu] end before they begin",
                             f->name, name, (unsigned long long) begin, (unsigned long long) end);
  if (end > f->data_size)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: tensor %s: data_offsets [%llu,%llu] out of bounds: the data "
                             "section has %zu bytes (file truncated?)", f->name, name,
                             (unsigned long long) begin, (unsigned long long) end, f->data_size);
  uint64_t expected;
  if (__builtin_mul_overflow ((uint64_t) t->numel, (uint64_t) elem_size, &expected)
      || expected != end - begin)
    {
      char buf[256];
      siglip_format_shape (buf, sizeof buf, t->shape, t->ndim);
      return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                               "%s: tensor %s: %llu bytes at data_offsets [%llu,%llu] but "
                               "%s shape %s needs %lld x %zu bytes", f->name, name,
                               (unsigned long long) (end - begin), (unsigned long long) begin,
                               (unsigned long long) end, t->dtype_name, buf,
                               (long long) t->numel, elem_size);
    }
  t->data = f->data + begin;
  t->nbytes = (size_t) (end - begin);
  return true;
}

static int
compare_by_offset (const void *a, const void *b)
{
  const siglip_tensor *x = a, *y = b;
  const uint8_t *px = x->data, *py = y->data;
  return px < py ? -1 : px > py;
}

/* Two tensors sharing bytes would let a writer alias weights; the format forbids it. */
static bool
check_overlaps (siglip_tensor *tensors, int n, const mapped_file *f, siglip_error **error)
{
  qsort (tensors, (size_t) n, sizeof *tensors, compare_by_offset);
  for (int i = 1; i < n; i++)
    {
      const siglip_tensor *prev = &tensors[i - 1], *cur = &tensors[i];
      const uint8_t *prev_end = (const uint8_t *) prev->data + prev->nbytes;
      if ((const uint8_t *) cur->data < prev_end && cur->nbytes > 0 && prev->nbytes > 0)
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: tensors %s and %s overlap (data_offsets [%zu,%zu] and "
                                 "[%zu,%zu])", f->name, prev->name, cur->name,
                                 (size_t) ((const uint8_t *) prev->data - f->data),
                                 (size_t) (prev_end - f->data),
                                 (size_t) ((const uint8_t *) cur->data - f->data),
                                 (size_t) ((const uint8_t *) cur->data - f->data) + cur->nbytes);
    }
  return true;
}

/* Appends the tensors of one parsed header to weights->tensors. */
static bool
parse_header (siglip_weights *w, int file_index, const cJSON *header, siglip_error **error)
{
  const mapped_file *f = &w->files[file_index];
  if (!cJSON_IsObject (header))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: the header is not a JSON object",
                             f->name);
  int n = 0;
  const cJSON *item;
  cJSON_ArrayForEach (item, header)
    n++;

  siglip_tensor *grown = realloc (w->tensors, ((size_t) w->n_tensors + (size_t) n + 1)
                                                * sizeof *grown);
  if (!grown)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory for %d tensors",
                             f->name, n);
  w->tensors = grown;
  siglip_tensor *first = &w->tensors[w->n_tensors];
  int added = 0;

  cJSON_ArrayForEach (item, header)
    {
      const char *name = item->string;
      if (!strcmp (name, "__metadata__"))
        continue; /* free-form string map; nothing here depends on it */
      if (!*name)
        return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: a tensor has an empty name",
                                 f->name);
      if (!cJSON_IsObject (item))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "%s: tensor %s: entry is not a JSON object", f->name, name);
      siglip_tensor t = { .file_index = file_index };
      size_t elem_size = 0;
      if (!parse_dtype (cJSON_GetObjectItemCaseSensitive (item, "dtype"), f->name, name, &t,
                        &elem_size, error)
          || !parse_shape (cJSON_GetObjectItemCaseSensitive (item, "shape"), f->name, name, &t,
                           error)
          || !parse_offsets (cJSON_GetObjectItemCaseSensitive (item, "data_offsets"), f, name,
                             elem_size, &t, error))
        return false;
      t.name = strdup (name);
      if (!t.name)
        return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", f->name);
      first[added++] = t;
      w->n_tensors++; /* owned by w from here on, even if a later check fails */
    }
  return check_overlaps (first, added, f, error);
}

/* ------------------------------------------------------------------------------------------ */
/* files */

/* Maps `name` in `directory` read-only and checks the 8-byte header length against the size. */
static bool
map_file (const char *directory, const char *name, mapped_file *f, siglip_error **error)
{
  char *path = siglip_path_join (directory, name);
  f->name = strdup (name);
  if (!path || !f->name)
    {
      free (path);
      return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", name);
    }
  siglip_mapping mapping;
  const char *step = NULL;
  const int err = siglip_map_readonly (path, false, &mapping, &f->fd, &step);
  bool ok = false;
  if (err)
    siglip_file_error (error, path, err, step);
  else if (mapping.size < 8)
    siglip_set_error (error, SIGLIP_ERR_FORMAT,
                      "%s: truncated: %zu bytes, shorter than the 8-byte header length", name,
                      mapping.size);
  else
    {
      f->mapping = mapping;
      ok = true;
    }
  if (!ok)
    siglip_unmap (&mapping);
  free (path);
  return ok;
}

static bool
open_file (siglip_weights *w, const char *directory, const char *name, siglip_error **error)
{
  int index = w->n_files;
  mapped_file *grown = realloc (w->files, ((size_t) index + 1) * sizeof *grown);
  if (!grown)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", name);
  w->files = grown;
  mapped_file *f = &w->files[index];
  memset (f, 0, sizeof *f);
  f->fd = -1;
  w->n_files++; /* from here on siglip_weights_close cleans it up */

  if (!map_file (directory, name, f, error))
    return false;
  w->total_bytes += (int64_t) f->mapping.size;

  const uint8_t *p = f->mapping.data;
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | p[i];
  if (header_len > f->mapping.size - 8)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: header length %llu larger than the file (%zu bytes)", name,
                             (unsigned long long) header_len, f->mapping.size);
  if (header_len > MAX_HEADER_BYTES)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: header length %llu exceeds the %u MB a header may have", name,
                             (unsigned long long) header_len, MAX_HEADER_BYTES >> 20);
  /* every tensor entry is an object: counting '{' bounds the tensors before cJSON builds a tree */
  size_t n_objects = 0;
  for (size_t i = 0; i < header_len; i++)
    n_objects += p[8 + i] == '{';
  if (n_objects > MAX_TENSORS_PER_FILE + 1)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "%s: the header lists more than the %d tensors a file may have",
                             name, MAX_TENSORS_PER_FILE);
  f->data = p + 8 + header_len;
  f->data_size = f->mapping.size - 8 - (size_t) header_len;

  const char *end = NULL;
  cJSON *header = cJSON_ParseWithLengthOpts ((const char *) p + 8, (size_t) header_len, &end,
                                             false);
  if (!header)
    {
      size_t at = end ? (size_t) (end - (const char *) p - 8) : 0;
      return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                               "%s: header is not valid JSON (near byte %zu of %llu)", name, at,
                               (unsigned long long) header_len);
    }
  bool ok = parse_header (w, index, header, error);
  cJSON_Delete (header);
  return ok;
}

static int
compare_by_name (const void *a, const void *b)
{
  const siglip_tensor *x = a, *y = b;
  return strcmp (x->name, y->name);
}

static bool
sort_and_check_duplicates (siglip_weights *w, siglip_error **error)
{
  qsort (w->tensors, (size_t) w->n_tensors, sizeof *w->tensors, compare_by_name);
  for (int i = 1; i < w->n_tensors; i++)
    if (!strcmp (w->tensors[i - 1].name, w->tensors[i].name))
      {
        const char *a = w->files[w->tensors[i - 1].file_index].name;
        const char *b = w->files[w->tensors[i].file_index].name;
        if (w->tensors[i - 1].file_index == w->tensors[i].file_index)
          return siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: tensor %s appears twice", a,
                                   w->tensors[i].name);
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 "tensor %s appears in two shards: %s and %s",
                                 w->tensors[i].name, a, b);
      }
  return true;
}

/* Shard names come from a downloaded file: a plain file name only, never a path. */
static bool
valid_shard_name (const char *name)
{
  return *name && !strchr (name, '/') && !strchr (name, '\\') && strcmp (name, ".")
         && strcmp (name, "..");
}

static int
file_index_of (const siglip_weights *w, const char *name)
{
  for (int i = 0; i < w->n_files; i++)
    if (!strcmp (w->files[i].name, name))
      return i;
  return -1;
}

char *
siglip_read_text_file (const char *path, size_t max_bytes, siglip_error **error)
{
  struct stat st;
  int fd = siglip_open_regular (path, &st, error);
  if (fd < 0)
    return NULL;
  char *buf = NULL;
  if ((uint64_t) st.st_size > max_bytes)
    siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: %lld bytes, more than the %zu a file "
                      "of this kind may have", path, (long long) st.st_size, max_bytes);
  else if (!(buf = malloc ((size_t) st.st_size + 1)))
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", path);
  else
    {
      size_t len = 0;
      while (len < (size_t) st.st_size)
        {
          ssize_t got = read (fd, buf + len, (size_t) st.st_size - len);
          if (got < 0 && errno == EINTR)
            continue;
          if (got <= 0)
            break;
          len += (size_t) got;
        }
      if (len != (size_t) st.st_size)
        {
          siglip_set_error (error, SIGLIP_ERR_IO, "%s: short read (%zu of %lld bytes)", path,
                            len, (long long) st.st_size);
          free (buf);
          buf = NULL;
        }
      else
        buf[len] = '\0';
    }
  close (fd);
  return buf;
}

/* Opens every shard the index names (each once, in order of first mention), then checks that
 * each tensor the index lists lives in the shard it names. */
static bool
open_sharded (siglip_weights *w, const char *directory, siglip_error **error)
{
  char *path = siglip_path_join (directory, INDEX_FILE);
  if (!path)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, INDEX_FILE ": out of memory");
  char *text = siglip_read_text_file (path, 256u << 20, error);
  free (path);
  if (!text)
    return false;
  cJSON *index = cJSON_Parse (text);
  free (text);
  if (!index)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, INDEX_FILE ": not valid JSON");

  bool ok = true;
  const cJSON *map = cJSON_GetObjectItemCaseSensitive (index, "weight_map");
  const cJSON *entry;
  if (!cJSON_IsObject (map) || !map->child)
    ok = siglip_set_error (error, SIGLIP_ERR_FORMAT,
                           INDEX_FILE ": \"weight_map\" is missing, empty or not an object");
  for (entry = ok ? map->child : NULL; entry && ok; entry = entry->next)
    {
      if (!cJSON_IsString (entry) || !valid_shard_name (entry->valuestring))
        ok = siglip_set_error (error, SIGLIP_ERR_FORMAT,
                               INDEX_FILE ": tensor %s: shard must be a file name in the model "
                               "directory", entry->string);
      else if (file_index_of (w, entry->valuestring) < 0)
        {
          ok = open_file (w, directory, entry->valuestring, error);
          if (!ok && *error && (*error)->status == SIGLIP_ERR_MISSING)
            siglip_prefix_error (error, INDEX_FILE ": shard %s (named for tensor %s) is missing",
                                 entry->valuestring, entry->string);
        }
    }
  ok = ok && sort_and_check_duplicates (w, error);
  for (entry = ok ? map->child : NULL; entry && ok; entry = entry->next)
    {
      const siglip_tensor *t = siglip_weights_find (w, entry->string);
      int want = file_index_of (w, entry->valuestring);
      if (!t || t->file_index != want)
        ok = siglip_set_error (error, SIGLIP_ERR_FORMAT,
                               INDEX_FILE " names tensor %s in shard %s, which does not "
                               "contain it", entry->string, entry->valuestring);
    }
  cJSON_Delete (index);
  return ok;
}

static bool
file_exists (const char *directory, const char *name)
{
  char *path = siglip_path_join (directory, name);
  /* lstat: a dangling link or a loop is there, and opening it says what is wrong with it */
  struct stat st;
  bool exists = path && lstat (path, &st) == 0;
  free (path);
  return exists;
}

siglip_weights *
siglip_weights_open (const char *directory, siglip_error **error)
{
  siglip_weights *w = calloc (1, sizeof *w);
  if (!w)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", directory);
      return NULL;
    }
  /* Like transformers: a single model.safetensors wins over an index. */
  bool ok;
  if (file_exists (directory, SINGLE_FILE))
    ok = open_file (w, directory, SINGLE_FILE, error) && sort_and_check_duplicates (w, error);
  else if (file_exists (directory, INDEX_FILE))
    ok = open_sharded (w, directory, error);
  else
    ok = siglip_set_error (error, SIGLIP_ERR_MISSING,
                           "%s: no weights: neither " SINGLE_FILE " nor " INDEX_FILE " exists",
                           directory);
  if (!ok)
    {
      siglip_weights_close (w);
      return NULL;
    }
  return w;
}

void
siglip_weights_close (siglip_weights *w)
{
  if (!w)
    return;
  for (int i = 0; i < w->n_tensors; i++)
    free (w->tensors[i].name);
  free (w->tensors);
  for (int i = 0; i < w->n_files; i++)
    {
      siglip_unmap (&w->files[i].mapping);
      if (w->files[i].fd >= 0)
        close (w->files[i].fd);
      free (w->files[i].name);
    }
  free (w->files);
  free (w);
}

const siglip_tensor *
siglip_weights_find (const siglip_weights *w, const char *name)
{
  siglip_tensor key = { .name = (char *) name };
  return bsearch (&key, w->tensors, (size_t) w->n_tensors, sizeof key, compare_by_name);
}

int
siglip_weights_n_files (const siglip_weights *w)
{
  return w->n_files;
}

int
siglip_weights_n_tensors (const siglip_weights *w)
{
  return w->n_tensors;
}

const siglip_tensor *
siglip_weights_tensor (const siglip_weights *w, int index)
{
  return index >= 0 && index < w->n_tensors ? &w->tensors[index] : NULL;
}

int
siglip_tensor_file_offset (const siglip_weights *w, const siglip_tensor *t, int64_t *offset)
{
  if (t->file_index < 0 || t->file_index >= w->n_files)
    return -1;
  const mapped_file *f = &w->files[t->file_index];
  *offset = (int64_t) ((const uint8_t *) t->data - (const uint8_t *) f->mapping.data);
  return f->fd;
}

const char *
siglip_weights_file_name (const siglip_weights *w, int file_index)
{
  return file_index >= 0 && file_index < w->n_files ? w->files[file_index].name : "?";
}

int64_t
siglip_weights_total_bytes (const siglip_weights *w)
{
  return w->total_bytes;
}
