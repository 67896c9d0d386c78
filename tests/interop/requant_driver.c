/* requant_driver: the llama.cpp side of the requantization tests and bench.
 *
 *   requant_driver gen OUT.gguf [--layers N] [--embd E] [--ff F] [--vocab V]
 *       [--heads H] [--kv-heads K] [--dtype f16|bf16|f32] [--tied] [--seed S]
 *       writes a llama-shaped GGUF with deterministic random weights; the
 *       header comes from ggml's own gguf writer (libggml-base), so our
 *       reader is judged on a file we did not write.  Tensors are in
 *       converter order (not llama's), with general.file_type in the middle
 *       and split keys, so that re-sorting and KV moves are exercised.
 *   requant_driver imatrix MODEL.gguf OUT.gguf [--dat] [--seed S]
 *       an importance matrix for MODEL's blk.* weights, in the GGUF form
 *       (written by ggml's writer) or the legacy .dat form.
 *   requant_driver quantize IN OUT FTYPE_ID [--pure] [--leave-output-tensor]
 *       [--tensor-type PATTERN=TYPE]... [--output-tensor-type TYPE]
 *       [--token-embedding-type TYPE] [--imatrix FILE] [-j N]
 *       calls llama_model_quantize with the parameters llama-quantize
 *       would pass for the same command line (imatrix loaded and turned
 *       into KV overrides as tools/quantize/quantize.cpp does).
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dtype.h"
#include "llama_oracle.h"

/* ggml / gguf C API (libggml-base), declared here */
struct gguf_init_params_abi { bool no_alloc; void **ctx; };
static void *(*p_gguf_init_empty)(void);
static void *(*p_gguf_init_from_file)(const char *, struct gguf_init_params_abi);
static void (*p_gguf_free)(void *);
static void (*p_gguf_set_val_str)(void *, const char *, const char *);
static void (*p_gguf_set_val_u32)(void *, const char *, uint32_t);
static void (*p_gguf_set_val_f32)(void *, const char *, float);
static void (*p_gguf_set_val_u16)(void *, const char *, uint16_t);
static void (*p_gguf_set_val_i32)(void *, const char *, int32_t);
static void (*p_gguf_set_val_bool)(void *, const char *, bool);
static void (*p_gguf_set_arr_str)(void *, const char *, const char **, size_t);
static void (*p_gguf_set_arr_data)(void *, const char *, int, const void *, size_t);
static void (*p_gguf_add_tensor)(void *, const void *);
static size_t (*p_gguf_get_meta_size)(const void *);
static void (*p_gguf_get_meta_data)(const void *, void *);
static int64_t (*p_gguf_find_key)(const void *, const char *);
static size_t (*p_gguf_get_arr_n)(const void *, int64_t);
static const char *(*p_gguf_get_arr_str)(const void *, int64_t, size_t);
static uint32_t (*p_gguf_get_val_u32)(const void *, int64_t);
static int64_t (*p_gguf_get_n_tensors)(const void *);
static const char *(*p_gguf_get_tensor_name)(const void *, int64_t);
static uint64_t (*p_gguf_get_tensor_offset)(const void *, int64_t);
static uint64_t (*p_gguf_get_data_offset)(const void *);
static int (*p_gguf_get_tensor_type)(const void *, int64_t);
static size_t (*p_gguf_get_tensor_size)(const void *, int64_t);
static const char *(*p_ggml_type_name)(int);

enum { GGUF_TYPE_FLOAT32 = 6, GGUF_TYPE_INT32 = 5 };
enum { T_F32 = 0, T_F16 = 1, T_BF16 = 30 };

