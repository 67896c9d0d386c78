#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gptq.h"
#include "threads.h"

/* In place: a (n x n, symmetric positive definite) -> its lower Cholesky
 * factor.  -1 if not positive definite. */
static int
cholesky(double *a, int64_t n)
{
	for (int64_t j = 0; j < n; j++) {
		double d = a[j * n + j];

		for (int64_t k = 0; k < j; k++)
			d -= a[j * n + k] * a[j * n + k];
		if (!(d > 0))
			return -1;
		d = sqrt(d);
		a[j * n + j] = d;
		for (int64_t i = j + 1; i < n; i++) {
			double v = a[i * n + j];

			for (int64_t k = 0; k < j; k++)
				v -= a[i * n + k] * a[j * n + k];
			a[i * n + j] = v / d;
		}
		for (int64_t k = j + 1; k < n; k++)
			a[j * n + k] = 0;
	}
	return 0;
}

/* The upper factor U with H^-1 = U^T U, from H (overwritten). */
static int
hinv_upper(double *h, int64_t n, double *u)
{
	double *li;

	if (cholesky(h, n) < 0)		/* H = L L^T */
		return -1;
	if ((li = calloc((size_t)(n * n), sizeof *li)) == NULL)
		return -1;
	for (int64_t j = 0; j < n; j++) {	/* L^-1, lower, column by column */
		li[j * n + j] = 1.0 / h[j * n + j];
		for (int64_t i = j + 1; i < n; i++) {
			double v = 0;

			for (int64_t k = j; k < i; k++)
				v -= h[i * n + k] * li[k * n + j];
			li[i * n + j] = v / h[i * n + i];
		}
	}
	for (int64_t i = 0; i < n; i++)		/* H^-1 = L^-T L^-1 */
		for (int64_t j = 0; j <= i; j++) {
			double v = 0;

			for (int64_t k = i; k < n; k++)
				v += li[k * n + i] * li[k * n + j];
			u[i * n + j] = u[j * n + i] = v;
		}
	free(li);
	if (cholesky(u, n) < 0)			/* H^-1 = M M^T, U = M^T */
		return -1;
	for (int64_t i = 0; i < n; i++)
		for (int64_t j = i + 1; j < n; j++) {
			u[i * n + j] = u[j * n + i];
			u[j * n + i] = 0;
		}
	return 0;
}

struct col_ctx {
	const struct qscheme *s;
	const struct qgrid *g;
	float *w;
	const double *u;
	const float *scale;
	const int32_t *zp;
	int32_t *q;
	int64_t col;
};

/* Quantize column `col` of the given rows and push the error right. */
static void
col_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct col_ctx *c = vctx;
	int64_t cols = c->g->cols, i = c->col;
	const double *urow = c->u + i * cols;
	int32_t zsym = linq_sym_zero(c->s->fmt);

	(void)worker;
	for (size_t r = b; r < end; r++) {
		float *wr = c->w + (int64_t)r * cols;
		int64_t cell = (int64_t)r / c->g->br * c->g->gcols + i / c->g->bc;
		int32_t z = c->zp ? c->zp[cell] : zsym;
		int32_t q = linq_quant1(c->s->fmt, wr[i], c->scale[cell], z);
		double err = ((double)wr[i] - linq_dequant1(c->s->fmt, q, c->scale[cell], z)) / urow[i];

		c->q[(int64_t)r * cols + i] = q;
		for (int64_t j = i + 1; j < cols; j++)
			wr[j] -= (float)(err * urow[j]);
	}
}

