/* Importance matrices: both forms give llama-quantize's vectors; malformed
 * files are refused.  QU_WRITE_CORPUS=DIR writes the seed corpus of
 * tests/fuzz/corpus/fuzz_imatrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "harness.h"
#include "imatrix.h"
#include "quant.h"

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

static void bb_i32(struct bb *b, int32_t v) { bb_put(b, &v, 4); }	/* host is LE */
static void bb_f32(struct bb *b, float v) { bb_put(b, &v, 4); }

static void
bb_name(struct bb *b, const char *s)
{
	bb_i32(b, (int32_t)strlen(s));
	bb_put(b, s, strlen(s));
}

/* ---- generated GGUF imatrix ---- */

struct gen_tensor {
	const char *name;
	int n_dims;
	uint64_t ne[2];
	const float *v;
	uint32_t type;
};

static unsigned char *
gen_gguf(const struct gen_tensor *ts, int nt, int with_meta, size_t *len)
{
	struct gguf_writer *w = gguf_writer_new();
	struct qerr e;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	const char *ds[] = { "wiki.train.raw", "other.txt" };
	uint32_t cc = 5, cs = 512;

	gguf_w_set_str(w, "general.type", "imatrix");
	if (with_meta) {
		gguf_w_set_arr_str(w, "imatrix.datasets", 2, ds, NULL);
		gguf_w_set(w, "imatrix.chunk_count", GGUF_T_UINT32, &cc);
		gguf_w_set(w, "imatrix.chunk_size", GGUF_T_UINT32, &cs);
	}
	for (int i = 0; i < nt; i++)
		gguf_w_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, &e);
	gguf_w_write_header(w, f, &e);
	for (int i = 0; i < nt; i++)
		gguf_w_write_data(w, f, ts[i].v, gguf_w_tensor_nbytes(w, (size_t)i), &e);
	gguf_w_finish(w, f, &e);
	fclose(f);
	gguf_writer_free(w);
	return (unsigned char *)buf;
}

static const float sums_q[4] = { 3, 6, 9, 12 };
static const float count_q[1] = { 3 };
/* 3 experts of 2 columns; expert 1 saw no tokens; expert 2's count 2.5
 * rounds (half away from zero) to 3 */
static const float sums_x[6] = { 1, 2, 100, 200, 6, 9 };
static const float count_x[3] = { 4, 0, 2.5f };

static const struct gen_tensor good[] = {
	{ "blk.0.ffn_down_exps.weight.counts", 2, { 1, 3 }, count_x, QF_F32 },
	{ "blk.0.ffn_down_exps.weight.in_sum2", 2, { 2, 3 }, sums_x, QF_F32 },
	{ "blk.0.attn_q.weight.in_sum2", 2, { 4, 1 }, sums_q, QF_F32 },
	{ "blk.0.attn_q.weight.counts", 2, { 1, 1 }, count_q, QF_F32 },
};

TEST(gguf_form_divides_by_rounded_counts)
{
	size_t len;
	unsigned char *buf = gen_gguf(good, 4, 1, &len);
	struct imatrix m;
	struct qerr e = { "" };
	const struct imatrix_entry *q, *x;

	if (!CHECKF(imatrix_parse(&m, buf, len, "g.gguf", &e) == 0, "%s", e.msg)) {
		free(buf);
		return;
	}
	CHECK_EQ_INT(m.is_legacy, 0);
	CHECK_EQ_INT(m.n_entries, 2);
	CHECK_STR(m.entries[0].name, "blk.0.attn_q.weight");		/* sorted */
	CHECK_EQ_INT(m.chunk_count, 5);
	CHECK_EQ_INT(m.chunk_size, 512);
	CHECK_EQ_INT(m.n_datasets, 2);
	CHECK_STR(m.datasets[1], "other.txt");
	q = imatrix_find(&m, "blk.0.attn_q.weight");
	x = imatrix_find(&m, "blk.0.ffn_down_exps.weight");
	if (CHECK(q && x)) {
		CHECK(q->n == 4 && q->n_mat == 1);
		CHECK(q->values[0] == 1.0f && q->values[3] == 4.0f);
		CHECK(x->n == 6 && x->n_mat == 3);
		CHECK(x->values[0] == 0.25f && x->values[1] == 0.5f);
		CHECK(x->values[2] == 1.0f && x->values[3] == 1.0f);	/* no tokens: ones */
		CHECK(x->values[4] == 2.0f && x->values[5] == 3.0f);	/* / lround(2.5) = 3 */
	}
	CHECK(imatrix_find(&m, "blk.0.attn_k.weight") == NULL);
	imatrix_free(&m);
	free(buf);
}