static struct llama_oracle lo;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "requant_driver: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void
load(void)
{
	char why[512];

	if (lo_load(&lo, why, sizeof why) < 0) {
		/* exit 77: the caller prints SKIP */
		fprintf(stderr, "%s\n", why);
		exit(77);
	}
#define SYM(p, name) do { *(void **)&p = dlsym(lo.base, name); if (!p) die("no symbol %s", name); } while (0)
	SYM(p_gguf_init_empty, "gguf_init_empty");
	SYM(p_gguf_init_from_file, "gguf_init_from_file");
	SYM(p_gguf_free, "gguf_free");
	SYM(p_gguf_set_val_str, "gguf_set_val_str");
	SYM(p_gguf_set_val_u32, "gguf_set_val_u32");
	SYM(p_gguf_set_val_f32, "gguf_set_val_f32");
	SYM(p_gguf_set_val_u16, "gguf_set_val_u16");
	SYM(p_gguf_set_val_i32, "gguf_set_val_i32");
	SYM(p_gguf_set_val_bool, "gguf_set_val_bool");
	SYM(p_gguf_set_arr_str, "gguf_set_arr_str");
	SYM(p_gguf_set_arr_data, "gguf_set_arr_data");
	SYM(p_gguf_add_tensor, "gguf_add_tensor");
	SYM(p_gguf_get_meta_size, "gguf_get_meta_size");
	SYM(p_gguf_get_meta_data, "gguf_get_meta_data");
	SYM(p_gguf_find_key, "gguf_find_key");
	SYM(p_gguf_get_arr_n, "gguf_get_arr_n");
	SYM(p_gguf_get_arr_str, "gguf_get_arr_str");
	SYM(p_gguf_get_val_u32, "gguf_get_val_u32");
	SYM(p_gguf_get_n_tensors, "gguf_get_n_tensors");
	SYM(p_gguf_get_tensor_name, "gguf_get_tensor_name");
	SYM(p_gguf_get_tensor_offset, "gguf_get_tensor_offset");
	SYM(p_gguf_get_data_offset, "gguf_get_data_offset");
	SYM(p_gguf_get_tensor_type, "gguf_get_tensor_type");
	SYM(p_gguf_get_tensor_size, "gguf_get_tensor_size");
	SYM(p_ggml_type_name, "ggml_type_name");
#undef SYM
}

/* ---- deterministic data ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Roughly normal (sum of uniforms), scaled; a rare outlier per row keeps
 * the quantizers' max-abs paths honest. */
static float
weight(float scale)
{
	uint64_t r = rng();
	float s = 0;

	for (int k = 0; k < 4; k++)
		s += (float)((r >> (16 * k)) & 0xffff) / 65536.0f;
	s = (s - 2.0f) * scale;
	if ((r & 0x3ff) == 7)
		s *= 9.0f;
	return s;
}

/* ---- gen ---- */

struct gen_tensor { char name[64]; int type; int n_dims; int64_t ne[4]; int is_norm; };

static void
gen(int argc, char **argv)
{
	const char *out = NULL, *dtype = "f16";
	int layers = 8, embd = 256, ff = 512, vocab = 512, heads = 8, kv_heads = 8, tied = 0;
	uint64_t seed = 1;
	struct gen_tensor *t;
	int nt = 0, wtype;
	void *g, *ctx;
	FILE *f;
	unsigned char *meta;
	size_t meta_size;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--layers")) layers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--embd")) embd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ff")) ff = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vocab")) vocab = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--heads")) heads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--kv-heads")) kv_heads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dtype")) dtype = argv[++i];
		else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--tied")) tied = 1;
		else if (!out) out = argv[i];
		else die("gen: unexpected %s", argv[i]);
	}
	if (!out)
		die("gen: no output%s", "");
	wtype = !strcmp(dtype, "f32") ? T_F32 : !strcmp(dtype, "bf16") ? T_BF16 : T_F16;
	rng_state = seed;

	t = calloc((size_t)(3 + 9 * layers), sizeof *t);
#define ADD(nm, ty, a, b, norm) do { snprintf(t[nt].name, 64, "%s", nm); t[nt].type = ty; \
	t[nt].ne[0] = a; t[nt].ne[1] = b; t[nt].ne[2] = t[nt].ne[3] = 1; \
	t[nt].n_dims = (b) > 1 ? 2 : 1; t[nt].is_norm = norm; nt++; } while (0)
	/* converter order: embeddings, layers, final norm, output */
	ADD("token_embd.weight", wtype, embd, vocab, 0);
	for (int l = 0; l < layers; l++) {
		char nm[64];
		int hd = embd / heads;
#define L(suffix, ty, a, b, norm) do { snprintf(nm, 64, "blk.%d." suffix, l); ADD(nm, ty, a, b, norm); } while (0)
		L("attn_norm.weight", T_F32, embd, 1, 1);
		L("attn_q.weight", wtype, embd, hd * heads, 0);
		L("attn_k.weight", wtype, embd, hd * kv_heads, 0);
		L("attn_v.weight", wtype, embd, hd * kv_heads, 0);
		L("attn_output.weight", wtype, hd * heads, embd, 0);
		L("ffn_norm.weight", T_F32, embd, 1, 1);
		L("ffn_gate.weight", wtype, embd, ff, 0);
		L("ffn_up.weight", wtype, embd, ff, 0);
		L("ffn_down.weight", wtype, ff, embd, 0);
#undef L
	}
	ADD("output_norm.weight", T_F32, embd, 1, 1);
	if (!tied)
		ADD("output.weight", wtype, embd, vocab, 0);
