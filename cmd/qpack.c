/* qpack: quantize and pack a float checkpoint into a layout that loaders
 * accept (compressed-tensors, AWQ, GPTQ, FP8, Quark), or unpack any of them
 * back to float with --dequant. */
#define _GNU_SOURCE	/* asprintf */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib.h"
#include "ckpt.h"
#include "gptq.h"
#include "cli.h"
#include "layout.h"
#include "packed.h"
#include "qblock.h"
#include "qparams.h"
#include "smooth.h"
#include "threads.h"
#include "wsel.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: qpack [-f format] [-g size | --per-channel | --per-tensor | --block RxC]\n"
	    "             [--sym | --asym] [-m method] [-p qparams] [--layout layout]\n"
	    "             [--captures file] [--damp f] [--act-order] [--static-groups]\n"
	    "             [--pack-method reorder|order] [--include pattern] [--exclude pattern]\n"
	    "             [--max-shard-size size] [-j jobs] [-q] input -o outdir\n"
	    "       qpack --dequant [--dtype F32|BF16|F16] [-j jobs] [-q] input -o output\n"
	    "\n"
	    "input: a .safetensors file or a checkpoint folder (one file or shards).\n"
	    "\n"
	    "  --layout name    compressed-tensors (default), awq, gptq, fp8, quark\n"
	    "  -f format        int4 (default), uint4, int8, uint8, fp8_e4m3, fp8_e5m2\n"
	    "  -g size          group size along the input dimension (default 128 for\n"
	    "                   4-bit; 8-bit and fp8 default to per channel / per tensor)\n"
	    "  --per-channel, --per-tensor, --block RxC   other granularities\n"
	    "  --sym, --asym    symmetric or with zero points (awq: asym by default)\n"
	    "  -m method        scales: minmax (default), mse, percentile; or gptq\n"
	    "  --captures file  gptq: sampled inputs, W.input F32 [n, in] per weight W\n"
	    "  --damp f         gptq: damping, a fraction of the mean diagonal (0.01)\n"
	    "  --act-order      gptq: columns by decreasing activation energy (desc_act);\n"
	    "                   groups then follow that order, recorded in g_idx\n"
	    "  --static-groups  gptq: group scales from the original weights, groups\n"
	    "                   contiguous (no g_idx needed: awq, quark can hold it)\n"
	    "  -p qparams       use the scales of a qcalib file; quantize its tensors only;\n"
	    "                   a --bits-budget plan's tensors keep their own schemes\n"
	    "                   (compressed-tensors: a config group each; quark:\n"
	    "                   layer_quant_config; gptq: dynamic; awq, fp8: one)\n"
	    "  --pack-method    quark's int4 nibble order: reorder (default) or order\n"
	    "  --include PAT    quantize matching tensors even if excluded by default\n"
	    "  --exclude PAT    leave matching tensors in float (lm_head, embed, norm are)\n"
	    "  --max-shard-size size   split the output (default 4G)\n"
	    "  --dequant        unpack a quantized checkpoint to float\n"
	    "  --dtype type     --dequant's float type (default F32)\n"
	    "  -o output        a folder; with --dequant also a .safetensors file or -\n"
	    "  -j jobs          threads (default: all cores)\n"
	    "  -q               no progress display, no notes\n"
	    "  --help, --version\n");
}

enum { OPT_SYM = 256, OPT_ASYM, OPT_PCH, OPT_PT, OPT_BLOCK, OPT_LAYOUT, OPT_PACK, OPT_INC,
	OPT_EXC, OPT_SHARD, OPT_DEQ, OPT_DTYPE, OPT_CAPT, OPT_DAMP, OPT_ACT, OPT_STATIC, OPT_HELP,
	OPT_VERSION };

static const struct option longopts[] = {
	{ "sym", no_argument, NULL, OPT_SYM }, { "asym", no_argument, NULL, OPT_ASYM },
	{ "per-channel", no_argument, NULL, OPT_PCH }, { "per-tensor", no_argument, NULL, OPT_PT },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "layout", required_argument, NULL, OPT_LAYOUT },
	{ "pack-method", required_argument, NULL, OPT_PACK },
	{ "include", required_argument, NULL, OPT_INC }, { "exclude", required_argument, NULL, OPT_EXC },
	{ "max-shard-size", required_argument, NULL, OPT_SHARD },
	{ "dequant", no_argument, NULL, OPT_DEQ }, { "dtype", required_argument, NULL, OPT_DTYPE },
	{ "captures", required_argument, NULL, OPT_CAPT }, { "damp", required_argument, NULL, OPT_DAMP },
	{ "act-order", no_argument, NULL, OPT_ACT }, { "static-groups", no_argument, NULL, OPT_STATIC },
	{ "help", no_argument, NULL, OPT_HELP }, { "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* What main was asked to do; main completes it (default_scheme) before the
 * work starts, and the work only reads it. */
struct options {
	struct qscheme s;
	int gran_set;
	struct calib_opts co;
	struct ql_opts lo;
	struct wsel sel;
	const char *qparams, *out;
	uint64_t shard_max;
	int jobs, quiet, dequant, gptq;
	enum qdtype dtype;
	const char *captures;
	double damp;
	int act_order, static_groups;
	enum ql_act_order act;		/* what the config says */
};

/* One run of qpack, made by main and handed to what needs it (so that no
 * state hides at file scope): main's options, the layout options that
 * packing completes from the checkpoint, and the --captures file. */
struct qpack_run {
	const struct options *opt;
	struct ql_opts lo;	/* opt->lo, with the model's dtype once pack() has seen it */
	struct st_file capt;	/* -m gptq's sampled inputs, open while packing */
};

/* One tensor of the output: a copy of an input tensor, a part of a packed
 * weight, or (--dequant) an unpacked weight. */
struct item {
	char *name;
	enum qdtype dtype;
	int ndim;
	uint64_t shape[ST_MAX_DIMS];
	uint64_t bytes;
	size_t src;		/* input tensor index */
	int part;		/* -1: copy; >= 0: part of the packed src; -2: unpacked src */
	int shard;
};

struct plan {
	struct item *items;
	size_t n, cap;
	int n_shards;
	uint64_t total;
	const struct ql_config *deq;	/* --dequant: the layout of the packed modules */
};

static void
plan_add(struct plan *p, const char *name, enum qdtype dt, int ndim, const uint64_t *shape,
    uint64_t bytes, size_t src, int part)
{
	struct item *it;

	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		if ((p->items = realloc(p->items, p->cap * sizeof *p->items)) == NULL)
			cli_die("out of memory");
	}
	it = &p->items[p->n++];
	memset(it, 0, sizeof *it);
	if ((it->name = strdup(name)) == NULL)
		cli_die("out of memory");
	it->dtype = dt;
	it->ndim = ndim;
	memcpy(it->shape, shape, (size_t)ndim * sizeof *shape);
	it->bytes = bytes;
	it->src = src;
	it->part = part;
	p->total += bytes;
}

