/* safetensors reader, checker and writer; ckpt folders and shards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "harness.h"
#include "safetensors.h"

/* A file from a JSON header and a data section of data_len bytes. */
static unsigned char *
make_file(const char *header, size_t data_len, size_t *len)
{
	size_t n = strlen(header);
	unsigned char *b = calloc(1, 8 + n + data_len + 1);

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)n >> (8 * i));
	memcpy(b + 8, header, n);
	for (size_t i = 0; i < data_len; i++)
		b[8 + n + i] = (unsigned char)i;
	*len = 8 + n + data_len;
	return b;
}

/* Writes tensors through the writer into memory. */
static unsigned char *
write_mem(struct st_writer *w, size_t *len, int reference_order)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct qerr e;

	if (reference_order)
		st_writer_sort_reference(w);
	CHECK(st_writer_header(w, f, &e) == 0);
	for (size_t i = 0; i < st_writer_count(w); i++) {
		uint64_t n = st_writer_nbytes(w, i);
		unsigned char *d = malloc(n + 1);

		for (uint64_t k = 0; k < n; k++)
			d[k] = (unsigned char)(i * 16 + k);
		/* in two pieces, to exercise partial writes */
		CHECK(st_writer_data(w, f, d, (size_t)(n / 2), &e) == 0);
		CHECK(st_writer_data(w, f, d + n / 2, (size_t)(n - n / 2), &e) == 0);
		free(d);
	}
	CHECK(st_writer_finish(w, &e) == 0);
	fclose(f);
	return (unsigned char *)buf;
}

TEST(writer_reference_order_padding_roundtrip)
{
	struct st_writer *w = st_writer_new();
	struct st_file f;
	struct qerr e;
	uint64_t s23[2] = { 2, 3 }, s4[1] = { 4 }, s0[1] = { 0 };
	unsigned char *b;
	size_t len;
	/* what the reference writer produces for this dict: __metadata__
	 * first with "format" first, then by dtype (enum order descending),
	 * then by name; spaces up to a multiple of 8 */
	const char *want = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"a\\\"b\"},"
	    "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
	    "\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
	    "\"b\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[32,32]},"
	    "\"z\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[32,33]}}";
	size_t wl = strlen(want), hl;

	CHECK(st_writer_meta(w, "note", "a\"b", &e) == 0);
	CHECK(st_writer_meta(w, "format", "pt", &e) == 0);
	CHECK(st_writer_meta(w, "format", "pt", &e) < 0);	/* twice */
	CHECK(st_writer_add(w, "z", QD_U8, 0, NULL, &e) == 0);
	CHECK(st_writer_add(w, "b", QD_BF16, 1, s0, &e) == 0);
	CHECK(st_writer_add(w, "a", QD_BF16, 1, s4, &e) == 0);
	CHECK(st_writer_add(w, "w", QD_F32, 2, s23, &e) == 0);
	CHECK(st_writer_add(w, "w", QD_F32, 2, s23, &e) < 0);	/* duplicate */
	CHECK(st_writer_add(w, "odd", QD_F4, 1, (uint64_t[]){ 3 }, &e) < 0);	/* 12 bits */
	b = write_mem(w, &len, 1);
	hl = 0;
	for (int i = 7; i >= 0; i--)
		hl = hl << 8 | b[i];
	CHECK_EQ_INT(hl % 8, 0);
	CHECK_EQ_INT(hl, (wl + 7) / 8 * 8);
	CHECK(memcmp(b + 8, want, wl) == 0);
	for (size_t i = wl; i < hl; i++)
		CHECK(b[8 + i] == ' ');
	CHECK_EQ_INT(len, 8 + hl + 33);
	CHECK(st_parse(&f, b, len, "mem", &e) == 0);
	CHECKF(f.n_tensors == 4, "%s", e.msg);
	CHECK_STR(st_meta_get(&f, "note"), "a\"b");
	const struct st_tensor *t = st_find(&f, "w");
	CHECK(t && t->dtype == QD_F32 && t->ndim == 2 && t->nelem == 6 && t->data == b + 8 + hl);
	t = st_find(&f, "z");
	CHECK(t && t->ndim == 0 && t->nelem == 1 && t->begin == 32);
	st_close(&f);
	free(b);
	st_writer_free(w);
}

