/* mkmodel: write a deterministic HF-style llama checkpoint for demos,
 * tests and benchmarks: config.json plus model.safetensors, or N shards
 * with model.safetensors.index.json.
 *
 * Values come from a fixed-seed generator keyed by (seed, tensor name), so
 * the same tensor has the same values whatever the sharding or dtype, and
 * the output is byte-identical on every machine (integer arithmetic and
 * correctly rounded IEEE operations only).  Weights are roughly normal: projections with std 1/sqrt(in)
 * (activations stay O(1)), embeddings std 1, norm weights near 1. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dtype.h"
#include "safetensors.h"

#define CHUNK 65536

static struct {
	int layers, hidden, intermediate, heads, kv_heads, vocab, shards;
	uint64_t seed, size;
	enum qdtype dtype;
	const char *out;
} opt = { 2, 64, 0, 4, 2, 256, 1, 1, 0, QD_F32, NULL };

struct tensor {
	char name[96];
	int ndim;
	uint64_t shape[2];
	enum { LINEAR, EMBED, NORM } kind;
	int shard;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mkmodel [--layers N] [--hidden H] [--intermediate I] [--heads N]\n"
	    "               [--kv-heads N] [--vocab V] [--dtype f32|f16|bf16] [--shards N]\n"
	    "               [--size BYTES] [--seed S] -o DIR\n"
	    "Writes a deterministic HF llama checkpoint (config.json, safetensors).\n"
	    "  --size BYTES  choose the layer count so the weights reach BYTES (e.g. 1G)\n"
	    "  --shards N    N shards and model.safetensors.index.json\n"
	    "Defaults: 2 layers, hidden 64, intermediate 2*hidden, 4 heads, 2 kv heads,\n"
	    "vocab 256, f32, one file, seed 1.\n");
}

/* splitmix64: tiny, good enough, the same everywhere */
static uint64_t
next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Sum of four uniforms, centred and scaled to unit variance (Irwin-Hall:
 * variance 4/12): close enough to normal, tails bounded by 2*sqrt(3). */
static float
gauss(uint64_t *s)
{
	uint64_t r = next(s);
	int32_t sum = (int32_t)(r & 0xffff) + (int32_t)((r >> 16) & 0xffff) +
	    (int32_t)((r >> 32) & 0xffff) + (int32_t)(r >> 48) - 2 * 65535;

	return (float)sum * (1.7320508f / 65535.0f);
}

static uint64_t
name_seed(const char *name)
{
	uint64_t h = 1469598103934665603ull ^ opt.seed;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ull;
	return h;
}

static struct tensor *
plan(size_t *n)
{
	int H = opt.hidden, I = opt.intermediate, kvd = H / opt.heads * opt.kv_heads;
	static const char *const proj[] = { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
		"self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" };
	size_t cap = (size_t)opt.layers * 9 + 3, k = 0;
	struct tensor *t = calloc(cap, sizeof *t);

	if (t == NULL)
		cli_die("out of memory");
#define ADD(KIND, ND, R, C, ...) do { snprintf(t[k].name, sizeof t[k].name, __VA_ARGS__); \
	t[k].kind = KIND; t[k].ndim = ND; t[k].shape[0] = (uint64_t)(R); t[k].shape[1] = (uint64_t)(C); k++; } while (0)
	ADD(EMBED, 2, opt.vocab, H, "model.embed_tokens.weight");
	for (int l = 0; l < opt.layers; l++) {
		int rows[7] = { H, kvd, kvd, H, I, I, H }, cols[7] = { H, H, H, H, H, H, I };

		ADD(NORM, 1, H, 0, "model.layers.%d.input_layernorm.weight", l);
		for (int p = 0; p < 7; p++)
			ADD(LINEAR, 2, rows[p], cols[p], "model.layers.%d.%s.weight", l, proj[p]);
		ADD(NORM, 1, H, 0, "model.layers.%d.post_attention_layernorm.weight", l);
	}
	ADD(NORM, 1, H, 0, "model.norm.weight");
	ADD(LINEAR, 2, opt.vocab, H, "lm_head.weight");
#undef ADD
	*n = k;
	return t;
}

static uint64_t
nelem(const struct tensor *t)
{
	return t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1];
}

static uint64_t
nbytes(const struct tensor *t)
{
	return nelem(t) * (uint64_t)(qdtype_table[opt.dtype].bits / 8);
}

