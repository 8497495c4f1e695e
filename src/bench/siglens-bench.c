/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-bench — how fast the core is, measured against what this CPU can physically do.
 *
 *   siglens-bench [--synthetic so400m|base | --model DIR] [--precision fp32|bf16] [--threads N]
 *                 [--runs N] [--quick] [--json] [--file-dtype f32|bf16] [--cache DIR]
 *   siglens-bench --batch N ...   a folder's throughput, see bench-batch.c
 *
 * --synthetic writes a real Hugging Face model directory with random weights in the real shapes
 * (config.json, preprocessor_config.json, the Gemma tokenizer files of tests/data,
 * model.safetensors with the tensor names of FACTS.md §10) into
 * $XDG_CACHE_HOME/siglens/bench/<name>-<dtype>/ once, then loads it with siglip_model_load like
 * any model, so load time and memory are real. Every timing is the median of --runs runs after
 * one warm-up run, and is also shown as a ratio to the floor: the FLOPs of the work (counted
 * from the config) divided by the peak measured in the same process (the best of samples of
 * 0.3 s on pinned threads taken right before and after each run, printed with the worst
 * and with the theoretical figure at the measured clock). The forward passes are also shown
 * paired: each run against the samples right around it, so a neighbour that takes the machine
 * for a while shows as spread rather than as a slower kernel. The load is shown as a
 * ratio to its own limit, reading the weight files once from the page cache (median of 3, in
 * the same run), and the time to a first result is that of fresh processes: siglens-cli
 * classify with one image and three labels, and its steps timed apart in a child of the bench.
 * SIGLIP_ISA=avx2 in the environment benchmarks the AVX2 path (kernels and limits) on an
 * AVX-512 machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/wait.h>

#include <cblas.h>

#include "bench-batch.h"
#include "bench-stats.h"
#include "gemm.h"
#include "pool.h"
#include "siglens-decode.h"
#include "siglip.h"

#ifndef SIGLENS_SRC_DIR
#error "SIGLENS_SRC_DIR must point at the source tree (for tests/data/gemma-tokenizer)"
#endif
#ifndef SIGLENS_CLI
#error "SIGLENS_CLI must point at the siglens-cli the build made (for the first-result timing)"
#endif

/* ------------------------------------------------------------------------------------------ */
/* small helpers */

static void __attribute__ ((noreturn, format (printf, 1, 2)))
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("siglens-bench: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (1);
}

static void __attribute__ ((noreturn))
die_error (const char *what, siglip_error *error)
{
  die ("%s: %s", what, error ? error->message : "unknown error");
}

/* ------------------------------------------------------------------------------------------ */
/* the synthetic model */

typedef struct {
  const char *name;
  int hidden, intermediate, layers, heads;
  int vocab, positions, projection, patch, num_patches;
} synthetic_shape;

static const synthetic_shape synthetic_shapes[] = {
  /* google/siglip2-so400m-patch16-naflex (FACTS.md §9) */
  { "so400m", 1152, 4304, 27, 16, 256000, 64, 1152, 16, 256 },
  /* google/siglip2-base-patch16-naflex */
  { "base", 768, 3072, 12, 12, 256000, 64, 768, 16, 256 },
};

typedef enum { INIT_NORMALISH, INIT_ONES, INIT_SMALL } init_kind;

typedef struct {
  char name[128];
  int ndim;
  int64_t shape[3];
  init_kind init;
  float scale; /* uniform in [-scale, scale) */
} tensor_spec;

typedef struct {
  tensor_spec *v;
  int n, cap;
} spec_list;

static void __attribute__ ((format (printf, 6, 7)))
spec_add (spec_list *l, init_kind init, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 256;
    l->v = realloc (l->v, (size_t) l->cap * sizeof *l->v);
    if (!l->v)
      die ("out of memory");
  }
  tensor_spec *t = &l->v[l->n++];
  memset (t, 0, sizeof *t);
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (t->name, sizeof t->name, fmt, ap);
  va_end (ap);
  t->shape[0] = d0;
  t->shape[1] = d1;
  t->shape[2] = d2;
  t->ndim = d2 ? 3 : d1 ? 2 : 1;
  t->init = init;
  /* weights ~ U(-sqrt(3/fan_in), ..): unit-variance outputs for unit-variance inputs, so the
   * activations of a 27-layer stack stay in range and the timings see ordinary numbers */
  const int64_t fan_in = t->ndim >= 2 ? (d2 ? d1 * d2 : d1) : 1;
  t->scale = init == INIT_NORMALISH ? sqrtf (3.0f / (float) fan_in) : 0.02f;
}

/* The state dict of Siglip2Model, FACTS.md §10. */
static spec_list
synthetic_specs (const synthetic_shape *s)
{
  spec_list l = { 0 };
  const int D = s->hidden, inter = s->intermediate; /* not I: cblas.h pulls in complex.h */
  spec_add (&l, INIT_SMALL, 1, 0, 0, "logit_scale");
  spec_add (&l, INIT_SMALL, 1, 0, 0, "logit_bias");
  static const char *const towers[] = { "text_model", "vision_model" };
  for (int t = 0; t < 2; t++) {
    const char *tw = towers[t];
    if (t == 0) {
      /* read a row at a time, not multiplied: unit-scale rows, like a trained table */
      spec_add (&l, INIT_NORMALISH, s->vocab, D, 0, "text_model.embeddings.token_embedding.weight");
      l.v[l.n - 1].scale = 1.0f;
      spec_add (&l, INIT_SMALL, s->positions, D, 0, "text_model.embeddings.position_embedding.weight");
    } else {
      spec_add (&l, INIT_NORMALISH, D, 3 * s->patch * s->patch, 0,
                "vision_model.embeddings.patch_embedding.weight");
      spec_add (&l, INIT_SMALL, D, 0, 0, "vision_model.embeddings.patch_embedding.bias");
      spec_add (&l, INIT_SMALL, s->num_patches, D, 0, "vision_model.embeddings.position_embedding.weight");
    }
    for (int i = 0; i < s->layers; i++) {
      spec_add (&l, INIT_ONES, D, 0, 0, "%s.encoder.layers.%d.layer_norm1.weight", tw, i);
      spec_add (&l, INIT_SMALL, D, 0, 0, "%s.encoder.layers.%d.layer_norm1.bias", tw, i);
      static const char *const proj[] = { "q_proj", "k_proj", "v_proj", "out_proj" };
      for (int p = 0; p < 4; p++) {
        spec_add (&l, INIT_NORMALISH, D, D, 0, "%s.encoder.layers.%d.self_attn.%s.weight", tw, i, proj[p]);
        spec_add (&l, INIT_SMALL, D, 0, 0, "%s.encoder.layers.%d.self_attn.%s.bias", tw, i, proj[p]);
      }
      spec_add (&l, INIT_ONES, D, 0, 0, "%s.encoder.layers.%d.layer_norm2.weight", tw, i);
      spec_add (&l, INIT_SMALL, D, 0, 0, "%s.encoder.layers.%d.layer_norm2.bias", tw, i);
      spec_add (&l, INIT_NORMALISH, inter, D, 0, "%s.encoder.layers.%d.mlp.fc1.weight", tw, i);
      spec_add (&l, INIT_SMALL, inter, 0, 0, "%s.encoder.layers.%d.mlp.fc1.bias", tw, i);
      spec_add (&l, INIT_NORMALISH, D, inter, 0, "%s.encoder.layers.%d.mlp.fc2.weight", tw, i);
      spec_add (&l, INIT_SMALL, D, 0, 0, "%s.encoder.layers.%d.mlp.fc2.bias", tw, i);
    }
  }
  spec_add (&l, INIT_ONES, D, 0, 0, "text_model.final_layer_norm.weight");
  spec_add (&l, INIT_SMALL, D, 0, 0, "text_model.final_layer_norm.bias");
  spec_add (&l, INIT_NORMALISH, s->projection, D, 0, "text_model.head.weight");
  spec_add (&l, INIT_SMALL, s->projection, 0, 0, "text_model.head.bias");
  spec_add (&l, INIT_ONES, D, 0, 0, "vision_model.post_layernorm.weight");
  spec_add (&l, INIT_SMALL, D, 0, 0, "vision_model.post_layernorm.bias");
  spec_add (&l, INIT_NORMALISH, 1, 1, D, "vision_model.head.probe");
  l.v[l.n - 1].scale = 1.0f;
  spec_add (&l, INIT_NORMALISH, 3 * D, D, 0, "vision_model.head.attention.in_proj_weight");
  spec_add (&l, INIT_SMALL, 3 * D, 0, 0, "vision_model.head.attention.in_proj_bias");
  spec_add (&l, INIT_NORMALISH, D, D, 0, "vision_model.head.attention.out_proj.weight");
  spec_add (&l, INIT_SMALL, D, 0, 0, "vision_model.head.attention.out_proj.bias");
  spec_add (&l, INIT_ONES, D, 0, 0, "vision_model.head.layernorm.weight");
  spec_add (&l, INIT_SMALL, D, 0, 0, "vision_model.head.layernorm.bias");
  spec_add (&l, INIT_NORMALISH, inter, D, 0, "vision_model.head.mlp.fc1.weight");
  spec_add (&l, INIT_SMALL, inter, 0, 0, "vision_model.head.mlp.fc1.bias");
  spec_add (&l, INIT_NORMALISH, D, inter, 0, "vision_model.head.mlp.fc2.weight");
  spec_add (&l, INIT_SMALL, D, 0, 0, "vision_model.head.mlp.fc2.bias");
  return l;
}

static int64_t
spec_numel (const tensor_spec *t)
{
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++)
    n *= t->shape[d];
  return n;
}

