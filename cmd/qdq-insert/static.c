/* qdq-insert --static: activations quantized with QuantizeLinear ->
 * DequantizeLinear pairs, in the shape onnxruntime's quantize_static gives
 * in QDQ format, driven by the calibrated ranges (A.range) of a qparams file.
 *
 * Which tensors get a pair is a table of op rules, read from onnxruntime's
 * python quantizer (registry.py and the files of its operators folder): the ops of its QDQ and
 * QLinear registries, their activation inputs, and what happens to their
 * output.  Nodes are visited in graph order, as onnxruntime does, so a
 * "direct" op (Reshape, MaxPool, ...) sees whether its input was quantized
 * by an earlier node.  Where we differ from onnxruntime, on purpose:
 *  - a tensor without a range in the qparams file stays float (onnxruntime
 *    calibrates every tensor, so it always has one);
 *  - a Clip is folded into its producer only when its bounds include 0, the
 *    only case where QuantizeLinear's clamp reproduces it exactly;
 *  - Conv, Gemm and MatMul get activation pairs only when their weight was
 *    quantized to per-channel int8 or uint8 (or they have no constant
 *    weight), so -w int4 --static stays weight-only for those nodes. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "onnx.h"
#include "qdq-insert.h"

enum out_rule {
	OUT_NONE,
	OUT_OWN,	/* the output gets its own pair, from its own range */
	OUT_SHARED,	/* the output reuses input 0's scale and zero point */
	OUT_FOLD,	/* Relu/Clip: with asymmetric activations the node is removed,
			 * its producer writes its output, whose pair does the clamping */
	OUT_UNIT,	/* Softmax: a pair for the range [0, 1], calibrated or not
			 * (onnxruntime's QDQSoftmax; its fused QLinearSoftmax is
			 * wrong with other scales) */
};

#define ALL_INPUTS (~0u)

static const struct act_rule {
	const char *op;
	unsigned inputs;	/* bit i: input i is an activation that gets a pair */
	enum out_rule out;
	int direct;		/* only when input 0 is already quantized */
	int weighted;		/* Conv/Gemm/MatMul: see the file comment */
	int all_outputs;	/* the output rule applies to every output (Split) */
} act_rules[] = {
	/* op               inputs      output      direct weighted all */
	{"Conv",            1,          OUT_OWN,    0, 1, 0},
	{"ConvTranspose",   1,          OUT_OWN,    0, 1, 0},
	{"Gemm",            3,          OUT_OWN,    0, 1, 0},
	{"MatMul",          3,          OUT_OWN,    0, 1, 0},
	{"Add",             3,          OUT_OWN,    0, 0, 0},
	{"Mul",             3,          OUT_OWN,    0, 0, 0},
	{"Concat",          ALL_INPUTS, OUT_OWN,    0, 0, 0},
	{"Softmax",         1,          OUT_UNIT,   0, 0, 0},
	{"Sigmoid",         1,          OUT_OWN,    0, 0, 0},
	{"LeakyRelu",       1,          OUT_OWN,    0, 0, 0},
	{"GlobalAveragePool", 1,        OUT_OWN,    0, 0, 0},
	{"Relu",            1,          OUT_FOLD,   1, 0, 0},
	{"Clip",            1,          OUT_FOLD,   1, 0, 0},
	{"Reshape",         1,          OUT_SHARED, 1, 0, 0},
	{"Transpose",       1,          OUT_SHARED, 1, 0, 0},
	{"Squeeze",         1,          OUT_SHARED, 1, 0, 0},
	{"Unsqueeze",       1,          OUT_SHARED, 1, 0, 0},
	{"Slice",           1,          OUT_SHARED, 1, 0, 0},
	{"AveragePool",     1,          OUT_SHARED, 1, 0, 0},
	{"MaxPool",         1,          OUT_SHARED, 1, 0, 0},
	{"Resize",          1,          OUT_SHARED, 1, 0, 0},
	{"Gather",          1,          OUT_SHARED, 1, 0, 0},
	{"Split",           1,          OUT_SHARED, 0, 0, 1},
	{"Pad",             1,          OUT_SHARED, 0, 0, 0},
};