/* Shards at a byte budget, never splitting the items of one source tensor. */
static void
plan_shards(struct plan *p, uint64_t shard_max)
{
	uint64_t used = 0;
	int shard = 0;

	for (size_t i = 0; i < p->n;) {
		size_t j = i;
		uint64_t b = 0;

		while (j < p->n && p->items[j].src == p->items[i].src)
			b += p->items[j++].bytes;
		if (used > 0 && used + b > shard_max) {
			shard++;
			used = 0;
		}
		for (; i < j; i++)
			p->items[i].shard = shard;
		used += b;
	}
	p->n_shards = shard + 1;
}

static char *
shard_name(const struct plan *p, int k)
{
	char *s;

	if (p->n_shards == 1)
		s = strdup("model.safetensors");
	else if (asprintf(&s, "model-%05d-of-%05d.safetensors", k + 1, p->n_shards) < 0)
		s = NULL;
	if (s == NULL)
		cli_die("out of memory");
	return s;
}

static char *
path_join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s/%s", dir, name) < 0)
		cli_die("out of memory");
	return s;
}

static void
write_json_file(const char *dir, const char *name, const cJSON *j)
{
	char *path = path_join(dir, name), *text = cJSON_Print(j);
	FILE *f = fopen(path, "w");

	if (text == NULL || f == NULL || fputs(text, f) == EOF || fputc('\n', f) == EOF ||
	    fclose(f) != 0)
		cli_die("%s: %s", path, strerror(errno));
	free(text);
	free(path);
}

/* Copies the other files of an HF folder (tokenizer, generation config...). */
static void
copy_other_files(const struct ckpt *ck, const char *outdir)
{
	DIR *d;
	struct dirent *de;

	if (ck->dir == NULL || (d = opendir(ck->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		char *src, *dst;
		struct stat st;
		FILE *in, *out;
		char buf[65536];
		size_t k;

		if (n[0] == '.' || strcmp(n, "config.json") == 0 || strcmp(n, "quantize_config.json") == 0 ||
		    (len > 12 && strcmp(n + len - 12, ".safetensors") == 0) ||
		    (ck->index && strcmp(n, ck->index) == 0) ||
		    (len > 11 && strcmp(n + len - 11, ".index.json") == 0))
			continue;
		src = path_join(ck->dir, n);
		if (stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(src);
			continue;
		}
		dst = path_join(outdir, n);
		if ((in = fopen(src, "rb")) == NULL || (out = fopen(dst, "wb")) == NULL)
			cli_die("%s: %s", in ? dst : src, strerror(errno));
		while ((k = fread(buf, 1, sizeof buf, in)) > 0)
			if (fwrite(buf, 1, k, out) != k)
				cli_die("%s: %s", dst, strerror(errno));
		if (ferror(in))
			cli_die("%s: %s", src, strerror(errno));
		fclose(in);
		if (fclose(out) != 0)
			cli_die("%s: %s", dst, strerror(errno));
		free(src);
		free(dst);
	}
	closedir(d);
}

static void
write_index(const struct plan *p, const char *dir)
{
	cJSON *j = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(j, "metadata"),
	    *map = cJSON_AddObjectToObject(j, "weight_map");

	cJSON_AddNumberToObject(meta, "total_size", (double)p->total);
	for (size_t i = 0; i < p->n; i++) {
		char *s = shard_name(p, p->items[i].shard);

		cJSON_AddStringToObject(map, p->items[i].name, s);
		free(s);
	}
	write_json_file(dir, "model.safetensors.index.json", j);
	cJSON_Delete(j);
}

static void unpack_write(const struct item *it, const struct ckpt *ck,
    const struct ql_config *cfg, enum qdtype dtype, struct st_writer *w, FILE *f, const char *path);

/* ---------------- packing ---------------- */

struct packjob {
	const struct st_tensor *t;
	const struct qp_entry *qe;	/* -p entry, or NULL */
	const struct smooth_fold *fold;	/* -p smoothing to apply to it, or NULL */
	struct qscheme s;
	struct qgrid g;
	enum ql_act_order act;		/* GPTQ's column order, as the config says */
	int quantize;
};

static void
default_scheme(struct options *opt)
{
	if (opt->s.fmt == QF_COUNT)
		opt->s.fmt = opt->lo.layout == QL_FP8 ? QF_FP8_E4M3 : QF_INT4;
	if (qblock_info(opt->s.fmt)) {	/* its own group, no zero point */
		if (opt->gran_set && !(opt->s.gran == QG_GROUP && opt->s.group == qblock_info(opt->s.fmt)->group))
			cli_usage_error("%s has groups of %d", qblock_info(opt->s.fmt)->name,
			    qblock_info(opt->s.fmt)->group);
		opt->s.gran = QG_GROUP, opt->s.group = qblock_info(opt->s.fmt)->group;
		opt->s.sym = !qblock_info(opt->s.fmt)->has_min;
		opt->gran_set = 1;
	}
	if (opt->s.sym < 0)
		opt->s.sym = linq_is_float(opt->s.fmt) ? 1 : opt->lo.layout == QL_AWQ ? 0 :
		    !(opt->s.fmt == QF_UINT4 || opt->s.fmt == QF_UINT8);
	if (!opt->gran_set) {
		if (linq_is_float(opt->s.fmt)) {
			opt->s.gran = QG_TENSOR;
		} else if (linq_bits(opt->s.fmt) == 4 || opt->lo.layout == QL_AWQ ||
		    opt->lo.layout == QL_GPTQ) {
			opt->s.gran = QG_GROUP;
			opt->s.group = 128;
		} else {
			opt->s.gran = QG_CHANNEL;
			opt->s.axis = 0;
		}
	}
	if (linq_is_float(opt->s.fmt) && !opt->s.sym)
		cli_usage_error("%s has no zero point: --asym does not apply", qfmt_table[opt->s.fmt].name);
}

static void
module_name(const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);

	if (n > 7 && strcmp(name + n - 7, ".weight") == 0)
		n -= 7;
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, name, n);
	buf[n] = 0;
}

