/* st2gguf, GGUF input: requantize an F32/F16/BF16 GGUF into the file
 * llama_model_quantize would write (spec/gguf.md §5): the same tensor
 * order, the same per-tensor types, the same KVs in the same order, the
 * same bytes.
 *
 * Streaming: each tensor is converted in slabs of rows spread over the
 * threads; a thread preads a chunk of rows into its own buffer, widens
 * F16/BF16 to F32 in per-thread scratch and quantizes it.  Into a file of
 * our own, the thread pwrites its chunk where it belongs while the bytes
 * are still in its cache (the file was sized first; padding stays zero).
 * Otherwise (standard output) chunks are quantized into a slab and a writer
 * thread writes one slab while the next is computed.  Memory: the per-
 * thread buffers (and the two slabs).  (Input from a pipe was read into
 * memory by gguf_open; then the rows are taken from there.) */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>

#include "cli.h"
#include "dtype.h"
#include "ftype.h"
#include "gguf.h"
#include "imatrix.h"
#include "quant.h"
#include "st2gguf.h"
#include "threads.h"
#include "widen.h"

#define SLAB_BYTES	(32u << 20)	/* output bytes per slab */
#define CHUNK_FLOATS	(64u << 10)	/* floats per thread chunk (256 KiB): fewer system calls, still in L2 */

struct out_tensor {
	const struct gguf_tensor *in;
	int type;			/* output type */
	int n_dims;
	const float *imatrix;		/* ne[0] * ne[2] floats or NULL */
};

/* ---- the writer thread: writes slabs in order while the next is made ---- */

struct wjob {
	const void *data;
	size_t len;
	int buf;			/* slab buffer to release, or -1 */
	size_t drop_off, drop_len;	/* input range to drop from memory after */
};

struct writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wjob q[4];
	int head, count, stop, failed;
	int busy[2];
	struct gguf_writer *w;
	FILE *out;
	const struct qmap *map;
	struct qerr e;
};

static void *
writer_main(void *arg)
{
	struct writer *wr = arg;
	struct wjob j;

	for (;;) {
		pthread_mutex_lock(&wr->mu);
		while (wr->count == 0 && !wr->stop)
			pthread_cond_wait(&wr->cv, &wr->mu);
		if (wr->count == 0) {
			pthread_mutex_unlock(&wr->mu);
			return NULL;
		}
		j = wr->q[wr->head];
		pthread_mutex_unlock(&wr->mu);

		if (!wr->failed && gguf_w_write_data(wr->w, wr->out, j.data, j.len, &wr->e) < 0)
			wr->failed = 1;
		if (j.drop_len)
			qmap_dontneed(wr->map, j.drop_off, j.drop_len);

		pthread_mutex_lock(&wr->mu);
		wr->head = (wr->head + 1) % 4;
		wr->count--;
		if (j.buf >= 0)
			wr->busy[j.buf] = 0;
		pthread_cond_broadcast(&wr->cv);
		pthread_mutex_unlock(&wr->mu);
	}
}

static void
writer_submit(struct writer *wr, struct wjob j)
{
	pthread_mutex_lock(&wr->mu);
	while (wr->count == 4)
		pthread_cond_wait(&wr->cv, &wr->mu);
	wr->q[(wr->head + wr->count) % 4] = j;
	wr->count++;
	if (j.buf >= 0)
		wr->busy[j.buf] = 1;
	pthread_cond_broadcast(&wr->cv);
	pthread_mutex_unlock(&wr->mu);
}

/* A free slab buffer (waits for the writer to finish with one). */
static int
writer_free_buf(struct writer *wr)
{
	int b;

	pthread_mutex_lock(&wr->mu);
	while (wr->busy[0] && wr->busy[1])
		pthread_cond_wait(&wr->cv, &wr->mu);
	b = wr->busy[0] ? 1 : 0;
	pthread_mutex_unlock(&wr->mu);
	return b;
}

static void
writer_finish(struct writer *wr)
{
	pthread_mutex_lock(&wr->mu);
	wr->stop = 1;
	pthread_cond_broadcast(&wr->cv);
	pthread_mutex_unlock(&wr->mu);
	pthread_join(wr->th, NULL);
}