/* xorshift64*: cheap and good enough to make weights that are not all alike */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline float
rng_unit (void) /* [-1, 1) */
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  const uint64_t r = rng * 0x2545f4914f6cdd1dull;
  return (float) (int32_t) (r >> 32) * (1.0f / 2147483648.0f);
}

static uint16_t
f32_to_bf16 (float f)
{
  union { float f; uint32_t u; } v = { f };
  return (uint16_t) ((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}

/* dir/name, or exit when it does not fit PATH_MAX-ish buffers */
static void
path_join (char *out, size_t size, const char *dir, const char *name)
{
  if ((size_t) snprintf (out, size, "%s/%s", dir, name) >= size)
    die ("path too long: %s/%s", dir, name);
}

static void
write_file_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  if (!f || fputs (text, f) < 0 || fclose (f) != 0)
    die ("%s: %s", path, strerror (errno));
}

static void
write_configs (const char *dir, const synthetic_shape *s, bool bf16)
{
  char path[4096], text[4096];
  path_join (path, sizeof path, dir, "config.json");
  snprintf (text, sizeof text,
            "{\n  \"architectures\": [\"Siglip2Model\"],\n  \"model_type\": \"siglip2\",\n"
            "  \"initializer_factor\": 1.0,\n  \"torch_dtype\": \"%s\",\n"
            "  \"text_config\": {\"model_type\": \"siglip2_text_model\", \"hidden_size\": %d, "
            "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
            "\"vocab_size\": %d, \"max_position_embeddings\": %d, \"projection_size\": %d, "
            "\"hidden_act\": \"gelu_pytorch_tanh\", \"layer_norm_eps\": 1e-06},\n"
            "  \"vision_config\": {\"model_type\": \"siglip2_vision_model\", \"hidden_size\": %d, "
            "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
            "\"num_channels\": 3, \"num_patches\": %d, \"patch_size\": %d, "
            "\"hidden_act\": \"gelu_pytorch_tanh\", \"layer_norm_eps\": 1e-06}\n}\n",
            bf16 ? "bfloat16" : "float32", s->hidden, s->intermediate, s->layers, s->heads,
            s->vocab, s->positions, s->projection, s->hidden, s->intermediate, s->layers,
            s->heads, s->num_patches, s->patch);
  write_file_text (path, text);

  path_join (path, sizeof path, dir, "preprocessor_config.json");
  snprintf (text, sizeof text,
            "{\n  \"image_processor_type\": \"Siglip2ImageProcessor\",\n"
            "  \"do_normalize\": true, \"do_rescale\": true, \"do_resize\": true,\n"
            "  \"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.5, 0.5, 0.5],\n"
            "  \"max_num_patches\": %d, \"patch_size\": %d, \"resample\": 2,\n"
            "  \"rescale_factor\": 0.00392156862745098\n}\n", s->num_patches, s->patch);
  write_file_text (path, text);

  static const char *const tok_files[] = { "tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json" };
  for (size_t i = 0; i < sizeof tok_files / sizeof tok_files[0]; i++) {
    char src[4096];
    path_join (src, sizeof src, SIGLENS_SRC_DIR "/tests/data/gemma-tokenizer", tok_files[i]);
    path_join (path, sizeof path, dir, tok_files[i]);
    unlink (path);
    if (symlink (src, path) != 0)
      die ("%s -> %s: %s", path, src, strerror (errno));
  }
}

/* model.safetensors: header (names, dtypes, shapes, offsets), padded with spaces to 8 bytes,
 * then the tensors back to back (FACTS.md §11). */
static void
write_safetensors (const char *dir, const spec_list *specs, bool bf16)
{
  const size_t esize = bf16 ? 2 : 4;
  size_t cap = 1 << 20, len = 0;
  char *header = malloc (cap);
  if (!header)
    die ("out of memory");
  len += (size_t) snprintf (header + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
  uint64_t offset = 0;
  for (int i = 0; i < specs->n; i++) {
    const tensor_spec *t = &specs->v[i];
    const uint64_t bytes = (uint64_t) spec_numel (t) * esize;
    char shape[96];
    if (t->ndim == 1)
      snprintf (shape, sizeof shape, "[%lld]", (long long) t->shape[0]);
    else if (t->ndim == 2)
      snprintf (shape, sizeof shape, "[%lld,%lld]", (long long) t->shape[0], (long long) t->shape[1]);
    else
      snprintf (shape, sizeof shape, "[%lld,%lld,%lld]", (long long) t->shape[0],
                (long long) t->shape[1], (long long) t->shape[2]);
    if (cap - len < 512)
      die ("safetensors header too large");
    len += (size_t) snprintf (header + len, cap - len,
                              ",\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,%llu]}",
                              t->name, bf16 ? "BF16" : "F32", shape,
                              (unsigned long long) offset, (unsigned long long) (offset + bytes));
    offset += bytes;
  }
  header[len++] = '}';
  while (len % 8)
    header[len++] = ' ';

  char path[4096];
  path_join (path, sizeof path, dir, "model.safetensors");
  FILE *f = fopen (path, "wb");
  if (!f)
    die ("%s: %s", path, strerror (errno));
  const uint64_t hlen = len;
  fwrite (&hlen, 8, 1, f);
  fwrite (header, 1, len, f);
  free (header);

  enum { CHUNK = 1 << 20 };
  void *buf = malloc ((size_t) CHUNK * 4);
  if (!buf)
    die ("out of memory");
  for (int i = 0; i < specs->n; i++) {
    const tensor_spec *t = &specs->v[i];
    int64_t left = spec_numel (t);
    while (left > 0) {
      const int n = left < CHUNK ? (int) left : CHUNK;
      for (int j = 0; j < n; j++) {
        float v = t->init == INIT_ONES ? 1.0f + 0.1f * rng_unit () : t->scale * rng_unit ();
        if (bf16)
          ((uint16_t *) buf)[j] = f32_to_bf16 (v);
        else
          ((float *) buf)[j] = v;
      }
      if (fwrite (buf, esize, (size_t) n, f) != (size_t) n)
        die ("%s: %s", path, strerror (errno));
      left -= n;
    }
  }
  free (buf);
  if (fclose (f) != 0)
    die ("%s: %s", path, strerror (errno));
}

static void
mkdir_p (const char *path)
{
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir (tmp, 0755);
      *p = '/';
    }
  if (mkdir (tmp, 0755) != 0 && errno != EEXIST)
    die ("%s: %s", path, strerror (errno));
}

/* Returns the directory, writing it unless a previous run completed it (the marker is written
 * last, so an interrupted run is redone). (transfer full) */
static char *
ensure_synthetic (const char *cache_root, const synthetic_shape *s, bool bf16, double *write_s)
{
  char dir[4096], marker[4200];
  if (cache_root)
    snprintf (dir, sizeof dir, "%s/%s-%s", cache_root, s->name, bf16 ? "bf16" : "f32");
  else if (getenv ("XDG_CACHE_HOME") && *getenv ("XDG_CACHE_HOME"))
    snprintf (dir, sizeof dir, "%s/siglens/bench/%s-%s", getenv ("XDG_CACHE_HOME"), s->name,
              bf16 ? "bf16" : "f32");
  else
    snprintf (dir, sizeof dir, "%s/.cache/siglens/bench/%s-%s", getenv ("HOME") ? getenv ("HOME") : "/tmp",
              s->name, bf16 ? "bf16" : "f32");
  path_join (marker, sizeof marker, dir, ".complete");
  *write_s = 0;
  if (access (marker, F_OK) == 0)
    return strdup (dir);

  fprintf (stderr, "siglens-bench: writing the synthetic %s model to %s ...\n", s->name, dir);
  const double t0 = bench_now_s ();
  mkdir_p (dir);
  spec_list specs = synthetic_specs (s);
  write_configs (dir, s, bf16);
  write_safetensors (dir, &specs, bf16);
  free (specs.v);
  write_file_text (marker, "");
  *write_s = bench_now_s () - t0;
  return strdup (dir);
}

/* ------------------------------------------------------------------------------------------ */
/* the limits: hand-written multiply-add loops, one per thread, runtime-selected ISA */

/* Why a sample lasts this long: a vCPU loses whole scheduler quanta to its host and its
 * neighbours, and a 40 ms loop (what this was) read half the peak on a shared machine. */
#define PEAK_SECONDS 0.3
#define PEAK_CHUNK 1000000L  /* iterations between reads of the time, ~4 ms */

#if defined(__x86_64__)
#include <immintrin.h>

/* 12 independent chains x 16 lanes x 2 flops per iteration step */
__attribute__ ((target ("avx512f"))) static double
peak_avx512 (long iters)
{
  __m512 a[12], m = _mm512_set1_ps (0.999999f), c = _mm512_set1_ps (1e-7f);
  for (int i = 0; i < 12; i++)
    a[i] = _mm512_set1_ps ((float) i);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
      a[i] = _mm512_fmadd_ps (a[i], m, c);
  /* not _mm512_reduce_add_ps: GCC 12 warns about its internal _mm512_undefined */
  float buf[16], s = 0;
  for (int i = 0; i < 12; i++) {
    _mm512_storeu_ps (buf, a[i]);
    for (int j = 0; j < 16; j++)
      s += buf[j];
  }
  return s;
}

__attribute__ ((target ("avx2,fma"))) static double
peak_avx2 (long iters)
{
  __m256 a[12], m = _mm256_set1_ps (0.999999f), c = _mm256_set1_ps (1e-7f);
  for (int i = 0; i < 12; i++)
    a[i] = _mm256_set1_ps ((float) i);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
      a[i] = _mm256_fmadd_ps (a[i], m, c);
  float buf[8], s = 0;
  for (int i = 0; i < 12; i++) {
    _mm256_storeu_ps (buf, a[i]);
    for (int j = 0; j < 8; j++)
      s += buf[j];
  }
  return s;
}

/* vdpbf16ps: 16 lanes x 2 products x 2 flops */
__attribute__ ((target ("avx512f,avx512bf16"))) static double
peak_bf16 (long iters)
{
  __m512 a[12];
  const __m512bh x = (__m512bh) _mm512_set1_epi32 (0x3f803f80), y = (__m512bh) _mm512_set1_epi32 (0x33d633d6);
  for (int i = 0; i < 12; i++)
    a[i] = _mm512_set1_ps ((float) i);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
      a[i] = _mm512_dpbf16_ps (a[i], x, y);
  /* not _mm512_reduce_add_ps: GCC 12 warns about its internal _mm512_undefined */
  float buf[16], s = 0;
  for (int i = 0; i < 12; i++) {
    _mm512_storeu_ps (buf, a[i]);
    for (int j = 0; j < 16; j++)
      s += buf[j];
  }
  return s;
}

/* The core clock: a chain of dependent register adds retires one add per cycle on every x86
 * core of the last decade, so adds per second is the clock the FMA loop runs at. The fastest of
 * many 1 ms windows: one that the host did not interrupt shows the clock itself, not the share
 * of it this vCPU got. */
static double
clock_ghz (void)
{
  unsigned long x = 0, one = 1;
  double best = 0;
  for (int w = 0; w < 20; w++) {
    unsigned long adds = 0;
    const double t0 = bench_now_s ();
    double t;
    do {
      for (int i = 0; i < 10; i++)
        __asm__ volatile (".rept 100\n\tadd %1, %0\n\t.endr" : "+r" (x) : "r" (one));
      adds += 10 * 100;
    } while ((t = bench_now_s ()) - t0 < 1e-3);
    const double ghz = (double) adds / (t - t0) / 1e9;
    best = ghz > best ? ghz : best;
  }
  return best;
}

typedef struct {
  double (*fn) (long);
  int cpu;                   /* pinned to it, or -1 */
  pthread_barrier_t *start;
  long iters;
  double t0, t1, ghz, sink;
} peak_job;

static void *
peak_thread (void *data)
{
  peak_job *job = data;
  if (job->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO (&set);
    CPU_SET (job->cpu, &set);
    pthread_setaffinity_np (pthread_self (), sizeof set, &set);
  }
  job->sink = job->fn (PEAK_CHUNK / 4); /* the clock ramps up and the wide units power on */
  pthread_barrier_wait (job->start);
  job->ghz = clock_ghz ();
  job->t0 = bench_now_s ();
  do {
    job->sink += job->fn (PEAK_CHUNK);
    job->iters += PEAK_CHUNK;
  } while ((job->t1 = bench_now_s ()) - job->t0 < PEAK_SECONDS);
  return NULL;
}

/* The CPUs this process may run on, in order: one pinned thread per CPU, as many as the
 * workload runs, all at once, so the limit is that of `threads` cores working together. */
static int
allowed_cpus (int *cpus, int max)
{
  cpu_set_t set;
  int n = 0;
  if (sched_getaffinity (0, sizeof set, &set) != 0)
    return 0;
  for (int c = 0; c < CPU_SETSIZE && n < max; c++)
    if (CPU_ISSET (c, &set))
      cpus[n++] = c;
  return n;
}

/* One sample: GFLOP/s of `fn` on `threads` pinned threads started together; *ghz the mean
 * clock of the threads right before it. */
static double
peak_sample (double (*fn) (long), double flops_per_iter, int threads, double *ghz)
{
  pthread_t tid[256];
  peak_job jobs[256];
  int cpus[256];
  const int n_cpus = allowed_cpus (cpus, 256);
  pthread_barrier_t start;
  threads = threads > 256 ? 256 : threads;
  pthread_barrier_init (&start, NULL, (unsigned) threads);
  for (int t = 0; t < threads; t++) {
    jobs[t] = (peak_job) { fn, n_cpus > 0 ? cpus[t % n_cpus] : -1, &start };
    pthread_create (&tid[t], NULL, peak_thread, &jobs[t]);
  }
  double t0 = 0, t1 = 0, flops = 0;
  *ghz = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join (tid[t], NULL);
    t0 = t == 0 || jobs[t].t0 < t0 ? jobs[t].t0 : t0;
    t1 = jobs[t].t1 > t1 ? jobs[t].t1 : t1;
    flops += flops_per_iter * jobs[t].iters;
    *ghz += jobs[t].ghz / threads;
  }
  pthread_barrier_destroy (&start);
  return flops / (t1 - t0) / 1e9;
}
#endif

