/* Scalar references of the K-quants and IQ4_XS (see quant_k.h).
 *
 * Bit-exactness rules (spec/gguf.md §3): every value is binary32, every
 * expression is evaluated in ggml's order (a*b*c is (a*b)*c, ints are
 * converted to float where ggml converts them), divisions stay divisions,
 * reductions are sequential, and the build has -ffp-contract=off.  Integer
 * narrowing (to uint8_t / int8_t) happens where ggml narrows.
 *
 * Each format is split in two stages so the vectorized variants can share
 * the second: "fit" chooses each sub-block's scale (and min) and codes, the
 * expensive part; "finish" quantizes those scales against one super-scale,
 * re-derives the codes from the stored fp16 values and packs the block. */
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "quant_k.h"
#include "quant_impl.h"	/* includes quant_k_impl.h; qk_fit_symmetric */

/* Byte shuffling loops that GCC's -O2 leaves scalar (integer only, so the
 * bytes cannot change). */
#if defined(__GNUC__) && !defined(__clang__)
#define QK_VECTORIZE __attribute__((optimize("O3")))
#else
#define QK_VECTORIZE
#endif

/* ---------------------------------------------------------------- helpers */

/* The fitting helpers of spec §4.1, one per ggml helper. */

/* make_qx_quants (rmse_type 1) is qk_fit_symmetric of quant_simple.c. */
static inline float
fit_qx(int n, int nmax, const float *x, const float *w, int8_t *L)
{
	return qk_fit_symmetric(n, nmax, x, L, w);
}

/* make_q3_quants with do_rmse: make_qx's first guess (weights x*x), then up
 * to five sweeps of coordinate descent on single codes. */
