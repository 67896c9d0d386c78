/* dtype conversions against independent models written differently: the
 * decoders below read the format's fields and build the value in double by
 * repeated doubling/halving; the encoders search every code for the nearest
 * value (ties to the even code).  Every 8-bit and 16-bit pattern is covered,
 * plus every midpoint between neighbouring values and the floats next to
 * it.  The bulk (possibly vectorized) F16/BF16 paths are compared bit for
 * bit with the scalar reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "harness.h"

static double
pow2(int k)
{
	double v = 1;

	for (; k > 0; k--)
		v *= 2;
	for (; k < 0; k++)
		v /= 2;
	return v;
}

/* A float format described by its fields, for the models. */
struct model {
	enum qdtype t;
	int ebits, mbits, bias;
	enum { IEEE, FN, FNUZ, PLAIN } kind;	/* IEEE: inf and NaNs at e=max; FN: only S.1111.111 is NaN;
						 * FNUZ: only 0x80; PLAIN: no NaN, no inf (E2M1) */
	double max;			/* largest finite */
};

static const struct model fp8_models[] = {
	{ QD_F8_E4M3, 4, 3, 7, FN, 448 },
	{ QD_F8_E5M2, 5, 2, 15, IEEE, 57344 },
	{ QD_F8_E4M3FNUZ, 4, 3, 8, FNUZ, 240 },
	{ QD_F8_E5M2FNUZ, 5, 2, 16, FNUZ, 57344 },
};

/* NAN for a NaN code, else the value. */
static double
model_decode(const struct model *m, unsigned code)
{
	int nb = 1 + m->ebits + m->mbits;
	unsigned s = code >> (nb - 1), e = (code >> m->mbits) & ((1u << m->ebits) - 1);
	unsigned man = code & ((1u << m->mbits) - 1);
	double v;

	if (m->kind == FNUZ && code == 1u << (nb - 1))
		return NAN;
	if (m->kind == FN && e == (1u << m->ebits) - 1 && man == (1u << m->mbits) - 1)
		return NAN;
	if (m->kind == IEEE && e == (1u << m->ebits) - 1)
		return man ? NAN : (s ? -INFINITY : INFINITY);
	if (e == 0)
		v = man * pow2(1 - m->bias - m->mbits);
	else
		v = (1 + man * pow2(-m->mbits)) * pow2((int)e - m->bias);
	return s ? -v : v;
}

/* Nearest finite code by search; ties to the even code; beyond the
 * largest value: IEEE formats go to inf from the midpoint past it on, the
 * others saturate.  x must not be NaN. */
static unsigned
model_encode(const struct model *m, double x, unsigned ncodes)
{
	int nb = 1 + m->ebits + m->mbits;
	unsigned sign = signbit(x) ? 1u << (nb - 1) : 0, best = 0, maxcode = 0;
	double ax = fabs(x), bestd = INFINITY, below_max = 0;

	for (unsigned c = 0; c < ncodes / 2; c++) {
		double v = model_decode(m, c), d;

		if (isnan(v) || isinf(v))
			continue;
		if (v == m->max)
			maxcode = c;
		else if (v > below_max && v < m->max)
			below_max = v;
		d = fabs(v - ax);
		if (d < bestd || (d == bestd && !(c & 1))) {
			bestd = d;
			best = c;
		}
	}
	if (ax > m->max) {
		if (m->kind != IEEE)
			return sign | maxcode;
		if (ax >= m->max + (m->max - below_max) / 2)
			return sign | ((1u << m->ebits) - 1) << m->mbits;
		return sign | maxcode;
	}
	if (m->kind == FNUZ && best == 0)
		return 0;
	return sign | best;
}

/* Test inputs around a format's values: each value, the midpoints to its
 * neighbour and the floats either side of them, plus specials. */
