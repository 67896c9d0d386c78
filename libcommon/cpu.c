#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#if QU_X86_KERNELS
#include <cpuid.h>
#endif

static const char *const level_names[QCPU_NLEVELS] = { "scalar", "avx2", "avx512" };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static enum qcpu_level detected_level, active_level;
static int features;

#if QU_X86_KERNELS
static unsigned long long
xcr0(void)
{
	unsigned int lo, hi;

	__asm__ volatile ("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

static void
detect_x86(void)
{
	unsigned int a, b, c, d, b7 = 0, c7 = 0, a71 = 0;
	unsigned long long xcr;
	int avx2, avx512;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	/* OSXSAVE and AVX first: without them XGETBV may fault */
	if (!(c & (1u << 27)) || !(c & (1u << 28)))
		return;
	xcr = xcr0();
	if (__get_cpuid_count(7, 0, &a, &b7, &c7, &d))
		__get_cpuid_count(7, 1, &a71, &b, &c, &d);
	__get_cpuid(1, &a, &b, &c, &d);
	avx2 = (xcr & 0x6) == 0x6 && (b7 & (1u << 5)) && (c & (1u << 12)) && (c & (1u << 29));
	/* F (16), DQ (17), BW (30), VL (31); XCR0 opmask, ZMM_Hi256, Hi16_ZMM */
	avx512 = avx2 && (xcr & 0xe6) == 0xe6 &&
	    (b7 & (1u << 16)) && (b7 & (1u << 17)) && (b7 & (1u << 30)) && (b7 & (1u << 31));
	if (avx2)
		detected_level = QCPU_AVX2;
	if (avx512) {
		detected_level = QCPU_AVX512;
		if (a71 & (1u << 5))
			features |= QCPU_HAS_AVX512_BF16;
		if (c7 & (1u << 11))
			features |= QCPU_HAS_AVX512_VNNI;
	}
}
#endif

static void
detect(void)
{
	const char *env = getenv("QUTILS_SIMD");
	int want;

	detected_level = QCPU_SCALAR;
#if QU_X86_KERNELS
	detect_x86();
#endif
	active_level = detected_level;
	if (env && (want = qcpu_level_from_name(env)) >= 0 && want < (int)active_level)
		active_level = (enum qcpu_level)want;
}

enum qcpu_level
qcpu_level(void)
{
	pthread_once(&once, detect);
	return active_level;
}

enum qcpu_level
qcpu_detected(void)
{
	pthread_once(&once, detect);
	return detected_level;
}

int
qcpu_features(void)
{
	pthread_once(&once, detect);
	return features;
}

const char *
qcpu_level_name(enum qcpu_level level)
{
	return (unsigned)level < QCPU_NLEVELS ? level_names[level] : "?";
}

int
qcpu_level_from_name(const char *name)
{
	for (int i = 0; i < QCPU_NLEVELS; i++)
		if (strcmp(level_names[i], name) == 0)
			return i;
	return -1;
}
