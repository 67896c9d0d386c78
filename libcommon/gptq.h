/* gptq: GPTQ (Frantar et al., 2022) for one Linear weight, given samples of
 * its inputs.
 *
 * W [rows = out, cols = in] is quantized one input column at a time; each
 * column's rounding error, divided by the diagonal of the upper Cholesky
 * factor U of H^-1, is spread over the columns not yet quantized through U's
 * row, where H = 2/n X^T X + damp * mean(diag) * I is the Hessian of the
 * layer's squared output error.  Columns whose inputs were always zero get
 * weight 0.
 *
 * Order: by column, or with act_order (AutoGPTQ's desc_act) by decreasing
 * diag(H), ties by column.  Scales per tensor and per channel are chosen
 * (with calib's method) from the original weights; per group, from the
 * weights as updated when the group's first column is reached, a group being
 * g consecutive columns in processing order, so with act_order the group of
 * input column c is g_idx[c] = (position of c) / g; with static_groups, from
 * the original weights in column order (g_idx[c] = c / g).  Codes follow
 * linq's rounding.
 *
 * The algorithm (the specification; gptq_run's reference path is it):
 *   1. H[i][j] = (sum over t in order of x[t][i] * x[t][j], in double) * 2 / n;
 *      dead inputs (H[c][c] = 0) get H[c][c] = 1 and weight 0; every
 *      diagonal element gets + damp * mean, the mean summed in column order.
 *   2. F = H in processing order, flipped (F[a][b] = Hp[n-1-a][n-1-b]);
 *      F = V^T V (upper Cholesky, each element's products subtracted in
 *      order of k); X = V^-1 (row by row from the bottom, each element's
 *      products subtracted from zero in decreasing k); then U[a][b] =
 *      X[n-1-b][n-1-a] is the upper factor of Hp^-1 (Hp^-1 = U^T U).
 *   3. Lazy batches of B columns (128, rounded to whole groups): inside a
 *      batch a row's values are doubles; column p is quantized from
 *      (float) w[p], err = (w[p] - dequant) / U[p][p], and w[j] -= err *
 *      U[p][j] for the rest of the batch; after the batch each later column
 *      gets, in double from its float value, the batch's err * U products
 *      subtracted in order, and is rounded back to float.
 * Rows are independent after step 2: they are spread over threads.  The
 * fast path (tiled, vectorized across independent elements, threaded) does
 * every element's operations in the same order as the reference, so the two
 * give the same bits (tests/unit/test_gptq.c).
 * Cost: O(n cols^2 + cols^3 / 2 + rows cols^2 / 2) multiply-adds in double;
 * memory cols^2 doubles plus the weight. */
#ifndef GPTQ_H
#define GPTQ_H

#include <stdint.h>

#include "calib.h"
#include "layout.h"
#include "linq.h"
#include "qerr.h"

#define GPTQ_BLOCK 128

struct gptq_opts {
	double damp;		/* fraction of the mean diagonal added to it (0.01) */
	int act_order;		/* columns by decreasing Hessian diagonal */
	int static_groups;	/* group scales from the original weights, by column */
	int jobs;		/* threads */
	int reference;		/* 1: the plain scalar path (tests) */
};

void gptq_defaults(struct gptq_opts *o);

/* w is updated in place (the compensated weights); x is [n, cols].  Fills
 * scale (ncells), zp (ncells, when asymmetric), q (rows * cols, in column
 * order) and, for per-group schemes, g_idx (cols; may be NULL unless
 * act_order without static_groups makes it non-trivial).  Granularity must
 * be tensor, channel (axis 0) or group.  Scales are rounded (and zero points
 * moved) as layout lo stores them before they are used, so the packed
 * checkpoint dequantizes to exactly what GPTQ chose; lo may be NULL. */
int gptq_run(const struct qscheme *s, const struct qgrid *g, float *w, const float *x,
    int64_t n, const struct gptq_opts *o, const struct calib_opts *co,
    const struct ql_opts *lo, float *scale, int32_t *zp, int32_t *q, int32_t *g_idx,
    struct qerr *e);

/* The same without act-order (column order, g_idx = c / g). */
int gptq_quantize(const struct qscheme *s, const struct qgrid *g, float *w, const float *x,
    int64_t n, double damp, const struct calib_opts *co, const struct ql_opts *lo,
    float *scale, int32_t *zp, int32_t *q, int jobs, struct qerr *e);

/* 1 when g_idx[c] == c / group for every column (storable without g_idx). */
int gptq_gidx_is_trivial(const int32_t *g_idx, int64_t cols, int64_t group);

/* Dequantization through g_idx: x[r][c] from cell (r, g_idx[c]) of a
 * per-group grid (g_idx NULL: c / group, linq_dequantize's result). */
void gptq_dequantize(const struct qscheme *s, const struct qgrid *g, const int32_t *q,
    const float *scale, const int32_t *zp, const int32_t *g_idx, float *x);

/* The layer's output error sum over samples of |x W^T - x Wq^T|^2. */
double gptq_output_sse(const float *w, const float *wq, int64_t rows, int64_t cols,
    const float *x, int64_t n);

#endif
