/* Vectorized K-quant fitting (see quant_k.h) and the run-time choice of
 * variant.  Filled in below; until a format has a vector kernel its plain
 * quantizer is the scalar reference. */
#include <stdlib.h>
#include <string.h>

#include "quant_k.h"
#include "quant_k_impl.h"

enum { V_SCALAR, V_AVX2, V_AVX512 };
static const char *const variant_names[] = { "scalar", "avx2", "avx512" };
static int variant = -1;

static int
cpu_can(int v)
{
#if defined(QU_SCALAR_ONLY) || !(defined(__x86_64__) || defined(__i386__))
	return v == V_SCALAR;
#else
	__builtin_cpu_init();
	switch (v) {
	case V_SCALAR: return 1;
	case V_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	case V_AVX512: return __builtin_cpu_supports("avx512f") &&
		__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
	}
	return 0;
#endif
}

static int
pick_variant(void)
{
	const char *env = getenv("QUTILS_SIMD");

	if (variant >= 0)
		return variant;
	if (env && *env)
		for (int v = 0; v < 3; v++)
			if (strcmp(env, variant_names[v]) == 0 && cpu_can(v))
				return variant = v;
	for (int v = V_AVX512; v >= V_SCALAR; v--)
		if (cpu_can(v))
			return variant = v;
	return variant = V_SCALAR;
}

const char *
qk_variant(void)
{
	return variant_names[pick_variant()];
}

int
qk_force_variant(const char *name)
{
	if (strcmp(name, "auto") == 0) {
		variant = -1;
		(void)pick_variant();
		return 0;
	}
	for (int v = 0; v < 3; v++)
		if (strcmp(name, variant_names[v]) == 0) {
			if (!cpu_can(v))
				return -1;
			variant = v;
			return 0;
		}
	return -1;
}

static void
quantize_rows(int fmt, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
    const float *qw)
{
	(void)pick_variant();
	qk_quantize_rows_ref(fmt, src, dst, nrows, n_per_row, qw);
}

#define QK_FAST(t, id) \
	void qk_quantize_##t(const float *src, void *dst, int64_t nrows, \
	    int64_t n_per_row, const float *imatrix) \
	{ quantize_rows(id, src, dst, nrows, n_per_row, imatrix); }
QK_FAST(q2_K, QK_Q2_K)
QK_FAST(q3_K, QK_Q3_K)
QK_FAST(q4_K, QK_Q4_K)
QK_FAST(q5_K, QK_Q5_K)
QK_FAST(q6_K, QK_Q6_K)
QK_FAST(iq4_xs, QK_IQ4_XS)
