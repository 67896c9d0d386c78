#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dtype.h"
#include "qblock.h"
#include "qblock_impl.h"
#include "threads.h"

/* The block formats, as one table (sizes: spec/gguf.md §2, spec/
 * safetensors-and-hf-layouts.md §4.5, §8). */
static const struct qblock_info blocks[] = {
	{ QF_NVFP4, "nvfp4", 16, 4, 8, 0, 1 },
	{ QF_MXFP4, "mxfp4", 32, 4, 8, 0, 0 },
	{ QF_Q4_0, "q4_0", 32, 4, 16, 0, 0 },
	{ QF_Q4_1, "q4_1", 32, 4, 16, 1, 0 },
	{ QF_Q5_0, "q5_0", 32, 5, 16, 0, 0 },
	{ QF_Q5_1, "q5_1", 32, 5, 16, 1, 0 },
	{ QF_Q8_0, "q8_0", 32, 8, 16, 0, 0 },
};
#define N_BLOCKS (sizeof blocks / sizeof blocks[0])

/* E2M1 magnitudes times 2 are integers; the FP4 and FP8 extremes. */
#define FP4_MAX 6.0f
#define E4M3_MAX 448.0f

const struct qblock_info *
qblock_info(enum qfmt f)
{
	for (size_t i = 0; i < N_BLOCKS; i++)
		if (blocks[i].fmt == f)
			return &blocks[i];
	return NULL;
}

int
qblock_from_name(const char *name)
{
	for (size_t i = 0; i < N_BLOCKS; i++)
		if (strcasecmp(blocks[i].name, name) == 0)
			return (int)blocks[i].fmt;
	return -1;
}

int
qscheme_fmt_from_name(const char *name)
{
	int f = linq_fmt_from_name(name);

	return f >= 0 ? f : qblock_from_name(name);
}

const char *
qscheme_fmt_name(enum qfmt f)
{
	const struct qblock_info *b = qblock_info(f);

	return b ? b->name : qfmt_table[f].name;
}

/* ---- element rules ---- */

/* ggml's codes: its reference quantizers compute x * (1/d) in binary32
 * and truncate after adding the offset plus one half (q8_0: roundf); the
 * clamps only bite for scales other than ggml's own. */
static inline int32_t
ggml_code_id(enum qfmt f, float x, float id, float min)
{
	float v;
	int32_t hi;

	switch (f) {
	case QF_Q4_0: v = x * id + 8.5f; hi = 15; break;
	case QF_Q5_0: v = x * id + 16.5f; hi = 31; break;
	case QF_Q4_1: v = (x - min) * id + 0.5f; hi = 15; break;
	case QF_Q5_1: v = (x - min) * id + 0.5f; hi = 31; break;
	default:	/* Q8_0: roundf, without the library call: truncation plus
			 * a step when the remainder (exact below 2^23) is at least
			 * one half; from 2^23 on, and inf and NaN, v stays */
		v = x * id;
		if (fabsf(v) < 8388608.0f) {	/* no branch on the direction, random as it is */
			float t = (float)(int32_t)v;

			v = t + copysignf((float)(fabsf(v - t) >= 0.5f), v);
		}
		return v <= -128.0f ? -128 : v >= 127.0f ? 127 : (int32_t)v;
	}
	if (!(v >= 1.0f))
		return 0;
	return v >= (float)hi ? hi : (int32_t)v;
}

static int32_t
ggml_code(enum qfmt f, float x, float d, float min)
{
	return ggml_code_id(f, x, d != 0 ? 1.0f / d : 0.0f, min);
}

/* dh, mh: d and m as the file holds them (rounded to f16) */
static inline float
ggml_value_h(enum qfmt f, int32_t q, float dh, float mh)
{
	switch (f) {
	case QF_Q4_0: return (float)(q - 8) * dh;
	case QF_Q5_0: return (float)(q - 16) * dh;
	case QF_Q4_1: case QF_Q5_1: return (float)q * dh + mh;
	default: return (float)q * dh;
	}
}

