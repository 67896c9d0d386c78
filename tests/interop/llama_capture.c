/* llama_capture: real activation captures for qcalib -m awq / smoothquant.
 *
 *   llama_capture MODEL.gguf OUT.safetensors [SEQS [LEN]]
 *
 * libllama (the oracle) runs SEQS sequences of LEN pseudo-random token ids
 * (fixed seed) through a llama-architecture GGUF; an eval callback
 * (llama_context_params.cb_eval) copies, per layer N, the graph tensors
 * that are the inputs of the Linear weights:
 *
 *   attn_norm-N   -> model.layers.N.self_attn.{q,k,v}_proj.weight.input
 *   kqv_out-N     -> model.layers.N.self_attn.o_proj.weight.input
 *   ffn_norm-N    -> model.layers.N.mlp.{gate,up}_proj.weight.input
 *   ffn_swiglu-N  -> model.layers.N.mlp.down_proj.weight.input
 *
 * (names from llama.cpp's src/models/llama.cpp and llama-graph.cpp), and
 * writes them as F32 [tokens, channels] safetensors: the captures format of
 * qparams(5).  Built by mk/hfconv.mk against the oracle's headers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

#ifndef LLAMA_LIB_DIR
#error "LLAMA_LIB_DIR must name the folder of libllama"
#endif

#define MAX_CAPS 512

static const struct {
	const char *graph;	/* graph tensor name before "-N" */
	const char *hf[3];	/* the weights it feeds */
} feeds[] = {
	{ "attn_norm", { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj" } },
	{ "kqv_out", { "self_attn.o_proj", NULL, NULL } },
	{ "ffn_norm", { "mlp.gate_proj", "mlp.up_proj", NULL } },
	{ "ffn_swiglu", { "mlp.down_proj", NULL, NULL } },
};

struct cap {
	char graph[64];
	int64_t ch, rows;
	float *data;
};

static struct cap caps[MAX_CAPS];
static int n_caps;

static int
wanted(const char *name)
{
	for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
		size_t n = strlen(feeds[i].graph);

		if (strncmp(name, feeds[i].graph, n) == 0 && name[n] == '-' && name[n + 1] >= '0' &&
		    name[n + 1] <= '9')
			return 1;
	}
	return 0;
}

static bool
on_eval(struct ggml_tensor *t, bool ask, void *ud)
{
	struct cap *c = NULL;
	int64_t ch = t->ne[0], rows = ggml_nrows(t);

	(void)ud;
	if (!wanted(t->name))
		return ask ? false : true;
	if (ask)
		return true;
	if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) {
		fprintf(stderr, "llama_capture: %s: not contiguous F32\n", t->name);
		exit(1);
	}
	for (int i = 0; i < n_caps; i++)
		if (strcmp(caps[i].graph, t->name) == 0)
			c = &caps[i];
	if (c == NULL) {
		if (n_caps == MAX_CAPS)
			exit(1);
		c = &caps[n_caps++];
		snprintf(c->graph, sizeof c->graph, "%s", t->name);
		c->ch = ch;
	}
	if (c->ch != ch) {
		fprintf(stderr, "llama_capture: %s: width changed\n", t->name);
		exit(1);
	}
	c->data = realloc(c->data, (size_t)((c->rows + rows) * ch) * sizeof(float));
	if (c->data == NULL)
		exit(1);
	ggml_backend_tensor_get(t, c->data + c->rows * ch, 0, (size_t)(rows * ch) * sizeof(float));
	c->rows += rows;
	return true;
}

static void
quiet_log(enum ggml_log_level level, const char *text, void *ud)
{
	(void)ud;
	if (level == GGML_LOG_LEVEL_ERROR)
		fputs(text, stderr);
}

