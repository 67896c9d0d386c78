#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calib.h"
#include "threads.h"

const char *const calib_method_names[CALIB_COUNT] = { "minmax", "mse", "percentile" };

int
calib_method_from_name(const char *name)
{
	for (int i = 0; i < CALIB_COUNT; i++)
		if (strcasecmp(calib_method_names[i], name) == 0)
			return i;
	return -1;
}

void
calib_defaults(struct calib_opts *o)
{
	o->method = CALIB_MINMAX;
	o->percentile = 99.9;
	o->grid = 100;
	o->shrink_min = 0.2;
}

void
calib_from_range(enum qfmt f, int sym, float lo, float hi, float *scale, int32_t *zp)
{
	int32_t qmin, qmax, z;
	float s;

	if (linq_is_float(f)) {
		float amax = fmaxf(fabsf(lo), fabsf(hi));

		*scale = amax > 0 ? amax / linq_fp8_max(f) : 1.0f;
		*zp = 0;
		return;
	}
	linq_qrange(f, &qmin, &qmax);
	if (sym) {
		float amax = fmaxf(fabsf(lo), fabsf(hi));
		/* the positive side is the short one: 7 for int4, 127 for int8 */
		int32_t qpos = qmax - linq_sym_zero(f);

		*zp = linq_sym_zero(f);
		*scale = amax > 0 ? amax / (float)qpos : 1.0f;
		if (!(*scale > 0) || isinf(*scale))
			*scale = 1.0f;
		return;
	}
	lo = fminf(lo, 0.0f);
	hi = fmaxf(hi, 0.0f);
	s = (hi - lo) / (float)(qmax - qmin);
	if (!(s > 0) || isinf(s)) {
		*scale = 1.0f;
		*zp = qmin > 0 ? qmin : (qmax < 0 ? qmax : 0);
		return;
	}
	z = (int32_t)nearbyintf((float)qmin - lo / s);
	*zp = z < qmin ? qmin : z > qmax ? qmax : z;
	*scale = s;
}

/* Squared error of one cell under (scale, zp); stops early above `limit`. */
static double
cell_sse(enum qfmt f, const float *v, size_t n, float scale, int32_t zp, double limit)
{
	double sse = 0;

	if (!linq_is_float(f)) {
		int32_t qmin, qmax;

		linq_qrange(f, &qmin, &qmax);
		for (size_t i = 0; i < n; i++) {
			double d = (double)v[i] - (float)(linq_qint(v[i], scale, zp, qmin, qmax) - zp) * scale;

			sse += d * d;
			if ((i & 63) == 63 && sse > limit)
				break;
		}
		return sse;
	}
	for (size_t i = 0; i < n; i++) {
		double d = (double)v[i] - linq_dequant1(f, linq_quant1(f, v[i], scale, zp), scale, zp);

		sse += d * d;
		if ((i & 63) == 63 && sse > limit)
			break;
	}
	return sse;
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* Value at percentile p of sorted v (linear interpolation between ranks). */
static float
sorted_percentile(const float *v, size_t n, double p)
{
	double pos = p / 100.0 * (double)(n - 1);
	size_t i = (size_t)pos;
	double t = pos - (double)i;

	if (i + 1 >= n)
		return v[n - 1];
	return (float)((1 - t) * v[i] + t * v[i + 1]);
}

static void
choose_cell(const struct qscheme *s, const struct calib_opts *o, float *v, size_t n,
    float *scale, int32_t *zp)
{
	float lo = v[0], hi = v[0];

	for (size_t i = 1; i < n; i++) {
		lo = fminf(lo, v[i]);
		hi = fmaxf(hi, v[i]);
	}
	if (o->method == CALIB_PERCENTILE && n > 1) {
		if (s->sym || linq_is_float(s->fmt)) {
			for (size_t i = 0; i < n; i++)
				v[i] = fabsf(v[i]);
			qsort(v, n, sizeof *v, cmp_float);
			hi = sorted_percentile(v, n, o->percentile);
			lo = -hi;
		} else {
			qsort(v, n, sizeof *v, cmp_float);
			hi = sorted_percentile(v, n, o->percentile);
			lo = sorted_percentile(v, n, 100.0 - o->percentile);
		}
	}
	calib_from_range(s->fmt, s->sym, lo, hi, scale, zp);
	if (o->method == CALIB_MSE && o->grid > 1) {
		double best = cell_sse(s->fmt, v, n, *scale, *zp, INFINITY);
		for (int k = 1; k < o->grid && best > 0; k++) {
			/* denser near 1, where 8-bit formats find their optimum */
			double t = (double)k / (o->grid - 1);
			float a = (float)(1.0 - (1.0 - o->shrink_min) * t * t), sc;
			int32_t z;
			double sse;

			calib_from_range(s->fmt, s->sym, a * lo, a * hi, &sc, &z);
			sse = cell_sse(s->fmt, v, n, sc, z, best);
			if (sse < best) {
				best = sse;
				*scale = sc;
				*zp = z;
			}
		}
	}
}

struct choose_ctx {
	const struct qscheme *s;
	const struct qgrid *g;
	const float *x;
	const struct calib_opts *o;
	float *scale;
	int32_t *zp;
	float *scratch;		/* one cell per worker */
	size_t cell_max;
};

static void
choose_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct choose_ctx *c = vctx;
	const struct qgrid *g = c->g;
	float *v = c->scratch + (size_t)worker * c->cell_max;

	for (size_t cell = b; cell < end; cell++) {
		int64_t r0 = (int64_t)cell / g->gcols * g->br, c0 = (int64_t)cell % g->gcols * g->bc;
		int64_t r1 = r0 + g->br < g->rows ? r0 + g->br : g->rows;
		int64_t c1 = c0 + g->bc < g->cols ? c0 + g->bc : g->cols;
		size_t n = 0;
		int32_t z;

		for (int64_t r = r0; r < r1; r++) {
			memcpy(v + n, c->x + r * g->cols + c0, (size_t)(c1 - c0) * sizeof *v);
			n += (size_t)(c1 - c0);
		}
		choose_cell(c->s, c->o, v, n, &c->scale[cell], &z);
		if (c->zp)
			c->zp[cell] = z;
	}
}

