#include <string.h>

#include "cpu.h"
#include "dtype.h"
#include "widen.h"

#if QU_X86_KERNELS
#include <immintrin.h>
#endif

void
widen_f16_ref(const void *src, float *dst, size_t n)
{
	const unsigned char *p = src;
	uint16_t h;

	for (size_t i = 0; i < n; i++) {
		memcpy(&h, p + 2 * i, 2);
		dst[i] = qu_f16_to_f32(h);
	}
}

void
widen_bf16_ref(const void *src, float *dst, size_t n)
{
	const unsigned char *p = src;
	uint16_t h;

	for (size_t i = 0; i < n; i++) {
		memcpy(&h, p + 2 * i, 2);
		dst[i] = qu_bf16_to_f32(h);
	}
}

#if QU_X86_KERNELS
/* vcvtph2ps quiets signalling NaNs; the reference keeps the payload as
 * is, so a vector with a NaN (exponent all ones, mantissa non-zero) is
 * converted by the reference instead. */
QU_TARGET_AVX512 static void
widen_f16_avx512(const void *src, float *dst, size_t n)
{
	const uint16_t *s = src;
	size_t i = 0;
	const __m256i expo = _mm256_set1_epi16(0x7c00), mag = _mm256_set1_epi16(0x7fff);

	for (; i + 16 <= n; i += 16) {
		__m256i h = _mm256_loadu_si256((const __m256i *)(s + i));
		__m256i a = _mm256_and_si256(h, mag);

		if (_mm256_movemask_epi8(_mm256_cmpgt_epi16(a, expo)))
			widen_f16_ref(s + i, dst + i, 16);
		else
			_mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
	}
	widen_f16_ref(s + i, dst + i, n - i);
}

QU_TARGET_AVX2 static void
widen_f16_avx2(const void *src, float *dst, size_t n)
{
	const uint16_t *s = src;
	size_t i = 0;
	const __m128i expo = _mm_set1_epi16(0x7c00), mag = _mm_set1_epi16(0x7fff);

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(s + i));

		if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(h, mag), expo)))
			widen_f16_ref(s + i, dst + i, 8);
		else
			_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
	}
	widen_f16_ref(s + i, dst + i, n - i);
}

QU_TARGET_AVX512 static void
widen_bf16_avx512(const void *src, float *dst, size_t n)
{
	const uint16_t *s = src;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(s + i)));

		_mm512_storeu_si512((void *)(dst + i), _mm512_slli_epi32(w, 16));
	}
	widen_bf16_ref(s + i, dst + i, n - i);
}

QU_TARGET_AVX2 static void
widen_bf16_avx2(const void *src, float *dst, size_t n)
{
	const uint16_t *s = src;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i)));

		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(w, 16));
	}
	widen_bf16_ref(s + i, dst + i, n - i);
}
#endif

typedef void (*widen_fn)(const void *, float *, size_t);

static const widen_fn f16_variants[QCPU_NLEVELS] = {
	widen_f16_ref, QU_AVX2(widen_f16_avx2), QU_AVX512(widen_f16_avx512)
};
static const widen_fn bf16_variants[QCPU_NLEVELS] = {
	widen_bf16_ref, QU_AVX2(widen_bf16_avx2), QU_AVX512(widen_bf16_avx512)
};

static widen_fn
pick(const widen_fn *v)
{
	for (int l = (int)qcpu_level(); l >= 0; l--)
		if (v[l])
			return v[l];
	return v[0];
}

void
widen_f16(const void *src, float *dst, size_t n)
{
	pick(f16_variants)(src, dst, n);
}

void
widen_bf16(const void *src, float *dst, size_t n)
{
	pick(bf16_variants)(src, dst, n);
}