static size_t
probes(const double *vals, size_t nv, float *out, size_t cap)
{
	static const float extra[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 1e-45f, 3e38f, -3e38f,
		INFINITY, -INFINITY, 1.0f, 0.1f, -0.3f, 1e5f, 65504.0f, 65519.0f, 65520.0f, 1e-8f };
	size_t n = 0;

	for (size_t i = 0; i < sizeof extra / sizeof *extra && n < cap; i++)
		out[n++] = extra[i];
	for (size_t i = 0; i < nv && n + 10 < cap; i++) {
		float v = (float)vals[i];

		out[n++] = v;
		out[n++] = -v;
		if (i + 1 < nv) {
			float mid = (float)((vals[i] + vals[i + 1]) / 2);

			out[n++] = mid;
			out[n++] = -mid;
			out[n++] = nextafterf(mid, INFINITY);
			out[n++] = nextafterf(mid, -INFINITY);
			out[n++] = -nextafterf(mid, INFINITY);
		}
	}
	return n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Non-negative finite values of a model, sorted. */
static size_t
finite_values(const struct model *m, unsigned ncodes, double *out)
{
	size_t n = 0;

	for (unsigned c = 0; c < ncodes / 2; c++) {
		double v = model_decode(m, c);

		if (!isnan(v) && !isinf(v))
			out[n++] = v;
	}
	qsort(out, n, sizeof *out, cmp_double);
	return n;
}

static int
same_value(double want, float got)
{
	if (isnan(want))
		return isnan(got);
	return (double)got == want && !!signbit(want) == !!signbit(got);
}

TEST(fp8_decode_every_pattern)
{
	for (size_t k = 0; k < sizeof fp8_models / sizeof *fp8_models; k++) {
		const struct model *m = &fp8_models[k];
		unsigned char codes[256];
		float bulk[256];

		for (unsigned c = 0; c < 256; c++)
			codes[c] = (unsigned char)c;
		CHECK(qdtype_to_f32(m->t, codes, bulk, 256) == 0);
		for (unsigned c = 0; c < 256; c++) {
			double want = model_decode(m, c);

			CHECKF(same_value(want, qu_fp8_to_f32(m->t, (uint8_t)c)), "%s code %02x: %g != %g",
			    qdtype_table[m->t].name, c, qu_fp8_to_f32(m->t, (uint8_t)c), want);
			CHECKF(same_value(want, bulk[c]), "%s bulk code %02x", qdtype_table[m->t].name, c);
		}
	}
	/* the anchors the spec names */
	CHECK(qu_fp8_to_f32(QD_F8_E4M3, 0x7e) == 448.0f);
	CHECK(qu_fp8_to_f32(QD_F8_E4M3, 0x01) == 0x1p-9f);
	CHECK(isnan(qu_fp8_to_f32(QD_F8_E4M3, 0x7f)));
	CHECK(qu_fp8_to_f32(QD_F8_E5M2, 0x7b) == 57344.0f);
	CHECK(isinf(qu_fp8_to_f32(QD_F8_E5M2, 0x7c)));
	CHECK(qu_fp8_to_f32(QD_F8_E4M3FNUZ, 0x7f) == 240.0f);
}

TEST(fp8_encode_matches_nearest_search)
{
	static float in[4096];
	static double vals[256];

	for (size_t k = 0; k < sizeof fp8_models / sizeof *fp8_models; k++) {
		const struct model *m = &fp8_models[k];
		size_t nv = finite_values(m, 256, vals), n = probes(vals, nv, in, 4096);
		unsigned char bulk[4096];
		int bad = 0;

		CHECK(qdtype_from_f32(m->t, in, bulk, n) == 0);
		for (size_t i = 0; i < n && bad < 5; i++) {
			unsigned want = model_encode(m, in[i], 256), got = qu_f32_to_fp8(m->t, in[i]);

			bad += !CHECKF(got == want && bulk[i] == want, "%s(%.9g) = %02x (bulk %02x), model %02x",
			    qdtype_table[m->t].name, in[i], got, bulk[i], want);
		}
	}
	/* NaN: the format's NaN, sign kept where it can be */
	CHECK(qu_f32_to_fp8(QD_F8_E4M3, NAN) == 0x7f);
	CHECK(qu_f32_to_fp8(QD_F8_E4M3, -NAN) == 0xff);
	CHECK(isnan(qu_fp8_to_f32(QD_F8_E5M2, qu_f32_to_fp8(QD_F8_E5M2, NAN))));
	CHECK(qu_f32_to_fp8(QD_F8_E4M3FNUZ, NAN) == 0x80);
	CHECK(qu_f32_to_fp8(QD_F8_E4M3FNUZ, -0.0f) == 0x00);
}

TEST(e8m0_decode_every_pattern)
{
	unsigned char codes[256];
	float bulk[256];

	for (unsigned c = 0; c < 256; c++)
		codes[c] = (unsigned char)c;
	CHECK(qdtype_to_f32(QD_F8_E8M0, codes, bulk, 256) == 0);
	for (unsigned c = 0; c < 255; c++)
		CHECKF((double)bulk[c] == pow2((int)c - 127), "e8m0 %02x", c);
	CHECK(isnan(bulk[255]));
}

TEST(f4_e2m1_every_pattern_and_rounding)
{
	static const double table[8] = { 0, 0.5, 1, 1.5, 2, 3, 4, 6 };
	const struct model m = { QD_F4, 2, 1, 1, PLAIN, 6 };
	unsigned char packed[8], back[8];
	float vals[16], in[256];
	size_t n;

	for (unsigned c = 0; c < 16; c++)
		CHECKF(qu_e2m1_to_f32((uint8_t)c) == (c & 8 ? -table[c & 7] : table[c & 7]) &&
		    !!signbit(qu_e2m1_to_f32((uint8_t)c)) == !!(c & 8), "e2m1 %x", c);
	for (unsigned c = 0; c < 8; c++)
		packed[c] = (unsigned char)((2 * c) | ((2 * c + 1) << 4));
	CHECK(qdtype_to_f32(QD_F4, packed, vals, 16) == 0);
	for (unsigned i = 0; i < 16; i++)
		CHECKF(vals[i] == qu_e2m1_to_f32((uint8_t)i), "packed element %u (low nibble first)", i);
	CHECK(qdtype_from_f32(QD_F4, vals, back, 16) == 0);
	CHECK(memcmp(back, packed, 8) == 0);
	n = probes(table, 8, in, 256);
	for (size_t i = 0; i < n; i++) {
		unsigned want = model_encode(&m, in[i], 16);

		CHECKF(qu_f32_to_e2m1(in[i]) == want, "e2m1(%.9g) = %x, model %x", in[i],
		    qu_f32_to_e2m1(in[i]), want);
	}
}

/* binary16 and bfloat16 as models: same machinery, 16-bit patterns */
static const struct model f16_model = { QD_F16, 5, 10, 15, IEEE, 65504 };
static const struct model bf16_model = { QD_BF16, 8, 7, 127, IEEE, 0 };

TEST(f16_bf16_decode_every_pattern)
{
	static unsigned char raw[2 * 65536];
	static float bulk[65536];
	struct model bm = bf16_model;

	bm.max = (2 - pow2(-7)) * pow2(127);
	for (unsigned c = 0; c < 65536; c++) {
		raw[2 * c] = (unsigned char)c;
		raw[2 * c + 1] = (unsigned char)(c >> 8);
	}
	CHECK(qdtype_to_f32(QD_F16, raw, bulk, 65536) == 0);
	for (unsigned c = 0; c < 65536; c++) {
		double want = model_decode(&f16_model, c);

		if (!CHECKF(same_value(want, qu_f16_to_f32((uint16_t)c)) && same_value(want, bulk[c]),
		    "f16 %04x", c))
			break;
	}
	CHECK(qdtype_to_f32(QD_BF16, raw, bulk, 65536) == 0);
	for (unsigned c = 0; c < 65536; c++) {
		double want = model_decode(&bm, c);

		if (!CHECKF(same_value(want, qu_bf16_to_f32((uint16_t)c)) && same_value(want, bulk[c]),
		    "bf16 %04x", c))
			break;
	}
}

/* Nearest-even by neighbour comparison (a search over 65536 codes per input
 * would be slow): the model brackets x between two consecutive values. */
static unsigned
model_encode16(const struct model *m, const double *vals, size_t nv, double x)
{
	unsigned sign = signbit(x) ? 0x8000 : 0;
	double ax = fabs(x);
	size_t lo = 0, hi = nv - 1;

	if (isinf(x) || ax >= vals[nv - 1] + (vals[nv - 1] - vals[nv - 2]) / 2)
		return sign | ((1u << m->ebits) - 1) << m->mbits;
	if (ax >= vals[nv - 1])
		return sign | (unsigned)(nv - 1);
	while (hi - lo > 1) {	/* vals[lo] <= ax < vals[hi] */
		size_t mid = (lo + hi) / 2;

		if (vals[mid] <= ax)
			lo = mid;
		else
			hi = mid;
	}
	if (ax - vals[lo] < vals[hi] - ax || (ax - vals[lo] == vals[hi] - ax && !(lo & 1)))
		return sign | (unsigned)lo;
	return sign | (unsigned)hi;
}

TEST(f16_bf16_encode_every_midpoint)
{
	static double vals[65536];
	static float in[8 * 65536];
	static unsigned char bulk[2 * 8 * 65536];
	const struct model *models[2] = { &f16_model, &bf16_model };
	enum qdtype types[2] = { QD_F16, QD_BF16 };

	for (int k = 0; k < 2; k++) {
		struct model m = *models[k];
		size_t nv = 0, n;
		int bad = 0;

		if (k == 1)
			m.max = (2 - pow2(-7)) * pow2(127);
		/* codes 0..0x7bff (F16) / 0..0x7f7f (BF16) are the finite
		 * non-negative values in increasing order: code == index */
		for (unsigned c = 0; c < 0x8000; c++) {
			double v = model_decode(&m, c);

			if (isnan(v) || isinf(v))
				break;
			vals[nv++] = v;
		}
		n = probes(vals, nv, in, sizeof in / sizeof *in);
		CHECK(qdtype_from_f32(types[k], in, bulk, n) == 0);
		for (size_t i = 0; i < n && bad < 5; i++) {
			unsigned want = model_encode16(&m, vals, nv, in[i]);
			unsigned got = k ? qu_f32_to_bf16(in[i]) : qu_f32_to_f16(in[i]);
			unsigned gotb = bulk[2 * i] | bulk[2 * i + 1] << 8;

			/* bf16 of a float beyond bf16 max: the reference rounds
			 * into inf exactly when the model does */
			bad += !CHECKF(got == want && gotb == want, "%s(%.9g) = %04x (bulk %04x), model %04x",
			    qdtype_table[types[k]].name, in[i], got, gotb, want);
		}
	}
}

/* Bulk (vector when available) == scalar reference, bit for bit, over
 * random patterns including NaNs with payloads, and odd lengths. */
TEST(bulk_f16_bf16_identical_to_scalar)
{
	enum { N = 200003 };
	float *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
	unsigned char *h = malloc(2 * N);
	uint32_t x = 2463534242u;

	if (!in || !out || !h) {
		CHECK(!"out of memory");
		goto done;
	}
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		in[i] = qu_bits_f32(i % 7 == 0 ? (x | 0x7f800000) : x);	/* every 7th: inf/NaN patterns */
	}
	for (int k = 0; k < 2; k++) {
		enum qdtype t = k ? QD_BF16 : QD_F16;
		int bad = 0;

		CHECK(qdtype_from_f32(t, in, h, N) == 0);
		for (size_t i = 0; i < N && bad < 3; i++) {
			uint16_t want = k ? qu_f32_to_bf16(in[i]) : qu_f32_to_f16(in[i]);
			uint16_t got = (uint16_t)(h[2 * i] | h[2 * i + 1] << 8);

			bad += !CHECKF(got == want, "%s from %08x: %04x != %04x", qdtype_table[t].name,
			    qu_f32_bits(in[i]), got, want);
		}
		for (size_t i = 0; i < N; i++) {	/* random 16-bit patterns back */
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			h[2 * i] = (unsigned char)x;
			h[2 * i + 1] = (unsigned char)(x >> 8);
		}
		CHECK(qdtype_to_f32(t, h, out, N) == 0);
		for (size_t i = 0; i < N && bad < 6; i++) {
			uint16_t c = (uint16_t)(h[2 * i] | h[2 * i + 1] << 8);
			float want = k ? qu_bf16_to_f32(c) : qu_f16_to_f32(c);

			bad += !CHECKF(qu_f32_bits(out[i]) == qu_f32_bits(want), "%s to f32 %04x",
			    qdtype_table[t].name, c);
		}
	}
	printf("# bulk F16/BF16 path: %s\n", qdtype_vectorized() ? "AVX2+F16C" : "scalar");
done:
	free(in);
	free(out);
	free(h);
}