static const struct act_rule *
rule_for(const Onnx__NodeProto *n)
{
	size_t i;

	if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
		return NULL;
	for (i = 0; i < sizeof act_rules / sizeof act_rules[0]; i++)
		if (n->op_type && strcmp(n->op_type, act_rules[i].op) == 0)
			return &act_rules[i];
	return NULL;
}

/* ---- a string -> long map (keys copied) ---- */

struct smap {
	char **key;
	long *val;
	size_t cap, n;
};

static size_t
smap_slot(const struct smap *m, const char *k)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (const char *p = k; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (i = h & (m->cap - 1); m->key[i] && strcmp(m->key[i], k); i = (i + 1) & (m->cap - 1))
		;
	return i;
}

static long *
smap_get(const struct smap *m, const char *k)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = smap_slot(m, k);
	return m->key[i] ? &m->val[i] : NULL;
}

static long *
smap_put(struct smap *m, const char *k, long v)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct smap big = {0};

		big.cap = m->cap ? 2 * m->cap : 256;
		big.key = calloc(big.cap, sizeof *big.key);
		big.val = calloc(big.cap, sizeof *big.val);
		if (!big.key || !big.val)
			cli_die("out of memory");
		for (i = 0; i < m->cap; i++)
			if (m->key[i]) {
				size_t j = smap_slot(&big, m->key[i]);

				big.key[j] = m->key[i];
				big.val[j] = m->val[i];
				big.n++;
			}
		free(m->key);
		free(m->val);
		*m = big;
	}
	i = smap_slot(m, k);
	if (!m->key[i]) {
		if ((m->key[i] = strdup(k)) == NULL)
			cli_die("out of memory");
		m->val[i] = v;
		m->n++;
	}
	return &m->val[i];
}

static void
smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof *m);
}

/* ---- the plan ---- */

struct act {
	char *name;
	Onnx__GraphProto *g;
	long root;		/* index of the tensor whose scale is used (itself if own) */
	int dead;		/* was planned, then folded away */
	float scale;
	int32_t zp;
	char *sn, *zn;		/* its scale and zero-point initializers (own only) */
};

struct fold {
	Onnx__GraphProto *g;
	Onnx__NodeProto *node;		/* the Relu/Clip removed */
};

/* One static_apply's plan: the activations that get a pair, the constant
 * inputs quantized, the Relu/Clip folded, and what it learnt of the
 * graph's tensors on the way.  static_apply makes it and hands it to every
 * step, so nothing outlives the call. */
struct static_plan {
	struct qdq_run *run;	/* for new names, ranges and initializers */
	struct act *a;
	size_t n;
	struct smap index;	/* name -> act */
	struct smap consts;	/* initializers and Constant outputs, all graphs */
	struct smap uses;	/* name -> number of node inputs reading it */
	struct smap owner;	/* name -> the graph defining it (node output, graph input) */
	struct smap type;	/* name -> element type, where known */
	int act_signed;
	size_t folded;
	struct cconst { Onnx__GraphProto *g; char *name; } *cq;	/* constant inputs */
	size_t ncq;
	struct creader { size_t cq; Onnx__NodeProto *node; size_t idx; } *cr;	/* their table readers */
	size_t ncr;
	struct smap cqi;
	struct fold *folds;
	size_t nfolds;
};

/* Element types, so that an integer tensor never gets a QuantizeLinear even
 * when a qparams file has a range for it: what the model declares (inputs,
 * outputs, value_info, constants), then forward through the ops below. */
