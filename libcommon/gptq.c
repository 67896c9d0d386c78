/* GPTQ (gptq.h has the algorithm).  Two paths compute it: the reference,
 * plain loops that read like the specification, and the fast one, which
 * does the same operations on every element in the same order but tiled for
 * the caches, vectorized across independent elements (never inside a sum)
 * and spread over threads.  The one heavy kernel is gemm_sub:
 * C[i][j] -= A[i][t] * B[t][j] for t in order. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gptq.h"
#include "threads.h"

void
gptq_defaults(struct gptq_opts *o)
{
	memset(o, 0, sizeof *o);
	o->damp = 0.01;
	o->jobs = 1;
}

/* ---------------- the kernel ---------------- */

/* c[i][j] -= a[i][t] * b[t * ldb + j], t = 0..kk-1 in order, for i < 4
 * rows (m of them, the rest 0) and j < nc.  W columns of 4 rows stay in
 * registers (the b loads are shared by the rows); each lane is one element,
 * so vectorizing does not change any element's sum. */
#define MSUB(NAME, ATTR, W)							\
ATTR static void								\
NAME(double *restrict c, int64_t ldc, const double *restrict a, int64_t lda,	\
    int64_t m, int64_t kk, const double *restrict b, int64_t ldb, int64_t nc)	\
{										\
	int64_t j = 0;								\
										\
	if (m == 4)								\
		for (; j + W <= nc; j += W) {					\
			double acc[4][W];					\
										\
			for (int i = 0; i < 4; i++)				\
				for (int u = 0; u < W; u++)			\
					acc[i][u] = c[i * ldc + j + u];		\
			for (int64_t t = 0; t < kk; t++) {			\
				const double *bt = b + t * ldb + j;		\
										\
				for (int i = 0; i < 4; i++) {			\
					const double at = a[i * lda + t];	\
										\
					for (int u = 0; u < W; u++)		\
						acc[i][u] -= at * bt[u];	\
				}						\
			}							\
			for (int i = 0; i < 4; i++)				\
				for (int u = 0; u < W; u++)			\
					c[i * ldc + j + u] = acc[i][u];		\
		}								\
	for (int i = 0; i < m; i++)						\
		for (int64_t jj = j; jj < nc; jj++) {				\
			double v = c[i * ldc + jj];				\
										\
			for (int64_t t = 0; t < kk; t++)			\
				v -= a[i * lda + t] * b[t * ldb + jj];		\
			c[i * ldc + jj] = v;					\
		}								\
}

typedef void (*msub_fn)(double *restrict, int64_t, const double *restrict, int64_t, int64_t,
    int64_t, const double *restrict, int64_t, int64_t);

MSUB(msub_base, , 4)
#if QU_X86_KERNELS
MSUB(msub_avx2, QU_TARGET_AVX2, 8)
MSUB(msub_avx512, QU_TARGET_AVX512, 16)
#endif

static msub_fn
msub_pick(void)
{
#if QU_X86_KERNELS
	switch (qcpu_level()) {
	case QCPU_AVX512: return msub_avx512;
	case QCPU_AVX2: return msub_avx2;
	default: break;
	}
#endif
	return msub_base;
}

/* One row: c[j] -= a[t] * b[t][j]. */
static void
msub1(msub_fn f, double *c, const double *a, int64_t kk, const double *b, int64_t ldb, int64_t nc)
{
	f(c, 0, a, 0, 1, kk, b, ldb, nc);
}

#define TILE_J 256
#define TILE_T 64

/* C[i][j] -= sum over t = 0..kk-1, in order, of A[i][t] * B[t][j] for
 * i < m, j < nc (B's rows ldb apart; ldb may be negative).  Tiled so that
 * a TILE_T x TILE_J block of B serves every row from the cache. */
static void
gemm_sub(msub_fn f, double *c, int64_t ldc, const double *a, int64_t lda, const double *b,
    int64_t ldb, int64_t m, int64_t kk, int64_t nc)
{
	for (int64_t jt = 0; jt < nc; jt += TILE_J) {
		int64_t jn = nc - jt < TILE_J ? nc - jt : TILE_J;

		for (int64_t kt = 0; kt < kk; kt += TILE_T) {
			int64_t kn = kk - kt < TILE_T ? kk - kt : TILE_T;

			for (int64_t i = 0; i < m; i += 4)
				f(c + i * ldc + jt, ldc, a + i * lda + kt, lda, m - i < 4 ? m - i : 4, kn,
				    b + kt * ldb + jt, ldb, jn);
		}
	}
}

