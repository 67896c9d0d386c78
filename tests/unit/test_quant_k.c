/* K-quants and IQ4_XS against the real ggml: our bytes must equal
 * ggml_quantize_chunk's (libggml-base from the npm oracle package), without
 * and with an importance vector, in every SIMD variant this machine runs;
 * our dequantizers must give ggml's floats bit for bit. */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "harness.h"
#include "quant.h"
#include "quant_k.h"

#define GGML_LIB "tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so"

typedef size_t (*quantize_chunk_fn)(int type, const float *src, void *dst, int64_t start,
    int64_t nrows, int64_t n_per_row, const float *imatrix);
typedef void (*dequant_row_fn)(const void *src, float *dst, int64_t k);

static struct {
	void *lib;
	quantize_chunk_fn quantize_chunk;
	const char *why;
} G;

struct kformat {
	enum qfmt f;
	const char *dequant_sym;
};
static const struct kformat kformats[] = {
	{ QF_Q2_K, "dequantize_row_q2_K" }, { QF_Q3_K, "dequantize_row_q3_K" },
	{ QF_Q4_K, "dequantize_row_q4_K" }, { QF_Q5_K, "dequantize_row_q5_K" },
	{ QF_Q6_K, "dequantize_row_q6_K" }, { QF_IQ4_XS, "dequantize_row_iq4_xs" },
};
#define NKFORMATS (int)(sizeof kformats / sizeof kformats[0])

static const char *const variants[] = { "scalar", "avx2", "avx512" };