static float
f16_round(float v)
{
	return qu_f16_to_f32(qu_f32_to_f16(v));
}

static float
ggml_value(enum qfmt f, int32_t q, float d, float min)
{
	return ggml_value_h(f, q, f16_round(d), f16_round(min));
}

/* E2M1 by its rounding boundaries (nearest, ties to the even code), the
 * hot path of qu_f32_to_e2m1 for finite inputs (test_qblock compares them). */
uint8_t
qblock_e2m1(float r)
{
	float a = fabsf(r);
	uint8_t c = a <= 0.25f ? 0 : a < 0.75f ? 1 : a <= 1.25f ? 2 : a < 1.75f ? 3 :
	    a <= 2.5f ? 4 : a < 3.5f ? 5 : a <= 5.0f ? 6 : 7;

	return (uint8_t)(c | (signbit(r) ? 8 : 0));
}

static const float e2m1_values[16] = { 0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2,
	-3, -4, -6 };

int32_t
qblock_code(enum qfmt f, float x, float scale, float min, float global)
{
	switch (f) {
	case QF_NVFP4: return qu_f32_to_e2m1(x / (scale / global));
	case QF_MXFP4: return qu_f32_to_e2m1(x / scale);	/* the reference; qblock_e2m1 is faster */
	default: return ggml_code(f, x, scale, min);
	}
}

float
qblock_value(enum qfmt f, int32_t q, float scale, float min, float global)
{
	switch (f) {
	case QF_NVFP4: return qu_e2m1_to_f32((uint8_t)q) * (scale / global);
	case QF_MXFP4: return qu_e2m1_to_f32((uint8_t)q) * scale;
	default: return ggml_value(f, q, scale, min);
	}
}

void
qblock_pack_ggml(enum qfmt f, const float *x, float d, float m, unsigned char *out)
{
	int32_t c[32];

	for (int i = 0; i < 32; i++)
		c[i] = ggml_code(f, x[i], d, m);
	qblock_pack_codes(f, qu_f32_to_f16(d), qu_f32_to_f16(m), c, out);
}

void
qblock_pack_codes(enum qfmt f, uint16_t d, uint16_t m, const int32_t *c, unsigned char *out)
{
	uint32_t qh = 0;
	int has_min = f == QF_Q4_1 || f == QF_Q5_1, five = f == QF_Q5_0 || f == QF_Q5_1;

	if (f == QF_MXFP4) {
		*out++ = (unsigned char)d;
	} else {
		*out++ = (unsigned char)(d & 0xff), *out++ = (unsigned char)(d >> 8);
	}
	if (has_min)
		*out++ = (unsigned char)(m & 0xff), *out++ = (unsigned char)(m >> 8);
	if (f == QF_Q8_0) {
		for (int i = 0; i < 32; i++)
			out[i] = (unsigned char)(int8_t)c[i];
		return;
	}
	if (five) {	/* bit 4 of element j at bit j of a little-endian u32 */
		for (int i = 0; i < 32; i++)
			qh |= (uint32_t)((c[i] >> 4) & 1) << i;
		for (int i = 0; i < 4; i++)
			*out++ = (unsigned char)(qh >> (8 * i));
	}
	for (int i = 0; i < 16; i++)	/* element j low nibble, j + 16 high */
		out[i] = (unsigned char)((c[i] & 15) | (c[i + 16] & 15) << 4);
}

static int
f16_finite(float v)
{
	return fabsf(v) < 65520.0f;	/* rounds to a finite half (false for inf and NaN) */
}