/* ---------------- step 1: the Hessian, in processing order, flipped ---------------- */

/* order[a] = the input column at flipped position a (perm reversed). */

static void
hessian_ref(const float *x, int64_t n, int64_t cols, const int64_t *order, double *f)
{
	for (int64_t a = 0; a < cols; a++)
		for (int64_t b = 0; b <= a; b++) {
			double v = 0;

			for (int64_t t = 0; t < n; t++)
				v += (double)x[t * cols + order[a]] * (double)x[t * cols + order[b]];
			f[a * cols + b] = f[b * cols + a] = v;
		}
}

struct hess_ctx {
	msub_fn fn;
	const double *xneg, *xd;	/* a slab of samples: [cols][nt] negated, [nt][cols] */
	double *f;
	int64_t nt, cols;
};

#define CHUNK 16
#define SLAB 256	/* samples converted at a time: memory does not grow with n */
#define MAIN_ROWS 64	/* rows per work item of step 3: U's batch rows are read once per item */

static void
hess_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct hess_ctx *c = vctx;

	(void)worker;
	for (size_t k = b; k < end; k++) {
		int64_t a0 = (int64_t)k * CHUNK, a1 = a0 + CHUNK < c->cols ? a0 + CHUNK : c->cols;

		/* v -= (-x_a) * x_b  is  v += x_a * x_b, bit for bit; the slabs
		 * come in sample order, so every sum runs over t in order */
		gemm_sub(c->fn, c->f + a0 * c->cols, c->cols, c->xneg + a0 * c->nt, c->nt, c->xd,
		    c->cols, a1 - a0, c->nt, a1);
	}
}

static int
hessian_fast(const float *x, int64_t n, int64_t cols, const int64_t *order, double *f,
    int jobs)
{
	int64_t slab = n < SLAB ? n : SLAB;
	double *xd = malloc((size_t)(slab * cols) * sizeof *xd);
	double *xneg = malloc((size_t)(slab * cols) * sizeof *xneg);
	struct hess_ctx c = { msub_pick(), xneg, xd, f, 0, cols };

	if (xd == NULL || xneg == NULL) {
		free(xd), free(xneg);
		return -1;
	}
	memset(f, 0, (size_t)(cols * cols) * sizeof *f);
	for (int64_t t0 = 0; t0 < n; t0 += slab) {
		c.nt = n - t0 < slab ? n - t0 : slab;
		for (int64_t t = 0; t < c.nt; t++)
			for (int64_t a = 0; a < cols; a++) {
				double v = x[(t0 + t) * cols + order[a]];

				xd[t * cols + a] = v;
				xneg[a * c.nt + t] = -v;
			}
		qpool_for(jobs, (size_t)((cols + CHUNK - 1) / CHUNK), 1, hess_body, &c);
	}
	for (int64_t a = 0; a < cols; a++)	/* the lower half computed; mirror it */
		for (int64_t b = 0; b < a; b++)
			f[b * cols + a] = f[a * cols + b];
	free(xd), free(xneg);
	return 0;
}

/* ---------------- step 2: U from F ---------------- */

