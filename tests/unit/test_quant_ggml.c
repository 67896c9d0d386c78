/* The kernels of quant.h against ggml itself: our bytes must equal
 * ggml_quantize_chunk of libggml-base (npm @node-llama-cpp/linux-x64) and
 * our dequantizers ggml's to_float, on generated rows of many kinds and on
 * real weights from the fixtures, without and with an importance matrix.
 * Then every vector variant against the scalar reference (no ggml needed).
 *
 * The test runs once per SIMD level the machine has: the process runs at
 * the best level and re-runs itself with QUTILS_SIMD=avx2, =scalar. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "cpu.h"
#include "dtype.h"
#include "harness.h"
#include "quant.h"
#include "quant_impl.h"

#define GGML_LIB "tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so"

/* The few ggml declarations we need (ggml.h of the same release). */
struct ggml_type_traits {
	const char *type_name;
	int64_t blck_size;
	int64_t blck_size_interleave;
	size_t type_size;
	bool is_quantized;
	void (*to_float)(const void *x, float *y, int64_t k);
	void (*from_float_ref)(const float *x, void *y, int64_t k);
};
static struct {
	void *lib;
	size_t (*quantize_chunk)(int type, const float *src, void *dst, int64_t start,
	    int64_t nrows, int64_t n_per_row, const float *imatrix);
	const struct ggml_type_traits *(*type_traits)(int type);
} G;

static const enum qfmt ggml_owned[] = {
	QF_F32, QF_F16, QF_BF16, QF_Q4_0, QF_Q4_1, QF_Q5_0, QF_Q5_1, QF_Q8_0,
	QF_IQ4_NL, QF_MXFP4,
};
#define NOWNED (sizeof ggml_owned / sizeof ggml_owned[0])

static char mode[16];
static int quick;		/* sanitizer build or a lower SIMD level: fewer, smaller rows */		/* the SIMD level this process runs at */
static char tname[128];

static const char *
named(const char *what, const char *fmt)
{
	snprintf(tname, sizeof tname, "%s_%s/%s", what, fmt, mode);
	return tname;
}

/* ---- deterministic data ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static float uni(void) { return (float)((rng() >> 40) * 0x1p-24) * 2 - 1; }	/* [-1, 1) */
static float
gauss(void)
{
	double u = ((rng() >> 11) + 0.5) * 0x1p-53, v = (rng() >> 11) * 0x1p-53;

	return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

enum { K_UNIFORM, K_GAUSS, K_HEAVY, K_SPARSE, K_ZERO_BLOCKS, K_TIES, K_HUGE,
	K_TINY, K_DENORMAL, K_EDGES, K_RAMP, K_NAN, K_NKINDS };
static const char *const kind_names[K_NKINDS] = { "uniform", "gauss", "heavy", "sparse",
	"zero-blocks", "ties", "huge", "tiny", "denormal", "edges", "ramp", "nan" };

/* One row of n floats of the given kind (n a multiple of 32). */
static void
gen_row(int kind, float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		int64_t b = i / 32, j = i % 32;
		float v = 0;

		switch (kind) {
		case K_UNIFORM: v = uni(); break;
		case K_GAUSS: v = gauss() * 0.02f; break;
		case K_HEAVY: v = gauss() * expf(2 * gauss()); break;
		case K_SPARSE: v = rng() % 10 < 7 ? 0 : gauss(); break;
		case K_ZERO_BLOCKS:
			/* all +0, all -0, mixed zeros, one lone value */
			switch (b % 4) {
			case 0: v = 0; break;
			case 1: v = -0.0f; break;
			case 2: v = rng() & 1 ? -0.0f : 0.0f; break;
			default: v = j == (b * 7) % 32 ? gauss() : (j & 1 ? -0.0f : 0.0f); break;
			}
			break;
		case K_TIES:
			/* small multiples of 1/4: equal magnitudes of both signs and
			 * products landing exactly on .5 */
			v = (float)((int)(rng() % 33) - 16) * 0.25f;
			break;
		case K_HUGE: v = gauss() * 1e30f; break;
		case K_TINY: v = gauss() * 1e-20f; break;
		case K_DENORMAL: v = gauss() * 1e-40f; break;
		case K_EDGES:
			/* max and −max both present, all-equal blocks, one outlier */
			switch (b % 4) {
			case 0: v = j == 3 ? 1.0f : j == 9 ? -1.0f : uni(); break;
			case 1: v = j == 3 ? -1.0f : j == 9 ? 1.0f : uni(); break;
			case 2: v = 0.75f; break;
			default: v = j == 31 ? 1000.0f : uni() * 1e-3f; break;
			}
			break;
		case K_RAMP: v = (float)(j - 16) / 15.0f * (float)(b + 1); break;
		case K_NAN:
			/* a NaN first, last, or somewhere, in some blocks */
			v = gauss();
			if ((b % 3 == 0 && j == 0) || (b % 3 == 1 && j == 31) || rng() % 97 == 0)
				v = rng() & 1 ? NAN : -NAN;
			break;
		}
		x[i] = v;
	}
}

