/* ftype: llama.cpp's file types ("presets" such as Q4_K_M) and the rules
 * by which llama-quantize picks each tensor's type (spec/gguf.md §5).
 *
 * Promise: given the same tensors, in the same order, and the same options,
 * ftype_choose returns the type llama_model_quantize (llama.cpp of
 * @node-llama-cpp/linux-x64@3.22.1) gives every tensor; tests/unit and the
 * requant interop test check it against that library.  Used by st2gguf for
 * GGUF requantization and for HF conversion, so both pick the same types.
 *
 * Order matters: the attn_v and ffn_* counters advance as tensors are
 * chosen, in llama's processing order (ftype_tensor_cmp). */
#ifndef FTYPE_H
#define FTYPE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

/* A file type: its name as llama-quantize spells it, its id (the value of
 * general.file_type) and the type its tensors start from. */
struct ftype_preset {
	const char *name;
	int ftype;
	int type;		/* enum qfmt */
};

extern const struct ftype_preset ftype_presets[];
extern const size_t ftype_npresets;

/* A preset by name, case-insensitively, aliases included ("Q4_K" is
 * Q4_K_M as in llama-quantize); NULL if none. */
const struct ftype_preset *ftype_find(const char *name);
/* The file type id whose tensors start as ggml type t (the first preset
 * with that base type, as llama-quantize's -t TYPE would pick), or -1.
 * NVFP4 gives llama's MOSTLY_NVFP4 (39), which no preset offers. */
int ftype_of_type(int t);
/* The canonical name of a file type id, or NULL. */
const char *ftype_name(int ftype);
/* The default tensor type of a file type id, or -1. */
int ftype_default_type(int ftype);

/* The few model facts the rules look at (from the GGUF KVs or config). */
struct ftype_model {
	const char *arch;	/* general.architecture */
	int n_layer;		/* {arch}.block_count */
	int n_head, n_head_kv;	/* layer 0; n_head_kv 0 when unknown */
	int n_expert;		/* {arch}.expert_count, 0 if none */
};

struct ftype_rule {		/* --tensor-type PATTERN=TYPE */
	regex_t re;
	int type;
};

struct ftype_chooser {
	/* settings */
	int ftype;		/* file type id */
	int default_type;
	int pure;
	int leave_output;	/* --leave-output-tensor: output.weight as stored */
	int has_imatrix;
	int output_tensor_type;		/* -1: none */
	int token_embedding_type;	/* -1: none */
	const struct ftype_rule *rules;
	int n_rules;
	/* model */
	int n_layer, n_gqa, n_expert, is_falcon, is_70b;
	/* state */
	int tied;		/* no output.weight among the tensors */
	int n_attn_v, i_attn_v, i_ffn_down, i_ffn_gate, i_ffn_up;
	int n_fallback;
};

/* Compiles a --tensor-type pattern (lower-cased as llama-quantize does;
 * ECMAScript's \d \w \s are translated to POSIX classes). */
int ftype_rule_compile(struct ftype_rule *r, const char *pattern, int type, struct qerr *e);
void ftype_rule_free(struct ftype_rule *r);

/* Sets up a chooser for the whole list of tensor names (any order). */
void ftype_chooser_init(struct ftype_chooser *c, const struct ftype_model *m,
    const char *const *names, size_t n);

/* Whether llama-quantize would touch this tensor at all (2+ dims, a name
 * ending in "weight", not a norm, router, positional table, ...). */
int ftype_allows_quantization(const char *name, int n_dims);

/* The type of the next tensor in processing order.  n_dims as ggml counts
 * them (trailing 1s dropped); cur_type its type in the input.  -1 with e
 * set if llama.cpp would fail (no fallback for a type). */
int ftype_choose(struct ftype_chooser *c, const char *name, int n_dims,
    const int64_t ne[4], int cur_type, struct qerr *e);

/* Whether quantizing this tensor to type needs an importance matrix. */
int ftype_requires_imatrix(const char *name, int type, int ftype);

/* llama's tensor order: tensors outside blocks first, then blk.N by N,
 * names in byte order within each. */
int ftype_tensor_cmp(const char *a, const char *b);

/* ggml's dimension count: the index of the last dim > 1, plus one (>= 1). */
int ftype_ggml_n_dims(const int64_t ne[4]);

#endif