enum { T_IN0 = -1, T_IN1 = -2, T_CAST = -3 };
static const struct type_rule {
	const char *op;
	int out;	/* the output's type, or T_IN0 / T_IN1: an input's, T_CAST: "to" */
} type_rules[] = {
	{"Shape", ONNX_INT64}, {"Size", ONNX_INT64}, {"NonZero", ONNX_INT64},
	{"ArgMax", ONNX_INT64}, {"ArgMin", ONNX_INT64}, {"Equal", ONNX_BOOL},
	{"Less", ONNX_BOOL}, {"Greater", ONNX_BOOL}, {"LessOrEqual", ONNX_BOOL},
	{"GreaterOrEqual", ONNX_BOOL}, {"Not", ONNX_BOOL}, {"And", ONNX_BOOL}, {"Or", ONNX_BOOL},
	{"Cast", T_CAST}, {"Where", T_IN1},
	{"Reshape", T_IN0}, {"Transpose", T_IN0}, {"Squeeze", T_IN0}, {"Unsqueeze", T_IN0},
	{"Slice", T_IN0}, {"Gather", T_IN0}, {"Concat", T_IN0}, {"Split", T_IN0}, {"Pad", T_IN0},
	{"Flatten", T_IN0}, {"Expand", T_IN0}, {"Tile", T_IN0}, {"Identity", T_IN0},
	{"Add", T_IN0}, {"Sub", T_IN0}, {"Mul", T_IN0}, {"Div", T_IN0}, {"Neg", T_IN0},
	{"Abs", T_IN0}, {"Min", T_IN0}, {"Max", T_IN0}, {"ReduceMax", T_IN0}, {"ReduceMin", T_IN0},
	{"ReduceSum", T_IN0}, {"ReduceProd", T_IN0}, {"Relu", T_IN0}, {"Clip", T_IN0},
	{"MaxPool", T_IN0}, {"Resize", T_IN0},
};

static void
note_type(struct static_plan *plan, const char *name, int dt)
{
	if (*name && dt > 0)
		*smap_put(&plan->type, name, dt) = dt;
}

static void
note_vis(struct static_plan *plan, Onnx__ValueInfoProto **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i]->name && v[i]->type && v[i]->type->tensor_type &&
		    v[i]->type->tensor_type->has_elem_type)
			note_type(plan, v[i]->name, v[i]->type->tensor_type->elem_type);
}

static int
type_of(const struct static_plan *plan, const char *name)
{
	long *t = smap_get(&plan->type, name);

	return t ? (int)*t : 0;
}

static void
infer_types(struct static_plan *plan, const Onnx__NodeProto *n)
{
	size_t i;
	int dt = 0;

	if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
		return;
	for (i = 0; i < sizeof type_rules / sizeof type_rules[0]; i++)
		if (n->op_type && strcmp(n->op_type, type_rules[i].op) == 0) {
			int r = type_rules[i].out;

			dt = r == T_IN0 ? (n->n_input > 0 ? type_of(plan, n->input[0]) : 0) :
			    r == T_IN1 ? (n->n_input > 1 ? type_of(plan, n->input[1]) : 0) :
			    r == T_CAST ? (int)onnx_node_attr_int(n, "to", 0) : r;
			break;
		}
	for (i = 0; i < n->n_output && dt > 0; i++)
		if (type_of(plan, n->output[i]) == 0)
			note_type(plan, n->output[i], dt);
	if (n->op_type && strcmp(n->op_type, "MaxPool") == 0 && n->n_output > 1)
		note_type(plan, n->output[1], ONNX_INT64);	/* Indices */
}

/* Known to hold something other than float32. */
static int
not_float(const struct static_plan *plan, const char *name)
{
	int t = type_of(plan, name);

	return t != 0 && t != ONNX_FLOAT;
}

static void
collect(struct static_plan *plan, Onnx__GraphProto *g)
{
	size_t i, j, k;

	note_vis(plan, g->input, g->n_input);
	note_vis(plan, g->output, g->n_output);
	note_vis(plan, g->value_info, g->n_value_info);
	for (i = 0; i < g->n_initializer; i++) {
		smap_put(&plan->consts, g->initializer[i]->name, 1);
		note_type(plan, g->initializer[i]->name, g->initializer[i]->data_type);
	}
	for (i = 0; i < g->n_input; i++)
		smap_put(&plan->owner, g->input[i]->name, (long)(intptr_t)g);
	for (i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];

		for (j = 0; j < n->n_output; j++)
			if (*n->output[j])
				smap_put(&plan->owner, n->output[j], (long)(intptr_t)g);
		if (n->op_type && strcmp(n->op_type, "Constant") == 0 && n->n_output == 1) {
			const Onnx__AttributeProto *v = onnx_node_attr(n, "value");

			smap_put(&plan->consts, n->output[0], 1);
			note_type(plan, n->output[0], v && v->t ? v->t->data_type : 0);
		}
		for (j = 0; j < n->n_input; j++)
			if (*n->input[j])
				(*smap_put(&plan->uses, n->input[j], 0))++;
		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g)
				collect(plan, n->attribute[j]->g);
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				collect(plan, n->attribute[j]->graphs[k]);
		}
	}
}