static float
fit_q3(int n, int nmax, const float *x, int8_t *L)
{
	float amax = 0, max = 0;

	for (int i = 0; i < n; i++) {
		float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < QK_GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	float iscale = (float)-nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = qk_clampi(qk_nearest_int(iscale * x[i]), -nmax, nmax - 1);
		L[i] = (int8_t)l;
		float w = x[i] * x[i];
		sumlx += w * x[i] * (float)l;
		suml2 += w * (float)l * (float)l;
	}
	for (int sweep = 0; sweep < 5; sweep++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * (float)L[i];
			if (slx > 0) {
				float sl2 = suml2 - w * (float)L[i] * (float)L[i];
				int nl = qk_clampi(qk_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
				if (nl != L[i]) {
					slx += w * x[i] * (float)nl;
					sl2 += w * (float)nl * (float)nl;
					if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
						L[i] = (int8_t)nl;
						sumlx = slx;
						suml2 = sl2;
						changed++;
					}
				}
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* make_qkx2_quants / make_qkx3_quants (identical for non-NULL weights):
 * x ~ scale*q - the_min with q in [0, nmax], nstep+1 trial scales, each
 * solved by 2x2 weighted least squares; error |.| (use_mad) or squared. */
float
qk_fit_qkx(int n, int nmax, const float *x, const float *w, uint8_t *L,
    float *the_min, float rmin, float rdelta, int nstep, int use_mad)
{
	uint8_t Laux[32];
	float min = x[0], max = x[0];
	float sum_w = w[0], sum_x = sum_w * x[0];

	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max <= min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.f;
	}
	float iscale = (float)nmax / (max - min);
	float scale = 1 / iscale;
	float best_error = 0;
	for (int i = 0; i < n; i++) {
		int l = qk_nearest_int(iscale * (x[i] - min));
		L[i] = (uint8_t)qk_clampi(l, 0, nmax);
		float diff = scale * (float)L[i] + min - x[i];
		diff = use_mad ? fabsf(diff) : diff * diff;
		best_error += w[i] * diff;
	}
	for (int is = 0; is <= nstep; is++) {
		iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		for (int i = 0; i < n; i++) {
			int l = qk_clampi(qk_nearest_int(iscale * (x[i] - min)), 0, nmax);
			Laux[i] = (uint8_t)l;
			float wl = w[i] * (float)l;
			sum_l += wl;
			sum_l2 += wl * (float)l;
			sum_xl += wl * x[i];
		}
		float D = sum_w * sum_l2 - sum_l * sum_l;
		if (D > 0) {
			float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
			float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
			if (this_min > 0) {
				this_min = 0;
				this_scale = sum_xl / sum_l2;
			}
			float err = 0;
			for (int i = 0; i < n; i++) {
				float diff = this_scale * (float)Laux[i] + this_min - x[i];
				diff = use_mad ? fabsf(diff) : diff * diff;
				err += w[i] * diff;
			}
			if (err < best_error) {
				memcpy(L, Laux, (size_t)n);
				best_error = err;
				scale = this_scale;
				min = this_min;
			}
		}
	}
	*the_min = -min;
	return scale;
}

float
qk_fit_search(const struct qk_search *sr, const float *x, const float *w, uint8_t *L,
    float *the_min)
{
	return qk_fit_qkx(sr->n, sr->nmax, x, w, L, the_min, sr->rmin, sr->rdelta, sr->nstep,
	    sr->use_mad);
}

/* make_qp_quants: codes in [0, nmax] for non-negative values (sub-scales),
 * weighted; returns the super-scale itself. */
float
qk_fit_qp(int n, int nmax, const float *x, uint8_t *L, const float *w)
{
	float max = 0;

	for (int i = 0; i < n; i++)
		max = max > x[i] ? max : x[i];
	if (max < QK_GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	float iscale = (float)nmax / max;
	for (int i = 0; i < n; i++)
		L[i] = (uint8_t)qk_nearest_int(iscale * x[i]);
	float scale = 1 / iscale;
	float best_mse = 0;
	for (int i = 0; i < n; i++) {
		float diff = x[i] - scale * (float)L[i];
		best_mse += w[i] * diff * diff;
	}
	for (int is = -4; is <= 4; is++) {
		if (is == 0)
			continue;
		float iscale_is = (0.1f * (float)is + (float)nmax) / max;
		float scale_is = 1 / iscale_is;
		float mse = 0;
		for (int i = 0; i < n; i++) {
			int l = qk_nearest_int(iscale_is * x[i]);
			l = l < nmax ? l : nmax;
			float diff = x[i] - scale_is * (float)l;
			mse += w[i] * diff * diff;
		}
		if (mse < best_mse) {
			best_mse = mse;
			iscale = iscale_is;
		}
	}
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = qk_nearest_int(iscale * x[i]);
		l = l < nmax ? l : nmax;
		L[i] = (uint8_t)l;
		sumlx += w[i] * x[i] * (float)l;
		suml2 += w[i] * (float)l * (float)l;
	}
	for (int sweep = 0; sweep < 5; sweep++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			float slx = sumlx - w[i] * x[i] * (float)L[i];
			float sl2 = suml2 - w[i] * (float)L[i] * (float)L[i];
			if (slx > 0 && sl2 > 0) {
				int nl = qk_nearest_int(x[i] * sl2 / slx);
				nl = nl < nmax ? nl : nmax;
				if (nl != L[i]) {
					slx += w[i] * x[i] * (float)nl;
					sl2 += w[i] * (float)nl * (float)nl;
					if (slx * slx * suml2 > sumlx * sumlx * sl2) {
						L[i] = (uint8_t)nl;
						sumlx = slx;
						suml2 = sl2;
						changed++;
					}
				}
			}
		}
		if (!changed)
			break;
	}
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Sequential sum of squares, as every ggml super-block preamble does. */
float
qk_sum_sq(const float *x, int n)
{
	float s = 0;

	for (int i = 0; i < n; i++)
		s += x[i] * x[i];
	return s;
}

/* Codes re-derived from a stored scale d and min m: clamp(nearest_int(
 * (x + m) / d), lo, hi) + off.  The symmetric formats pass m = 0: ggml
 * computes x / d there, and x + 0.0f equals x except that -0 becomes +0,
 * which nearest_int maps to the same code. */
void
qk_requant_ref(const float *x, int n, float d, float m, int lo, int hi, int off, uint8_t *L)
{
	for (int i = 0; i < n; i++)
		L[i] = (uint8_t)(qk_clampi(qk_nearest_int((x[i] + m) / d), lo, hi) + off);
}

/* IQ4 codes of id * x (the codebook's nearest entry). */
void
qk_iq4_codes_ref(const float *x, int n, float id, uint8_t *L)
{
	for (int i = 0; i < n; i++)
		L[i] = (uint8_t)qk_iq4_index(id * x[i]);
}

const struct qk_ops qk_ops_ref = { qk_requant_ref, qk_iq4_codes_ref };

/* 2-bit codes of 256 elements: byte l of each 128-element half holds
 * elements l, l+32, l+64, l+96 (Q2_K and the low bits of Q3_K). */
QK_VECTORIZE static void
pack_2bit(const uint8_t *restrict L, uint8_t *restrict qs)
{
	for (int h = 0; h < QK_K; h += 128)
		for (int l = 0; l < 32; l++)
			qs[h / 4 + l] = (uint8_t)(L[h + l] | (L[h + l + 32] << 2) |
			    (L[h + l + 64] << 4) | (L[h + l + 96] << 6));
}

/* The 12-byte six-bit scale/min packing of Q4_K and Q5_K. */
static void
pack_scale_min_k4(const uint8_t *ls, const uint8_t *lm, uint8_t *s)
{
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			s[j] = ls[j];
			s[j + 4] = lm[j];
		} else {
			s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
			s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			s[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
}

static void
unpack_scale_min_k4(int j, const uint8_t *s, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
		*m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
	}
}

/* The 12-byte six-bit packing of Q3_K's 16 scales (values 0..63). */
static void
pack_scales_q3(const int *l, uint8_t *s)
{
	memset(s, 0, 12);
	for (int j = 0; j < 16; j++) {
		if (j < 8)
			s[j] = (uint8_t)(l[j] & 0xF);
		else
			s[j - 8] |= (uint8_t)((l[j] & 0xF) << 4);
		s[j % 4 + 8] |= (uint8_t)((l[j] >> 4) << (2 * (j / 4)));
	}
}

static int
unpack_scale_q3(int j, const uint8_t *s)
{
	int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;

	return (lo | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

/* ------------------------------------------------------------------- Q2_K */

void
qk_fit_q2_K_ref(const float *x, struct qk_fit *f)
{
	float w[16];

	for (int j = 0; j < 16; j++) {
		for (int l = 0; l < 16; l++)
			w[l] = fabsf(x[16 * j + l]);
		f->scales[j] = qk_fit_search(&qk_searches[QK_Q2_K][0], x + 16 * j, w, f->L + 16 * j,
		    &f->mins[j]);
	}
}

void
qk_fit_q2_K_imatrix(const float *x, const float *qw, struct qk_fit *f)
{
	float w[16];
	float sigma2 = qk_sum_sq(x, QK_K) / QK_K;

	for (int j = 0; j < 16; j++) {
		float sw = 0;
		for (int l = 0; l < 16; l++)
			w[l] = qw[16 * j + l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
		for (int l = 0; l < 16; l++)
			sw += w[l];
		f->sw[j] = sw;
		f->scales[j] = qk_fit_search(&qk_searches[QK_Q2_K][1], x + 16 * j, w, f->L + 16 * j,
		    &f->mins[j]);
	}
}

/* Re-derive codes from the stored scales; sub-blocks whose scale is 0 keep
 * the fitter's codes. */
static void
requant_q2_K(const float *x, struct blk_q2_K *y, const struct qk_fit *f, uint8_t *L,
    const struct qk_ops *ops)
{
	float d = qu_f16_to_f32(y->d), dmin = qu_f16_to_f32(y->dmin);

	for (int j = 0; j < 16; j++) {
		float dj = d * (float)(y->scales[j] & 0xF);
		if (!dj) {
			qk_fit_codes(f, j, 16, L + 16 * j);
			continue;
		}
		float mj = dmin * (float)(y->scales[j] >> 4);
		ops->requant(x + 16 * j, 16, dj, mj, 0, 3, 0, L + 16 * j);
	}
	pack_2bit(L, y->qs);
}

void
qk_finish_q2_K_ref(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q2_K *y = out;
	float max_scale = 0, max_min = 0;

	for (int j = 0; j < 16; j++) {
		if (f->scales[j] > max_scale)
			max_scale = f->scales[j];
		if (f->mins[j] > max_min)
			max_min = f->mins[j];
	}
	if (max_scale > 0) {
		float iscale = 15.f / max_scale;
		for (int j = 0; j < 16; j++)
			y->scales[j] = (uint8_t)qk_nearest_int(iscale * f->scales[j]);
		y->d = qu_f32_to_f16(max_scale / 15.f);
	} else {
		memset(y->scales, 0, 16);
		y->d = qu_f32_to_f16(0.f);
	}
	if (max_min > 0) {
		float iscale = 15.f / max_min;
		for (int j = 0; j < 16; j++)
			y->scales[j] |= (uint8_t)((unsigned)qk_nearest_int(iscale * f->mins[j]) << 4);
		y->dmin = qu_f32_to_f16(max_min / 15.f);
	} else {
		y->dmin = qu_f32_to_f16(0.f);
	}
	requant_q2_K(x, y, f, f->L, ops);
}

void
qk_finish_q2_K_imatrix(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q2_K *y = out;
	uint8_t Ls[16], Lm[16];
	float dm = qk_fit_qp(16, 15, f->scales, Ls, f->sw);
	float mm = qk_fit_qp(16, 15, f->mins, Lm, f->sw);

	y->d = qu_f32_to_f16(dm);
	y->dmin = qu_f32_to_f16(mm);
	for (int j = 0; j < 16; j++)
		y->scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
	requant_q2_K(x, y, f, f->L, ops);
}

void
qk_dequantize_q2_K(const void *src, float *y, int64_t n)
{
	const struct blk_q2_K *b = src;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = qu_f16_to_f32(b->d), dmin = qu_f16_to_f32(b->dmin);
		for (int e = 0; e < QK_K; e++) {
			int j = e / 16, half = e / 128, l = e % 32, shift = 2 * ((e % 128) / 32);
			uint8_t sc = b->scales[j];
			float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
			*y++ = dl * (float)((b->qs[32 * half + l] >> shift) & 3) - ml;
		}
	}
}

/* ------------------------------------------------------------------- Q3_K */

void
qk_fit_q3_K_ref(const float *x, struct qk_fit *f)
{
	for (int j = 0; j < 16; j++)
		f->scales[j] = fit_q3(16, 4, x + 16 * j, (int8_t *)f->L + 16 * j);
}

void
qk_fit_q3_K_imatrix(const float *x, const float *qw, struct qk_fit *f)
{
	float w[16];
	float sigma2 = 2 * qk_sum_sq(x, QK_K) / QK_K;

	for (int j = 0; j < 16; j++) {
		float sw = 0;
		for (int l = 0; l < 16; l++)
			w[l] = qw[16 * j + l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
		for (int l = 0; l < 16; l++)
			sw += w[l];
		f->sw[j] = sw;
		f->scales[j] = fit_qx(16, 4, x + 16 * j, w, (int8_t *)f->L + 16 * j);
	}
}

static void
requant_q3_K(const float *x, struct blk_q3_K *y, const struct qk_fit *f, uint8_t *L,
    const struct qk_ops *ops)
{
	float d = qu_f16_to_f32(y->d);

	for (int j = 0; j < 16; j++) {
		float dj = d * (float)unpack_scale_q3(j, y->scales);
		if (!dj) {
			qk_fit_codes(f, j, 16, L + 16 * j);
			continue;
		}
		ops->requant(x + 16 * j, 16, dj, 0.0f, -4, 3, 4, L + 16 * j);
	}
	/* codes are 0..7: bit 2 of element e goes to bit e/32 of hmask[e%32]
	 * and the code keeps its low two bits (ggml: if (L > 3) L -= 4) */
	for (int m = 0; m < 32; m++) {
		unsigned h = 0;
		for (int k = 0; k < 8; k++) {
			h |= (unsigned)(L[32 * k + m] >> 2) << k;
			L[32 * k + m] &= 3;
		}
		y->hmask[m] = (uint8_t)h;
	}
	pack_2bit(L, y->qs);
}

void
qk_finish_q3_K_ref(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q3_K *y = out;
	float max_scale = 0, amax = 0;
	int l[16];

	for (int j = 0; j < 16; j++) {
		float a = fabsf(f->scales[j]);
		if (a > amax) {
			amax = a;
			max_scale = f->scales[j];
		}
	}
	if (max_scale != 0) {
		float iscale = -32.f / max_scale;
		for (int j = 0; j < 16; j++) {
			int8_t q = (int8_t)qk_nearest_int(iscale * f->scales[j]);
			l[j] = qk_clampi(q, -32, 31) + 32;
		}
		pack_scales_q3(l, y->scales);
		y->d = qu_f32_to_f16(1 / iscale);
	} else {
		memset(y->scales, 0, 12);
		y->d = qu_f32_to_f16(0.f);
	}
	requant_q3_K(x, y, f, f->L, ops);
}

void
qk_finish_q3_K_imatrix(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q3_K *y = out;
	int8_t Ls[16];
	int l[16];
	float d_block = fit_qx(16, 32, f->scales, f->sw, Ls);

	for (int j = 0; j < 16; j++)
		l[j] = Ls[j];
	pack_scales_q3(l, y->scales);
	y->d = qu_f32_to_f16(d_block);
	requant_q3_K(x, y, f, f->L, ops);
}

void
qk_dequantize_q3_K(const void *src, float *y, int64_t n)
{
	const struct blk_q3_K *b = src;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = qu_f16_to_f32(b->d);
		for (int e = 0; e < QK_K; e++) {
			int half = e / 128, l = e % 32, shift = 2 * ((e % 128) / 32);
			float dl = d * (float)unpack_scale_q3(e / 16, b->scales);
			int q = ((b->qs[32 * half + l] >> shift) & 3) -
			    ((b->hmask[l] >> (e / 32)) & 1 ? 0 : 4);
			*y++ = dl * (float)q;
		}
	}
}

/* -------------------------------------------------------- Q4_K and Q5_K */

/* The no-imatrix fit of Q4_K (nmax 15) and Q5_K (nmax 31): weights
 * av + |x| with av the sub-block's RMS. */
static void
fit_k32_ref(const float *x, struct qk_fit *f, const struct qk_search *sr)
{
	float w[32];

	for (int j = 0; j < 8; j++) {
		const float *xb = x + 32 * j;
		float av = sqrtf(qk_sum_sq(xb, 32) / 32);
		for (int l = 0; l < 32; l++)
			w[l] = av + fabsf(xb[l]);
		f->scales[j] = qk_fit_search(sr, xb, w, f->L + 32 * j, &f->mins[j]);
	}
}

static void
fit_k32_imatrix(const float *x, const float *qw, struct qk_fit *f, const struct qk_search *sr)
{
	float w[32];
	float sigma2 = 2 * qk_sum_sq(x, QK_K) / QK_K;

	for (int j = 0; j < 8; j++) {
		const float *xb = x + 32 * j;
		float sw = 0;
		for (int l = 0; l < 32; l++)
			w[l] = qw[32 * j + l] * sqrtf(sigma2 + xb[l] * xb[l]);
		for (int l = 0; l < 32; l++)
			sw += w[l];
		f->sw[j] = sw;
		f->scales[j] = qk_fit_search(sr, xb, w, f->L + 32 * j, &f->mins[j]);
	}
}

void qk_fit_q4_K_ref(const float *x, struct qk_fit *f) { fit_k32_ref(x, f, &qk_searches[QK_Q4_K][0]); }
void qk_fit_q5_K_ref(const float *x, struct qk_fit *f) { fit_k32_ref(x, f, &qk_searches[QK_Q5_K][0]); }
void qk_fit_q4_K_imatrix(const float *x, const float *qw, struct qk_fit *f) { fit_k32_imatrix(x, qw, f, &qk_searches[QK_Q4_K][1]); }
void qk_fit_q5_K_imatrix(const float *x, const float *qw, struct qk_fit *f) { fit_k32_imatrix(x, qw, f, &qk_searches[QK_Q5_K][1]); }

/* Max-based six-bit scales and mins (the no-imatrix path); d, dmin out. */
static void
scales_k32_ref(const struct qk_fit *f, uint8_t *s, uint16_t *d, uint16_t *dmin)
{
	float max_scale = 0, max_min = 0;
	uint8_t ls[8], lm[8];

	for (int j = 0; j < 8; j++) {
		if (f->scales[j] > max_scale)
			max_scale = f->scales[j];
		if (f->mins[j] > max_min)
			max_min = f->mins[j];
	}
	float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	for (int j = 0; j < 8; j++) {
		uint8_t a = (uint8_t)qk_nearest_int(inv_scale * f->scales[j]);
		uint8_t b = (uint8_t)qk_nearest_int(inv_min * f->mins[j]);
		ls[j] = a < 63 ? a : 63;
		lm[j] = b < 63 ? b : 63;
	}
	pack_scale_min_k4(ls, lm, s);
	*d = qu_f32_to_f16(max_scale / 63.f);
	*dmin = qu_f32_to_f16(max_min / 63.f);
}

/* make_qp-based scales (imatrix path).  Q5_K clamps the codes to 63, Q4_K
 * does not (they cannot exceed 63 unless a sub-scale is negative). */
static void
scales_k32_imatrix(const struct qk_fit *f, uint8_t *s, uint16_t *d, uint16_t *dmin, int clamp)
{
	uint8_t ls[8], lm[8];
	float d_block = qk_fit_qp(8, 63, f->scales, ls, f->sw);
	float m_block = qk_fit_qp(8, 63, f->mins, lm, f->sw);

	if (clamp)
		for (int j = 0; j < 8; j++) {
			ls[j] = ls[j] < 63 ? ls[j] : 63;
			lm[j] = lm[j] < 63 ? lm[j] : 63;
		}
	pack_scale_min_k4(ls, lm, s);
	*d = qu_f32_to_f16(d_block);
	*dmin = qu_f32_to_f16(m_block);
}

static void
requant_k32(const float *x, const uint8_t *s, uint16_t d16, uint16_t dmin16, int nmax,
    const struct qk_fit *f, uint8_t *L, const struct qk_ops *ops)
{
	float d = qu_f16_to_f32(d16), dmin = qu_f16_to_f32(dmin16);

	for (int j = 0; j < 8; j++) {
		uint8_t sc, m;
		unpack_scale_min_k4(j, s, &sc, &m);
		float dj = d * (float)sc;
		if (!dj) {
			qk_fit_codes(f, j, 32, L + 32 * j);
			continue;
		}
		float mj = dmin * (float)m;
		ops->requant(x + 32 * j, 32, dj, mj, 0, nmax, 0, L + 32 * j);
	}
}

QK_VECTORIZE static void
pack_q4_K(const uint8_t *restrict L, struct blk_q4_K *restrict y)
{
	for (int c = 0; c < 4; c++)
		for (int l = 0; l < 32; l++)
			y->qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

QK_VECTORIZE static void
pack_q5_K(const uint8_t *restrict L, struct blk_q5_K *restrict y)
{
	/* codes are 0..31: bit 4 of each goes to qh (ggml: if (l > 15) l -= 16
	 * and set the bit), the low four bits to qs */
	for (int l = 0; l < 32; l++) {
		unsigned h = 0;
		for (int c = 0; c < 4; c++) {
			unsigned a = L[64 * c + l], b = L[64 * c + 32 + l];
			h |= (a >> 4) << (2 * c) | (b >> 4) << (2 * c + 1);
			y->qs[32 * c + l] = (uint8_t)((a & 15) | (b & 15) << 4);
		}
		y->qh[l] = (uint8_t)h;
	}
}

void
qk_finish_q4_K_ref(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q4_K *y = out;

	scales_k32_ref(f, y->scales, &y->d, &y->dmin);
	requant_k32(x, y->scales, y->d, y->dmin, 15, f, f->L, ops);
	pack_q4_K(f->L, y);
}

void
qk_finish_q4_K_imatrix(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q4_K *y = out;

	scales_k32_imatrix(f, y->scales, &y->d, &y->dmin, 0);
	requant_k32(x, y->scales, y->d, y->dmin, 15, f, f->L, ops);
	pack_q4_K(f->L, y);
}

void
qk_finish_q5_K_ref(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q5_K *y = out;

	scales_k32_ref(f, y->scales, &y->d, &y->dmin);
	requant_k32(x, y->scales, y->d, y->dmin, 31, f, f->L, ops);
	pack_q5_K(f->L, y);
}

void
qk_finish_q5_K_imatrix(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q5_K *y = out;

	scales_k32_imatrix(f, y->scales, &y->d, &y->dmin, 1);
	requant_k32(x, y->scales, y->d, y->dmin, 31, f, f->L, ops);
	pack_q5_K(f->L, y);
}

void
qk_dequantize_q4_K(const void *src, float *y, int64_t n)
{
	const struct blk_q4_K *b = src;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = qu_f16_to_f32(b->d), dmin = qu_f16_to_f32(b->dmin);
		for (int j = 0; j < 8; j++) {
			uint8_t sc, m;
			unpack_scale_min_k4(j, b->scales, &sc, &m);
			float dj = d * (float)sc, mj = dmin * (float)m;
			const uint8_t *q = b->qs + 32 * (j / 2);
			for (int l = 0; l < 32; l++)
				*y++ = dj * (float)(j & 1 ? q[l] >> 4 : q[l] & 0xF) - mj;
		}
	}
}

void
qk_dequantize_q5_K(const void *src, float *y, int64_t n)
{
	const struct blk_q5_K *b = src;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = qu_f16_to_f32(b->d), dmin = qu_f16_to_f32(b->dmin);
		for (int j = 0; j < 8; j++) {
			uint8_t sc, m;
			unpack_scale_min_k4(j, b->scales, &sc, &m);
			float dj = d * (float)sc, mj = dmin * (float)m;
			const uint8_t *q = b->qs + 32 * (j / 2);
			for (int l = 0; l < 32; l++) {
				int lo = j & 1 ? q[l] >> 4 : q[l] & 0xF;
				int hi = (b->qh[l] >> j) & 1 ? 16 : 0;
				*y++ = dj * (float)(lo + hi) - mj;
			}
		}
	}
}

/* ------------------------------------------------------------------- Q6_K */

void
qk_fit_q6_K_ref(const float *x, struct qk_fit *f)
{
	for (int j = 0; j < 16; j++)
		f->scales[j] = fit_qx(16, 32, x + 16 * j, NULL, (int8_t *)f->L + 16 * j);
}

void
qk_fit_q6_K_imatrix(const float *x, const float *qw, struct qk_fit *f)
{
	for (int j = 0; j < 16; j++)
		f->scales[j] = fit_qx(16, 32, x + 16 * j, qw + 16 * j, (int8_t *)f->L + 16 * j);
}

/* Per 128-element half: ql holds the low nibbles of elements l and l+64
 * (and l+32, l+96), qh the high two bits of all four.  Plain byte
 * shuffling, so the compiler is asked to vectorize it. */
QK_VECTORIZE static void
pack_q6_K(const uint8_t *restrict L, uint8_t *restrict ql, uint8_t *restrict qh)
{
	for (int h = 0; h < 2; h++, L += 128, ql += 64, qh += 32)
		for (int l = 0; l < 32; l++) {
			ql[l] = (uint8_t)((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
			ql[l + 32] = (uint8_t)((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
			qh[l] = (uint8_t)((L[l] >> 4) | ((L[l + 32] >> 4) << 2) |
			    ((L[l + 64] >> 4) << 4) | ((L[l + 96] >> 4) << 6));
		}
}

/* Both paths finish alike. */
void
qk_finish_q6_K(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_q6_K *y = out;
	float max_scale = 0, max_abs = 0;
	uint8_t *L = f->L;

	for (int j = 0; j < 16; j++) {
		float a = fabsf(f->scales[j]);
		if (a > max_abs) {
			max_abs = a;
			max_scale = f->scales[j];
		}
	}
	if (max_abs < QK_GROUP_EPS) {
		memset(y, 0, sizeof *y);
		return;
	}
	float iscale = -128.f / max_scale;
	y->d = qu_f32_to_f16(1 / iscale);
	for (int j = 0; j < 16; j++) {
		int q = qk_nearest_int(iscale * f->scales[j]);
		y->scales[j] = (int8_t)(q < 127 ? q : 127);
	}
	float d = qu_f16_to_f32(y->d);
	for (int j = 0; j < 16; j++) {
		float dj = d * (float)y->scales[j];
		if (!dj) {
			qk_fit_codes(f, j, 16, L + 16 * j);
			continue;
		}
		ops->requant(x + 16 * j, 16, dj, 0.0f, -32, 31, 32, L + 16 * j);
	}
	pack_q6_K(L, y->ql, y->qh);
}

void
qk_dequantize_q6_K(const void *src, float *y, int64_t n)
{
	const struct blk_q6_K *b = src;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = qu_f16_to_f32(b->d);
		for (int e = 0; e < QK_K; e++) {
			int h = e / 128, k = (e % 128) / 32, l = e % 32;
			int lo = (b->ql[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1))) & 0xF;
			int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
			*y++ = d * (float)b->scales[e / 16] * (float)((lo | (hi << 4)) - 32);
		}
	}
}

/* ----------------------------------------------------------------- IQ4_XS */

/* The IQ4_NL codebook is defined once, in quant_simple.c. */

/* best_index_int8: nearest codebook entry, exact ties to the upper one. */
int
qk_iq4_index(float x)
{
	const int8_t *v = qk_iq4nl_values;
	int lo = 0, hi = 15;

	if (x <= (float)v[0])
		return 0;
	if (x >= (float)v[15])
		return 15;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (x < (float)v[mid])
			hi = mid;
		else
			lo = mid;
	}
	return x - (float)v[hi - 1] < (float)v[hi] - x ? hi - 1 : hi;
}

/* One 32-element sub-block of quantize_row_iq4_nl_impl with ntry 7:
 * returns its scale. */
float
qk_fit_iq4_sub(const float *xb, const float *w)
{
	const int8_t *v = qk_iq4nl_values;
	float amax = 0, max = 0;

	for (int j = 0; j < 32; j++) {
		float ax = fabsf(xb[j]);
		if (ax > amax) {
			amax = ax;
			max = xb[j];
		}
	}
	if (amax < QK_GROUP_EPS)
		return 0;
	float d = -max / (float)v[0];
	float id = 1 / d;
	float sumqx = 0, sumq2 = 0;
	for (int j = 0; j < 32; j++) {
		float q = (float)v[qk_iq4_index(id * xb[j])];
		sumqx += w[j] * q * xb[j];
		sumq2 += w[j] * q * q;
	}
	d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
	float best = d * sumqx;
	for (int t = -7; t <= 7; t++) {
		id = (float)(t + v[0]) / max;
		sumqx = sumq2 = 0;
		for (int j = 0; j < 32; j++) {
			float q = (float)v[qk_iq4_index(id * xb[j])];
			sumqx += w[j] * q * xb[j];
			sumq2 += w[j] * q * q;
		}
		if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
			d = sumqx / sumq2;
			best = d * sumqx;
		}
	}
	return d;
}

/* Sub-block weights: x*x, or qw*sqrt(sigma2 + x*x) with sigma2 = 2<x^2>. */
void
qk_weights_iq4_xs(const float *x, const float *qw, float *w)
{
	if (qw) {
		float sigma2 = qk_sum_sq(x, QK_K);
		sigma2 *= 2.f / QK_K;
		for (int j = 0; j < QK_K; j++)
			w[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
	} else {
		for (int j = 0; j < QK_K; j++)
			w[j] = x[j] * x[j];
	}
}

void
qk_fit_iq4_xs_ref(const float *x, const float *qw, struct qk_fit *f)
{
	float w[QK_K];

	qk_weights_iq4_xs(x, qw, w);
	for (int ib = 0; ib < 8; ib++)
		f->scales[ib] = qk_fit_iq4_sub(x + 32 * ib, w + 32 * ib);
}

void
qk_finish_iq4_xs(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops)
{
	struct blk_iq4_xs *y = out;
	float max_scale = 0, amax = 0;
	uint8_t *L = f->L;

	for (int ib = 0; ib < 8; ib++) {
		float a = fabsf(f->scales[ib]);
		if (a > amax) {
			amax = a;
			max_scale = f->scales[ib];
		}
	}
	float d = -max_scale / 32;
	float id = d ? 1 / d : 0.f;
	y->d = qu_f32_to_f16(d);
	y->scales_h = 0;
	memset(y->scales_l, 0, sizeof y->scales_l);
	for (int ib = 0; ib < 8; ib++) {
		int l = qk_clampi(qk_nearest_int(id * f->scales[ib]), -32, 31);
		float dl = d * (float)l;
		float idl = dl ? 1 / dl : 0.f;
		ops->iq4_codes(x + 32 * ib, 32, idl, L + 32 * ib);
		l += 32;
		y->scales_l[ib / 2] |= (uint8_t)((l & 0xF) << (4 * (ib % 2)));
		y->scales_h |= (uint16_t)((l >> 4) << (2 * ib));
	}
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 16; j++)
			y->qs[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

void
qk_dequantize_iq4_xs(const void *src, float *y, int64_t n)
{
	const struct blk_iq4_xs *b = src;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = qu_f16_to_f32(b->d);
		for (int ib = 0; ib < 8; ib++) {
			int ls = ((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) |
			    (((b->scales_h >> (2 * ib)) & 3) << 4);
			float dl = d * (float)(ls - 32);
			const uint8_t *q = b->qs + 16 * ib;
			for (int j = 0; j < 32; j++)
				*y++ = dl * (float)qk_iq4nl_values[j < 16 ? q[j] & 0xF : q[j - 16] >> 4];
		}
	}
}

/* ------------------------------------------------------------ row drivers */

/* One table row per format: how to fit a super-block with and without an
 * importance vector, and how to finish it. */
const struct qk_search qk_searches[QK_NFORMATS][2] = {
	[QK_Q2_K] = { { 16, 3, -0.5f, 0.1f, 15, 1 }, { 16, 3, -0.9f, 0.05f, 36, 0 } },
	[QK_Q4_K] = { { 32, 15, -1.f, 0.1f, 20, 0 }, { 32, 15, -0.9f, 0.05f, 36, 0 } },
	[QK_Q5_K] = { { 32, 31, -0.5f, 0.1f, 15, 0 }, { 32, 31, -0.9f, 0.05f, 36, 0 } },
};

const struct qk_format qk_formats[QK_NFORMATS] = {
	[QK_Q2_K] = { sizeof(struct blk_q2_K), qk_fit_q2_K_ref, qk_fit_q2_K_imatrix,
		qk_finish_q2_K_ref, qk_finish_q2_K_imatrix },
	[QK_Q3_K] = { sizeof(struct blk_q3_K), qk_fit_q3_K_ref, qk_fit_q3_K_imatrix,
		qk_finish_q3_K_ref, qk_finish_q3_K_imatrix },
	[QK_Q4_K] = { sizeof(struct blk_q4_K), qk_fit_q4_K_ref, qk_fit_q4_K_imatrix,
		qk_finish_q4_K_ref, qk_finish_q4_K_imatrix },
	[QK_Q5_K] = { sizeof(struct blk_q5_K), qk_fit_q5_K_ref, qk_fit_q5_K_imatrix,
		qk_finish_q5_K_ref, qk_finish_q5_K_imatrix },
	[QK_Q6_K] = { sizeof(struct blk_q6_K), qk_fit_q6_K_ref, qk_fit_q6_K_imatrix,
		qk_finish_q6_K, qk_finish_q6_K },
	[QK_IQ4_XS] = { sizeof(struct blk_iq4_xs), NULL, NULL,
		qk_finish_iq4_xs, qk_finish_iq4_xs },
};

/* The scalar reference of a format: block after block, row after row (the
 * importance vector is indexed by the position in the row). */
void
qk_quantize_rows_ref(int fmt, const float *src, void *dst, int64_t nrows,
    int64_t n_per_row, const float *qw)
{
	const struct qk_format *F = &qk_formats[fmt];
	unsigned char *out = dst;
	int64_t nb = n_per_row / QK_K;
	struct qk_fit f;

	for (int64_t r = 0; r < nrows; r++)
		for (int64_t b = 0; b < nb; b++, out += F->block_bytes) {
			const float *x = src + r * n_per_row + b * QK_K;
			const float *w = qw ? qw + b * QK_K : NULL;
			f.Lt = NULL;
			if (fmt == QK_IQ4_XS)
				qk_fit_iq4_xs_ref(x, w, &f);
			else if (w)
				F->fit_imatrix(x, w, &f);
			else
				F->fit_ref(x, &f);
			(w ? F->finish_imatrix : F->finish_ref)(x, &f, out, &qk_ops_ref);
		}
}

#define QK_REF(t, id) \
	void qk_quantize_##t##_ref(const float *src, void *dst, int64_t nrows, \
	    int64_t n_per_row, const float *imatrix) \
	{ qk_quantize_rows_ref(id, src, dst, nrows, n_per_row, imatrix); }
QK_REF(q2_K, QK_Q2_K)
QK_REF(q3_K, QK_Q3_K)
QK_REF(q4_K, QK_Q4_K)
QK_REF(q5_K, QK_Q5_K)
QK_REF(q6_K, QK_Q6_K)
QK_REF(iq4_xs, QK_IQ4_XS)