/* Every sample of one limit so far: the limit is the best (what the cores can do when the
 * machine lets them), the worst shows how much the neighbours took meanwhile. */
typedef struct {
  double best, worst, ghz; /* ghz: the clock during the best sample */
  double last;             /* the latest sample, for the ratio paired with one run */
  int n;
} peak_stat;

static void
peak_stat_add (peak_stat *s, double gflops, double ghz)
{
  s->last = gflops;
  if (s->n == 0 || gflops > s->best) {
    s->best = gflops;
    s->ghz = ghz;
  }
  if (s->n == 0 || gflops < s->worst)
    s->worst = gflops;
  s->n++;
}

typedef struct {
  double fma;      /* the best fp32 FMA rate (AVX-512 else AVX2), GFLOP/s */
  const char *fma_isa;
  double avx2;
  double bf16;     /* 0 when the CPU has no AVX512-BF16 */
  peak_stat fma_stat;   /* the samples behind `fma` */
  double avx2_theory;   /* threads x 2 FMA pipes x 8 lanes x 2 flops x the measured clock */
} peaks;

static struct {
  peak_stat avx2, avx512, bf16;
  int threads;
} peak_samples;

/* Samples every limit of the ISA the core runs once more (SIGLIP_ISA=avx2 caps it, so the limit
 * is the one of its kernels); called right before and after each workload. */
static void
sample_peaks (int threads)
{
  peak_samples.threads = threads;
#if defined(__x86_64__)
  double ghz;
  if (siglip_isa_get () >= SIGLIP_ISA_AVX2) {
    const double g = peak_sample (peak_avx2, 12 * 8 * 2, threads, &ghz);
    peak_stat_add (&peak_samples.avx2, g, ghz);
  }
  if (siglip_isa_get () >= SIGLIP_ISA_AVX512) {
    const double g = peak_sample (peak_avx512, 12 * 16 * 2, threads, &ghz);
    peak_stat_add (&peak_samples.avx512, g, ghz);
  }
  if (siglip_gemm_cpu_has_avx512bf16 ()) {
    const double g = peak_sample (peak_bf16, 12 * 16 * 4, threads, &ghz);
    peak_stat_add (&peak_samples.bf16, g, ghz);
  }
#endif
}

/* The limit of bf16 products: the vdpbf16ps peak where the bf16 kernel uses that instruction,
 * else the fp32 FMA peak (the other kernels widen bf16 weights for fp32 FMAs). */
static double
bf16_limit (const peaks *pk)
{
  return siglip_gemm_bf16_is_native () && pk->bf16 > 0 ? pk->bf16 : pk->fma;
}

/* True when SIGLIP_ISA capped our kernels below what this CPU has, which OpenBLAS ignores. */
static bool
openblas_above_isa (void)
{
#if defined(__x86_64__)
  __builtin_cpu_init ();
  return siglip_isa_get () < SIGLIP_ISA_AVX512 && __builtin_cpu_supports ("avx512f");
#else
  return false;
#endif
}

/* The limits from the samples taken so far */
static peaks
current_peaks (void)
{
  peaks p = { 0, "none", 0, 0 };
  if (peak_samples.avx2.n > 0) {
    p.avx2 = p.fma = peak_samples.avx2.best;
    p.fma_isa = "avx2";
    p.fma_stat = peak_samples.avx2;
    /* two 256-bit FMA pipes per core: Haswell to Raptor Lake, Zen 2 to Zen 5 (Zen 1 has half) */
    p.avx2_theory = peak_samples.threads * 2 * 8 * 2 * peak_samples.avx2.ghz;
  }
  if (peak_samples.avx512.n > 0 && peak_samples.avx512.best > p.fma) {
    p.fma = peak_samples.avx512.best;
    p.fma_isa = "avx512";
    p.fma_stat = peak_samples.avx512;
  }
  p.bf16 = peak_samples.bf16.best;
  return p;
}

/* The latest sample of the limit the forward passes are measured against (the floor: the
 * bf16 dot-product peak where the bf16 kernel uses it, else the FMA peak of the ISA) */
static bool floor_is_bf16;

static double
last_floor_sample (void)
{
  if (floor_is_bf16 && peak_samples.bf16.n > 0)
    return peak_samples.bf16.last;
  return peak_samples.avx512.n > 0 ? peak_samples.avx512.last : peak_samples.avx2.last;
}

/* Runs `run` once untimed, then `runs` times timed, with a sample of the limits before the
 * first and after each. The paired ratios (each run's time x the mean of the two samples
 * around it, over the work's FLOPs) follow a neighbour that slows the whole machine for a
 * while; the ratio to the run's best sample does not. */
typedef struct {
  double seconds;                 /* median */
  double paired, paired_lo, paired_hi; /* median, least and most of the paired ratios */
} timing;