static int
is_graph_io(const Onnx__GraphProto *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n_output; i++)
		if (strcmp(g->output[i]->name, name) == 0)
			return 1;
	for (i = 0; i < g->n_input; i++)
		if (strcmp(g->input[i]->name, name) == 0)
			return 1;
	return 0;
}

static long
planned(const struct static_plan *plan, const char *name)
{
	long *i = smap_get(&plan->index, name);

	return i && !plan->a[*i].dead ? *i : -1;
}

/* Scale and zero point from a range, as onnxruntime computes them: the range
 * stretched to include 0; uint8 asymmetric, int8 symmetric (zero point 0). */
static void
act_params(float lo, float hi, int sym, float *scale, int32_t *zp)
{
	lo = fminf(lo, 0.0f);
	hi = fmaxf(hi, 0.0f);
	if (sym) {
		*scale = fmaxf(-lo, hi) / 127.0f;
		*zp = 0;
	} else {
		*scale = (hi - lo) / 255.0f;
		*zp = *scale > 0 ? (int32_t)fminf(fmaxf(nearbyintf(-lo / *scale), 0.0f), 255.0f) : 0;
	}
	if (!(*scale > 0))
		*scale = 1.0f;
}

static long
add_act(struct static_plan *plan, Onnx__GraphProto *g, const char *name, long root)
{
	struct act *a;
	long i;

	plan->a = realloc(plan->a, (plan->n + 1) * sizeof *plan->a);
	if (plan->a == NULL || (name = strdup(name)) == NULL)
		cli_die("out of memory");
	i = (long)plan->n++;
	a = &plan->a[i];
	memset(a, 0, sizeof *a);
	a->name = (char *)name;
	a->g = g;
	a->root = root < 0 ? i : plan->a[root].root;
	*smap_put(&plan->index, a->name, i) = i;
	return i;
}

/* An own pair for x when it is a float activation with a range (or, when
 * unit, for [0, 1] whatever the qparams file says). */
static long
want_own_range(struct static_plan *plan, Onnx__GraphProto *g, const char *x, int unit)
{
	float lo = 0, hi = 1;
	long i = planned(plan, x), *owner;

	if (i >= 0)
		return i;
	/* only tensors of this graph: a pair inside an If branch for an outer
	 * tensor would leave the outer consumers' shared scales out of reach */
	if (!*x || smap_get(&plan->consts, x) || (owner = smap_get(&plan->owner, x)) == NULL ||
	    *owner != (long)(intptr_t)g || not_float(plan, x) ||
	    (!unit && !act_range(plan->run, x, &lo, &hi)))
		return -1;
	i = add_act(plan, g, x, -1);
	act_params(lo, hi, plan->act_signed, &plan->a[i].scale, &plan->a[i].zp);
	return i;
}

static long
want_own(struct static_plan *plan, Onnx__GraphProto *g, const char *x)
{
	return want_own_range(plan, g, x, 0);
}

/* A float constant of g read by Add, Mul, Concat...: stored quantized per
 * tensor in the activation type (its own min/max) behind a DequantizeLinear,
 * as onnxruntime does, so its fused QLinearAdd/QLinearMul can take it.  Only
 * those readers switch to the copy: a Pow reading the same exponent keeps
 * the exact float (a dequantized 2 is not 2, and a negative base would give
 * NaN). */
static void
want_const(struct static_plan *plan, Onnx__GraphProto *g, Onnx__NodeProto *n, size_t j)
{
	const char *x = n->input[j];
	Onnx__NodeProto *c;
	const Onnx__TensorProto *t;
	long *k;

	if (!*x || !smap_get(&plan->consts, x) || is_graph_io(g, x))
		return;
	if ((k = smap_get(&plan->cqi, x)) == NULL) {
		t = graph_constant(g, x, &c);
		if (t == NULL || t->data_type != ONNX_FLOAT)
			return;
		plan->cq = realloc(plan->cq, (plan->ncq + 1) * sizeof *plan->cq);
		if (plan->cq == NULL || (x = strdup(x)) == NULL)
			cli_die("out of memory");
		plan->cq[plan->ncq] = (struct cconst){g, (char *)x};
		k = smap_put(&plan->cqi, x, (long)plan->ncq++);
	}
	if (plan->cq[*k].g != g)
		return;
	plan->cr = realloc(plan->cr, (plan->ncr + 1) * sizeof *plan->cr);
	if (plan->cr == NULL)
		cli_die("out of memory");
	plan->cr[plan->ncr++] = (struct creader){(size_t)*k, n, j};
}