int
main(int argc, char **argv)
{
	struct llama_model_params mp;
	struct llama_model *m;
	int seqs = argc > 3 ? atoi(argv[3]) : 4, len = argc > 4 ? atoi(argv[4]) : 64, nv;
	uint32_t seed = 12345;
	char (*names)[160];
	struct cap **src;
	int n_out = 0;
	FILE *f;
	size_t off = 0, hlen;
	char *hdr;

	if (argc < 3 || seqs < 1 || len < 1 || len > 4096) {
		fprintf(stderr, "usage: llama_capture MODEL.gguf OUT.safetensors [SEQS [LEN]]\n");
		return 2;
	}
	llama_log_set(quiet_log, NULL);
	llama_backend_init();
	ggml_backend_load_all_from_path(LLAMA_LIB_DIR);
	mp = llama_model_default_params();
	if ((m = llama_model_load_from_file(argv[1], mp)) == NULL) {
		fprintf(stderr, "llama_capture: %s: llama.cpp cannot load it\n", argv[1]);
		return 1;
	}
	nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
	for (int s = 0; s < seqs; s++) {
		struct llama_context_params cp = llama_context_default_params();
		struct llama_context *ctx;
		struct llama_batch b;

		cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)(len < 64 ? 64 : len);
		cp.type_k = cp.type_v = GGML_TYPE_F32;
		cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
		cp.n_threads = cp.n_threads_batch = 1;
		cp.no_perf = 1;
		cp.cb_eval = on_eval;
		cp.cb_eval_user_data = NULL;
		if ((ctx = llama_init_from_model(m, cp)) == NULL)
			return 1;
		b = llama_batch_init(len, 0, 1);
		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			b.token[i] = (llama_token)((seed >> 8) % (uint32_t)nv);
			b.pos[i] = i;
			b.n_seq_id[i] = 1;
			b.seq_id[i][0] = 0;
			b.logits[i] = 1;	/* every row reaches the last layer */
		}
		b.n_tokens = len;
		if (llama_decode(ctx, b) != 0) {
			fprintf(stderr, "llama_capture: llama_decode failed\n");
			return 1;
		}
		llama_batch_free(b);
		llama_free(ctx);
	}
	/* the safetensors file: one tensor per weight fed */
	names = calloc((size_t)n_caps * 3 + 1, sizeof *names);
	src = calloc((size_t)n_caps * 3 + 1, sizeof *src);
	hdr = malloc(256 * ((size_t)n_caps * 3 + 1) + 16);
	if (!names || !src || !hdr)
		return 1;
	hlen = (size_t)sprintf(hdr, "{");
	for (int i = 0; i < n_caps; i++) {
		const char *dash = strrchr(caps[i].graph, '-');

		for (size_t k = 0; k < sizeof feeds / sizeof feeds[0]; k++) {
			if (strncmp(caps[i].graph, feeds[k].graph, (size_t)(dash - caps[i].graph)) != 0 ||
			    strlen(feeds[k].graph) != (size_t)(dash - caps[i].graph))
				continue;
			for (int h = 0; h < 3 && feeds[k].hf[h]; h++) {
				size_t bytes = (size_t)(caps[i].rows * caps[i].ch) * 4;

				snprintf(names[n_out], sizeof names[n_out], "model.layers.%s.%s.weight.input",
				    dash + 1, feeds[k].hf[h]);
				src[n_out] = &caps[i];
				hlen += (size_t)sprintf(hdr + hlen,
				    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
				    n_out ? "," : "", names[n_out], (long long)caps[i].rows,
				    (long long)caps[i].ch, off, off + bytes);
				off += bytes;
				n_out++;
			}
		}
	}
	hlen += (size_t)sprintf(hdr + hlen, "}");
	while (hlen % 8)
		hdr[hlen++] = ' ';
	if ((f = fopen(argv[2], "wb")) == NULL)
		return 1;
	{
		uint64_t n = hlen;
		unsigned char le[8];

		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)(n >> (8 * i));
		fwrite(le, 1, 8, f);
	}
	fwrite(hdr, 1, hlen, f);
	for (int i = 0; i < n_out; i++)
		fwrite(src[i]->data, 4, (size_t)(src[i]->rows * src[i]->ch), f);
	if (fclose(f) != 0)
		return 1;
	fprintf(stderr, "llama_capture: %d inputs, %lld rows each\n", n_out,
	    n_caps ? (long long)caps[0].rows : 0LL);
	llama_model_free(m);
	return n_out ? 0 : 1;
}