int
qblock_scale_ok(enum qfmt f, float s, const char **why)
{
	switch (f) {
	case QF_NVFP4:
		*why = "must be a positive E4M3 value";
		return s > 0 && s <= E4M3_MAX && linq_fp8_decode(linq_fp8_encode(s, 1), 1) == s;
	case QF_MXFP4: {
		int ex;

		*why = "must be a power of two in [2^-127, 2^127] (E8M0)";
		return s > 0 && isfinite(s) && frexpf(s, &ex) == 0.5f && ex - 1 >= -127 && ex - 1 <= 127;
	}
	case QF_Q4_0: case QF_Q5_0:
		*why = "must be finite in half precision";
		return f16_finite(s);
	default:
		*why = "must be >= 0 and finite in half precision";
		return f16_finite(s) && !(s < 0);
	}
}

int
qblock_min_ok(float m)
{
	return f16_finite(m);
}

double
qscheme_bits(const struct qscheme *s, const struct qgrid *g)
{
	const struct qblock_info *b = qblock_info(s->fmt);
	double n = (double)g->rows * (double)g->cols, cells = (double)linq_ncells(g);

	if (b)
		return b->code_bits + (b->scale_bits * (1.0 + b->has_min) * cells + 32.0 * b->has_global) / n;
	return linq_bits(s->fmt) + (16.0 + (s->sym ? 0 : linq_bits(s->fmt))) * cells / n;
}

/* ---- choosing the parameters of one group ---- */

static double
group_sse(enum qfmt f, const float *x, int n, float scale, float min, float global, double limit)
{
	double sse = 0;

	if (f == QF_NVFP4 || f == QF_MXFP4) {	/* the scale divided once, codes by boundaries */
		float s = f == QF_NVFP4 ? scale / global : scale;

		for (int i = 0; i < n; i++) {
			double d = (double)x[i] - e2m1_values[qblock_e2m1(x[i] / s)] * s;

			sse += d * d;
			if (sse > limit)
				break;
		}
		return sse;
	}
	{	/* ggml: 1 / d and the f16 roundings once per group */
		float id = scale != 0 ? 1.0f / scale : 0.0f, dh = f16_round(scale), mh = f16_round(min);

		for (int i = 0; i < n; i++) {
			double d = (double)x[i] - ggml_value_h(f, ggml_code_id(f, x[i], id, min), dh, mh);

			sse += d * d;
			if (sse > limit)
				break;
		}
		return sse;
	}
	for (int i = 0; i < n; i++) {
		double d = (double)x[i] - qblock_value(f, qblock_code(f, x[i], scale, min, global),
		    scale, min, global);

		sse += d * d;
		if (sse > limit)
			break;
	}
	return sse;
}

/* E8M0 exponent of OCP MX for a group maximum: floor(log2 amax) - 2 (6 =
 * 1.5 * 2^2 is E2M1's largest), clamped to the byte's finite range;
 * amax 0 gives the smallest (ggml and compressed-tensors store 0). */
static int
mx_exponent(float amax)
{
	int ex;

	if (!(amax > 0))
		return -127;
	frexpf(amax, &ex);	/* amax = m * 2^ex, m in [0.5, 1) */
	ex = ex - 1 - 2;
	return ex < -127 ? -127 : ex > 127 ? 127 : ex;
}

/* The fast search (qblock_impl.h): candidates collected in candidate
 * order, their full sums taken QBLOCK_LANES at a time by a kernel, then
 * scanned in that order with the reference's rule: the first is the
 * minmax choice, a later one replaces the best when its sum is smaller. */
struct lanes {
	qblock_sse_fn sse;
	enum qfmt f;
	const float *x;
	int n, nc, started;
	float global;
	double best;
	float *scale, *min;
	float cs[QBLOCK_LANES], cm[QBLOCK_LANES];
};

static void
lanes_flush(struct lanes *l)
{
	double sse[QBLOCK_LANES];

	if (l->nc == 0)
		return;
	/* a sum above the best so far cannot replace it: the kernel may stop
	 * there, as the reference does */
	l->sse(l->f, l->x, l->n, l->cs, l->cm, l->global, l->started ? l->best : INFINITY, l->nc, sse);
	for (int c = 0; c < l->nc; c++) {
		if (!l->started)
			l->started = 1, l->best = sse[c];
		else if (sse[c] < l->best)
			l->best = sse[c], *l->scale = l->cs[c], *l->min = l->cm[c];
	}
	l->nc = 0;
}

