/* qdq-insert: quantize an ONNX model's weights (and optionally activations)
 * with QuantizeLinear / DequantizeLinear nodes, Cast pairs or onnxruntime's
 * MatMulNBits.  See man/qdq-insert.1. */
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dtype.h"
#include "onnx.h"
#include "qdq.h"
#include "qdq-insert.h"

enum fmt { F_FLOAT, F_INT8, F_UINT8, F_INT4, F_UINT4, F_FP8, F_FP16, F_BF16, F_COUNT };

/* What each weight format needs: the QDQ kind (or a Cast target), the
 * default-domain opset and IR version its types and attributes need. */
static const struct fmt_info {
	const char *name;
	int kind;		/* enum qdq_kind, -1: not a QDQ format */
	int cast_dt;		/* Cast pair: stored type */
	int opset, ir;
	int64_t default_block;	/* 4-bit kinds are always blocked */
} fmts[F_COUNT] = {
	[F_FLOAT] = {"float", -1, 0, 0, 0, 0},
	[F_INT8]  = {"int8", QK_INT8, 0, 13, 7, 0},
	[F_UINT8] = {"uint8", QK_UINT8, 0, 13, 7, 0},
	[F_INT4]  = {"int4", QK_INT4, 0, 21, 10, 128},
	[F_UINT4] = {"uint4", QK_UINT4, 0, 21, 10, 128},
	[F_FP8]   = {"fp8", QK_FP8, 0, 19, 9, 0},
	[F_FP16]  = {"fp16", -1, ONNX_FLOAT16, 6, 3, 0},
	[F_BF16]  = {"bf16", -1, ONNX_BFLOAT16, 13, 7, 0},
};

/* Ops whose weight input is quantized, and the axes of that weight:
 * chan = one scale per output channel; red = the reduction axis blocks run
 * along.  Negative axes count from the end.  transB swaps them (Gemm). */
static const struct consumer {
	const char *op;
	int widx, min_rank, chan, red;
	const char *swap_attr;
	int bias_idx;		/* -1: none */
} consumers[] = {
	{"MatMul", 1, 2, -1, -2, NULL, -1},
	{"Gemm", 1, 2, 1, 0, "transB", 2},
	{"Conv", 1, 3, 0, 1, NULL, 2},
	{"ConvTranspose", 1, 3, 1, 0, NULL, -1},
};

/* Default-domain ops whose signature changed so that raising the opset
 * past `version` breaks a node (when it carries `attr`, or always when attr
 * is NULL).  From ONNX's operator changelog; spec/onnx.md §6. */
static const struct breaking {
	const char *op;
	int version;
	const char *attr;
} breaking[] = {
	{"ReduceMean", 18, "axes"}, {"ReduceMax", 18, "axes"}, {"ReduceMin", 18, "axes"},
	{"ReduceProd", 18, "axes"}, {"ReduceL1", 18, "axes"}, {"ReduceL2", 18, "axes"},
	{"ReduceLogSum", 18, "axes"}, {"ReduceLogSumExp", 18, "axes"},
	{"ReduceSumSquare", 18, "axes"}, {"ReduceSum", 13, "axes"},
	{"Squeeze", 13, "axes"}, {"Unsqueeze", 13, "axes"}, {"Split", 13, "split"},
	{"Clip", 11, "min"}, {"Clip", 11, "max"}, {"Pad", 11, "pads"},
	{"Slice", 10, "starts"}, {"TopK", 10, "k"}, {"Dropout", 12, "ratio"},
	{"Dropout", 7, "is_test"}, {"BatchNormalization", 9, "spatial"},
	{"BatchNormalization", 7, "is_test"}, {"Upsample", 9, NULL}, {"Resize", 11, NULL},
	{"Softmax", 13, NULL}, {"LogSoftmax", 13, NULL}, {"Hardmax", 13, NULL},
	{"Reshape", 5, "shape"}, {"Scan", 9, NULL}, {"Tile", 6, NULL},
	{"Gemm", 7, "broadcast"}, {"Add", 7, "broadcast"}, {"Sub", 7, "broadcast"},
	{"Mul", 7, "broadcast"}, {"Div", 7, "broadcast"}, {"Pow", 7, "broadcast"},
};

/* IR version released with each opset (spec/onnx.md §1). */
static int64_t
ir_for_opset(int64_t opset)
{
	static const int64_t table[][2] = {
		{21, 10}, {19, 9}, {18, 8}, {15, 8}, {12, 7}, {11, 6}, {10, 5}, {9, 4},
	};
	size_t i;

	for (i = 0; i < sizeof table / sizeof table[0]; i++)
		if (opset >= table[i][0])
			return table[i][1];
	return 3;
}

struct choice {
	enum fmt f;
	int64_t block;		/* 0: per-channel */
	int nbits;		/* MatMulNBits instead of DQ + MatMul */
};

struct pattern {
	const char *glob;
	struct choice ch;
};

struct use {
	Onnx__GraphProto *g;
	Onnx__NodeProto *node;
	const struct consumer *c;
	struct choice ch;
	int chan, red;		/* resolved axes */
	size_t weight;		/* index into weights */
	int done;		/* rewritten to read the quantized weight */
};

struct weight {
	Onnx__TensorProto *t;
	Onnx__GraphProto *owner;
	Onnx__NodeProto *constant;	/* the Constant node holding t, or NULL */
	struct choice ch;
	int chan, red;
	size_t converted;
	char *dq_out;			/* what converted consumers read */
	float *scale;			/* per-channel scales (for int32 bias) */
	int64_t nscale;
	int nbits_done;
	char *nb_b, *nb_scales, *nb_zp;
	const char *c_op;		/* the deciding consumer's op type */
	int fdt;			/* its float type: FLOAT, FLOAT16, BFLOAT16 */
};

struct options {
	struct pattern *pat;
	size_t npat;
	struct choice dflt;
	int quiet, static_mode, act_signed, external;
	int capture, capture_all;	/* --capture-model: list, don't quantize */
	struct randcal_opts rc;		/* --random-calib */
	const char *qparams_path;
	struct qp qp;
	int have_qp;
};

struct nameset {
	char **slot;
	int *count;
	size_t cap, n;
};

/* One run of qdq-insert, made by main and handed to whatever needs it (so
 * that no state hides at file scope): main's options and model, the weights
 * found and the nodes reading them, the names taken, where big new tensors
 * go, and what --random-calib measured or a --capture-model dry run noted. */
struct qdq_run {
	const struct options *opt;
	struct onnx_model *model;
	struct use *uses;
	size_t nuses;
	struct weight *weights;
	size_t nweights;
	int64_t out_opset;	/* the output's default-domain opset */
	size_t n_half_cast;	/* half weights dequantized to float, then Cast */
	struct nameset names;	/* every name in the model: fresh() adds its own */
	struct nameset counts;	/* name -> how many node inputs and graph outputs read it */
	struct onnx_extw extw;	/* the external data file, when use_extw */
	int use_extw;
	struct randcal_table ranges;	/* --random-calib */
	struct capture_list captured;	/* --capture-model */
};

/* ---- names ---- */

