/* qparams: the file qcalib writes and qpack, st2gguf, qdq-insert and
 * nnef-quant read (man/qparams.5).  It is a safetensors file:
 *
 *   W.scale        F32  [] | [rows] | [cols] | [rows, cols/g] | [rows/b0, cols/b1]
 *   W.zero_point   I32  same shape as W.scale; absent when symmetric
 *   W.smooth       F32  [cols]: optional input-channel factor s (W·diag(s), x/s)
 *   A.range        F32  [2] or [C, 2]: calibrated min and max of activation A
 *
 * __metadata__: "format": "qparams", "version": "1", and for every W a key
 * W whose value is a JSON object (as a string) with the scheme:
 *   {"format": "int4", "granularity": "group", "group_size": 32,
 *    "symmetric": true, "shape": [4096, 4096], "method": "mse",
 *    "sqnr_db": 24.1, "rmse": 0.0012, "max_error": 0.009}
 * granularity "channel" has "axis" (0 or 1), "block" has "block": [b0, b1].
 * A mixed-precision plan (qcalib --bits-budget) adds "plan": a JSON object
 * with the budget, the bits reached and the tensors left in float.
 * AWQ and SmoothQuant add "alpha", "output_sqnr_db" and
 * "baseline_output_sqnr_db" (round-to-nearest, or W8A8 without smoothing).
 * "shape" is W's shape in its checkpoint (any rank; the matrix view is
 * [prod(shape[:-1]), shape[-1]]).  Method and error figures are optional.
 *
 * The reader validates everything before it returns: metadata present and
 * "format" right, each scheme's JSON and keys, scale/zero point dtypes and
 * shapes against the scheme and W's shape, scales finite and > 0, zero
 * points within the format's range, no tensor without a scheme. */
#ifndef QPARAMS_H
#define QPARAMS_H

#include <stdint.h>
#include <stdio.h>

#include "linq.h"
#include "qerr.h"

#define QP_VERSION "1"
#define QP_MAX_DIMS 8

struct qp_entry {
	char *name;			/* W */
	struct qscheme s;
	int ndim;
	uint64_t shape[QP_MAX_DIMS];	/* W's shape */
	struct qgrid g;			/* over the matrix view of W */
	float *scale;			/* linq_ncells(&g) */
	int32_t *zp;			/* NULL when symmetric */
	float *smooth;			/* NULL, or g.cols factors */
	char method[32];		/* "" if unknown */
	double sqnr_db, rmse, max_error;	/* NAN if unknown */
	/* activation-aware methods (NAN if unknown): the chosen alpha, the
	 * layer output SQNR on the calibration inputs and the baseline's */
	double alpha, output_sqnr_db, baseline_output_sqnr_db;
};

struct qp_range {
	char *name;			/* A */
	uint64_t channels;		/* 0: one [2] range; else [C, 2] */
	float *minmax;			/* 2 or 2*C values */
};

struct qparams {
	char *plan;			/* metadata "plan" (a JSON object), or NULL */
	struct qp_entry *w;
	size_t n_w;
	struct qp_range *a;
	size_t n_a;
};

/* Reads and validates a qparams file (path, or bytes already in memory). */
int qparams_load(struct qparams *qp, const char *path, struct qerr *e);
int qparams_parse(struct qparams *qp, const unsigned char *buf, size_t len,
    const char *name, struct qerr *e);
void qparams_free(struct qparams *qp);

const struct qp_entry *qparams_find(const struct qparams *qp, const char *name);

/* Adds an entry for W of the given shape with scheme s; allocates scale
 * (and zp when !s->sym) for the caller to fill.  NULL with a message when
 * the scheme does not fit the shape. */
struct qp_entry *qparams_add(struct qparams *qp, const char *name, const struct qscheme *s,
    int ndim, const uint64_t *shape, struct qerr *e);

/* Writes the file (reference tensor order). */
int qparams_write(const struct qparams *qp, FILE *out, struct qerr *e);

/* The scheme as the JSON object of the metadata (caller frees). */
char *qparams_scheme_json(const struct qp_entry *w);

/* Matrix view of a shape: rows = product of all but the last, cols = last. */
int qparams_matrix(int ndim, const uint64_t *shape, int64_t *rows, int64_t *cols,
    struct qerr *e);

#endif