int
calib_choose(const struct qscheme *s, const struct qgrid *g, const float *x,
    const struct calib_opts *o, float *scale, int32_t *zp, int jobs, struct qerr *e)
{
	size_t n = (size_t)g->rows * (size_t)g->cols, ncells = (size_t)linq_ncells(g);
	struct choose_ctx c = { s, g, x, o, scale, s->sym ? NULL : zp, NULL,
		(size_t)g->br * (size_t)g->bc };
	size_t grain;

	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return qerr_set(e, "element %zu is %f: cannot calibrate non-finite weights",
			    i, (double)x[i]);
	if (o->method == CALIB_PERCENTILE && !(o->percentile > 0 && o->percentile <= 100))
		return qerr_set(e, "percentile %g: must be in (0, 100]", o->percentile);
	if (o->method == CALIB_MSE && (o->grid < 1 || !(o->shrink_min > 0 && o->shrink_min <= 1)))
		return qerr_set(e, "mse grid %d from %g: need grid >= 1 and 0 < shrink <= 1",
		    o->grid, o->shrink_min);
	if ((size_t)jobs > ncells)
		jobs = (int)ncells;
	if (jobs < 1)
		jobs = 1;
	c.scratch = malloc((size_t)jobs * c.cell_max * sizeof *c.scratch);
	if (c.scratch == NULL)
		return qerr_set(e, "out of memory for %zu-element cells", c.cell_max);
	grain = 4096 / c.cell_max + 1;
	qpool_for(jobs, ncells, grain, choose_body, &c);
	free(c.scratch);
	return 0;
}

void
calib_measure(const float *x, const float *xq, size_t n, struct calib_err *r)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < n; i++) {
		double d = (double)x[i] - (double)xq[i];

		r->sum_x2 += (double)x[i] * x[i];
		r->sum_e2 += d * d;
		if (fabs(d) > r->max_abs)
			r->max_abs = fabs(d);
	}
	r->n = n;
}

void
calib_err_add(struct calib_err *to, const struct calib_err *from)
{
	to->sum_x2 += from->sum_x2;
	to->sum_e2 += from->sum_e2;
	if (from->max_abs > to->max_abs)
		to->max_abs = from->max_abs;
	to->n += from->n;
}

double
calib_sqnr_db(const struct calib_err *r)
{
	if (r->sum_e2 == 0)
		return INFINITY;
	return 10.0 * log10(r->sum_x2 / r->sum_e2);
}

double
calib_rmse(const struct calib_err *r)
{
	return r->n ? sqrt(r->sum_e2 / (double)r->n) : 0;
}

/* ---- activation ranges ---- */

const char *const act_method_names[ACT_COUNT] = { "minmax", "percentile", "mse", "entropy" };

int
act_method_from_name(const char *name)
{
	for (int i = 0; i < ACT_COUNT; i++)
		if (strcasecmp(act_method_names[i], name) == 0)
			return i;
	return -1;
}