static void
lanes_push(struct lanes *l, float scale, float min)
{
	l->cs[l->nc] = scale, l->cm[l->nc++] = min;
	if (l->nc == QBLOCK_LANES)
		lanes_flush(l);
}

/* the search's first candidate: what *scale and *min hold (minmax's) */
static void
lanes_start(struct lanes *l, qblock_sse_fn sse, enum qfmt f, const float *x, int n, float global,
    float *scale, float *min)
{
	l->sse = sse, l->f = f, l->x = x, l->n = n, l->global = global;
	l->nc = 0, l->started = 0, l->best = INFINITY;
	l->scale = scale, l->min = min;
	lanes_push(l, *scale, *min);
}

/* The optimal scale (and minimum) for given codes, by least squares:
 * one refinement step of the search (ggml's make_qx_quants idea). */
static int
refit(enum qfmt f, const float *x, int n, float *d, float *m)
{
	double sqq = 0, sxq = 0, sq = 0, sx = 0;
	int32_t z = f == QF_Q4_0 ? 8 : f == QF_Q5_0 ? 16 : 0;
	float id = *d != 0 ? 1.0f / *d : 0.0f;	/* ggml_code's, once */

	for (int i = 0; i < n; i++) {
		double q = ggml_code_id(f, x[i], id, *m) - z;

		sqq += q * q, sxq += x[i] * q, sq += q, sx += x[i];
	}
	if (f == QF_Q4_1 || f == QF_Q5_1) {
		double det = n * sqq - sq * sq;

		if (!(det > 0))
			return -1;
		*d = (float)((n * sxq - sq * sx) / det);
		*m = (float)((sqq * sx - sq * sxq) / det);
		return *d > 0 ? 0 : -1;
	}
	if (!(sqq > 0))
		return -1;
	*d = (float)(sxq / sqq);
	return 0;
}

/* The grid's shrink factors 1 .. shrink_min, denser near 1 (calib's
 * grid): factors[k] for k = 1 .. grid - 1, computed once per tensor. */
static float *
grid_factors(const struct calib_opts *o)
{
	float *a = malloc((size_t)o->grid * sizeof *a);

	for (int k = 1; a && k < o->grid; k++) {
		double t = (double)k / (o->grid - 1);

		a[k] = (float)(1.0 - (1.0 - o->shrink_min) * t * t);
	}
	return a;
}

/* the candidates for factor a; for the signed 4/5-bit types also the other
 * orientation, where the largest magnitude takes the short side of the
 * code range */
static int
ggml_candidates(enum qfmt f, float a, float d, float lo, float hi, float cand[2][2])
{
	int has_min = f == QF_Q4_1 || f == QF_Q5_1;
	int levels = f == QF_Q4_1 ? 15 : 31;
	float neg = f == QF_Q4_0 ? -8.0f : -16.0f;
	int nc = 0;

	if (has_min) {
		float c = 0.5f * (lo + hi), h = 0.5f * (hi - lo) * a;

		cand[nc][0] = 2 * h / (float)levels, cand[nc++][1] = c - h;
	} else {
		cand[nc][0] = d * a, cand[nc++][1] = 0;
		if (f != QF_Q8_0)
			cand[nc][0] = -d * a * neg / (-neg - 1), cand[nc++][1] = 0;
	}
	return nc;
}

/* The grid search from the minmax choice in *scale, *minv: the reference,
 * one candidate after the other; returns the best sum. */