#undef ADD

	g = p_gguf_init_empty();
	p_gguf_set_val_str(g, "general.architecture", "llama");
	p_gguf_set_val_str(g, "general.name", "requant test model");
	p_gguf_set_val_u32(g, "llama.block_count", (uint32_t)layers);
	p_gguf_set_val_u32(g, "llama.context_length", 256);
	p_gguf_set_val_u32(g, "llama.embedding_length", (uint32_t)embd);
	p_gguf_set_val_u32(g, "llama.feed_forward_length", (uint32_t)ff);
	p_gguf_set_val_u32(g, "llama.attention.head_count", (uint32_t)heads);
	p_gguf_set_val_u32(g, "llama.attention.head_count_kv", (uint32_t)kv_heads);
	p_gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	p_gguf_set_val_u32(g, "general.file_type", wtype == T_F32 ? 0 : wtype == T_F16 ? 1 : 32);
	p_gguf_set_val_u16(g, "split.no", 0);
	p_gguf_set_val_u16(g, "split.count", 1);
	p_gguf_set_val_i32(g, "split.tensors.count", nt);
	p_gguf_set_val_str(g, "tokenizer.ggml.model", "llama");
	{
		char **tok = calloc((size_t)vocab, sizeof *tok);
		float *score = calloc((size_t)vocab, sizeof *score);
		int32_t *tt = calloc((size_t)vocab, sizeof *tt);

		for (int i = 0; i < vocab; i++) {
			tok[i] = malloc(16);
			snprintf(tok[i], 16, "<t%d>", i);
			score[i] = -(float)i;
			tt[i] = i < 3 ? 3 : 1;
		}
		p_gguf_set_arr_str(g, "tokenizer.ggml.tokens", (const char **)tok, (size_t)vocab);
		p_gguf_set_arr_data(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, score, (size_t)vocab);
		p_gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, tt, (size_t)vocab);
		for (int i = 0; i < vocab; i++)
			free(tok[i]);
		free(tok); free(score); free(tt);
	}
	p_gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", true);

	ctx = lo.ggml_init((struct lo_ggml_init_params){ (size_t)(nt + 8) * 512, NULL, true });
	for (int i = 0; i < nt; i++) {
		void *x = lo.ggml_new_tensor(ctx, t[i].type, t[i].n_dims, t[i].ne);

		lo.ggml_set_name(x, t[i].name);
		p_gguf_add_tensor(g, x);
	}
	meta_size = p_gguf_get_meta_size(g);
	meta = malloc(meta_size);
	p_gguf_get_meta_data(g, meta);
	if (!(f = fopen(out, "wb")))
		die("cannot write %s", out);
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fwrite(meta, 1, meta_size, f);
	{
		size_t cap = (size_t)embd * 4 > (size_t)ff * 4 ? (size_t)embd * 4 : (size_t)ff * 4;
		unsigned char *row = malloc(cap);
		float *fr = malloc(cap);
		uint64_t written = 0;

		for (int i = 0; i < nt; i++) {
			int64_t n0 = t[i].ne[0], rows = t[i].ne[1];
			size_t esz = t[i].type == T_F32 ? 4 : 2;
			float scale = 0.02f + 0.01f * (float)(i % 7);

			for (int64_t r = 0; r < rows; r++) {
				for (int64_t k = 0; k < n0; k++)
					fr[k] = t[i].is_norm ? 1.0f + weight(0.1f) : weight(scale);
				if (t[i].type == T_F32)
					memcpy(row, fr, (size_t)n0 * 4);
				else
					qdtype_from_f32(t[i].type == T_F16 ? QD_F16 : QD_BF16, fr, row, (size_t)n0);
				fwrite(row, esz, (size_t)n0, f);
			}
			written = (uint64_t)n0 * (uint64_t)rows * esz;
			while (written % 32) {
				fputc(0, f);
				written++;
			}
		}
		free(row);
		free(fr);
	}
	if (fclose(f) != 0)
		die("write error on %s", out);
	lo.ggml_free(ctx);
	p_gguf_free(g);
	free(meta);
	free(t);
}

/* ---- imatrix ---- */