static void
pack_one(const struct qpack_run *run, const struct packjob *j, struct ql_packed *pk,
    const char *input)
{
	const struct options *opt = run->opt;
	struct qerr e;
	float *x, *scale;
	int32_t *zp = NULL, *q;
	size_t nc = (size_t)linq_ncells(&j->g), n = (size_t)j->t->nelem;

	if (wsel_load_f32(j->t, &x, &e) < 0)
		cli_die("%s: %s", input, e.msg);
	if (j->fold)	/* W diag(s), rows divided by the next weight's s */
		smooth_fold_apply(j->fold, x, j->g.rows, j->g.cols);
	if (qblock_info(j->s.fmt)) {	/* nvfp4, mxfp4: their own scales and packing */
		struct qparams tmp = { 0 };
		struct qp_entry *w = qparams_add(&tmp, j->t->name, &j->s, j->t->ndim, j->t->shape, &e);

		if (w == NULL || (q = malloc(n * sizeof *q)) == NULL)
			cli_die("%s: %s: %s", input, j->t->name, w ? "out of memory" : e.msg);
		if (j->qe) {
			memcpy(w->scale, j->qe->scale, nc * sizeof *w->scale);
			w->global_scale = j->qe->global_scale;
		} else if (qparams_choose(w, x, &opt->co, opt->jobs, &e) < 0) {
			cli_die("%s: %s: %s", input, j->t->name, e.msg);
		}
		qparams_codes(w, x, q, opt->jobs);
		if (ql_fp4_pack(w, q, pk, &e) < 0)
			cli_die("%s: %s: %s", input, j->t->name, e.msg);
		qparams_free(&tmp);
		free(q);
		free(x);
		return;
	}
	scale = malloc(nc * sizeof *scale);
	if (!j->s.sym)
		zp = malloc(nc * sizeof *zp);
	q = malloc(n * sizeof *q);
	if (scale == NULL || q == NULL || (!j->s.sym && zp == NULL))
		cli_die("out of memory");
	if (opt->gptq) {
		char cname[1100];
		const struct st_tensor *ct;

		snprintf(cname, sizeof cname, "%s.input", j->t->name);
		ct = st_find(&run->capt, cname);
		if (ct == NULL || ct->dtype != QD_F32 || ct->ndim != 2 ||
		    ct->shape[1] != (uint64_t)j->g.cols || ct->shape[0] == 0)
			cli_die("%s: %s: F32 [n, %lld] expected%s", opt->captures, cname,
			    (long long)j->g.cols, ct ? "" : ", absent");
		{
			float *xin = malloc((size_t)ct->nelem * sizeof *xin);
			int32_t *g_idx = malloc((size_t)j->g.cols * sizeof *g_idx);
			struct gptq_opts go;

			if (xin == NULL || g_idx == NULL)
				cli_die("out of memory");
			memcpy(xin, ct->data, (size_t)ct->nelem * sizeof *xin);	/* aligned copy */
			gptq_defaults(&go);
			go.damp = opt->damp;
			go.act_order = opt->act_order;
			go.static_groups = opt->static_groups;
			go.jobs = opt->jobs;
			if (gptq_run(&j->s, &j->g, x, xin, (int64_t)ct->shape[0], &go, &opt->co, &run->lo,
			    scale, zp, q, g_idx, &e) < 0)
				cli_die("%s: %s: %s", input, j->t->name, e.msg);
			if (ql_pack_gidx(&run->lo, &j->s, &j->g, j->act, q, scale, zp,
			    j->s.gran == QG_GROUP ? g_idx : NULL, pk, &e) < 0)
				cli_die("%s: %s: %s", input, j->t->name, e.msg);
			free(xin);
			free(g_idx);
		}
		free(x);
		free(scale);
		free(zp);
		free(q);
		return;
	}
	if (j->qe) {
		memcpy(scale, j->qe->scale, nc * sizeof *scale);
		if (zp)
			memcpy(zp, j->qe->zp, nc * sizeof *zp);
	} else if (calib_choose(&j->s, &j->g, x, &opt->co, scale, zp, opt->jobs, &e) < 0) {
		cli_die("%s: %s: %s", input, j->t->name, e.msg);
	}
	/* quantize with the scales as the layout stores them, so --dequant gives
	 * exactly the fake-quantized weight */
	if (ql_round_scales(ql_scale_dtype(&run->lo, &j->s), scale, nc, &e) < 0)
		cli_die("%s: %s: %s", input, j->t->name, e.msg);
	if (ql_fix_zero_points(&run->lo, &j->s, zp, nc)) {
		if (j->qe && j->qe->codes)
			cli_die("%s: %s: the plan's codes are for zero point 0, which gptq v1 cannot store",
			    opt->qparams, j->t->name);
		if (!opt->quiet)
			cli_warn("%s: gptq v1 cannot store zero point 0; raised to 1", j->t->name);
	}
	if (j->qe && j->qe->codes)	/* the plan's method chose them (GPTQ) */
		for (size_t i = 0; i < n; i++)
			q[i] = qparams_code(j->qe, (int64_t)i);
	else
		linq_quantize(&j->s, &j->g, x, scale, zp, q, opt->jobs);
	if (ql_pack_gidx(&run->lo, &j->s, &j->g, j->act, q, scale, zp, j->qe ? j->qe->g_idx : NULL, pk,
	    &e) < 0)
		cli_die("%s: %s: %s", input, j->t->name, e.msg);
	free(x);
	free(scale);
	free(zp);
	free(q);
}

