/* ONNX reader/writer and QDQ arithmetic: unknown fields survive a rewrite,
 * hostile files are refused with a message, QuantizeLinear rounding and
 * saturation, FLOAT8E4M3FN conversion and INT4 packing (facts and verified
 * vectors from spec/onnx.md §3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "onnx.h"
#include "qdq.h"

#define CORPUS "tests/fuzz/corpus/fuzz_onnx/"

static unsigned char *
rewrite(const char *path, size_t *len)
{
	struct onnx_model m;
	struct qerr e;
	char out[4096];
	FILE *f;

	if (onnx_load(&m, path, &e) < 0) {
		CHECKF(0, "load %s: %s", path, e.msg);
		return NULL;
	}
	snprintf(out, sizeof out, "%s/rewrite.onnx", t_tmpdir());
	f = fopen(out, "wb");
	CHECK(f != NULL);
	CHECKF(onnx_save(&m, f, NULL, &e) == 0, "%s", e.msg);
	fclose(f);
	onnx_free(&m);
	return t_read_file(out, len);
}

static int
contains(const unsigned char *h, size_t hl, const void *n, size_t nl)
{
	size_t i;

	for (i = 0; i + nl <= hl; i++)
		if (memcmp(h + i, n, nl) == 0)
			return 1;
	return 0;
}

TEST(unknown_fields_survive_rewrite)
{
	static const unsigned char model_field[] = "\xa2\x06\x03" "abc";
	static const unsigned char graph_field[] = "\x82\x01\x0a\x0a\x03key\x12\x03val";
	size_t len;
	unsigned char *b = rewrite(CORPUS "unknown-field.onnx", &len);

	CHECK(b && contains(b, len, model_field, sizeof model_field - 1));
	free(b);
	b = rewrite(CORPUS "unknown-field-graph.onnx", &len);
	CHECK(b && contains(b, len, graph_field, sizeof graph_field - 1));
	free(b);
}

TEST(rewrite_is_a_fixed_point)
{
	size_t l1, l2;
	unsigned char *a = rewrite(CORPUS "valid-if-constant-typed.onnx", &l1), *b;
	char path[4096];

	snprintf(path, sizeof path, "%s/again.onnx", t_tmpdir());
	CHECK(a && t_write_file(path, a, l1) == 0);
	b = rewrite(path, &l2);
	CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
	free(a);
	free(b);
}

TEST(hostile_files_refused_with_reason)
{
	static const struct { const char *file, *why; } cases[] = {
		{"truncated-half.onnx", "truncated"},
		{"truncated-last-byte.onnx", "truncated"},
		{"raw-data-short.onnx", "raw_data has 124 bytes"},
		{"huge-dims.onnx", "declared size too large"},
		{"negative-dim.onnx", "negative dimension"},
		{"external-traversal.onnx", "leaves the model's folder"},
		{"external-absolute.onnx", "leaves the model's folder"},
		{"external-missing.onnx", "No such file"},
		{"external-out-of-range.onnx", "past the end"},
		{"cycle.onnx", "not defined before it"},
		{"dangling-input.onnx", "not defined before it"},
		{"deep-nesting.onnx", "nested deeper"},
		{"huge-length-prefix.onnx", "declares"},
		{"empty.onnx", "no graph"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct onnx_model m;
		struct qerr e;
		char path[512];

		snprintf(path, sizeof path, CORPUS "%s", cases[i].file);
		e.msg[0] = 0;
		CHECKF(onnx_load(&m, path, &e) < 0 && strstr(e.msg, cases[i].why) &&
		    strstr(e.msg, cases[i].file), "%s: got \"%s\"", cases[i].file, e.msg);
	}
}

TEST(typed_fields_and_external_read)
{
	struct onnx_model m;
	struct qerr e;
	uint64_t n;
	float *f;

	CHECKF(onnx_load(&m, CORPUS "valid-if-constant-typed.onnx", &e) == 0, "%s", e.msg);
	f = onnx_tensor_f32(&m, m.proto->graph->initializer[0], &n, &e);
	CHECK(f && n == 32 && m.proto->graph->initializer[0]->n_float_data == 32 &&
	    f[5] == m.proto->graph->initializer[0]->float_data[5]);
	free(f);
	onnx_free(&m);
}

TEST(quantizelinear_rounds_half_to_even_and_saturates)
{
	/* spec/onnx.md §3 [verified]: -10.5 -> -10, -0.5 -> 0, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 */
	static const float x[] = {-10.5f, -0.5f, 0.5f, 1.5f, 2.5f, 300.0f, -300.0f};
	static const int want8[] = {-10, 0, 0, 2, 2, 127, -127};
	struct qdq_layout l = {.dims = {7}, .ndims = 1, .axis = 0};
	float scale[7];
	int32_t zp[7], codes[7];
	struct qerr e;
	int i;

	l.block = 1;	/* one scale per element */
	for (i = 0; i < 7; i++)
		scale[i] = 1.0f, zp[i] = 0;
	CHECK(qdq_quantize(QK_INT8, x, 7, &l, scale, zp, 1, codes, &e) == 0);
	for (i = 0; i < 7; i++)
		CHECKF(codes[i] == want8[i], "x=%g: %d, want %d", x[i], codes[i], want8[i]);
}