static void
want_shared(struct static_plan *plan, Onnx__GraphProto *g, const char *y, long from)
{
	long *owner = smap_get(&plan->owner, y);

	if (*y && planned(plan, y) < 0 && owner && *owner == (long)(intptr_t)g &&
	    plan->a[from].g == g && !not_float(plan, y))
		add_act(plan, g, y, from);
}

/* Clip's bounds, from attributes (opset < 11) or constant inputs. */
static int
clip_keeps_zero(struct static_plan *plan, const Onnx__NodeProto *n)
{
	float lo = -INFINITY, hi = INFINITY;
	size_t k;

	if (onnx_node_attr(n, "min"))
		lo = onnx_node_attr_float(n, "min", lo);
	if (onnx_node_attr(n, "max"))
		hi = onnx_node_attr_float(n, "max", hi);
	for (k = 1; k < 3 && k < n->n_input; k++) {
		float v;

		if (!*n->input[k])
			continue;
		if (!const_scalar(plan->run, n->input[k], &v))
			return 0;
		if (k == 1)
			lo = v;
		else
			hi = v;
	}
	return lo <= 0 && hi >= 0;
}

static void
plan_graph(struct static_plan *plan, Onnx__GraphProto *g, const struct static_wop *wops,
    size_t nwops)
{
	size_t i, j, k;

	for (i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		const struct act_rule *r = rule_for(n);
		long in0;

		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g)
				plan_graph(plan, n->attribute[j]->g, wops, nwops);
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				plan_graph(plan, n->attribute[j]->graphs[k], wops, nwops);
		}
		infer_types(plan, n);
		if (r == NULL || n->n_input == 0 || n->n_output == 0)
			continue;
		if (r->weighted) {
			int ok = 1;

			for (j = 0; j < nwops && wops[j].node != n; j++)
				;
			if (j < nwops)
				ok = wops[j].static_ok;
			else	/* no quantized weight: only activation x activation */
				for (k = 0; k < n->n_input && k < 2; k++)
					if (smap_get(&plan->consts, n->input[k]))
						ok = 0;
			if (!ok)
				continue;
		}
		in0 = planned(plan, n->input[0]);
		if (r->direct && in0 < 0)
			continue;
		if (r->out == OUT_FOLD) {
			long *u = smap_get(&plan->uses, n->input[0]);
			float lo, hi;

			if (!plan->act_signed && u && *u == 1 && !is_graph_io(g, n->input[0]) &&
			    act_range(plan->run, n->output[0], &lo, &hi) &&
			    (strcmp(n->op_type, "Clip") || clip_keeps_zero(plan, n))) {
				plan->a[in0].dead = 1;
				plan->folds = realloc(plan->folds,
				    (plan->nfolds + 1) * sizeof *plan->folds);
				if (plan->folds == NULL)
					cli_die("out of memory");
				plan->folds[plan->nfolds++] = (struct fold){g, n};
				want_own(plan, g, n->output[0]);
				continue;
			}
			want_own(plan, g, n->output[0]);
			continue;
		}
		for (j = 0; j < n->n_input && j < 32; j++)
			if (r->inputs & (1u << j)) {
				want_own(plan, g, n->input[j]);
				if (!r->weighted && !r->direct)
					want_const(plan, g, n, j);
			}
		in0 = planned(plan, n->input[0]);
		for (j = 0; j < (r->all_outputs ? n->n_output : 1); j++) {
			if (r->out == OUT_OWN)
				want_own(plan, g, n->output[j]);
			else if (r->out == OUT_UNIT)
				want_own_range(plan, g, n->output[j], 1);
			else if (r->out == OUT_SHARED && in0 >= 0)
				want_shared(plan, g, n->output[j], in0);
		}
	}
}

/* ---- applying it ---- */

static Onnx__NodeProto *
producer_of(Onnx__GraphProto *g, const char *x, size_t *at)
{
	size_t i, j;

	for (i = 0; i < g->n_node; i++)
		for (j = 0; j < g->node[i]->n_output; j++)
			if (strcmp(g->node[i]->output[j], x) == 0) {
				*at = i;
				return g->node[i];
			}
	return NULL;
}

