/* importance: per-input-channel importance of a weight's columns, for
 * activation-weighted error (qcalib --bits-budget with --captures or
 * --imatrix).
 *
 * A Linear weight W [rows, cols] multiplies inputs x [n, cols]; the error
 * its quantization adds to the output is, summed over samples,
 * sum_j E[x_j^2] * sum_i (W_ij - W'_ij)^2 when the input channels are
 * uncorrelated, so importance_j = the mean square of input channel j:
 *   captures   the tensor "W.input" F32/F16/BF16 [n, cols]: mean of x_j^2
 *   imatrix    llama.cpp's entry for W (its GGUF name when the checkpoint's
 *              architecture maps it; exact name otherwise): already the
 *              mean square; the experts of a 3-D weight are averaged when
 *              their vectors are cols long each. */
#ifndef IMPORTANCE_H
#define IMPORTANCE_H

#include <stdint.h>

#include "arch.h"
#include "imatrix.h"
#include "qerr.h"
#include "safetensors.h"

struct importance_src {
	const struct st_file *captures;		/* or NULL */
	const struct imatrix *imatrix;		/* or NULL */
	const struct arch_def *arch;		/* HF -> GGUF names for the imatrix, or NULL */
};

/* Fills imp[cols]; 1 when found, 0 when the source has nothing for name,
 * -1 with a message when it has something unusable (wrong length,
 * non-finite or negative values). */
int importance_for(const struct importance_src *s, const char *name, int64_t cols, float *imp,
    struct qerr *e);

/* sum over i, j of imp[j] * (x - xq)^2 over a row-major [rows, cols]
 * matrix; imp NULL gives the plain squared error. */
double importance_sse(const float *x, const float *xq, int64_t rows, int64_t cols,
    const float *imp);
/* The same weighting of x itself (the signal of a weighted SQNR). */
double importance_energy(const float *x, int64_t rows, int64_t cols, const float *imp);

#endif
