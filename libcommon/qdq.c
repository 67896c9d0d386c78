/* qdq: see qdq.h.  Scale rules follow onnxruntime's quantizer (spec/onnx.md
 * §4): symmetric int8 uses the restricted range [-127, 127]; asymmetric
 * kinds stretch the range to include 0; int4 symmetric maps absmax to 7
 * (ModelOpt's rule, so -8 stays unused and the range is symmetric); fp8
 * maps absmax to 448.  An all-zero group gets scale 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"
#include "qdq.h"
#include "threads.h"

const struct qdq_kind_info qdq_kinds[QK_COUNT] = {
	[QK_INT8]  = {"int8",  ONNX_INT8,  8, 1, -127, 127, 127.0f},
	[QK_UINT8] = {"uint8", ONNX_UINT8, 8, 0, 0, 255, 0},
	[QK_INT4]  = {"int4",  ONNX_INT4,  4, 1, -8, 7, 7.0f},
	[QK_UINT4] = {"uint4", ONNX_UINT4, 4, 0, 0, 15, 0},
	[QK_FP8]   = {"fp8",   ONNX_FLOAT8E4M3FN, 8, 1, 0, 0, 448.0f},
};

int64_t
qdq_nscales(const struct qdq_layout *l, int64_t *shape, int *rank)
{
	int64_t n = 1;
	int i;

	if (l->block == 0) {
		shape[0] = l->dims[l->axis];
		*rank = 1;
		return shape[0];
	}
	for (i = 0; i < l->ndims; i++) {
		shape[i] = i == l->axis ? (l->dims[i] + l->block - 1) / l->block : l->dims[i];
		n *= shape[i];
	}
	*rank = l->ndims;
	return n;
}

int64_t
qdq_group_of(const struct qdq_layout *l, int64_t i)
{
	int64_t inner = 1, d = l->dims[l->axis], outer, k, in;
	int a;

	for (a = l->axis + 1; a < l->ndims; a++)
		inner *= l->dims[a];
	k = (i / inner) % d;
	if (l->block == 0)
		return k;
	outer = i / (inner * d);
	in = i % inner;
	return (outer * ((d + l->block - 1) / l->block) + k / l->block) * inner + in;
}

/* Round half to even in the default rounding mode without a libm call
 * (nearbyintf saves and restores the FP environment: ~20 ns a value):
 * adding and subtracting 1.5 * 2^23 leaves the integer the FPU rounded to.
 * Exact for |v| < 2^22; larger floats go through rintf. */
static inline float
rne(float v)
{
	if (fabsf(v) < 0x1p22f) {
		volatile float t = v + 0x1.8p23f;	/* volatile: no reassociation */

		return t - 0x1.8p23f;
	}
	return rintf(v);
}

static int32_t
clamp_code(float v, int qmin, int qmax)
{
	return v < (float)qmin ? qmin : v > (float)qmax ? qmax : (int32_t)v;
}

uint8_t
qdq_f32_to_e4m3fn(float x)
{
	uint8_t sign = signbit(x) ? 0x80 : 0;
	float a = fabsf(x), r;
	int e;

	if (isnan(x))
		return sign | 0x7f;
	if (a >= 448.0f)	/* saturate=1: also +-inf */
		return sign | 0x7e;
	if (a < 0x1p-6f) {	/* subnormal: m * 2^-9; r == 8 is the smallest normal */
		r = nearbyintf(a * 512.0f);
		return sign | (uint8_t)r;
	}
	frexpf(a, &e);		/* a = f * 2^e, f in [0.5, 1) */
	e -= 1;			/* a = 1.m * 2^e */
	r = nearbyintf(ldexpf(a, 3 - e));	/* 8..16, exact scaling */
	if (r == 16.0f) {
		r = 8.0f;
		e++;
	}
	if (e + 7 > 15 || (e + 7 == 15 && r == 15.0f))
		return sign | 0x7e;
	return sign | (uint8_t)(((e + 7) << 3) | ((int)r - 8));
}

float
qdq_e4m3fn_to_f32(uint8_t c)
{
	int e = (c >> 3) & 15, m = c & 7;
	float v;

	if ((c & 0x7f) == 0x7f)
		return NAN;
	v = e == 0 ? ldexpf((float)m, -9) : ldexpf(1.0f + (float)m / 8.0f, e - 7);
	return c & 0x80 ? -v : v;
}

/* Loops run over (outer, k, inner) with W viewed as [outer, D, inner], D
 * the axis: no division per element.  A group is k (per-channel) or
 * (outer, k / block, inner) (blocked). */
struct qctx {
	enum qdq_kind k;
	const float *w;
	const float *scale;
	const int32_t *zp;
	int32_t *codes;
	int64_t D, inner, nb, block;
};

static void
quantize_rows(void *arg, size_t begin, size_t end, int worker)
{
	const struct qctx *c = arg;
	const struct qdq_kind_info *ki = &qdq_kinds[c->k];
	size_t r;
	int64_t in;

	(void)worker;
	for (r = begin; r < end; r++) {	/* row r = (outer, k) */
		int64_t o = (int64_t)r / c->D, k = (int64_t)r % c->D;
		const float *w = c->w + (int64_t)r * c->inner;
		int32_t *q = c->codes + (int64_t)r * c->inner;
		int64_t g0 = c->block ? (o * c->nb + k / c->block) * c->inner : k;

		for (in = 0; in < c->inner; in++) {
			int64_t g = c->block ? g0 + in : g0;

			if (c->k == QK_FP8)
				q[in] = qdq_f32_to_e4m3fn(w[in] / c->scale[g]);
			else
				q[in] = clamp_code(rne(w[in] / c->scale[g]) + (float)c->zp[g],
				    ki->qmin, ki->qmax);
		}
	}
}