TEST(writer_refuses_short_or_long_data)
{
	struct st_writer *w = st_writer_new();
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	struct qerr e;
	unsigned char d[16] = { 0 };

	CHECK(st_writer_add(w, "x", QD_F32, 1, (uint64_t[]){ 2 }, &e) == 0);
	CHECK(st_writer_header(w, f, &e) == 0);
	CHECK(st_writer_data(w, f, d, 4, &e) == 0);
	CHECK(st_writer_finish(w, &e) < 0);
	CHECK(strstr(e.msg, "4 of 8") != NULL);
	CHECK(st_writer_data(w, f, d, 16, &e) < 0);
	fclose(f);
	free(buf);
	st_writer_free(w);
}

/* Our writer reproduces files written by the reference Python library
 * byte for byte (fixtures written by safetensors.torch.save_file). */
TEST(writer_matches_reference_files)
{
	static const char *const files[] = { "tiny-qwen3/model.safetensors",
		"tiny-gpt-oss-mxfp4/model.safetensors" };

	for (int k = 0; k < 2; k++) {
		const char *path = t_fixture(files[k]);
		struct st_file f;
		struct st_writer *w;
		struct qerr e;
		unsigned char *out;
		size_t len;

		if (path == NULL) {
			t_skip("fixtures absent");
			return;
		}
		if (!CHECKF(st_open(&f, path, &e) == 0, "%s", e.msg))
			continue;
		w = st_writer_new();
		for (size_t i = 0; i < f.n_meta; i++)
			st_writer_meta(w, f.meta[i].key, f.meta[i].value, &e);
		for (size_t i = 0; i < f.n_tensors; i++)
			CHECK(st_writer_add(w, f.tensors[i].name, f.tensors[i].dtype, f.tensors[i].ndim,
			    f.tensors[i].shape, &e) == 0);
		st_writer_sort_reference(w);
		char *buf = NULL;
		FILE *m = open_memstream(&buf, &len);
		CHECK(st_writer_header(w, m, &e) == 0);
		for (size_t i = 0; i < st_writer_count(w); i++) {
			const struct st_tensor *t = st_find(&f, st_writer_name(w, i));
			CHECK(st_writer_data(w, m, t->data, (size_t)(t->end - t->begin), &e) == 0);
		}
		CHECK(st_writer_finish(w, &e) == 0);
		fclose(m);
		out = (unsigned char *)buf;
		CHECKF(len == f.map.size && memcmp(out, f.map.data, len) == 0, "%s: rewritten bytes differ", files[k]);
		free(buf);
		st_writer_free(w);
		st_close(&f);
	}
}

