/* qparams: the file qcalib writes and qpack, st2gguf, qdq-insert and
 * nnef-quant read (man/qparams.5).  It is a safetensors file:
 *
 *   W.scale        F32  [] | [rows] | [cols] | [rows, cols/g] | [rows/b0, cols/b1]
 *   W.zero_point   I32  same shape as W.scale; absent when symmetric
 *   W.smooth       F32  [cols]: optional input-channel factor s (W·diag(s), x/s)
 *   W.min          F32  [rows, cols/32]: q4_1 and q5_1's per-group minimum
 *   W.global_scale F32  []: nvfp4's per-tensor global scale (divides W.scale)
 *   A.range        F32  [2] or [C, 2]: calibrated min and max of activation A
 *   W.g_idx        I32  [cols]: the group (scale column) of each input column,
 *                  when GPTQ's act-order made the groups follow its order
 *   W.codes        I8 (int8, int4) or U8 (uint8, uint4, fp8) [rows, cols]:
 *                  the codes a method chose (GPTQ); readers that pack use them
 *                  instead of rounding W with the scales
 *
 * __metadata__: "format": "qparams", "version": "1", and for every W a key
 * W whose value is a JSON object (as a string) with the scheme:
 *   {"format": "int4", "granularity": "group", "group_size": 32,
 *    "symmetric": true, "shape": [4096, 4096], "method": "mse",
 *    "sqnr_db": 24.1, "rmse": 0.0012, "max_error": 0.009}
 * granularity "channel" has "axis" (0 or 1), "block" has "block": [b0, b1].
 * "act_order": "group" (W.g_idx present) or "static" (groups contiguous)
 * says GPTQ ran in activation order; only with granularity "group".
 * The block formats (qblock.h: nvfp4, mxfp4, q4_0, q4_1, q5_0, q5_1, q8_0)
 * are "group" with their own group size, symmetric except q4_1 and q5_1,
 * which have W.min instead of a zero point; their scales must be values
 * the format holds (E4M3, a power of two, finite in f16).
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
 * points within the format's range, no tensor without a scheme, g_idx a
 * regrouping of the columns (each group as many columns as the contiguous
 * grouping gives it), codes within the format's range. */
#ifndef QPARAMS_H
#define QPARAMS_H

#include <stdint.h>
#include <stdio.h>

#include "dtype.h"
#include "linq.h"
#include "qerr.h"

#define QP_VERSION "1"
#define QP_MAX_DIMS 8

/* GPTQ's column order (the numbers of layout.h's enum ql_act_order). */
enum qp_act_order { QP_ACT_NONE, QP_ACT_GROUP, QP_ACT_STATIC };

struct qp_entry {
	char *name;			/* W */
	struct qscheme s;
	int ndim;
	uint64_t shape[QP_MAX_DIMS];	/* W's shape */
	struct qgrid g;			/* over the matrix view of W */
	float *scale;			/* linq_ncells(&g) */
	int32_t *zp;			/* NULL when symmetric (and for block formats) */
	float *min;			/* q4_1, q5_1: a minimum per cell; else NULL */
	float global_scale;		/* nvfp4: the tensor's global scale (a divisor); else 0 */
	float *smooth;			/* NULL, or g.cols factors */
	enum qp_act_order act_order;
	int32_t *g_idx;			/* NULL, or g.cols group indices (malloc'ed) */
	const unsigned char *codes;	/* NULL, or rows * cols codes of codes_dtype, not
					 * owned: into the file read, or the writer's memory */
	enum qdtype codes_dtype;	/* QD_I8 or QD_U8 (qparams_codes_dtype) */
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
	void *file;			/* the file read, kept open for codes */
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

/* The dtype W.codes has for a format: I8 for signed integers, else U8. */
enum qdtype qparams_codes_dtype(enum qfmt f);
/* Code i (row-major over the matrix view) of an entry with codes. */
int32_t qparams_code(const struct qp_entry *w, int64_t i);

/* Writes the file (reference tensor order). */
int qparams_write(const struct qparams *qp, FILE *out, struct qerr *e);

/* The scheme as the JSON object of the metadata (caller frees). */
char *qparams_scheme_json(const struct qp_entry *w);

/* Matrix view of a shape: rows = product of all but the last, cols = last. */
int qparams_matrix(int ndim, const uint64_t *shape, int64_t *rows, int64_t *cols,
    struct qerr *e);

#endif