/* A float tensor that smoothing changes (a norm or bias 1/s is folded into,
 * a smoothed weight left in float), in its own dtype. */
static void
write_folded(const struct packjob *j, struct st_writer *w, FILE *f, const char *path,
    const char *input)
{
	struct qerr e;
	float *x;
	void *buf;
	int64_t rows = j->t->ndim == 1 ? (int64_t)j->t->shape[0] : (int64_t)(j->t->nelem / j->t->shape[j->t->ndim - 1]);
	int64_t cols = j->t->ndim == 1 ? 1 : (int64_t)j->t->shape[j->t->ndim - 1];
	size_t bytes = (size_t)(j->t->end - j->t->begin);

	if (!(j->t->dtype == QD_F32 || j->t->dtype == QD_F16 || j->t->dtype == QD_BF16))
		cli_die("%s: %s: smoothing factors fold into it, but it is %s, not float", input,
		    j->t->name, qdtype_table[j->t->dtype].name);
	if (wsel_load_f32(j->t, &x, &e) < 0)
		cli_die("%s: %s", input, e.msg);
	smooth_fold_apply(j->fold, x, rows, cols);
	if ((buf = malloc(bytes)) == NULL)
		cli_die("out of memory");
	qdtype_from_f32(j->t->dtype, x, buf, (size_t)j->t->nelem);
	if (st_writer_data(w, f, buf, bytes, &e) < 0)
		cli_die("%s: %s", path, e.msg);
	free(buf);
	free(x);
}

/* Shard k of the plan into f (already open). */
static void
write_shard(const struct qpack_run *run, const struct plan *p, const struct ckpt *ck,
    const struct packjob *jobs, int k, FILE *f, const char *path, const char *input,
    struct cli_progress *prog)
{
	struct st_writer *w = st_writer_new();
	size_t first = p->n, last = 0;
	struct qerr e;

	if (w == NULL)
		cli_die("out of memory");
	if (st_writer_meta(w, "format", "pt", &e) < 0)
		cli_die("%s: %s", path, e.msg);
	for (size_t i = 0; i < p->n; i++)
		if (p->items[i].shard == k) {
			const struct item *it = &p->items[i];

			if (first == p->n)
				first = i;
			last = i;
			if (st_writer_add(w, it->name, it->dtype, it->ndim, it->shape, &e) < 0)
				cli_die("%s: %s", path, e.msg);
		}
	if (st_writer_header(w, f, &e) < 0)
		cli_die("%s: %s", path, e.msg);
	for (size_t i = first; i <= last && first < p->n;) {
		const struct item *it = &p->items[i];
		const struct st_tensor *t = ck->tensors[it->src].t;

		if (it->part == -1 && jobs && jobs[it->src].fold) {
			write_folded(&jobs[it->src], w, f, path, input);
			wsel_release(ck->tensors[it->src].file, t);
			cli_progress_add(prog, it->bytes);
			i++;
		} else if (it->part == -1) {
			if (st_writer_data(w, f, t->data, (size_t)it->bytes, &e) < 0)
				cli_die("%s: %s", path, e.msg);
			wsel_release(ck->tensors[it->src].file, t);
			cli_progress_add(prog, it->bytes);
			i++;
		} else if (it->part == -2 || it->part == -3) {
			unpack_write(it, ck, p->deq, run->opt->dtype, w, f, path);
			cli_progress_add(prog, it->bytes);
			i++;
		} else {
			struct ql_packed pk;

			pack_one(run, &jobs[it->src], &pk, input);
			for (int m = 0; m < pk.n; m++, i++) {
				if (i >= p->n || p->items[i].src != it->src ||
				    p->items[i].bytes != pk.part[m].bytes)
					cli_die("%s: internal: plan and pack disagree", t->name);
				if (st_writer_data(w, f, pk.part[m].data, (size_t)pk.part[m].bytes, &e) < 0)
					cli_die("%s: %s", path, e.msg);
				cli_progress_add(prog, pk.part[m].bytes);
			}
			ql_packed_free(&pk);
			wsel_release(ck->tensors[it->src].file, t);
		}
	}
	if (st_writer_finish(w, &e) < 0)
		cli_die("%s: %s", path, e.msg);
	st_writer_free(w);
}

