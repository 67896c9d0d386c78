/* Vectorized K-quant fitting (see quant_k.h, quant_k_lanes.h) and the
 * run-time choice of variant; finishing a block stays in quant_k.c with
 * vectorized element-wise helpers. */
#include <string.h>

#include "cpu.h"

#include "quant_k.h"
#include "quant_impl.h"	/* includes quant_k_impl.h; qk_fit_symmetric */

enum { V_SCALAR = QCPU_SCALAR, V_AVX2 = QCPU_AVX2, V_AVX512 = QCPU_AVX512 };
static const char *const variant_names[] = { "scalar", "avx2", "avx512" };

/* The plain quantizers run the level of cpu.h (detected, lowered by
 * QUTILS_SIMD); a test may name any variant the machine has. */
const char *
qk_variant(void)
{
	return variant_names[qcpu_level()];
}

/* The variant of that name this machine runs, or -1. */
static int
variant_named(const char *name)
{
	for (int v = 0; v < 3; v++)
		if (strcmp(name, variant_names[v]) == 0)
			return v <= (int)qcpu_detected() ? v : -1;
	return -1;
}

int
qk_has_variant(const char *variant)
{
	return variant_named(variant) >= 0;
}

#if QU_X86_KERNELS
#include <immintrin.h>
#define HAVE_LANES 1

/* Every function of the included body gets the target attribute. */
#define TARGET_PRAGMA(x) _Pragma(#x)
#ifdef __clang__
#define TARGET_BEGIN(t) TARGET_PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
#define TARGET_END TARGET_PRAGMA(clang attribute pop)
#else
#define TARGET_BEGIN(t) TARGET_PRAGMA(GCC push_options) TARGET_PRAGMA(GCC target(t))
#define TARGET_END TARGET_PRAGMA(GCC pop_options)
#endif

TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx512dq")
#define VL 16
#define vf vf16
#define vi vi16
#define K(name) name##_avx512
#define VSQRT(v) ((vf)_mm512_sqrt_ps((__m512)(v)))
#define VANY(m) (_mm512_test_epi32_mask((__m512i)(m), (__m512i)(m)) != 0)
#define VGATHER(base, idx) ((vf)_mm512_i32gather_ps((__m512i)(idx), (base), 4))
#define VSEL(m, a, b) ((vf)_mm512_mask_blend_ps(_mm512_movepi32_mask((__m512i)(m)), (__m512)(b), (__m512)(a)))
#define VMAXI(a, b) ((vi)_mm512_max_epi32((__m512i)(a), (__m512i)(b)))
#define VMINI(a, b) ((vi)_mm512_min_epi32((__m512i)(a), (__m512i)(b)))
#define VRINT(a) ((vf)_mm512_roundscale_ps((__m512)(a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define VMAXF(a, b) ((vf)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define VMINF(a, b) ((vf)_mm512_min_ps((__m512)(a), (__m512)(b)))
#include "quant_k_lanes.h"
#undef VL
#undef vf
#undef vi
#undef K
#undef VSQRT
#undef VANY
#undef VGATHER
#undef VSEL
#undef VMAXI
#undef VMINI
#undef VRINT
#undef VMAXF
#undef VMINF
TARGET_END

TARGET_BEGIN("avx2")
#define VL 8
#define vf vf8
#define vi vi8
#define K(name) name##_avx2
#define VSQRT(v) ((vf)_mm256_sqrt_ps((__m256)(v)))
#define VANY(m) (_mm256_movemask_ps((__m256)(m)) != 0)
#define VGATHER(base, idx) ((vf)_mm256_i32gather_ps((base), (__m256i)(idx), 4))
#define VSEL(m, a, b) ((vf)_mm256_blendv_ps((__m256)(b), (__m256)(a), (__m256)(m)))
#define VMAXI(a, b) ((vi)_mm256_max_epi32((__m256i)(a), (__m256i)(b)))
#define VMINI(a, b) ((vi)_mm256_min_epi32((__m256i)(a), (__m256i)(b)))
#define VRINT(a) ((vf)_mm256_round_ps((__m256)(a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define VMAXF(a, b) ((vf)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define VMINF(a, b) ((vf)_mm256_min_ps((__m256)(a), (__m256)(b)))
#include "quant_k_lanes.h"
#undef VL
#undef vf
#undef vi
#undef K
#undef VSQRT
#undef VANY
#undef VGATHER
#undef VSEL
#undef VMAXI
#undef VMINI
TARGET_END
#endif

