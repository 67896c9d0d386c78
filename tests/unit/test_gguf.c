/* GGUF reader and writer: round trips through the writer, the reader's
 * checks on a corpus of malformed files built byte by byte (each named by
 * its defect), and the oddities ggml accepts that we must accept too.
 *
 * QU_WRITE_CORPUS=DIR writes every malformed case to DIR/NAME.gguf (that is
 * how tests/fuzz/corpus/fuzz_gguf and tests/data/gguf-malformed were made). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "harness.h"
#include "quant.h"

/* ---- a byte builder for hand-made files ---- */

struct bb {
	unsigned char *p;
	size_t n, cap;
};

static void
bb_put(struct bb *b, const void *s, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void
bb_le(struct bb *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		unsigned char c = (unsigned char)(v >> (8 * i));

		bb_put(b, &c, 1);
	}
}

static void bb_u32(struct bb *b, uint32_t v) { bb_le(b, v, 4); }
static void bb_u64(struct bb *b, uint64_t v) { bb_le(b, v, 8); }

static void
bb_str(struct bb *b, const char *s)
{
	bb_u64(b, strlen(s));
	bb_put(b, s, strlen(s));
}

static void
bb_head(struct bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	bb_put(b, "GGUF", 4);
	bb_u32(b, version);
	bb_u64(b, n_tensors);
	bb_u64(b, n_kv);
}

static void
bb_kv_u32(struct bb *b, const char *key, uint32_t v)
{
	bb_str(b, key);
	bb_u32(b, GGUF_T_UINT32);
	bb_u32(b, v);
}

/* tensor info with n_dims dims from ne */
static void
bb_tinfo(struct bb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
    uint64_t offset)
{
	bb_str(b, name);
	bb_u32(b, n_dims);
	for (uint32_t d = 0; d < n_dims; d++)
		bb_u64(b, ne[d]);
	bb_u32(b, type);
	bb_u64(b, offset);
}

static void
bb_pad(struct bb *b, size_t align)
{
	while (b->n % align)
		bb_le(b, 0, 1);
}

static void
bb_zeros(struct bb *b, size_t n)
{
	while (n--)
		bb_le(b, 0, 1);
}

/* Two F32 tensors of 3 and 8 elements, alignment 32: the base most cases bend. */
static void
two_tensors(struct bb *b, uint64_t off2, size_t data_bytes)
{
	uint64_t ne1[] = { 3 }, ne2[] = { 8 };

	bb_head(b, 3, 2, 1);
	bb_kv_u32(b, "general.x", 1);
	bb_tinfo(b, "a", 1, ne1, 0, 0);
	bb_tinfo(b, "b", 1, ne2, 0, off2);
	bb_pad(b, 32);
	bb_zeros(b, data_bytes);
}

/* ---- the malformed corpus ---- */

static void c_bad_magic(struct bb *b) { bb_put(b, "GGML", 4); bb_u32(b, 3); bb_u64(b, 0); bb_u64(b, 0); }
static void c_empty_file(struct bb *b) { (void)b; }
static void c_truncated_header(struct bb *b) { bb_put(b, "GGUF", 4); bb_u32(b, 3); bb_u32(b, 0); }
static void c_version_1(struct bb *b) { bb_head(b, 1, 0, 0); }
static void c_version_4(struct bb *b) { bb_head(b, 4, 0, 0); }
static void c_version_big_endian(struct bb *b) { bb_head(b, 0x03000000, 0, 0); }
static void c_absurd_kv_count(struct bb *b) { bb_head(b, 3, 0, UINT64_C(1) << 62); bb_kv_u32(b, "k", 1); }
static void c_negative_kv_count(struct bb *b) { bb_head(b, 3, 0, UINT64_MAX); }
static void c_absurd_tensor_count(struct bb *b) { bb_head(b, 3, UINT64_C(1) << 40, 0); bb_zeros(b, 64); }

static void
c_key_past_end(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_u64(b, 1000);
	bb_put(b, "abc", 3);
	bb_zeros(b, 20);
}

static void
c_key_over_limit(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_u64(b, (UINT64_C(1) << 30) + 1);
	bb_zeros(b, 16);
}

static void
c_empty_key(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "");
	bb_u32(b, GGUF_T_UINT8);
	bb_le(b, 0, 1);
}

static void
c_key_contains_nul(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_u64(b, 4);
	bb_put(b, "ab\0c", 4);
	bb_u32(b, GGUF_T_UINT8);
	bb_le(b, 0, 1);
}

static void
c_duplicate_key(struct bb *b)
{
	bb_head(b, 3, 0, 2);
	bb_kv_u32(b, "general.k", 1);
	bb_kv_u32(b, "general.k", 2);
}

static void
c_unknown_value_type(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "k");
	bb_u32(b, 13);
	bb_u64(b, 0);
}

static void
c_nested_array(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "k");
	bb_u32(b, GGUF_T_ARRAY);
	bb_u32(b, GGUF_T_ARRAY);
	bb_u64(b, 1);
	bb_u32(b, GGUF_T_UINT8);
	bb_u64(b, 1);
	bb_le(b, 0, 1);
}