/* imatrix of n weights: positive, some exact zeros, or all ones */
static void
gen_imatrix(float *w, int64_t n, int ones)
{
	for (int64_t i = 0; i < n; i++)
		w[i] = ones ? 1.0f : rng() % 16 == 0 ? 0.0f : (uni() + 1) * 2;
}

/* ---- comparisons ---- */

static int
bytes_equal(const char *what, const unsigned char *ours, const unsigned char *ref, size_t n, size_t unit)
{
	for (size_t i = 0; i < n; i++)
		if (ours[i] != ref[i]) {
			CHECKF(0, "%s: first difference at byte %zu (block %zu): ours 0x%02x, ggml 0x%02x",
			    what, i, i / unit, ours[i], ref[i]);
			return 0;
		}
	return 1;
}

/* Quantize with ggml, with our reference, with the table's quantize on 1
 * and 2 threads; all four must agree.  Then both dequantizers on ggml's
 * bytes. */
static void
compare_with_ggml(enum qfmt f, const float *x, int64_t nrows, int64_t n, const float *qw, const char *what)
{
	const struct qfmt_traits *t = &qfmt_table[f];
	size_t size = (size_t)qfmt_row_size(f, n) * (size_t)nrows;
	unsigned char *ref = malloc(size), *ours = malloc(size);
	float *back = malloc(sizeof(float) * (size_t)(nrows * n));
	float *gback = malloc(sizeof(float) * (size_t)(nrows * n));
	char label[160];
	size_t got;

	got = G.quantize_chunk((int)f, x, ref, 0, nrows, n, qw);
	CHECKF(got == size, "%s: ggml wrote %zu bytes, expected %zu", what, got, size);
	memset(ours, 0xa5, size);
	t->quantize_ref(x, ours, nrows, n, qw);
	snprintf(label, sizeof label, "%s (reference)", what);
	bytes_equal(label, ours, ref, size, (size_t)t->block_bytes);
	for (int jobs = 1; jobs <= 2; jobs++) {
		memset(ours, 0x5a, size);
		CHECK(qfmt_quantize(f, x, ours, nrows, n, qw, jobs) == 0);
		snprintf(label, sizeof label, "%s (%s, -j%d)", what, mode, jobs);
		bytes_equal(label, ours, ref, size, (size_t)t->block_bytes);
	}
	if (f != QF_F32) {
		const struct ggml_type_traits *gt = G.type_traits((int)f);
		G.quantize_chunk((int)f, x, ref, 0, nrows, n, qw);
		gt->to_float(ref, gback, nrows * n);
		CHECK(qfmt_dequantize(f, ref, back, nrows, n, 2) == 0);
		snprintf(label, sizeof label, "%s (dequantize)", what);
		bytes_equal(label, (unsigned char *)back, (unsigned char *)gback,
		    sizeof(float) * (size_t)(nrows * n), sizeof(float) * (size_t)t->block);
	}
	free(ref);
	free(ours);
	free(back);
	free(gback);
}

