/* gptq: GPTQ (Frantar et al., 2022) for one Linear weight, given samples of
 * its inputs.
 *
 * W [rows = out, cols = in] is quantized one input column at a time; each
 * column's rounding error, divided by the diagonal of the upper Cholesky
 * factor U of H^-1, is spread over the columns not yet quantized through U's
 * row, where H = 2/n X^T X + damp * mean(diag) * I is the Hessian of the
 * layer's squared output error.  Columns whose inputs were always zero get
 * weight 0.  Scales of a group are chosen (with calib's method) from the
 * updated weights when the group's first column is reached, per channel
 * and per tensor from the original weights.  Codes follow linq's rounding.
 * Cost: O(cols^3 + rows * cols^2) in double; this is the plain
 * (unblocked) algorithm. */
#ifndef GPTQ_H
#define GPTQ_H

#include <stdint.h>

#include "calib.h"
#include "layout.h"
#include "linq.h"
#include "qerr.h"

/* w is updated in place (the compensated weights); x is [n, cols]. Fills
 * scale (ncells), zp (ncells, when asymmetric) and q (rows * cols).
 * Granularity must be tensor, channel (axis 0) or group.  Scales are rounded
 * (and zero points moved) as layout lo stores them before they are used, so
 * the packed checkpoint dequantizes to exactly what GPTQ chose; lo may be
 * NULL. */
int gptq_quantize(const struct qscheme *s, const struct qgrid *g, float *w, const float *x,
    int64_t n, double damp, const struct calib_opts *co, const struct ql_opts *lo,
    float *scale, int32_t *zp, int32_t *q, int jobs, struct qerr *e);

/* The layer's output error sum over samples of |x W^T - x Wq^T|^2. */
double gptq_output_sse(const float *w, const float *wq, int64_t rows, int64_t cols,
    const float *x, int64_t n);

#endif