static void
c_array_past_end(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "k");
	bb_u32(b, GGUF_T_ARRAY);
	bb_u32(b, GGUF_T_UINT32);
	bb_u64(b, 1000000);
	bb_zeros(b, 40);
}

static void
c_array_over_limit(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "k");
	bb_u32(b, GGUF_T_ARRAY);
	bb_u32(b, GGUF_T_UINT8);
	bb_u64(b, UINT64_C(1) << 31);
	bb_zeros(b, 40);
}

static void
c_string_array_past_end(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "k");
	bb_u32(b, GGUF_T_ARRAY);
	bb_u32(b, GGUF_T_STRING);
	bb_u64(b, 2);
	bb_str(b, "one");
	bb_u64(b, 500);
	bb_put(b, "two", 3);
}

static void
c_string_array_absurd_count(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "k");
	bb_u32(b, GGUF_T_ARRAY);
	bb_u32(b, GGUF_T_STRING);
	bb_u64(b, UINT64_C(1) << 29);
	bb_zeros(b, 64);
}

static void c_alignment_not_pow2(struct bb *b) { bb_head(b, 3, 0, 1); bb_kv_u32(b, "general.alignment", 48); }
static void c_alignment_zero(struct bb *b) { bb_head(b, 3, 0, 1); bb_kv_u32(b, "general.alignment", 0); }

static void
c_alignment_wrong_type(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "general.alignment");
	bb_u32(b, GGUF_T_UINT64);
	bb_u64(b, 32);
}

static void
c_tensor_name_too_long(struct bb *b)
{
	uint64_t ne[] = { 1 };
	char name[65];

	memset(name, 'x', 64);
	name[64] = 0;
	bb_head(b, 3, 1, 0);
	bb_tinfo(b, name, 1, ne, 0, 0);
	bb_pad(b, 32);
	bb_zeros(b, 32);
}

static void
c_duplicate_tensor_name(struct bb *b)
{
	uint64_t ne[] = { 8 };

	bb_head(b, 3, 2, 0);
	bb_tinfo(b, "w", 1, ne, 0, 0);
	bb_tinfo(b, "w", 1, ne, 0, 32);
	bb_pad(b, 32);
	bb_zeros(b, 64);
}

static void
c_too_many_dims(struct bb *b)
{
	uint64_t ne[] = { 1, 1, 1, 1, 1 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 5, ne, 0, 0);
	bb_pad(b, 32);
	bb_zeros(b, 32);
}

static void
c_negative_dim(struct bb *b)
{
	uint64_t ne[] = { 4, (uint64_t)-2 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 2, ne, 0, 0);
	bb_pad(b, 32);
	bb_zeros(b, 32);
}

static void
c_too_many_elements(struct bb *b)
{
	uint64_t ne[] = { UINT64_C(1) << 32, UINT64_C(1) << 32 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 2, ne, 0, 0);
	bb_pad(b, 32);
	bb_zeros(b, 32);
}

static void
c_unknown_ggml_type(struct bb *b)
{
	uint64_t ne[] = { 32 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 1, ne, 43, 0);
	bb_pad(b, 32);
	bb_zeros(b, 128);
}

static void
c_retired_ggml_type(struct bb *b)
{
	uint64_t ne[] = { 32 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 1, ne, 4, 0);
	bb_pad(b, 32);
	bb_zeros(b, 128);
}

static void
c_row_not_multiple_of_block(struct bb *b)
{
	uint64_t ne[] = { 33, 2 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 2, ne, QF_Q4_0, 0);
	bb_pad(b, 32);
	bb_zeros(b, 128);
}

static void c_offset_gap(struct bb *b) { two_tensors(b, 64, 96); }
static void c_offset_overlap(struct bb *b) { two_tensors(b, 0, 64); }
static void c_offset_misaligned(struct bb *b) { two_tensors(b, 12, 64); }
static void c_data_past_end(struct bb *b) { two_tensors(b, 32, 40); }

static void
c_first_offset_not_zero(struct bb *b)
{
	uint64_t ne[] = { 8 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 1, ne, 0, 32);
	bb_pad(b, 32);
	bb_zeros(b, 64);
}

static void
c_offset_out_of_range(struct bb *b)
{
	uint64_t ne[] = { 8 };

	bb_head(b, 3, 2, 0);
	bb_tinfo(b, "a", 1, ne, 0, 0);
	bb_tinfo(b, "b", 1, ne, 0, UINT64_MAX - 16);
	bb_pad(b, 32);
	bb_zeros(b, 64);
}

static void
c_data_start_past_end(struct bb *b)
{
	uint64_t ne[] = { 8 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 1, ne, 0, 0);
}

static void
c_truncated_tensor_info(struct bb *b)
{
	uint64_t ne[] = { 8, 8 };

	bb_head(b, 3, 1, 0);
	bb_tinfo(b, "w", 2, ne, 0, 0);
	b->n -= 10;
}

static void
c_truncated_kv_value(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_str(b, "general.k");
	bb_u32(b, GGUF_T_UINT64);
	bb_u32(b, 7);
}