static timing
time_runs (void (*run) (void *), void *ctx, int runs, double flops, int threads)
{
  double t[64], ratio[64];
  runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
  run (ctx);
  sample_peaks (threads);
  double before = last_floor_sample ();
  for (int r = 0; r < runs; r++) {
    const double t0 = bench_now_s ();
    run (ctx);
    t[r] = bench_now_s () - t0;
    sample_peaks (threads);
    const double after = last_floor_sample ();
    ratio[r] = t[r] * 0.5 * (before + after) * 1e9 / flops;
    before = after;
  }
  timing out = { bench_median (t, runs), 0, 0, 0 };
  out.paired = bench_median (ratio, runs); /* sorts ratio */
  out.paired_lo = ratio[0];
  out.paired_hi = ratio[runs - 1];
  return out;
}

/* For callers that time nothing in between: a few samples in a row */
static peaks
measure_peaks (int threads)
{
  for (int i = 0; i < 3; i++)
    sample_peaks (threads);
  return current_peaks ();
}

/* ------------------------------------------------------------------------------------------ */
/* GEMM rates on the model's main shape */

static double
measure_sgemm (int m, int n, int k, int threads, int runs)
{
  float *a = malloc (sizeof (float) * m * k), *b = malloc (sizeof (float) * n * k),
        *c = malloc (sizeof (float) * m * n);
  if (!a || !b || !c)
    die ("out of memory");
  for (size_t i = 0; i < (size_t) m * k; i++)
    a[i] = rng_unit ();
  for (size_t i = 0; i < (size_t) n * k; i++)
    b[i] = rng_unit ();
  /* OpenBLAS with its own threads, as a program using it directly would */
  const int saved = openblas_get_num_threads ();
  openblas_set_num_threads (threads);
  double t[64];
  for (int r = 0; r <= runs; r++) {
    const double t0 = bench_now_s ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
    if (r > 0)
      t[r - 1] = bench_now_s () - t0;
  }
  openblas_set_num_threads (saved);
  /* OpenBLAS's threads busy-wait for ~2^28 cycles after a call: let them go to sleep before
   * anything else is timed, or they take a core from it */
  usleep (200000);
  free (a);
  free (b);
  free (c);
  return 2.0 * m * n * k / bench_median (t, runs) / 1e9;
}

/* siglip_linear at a precision, GFLOP/s */
static double
measure_linear (int m, int n, int k, bool bf16, int runs)
{
  float *x = malloc (sizeof (float) * m * k), *w = malloc (sizeof (float) * n * k),
        *y = malloc (sizeof (float) * m * n);
  if (!x || !w || !y)
    die ("out of memory");
  for (size_t i = 0; i < (size_t) m * k; i++)
    x[i] = rng_unit ();
  for (size_t i = 0; i < (size_t) n * k; i++)
    w[i] = rng_unit ();
  siglip_matrix mat = { w, NULL, n, k };
  siglip_error *error = NULL;
  /* packed as the loader packs: bf16 panels, or fp32 panels where our fp32 kernel runs */
  if (bf16 && !siglip_gemm_pack_bf16 (&mat, &error))
    die_error ("bf16 packing", error);
  if (!bf16 && siglip_gemm_fp32_packing_pays () && !siglip_gemm_pack_f32 (&mat, &error))
    die_error ("fp32 packing", error);
  mat.w = NULL; /* as after loading: the kernels must not need it */
  if (!mat.packed)
    mat.w = w;
  double t[64];
  for (int r = 0; r <= runs; r++) {
    const double t0 = bench_now_s ();
    siglip_linear (y, x, &mat, NULL, m);
    if (r > 0)
      t[r - 1] = bench_now_s () - t0;
  }
  siglip_gemm_packed_free (&mat);
  free (x);
  free (w);
  free (y);
  return 2.0 * m * n * k / bench_median (t, runs) / 1e9;
}

/* --gemm: siglip_linear and OpenBLAS on the shapes the towers multiply, with the peaks of the
 * same run. M: 256/1024 patches, 8 labels of 64 tokens; (N, K): q/k/v/o, fused qkv, fc1, fc2. */
static int
run_gemm_table (int threads, int runs, bool json)
{
  static const int ms[] = { 256, 512, 1024 };
  static const int nk[][2] = { { 1152, 1152 }, { 3456, 1152 }, { 4304, 1152 }, { 1152, 4304 } };
  siglip_pool_set_threads (threads);
  threads = siglip_pool_n_threads ();
  const peaks pk = measure_peaks (threads);
  if (json)
    printf ("{\"threads\": %d, \"fp32_kernel\": \"%s\", \"bf16_kernel\": \"%s\", "
            "\"fma_peak_gflops\": %.1f, \"bf16_peak_gflops\": %.1f, \"shapes\": [",
            threads, siglip_gemm_fp32_kernel_name (), siglip_gemm_bf16_kernel_name (), pk.fma, pk.bf16);
  else
    printf ("GEMM, %d threads, fp32 kernel %s, bf16 kernel %s; FMA peak %.0f (%s; best of %d, "
            "worst %.0f; AVX2 at %.2f GHz in theory %.0f), bf16 peak %.0f GFLOP/s\n"
            "%-18s %9s %6s %9s %6s %9s %6s\n", threads, siglip_gemm_fp32_kernel_name (),
            siglip_gemm_bf16_kernel_name (), pk.fma, pk.fma_isa, pk.fma_stat.n, pk.fma_stat.worst,
            pk.fma_stat.ghz, pk.avx2_theory, pk.bf16, "M x N x K", "sgemm", "xpeak", "fp32",
            "xpeak", "bf16", siglip_gemm_bf16_is_native () ? "xbf16" : "xpeak");
  bool first = true;
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    for (size_t j = 0; j < sizeof nk / sizeof nk[0]; j++) {
      const int m = ms[i], n = nk[j][0], k = nk[j][1];
      const double sg = measure_sgemm (m, n, k, threads, runs);
      const double l32 = measure_linear (m, n, k, false, runs);
      const double l16 = measure_linear (m, n, k, true, runs);
      const double p16 = bf16_limit (&pk);
      if (json)
        printf ("%s{\"shape\": [%d, %d, %d], \"sgemm_gflops\": %.1f, \"linear_fp32_gflops\": %.1f, "
                "\"linear_bf16_gflops\": %.1f}", first ? "" : ", ", m, n, k, sg, l32, l16);
      else {
        char what[32];
        snprintf (what, sizeof what, "%d x %d x %d", m, n, k);
        printf ("%-18s %9.0f %6.2f %9.0f %6.2f %9.0f %6.2f\n", what, sg, sg / pk.fma, l32,
                l32 / pk.fma, l16, l16 / p16);
      }
      fflush (stdout);
      first = false;
    }
  if (json)
    printf ("]}\n");
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* FLOPs from the config: 2 per multiply-add of every matrix product; elementwise work and
 * softmax are not counted (they are not what bounds the time at these sizes) */

static double
encoder_flops (const siglip_tower_info *t, double tokens, double seq_len)
{
  const double D = t->hidden_size, inter = t->intermediate_size;
  const double linear = 2.0 * tokens * (4.0 * D * D + 2.0 * D * inter);
  const double attention = 2.0 * 2.0 * tokens * seq_len * D; /* QK^T and PV */
  return t->num_layers * (linear + attention);
}

static double
image_flops (const siglip_model_info *info, int patches)
{
  const siglip_tower_info *v = &info->vision;
  const double D = v->hidden_size, inter = v->intermediate_size, n = patches;
  double f = 2.0 * n * v->num_channels * v->patch_size * v->patch_size * D; /* patch embedding */
  f += encoder_flops (v, n, n);
  /* attention-pooling head: K and V of all tokens, then one query row through out-proj + MLP */
  f += 2.0 * n * D * 2 * D + 2.0 * D * D + 4.0 * n * D + 2.0 * D * D + 2.0 * 2.0 * D * inter;
  return f;
}

static double
label_flops (const siglip_model_info *info)
{
  const siglip_tower_info *t = &info->text;
  const double n = t->max_position_embeddings;
  return encoder_flops (t, n, n) + 2.0 * t->hidden_size * t->projection_size;
}

/* ------------------------------------------------------------------------------------------ */
/* timings of the real entry points */

static uint8_t *
synthetic_image (int width, int height)
{
  uint8_t *rgb = malloc ((size_t) width * height * 3);
  if (!rgb)
    die ("out of memory");
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      uint8_t *p = rgb + ((size_t) y * width + x) * 3;
      p[0] = (uint8_t) (x * 255 / width);
      p[1] = (uint8_t) (y * 255 / height);
      p[2] = (uint8_t) ((x ^ y) & 0xff);
    }
  return rgb;
}

typedef struct {
  siglip_state *st;
  siglip_image img;
  siglip_encode_options opt;
  float *emb;
} image_run;

static void
run_image (void *data)
{
  image_run *r = data;
  siglip_error *error = NULL;
  if (!siglip_encode_image (r->st, &r->img, &r->opt, r->emb, NULL, &error))
    die_error ("siglip_encode_image", error);
}

/* siglip_encode_image at `patches` (a square image that fills them exactly) */
static timing
time_image (siglip_state *st, const siglip_model_info *info, int patches, int runs, int threads)
{
  const int side = (int) lround (sqrt ((double) patches)) * info->vision.patch_size;
  uint8_t *rgb = synthetic_image (side, side);
  image_run r = { st, { rgb, side, side, (size_t) side * 3 }, { .max_patches = patches },
                  malloc (sizeof (float) * (size_t) info->vision.hidden_size * 4) };
  const timing t = time_runs (run_image, &r, runs, image_flops (info, patches), threads);
  free (r.emb);
  free (rgb);
  return t;
}

typedef struct {
  siglip_state *st;
  const int32_t *ids;
  int n;
  float *emb;
} labels_run;