/* Each malformed header is rejected with a message naming the problem. */
TEST(reader_rejects_malformed)
{
	static const struct { const char *name, *header; size_t data; const char *want; } cases[] = {
		{ "bad json", "{\"a\":", 0, "invalid JSON" },
		{ "not an object", "[1]", 0, "not a JSON object" },
		{ "unknown dtype", "{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"F12\"" },
		{ "negative shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0] is not" },
		{ "float shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "shape[0] is not" },
		{ "exponent shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 4, "shape[0] is not" },
		{ "huge shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740993],\"data_offsets\":[0,4]}}", 4, "shape[0] is not" },
		{ "overflowing shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4, "overflows" },
		{ "string shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4, "shape is not an array" },
		{ "missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing \"data_offsets\"" },
		{ "three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "two integers" },
		{ "gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap of 4 bytes" },
		{ "overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlaps" },
		{ "end before begin", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, "end before begin" },
		{ "size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "take 8" },
		{ "odd f4", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "whole number of bytes" },
		{ "past end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "runs past the end" },
		{ "trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9, "5 trailing bytes" },
		{ "duplicate name", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "duplicate tensor name \"a\"" },
		{ "duplicate field", "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "duplicate key \"dtype\"" },
		{ "metadata number", "{\"__metadata__\":{\"n\":1}}", 0, "value of \"n\" is not a string" },
		{ "metadata array", "{\"__metadata__\":[\"x\"]}", 0, "__metadata__ is not a JSON object" },
		{ "deep nesting", "{\"a\":{\"b\":{\"c\":[[1]]}}}", 0, "nested deeper" },
		{ "junk after json", "{} x", 0, "bytes after the JSON object" },
		{ "nine dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, "array longer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t len;
		unsigned char *b = make_file(cases[i].header, cases[i].data, &len);
		struct st_file f;
		struct qerr e = { "" };

		if (CHECKF(st_parse(&f, b, len, "x.st", &e) < 0, "%s: accepted", cases[i].name))
			CHECKF(strncmp(e.msg, "x.st: ", 6) == 0 && strstr(e.msg, cases[i].want),
			    "%s: message \"%s\" lacks \"%s\"", cases[i].name, e.msg, cases[i].want);
		else
			st_close(&f);
		free(b);
	}
}

TEST(reader_length_field_and_utf8)
{
	unsigned char b[64] = { 0 };
	struct st_file f;
	struct qerr e;
	size_t len;
	unsigned char *g;

	CHECK(st_parse(&f, b, 7, "t", &e) < 0 && strstr(e.msg, "too short"));
	b[0] = 100;
	CHECK(st_parse(&f, b, 20, "t", &e) < 0 && strstr(e.msg, "runs past the end"));
	memset(b, 0xff, 8);
	CHECK(st_parse(&f, b, 20, "t", &e) < 0 && strstr(e.msg, "100 MB"));
	g = make_file("{\"\xc3\x28\":{}}", 0, &len);	/* invalid 2-byte sequence */
	CHECK(st_parse(&f, g, len, "t", &e) < 0 && strstr(e.msg, "invalid UTF-8 at byte 10"));
	free(g);
	g = make_file("{\"\xed\xa0\x80\":{}}", 0, &len);	/* a surrogate */
	CHECK(st_parse(&f, g, len, "t", &e) < 0 && strstr(e.msg, "UTF-8"));
	free(g);
	/* accepted: leading and trailing whitespace, empty header object,
	 * non-ASCII names, a rank-0 tensor, a zero-size tensor, null metadata */
	g = make_file(" \n{\"__metadata__\":null,\"\xc3\xa9\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,2]},"
	    "\"z\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[2,2]}}\t\r\n  ", 2, &len);
	CHECKF(st_parse(&f, g, len, "t", &e) == 0, "%s", e.msg);
	if (f.n_tensors == 2) {
		CHECK(st_find(&f, "\xc3\xa9")->nelem == 1);
		CHECK(st_find(&f, "z")->nelem == 0);
	}
	st_close(&f);
	free(g);
	g = make_file("{}", 0, &len);
	CHECK(st_parse(&f, g, len, "t", &e) == 0 && f.n_tensors == 0);
	st_close(&f);
	free(g);
}

struct collect {
	int n;
	char all[4096];
};

static void
collect_cb(void *ctx, const char *msg)
{
	struct collect *c = ctx;

	c->n++;
	strncat(c->all, msg, sizeof c->all - strlen(c->all) - 2);
	strcat(c->all, "\n");
}

TEST(check_reports_every_problem)
{
	const char *h = "{\"__metadata__\":{\"n\":1},"
	    "\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4],\"extra\":1},"
	    "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
	struct collect c = { 0 };
	size_t len;
	unsigned char *b = make_file(h, 16, &len);

	CHECK_EQ_INT(st_check(b, len, collect_cb, &c), 6);
	CHECK(strstr(c.all, "\"n\" is not a string"));
	CHECK(strstr(c.all, "unknown dtype \"F99\""));
	CHECK(strstr(c.all, "unknown key \"extra\""));
	CHECK(strstr(c.all, "take 8"));		/* b: 2 F32 in 4 bytes */
	CHECK(strstr(c.all, "gap of 4 bytes"));	/* c starts at 8 */
	CHECK(strstr(c.all, "4 trailing bytes"));
	CHECKF(c.n == 6, "%s", c.all);
	free(b);
	c = (struct collect){ 0 };
	b = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, &len);
	CHECK_EQ_INT(st_check(b, len, collect_cb, &c), 0);
	free(b);
}

/* ---- ckpt ---- */

static void
write_st(const char *dir, const char *file, const char *const *names, int n)
{
	struct st_writer *w = st_writer_new();
	char path[1024];
	struct qerr e;
	float v[2] = { 1, 2 };
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	f = fopen(path, "wb");
	st_writer_meta(w, "format", "pt", &e);
	for (int i = 0; i < n; i++)
		st_writer_add(w, names[i], QD_F32, 1, (uint64_t[]){ 2 }, &e);
	st_writer_sort_reference(w);
	st_writer_header(w, f, &e);
	for (int i = 0; i < n; i++)
		st_writer_data(w, f, v, 8, &e);
	CHECK(st_writer_finish(w, &e) == 0);
	fclose(f);
	st_writer_free(w);
}

static void
write_text(const char *dir, const char *file, const char *text)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	t_write_file(path, text, strlen(text));
}

static char *
subdir(const char *name)
{
	static char path[8][1024];
	static int k;
	char *p = path[k++ % 8];

	snprintf(p, 1024, "%s/%s", t_tmpdir(), name);
	mkdir(p, 0777);
	return p;
}

TEST(ckpt_sharded_index_both_ways)
{
	static const char *const s1[] = { "a", "b" }, *const s2[] = { "c" };
	const char *d = subdir("sharded");
	struct ckpt c;
	struct qerr e;

	write_st(d, "m-1.safetensors", s1, 2);
	write_st(d, "m-2.safetensors", s2, 1);
	write_st(d, "stray.safetensors", s2, 1);	/* not in the index: ignored */
	write_text(d, "config.json", "{\"model_type\":\"llama\",\"quantization_config\":{\"quant_method\":\"awq\"}}");
	write_text(d, "m.safetensors.index.json", "{\"metadata\":{\"total_size\":24},\"weight_map\":"
	    "{\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\"}}");
	if (CHECKF(ckpt_open(&c, d, &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(c.n_files, 2);
		CHECK_EQ_INT(c.n_tensors, 3);
		CHECK(ckpt_find(&c, "c") && strstr(ckpt_find(&c, "c")->file->path, "m-2"));
		CHECK(ckpt_find(&c, "zz") == NULL);
		CHECK(c.config && cJSON_GetObjectItem(c.config, "quantization_config"));
		ckpt_close(&c);
	}
	/* the map names a tensor no shard has */
	write_text(d, "m.safetensors.index.json", "{\"weight_map\":{\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\","
	    "\"c\":\"m-2.safetensors\",\"d\":\"m-2.safetensors\"}}");
	CHECK(ckpt_open(&c, d, &e) < 0 && strstr(e.msg, "\"d\" is in the weight_map but in no shard"));
	/* a shard tensor the map lacks */
	write_text(d, "m.safetensors.index.json", "{\"weight_map\":{\"a\":\"m-1.safetensors\",\"c\":\"m-2.safetensors\"}}");
	CHECK(ckpt_open(&c, d, &e) < 0 && strstr(e.msg, "\"b\" of m-1.safetensors is missing from the weight_map"));
	/* mapped to the wrong shard */
	write_text(d, "m.safetensors.index.json", "{\"weight_map\":{\"a\":\"m-1.safetensors\",\"b\":\"m-2.safetensors\",\"c\":\"m-2.safetensors\"}}");
	CHECK(ckpt_open(&c, d, &e) < 0 && strstr(e.msg, "\"b\" is mapped to m-2.safetensors but found in m-1.safetensors"));
	/* a missing shard file */
	write_text(d, "m.safetensors.index.json", "{\"weight_map\":{\"a\":\"m-1.safetensors\",\"b\":\"m-1.safetensors\",\"c\":\"m-3.safetensors\"}}");
	CHECK(ckpt_open(&c, d, &e) < 0 && strstr(e.msg, "shard m-3.safetensors is listed in the index but missing"));
	/* a path outside the folder */
	write_text(d, "m.safetensors.index.json", "{\"weight_map\":{\"a\":\"../m-1.safetensors\"}}");
	CHECK(ckpt_open(&c, d, &e) < 0 && strstr(e.msg, "does not name a shard file"));
}

TEST(ckpt_plain_folders)
{
	static const char *const s1[] = { "a" }, *const s2[] = { "b" };
	const char *d = subdir("plain"), *m = subdir("with-model"), *dup = subdir("dup"), *empty = subdir("empty");
	struct ckpt c;
	struct qerr e;
	char one[1024];

	write_st(d, "x.safetensors", s1, 1);
	write_st(d, "y.safetensors", s2, 1);
	if (CHECKF(ckpt_open(&c, d, &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(c.n_tensors, 2);
		ckpt_close(&c);
	}
	write_st(m, "model.safetensors", s1, 1);
	write_st(m, "other.safetensors", s2, 1);
	if (CHECKF(ckpt_open(&c, m, &e) == 0, "%s", e.msg)) {
		CHECK_EQ_INT(c.n_files, 1);	/* model.safetensors alone */
		ckpt_close(&c);
	}
	write_st(dup, "x.safetensors", s1, 1);
	write_st(dup, "y.safetensors", s1, 1);
	CHECK(ckpt_open(&c, dup, &e) < 0 && strstr(e.msg, "tensor \"a\" is in both"));
	CHECK(ckpt_open(&c, empty, &e) < 0 && strstr(e.msg, "no .safetensors files"));
	snprintf(one, sizeof one, "%s/x.safetensors", d);
	if (CHECKF(ckpt_open(&c, one, &e) == 0, "%s", e.msg)) {
		CHECK(c.dir == NULL && c.n_tensors == 1);
		ckpt_close(&c);
	}
	write_text(m, "config.json", "{not json");
	CHECK(ckpt_open(&c, m, &e) < 0 && strstr(e.msg, "config.json: invalid JSON"));
}

TEST(fixtures_sharded_and_negative)
{
	char sh[1024], neg[1024];
	struct ckpt c;
	struct st_file f;
	struct qerr e;
	uint64_t total = 0;

	if (t_fixture("tiny-llama-sharded") == NULL) {
		t_skip("fixtures absent");
		return;
	}
	snprintf(sh, sizeof sh, "%s", t_fixture("tiny-llama-sharded"));
	snprintf(neg, sizeof neg, "%s", t_fixture("negative/header_len_exceeds_file.safetensors"));
	if (CHECKF(ckpt_open(&c, sh, &e) == 0, "%s", e.msg)) {
		for (size_t i = 0; i < c.n_tensors; i++)
			total += c.tensors[i].t->end - c.tensors[i].t->begin;
		CHECK_EQ_INT(c.n_tensors, 22);
		CHECK_EQ_INT(total, 4712);	/* the index's total_size */
		ckpt_close(&c);
	}
	CHECK(st_open(&f, neg, &e) < 0 && strstr(e.msg, "header length 1000 runs past the end"));
}

/* The stream reader: header from a file descriptor, data left unread. */
TEST(stream_header)
{
	char path[1024];
	size_t len;
	unsigned char *b = make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, &len);
	struct st_file f;
	struct qerr e;
	FILE *fp;

	snprintf(path, sizeof path, "%s/stream.st", t_tmpdir());
	t_write_file(path, b, len);
	fp = fopen(path, "rb");
	if (CHECKF(st_read_header(&f, fileno(fp), "s", &e) == 0, "%s", e.msg)) {
		CHECK(f.n_tensors == 1 && f.data_len == 8 && f.tensors[0].data == NULL);
		st_close(&f);
	}
	fclose(fp);
	t_write_file(path, b, 20);	/* the header cut short */
	fp = fopen(path, "rb");
	CHECK(st_read_header(&f, fileno(fp), "s", &e) < 0 && strstr(e.msg, "runs past the end"));
	fclose(fp);
	free(b);
}

int
main(void)
{
	RUN(writer_reference_order_padding_roundtrip);
	RUN(writer_refuses_short_or_long_data);
	RUN(writer_matches_reference_files);
	RUN(reader_rejects_malformed);
	RUN(reader_length_field_and_utf8);
	RUN(check_reports_every_problem);
	RUN(ckpt_sharded_index_both_ways);
	RUN(ckpt_plain_folders);
	RUN(fixtures_sharded_and_negative);
	RUN(stream_header);
	return t_done();
}