static const struct mcase {
	const char *name;
	void (*build)(struct bb *);
	const char *expect;		/* a phrase the message must hold */
} malformed[] = {
	{ "empty_file", c_empty_file, "too short" },
	{ "bad_magic", c_bad_magic, "magic 'GGML'" },
	{ "truncated_header", c_truncated_header, "truncated" },
	{ "version_1", c_version_1, "version 1 is not supported" },
	{ "version_4", c_version_4, "version 4 is not supported" },
	{ "version_big_endian", c_version_big_endian, "big-endian" },
	{ "absurd_kv_count", c_absurd_kv_count, "kv count 4611686018427387904 cannot fit" },
	{ "negative_kv_count", c_negative_kv_count, "cannot fit" },
	{ "absurd_tensor_count", c_absurd_tensor_count, "tensor count 1099511627776 cannot fit" },
	{ "key_past_end", c_key_past_end, "string length 1000 runs past the end" },
	{ "key_over_limit", c_key_over_limit, "exceeds the limit of 2^30" },
	{ "empty_key", c_empty_key, "key 0 is empty" },
	{ "key_contains_nul", c_key_contains_nul, "key 0 contains a NUL byte" },
	{ "duplicate_key", c_duplicate_key, "duplicate key 'general.k'" },
	{ "unknown_value_type", c_unknown_value_type, "unknown value type 13" },
	{ "nested_array", c_nested_array, "nested arrays" },
	{ "array_past_end", c_array_past_end, "1000000 values of 4 bytes run past the end" },
	{ "array_over_limit", c_array_over_limit, "exceeds the limit of 2^30" },
	{ "string_array_past_end", c_string_array_past_end, "string length 500 runs past the end" },
	{ "string_array_absurd_count", c_string_array_absurd_count, "536870912 strings cannot fit" },
	{ "alignment_not_pow2", c_alignment_not_pow2, "alignment 48 is not a power of 2" },
	{ "alignment_zero", c_alignment_zero, "alignment 0 is not a power of 2" },
	{ "alignment_wrong_type", c_alignment_wrong_type, "must be of type u32, not u64" },
	{ "tensor_name_too_long", c_tensor_name_too_long, "name of 64 bytes is longer than 63" },
	{ "duplicate_tensor_name", c_duplicate_tensor_name, "duplicate tensor name 'w'" },
	{ "too_many_dims", c_too_many_dims, "5 dimensions" },
	{ "negative_dim", c_negative_dim, "dimension 1 is negative" },
	{ "too_many_elements", c_too_many_elements, "too many elements" },
	{ "unknown_ggml_type", c_unknown_ggml_type, "unknown ggml type 43" },
	{ "retired_ggml_type", c_retired_ggml_type, "unknown ggml type 4" },
	{ "row_not_multiple_of_block", c_row_not_multiple_of_block,
	  "33 elements per row is not a multiple of the Q4_0 block size 32" },
	{ "offset_gap", c_offset_gap, "tensor 'b': data offset 64, expected 32" },
	{ "offset_overlap", c_offset_overlap, "tensor 'b': data offset 0, expected 32" },
	{ "offset_misaligned", c_offset_misaligned, "tensor 'b': data offset 12, expected 32" },
	{ "first_offset_not_zero", c_first_offset_not_zero, "data offset 32, expected 0" },
	{ "offset_out_of_range", c_offset_out_of_range, "expected 32" },
	{ "data_past_end", c_data_past_end, "tensor 'b': data [" },
	{ "data_start_past_end", c_data_start_past_end, "data section would start at byte" },
	{ "truncated_tensor_info", c_truncated_tensor_info, "truncated" },
	{ "truncated_kv_value", c_truncated_kv_value, "key 'general.k': u64 value runs past the end" },
};

TEST(malformed_files_are_refused_with_a_clear_message)
{
	for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
		struct bb b = { 0 };
		struct gguf_file g;
		struct qerr e = { "" };
		int rc;

		malformed[i].build(&b);
		rc = gguf_parse(&g, b.p ? b.p : (unsigned char *)"", b.n, "bad.gguf", &e);
		if (!CHECKF(rc == -1, "%s: accepted", malformed[i].name))
			gguf_close(&g);
		CHECKF(strncmp(e.msg, "bad.gguf: ", 10) == 0, "%s: message lacks the file: %s",
		    malformed[i].name, e.msg);
		CHECKF(strstr(e.msg, malformed[i].expect) != NULL, "%s: message \"%s\" lacks \"%s\"",
		    malformed[i].name, e.msg, malformed[i].expect);
		free(b.p);
	}
}

/* Every proper prefix of a valid file with tensors is refused, no crash. */
TEST(every_truncation_is_refused)
{
	struct bb b = { 0 };

	two_tensors(&b, 32, 64);
	for (size_t n = 0; n < b.n; n++) {
		struct gguf_file g;
		struct qerr e;

		if (!CHECKF(gguf_parse(&g, b.p, n, "t.gguf", &e) == -1, "prefix %zu accepted", n))
			gguf_close(&g);
	}
	free(b.p);
}

/* ---- what ggml accepts, we accept ---- */