static void
run_labels (void *data)
{
  labels_run *r = data;
  siglip_error *error = NULL;
  if (!siglip_encode_token_ids (r->st, r->ids, r->n, NULL, r->emb, &error))
    die_error ("siglip_encode_token_ids", error);
}

/* seconds PER LABEL of one batched siglip_encode_token_ids call of n distinct labels (token
 * ids, so neither the tokenizer nor the label cache is in the figure) */
static timing
time_labels (siglip_state *st, const siglip_model *model, int n, int runs, int threads)
{
  const siglip_model_info *info = siglip_model_get_info (model);
  const int len = info->text.max_position_embeddings;
  int32_t *ids = malloc (sizeof (int32_t) * (size_t) n * len);
  float *emb = malloc (sizeof (float) * (size_t) n * info->text.projection_size);
  siglip_error *error = NULL;
  for (int i = 0; i < n; i++) {
    char text[64];
    snprintf (text, sizeof text, "This is a photo of label number %d.", i);
    int32_t *tok = NULL;
    int n_tok = 0;
    if (!siglip_tokenize (siglip_model_get_tokenizer (model), text, -1, SIGLIP_TOKENIZE_DEFAULT,
                          &tok, &n_tok, len, &error))
      die_error ("siglip_tokenize", error);
    memcpy (ids + (size_t) i * len, tok, sizeof (int32_t) * len);
    free (tok);
  }
  labels_run r = { st, ids, n, emb };
  timing t = time_runs (run_labels, &r, runs, label_flops (info) * n, threads);
  t.seconds /= n;
  free (ids);
  free (emb);
  return t;
}

static void
time_tokenizer (const char *dir, int runs, double *load_s, double *encode_s)
{
  double t[64];
  siglip_error *error = NULL;
  siglip_tokenizer *tok = NULL;
  for (int r = 0; r < runs; r++) {
    const double t0 = bench_now_s ();
    tok = siglip_tokenizer_load (dir, &error);
    if (!tok)
      die_error ("siglip_tokenizer_load", error);
    t[r] = bench_now_s () - t0;
    if (r + 1 < runs)
      siglip_tokenizer_free (tok);
  }
  *load_s = bench_median (t, runs);

  enum { TEXTS = 2000 };
  const double t0 = bench_now_s ();
  for (int i = 0; i < TEXTS; i++) {
    char text[128];
    snprintf (text, sizeof text, "This is a photo of a Weimaraner puppy number %d, café-style.", i);
    int32_t *ids = NULL;
    int n = 0;
    if (!siglip_tokenize (tok, text, -1, SIGLIP_TOKENIZE_DEFAULT, &ids, &n, 64, &error))
      die_error ("siglip_tokenize", error);
    free (ids);
  }
  *encode_s = (bench_now_s () - t0) / TEXTS;
  siglip_tokenizer_free (tok);
}

static double
peak_rss_mb (void)
{
  /* VmHWM, which reset_peak_rss can reset; getrusage's maximum cannot be */
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "VmHWM: %ld kB", &kb) == 1)
      break;
  if (f)
    fclose (f);
  if (kb >= 0)
    return (double) kb / 1024.0;
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* From here on peak_rss_mb counts only what comes after (Linux >= 4.0): the first loads before
 * the measured model are other sessions' memory, a first bf16 one the F32 rows it computes on. */
static void
reset_peak_rss (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (f) {
    fputs ("5", f);
    fclose (f);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* the limit of a load: reading the weight files once from the page cache */

/* Seconds to read() every *.safetensors file of dir into one 1 MiB buffer (what `cat` does),
 * median of `runs`; the first run also warms the page cache for the load that follows. */
static double
time_read_weights (const char *dir, int runs)
{
  static char buf[1 << 20];
  double t[64];
  for (int r = 0; r < runs; r++) {
    DIR *d = opendir (dir);
    if (!d)
      die ("%s: %s", dir, strerror (errno));
    const double t0 = bench_now_s ();
    for (struct dirent *e; (e = readdir (d));) {
      const size_t len = strlen (e->d_name);
      if (len < 12 || strcmp (e->d_name + len - 12, ".safetensors"))
        continue;
      char path[4096];
      snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
      const int fd = open (path, O_RDONLY);
      if (fd < 0)
        die ("%s: %s", path, strerror (errno));
      while (read (fd, buf, sizeof buf) > 0)
        ;
      close (fd);
    }
    t[r] = bench_now_s () - t0;
    closedir (d);
  }
  return bench_median (t, runs);
}

/* What the untimed first load found: the weight cache already there, or built now. */
typedef struct {
  bool built;
  double build_s;
} weight_cache_run;

/* The model loaded with its weight cache in cache_dir (NULL: the user's), the seconds that took
 * in *load_s, and in *write_s those of the weight cache file written behind it (a first bf16
 * load on the AVX2 path: SIGLIP_WEIGHT_CACHE_WRITING), waited for here; 0 when none was. NULL
 * with *error set on failure. */
static siglip_model *
load_timed (const char *dir, int threads, bool bf16, const char *cache_dir, double *load_s,
            double *write_s, siglip_error **error)
{
  siglip_load_options lopt = { .n_threads = threads, .weight_cache_dir = cache_dir,
                               .precision = bf16 ? SIGLIP_PRECISION_BF16 : SIGLIP_PRECISION_FP32 };
  const double t0 = bench_now_s ();
  siglip_model *model = siglip_model_load (dir, &lopt, error);
  *load_s = bench_now_s () - t0;
  *write_s = 0;
  if (!model || siglip_model_get_info (model)->weight_cache != SIGLIP_WEIGHT_CACHE_WRITING)
    return model;
  const double t1 = bench_now_s ();
  if (!siglip_model_wait_weight_cache (model, error)) {
    siglip_model_free (model);
    return NULL;
  }
  *write_s = bench_now_s () - t1;
  return model;
}

static weight_cache_run
ensure_weight_cache (const char *dir, int threads, bool bf16)
{
  siglip_error *error = NULL;
  double load_s, write_s;
  siglip_model *model = load_timed (dir, threads, bf16, NULL, &load_s, &write_s, &error);
  if (!model)
    die_error (dir, error);
  const siglip_weight_cache_status state = siglip_model_get_info (model)->weight_cache;
  siglip_model_free (model);
  return (weight_cache_run) { state == SIGLIP_WEIGHT_CACHE_BUILT
                                || state == SIGLIP_WEIGHT_CACHE_WRITING, load_s + write_s };
}

/* The first load of a model as a first start pays it, whatever the user's weight cache holds:
 * a miss, in a weight cache directory of its own ($XDG_CACHE_HOME/siglens/first-load-XXXXXX,
 * removed after, so the user's is left as it was), timed after the read of the weight files so
 * the page cache is warm, as the target assumes. */
typedef struct {
  double load_s;
  double write_s;   /* the weight cache written behind the load, after it; 0 when none was */
  siglip_weight_cache_status state;
  /* the first session's speed when it differs from later ones' (WRITING: the F32 rows rounded
   * to bf16 as they are read, not the panels): an image of 256 patches on that model */
  bool have_image;
  timing image;
} first_load_run;

static void
remove_directory (const char *path)
{
  DIR *d = opendir (path);
  for (struct dirent *e; d && (e = readdir (d));)
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, ".."))
      unlinkat (dirfd (d), e->d_name, 0);
  if (d)
    closedir (d);
  rmdir (path);
}

static first_load_run
time_first_load (const char *dir, int threads, bool bf16, int runs)
{
  const char *xdg = getenv ("XDG_CACHE_HOME"), *home = getenv ("HOME");
  char base[4096], cache[4200];
  if (xdg && xdg[0] == '/')
    snprintf (base, sizeof base, "%s/siglens", xdg);
  else
    snprintf (base, sizeof base, "%s/.cache/siglens", home && *home ? home : ".");
  snprintf (cache, sizeof cache, "%s/first-load-XXXXXX", base);
  if (!mkdtemp (cache))
    die ("%s: %s", cache, strerror (errno));
  siglip_error *error = NULL;
  first_load_run run = { 0 };
  siglip_model *model = load_timed (dir, threads, bf16, cache, &run.load_s, &run.write_s, &error);
  if (!model) {
    remove_directory (cache);
    die_error (dir, error);
  }
  run.state = siglip_model_get_info (model)->weight_cache;
  if (run.state == SIGLIP_WEIGHT_CACHE_WRITING) {
    siglip_state *st = siglip_state_new (model, &error);
    if (!st)
      die_error ("siglip_state_new", error);
    const siglip_model_info *info = siglip_model_get_info (model);
    run.image = time_image (st, info, 256, runs, info->n_threads); /* threads may be 0: all */
    run.have_image = true;
    siglip_state_free (st);
  }
  siglip_model_free (model);
  remove_directory (cache);
  return run;
}

/* ------------------------------------------------------------------------------------------ */
/* time to a first result: what `siglens-cli classify photo.jpg` costs from a fresh process */

#define FIRST_LABELS "cat, dog, car"
#define FIRST_IMAGE SIGLENS_SRC_DIR "/tests/data/images/chelsea.png"

typedef struct {
  double cli_s;                 /* the real siglens-cli classify, process start to exit */
  double load_s, decode_s, image_s, labels_s, child_s; /* the same steps in a fresh child */
} first_result;