static int
factor_ref(double *f, int64_t n)
{
	double *v = calloc((size_t)(n * n), sizeof *v), *xi = calloc((size_t)(n * n), sizeof *xi);

	if (v == NULL || xi == NULL) {
		free(v), free(xi);
		return -2;
	}
	for (int64_t i = 0; i < n; i++)			/* F = V^T V */
		for (int64_t j = i; j < n; j++) {
			double s = f[i * n + j];

			for (int64_t k = 0; k < i; k++)
				s -= v[k * n + i] * v[k * n + j];
			if (j == i) {
				if (!(s > 0)) {
					free(v), free(xi);
					return -1;
				}
				v[i * n + i] = sqrt(s);
			} else {
				v[i * n + j] = s / v[i * n + i];
			}
		}
	for (int64_t i = n - 1; i >= 0; i--) {		/* X = V^-1 */
		xi[i * n + i] = 1 / v[i * n + i];
		for (int64_t j = i + 1; j < n; j++) {
			double s = 0;

			for (int64_t k = j; k > i; k--)
				s -= v[i * n + k] * xi[k * n + j];
			xi[i * n + j] = s / v[i * n + i];
		}
	}
	for (int64_t a = 0; a < n; a++)			/* U[a][b] = X[n-1-b][n-1-a] */
		for (int64_t b = 0; b < n; b++)
			f[a * n + b] = b >= a ? xi[(n - 1 - b) * n + (n - 1 - a)] : 0;
	free(v), free(xi);
	return 0;
}

#define PANEL 64

struct trail_ctx {
	msub_fn fn;
	double *f;
	const double *at;	/* [n][PANEL]: at[i][t] = V[k0 + t][i] */
	int64_t n, k0, k1;
};

/* Cholesky: the panel's rows subtracted from the trailing rows, one j-tile each. */
static void
trail_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct trail_ctx *c = vctx;
	int64_t n = c->n;

	(void)worker;
	for (size_t k = b; k < end; k++) {
		int64_t jt = c->k1 + (int64_t)k * TILE_J, je = jt + TILE_J < n ? jt + TILE_J : n;

		/* rows k1..je-1 reach into this tile (j >= i); elements below the
		 * diagonal are computed and never read */
		gemm_sub(c->fn, c->f + c->k1 * n + jt, n, c->at + c->k1 * PANEL, PANEL,
		    c->f + c->k0 * n + jt, n, je - c->k1, c->k1 - c->k0, je - jt);
	}
}

struct inv_ctx {
	msub_fn fn;
	double *f;
	const double *ar;	/* [PANEL][n]: ar[ii][t] = V[i0 + ii][n - 1 - t] */
	int64_t n, i0, i1;
};

/* Inverse: rows i0..i1-1, columns j >= i1, terms k = n-1 .. i1; one j-tile each. */
static void
inv_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct inv_ctx *c = vctx;
	int64_t n = c->n;

	(void)worker;
	for (size_t k = b; k < end; k++) {
		int64_t jt = c->i1 + (int64_t)k * TILE_J, je = jt + TILE_J < n ? jt + TILE_J : n;

		/* for j < je only k <= je - 1 give non-zero terms (X is upper):
		 * t from n - je, B's rows from X[je - 1] upwards */
		gemm_sub(c->fn, c->f + c->i0 * n + jt, n, c->ar + (n - je), n,
		    c->f + (je - 1) * n + jt, -n, c->i1 - c->i0, je - c->i1, je - jt);
	}
}