static int
parse_ok(struct bb *b, struct gguf_file *g)
{
	struct qerr e = { "" };
	int rc = gguf_parse(g, b->p, b->n, "ok.gguf", &e);

	CHECKF(rc == 0, "refused: %s", e.msg);
	return rc;
}

/* version 2, n_dims 0 (a scalar), a bool stored as 2, no padding after
 * the last tensor */
static void
odd_v2_scalar_bool2_unpadded(struct bb *b)
{
	uint64_t ne[] = { 7 };

	bb_head(b, 2, 2, 1);
	bb_str(b, "general.flag");
	bb_u32(b, GGUF_T_BOOL);
	bb_le(b, 2, 1);
	bb_tinfo(b, "s", 0, NULL, QF_F32, 0);
	bb_tinfo(b, "v", 1, ne, QF_F32, 32);
	bb_pad(b, 32);
	bb_le(b, 0x3f800000, 4);
	bb_zeros(b, 28);
	bb_zeros(b, 28);
}

/* alignment 1: no padding anywhere */
static void
odd_align1(struct bb *b)
{
	bb_head(b, 3, 2, 1);
	bb_kv_u32(b, "general.alignment", 1);
	bb_tinfo(b, "a", 1, (uint64_t[]){ 3 }, QF_I8, 0);
	bb_tinfo(b, "b", 1, (uint64_t[]){ 2 }, QF_I16, 3);
	bb_put(b, "\1\2\3\4\0\5\0", 7);
}

/* a tensor-less file ends right after its KVs */
static void
odd_no_tensors_unpadded(struct bb *b)
{
	bb_head(b, 3, 0, 1);
	bb_kv_u32(b, "general.k", 7);
}

static const struct {
	const char *name;
	void (*build)(struct bb *);
} oddities[] = {
	{ "odd_v2_scalar_bool2_unpadded", odd_v2_scalar_bool2_unpadded },
	{ "odd_align1", odd_align1 },
	{ "odd_no_tensors_unpadded", odd_no_tensors_unpadded },
};

TEST(accepts_what_ggml_accepts)
{
	struct gguf_file g;
	struct bb b = { 0 };

	odd_v2_scalar_bool2_unpadded(&b);
	if (parse_ok(&b, &g) == 0) {
		CHECK_EQ_INT(g.version, 2);
		CHECK_EQ_INT(g.n_tensors, 2);
		CHECK_EQ_INT(g.tensors[0].n_dims, 0);
		CHECK_EQ_INT(g.tensors[0].nbytes, 4);
		CHECK_EQ_INT(((unsigned char *)g.kvs[0].data)[0], 1);
		CHECK_EQ_INT(g.data_start, 128);
		CHECK_EQ_INT(g.tensors[1].nbytes, 28);
		CHECK_EQ_INT(g.data_start + 32 + 28, b.n);
		gguf_close(&g);
	}
	free(b.p);
	memset(&b, 0, sizeof b);
	odd_align1(&b);
	if (parse_ok(&b, &g) == 0) {
		CHECK_EQ_INT(g.alignment, 1);
		CHECK_EQ_INT(g.tensors[1].data[0], 4);
		CHECK_EQ_INT(g.tensors[1].data - b.p, (long long)b.n - 4);
		gguf_close(&g);
	}
	free(b.p);
	memset(&b, 0, sizeof b);
	odd_no_tensors_unpadded(&b);
	if (parse_ok(&b, &g) == 0) {
		CHECK_EQ_INT(g.data_start, b.n);
		gguf_close(&g);
	}
	free(b.p);
}

/* ---- writer -> reader round trips ---- */

static unsigned char *
write_to_memory(struct gguf_writer *w, const void *const *data, size_t *len, struct qerr *e)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int rc;

	rc = gguf_w_write_header(w, f, e);
	for (size_t i = 0; rc == 0 && data && data[i]; i++)
		rc = gguf_w_write_data(w, f, data[i], gguf_w_tensor_nbytes(w, i), e);
	if (rc == 0)
		rc = gguf_w_finish(w, f, e);
	fclose(f);
	*len = n;
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return (unsigned char *)buf;
}

