/* 8-bit: tract's per-tensor quantized conv and linear, as torch_to_nnef's
 * PTQ export writes them (spec/nnef.md §4, §7): int8 weights (.dat code 3)
 * with zero_point_linear_quantize entries in graph.quant, int32 biases
 * (code 4, variable<integer>) prescaled by s_in * s_w, u8 activations whose
 * ranges come from a qparams file, tract_core_cast into the quantized
 * region and back to f32 out of it, relu outputs sharing their input's
 * parameters.
 *
 * A quantized tensor t is renamed t_q8 where it is produced and used
 * inside the region; where float code (or the graph's outputs) needs t, the
 * line "t = tract_core_cast(t_q8, to = 'f32');" gives it back under its own
 * name, so nothing outside the region changes. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "linq.h"
#include "nnef-quant.h"

#define MAXQ 4096

struct act {
	const char *name;		/* graph tensor */
	double scale;
	int zp;
};

struct qop {
	size_t stmt;
	const struct nnef_var *w, *b;	/* b may be NULL (literal bias) */
	const struct act *in;		/* x's parameters */
};

static const struct qp_range *
range_of(const struct model_in *in, const char *name)
{
	for (size_t i = 0; i < in->qp.n_a; i++)
		if (strcmp(in->qp.a[i].name, name) == 0)
			return in->qp.a[i].channels == 0 ? &in->qp.a[i] : NULL;
	return NULL;
}

/* u8 asymmetric over the range widened to hold zero (tract and PyTorch
 * both need zero to be exact). */
static void
act_params(const struct qp_range *r, struct act *a)
{
	double lo = fmin(r->minmax[0], 0.0), hi = fmax(r->minmax[1], 0.0);

	a->scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
	a->zp = (int)nearbyint(-lo / a->scale);
	if (a->zp < 0)
		a->zp = 0;
	if (a->zp > 255)
		a->zp = 255;
}

/* The variable an argument refers to, through shape-only ops. */
static const struct nnef_var *
resolve_var(const struct nnef_graph *g, const char *ident)
{
	for (int depth = 0; ident && depth < 16; depth++) {
		const struct nnef_var *v = var_of(g, ident);
		long p;

		if (v)
			return v;
		p = nnef_graph_producer(g, ident);
		if (p < 0)
			return NULL;
		const struct nnef_stmt *st = &g->stmts[p];
		if (!(strcmp(st->op, "unsqueeze") == 0 || strcmp(st->op, "squeeze") == 0 ||
		    strcmp(st->op, "reshape") == 0) || st->n_args == 0 || st->args[0].name)
			return NULL;
		ident = st->args[0].ident;
	}
	return NULL;
}

static int
sole_consumer(const struct nnef_graph *g, const struct nnef_var *v, size_t stmt)
{
	size_t cs[4], ca[4], n = nnef_graph_consumers(g, g->stmts[v->stmt].lhs[0], cs, ca, 4);

	return n == 1 && cs[0] == stmt;
}

static int
plain_ident(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

static const struct nnef_arg *
positional(const struct nnef_stmt *st, size_t pos, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < st->n_args; i++) {
		if (st->args[i].name && strcmp(st->args[i].name, name) == 0)
			return &st->args[i];
		if (st->args[i].name == NULL && k++ == pos)
			return &st->args[i];
	}
	return NULL;
}

static struct act *
find_act(struct act *acts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(acts[i].name, name) == 0)
			return &acts[i];
	return NULL;
}

static void
add_entry(struct plan *p, const char *tensor, double scale, int zp, int is_signed)
{
	struct nnef_qentry q = { 0 };
	char line[512];

	q.tensor = (char *)tensor;
	q.op = "zero_point_linear_quantize";
	q.zero_point = zp;
	q.scale = scale;
	q.bits = 8;
	q.is_signed = is_signed;
	q.symmetric = zp == 0;
	nnef_quant_format(&q, line, sizeof line);
	plan_quant(p, line);
}