static int
factor_fast(double *f, int64_t n, int jobs)
{
	msub_fn fn = msub_pick();
	double *buf = malloc((size_t)(n * PANEL) * sizeof *buf);

	if (buf == NULL)
		return -2;
	/* F = V^T V, right-looking by panels of PANEL rows */
	for (int64_t k0 = 0; k0 < n; k0 += PANEL) {
		int64_t k1 = k0 + PANEL < n ? k0 + PANEL : n;
		struct trail_ctx tc = { fn, f, buf, n, k0, k1 };

		for (int64_t i = k0; i < k1; i++) {
			double *row = f + i * n, d;

			for (int64_t t = 0; t < i - k0; t++)
				buf[t] = f[(k0 + t) * n + i];
			msub1(fn, row + i, buf, i - k0, f + k0 * n + i, n, n - i);
			d = row[i];
			if (!(d > 0)) {
				free(buf);
				return -1;
			}
			row[i] = d = sqrt(d);
			for (int64_t j = i + 1; j < n; j++)
				row[j] /= d;
		}
		if (k1 == n)
			break;
		for (int64_t i = k1; i < n; i++)
			for (int64_t t = 0; t < k1 - k0; t++)
				buf[i * PANEL + t] = f[(k0 + t) * n + i];
		qpool_for(jobs, (size_t)((n - k1 + TILE_J - 1) / TILE_J), 1, trail_body, &tc);
	}
	/* the trailing updates left numbers below the diagonal: X's must be 0 */
	for (int64_t i = 0; i < n; i++)
		for (int64_t j = 0; j < i; j++)
			f[i * n + j] = 0;
	/* X = V^-1 in place, by blocks of PANEL rows from the bottom */
	for (int64_t i1 = n; i1 > 0;) {
		int64_t i0 = i1 - PANEL > 0 ? i1 - PANEL : 0;
		struct inv_ctx ic = { fn, f, buf, n, i0, i1 };

		for (int64_t i = i0; i < i1; i++) {
			double *ar = buf + (i - i0) * n;

			for (int64_t k = n - 1; k > i; k--)
				ar[n - 1 - k] = f[i * n + k];
			for (int64_t j = i + 1; j < n; j++)
				f[i * n + j] = 0;
		}
		qpool_for(jobs, (size_t)((n - i1 + TILE_J - 1) / TILE_J), 1, inv_body, &ic);
		for (int64_t i = i1 - 1; i >= i0; i--) {
			double *row = f + i * n, *ar = buf + (i - i0) * n, d = row[i];

			for (int64_t k = i1 - 1; k > i; k--)
				msub1(fn, row + k, ar + (n - 1 - k), 1, f + k * n + k, n, n - k);
			for (int64_t j = i + 1; j < n; j++)
				row[j] /= d;
			row[i] = 1 / d;
		}
		i1 = i0;
	}
	free(buf);
	/* U[a][b] = X[n-1-b][n-1-a]: a reflection of the upper triangle onto itself */
	for (int64_t a = 0; a < n; a++)
		for (int64_t b = a; b < n; b++) {
			int64_t a2 = n - 1 - b, b2 = n - 1 - a;

			if (a * n + b < a2 * n + b2) {
				double t = f[a * n + b];

				f[a * n + b] = f[a2 * n + b2];
				f[a2 * n + b2] = t;
			}
		}
	return 0;
}

/* ---------------- step 3: the columns, rows in chunks ---------------- */

struct main_ctx {
	const struct qscheme *s;
	const struct qgrid *g;
	const struct calib_opts *co;
	const struct ql_opts *lo;
	const double *u;
	const int64_t *perm;		/* processing position -> input column */
	const int64_t *cell_col;	/* position -> scale cell column (groups) */
	float *w;
	float *scale;
	int32_t *zp, *q;
	int64_t bw;			/* lazy batch width */
	int dynamic;			/* group scales chosen on the way */
	int reference;
	msub_fn fn;
	int64_t chunk_rows;
	int *status;			/* per chunk: 0 ok */
	struct qerr *errs;
};

