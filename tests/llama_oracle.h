/* llama_oracle: the few entry points of llama.cpp's libraries (npm
 * @node-llama-cpp/linux-x64@3.22.1) that the requantization tests call,
 * loaded with dlopen so a build without the oracles still compiles.
 *
 * The struct layouts below are facts of that library's ABI, written out from
 * its llama.h / ggml.h / llama-ext.h (field order and types only). */
#ifndef LLAMA_ORACLE_H
#define LLAMA_ORACLE_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct lo_imatrix_data { const char *name; const float *data; size_t size; };
struct lo_tensor_override { const char *pattern; int type; };
enum { LO_KV_INT = 0, LO_KV_FLOAT = 1, LO_KV_BOOL = 2, LO_KV_STR = 3 };
struct lo_kv_override {
	int tag;
	char key[128];
	union { int64_t val_i64; double val_f64; bool val_bool; char val_str[128]; };
};

struct lo_quantize_params {
	int32_t nthread;
	int ftype;
	int output_tensor_type;		/* GGML_TYPE_COUNT (see lo_type_count) = unset */
	int token_embedding_type;
	bool allow_requantize, quantize_output_tensor, only_copy, pure, keep_split, dry_run;
	const struct lo_imatrix_data *imatrix;
	const struct lo_kv_override *kv_overrides;
	const struct lo_tensor_override *tt_overrides;
	const int32_t *prune_layers;
	size_t max_buf_size;
};

struct lo_model_desc {
	const char *architecture;
	uint32_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_expert, n_embd_head_k, n_embd_head_v;
};

struct lo_ggml_init_params { size_t mem_size; void *mem_buffer; bool no_alloc; };

#define LO_GGML_TYPE_COUNT 43	/* this build's GGML_TYPE_COUNT (Q2_0 = 42 is the last) */

struct llama_oracle {
	void *llama, *base;
	struct lo_quantize_params (*default_params)(void);
	uint32_t (*model_quantize)(const char *in, const char *out, const struct lo_quantize_params *p);
	void (*log_set)(void (*cb)(int level, const char *text, void *ud), void *ud);
	void (*backend_init)(void);
	/* llama-ext.h (C++ names) */
	void *(*model_from_metadata)(const struct lo_model_desc *d);
	void (*model_free)(void *model);
	void *(*quant_init)(const void *model, const struct lo_quantize_params *p);
	void (*quant_free)(void *qs);
	void (*compute_types)(void *qs, int ftype, void **tensors, int *types, size_t n);
	/* ggml */
	void *(*ggml_init)(struct lo_ggml_init_params p);
	void (*ggml_free)(void *ctx);
	void *(*ggml_new_tensor)(void *ctx, int type, int n_dims, const int64_t *ne);
	void *(*ggml_set_name)(void *t, const char *name);
	size_t (*ggml_quantize_chunk)(int type, const float *src, void *dst, int64_t start,
	    int64_t nrows, int64_t n_per_row, const float *imatrix);
	void *(*ggml_get_first_tensor)(const void *ctx);
	void *(*ggml_get_next_tensor)(const void *ctx, void *t);
	void *(*ggml_get_tensor)(const void *ctx, const char *name);
	const char *(*ggml_get_name)(const void *t);
	int64_t (*ggml_nrows)(const void *t);
	int64_t (*ggml_nelements)(const void *t);
	float *(*ggml_get_data_f32)(const void *t);
};

static void
lo_quiet_log(int level, const char *text, void *ud)
{
	(void)level; (void)text; (void)ud;
}

/* The folder of the libraries: $LLAMA_LIB_DIR or the npm install under
 * tests/oracles (relative to the project root, where tests run). */
static const char *
lo_dir(void)
{
	const char *d = getenv("LLAMA_LIB_DIR");

	return d && *d ? d : "tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
}

/* 0 on success; -1 with why (for a SKIP line) when the libraries are absent. */
static int
lo_load(struct llama_oracle *o, char *why, size_t whylen)
{
	char path[4096];

#define LO_SYM(lib, field, name) do { \
	*(void **)&o->field = dlsym(o->lib, name); \
	if (!o->field) { snprintf(why, whylen, "symbol %s missing", name); return -1; } } while (0)

	snprintf(path, sizeof path, "%s/libggml-base.so", lo_dir());
	o->base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!o->base) {
		snprintf(why, whylen, "no llama.cpp oracle (%s); run scripts/deps.sh", dlerror());
		return -1;
	}
	snprintf(path, sizeof path, "%s/libllama.v0.5.0.so", lo_dir());
	o->llama = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!o->llama) {
		snprintf(why, whylen, "no llama.cpp oracle (%s); run scripts/deps.sh", dlerror());
		return -1;
	}
	LO_SYM(llama, default_params, "llama_model_quantize_default_params");
	LO_SYM(llama, model_quantize, "llama_model_quantize");
	LO_SYM(llama, log_set, "llama_log_set");
	LO_SYM(llama, backend_init, "llama_backend_init");
	LO_SYM(llama, model_from_metadata, "_Z31llama_quant_model_from_metadataPK22llama_quant_model_desc");
	LO_SYM(llama, model_free, "llama_model_free");
	LO_SYM(llama, quant_init, "_Z16llama_quant_initPK11llama_modelPK27llama_model_quantize_params");
	LO_SYM(llama, quant_free, "_Z16llama_quant_freeP19quantize_state_impl");
	LO_SYM(llama, compute_types, "_Z25llama_quant_compute_typesP19quantize_state_impl11llama_ftypePP11ggml_tensorP9ggml_typem");
	LO_SYM(base, ggml_init, "ggml_init");
	LO_SYM(base, ggml_free, "ggml_free");
	LO_SYM(base, ggml_new_tensor, "ggml_new_tensor");
	LO_SYM(base, ggml_set_name, "ggml_set_name");
	LO_SYM(base, ggml_quantize_chunk, "ggml_quantize_chunk");
	LO_SYM(base, ggml_get_first_tensor, "ggml_get_first_tensor");
	LO_SYM(base, ggml_get_next_tensor, "ggml_get_next_tensor");
	LO_SYM(base, ggml_get_tensor, "ggml_get_tensor");
	LO_SYM(base, ggml_get_name, "ggml_get_name");
	LO_SYM(base, ggml_nrows, "ggml_nrows");
	LO_SYM(base, ggml_nelements, "ggml_nelements");
	LO_SYM(base, ggml_get_data_f32, "ggml_get_data_f32");
#undef LO_SYM
	o->log_set(lo_quiet_log, NULL);
	return 0;
}

#endif