/* Round half to even, by floor and comparison in double. */
static double
model_round(double x)
{
	double f = floor(x), d = x - f;

	if (d < 0.5)
		return f;
	if (d > 0.5)
		return f + 1;
	return fmod(f, 2) == 0 ? f : f + 1;
}

TEST(integers_round_half_even_and_saturate)
{
	static const struct { enum qdtype t; double lo, hi; } ints[] = {
		{ QD_U8, 0, 255 }, { QD_I8, -128, 127 }, { QD_U16, 0, 65535 }, { QD_I16, -32768, 32767 },
		{ QD_U32, 0, 4294967295.0 }, { QD_I32, -2147483648.0, 2147483647.0 },
		{ QD_U64, 0, 18446744073709551615.0 }, { QD_I64, -9223372036854775808.0, 9223372036854775807.0 },
	};
	float in[400];
	size_t n = 0;

	for (int i = -60; i <= 60; i++)
		in[n++] = i * 0.5f;
	for (int i = 0; i < 64; i++)
		in[n++] = (float)pow2(i), in[n++] = -(float)pow2(i), in[n++] = (float)pow2(i) + 0.5f;
	in[n++] = NAN;
	in[n++] = INFINITY;
	in[n++] = -INFINITY;
	in[n++] = 1e30f;
	in[n++] = -1e30f;
	for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
		enum qdtype t = ints[k].t;
		int bits = qdtype_table[t].bits, is_signed = ints[k].lo < 0;
		unsigned char buf[400 * 8];

		CHECK(qdtype_from_f32(t, in, buf, n) == 0);
		for (size_t i = 0; i < n; i++) {
			double want = isnan(in[i]) ? 0 : model_round(in[i]), got;
			uint64_t u = 0;

			if (want < ints[k].lo)
				want = ints[k].lo;
			if (want > ints[k].hi)
				want = ints[k].hi;
			memcpy(&u, buf + i * (size_t)(bits / 8), (size_t)(bits / 8));	/* little-endian host */
			if (is_signed && bits < 64 && (u >> (bits - 1)) & 1)
				got = (double)u - pow2(bits);
			else if (is_signed && bits == 64)
				got = (double)(int64_t)u;
			else
				got = (double)u;
			/* at 64 bits the saturated max is not a double; compare after rounding */
			CHECKF(got == want, "%s(%.9g) = %.17g, model %.17g", qdtype_table[t].name, in[i], got, want);
		}
	}
}