#define KL_BINS 2048
#define KL_LEVELS 128

/* Kullback-Leibler divergence of the histogram clipped at bin `end` from its
 * KL_LEVELS-level quantization (TensorRT's entropy calibration). */
static double
kl_at(const double *hist, int end)
{
	double p[KL_BINS], q[KL_BINS], ps = 0, qs = 0, kl = 0;
	double per = (double)end / KL_LEVELS;

	for (int i = 0; i < end; i++)
		p[i] = hist[i];
	for (int i = end; i < KL_BINS; i++)
		p[end - 1] += hist[i];		/* outliers clip into the last bin */
	for (int l = 0; l < KL_LEVELS; l++) {
		int a = (int)(l * per), b = (int)((l + 1) * per);
		double sum = 0;
		int nz = 0;

		if (l == KL_LEVELS - 1)
			b = end;
		for (int i = a; i < b; i++) {
			sum += hist[i];
			nz += hist[i] > 0;
		}
		for (int i = a; i < b; i++)	/* spread over the bins that were not empty */
			q[i] = hist[i] > 0 ? sum / nz : 0;
	}
	for (int i = 0; i < end; i++) {
		ps += p[i];
		qs += q[i];
	}
	if (ps <= 0 || qs <= 0)
		return INFINITY;
	for (int i = 0; i < end; i++)
		if (p[i] > 0)
			kl += p[i] / ps * log((p[i] / ps) / (q[i] > 0 ? q[i] / qs : 1e-12));
	return kl;
}

int
calib_act_range(const float *x, size_t n, enum act_method m, enum qfmt f, double pct,
    float range[2], struct qerr *e)
{
	float lo, hi;

	if (n == 0)
		return qerr_set(e, "no values");
	lo = hi = x[0];
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			return qerr_set(e, "value %zu is %f: cannot calibrate non-finite activations",
			    i, (double)x[i]);
		lo = fminf(lo, x[i]);
		hi = fmaxf(hi, x[i]);
	}
	switch (m) {
	case ACT_MINMAX:
		break;
	case ACT_PERCENTILE: {
		float *v = malloc(n * sizeof *v);

		if (!(pct > 0 && pct <= 100))
			return qerr_set(e, "percentile %g: must be in (0, 100]", pct);
		if (v == NULL)
			return qerr_set(e, "out of memory");
		memcpy(v, x, n * sizeof *v);
		qsort(v, n, sizeof *v, cmp_float);
		lo = sorted_percentile(v, n, 100.0 - pct);
		hi = sorted_percentile(v, n, pct);
		free(v);
		break;
	}
	case ACT_MSE: {
		struct qscheme s = { f, f == QF_INT8 || f == QF_INT4, QG_TENSOR, 0, 0, { 0, 0 } };
		struct qgrid g;
		struct calib_opts o;
		float sc;
		int32_t z = 0, qmin, qmax;

		if (linq_is_float(f) || !linq_supports(f))
			return qerr_set(e, "mse activation ranges need an integer format");
		calib_defaults(&o);
		o.method = CALIB_MSE;
		if (linq_grid(&s, 1, (int64_t)n, &g, e) < 0 ||
		    calib_choose(&s, &g, x, &o, &sc, &z, 1, e) < 0)
			return -1;
		linq_qrange(f, &qmin, &qmax);
		if (s.sym)
			z = 0;
		lo = (float)(qmin - z) * sc;
		hi = (float)(qmax - z) * sc;
		break;
	}
	case ACT_ENTROPY: {
		double *hist = calloc(KL_BINS, sizeof *hist), best = INFINITY;
		float amax = fmaxf(fabsf(lo), fabsf(hi)), t = amax;

		if (hist == NULL)
			return qerr_set(e, "out of memory");
		if (amax > 0) {
			for (size_t i = 0; i < n; i++) {
				int b = (int)(fabsf(x[i]) / amax * KL_BINS);

				hist[b < KL_BINS ? b : KL_BINS - 1] += 1;
			}
			for (int end = KL_LEVELS; end <= KL_BINS; end++) {
				double kl = kl_at(hist, end);

				if (kl < best) {
					best = kl;
					t = (float)((end + 0.5) * amax / KL_BINS);
				}
			}
		}
		free(hist);
		t = fminf(t, amax);
		hi = t;
		lo = lo < 0 ? -t : 0;
		break;
	}
	default:
		return qerr_set(e, "unknown activation method");
	}
	range[0] = lo;
	range[1] = hi;
	return 0;
}