/* int8 weights, per tensor: the qparams scale when given, else absmax/127. */
static double
write_weight(const struct opts *o, const struct model_in *in, struct plan *p,
    const struct nnef_var *v)
{
	const struct qp_entry *qe = qparams_find(&in->qp, v->label);
	const struct nnef_entry *en;
	struct nnef_dat d;
	float *x, amax = 0;
	double s;
	uint32_t ext[NNEF_MAX_RANK];
	unsigned char *out;

	load_var(o, in, v, &d, &en);
	x = malloc((d.nitems ? d.nitems : 1) * sizeof *x);
	out = malloc(NNEF_DAT_HEADER + d.nitems);
	if (x == NULL || out == NULL)
		cli_die("out of memory");
	nnef_dat_to_f32(&d, x);
	for (uint64_t i = 0; i < d.nitems; i++) {
		if (!isfinite(x[i]))
			cli_die("%s: element %llu is not finite", en->path, (unsigned long long)i);
		amax = fmaxf(amax, fabsf(x[i]));
	}
	if (qe) {
		if (!(qe->s.fmt == QF_INT8 && qe->s.sym && qe->s.gran == QG_TENSOR))
			cli_die("%s: %s: tract's 8-bit weights are per tensor and symmetric int8",
			    o->qparams_path, v->label);
		s = qe->scale[0];
	} else {
		s = amax > 0 ? amax / 127.0 : 1.0;
	}
	for (uint32_t r = 0; r < d.rank; r++)
		ext[r] = d.extents[r];
	nnef_dat_header(out, 3, 0, 8, d.rank, ext, (uint32_t)d.nitems);
	for (uint64_t i = 0; i < d.nitems; i++)
		out[NNEF_DAT_HEADER + i] = (unsigned char)(int8_t)linq_qint(x[i], (float)s, 0, -128, 127);
	plan_file(p, en->path, out, NNEF_DAT_HEADER + d.nitems);
	free(x);
	return s;
}

/* int32 biases in the accumulator's scale s_in * s_w. */
static void
write_bias(const struct opts *o, const struct model_in *in, struct plan *p,
    const struct nnef_var *v, double acc_scale)
{
	const struct nnef_entry *en;
	const struct nnef_stmt *st = &in->g.stmts[v->stmt];
	struct nnef_dat d;
	float *x;
	uint32_t ext[NNEF_MAX_RANK];
	unsigned char *out;

	load_var(o, in, v, &d, &en);
	x = malloc((d.nitems ? d.nitems : 1) * sizeof *x);
	out = malloc(NNEF_DAT_HEADER + 4 * d.nitems);
	if (x == NULL || out == NULL)
		cli_die("out of memory");
	nnef_dat_to_f32(&d, x);
	for (uint32_t r = 0; r < d.rank; r++)
		ext[r] = d.extents[r];
	nnef_dat_header(out, 4, 0, 32, d.rank, ext, (uint32_t)(4 * d.nitems));
	for (uint64_t i = 0; i < d.nitems; i++) {
		double q = nearbyint((double)x[i] / acc_scale);
		int32_t v32;

		if (!(fabs(q) < 2147483647.0))
			cli_die("%s: bias %g does not fit int32 at scale %g", en->path, x[i], acc_scale);
		v32 = (int32_t)q;
		for (int k = 0; k < 4; k++)
			out[NNEF_DAT_HEADER + 4 * i + k] = (unsigned char)((uint32_t)v32 >> (8 * k));
	}
	plan_file(p, en->path, out, NNEF_DAT_HEADER + 4 * d.nitems);
	plan_edit(p, st->op_begin, st->op_end - st->op_begin, "variable<integer>");
	free(x);
}

static char *
suffixed(const char *name, const char *suffix)
{
	size_t n = strlen(name) + strlen(suffix) + 1;
	char *s = malloc(n);

	if (s == NULL)
		cli_die("out of memory");
	snprintf(s, n, "%s%s", name, suffix);
	return s;
}

