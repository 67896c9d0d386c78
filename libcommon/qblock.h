/* qblock: the block formats of a qparams file, beside linq's linear ones.
 *
 * Each has a fixed group of consecutive elements along a row, one scale per
 * group, and its own code rule (man/qparams.5):
 *
 *   nvfp4  group 16, E2M1 codes; the group scale is an E4M3 value and the
 *          tensor has one F32 global scale that DIVIDES it (compressed-
 *          tensors' convention): x' = e2m1(q) * (scale / global)
 *   mxfp4  group 32, E2M1 codes; the scale is a power of two (E8M0)
 *   q4_0, q5_0, q8_0, q4_1, q5_1
 *          ggml's blocks of 32: the scale is ggml's d in binary32 (the file
 *          holds it rounded to f16); codes follow ggml's reference
 *          quantizers (1/d in binary32, +8.5 and truncation for q4_0, ...)
 *          and x' = (q - z) * f16(d), or q * f16(d) + f16(m) with a
 *          per-group minimum m for q4_1 and q5_1
 *
 * E2M1 rounding is to nearest even and saturates at 6, as compressed-
 * tensors' and torch's casts do.  minmax is each format's reference rule
 * (compressed-tensors' for nvfp4, OCP MX's floor(log2 amax) - 2 for
 * mxfp4, ggml's for the rest); mse searches around it and keeps the
 * minmax choice unless a candidate has less squared error. */
#ifndef QBLOCK_H
#define QBLOCK_H

#include <stdint.h>

#include "calib.h"
#include "linq.h"
#include "qerr.h"
#include "qparams.h"

struct qblock_info {
	enum qfmt fmt;
	const char *name;	/* as qparams spells it: "nvfp4", "q4_0" */
	int group;		/* elements per scale */
	int code_bits;		/* 4, 5 or 8 */
	int scale_bits;		/* bits a loader stores per group: 8 (E4M3, E8M0) or 16 (f16 d) */
	int has_min;		/* q4_1, q5_1: a per-group minimum */
	int has_global;		/* nvfp4: a per-tensor global scale */
};

/* NULL when f is not a block format. */
const struct qblock_info *qblock_info(enum qfmt f);
/* A block format by name (case-insensitive), or -1. */
int qblock_from_name(const char *name);
/* Either kind, for -f and --formats: linq's names, then the block formats. */
int qscheme_fmt_from_name(const char *name);
/* The name a qparams file uses for any format. */
const char *qscheme_fmt_name(enum qfmt f);

/* Whether a stored scale (or minimum, or global scale) is one the format
 * can hold; 0 with a reason in *why when not. */
int qblock_scale_ok(enum qfmt f, float scale, const char **why);
int qblock_min_ok(float m);

/* One element: its code (E2M1 nibble, the ggml block's unsigned code, or
 * q8_0's signed code) and value.  global is nvfp4's, min q4_1/q5_1's. */
int32_t qblock_code(enum qfmt f, float x, float scale, float min, float global);
float qblock_value(enum qfmt f, int32_t q, float scale, float min, float global);

/* One ggml block (q4_0, q4_1, q5_0, q5_1, q8_0; spec/gguf.md §4) of 32
 * values from a given d (and m): f16(d) [f16(m)] [qh] codes.  With ggml's
 * own d and m the bytes are its reference quantizer's. */
void qblock_pack_ggml(enum qfmt f, const float *x, float d, float m, unsigned char *out);
/* The same block from its codes as it stores them (nibbles 0..15, 5-bit
 * 0..31, Q8_0's -128..127, MXFP4's E2M1 indexes) and d, m as f16 bits
 * (MXFP4: d is the E8M0 byte; m unused but for q4_1 and q5_1). */
void qblock_pack_codes(enum qfmt f, uint16_t d, uint16_t m, const int32_t *codes,
    unsigned char *out);

/* E2M1 code of a finite r by its rounding boundaries: qu_f32_to_e2m1's
 * result, faster. */
uint8_t qblock_e2m1(float r);

/* Bits per weight of a scheme over a grid: codes plus what a loader stores
 * per cell (a 16-bit scale for linq's formats, plus a zero point when
 * asymmetric; the block format's own scale and minimum). */
double qscheme_bits(const struct qscheme *s, const struct qgrid *g);

/* Entry-level calibration for any format of a qparams entry: scales (and
 * zero points, minimums, global scale) for w from the row-major matrix x.
 * Non-finite weights, and ggml scales that overflow f16, are refused. */
int qparams_choose(struct qp_entry *w, const float *x, const struct calib_opts *o, int jobs,
    struct qerr *e);
/* x -> codes -> values with w's parameters (out may equal x). */
void qparams_fakequant(const struct qp_entry *w, const float *x, float *out, int jobs);
/* The codes alone (int32 per element). */
void qparams_codes(const struct qp_entry *w, const float *x, int32_t *q, int jobs);

#endif
