/* calib: choosing scales and zero points for a linear scheme, and measuring
 * the error they give.
 *
 * Methods, applied to each cell of the scheme's grid independently:
 *   minmax      symmetric: scale = max|x| / qmax (127, 7; 448 or 57344 for
 *               FP8), so nothing clips; asymmetric: the range [min(x,0),
 *               max(x,0)] mapped onto [qmin, qmax], zero point rounded.
 *   mse         the minmax range shrunk by factors from 1 down to shrink_min
 *               (grid steps, denser near 1; both ends by the same factor),
 *               keeping the factor with the least squared error of the
 *               fake-quantized cell (torch_to_nnef's idea).  Factor
 *               1 is a candidate, so a cell's error is never above minmax's.
 *   percentile  the range clipped at the p-th percentile of |x| (symmetric)
 *               or at the (100-p)-th and p-th percentiles of x.
 * A cell of zeros gets scale 1.  Non-finite weights are refused. */
#ifndef CALIB_H
#define CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "linq.h"
#include "qerr.h"

enum calib_method { CALIB_MINMAX, CALIB_MSE, CALIB_PERCENTILE, CALIB_COUNT };

extern const char *const calib_method_names[CALIB_COUNT];
int calib_method_from_name(const char *name);	/* -1 if unknown */

struct calib_opts {
	enum calib_method method;
	double percentile;	/* percentile: 0 < p <= 100 (default 99.9) */
	int grid;		/* mse: candidates (default 100) */
	double shrink_min;	/* mse: smallest factor (default 0.2) */
};

void calib_defaults(struct calib_opts *o);

/* Scales (and zero points when !s->sym; zp may then not be NULL) for every
 * cell of g over the row-major matrix x, cells spread over jobs threads. */
int calib_choose(const struct qscheme *s, const struct qgrid *g, const float *x,
    const struct calib_opts *o, float *scale, int32_t *zp, int jobs, struct qerr *e);

/* The scale and zero point that map [lo, hi] (lo <= 0 <= hi for
 * asymmetric; symmetric uses max(|lo|, |hi|)) onto the format's range. */
void calib_from_range(enum qfmt f, int sym, float lo, float hi, float *scale, int32_t *zp);

/* Activation ranges for static quantization, over all n values of a
 * captured activation:
 *   minmax      [min, max]
 *   percentile  [(100-p)-th, p-th] percentiles
 *   mse         the range whose f-quantization (uint8 asymmetric or int8
 *               symmetric) has the least squared error, by calib's mse search
 *   entropy     TensorRT's KL method: a 2048-bin histogram of |x|; the
 *               threshold whose 128-level quantized distribution is closest
 *               (Kullback-Leibler) to the clipped one; [-t, t], or [0, t]
 *               for non-negative activations
 * Non-finite values are refused. */
enum act_method { ACT_MINMAX, ACT_PERCENTILE, ACT_MSE, ACT_ENTROPY, ACT_COUNT };

extern const char *const act_method_names[ACT_COUNT];
int act_method_from_name(const char *name);	/* -1 if unknown */
int calib_act_range(const float *x, size_t n, enum act_method m, enum qfmt f, double pct,
    float range[2], struct qerr *e);

/* Error of an approximation xq of x. */
struct calib_err {
	double sum_x2, sum_e2, max_abs;
	uint64_t n;
};
void calib_measure(const float *x, const float *xq, size_t n, struct calib_err *r);
void calib_err_add(struct calib_err *to, const struct calib_err *from);
double calib_sqnr_db(const struct calib_err *r);	/* +inf when exact */
double calib_rmse(const struct calib_err *r);

#endif
