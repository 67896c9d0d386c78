/* awq: AWQ and SmoothQuant input-channel smoothing (awq.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "awq.h"
#include "smooth.h"
#include "threads.h"

void
awq_defaults(struct awq_opts *o)
{
	o->grid = 20;
	o->duo = 0;
	o->clip = 1;
	o->clip_grid = 20;
	o->max_shrink = 0.5;
	o->clip_tokens = 512;
	o->tokens = 1024;
}

/* ---- output error ---- */

struct sse_ctx {
	const struct awq_input *in;
	const float *d;
	int64_t cols;
	double *per_row;
};

static void
sse_rows(void *vc, size_t b, size_t end, int worker)
{
	struct sse_ctx *c = vc;
	const struct awq_input *in = c->in;

	(void)worker;
	for (size_t r = b; r < end; r++) {
		const float *dr = c->d + (int64_t)r * c->cols;
		double acc = 0;

		if (in->x) {
			for (int64_t i = 0; i < in->n; i++) {
				double dot = awq_dot(in->x + i * c->cols, dr, c->cols);

				acc += dot * dot;
			}
		} else {
			for (int64_t j = 0; j < c->cols; j++)
				acc += (in->msq ? in->msq[j] : 1.0) * (double)dr[j] * dr[j];
		}
		c->per_row[r] = acc;
	}
}

double
awq_out_sse(const struct awq_input *in, const float *d, int64_t rows, int64_t cols, int jobs)
{
	struct sse_ctx c = { in, d, cols, malloc((size_t)rows * sizeof(double)) };
	double sum = 0;

	if (c.per_row == NULL)
		return INFINITY;
	qpool_for(jobs, (size_t)rows, 4, sse_rows, &c);
	for (int64_t r = 0; r < rows; r++)	/* fixed order: same sum for any -j */
		sum += c.per_row[r];
	free(c.per_row);
	return sum;
}

/* ---- the scale search ---- */

/* s from x̄ (and w̄) at alpha, normalised as AutoAWQ does */
static void
awq_factors(const double *xbar, const double *wbar, int64_t cols, double alpha, float *s)
{
	double mx = 0, mn = INFINITY, norm;

	for (int64_t j = 0; j < cols; j++) {
		double v = pow(xbar[j], alpha);

		if (wbar)
			v /= pow(wbar[j], 1 - alpha) + 1e-4;
		if (!(v >= 1e-4))
			v = 1e-4;
		s[j] = (float)v;
		mx = fmax(mx, s[j]);
		mn = fmin(mn, s[j]);
	}
	norm = sqrt(mx * mn);
	for (int64_t j = 0; j < cols; j++) {
		s[j] = (float)(s[j] / norm);
		if (!isfinite(s[j]) || !(s[j] > 0))
			s[j] = 1.0f;
	}
}