/* ---- converting a slab of rows ---- */

struct slab_job {
	const struct out_tensor *t;
	const unsigned char *src;	/* first row of the slab */
	unsigned char *dst;
	int64_t row0;			/* index of the slab's first row in the tensor */
	int64_t ne0, rows_per_expert;
	uint64_t src_row, dst_row;	/* bytes per row */
	float **scratch;		/* one per worker, CHUNK_FLOATS or ne0 floats */
	unsigned char **raw;		/* one per worker, as many bytes as scratch */
	int fd;				/* input file to pread from, or -1: use src */
	uint64_t file_off;		/* file offset of src */
	int mapped;			/* src is a file mapping: populate it */
	int out_fd;			/* with dst NULL: pwrite each chunk ... */
	uint64_t out_off;		/* ... here (the slab's first row) */
	unsigned char **obuf;		/* per worker: the chunk's output */
	int failed, err;
};

/* Source rows to F32: exact widening for F16/BF16, dequantization for
 * quantized types (--allow-requantize). */
static int
to_f32(int type, const unsigned char *src, float *dst, int64_t nrows, int64_t ne0)
{
	switch (type) {
	case QF_F32:
		memcpy(dst, src, (size_t)(nrows * ne0) * sizeof *dst);
		return 0;
	case QF_F16:
		widen_f16(src, dst, (size_t)(nrows * ne0));
		return 0;
	case QF_BF16:
		widen_bf16(src, dst, (size_t)(nrows * ne0));
		return 0;
	default:
		return qfmt_dequantize(type, src, dst, nrows, ne0, 1);
	}
}

/* F32 rows to the output type.  The float formats are not quantizers in
 * every build of the traits table, so they have their own path. */
static int
from_f32(int type, const float *src, unsigned char *dst, int64_t nrows, int64_t ne0,
    const float *imatrix)
{
	if (qfmt_table[type].quantize)
		return qfmt_quantize(type, src, dst, nrows, ne0, imatrix, 1);
	switch (type) {
	case QF_F32:
		memcpy(dst, src, (size_t)(nrows * ne0) * sizeof *src);
		return 0;
	case QF_F16:
		return qdtype_from_f32(QD_F16, src, dst, (size_t)(nrows * ne0));
	case QF_BF16:
		return qdtype_from_f32(QD_BF16, src, dst, (size_t)(nrows * ne0));
	default:
		return -1;
	}
}

/* Maps a chunk's input pages in one call rather than one fault per page
 * (Linux >= 5.14; elsewhere the faults just happen as the rows are read).
 * Each worker does its own chunks, so this is spread over the threads. */
static void
populate(const void *p, size_t len)
{
#ifdef __linux__
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095, b = (uintptr_t)p + len;

	(void)madvise((void *)a, b - a, 22 /* MADV_POPULATE_READ */);
#else
	(void)p; (void)len;
#endif
}

/* Whole transfers at an offset, retried after signals and short counts.
 * Reads: the kernel copies from the page cache through its own mapping,
 * cheaper than faulting the file into ours, and the chunk lands in this
 * thread's cache.  A short read means the file shrank under us. */