#ifdef HAVE_LANES
static const struct qk_ops ops_avx512 = { requant_avx512, iq4_codes_avx512 };
static const struct qk_ops ops_avx2 = { requant_avx2, iq4_codes_avx2 };
#endif

static const struct qk_ops *
ops_for(int v)
{
#ifdef HAVE_LANES
	if (v == V_AVX512)
		return &ops_avx512;
	if (v == V_AVX2)
		return &ops_avx2;
#endif
	(void)v;
	return &qk_ops_ref;
}

typedef void (*fit_blocks_fn)(int fmt, const float *const *xb, const float *const *qw, int nblk,
    struct qk_fit *f, uint8_t *Lt);

/* The fitting stage of the chosen variant, NULL where the reference runs. */
static fit_blocks_fn
lanes_for(int v)
{
	(void)v;
#ifdef HAVE_LANES
	if (v == V_AVX512)
		return fit_blocks_avx512;
	if (v == V_AVX2)
		return fit_blocks_avx2;
#endif
	return NULL;
}

#define BATCH 16	/* super-blocks fitted together */

static void
quantize_rows(int fmt, int v, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
    const float *qw)
{
	const struct qk_format *F = &qk_formats[fmt];
	fit_blocks_fn fit = lanes_for(v);
	const struct qk_ops *ops = ops_for(v);
	int64_t nb_row = n_per_row / QK_K, total = nrows * nb_row;
	struct qk_fit f[BATCH];
	uint8_t Lt[BATCH * QK_K + 16 * 32];	/* transposed codes, see qk_fit */
	const float *xb[BATCH], *qwb[BATCH];

	if (!fit) {
		qk_quantize_rows_ref(fmt, src, dst, nrows, n_per_row, qw);
		return;
	}
	for (int64_t k0 = 0; k0 < total; k0 += BATCH) {
		int nblk = total - k0 < BATCH ? (int)(total - k0) : BATCH;
		for (int b = 0; b < nblk; b++) {
			xb[b] = src + (k0 + b) * QK_K;
			qwb[b] = qw ? qw + ((k0 + b) % nb_row) * QK_K : NULL;
		}
		fit(fmt, xb, qwb, nblk, f, Lt);
		for (int b = 0; b < nblk; b++)
			(qw ? F->finish_imatrix : F->finish_ref)(xb[b], &f[b],
			    (unsigned char *)dst + (k0 + b) * F->block_bytes, ops);
	}
}

#define QK_FAST(t, id) \
	void qk_quantize_##t(const float *src, void *dst, int64_t nrows, \
	    int64_t n_per_row, const float *imatrix) \
	{ quantize_rows(id, (int)qcpu_level(), src, dst, nrows, n_per_row, imatrix); }
QK_FAST(q2_K, QK_Q2_K)
QK_FAST(q3_K, QK_Q3_K)
QK_FAST(q4_K, QK_Q4_K)
QK_FAST(q5_K, QK_Q5_K)
QK_FAST(q6_K, QK_Q6_K)
QK_FAST(iq4_xs, QK_IQ4_XS)

int
qk_quantize_variant(const char *variant, enum qfmt f, const float *src, void *dst,
    int64_t nrows, int64_t n_per_row, const float *imatrix)
{
	static const struct { enum qfmt f; int qk; } formats[] = {
		{ QF_Q2_K, QK_Q2_K }, { QF_Q3_K, QK_Q3_K }, { QF_Q4_K, QK_Q4_K },
		{ QF_Q5_K, QK_Q5_K }, { QF_Q6_K, QK_Q6_K }, { QF_IQ4_XS, QK_IQ4_XS },
	};
	int v = variant_named(variant);

	for (size_t i = 0; v >= 0 && i < sizeof formats / sizeof formats[0]; i++)
		if (formats[i].f == f) {
			quantize_rows(formats[i].qk, v, src, dst, nrows, n_per_row, imatrix);
			return 0;
		}
	return -1;
}