static void
set_every_type(struct gguf_writer *w)
{
	uint8_t u8 = 200;
	int8_t i8 = -100;
	uint16_t u16 = 60000;
	int16_t i16 = -30000;
	uint32_t u32 = 4000000000u;
	int32_t i32 = -2000000000;
	float f32 = -1.5f;
	uint8_t bo = 1;
	uint64_t u64 = UINT64_MAX;
	int64_t i64 = INT64_MIN;
	double f64 = 1e300;
	static const char *strs[] = { "", "a", "héllo", "x\ny" };
	static const char nul[] = { 'a', 0, 'b' };
	const char *with_nul[] = { nul };
	uint64_t nul_len = 3;
	float fa[] = { 1.0f, NAN, INFINITY, -0.0f };
	int64_t ia[] = { -1, 0, 1 };

	CHECK(gguf_w_set_str(w, "general.architecture", "llama") == 0);
	CHECK(gguf_w_set(w, "t.u8", GGUF_T_UINT8, &u8) == 0);
	CHECK(gguf_w_set(w, "t.i8", GGUF_T_INT8, &i8) == 0);
	CHECK(gguf_w_set(w, "t.u16", GGUF_T_UINT16, &u16) == 0);
	CHECK(gguf_w_set(w, "t.i16", GGUF_T_INT16, &i16) == 0);
	CHECK(gguf_w_set(w, "t.u32", GGUF_T_UINT32, &u32) == 0);
	CHECK(gguf_w_set(w, "t.i32", GGUF_T_INT32, &i32) == 0);
	CHECK(gguf_w_set(w, "t.f32", GGUF_T_FLOAT32, &f32) == 0);
	CHECK(gguf_w_set(w, "t.bool", GGUF_T_BOOL, &bo) == 0);
	CHECK(gguf_w_set(w, "t.u64", GGUF_T_UINT64, &u64) == 0);
	CHECK(gguf_w_set(w, "t.i64", GGUF_T_INT64, &i64) == 0);
	CHECK(gguf_w_set(w, "t.f64", GGUF_T_FLOAT64, &f64) == 0);
	CHECK(gguf_w_set_arr_str(w, "t.strs", 4, strs, NULL) == 0);
	CHECK(gguf_w_set_arr_str(w, "t.nul", 1, with_nul, &nul_len) == 0);
	CHECK(gguf_w_set_arr(w, "t.fa", GGUF_T_FLOAT32, 4, fa) == 0);
	CHECK(gguf_w_set_arr(w, "t.ia", GGUF_T_INT64, 3, ia) == 0);
	CHECK(gguf_w_set_arr(w, "t.empty", GGUF_T_UINT8, 0, NULL) == 0);
	CHECK(gguf_w_set_arr_str(w, "t.nostr", 0, NULL, NULL) == 0);
}

static void
check_every_type(const struct gguf_file *g)
{
	const struct gguf_kv *kv;
	int64_t v;
	double d;
	float f;

	CHECK_STR(gguf_kv_str(gguf_find_kv(g, "general.architecture")), "llama");
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.u8"), &v) == 0 && v == 200);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.i8"), &v) == 0 && v == -100);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.u16"), &v) == 0 && v == 60000);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.i16"), &v) == 0 && v == -30000);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.u32"), &v) == 0 && v == 4000000000);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.i32"), &v) == 0 && v == -2000000000);
	CHECK(gguf_kv_float(gguf_find_kv(g, "t.f32"), &d) == 0 && d == -1.5);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.u64"), &v) == -1);	/* > INT64_MAX */
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.i64"), &v) == 0 && v == INT64_MIN);
	CHECK(gguf_kv_float(gguf_find_kv(g, "t.f64"), &d) == 0 && d == 1e300);
	CHECK(gguf_kv_int(gguf_find_kv(g, "t.f64"), &v) == -1);
	kv = gguf_find_kv(g, "t.bool");
	CHECK(kv && kv->type == GGUF_T_BOOL && ((unsigned char *)kv->data)[0] == 1);
	kv = gguf_find_kv(g, "t.u64");
	CHECK(kv && kv->type == GGUF_T_UINT64 && memcmp(kv->data, "\xff\xff\xff\xff\xff\xff\xff\xff", 8) == 0);
	kv = gguf_find_kv(g, "t.strs");
	if (CHECK(kv && kv->is_array && kv->type == GGUF_T_STRING && kv->n == 4)) {
		CHECK_STR(kv->str[0], "");
		CHECK_STR(kv->str[2], "héllo");
		CHECK_STR(kv->str[3], "x\ny");
		CHECK_EQ_INT(kv->str_len[2], 6);
	}
	kv = gguf_find_kv(g, "t.nul");
	CHECK(kv && kv->n == 1 && kv->str_len[0] == 3 && memcmp(kv->str[0], "a\0b", 3) == 0);
	kv = gguf_find_kv(g, "t.fa");
	if (CHECK(kv && kv->is_array && kv->type == GGUF_T_FLOAT32 && kv->n == 4)) {
		memcpy(&f, (char *)kv->data + 4, 4);
		CHECK(isnan(f));
		memcpy(&f, (char *)kv->data + 12, 4);
		CHECK(f == 0 && signbit(f));
	}
	kv = gguf_find_kv(g, "t.ia");
	CHECK(kv && kv->is_array && kv->type == GGUF_T_INT64 && kv->n == 3 &&
	    ((int64_t *)kv->data)[0] == -1);
	kv = gguf_find_kv(g, "t.empty");
	CHECK(kv && kv->is_array && kv->n == 0 && kv->type == GGUF_T_UINT8);
	kv = gguf_find_kv(g, "t.nostr");
	CHECK(kv && kv->is_array && kv->n == 0 && kv->type == GGUF_T_STRING);
	CHECK(gguf_kv_str(gguf_find_kv(g, "t.strs")) == NULL);	/* an array is not a scalar */
	CHECK(gguf_find_kv(g, "absent") == NULL);
}

