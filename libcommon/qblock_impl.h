/* qblock_impl: the vector kernels of qblock's mse search (qblock_x86.c),
 * and the hook the tests use to run every level against the reference.
 *
 * The reference search (qblock.c, group_sse) tries the candidate scales of
 * a group one after the other, summing each candidate's squared errors in
 * double in element order and stopping early once the sum passes the best
 * so far.  A kernel here evaluates up to QBLOCK_LANES candidates at once,
 * one candidate per vector lane: every lane computes the same binary32 code
 * and value as the reference and adds its own elements' squared errors in
 * element order, so each candidate's sum is bit for bit the reference's
 * full sum.  The reference keeps a candidate when its sum is below the
 * best so far; its early exit only ever stops a sum that has already passed
 * that best (partial sums of non-negative terms never decrease), so
 * scanning the full sums in candidate order picks the same scale. */
#ifndef QBLOCK_IMPL_H
#define QBLOCK_IMPL_H

#include "cpu.h"
#include "qblock.h"

#define QBLOCK_LANES 64	/* candidates per kernel call, at most */

/* sse[k] = sum over i < n, in order, of ((double)x[i] - x'[i])^2 where x'
 * is x[i] quantized and dequantized under (scale[k], min[k]) (nvfp4: the
 * group scale scale[k] over global), for k < nc <= QBLOCK_LANES; f one of
 * the block formats.  Lanes run in passes of 8 or 16 candidates; a pass
 * may stop once all its sums are above limit, and then leaves the partial
 * sums (each above limit).  limit INFINITY: every sum whole. */
typedef void (*qblock_sse_fn)(enum qfmt f, const float *x, int n, const float *scale,
    const float *min, float global, double limit, int nc, double *sse);

#if QU_X86_KERNELS
void qblock_sse_avx2(enum qfmt f, const float *x, int n, const float *scale, const float *min,
    float global, double limit, int nc, double *sse);
void qblock_sse_avx512(enum qfmt f, const float *x, int n, const float *scale, const float *min,
    float global, double limit, int nc, double *sse);
#endif

/* qparams_choose with the mse search at a given level: QCPU_SCALAR is the
 * sequential reference (group_sse), higher levels the kernels above (a
 * level the machine lacks must not be asked for).  qparams_choose uses
 * qcpu_level(), or the reference when QUTILS_QBLOCK_REF=1 is set. */
int qblock_choose_at(struct qp_entry *w, const float *x, const struct calib_opts *o, int jobs,
    enum qcpu_level level, struct qerr *e);

#endif