static void
make_imatrix(int argc, char **argv)
{
	const char *model = NULL, *out = NULL;
	int dat = 0;
	uint64_t seed = 7;
	void *mg, *ctx, *g;
	int64_t n;
	FILE *f;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dat")) dat = 1;
		else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[++i], NULL, 10);
		else if (!model) model = argv[i];
		else out = argv[i];
	}
	if (!model || !out)
		die("imatrix: MODEL OUT%s", "");
	rng_state = seed;
	mg = p_gguf_init_from_file(model, (struct gguf_init_params_abi){ true, &ctx });
	if (!mg)
		die("cannot read %s", model);
	n = p_gguf_get_n_tensors(mg);

	/* weights of blk.* with 2 dims (row length = ne0), names sorted as
	 * llama-imatrix writes them */
	struct ent { char name[64]; int64_t ne0; } *e = calloc((size_t)n, sizeof *e);
	int ne = 0;

	for (void *x = lo.ggml_get_first_tensor(ctx); x; x = lo.ggml_get_next_tensor(ctx, x)) {
		const char *nm = lo.ggml_get_name(x);
		int64_t rows = lo.ggml_nrows(x);

		if (strncmp(nm, "blk.", 4) != 0 || rows <= 1)
			continue;
		snprintf(e[ne].name, 64, "%s", nm);
		e[ne].ne0 = lo.ggml_nelements(x) / rows;
		ne++;
	}
	for (int i = 0; i < ne; i++)
		for (int k = i + 1; k < ne; k++)
			if (strcmp(e[k].name, e[i].name) < 0) {
				struct ent tmp = e[i]; e[i] = e[k]; e[k] = tmp;
			}

	if (dat) {
		int32_t v;

		if (!(f = fopen(out, "wb")))
			die("cannot write %s", out);
		v = ne; fwrite(&v, 4, 1, f);
		for (int i = 0; i < ne; i++) {
			int32_t len = (int32_t)strlen(e[i].name), ncall = 10, nval = (int32_t)e[i].ne0;

			fwrite(&len, 4, 1, f);
			fwrite(e[i].name, 1, (size_t)len, f);
			fwrite(&ncall, 4, 1, f);
			fwrite(&nval, 4, 1, f);
			for (int k = 0; k < nval; k++) {
				float x = fabsf(weight(1.0f)) * 3.0f * (float)ncall;

				fwrite(&x, 4, 1, f);
			}
		}
		v = 10; fwrite(&v, 4, 1, f);
		v = 9; fwrite(&v, 4, 1, f);
		fwrite("wiki.test", 1, 9, f);
		fclose(f);
	} else {
		/* header by ggml's writer, data after it */
		void *ictx = lo.ggml_init((struct lo_ggml_init_params){ (size_t)(2 * ne + 8) * 512, NULL, true });
		const char *ds[1] = { "synthetic.txt" };
		unsigned char *meta;
		size_t ms;

		g = p_gguf_init_empty();
		p_gguf_set_val_str(g, "general.type", "imatrix");
		p_gguf_set_arr_str(g, "imatrix.datasets", ds, 1);
		p_gguf_set_val_u32(g, "imatrix.chunk_count", 8);
		p_gguf_set_val_u32(g, "imatrix.chunk_size", 128);
		for (int i = 0; i < ne; i++) {
			char nm[96];
			int64_t a[2] = { e[i].ne0, 1 }, c[2] = { 1, 1 };
			void *x;

			snprintf(nm, sizeof nm, "%s.in_sum2", e[i].name);
			x = lo.ggml_new_tensor(ictx, T_F32, 2, a);
			lo.ggml_set_name(x, nm);
			p_gguf_add_tensor(g, x);
			snprintf(nm, sizeof nm, "%s.counts", e[i].name);
			x = lo.ggml_new_tensor(ictx, T_F32, 2, c);
			lo.ggml_set_name(x, nm);
			p_gguf_add_tensor(g, x);
		}
		ms = p_gguf_get_meta_size(g);
		meta = malloc(ms);
		p_gguf_get_meta_data(g, meta);
		if (!(f = fopen(out, "wb")))
			die("cannot write %s", out);
		fwrite(meta, 1, ms, f);
		for (int i = 0; i < ne; i++) {
			uint64_t w = 0;
			float cnt = 1024;

			for (int64_t k = 0; k < e[i].ne0; k++) {
				float x = fabsf(weight(1.0f)) * 500.0f;

				fwrite(&x, 4, 1, f);
				w += 4;
			}
			for (; w % 32; w++)
				fputc(0, f);
			fwrite(&cnt, 4, 1, f);
			for (w = 4; w % 32; w++)
				fputc(0, f);
		}
		fclose(f);
		free(meta);
		p_gguf_free(g);
		lo.ggml_free(ictx);
	}
	free(e);
	p_gguf_free(mg);
	lo.ggml_free(ctx);
}