TEST(small_ints_and_bool_to_f32_every_pattern)
{
	unsigned char raw[2 * 65536];
	static float out[65536];

	for (unsigned c = 0; c < 65536; c++) {
		raw[2 * c] = (unsigned char)c;
		raw[2 * c + 1] = (unsigned char)(c >> 8);
	}
	CHECK(qdtype_to_f32(QD_U16, raw, out, 65536) == 0);
	for (unsigned c = 0; c < 65536; c++)
		CHECKF(out[c] == (float)c, "u16 %u", c);
	CHECK(qdtype_to_f32(QD_I16, raw, out, 65536) == 0);
	for (unsigned c = 0; c < 65536; c++)
		CHECKF(out[c] == (c < 32768 ? (float)c : (float)c - 65536.0f), "i16 %u", c);
	for (unsigned c = 0; c < 256; c++)
		raw[c] = (unsigned char)c;
	CHECK(qdtype_to_f32(QD_U8, raw, out, 256) == 0);
	for (unsigned c = 0; c < 256; c++)
		CHECKF(out[c] == (float)c, "u8 %u", c);
	CHECK(qdtype_to_f32(QD_I8, raw, out, 256) == 0);
	for (unsigned c = 0; c < 256; c++)
		CHECKF(out[c] == (c < 128 ? (float)c : (float)c - 256.0f), "i8 %u", c);
	CHECK(qdtype_to_f32(QD_BOOL, raw, out, 256) == 0);
	for (unsigned c = 0; c < 256; c++)
		CHECKF(out[c] == (c ? 1.0f : 0.0f), "bool %u", c);
}