static int
need_ggml(void)
{
	if (G.lib)
		return 1;
	t_skip("%s not found (run scripts/deps.sh)", GGML_LIB);
	return 0;
}

static enum qfmt cur;		/* format of the running table-driven test */

/* ---- tests ---- */

TEST(test_traits_match_ggml)
{
	if (!need_ggml())
		return;
	for (int f = 0; f < QF_GGML_COUNT; f++) {
		const struct ggml_type_traits *gt;
		if (!qfmt_is_valid(f))
			continue;
		gt = G.type_traits(f);
		CHECKF(strcasecmp(qfmt_table[f].name, gt->type_name) == 0, "%s vs %s", qfmt_table[f].name, gt->type_name);
		CHECK_EQ_INT(qfmt_table[f].block, gt->blck_size);
		CHECK_EQ_INT(qfmt_table[f].block_bytes, gt->type_size);
	}
}

TEST(test_generated_rows)
{
	static const int64_t widths[] = { 32, 96, 256, 4096 };
	float *x, *qw;

	if (!need_ggml())
		return;
	x = malloc(sizeof(float) * 8 * 4096);
	qw = malloc(sizeof(float) * 4096);
	for (int kind = 0; kind < K_NKINDS; kind++)
		for (size_t wi = 0; wi < sizeof widths / sizeof widths[0] - (size_t)quick; wi++) {
			int64_t n = widths[wi], nrows = n >= 4096 ? 2 : 8;
			char what[96];

			rng_state = (uint64_t)(kind * 1000 + wi + 17 * cur);
			for (int64_t r = 0; r < nrows; r++)
				gen_row(kind, x + r * n, n);
			snprintf(what, sizeof what, "%s, %s rows of %lld", qfmt_table[cur].name,
			    kind_names[kind], (long long)n);
			compare_with_ggml(cur, x, nrows, n, NULL, what);
			/* With NaNs in the input, make_qx's scale is a NaN whose
			 * sign depends on the operand order the compiler chose
			 * for commutative adds: not a property of the format. */
			if (kind == K_NAN && (cur == QF_Q4_0 || cur == QF_Q5_0))
				continue;
			for (int ones = 0; ones <= 1 - quick; ones++) {
				gen_imatrix(qw, n, ones);
				snprintf(what, sizeof what, "%s, %s rows of %lld, imatrix%s",
				    qfmt_table[cur].name, kind_names[kind], (long long)n, ones ? " of ones" : "");
				compare_with_ggml(cur, x, nrows, n, qw, what);
			}
		}
	free(x);
	free(qw);
}

/* Random bytes (with finite scales) through both dequantizers. */
TEST(test_dequantize_random_blocks)
{
	const struct qfmt_traits *t = &qfmt_table[cur];
	enum { NB = 512 };
	unsigned char *q;
	float *a, *b;
	int64_t n = (int64_t)NB * t->block;

	if (!need_ggml())
		return;
	q = malloc((size_t)NB * (size_t)t->block_bytes);
	a = malloc(sizeof(float) * (size_t)n);
	b = malloc(sizeof(float) * (size_t)n);
	rng_state = 99 + cur;
	for (size_t i = 0; i < (size_t)NB * (size_t)t->block_bytes; i++)
		q[i] = (unsigned char)rng();
	/* keep fp16 scales finite; F16/BF16/F32 keep their NaNs (payloads
	 * must survive both ways alike) */
	if (t->block == 32 && cur != QF_MXFP4)
		for (int i = 0; i < NB; i++) {
			unsigned char *blk = q + (size_t)i * (size_t)t->block_bytes;
			blk[1] &= 0x7b;
			if (cur == QF_Q4_1 || cur == QF_Q5_1)
				blk[3] &= 0x7b;
		}
	G.type_traits(cur)->to_float(q, b, n);
	t->dequantize(q, a, n);
	bytes_equal(t->name, (unsigned char *)a, (unsigned char *)b, sizeof(float) * (size_t)n,
	    sizeof(float) * (size_t)t->block);
	free(q);
	free(a);
	free(b);
}

