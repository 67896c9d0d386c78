/* Q40: which variables tract can take in its Q4_0 block format, and their
 * new .dat bytes (spec/nnef.md §5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dtype.h"
#include "linq.h"
#include "nnef-quant.h"
#include "threads.h"

struct choice {
	const struct nnef_var *var;
	const struct nnef_entry *dat;
	const struct qp_entry *qp;	/* scales from -p, or NULL */
	const char *why;		/* why not */
	unsigned char *out;
	size_t out_len;
	double rmse, sqnr;
};

/* Does this use of a weight accept Q40? */
static const char *
consumer_refuses(const struct nnef_graph *g, const struct nnef_stmt *st, size_t argpos)
{
	const struct nnef_arg *a = &st->args[argpos];
	const char *name = a->name;
	int pos = name ? -1 : (int)argpos;

	if (name && strcmp(name, "?") == 0)
		return "used inside an expression";
	if (strcmp(st->op, "linear") == 0)
		return pos == 1 || (name && strcmp(name, "filter") == 0) ? NULL : "linear input, not filter";
	if (strcmp(st->op, "conv") == 0)
		return pos == 1 || (name && strcmp(name, "filter") == 0) ? NULL : "conv input, not filter";
	if (strcmp(st->op, "matmul") == 0) {
		/* tract ignores the transpose flags of a Q40 operand */
		const struct nnef_arg *ta = find_arg(st, "transposeA"), *tb = find_arg(st, "transposeB");

		if (pos == 0 || (name && strcmp(name, "A") == 0))
			return ta && arg_text_is(g, ta, "true") ? "matmul A with transposeA" : NULL;
		if (pos == 1 || (name && strcmp(name, "B") == 0))
			return tb && arg_text_is(g, tb, "true") ? NULL : "matmul B without transposeB";
		return "matmul argument";
	}
	if (strcmp(st->op, "tract_core_gather") == 0) {
		const struct nnef_arg *ax = find_arg(st, "axis");

		if (pos != 0)
			return "gather indices";
		return ax && !arg_text_is(g, ax, "0") ? "gather along an axis other than 0" : NULL;
	}
	return "consumer op does not take Q40";
}

/* Scales from qcalib: a symmetric 4-bit scheme in groups of 32 along the
 * last dimension, which are Q40's blocks when that dimension is a multiple
 * of 32 (blocks are 32 consecutive row-major weights either way). */
static const struct qp_entry *
qparams_for(const struct opts *o, const struct model_in *in, const struct nnef_var *v)
{
	const struct qp_entry *q = qparams_find(&in->qp, v->label);

	if (q == NULL)
		return NULL;
	if (!((q->s.fmt == QF_INT4 || q->s.fmt == QF_UINT4) && q->s.sym && q->s.gran == QG_GROUP &&
	    q->s.group == NNEF_Q40_BLOCK))
		cli_die("%s: %s: scheme is not a symmetric 4-bit one in groups of 32, which Q40 needs",
		    o->qparams_path, v->label);
	if (q->g_idx)	/* Q40 blocks are consecutive weights */
		cli_die("%s: %s: g_idx (GPTQ act-order groups) cannot be represented in Q40; write the "
		    "plan with --static-groups", o->qparams_path, v->label);
	if (v->shape[v->rank - 1] % NNEF_Q40_BLOCK)
		cli_die("%s: %s: last dimension %llu is not a multiple of 32, so qcalib's groups are "
		    "not Q40's blocks", o->qparams_path, v->label,
		    (unsigned long long)v->shape[v->rank - 1]);
	for (int i = 0; i < q->ndim && i < (int)v->rank; i++)
		if (q->ndim != (int)v->rank || q->shape[i] != v->shape[i])
			cli_die("%s: %s: shape differs from the model's", o->qparams_path, v->label);
	return q;
}

static void
decide(const struct opts *o, const struct model_in *in, struct choice *c)
{
	const struct nnef_graph *g = &in->g;
	const struct nnef_var *v = c->var;
	const struct nnef_stmt *st = &g->stmts[v->stmt];
	struct nnef_dat d;
	size_t cs[64], ca[64], n;
	uint64_t k = 1;

	load_var(o, in, v, &d, &c->dat);
	for (uint32_t i = 1; i < v->rank; i++)
		k *= v->shape[i];
	if (!label_selected(o, v->label))
		c->why = "excluded";
	else if (d.item == NNEF_Q40 || d.item == NNEF_Q40_LEGACY)
		c->why = "already Q40";
	else if (!(d.item == NNEF_FLOAT && (d.bits == 32 || d.bits == 16)))
		c->why = "not f32/f16";
	else if (v->rank < 2 || v->shape[0] == 0)
		c->why = "rank < 2";
	else if (k % NNEF_Q40_BLOCK)
		c->why = "row length not a multiple of 32";
	else if (st->n_lhs != 1)
		c->why = "tuple assignment";
	else if (has_quant_entry(&in->gq, st->lhs[0]))
		c->why = "has a graph.quant entry";
	else {
		n = nnef_graph_consumers(g, st->lhs[0], cs, ca, 64);
		if (n == 0)
			c->why = "unused";
		else if (n > 64)
			c->why = "too many consumers";
		for (size_t i = 0; i < n && i < 64 && !c->why; i++)
			c->why = consumer_refuses(g, &g->stmts[cs[i]], ca[i]);
	}
	if (c->why == NULL)
		c->qp = qparams_for(o, in, v);
}

/* Codes against the stored (half-precision) scale, rounding as qcalib's
 * linear quantizer does; the 4-bit code q maps to Q40's q + 8 (int4) or q
 * (uint4, whose symmetric zero point is already 8). */