int
qdq_quantize(enum qdq_kind k, const float *w, int64_t n, const struct qdq_layout *l,
    float *scale, int32_t *zp, int scales_given, int32_t *codes, struct qerr *e)
{
	const struct qdq_kind_info *ki = &qdq_kinds[k];
	int64_t shape[8], ns, i, g, D = l->dims[l->axis], inner = 1, outer, o, kk, in;
	int rank, a;
	float *lo = NULL, *hi = NULL;
	struct qctx c;

	ns = qdq_nscales(l, shape, &rank);
	for (a = l->axis + 1; a < l->ndims; a++)
		inner *= l->dims[a];
	outer = D && inner ? n / (D * inner) : 0;
	for (i = 0; i < n; i++)
		if (!isfinite(w[i]))
			return qerr_set(e, "element %lld is not finite", (long long)i);
	if (!scales_given) {
		lo = calloc((size_t)ns, sizeof *lo);
		hi = calloc((size_t)ns, sizeof *hi);
		if (lo == NULL || hi == NULL) {
			free(lo);
			free(hi);
			return qerr_set(e, "out of memory");
		}
		/* the range always includes 0 (lo, hi start at 0) */
		for (o = 0; o < outer; o++)
			for (kk = 0; kk < D; kk++) {
				const float *row = w + (o * D + kk) * inner;
				int64_t g0 = l->block ? (o * ((D + l->block - 1) / l->block) +
				    kk / l->block) * inner : kk;

				for (in = 0; in < inner; in++) {
					g = l->block ? g0 + in : g0;
					if (row[in] < lo[g])
						lo[g] = row[in];
					if (row[in] > hi[g])
						hi[g] = row[in];
				}
			}
		for (g = 0; g < ns; g++) {
			if (ki->symmetric) {
				float absmax = fmaxf(-lo[g], hi[g]);

				scale[g] = absmax / ki->absmax_code;
				zp[g] = 0;
			} else {
				scale[g] = (hi[g] - lo[g]) / (float)(ki->qmax - ki->qmin);
				zp[g] = 0;
				if (scale[g] > 0)
					zp[g] = clamp_code(nearbyintf((float)ki->qmin - lo[g] / scale[g]),
					    ki->qmin, ki->qmax);
			}
			if (!(scale[g] > 0) || !isfinite(scale[g]))
				scale[g] = 1.0f;
		}
		free(lo);
		free(hi);
	} else {
		for (g = 0; g < ns; g++)
			if (!(scale[g] > 0) || !isfinite(scale[g]))
				return qerr_set(e, "given scale %lld is not a positive number", (long long)g);
	}
	c = (struct qctx){k, w, scale, zp, codes, D, inner,
	    l->block ? (D + l->block - 1) / l->block : 0, l->block};
	qpool_for(qpool_ncpu(), (size_t)(outer * D), 64, quantize_rows, &c);
	return 0;
}

float
qdq_dequant(enum qdq_kind k, int32_t code, int32_t zp, float scale)
{
	if (k == QK_FP8)
		return qdq_e4m3fn_to_f32((uint8_t)code) * scale;
	return (float)(code - zp) * scale;
}

size_t
qdq_packed_size(enum qdq_kind k, int64_t n)
{
	return qdq_kinds[k].bits == 4 ? (size_t)(n + 1) / 2 : (size_t)n;
}

void
qdq_pack(enum qdq_kind k, const int32_t *codes, int64_t n, unsigned char *out)
{
	int64_t i;

	if (qdq_kinds[k].bits == 8) {
		for (i = 0; i < n; i++)
			out[i] = (unsigned char)codes[i];
		return;
	}
	memset(out, 0, qdq_packed_size(k, n));
	for (i = 0; i < n; i++)
		out[i / 2] |= (unsigned char)((codes[i] & 15) << (i % 2 ? 4 : 0));
}

void
qdq_matmulnbits_pack(enum qdq_kind k, const int32_t *codes, const float *scale,
    const int32_t *zp, int64_t K, int64_t N, int64_t block,
    unsigned char *B, float *scales_nk, unsigned char *zp_packed)
{
	const struct qdq_kind_info *ki = &qdq_kinds[k];
	int64_t kb = (K + block - 1) / block, row = block * ki->bits / 8;
	int32_t offset = ki->symmetric ? 1 << (ki->bits - 1) : 0;
	int64_t n, b, j;

	memset(B, 0, (size_t)(N * kb * row));
	for (n = 0; n < N; n++)
		for (b = 0; b < kb; b++) {
			unsigned char *dst = B + (n * kb + b) * row;
			int32_t pad = ki->symmetric ? offset : zp[b * N + n];

			scales_nk[n * kb + b] = scale[b * N + n];
			for (j = 0; j < block; j++) {
				int64_t kk = b * block + j;
				uint32_t c = (uint32_t)(kk < K ? codes[kk * N + n] + offset : pad);

				if (ki->bits == 8)
					dst[j] = (unsigned char)c;
				else
					dst[j / 2] |= (unsigned char)((c & 15) << (j % 2 ? 4 : 0));
			}
		}
	if (!ki->symmetric && zp_packed) {
		int64_t zrow = (kb * ki->bits + 7) / 8;

		memset(zp_packed, 0, (size_t)(N * zrow));
		for (n = 0; n < N; n++)
			for (b = 0; b < kb; b++) {
				uint32_t z = (uint32_t)zp[b * N + n];

				if (ki->bits == 8)
					zp_packed[n * zrow + b] = (unsigned char)z;
				else
					zp_packed[n * zrow + b / 2] |= (unsigned char)((z & 15) << (b % 2 ? 4 : 0));
			}
	}
}