/* ---- quantize ---- */

static int
type_id(const char *name)
{
	for (int i = 0; i < LO_GGML_TYPE_COUNT; i++) {
		const char *n = p_ggml_type_name(i);

		if (n && strcasecmp(n, name) == 0)
			return i;
	}
	die("unknown ggml type %s", name);
	return -1;
}

/* What tools/quantize/quantize.cpp's load_imatrix + prepare_imatrix build. */
struct imx {
	char **names;
	float **vals;
	size_t *sizes;
	int n;
	char dataset[256];
	int has_dataset;
	int chunk_count;
};

static void
imx_add(struct imx *m, const char *name, float *v, size_t n)
{
	m->names = realloc(m->names, (size_t)(m->n + 1) * sizeof *m->names);
	m->vals = realloc(m->vals, (size_t)(m->n + 1) * sizeof *m->vals);
	m->sizes = realloc(m->sizes, (size_t)(m->n + 1) * sizeof *m->sizes);
	m->names[m->n] = strdup(name);
	m->vals[m->n] = v;
	m->sizes[m->n] = n;
	m->n++;
}

static void
imx_load_dat(struct imx *m, const char *path)
{
	FILE *f = fopen(path, "rb");
	int32_t n, len, ncall, nval;

	if (!f || fread(&n, 4, 1, f) != 1 || n < 1)
		die("bad imatrix %s", path);
	for (int i = 0; i < n; i++) {
		char name[1024];
		float *v;

		if (fread(&len, 4, 1, f) != 1 || len < 0 || len > 1000 ||
		    fread(name, 1, (size_t)len, f) != (size_t)len)
			die("bad imatrix %s", path);
		name[len] = 0;
		if (fread(&ncall, 4, 1, f) != 1 || fread(&nval, 4, 1, f) != 1 || nval < 1)
			die("bad imatrix %s", path);
		v = malloc((size_t)nval * 4);
		if (fread(v, 4, (size_t)nval, f) != (size_t)nval)
			die("bad imatrix %s", path);
		if (ncall > 0)
			for (int k = 0; k < nval; k++)
				v[k] = v[k] / (float)(int64_t)ncall;
		imx_add(m, name, v, (size_t)nval);
	}
	if (fread(&n, 4, 1, f) == 1) {
		m->chunk_count = n;
		if (fread(&len, 4, 1, f) == 1 && len > 0 && len < 255 &&
		    fread(m->dataset, 1, (size_t)len, f) == (size_t)len) {
			m->dataset[len] = 0;
			m->has_dataset = 1;
		}
	}
	fclose(f);
}

static void
imx_load(struct imx *m, const char *path)
{
	void *ctx = NULL, *g = p_gguf_init_from_file(path, (struct gguf_init_params_abi){ false, &ctx });
	int64_t k;

	memset(m, 0, sizeof *m);
	if (!g) {
		imx_load_dat(m, path);
		return;
	}
	if ((k = p_gguf_find_key(g, "imatrix.datasets")) >= 0 && p_gguf_get_arr_n(g, k) > 0) {
		snprintf(m->dataset, sizeof m->dataset, "%s", p_gguf_get_arr_str(g, k, 0));
		m->has_dataset = 1;
	}
	if ((k = p_gguf_find_key(g, "imatrix.chunk_count")) >= 0)
		m->chunk_count = (int)p_gguf_get_val_u32(g, k);
	for (void *x = lo.ggml_get_first_tensor(ctx); x; x = lo.ggml_get_next_tensor(ctx, x)) {
		const char *nm = lo.ggml_get_name(x);
		size_t len = strlen(nm);
		char base[256], cname[300];
		void *cx;
		const float *sums, *counts;
		int64_t nval, ncounts, ne0;
		float *v;

		if (len < 8 || strcmp(nm + len - 8, ".in_sum2") != 0)
			continue;
		snprintf(base, sizeof base, "%.*s", (int)(len - 8), nm);
		snprintf(cname, sizeof cname, "%s.counts", base);
		cx = lo.ggml_get_tensor(ctx, cname);
		if (!cx)
			die("imatrix: no counts for %s", base);
		sums = lo.ggml_get_data_f32(x);
		counts = lo.ggml_get_data_f32(cx);
		nval = lo.ggml_nelements(x);
		ncounts = lo.ggml_nelements(cx);
		ne0 = nval / ncounts;
		v = malloc((size_t)nval * 4);
		for (int64_t j = 0; j < ncounts; j++) {
			float c = (float)(int64_t)lroundf(counts[j]);

			for (int64_t i = 0; i < ne0; i++)
				v[j * ne0 + i] = c > 0 ? sums[j * ne0 + i] / c : 1.0f;
		}
		imx_add(m, base, v, (size_t)nval);
	}
	p_gguf_free(g);
	lo.ggml_free(ctx);
}