/* ---- real weights: a minimal safetensors read (io-st's reader will
 * replace it) ---- */

static void
real_file(const char *rel, int max_tensors)
{
	const char *path = t_fixture(rel);
	unsigned char *data;
	size_t len;
	uint64_t hlen;
	cJSON *root, *it;
	int done = 0;

	if (!path) {
		t_skip("fixture %s absent", rel);
		return;
	}
	data = t_read_file(path, &len);
	if (!CHECK(data && len >= 8)) {
		free(data);
		return;
	}
	memcpy(&hlen, data, 8);
	if (!CHECK(hlen <= len - 8)) {
		free(data);
		return;
	}
	root = cJSON_ParseWithLength((const char *)data + 8, (size_t)hlen);
	CHECK(root != NULL);
	for (it = root ? root->child : NULL; it && done < max_tensors; it = it->next) {
		cJSON *dt = cJSON_GetObjectItem(it, "dtype"), *sh = cJSON_GetObjectItem(it, "shape");
		cJSON *off = cJSON_GetObjectItem(it, "data_offsets");
		int qd;
		int64_t cols, rows;
		size_t begin;
		float *x, *qw;
		char what[200];

		if (!cJSON_IsString(dt) || cJSON_GetArraySize(sh) != 2 || cJSON_GetArraySize(off) != 2)
			continue;
		qd = qdtype_from_name(dt->valuestring);
		cols = (int64_t)cJSON_GetArrayItem(sh, 1)->valuedouble;
		rows = (int64_t)cJSON_GetArrayItem(sh, 0)->valuedouble;
		begin = 8 + (size_t)hlen + (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
		if ((qd != QD_BF16 && qd != QD_F16 && qd != QD_F32) || cols % 32)
			continue;
		if (rows > 16)
			rows = 16;
		if (!CHECK(begin + (size_t)(rows * cols) * (size_t)qdtype_table[qd].bits / 8 <= len))
			break;
		x = malloc(sizeof(float) * (size_t)(rows * cols));
		qw = malloc(sizeof(float) * (size_t)cols);
		qdtype_to_f32(qd, data + begin, x, (size_t)(rows * cols));
		rng_state = 5;
		gen_imatrix(qw, cols, 0);
		snprintf(what, sizeof what, "%s, %s of %s", qfmt_table[cur].name, it->string, rel);
		compare_with_ggml(cur, x, rows, cols, NULL, what);
		compare_with_ggml(cur, x, rows, cols, qw, what);
		free(x);
		free(qw);
		done++;
	}
	CHECKF(done > 0, "%s: no 2-D float tensor compared", rel);
	cJSON_Delete(root);
	free(data);
}

TEST(test_real_weights)
{
	if (!need_ggml())
		return;
	real_file("tiny-llama-bf16/model.safetensors", 6);
	real_file("llama-cpp-reference/tiny-hf-llama/model.safetensors", 6);
	real_file("llama-cpp-reference/tiny-hf-llama-bf16/model.safetensors", 6);
}

/* Every vector variant gives the reference's bytes: many random rows of
 * every kind, odd block counts (vector tails), no ggml needed. */
TEST(test_vector_equals_reference)
{
	const struct qfmt_traits *t = &qfmt_table[cur];
	/* rows of 37 32-blocks (vector tails), or 5 blocks of the larger types */
	const int64_t N = t->block <= 32 ? 32 * 37 : (int64_t)t->block * 5, ROWS = quick ? 8 : 64;
	size_t size = (size_t)qfmt_row_size(cur, N) * (size_t)ROWS;
	float *x = malloc(sizeof(float) * (size_t)(ROWS * N)), *qw = malloc(sizeof(float) * (size_t)N);
	unsigned char *a = malloc(size), *b = malloc(size);

	if (!CHECK(size > 0))
		goto out;
	rng_state = 1234 + cur;
	for (int round = 0; round < (quick ? 1 : 4); round++) {
		for (int r = 0; r < ROWS; r++)
			gen_row((int)(rng() % K_NKINDS), x + (size_t)r * N, N);
		gen_imatrix(qw, N, 0);
		for (int with_imatrix = 0; with_imatrix <= 1; with_imatrix++) {
			const float *w = with_imatrix ? qw : NULL;
			t->quantize_ref(x, a, ROWS, N, w);
			t->quantize(x, b, ROWS, N, w);
			if (!bytes_equal(with_imatrix ? "with imatrix" : "without imatrix", b, a, size,
			    (size_t)t->block_bytes))
				break;
		}
	}
out:
	free(x);
	free(qw);
	free(a);
	free(b);
}

/* ---- plain formats ---- */

/* Nearest representable value by exhaustive search, ties to the even
 * code: an independent statement of round-to-nearest-even. */
static uint8_t
fp8_brute(enum qfmt f, float x)
{
	int best = -1;
	double best_err = 0;

	for (int c = 0; c < 256; c++) {
		float v = qfp8_to_f32(f, (uint8_t)c);
		double err;
		if (isnan(v) || isinf(v) || (signbit(v) != signbit(x)))
			continue;
		err = fabs((double)v - (double)x);
		if (best < 0 || err < best_err || (err == best_err && !(c & 1))) {
			best = c;
			best_err = err;
		}
	}
	return (uint8_t)best;
}

TEST(test_fp8)
{
	static const enum qfmt fmts[] = { QF_FP8_E4M3, QF_FP8_E5M2 };

	for (int k = 0; k < 2; k++) {
		enum qfmt f = fmts[k];
		float maxv = f == QF_FP8_E4M3 ? 448.0f : 57344.0f;

		/* every code decodes and encodes back to itself */
		for (int c = 0; c < 256; c++) {
			float v = qfp8_to_f32(f, (uint8_t)c);
			if (isnan(v))
				CHECKF(isnan(qfp8_to_f32(f, qfp8_from_f32(f, v, 1))), "%s code %02x", qfmt_table[f].name, c);
			else if (!isinf(v))
				CHECKF(qfp8_from_f32(f, v, 1) == c, "%s code %02x: %g -> %02x", qfmt_table[f].name,
				    c, v, qfp8_from_f32(f, v, 1));
		}
		CHECK(qfp8_to_f32(f, 0x7e) == (f == QF_FP8_E4M3 ? 448.0f : INFINITY) ||
		    (f == QF_FP8_E5M2 && isnan(qfp8_to_f32(f, 0x7e))));
		CHECK(qfp8_to_f32(f, f == QF_FP8_E4M3 ? 0x7e : 0x7b) == maxv);
		/* random values inside the range: brute force agrees */
		rng_state = 77 + k;
		for (int i = 0; i < 20000; i++) {
			float x = uni() * maxv * (i % 3 ? 1.0f : 1e-3f);
			uint8_t c = qfp8_from_f32(f, x, 1);
			if (!CHECKF(c == fp8_brute(f, x), "%s %a: %02x, brute force %02x", qfmt_table[f].name,
			    x, c, fp8_brute(f, x)))
				break;
		}
		/* exact midpoints between neighbours go to the even code */
		for (int c = 0; c < 0x7b; c++) {
			float lo = qfp8_to_f32(f, (uint8_t)c), hi = qfp8_to_f32(f, (uint8_t)(c + 1));
			float mid = (lo + hi) / 2;
			CHECKF(qfp8_from_f32(f, mid, 1) == (c & 1 ? c + 1 : c), "%s midpoint of %02x", qfmt_table[f].name, c);
		}
		/* saturation */
		CHECK(qfp8_to_f32(f, qfp8_from_f32(f, 1e9f, 1)) == maxv);
		CHECK(qfp8_to_f32(f, qfp8_from_f32(f, -INFINITY, 1)) == -maxv);
		CHECK(isnan(qfp8_to_f32(f, qfp8_from_f32(f, NAN, 1))));
	}
	CHECK(isnan(qfp8_to_f32(QF_FP8_E4M3, qfp8_from_f32(QF_FP8_E4M3, 1e9f, 0))));
	CHECK(isinf(qfp8_to_f32(QF_FP8_E5M2, qfp8_from_f32(QF_FP8_E5M2, 1e9f, 0))));
	CHECK(qfp8_from_f32(QF_FP8_E4M3, 464.0f, 0) == 0x7e);	/* midpoint 448|480 rounds down to even */
	CHECK(qfp8_from_f32(QF_FP8_E4M3, 0x1p-10f, 1) == 0x00);	/* half the smallest subnormal: even = 0 */
	CHECK(qfp8_from_f32(QF_FP8_E4M3, 0x1.8p-10f, 1) == 0x01);
}

TEST(test_int_formats)
{
	static const float in[8] = { -9.0f, -8.5f, -0.5f, 0.5f, 1.5f, 2.5f, 6.5f, 100.0f };
	static const float want4[8] = { -8, -8, -0.0f, 0, 2, 2, 6, 7 };
	static const float wantu4[8] = { 0, 0, 0, 0, 2, 2, 6, 15 };
	static const float want8[8] = { -9, -8, 0, 0, 2, 2, 6, 100 };
	unsigned char q[8];
	uint8_t codes[5] = { 1, 2, 3, 0xf, 0x8 }, packed[3], back[5];
	float out[8];

	qfmt_quantize(QF_INT4, in, q, 1, 8, NULL, 1);
	CHECK_EQ_INT(q[0], 0x88);	/* element 0 in the low nibble */
	qfmt_dequantize(QF_INT4, q, out, 1, 8, 1);
	for (int i = 0; i < 8; i++)
		CHECKF(out[i] == want4[i], "int4 %d: %g", i, out[i]);
	qfmt_quantize(QF_UINT4, in, q, 1, 8, NULL, 1);
	qfmt_dequantize(QF_UINT4, q, out, 1, 8, 1);
	for (int i = 0; i < 8; i++)
		CHECKF(out[i] == wantu4[i], "uint4 %d: %g", i, out[i]);
	qfmt_quantize(QF_INT8, in, q, 1, 8, NULL, 1);
	qfmt_dequantize(QF_INT8, q, out, 1, 8, 1);
	for (int i = 0; i < 8; i++)
		CHECKF(out[i] == want8[i], "int8 %d: %g", i, out[i]);
	qpack_nibbles(codes, packed, 5);
	CHECK(packed[0] == 0x21 && packed[1] == 0xf3 && packed[2] == 0x08);
	qunpack_nibbles(packed, back, 5, 1);
	CHECK(back[0] == 1 && back[3] == 0xff && back[4] == 0xf8);
	qunpack_nibbles(packed, back, 5, 0);
	CHECK(back[3] == 0x0f && back[4] == 0x08);
}

/* The vector IQ4 code search counts the midpoints between codebook
 * neighbours (quant_x86.c); the reference compares x − lo < hi − x in
 * binary32.  They agree around every midpoint and everywhere else. */
TEST(test_iq4_midpoint_rule)
{
	float mids[15];

	for (int k = 0; k < 15; k++)
		mids[k] = ((float)qk_iq4nl_values[k] + (float)qk_iq4nl_values[k + 1]) / 2;
	rng_state = 4242;
	for (int k = 0; k < 15; k++) {
		float x = mids[k];
		for (int i = 0; i < 3000; i++)
			x = nextafterf(x, -INFINITY);
		for (int i = 0; i < 6000; i++, x = nextafterf(x, INFINITY)) {
			int count = 0;
			for (int m = 0; m < 15; m++)
				count += mids[m] <= x;
			if (!CHECKF(qk_iq4_index(x) == count, "x = %a: search %d, midpoints %d", x, qk_iq4_index(x), count))
				return;
		}
	}
	for (int i = 0; i < 200000; i++) {
		float x = uni() * (i & 1 ? 300.0f : 3.0f);
		int count = 0;
		for (int m = 0; m < 15; m++)
			count += mids[m] <= x;
		if (!CHECKF(qk_iq4_index(x) == count, "x = %a: search %d, midpoints %d", x, qk_iq4_index(x), count))
			return;
	}
	CHECK(qk_iq4_index(INFINITY) == 15 && qk_iq4_index(-INFINITY) == 0 && qk_iq4_index(NAN) == 15);
}

/* QUTILS_SIMD lowers the level, never above what the machine has */
TEST(test_simd_override)
{
	const char *want = getenv("QUTILS_SIMD");
	int w = want ? qcpu_level_from_name(want) : -1;

	CHECK(qcpu_level() <= qcpu_detected());
	if (w >= 0)
		CHECK_EQ_INT(qcpu_level(), w < (int)qcpu_detected() ? w : (int)qcpu_detected());
	else
		CHECK_EQ_INT(qcpu_level(), qcpu_detected());
#ifdef QU_SCALAR_ONLY
	CHECK_EQ_INT(qcpu_detected(), QCPU_SCALAR);
#endif
	CHECK_EQ_INT(qcpu_level_from_name("avx2"), QCPU_AVX2);
	CHECK_EQ_INT(qcpu_level_from_name("sse"), -1);
}

/* ---- driver ---- */

static int
run_level(const char *level)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setenv("QUTILS_SIMD", level, 1);
		execl("/proc/self/exe", "test_quant_ggml", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int
main(void)
{
	int status, child = getenv("QUTILS_SIMD") != NULL;

	snprintf(mode, sizeof mode, "%s", qcpu_level_name(qcpu_level()));
	/* the long rows once, at the best level */
	quick = getenv("QUTILS_SANITIZED") != NULL || child;
	G.lib = dlopen(GGML_LIB, RTLD_NOW | RTLD_LOCAL);
	if (G.lib) {
		*(void **)&G.quantize_chunk = dlsym(G.lib, "ggml_quantize_chunk");
		*(void **)&G.type_traits = dlsym(G.lib, "ggml_get_type_traits");
		if (!G.quantize_chunk || !G.type_traits)
			G.lib = NULL;
	}
	if (!child) {
		t_run("traits_match_ggml", test_traits_match_ggml);
		t_run("fp8", test_fp8);
		t_run("int_formats", test_int_formats);
		t_run("iq4_midpoint_rule", test_iq4_midpoint_rule);
	}
	t_run(named("simd_override", "cpu"), test_simd_override);
	for (size_t i = 0; i < NOWNED; i++) {
		cur = ggml_owned[i];
		t_run(named("ggml_bytes", qfmt_table[cur].name), test_generated_rows);
		t_run(named("ggml_real_weights", qfmt_table[cur].name), test_real_weights);
		if (!child && cur != QF_F32)
			t_run(named("ggml_dequantize", qfmt_table[cur].name), test_dequantize_random_blocks);
	}
	for (int f = 0; f < QF_COUNT; f++) {
		/* 256-element formats have their own vector tests (test_quant_k.c) */
		if (!qfmt_is_valid(f) || !qfmt_table[f].quantize_ref || (32 * 37) % qfmt_table[f].block)
			continue;
		cur = (enum qfmt)f;
		t_run(named("vector_equals_reference", qfmt_table[f].name), test_vector_equals_reference);
	}
	status = t_done();
	/* then the lower levels, each in a fresh process */
	if (!child)
		for (int l = (int)qcpu_level() - 1; l >= 0; l--)
			status |= run_level(qcpu_level_name((enum qcpu_level)l));
	return status;
}
