/* cpu: which vector instruction sets the kernels may use, decided once.
 *
 * Detection reads CPUID and checks with XGETBV that the operating system
 * saves the AVX (and AVX-512) register state; a CPU that has AVX-512 under
 * an OS that does not enable it is treated as AVX2.  The environment
 * variable QUTILS_SIMD=scalar|avx2|avx512 lowers the level (never above what
 * the machine has), so the tests can run every path on one machine.  The
 * level is computed on first use and never changes afterwards; it is the
 * only global state of the kernels.  A build with -DQU_SCALAR_ONLY
 * (make SCALAR=1) compiles every vector path out and reports QCPU_SCALAR.
 *
 * How a kernel uses it (the pattern every format follows):
 *   - the scalar reference `NAME_ref` is always compiled and is the spec;
 *   - vector variants live in a separate file (e.g. quant_x86.c) inside
 *     `#if QU_X86_KERNELS`, each function marked with QU_TARGET_AVX2 or
 *     QU_TARGET_AVX512 (a target attribute, so the rest of the build stays
 *     baseline x86-64);
 *   - the format keeps one array of variants indexed by level,
 *       static const qfmt_quantize_fn q8_0_variants[QCPU_NLEVELS] =
 *           { q8_0_quantize_ref, QU_AVX2(q8_0_quantize_avx2),
 *             QU_AVX512(q8_0_quantize_avx512) };
 *     (QU_AVX2(f)/QU_AVX512(f) become NULL in a scalar-only build), and
 *     its traits-table entry `quantize` is a one-line function that calls
 *     qfmt_pick(q8_0_variants) (quant_impl.h): the best variant at or below
 *     the current level;
 *   - every variant gives the same bytes as the reference, proved by
 *     tests/unit/test_quant_ggml.c in every level. */
#ifndef CPU_H
#define CPU_H

enum qcpu_level {
	QCPU_SCALAR,	/* baseline x86-64 (SSE2) or any other CPU */
	QCPU_AVX2,	/* AVX2 + FMA + F16C, OS saves YMM state */
	QCPU_AVX512,	/* AVX-512 F, BW, VL, DQ; OS saves ZMM state */
	QCPU_NLEVELS
};

/* Extra features reported beside the level (bit mask). */
enum {
	QCPU_HAS_AVX512_BF16 = 1 << 0,
	QCPU_HAS_AVX512_VNNI = 1 << 1,
};

/* The level kernels run at: detected, lowered by QUTILS_SIMD. */
enum qcpu_level qcpu_level(void);
/* The level the machine supports, before QUTILS_SIMD. */
enum qcpu_level qcpu_detected(void);
int qcpu_features(void);
const char *qcpu_level_name(enum qcpu_level level);
/* "scalar", "avx2", "avx512" -> level; -1 if unknown. */
int qcpu_level_from_name(const char *name);

#if defined(__x86_64__) && !defined(QU_SCALAR_ONLY) && (defined(__GNUC__) || defined(__clang__))
#define QU_X86_KERNELS 1
#define QU_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QU_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define QU_AVX2(f) (f)
#define QU_AVX512(f) (f)
#else
#define QU_X86_KERNELS 0
#define QU_AVX2(f) NULL
#define QU_AVX512(f) NULL
#endif

#endif
