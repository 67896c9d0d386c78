/* qu-gguf-tool: our GGUF reader and writer, driven by the interop tests.
 *
 *   dump FILE...        the canonical text form of tests/interop/ggml_gguf_dump.c
 *   json FILE           KVs and tensor infos as JSON for the @huggingface/gguf check
 *   sample OUT ALIGN    write a file with every KV type and several tensor types
 *                       (ALIGN 0: no general.alignment key)
 *   empty OUT           a file with KVs and no tensors
 *   imatrix FILE...     the importance vectors after a "file NAME" line: a
 *                       header line, then one "name n v0 v1 ..." line each
 *                       ("refused" when the file is) */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "imatrix.h"
#include "quant.h"

static void
print_str(const char *s, uint64_t n)
{
	putchar('"');
	/* ggml hands out C strings: what follows a NUL is not seen */
	for (uint64_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_elem(enum gguf_vtype t, const unsigned char *p)
{
	uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
	float f; uint64_t u64; int64_t i64; double d;

	switch (t) {
	case GGUF_T_UINT8: memcpy(&u8, p, 1); printf("%u", u8); break;
	case GGUF_T_INT8: memcpy(&i8, p, 1); printf("%d", i8); break;
	case GGUF_T_UINT16: memcpy(&u16, p, 2); printf("%u", u16); break;
	case GGUF_T_INT16: memcpy(&i16, p, 2); printf("%d", i16); break;
	case GGUF_T_UINT32: memcpy(&u32, p, 4); printf("%" PRIu32, u32); break;
	case GGUF_T_INT32: memcpy(&i32, p, 4); printf("%" PRId32, i32); break;
	case GGUF_T_FLOAT32: memcpy(&f, p, 4); printf("%.9g", (double)f); break;
	case GGUF_T_BOOL: printf("%s", p[0] ? "true" : "false"); break;
	case GGUF_T_UINT64: memcpy(&u64, p, 8); printf("%" PRIu64, u64); break;
	case GGUF_T_INT64: memcpy(&i64, p, 8); printf("%" PRId64, i64); break;
	case GGUF_T_FLOAT64: memcpy(&d, p, 8); printf("%.17g", d); break;
	default: printf("?"); break;
	}
}

static uint64_t
fnv(const unsigned char *p, uint64_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);

	while (n--)
		h = (h ^ *p++) * UINT64_C(1099511628211);
	return h;
}

static void
dump(const char *path)
{
	struct gguf_file g;
	struct qerr e;

	printf("file %s\n", path);
	if (gguf_open(&g, path, &e) < 0) {
		printf("refused\n");
		fprintf(stderr, "%s\n", e.msg);
		return;
	}
	printf("version %u\nalignment %u\ndata_offset %" PRIu64 "\n", g.version, g.alignment,
	    g.data_start);
	for (size_t i = 0; i < g.n_kvs; i++) {
		const struct gguf_kv *kv = &g.kvs[i];

		printf("kv %zu ", i);
		print_str(kv->key, strlen(kv->key));
		if (kv->is_array)
			printf(" arr %s %" PRIu64 " [", gguf_vtype_name(kv->type), kv->n);
		else
			printf(" %s ", gguf_vtype_name(kv->type));
		for (uint64_t j = 0; j < kv->n; j++) {
			if (j)
				putchar(',');
			if (kv->type == GGUF_T_STRING)
				print_str(kv->str[j], kv->str_len[j]);
			else
				print_elem(kv->type, (const unsigned char *)kv->data + j * gguf_vtype_size(kv->type));
		}
		printf(kv->is_array ? "]\n" : "\n");
	}
	for (size_t i = 0; i < g.n_tensors; i++) {
		const struct gguf_tensor *t = &g.tensors[i];
		char tn[32];

		snprintf(tn, sizeof tn, "%s", qfmt_table[t->type].name);
		for (size_t k = 0; tn[k]; k++)
			tn[k] = (char)toupper((unsigned char)tn[k]);
		printf("tensor %zu ", i);
		print_str(t->name, strlen(t->name));
		printf(" type=%u(%s) ne=%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		    " offset=%" PRIu64 " size=%" PRIu64 " fnv=%016" PRIx64 "\n", t->type, tn,
		    t->ne[0], t->ne[1], t->ne[2], t->ne[3], t->offset, t->nbytes, fnv(t->data, t->nbytes));
	}
	gguf_close(&g);
}

static void
json_str(const char *s, uint64_t n)
{
	putchar('"');
	for (uint64_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Typed JSON: every value as {"type":..., "value":...}; 64-bit integers as
 * strings (JSON numbers lose them); floats with enough digits to round-trip. */
static int
json(const char *path)
{
	struct gguf_file g;
	struct qerr e;

	if (gguf_open(&g, path, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	printf("{\"version\":%u,\"alignment\":%u,\"data_offset\":%" PRIu64 ",\"kvs\":[", g.version,
	    g.alignment, g.data_start);
	for (size_t i = 0; i < g.n_kvs; i++) {
		const struct gguf_kv *kv = &g.kvs[i];
		int quoted = kv->type == GGUF_T_UINT64 || kv->type == GGUF_T_INT64;

		printf("%s{\"key\":", i ? "," : "");
		json_str(kv->key, strlen(kv->key));
		printf(",\"type\":\"%s\",\"array\":%s,\"value\":%s", gguf_vtype_name(kv->type),
		    kv->is_array ? "true" : "false", kv->is_array ? "[" : "");
		for (uint64_t j = 0; j < kv->n; j++) {
			if (j)
				putchar(',');
			if (kv->type == GGUF_T_STRING) {
				json_str(kv->str[j], kv->str_len[j]);
				continue;
			}
			if (quoted)
				putchar('"');
			if (kv->type == GGUF_T_FLOAT32 || kv->type == GGUF_T_FLOAT64) {
				double d;
				float f;

				if (kv->type == GGUF_T_FLOAT32)
					memcpy(&f, (const char *)kv->data + 4 * j, 4), d = f;
				else
					memcpy(&d, (const char *)kv->data + 8 * j, 8);
				if (d != d || d - d != 0)
					printf("\"%s\"", d != d ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
				else
					printf("%.17g", d);
			} else {
				print_elem(kv->type, (const unsigned char *)kv->data + j * gguf_vtype_size(kv->type));
			}
			if (quoted)
				putchar('"');
		}
		printf("%s}", kv->is_array ? "]" : "");
	}
	printf("],\"tensors\":[");
	for (size_t i = 0; i < g.n_tensors; i++) {
		const struct gguf_tensor *t = &g.tensors[i];

		printf("%s{\"name\":", i ? "," : "");
		json_str(t->name, strlen(t->name));
		printf(",\"type\":%u,\"n_dims\":%d,\"ne\":[", t->type, t->n_dims);
		for (int d = 0; d < t->n_dims; d++)
			printf("%s\"%" PRIu64 "\"", d ? "," : "", t->ne[d]);
		printf("],\"offset\":\"%" PRIu64 "\"}", t->offset);
	}
	printf("]}\n");
	gguf_close(&g);
	return 0;
}

static int
finish(struct gguf_writer *w, const char *out, void **data)
{
	struct qerr e;
	FILE *f = fopen(out, "wb");
	int rc;

	if (f == NULL) {
		perror(out);
		return 1;
	}
	rc = gguf_w_write_header(w, f, &e);
	for (size_t i = 0; rc == 0 && data && data[i]; i++)
		rc = gguf_w_write_data(w, f, data[i], gguf_w_tensor_nbytes(w, i), &e);
	if (rc == 0)
		rc = gguf_w_finish(w, f, &e);
	if (fclose(f) != 0 || rc != 0) {
		fprintf(stderr, "%s: %s\n", out, e.msg);
		return 1;
	}
	return 0;
}

static void
set_kvs(struct gguf_writer *w)
{
	uint8_t u8 = 255, bo = 1;
	int8_t i8 = -128;
	uint16_t u16 = 65535;
	int16_t i16 = -32768;
	uint32_t u32 = 4294967295u, bc = 2;
	int32_t i32 = -2147483647 - 1;
	float f32 = 1e-6f;
	uint64_t u64 = UINT64_MAX;
	int64_t i64 = INT64_MIN;
	double f64 = 3.141592653589793;
	const char *toks[] = { "<unk>", "<s>", "</s>", "hello", "wörld", "tab\there", "quote\"s", "" };
	float scores[] = { 0, -1.5f, 2.25f, 1e30f, -0.0f };
	int32_t types[] = { 2, 3, 3, 1, 1 };
	uint8_t u8s[] = { 0, 1, 255 };
	int64_t i64s[] = { INT64_MIN, 0, INT64_MAX };
	uint64_t u64s[] = { 0, UINT64_MAX };
	double f64s[] = { 1e-300, -2.5 };
	int16_t i16s[] = { -1, 2 };
	uint8_t bools[] = { 1, 0, 1 };

	gguf_w_set_str(w, "general.architecture", "llama");
	gguf_w_set_str(w, "general.name", "qutils sample — ünïcode");
	gguf_w_set(w, "llama.block_count", GGUF_T_UINT32, &bc);
	gguf_w_set(w, "test.u8", GGUF_T_UINT8, &u8);
	gguf_w_set(w, "test.i8", GGUF_T_INT8, &i8);
	gguf_w_set(w, "test.u16", GGUF_T_UINT16, &u16);
	gguf_w_set(w, "test.i16", GGUF_T_INT16, &i16);
	gguf_w_set(w, "test.u32", GGUF_T_UINT32, &u32);
	gguf_w_set(w, "test.i32", GGUF_T_INT32, &i32);
	gguf_w_set(w, "test.f32", GGUF_T_FLOAT32, &f32);
	gguf_w_set(w, "test.bool", GGUF_T_BOOL, &bo);
	gguf_w_set(w, "test.u64", GGUF_T_UINT64, &u64);
	gguf_w_set(w, "test.i64", GGUF_T_INT64, &i64);
	gguf_w_set(w, "test.f64", GGUF_T_FLOAT64, &f64);
	gguf_w_set_arr_str(w, "tokenizer.ggml.tokens", 8, toks, NULL);
	gguf_w_set_arr(w, "tokenizer.ggml.scores", GGUF_T_FLOAT32, 5, scores);
	gguf_w_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_INT32, 5, types);
	gguf_w_set_arr(w, "test.arr.u8", GGUF_T_UINT8, 3, u8s);
	gguf_w_set_arr(w, "test.arr.i16", GGUF_T_INT16, 2, i16s);
	gguf_w_set_arr(w, "test.arr.i64", GGUF_T_INT64, 3, i64s);
	gguf_w_set_arr(w, "test.arr.u64", GGUF_T_UINT64, 2, u64s);
	gguf_w_set_arr(w, "test.arr.f64", GGUF_T_FLOAT64, 2, f64s);
	gguf_w_set_arr(w, "test.arr.bool", GGUF_T_BOOL, 3, bools);
	gguf_w_set_arr(w, "test.arr.empty", GGUF_T_UINT32, 0, NULL);
	gguf_w_set_arr_str(w, "test.arr.nostr", 0, NULL, NULL);
}

static int
sample(const char *out, uint32_t align)
{
	static const struct {
		const char *name;
		uint32_t type;
		int n_dims;
		uint64_t ne[4];
	} ts[] = {
		{ "token_embd.weight", QF_F16, 2, { 64, 10 } },
		{ "blk.0.attn_q.weight", QF_Q4_0, 2, { 64, 8 } },
		{ "blk.0.ffn_up.weight", QF_Q4_K, 2, { 256, 3 } },
		{ "blk.0.ffn_down.weight", QF_Q6_K, 2, { 256, 2 } },
		{ "blk.0.attn_norm.weight", QF_F32, 1, { 64 } },
		{ "blk.0.ffn_gate_exps.weight", QF_Q8_0, 3, { 32, 4, 2 } },
		{ "blk.0.bf16", QF_BF16, 4, { 3, 2, 1, 1 } },
		{ "blk.0.iq4_nl", QF_IQ4_NL, 1, { 32 } },
		{ "blk.0.mxfp4", QF_MXFP4, 2, { 32, 3 } },
		{ "blk.0.zero", QF_F32, 2, { 0, 5 } },
		{ "blk.0.i32", QF_I32, 1, { 5 } },
		{ "blk.0.f64", QF_F64, 2, { 1, 3 } },
		{ "blk.0.tq2_0", QF_TQ2_0, 1, { 256 } },
		{ "output.weight", QF_Q5_1, 2, { 64, 10 } },
	};
	enum { NT = sizeof ts / sizeof *ts };
	struct gguf_writer *w = gguf_writer_new();
	void *data[NT + 1] = { 0 };
	struct qerr e;
	int rc;

	set_kvs(w);
	if (align)
		gguf_w_set(w, "general.alignment", GGUF_T_UINT32, &align);
	for (int i = 0; i < NT; i++) {
		uint64_t nb;
		unsigned char *p;

		if (gguf_w_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		nb = gguf_w_tensor_nbytes(w, (size_t)i);
		data[i] = p = malloc(nb + 1);
		/* bytes that are valid for every type's scales: small values */
		for (uint64_t k = 0; k < nb; k++)
			p[k] = (unsigned char)((k * 37 + (uint64_t)i * 11) % 61);
	}
	rc = finish(w, out, data);
	for (int i = 0; i < NT; i++)
		free(data[i]);
	gguf_writer_free(w);
	return rc;
}

static int
empty(const char *out)
{
	struct gguf_writer *w = gguf_writer_new();
	int rc;

	set_kvs(w);
	rc = finish(w, out, NULL);
	gguf_writer_free(w);
	return rc;
}

static int
imatrix(const char *path)
{
	struct imatrix m;
	struct qerr e;

	printf("file %s\n", path);
	if (imatrix_load(&m, path, &e) < 0) {
		printf("refused\n");
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	printf("legacy %d chunks %d datasets %zu\n", m.is_legacy, m.chunk_count, m.n_datasets);
	for (size_t i = 0; i < m.n_entries; i++) {
		printf("%s %" PRIu64, m.entries[i].name, m.entries[i].n);
		for (uint64_t j = 0; j < m.entries[i].n; j++)
			printf(" %.9g", (double)m.entries[i].values[j]);
		putchar('\n');
	}
	imatrix_free(&m);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "dump") == 0) {
		for (int i = 2; i < argc; i++)
			dump(argv[i]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "json") == 0)
		return json(argv[2]);
	if (argc == 4 && strcmp(argv[1], "sample") == 0)
		return sample(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "empty") == 0)
		return empty(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "imatrix") == 0) {
		int rc = 0;

		for (int i = 2; i < argc; i++)
			rc |= imatrix(argv[i]);
		return rc;
	}
	fprintf(stderr, "usage: qu-gguf-tool dump|json|sample|empty|imatrix ...\n");
	return 2;
}