static void
static_rewire(Onnx__GraphProto *g, const char *from, const char *to, const Onnx__NodeProto *skip)
{
	size_t i, j, k;

	for (i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];

		if (n == skip)
			continue;
		for (j = 0; j < n->n_input; j++)
			if (strcmp(n->input[j], from) == 0)
				onnx_set_string(&n->input[j], to);
		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g)
				static_rewire(n->attribute[j]->g, from, to, skip);
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				static_rewire(n->attribute[j]->graphs[k], from, to, skip);
		}
	}
}

static void
apply_fold(const struct fold *f)
{
	size_t at, i;
	Onnx__NodeProto *p = producer_of(f->g, f->node->input[0], &at);

	if (p == NULL)
		cli_die("internal error: no producer for '%s'", f->node->input[0]);
	for (i = 0; i < p->n_output; i++)
		if (strcmp(p->output[i], f->node->input[0]) == 0)
			onnx_set_string(&p->output[i], f->node->output[0]);
	remove_node(f->g, f->node);
}

static void
emit_pair(struct static_plan *plan, struct act *a)
{
	const struct act *root = &plan->a[a->root];
	char *qo, *qnode, *dqnode, *dqo, *pin = NULL, *x = a->name;
	const char *in[3];
	Onnx__NodeProto *q, *dq, *p;
	size_t at = 0, i;
	int is_out = 0;

	if (a->root == a - plan->a) {	/* own scale and zero point */
		uint8_t zb = (uint8_t)a->zp;

		a->sn = fresh(plan->run, x, "_scale");
		a->zn = fresh(plan->run, x, "_zero_point");
		add_init(plan->run, a->g, onnx_new_tensor(a->sn, ONNX_FLOAT, NULL, 0, &a->scale, 4));
		add_init(plan->run, a->g, onnx_new_tensor(a->zn,
		    plan->act_signed ? ONNX_INT8 : ONNX_UINT8, NULL, 0, &zb, 1));
	}
	p = producer_of(a->g, x, &at);
	at = p ? at + 1 : 0;
	for (i = 0; i < a->g->n_output; i++)
		is_out |= strcmp(a->g->output[i]->name, x) == 0;
	qnode = fresh(plan->run, x, "_QuantizeLinear");
	qo = fresh(plan->run, x, "_QuantizeLinear_Output");
	dqnode = fresh(plan->run, x, "_DequantizeLinear");
	if (is_out && p) {
		/* a graph output keeps its name on the DequantizeLinear; the
		 * producer writes a new one (onnxruntime's renaming) */
		pin = fresh(plan->run, x, "_QuantizeLinear_Input");
		for (i = 0; i < p->n_output; i++)
			if (strcmp(p->output[i], x) == 0)
				onnx_set_string(&p->output[i], pin);
		in[0] = pin;
		dqo = strdup(x);
	} else {
		in[0] = x;
		dqo = fresh(plan->run, x, "_DequantizeLinear_Output");
	}
	if (dqo == NULL)
		cli_die("out of memory");
	in[1] = root->sn;
	in[2] = root->zn;
	q = onnx_new_node("QuantizeLinear", NULL, qnode, in, 3, (const char *const *)&qo, 1);
	in[0] = qo;
	dq = onnx_new_node("DequantizeLinear", NULL, dqnode, in, 3, (const char *const *)&dqo, 1);
	onnx_graph_add_node(a->g, q, at);
	onnx_graph_add_node(a->g, dq, at + 1);
	if (!(is_out && p))
		static_rewire(a->g, x, dqo, q);
	free(pin);
	free(qo);
	free(qnode);
	free(dqnode);
	free(dqo);
}