static size_t
ns_find(struct nameset *s, const char *name, int add)
{
	uint64_t h = 1469598103934665603ull;
	const char *p;
	size_t i;

	if (add && 2 * (s->n + 1) > s->cap) {
		struct nameset big = {0};

		big.cap = s->cap ? 2 * s->cap : 1024;
		big.slot = calloc(big.cap, sizeof *big.slot);
		big.count = calloc(big.cap, sizeof *big.count);
		if (big.slot == NULL || big.count == NULL)
			cli_die("out of memory");
		for (i = 0; i < s->cap; i++)
			if (s->slot[i])
				big.count[ns_find(&big, s->slot[i], 1)] = s->count[i];	/* big never grows here */
		for (i = 0; i < s->cap; i++)
			free(s->slot[i]);
		free(s->slot);
		free(s->count);
		*s = big;
	}
	if (s->cap == 0)
		return SIZE_MAX;
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->slot[i], name) == 0)
			return i;
	if (!add)
		return SIZE_MAX;
	s->slot[i] = strdup(name);
	if (s->slot[i] == NULL)
		cli_die("out of memory");
	s->n++;
	return i;
}

static void
ns_free(struct nameset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	free(s->count);
	memset(s, 0, sizeof *s);
}

/* A fresh name based on base, recorded so it is not handed out twice. */
char *
fresh(struct qdq_run *run, const char *base, const char *suffix)
{
	size_t len = strlen(base) + strlen(suffix) + 24;
	char *s = malloc(len);
	int k;

	if (s == NULL)
		cli_die("out of memory");
	snprintf(s, len, "%s%s", base, suffix);
	for (k = 1; ns_find(&run->names, s, 0) != SIZE_MAX; k++)
		snprintf(s, len, "%s%s_%d", base, suffix, k);
	ns_find(&run->names, s, 1);
	return s;
}

static void
count_use(struct qdq_run *run, const char *name)
{
	if (name && *name) {
		size_t i = ns_find(&run->counts, name, 1);	/* may grow counts.count */

		run->counts.count[i]++;
	}
}

static void
collect_names(struct qdq_run *run, Onnx__GraphProto *g)
{
	size_t i, j, k;

	for (i = 0; i < g->n_input; i++)
		ns_find(&run->names, g->input[i]->name, 1);
	for (i = 0; i < g->n_initializer; i++)
		ns_find(&run->names, g->initializer[i]->name, 1);
	for (i = 0; i < g->n_output; i++)
		count_use(run, g->output[i]->name);
	for (i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];

		if (n->name && *n->name)
			ns_find(&run->names, n->name, 1);
		for (j = 0; j < n->n_output; j++)
			if (*n->output[j])
				ns_find(&run->names, n->output[j], 1);
		for (j = 0; j < n->n_input; j++)
			count_use(run, n->input[j]);
		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g)
				collect_names(run, n->attribute[j]->g);
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				collect_names(run, n->attribute[j]->graphs[k]);
		}
	}
}

static int
use_count(struct qdq_run *run, const char *name)
{
	size_t i = ns_find(&run->counts, name, 0);

	return i == SIZE_MAX ? 0 : run->counts.count[i];
}

/* ---- options ---- */

static int
parse_choice(const char *s, struct choice *ch)
{
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	int f;

	memset(ch, 0, sizeof *ch);
	for (f = 0; f < F_COUNT; f++)
		if (strlen(fmts[f].name) == len && strncmp(fmts[f].name, s, len) == 0)
			break;
	if (f == F_COUNT && len == 4 && strncmp(s, "none", 4) == 0)
		f = F_FLOAT;
	if (f == F_COUNT)
		return -1;
	ch->f = (enum fmt)f;
	ch->block = fmts[f].default_block;
	if (colon) {
		char *end;
		long b = strtol(colon + 1, &end, 10);

		if (*end || b < 16 || b > 65536 || (b & (b - 1)) || fmts[f].kind < 0 || f == F_FP8)
			return -1;
		ch->block = b;
	}
	return 0;
}

/* qcalib's plan: a per-weight format in the qparams metadata.  Its names
 * follow qparams (fp8_e4m3, f16); a block of 0 keeps the format's default. */
static int
plan_choice(struct qdq_run *run, const char *weight, struct choice *ch)
{
	static const struct { const char *plan, *ours; } alias[] = {
		{"fp8_e4m3", "fp8"}, {"f16", "fp16"}, {"F16", "fp16"}, {"BF16", "bf16"},
		{"f32", "float"}, {"F32", "float"},
	};
	char f[64], spec[96];
	long block;
	size_t i;

	if (!run->opt->have_qp || qp_plan(&run->opt->qp, weight, f, sizeof f, &block) < 0)
		return 0;
	for (i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcmp(f, alias[i].plan) == 0)
			snprintf(f, sizeof f, "%s", alias[i].ours);
	if (block > 0 && strcmp(f, "fp8") && strcmp(f, "fp16") && strcmp(f, "bf16") && strcmp(f, "float"))
		snprintf(spec, sizeof spec, "%s:%ld", f, block);
	else
		snprintf(spec, sizeof spec, "%s", f);
	if (parse_choice(spec, ch) < 0)
		cli_die("%s: plan for '%s': format '%s' is not one qdq-insert writes",
		    run->opt->qparams_path, weight, spec);
	ch->nbits = run->opt->dflt.nbits;
	return 1;
}

static struct choice
choice_for(struct qdq_run *run, const Onnx__NodeProto *n, const char *weight)
{
	size_t i;
	struct choice ch;

	for (i = 0; i < run->opt->npat; i++)
		if ((n->name && fnmatch(run->opt->pat[i].glob, n->name, 0) == 0) ||
		    (n->op_type && fnmatch(run->opt->pat[i].glob, n->op_type, 0) == 0)) {
			ch = run->opt->pat[i].ch;
			ch.nbits = run->opt->dflt.nbits;
			return ch;
		}
	if (plan_choice(run, weight, &ch))
		return ch;
	return run->opt->dflt;
}

/* ---- finding weights ---- */

struct frame {
	Onnx__GraphProto *g;
	const struct frame *outer;
};

static int
find_weight(const struct frame *fr, const char *name, struct weight *w)
{
	size_t i;

	for (; fr; fr = fr->outer) {
		Onnx__GraphProto *g = fr->g;

		for (i = 0; i < g->n_initializer; i++)
			if (g->initializer[i]->name && strcmp(g->initializer[i]->name, name) == 0) {
				w->t = g->initializer[i];
				w->owner = g;
				w->constant = NULL;
				return 0;
			}
		for (i = 0; i < g->n_node; i++) {
			Onnx__NodeProto *n = g->node[i];
			const Onnx__AttributeProto *a;

			if (n->op_type && strcmp(n->op_type, "Constant") == 0 && n->n_output == 1 &&
			    strcmp(n->output[0], name) == 0) {
				a = onnx_node_attr(n, "value");
				if (a == NULL || a->t == NULL)
					return -1;
				w->t = a->t;
				w->owner = g;
				w->constant = n;
				return 0;
			}
		}
	}
	return -1;
}

static int
norm_axis(int a, int rank)
{
	return a < 0 ? a + rank : a;
}

