/* awq: activation-aware input-channel smoothing for weight quantization.
 *
 * AWQ (Lin et al., 2023; AutoAWQ's search).  For the weights that read one
 * input (q/k/v, gate/up: smooth.h's rules), with x̄_j = mean |x_j| over the
 * captured rows:
 *   for alpha = 0, 1/grid, ..., (grid-1)/grid:
 *     s = max(x̄^alpha, 1e-4)  (duo: x̄^alpha / (w̄^(1-alpha) + 1e-4), w̄_j
 *         the mean over rows of |w_rj| / max|w| of its group), then
 *     s /= sqrt(max(s) * min(s)), non-finite factors set to 1;
 *     loss = sum over the weights of |X W^T - (X/s) Q(W diag(s))^T|^2
 *   keep the s of the least loss.  Q is min-max quantization in the asked
 *   scheme; alpha = 0 gives s = 1, plain round-to-nearest, so the chosen s
 *   is never worse than RTN on the captured rows.
 * Then the clipping search, per cell of a row (a group or the row): the
 * cell's range shrunk to f * max|w|, f = 1, 1 - 1/cgrid, ... (max_shrink *
 * cgrid steps), keeping the f whose scale gives the least output error of
 * the cell's dot products over (at most clip_tokens of) the rows.  The
 * error is measured as the consumer will quantize: the unclipped weight
 * with the clipped range's scale (codes clamp).  AutoAWQ skips q and k.
 *
 * Without samples (an llama.cpp importance matrix), x̄ = sqrt(mean x^2)
 * and every output error is sum_rj mean(x_j^2) D_rj^2: the covariance of
 * the inputs taken as diagonal.
 *
 * SmoothQuant (Xiao et al., 2022): s_j = max|X_j|^alpha / max|W_j|^(1-alpha)
 * (max over the rows of all weights sharing the input; both clamped to
 * >= 1e-5), for the norm-fed weights only; weight scales by calib's method
 * on W diag(s); W8A8 error with per-tensor static int8 activations.
 *
 * awq_run drives either over a checkpoint and fills a qparams: W.smooth,
 * W.scale (+ W.zero_point), method and error figures, and for SmoothQuant
 * optionally the ranges of x / s.  Weights are loaded one sharing group at
 * a time; captures are read where they are mapped. */
#ifndef AWQ_H
#define AWQ_H

#include <stdint.h>

#include "calib.h"
#include "ckpt.h"
#include "imatrix.h"
#include "linq.h"
#include "qerr.h"
#include "qparams.h"
#include "safetensors.h"
#include "wsel.h"

/* What is known of a weight's inputs: samples, mean squares, or nothing
 * (every channel weighs 1). */
struct awq_input {
	const float *x;		/* [n, cols], or NULL */
	int64_t n;
	const float *msq;	/* [cols] mean of x^2, when x is NULL; or NULL */
	int64_t cols;
	const double *absmean;	/* [cols] mean |x| over all the captured rows
				 * (x may be a subsample); NULL: from x */
};

struct awq_opts {
	int grid;		/* alphas (20) */
	int duo;		/* AutoAWQ's duo scaling (0: the paper's x̄^alpha) */
	int clip;		/* clipping search (1) */
	int clip_grid;		/* 20 */
	double max_shrink;	/* 0.5: f down to 1 - max_shrink + 1/clip_grid */
	int64_t clip_tokens;	/* 512 */
	int64_t tokens;		/* rows used by the scale search (1024; 0: all) */
};

void awq_defaults(struct awq_opts *o);

/* x . y in eight float lanes (a fixed order, so the same on every build
 * and thread count; the compiler can vectorize it), summed in double. */
static inline double
awq_dot(const float *x, const float *y, int64_t n)
{
	float acc[8] = { 0 };
	double s = 0;
	int64_t j = 0;

	for (; j + 8 <= n; j += 8)
		for (int k = 0; k < 8; k++)
			acc[k] += x[j + k] * y[j + k];
	for (; j < n; j++)
		s += (double)x[j] * y[j];
	for (int k = 0; k < 8; k++)
		s += acc[k];
	return s;
}

/* Sum of squared output errors of D (rows x cols): samples: sum_i |x_i D^T|^2,
 * else sum_rj msq_j D_rj^2 (msq NULL: 1). */
double awq_out_sse(const struct awq_input *in, const float *d, int64_t rows, int64_t cols,
    int jobs);

/* The AWQ search for k weights w[m] (rows[m] x cols) sharing input in.
 * Fills smooth [cols], the chosen alpha and its loss, and the loss of
 * alpha = 0 (RTN). */
int awq_search(const struct qscheme *s, const float *const *w, const int64_t *rows, int k,
    const struct awq_input *in, const struct awq_opts *o, float *smooth, double *alpha,
    double *loss, double *loss_rtn, int jobs, struct qerr *e);

/* Scales (and zero points) for w (already W diag(s), rows folded) with
 * inputs in (already x / s) by the clipping search; cells that are not
 * within one row (tensor, block, channel axis 1) get min-max. */
int awq_clip(const struct qscheme *s, const struct qgrid *g, const float *w,
    const struct awq_input *in, const struct awq_opts *o, float *scale, int32_t *zp, int jobs,
    struct qerr *e);

/* SmoothQuant's factors from per-channel maxima. */
void sq_factors(const float *xmax, const float *wmax, int64_t cols, double alpha, float *s);

/* ---- over a checkpoint ---- */

enum awq_method { AWQ_AWQ, AWQ_SMOOTHQUANT };

struct awq_source {
	const struct st_file *captures;	/* W.input F32 [n, cols], or NULL */
	const struct imatrix *im;	/* or an importance matrix (GGUF names) */
};

struct awq_job {
	enum awq_method method;
	struct qscheme s;
	struct awq_opts o;
	struct calib_opts co;		/* SmoothQuant's weight scales */
	double alpha;			/* SmoothQuant's migration strength */
	int act_ranges;			/* SmoothQuant: write W.input ranges of x / s */
	enum act_method am;
	double pct;
	int jobs;
};

/* Per weight: output errors (signal and squared error sums, max error) of
 * the method and of the baseline (AWQ: round-to-nearest min-max in the same
 * scheme; SmoothQuant: W8A8 without smoothing). */
struct awq_result {
	const char *name;		/* in qp */
	struct calib_err chosen, base;
	double alpha;			/* NAN when not smoothed */
};

int awq_run(struct qparams *qp, const struct ckpt *ck, const struct wsel *sel,
    const struct awq_source *src, const struct awq_job *j, struct awq_result **res,
    size_t *nres, struct qerr *e);

#endif