static void
quantize_with_qparams(const float *x, size_t nblocks, const struct qp_entry *q,
    unsigned char *out, int legacy)
{
	int32_t qmin, qmax, zp = linq_sym_zero(q->s.fmt), off = q->s.fmt == QF_INT4 ? 8 : 0;
	uint8_t codes[NNEF_Q40_BLOCK];

	linq_qrange(q->s.fmt, &qmin, &qmax);
	for (size_t b = 0; b < nblocks; b++) {
		uint16_t dh = qu_f32_to_f16(q->scale[b]);
		float d = qu_f16_to_f32(dh);

		for (int i = 0; i < NNEF_Q40_BLOCK; i++)
			codes[i] = (uint8_t)(linq_qint(x[b * NNEF_Q40_BLOCK + i], d, zp, qmin, qmax) + off);
		nnef_q40_pack(out + b * NNEF_Q40_BLOCK_BYTES, dh, codes, legacy);
	}
}

struct qjob {
	const struct opts *o;
	struct choice *c;
};

static void
quantize_body(void *ctx, size_t b, size_t end, int worker)
{
	struct qjob *j = ctx;

	(void)worker;
	for (size_t i = b; i < end; i++) {
		struct choice *c = &j->c[i];
		struct nnef_dat d;
		struct qerr e;
		size_t nblocks;
		uint32_t ext[NNEF_MAX_RANK];
		float *x, *y;
		double se = 0, ss = 0;

		if (c->why)
			continue;
		nnef_dat_parse(&d, c->dat->data, c->dat->size, c->dat->path, &e);
		nblocks = d.nitems / NNEF_Q40_BLOCK;
		x = malloc(d.nitems * sizeof *x);
		y = malloc(d.nitems * sizeof *y);
		c->out_len = NNEF_DAT_HEADER + nblocks * NNEF_Q40_BLOCK_BYTES;
		c->out = malloc(c->out_len);
		if (x == NULL || y == NULL || c->out == NULL)
			cli_die("%s: out of memory", c->dat->path);
		nnef_dat_to_f32(&d, x);
		for (size_t t = 0; t < d.nitems; t++)
			if (!isfinite(x[t]) || fabsf(x[t]) > 65504.0f * 8.0f)
				cli_die("%s: element %zu is %g: Q40's f16 scale cannot hold it",
				    c->dat->path, t, x[t]);
		for (uint32_t r = 0; r < d.rank; r++)
			ext[r] = d.extents[r];
		nnef_dat_header(c->out, j->o->legacy ? NNEF_CODE_Q40_LEGACY : NNEF_CODE_Q40,
		    NNEF_VENDOR_TRACT, 0xffffffffu, d.rank, ext,
		    (uint32_t)(nblocks * NNEF_Q40_BLOCK_BYTES));
		if (c->qp)
			quantize_with_qparams(x, nblocks, c->qp, c->out + NNEF_DAT_HEADER, j->o->legacy);
		else if (j->o->method == M_MSE)
			nnef_q40_quantize_mse(x, nblocks, c->out + NNEF_DAT_HEADER, j->o->legacy);
		else
			nnef_q40_quantize_minmax(x, nblocks, c->out + NNEF_DAT_HEADER, j->o->legacy);
		nnef_q40_decode(c->out + NNEF_DAT_HEADER, nblocks, y, j->o->legacy);
		for (size_t t = 0; t < d.nitems; t++) {
			se += ((double)x[t] - y[t]) * ((double)x[t] - y[t]);
			ss += (double)x[t] * x[t];
		}
		c->rmse = sqrt(se / (double)d.nitems);
		c->sqnr = se > 0 ? 10 * log10(ss / se) : INFINITY;
		free(x);
		free(y);
	}
}

void
plan_q40(const struct opts *o, const struct model_in *in, struct plan *p)
{
	const struct nnef_graph *g = &in->g;
	struct choice *c = calloc(g->n_vars ? g->n_vars : 1, sizeof *c);

	if (c == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < g->n_vars; i++) {
		c[i].var = &g->vars[i];
		decide(o, in, &c[i]);
	}
	struct qjob job = { o, c };
	qpool_for(o->jobs, g->n_vars, 1, quantize_body, &job);
	for (size_t i = 0; i < g->n_vars; i++) {
		const struct nnef_stmt *st = &g->stmts[c[i].var->stmt];
		size_t cs[64], ca[64], n;

		if (o->verbose && c[i].why)
			fprintf(stderr, "%s: %s: kept (%s)\n", cli_prog(), c[i].var->label, c[i].why);
		if (c[i].why)
			continue;
		if (o->verbose)
			fprintf(stderr, "%s: %s: q40 %s rmse %.6g sqnr %.2f dB\n", cli_prog(),
			    c[i].var->label, c[i].qp ? "qparams" : o->method == M_MSE ? "mse" : "minmax",
			    c[i].rmse, c[i].sqnr);
		plan_file(p, c[i].dat->path, c[i].out, c[i].out_len);
		p->n_quantized++;
		/* torch_to_nnef's form: the variable loses its type, and a
		 * gather from it states its float output type */
		if (st->type_param)
			plan_edit(p, st->op_begin, st->op_end - st->op_begin, "variable");
		n = nnef_graph_consumers(g, st->lhs[0], cs, ca, 64);
		for (size_t k = 0; k < n && k < 64; k++) {
			const struct nnef_stmt *u = &g->stmts[cs[k]];

			if (strcmp(u->op, "tract_core_gather") == 0 && !find_arg(u, "datum_type"))
				plan_edit(p, u->args_end, 0, ", datum_type = 'f32'");
		}
	}
	free(c);
}