static double
ggml_search_ref(enum qfmt f, const struct calib_opts *o, const float *factors, const float *x,
    int n, float lo, float hi, float *scale, float *minv)
{
	float d = *scale;
	double best = group_sse(f, x, n, d, *minv, 1, INFINITY);

	for (int k = 1; k < o->grid && best > 0; k++) {
		float cand[2][2];
		int nc = ggml_candidates(f, factors[k], d, lo, hi, cand);

		for (int c = 0; c < nc; c++) {
			double sse;

			if (!f16_finite(cand[c][0]) || !f16_finite(cand[c][1]))
				continue;
			sse = group_sse(f, x, n, cand[c][0], cand[c][1], 1, best);
			if (sse < best)
				best = sse, *scale = cand[c][0], *minv = cand[c][1];
		}
	}
	return best;
}

/* The same search, every candidate's full sum by a kernel: the same choice
 * and best sum (qblock_impl.h). */
static double
ggml_search_lanes(enum qfmt f, const struct calib_opts *o, const float *factors, const float *x,
    int n, float lo, float hi, float *scale, float *minv, qblock_sse_fn lanes_sse)
{
	float d = *scale;
	struct lanes l;

	lanes_start(&l, lanes_sse, f, x, n, 1, scale, minv);
	for (int k = 1; k < o->grid; k++) {
		float cand[2][2];
		int nc = ggml_candidates(f, factors[k], d, lo, hi, cand);

		for (int c = 0; c < nc; c++)
			if (f16_finite(cand[c][0]) && f16_finite(cand[c][1]))
				lanes_push(&l, cand[c][0], cand[c][1]);
	}
	lanes_flush(&l);
	return l.best;
}

static void
choose_ggml(enum qfmt f, const struct calib_opts *o, const float *factors, const float *x, int n,
    float *scale, float *minv, qblock_sse_fn lanes_sse)
{
	float amax = 0, max = 0, lo = INFINITY, hi = -INFINITY, d, m = 0;
	int has_min = f == QF_Q4_1 || f == QF_Q5_1;
	int levels = f == QF_Q4_1 ? 15 : 31;
	float neg = f == QF_Q4_0 ? -8.0f : -16.0f;
	double best;

	for (int i = 0; i < n; i++) {
		if (amax < fabsf(x[i]))
			amax = fabsf(x[i]), max = x[i];
		lo = fminf(lo, x[i]);
		hi = fmaxf(hi, x[i]);
	}
	/* ggml's reference rule, operation for operation */
	if (has_min)
		d = (hi - lo) / (float)levels, m = lo;
	else if (f == QF_Q8_0)
		d = amax / 127.0f;
	else
		d = max / neg;
	*scale = d;
	*minv = m;
	if (o->method != CALIB_MSE || o->grid <= 1)
		return;
	best = lanes_sse ? ggml_search_lanes(f, o, factors, x, n, lo, hi, scale, minv, lanes_sse) :
	    ggml_search_ref(f, o, factors, x, n, lo, hi, scale, minv);
	/* then least squares for the best one's codes, while it helps */
	for (int it = 0; it < 4 && best > 0; it++) {
		float cd = *scale, cm = *minv;
		double sse;

		if (refit(f, x, n, &cd, &cm) < 0 || !f16_finite(cd) || !f16_finite(cm))
			break;
		sse = group_sse(f, x, n, cd, cm, 1, best);
		if (!(sse < best))
			break;
		best = sse, *scale = cd, *minv = cm;
	}
}