TEST(round_trip_every_kv_type_no_tensors)
{
	struct gguf_writer *w = gguf_writer_new();
	struct gguf_file g;
	struct qerr e = { "" };
	unsigned char *buf;
	size_t len;

	set_every_type(w);
	buf = write_to_memory(w, NULL, &len, &e);
	if (CHECKF(buf != NULL, "%s", e.msg)) {
		CHECK_EQ_INT(len, gguf_w_total_size(w));
		CHECK_EQ_INT(len % 32, 0);	/* ggml pads even without tensors */
		if (CHECKF(gguf_parse(&g, buf, len, "rt", &e) == 0, "%s", e.msg)) {
			CHECK_EQ_INT(g.n_kvs, 18);
			CHECK_EQ_INT(g.n_tensors, 0);
			CHECK_STR(g.kvs[0].key, "general.architecture");
			CHECK_STR(g.kvs[17].key, "t.nostr");
			check_every_type(&g);
			gguf_close(&g);
		}
	}
	free(buf);
	gguf_writer_free(w);
}

/* Tensors of several ggml types and shapes, with alignment 1, 8, 32 (the
 * default), 64 and 4096. */
TEST(round_trip_tensors_and_alignments)
{
	static const uint32_t aligns[] = { 0, 1, 8, 64, 4096 };
	static const struct {
		const char *name;
		uint32_t type;
		int n_dims;
		uint64_t ne[4];
	} ts[] = {
		{ "token_embd.weight", QF_F16, 2, { 8, 5 } },
		{ "blk.0.attn_q.weight", QF_Q4_0, 2, { 64, 3 } },
		{ "blk.0.ffn_up.weight", QF_Q4_K, 2, { 256, 2 } },
		{ "norm", QF_F32, 1, { 7 } },
		{ "empty", QF_F32, 2, { 0, 4 } },
		{ "cube", QF_BF16, 4, { 2, 3, 1, 1 } },	/* written as 2 dims */
		{ "experts", QF_Q8_0, 3, { 32, 2, 2 } },
		{ "ids", QF_I32, 1, { 3 } },
	};
	enum { NT = sizeof ts / sizeof *ts };

	for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++) {
		struct gguf_writer *w = gguf_writer_new();
		unsigned char *data[NT + 1] = { 0 }, *buf;
		struct gguf_file g;
		struct qerr e = { "" };
		size_t len;
		uint32_t want = aligns[a] ? aligns[a] : 32;

		set_every_type(w);
		if (aligns[a])
			CHECK(gguf_w_set(w, "general.alignment", GGUF_T_UINT32, &aligns[a]) == 0);
		for (int i = 0; i < NT; i++) {
			CHECK_EQ_INT(gguf_w_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, &e), i);
			data[i] = malloc(gguf_w_tensor_nbytes(w, (size_t)i) + 1);
			for (uint64_t k = 0; k < gguf_w_tensor_nbytes(w, (size_t)i); k++)
				data[i][k] = (unsigned char)(k * 7 + (uint64_t)i);
		}
		buf = write_to_memory(w, (const void *const *)data, &len, &e);
		if (CHECKF(buf != NULL, "%s", e.msg) &&
		    CHECKF(gguf_parse(&g, buf, len, "rt", &e) == 0, "align %u: %s", want, e.msg)) {
			CHECK_EQ_INT(len, gguf_w_total_size(w));
			CHECK_EQ_INT(g.alignment, want);
			CHECK_EQ_INT(g.data_start % want, 0);
			CHECK_EQ_INT(g.n_tensors, NT);
			check_every_type(&g);
			for (int i = 0; i < NT; i++) {
				const struct gguf_tensor *t = gguf_find_tensor(&g, ts[i].name);
				uint64_t nb = qfmt_row_size(ts[i].type, (int64_t)ts[i].ne[0]);

				for (int d = 1; d < ts[i].n_dims; d++)
					nb *= ts[i].ne[d];
				if (!CHECK(t != NULL))
					continue;
				CHECK_EQ_INT(t->type, ts[i].type);
				CHECK_EQ_INT(t->nbytes, nb);
				CHECK_EQ_INT(t->offset % want, 0);
				for (int d = 0; d < 4; d++)
					CHECK_EQ_INT(t->ne[d], d < ts[i].n_dims ? ts[i].ne[d] : 1);
				CHECK(nb == 0 || memcmp(t->data, data[i], nb) == 0);
			}
			/* ggml_n_dims: trailing ones dropped */
			CHECK_EQ_INT(gguf_find_tensor(&g, "cube")->n_dims, 2);
			CHECK_EQ_INT(gguf_find_tensor(&g, "experts")->n_dims, 3);
			CHECK_EQ_INT(gguf_find_tensor(&g, "empty")->n_dims, 2);
			/* padding is zero */
			for (size_t p = g.tensors[0].nbytes; p < g.tensors[1].offset; p++)
				CHECK_EQ_INT(buf[g.data_start + p], 0);
			gguf_close(&g);
		}
		free(buf);
		for (int i = 0; i < NT; i++)
			free(data[i]);
		gguf_writer_free(w);
	}
}