/* int32 bias, scale x_scale * w_scale[c], zero point 0 (quantize_static's shape). */
static int
quantize_bias(struct static_plan *plan, Onnx__GraphProto *g, Onnx__NodeProto *node,
    const struct static_wop *w, float xs)
{
	const char *bname = node->input[w->bias_idx];
	Onnx__NodeProto *constant = NULL;
	const Onnx__TensorProto *t = graph_constant(g, bname, &constant);
	uint64_t n, i;
	float *f, *bs;
	int32_t *q;
	char *qn, *sn, *nodename, *out, *keep;
	const char *in[2];
	Onnx__NodeProto *dq;
	int64_t dim;
	long *u = smap_get(&plan->uses, bname);

	if (t == NULL || t->data_type != ONNX_FLOAT || t->n_dims != 1 || t->dims[0] != w->nscale ||
	    u == NULL || *u != 1)
		return 0;
	f = const_f32(plan->run, t, &n);
	bs = malloc(n * sizeof *bs + 4);
	q = malloc(n * sizeof *q + 4);
	if (!bs || !q)
		cli_die("out of memory");
	for (i = 0; i < n; i++) {
		double v;

		bs[i] = xs * w->wscale[i];
		v = nearbyint((double)(f[i] / bs[i]));
		q[i] = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
	}
	dim = (int64_t)n;
	qn = fresh(plan->run, bname, "_quantized");
	sn = fresh(plan->run, bname, "_scale");
	add_init(plan->run, g, onnx_new_tensor(qn, ONNX_INT32, &dim, 1, q, n * 4));
	add_init(plan->run, g, onnx_new_tensor(sn, ONNX_FLOAT, &dim, 1, bs, n * 4));
	nodename = fresh(plan->run, bname, "_DequantizeLinear");
	out = fresh(plan->run, bname, "_DequantizeLinear_Output");
	in[0] = qn;
	in[1] = sn;
	dq = onnx_new_node("DequantizeLinear", NULL, nodename, in, 2, (const char *const *)&out, 1);
	onnx_node_add_int(dq, "axis", 0);
	onnx_graph_add_node(g, dq, 0);
	keep = strdup(bname);
	if (keep == NULL)
		cli_die("out of memory");
	onnx_set_string(&node->input[w->bias_idx], out);
	if (constant)
		remove_node(g, constant);
	else
		onnx_graph_remove_initializer(g, keep);
	free(keep);
	free(f);
	free(bs);
	free(q);
	free(qn);
	free(sn);
	free(nodename);
	free(out);
	return 1;
}

static void
emit_const(struct static_plan *plan, const struct cconst *cq, size_t which)
{
	size_t nreaders = 0;
	long *uses = smap_get(&plan->uses, cq->name);
	Onnx__NodeProto *c = NULL, *dq;
	const Onnx__TensorProto *t = graph_constant(cq->g, cq->name, &c);
	uint64_t n, i;
	float *f, lo = 0, hi = 0, scale;
	int32_t zp;
	int64_t dims[8];
	int nd;
	unsigned char *q;
	char *qn, *sn, *zn, *dqn, *dqo, *name = cq->name;
	const char *in[3];
	uint8_t zb;

	if (t == NULL || t->n_dims > 8)
		return;
	f = const_f32(plan->run, t, &n);
	nd = (int)t->n_dims;
	if (nd > 0)
		memcpy(dims, t->dims, (size_t)nd * sizeof *dims);
	for (i = 0; i < n; i++) {
		if (!isfinite(f[i]))
			cli_die("constant '%s': element %" PRIu64 " is not finite", name, i);
		lo = fminf(lo, f[i]);
		hi = fmaxf(hi, f[i]);
	}
	act_params(lo, hi, plan->act_signed, &scale, &zp);
	q = malloc(n + 1);
	if (q == NULL)
		cli_die("out of memory");
	for (i = 0; i < n; i++) {	/* QuantizeLinear: x / scale in float, nearest even, saturate */
		float v = nearbyintf(f[i] / scale) + (float)zp;

		if (plan->act_signed)
			q[i] = (unsigned char)(int8_t)fminf(fmaxf(v, -128.0f), 127.0f);
		else
			q[i] = (unsigned char)fminf(fmaxf(v, 0.0f), 255.0f);
	}
	zb = (uint8_t)zp;
	qn = fresh(plan->run, name, "_quantized");
	sn = fresh(plan->run, name, "_scale");
	zn = fresh(plan->run, name, "_zero_point");
	dqn = fresh(plan->run, name, "_DequantizeLinear");
	dqo = fresh(plan->run, name, "_DequantizeLinear_Output");
	add_init(plan->run, cq->g, onnx_new_tensor(qn, plan->act_signed ? ONNX_INT8 : ONNX_UINT8,
	    dims, nd, q, n));
	add_init(plan->run, cq->g, onnx_new_tensor(sn, ONNX_FLOAT, NULL, 0, &scale, 4));
	add_init(plan->run, cq->g, onnx_new_tensor(zn, plan->act_signed ? ONNX_INT8 : ONNX_UINT8,
	    NULL, 0, &zb, 1));
	in[0] = qn;
	in[1] = sn;
	in[2] = zn;
	dq = onnx_new_node("DequantizeLinear", NULL, dqn, in, 3, (const char *const *)&dqo, 1);
	onnx_graph_add_node(cq->g, dq, 0);
	for (i = 0; i < plan->ncr; i++)
		if (plan->cr[i].cq == which) {
			onnx_set_string(&plan->cr[i].node->input[plan->cr[i].idx], dqo);
			nreaders++;
		}
	if (uses && (size_t)*uses == nreaders) {	/* nobody else reads the float one */
		if (c)
			remove_node(cq->g, c);
		else
			onnx_graph_remove_initializer(cq->g, name);
	}
	free(f);
	free(q);
	free(qn);
	free(sn);
	free(zn);
	free(dqn);
	free(dqo);
}