/* Runs argv to completion with stdout to `out_fd` (or /dev/null when < 0); wall seconds. */
static double
run_process (char *const argv[], int out_fd)
{
  const double t0 = bench_now_s ();
  const pid_t pid = fork ();
  if (pid < 0)
    die ("fork: %s", strerror (errno));
  if (pid == 0) {
    const int fd = out_fd >= 0 ? out_fd : open ("/dev/null", O_WRONLY);
    dup2 (fd, STDOUT_FILENO);
    execv (argv[0], argv);
    _exit (127);
  }
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  const double s = bench_now_s () - t0;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    die ("%s exited with status %d", argv[0], WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  return s;
}

/* The child (siglens-bench --first-result-child DIR PRECISION THREADS): classify's steps through
 * the public API, each timed, as one JSON line on stdout. */
static int
first_result_child (const char *dir, const char *precision, int threads)
{
  const double t0 = bench_now_s ();
  siglip_error *error = NULL;
  siglip_load_options lopt = { .n_threads = threads,
                               .precision = strcmp (precision, "bf16") ? SIGLIP_PRECISION_FP32
                                                                       : SIGLIP_PRECISION_BF16 };
  siglip_model *model = siglip_model_load (dir, &lopt, &error);
  if (!model)
    die_error (dir, error);
  siglip_state *st = siglip_state_new (model, &error);
  if (!st)
    die_error ("siglip_state_new", error);
  const double t_load = bench_now_s ();

  GError *gerr = NULL;
  SiglensRgbImage *rgb = siglens_decode_file (FIRST_IMAGE, 0, &gerr);
  if (!rgb)
    die ("%s", gerr->message);
  const double t_decode = bench_now_s ();

  const int dim = siglip_model_embed_dim_vision (model);
  float *image_emb = malloc (sizeof (float) * (size_t) dim);
  float *text_emb = malloc (sizeof (float) * 3 * (size_t) dim);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  const siglip_encode_options opt = { 0 };
  if (!siglip_encode_image (st, &image, &opt, image_emb, NULL, &error))
    die_error ("siglip_encode_image", error);
  const double t_image = bench_now_s ();

  /* as classify: the default template, lowercased; the model's label cache is empty */
  const char *const labels[3] = { "cat", "dog", "car" };
  if (!siglip_encode_labels (st, labels, 3, &opt, text_emb, &error))
    die_error ("siglip_encode_labels", error);
  siglip_score scores[3];
  siglip_score_embeddings (model, image_emb, text_emb, 3, scores);
  const double t_labels = bench_now_s ();

  printf ("{\"load_s\": %.4f, \"decode_s\": %.4f, \"image_s\": %.4f, \"labels_s\": %.4f, "
          "\"total_s\": %.4f}\n", t_load - t0, t_decode - t_load, t_image - t_decode,
          t_labels - t_image, t_labels - t0);
  free (image_emb);
  free (text_emb);
  siglens_rgb_image_free (rgb);
  siglip_state_free (st);
  siglip_model_free (model);
  return 0;
}

static double
json_number (const char *text, const char *key)
{
  char pattern[64];
  snprintf (pattern, sizeof pattern, "\"%s\": ", key);
  const char *at = strstr (text, pattern);
  if (!at)
    die ("first-result child: no %s in \"%s\"", key, text);
  return strtod (at + strlen (pattern), NULL);
}

/* Medians over `runs` fresh processes of each kind, run before anything else loads the model
 * in this process (the page cache is warm: the weights were just read). */
static first_result
time_first_result (const char *self, const char *dir, bool bf16, int threads, int runs)
{
  char threads_arg[16];
  snprintf (threads_arg, sizeof threads_arg, "%d", threads);
  const char *precision = bf16 ? "bf16" : "fp32";
  char *cli[] = { (char *) SIGLENS_CLI, (char *) "classify", (char *) "--model", (char *) dir,
                  (char *) "--labels", (char *) FIRST_LABELS, (char *) "--precision",
                  (char *) precision, (char *) "--threads", threads_arg, (char *) FIRST_IMAGE,
                  NULL };
  char *child[] = { (char *) self, (char *) "--first-result-child", (char *) dir,
                    (char *) precision, threads_arg, NULL };
  double cli_s[64], parts[5][64];
  static const char *const keys[5] = { "load_s", "decode_s", "image_s", "labels_s", "total_s" };
  for (int r = 0; r < runs; r++) {
    cli_s[r] = run_process (cli, -1);
    FILE *out = tmpfile ();
    if (!out)
      die ("tmpfile: %s", strerror (errno));
    run_process (child, fileno (out));
    char line[512] = "";
    rewind (out);
    if (!fgets (line, sizeof line, out))
      die ("first-result child printed nothing");
    fclose (out);
    for (int k = 0; k < 5; k++)
      parts[k][r] = json_number (line, keys[k]);
  }
  first_result f = { bench_median (cli_s, runs) };
  f.load_s = bench_median (parts[0], runs);
  f.decode_s = bench_median (parts[1], runs);
  f.image_s = bench_median (parts[2], runs);
  f.labels_s = bench_median (parts[3], runs);
  f.child_s = bench_median (parts[4], runs);
  return f;
}

/* ------------------------------------------------------------------------------------------ */

/* --accuracy: the bf16 path against fp32 on the same weights — the cosine similarity of the
 * image embedding (256 patches) and of 8 label embeddings, each precision loaded in turn (so
 * the peak RSS of this mode is not the benchmark's). One model at a time keeps memory at one
 * copy of the weights. */
static int
run_bf16_accuracy (const char *dir, int threads, bool json)
{
  enum { N_LABELS = 8, PATCHES = 256 };
  float *emb[2][1 + N_LABELS] = { { NULL } };
  int dim_img = 0, dim_txt = 0;
  for (int pass = 0; pass < 2; pass++) {
    siglip_error *error = NULL;
    siglip_load_options lopt = { .n_threads = threads,
                                 .precision = pass ? SIGLIP_PRECISION_BF16 : SIGLIP_PRECISION_FP32 };
    siglip_model *model = siglip_model_load (dir, &lopt, &error);
    if (!model)
      die_error (dir, error);
    const siglip_model_info *info = siglip_model_get_info (model);
    siglip_state *st = siglip_state_new (model, &error);
    if (!st)
      die_error ("siglip_state_new", error);
    dim_img = info->vision.hidden_size;
    dim_txt = info->text.projection_size;

    const int side = (int) lround (sqrt ((double) PATCHES)) * info->vision.patch_size;
    uint8_t *rgb = synthetic_image (side, side);
    siglip_image img = { rgb, side, side, (size_t) side * 3 };
    siglip_encode_options opt = { .max_patches = PATCHES };
    emb[pass][0] = malloc (sizeof (float) * (size_t) dim_img);
    if (!siglip_encode_image (st, &img, &opt, emb[pass][0], NULL, &error))
      die_error ("siglip_encode_image", error);
    free (rgb);

    const int len = info->text.max_position_embeddings;
    int32_t *ids = malloc (sizeof (int32_t) * (size_t) N_LABELS * len);
    float *texts = malloc (sizeof (float) * (size_t) N_LABELS * dim_txt);
    for (int i = 0; i < N_LABELS; i++) {
      char text[64];
      snprintf (text, sizeof text, "This is a photo of label number %d.", i);
      int32_t *tok = NULL;
      int n_tok = 0;
      if (!siglip_tokenize (siglip_model_get_tokenizer (model), text, -1, SIGLIP_TOKENIZE_DEFAULT,
                            &tok, &n_tok, len, &error))
        die_error ("siglip_tokenize", error);
      memcpy (ids + (size_t) i * len, tok, sizeof (int32_t) * len);
      free (tok);
    }
    if (!siglip_encode_token_ids (st, ids, N_LABELS, NULL, texts, &error))
      die_error ("siglip_encode_token_ids", error);
    for (int i = 0; i < N_LABELS; i++) {
      emb[pass][1 + i] = malloc (sizeof (float) * (size_t) dim_txt);
      memcpy (emb[pass][1 + i], texts + (size_t) i * dim_txt, sizeof (float) * dim_txt);
    }
    free (ids);
    free (texts);
    siglip_state_free (st);
    siglip_model_free (model);
  }

  double cos[1 + N_LABELS], text_min = 1, text_mean = 0;
  for (int e = 0; e <= N_LABELS; e++) {
    const int dim = e ? dim_txt : dim_img;
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < dim; j++) {
      dot += (double) emb[0][e][j] * emb[1][e][j];
      na += (double) emb[0][e][j] * emb[0][e][j];
      nb += (double) emb[1][e][j] * emb[1][e][j];
    }
    cos[e] = dot / sqrt (na * nb);
    if (e) {
      text_min = cos[e] < text_min ? cos[e] : text_min;
      text_mean += cos[e] / N_LABELS;
    }
    free (emb[0][e]);
    free (emb[1][e]);
  }
  if (json)
    printf ("{\"bf16_kernel\": \"%s\", \"image_cosine\": %.7f, \"label_cosine_min\": %.7f, "
            "\"label_cosine_mean\": %.7f}\n", siglip_gemm_bf16_kernel_name (), cos[0], text_min,
            text_mean);
  else
    printf ("bf16 vs fp32 (%s kernel), cosine of embeddings: image (%d patches) %.7f, "
            "%d labels min %.7f mean %.7f\n", siglip_gemm_bf16_kernel_name (), PATCHES, cos[0],
            N_LABELS, text_min, text_mean);
  return 0;
}

static void
usage (FILE *f)
{
  fputs ("Usage: siglens-bench [--synthetic so400m|base | --model DIR] [--precision fp32|bf16]\n"
         "                     [--threads N] [--runs N] [--quick] [--json]\n"
         "                     [--file-dtype f32|bf16] [--cache DIR]\n"
         "       siglens-bench --gemm [--threads N] [--runs N] [--json]\n"
         "       siglens-bench --accuracy [--synthetic so400m|base | --model DIR] [--json]\n"
         "       siglens-bench --batch N [--synthetic so400m|base | --model DIR] [--precision P]\n"
         "                     (N 12-megapixel JPEGs through the classify pipeline)\n", f);
}

