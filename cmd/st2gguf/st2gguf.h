/* st2gguf: shared between main.c (options, dispatch), requant.c (GGUF in)
 * and hf.c (Hugging Face folder in). */
#ifndef ST2GGUF_H
#define ST2GGUF_H

#include <stdint.h>

#define MAX_TENSOR_TYPES 64

struct tensor_type_rule {
	char *pattern;			/* regex on the GGUF tensor name */
	int type;			/* enum qfmt */
};

struct st2gguf_opts {
	const char *input;		/* GGUF file or HF folder */
	const char *output;		/* -o; "-" = standard output */
	const char *type_name;		/* -t as given: a ggml type or a preset */
	int ftype;			/* llama file type id (general.file_type), -1 if none */
	int default_type;		/* enum qfmt every quantizable tensor starts from */
	int pure;			/* --pure (or -t naming a bare ggml type) */
	int quantize_output_tensor;	/* 0 with --leave-output-tensor */
	int allow_requantize;		/* --allow-requantize */
	struct tensor_type_rule rules[MAX_TENSOR_TYPES];
	int n_rules;			/* --tensor-type PATTERN=TYPE */
	int output_tensor_type;		/* --output-tensor-type, -1 if unset */
	int token_embedding_type;	/* --token-embedding-type, -1 if unset */
	const char *imatrix;		/* --imatrix FILE */
	const char *qparams;		/* -p QPARAMS */
	const char *vocab;		/* --vocab none|auto */
	uint64_t split_max_size;	/* --split-max-size, 0 = no split */
	int split_max_tensors;		/* --split-max-tensors, 0 = no split */
	int plan;			/* --plan: print, write nothing */
	int jobs;			/* -j */
	int quiet;			/* -q */
};

/* Each returns 0 on success; on failure it has already printed the error
 * through cli_die (which exits). */
int st2gguf_requant(const struct st2gguf_opts *o);
int st2gguf_from_hf(const struct st2gguf_opts *o);

#endif