TEST(writer_set_replace_remove_order)
{
	struct gguf_writer *w = gguf_writer_new();
	struct gguf_file g;
	struct qerr e = { "" };
	unsigned char *buf;
	size_t len;
	uint32_t one = 1, two = 2, seven = 7;

	gguf_w_set(w, "general.quantization_version", GGUF_T_UINT32, &one);
	gguf_w_set(w, "general.file_type", GGUF_T_UINT32, &one);
	gguf_w_set_str(w, "general.name", "m");
	/* set replaces in place ... */
	gguf_w_set(w, "general.quantization_version", GGUF_T_UINT32, &two);
	/* ... remove + set moves to the end, as ggml's set does */
	gguf_w_remove(w, "general.file_type");
	gguf_w_set(w, "general.file_type", GGUF_T_UINT32, &seven);
	gguf_w_remove(w, "absent");
	buf = write_to_memory(w, NULL, &len, &e);
	if (CHECKF(buf && gguf_parse(&g, buf, len, "o", &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(g.n_kvs, 3);
		CHECK_STR(g.kvs[0].key, "general.quantization_version");
		CHECK_EQ_INT(*(uint32_t *)g.kvs[0].data, 2);
		CHECK_STR(g.kvs[1].key, "general.name");
		CHECK_STR(g.kvs[2].key, "general.file_type");
		CHECK_EQ_INT(*(uint32_t *)g.kvs[2].data, 7);
		gguf_close(&g);
	}
	free(buf);
	gguf_writer_free(w);
}

/* A reader's KVs copied through the writer come out identical. */
TEST(copy_kv_round_trip)
{
	struct gguf_writer *w = gguf_writer_new(), *w2 = gguf_writer_new();
	struct gguf_file g, g2;
	struct qerr e = { "" };
	unsigned char *buf, *buf2;
	size_t len, len2;

	set_every_type(w);
	buf = write_to_memory(w, NULL, &len, &e);
	if (CHECKF(buf && gguf_parse(&g, buf, len, "a", &e) == 0, "%s", e.msg)) {
		for (size_t i = 0; i < g.n_kvs; i++)
			CHECK(gguf_w_copy_kv(w2, &g.kvs[i]) == 0);
		buf2 = write_to_memory(w2, NULL, &len2, &e);
		CHECK(buf2 && len2 == len && memcmp(buf, buf2, len) == 0);
		if (buf2 && gguf_parse(&g2, buf2, len2, "b", &e) == 0) {
			check_every_type(&g2);
			gguf_close(&g2);
		}
		free(buf2);
		gguf_close(&g);
	}
	free(buf);
	gguf_writer_free(w);
	gguf_writer_free(w2);
}

TEST(writer_refuses_bad_input)
{
	struct gguf_writer *w = gguf_writer_new();
	struct qerr e = { "" };
	uint64_t ne[] = { 33, 2 }, ok[] = { 32 };
	uint32_t a48 = 48;
	uint64_t a64 = 64;
	char long_name[70];

	memset(long_name, 'n', 64);
	long_name[64] = 0;
	CHECK(gguf_w_set(w, "general.alignment", GGUF_T_UINT32, &a48) == -1);
	CHECK(gguf_w_set(w, "general.alignment", GGUF_T_UINT64, &a64) == -1);
	CHECK(gguf_w_set_str(w, "general.alignment", "32") == -1);
	CHECK(gguf_w_set(w, "", GGUF_T_UINT64, &a64) == -1);
	CHECK(gguf_w_set(w, "k", GGUF_T_STRING, "x") == -1);
	CHECK(gguf_w_set(w, "k", GGUF_T_ARRAY, &a64) == -1);
	CHECK(gguf_w_add_tensor(w, "w", QF_Q4_0, 2, ne, &e) == -1);
	CHECK(strstr(e.msg, "not a multiple of the Q4_0 block size 32") != NULL);
	CHECK(gguf_w_add_tensor(w, long_name, QF_F32, 1, ok, &e) == -1);
	CHECK(gguf_w_add_tensor(w, "w", 4, 1, ok, &e) == -1);
	CHECK(gguf_w_add_tensor(w, "w", QF_INT4, 1, ok, &e) == -1);	/* not a ggml type */
	CHECK(gguf_w_add_tensor(w, "w", QF_F32, 5, ok, &e) == -1);
	CHECK(gguf_w_add_tensor(w, "w", QF_F32, 1, ok, &e) == 0);
	CHECK(gguf_w_add_tensor(w, "w", QF_F32, 1, ok, &e) == -1);
	CHECK(strstr(e.msg, "duplicate") != NULL);
	gguf_writer_free(w);
}

TEST(writer_counts_bytes)
{
	struct gguf_writer *w = gguf_writer_new();
	struct qerr e = { "" };
	uint64_t ne[] = { 4 };
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	gguf_w_add_tensor(w, "a", QF_F32, 1, ne, &e);
	gguf_w_add_tensor(w, "b", QF_F32, 1, ne, &e);
	CHECK(gguf_w_write_data(w, f, x, 4, &e) == -1);		/* before the header */
	CHECK(gguf_w_write_header(w, f, &e) == 0);
	CHECK(gguf_w_write_data(w, f, x, 8, &e) == 0);		/* pieces, crossing tensors */
	CHECK(gguf_w_write_data(w, f, x + 2, 16, &e) == 0);
	CHECK(gguf_w_finish(w, f, &e) == -1);
	CHECK(strstr(e.msg, "tensor 'b': 8 of 16 bytes written") != NULL);
	CHECK(gguf_w_write_data(w, f, x, 12, &e) == -1);	/* 4 too many */
	CHECK(strstr(e.msg, "beyond the last tensor") != NULL);
	fclose(f);
	free(buf);
	gguf_writer_free(w);
}

TEST(write_error_is_reported)
{
	struct gguf_writer *w = gguf_writer_new();
	struct qerr e = { "" };
	FILE *f = fopen("/dev/full", "w");
	uint64_t ne[] = { 1 << 16 };
	float *x = calloc(1 << 16, sizeof *x);

	if (f == NULL) {
		t_skip("no /dev/full");
	} else {
		gguf_w_add_tensor(w, "a", QF_F32, 1, ne, &e);
		if (gguf_w_write_header(w, f, &e) == 0 && gguf_w_write_data(w, f, x, 1 << 18, &e) == 0)
			CHECK(gguf_w_finish(w, f, &e) == -1);
		CHECK(strstr(e.msg, "write: ") != NULL);
		fclose(f);
	}
	free(x);
	gguf_writer_free(w);
}

TEST(reads_llama_cpp_fixtures)
{
	static const char *files[] = {
		"llama-cpp-reference/hfconv-f16.gguf", "llama-cpp-reference/hfconv-bf16.gguf",
		"llama-cpp-reference/hfconv-q8_0.gguf", "llama-cpp-reference/imatrix/tiny-imatrix.gguf",
	};
	int seen = 0;

	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		const char *p = t_fixture(files[i]);
		struct gguf_file g;
		struct qerr e = { "" };

		if (p == NULL)
			continue;
		seen++;
		if (CHECKF(gguf_open(&g, p, &e) == 0, "%s", e.msg)) {
			CHECK(g.n_tensors > 0);
			CHECK_EQ_INT(g.data_start + g.tensors[g.n_tensors - 1].offset +
			    g.tensors[g.n_tensors - 1].nbytes <= g.map.size, 1);
			gguf_close(&g);
		}
	}
	if (seen == 0)
		t_skip("fixtures absent");
}

static unsigned char *write_to_memory(struct gguf_writer *w, const void *const *data, size_t *len,
    struct qerr *e);
static void set_every_type(struct gguf_writer *w);

/* Valid seeds too, so the fuzzer starts from files that get far. */
static void
write_valid_seeds(const char *dir)
{
	static const uint32_t aligns[] = { 32, 1, 64 };

	for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++) {
		struct gguf_writer *w = gguf_writer_new();
		uint64_t ne1[] = { 32, 2 }, ne2[] = { 3 };
		unsigned char d1[36] = { 1, 2, 3 }, d2[12] = { 4, 5, 6 };
		const void *data[] = { d1, d2, NULL };
		struct qerr e;
		unsigned char *buf;
		size_t len;
		char path[4096];

		set_every_type(w);
		if (a)
			gguf_w_set(w, "general.alignment", GGUF_T_UINT32, &aligns[a]);
		gguf_w_add_tensor(w, "blk.0.w", QF_Q4_0, 2, ne1, &e);
		gguf_w_add_tensor(w, "norm", QF_F32, 1, ne2, &e);
		if ((buf = write_to_memory(w, data, &len, &e)) != NULL) {
			snprintf(path, sizeof path, "%s/valid_align%u.gguf", dir, aligns[a]);
			t_write_file(path, buf, len);
		}
		free(buf);
		gguf_writer_free(w);
	}
}