static void
write_shards(const struct qpack_run *run, const struct plan *p, const struct ckpt *ck,
    const struct packjob *jobs, const char *dir, const char *input)
{
	struct cli_progress prog;

	cli_progress_start(&prog, run->opt->dequant ? "unpacking" : "packing", p->total, run->opt->quiet);
	for (int k = 0; k < p->n_shards; k++) {
		char *name = shard_name(p, k), *path = path_join(dir, name);
		FILE *f = fopen(path, "wb");

		if (f == NULL)
			cli_die("%s: %s", path, strerror(errno));
		write_shard(run, p, ck, jobs, k, f, path, input, &prog);
		if (fflush(f) != 0 || ferror(f) || fclose(f) != 0)
			cli_die("%s: %s", path, strerror(errno));
		free(name);
		free(path);
	}
	cli_progress_end(&prog);
}

/* vLLM loads q_proj, k_proj, v_proj (and gate_proj, up_proj) as one fused
 * layer and refuses shards under different schemes; Transformers loads
 * them.  A plan that splits them gets a note. */
static void
warn_fused(const struct ql_module *m, size_t n)
{
	static const char *const fused[][3] = { { "q_proj", "k_proj", "v_proj" }, { "gate_proj", "up_proj", NULL } };

	for (size_t i = 0; i < n; i++) {
		const char *dot = strrchr(m[i].name, '.');
		size_t plen = dot ? (size_t)(dot - m[i].name) + 1 : 0;

		for (size_t f = 0; f < sizeof fused / sizeof fused[0]; f++) {
			if (strcmp(m[i].name + plen, fused[f][0]) != 0)
				continue;
			for (int k = 1; k < 3 && fused[f][k]; k++)
				for (size_t j = 0; j < n; j++) {
					if (strncmp(m[j].name, m[i].name, plen) != 0 ||
					    strcmp(m[j].name + plen, fused[f][k]) != 0)
						continue;
					if ((m[i].s == NULL) != (m[j].s == NULL) ||
					    (m[i].s && !linq_scheme_equal(m[i].s, m[j].s)))
						cli_warn("%s and %s have different schemes: vLLM fuses them and "
						    "needs one (Transformers loads them)", m[i].name, m[j].name);
				}
		}
	}
}