static int
quantize(int argc, char **argv)
{
	struct lo_quantize_params p;
	struct lo_tensor_override tt[65];
	struct lo_kv_override kv[8];
	struct lo_imatrix_data *id = NULL;
	struct imx m;
	const char *in, *out, *imatrix = NULL;
	int ntt = 0, nkv = 0;

	if (argc < 3)
		die("quantize IN OUT FTYPE_ID%s", "");
	in = argv[0];
	out = argv[1];
	lo.backend_init();
	p = lo.default_params();
	p.ftype = atoi(argv[2]);
	p.nthread = 1;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--pure")) p.pure = true;
		else if (!strcmp(argv[i], "--leave-output-tensor")) p.quantize_output_tensor = false;
		else if (!strcmp(argv[i], "--allow-requantize")) p.allow_requantize = true;
		else if (!strcmp(argv[i], "-j")) p.nthread = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--output-tensor-type")) p.output_tensor_type = type_id(argv[++i]);
		else if (!strcmp(argv[i], "--token-embedding-type")) p.token_embedding_type = type_id(argv[++i]);
		else if (!strcmp(argv[i], "--imatrix")) imatrix = argv[++i];
		else if (!strcmp(argv[i], "--tensor-type") && ntt < 64) {
			/* as llama-quantize: split at '=', lower-case the pattern */
			char *a = strdup(argv[++i]), *eq = strchr(a, '=');

			if (!eq)
				die("--tensor-type %s", a);
			*eq = 0;
			for (char *c = a; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			tt[ntt].pattern = a;
			tt[ntt].type = type_id(eq + 1);
			ntt++;
		} else
			die("quantize: unknown option %s", argv[i]);
	}
	if (ntt) {
		tt[ntt].pattern = NULL;
		tt[ntt].type = LO_GGML_TYPE_COUNT;
		p.tt_overrides = tt;
	}
	if (imatrix) {
		imx_load(&m, imatrix);
		id = calloc((size_t)m.n + 1, sizeof *id);
		for (int i = 0; i < m.n; i++)
			id[i] = (struct lo_imatrix_data){ m.names[i], m.vals[i], m.sizes[i] };
		p.imatrix = id;
		memset(kv, 0, sizeof kv);
		kv[nkv].tag = LO_KV_STR;
		snprintf(kv[nkv].key, 128, "quantize.imatrix.file");
		strncpy(kv[nkv].val_str, imatrix, 127);
		kv[nkv].val_str[127] = 0;
		nkv++;
		if (m.has_dataset) {
			kv[nkv].tag = LO_KV_STR;
			snprintf(kv[nkv].key, 128, "quantize.imatrix.dataset");
			/* quantize.cpp: strncpy of 127 bytes */
			memcpy(kv[nkv].val_str, m.dataset, 127);
			kv[nkv].val_str[127] = 0;
			nkv++;
		}
		kv[nkv].tag = LO_KV_INT;
		snprintf(kv[nkv].key, 128, "quantize.imatrix.entries_count");
		kv[nkv].val_i64 = m.n;
		nkv++;
		if (m.chunk_count > 0) {
			kv[nkv].tag = LO_KV_INT;
			snprintf(kv[nkv].key, 128, "quantize.imatrix.chunks_count");
			kv[nkv].val_i64 = m.chunk_count;
			nkv++;
		}
		kv[nkv].key[0] = 0;
		p.kv_overrides = kv;
	}
	if (getenv("REQUANT_DRIVER_VERBOSE"))
		lo.log_set(NULL, NULL);
	return lo.model_quantize(in, out, &p) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: requant_driver gen|imatrix|quantize ...\n");
		return 2;
	}
	load();
	if (!strcmp(argv[1], "gen"))
		gen(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "imatrix"))
		make_imatrix(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "quantize"))
		return quantize(argc - 2, argv + 2);
	else
		die("unknown mode %s", argv[1]);
	return 0;
}
