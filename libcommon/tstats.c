/* tstats: chunk statistics, scalar reference and AVX2 variant. */
#include <math.h>

#include "cpu.h"
#include "tstats.h"

#if QU_X86_KERNELS
#include <immintrin.h>
#endif

#define LANES 8

struct tstats
tstats_empty(void)
{
	return (struct tstats){ .min = INFINITY, .max = -INFINITY };
}

/* What both variants do once their lanes are filled: fold the lanes in
 * order, split the non-finite count only when there is one. */
static void
finish_pass1(struct tstats *s, const float *x, size_t n, const float *mn, const float *mx,
    const double *sum, uint64_t finite, uint64_t zeros, double *mean)
{
	double total = 0;

	for (int l = 0; l < LANES; l++) {
		s->min = mn[l] < s->min ? mn[l] : s->min;
		s->max = mx[l] > s->max ? mx[l] : s->max;
		total += sum[l];
	}
	s->finite = finite;
	s->zeros = zeros;
	if (finite < n)
		for (size_t i = 0; i < n; i++) {
			s->nan += isnan(x[i]) != 0;
			s->inf += isinf(x[i]) != 0;
		}
	s->absmax = fabs(s->min) > fabs(s->max) ? fabs(s->min) : fabs(s->max);
	if (finite + s->inf == 0)
		s->absmax = 0;
	*mean = finite ? total / (double)finite : 0;
	s->mean = *mean;
}

struct tstats
tstats_chunk_ref(const float *x, size_t n)
{
	struct tstats s = tstats_empty();
	float mn[LANES], mx[LANES];
	double sum[LANES] = { 0 }, m2[LANES] = { 0 }, mean;
	uint64_t finite = 0, zeros = 0;
	size_t i, nb = n / LANES * LANES;

	for (int l = 0; l < LANES; l++)
		mn[l] = INFINITY, mx[l] = -INFINITY;
	/* element i goes to lane i % 8, the tail to lane 0 */
	for (i = 0; i < n; i++) {
		int l = i < nb ? (int)(i % LANES) : 0;
		float v = x[i];
		int f = fabsf(v) < INFINITY;	/* false for NaN and +-Inf */

		mn[l] = v < mn[l] ? v : mn[l];	/* a NaN compares false: skipped */
		mx[l] = v > mx[l] ? v : mx[l];
		sum[l] += f ? (double)v : 0.0;
		finite += (uint64_t)f;
		zeros += v == 0;
	}
	finish_pass1(&s, x, n, mn, mx, sum, finite, zeros, &mean);
	if (finite == 0)
		return s;
	for (i = 0; i < n; i++) {
		int l = i < nb ? (int)(i % LANES) : 0;
		double d = (double)x[i] - mean;

		m2[l] += fabsf(x[i]) < INFINITY ? d * d : 0.0;
	}
	for (int l = 0; l < LANES; l++)
		s.m2 += m2[l];
	return s;
}

#if QU_X86_KERNELS
/* Lanes 0-3 in the low __m256d, 4-7 in the high one: the reference's
 * order exactly.  Masks zero the non-finite values before they are summed,
 * as the reference adds 0.0 for them. */
QU_TARGET_AVX2 static struct tstats
tstats_chunk_avx2(const float *x, size_t n)
{
	struct tstats s = tstats_empty();
	const __m256 inf = _mm256_set1_ps(INFINITY), sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps();
	__m256 vmn = inf, vmx = _mm256_set1_ps(-INFINITY);
	__m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
	float mn[LANES], mx[LANES];
	double sum[LANES], m2[LANES], mean;
	uint64_t finite = 0, zeros = 0;
	size_t i, nb = n / LANES * LANES;

	for (i = 0; i < nb; i += LANES) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m256 f = _mm256_cmp_ps(_mm256_andnot_ps(sign, v), inf, _CMP_LT_OQ);
		__m256 fv = _mm256_and_ps(v, f);

		vmn = _mm256_min_ps(v, vmn);	/* v < mn ? v : mn, NaN v keeps mn */
		vmx = _mm256_max_ps(v, vmx);
		lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(fv)));
		hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(fv, 1)));
		finite += (uint64_t)__builtin_popcount((unsigned)_mm256_movemask_ps(f));
		zeros += (uint64_t)__builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_EQ_OQ)));
	}
	_mm256_storeu_ps(mn, vmn);
	_mm256_storeu_ps(mx, vmx);
	_mm256_storeu_pd(sum, lo);
	_mm256_storeu_pd(sum + 4, hi);
	for (; i < n; i++) {	/* the tail, to lane 0 as in the reference */
		float v = x[i];
		int f = fabsf(v) < INFINITY;

		mn[0] = v < mn[0] ? v : mn[0];
		mx[0] = v > mx[0] ? v : mx[0];
		sum[0] += f ? (double)v : 0.0;
		finite += (uint64_t)f;
		zeros += v == 0;
	}
	finish_pass1(&s, x, n, mn, mx, sum, finite, zeros, &mean);
	if (finite == 0)
		return s;
	{
		const __m256d vmean = _mm256_set1_pd(mean), dinf = _mm256_set1_pd(INFINITY);
		const __m256d dsign = _mm256_set1_pd(-0.0);
		__m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd();

		for (i = 0; i < nb; i += LANES) {
			__m256 v = _mm256_loadu_ps(x + i);
			__m256d v0 = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
			__m256d v1 = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
			__m256d d0 = _mm256_sub_pd(v0, vmean), d1 = _mm256_sub_pd(v1, vmean);
			__m256d f0 = _mm256_cmp_pd(_mm256_andnot_pd(dsign, v0), dinf, _CMP_LT_OQ);
			__m256d f1 = _mm256_cmp_pd(_mm256_andnot_pd(dsign, v1), dinf, _CMP_LT_OQ);

			a = _mm256_add_pd(a, _mm256_and_pd(_mm256_mul_pd(d0, d0), f0));
			b = _mm256_add_pd(b, _mm256_and_pd(_mm256_mul_pd(d1, d1), f1));
		}
		_mm256_storeu_pd(m2, a);
		_mm256_storeu_pd(m2 + 4, b);
	}
	for (; i < n; i++) {
		double d = (double)x[i] - mean;

		m2[0] += fabsf(x[i]) < INFINITY ? d * d : 0.0;
	}
	for (int l = 0; l < LANES; l++)
		s.m2 += m2[l];
	return s;
}
#endif

struct tstats
tstats_chunk(const float *x, size_t n)
{
#if QU_X86_KERNELS
	if (qcpu_level() >= QCPU_AVX2)
		return tstats_chunk_avx2(x, n);
#endif
	return tstats_chunk_ref(x, n);
}

void
tstats_merge(struct tstats *a, const struct tstats *b)
{
	uint64_t n = a->finite + b->finite;

	if (b->finite) {
		double d = b->mean - a->mean;

		a->m2 += b->m2 + d * d * (double)a->finite * (double)b->finite / (double)n;
		a->mean += d * (double)b->finite / (double)n;
	}
	a->finite = n;
	a->zeros += b->zeros;
	a->nan += b->nan;
	a->inf += b->inf;
	if (b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
	if (b->absmax > a->absmax)
		a->absmax = b->absmax;
}
