/* arch: what llama.cpp calls each Hugging Face architecture, as data.
 *
 * One entry per architecture: the HF model_type / architectures names it
 * answers to, the GGUF architecture it becomes, which config.json keys give
 * which GGUF hyperparameter KVs, how HF tensor names map to GGUF names, and
 * the per-tensor transforms llama.cpp expects (the Q/K row permutation of
 * rope type NORM, gemma's stored norm offset, folding a query scale GGUF has
 * no key for).  Adding an architecture is adding an entry (and a test).
 *
 * Tensor patterns: "#" stands for the layer number, "*" for an expert
 * number; the ".weight" / ".bias" suffix is matched separately and kept.
 * Facts from llama.cpp's src/llama-arch.cpp (names), src/models/ (what each
 * graph needs) and convert_hf_to_gguf.py (what its converter writes). */
#ifndef ARCH_H
#define ARCH_H

#include <stdint.h>

#include "gguf.h"

/* What a tensor is, so the architecture-level transforms find it. */
enum arch_role {
	AR_PLAIN = 0,
	AR_Q,			/* query projection (rows = heads x head_dim) */
	AR_K,			/* key projection (rows = kv_heads x head_dim) */
	AR_NORM,		/* a norm weight (F32 in the output; maybe +1) */
	AR_QNORM,		/* per-head query norm */
	AR_KNORM,		/* per-head key norm */
	AR_EMBED,		/* token embeddings */
	AR_OUTPUT,		/* lm_head */
	AR_DROP			/* a buffer, not a weight: not written */
};

struct arch_tensor {
	const char *hf;		/* e.g. "model.layers.#.self_attn.q_proj" */
	const char *gguf;	/* e.g. "blk.#.attn_q" */
	enum arch_role role;
};

/* Where a KV's value comes from. */
enum arch_kv_how {
	AK_REQUIRED,		/* config key must be present */
	AK_DEFAULT,		/* config key, else .def */
	AK_OPTIONAL,		/* config key, else not written */
	AK_CONST		/* always .def */
};

struct arch_kv {
	const char *key;	/* after "<arch>.", e.g. "attention.head_count" */
	const char *cfg;	/* config keys, alternatives separated by '|' */
	enum gguf_vtype type;	/* UINT32, FLOAT32 or BOOL */
	enum arch_kv_how how;
	double def;
};

/* Architecture-level transforms. */
#define ARCH_PERMUTE_QK    0x01	/* rope NORM: interleave each head's halves */
#define ARCH_NORM_PLUS_ONE 0x02	/* HF stores norm weights as w - 1 */
#define ARCH_TIED_DEFAULT  0x04	/* tie_word_embeddings defaults to true */
#define ARCH_NO_OUTPUT     0x08	/* never writes output.weight (always tied) */
#define ARCH_QSCALE_Q      0x10	/* fold sqrt(head_dim/query_pre_attn_scalar) into Q */
#define ARCH_QSCALE_QNORM  0x20	/* ... into the query norm instead (after +1) */
#define ARCH_GELU          0x40	/* runs GELU in llama.cpp (looser logits) */
#define ARCH_MOE           0x80	/* has stacked experts */
#define ARCH_FUSED_GATE_UP 0x100	/* ffn_up holds gate and up: 2 x intermediate rows */
#define ARCH_SPM_NO_PREFIX 0x200	/* SentencePiece vocab: add_space_prefix = false */

#define ARCH_MAX_LISTS 6

struct arch_def {
	const char *model_type;		/* config.json model_type */
	const char *hf_class;		/* config.json architectures[0] */
	const char *gguf_arch;		/* general.architecture */
	unsigned flags;
	const struct arch_kv *kvs[ARCH_MAX_LISTS];	/* NULL-terminated lists */
	const struct arch_tensor *tensors[ARCH_MAX_LISTS];
};

extern const struct arch_def arch_table[];
extern const int arch_count;

/* The entry for a config's model_type (or, failing that, its first
 * architectures[] name); NULL if unsupported. */
const struct arch_def *arch_find(const char *model_type, const char *hf_class);
/* "llama, mistral, ..." for error messages, into buf (cut at cap, 512 holds
 * them all); returns buf. */
const char *arch_supported_list(char *buf, size_t cap);

/* Maps an HF tensor name to its GGUF name.  Returns 1 and fills out (the
 * GGUF name), *role, *layer and *expert (-1 when none) on a match, 0 when
 * no pattern matches. */
int arch_map_name(const struct arch_def *a, const char *hf, char *out, size_t outsz,
    enum arch_role *role, int *layer, int *expert);

/* The permutation llama.cpp's rope type NORM needs: GGUF row r of a head
 * of `head_dim` rows is HF row arch_permute_src(r, head_dim). */
static inline int64_t
arch_permute_src(int64_t r, int64_t head_dim)
{
	int64_t head = r / head_dim, i = r % head_dim, half = head_dim / 2;

	return head * head_dim + (i % 2) * half + i / 2;
}

#endif