void
plan_q8(const struct opts *o, const struct model_in *in, struct plan *p)
{
	const struct nnef_graph *g = &in->g;
	/* on the heap, not static: this call's alone (and too big for the stack) */
	struct qop *ops = calloc(MAXQ, sizeof *ops);
	struct act *qt = calloc(MAXQ, sizeof *qt);	/* region tensors */
	struct act *casts = calloc(MAXQ, sizeof *casts);	/* inputs cast into it */
	size_t n_ops = 0, n_qt = 0, n_casts = 0;
	char buf[1024];

	if (ops == NULL || qt == NULL || casts == NULL)
		cli_die("out of memory");

	/* 1. the ops to quantize: conv/linear whose input and output have ranges */
	for (size_t i = 0; i < g->n_stmts && n_ops < MAXQ; i++) {
		const struct nnef_stmt *st = &g->stmts[i];
		const struct nnef_arg *x, *w, *b;
		const struct nnef_var *wv, *bv = NULL;
		struct nnef_dat d;
		const struct nnef_entry *en;
		const char *why = NULL;

		if (!(strcmp(st->op, "conv") == 0 || strcmp(st->op, "linear") == 0) || st->n_lhs != 1)
			continue;
		x = positional(st, 0, "input");
		w = positional(st, 1, "filter");
		b = positional(st, 2, "bias");
		wv = w && w->ident ? resolve_var(g, w->ident) : NULL;
		if (x == NULL || x->ident == NULL)
			why = "input is not a plain tensor";
		else if (wv == NULL)
			why = "filter is not a variable";
		else if (!label_selected(o, wv->label))
			why = "excluded";
		else if (!sole_consumer(g, wv, i))
			why = "filter shared";
		else if (!range_of(in, x->ident))
			why = "no range for its input in the qparams file";
		else if (!range_of(in, st->lhs[0]))
			why = "no range for its output in the qparams file";
		else if (!plain_ident(x->ident) || !plain_ident(st->lhs[0]))
			why = "escaped identifiers";
		else if (b && b->ident && ((bv = resolve_var(g, b->ident)) == NULL || !sole_consumer(g, bv, i)))
			why = "bias is not a variable of its own";
		else if (b && !b->ident && !(arg_text_is(g, b, "0.0") || arg_text_is(g, b, "0")))
			why = "bias is a non-zero literal";
		if (why == NULL) {
			load_var(o, in, wv, &d, &en);
			if (!(d.item == NNEF_FLOAT && d.bits == 32))
				why = "filter not f32";
			if (bv) {
				load_var(o, in, bv, &d, &en);
				if (!(d.item == NNEF_FLOAT && d.bits == 32))
					why = "bias not f32";
			}
		}
		if (why) {
			if (o->verbose)
				fprintf(stderr, "%s: %s: float (%s)\n", cli_prog(), st->lhs[0], why);
			continue;
		}
		ops[n_ops++] = (struct qop){ i, wv, bv, NULL };
		qt[n_qt].name = st->lhs[0];
		act_params(range_of(in, st->lhs[0]), &qt[n_qt++]);
	}
	if (n_ops == 0) {
		if (!o->quiet)
			cli_warn("%s: no conv or linear has ranges for its input and output in %s",
			    o->input, o->qparams_path);
		goto done;
	}
	/* 2. relu of a region tensor stays in the region with the same parameters */
	for (size_t i = 0; i < g->n_stmts && n_qt < MAXQ; i++) {
		const struct nnef_stmt *st = &g->stmts[i];
		struct act *a;

		if (strcmp(st->op, "relu") == 0 && st->n_lhs == 1 && st->n_args == 1 &&
		    st->args[0].ident && (a = find_act(qt, n_qt, st->args[0].ident)) &&
		    plain_ident(st->lhs[0])) {
			qt[n_qt] = *a;
			qt[n_qt++].name = st->lhs[0];
		}
	}
	/* 3. inputs of quantized ops: from the region, or cast into it */
	for (size_t k = 0; k < n_ops; k++) {
		const struct nnef_stmt *st = &g->stmts[ops[k].stmt];
		const struct nnef_arg *x = positional(st, 0, "input");
		const struct act *a = find_act(qt, n_qt, x->ident);

		if (a == NULL && (a = find_act(casts, n_casts, x->ident)) == NULL) {
			long prod = nnef_graph_producer(g, x->ident);
			char *cname = suffixed(x->ident, "_q8");

			if (prod < 0)
				cli_die("%s: tensor %s has no producer", o->input, x->ident);
			if (nnef_graph_producer(g, cname) >= 0)
				cli_die("%s: %s already exists; cannot name the cast", o->input, cname);
			casts[n_casts].name = x->ident;
			act_params(range_of(in, x->ident), &casts[n_casts]);
			snprintf(buf, sizeof buf, "\n    %s = tract_core_cast(%s);", cname, x->ident);
			plan_edit(p, g->stmts[prod].end, 0, buf);
			add_entry(p, cname, casts[n_casts].scale, casts[n_casts].zp, 0);
			free(cname);
			a = &casts[n_casts++];
		}
		ops[k].in = a;
		char *renamed = suffixed(x->ident, "_q8");
		plan_edit(p, x->begin, x->end - x->begin, renamed);
		free(renamed);
	}
	/* 4. region tensors: renamed where produced and used inside, given
	 * back as f32 under their own name where anything else needs them */
	for (size_t t = 0; t < n_qt; t++) {
		long prod = nnef_graph_producer(g, qt[t].name);
		const struct nnef_stmt *ps = &g->stmts[prod];
		char *qname = suffixed(qt[t].name, "_q8");
		int outside = 0;

		if (nnef_graph_producer(g, qname) >= 0)
			cli_die("%s: %s already exists; cannot rename %s", o->input, qname, qt[t].name);
		plan_edit(p, ps->lhs_begin, ps->lhs_end - ps->lhs_begin, qname);
		add_entry(p, qname, qt[t].scale, qt[t].zp, 0);
		for (size_t i = 0; i < g->n_outputs; i++)
			outside |= strcmp(g->outputs[i], qt[t].name) == 0;
		for (size_t i = 0; i < g->n_stmts; i++) {
			const struct nnef_stmt *st = &g->stmts[i];

			for (size_t j = 0; j < st->n_args; j++) {
				const struct nnef_arg *a = &st->args[j];
				int inside = 0;

				if (a->ident == NULL || strcmp(a->ident, qt[t].name) != 0)
					continue;
				for (size_t k = 0; k < n_ops; k++)
					inside |= ops[k].stmt == i && a == positional(st, 0, "input");
				inside |= strcmp(st->op, "relu") == 0 && st->n_lhs == 1 &&
				    find_act(qt, n_qt, st->lhs[0]) != NULL;
				if (!inside)
					outside = 1;
				/* inputs of quantized ops were renamed in step 3 */
			}
			if (strcmp(st->op, "relu") == 0 && st->n_lhs == 1 && st->n_args == 1 &&
			    st->args[0].ident && strcmp(st->args[0].ident, qt[t].name) == 0 &&
			    find_act(qt, n_qt, st->lhs[0]))
				plan_edit(p, st->args[0].begin, st->args[0].end - st->args[0].begin, qname);
		}
		if (outside) {
			snprintf(buf, sizeof buf, "\n    %s = tract_core_cast(%s, to = 'f32');",
			    qt[t].name, qname);
			plan_edit(p, ps->end, 0, buf);
		}
		free(qname);
	}
	/* 5. weights and biases */
	for (size_t k = 0; k < n_ops; k++) {
		double sw = write_weight(o, in, p, ops[k].w);

		add_entry(p, g->stmts[ops[k].w->stmt].lhs[0], sw, 0, 1);
		if (ops[k].b)
			write_bias(o, in, p, ops[k].b, sw * ops[k].in->scale);
		p->n_quantized++;
		if (o->verbose)
			fprintf(stderr, "%s: %s: q8 weight scale %.6g, input scale %.6g zero point %d\n",
			    cli_prog(), g->stmts[ops[k].stmt].lhs[0], sw, ops[k].in->scale, ops[k].in->zp);
	}
done:
	free(ops);
	free(qt);
	free(casts);
}