static void
gen_dat(struct bb *b, int trailer)
{
	bb_i32(b, 2);
	bb_name(b, "output.weight");
	bb_i32(b, 0);			/* ncall 0: values used as stored */
	bb_i32(b, 2);
	bb_f32(b, 5);
	bb_f32(b, 7);
	bb_name(b, "blk.0.attn_k.weight");
	bb_i32(b, 4);
	bb_i32(b, 3);
	bb_f32(b, 4);
	bb_f32(b, 2);
	bb_f32(b, 1);
	if (trailer) {
		bb_i32(b, 9);
		bb_name(b, "calib.txt");
	}
}

TEST(dat_form_divides_by_ncall)
{
	struct bb b = { 0 };
	struct imatrix m;
	struct qerr e = { "" };
	const struct imatrix_entry *k, *o;

	gen_dat(&b, 1);
	if (CHECKF(imatrix_parse(&m, b.p, b.n, "i.dat", &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(m.is_legacy, 1);
		CHECK_EQ_INT(m.n_entries, 2);
		CHECK_EQ_INT(m.chunk_count, 9);
		CHECK(m.n_datasets == 1 && strcmp(m.datasets[0], "calib.txt") == 0);
		k = imatrix_find(&m, "blk.0.attn_k.weight");
		o = imatrix_find(&m, "output.weight");
		CHECK(k && k->n == 3 && k->values[0] == 1.0f && k->values[2] == 0.25f);
		CHECK(o && o->n == 2 && o->values[0] == 5.0f && o->values[1] == 7.0f);
		imatrix_free(&m);
	}
	free(b.p);
	memset(&b, 0, sizeof b);
	gen_dat(&b, 0);		/* the trailer is optional */
	if (CHECKF(imatrix_parse(&m, b.p, b.n, "i.dat", &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(m.chunk_count, 0);
		CHECK_EQ_INT(m.n_datasets, 0);
		imatrix_free(&m);
	}
	free(b.p);
}

/* The same llama-imatrix run saved in both forms gives identical vectors. */
TEST(fixture_forms_agree)
{
	const char *p;
	char pg[4096], pd[4096];
	struct imatrix g, d;
	struct qerr e = { "" };

	/* t_fixture's answer lives in one buffer: copy it */
	if ((p = t_fixture("llama-cpp-reference/imatrix/tiny-imatrix.gguf")) == NULL) {
		t_skip("fixtures absent");
		return;
	}
	snprintf(pg, sizeof pg, "%s", p);
	if ((p = t_fixture("llama-cpp-reference/imatrix/tiny-imatrix.dat")) == NULL) {
		t_skip("fixtures absent");
		return;
	}
	snprintf(pd, sizeof pd, "%s", p);
	if (!CHECKF(imatrix_load(&g, pg, &e) == 0, "%s", e.msg))
		return;
	CHECK_EQ_INT(g.is_legacy, 0);
	if (CHECKF(imatrix_load(&d, pd, &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(d.is_legacy, 1);
		CHECK_EQ_INT(g.n_entries, 14);
		CHECK_EQ_INT(d.n_entries, g.n_entries);
		CHECK_EQ_INT(g.chunk_count, 8);
		CHECK_EQ_INT(d.chunk_count, 8);
		CHECK_EQ_INT(g.chunk_size, 128);
		CHECK(g.n_datasets == 1 && d.n_datasets == 1 && strcmp(g.datasets[0], d.datasets[0]) == 0);
		for (size_t i = 0; i < g.n_entries && i < d.n_entries; i++) {
			CHECK_STR(g.entries[i].name, d.entries[i].name);
			if (!CHECKF(g.entries[i].n == d.entries[i].n, "%s: %llu vs %llu values",
			    g.entries[i].name, (unsigned long long)g.entries[i].n,
			    (unsigned long long)d.entries[i].n))
				continue;
			for (uint64_t j = 0; j < g.entries[i].n; j++)
				CHECKF(g.entries[i].values[j] == d.entries[i].values[j], "%s[%llu]: %.9g vs %.9g",
				    g.entries[i].name, (unsigned long long)j, (double)g.entries[i].values[j],
				    (double)d.entries[i].values[j]);
		}
		if (g.n_entries > 4)
			CHECK_EQ_INT(imatrix_find(&g, "blk.0.ffn_down.weight")->n, 128);
		imatrix_free(&d);
	}
	imatrix_free(&g);
}

TEST(quantize_kvs_as_llama_quantize_writes_them)
{
	struct gguf_writer *w = gguf_writer_new();
	struct imatrix m = { 0 };
	char *dsv[] = { "d" };
	char path[300], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct gguf_file g;
	struct qerr e = { "" };
	uint32_t ft = 15;

	memset(path, 'p', 200);
	path[200] = 0;
	m.datasets = dsv;
	m.n_datasets = 1;
	m.chunk_count = 0;
	gguf_w_set(w, "general.file_type", GGUF_T_UINT32, &ft);
	gguf_w_set_str(w, "quantize.imatrix.file", "stale");
	CHECK(imatrix_set_quantize_kvs(w, &m, path, 3) == 0);
	gguf_w_write_header(w, f, &e);
	gguf_w_finish(w, f, &e);
	fclose(f);
	if (CHECKF(gguf_parse(&g, (unsigned char *)buf, len, "q", &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(g.n_kvs, 4);	/* no chunks_count: chunk count 0 */
		CHECK_STR(g.kvs[0].key, "general.file_type");
		CHECK_STR(g.kvs[1].key, "quantize.imatrix.file");
		CHECK_EQ_INT(strlen(gguf_kv_str(&g.kvs[1])), 127);
		CHECK_STR(g.kvs[2].key, "quantize.imatrix.dataset");
		CHECK_STR(g.kvs[3].key, "quantize.imatrix.entries_count");
		CHECK(g.kvs[3].type == GGUF_T_UINT32 && *(uint32_t *)g.kvs[3].data == 3);
		gguf_close(&g);
	}
	free(buf);
	gguf_writer_free(w);
}

/* ---- malformed ---- */

static const float one[1] = { 1 };
static const float nan1[1] = { NAN };

static const struct gen_tensor only_sums[] = { { "w.in_sum2", 1, { 4 }, sums_q, QF_F32 } };
static const struct gen_tensor only_counts[] = { { "w.counts", 1, { 1 }, one, QF_F32 } };
static const struct gen_tensor f16_sums[] = {
	{ "w.in_sum2", 1, { 4 }, sums_q, QF_F16 }, { "w.counts", 1, { 1 }, one, QF_F32 } };
static const struct gen_tensor uneven[] = {
	{ "w.in_sum2", 1, { 3 }, sums_q, QF_F32 }, { "w.counts", 2, { 1, 2 }, sums_q, QF_F32 } };
static const struct gen_tensor nan_count[] = {
	{ "w.in_sum2", 1, { 4 }, sums_q, QF_F32 }, { "w.counts", 1, { 1 }, nan1, QF_F32 } };
static const struct gen_tensor zero_sums[] = {
	{ "w.in_sum2", 1, { 0 }, sums_q, QF_F32 }, { "w.counts", 1, { 1 }, one, QF_F32 } };

static const struct gcase {
	const char *name;
	const struct gen_tensor *ts;
	int nt, meta;
	const char *expect;
} bad_gguf[] = {
	{ "gguf_no_tensors", good, 0, 1, "no data" },
	{ "gguf_missing_metadata", good, 4, 0, "missing imatrix metadata" },
	{ "gguf_sums_without_counts", only_sums, 1, 1, "'w.in_sum2' has no matching 'w.counts'" },
	{ "gguf_counts_without_sums", only_counts, 1, 1, "'w.counts' has no matching 'w.in_sum2'" },
	{ "gguf_f16_sums", f16_sums, 2, 1, "must be F32" },
	{ "gguf_uneven_experts", uneven, 2, 1, "3 sums do not split into 2 matrices" },
	{ "gguf_nan_count", nan_count, 2, 1, "is not a token count" },
	{ "gguf_zero_sums", zero_sums, 2, 1, "0 sums do not split" },
};

static void d_no_entries(struct bb *b) { bb_i32(b, 0); }
static void d_empty(struct bb *b) { (void)b; }
static void d_absurd_entries(struct bb *b) { bb_i32(b, 1 << 30); bb_i32(b, 1); }
static void d_negative_name(struct bb *b) { bb_i32(b, 1); bb_i32(b, -5); bb_i32(b, 0); bb_i32(b, 0); bb_i32(b, 0); }
static void d_name_past_end(struct bb *b) { bb_i32(b, 1); bb_i32(b, 900); bb_i32(b, 0); bb_i32(b, 0); bb_i32(b, 0); }
static void d_zero_values(struct bb *b) { bb_i32(b, 1); bb_name(b, "w"); bb_i32(b, 1); bb_i32(b, 0); bb_f32(b, 1); }
static void d_values_past_end(struct bb *b) { bb_i32(b, 1); bb_name(b, "w"); bb_i32(b, 1); bb_i32(b, 1000); bb_f32(b, 1); }
static void d_truncated(struct bb *b) { bb_i32(b, 1); bb_name(b, "blk.0.attn_q.weight"); bb_i32(b, 1); }

static void
d_duplicate(struct bb *b)
{
	bb_i32(b, 2);
	for (int i = 0; i < 2; i++) {
		bb_name(b, "w");
		bb_i32(b, 1);
		bb_i32(b, 1);
		bb_f32(b, 1);
	}
}

static const struct dcase {
	const char *name;
	void (*build)(struct bb *);
	const char *expect;
} bad_dat[] = {
	{ "dat_empty", d_empty, "no data" },
	{ "dat_no_entries", d_no_entries, "no data" },
	{ "dat_absurd_entries", d_absurd_entries, "1073741824 entries cannot fit" },
	{ "dat_negative_name_length", d_negative_name, "name length -5" },
	{ "dat_name_past_end", d_name_past_end, "name length 900 runs past the end" },
	{ "dat_zero_values", d_zero_values, "entry 'w': 0 values" },
	{ "dat_values_past_end", d_values_past_end, "1000 values run past the end" },
	{ "dat_truncated", d_truncated, "truncated" },
	{ "dat_duplicate_entry", d_duplicate, "duplicate entry 'w'" },
};

TEST(malformed_imatrix_refused)
{
	for (size_t i = 0; i < sizeof bad_gguf / sizeof *bad_gguf; i++) {
		size_t len;
		unsigned char *buf = gen_gguf(bad_gguf[i].ts, bad_gguf[i].nt, bad_gguf[i].meta, &len);
		struct imatrix m;
		struct qerr e = { "" };

		if (!CHECKF(imatrix_parse(&m, buf, len, "bad.gguf", &e) == -1, "%s accepted", bad_gguf[i].name))
			imatrix_free(&m);
		CHECKF(strncmp(e.msg, "bad.gguf: ", 10) == 0 && strstr(e.msg, bad_gguf[i].expect),
		    "%s: \"%s\" lacks \"%s\"", bad_gguf[i].name, e.msg, bad_gguf[i].expect);
		free(buf);
	}
	for (size_t i = 0; i < sizeof bad_dat / sizeof *bad_dat; i++) {
		struct bb b = { 0 };
		struct imatrix m;
		struct qerr e = { "" };

		bad_dat[i].build(&b);
		if (!CHECKF(imatrix_parse(&m, b.p ? b.p : (unsigned char *)"", b.n, "bad.dat", &e) == -1,
		    "%s accepted", bad_dat[i].name))
			imatrix_free(&m);
		CHECKF(strncmp(e.msg, "bad.dat: ", 9) == 0 && strstr(e.msg, bad_dat[i].expect),
		    "%s: \"%s\" lacks \"%s\"", bad_dat[i].name, e.msg, bad_dat[i].expect);
		free(b.p);
	}
}

/* llama.cpp takes a short trailer's bytes as the chunk count; it loads an
 * imatrix GGUF's whole padded data section, so missing padding is refused. */
TEST(llama_cpp_corners)
{
	struct bb b = { 0 };
	struct imatrix m;
	struct qerr e = { "" };
	size_t len;
	unsigned char *buf;

	gen_dat(&b, 0);
	bb_put(&b, "\x05\x01", 2);
	if (CHECKF(imatrix_parse(&m, b.p, b.n, "t.dat", &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(m.chunk_count, 0x105);
		imatrix_free(&m);
	}
	free(b.p);
	buf = gen_gguf(good, 4, 1, &len);
	CHECK(imatrix_parse(&m, buf, len - 10, "t.gguf", &e) == -1);
	CHECKF(strstr(e.msg, "before the padding of") != NULL, "%s", e.msg);
	free(buf);
}

/* A broken GGUF is reported as GGUF, not re-read as a .dat. */
TEST(broken_gguf_reported_as_gguf)
{
	size_t len;
	unsigned char *buf = gen_gguf(good, 4, 1, &len);
	struct imatrix m;
	struct qerr e = { "" };

	CHECK(imatrix_parse(&m, buf, len / 2, "t.gguf", &e) == -1);
	CHECKF(strstr(e.msg, "t.gguf: byte ") != NULL && strstr(e.msg, "entries") == NULL, "%s", e.msg);
	free(buf);
}

static void
write_corpus(const char *dir)
{
	char path[4096];
	size_t len;
	unsigned char *buf;
	struct bb b = { 0 };

	buf = gen_gguf(good, 4, 1, &len);
	snprintf(path, sizeof path, "%s/valid.gguf", dir);
	t_write_file(path, buf, len);
	free(buf);
	gen_dat(&b, 1);
	snprintf(path, sizeof path, "%s/valid.dat", dir);
	t_write_file(path, b.p, b.n);
	free(b.p);
	for (size_t i = 0; i < sizeof bad_gguf / sizeof *bad_gguf; i++) {
		buf = gen_gguf(bad_gguf[i].ts, bad_gguf[i].nt, bad_gguf[i].meta, &len);
		snprintf(path, sizeof path, "%s/%s.gguf", dir, bad_gguf[i].name);
		t_write_file(path, buf, len);
		free(buf);
	}
	for (size_t i = 0; i < sizeof bad_dat / sizeof *bad_dat; i++) {
		memset(&b, 0, sizeof b);
		bad_dat[i].build(&b);
		snprintf(path, sizeof path, "%s/%s.dat", dir, bad_dat[i].name);
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
	RUN(gguf_form_divides_by_rounded_counts);
	RUN(dat_form_divides_by_ncall);
	RUN(fixture_forms_agree);
	RUN(quantize_kvs_as_llama_quantize_writes_them);
	RUN(malformed_imatrix_refused);
	RUN(llama_cpp_corners);
	RUN(broken_gguf_reported_as_gguf);
	return t_done();
}
