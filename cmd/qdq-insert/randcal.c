/* Activation ranges for --static without calibration data: the float model,
 * with every activation of its main graph added as an output, runs in
 * onnxruntime (ortrun.c) on random inputs, and each activation's range goes
 * through calib_act_range, the code behind qcalib --captures.  Also the
 * capture model for scripts/onnx-capture.mjs (--capture-model).
 *
 * The random inputs are specified so that scripts/onnx-capture.mjs --random
 * makes the same ones: the generator is splitmix32 (a Weyl sequence with
 * step 0x9E3779B9 through murmur3's 32-bit finalizer) started at the seed;
 * uniform values are (r >> 8) / 2^24 in [0, 1); normal values use the Box-
 * Muller cosine of two draws in double precision, rounded to float.  Inputs
 * are filled sample by sample in the session's input order, each in
 * row-major order, symbolic dimensions 1 unless --input-shape gives them;
 * integer and boolean inputs are 0. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "cli.h"
#include "dtype.h"
#include "onnx.h"
#include "ortrun.h"
#include "qdq-insert.h"

uint32_t
randcal_next(uint32_t *state)
{
	uint32_t z = (*state += 0x9E3779B9u);

	z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
	z = (z ^ (z >> 13)) * 0xC2B2AE35u;
	return z ^ (z >> 16);
}

static float
draw(uint32_t *st, int normal)
{
	if (!normal)
		return (float)(randcal_next(st) >> 8) * 0x1p-24f;
	{
		double u1 = ((randcal_next(st) >> 8) + 1) * 0x1p-24;	/* (0, 1] */
		double u2 = (randcal_next(st) >> 8) * 0x1p-24;

		return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
	}
}

/* ---- the range table ---- */

struct measured_range {
	char *name;
	float lo, hi;
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct measured_range *)a)->name,
	    ((const struct measured_range *)b)->name);
}

int
randcal_range(const struct randcal_table *t, const char *name, float *lo, float *hi)
{
	struct measured_range key = { (char *)name, 0, 0 }, *r;

	if (t->n == 0)
		return 0;
	r = bsearch(&key, t->range, t->n, sizeof *t->range, by_name);
	if (r == NULL || isnan(r->lo))
		return 0;
	*lo = r->lo;
	*hi = r->hi;
	return 1;
}

void
randcal_free(struct randcal_opts *o, struct randcal_table *t)
{
	for (size_t i = 0; i < o->nshapes; i++)
		free((char *)o->shapes[i].name);
	free(o->shapes);
	for (size_t i = 0; i < t->n; i++)
		free(t->range[i].name);
	free(t->range);
	t->range = NULL;
	t->n = 0;
}

/* Adds one sample of tensor `name` to its range (minmax ranges merge
 * exactly: the min of the per-sample mins is the min of the whole). */
static int
observe(struct randcal_table *t, const char *name, const float *x, size_t n, struct qerr *e)
{
	float r[2];
	size_t i;

	if (n == 0)
		return 0;
	if (calib_act_range(x, n, ACT_MINMAX, QF_UINT8, 0, r, e) < 0)
		r[0] = r[1] = NAN;	/* not finite: no range, the tensor stays float */
	i = t->hint;
	if (i >= t->n || strcmp(t->range[i].name, name) != 0)
		for (i = 0; i < t->n; i++)	/* the first sample, or a new order */
			if (strcmp(t->range[i].name, name) == 0)
				break;
	t->hint = i + 1;
	if (i == t->n) {
		struct measured_range *v = realloc(t->range, (t->n + 1) * sizeof *t->range);

		if (v == NULL || (v[t->n].name = strdup(name)) == NULL)
			return qerr_set(e, "out of memory");
		t->range = v;
		t->range[t->n].lo = r[0];
		t->range[t->n].hi = r[1];
		t->n++;
		return 0;
	}
	if (isnan(r[0]) || isnan(t->range[i].lo))
		t->range[i].lo = t->range[i].hi = NAN;
	else {
		if (r[0] < t->range[i].lo)
			t->range[i].lo = r[0];
		if (r[1] > t->range[i].hi)
			t->range[i].hi = r[1];
	}
	return 0;
}