static int
transfer_at(int fd, unsigned char *buf, size_t len, uint64_t off, int writing)
{
	while (len > 0) {
		ssize_t r = writing ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int
read_at(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	return transfer_at(fd, buf, len, off, 0);
}

static int
write_at(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
	return transfer_at(fd, (unsigned char *)buf, len, off, 1);
}

static void
slab_body(void *ctx, size_t b, size_t e, int worker)
{
	struct slab_job *j = ctx;
	const struct out_tensor *t = j->t;
	float *scratch = j->scratch[worker];

	while (b < e) {
		int64_t row = j->row0 + (int64_t)b;
		int64_t expert = row / j->rows_per_expert;
		/* a chunk never crosses an expert: each has its own imatrix */
		int64_t n = (int64_t)e - (int64_t)b, left = (expert + 1) * j->rows_per_expert - row;
		const float *rows;
		const unsigned char *src;
		unsigned char *dst;
		const float *im = t->imatrix ? t->imatrix + expert * j->ne0 : NULL;

		if (n > left)
			n = left;
		if (j->fd >= 0) {
			if (read_at(j->fd, j->raw[worker], (size_t)n * j->src_row,
			    j->file_off + b * j->src_row) < 0) {
				j->failed = 2;
				return;
			}
			src = j->raw[worker];
		} else {
			src = j->src + b * j->src_row;
			if (j->mapped)
				populate(src, (size_t)n * j->src_row);
		}
		if (t->in->type == QF_F32) {
			rows = (const float *)src;
		} else {
			if (to_f32((int)t->in->type, src, scratch, n, j->ne0) < 0) {
				j->failed = 1;
				return;
			}
			rows = scratch;
		}
		dst = j->dst ? j->dst + b * j->dst_row : j->obuf[worker];
		if (from_f32(t->type, rows, dst, n, j->ne0, im) < 0) {
			j->failed = 1;
			return;
		}
		if (!j->dst && write_at(j->out_fd, dst, (size_t)n * j->dst_row,
		    j->out_off + b * j->dst_row) < 0) {
			j->err = errno;
			j->failed = 3;
			return;
		}
		b += (size_t)n;
	}
}

/* ---- the plan ---- */

static const char *
kv_str(const struct gguf_file *g, const char *key)
{
	return gguf_kv_str(gguf_find_kv(g, key));
}

/* A per-model integer KV; arrays (per-layer values) give element 0. */
static int
kv_arch_int(const struct gguf_file *g, const char *arch, const char *suffix, int dflt)
{
	char key[256];
	const struct gguf_kv *kv;
	int64_t v;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	kv = gguf_find_kv(g, key);
	if (!kv)
		return dflt;
	if (kv->is_array && kv->n > 0) {
		struct gguf_kv first = *kv;

		first.is_array = 0;
		first.n = 1;
		if (gguf_kv_int(&first, &v) == 0)
			return (int)v;
		return dflt;
	}
	return gguf_kv_int(kv, &v) == 0 && v >= 0 && v <= 1 << 20 ? (int)v : dflt;
}

static int
cmp_by_name(const void *a, const void *b)
{
	return ftype_tensor_cmp((*(const struct gguf_tensor *const *)a)->name,
	    (*(const struct gguf_tensor *const *)b)->name);
}

static int
is_float_type(int t)
{
	return t == QF_F32 || t == QF_F16 || t == QF_BF16;
}

/* Copies the input KVs as ggml's gguf_set_kv does (strings end at their
 * first NUL), then the keys llama_model_quantize sets, each removed first
 * so that it moves to the end as ggml's set does. */
static void
write_kvs(struct gguf_writer *w, const struct gguf_file *g, const struct st2gguf_opts *o,
    const struct imatrix *im)
{
	static const char *const split_keys[] = { "split.no", "split.count", "split.tensors.count" };
	uint32_t u;

	for (size_t i = 0; i < g->n_kvs; i++) {
		const struct gguf_kv *kv = &g->kvs[i];
		int rc;

		if (kv->type == GGUF_T_STRING && !kv->is_array)
			rc = gguf_w_set_str(w, kv->key, kv->str[0]);
		else if (kv->type == GGUF_T_STRING)
			rc = gguf_w_set_arr_str(w, kv->key, kv->n, (const char *const *)kv->str, NULL);
		else if (kv->is_array)
			rc = gguf_w_set_arr(w, kv->key, kv->type, kv->n, kv->data);
		else
			rc = gguf_w_set(w, kv->key, kv->type, kv->data);
		if (rc < 0)
			cli_die("%s: %s: cannot copy this key", o->input, kv->key);
	}
	u = 2;	/* GGML_QNT_VERSION */
	gguf_w_remove(w, "general.quantization_version");
	gguf_w_set(w, "general.quantization_version", GGUF_T_UINT32, &u);
	u = (uint32_t)o->ftype;
	gguf_w_remove(w, "general.file_type");
	gguf_w_set(w, "general.file_type", GGUF_T_UINT32, &u);
	for (size_t i = 0; i < sizeof split_keys / sizeof *split_keys; i++)
		gguf_w_remove(w, split_keys[i]);
	if (im && imatrix_set_quantize_kvs(w, im, o->imatrix, im->n_entries) < 0)
		cli_die("out of memory");
}

/* Chooses every tensor's type and checks that it can be made. */
static struct out_tensor *
plan(const struct gguf_file *g, const struct st2gguf_opts *o, const struct imatrix *im)
{
	struct ftype_chooser c;
	struct ftype_model m;
	struct ftype_rule rules[MAX_TENSOR_TYPES];
	struct out_tensor *t = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *t);
	size_t *order = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *order);
	const char **names = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *names);
	struct qerr e;

	if (!t || !order || !names)
		cli_die("out of memory");
	memset(&m, 0, sizeof m);
	m.arch = kv_str(g, "general.architecture");
	if (!m.arch)
		cli_die("%s: general.architecture: missing (llama.cpp cannot load this model)", o->input);
	m.n_layer = kv_arch_int(g, m.arch, "block_count", -1);
	if (m.n_layer < 0)
		cli_die("%s: %s.block_count: missing or invalid", o->input, m.arch);
	m.n_head = kv_arch_int(g, m.arch, "attention.head_count", 0);
	m.n_head_kv = kv_arch_int(g, m.arch, "attention.head_count_kv", m.n_head);
	m.n_expert = kv_arch_int(g, m.arch, "expert_count", 0);

	{
		const struct gguf_tensor **by_name = malloc((g->n_tensors + 1) * sizeof *by_name);

		if (!by_name)
			cli_die("out of memory");
		for (size_t i = 0; i < g->n_tensors; i++)
			by_name[i] = &g->tensors[i];
		qsort(by_name, g->n_tensors, sizeof *by_name, cmp_by_name);
		for (size_t i = 0; i < g->n_tensors; i++) {
			order[i] = (size_t)(by_name[i] - g->tensors);
			names[i] = by_name[i]->name;
		}
		free(by_name);
	}

	memset(&c, 0, sizeof c);
	c.ftype = o->ftype;
	c.default_type = o->default_type;
	c.pure = o->pure;
	c.leave_output = !o->quantize_output_tensor;
	c.has_imatrix = im != NULL;
	c.output_tensor_type = o->output_tensor_type;
	c.token_embedding_type = o->token_embedding_type;
	for (int i = 0; i < o->n_rules; i++)
		if (ftype_rule_compile(&rules[i], o->rules[i].pattern, o->rules[i].type, &e) < 0)
			cli_usage_error("%s", e.msg);
	c.rules = rules;
	c.n_rules = o->n_rules;
	ftype_chooser_init(&c, &m, names, g->n_tensors);

	for (size_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *in = &g->tensors[order[i]];
		struct out_tensor *ot = &t[i];
		int block;

		ot->in = in;
		ot->n_dims = ftype_ggml_n_dims((const int64_t *)in->ne);
		ot->type = ftype_choose(&c, in->name, ot->n_dims, (const int64_t *)in->ne, (int)in->type, &e);
		if (ot->type < 0)
			cli_die("%s: %s", o->input, e.msg);
		if (ot->type == (int)in->type)
			continue;	/* copied as stored */
		if (!is_float_type((int)in->type)) {
			if (!qfmt_is_valid((int)in->type) || qfmt_table[in->type].block == 1 || !o->allow_requantize)
				cli_die("%s: %s: already %s; requantizing needs --allow-requantize", o->input,
				    in->name, qfmt_is_valid((int)in->type) ? qfmt_table[in->type].name : "?");
			if (!qfmt_table[in->type].dequantize)
				cli_die("%s: %s: cannot dequantize %s", o->input, in->name, qfmt_table[in->type].name);
		}
		block = qfmt_table[ot->type].block;
		if (in->ne[0] % (uint64_t)block)
			cli_die("%s: %s: row length %llu is not a multiple of %s's block of %d", o->input,
			    in->name, (unsigned long long)in->ne[0], qfmt_table[ot->type].name, block);
		if (!qfmt_table[ot->type].quantize && !is_float_type(ot->type))
			cli_die("%s: %s: quantizing to %s is not supported", o->input, in->name,
			    qfmt_table[ot->type].name);
		if (im) {
			const struct imatrix_entry *ie = imatrix_find(im, in->name);
			uint64_t n = ie ? ie->n : 0;

			if (ie && n == in->ne[0] * in->ne[2])
				ot->imatrix = ie->values;
			else if (ie && strcmp(in->name, "token_embd.weight") != 0 &&
			    strcmp(in->name, "per_layer_token_embd.weight") != 0)
				cli_die("%s: %s: %llu values, the tensor needs %llu", o->imatrix,
				    in->name, (unsigned long long)n, (unsigned long long)(in->ne[0] * in->ne[2]));
		}
		if (!ot->imatrix && (ftype_requires_imatrix(in->name, ot->type, o->ftype) ||
		    qfmt_table[ot->type].needs_imatrix))
			cli_die("%s: %s: %s needs an importance matrix (--imatrix)", o->input, in->name,
			    qfmt_table[ot->type].name);
	}
	for (int i = 0; i < o->n_rules; i++)
		ftype_rule_free(&rules[i]);
	free(order);
	free(names);
	return t;
}