TEST(e4m3fn_conversion)
{
	static const struct { float x; uint8_t c; } v[] = {
		{0.0f, 0x00}, {1.0f, 0x38}, {-1.0f, 0xb8}, {448.0f, 0x7e}, {500.0f, 0x7e},
		{INFINITY, 0x7e}, {-INFINITY, 0xfe}, {0x1p-9f, 0x01}, {0x1p-10f, 0x00},
		{0x3p-10f, 0x02}, {1.0625f, 0x38}, {1.1875f, 0x3a}, {0x1p-6f, 0x08},
		{464.0f, 0x7e}, {240.0f, 0x77},
	};
	size_t i;
	int c;

	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		CHECKF(qdq_f32_to_e4m3fn(v[i].x) == v[i].c, "%g -> %#x, want %#x", v[i].x,
		    qdq_f32_to_e4m3fn(v[i].x), v[i].c);
	CHECK(qdq_f32_to_e4m3fn(NAN) == 0x7f && isnan(qdq_e4m3fn_to_f32(0x7f)));
	for (c = 0; c < 256; c++)	/* every finite code round-trips */
		if ((c & 0x7f) != 0x7f)
			CHECKF(qdq_f32_to_e4m3fn(qdq_e4m3fn_to_f32((uint8_t)c)) == c ||
			    (c == 0x80), "code %#x", c);
}

TEST(int4_packing_low_nibble_first)
{
	/* spec/onnx.md §3 [verified in ORT]: 1,-2,3,-8,7 -> E1 83 07 */
	static const int32_t codes[] = {1, -2, 3, -8, 7};
	unsigned char out[3];

	CHECK(qdq_packed_size(QK_INT4, 5) == 3);
	qdq_pack(QK_INT4, codes, 5, out);
	CHECK(out[0] == 0xe1 && out[1] == 0x83 && out[2] == 0x07);
}

TEST(blocked_scale_shape_partial_block)
{
	/* K=10, B=4 -> 3 scale rows (spec/onnx.md §3) */
	struct qdq_layout l = {.dims = {10, 3}, .ndims = 2, .axis = 0, .block = 4};
	int64_t shape[8];
	int rank;

	CHECK(qdq_nscales(&l, shape, &rank) == 9 && rank == 2 && shape[0] == 3 && shape[1] == 3);
	CHECK(qdq_group_of(&l, 9 * 3 + 2) == 2 * 3 + 2);
}

int
main(void)
{
	RUN(unknown_fields_survive_rewrite);
	RUN(rewrite_is_a_fixed_point);
	RUN(hostile_files_refused_with_reason);
	RUN(typed_fields_and_external_read);
	RUN(quantizelinear_rounds_half_to_even_and_saturates);
	RUN(e4m3fn_conversion);
	RUN(int4_packing_low_nibble_first);
	RUN(blocked_scale_shape_partial_block);
	return t_done();
}