static int
ggml_open(void)
{
	if (G.lib)
		return 1;
	if (G.why)
		return 0;
	G.lib = dlopen(GGML_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!G.lib) {
		G.why = "libggml-base.so not installed (scripts/deps.sh)";
		return 0;
	}
	G.quantize_chunk = (quantize_chunk_fn)dlsym(G.lib, "ggml_quantize_chunk");
	if (!G.quantize_chunk) {
		G.why = "ggml_quantize_chunk missing from libggml-base.so";
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ test data */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }

static uint32_t
rng_u32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static float rng_unit(void) { return (float)((rng_u32() >> 8) + 0.5) / 16777216.f; }	/* (0,1) */

static float
rng_gauss(void)
{
	double u = rng_unit(), v = rng_unit();

	return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

enum { D_UNIFORM, D_GAUSS, D_HEAVY, D_POSITIVE, D_NEGATIVE, D_SPARSE, D_TIES, D_HALF_TIES,
	D_ZERO_BLOCKS, D_HUGE, D_TINY, D_BELOW_EPS, D_CONSTANT, D_OUTLIERS, D_SUBNORMAL, D_COUNT };
static const char *const dist_names[D_COUNT] = { "uniform", "gauss", "heavy", "positive",
	"negative", "sparse", "ties", "half-ties", "zero-blocks", "huge", "tiny", "below-eps",
	"constant", "outliers", "subnormal" };

static void
fill(float *x, int64_t n, int dist)
{
	for (int64_t i = 0; i < n; i++) {
		float g = rng_gauss(), v;
		switch (dist) {
		case D_UNIFORM: v = 2 * rng_unit() - 1; break;
		case D_GAUSS: v = 0.02f * g; break;
		case D_HEAVY: v = g * expf(2 * rng_gauss()); break;
		case D_POSITIVE: v = fabsf(g) + 0.1f; break;
		case D_NEGATIVE: v = -fabsf(g) - 0.05f; break;
		case D_SPARSE: v = rng_unit() < 0.7f ? 0 : g; break;
		case D_TIES: v = (float)((int)(rng_u32() % 17) - 8); break;
		case D_HALF_TIES: v = (float)((int)(rng_u32() % 33) - 16) * 0.5f; break;
		case D_ZERO_BLOCKS:
			/* whole zero super-blocks, a lone value, zero sub-blocks */
			v = (i / 256) % 3 == 0 ? 0 : (i / 256) % 3 == 1 ? (i % 256 == 77 ? 1.5f : 0) :
			    ((i / 16) % 4 == 1 ? 0 : g);
			break;
		case D_HUGE: v = g * 1e15f; break;
		case D_TINY: v = g * 1e-12f; break;
		case D_BELOW_EPS: v = g * 1e-17f; break;
		case D_CONSTANT: v = (i / 32) % 2 ? 0.25f : -3.0f; break;
		case D_OUTLIERS: v = i % 16 == 5 ? 1000 * g : 0.01f * g; break;
		case D_SUBNORMAL: v = g * 1e-39f; break;
		default: v = 0;
		}
		x[i] = v;
	}
}

/* Importance vectors: typical (log-normal), with dead columns, all ones. */
static void
fill_imatrix(float *w, int64_t n, int kind)
{
	for (int64_t i = 0; i < n; i++)
		w[i] = kind == 0 ? expf(rng_gauss()) : kind == 1 ? (rng_unit() < 0.2f ? 0 : 3 * rng_unit()) : 1;
}

/* ------------------------------------------------------------ comparisons */

/* First differing byte, reported with its block and offset in the block. */
static int
same_bytes(const char *what, enum qfmt f, const unsigned char *ours, const unsigned char *ref,
    size_t len)
{
	int bb = qfmt_table[f].block_bytes;

	for (size_t i = 0; i < len; i++)
		if (ours[i] != ref[i])
			return CHECKF(0, "%s: %s: block %zu byte %zu: ours %02x ggml %02x", what,
			    qfmt_table[f].name, i / bb, i % bb, ours[i], ref[i]);
	return 1;
}

/* Quantize rows with ggml and with every variant of ours; 1 if all agree. */
static int
compare_rows(enum qfmt f, const float *x, int64_t nrows, int64_t n_per_row, const float *qw,
    const char *label)
{
	size_t len = qfmt_row_size(f, n_per_row) * (size_t)nrows;
	unsigned char *ref = calloc(1, len), *ours = calloc(1, len);
	char what[160];
	int ok = 1;

	if (!ref || !ours) {
		free(ref);
		free(ours);
		return CHECK(!"out of memory");
	}
	memset(ref, 0xA5, len);
	CHECK_EQ_INT(G.quantize_chunk((int)f, x, ref, 0, nrows, n_per_row, qw), len);

	memset(ours, 0x5A, len);
	qfmt_table[f].quantize_ref(x, ours, nrows, n_per_row, qw);
	snprintf(what, sizeof what, "%s ref %s", label, qw ? "imatrix" : "plain");
	ok &= same_bytes(what, f, ours, ref, len);

	for (int v = 0; v < 3; v++) {
		memset(ours, 0x5A, len);
		if (qk_quantize_variant(variants[v], f, x, ours, nrows, n_per_row, qw) != 0)
			continue;
		snprintf(what, sizeof what, "%s %s %s", label, variants[v], qw ? "imatrix" : "plain");
		ok &= same_bytes(what, f, ours, ref, len);
	}
	/* the threaded entry point splits rows; bytes must not move */
	memset(ours, 0x5A, len);
	CHECK_EQ_INT(qfmt_quantize(f, x, ours, nrows, n_per_row, qw, 2), 0);
	snprintf(what, sizeof what, "%s threads %s", label, qw ? "imatrix" : "plain");
	ok &= same_bytes(what, f, ours, ref, len);
	free(ref);
	free(ours);
	return ok;
}

/* Every distribution, row length and importance kind for one format. */
static void
check_format(enum qfmt f, int with_imatrix)
{
	static const int64_t lengths[] = { 256, 512, 4096 };
	/* the sanitizer rerun is ~10x slower: the short rows suffice there */
	int nlengths = getenv("QUTILS_SANITIZED") ? 2 : 3;
	float *x = malloc(sizeof(float) * 4096 * 2), *qw = malloc(sizeof(float) * 4096);

	if (!ggml_open()) {
		t_skip("%s", G.why);
		goto out;
	}
	if (!x || !qw) {
		CHECK(!"out of memory");
		goto out;
	}
	rng_seed((uint64_t)f * 1000 + (uint64_t)with_imatrix);
	for (int d = 0; d < D_COUNT; d++)
		for (int li = 0; li < nlengths; li++) {
			int64_t n = lengths[li], rows = n == 4096 ? 1 : n == 512 ? 5 : 3;	/* odd block counts: vector tails */
			char label[96];
			fill(x, n * rows, d);
			for (int k = 0; k < (with_imatrix ? 3 : 1); k++) {
				if (with_imatrix)
					fill_imatrix(qw, n, k);
				snprintf(label, sizeof label, "%s n=%lld imatrix-kind=%d", dist_names[d],
				    (long long)n, with_imatrix ? k : -1);
				if (!compare_rows(f, x, rows, n, with_imatrix ? qw : NULL, label))
					goto out;	/* one precise report is enough */
			}
		}
out:
	free(x);
	free(qw);
}

/* Real weights: every tensor of a BF16 checkpoint, concatenated, cut into
 * rows of 256 and of 4096 elements. */
static void
check_real_weights(enum qfmt f)
{
	const char *path = t_fixture("tiny-llama-bf16/model.safetensors");
	unsigned char *file;
	size_t len;
	uint64_t hlen;

	if (!ggml_open()) {
		t_skip("%s", G.why);
		return;
	}
	if (!path || !(file = t_read_file(path, &len))) {
		t_skip("fixture tiny-llama-bf16 absent");
		return;
	}
	memcpy(&hlen, file, 8);
	if (len < 8 + hlen) {
		CHECK(!"fixture too short");
		free(file);
		return;
	}
	size_t n = (len - 8 - hlen) / 2;
	if (getenv("QUTILS_SANITIZED") && n > 65536)
		n = 65536;	/* a slice is enough under the sanitizers */
	n -= n % 4096;
	float *x = malloc(sizeof(float) * n), *qw = malloc(sizeof(float) * 4096);
	for (size_t i = 0; i < n; i++) {
		uint16_t b;
		memcpy(&b, file + 8 + hlen + 2 * i, 2);
		x[i] = qu_bf16_to_f32(b);
	}
	rng_seed(7);
	fill_imatrix(qw, 4096, 0);
	if (compare_rows(f, x, (int64_t)n / 256, 256, NULL, "real n=256") &&
	    compare_rows(f, x, (int64_t)n / 256, 256, qw, "real n=256") &&
	    compare_rows(f, x, (int64_t)n / 4096, 4096, NULL, "real n=4096"))
		compare_rows(f, x, (int64_t)n / 4096, 4096, qw, "real n=4096");
	free(x);
	free(qw);
	free(file);
}

/* Dequantizers: ggml's own blocks and random blocks with finite scales. */
static void
check_dequant(int k)
{
	enum qfmt f = kformats[k].f;
	int bb = qfmt_table[f].block_bytes, nb = 64;
	dequant_row_fn theirs;
	unsigned char *q = malloc((size_t)bb * nb);
	float *x = malloc(sizeof(float) * 256 * nb), *a = malloc(sizeof(float) * 256 * nb),
	    *b = malloc(sizeof(float) * 256 * nb);

	if (!ggml_open()) {
		t_skip("%s", G.why);
		goto out;
	}
	theirs = (dequant_row_fn)dlsym(G.lib, kformats[k].dequant_sym);
	if (!CHECKF(theirs != NULL, "%s missing", kformats[k].dequant_sym))
		goto out;
	rng_seed(99 + (uint64_t)k);
	for (int round = 0; round < 2; round++) {
		if (round == 0) {
			fill(x, 256 * nb, D_GAUSS);
			G.quantize_chunk((int)f, x, q, 0, nb, 256, NULL);
		} else {
			for (int i = 0; i < bb * nb; i++)
				q[i] = (uint8_t)rng_u32();
			/* finite fp16 scales wherever the layout keeps them */
			for (int blk = 0; blk < nb; blk++) {
				unsigned char *p = q + (size_t)blk * bb;
				int offs[2] = { -1, -1 };
				switch (f) {
				case QF_Q2_K: offs[0] = 80; offs[1] = 82; break;
				case QF_Q3_K: offs[0] = 108; break;
				case QF_Q4_K: case QF_Q5_K: offs[0] = 0; offs[1] = 2; break;
				case QF_Q6_K: offs[0] = 208; break;
				case QF_IQ4_XS: offs[0] = 0; break;
				default: break;
				}
				for (int o = 0; o < 2; o++)
					if (offs[o] >= 0)
						p[offs[o] + 1] &= 0x3b;	/* exponent < 31 */
			}
		}
		theirs(q, a, 256 * nb);
		qfmt_table[f].dequantize(q, b, 256 * nb);
		for (int i = 0; i < 256 * nb; i++)
			if (!CHECKF(memcmp(&a[i], &b[i], 4) == 0, "%s round %d element %d: ours %a ggml %a",
			    qfmt_table[f].name, round, i, b[i], a[i]))
				break;
	}
out:
	free(q);
	free(x);
	free(a);
	free(b);
}

#define FORMAT_TESTS(t, F) \
	TEST(t##_plain_matches_ggml) { check_format(F, 0); } \
	TEST(t##_imatrix_matches_ggml) { check_format(F, 1); } \
	TEST(t##_real_weights_match_ggml) { check_real_weights(F); }
FORMAT_TESTS(q2_K, QF_Q2_K)
FORMAT_TESTS(q3_K, QF_Q3_K)
FORMAT_TESTS(q4_K, QF_Q4_K)
FORMAT_TESTS(q5_K, QF_Q5_K)
FORMAT_TESTS(q6_K, QF_Q6_K)
FORMAT_TESTS(iq4_xs, QF_IQ4_XS)

TEST(dequantizers_match_ggml)
{
	for (int k = 0; k < NKFORMATS; k++)
		check_dequant(k);
}

TEST(block_sizes_in_traits)
{
	CHECK_EQ_INT(qfmt_row_size(QF_Q2_K, 256), sizeof(struct blk_q2_K));
	CHECK_EQ_INT(qfmt_row_size(QF_Q3_K, 256), sizeof(struct blk_q3_K));
	CHECK_EQ_INT(qfmt_row_size(QF_Q4_K, 256), sizeof(struct blk_q4_K));
	CHECK_EQ_INT(qfmt_row_size(QF_Q5_K, 256), sizeof(struct blk_q5_K));
	CHECK_EQ_INT(qfmt_row_size(QF_Q6_K, 256), sizeof(struct blk_q6_K));
	CHECK_EQ_INT(qfmt_row_size(QF_IQ4_XS, 256), sizeof(struct blk_iq4_xs));
}

int
main(void)
{
	printf("# K-quant variants on this machine:");
	for (int v = 0; v < 3; v++)
		if (qk_has_variant(variants[v]))
			printf(" %s", variants[v]);
	printf("\n");
	RUN(block_sizes_in_traits);
	RUN(q2_K_plain_matches_ggml);
	RUN(q2_K_imatrix_matches_ggml);
	RUN(q3_K_plain_matches_ggml);
	RUN(q3_K_imatrix_matches_ggml);
	RUN(q4_K_plain_matches_ggml);
	RUN(q4_K_imatrix_matches_ggml);
	RUN(q5_K_plain_matches_ggml);
	RUN(q5_K_imatrix_matches_ggml);
	RUN(q6_K_plain_matches_ggml);
	RUN(q6_K_imatrix_matches_ggml);
	RUN(iq4_xs_plain_matches_ggml);
	RUN(iq4_xs_imatrix_matches_ggml);
	RUN(q2_K_real_weights_match_ggml);
	RUN(q3_K_real_weights_match_ggml);
	RUN(q4_K_real_weights_match_ggml);
	RUN(q5_K_real_weights_match_ggml);
	RUN(q6_K_real_weights_match_ggml);
	RUN(iq4_xs_real_weights_match_ggml);
	RUN(dequantizers_match_ggml);
	if (G.lib)
		dlclose(G.lib);
	return t_done();
}