/* W_eff = Q(W diag(s)) diag(1/s) by min-max scales, into out */
static int
quant_smoothed(const struct qscheme *sc, const float *w, int64_t rows, int64_t cols,
    const float *s, float *out, int jobs, struct qerr *e)
{
	struct qgrid g;
	struct calib_opts mm;
	float *scale;
	int32_t *zp;
	int rc = -1;

	if (linq_grid(sc, rows, cols, &g, e) < 0)
		return -1;
	calib_defaults(&mm);
	scale = malloc((size_t)linq_ncells(&g) * sizeof *scale);
	zp = malloc((size_t)linq_ncells(&g) * sizeof *zp);
	if (scale == NULL || zp == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	for (int64_t r = 0; r < rows; r++)
		for (int64_t j = 0; j < cols; j++)
			out[r * cols + j] = s ? w[r * cols + j] * s[j] : w[r * cols + j];
	if (calib_choose(sc, &g, out, &mm, scale, zp, jobs, e) < 0)
		goto out;
	linq_fakequant(sc, &g, out, scale, sc->sym ? NULL : zp, out, jobs);
	for (int64_t r = 0; s && r < rows; r++)
		for (int64_t j = 0; j < cols; j++)
			out[r * cols + j] /= s[j];
	rc = 0;
out:
	free(scale);
	free(zp);
	return rc;
}

int
awq_search(const struct qscheme *sc, const float *const *w, const int64_t *rows, int k,
    const struct awq_input *in, const struct awq_opts *o, float *smooth, double *alpha,
    double *loss, double *loss_rtn, int jobs, struct qerr *e)
{
	int64_t cols = in->cols, maxrows = 0;
	double *xbar = calloc((size_t)cols, sizeof *xbar), *wbar = NULL;
	float *s = malloc((size_t)cols * sizeof *s), *wq = NULL, *d = NULL;
	int rc = -1;

	for (int m = 0; m < k; m++)
		maxrows = rows[m] > maxrows ? rows[m] : maxrows;
	if (xbar == NULL || s == NULL ||
	    (wq = malloc((size_t)(maxrows * cols) * sizeof *wq)) == NULL ||
	    (d = malloc((size_t)(maxrows * cols) * sizeof *d)) == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	for (int64_t j = 0; j < cols; j++) {
		if (in->x && in->absmean) {
			xbar[j] = in->absmean[j];
		} else if (in->x) {
			for (int64_t i = 0; i < in->n; i++)
				xbar[j] += fabs(in->x[i * cols + j]);
			xbar[j] /= (double)in->n;
		} else {
			xbar[j] = in->msq ? sqrt(in->msq[j]) : 1.0;
		}
	}
	if (o->duo) {	/* mean over rows of |w| / max|w| of its cell along the row */
		int64_t gs = sc->gran == QG_GROUP ? sc->group : cols, nrow = 0;

		if ((wbar = calloc((size_t)cols, sizeof *wbar)) == NULL) {
			qerr_set(e, "out of memory");
			goto out;
		}
		for (int m = 0; m < k; m++)
			for (int64_t r = 0; r < rows[m]; r++, nrow++)
				for (int64_t c0 = 0; c0 < cols; c0 += gs) {
					int64_t c1 = c0 + gs < cols ? c0 + gs : cols;
					double mx = 0;

					for (int64_t j = c0; j < c1; j++)
						mx = fmax(mx, fabs(w[m][r * cols + j]));
					for (int64_t j = c0; j < c1; j++)
						wbar[j] += fabs(w[m][r * cols + j]) / (mx + 1e-6);
				}
		for (int64_t j = 0; j < cols; j++)
			wbar[j] /= (double)nrow;
	}
	*loss = INFINITY;
	*alpha = 0;
	for (int a = 0; a < o->grid; a++) {
		double ratio = (double)a / o->grid, l = 0;

		awq_factors(xbar, wbar, cols, ratio, s);
		for (int m = 0; m < k; m++) {
			int64_t n = rows[m] * cols;

			if (quant_smoothed(sc, w[m], rows[m], cols, s, wq, jobs, e) < 0)
				goto out;
			for (int64_t i = 0; i < n; i++)
				d[i] = w[m][i] - wq[i];
			l += awq_out_sse(in, d, rows[m], cols, jobs);
		}
		if (a == 0)
			*loss_rtn = l;
		if (l < *loss) {
			*loss = l;
			*alpha = ratio;
			memcpy(smooth, s, (size_t)cols * sizeof *s);
		}
	}
	if (!isfinite(*loss)) {
		qerr_set(e, "the output error is not finite for any alpha");
		goto out;
	}
	rc = 0;
out:
	free(xbar);
	free(wbar);
	free(s);
	free(wq);
	free(d);
	return rc;
}

/* ---- the clipping search ---- */

struct clip_ctx {
	const struct qscheme *s;
	const struct qgrid *g;
	const float *w;
	const struct awq_input *in;
	int64_t step;		/* sample stride */
	const struct awq_opts *o;
	float *scale;
	int32_t *zp;
};

/* squared output error of one cell (row r, columns c0..c1) under (sc, zp) */
static double
cell_err(const struct clip_ctx *c, int64_t r, int64_t c0, int64_t c1, float sc, int32_t zp,
    float *diff)
{
	int64_t cols = c->g->cols;
	const float *wr = c->w + r * cols;
	double acc = 0;

	for (int64_t j = c0; j < c1; j++)
		diff[j - c0] = wr[j] - linq_dequant1(c->s->fmt, linq_quant1(c->s->fmt, wr[j], sc, zp), sc, zp);
	if (c->in->x) {
		for (int64_t i = 0; i < c->in->n; i += c->step) {
			double dot = awq_dot(c->in->x + i * cols + c0, diff, c1 - c0);

			acc += dot * dot;
		}
	} else {
		for (int64_t j = c0; j < c1; j++)
			acc += (c->in->msq ? c->in->msq[j] : 1.0) * (double)diff[j - c0] * diff[j - c0];
	}
	return acc;
}

static void
clip_rows(void *vc, size_t b, size_t end, int worker)
{
	struct clip_ctx *c = vc;
	const struct qgrid *g = c->g;
	float *diff = malloc((size_t)g->bc * sizeof *diff);
	int steps = (int)(c->o->max_shrink * c->o->clip_grid);

	(void)worker;
	if (steps < 1)
		steps = 1;
	for (size_t r = b; r < end && diff; r++)
		for (int64_t gc = 0; gc < g->gcols; gc++) {
			int64_t c0 = gc * g->bc, c1 = c0 + g->bc < g->cols ? c0 + g->bc : g->cols;
			const float *wr = c->w + (int64_t)r * g->cols;
			float lo = 0, hi = 0, amax, best_s = 1;
			int32_t best_z = 0;
			double best = INFINITY;

			for (int64_t j = c0; j < c1; j++) {
				lo = fminf(lo, wr[j]);
				hi = fmaxf(hi, wr[j]);
			}
			amax = fmaxf(-lo, hi);
			for (int i = 0; i < steps; i++) {
				float f = (float)(1.0 - (double)i / c->o->clip_grid), sc;
				int32_t zp;
				double err;

				calib_from_range(c->s->fmt, c->s->sym, fmaxf(lo, -f * amax), fminf(hi, f * amax),
				    &sc, &zp);
				err = cell_err(c, (int64_t)r, c0, c1, sc, zp, diff);
				if (err < best) {
					best = err;
					best_s = sc;
					best_z = zp;
				}
			}
			c->scale[(int64_t)r * g->gcols + gc] = best_s;
			if (c->zp)
				c->zp[(int64_t)r * g->gcols + gc] = best_z;
		}
	free(diff);
}

int
awq_clip(const struct qscheme *s, const struct qgrid *g, const float *w,
    const struct awq_input *in, const struct awq_opts *o, float *scale, int32_t *zp, int jobs,
    struct qerr *e)
{
	struct clip_ctx c = { s, g, w, in, 1, o, scale, s->sym ? NULL : zp };

	if (g->br != 1 || !o->clip) {
		struct calib_opts mm;

		calib_defaults(&mm);
		return calib_choose(s, g, w, &mm, scale, zp, jobs, e);
	}
	if (in->x && o->clip_tokens > 0 && in->n > o->clip_tokens)
		c.step = in->n / o->clip_tokens;
	qpool_for(jobs, (size_t)g->rows, 1, clip_rows, &c);
	for (int64_t i = 0; s->sym && zp && i < linq_ncells(g); i++)
		zp[i] = linq_sym_zero(s->fmt);
	return 0;
}

void
sq_factors(const float *xmax, const float *wmax, int64_t cols, double alpha, float *s)
{
	for (int64_t j = 0; j < cols; j++) {
		double v = pow(fmax(xmax[j], 1e-5), alpha) / pow(fmax(wmax[j], 1e-5), 1 - alpha);

		s[j] = (float)fmax(v, 1e-5);
		if (!isfinite(s[j]))
			s[j] = 1.0f;
	}
}