static void
choose_mx(const struct calib_opts *o, const float *x, int n, float *scale, qblock_sse_fn lanes_sse)
{
	float amax = 0, unused_min = 0;
	int e0;
	double best = INFINITY;
	struct lanes l;

	for (int i = 0; i < n; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	e0 = mx_exponent(amax);
	*scale = ldexpf(1.0f, e0);
	if (o->method != CALIB_MSE || amax == 0)
		return;
	if (lanes_sse)
		lanes_start(&l, lanes_sse, QF_MXFP4, x, n, 1, scale, &unused_min);
	else
		best = group_sse(QF_MXFP4, x, n, *scale, 0, 1, INFINITY);
	/* one step up removes the clipping of (6, 8) * 2^e0; steps down
	 * trade clipping for resolution, as far as shrink_min allows */
	for (int ex = e0 + 1; ex >= e0 - 3 && ex >= -127; ex--) {
		float s = ldexpf(1.0f, ex);
		double sse;

		if (ex == e0 || ex > 127 || (ex < e0 && s * 8.0f < (float)o->shrink_min * amax))
			continue;
		if (lanes_sse) {
			lanes_push(&l, s, 0);
			continue;
		}
		sse = group_sse(QF_MXFP4, x, n, s, 0, 1, best);
		if (sse < best)
			best = sse, *scale = s;
	}
	if (lanes_sse)
		lanes_flush(&l);
}

/* compressed-tensors: the E4M3 rounding of global * amax / 6, with 0
 * replaced by E4M3's eps 0.125 (its division guard).  e4m3[c]: the value
 * of positive code c. */
static double
choose_nv(const struct calib_opts *o, const float *x, int n, float global, const float *e4m3,
    float *scale, qblock_sse_fn lanes_sse)
{
	float amax = 0, s, unused_min = 0;
	uint8_t c0;
	double best = INFINITY;
	struct lanes l;

	for (int i = 0; i < n; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	c0 = linq_fp8_encode(global * (amax / FP4_MAX), 1);
	s = linq_fp8_decode(c0, 1);
	*scale = s > 0 ? s : 0.125f;
	if (o->method != CALIB_MSE || amax == 0)
		return 0;
	if (lanes_sse)
		lanes_start(&l, lanes_sse, QF_NVFP4, x, n, global, scale, &unused_min);
	else
		best = group_sse(QF_NVFP4, x, n, *scale, 0, global, INFINITY);
	/* positive E4M3 codes are ordered like their values: one code up,
	 * then down to shrink_min of the minmax scale */
	for (int c = (c0 < 0x7e ? c0 + 1 : c0); c >= 1; c--) {
		float v = e4m3[c];
		double sse;

		if (c == c0)
			continue;
		if (v < (float)o->shrink_min * s)
			break;
		if (lanes_sse) {
			lanes_push(&l, v, 0);
			continue;
		}
		sse = group_sse(QF_NVFP4, x, n, v, 0, global, best);
		if (sse < best)
			best = sse, *scale = v;
	}
	if (lanes_sse)
		lanes_flush(&l), best = l.best;
	return best;
}

struct blk_ctx {
	const struct qp_entry *w;
	const float *x;
	const struct calib_opts *o;
	float *scale, *min;
	float *out;
	int32_t *q;
	int mode;		/* 0 choose, 1 fake-quantize, 2 codes */
	qblock_sse_fn lanes;	/* mode 0: the search's kernel, NULL for the reference */
	float global;		/* nvfp4: the global scale the group scales are for */
	const float *factors;	/* ggml mse: grid_factors */
	size_t stride;		/* every stride-th group only (nvfp4's global scale search) */
	double *sse;		/* nvfp4 mse: each group's least error, or NULL */
	float e4m3[128];	/* nvfp4: positive E4M3 values by code */
};

/* qblock_code and qblock_value over one group, with what they compute
 * per element (1/d, the f16 roundings, the effective FP4 scale) once */
static void
group_codes(enum qfmt f, const float *x, int n, float s, float m, float global, int32_t *q,
    float *out)
{
	if (f == QF_NVFP4 || f == QF_MXFP4) {
		float se = f == QF_NVFP4 ? s / global : s;

		for (int i = 0; i < n; i++) {
			float r = x[i] / se;
			int32_t c = isfinite(r) ? qblock_e2m1(r) : qu_f32_to_e2m1(r);

			if (out)
				out[i] = e2m1_values[c] * se;
			else
				q[i] = c;
		}
		return;
	}
	{
		float id = s != 0 ? 1.0f / s : 0.0f, dh = f16_round(s), mh = f16_round(m);

		for (int i = 0; i < n; i++) {
			int32_t c = ggml_code_id(f, x[i], id, m);

			if (out)
				out[i] = ggml_value_h(f, c, dh, mh);
			else
				q[i] = c;
		}
	}
}

static void
blk_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct blk_ctx *c = vctx;
	const struct qp_entry *w = c->w;
	enum qfmt f = w->s.fmt;
	size_t gsz = (size_t)w->g.bc;

	(void)worker;
	for (size_t k = b * c->stride; k < end * c->stride; k += c->stride) {
		const float *x = c->x + k * gsz;	/* groups are consecutive in row-major order */
		float m = w->min ? w->min[k] : 0, s = w->scale[k];

		if (c->mode == 0) {
			if (f == QF_NVFP4) {	/* sampled (stride > 1): results packed */
				size_t slot = k / c->stride;
				double sse = choose_nv(c->o, x, (int)gsz, c->global, c->e4m3, &c->scale[slot],
				    c->lanes);

				if (c->sse)
					c->sse[slot] = sse;
			} else if (f == QF_MXFP4)
				choose_mx(c->o, x, (int)gsz, &c->scale[k], c->lanes);
			else
				choose_ggml(f, c->o, c->factors, x, (int)gsz, &c->scale[k], &m, c->lanes);
			if (c->min)
				c->min[k] = m;
			continue;
		}
		group_codes(f, x, (int)gsz, s, m, c->global, c->q ? c->q + k * gsz : NULL,
		    c->out ? c->out + k * gsz : NULL);
	}
}

static void
blk_run(struct blk_ctx *c, int jobs)
{
	size_t groups = (size_t)linq_ncells(&c->w->g);

	qpool_for(jobs, (groups + c->stride - 1) / c->stride, 256, blk_body, c);
}

/* the kernel of a level: the best one at or below it */
static qblock_sse_fn
lanes_at(enum qcpu_level level)
{
#if QU_X86_KERNELS
	static const qblock_sse_fn variants[QCPU_NLEVELS] = { NULL, qblock_sse_avx2, qblock_sse_avx512 };

	for (int l = (int)level; l > 0; l--)
		if (variants[l])
			return variants[l];
#else
	(void)level;
#endif
	return NULL;
}

/* nvfp4 mse: the global scale too.  E4M3 steps by 1/16 to 1/8 of an
 * octave, so global scales 2^(-j/4) times compressed-tensors' one (j < 4)
 * offer every group differently placed scales.  Each gets the per-group
 * search on every NV_GLOBAL_SAMPLE-th group (all of a small tensor), the
 * one with the least error wins (ties: the lower j, so compressed-tensors'
 * global unless another is strictly better), then the search runs on
 * every group under it.  Lower global scales only: the largest group's
 * E4M3 scale then stays <= 448. */
#define NV_GLOBAL_STEPS 4
#define NV_GLOBAL_SAMPLE 4

static int
nv_search_global(struct qp_entry *w, struct blk_ctx *c, int jobs, struct qerr *e)
{
	size_t ncells = (size_t)linq_ncells(&w->g);
	size_t stride = ncells >= 64 * NV_GLOBAL_SAMPLE ? NV_GLOBAL_SAMPLE : 1;
	size_t slots = (ncells + stride - 1) / stride;
	float g0 = w->global_scale, *trial = malloc(slots * sizeof *trial);
	double *sse = malloc(slots * sizeof *sse), best = INFINITY;

	if (trial == NULL || sse == NULL) {
		free(trial), free(sse);
		return qerr_set(e, "out of memory for %zu groups", slots);
	}
	c->scale = trial;
	c->sse = sse;
	c->stride = stride;
	for (int j = 0; j < NV_GLOBAL_STEPS; j++) {
		double total = 0;

		c->global = g0 * (float)exp2(-j / (double)NV_GLOBAL_STEPS);
		if (!(c->global > 0))
			break;
		blk_run(c, jobs);
		for (size_t k = 0; k < slots; k++)	/* in group order: the same for any -j */
			total += sse[k];
		if (total < best) {
			best = total;
			w->global_scale = c->global;
			if (stride == 1)
				memcpy(w->scale, trial, ncells * sizeof *trial);
		}
	}
	free(trial), free(sse);
	c->scale = w->scale, c->sse = NULL, c->stride = 1;
	if (stride > 1) {	/* every group under the chosen global scale */
		c->global = w->global_scale;
		blk_run(c, jobs);
	}
	return 0;
}

int
qblock_choose_at(struct qp_entry *w, const float *x, const struct calib_opts *o, int jobs,
    enum qcpu_level level, struct qerr *e)
{
	const struct qblock_info *b = qblock_info(w->s.fmt);
	size_t n = (size_t)w->g.rows * (size_t)w->g.cols;
	struct blk_ctx c = { .w = w, .x = x, .o = o, .scale = w->scale, .min = w->min, .mode = 0,
		.lanes = lanes_at(level), .stride = 1 };
	const char *why;

	if (b == NULL)
		return calib_choose(&w->s, &w->g, x, o, w->scale, w->zp, jobs, e);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return qerr_set(e, "element %zu is %f: cannot calibrate non-finite weights",
			    i, (double)x[i]);
	if (b->has_global) {
		float amax = 0;

		for (size_t i = 0; i < n; i++)
			amax = fmaxf(amax, fabsf(x[i]));
		/* compressed-tensors' generate_gparam: FP8 max * FP4 max / amax */
		w->global_scale = amax > 0 ? (E4M3_MAX * FP4_MAX) / amax : 1.0f;
		if (!(w->global_scale > 0) || isinf(w->global_scale))
			return qerr_set(e, "largest magnitude %g: no finite nvfp4 global scale",
			    (double)amax);
		for (int k = 0; k < 128; k++)
			c.e4m3[k] = linq_fp8_decode((uint8_t)k, 1);
		c.global = w->global_scale;
	}
	if (b->has_global && o->method == CALIB_MSE) {
		if (nv_search_global(w, &c, jobs, e) < 0)
			return -1;
	} else if (w->s.fmt != QF_MXFP4 && o->method == CALIB_MSE && o->grid > 1) {	/* ggml's */
		float *factors = grid_factors(o);

		if (factors == NULL)
			return qerr_set(e, "out of memory for a grid of %d", o->grid);
		c.factors = factors;
		blk_run(&c, jobs);
		free(factors);
	} else {
		blk_run(&c, jobs);
	}
	for (size_t k = 0; k < (size_t)linq_ncells(&w->g); k++)
		if (!qblock_scale_ok(w->s.fmt, w->scale[k], &why) ||
		    (w->min && !qblock_min_ok(w->min[k])))
			return qerr_set(e, "group %zu: scale %g: too large for %s", k,
			    (double)w->scale[k], b->name);
	return 0;
}

int
qparams_choose(struct qp_entry *w, const float *x, const struct calib_opts *o, int jobs,
    struct qerr *e)
{
	const char *ref = getenv("QUTILS_QBLOCK_REF");

	return qblock_choose_at(w, x, o, jobs, ref && strcmp(ref, "1") == 0 ? QCPU_SCALAR : qcpu_level(),
	    e);
}

void
qparams_fakequant(const struct qp_entry *w, const float *x, float *out, int jobs)
{
	struct blk_ctx c = { .w = w, .x = x, .out = out, .mode = 1, .global = w->global_scale, .stride = 1 };

	if (qblock_info(w->s.fmt) == NULL) {
		linq_fakequant(&w->s, &w->g, x, w->scale, w->zp, out, jobs);
		return;
	}
	blk_run(&c, jobs);
}

void
qparams_codes(const struct qp_entry *w, const float *x, int32_t *q, int jobs)
{
	struct blk_ctx c = { .w = w, .x = x, .q = q, .mode = 2, .global = w->global_scale, .stride = 1 };

	if (qblock_info(w->s.fmt) == NULL) {
		linq_quantize(&w->s, &w->g, x, w->scale, w->zp, q, jobs);
		return;
	}
	blk_run(&c, jobs);
}