static int
pack(struct qpack_run *run, const char *input)
{
	const struct options *opt = run->opt;
	struct ckpt ck;
	struct qerr e;
	struct qparams qp = { 0 };
	struct packjob *jobs;
	struct smooth_fold *folds;
	struct plan p = { 0 };
	char **modname = NULL;
	struct ql_module *mods = NULL;
	size_t n_mods = 0, n_quant = 0;
	struct cli_outdir od;
	cJSON *config, *qc;

	if (ckpt_open(&ck, input, &e) < 0)
		cli_die_err(&e);
	if (opt->qparams && qparams_load(&qp, opt->qparams, &e) < 0)
		cli_die_err(&e);
	if ((jobs = calloc(ck.n_tensors + 1, sizeof *jobs)) == NULL ||
	    (modname = calloc(ck.n_tensors + 1, sizeof *modname)) == NULL ||
	    (mods = calloc(ck.n_tensors + 1, sizeof *mods)) == NULL ||
	    (folds = calloc(ck.n_tensors + 1, sizeof *folds)) == NULL)
		cli_die("out of memory");
	/* smoothing factors (AWQ, SmoothQuant): 1/s into the op before */
	if (smooth_fold_plan(&ck, &qp, smooth_norm_plus_one(&ck), folds, &e) < 0)
		cli_die("%s: %s", opt->qparams, e.msg);
	run->lo.model_dtype = QD_COUNT;
	for (size_t i = 0; i < ck.n_tensors; i++) {
		const struct st_tensor *t = ck.tensors[i].t;
		struct packjob *j = &jobs[i];
		char mod[1024];

		j->t = t;
		if (folds[i].row_div || folds[i].col_mul)
			j->fold = &folds[i];
		if (wsel_pick(&opt->sel, t->name, t->dtype, t->ndim) &&
		    (!opt->qparams || (j->qe = qparams_find(&qp, t->name)) != NULL)) {
			j->s = j->qe ? j->qe->s : opt->s;
			if (j->qe && (j->qe->ndim != 2 || j->qe->shape[0] != t->shape[0] ||
			    j->qe->shape[1] != t->shape[1]))
				cli_die("%s: %s: the qparams shape differs from the checkpoint's",
				    opt->qparams, t->name);
			if (linq_grid(&j->s, (int64_t)t->shape[0], (int64_t)t->shape[1], &j->g, &e) < 0 ||
			    ql_check(&run->lo, &j->s, (int64_t)t->shape[0], (int64_t)t->shape[1], &e) < 0) {
				if (j->qe)
					cli_die("%s: %s: %s cannot store it: %s", opt->qparams, t->name,
					    qlayout_names[run->lo.layout], e.msg);
				if (!opt->quiet)
					cli_warn("%s: left in float: %s", t->name, e.msg);
			} else {
				j->act = j->qe ? (enum ql_act_order)j->qe->act_order : opt->act;
				if (j->qe && j->qe->g_idx && !ql_stores_gidx(run->lo.layout, &j->s))
					cli_die("%s: %s: %s cannot store g_idx (act-order groups); write the plan "
					    "with --static-groups", opt->qparams, t->name, qlayout_names[run->lo.layout]);
				j->quantize = 1;
				n_quant++;
				if (run->lo.model_dtype == QD_COUNT)
					run->lo.model_dtype = t->dtype;
			}
		}
		/* the config's modules: the quantized ones with their scheme, the
		 * other Linear weights as float (ignore, exclude) */
		if (j->quantize || (t->ndim == 2 && strlen(t->name) > 7 &&
		    strcmp(t->name + strlen(t->name) - 7, ".weight") == 0 &&
		    !strstr(t->name, "embed") && !strstr(t->name, "wte") && !strstr(t->name, "wpe"))) {
			module_name(t->name, mod, sizeof mod);
			if ((modname[n_mods] = strdup(mod)) == NULL)
				cli_die("out of memory");
			mods[n_mods].name = modname[n_mods];
			mods[n_mods].s = j->quantize ? &j->s : NULL;
			mods[n_mods++].act = j->act;
		}
	}
	if (n_quant == 0)
		cli_die("%s: no tensor to quantize for %s", input, qlayout_names[run->lo.layout]);
	if (run->lo.model_dtype == QD_COUNT)
		run->lo.model_dtype = QD_BF16;
	/* the config before a byte is written: awq, gptq and fp8 refuse a plan
	 * with several schemes here */
	if ((qc = ql_config_modules(&run->lo, mods, n_mods, opt->qparams ? "qparams" :
	    opt->gptq ? "gptq" : calib_method_names[opt->co.method], &e)) == NULL)
		cli_die("%s: %s", opt->qparams ? opt->qparams : input, e.msg);
	if (!opt->quiet)
		warn_fused(mods, n_mods);

	/* plan: every output tensor with its size, before writing a byte */
	for (size_t i = 0; i < ck.n_tensors; i++) {
		const struct st_tensor *t = ck.tensors[i].t;

		if (jobs[i].quantize) {
			struct ql_packed pk;
			char mod[1024], name[1100];

			if (ql_plan_act(&run->lo, &jobs[i].s, &jobs[i].g, jobs[i].act, &pk, &e) < 0)
				cli_die("%s: %s", t->name, e.msg);
			module_name(t->name, mod, sizeof mod);
			for (int m = 0; m < pk.n; m++) {
				snprintf(name, sizeof name, "%s.%s", mod, pk.part[m].suffix);
				if (ckpt_find(&ck, name) && strcmp(name, t->name) != 0)
					cli_die("%s: %s: the input already has a tensor of that name", input, name);
				plan_add(&p, name, pk.part[m].dtype, pk.part[m].ndim, pk.part[m].shape,
				    pk.part[m].bytes, i, m);
			}
		} else {
			plan_add(&p, t->name, t->dtype, t->ndim, t->shape, t->end - t->begin, i, -1);
		}
	}
	plan_shards(&p, opt->shard_max);

	cli_outdir_open(&od, opt->out);
	write_shards(run, &p, &ck, jobs, od.tmp, input);
	if (p.n_shards > 1)
		write_index(&p, od.tmp);
	config = ck.config ? cJSON_Duplicate(ck.config, 1) : cJSON_CreateObject();
	if (config == NULL || !cJSON_IsObject(config))
		cli_die("%s: config.json is not an object", input);
	cJSON_DeleteItemFromObjectCaseSensitive(config, "quantization_config");
	cJSON_AddItemToObject(config, "quantization_config", qc);
	write_json_file(od.tmp, "config.json", config);
	if (run->lo.layout == QL_GPTQ)
		write_json_file(od.tmp, "quantize_config.json", qc);
	cJSON_Delete(config);
	copy_other_files(&ck, od.tmp);
	cli_outdir_commit(&od);

	for (size_t i = 0; i < p.n; i++)
		free(p.items[i].name);
	free(p.items);
	for (size_t i = 0; i < n_mods; i++)
		free(modname[i]);
	free(modname);
	free(mods);
	free(jobs);
	free(folds);
	qparams_free(&qp);
	ckpt_close(&ck);
	return 0;
}

/* ---------------- unpacking ---------------- */

static void
unpack_write(const struct item *it, const struct ckpt *ck, const struct ql_config *cfg,
    enum qdtype dtype, struct st_writer *w, FILE *f, const char *path)
{
	struct qerr e;
	float *x;
	int64_t rows, cols;
	size_t n, plen = strlen(it->name) - 7;	/* ".weight" */
	char prefix[1024];
	void *buf;

	if (it->part == -3) {	/* gpt-oss experts: N_blocks, N_scales -> N */
		uint64_t shape[3];

		if (ql_gptoss_unpack(it->name, packed_lookup, (void *)ck, &x, shape, 0, &e) < 0)
			cli_die("%s: %s", ck->path, e.msg);
		rows = (int64_t)(shape[0] * shape[1]), cols = (int64_t)shape[2];
	} else {
		snprintf(prefix, sizeof prefix, "%.*s", (int)plen, it->name);
		if (ql_unpack(cfg, prefix, packed_lookup, (void *)ck, &x, &rows, &cols, &e) < 0)
			cli_die("%s: %s", ck->path, e.msg);
	}
	n = (size_t)(rows * cols);
	if ((buf = malloc(n * (size_t)qdtype_table[dtype].bits / 8)) == NULL)
		cli_die("out of memory");
	qdtype_from_f32(dtype, x, buf, n);
	if (st_writer_data(w, f, buf, n * (size_t)qdtype_table[dtype].bits / 8, &e) < 0)
		cli_die("%s: %s", path, e.msg);
	free(buf);
	free(x);
}