/* Scales of cells (r0.., p / group) from float values vals [nr][width]. */
static int
group_scales(const struct main_ctx *c, int64_t r0, int64_t nr, int64_t width, const float *vals,
    int64_t cellc, struct qerr *e)
{
	struct qscheme one = *c->s;
	struct qgrid gg;
	float *sc = malloc((size_t)nr * sizeof *sc);
	int32_t *zz = malloc((size_t)nr * sizeof *zz);
	int rc = -1;

	one.gran = QG_CHANNEL;
	one.axis = 0;
	if (sc == NULL || zz == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	if (linq_grid(&one, nr, width, &gg, e) < 0 || calib_choose(&one, &gg, vals, c->co, sc, zz, 1, e) < 0)
		goto out;
	if (c->lo && ql_round_scales(ql_scale_dtype(c->lo, c->s), sc, (size_t)nr, e) < 0)
		goto out;
	if (c->lo)
		ql_fix_zero_points(c->lo, c->s, c->s->sym ? NULL : zz, (size_t)nr);
	for (int64_t r = 0; r < nr; r++) {
		c->scale[(r0 + r) * c->g->gcols + cellc] = sc[r];
		if (!c->s->sym)
			c->zp[(r0 + r) * c->g->gcols + cellc] = zz[r];
	}
	rc = 0;
out:
	free(sc), free(zz);
	return rc;
}

static int
run_chunk(const struct main_ctx *c, int64_t r0, int64_t r1, struct qerr *e)
{
	const struct qscheme *s = c->s;
	int64_t cols = c->g->cols, nr = r1 - r0, bw = c->bw, gs = c->g->bc;
	int32_t zsym = linq_sym_zero(s->fmt);
	float *wp = malloc((size_t)(nr * cols) * sizeof *wp);	/* rows, permuted */
	double *blk = malloc((size_t)(nr * bw) * sizeof *blk), *err = malloc((size_t)(nr * bw) * sizeof *err);
	double *tail = malloc((size_t)(nr * cols) * sizeof *tail);
	float *vals = malloc((size_t)(nr * bw) * sizeof *vals);
	int rc = -1;

	if (wp == NULL || blk == NULL || err == NULL || tail == NULL || vals == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	for (int64_t r = 0; r < nr; r++)
		for (int64_t p = 0; p < cols; p++)
			wp[r * cols + p] = c->w[(r0 + r) * cols + c->perm[p]];
	for (int64_t i1 = 0; i1 < cols; i1 += bw) {
		int64_t i2 = i1 + bw < cols ? i1 + bw : cols, nb = i2 - i1;

		for (int64_t r = 0; r < nr; r++)
			for (int64_t b = 0; b < nb; b++)
				blk[r * bw + b] = wp[r * cols + i1 + b];
		for (int64_t p = i1; p < i2; p++) {
			const double *urow = c->u + p * cols;

			if (c->dynamic && p % gs == 0) {
				/* a group starts: its scales from the values as they are now
				 * (the batch is whole groups, so all of it is here) */
				int64_t width = gs < cols - p ? gs : cols - p;

				for (int64_t r = 0; r < nr; r++)
					for (int64_t u = 0; u < width; u++)
						vals[r * width + u] = (float)blk[r * bw + (p - i1) + u];
				if (group_scales(c, r0, nr, width, vals, p / gs, e) < 0)
					goto out;
			}
			for (int64_t r = 0; r < nr; r++) {
				double *br = blk + r * bw;
				int64_t row = r0 + r;
				int64_t cell = s->gran == QG_TENSOR ? 0 : s->gran == QG_CHANNEL ? row :
				    row * c->g->gcols + c->cell_col[p];
				int32_t z = s->sym ? zsym : c->zp[cell];
				float xv = (float)br[p - i1];
				int32_t qv = linq_quant1(s->fmt, xv, c->scale[cell], z);
				double ev = (br[p - i1] - linq_dequant1(s->fmt, qv, c->scale[cell], z)) / urow[p];

				c->q[row * cols + c->perm[p]] = qv;
				wp[r * cols + p] = xv;
				err[r * bw + (p - i1)] = ev;
				if (c->reference)
					for (int64_t j = p + 1; j < i2; j++)
						br[j - i1] -= ev * urow[j];
				else
					msub1(c->fn, br + (p - i1) + 1, &ev, 1, urow + p + 1, 0, i2 - p - 1);
			}
		}
		if (i2 == cols)
			break;
		/* the batch's errors, to every later column */
		if (c->reference) {
			for (int64_t r = 0; r < nr; r++)
				for (int64_t j = i2; j < cols; j++) {
					double v = wp[r * cols + j];

					for (int64_t b = 0; b < nb; b++)
						v -= err[r * bw + b] * c->u[(i1 + b) * cols + j];
					wp[r * cols + j] = (float)v;
				}
		} else {
			int64_t tn = cols - i2;

			for (int64_t r = 0; r < nr; r++)
				for (int64_t j = 0; j < tn; j++)
					tail[r * tn + j] = wp[r * cols + i2 + j];
			gemm_sub(c->fn, tail, tn, err, bw, c->u + i1 * cols + i2, cols, nr, nb, tn);
			for (int64_t r = 0; r < nr; r++)
				for (int64_t j = 0; j < tn; j++)
					wp[r * cols + i2 + j] = (float)tail[r * tn + j];
		}
	}
	for (int64_t r = 0; r < nr; r++)
		for (int64_t p = 0; p < cols; p++)
			c->w[(r0 + r) * cols + c->perm[p]] = wp[r * cols + p];
	rc = 0;
out:
	free(wp), free(blk), free(err), free(tail), free(vals);
	return rc;
}

static void
main_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct main_ctx *c = vctx;

	(void)worker;
	for (size_t k = b; k < end; k++) {
		int64_t r0 = (int64_t)k * c->chunk_rows;
		int64_t r1 = r0 + c->chunk_rows < c->g->rows ? r0 + c->chunk_rows : c->g->rows;

		c->status[k] = run_chunk(c, r0, r1, &c->errs[k]);
	}
}

/* ---------------- the whole ---------------- */

struct diag_order {
	double d;
	int64_t col;
};

static int
by_decreasing_diag(const void *va, const void *vb)
{
	const struct diag_order *a = va, *b = vb;

	if (a->d != b->d)
		return a->d > b->d ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

int
gptq_run(const struct qscheme *s, const struct qgrid *g, float *w, const float *x, int64_t n,
    const struct gptq_opts *o, const struct calib_opts *co, const struct ql_opts *lo,
    float *scale, int32_t *zp, int32_t *q, int32_t *g_idx, struct qerr *e)
{
	int64_t cols = g->cols, rows = g->rows, nchunks = 0;
	int grouped = s->gran == QG_GROUP, dynamic = grouped && !o->static_groups;
	double *f = NULL, *diag = NULL, mean = 0;
	int64_t *perm = NULL, *order = NULL, *cell_col = NULL;
	struct diag_order *dor = NULL;
	int *status = NULL, rc = -1, jobs = o->jobs > 0 ? o->jobs : 1;
	struct qerr *errs = NULL;

	if (s->gran == QG_BLOCK || (s->gran == QG_CHANNEL && s->axis != 0))
		return qerr_set(e, "gptq needs per-tensor, per-channel (axis 0) or per-group scales");
	if (n <= 0)
		return qerr_set(e, "gptq needs captured inputs");
	if ((uint64_t)cols > 65536)
		return qerr_set(e, "gptq: %lld input columns is more than this implementation handles",
		    (long long)cols);
	if (grouped && o->act_order && !o->static_groups && g_idx == NULL)
		return qerr_set(e, "gptq: act-order groups need a g_idx to record them");
	for (int64_t i = 0; i < n * cols; i++)
		if (!isfinite(x[i]))
			return qerr_set(e, "captured input %lld of column %lld is not finite",
			    (long long)(i / cols), (long long)(i % cols));
	f = malloc((size_t)(cols * cols) * sizeof *f);
	diag = malloc((size_t)cols * sizeof *diag);
	perm = malloc((size_t)cols * sizeof *perm);
	order = malloc((size_t)cols * sizeof *order);
	cell_col = malloc((size_t)cols * sizeof *cell_col);
	dor = malloc((size_t)cols * sizeof *dor);
	if (f == NULL || diag == NULL || perm == NULL || order == NULL || cell_col == NULL || dor == NULL) {
		qerr_set(e, "out of memory for a %lld x %lld Hessian", (long long)cols, (long long)cols);
		goto out;
	}

	/* 1. diag(H), dead inputs, the order */
	for (int64_t c = 0; c < cols; c++) {
		double v = 0;

		for (int64_t t = 0; t < n; t++)
			v += (double)x[t * cols + c] * (double)x[t * cols + c];
		diag[c] = v * 2.0 / (double)n;
		if (diag[c] == 0) {		/* a dead input: its weights do not matter */
			diag[c] = 1;
			for (int64_t r = 0; r < rows; r++)
				w[r * cols + c] = 0;
		}
		mean += diag[c];
		dor[c].d = diag[c];
		dor[c].col = c;
	}
	mean /= (double)cols;
	if (o->act_order)
		qsort(dor, (size_t)cols, sizeof *dor, by_decreasing_diag);
	for (int64_t p = 0; p < cols; p++) {
		perm[p] = dor[p].col;
		order[cols - 1 - p] = perm[p];
	}

	/* 1-2. F, then U in its place */
	if (o->reference)
		hessian_ref(x, n, cols, order, f);
	else if (hessian_fast(x, n, cols, order, f, jobs) < 0) {
		qerr_set(e, "out of memory for the captured inputs");
		goto out;
	}
	for (int64_t a = 0; a < cols; a++) {
		double *d = &f[a * cols + a];

		for (int64_t b = 0; b < cols; b++)
			f[a * cols + b] = f[a * cols + b] * 2.0 / (double)n;
		if (*d == 0)
			*d = 1;
		*d += o->damp * mean;
	}
	if ((rc = o->reference ? factor_ref(f, cols) : factor_fast(f, cols, jobs)) < 0) {
		if (rc == -2)
			qerr_set(e, "out of memory for a %lld x %lld Hessian", (long long)cols, (long long)cols);
		else
			qerr_set(e, "gptq: the Hessian is not positive definite; raise the damping");
		rc = -1;
		goto out;
	}
	rc = -1;

	/* scales chosen before the columns: tensor, channel, static groups */
	if (!dynamic) {
		size_t nc = (size_t)linq_ncells(g);

		if (calib_choose(s, g, w, co, scale, zp, jobs, e) < 0 ||
		    (lo && ql_round_scales(ql_scale_dtype(lo, s), scale, nc, e) < 0))
			goto out;
		if (lo)
			ql_fix_zero_points(lo, s, s->sym ? NULL : zp, nc);
	}
	for (int64_t p = 0; p < cols; p++)
		cell_col[p] = grouped ? (dynamic ? p : perm[p]) / g->bc : 0;
	if (grouped && g_idx)
		for (int64_t p = 0; p < cols; p++)
			g_idx[perm[p]] = (int32_t)cell_col[p];

	/* 3. the columns */
	{
		struct main_ctx mc = { s, g, co, lo, f, perm, cell_col, w, scale, zp, q, GPTQ_BLOCK,
			dynamic, o->reference, msub_pick(), MAIN_ROWS, NULL, NULL };

		if (dynamic)	/* whole groups in a batch */
			mc.bw = g->bc <= GPTQ_BLOCK ? GPTQ_BLOCK / g->bc * g->bc : g->bc;
		if (o->reference)
			mc.chunk_rows = rows;
		nchunks = (rows + mc.chunk_rows - 1) / mc.chunk_rows;
		status = calloc((size_t)nchunks, sizeof *status);
		errs = calloc((size_t)nchunks, sizeof *errs);
		if (status == NULL || errs == NULL) {
			qerr_set(e, "out of memory");
			goto out;
		}
		mc.status = status;
		mc.errs = errs;
		qpool_for(o->reference ? 1 : jobs, (size_t)nchunks, 1, main_body, &mc);
		for (int64_t k = 0; k < nchunks; k++)
			if (status[k] < 0) {
				*e = errs[k];
				goto out;
			}
	}
	rc = 0;
out:
	free(f), free(diag), free(perm), free(order), free(cell_col), free(dor), free(status), free(errs);
	return rc;
}

int
gptq_quantize(const struct qscheme *s, const struct qgrid *g, float *w, const float *x,
    int64_t n, double damp, const struct calib_opts *co, const struct ql_opts *lo,
    float *scale, int32_t *zp, int32_t *q, int jobs, struct qerr *e)
{
	struct gptq_opts o;

	gptq_defaults(&o);
	o.damp = damp;
	o.jobs = jobs;
	return gptq_run(s, g, w, x, n, &o, co, lo, scale, zp, q, NULL, e);
}

int
gptq_gidx_is_trivial(const int32_t *g_idx, int64_t cols, int64_t group)
{
	for (int64_t c = 0; g_idx && c < cols; c++)
		if (g_idx[c] != c / group)
			return 0;
	return 1;
}

void
gptq_dequantize(const struct qscheme *s, const struct qgrid *g, const int32_t *q,
    const float *scale, const int32_t *zp, const int32_t *g_idx, float *x)
{
	int32_t zsym = linq_sym_zero(s->fmt);

	for (int64_t r = 0; r < g->rows; r++)
		for (int64_t c = 0; c < g->cols; c++) {
			int64_t cell = r / g->br * g->gcols + (g_idx ? g_idx[c] : c / g->bc);

			x[r * g->cols + c] = linq_dequant1(s->fmt, q[r * g->cols + c], scale[cell],
			    zp ? zp[cell] : zsym);
		}
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