TEST(wide_types)
{
	double d[4] = { 1.0 / 3, 1e300, -2.5, 5e-324 };
	float f[4];
	uint64_t u = 18446744073709551615ull;
	int64_t s = -9223372036854775807ll - 1;

	CHECK(qdtype_to_f32(QD_F64, d, f, 4) == 0);
	CHECK(f[0] == 1.0f / 3 && isinf(f[1]) && f[2] == -2.5f && f[3] == 0);
	CHECK(qdtype_to_f32(QD_U64, &u, f, 1) == 0 && f[0] == 18446744073709551616.0f);
	CHECK(qdtype_to_f32(QD_I64, &s, f, 1) == 0 && f[0] == -9223372036854775808.0f);
	CHECK(qdtype_to_f32(QD_C64, d, f, 1) == -1);
	CHECK(qdtype_from_f32(QD_F8_E8M0, f, d, 1) == -1);
}

int
main(void)
{
	RUN(fp8_decode_every_pattern);
	RUN(fp8_encode_matches_nearest_search);
	RUN(e8m0_decode_every_pattern);
	RUN(f4_e2m1_every_pattern_and_rounding);
	RUN(f16_bf16_decode_every_pattern);
	RUN(f16_bf16_encode_every_midpoint);
	RUN(bulk_f16_bf16_identical_to_scalar);
	RUN(integers_round_half_even_and_saturate);
	RUN(small_ints_and_bool_to_f32_every_pattern);
	RUN(wide_types);
	return t_done();
}