int
main (int argc, char *argv[])
{
  const char *synthetic = NULL, *model_dir = NULL, *cache = NULL;
  bool bf16 = false, quick = false, json = false, file_bf16 = false, gemm_only = false;
  bool accuracy_only = false;
  int threads = 0, runs = 5, batch = 0;

  if (argc == 5 && !strcmp (argv[1], "--first-result-child"))
    return first_result_child (argv[2], argv[3], atoi (argv[4]));

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp (a, "--synthetic") && next)
      synthetic = argv[++i];
    else if (!strcmp (a, "--model") && next)
      model_dir = argv[++i];
    else if (!strcmp (a, "--precision") && next) {
      if (strcmp (next, "fp32") && strcmp (next, "bf16"))
        die ("--precision: expected fp32 or bf16, got \"%s\"", next);
      bf16 = !strcmp (argv[++i], "bf16");
    } else if (!strcmp (a, "--file-dtype") && next) {
      if (strcmp (next, "f32") && strcmp (next, "bf16"))
        die ("--file-dtype: expected f32 or bf16, got \"%s\"", next);
      file_bf16 = !strcmp (argv[++i], "bf16");
    } else if (!strcmp (a, "--threads") && next)
      threads = atoi (argv[++i]);
    else if (!strcmp (a, "--runs") && next)
      runs = atoi (argv[++i]);
    else if (!strcmp (a, "--cache") && next)
      cache = argv[++i];
    else if (!strcmp (a, "--batch") && next)
      batch = atoi (argv[++i]);
    else if (!strcmp (a, "--quick"))
      quick = true;
    else if (!strcmp (a, "--gemm"))
      gemm_only = true;
    else if (!strcmp (a, "--accuracy"))
      accuracy_only = true;
    else if (!strcmp (a, "--json"))
      json = true;
    else if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
      usage (stdout);
      return 0;
    } else {
      usage (stderr);
      die ("unknown or incomplete argument \"%s\"", a);
    }
  }
  if (runs < 1 || runs > 63)
    die ("--runs: expected 1..63, got %d", runs);
  if (threads < 0)
    die ("--threads: expected >= 0, got %d", threads);
  if (gemm_only)
    return run_gemm_table (threads, runs, json);
  if (!synthetic && !model_dir)
    synthetic = "so400m";
  if (synthetic && model_dir)
    die ("--synthetic and --model are exclusive");

  double write_s = 0;
  char *dir = NULL;
  if (synthetic) {
    const synthetic_shape *shape = NULL;
    for (size_t i = 0; i < sizeof synthetic_shapes / sizeof synthetic_shapes[0]; i++)
      if (!strcmp (synthetic, synthetic_shapes[i].name))
        shape = &synthetic_shapes[i];
    if (!shape)
      die ("--synthetic: expected so400m or base, got \"%s\"", synthetic);
    dir = ensure_synthetic (cache, shape, file_bf16, &write_s);
  } else {
    dir = strdup (model_dir);
  }

  if (accuracy_only)
    return run_bf16_accuracy (dir, threads, json);
  if (batch > 0) {
    /* the photos live beside the synthetic models, outside /tmp, written once */
    char photos[4096];
    if (cache)
      snprintf (photos, sizeof photos, "%s/jpeg-4000x3000", cache);
    else
      snprintf (photos, sizeof photos, "%s/.cache/siglens/bench/jpeg-4000x3000",
                getenv ("HOME") ? getenv ("HOME") : ".");
    const int rc = siglens_bench_batch (dir, photos, batch, bf16, threads, runs, json);
    free (dir);
    return rc;
  }

  /* The first load of a model builds its weight cache file (bf16: the packed panels; fp32:
   * the record that its files passed the NaN/Inf scan), timed here apart: its ratio to the
   * read below is that of a first start. Every load after it, the fresh processes' included,
   * maps the panels or finds the record. */
  /* before the first session's image: its paired ratios read the samples of this floor */
  floor_is_bf16 = bf16 && siglip_gemm_bf16_is_native ();
  const weight_cache_run cache_run = ensure_weight_cache (dir, threads, bf16);
  /* the limit of the load first: it also warms the page cache, as the target assumes */
  const double read_s = time_read_weights (dir, 3);
  const first_load_run first_load = time_first_load (dir, threads, bf16, runs);
  /* then fresh processes, before this one maps the weights */
  const first_result fresh = time_first_result (argv[0], dir, bf16, threads, quick ? 1 : 3);

  /* load */
  reset_peak_rss ();
  siglip_error *error = NULL;
  siglip_load_options lopt = { .n_threads = threads,
                               .precision = bf16 ? SIGLIP_PRECISION_BF16 : SIGLIP_PRECISION_FP32 };
  double t0 = bench_now_s ();
  siglip_model *model = siglip_model_load (dir, &lopt, &error);
  if (!model)
    die_error (dir, error);
  const double load_s = bench_now_s () - t0;
  const siglip_model_info *info = siglip_model_get_info (model);
  threads = info->n_threads;
  siglip_state *st = siglip_state_new (model, &error);
  if (!st)
    die_error ("siglip_state_new", error);

  /* the limits are sampled right before and after each run of each workload (time_runs) */
  static const int all_patches[] = { 256, 576, 1024 };
  static const int all_labels[] = { 1, 8, 32 };
  const int n_patches = quick ? 1 : 3;
  timing image_t[3] = { { 0 } }, label_t[3] = { { 0 } };
  bool have_label[3] = { false };
  for (int i = 0; i < n_patches; i++) {
    image_t[i] = time_image (st, info, all_patches[i], runs, threads);
  }
  for (int i = 0; i < 3; i++) {
    if (quick && all_labels[i] != 8)
      continue;
    label_t[i] = time_labels (st, model, all_labels[i], runs, threads);
    have_label[i] = true;
  }
  double tok_load_s, tok_encode_s;
  time_tokenizer (dir, quick ? 1 : 3, &tok_load_s, &tok_encode_s);
  const double rss = peak_rss_mb ();

  const int gm = 256, gn = info->vision.intermediate_size, gk = info->vision.hidden_size;
  const double sgemm = measure_sgemm (gm, gn, gk, threads, runs);
  const double lin32 = measure_linear (gm, gn, gk, false, runs);
  const double lin16 = measure_linear (gm, gn, gk, true, runs);
  sample_peaks (threads);
  const peaks pk = current_peaks ();
  /* the floor of this precision: fp32 FMA peak, or the bf16 dot-product peak where the kernel
   * uses it */
  const double limit = bf16 ? bf16_limit (&pk) : pk.fma;

  /* a rate above its limit means the limit under-read: say so rather than print ratios below 1.
   * Not for OpenBLAS under SIGLIP_ISA=avx2 on an AVX-512 CPU: the cap is ours, and its kernels
   * (OPENBLAS_CORETYPE's) may well be wider than the capped limit. */
  const bool peer_uncapped = openblas_above_isa ();
  int beaten = 0;
  const double rates[][2] = {
    { image_flops (info, all_patches[0]) / image_t[0].seconds / 1e9, limit },
    { have_label[1] ? label_flops (info) / label_t[1].seconds / 1e9 : 0, limit },
    { peer_uncapped ? 0 : sgemm, pk.fma }, { lin32, pk.fma }, { lin16, bf16_limit (&pk) } };
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
    if (rates[i][0] > rates[i][1] * 1.02) {
      fprintf (stderr, "siglens-bench: WARNING: %.0f GFLOP/s measured above the %.0f GFLOP/s "
               "limit: the limit under-read (a busy machine?); the ratios are not to be trusted\n",
               rates[i][0], rates[i][1]);
      beaten++;
    }

  const char *prec = bf16 ? "bf16" : "fp32";
  if (json) {
    printf ("{\"model\": \"%s\", \"precision\": \"%s\", \"isa\": \"%s\", \"fp32_kernel\": \"%s\", "
            "\"bf16_kernel\": \"%s\", \"threads\": %d, \"load_s\": %.4f, \"synthetic_write_s\": %.3f, "
            "\"image_s\": {", synthetic ? synthetic : dir, prec, siglip_isa_name (siglip_isa_get ()),
            siglip_gemm_fp32_kernel_name (), siglip_gemm_bf16_kernel_name (), threads, load_s,
            write_s);
    for (int i = 0; i < n_patches; i++)
      printf ("%s\"%d\": %.4f", i ? ", " : "", all_patches[i], image_t[i].seconds);
    printf ("}, \"image_gflop\": {");
    for (int i = 0; i < n_patches; i++)
      printf ("%s\"%d\": %.2f", i ? ", " : "", all_patches[i], image_flops (info, all_patches[i]) / 1e9);
    printf ("}, \"image_ratio_to_floor\": {");
    for (int i = 0; i < n_patches; i++)
      printf ("%s\"%d\": %.2f", i ? ", " : "", all_patches[i],
              image_t[i].seconds / (image_flops (info, all_patches[i]) / (limit * 1e9)));
    printf ("}, \"image_ratio_paired\": {");
    for (int i = 0; i < n_patches; i++)
      printf ("%s\"%d\": [%.2f, %.2f, %.2f]", i ? ", " : "", all_patches[i], image_t[i].paired,
              image_t[i].paired_lo, image_t[i].paired_hi);
    printf ("}, \"label_s\": {");
    for (int i = 0, first = 1; i < 3; i++)
      if (have_label[i]) {
        printf ("%s\"%d\": %.5f", first ? "" : ", ", all_labels[i], label_t[i].seconds);
        first = 0;
      }
    printf ("}, \"label_gflop\": %.2f, \"label_ratio_to_floor\": {", label_flops (info) / 1e9);
    for (int i = 0, first = 1; i < 3; i++)
      if (have_label[i]) {
        printf ("%s\"%d\": %.2f", first ? "" : ", ", all_labels[i],
                label_t[i].seconds / (label_flops (info) / (limit * 1e9)));
        first = 0;
      }
    printf ("}, \"label_ratio_paired\": {");
    for (int i = 0, first = 1; i < 3; i++)
      if (have_label[i]) {
        printf ("%s\"%d\": [%.2f, %.2f, %.2f]", first ? "" : ", ", all_labels[i],
                label_t[i].paired, label_t[i].paired_lo, label_t[i].paired_hi);
        first = 0;
      }
    printf ("}, \"weights_read_s\": %.4f, \"load_ratio_to_read\": %.2f, \"first_result\": "
            "{\"cli_s\": %.3f, \"load_s\": %.3f, \"decode_s\": %.3f, \"image_s\": %.3f, "
            "\"labels_s\": %.3f, \"child_total_s\": %.3f}", read_s, load_s / read_s, fresh.cli_s,
            fresh.load_s, fresh.decode_s, fresh.image_s, fresh.labels_s, fresh.child_s);
    printf (", \"weight_cache\": \"%s\", \"weight_cache_bytes\": %lld, "
            "\"weight_cache_build_s\": %.3f",
            siglip_weight_cache_status_name (info->weight_cache),
            (long long) info->weight_cache_bytes, cache_run.built ? cache_run.build_s : 0.0);
    printf (", \"first_load_s\": %.3f, \"first_load_ratio_to_read\": %.2f, "
            "\"first_load_weight_cache\": \"%s\", \"first_load_write_s\": %.3f", first_load.load_s,
            first_load.load_s / read_s, siglip_weight_cache_status_name (first_load.state),
            first_load.write_s);
    if (first_load.have_image)
      printf (", \"first_session_image_256_s\": %.3f, \"first_session_image_256_paired\": %.2f",
              first_load.image.seconds, first_load.image.paired);
    printf (", \"tokenizer_load_s\": %.4f, \"tokenizer_encode_s\": %.7f, \"peak_rss_mb\": %.0f, "
            "\"weights_mb\": %.0f, \"sgemm_gflops\": %.1f, \"linear_fp32_gflops\": %.1f, "
            "\"linear_bf16_gflops\": %.1f, \"fma_peak_gflops\": %.1f, \"fma_peak_isa\": \"%s\", "
            "\"avx2_fma_peak_gflops\": %.1f, \"bf16_peak_gflops\": %.1f, \"floor_gflops\": %.1f, "
            "\"sgemm_ratio_to_fma_peak\": %.3f, \"gemm_shape\": [%d, %d, %d], "
            "\"fma_peak_samples\": %d, \"fma_peak_worst_gflops\": %.1f, \"clock_ghz\": %.3f, "
            "\"avx2_theoretical_gflops\": %.1f, \"beaten_limits\": %d}\n",
            tok_load_s, tok_encode_s, rss, info->weights_bytes / 1048576.0, sgemm, lin32, lin16,
            pk.fma, pk.fma_isa, pk.avx2, pk.bf16, limit, sgemm / pk.fma, gm, gn, gk,
            pk.fma_stat.n, pk.fma_stat.worst, pk.fma_stat.ghz, pk.avx2_theory, beaten);
  } else {
    printf ("siglens-bench: %s, %s, %d threads, fp32 kernel %s, bf16 kernel %s, ISA %s, medians "
            "of %d runs after a warm-up\n", synthetic ? synthetic : dir, prec, threads,
            siglip_gemm_fp32_kernel_name (), siglip_gemm_bf16_kernel_name (),
            siglip_isa_name (siglip_isa_get ()), runs);
    printf ("limits: fp32 FMA peak %.0f GFLOP/s (%s)%s", pk.fma, pk.fma_isa,
            pk.bf16 > 0 ? "" : "\n");
    if (pk.bf16 > 0)
      printf (", bf16 dot-product peak %.0f GFLOP/s\n", pk.bf16);
    printf ("  the best of %d samples of %.1f s on %d pinned threads, taken before and after each "
            "run of each workload (worst %.0f)\n", pk.fma_stat.n, PEAK_SECONDS, threads, pk.fma_stat.worst);
    if (pk.avx2_theory > 0)
      printf ("  AVX2 in theory: %d cores x 2 FMA pipes x 8 lanes x 2 flops x %.2f GHz (clock "
              "measured) = %.0f GFLOP/s; the limit is %.2f of it\n", threads, pk.fma_stat.ghz, pk.avx2_theory,
              pk.avx2 / pk.avx2_theory);
    printf ("floor used for ratios: %.0f GFLOP/s (x floor: the median time against it; x paired: "
            "each run against\n  the mean of the samples right before and after it, the median "
            "and in brackets the least and most of the runs)\n\n", limit);
    printf ("%-28s %12s %10s %12s %8s %8s\n", "", "time", "GFLOP", "GFLOP/s", "x floor",
            "x paired");
    printf ("%-28s %10.3f s %25s %8.2f  (x read)\n", "load", load_s, "", load_s / read_s);
    printf ("%-28s %10.3f s   (the limit of a load: read() of the weight files, page cache)\n",
            "read weights", read_s);
    printf ("%-28s %10.3f s %25s %8.2f  (x read; weight cache miss: %s, as a first start)\n",
            "first load", first_load.load_s, "", first_load.load_s / read_s,
            siglip_weight_cache_status_name (first_load.state));
    if (first_load.write_s > 0)
      printf ("%-28s %10.3f s %25s %8.2f  (x read; on a background thread, after the first load "
              "returned)\n", "  weight cache written", first_load.write_s, "",
              first_load.write_s / read_s);
    if (first_load.have_image) {
      const double f = image_flops (info, 256);
      const timing *t = &first_load.image;
      printf ("%-28s %10.3f s %10.1f %12.0f %8.2f %8.2f  (%.2f-%.2f; F32 rows rounded to bf16)\n",
              "  first session, 256 patches", t->seconds, f / 1e9, f / t->seconds / 1e9,
              t->seconds / (f / (limit * 1e9)), t->paired, t->paired_lo, t->paired_hi);
    }
    if (info->weight_cache != SIGLIP_WEIGHT_CACHE_NONE)
      printf ("%-28s %10s     %s, %.3f MB on disk%s%s\n", "  weight cache", "",
              siglip_weight_cache_status_name (info->weight_cache),
              info->weight_cache_bytes / 1e6,
              info->weight_cache_path ? " at " : "",
              info->weight_cache_path ? info->weight_cache_path : "");
    if (cache_run.built)
      printf ("%-28s %10.3f s %25s %8.2f  (x read; once per model)\n", "  weight cache build",
              cache_run.build_s, "", cache_run.build_s / read_s);
    for (int i = 0; i < n_patches; i++) {
      const double f = image_flops (info, all_patches[i]);
      char what[64];
      snprintf (what, sizeof what, "image, %d patches", all_patches[i]);
      const timing *t = &image_t[i];
      printf ("%-28s %10.3f s %10.1f %12.0f %8.2f %8.2f  (%.2f-%.2f)\n", what, t->seconds,
              f / 1e9, f / t->seconds / 1e9, t->seconds / (f / (limit * 1e9)), t->paired,
              t->paired_lo, t->paired_hi);
    }
    for (int i = 0; i < 3; i++)
      if (have_label[i]) {
        const double f = label_flops (info);
        char what[64];
        snprintf (what, sizeof what, "per label, %d labels", all_labels[i]);
        const timing *t = &label_t[i];
        printf ("%-28s %10.4f s %10.1f %12.0f %8.2f %8.2f  (%.2f-%.2f)\n", what, t->seconds,
                f / 1e9, f / t->seconds / 1e9, t->seconds / (f / (limit * 1e9)), t->paired,
                t->paired_lo, t->paired_hi);
      }
    printf ("%-28s %10.3f s\n", "tokenizer load", tok_load_s);
    printf ("%-28s %10.1f us\n", "tokenizer encode per text", tok_encode_s * 1e6);
    printf ("%-28s %10.0f MB   (weights files %.0f MB)\n", "peak RSS", rss,
            info->weights_bytes / 1048576.0);
    printf ("\nfirst result in a fresh process (classify, 1 image, 3 labels, %s):\n", prec);
    printf ("%-28s %10.3f s\n", "siglens-cli classify", fresh.cli_s);
    printf ("%-28s %10.3f s = load %.3f + decode %.3f + image %.3f + 3 labels %.3f\n",
            "  its steps, timed apart", fresh.child_s, fresh.load_s, fresh.decode_s, fresh.image_s,
            fresh.labels_s);
    printf ("\nGEMM %d x %d x %d                 GFLOP/s  x FMA peak\n", gm, gn, gk);
    printf ("%-28s %10.0f %10.2f%s\n", "OpenBLAS sgemm (own threads)", sgemm, sgemm / pk.fma,
            peer_uncapped ? "  (its own kernels: SIGLIP_ISA does not cap them)" : "");
    printf ("%-28s %10.0f %10.2f\n", "siglip_linear fp32", lin32, lin32 / pk.fma);
    printf ("%-28s %10.0f %10.2f%s\n", "siglip_linear bf16", lin16, lin16 / pk.fma,
            pk.bf16 > 0 ? "" : "");
    if (pk.bf16 > 0 && siglip_gemm_bf16_is_native ())
      printf ("%-28s %10s %10.2f  (x bf16 peak)\n", "", "", lin16 / pk.bf16);
  }

  siglip_state_free (st);
  siglip_model_free (model);
  free (dir);
  return 0;
}
