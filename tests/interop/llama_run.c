/* llama_run: the judge for st2gguf's HF conversion — llama.cpp itself
 * (libllama from npm @node-llama-cpp/linux-x64) loads a GGUF and
 *
 *   llama_run logits MODEL.gguf   reads lines of token ids on stdin and
 *                                 prints, per line, one line of logits per
 *                                 position (F32 KV cache, no flash attention,
 *                                 so the numbers are not blurred by F16);
 *   llama_run generate MODEL.gguf N  reads one line of prompt ids, prints
 *                                 the N tokens greedy decoding adds;
 *   llama_run quantize IN OUT FTYPE [THREADS]  llama_model_quantize
 *                                 (llama-quantize's engine; default one
 *                                 thread) to file type FTYPE;
 *   llama_run tokenize MODEL.gguf reads NUL-separated texts on stdin and
 *                                 prints one line of token ids per text
 *                                 (no BOS/EOS added, special tokens parsed).
 *
 * Built by mk/hfconv.mk against the oracle's headers (tests/oracles/llama-src)
 * with an rpath to its libraries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

#ifndef LLAMA_LIB_DIR
#error "LLAMA_LIB_DIR must name the folder of libllama"
#endif

static void
quiet_log(enum ggml_log_level level, const char *text, void *ud)
{
	(void)ud;
	if (level == GGML_LOG_LEVEL_ERROR)
		fputs(text, stderr);
}

static struct llama_model *
load(const char *path, int vocab_only)
{
	struct llama_model_params mp = llama_model_default_params();
	struct llama_model *m;

	mp.vocab_only = vocab_only;
	llama_log_set(quiet_log, NULL);
	ggml_backend_load_all_from_path(LLAMA_LIB_DIR);
	m = llama_model_load_from_file(path, mp);
	if (!m) {
		fprintf(stderr, "llama_run: %s: llama.cpp cannot load it\n", path);
		exit(1);
	}
	return m;
}

static int
run_logits(struct llama_model *m)
{
	const struct llama_vocab *vocab = llama_model_get_vocab(m);
	int nv = llama_vocab_n_tokens(vocab);
	char line[1 << 16];

	while (fgets(line, sizeof line, stdin)) {
		struct llama_context_params cp = llama_context_default_params();
		struct llama_context *ctx;
		llama_token toks[4096];
		int n = 0, i, j;
		char *p = line, *end;
		struct llama_batch b;

		while (n < 4096) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			toks[n++] = (llama_token)v;
			p = end;
		}
		if (n == 0)
			continue;
		cp.n_ctx = (uint32_t)(n < 64 ? 64 : n);
		cp.n_batch = cp.n_ubatch = cp.n_ctx;
		cp.type_k = GGML_TYPE_F32;
		cp.type_v = GGML_TYPE_F32;
		cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
		cp.n_threads = cp.n_threads_batch = 1;
		cp.no_perf = 1;
		ctx = llama_init_from_model(m, cp);
		if (!ctx) {
			fprintf(stderr, "llama_run: cannot create a context\n");
			return 1;
		}
		b = llama_batch_init(n, 0, 1);
		for (i = 0; i < n; i++) {
			b.token[i] = toks[i];
			b.pos[i] = i;
			b.n_seq_id[i] = 1;
			b.seq_id[i][0] = 0;
			b.logits[i] = 1;
		}
		b.n_tokens = n;
		if (llama_decode(ctx, b) != 0) {
			fprintf(stderr, "llama_run: llama_decode failed\n");
			return 1;
		}
		for (i = 0; i < n; i++) {
			const float *l = llama_get_logits_ith(ctx, i);

			for (j = 0; j < nv; j++)
				printf("%s%.9g", j ? " " : "", l[j]);
			printf("\n");
		}
		printf("\n");
		llama_batch_free(b);
		llama_free(ctx);
	}
	return 0;
}

static int
argmax(const float *l, int n)
{
	int i, best = 0;

	for (i = 1; i < n; i++)
		if (l[i] > l[best])
			best = i;
	return best;
}

static int
run_generate(struct llama_model *m, int n_new)
{
	const struct llama_vocab *vocab = llama_model_get_vocab(m);
	struct llama_context_params cp = llama_context_default_params();
	struct llama_context *ctx;
	llama_token toks[512];
	char line[8192], *p = line, *end;
	int n = 0, i;

	if (!fgets(line, sizeof line, stdin))
		return 1;
	while (n < 256) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		toks[n++] = (llama_token)v;
		p = end;
	}
	if (n == 0 || n_new < 1 || n_new > 256)
		return 1;
	cp.n_ctx = 512;
	cp.type_k = cp.type_v = GGML_TYPE_F32;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.n_threads = cp.n_threads_batch = 1;
	ctx = llama_init_from_model(m, cp);
	if (!ctx || llama_decode(ctx, llama_batch_get_one(toks, n)) != 0)
		return 1;
	for (i = 0; i < n_new; i++) {
		llama_token t = argmax(llama_get_logits_ith(ctx, -1), llama_vocab_n_tokens(vocab));

		printf("%s%d", i ? " " : "", t);
		if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0)
			return 1;
	}
	printf("\n");
	llama_free(ctx);
	return 0;
}

static int
run_tokenize(struct llama_model *m)
{
	const struct llama_vocab *vocab = llama_model_get_vocab(m);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	int c;

	for (;;) {
		c = getchar();
		if (c == EOF || c == 0) {
			if (len || c == 0) {
				int n, i, ntok = (int)len + 16;
				llama_token *t = malloc((size_t)ntok * sizeof *t);

				n = llama_tokenize(vocab, buf, (int32_t)len, t, ntok, 0, 1);
				for (i = 0; i < n; i++)
					printf("%s%d", i ? " " : "", t[i]);
				printf("\n");
				free(t);
			}
			len = 0;
			if (c == EOF)
				break;
			continue;
		}
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		buf[len++] = (char)c;
	}
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct llama_model *m;
	int rc;

	if ((argc == 5 || argc == 6) && strcmp(argv[1], "quantize") == 0) {
		struct llama_model_quantize_params qp = llama_model_quantize_default_params();

		llama_log_set(quiet_log, NULL);
		qp.nthread = argc == 6 ? atoi(argv[5]) : 1;
		qp.ftype = (enum llama_ftype)atoi(argv[4]);
		return llama_model_quantize(argv[2], argv[3], &qp) == 0 ? 0 : 1;
	}
	if (argc == 4 && strcmp(argv[1], "generate") == 0) {
		llama_backend_init();
		m = load(argv[2], 0);
		rc = run_generate(m, atoi(argv[3]));
		llama_model_free(m);
		return rc;
	}
	if (argc != 3 || (strcmp(argv[1], "logits") && strcmp(argv[1], "tokenize"))) {
		fprintf(stderr, "usage: llama_run logits|tokenize MODEL.gguf < input\n");
		return 2;
	}
	llama_backend_init();
	m = load(argv[2], strcmp(argv[1], "tokenize") == 0);
	rc = strcmp(argv[1], "logits") == 0 ? run_logits(m) : run_tokenize(m);
	llama_model_free(m);
	return rc;
}