static void
scan_graph(struct qdq_run *run, Onnx__GraphProto *g, const struct frame *outer)
{
	struct frame fr = {g, outer};
	size_t i, j, k;

	for (i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		const struct consumer *c = NULL;
		struct weight w = {0};
		struct choice ch;
		int rank, chan, red;

		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g)
				scan_graph(run, n->attribute[j]->g, &fr);
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				scan_graph(run, n->attribute[j]->graphs[k], &fr);
		}
		if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
			continue;
		for (j = 0; j < sizeof consumers / sizeof consumers[0]; j++)
			if (n->op_type && strcmp(n->op_type, consumers[j].op) == 0)
				c = &consumers[j];
		if (c == NULL || (size_t)c->widx >= n->n_input ||
		    find_weight(&fr, n->input[c->widx], &w) < 0)
			continue;
		rank = (int)w.t->n_dims;
		if (!half_is_weight_type(w.t->data_type) || rank < c->min_rank || rank > 8)
			continue;
		w.fdt = w.t->data_type;
		ch = choice_for(run, n, n->input[c->widx]);
		if (ch.f == F_FLOAT || fmts[ch.f].cast_dt == w.fdt)	/* already stored so */
			continue;
		chan = norm_axis(c->chan, rank);
		red = norm_axis(c->red, rank);
		if (strcmp(c->op, "Conv") == 0)	/* block along the longest reduction axis */
			for (j = 2; j < (size_t)rank; j++)
				if (w.t->dims[j] > w.t->dims[red])
					red = (int)j;
		if (c->swap_attr && onnx_node_attr_int(n, c->swap_attr, 0)) {
			int t = chan;

			chan = red;
			red = t;
		}
		/* MatMulNBits takes a plain 2-D MatMul, or a Gemm that is one */
		if (ch.nbits && (fmts[ch.f].kind < 0 || ch.f == F_FP8 || rank != 2 ||
		    (strcmp(c->op, "MatMul") && strcmp(c->op, "Gemm")) ||
		    (strcmp(c->op, "Gemm") == 0 && (onnx_node_attr_int(n, "transA", 0) ||
		    onnx_node_attr_float(n, "alpha", 1.0f) != 1.0f ||
		    onnx_node_attr_float(n, "beta", 1.0f) != 1.0f))))
			ch.nbits = 0;
		if (ch.nbits && ch.block == 0)
			ch.block = 128;
		if (ch.nbits && w.fdt == ONNX_BFLOAT16)
			cli_die("%s: node '%s': onnxruntime has no MatMulNBits kernel for bfloat16 on"
			    " the CPU; use -w int4 (DequantizeLinear) for bfloat16 weights", run->model->path,
			    n->name ? n->name : "");
		if (!ch.nbits && run->opt->dflt.nbits && (ch.f == F_INT4 || ch.f == F_UINT4))
			continue;
		run->uses = realloc(run->uses, (run->nuses + 1) * sizeof *run->uses);
		if (run->uses == NULL)
			cli_die("out of memory");
		run->uses[run->nuses] = (struct use){g, n, c, ch, chan, red, 0, 0};
		for (j = 0; j < run->nweights; j++)
			if (run->weights[j].t == w.t)
				break;
		if (j == run->nweights) {
			run->weights = realloc(run->weights, (run->nweights + 1) * sizeof *run->weights);
			if (run->weights == NULL)
				cli_die("out of memory");
			w.ch = ch;
			w.chan = chan;
			w.red = red;
			w.c_op = c->op;
			run->weights[run->nweights++] = w;
		}
		run->uses[run->nuses++].weight = j;
	}
}

/* ---- opsets ---- */

/* The first node (and its rule) that raising the opset from `from` to `to`
 * would break, or NULL. */
static const Onnx__NodeProto *
bump_blocker(const Onnx__GraphProto *g, int64_t from, int64_t to, const struct breaking **rule)
{
	size_t i, j, k;
	const Onnx__NodeProto *x;

	for (i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *n = g->node[i];

		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g && (x = bump_blocker(n->attribute[j]->g, from, to, rule)))
				return x;
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				if ((x = bump_blocker(n->attribute[j]->graphs[k], from, to, rule)))
					return x;
		}
		if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
			continue;
		for (j = 0; j < sizeof breaking / sizeof breaking[0]; j++) {
			const struct breaking *b = &breaking[j];

			if (n->op_type && strcmp(n->op_type, b->op) == 0 && b->version > from &&
			    b->version <= to && (b->attr == NULL || onnx_node_attr(n, b->attr))) {
				*rule = b;
				return n;
			}
		}
	}
	return NULL;
}

static void
check_bump(struct qdq_run *run, Onnx__GraphProto *g, int64_t from, int64_t to, const char *why)
{
	const struct breaking *b;
	const Onnx__NodeProto *n = bump_blocker(g, from, to, &b);

	if (n)
		cli_die("%s: %s needs opset %" PRId64 " but the model is at opset %" PRId64
				    " and node '%s' (%s%s%s) changed meaning at opset %d, so the opset"
				    " cannot be raised; use --matmulnbits, int8 or --node-format to keep"
				    " such nodes at a lower format", run->model->path, why, to, from,
		    n->name ? n->name : "", b->op, b->attr ? ", attribute " : "",
		    b->attr ? b->attr : "", b->version);
}

/* ---- emitting ---- */

void
add_init(struct qdq_run *run, Onnx__GraphProto *g, Onnx__TensorProto *t)
{
	struct qerr e;

	onnx_graph_add_initializer(g, t);
	/* stream new tensors of 1 KiB or more straight to the data file (as
	 * onnx does); the input's inline tensors move only with --external-data */
	if (run->use_extw && t->raw_data.len >= 1024 && onnx_extw_put(&run->extw, t,
	    t->raw_data.data, t->raw_data.len, &e) < 0)
		cli_die_err(&e);
}

static Onnx__TensorProto *
new_tensor(const char *name, int dt, const int64_t *dims, int nd, const void *raw, size_t len)
{
	return onnx_new_tensor(name, dt, dims, nd, raw, len);
}