/* gpt-oss's MXFP4 experts: N_blocks U8 [E, out, in/32, 16] beside N_scales. */
static int
is_gptoss_part(const struct ckpt *ck, const struct st_tensor *t, size_t *plen)
{
	static const char *const sfx[2] = { "_blocks", "_scales" };
	size_t n = strlen(t->name);

	for (int k = 0; k < 2; k++) {
		char other[1100];

		if (n <= 7 || strcmp(t->name + n - 7, sfx[k]) != 0 || t->dtype != QD_U8 ||
		    t->ndim != (k ? 3 : 4) || n - 7 + 8 > sizeof other)
			continue;
		snprintf(other, sizeof other, "%.*s%s", (int)(n - 7), t->name, sfx[!k]);
		if (ckpt_find(ck, other) == NULL)
			continue;
		*plen = n - 7;
		return 1;
	}
	return 0;
}

static size_t
count_gptoss(const struct ckpt *ck)
{
	size_t n = 0, plen;

	for (size_t i = 0; i < ck->n_tensors; i++)
		n += is_gptoss_part(ck, ck->tensors[i].t, &plen);
	return n;
}

static int
dequant(const struct qpack_run *run, const char *input)
{
	const struct options *opt = run->opt;
	struct ckpt ck;
	struct packed pk;
	struct qerr e;
	size_t n_gptoss;
	struct plan p = { 0 };
	int to_dir = !(strcmp(opt->out, "-") == 0 ||
	    (strlen(opt->out) > 12 && strcmp(opt->out + strlen(opt->out) - 12, ".safetensors") == 0));

	if (ckpt_open(&ck, input, &e) < 0)
		cli_die_err(&e);
	n_gptoss = count_gptoss(&ck);
	e.msg[0] = 0;
	if (packed_open(&pk, &ck, &e) < 0)
		cli_die("%s: %s", input, e.msg);
	if (pk.n == 0 && n_gptoss == 0) {
		if (pk.cfg.layout == QL_COUNT)
			cli_die("%s: %s", input, e.msg[0] ? e.msg : "no quantization_config, and no "
			    "tensor of a quantized layout");
		cli_die("%s: no %s weight in the checkpoint", input, qlayout_names[pk.cfg.layout]);
	}
	if (pk.detected && !opt->quiet) {
		char *js = cJSON_PrintUnformatted(pk.detected);

		cli_warn("%s: no quantization_config; from its tensors: %s", input, js ? js : "?");
		free(js);
	}
	p.deq = &pk.cfg;
	for (size_t i = 0; i < ck.n_tensors; i++) {
		const struct st_tensor *t = ck.tensors[i].t;
		const char *module;
		size_t plen;

		if (is_gptoss_part(&ck, t, &plen)) {
			char name[1100];
			uint64_t shape[3];
			float *unused;

			if (strcmp(t->name + plen, "_scales") == 0)
				continue;	/* with its _blocks */
			snprintf(name, sizeof name, "%.*s", (int)plen, t->name);
			if (ql_gptoss_unpack(name, packed_lookup, &ck, &unused, shape, 1, &e) < 0)
				cli_die("%s: %s", input, e.msg);
			plan_add(&p, name, opt->dtype, 3, shape,
			    shape[0] * shape[1] * shape[2] * (uint64_t)qdtype_table[opt->dtype].bits / 8, i, -3);
			continue;
		}
		if ((module = packed_module(&pk, t->name)) != NULL) {
			char name[1100];
			int64_t rows, cols;
			uint64_t shape[2];

			if (ql_unpack_shape(&pk.cfg, module, packed_lookup, &ck, &rows, &cols, &e) < 0)
				cli_die("%s: %s", input, e.msg);
			shape[0] = (uint64_t)rows;
			shape[1] = (uint64_t)cols;
			snprintf(name, sizeof name, "%s.weight", module);
			plan_add(&p, name, opt->dtype, 2, shape,
			    (uint64_t)rows * (uint64_t)cols * (uint64_t)qdtype_table[opt->dtype].bits / 8, i, -2);
			continue;
		}
		if (packed_is_part(&pk, t->name))
			continue;
		plan_add(&p, t->name, t->dtype, t->ndim, t->shape, t->end - t->begin, i, -1);
	}
	if (to_dir) {
		struct cli_outdir od;
		cJSON *config = ck.config ? cJSON_Duplicate(ck.config, 1) : NULL;

		plan_shards(&p, opt->shard_max);
		cli_outdir_open(&od, opt->out);
		write_shards(run, &p, &ck, NULL, od.tmp, input);
		if (p.n_shards > 1)
			write_index(&p, od.tmp);
		if (config) {
			cJSON_DeleteItemFromObjectCaseSensitive(config, "quantization_config");
			write_json_file(od.tmp, "config.json", config);
			cJSON_Delete(config);
		}
		copy_other_files(&ck, od.tmp);
		cli_outdir_commit(&od);
	} else {	/* one file, whatever its size */
		struct cli_out o;
		struct cli_progress prog;

		p.n_shards = 1;
		cli_out_open(&o, opt->out, 1);
		cli_progress_start(&prog, "unpacking", p.total, opt->quiet);
		write_shard(run, &p, &ck, NULL, 0, o.f, strcmp(opt->out, "-") ? opt->out : "(stdout)",
		    input, &prog);
		cli_progress_end(&prog);
		cli_out_commit(&o);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.items[i].name);
	free(p.items);
	packed_close(&pk);
	ckpt_close(&ck);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct qpack_run run = { .opt = &opt };
	int c;

	cli_init(argv[0]);
	opt.s = (struct qscheme){ QF_COUNT, -1, QG_GROUP, 0, 128, { 0, 0 } };
	opt.sel.min_rank = opt.sel.max_rank = 2;
	opt.shard_max = 4000000000ULL;
	opt.jobs = qpool_ncpu();
	opt.dtype = QD_F32;
	opt.damp = 0.01;
	opt.lo.layout = QL_CT;
	calib_defaults(&opt.co);
	while ((c = getopt_long(argc, argv, "f:g:m:p:o:j:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if ((c = qscheme_fmt_from_name(optarg)) < 0)
				cli_usage_error("-f %s: formats are int4, uint4, int8, uint8, fp8_e4m3, fp8_e5m2, "
				    "nvfp4, mxfp4", optarg);
			opt.s.fmt = (enum qfmt)c;
			break;
		case 'g': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == 0 || *end || v < 1 || v > (1L << 30))
				cli_usage_error("-g %s: expected a positive group size", optarg);
			opt.s.gran = QG_GROUP;
			opt.s.group = v;
			opt.gran_set = 1;
			break;
		}
		case OPT_PCH: opt.s.gran = QG_CHANNEL; opt.s.axis = 0; opt.gran_set = 1; break;
		case OPT_PT: opt.s.gran = QG_TENSOR; opt.gran_set = 1; break;
		case OPT_BLOCK: {
			long long r, k;
			char x;

			if (sscanf(optarg, "%lld%c%lld", &r, &x, &k) != 3 || (x != 'x' && x != 'X') ||
			    r < 1 || k < 1 || r > (1 << 30) || k > (1 << 30))
				cli_usage_error("--block %s: expected RxC, e.g. 128x128", optarg);
			opt.s.gran = QG_BLOCK;
			opt.s.block[0] = r;
			opt.s.block[1] = k;
			opt.gran_set = 1;
			break;
		}
		case OPT_SYM: opt.s.sym = 1; break;
		case OPT_ASYM: opt.s.sym = 0; break;
		case 'm':
			opt.gptq = strcmp(optarg, "gptq") == 0;
			if (opt.gptq)
				break;
			if ((c = calib_method_from_name(optarg)) < 0)
				cli_usage_error("-m %s: methods are minmax, mse, percentile, gptq", optarg);
			opt.co.method = (enum calib_method)c;
			break;
		case 'p': opt.qparams = optarg; break;
		case OPT_CAPT: opt.captures = optarg; break;
		case OPT_DAMP: {
			char *end;

			opt.damp = strtod(optarg, &end);
			if (*optarg == 0 || *end || !(opt.damp >= 0 && opt.damp <= 10))
				cli_usage_error("--damp %s: expected a number in [0, 10]", optarg);
			break;
		}
		case OPT_ACT: opt.act_order = 1; break;
		case OPT_STATIC: opt.static_groups = 1; break;
		case OPT_LAYOUT:
			if ((c = qlayout_from_name(optarg)) < 0)
				cli_usage_error("--layout %s: layouts are compressed-tensors, awq, gptq, fp8, quark", optarg);
			opt.lo.layout = (enum qlayout)c;
			break;
		case OPT_PACK:
			if (strcmp(optarg, "reorder") && strcmp(optarg, "order"))
				cli_usage_error("--pack-method %s: reorder or order", optarg);
			opt.lo.quark_order = strcmp(optarg, "order") == 0;
			break;
		case OPT_INC:
			if (wsel_add(opt.sel.include, &opt.sel.n_include, optarg) < 0)
				cli_usage_error("--include: at most %d patterns", WSEL_MAX);
			break;
		case OPT_EXC:
			if (wsel_add(opt.sel.exclude, &opt.sel.n_exclude, optarg) < 0)
				cli_usage_error("--exclude: at most %d patterns", WSEL_MAX);
			break;
		case OPT_SHARD:
			if (cli_parse_size(optarg, &opt.shard_max) < 0 || opt.shard_max == 0)
				cli_usage_error("--max-shard-size %s: expected a size such as 4G", optarg);
			break;
		case OPT_DEQ: opt.dequant = 1; break;
		case OPT_DTYPE:
			if ((c = qdtype_from_name(optarg)) < 0 || !(c == QD_F32 || c == QD_BF16 || c == QD_F16))
				cli_usage_error("--dtype %s: F32, BF16 or F16", optarg);
			opt.dtype = (enum qdtype)c;
			break;
		case 'o': opt.out = optarg; break;
		case 'j': opt.jobs = cli_parse_jobs(optarg); break;
		case 'q': opt.quiet = 1; break;
		case OPT_HELP: usage(stdout); return 0;
		case OPT_VERSION: cli_version();
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc)
		cli_usage_error(optind == argc ? "no input" : "one input only");
	if (opt.out == NULL)
		cli_usage_error("no output: give -o");
	if (opt.dequant) {
		dequant(&run, argv[optind]);
	} else {
		if (strcmp(opt.out, "-") == 0)
			cli_usage_error("a packed checkpoint is a folder (config.json and safetensors): -o folder");
		struct qerr e;

		default_scheme(&opt);
		if (opt.gptq && (opt.captures == NULL || opt.qparams))
			cli_usage_error("-m gptq needs --captures, and takes no -p");
		if (!opt.gptq && opt.captures)
			cli_usage_error("--captures is for -m gptq");
		if (!opt.gptq && (opt.act_order || opt.static_groups))
			cli_usage_error("--act-order and --static-groups are for -m gptq");
		opt.act = !opt.act_order ? QL_ACT_NONE : opt.static_groups ? QL_ACT_STATIC : QL_ACT_GROUP;
		if (opt.act == QL_ACT_GROUP && opt.s.gran == QG_GROUP && !ql_stores_gidx(opt.lo.layout, &opt.s))
			cli_usage_error("--act-order: %s cannot store g_idx (each input's group); add --static-groups",
			    qlayout_names[opt.lo.layout]);
		run.lo = opt.lo;
		if (opt.captures && st_open(&run.capt, opt.captures, &e) < 0)
			cli_die_err(&e);
		pack(&run, argv[optind]);
		if (opt.captures)
			st_close(&run.capt);
	}
	cli_close_stdout();
	return 0;
}
