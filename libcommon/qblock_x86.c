/* AVX2 and AVX-512 kernels of qblock's mse search (qblock_impl.h): many
 * candidate scales of one group at once, one candidate per lane.  The
 * scalar reference is group_sse in qblock.c; each lane repeats its binary32
 * operations in the same order:
 *
 *   - ggml codes: x * (1/d) + offset (q4_1, q5_1: (x - m) * (1/d) + 1/2)
 *     clamped to [0, top] then truncated, which is the reference's "0 below
 *     1 or NaN, top from top on, else truncate" (max_ps returns its second
 *     operand, 0, for a NaN); q8_0's roundf is truncation plus a step when
 *     the exact remainder is at least one half, and a NaN gives the
 *     0x80000000 of the reference's cvttss2si;
 *   - f16(d), f16(m) by the F16C conversion, round to nearest even like
 *     qu_f32_to_f16;
 *   - E2M1 by the reference's boundaries, tested from the largest down so
 *     that an unordered value ends at code 7 as there;
 *   - each lane's error sum in double, element by element.
 * No fused multiply-add anywhere (the build has -ffp-contract=off). */
#include <string.h>

#include "qblock_impl.h"

#if QU_X86_KERNELS
#include <immintrin.h>

/* the per-format constants of the ggml element rule */
struct ggml_rule {
	float offset;	/* added after the scaling: 8.5, 16.5, or 0.5 with a minimum */
	float top;	/* largest code */
	float zero;	/* code of 0 subtracted before scaling back (q4_0 8, q5_0 16) */
	int has_min;
};

static struct ggml_rule
ggml_rule_of(enum qfmt f)
{
	switch (f) {
	case QF_Q4_0: return (struct ggml_rule){ 8.5f, 15, 8, 0 };
	case QF_Q5_0: return (struct ggml_rule){ 16.5f, 31, 16, 0 };
	case QF_Q4_1: return (struct ggml_rule){ 0.5f, 15, 0, 1 };
	default: return (struct ggml_rule){ 0.5f, 31, 0, 1 };	/* Q5_1 */
	}
}

/* E2M1 magnitudes by boundary, from the top: where |r| is at or under
 * (LE) or under (LT) a boundary the magnitude drops to the next one down.
 * STEP(edge, below, predicate) for each, as the comparison's predicate must
 * be a constant. */
#define E2M1_STEPS(STEP) \
	STEP(5.0f, 4.0f, LE) STEP(3.5f, 3.0f, LT) STEP(2.5f, 2.0f, LE) STEP(1.75f, 1.5f, LT) \
	STEP(1.25f, 1.0f, LE) STEP(0.75f, 0.5f, LT) STEP(0.25f, 0.0f, LE)

/* AVX-512: 16 candidates a pass */
#define VL 16
#define K(name) name##_avx512
#define KFN QU_TARGET_AVX512 static inline
#define KTARGET QU_TARGET_AVX512
#define VF __m512
#define VD __m512d
#define VMASK __mmask16
#define VSET1(f) _mm512_set1_ps(f)
#define VSET1D(d) _mm512_set1_pd(d)
#define VZEROD _mm512_setzero_pd()
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VDIV(a, b) _mm512_div_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VOR(a, b) _mm512_or_ps(a, b)
#define VADDD(a, b) _mm512_add_pd(a, b)
#define VSUBD(a, b) _mm512_sub_pd(a, b)
#define VMULD(a, b) _mm512_mul_pd(a, b)
#define VLOAD_FIRST(p, n, f) _mm512_mask_loadu_ps(_mm512_set1_ps(f), (__mmask16)((1u << (n)) - 1), p)
#define VSTORED(p, v) _mm512_storeu_pd(p, v)
#define VTRUNC(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
#define VF16(v) _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define VABS(v) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)))
#define VSIGN(v) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)))
#define VCMP(a, b, P) _mm512_cmp_ps_mask(a, b, P)
#define VSEL(m, a, b) _mm512_mask_mov_ps(b, m, a)
#define VADD_IF(m, a, b) _mm512_mask_add_ps(a, m, a, b)
#define VRECIP_NZ(v) _mm512_maskz_div_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ), \
	_mm512_set1_ps(1.0f), v)
#define VTOD_LO(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define VTOD_HI(v) _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
#define VGT_BITS(a, b) ((int)_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ))
#include "qblock_lanes.h"
#include "qblock_lanes_undef.h"

/* AVX2: 8 candidates a pass; masks are all-ones lanes */
QU_TARGET_AVX2 static inline __m256i
lanes_below(int n)	/* all ones in lanes 0..n-1 */
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define VL 8
#define K(name) name##_avx2
#define KFN QU_TARGET_AVX2 static inline
#define KTARGET QU_TARGET_AVX2
#define VF __m256
#define VD __m256d
#define VMASK __m256
#define VSET1(f) _mm256_set1_ps(f)
#define VSET1D(d) _mm256_set1_pd(d)
#define VZEROD _mm256_setzero_pd()
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VDIV(a, b) _mm256_div_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VOR(a, b) _mm256_or_ps(a, b)
#define VADDD(a, b) _mm256_add_pd(a, b)
#define VSUBD(a, b) _mm256_sub_pd(a, b)
#define VMULD(a, b) _mm256_mul_pd(a, b)
#define VLOAD_FIRST(p, n, f) _mm256_blendv_ps(_mm256_set1_ps(f), _mm256_maskload_ps(p, lanes_below(n)), \
	_mm256_castsi256_ps(lanes_below(n)))
#define VSTORED(p, v) _mm256_storeu_pd(p, v)
#define VTRUNC(v) _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
#define VF16(v) _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define VABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define VSIGN(v) _mm256_and_ps(v, _mm256_set1_ps(-0.0f))
#define VCMP(a, b, P) _mm256_cmp_ps(a, b, P)
#define VSEL(m, a, b) _mm256_blendv_ps(b, a, m)
#define VADD_IF(m, a, b) _mm256_add_ps(a, _mm256_and_ps(m, b))
#define VRECIP_NZ(v) _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), v), \
	_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ))
#define VTOD_LO(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define VTOD_HI(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#define VGT_BITS(a, b) _mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_GT_OQ))
#include "qblock_lanes.h"
#include "qblock_lanes_undef.h"

#else
typedef int qblock_x86_unused;	/* ISO C wants a declaration in every file */
#endif