static void
write_corpus(const char *dir)
{
	write_valid_seeds(dir);
	for (size_t i = 0; i < sizeof oddities / sizeof *oddities; i++) {
		struct bb b = { 0 };
		char path[4096];

		oddities[i].build(&b);
		snprintf(path, sizeof path, "%s/%s.gguf", dir, oddities[i].name);
		t_write_file(path, b.p, b.n);
		free(b.p);
	}
	for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
		struct bb b = { 0 };
		char path[4096];

		malformed[i].build(&b);
		snprintf(path, sizeof path, "%s/%s.gguf", dir, malformed[i].name);
		t_write_file(path, b.p ? b.p : (unsigned char *)"", b.n);
		free(b.p);
	}
}

int
main(void)
{
	const char *dir = getenv("QU_WRITE_CORPUS");

	if (dir) {
		write_corpus(dir);
		return 0;
	}
	RUN(malformed_files_are_refused_with_a_clear_message);
	RUN(every_truncation_is_refused);
	RUN(accepts_what_ggml_accepts);
	RUN(round_trip_every_kv_type_no_tensors);
	RUN(round_trip_tensors_and_alignments);
	RUN(writer_set_replace_remove_order);
	RUN(copy_kv_round_trip);
	RUN(writer_refuses_bad_input);
	RUN(writer_counts_bytes);
	RUN(write_error_is_reported);
	RUN(reads_llama_cpp_fixtures);
	return t_done();
}