static void
free_strs(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *weight_name(const struct weight *w);
static size_t node_index(Onnx__GraphProto *g, const Onnx__NodeProto *n);

/* A pre-quantization input-channel scale s (AWQ, SmoothQuant) from the
 * qparams file: W.smooth [K], K the weight's reduction extent. */
static const void *
smooth_of(struct qdq_run *run, const struct weight *w, int64_t *k)
{
	char key[1024];
	int64_t shape[8];
	int rank;
	const void *d;

	if (!run->opt->have_qp || fmts[w->ch.f].kind < 0)
		return NULL;
	snprintf(key, sizeof key, "%s.smooth", weight_name(w));
	d = qp_get(&run->opt->qp, key, "F32", shape, &rank, k);
	if (d && (strcmp(w->c_op, "MatMul") && strcmp(w->c_op, "Gemm")))
		cli_die("%s: %s: smoothing is for MatMul and Gemm weights", run->opt->qparams_path, key);
	if (d && (rank != 1 || *k != w->t->dims[w->red]))
		cli_die("%s: %s: expected [%" PRId64 "]", run->opt->qparams_path, key, w->t->dims[w->red]);
	return d;
}

static float *
weight_f32(struct qdq_run *run, struct weight *w, uint64_t *n)
{
	struct qerr e;
	float *f = onnx_tensor_f32(run->model, w->t, n, &e);
	const void *sm;
	int64_t K, inner = 1, i;
	int a;

	if (f == NULL)
		cli_die_err(&e);
	onnx_tensor_dontneed(run->model, w->t);
	if ((sm = smooth_of(run, w, &K)) != NULL) {	/* W scaled along its input channels */
		for (a = w->red + 1; a < (int)w->t->n_dims; a++)
			inner *= w->t->dims[a];
		for (i = 0; i < (int64_t)*n; i++) {
			float s;

			memcpy(&s, (const char *)sm + 4 * ((i / inner) % K), 4);
			if (!(s > 0) || !isfinite(s))
				cli_die("%s: %s.smooth: not a positive number", run->opt->qparams_path,
				    weight_name(w));
			f[i] *= s;
		}
	}
	return f;
}

/* x / s before a node whose weight was smoothed: Mul(x, 1/s), one per node. */
static void
smooth_input(struct qdq_run *run, struct weight *w, struct use *u)
{
	int64_t K, k;
	const void *sm = smooth_of(run, w, &K);
	float *inv;
	char *sn, *out, *nodename;
	const char *in[2];
	Onnx__NodeProto *mul;

	if (sm == NULL)
		return;
	inv = malloc((size_t)K * sizeof *inv);
	if (inv == NULL)
		cli_die("out of memory");
	/* the Mul's constant has the activation's type, which is the weight's */
	for (k = 0; k < K; k++) {
		float s;

		memcpy(&s, (const char *)sm + 4 * k, 4);
		inv[k] = 1.0f / s;
	}
	sn = fresh(run, weight_name(w), "_awq_scale");
	out = fresh(run, weight_name(w), "_PQS_Output");
	nodename = fresh(run, weight_name(w), "_PQS");
	{
		int64_t bad;

		if (half_store(w->fdt, inv, K, inv, &bad) < 0)
			cli_die("%s: %s.smooth: 1/s out of %s range", run->opt->qparams_path, weight_name(w),
			    half_name(w->fdt));
	}
	add_init(run, u->g, new_tensor(sn, w->fdt, &K, 1, inv, (size_t)K * half_size(w->fdt)));
	in[0] = u->node->input[0];
	in[1] = sn;
	mul = onnx_new_node("Mul", NULL, nodename, in, 2, (const char *const *)&out, 1);
	onnx_graph_add_node(u->g, mul, node_index(u->g, u->node));
	onnx_set_string(&u->node->input[0], out);
	free(inv);
	free(sn);
	free(out);
	free(nodename);
}

/* Scales (and zero points) from the qparams file, when it has them. */
static int
given_scales(struct qdq_run *run, const char *name, enum qdq_kind k, const int64_t *shape,
    int rank, int64_t ns, float *scale, int32_t *zp)
{
	char key[1024];
	int64_t qshape[8], qn;
	int qrank, i;
	const void *d;

	if (!run->opt->have_qp)
		return 0;
	snprintf(key, sizeof key, "%s.scale", name);
	d = qp_get(&run->opt->qp, key, "F32", qshape, &qrank, &qn);
	if (d == NULL)
		return 0;
	if (qn != ns || (qrank != rank && !(rank == 1 && qrank == 0 && ns == 1)))
		cli_die("%s: %s: shape does not match the %" PRId64 " scales this format needs",
		    run->opt->qparams_path, key, ns);
	for (i = 0; i < qrank && qrank == rank; i++)
		if (qshape[i] != shape[i])
			cli_die("%s: %s: dimension %d is %" PRId64 ", expected %" PRId64,
			    run->opt->qparams_path, key, i, qshape[i], shape[i]);
	memcpy(scale, d, (size_t)ns * 4);
	memset(zp, 0, (size_t)ns * 4);
	snprintf(key, sizeof key, "%s.g_idx", name);	/* GPTQ act-order groups: not blocks */
	if (qp_get(&run->opt->qp, key, "I32", qshape, &qrank, &qn))
		cli_die("%s: %s: g_idx (GPTQ act-order groups) cannot be represented in ONNX blocks; "
		    "write the plan with --static-groups", run->opt->qparams_path, key);
	snprintf(key, sizeof key, "%s.zero_point", name);
	d = qp_get(&run->opt->qp, key, "I32", qshape, &qrank, &qn);
	if (d && qn == ns)
		memcpy(zp, d, (size_t)ns * 4);
	else if (!qdq_kinds[k].symmetric)
		cli_die("%s: %s: missing (an asymmetric format needs zero points)",
		    run->opt->qparams_path, key);
	for (i = 0; i < ns; i++)
		if (zp[i] < qdq_kinds[k].qmin || zp[i] > qdq_kinds[k].qmax)
			cli_die("%s: %s: zero point %d out of range for %s", run->opt->qparams_path, key,
			    (int)zp[i], qdq_kinds[k].name);
	return 1;
}

/* The name consumers read: a Constant's output, else the initializer's. */
static const char *
weight_name(const struct weight *w)
{
	return w->constant ? w->constant->output[0] : w->t->name;
}

static void
emit_qdq(struct qdq_run *run, struct weight *w)
{
	const struct fmt_info *fi = &fmts[w->ch.f];
	enum qdq_kind k = (enum qdq_kind)fi->kind;
	const char *name = weight_name(w);
	struct qdq_layout l = {.ndims = (int)w->t->n_dims};
	int64_t shape[8], ns;
	int rank, given, sdt;
	uint64_t n;
	float *f, *scale;
	int32_t *zp, *codes;
	unsigned char *packed, *zpacked;
	char *qn, *sn, *zn = NULL, *nodename;
	const char *in[3];
	Onnx__NodeProto *dq;
	struct qerr e;

	memcpy(l.dims, w->t->dims, (size_t)l.ndims * sizeof *l.dims);
	l.axis = w->ch.block ? w->red : w->chan;
	l.block = w->ch.block;
	ns = qdq_nscales(&l, shape, &rank);
	f = weight_f32(run, w, &n);
	scale = malloc((size_t)ns * sizeof *scale);
	zp = malloc((size_t)ns * sizeof *zp);
	codes = malloc(n * sizeof *codes);
	packed = malloc(qdq_packed_size(k, (int64_t)n) + 1);
	zpacked = malloc(qdq_packed_size(k, ns) + 1);
	if (!scale || !zp || !codes || !packed || !zpacked)
		cli_die("%s: out of memory", name);
	given = given_scales(run, name, k, shape, rank, ns, scale, zp);
	if (qdq_quantize(k, f, (int64_t)n, &l, scale, zp, given, codes, &e) < 0)
		cli_die("%s: tensor '%s': %s", run->model->path, name, e.msg);
	sdt = half_scale_type(w->fdt, run->out_opset);
	if (sdt != ONNX_FLOAT) {	/* the scales the graph stores are the ones used */
		half_round_scales(sdt, scale, ns);
		if (qdq_quantize(k, f, (int64_t)n, &l, scale, zp, 1, codes, &e) < 0)
			cli_die("%s: tensor '%s': %s", run->model->path, name, e.msg);
	}
	free(f);
	qdq_pack(k, codes, (int64_t)n, packed);
	free(codes);
	qn = fresh(run, name, "_quantized");
	sn = fresh(run, name, "_scale");
	add_init(run, w->owner, new_tensor(qn, qdq_kinds[k].onnx_dt, w->t->dims, l.ndims, packed,
	    qdq_packed_size(k, (int64_t)n)));
	if (sdt == ONNX_FLOAT) {
		add_init(run, w->owner, new_tensor(sn, ONNX_FLOAT, shape, rank, scale, (size_t)ns * 4));
	} else {
		void *h = malloc((size_t)ns * half_size(sdt));
		int64_t bad;

		if (h == NULL || half_store(sdt, scale, ns, h, &bad) < 0)
			cli_die("%s: out of memory", name);
		add_init(run, w->owner, new_tensor(sn, sdt, shape, rank, h, (size_t)ns * half_size(sdt)));
		free(h);
	}
	in[0] = qn;
	in[1] = sn;
	if (!qdq_kinds[k].symmetric) {
		int32_t *codes_zp = zp;

		zn = fresh(run, name, "_zero_point");
		qdq_pack(k, codes_zp, ns, zpacked);
		add_init(run, w->owner, new_tensor(zn, qdq_kinds[k].onnx_dt, shape, rank, zpacked,
		    qdq_packed_size(k, ns)));
		in[2] = zn;
	}
	nodename = fresh(run, name, "_DequantizeLinear");
	w->dq_out = fresh(run, name, "_DequantizeLinear_Output");
	dq = onnx_new_node("DequantizeLinear", NULL, nodename, in, zn ? 3 : 2,
	    (const char *const *)&w->dq_out, 1);
	onnx_node_add_int(dq, "axis", l.axis);
	if (l.block)
		onnx_node_add_int(dq, "block_size", l.block);
	onnx_graph_add_node(w->owner, dq, 0);
	if (sdt != w->fdt) {	/* DequantizeLinear gave float: back to the weight's type */
		char *cast_in = w->dq_out, *castname = fresh(run, name, "_Cast");
		Onnx__NodeProto *cast;

		w->dq_out = fresh(run, name, "_Cast_Output");
		cast = onnx_new_node("Cast", NULL, castname, (const char *const *)&cast_in, 1,
		    (const char *const *)&w->dq_out, 1);
		onnx_node_add_int(cast, "to", w->fdt);
		onnx_graph_add_node(w->owner, cast, 1);
		free(cast_in);
		free(castname);
		run->n_half_cast++;
	}
	if (!l.block) {
		w->scale = scale;
		w->nscale = ns;
	} else
		free(scale);
	free(zp);
	free(packed);
	free(zpacked);
	free(qn);
	free(sn);
	free(zn);
	free(nodename);
}

static void
emit_cast(struct qdq_run *run, struct weight *w)
{
	const struct fmt_info *fi = &fmts[w->ch.f];
	const char *name = weight_name(w);
	uint64_t n;
	float *f = weight_f32(run, w, &n);
	uint16_t *h = malloc(n * 2 + 2);
	char *hn, *nodename;
	Onnx__NodeProto *cast;

	if (h == NULL)
		cli_die("%s: out of memory", name);
	{
		int64_t bad;

		if (half_store(fi->cast_dt, f, (int64_t)n, h, &bad) < 0)
			cli_die("%s: tensor '%s': element %" PRId64 " (%g) is out of %s range",
			    run->model->path, name, bad, f[bad], half_name(fi->cast_dt));
	}
	free(f);
	hn = fresh(run, name, fi->cast_dt == ONNX_FLOAT16 ? "_fp16" : "_bf16");
	add_init(run, w->owner, new_tensor(hn, fi->cast_dt, w->t->dims, (int)w->t->n_dims, h, n * 2));
	free(h);
	nodename = fresh(run, name, "_Cast");
	w->dq_out = fresh(run, name, "_Cast_Output");
	cast = onnx_new_node("Cast", NULL, nodename, (const char *const *)&hn, 1,
	    (const char *const *)&w->dq_out, 1);
	onnx_node_add_int(cast, "to", w->fdt);
	onnx_graph_add_node(w->owner, cast, 0);
	free(hn);
	free(nodename);
}

/* B, scales and zero points of MatMulNBits, shared by every node of w. */
static void
emit_nbits_weight(struct qdq_run *run, struct weight *w)
{
	enum qdq_kind k = (enum qdq_kind)fmts[w->ch.f].kind;
	const char *name = weight_name(w);
	int64_t K, N, kb, bs = w->ch.block, shape[8], r, c, rowb;
	struct qdq_layout l = {.ndims = 2, .axis = 0, .block = w->ch.block};
	uint64_t n;
	float *f = weight_f32(run, w, &n), *scale, *snk;
	int32_t *zp, *codes;
	unsigned char *B, *zpk = NULL;
	int rank;
	struct qerr e;

	/* work on W[K, N]; Gemm with transB stores [N, K] */
	K = w->t->dims[w->red];
	N = w->t->dims[w->chan];
	if (w->red == 1) {
		float *t = malloc(n * sizeof *t);

		if (t == NULL)
			cli_die("%s: out of memory", name);
		for (r = 0; r < N; r++)
			for (c = 0; c < K; c++)
				t[c * N + r] = f[r * K + c];
		free(f);
		f = t;
	}
	l.dims[0] = K;
	l.dims[1] = N;
	kb = qdq_nscales(&l, shape, &rank) / N;
	rowb = bs * qdq_kinds[k].bits / 8;
	scale = malloc((size_t)(kb * N) * sizeof *scale);
	snk = malloc((size_t)(kb * N) * sizeof *snk);
	zp = malloc((size_t)(kb * N) * sizeof *zp);
	codes = malloc(n * sizeof *codes);
	B = malloc((size_t)(N * kb * rowb));
	if (!qdq_kinds[k].symmetric)
		zpk = malloc((size_t)(N * ((kb * qdq_kinds[k].bits + 7) / 8)));
	if (!scale || !snk || !zp || !codes || !B || (!qdq_kinds[k].symmetric && !zpk))
		cli_die("%s: out of memory", name);
	if (qdq_quantize(k, f, (int64_t)n, &l, scale, zp, given_scales(run, name, k, shape, rank,
	    kb * N, scale, zp), codes, &e) < 0)
		cli_die("%s: tensor '%s': %s", run->model->path, name, e.msg);
	if (w->fdt != ONNX_FLOAT) {	/* scales in A's type, which is the weight's */
		half_round_scales(w->fdt, scale, kb * N);
		if (qdq_quantize(k, f, (int64_t)n, &l, scale, zp, 1, codes, &e) < 0)
			cli_die("%s: tensor '%s': %s", run->model->path, name, e.msg);
	}
	qdq_matmulnbits_pack(k, codes, scale, zp, K, N, bs, B, snk, zpk);
	w->nb_b = fresh(run, name, "_MatMulNBits_B");
	w->nb_scales = fresh(run, name, "_MatMulNBits_scales");
	shape[0] = N;
	shape[1] = kb;
	shape[2] = rowb;
	add_init(run, w->owner, new_tensor(w->nb_b, ONNX_UINT8, shape, 3, B, (size_t)(N * kb * rowb)));
	{
		int64_t bad;

		if (half_store(w->fdt, snk, N * kb, snk, &bad) < 0)
			cli_die("%s: out of memory", name);
	}
	add_init(run, w->owner, new_tensor(w->nb_scales, w->fdt, shape, 2, snk,
	    (size_t)(N * kb) * half_size(w->fdt)));
	if (zpk) {
		shape[1] = (kb * qdq_kinds[k].bits + 7) / 8;
		w->nb_zp = fresh(run, name, "_MatMulNBits_zero_points");
		add_init(run, w->owner, new_tensor(w->nb_zp, ONNX_UINT8, shape, 2, zpk,
		    (size_t)(N * shape[1])));
	}
	w->nbits_done = 1;
	free(f);
	free(scale);
	free(snk);
	free(zp);
	free(codes);
	free(B);
	free(zpk);
}

static void
nbits_node(struct weight *w, Onnx__NodeProto *n)
{
	char *in[6];
	size_t nin = 3, i;
	int64_t K = w->t->dims[w->red], N = w->t->dims[w->chan];

	in[0] = strdup(n->input[0]);
	in[1] = strdup(w->nb_b);
	in[2] = strdup(w->nb_scales);
	if (w->nb_zp)
		in[nin++] = strdup(w->nb_zp);
	if (n->n_input > 2 && *n->input[2]) {	/* Gemm bias C -> input 5 */
		while (nin < 5)
			in[nin++] = strdup("");
		in[nin++] = strdup(n->input[2]);
	}
	for (i = 0; i < nin; i++)
		if (in[i] == NULL)
			cli_die("out of memory");
	free_strs(n->input, n->n_input);
	n->input = malloc(nin * sizeof *n->input);
	if (n->input == NULL)
		cli_die("out of memory");
	memcpy(n->input, in, nin * sizeof *in);
	n->n_input = nin;
	for (i = 0; i < n->n_attribute; i++)
		protobuf_c_message_free_unpacked(&n->attribute[i]->base, NULL);
	free(n->attribute);
	n->attribute = NULL;
	n->n_attribute = 0;
	onnx_set_string(&n->op_type, "MatMulNBits");
	onnx_set_string(&n->domain, "com.microsoft");
	onnx_node_add_int(n, "K", K);
	onnx_node_add_int(n, "N", N);
	onnx_node_add_int(n, "bits", qdq_kinds[fmts[w->ch.f].kind].bits);
	onnx_node_add_int(n, "block_size", w->ch.block);
}

/* A Gemm's bias C must be a 1-D [N] vector to become MatMulNBits' bias. */
static int
nbits_bias_ok(struct qdq_run *run, const struct use *u)
{
	struct weight b = {0};
	struct frame fr = {u->g, NULL};
	const Onnx__TensorProto *wt = run->weights[u->weight].t;

	if (u->node->n_input < 3 || !*u->node->input[2])
		return 1;
	if (find_weight(&fr, u->node->input[2], &b) < 0)
		return 0;
	return b.t->n_dims == 1 && b.t->dims[0] == wt->dims[run->weights[u->weight].chan];
}

void
remove_node(Onnx__GraphProto *g, Onnx__NodeProto *n)
{
	size_t i;

	for (i = 0; i < g->n_node; i++)
		if (g->node[i] == n) {
			memmove(g->node + i, g->node + i + 1, (g->n_node - i - 1) * sizeof *g->node);
			g->n_node--;
			protobuf_c_message_free_unpacked(&n->base, NULL);
			return;
		}
}

static int
same_choice(const struct use *u, const struct weight *w)
{
	return u->ch.f == w->ch.f && u->ch.block == w->ch.block && u->ch.nbits == w->ch.nbits &&
	    u->chan == w->chan && u->red == w->red;
}

static size_t
apply_weights(struct qdq_run *run)
{
	size_t i, j, nq = 0;

	for (i = 0; i < run->nweights; i++) {
		struct weight *w = &run->weights[i];
		char *wname;

		for (j = 0; j < run->nuses; j++) {
			struct use *u = &run->uses[j];

			if (u->weight != i || !same_choice(u, w))
				continue;
			if (u->ch.nbits) {
				if (!nbits_bias_ok(run, u))
					continue;
				if (!w->nbits_done)
					emit_nbits_weight(run, w);
				nbits_node(w, u->node);
				smooth_input(run, w, u);
			} else {
				if (w->dq_out == NULL) {
					if (fmts[w->ch.f].kind >= 0)
						emit_qdq(run, w);
					else
						emit_cast(run, w);
				}
				onnx_set_string(&u->node->input[u->c->widx], w->dq_out);
				smooth_input(run, w, u);
			}
			u->done = 1;
			w->converted++;
		}
		if (w->converted == 0)
			continue;
		nq++;
		wname = strdup(weight_name(w));
		if (wname == NULL)
			cli_die("out of memory");
		if ((int)w->converted == use_count(run, wname)) {
			if (w->constant)
				remove_node(w->owner, w->constant);
			else
				onnx_graph_remove_initializer(w->owner, wname);
			w->t = NULL;
		}
		free(wname);
	}
	return nq;
}

/* ---- static quantization: activations from calibrated ranges ---- */

/* x's calibrated range: x.range, F32 [2] or per channel [C, 2] (then the
 * union: activations are quantized per tensor).  0 when absent. */
int
act_range(struct qdq_run *run, const char *x, float *lo, float *hi)
{
	char key[1024];
	int64_t shape[8], n, i;
	int rank;
	const unsigned char *d;

	if (run->opt->capture) {	/* a dry run: note what --static would look up */
		capture_note(&run->captured, x);
		*lo = -1, *hi = 1;
		return 1;
	}
	if (!run->opt->have_qp)
		return randcal_range(&run->ranges, x, lo, hi);
	snprintf(key, sizeof key, "%s.range", x);
	if (!qp_has(&run->opt->qp, key))
		return randcal_range(&run->ranges, x, lo, hi);
	d = qp_get(&run->opt->qp, key, "F32", shape, &rank, &n);
	if (d == NULL || !((rank == 1 && shape[0] == 2) || (rank == 2 && shape[1] == 2 && n >= 2)))
		cli_die("%s: %s: expected F32 [2] or [C, 2] (min, max) within the file",
		    run->opt->qparams_path, key);
	*lo = INFINITY;
	*hi = -INFINITY;
	for (i = 0; i < n; i += 2) {
		float r[2];

		memcpy(r, d + 4 * i, sizeof r);
		if (!isfinite(r[0]) || !isfinite(r[1]) || r[0] > r[1])
			cli_die("%s: %s: not a range (min %g, max %g)", run->opt->qparams_path, key,
			    r[0], r[1]);
		*lo = fminf(*lo, r[0]);
		*hi = fmaxf(*hi, r[1]);
	}
	return 1;
}

static size_t
node_index(Onnx__GraphProto *g, const Onnx__NodeProto *n)
{
	size_t i;

	for (i = 0; i < g->n_node; i++)
		if (g->node[i] == n)
			return i;
	cli_die("internal error: node not in its graph");
}

/* A constant of g (an initializer or a Constant node's value), or NULL. */
const Onnx__TensorProto *
graph_constant(Onnx__GraphProto *g, const char *name, Onnx__NodeProto **constant)
{
	struct frame fr = {g, NULL};
	struct weight w = {0};

	if (find_weight(&fr, name, &w) < 0)
		return NULL;
	*constant = w.constant;
	return w.t;
}

float *
const_f32(struct qdq_run *run, const Onnx__TensorProto *t, uint64_t *n)
{
	struct qerr e;
	float *f = onnx_tensor_f32(run->model, t, n, &e);

	if (f == NULL)
		cli_die_err(&e);
	return f;
}

/* A one-element float constant of the main graph (Clip's bounds). */
int
const_scalar(struct qdq_run *run, const char *name, float *v)
{
	Onnx__NodeProto *c;
	const Onnx__TensorProto *t = graph_constant(run->model->proto->graph, name, &c);
	uint64_t n;
	float *f;

	if (t == NULL || !half_is_weight_type(t->data_type))
		return 0;
	f = const_f32(run, t, &n);
	if (n == 1)
		*v = f[0];
	free(f);
	return n == 1;
}

/* ---- main ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-q] [-w FORMAT] [-b BLOCK] [--matmulnbits] [--node-format PATTERN=FORMAT]...\n"
	    "       [-p QPARAMS] [--static] [--act-type uint8|int8] [--random-calib N [--seed S]\n"
	    "       [--random-dist D] [--input-shape N=D,...]] [--ort-lib PATH]\n"
	    "       [--capture-model | --capture-all] [--external-data] [-o OUT] MODEL\n"
	    "Quantize an ONNX model's weights with DequantizeLinear (QDQ), Cast pairs or MatMulNBits.\n"
	    "float16/bfloat16 weights are quantized from their values; scales in float16 from opset\n"
	    "19, else float scales and a Cast back to the weight's type.\n"
	    "  -w, --weights FORMAT     int8 (default, per-channel), uint8, int4, uint4 (blocked),\n"
	    "                           fp8 (e4m3fn), fp16, bf16 (Cast pairs), float (leave)\n"
	    "  -b, --block N            block size along the reduction axis (16..65536, power of 2;\n"
	    "                           default 128 for int4/uint4; with int8/uint8: blocked int8)\n"
	    "      --matmulnbits        MatMul/Gemm weights as com.microsoft MatMulNBits (4-bit by\n"
	    "                           default, 8-bit with -w int8); other 4-bit nodes stay float\n"
	    "      --node-format P=F    nodes whose name or op type matches glob P get format F[:BLOCK]\n"
	    "                           (first match wins; F may be float)\n"
	    "  -p, --qparams FILE       scales (W.scale, W.zero_point) and activation ranges (A.range)\n"
	    "      --static             also quantize activations (Q->DQ pairs) from the ranges in -p\n"
	    "                           by onnxruntime quantize_static's op rules (shared scales\n"
	    "                           through Reshape/MaxPool/..., Relu/Clip folded), and\n"
	    "                           Conv/Gemm biases to int32\n"
	    "      --act-type T         uint8 (asymmetric, default) or int8 (symmetric)\n"
	    "      --random-calib N     --static with ranges measured by onnxruntime on N random\n"
	    "                           inputs where -p has none (poor ranges: prefer real data)\n"
	    "      --seed S             their seed (default 0)\n"
	    "      --random-dist D      uniform in [0,1) (default) or normal\n"
	    "      --input-shape N=D,.. input N's shape for them (symbolic dimensions default to 1)\n"
	    "      --ort-lib PATH       onnxruntime's library (default $QUTILS_ONNXRUNTIME, else\n"
	    "                           libonnxruntime.so.1)\n"
	    "      --capture-model      write the float model with the activations --static would\n"
	    "                           quantize added as outputs (for scripts/onnx-capture.mjs)\n"
	    "      --capture-all        the same with every activation of the main graph\n"
	    "      --external-data      write tensors of 1 KiB or more to OUT.data\n"
	    "  -o, --output OUT         output model (default: standard output)\n"
	    "  -q, --quiet              no summary on standard error\n",
	    cli_prog());
}

static char *
data_name(const char *out)
{
	const char *base = strrchr(out, '/');
	char *s = malloc(strlen(out) + 8);

	if (s == NULL)
		cli_die("out of memory");
	sprintf(s, "%s.data", base ? base + 1 : out);
	return s;
}

int
any_external(const Onnx__GraphProto *g)
{
	size_t i, j;

	for (i = 0; i < g->n_initializer; i++)
		if (onnx_tensor_is_external(g->initializer[i]))
			return 1;
	for (i = 0; i < g->n_node; i++)
		for (j = 0; j < g->node[i]->n_attribute; j++) {
			const Onnx__AttributeProto *a = g->node[i]->attribute[j];

			if ((a->t && onnx_tensor_is_external(a->t)) || (a->g && any_external(a->g)))
				return 1;
		}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"weights", required_argument, NULL, 'w'}, {"block", required_argument, NULL, 'b'},
		{"matmulnbits", no_argument, NULL, 'M'}, {"node-format", required_argument, NULL, 'N'},
		{"qparams", required_argument, NULL, 'p'}, {"static", no_argument, NULL, 'S'},
		{"act-type", required_argument, NULL, 'A'}, {"external-data", no_argument, NULL, 'E'},
		{"output", required_argument, NULL, 'o'}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		RANDCAL_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	const char *out = "-", *wfmt = "int8";
	long block = -1;
	int c, need_opset = 0, need_ir = 4, need_ms = 0, wfmt_given = 0;
	int64_t cur_opset;
	size_t i, nq, nact = 0, nfolded = 0, nconst = 0;
	struct qerr e;
	struct cli_out mo, dout;
	char *dn = NULL;
	struct options opt = {0};
	struct onnx_model model = {0};
	struct qdq_run run = {.opt = &opt, .model = &model};

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "w:b:p:o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'w': wfmt = optarg; wfmt_given = 1; break;
		case 'b': {
			char *end;

			block = strtol(optarg, &end, 10);
			if (*end || block < 16 || block > 65536 || (block & (block - 1)))
				cli_usage_error("-b %s: a power of 2 from 16 to 65536", optarg);
			break;
		}
		case 'M': opt.dflt.nbits = 1; break;
		case 'N': {
			char *eq = strrchr(optarg, '=');
			struct pattern p;

			if (eq == NULL || eq == optarg || parse_choice(eq + 1, &p.ch) < 0)
				cli_usage_error("--node-format %s: expected PATTERN=FORMAT[:BLOCK]", optarg);
			*eq = 0;
			p.glob = optarg;
			opt.pat = realloc(opt.pat, (opt.npat + 1) * sizeof *opt.pat);
			if (opt.pat == NULL)
				cli_die("out of memory");
			opt.pat[opt.npat++] = p;
			break;
		}
		case 'p': opt.qparams_path = optarg; break;
		case 'S': opt.static_mode = 1; break;
		case 'A':
			if (strcmp(optarg, "int8") && strcmp(optarg, "uint8"))
				cli_usage_error("--act-type %s: uint8 or int8", optarg);
			opt.act_signed = strcmp(optarg, "int8") == 0;
			break;
		case 'E': opt.external = 1; break;
		case OPT_RANDOM: case OPT_SEED: case OPT_DIST: case OPT_ORTLIB: case OPT_SHAPE:
		case OPT_CAPTURE: case OPT_CAPTURE_ALL:
			randcal_option(c, optarg, &opt.rc, &opt.capture, &opt.capture_all);
			break;
		case 'o': out = optarg; break;
		case 'q': opt.quiet = 1; break;
		case 'h':
			usage(stdout);
			free(opt.pat);	/* main's locals: a leak checker would report them */
			randcal_free(&opt.rc, &run.ranges);
			cli_close_stdout();
			return 0;
		case 'V': cli_version();
		default: cli_usage_error("unknown option");
		}
	}
	if (optind != argc - 1)
		cli_usage_error("expected one input model");
	{
		int nb = opt.dflt.nbits;

		if (parse_choice(wfmt, &opt.dflt) < 0)
			cli_usage_error("-w %s: one of int8 uint8 int4 uint4 fp8 fp16 bf16 float", wfmt);
		opt.dflt.nbits = nb;
	}
	if (block > 0) {
		if (fmts[opt.dflt.f].kind < 0 || opt.dflt.f == F_FP8)
			cli_usage_error("-b: only int8, uint8, int4 and uint4 are blocked");
		opt.dflt.block = block;
	}
	if (opt.dflt.nbits && !wfmt_given) {
		/* --matmulnbits alone means 4-bit, as onnxruntime's quantizer does */
		opt.dflt.f = F_INT4;
		opt.dflt.block = block > 0 ? block : 128;
	}
	if (opt.dflt.nbits && opt.dflt.block == 0)
		opt.dflt.block = 128;
	if (opt.capture && (opt.rc.n || opt.qparams_path))
		cli_usage_error("--capture-model: no -p or --random-calib; it quantizes nothing");
	if (opt.rc.nshapes && !opt.rc.n)
		cli_usage_error("--input-shape: only with --random-calib");
	if (opt.rc.n || opt.capture)
		opt.static_mode = 1;
	if (opt.static_mode && !opt.qparams_path && !opt.rc.n && !opt.capture)
		cli_usage_error("--static needs activation ranges: -p QPARAMS or --random-calib N");
	if (opt.qparams_path) {
		if (qp_open(&opt.qp, opt.qparams_path, &e) < 0)
			cli_die_err(&e);
		opt.have_qp = 1;
	}
	if (onnx_load(&model, argv[optind], &e) < 0)
		cli_die_err(&e);
	if (opt.rc.n) {
		fprintf(stderr, "%s: warning: --random-calib: activation ranges from random inputs are"
		    " a poor guess; calibrate on real inputs (scripts/onnx-capture.mjs, qcalib"
		    " --captures) for a model worth shipping\n", cli_prog());
		if (randcal_run(&run.ranges, &model, &opt.rc, &e) < 0)
			cli_die_err(&e);
	}

	collect_names(&run, model.proto->graph);
	scan_graph(&run, model.proto->graph, NULL);

	/* what the chosen formats need of the opset and IR version */
	for (i = 0; i < run.nuses; i++) {
		const struct choice *ch = &run.uses[i].ch;

		if (ch->nbits) {
			need_ms = 1;
			continue;
		}
		if (fmts[ch->f].opset > need_opset)
			need_opset = fmts[ch->f].opset;
		if (ch->block && need_opset < 21)
			need_opset = 21;
		if (fmts[ch->f].ir > need_ir)
			need_ir = fmts[ch->f].ir;
	}
	if (opt.static_mode && need_opset < 13)
		need_opset = 13;
	cur_opset = onnx_opset(model.proto, "");
	if (cur_opset == 0)
		cli_die("%s: no default-domain opset import", model.path);
	for (i = 0; i < run.nuses; i++) {
		const struct weight *w = &run.weights[run.uses[i].weight];
		const struct breaking *b;

		if (opt.static_mode && w->fdt != ONNX_FLOAT)
			cli_die("%s: --static: '%s' is %s; activations of float16/bfloat16 models are"
			    " not quantized yet (weight-only formats work)", model.path, weight_name(w),
			    half_name(w->fdt));
		/* float16 scales need opset 19: raise it when nothing breaks, else
		 * float scales and a Cast (halfw.c) */
		if (w->fdt == ONNX_FLOAT16 && !run.uses[i].ch.nbits && fmts[run.uses[i].ch.f].kind >= 0 &&
		    need_opset < 19 && cur_opset < 19 &&
		    bump_blocker(model.proto->graph, cur_opset, 19, &b) == NULL)
			need_opset = 19;
	}
	if (need_opset > cur_opset && !opt.capture) {	/* a capture is not quantized */
		char why[64];
		int f;

		snprintf(why, sizeof why, "the chosen format");
		for (f = 0; f < F_COUNT; f++)
			for (i = 0; i < run.nuses; i++)
				if ((int)run.uses[i].ch.f == f && !run.uses[i].ch.nbits &&
				    (fmts[f].opset == need_opset || (need_opset == 21 && run.uses[i].ch.block)))
					snprintf(why, sizeof why, "%s%s", fmts[f].name,
					    run.uses[i].ch.block ? " (blocked)" : "");
		check_bump(&run, model.proto->graph, cur_opset, need_opset, why);
		onnx_set_opset(model.proto, "", need_opset);
	}
	run.out_opset = onnx_opset(model.proto, "");
	if (need_ms && onnx_opset(model.proto, "com.microsoft") == 0)
		onnx_set_opset(model.proto, "com.microsoft", 1);
	if (ir_for_opset(onnx_opset(model.proto, "")) > need_ir)
		need_ir = (int)ir_for_opset(onnx_opset(model.proto, ""));
	if (run.nuses && (!model.proto->has_ir_version || model.proto->ir_version < need_ir)) {
		model.proto->has_ir_version = 1;
		model.proto->ir_version = need_ir;
	}

	run.use_extw = opt.external || any_external(model.proto->graph);
	if (run.use_extw) {
		if (strcmp(out, "-") == 0)
			cli_usage_error("external data needs an output file (-o)");
		dn = malloc(strlen(out) + 8);
		if (dn == NULL)
			cli_die("out of memory");
		sprintf(dn, "%s.data", out);
		cli_out_open(&dout, dn, 1);
		{
			char *loc = data_name(out);

			onnx_extw_init(&run.extw, dout.f, loc, opt.external ? 1024 : UINT64_MAX);
			free(loc);
		}
	}
	cli_out_open(&mo, out, 1);

	nq = apply_weights(&run);
	if (opt.static_mode) {
		struct static_wop *wops = calloc(run.nuses + 1, sizeof *wops);

		if (wops == NULL)
			cli_die("out of memory");
		for (i = 0; i < run.nuses; i++) {
			const struct use *u = &run.uses[i];
			const struct weight *w = &run.weights[u->weight];

			wops[i].node = u->node;
			wops[i].static_ok = u->done && !u->ch.nbits && !u->ch.block &&
			    (u->ch.f == F_INT8 || u->ch.f == F_UINT8);
			wops[i].wscale = w->scale;
			wops[i].nscale = w->nscale;
			wops[i].bias_idx = u->c->bias_idx;
		}
		nact = static_apply(&run, model.proto->graph, wops, run.nuses, opt.act_signed, &nfolded,
		    &nconst);
		free(wops);
	}

	if (opt.capture) {	/* the dry run only listed activations */
		if (run.use_extw) {
			cli_out_abort(&dout);
			onnx_extw_free(&run.extw);
		}
		cli_out_abort(&mo);
		capture_write(&run.captured, argv[optind], out, opt.capture_all, opt.quiet);
		goto done;
	}
	if (onnx_save(&model, mo.f, run.use_extw ? &run.extw : NULL, &e) < 0) {
		if (run.use_extw)
			cli_out_abort(&dout);
		cli_out_abort(&mo);
		cli_die("%s: %s", out, e.msg);
	}
	if (run.use_extw) {
		cli_out_commit(&dout);
		onnx_extw_free(&run.extw);
	}
	cli_out_commit(&mo);
	if (!opt.quiet)
		fprintf(stderr, "%s: %zu weights quantized, %zu activation pairs%s%s; opset %" PRId64
		    ", IR %" PRId64 "\n", cli_prog(), nq, nact, nfolded ? " (Relu/Clip folded)" : "",
		    nconst ? ", constant inputs quantized" : "", onnx_opset(model.proto, ""),
		    model.proto->ir_version);
	if (!opt.quiet && run.n_half_cast)
		fprintf(stderr, "%s: %zu float16/bfloat16 weights dequantized to float and Cast back"
		    " (onnxruntime's DequantizeLinear has float16 scales only from opset 19 and no"
		    " bfloat16)\n", cli_prog(), run.n_half_cast);
done:
	for (i = 0; i < run.nweights; i++) {
		free(run.weights[i].dq_out);
		free(run.weights[i].scale);
		free(run.weights[i].nb_b);
		free(run.weights[i].nb_scales);
		free(run.weights[i].nb_zp);
	}
	free(run.weights);
	free(run.uses);
	free(opt.pat);
	free(dn);
	ns_free(&run.names);
	ns_free(&run.counts);
	if (opt.have_qp)
		qp_close(&opt.qp);
	randcal_free(&opt.rc, &run.ranges);
	onnx_free(&model);
	cli_close_stdout();
	return 0;
}