int
gptq_quantize(const struct qscheme *s, const struct qgrid *g, float *w, const float *x,
    int64_t n, double damp, const struct calib_opts *co, const struct ql_opts *lo,
    float *scale, int32_t *zp, int32_t *q, int jobs, struct qerr *e)
{
	int64_t cols = g->cols, rows = g->rows;
	double *h, *u, mean = 0;
	int rc = -1;

	if (g->br != 1 && s->gran != QG_TENSOR)
		return qerr_set(e, "gptq needs per-tensor, per-channel (axis 0) or per-group scales");
	if (n <= 0)
		return qerr_set(e, "gptq needs captured inputs");
	if ((uint64_t)cols > 65536)
		return qerr_set(e, "gptq: %lld input columns is more than this implementation handles",
		    (long long)cols);
	h = calloc((size_t)(cols * cols), sizeof *h);
	u = calloc((size_t)(cols * cols), sizeof *u);
	if (h == NULL || u == NULL) {
		qerr_set(e, "out of memory for a %lld x %lld Hessian", (long long)cols, (long long)cols);
		goto out;
	}
	for (int64_t t = 0; t < n; t++)			/* H = 2/n X^T X */
		for (int64_t i = 0; i < cols; i++) {
			double xi = x[t * cols + i];

			if (xi == 0)
				continue;
			for (int64_t j = 0; j <= i; j++)
				h[i * cols + j] += xi * x[t * cols + j];
		}
	for (int64_t i = 0; i < cols; i++)
		for (int64_t j = 0; j <= i; j++)
			h[j * cols + i] = h[i * cols + j] = h[i * cols + j] * 2.0 / (double)n;
	for (int64_t i = 0; i < cols; i++) {
		if (h[i * cols + i] == 0) {		/* a dead input: its weights do not matter */
			h[i * cols + i] = 1;
			for (int64_t r = 0; r < rows; r++)
				w[r * cols + i] = 0;
		}
		mean += h[i * cols + i];
	}
	mean /= (double)cols;
	for (int64_t i = 0; i < cols; i++)
		h[i * cols + i] += damp * mean;
	if (hinv_upper(h, cols, u) < 0) {
		qerr_set(e, "gptq: the Hessian is not positive definite; raise the damping");
		goto out;
	}
	if (s->gran != QG_GROUP) {
		size_t nc = (size_t)linq_ncells(g);

		if (calib_choose(s, g, w, co, scale, zp, jobs, e) < 0 ||
		    (lo && ql_round_scales(ql_scale_dtype(lo, s), scale, nc, e) < 0))
			goto out;
		if (lo)
			ql_fix_zero_points(lo, s, s->sym ? NULL : zp, nc);
	}
	for (int64_t i = 0; i < cols; i++) {
		struct col_ctx c = { s, g, w, u, scale, s->sym ? NULL : zp, q, i };

		if (s->gran == QG_GROUP && i % g->bc == 0) {
			/* this group's scales, from the weights as updated so far */
			struct qscheme one = *s;
			struct qgrid gg;
			int64_t width = g->bc < cols - i ? g->bc : cols - i;
			float *blk = malloc((size_t)(rows * width) * sizeof *blk), *sc;
			int32_t *zz;

			sc = malloc((size_t)rows * sizeof *sc);
			zz = malloc((size_t)rows * sizeof *zz);
			if (blk == NULL || sc == NULL || zz == NULL) {
				free(blk), free(sc), free(zz);
				qerr_set(e, "out of memory");
				goto out;
			}
			for (int64_t r = 0; r < rows; r++)
				memcpy(blk + r * width, w + r * cols + i, (size_t)width * sizeof *blk);
			one.gran = QG_CHANNEL;
			one.axis = 0;
			if (linq_grid(&one, rows, width, &gg, e) < 0 ||
			    calib_choose(&one, &gg, blk, co, sc, zz, jobs, e) < 0) {
				free(blk), free(sc), free(zz);
				goto out;
			}
			if (lo && ql_round_scales(ql_scale_dtype(lo, s), sc, (size_t)rows, e) < 0) {
				free(blk), free(sc), free(zz);
				goto out;
			}
			if (lo)
				ql_fix_zero_points(lo, s, s->sym ? NULL : zz, (size_t)rows);
			for (int64_t r = 0; r < rows; r++) {
				scale[r * g->gcols + i / g->bc] = sc[r];
				if (!s->sym)
					zp[r * g->gcols + i / g->bc] = zz[r];
			}
			free(blk), free(sc), free(zz);
		}
		qpool_for(jobs, (size_t)rows, 16, col_body, &c);
	}
	rc = 0;
out:
	free(h);
	free(u);
	return rc;
}

double
gptq_output_sse(const float *w, const float *wq, int64_t rows, int64_t cols, const float *x,
    int64_t n)
{
	double sse = 0;

	for (int64_t t = 0; t < n; t++)
		for (int64_t r = 0; r < rows; r++) {
			double d = 0;

			for (int64_t k = 0; k < cols; k++)
				d += (double)x[t * cols + k] * ((double)w[r * cols + k] - wq[r * cols + k]);
			sse += d * d;
		}
	return sse;
}
