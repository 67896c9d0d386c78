/* vocab: a Hugging Face tokenizer as llama.cpp's tokenizer.ggml.* KVs.
 *
 * Sources, in the order llama.cpp's converter prefers them:
 *  - tokenizer.model (SentencePiece protobuf, parsed here by field number)
 *    -> model "llama", scores and piece types as stored;
 *  - tokenizer.json with a byte-level BPE (GPT-2 style: Qwen, Llama 3, ...)
 *    -> model "gpt2", merges, the pre-tokenizer named by its regex;
 *  - tokenizer.json with a BPE that falls back to bytes and a Metaspace
 *    normalizer (Llama 2 / Mistral exported by transformers) -> model
 *    "llama".  llama.cpp's SentencePiece tokenizer merges by score, so each
 *    token made by a merge scores minus that merge's rank (the converter
 *    writes -1000 for every token, which leaves llama.cpp's merge order
 *    undefined).
 * Then tokenizer_config.json (special tokens, add_bos/add_eos, chat
 * template), the post-processor's template and config.json's *_token_id,
 * as gguf-py's SpecialVocab reads them.  Token ids beyond the tokenizer up
 * to the model's vocab_size are padded with "[PADn]" UNUSED tokens.
 *
 * Every input is hostile: sizes are bounded, ids range-checked, the
 * protobuf walked with checked lengths. */
#ifndef VOCAB_H
#define VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "qerr.h"

/* tokenizer.ggml.token_type values (SentencePiece's piece types) */
enum vocab_toktype {
	VT_NORMAL = 1, VT_UNKNOWN = 2, VT_CONTROL = 3, VT_USER_DEFINED = 4,
	VT_UNUSED = 5, VT_BYTE = 6
};

enum vocab_special { VS_BOS, VS_EOS, VS_UNK, VS_SEP, VS_PAD, VS_CLS, VS_MASK, VS_COUNT };

struct vocab {
	char model[16];			/* "llama", "gpt2" or "none" */
	char pre[32];			/* tokenizer.ggml.pre */
	size_t n;			/* tokens */
	char **tokens;
	float *scores;			/* NULL for gpt2 */
	int32_t *types;
	size_t n_merges;
	char **merges;
	int64_t special[VS_COUNT];	/* -1 when unset */
	int add_special[VS_COUNT];	/* -1 unset, else 0/1 (bos, eos, sep used) */
	int add_space_prefix;		/* -1 unset */
	char *chat_template;
};

/* Loads the tokenizer in folder dir for a model of n_vocab tokens (0: the
 * tokenizer's own size).  config_json may be NULL.  Fails when the folder
 * has no tokenizer it understands. */
int vocab_load(struct vocab *v, const char *dir, uint64_t n_vocab, struct qerr *e);
/* A vocabulary-less model: model "none". */
void vocab_none(struct vocab *v);
void vocab_free(struct vocab *v);

/* Sets the tokenizer.* KVs (arch_name for <arch>.vocab_size with "none"). */
int vocab_to_gguf(const struct vocab *v, struct gguf_writer *w, uint64_t n_vocab,
    const char *arch_name, struct qerr *e);

/* Parses a SentencePiece ModelProto (exposed for the fuzz target). */
int vocab_parse_spm(struct vocab *v, const unsigned char *buf, size_t len, uint64_t n_vocab,
    const char *name, struct qerr *e);
/* Parses a tokenizer.json text (exposed for the fuzz target). */
int vocab_parse_hf_json(struct vocab *v, const char *json, size_t len, uint64_t n_vocab,
    const char *name, struct qerr *e);

#endif