/* ort_run's callback; ctx is the randcal_table. */
static int
observe_output(void *ctx, const struct ort_tensor *t, struct qerr *e)
{
	float *tmp;
	size_t i;
	int rc;

	if (t->dtype == ONNX_FLOAT)
		return observe(ctx, t->name, t->data, t->nelem, e);
	if (t->dtype != ONNX_FLOAT16 && t->dtype != ONNX_BFLOAT16 && t->dtype != ONNX_DOUBLE)
		return 0;	/* shapes, indices, masks: not activations to quantize */
	if ((tmp = malloc((t->nelem ? t->nelem : 1) * sizeof *tmp)) == NULL)
		return qerr_set(e, "out of memory");
	for (i = 0; i < t->nelem; i++)
		tmp[i] = t->dtype == ONNX_DOUBLE ? (float)((const double *)t->data)[i] :
		    t->dtype == ONNX_FLOAT16 ? qu_f16_to_f32(((const uint16_t *)t->data)[i]) :
		    qu_bf16_to_f32(((const uint16_t *)t->data)[i]);
	rc = observe(ctx, t->name, tmp, t->nelem, e);
	free(tmp);
	return rc;
}

/* ---- exposing activations as graph outputs ---- */

static int
listed(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Appends an untyped output (onnxruntime infers its type) for every node
 * output of g that is in want[0..nwant) (all when want is NULL) and not
 * already an output; returns how many were added. */
size_t
expose_outputs(Onnx__GraphProto *g, char *const *want, size_t nwant)
{
	size_t i, j, added = 0;

	for (i = 0; i < g->n_node; i++)
		for (j = 0; j < g->node[i]->n_output; j++) {
			const char *y = g->node[i]->output[j];
			Onnx__ValueInfoProto *v;
			size_t k;

			if (*y == 0 || (want && !listed(want, nwant, y)))
				continue;
			for (k = 0; k < g->n_output; k++)
				if (strcmp(g->output[k]->name, y) == 0)
					break;
			if (k < g->n_output)
				continue;
			v = malloc(sizeof *v);
			if (v == NULL)
				cli_die("out of memory");
			onnx__value_info_proto__init(v);
			if ((v->name = strdup(y)) == NULL ||
			    (g->output = realloc(g->output, (g->n_output + 1) * sizeof *g->output)) == NULL)
				cli_die("out of memory");
			g->output[g->n_output++] = v;
			added++;
		}
	return added;
}

/* ---- calibration ---- */

int
randcal_run(struct randcal_table *t, struct onnx_model *m, const struct randcal_opts *o,
    struct qerr *e)
{
	Onnx__GraphProto *g = m->proto->graph;
	size_t n_out = g->n_output, i, nin;
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ort_sess *s;
	const struct ort_tensor *decl;
	struct ort_tensor *in = NULL;
	uint32_t st = o->seed;
	long k;
	int rc = 0;

	/* packed as it is: external tensors keep their locations, which
	 * onnxruntime resolves against the model's folder */
	expose_outputs(g, NULL, 0);
	len = onnx_packed_size(m->proto);
	if (len > INT32_MAX)
		rc = qerr_set(e, "model message over 2 GiB");
	else if ((buf = malloc(len ? len : 1)) == NULL)
		rc = qerr_set(e, "out of memory");
	else
		onnx__model_proto__pack(m->proto, buf);
	for (i = n_out; i < g->n_output; i++) {	/* back to the model as it was */
		free(g->output[i]->name);
		free(g->output[i]);
	}
	g->n_output = n_out;
	if (rc < 0) {
		free(buf);
		return qerr_prefix(e, "%s: --random-calib", m->path);
	}
	rc = -1;
	s = ort_open(o->ort_lib, buf, len, any_external(g) ? m->dir : NULL, o->threads, e);
	free(buf);
	if (s == NULL)
		return qerr_prefix(e, "%s", m->path);
	nin = ort_inputs(s, &decl);
	for (i = 0; i < o->nshapes; i++) {
		size_t j;

		for (j = 0; j < nin && strcmp(decl[j].name, o->shapes[i].name); j++)
			;
		if (j == nin) {
			qerr_set(e, "%s: --input-shape %s: the model has no such input", m->path,
			    o->shapes[i].name);
			goto done;
		}
	}
	if ((in = calloc(nin ? nin : 1, sizeof *in)) == NULL) {
		qerr_set(e, "out of memory");
		goto done;
	}
	for (i = 0; i < nin; i++) {
		size_t es = decl[i].dtype == ONNX_FLOAT ? 4 : decl[i].dtype == ONNX_DOUBLE ? 8 :
		    decl[i].dtype == ONNX_FLOAT16 || decl[i].dtype == ONNX_BFLOAT16 ? 2 :
		    (size_t)onnx_dt_bits(decl[i].dtype) / 8;
		int d;

		in[i] = decl[i];
		in[i].nelem = 1;
		for (size_t h = 0; h < o->nshapes; h++) {
			const struct input_shape *sh = &o->shapes[h];

			if (strcmp(sh->name, in[i].name))
				continue;
			if (sh->rank != in[i].rank) {
				qerr_set(e, "%s: --input-shape %s: %d dimensions, the input has %d", m->path,
				    sh->name, sh->rank, in[i].rank);
				goto done;
			}
			for (d = 0; d < sh->rank; d++) {
				if (in[i].dims[d] >= 0 && in[i].dims[d] != sh->dims[d]) {
					qerr_set(e, "%s: --input-shape %s: dimension %d is %" PRId64 " in the model",
					    m->path, sh->name, d, in[i].dims[d]);
					goto done;
				}
				in[i].dims[d] = sh->dims[d];
			}
		}
		for (d = 0; d < in[i].rank; d++) {
			if (in[i].dims[d] < 0)
				in[i].dims[d] = 1;
			if (in[i].dims[d] > (1 << 30) || (in[i].nelem *= (size_t)in[i].dims[d]) > (1u << 30)) {
				qerr_set(e, "%s: input %s: too large for --random-calib", m->path, in[i].name);
				goto done;
			}
		}
		if (es == 0 || decl[i].dtype == ONNX_STRING) {
			qerr_set(e, "%s: input %s: type %s cannot be made up by --random-calib", m->path,
			    in[i].name, onnx_dt_name(decl[i].dtype));
			goto done;
		}
		if ((in[i].data = calloc(in[i].nelem ? in[i].nelem : 1, es > 4 ? es : 4)) == NULL) {
			qerr_set(e, "out of memory");
			goto done;
		}
	}
	for (k = 0; k < o->n; k++) {
		t->hint = 0;
		for (i = 0; i < nin; i++) {
			float *x = in[i].data;
			size_t j;
			int dt = in[i].dtype;

			if (dt != ONNX_FLOAT && dt != ONNX_FLOAT16 && dt != ONNX_BFLOAT16 && dt != ONNX_DOUBLE)
				continue;	/* integer and boolean inputs stay 0 */
			for (j = 0; j < in[i].nelem; j++)
				x[j] = draw(&st, o->normal);
			if (dt == ONNX_FLOAT16)	/* the range of the values fed */
				for (j = 0; j < in[i].nelem; j++)
					x[j] = qu_f16_to_f32(qu_f32_to_f16(x[j]));
			else if (dt == ONNX_BFLOAT16)
				for (j = 0; j < in[i].nelem; j++)
					x[j] = qu_bf16_to_f32(qu_f32_to_bf16(x[j]));
			if (observe(t, in[i].name, x, in[i].nelem, e) < 0)
				goto done;
			/* the other float types from the float draws, in place */
			if (dt == ONNX_DOUBLE)
				for (j = in[i].nelem; j-- > 0;)
					((double *)in[i].data)[j] = x[j];
			else if (dt == ONNX_FLOAT16)
				for (j = 0; j < in[i].nelem; j++)
					((uint16_t *)in[i].data)[j] = qu_f32_to_f16(x[j]);
			else if (dt == ONNX_BFLOAT16)
				for (j = 0; j < in[i].nelem; j++)
					((uint16_t *)in[i].data)[j] = qu_f32_to_bf16(x[j]);
		}
		if (ort_run(s, in, nin, observe_output, t, e) < 0) {
			qerr_prefix(e, "%s: sample %ld", m->path, k);
			goto done;
		}
	}
	qsort(t->range, t->n, sizeof *t->range, by_name);
	rc = 0;
done:
	for (i = 0; in && i < nin; i++)
		free(in[i].data);
	free(in);
	ort_close(s);
	return rc;
}

/* ---- --capture-model ---- */

void
capture_note(struct capture_list *l, const char *name)
{
	if (listed(l->name, l->n, name))
		return;
	if ((l->name = realloc(l->name, (l->n + 1) * sizeof *l->name)) == NULL ||
	    (l->name[l->n] = strdup(name)) == NULL)
		cli_die("out of memory");
	l->n++;
}

/* The model as it is in model_path (the one in memory went through a dry
 * run of --static), with the activations noted in l (or all) as outputs;
 * frees l. */
void
capture_write(struct capture_list *l, const char *model_path, const char *out, int all,
    int quiet)
{
	struct onnx_model m;
	struct onnx_extw w;
	struct cli_out mo, dout;
	struct qerr e;
	int ext;
	size_t n, i;

	if (strcmp(model_path, "-") == 0)
		cli_usage_error("--capture-model needs a model file, not standard input");
	if (onnx_load(&m, model_path, &e) < 0)
		cli_die_err(&e);
	n = expose_outputs(m.proto->graph, all ? NULL : l->name, l->n);
	ext = any_external(m.proto->graph);
	if (ext) {
		char *dn = malloc(strlen(out) + 8);
		const char *base = strrchr(out, '/');

		if (strcmp(out, "-") == 0)
			cli_usage_error("external data needs an output file (-o)");
		if (dn == NULL)
			cli_die("out of memory");
		sprintf(dn, "%s.data", out);
		cli_out_open(&dout, dn, 1);
		sprintf(dn, "%s.data", base ? base + 1 : out);
		onnx_extw_init(&w, dout.f, dn, UINT64_MAX);
		free(dn);
	}
	cli_out_open(&mo, out, 1);
	if (onnx_save(&m, mo.f, ext ? &w : NULL, &e) < 0) {
		if (ext)
			cli_out_abort(&dout);
		cli_out_abort(&mo);
		cli_die("%s: %s", out, e.msg);
	}
	if (ext) {
		cli_out_commit(&dout);
		onnx_extw_free(&w);
	}
	cli_out_commit(&mo);
	if (!quiet)
		fprintf(stderr, "%s: %zu activations added as outputs\n", cli_prog(), n);
	for (i = 0; i < l->n; i++)
		free(l->name[i]);
	free(l->name);
	onnx_free(&m);
}

/* ---- options ---- */

/* The options of --random-calib and --capture-model (usage errors exit 2). */
void
randcal_option(int c, const char *arg, struct randcal_opts *o, int *capture, int *capture_all)
{
	char *end;

	switch (c) {
	case OPT_RANDOM:
		o->n = strtol(arg, &end, 10);
		if (*end || o->n < 1 || o->n > 1000000)
			cli_usage_error("--random-calib %s: a number of samples from 1 to 1000000", arg);
		break;
	case OPT_SEED: {
		unsigned long long v = strtoull(arg, &end, 10);

		if (*end || *arg == '-' || v > UINT32_MAX)
			cli_usage_error("--seed %s: a number from 0 to 4294967295", arg);
		o->seed = (uint32_t)v;
		break;
	}
	case OPT_DIST:
		if (strcmp(arg, "uniform") && strcmp(arg, "normal"))
			cli_usage_error("--random-dist %s: uniform or normal", arg);
		o->normal = strcmp(arg, "normal") == 0;
		break;
	case OPT_ORTLIB: o->ort_lib = arg; break;
	case OPT_SHAPE: {
		struct input_shape *sh;
		const char *eq = strrchr(arg, '='), *p;

		o->shapes = realloc(o->shapes, (o->nshapes + 1) * sizeof *o->shapes);
		if (o->shapes == NULL)
			cli_die("out of memory");
		sh = &o->shapes[o->nshapes++];
		memset(sh, 0, sizeof *sh);
		if (eq == NULL || eq == arg)
			cli_usage_error("--input-shape %s: expected NAME=D,D,...", arg);
		sh->name = strndup(arg, (size_t)(eq - arg));
		if (sh->name == NULL)
			cli_die("out of memory");
		for (p = eq + 1;; p = end + 1) {
			long long d = strtoll(p, &end, 10);

			if (end == p || d < 1 || d > (1 << 30) || sh->rank == 8 || (*end && *end != ','))
				cli_usage_error("--input-shape %s: dimensions from 1 to 2^30, at most 8", arg);
			sh->dims[sh->rank++] = d;
			if (*end == 0)
				break;
		}
		break;
	}
	case OPT_CAPTURE_ALL: *capture_all = 1;	/* FALLTHROUGH */
	case OPT_CAPTURE: *capture = 1; break;
	}
}