/* ---- the run ---- */


/* Slab memory mapped with its pages already present: one call instead of a
 * page fault per 4 KiB as the first slabs are filled (faults are the
 * dearest thing here on virtual machines). */
static unsigned char *
slab_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
slab_free(unsigned char *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* What the conversion of every tensor shares. */
struct workspace {
	unsigned char *bufs[2];		/* slabs of output */
	float **scratch;		/* per worker: F32 rows */
	unsigned char **raw;		/* per worker: input rows read with pread */
	unsigned char **obuf;		/* per worker: output rows to pwrite */
	int fd;				/* the input, or -1 (read from the map) */
	int out_fd;			/* the output file to pwrite, or -1: slabs */
	const char *out_name;
	int jobs;
};

static void
convert_tensor(const struct out_tensor *t, const struct gguf_file *g, struct writer *wr,
    const struct workspace *ws, struct cli_progress *pr, const char *input, uint64_t out_off)
{
	const struct gguf_tensor *in = t->in;
	const int64_t ne0 = (int64_t)in->ne[0];
	const int64_t nrows = (int64_t)(in->ne[1] * in->ne[2] * in->ne[3]);
	const uint64_t src_row = in->nbytes / (uint64_t)(nrows ? nrows : 1);
	const uint64_t dst_row = qfmt_row_size(t->type, ne0);
	int64_t slab_rows = (int64_t)(SLAB_BYTES / (dst_row ? dst_row : 1));
	size_t grain = CHUNK_FLOATS / (size_t)ne0;

	if (slab_rows < 1)
		slab_rows = 1;
	if (grain < 1)
		grain = 1;
	for (int64_t r = 0; r < nrows; r += slab_rows) {
		int64_t n = nrows - r < slab_rows ? nrows - r : slab_rows;
		int b = ws->out_fd >= 0 ? -1 : writer_free_buf(wr);
		uint64_t off = g->data_start + in->offset + (uint64_t)r * src_row;
		struct slab_job j = { t, in->data + (uint64_t)r * src_row, b >= 0 ? ws->bufs[b] : NULL,
			r, ne0, (int64_t)in->ne[1], src_row, dst_row, ws->scratch, ws->raw, ws->fd, off,
			g->map.mapped, ws->out_fd, out_off + (uint64_t)r * dst_row, ws->obuf, 0, 0 };

		qpool_for(ws->jobs, (size_t)n, grain, slab_body, &j);
		if (j.failed == 2)
			cli_die("%s: %s: read error", input, in->name);
		if (j.failed == 3)
			cli_die("%s: write: %s", ws->out_name, strerror(j.err ? j.err : EIO));
		if (j.failed)
			cli_die("%s: %s: converting %s to %s failed", input, in->name,
			    qfmt_table[in->type].name, qfmt_table[t->type].name);
		if (b >= 0) {
			/* pages faulted in through the map are dropped once written */
			struct wjob wj = { ws->bufs[b], (size_t)((uint64_t)n * dst_row), b,
				(size_t)off, ws->fd < 0 ? (size_t)((uint64_t)n * src_row) : 0 };

			writer_submit(wr, wj);
		}
		cli_progress_add(pr, (uint64_t)n * src_row);
	}
}

/* A tensor kept as it is, from the input file to its place in the output. */
static void
copy_tensor(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off, uint64_t len,
    unsigned char *buf, size_t buflen, const char *input, const char *name, const char *output)
{
	while (len > 0) {
		size_t n = len < buflen ? (size_t)len : buflen;

		if (read_at(in_fd, buf, n, in_off) < 0)
			cli_die("%s: %s: read error", input, name);
		if (write_at(out_fd, buf, n, out_off) < 0)
			cli_die("%s: write: %s", output, strerror(errno ? errno : EIO));
		len -= n;
		in_off += n;
		out_off += n;
	}
}

int
st2gguf_requant(const struct st2gguf_opts *o)
{
	struct gguf_file g;
	struct imatrix imstore, *im = NULL;
	struct out_tensor *t;
	struct gguf_writer *w;
	struct cli_out out;
	struct writer wr;
	struct cli_progress pr;
	struct qerr e;
	struct workspace ws;
	uint64_t total = 0;
	int64_t max_ne0 = 1;

	if (gguf_open(&g, o->input, &e) < 0)
		cli_die_err(&e);
	if (g.alignment != GGUF_DEFAULT_ALIGNMENT)
		cli_die("%s: general.alignment %u: llama-quantize writes %d-byte alignment whatever the "
		    "input says, so this file cannot be reproduced", o->input, g.alignment,
		    GGUF_DEFAULT_ALIGNMENT);
	if (o->imatrix) {
		if (imatrix_load(&imstore, o->imatrix, &e) < 0)
			cli_die_err(&e);
		im = &imstore;
		/* llama_model_quantize refuses the whole matrix for one bad value */
		for (size_t i = 0; i < im->n_entries; i++)
			for (uint64_t k = 0; k < im->entries[i].n; k++)
				if (!isfinite(im->entries[i].values[k]))
					cli_die("%s: %s: value %llu is not finite", o->imatrix,
					    im->entries[i].name, (unsigned long long)k);
	}
	t = plan(&g, o, im);

	w = gguf_writer_new();
	if (!w)
		cli_die("out of memory");
	write_kvs(w, &g, o, im);
	for (size_t i = 0; i < g.n_tensors; i++) {
		if (gguf_w_add_tensor(w, t[i].in->name, (uint32_t)t[i].type, t[i].n_dims,
		    t[i].in->ne, &e) < 0)
			cli_die("%s: %s", o->input, e.msg);
		if (t[i].type != (int)t[i].in->type) {
			total += t[i].in->nbytes;
			if ((int64_t)t[i].in->ne[0] > max_ne0)
				max_ne0 = (int64_t)t[i].in->ne[0];
		}
	}

	cli_out_open(&out, o->output, 1);
	if (gguf_w_write_header(w, out.f, &e) < 0)
		cli_die("%s: %s", o->output ? o->output : "standard output", e.msg);
	if (fflush(out.f) != 0)
		cli_die("%s: write: %s", o->output ? o->output : "standard output", strerror(errno));

	memset(&ws, 0, sizeof ws);
	ws.jobs = o->jobs;
	/* a mapped input is read with pread (see read_at); a pipe was read
	 * into memory by gguf_open */
	ws.fd = g.map.mapped ? open(o->input, O_RDONLY | O_CLOEXEC) : -1;
	/* our own temporary file (not standard output, which may be a pipe or
	 * opened for appending) is sized now and filled in place */
	ws.out_fd = -1;
	if (out.tmp && ws.fd >= 0) {
		if (ftruncate(fileno(out.f), (off_t)gguf_w_total_size(w)) != 0)
			cli_die("%s: %s", o->output, strerror(errno));
		ws.out_fd = fileno(out.f);
		ws.out_name = o->output;
	}
	ws.scratch = calloc((size_t)o->jobs, sizeof *ws.scratch);
	ws.raw = calloc((size_t)o->jobs, sizeof *ws.raw);
	ws.obuf = calloc((size_t)o->jobs, sizeof *ws.obuf);
	if (!ws.scratch || !ws.raw || !ws.obuf)
		cli_die("out of memory");
	if (ws.out_fd < 0) {
		ws.bufs[0] = slab_alloc(SLAB_BYTES + (size_t)max_ne0 * 8);
		ws.bufs[1] = slab_alloc(SLAB_BYTES + (size_t)max_ne0 * 8);
		if (!ws.bufs[0] || !ws.bufs[1])
			cli_die("out of memory");
	}
	for (int i = 0; i < o->jobs; i++) {
		size_t n = CHUNK_FLOATS > (size_t)max_ne0 ? CHUNK_FLOATS : (size_t)max_ne0;

		/* 4 bytes per element is the most any output type takes */
		if (!(ws.scratch[i] = malloc(n * sizeof(float))) || !(ws.raw[i] = malloc(n * sizeof(float))) ||
		    (ws.out_fd >= 0 && !(ws.obuf[i] = malloc(n * sizeof(float)))))
			cli_die("out of memory");
	}

	memset(&wr, 0, sizeof wr);
	if (ws.out_fd < 0) {
		pthread_mutex_init(&wr.mu, NULL);
		pthread_cond_init(&wr.cv, NULL);
		wr.w = w;
		wr.out = out.f;
		wr.map = &g.map;
		if (pthread_create(&wr.th, NULL, writer_main, &wr) != 0)
			cli_die("cannot start the writer thread");
	}

	cli_progress_start(&pr, "requantizing", total, o->quiet);
	for (size_t i = 0; i < g.n_tensors; i++) {
		const struct gguf_tensor *in = t[i].in;
		uint64_t out_off = ws.out_fd >= 0 ? gguf_w_data_offset(w, i) : 0;

		if (i + 1 < g.n_tensors)
			qmap_willneed(&g.map, g.data_start + t[i + 1].in->offset, t[i + 1].in->nbytes);
		if (t[i].type != (int)in->type) {
			convert_tensor(&t[i], &g, &wr, &ws, &pr, o->input, out_off);
		} else if (ws.out_fd >= 0) {
			size_t n = CHUNK_FLOATS > (size_t)max_ne0 ? CHUNK_FLOATS : (size_t)max_ne0;

			copy_tensor(ws.fd, g.data_start + in->offset, ws.out_fd, out_off, in->nbytes,
			    ws.raw[0], n * sizeof(float), o->input, in->name, o->output);
		} else {
			struct wjob wj = { in->data, in->nbytes, -1,
				g.data_start + in->offset, in->nbytes };

			writer_submit(&wr, wj);
		}
		if (wr.failed)
			break;
	}
	cli_progress_end(&pr);
	if (ws.out_fd < 0) {
		writer_finish(&wr);
		if (wr.failed || gguf_w_finish(w, out.f, &wr.e) < 0)
			cli_die("%s: %s", o->output ? o->output : "standard output", wr.e.msg);
	}
	cli_out_commit(&out);

	for (int i = 0; i < o->jobs; i++) {
		free(ws.scratch[i]);
		free(ws.raw[i]);
		free(ws.obuf[i]);
	}
	free(ws.scratch);
	free(ws.raw);
	free(ws.obuf);
	slab_free(ws.bufs[0], SLAB_BYTES + (size_t)max_ne0 * 8);
	slab_free(ws.bufs[1], SLAB_BYTES + (size_t)max_ne0 * 8);
	if (ws.fd >= 0)
		close(ws.fd);
	free(t);
	gguf_writer_free(w);
	if (im)
		imatrix_free(im);
	gguf_close(&g);
	cli_close_stdout();
	return 0;
}