/* The graph that holds node n (n itself may sit in a subgraph). */
static Onnx__GraphProto *
graph_of(Onnx__GraphProto *g, const Onnx__NodeProto *n)
{
	size_t i, j, k;
	Onnx__GraphProto *r;

	for (i = 0; i < g->n_node; i++) {
		if (g->node[i] == n)
			return g;
		for (j = 0; j < g->node[i]->n_attribute; j++) {
			const Onnx__AttributeProto *a = g->node[i]->attribute[j];

			if (a->g && (r = graph_of(a->g, n)))
				return r;
			for (k = 0; k < a->n_graphs; k++)
				if ((r = graph_of(a->graphs[k], n)))
					return r;
		}
	}
	return NULL;
}

size_t
static_apply(struct qdq_run *run, Onnx__GraphProto *root, const struct static_wop *wops,
    size_t nwops, int act_signed, size_t *nfolded, size_t *nconst)
{
	struct static_plan state = {.run = run}, *plan = &state;
	size_t i, npairs = 0;

	plan->act_signed = act_signed;
	collect(plan, root);
	plan_graph(plan, root, wops, nwops);
	/* biases first: they need input 0's scale while the node still reads it */
	for (i = 0; i < nwops; i++) {
		const struct static_wop *w = &wops[i];
		Onnx__NodeProto *n = (Onnx__NodeProto *)w->node;
		long x;

			if (!w->static_ok || w->bias_idx < 0 || (size_t)w->bias_idx >= n->n_input ||
		    !*n->input[w->bias_idx] || !w->wscale || (x = planned(plan, n->input[0])) < 0)
			continue;
		quantize_bias(plan, graph_of(root, n), n, w, plan->a[plan->a[x].root].scale);
	}
	for (i = 0; i < plan->ncq; i++)
		emit_const(plan, &plan->cq[i], i);
	for (i = 0; i < plan->nfolds; i++)
		apply_fold(&plan->folds[i]);
	for (i = 0; i < plan->n; i++)	/* roots before the tensors sharing their scale */
		if (!plan->a[i].dead && plan->a[i].root == (long)i) {
			emit_pair(plan, &plan->a[i]);
			npairs++;
		}
	for (i = 0; i < plan->n; i++)
		if (!plan->a[i].dead && plan->a[i].root != (long)i) {
			emit_pair(plan, &plan->a[i]);
			npairs++;
		}
	*nfolded = plan->nfolds;
	*nconst = plan->ncq;
	for (i = 0; i < plan->ncq; i++)
		free(plan->cq[i].name);
	free(plan->cq);
	free(plan->cr);
	smap_free(&plan->cqi);
	for (i = 0; i < plan->n; i++) {
		free(plan->a[i].name);
		free(plan->a[i].sn);
		free(plan->a[i].zn);
	}
	free(plan->a);
	free(plan->folds);
	smap_free(&plan->index);
	smap_free(&plan->consts);
	smap_free(&plan->uses);
	smap_free(&plan->owner);
	smap_free(&plan->type);
	return npairs;
}