static void
write_config(const char *dir)
{
	static const char *const dtype_names[QD_COUNT] = { [QD_F32] = "float32", [QD_F16] = "float16",
		[QD_BF16] = "bfloat16" };
	cJSON *c = cJSON_CreateObject(), *arch = cJSON_CreateArray();
	char path[4096], *text;
	FILE *f;

	cJSON_AddItemToArray(arch, cJSON_CreateString("LlamaForCausalLM"));
	cJSON_AddItemToObject(c, "architectures", arch);
	cJSON_AddStringToObject(c, "model_type", "llama");
	cJSON_AddNumberToObject(c, "hidden_size", opt.hidden);
	cJSON_AddNumberToObject(c, "intermediate_size", opt.intermediate);
	cJSON_AddNumberToObject(c, "num_hidden_layers", opt.layers);
	cJSON_AddNumberToObject(c, "num_attention_heads", opt.heads);
	cJSON_AddNumberToObject(c, "num_key_value_heads", opt.kv_heads);
	cJSON_AddNumberToObject(c, "head_dim", opt.hidden / opt.heads);
	cJSON_AddNumberToObject(c, "vocab_size", opt.vocab);
	cJSON_AddNumberToObject(c, "max_position_embeddings", 2048);
	cJSON_AddNumberToObject(c, "rms_norm_eps", 1e-5);
	cJSON_AddNumberToObject(c, "rope_theta", 10000.0);
	cJSON_AddNumberToObject(c, "bos_token_id", 1);
	cJSON_AddNumberToObject(c, "eos_token_id", 2);
	cJSON_AddFalseToObject(c, "tie_word_embeddings");
	cJSON_AddStringToObject(c, "hidden_act", "silu");
	cJSON_AddStringToObject(c, "torch_dtype", dtype_names[opt.dtype]);
	text = cJSON_Print(c);
	snprintf(path, sizeof path, "%s/config.json", dir);
	if (text == NULL || (f = fopen(path, "w")) == NULL || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
		cli_die("%s: cannot write", path);
	free(text);
	cJSON_Delete(c);
}

/* One tensor's values, generated and converted a chunk at a time. */
static void
write_values(struct st_writer *w, FILE *f, const struct tensor *t, const char *path)
{
	static float x[CHUNK];
	static unsigned char buf[CHUNK * 4];
	uint64_t s = name_seed(t->name), n = nelem(t);
	float scale = 1.0f;
	struct qerr e;

	if (t->kind == LINEAR)	/* sqrt is correctly rounded (IEEE 754): same bits everywhere */
		scale = 1.0f / sqrtf((float)t->shape[1]);
	for (uint64_t done = 0; done < n; done += CHUNK) {
		size_t m = (size_t)(n - done < CHUNK ? n - done : CHUNK);

		for (size_t i = 0; i < m; i++)
			x[i] = t->kind == NORM ? 1.0f + 0.1f * gauss(&s) : scale * gauss(&s);
		qdtype_from_f32(opt.dtype, x, buf, m);
		if (st_writer_data(w, f, buf, m * (size_t)(qdtype_table[opt.dtype].bits / 8), &e) < 0)
			cli_die("%s: %s", path, e.msg);
	}
}

static void
write_shard(const char *dir, const char *file, struct tensor *t, size_t n, int shard)
{
	struct st_writer *w = st_writer_new();
	char path[4096];
	struct qerr e;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (w == NULL || st_writer_meta(w, "format", "pt", &e) < 0)
		cli_die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (t[i].shard == shard && st_writer_add(w, t[i].name, opt.dtype, t[i].ndim, t[i].shape, &e) < 0)
			cli_die("%s: %s", path, e.msg);
	st_writer_sort_reference(w);
	if ((f = fopen(path, "wb")) == NULL)
		cli_die("%s: cannot create", path);
	if (st_writer_header(w, f, &e) < 0)
		cli_die("%s: %s", path, e.msg);
	for (size_t k = 0; k < st_writer_count(w); k++)
		for (size_t i = 0; i < n; i++)
			if (strcmp(t[i].name, st_writer_name(w, k)) == 0)
				write_values(w, f, &t[i], path);
	if (st_writer_finish(w, &e) < 0)
		cli_die("%s: %s", path, e.msg);
	if (fclose(f) != 0)
		cli_die("%s: write error", path);
	st_writer_free(w);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "layers", required_argument, NULL, 'L' }, { "hidden", required_argument, NULL, 'H' },
		{ "intermediate", required_argument, NULL, 'I' }, { "heads", required_argument, NULL, 'A' },
		{ "kv-heads", required_argument, NULL, 'K' }, { "vocab", required_argument, NULL, 'V' },
		{ "dtype", required_argument, NULL, 'D' }, { "shards", required_argument, NULL, 'S' },
		{ "size", required_argument, NULL, 'Z' }, { "seed", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct cli_outdir d;
	struct tensor *t;
	size_t n;
	uint64_t total = 0, before = 0;
	int c;

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'L': opt.layers = atoi(optarg); break;
		case 'H': opt.hidden = atoi(optarg); break;
		case 'I': opt.intermediate = atoi(optarg); break;
		case 'A': opt.heads = atoi(optarg); break;
		case 'K': opt.kv_heads = atoi(optarg); break;
		case 'V': opt.vocab = atoi(optarg); break;
		case 'S': opt.shards = atoi(optarg); break;
		case 'R': opt.seed = strtoull(optarg, NULL, 10); break;
		case 'Z':
			if (cli_parse_size(optarg, &opt.size) < 0)
				cli_usage_error("bad size: %s", optarg);
			break;
		case 'D':
			opt.dtype = strcmp(optarg, "f32") == 0 ? QD_F32 : strcmp(optarg, "f16") == 0 ? QD_F16 :
			    strcmp(optarg, "bf16") == 0 ? QD_BF16 : QD_COUNT;
			if (opt.dtype == QD_COUNT)
				cli_usage_error("--dtype: f32, f16 or bf16");
			break;
		case 'o': opt.out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: cli_usage_error("unknown option");
		}
	}
	if (opt.out == NULL || optind != argc)
		cli_usage_error("usage: mkmodel [options] -o DIR");
	if (opt.intermediate == 0)
		opt.intermediate = 2 * opt.hidden;
	if (opt.layers < 1 || opt.hidden < 1 || opt.heads < 1 || opt.kv_heads < 1 || opt.vocab < 1 ||
	    opt.shards < 1 || opt.hidden % opt.heads || opt.heads % opt.kv_heads || opt.intermediate < 1)
		cli_usage_error("sizes must be positive, hidden a multiple of heads, heads of kv-heads");
	if (opt.size) {	/* layers to reach the size */
		uint64_t el = (uint64_t)qdtype_table[opt.dtype].bits / 8, H = (uint64_t)opt.hidden;
		uint64_t kvd = H / (uint64_t)opt.heads * (uint64_t)opt.kv_heads, I = (uint64_t)opt.intermediate;
		uint64_t fixed = el * (2 * (uint64_t)opt.vocab * H + H);
		uint64_t layer = el * (2 * H * H + 2 * kvd * H + 3 * H * I + 2 * H);

		opt.layers = opt.size > fixed ? (int)((opt.size - fixed + layer - 1) / layer) : 1;
	}
	t = plan(&n);
	if ((size_t)opt.shards > n)
		cli_usage_error("%d shards for %zu tensors", opt.shards, n);
	for (size_t i = 0; i < n; i++)
		total += nbytes(&t[i]);
	/* shard by bytes, in model order, no shard empty */
	for (size_t i = 0; i < n; i++) {
		int s = (int)(before * (uint64_t)opt.shards / total);
		int min_s = i ? t[i - 1].shard : 0, room = opt.shards - 1 - (int)(n - 1 - i);

		if (s < min_s)
			s = min_s;
		if (i && s > t[i - 1].shard + 1)
			s = t[i - 1].shard + 1;
		if (s < room)	/* as many tensors left as shards to fill */
			s = room;
		t[i].shard = s;
		before += nbytes(&t[i]);
	}
	cli_outdir_open(&d, opt.out);
	write_config(d.tmp);
	if (opt.shards == 1) {
		write_shard(d.tmp, "model.safetensors", t, n, 0);
	} else {
		cJSON *idx = cJSON_CreateObject(), *meta = cJSON_CreateObject(), *wm = cJSON_CreateObject();
		char file[64], path[4096], *text;
		FILE *f;

		cJSON_AddNumberToObject(meta, "total_size", (double)total);
		cJSON_AddItemToObject(idx, "metadata", meta);
		cJSON_AddItemToObject(idx, "weight_map", wm);
		for (int s = 0; s < opt.shards; s++) {
			snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, opt.shards);
			write_shard(d.tmp, file, t, n, s);
			for (size_t i = 0; i < n; i++)
				if (t[i].shard == s)
					cJSON_AddStringToObject(wm, t[i].name, file);
		}
		text = cJSON_Print(idx);
		snprintf(path, sizeof path, "%s/model.safetensors.index.json", d.tmp);
		if (text == NULL || (f = fopen(path, "w")) == NULL || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
			cli_die("%s: cannot write", path);
		free(text);
		cJSON_Delete(idx);
	}
	cli_outdir_commit(&d);
	free(t);
	return 0;
}
