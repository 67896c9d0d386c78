/* arch: the architecture table (see arch.h).  Data first, then the two
 * small functions that read it. */
#include <stdio.h>
#include <string.h>

#include "arch.h"

#define U32 GGUF_T_UINT32
#define F32 GGUF_T_FLOAT32

/* ---- hyperparameters ---- */

/* Every decoder here has these; head_dim is filled in from
 * hidden_size / num_attention_heads when config.json has none, and
 * num_key_value_heads from num_attention_heads (transformers' defaults). */
static const struct arch_kv kv_decoder[] = {
	{ "context_length", "max_position_embeddings|n_ctx", U32, AK_DEFAULT, 2048 },
	{ "embedding_length", "hidden_size|n_embd", U32, AK_REQUIRED, 0 },
	{ "block_count", "num_hidden_layers|n_layer", U32, AK_REQUIRED, 0 },
	{ "feed_forward_length", "intermediate_size", U32, AK_REQUIRED, 0 },
	{ "attention.head_count", "num_attention_heads|n_head", U32, AK_REQUIRED, 0 },
	{ "attention.head_count_kv", "num_key_value_heads", U32, AK_REQUIRED, 0 },
	{ "rope.freq_base", "rope_theta", F32, AK_DEFAULT, 10000.0 },
	{ "vocab_size", "vocab_size", U32, AK_REQUIRED, 0 },
	{ "rope.dimension_count", "head_dim", U32, AK_REQUIRED, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_rms[] = {
	{ "attention.layer_norm_rms_epsilon", "rms_norm_eps", F32, AK_DEFAULT, 1e-6 },
	{ NULL, NULL, 0, 0, 0 }
};

/* Written only when config.json names a head_dim of its own (as the
 * reference converter does); llama.cpp defaults them to hidden / heads. */
static const struct arch_kv kv_head_dim[] = {
	{ "attention.key_length", "!head_dim", U32, AK_OPTIONAL, 0 },
	{ "attention.value_length", "!head_dim", U32, AK_OPTIONAL, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_gemma[] = {
	{ "attention.key_length", "head_dim", U32, AK_REQUIRED, 0 },
	{ "attention.value_length", "head_dim", U32, AK_REQUIRED, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_gemma2[] = {
	{ "attn_logit_softcapping", "attn_logit_softcapping", F32, AK_OPTIONAL, 0 },
	{ "final_logit_softcapping", "final_logit_softcapping", F32, AK_OPTIONAL, 0 },
	{ "attention.sliding_window", "sliding_window", U32, AK_OPTIONAL, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_gemma3[] = {
	{ "final_logit_softcapping", "final_logit_softcapping", F32, AK_OPTIONAL, 0 },
	{ "attention.sliding_window", "sliding_window", U32, AK_OPTIONAL, 0 },
	{ "rope.freq_base_swa", "rope_local_base_freq", F32, AK_OPTIONAL, 0 },
	{ "attention.sliding_window_pattern", "sliding_window_pattern", U32, AK_OPTIONAL, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_swa[] = {
	{ "attention.sliding_window", "sliding_window", U32, AK_OPTIONAL, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_phi3[] = {
	{ "attention.sliding_window", "sliding_window", U32, AK_OPTIONAL, 0 },
	{ "rope.scaling.original_context_length", "original_max_position_embeddings", U32, AK_OPTIONAL, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_granite[] = {
	{ "attention.scale", "attention_multiplier", F32, AK_OPTIONAL, 0 },
	{ "embedding_scale", "embedding_multiplier", F32, AK_OPTIONAL, 0 },
	{ "residual_scale", "residual_multiplier", F32, AK_OPTIONAL, 0 },
	{ "logit_scale", "logits_scaling", F32, AK_OPTIONAL, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_layernorm[] = {
	{ "attention.layer_norm_epsilon", "norm_epsilon|layer_norm_eps", F32, AK_DEFAULT, 1e-5 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_moe[] = {
	{ "expert_count", "num_local_experts|num_experts", U32, AK_REQUIRED, 0 },
	{ "expert_used_count", "num_experts_per_tok", U32, AK_REQUIRED, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

static const struct arch_kv kv_qwen3moe[] = {
	{ "expert_feed_forward_length", "moe_intermediate_size", U32, AK_REQUIRED, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

/* ---- tensor names ---- */

static const struct arch_tensor t_common[] = {
	{ "model.embed_tokens", "token_embd", AR_EMBED },
	{ "lm_head", "output", AR_OUTPUT },
	{ "model.norm", "output_norm", AR_NORM },
	{ "model.rotary_emb.inv_freq", "", AR_DROP },
	{ "model.layers.#.self_attn.rotary_emb.inv_freq", "", AR_DROP },
	{ "model.layers.#.self_attn.q_proj", "blk.#.attn_q", AR_Q },
	{ "model.layers.#.self_attn.k_proj", "blk.#.attn_k", AR_K },
	{ "model.layers.#.self_attn.v_proj", "blk.#.attn_v", AR_PLAIN },
	{ "model.layers.#.self_attn.o_proj", "blk.#.attn_output", AR_PLAIN },
	{ NULL, NULL, 0 }
};

/* llama, mistral, qwen2, qwen3, gemma, granite: pre-norm blocks */
static const struct arch_tensor t_prenorm[] = {
	{ "model.layers.#.input_layernorm", "blk.#.attn_norm", AR_NORM },
	{ "model.layers.#.post_attention_layernorm", "blk.#.ffn_norm", AR_NORM },
	{ NULL, NULL, 0 }
};

static const struct arch_tensor t_glu[] = {
	{ "model.layers.#.mlp.gate_proj", "blk.#.ffn_gate", AR_PLAIN },
	{ "model.layers.#.mlp.up_proj", "blk.#.ffn_up", AR_PLAIN },
	{ "model.layers.#.mlp.down_proj", "blk.#.ffn_down", AR_PLAIN },
	{ NULL, NULL, 0 }
};

static const struct arch_tensor t_qknorm[] = {
	{ "model.layers.#.self_attn.q_norm", "blk.#.attn_q_norm", AR_QNORM },
	{ "model.layers.#.self_attn.k_norm", "blk.#.attn_k_norm", AR_KNORM },
	{ NULL, NULL, 0 }
};

/* gemma2, gemma3: sandwich norms */
static const struct arch_tensor t_gemma2[] = {
	{ "model.layers.#.input_layernorm", "blk.#.attn_norm", AR_NORM },
	{ "model.layers.#.post_attention_layernorm", "blk.#.post_attention_norm", AR_NORM },
	{ "model.layers.#.pre_feedforward_layernorm", "blk.#.ffn_norm", AR_NORM },
	{ "model.layers.#.post_feedforward_layernorm", "blk.#.post_ffw_norm", AR_NORM },
	{ NULL, NULL, 0 }
};

/* olmo2: norms after attention and MLP only */
static const struct arch_tensor t_olmo2[] = {
	{ "model.layers.#.post_attention_layernorm", "blk.#.post_attention_norm", AR_NORM },
	{ "model.layers.#.post_feedforward_layernorm", "blk.#.post_ffw_norm", AR_NORM },
	{ "model.layers.#.self_attn.q_norm", "blk.#.attn_q_norm", AR_NORM },
	{ "model.layers.#.self_attn.k_norm", "blk.#.attn_k_norm", AR_NORM },
	{ NULL, NULL, 0 }
};

/* phi3: fused QKV and fused gate+up (llama.cpp keeps both fused) */
static const struct arch_tensor t_phi3[] = {
	{ "model.embed_tokens", "token_embd", AR_EMBED },
	{ "lm_head", "output", AR_OUTPUT },
	{ "model.norm", "output_norm", AR_NORM },
	{ "model.layers.#.input_layernorm", "blk.#.attn_norm", AR_NORM },
	{ "model.layers.#.post_attention_layernorm", "blk.#.ffn_norm", AR_NORM },
	{ "model.layers.#.self_attn.qkv_proj", "blk.#.attn_qkv", AR_PLAIN },
	{ "model.layers.#.self_attn.o_proj", "blk.#.attn_output", AR_PLAIN },
	{ "model.layers.#.mlp.gate_up_proj", "blk.#.ffn_up", AR_PLAIN },
	{ "model.layers.#.mlp.down_proj", "blk.#.ffn_down", AR_PLAIN },
	{ "model.rotary_emb.inv_freq", "", AR_DROP },
	{ NULL, NULL, 0 }
};

/* starcoder2: LayerNorm with bias, plain GELU MLP */
static const struct arch_tensor t_starcoder2[] = {
	{ "model.layers.#.input_layernorm", "blk.#.attn_norm", AR_NORM },
	{ "model.layers.#.post_attention_layernorm", "blk.#.ffn_norm", AR_NORM },
	{ "model.layers.#.mlp.c_fc", "blk.#.ffn_up", AR_PLAIN },
	{ "model.layers.#.mlp.c_proj", "blk.#.ffn_down", AR_PLAIN },
	{ NULL, NULL, 0 }
};

static const struct arch_tensor t_mixtral[] = {
	{ "model.layers.#.block_sparse_moe.gate", "blk.#.ffn_gate_inp", AR_PLAIN },
	{ "model.layers.#.block_sparse_moe.experts.*.w1", "blk.#.ffn_gate_exps", AR_PLAIN },
	{ "model.layers.#.block_sparse_moe.experts.*.w2", "blk.#.ffn_down_exps", AR_PLAIN },
	{ "model.layers.#.block_sparse_moe.experts.*.w3", "blk.#.ffn_up_exps", AR_PLAIN },
	{ NULL, NULL, 0 }
};

static const struct arch_tensor t_qwen3moe[] = {
	{ "model.layers.#.mlp.gate", "blk.#.ffn_gate_inp", AR_PLAIN },
	{ "model.layers.#.mlp.experts.*.gate_proj", "blk.#.ffn_gate_exps", AR_PLAIN },
	{ "model.layers.#.mlp.experts.*.up_proj", "blk.#.ffn_up_exps", AR_PLAIN },
	{ "model.layers.#.mlp.experts.*.down_proj", "blk.#.ffn_down_exps", AR_PLAIN },
	{ NULL, NULL, 0 }
};

/* ---- the table ---- */

const struct arch_def arch_table[] = {
	{ "llama", "LlamaForCausalLM", "llama", ARCH_PERMUTE_QK,
	  { kv_decoder, kv_rms, kv_head_dim }, { t_common, t_prenorm, t_glu } },
	/* HF Mistral converts to llama.cpp's llama (sliding window ignored) */
	{ "mistral", "MistralForCausalLM", "llama", ARCH_PERMUTE_QK,
	  { kv_decoder, kv_rms, kv_head_dim }, { t_common, t_prenorm, t_glu } },
	{ "mixtral", "MixtralForCausalLM", "llama", ARCH_PERMUTE_QK | ARCH_MOE,
	  { kv_decoder, kv_rms, kv_head_dim, kv_moe }, { t_common, t_prenorm, t_mixtral } },
	{ "qwen2", "Qwen2ForCausalLM", "qwen2", 0,
	  { kv_decoder, kv_rms, kv_head_dim }, { t_common, t_prenorm, t_glu } },
	{ "qwen3", "Qwen3ForCausalLM", "qwen3", 0,
	  { kv_decoder, kv_rms, kv_gemma }, { t_common, t_prenorm, t_glu, t_qknorm } },
	{ "qwen3_moe", "Qwen3MoeForCausalLM", "qwen3moe", ARCH_MOE,
	  { kv_decoder, kv_rms, kv_gemma, kv_moe, kv_qwen3moe },
	  { t_common, t_prenorm, t_qwen3moe, t_qknorm } },
	{ "gemma", "GemmaForCausalLM", "gemma",
	  ARCH_NORM_PLUS_ONE | ARCH_TIED_DEFAULT | ARCH_NO_OUTPUT | ARCH_GELU | ARCH_SPM_NO_PREFIX,
	  { kv_decoder, kv_rms, kv_gemma }, { t_common, t_prenorm, t_glu } },
	{ "gemma2", "Gemma2ForCausalLM", "gemma2",
	  ARCH_NORM_PLUS_ONE | ARCH_TIED_DEFAULT | ARCH_NO_OUTPUT | ARCH_GELU | ARCH_QSCALE_Q |
	  ARCH_SPM_NO_PREFIX,
	  { kv_decoder, kv_rms, kv_gemma, kv_gemma2 }, { t_common, t_gemma2, t_glu } },
	{ "gemma3_text", "Gemma3ForCausalLM", "gemma3",
	  ARCH_NORM_PLUS_ONE | ARCH_TIED_DEFAULT | ARCH_GELU | ARCH_QSCALE_QNORM | ARCH_SPM_NO_PREFIX,
	  { kv_decoder, kv_rms, kv_gemma, kv_gemma3 },
	  { t_common, t_gemma2, t_glu, t_qknorm } },
	{ "phi3", "Phi3ForCausalLM", "phi3", ARCH_FUSED_GATE_UP,
	  { kv_decoder, kv_rms, kv_phi3 }, { t_phi3 } },
	{ "olmo2", "Olmo2ForCausalLM", "olmo2", 0,
	  { kv_decoder, kv_rms }, { t_common, t_olmo2, t_glu } },
	{ "granite", "GraniteForCausalLM", "granite", ARCH_PERMUTE_QK,
	  { kv_decoder, kv_rms, kv_head_dim, kv_granite }, { t_common, t_prenorm, t_glu } },
	{ "starcoder2", "Starcoder2ForCausalLM", "starcoder2", ARCH_TIED_DEFAULT | ARCH_GELU,
	  { kv_decoder, kv_layernorm, kv_swa }, { t_common, t_starcoder2 } },
};

const int arch_count = (int)(sizeof arch_table / sizeof arch_table[0]);

const struct arch_def *
arch_find(const char *model_type, const char *hf_class)
{
	int i;

	for (i = 0; model_type && i < arch_count; i++)
		if (strcmp(arch_table[i].model_type, model_type) == 0)
			return &arch_table[i];
	for (i = 0; hf_class && i < arch_count; i++)
		if (strcmp(arch_table[i].hf_class, hf_class) == 0)
			return &arch_table[i];
	return NULL;
}

const char *
arch_supported_list(char *buf, size_t cap)
{
	size_t n = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < arch_count && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "",
		    arch_table[i].model_type);
	return buf;
}

/* Reads a decimal number of at most 6 digits at *s (no sign, no leading
 * zero unless it is "0"), advancing *s; -1 if there is none. */
static int
take_index(const char **s)
{
	const char *p = *s;
	int v = 0, n = 0;

	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return -1;
	while (*p >= '0' && *p <= '9' && n < 6) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || (*p >= '0' && *p <= '9'))
		return -1;
	*s = p;
	return v;
}

/* Does `name` (without its suffix, length len) match pattern? */
static int
match(const char *pat, const char *name, size_t len, int *layer, int *expert)
{
	const char *s = name, *end = name + len;

	*layer = *expert = -1;
	for (; *pat; pat++) {
		if (*pat == '#' || *pat == '*') {
			int v = take_index(&s);

			if (v < 0 || s > end)
				return 0;
			*(*pat == '#' ? layer : expert) = v;
		} else {
			if (s >= end || *s != *pat)
				return 0;
			s++;
		}
	}
	return s == end;
}

int
arch_map_name(const struct arch_def *a, const char *hf, char *out, size_t outsz,
    enum arch_role *role, int *layer, int *expert)
{
	static const char *const suffixes[] = { ".weight", ".bias" };
	size_t len = strlen(hf), base = 0;
	const char *suffix = "";
	int li, k;

	for (k = 0; k < 2; k++) {
		size_t sl = strlen(suffixes[k]);

		if (len > sl && strcmp(hf + len - sl, suffixes[k]) == 0) {
			base = len - sl;
			suffix = suffixes[k];
			break;
		}
	}
	if (!*suffix)
		base = len;	/* buffers such as inv_freq have no suffix */
	for (li = 0; li < ARCH_MAX_LISTS && a->tensors[li]; li++) {
		const struct arch_tensor *t;

		for (t = a->tensors[li]; t->hf; t++) {
			size_t n = 0;
			const char *g;

			if (!match(t->hf, hf, base, layer, expert))
				continue;
			*role = t->role;
			if (t->role == AR_DROP) {
				if (outsz)
					out[0] = 0;
				return 1;
			}
			for (g = t->gguf; *g && n + 8 < outsz; g++) {
				if (*g == '#')
					n += (size_t)snprintf(out + n, outsz - n, "%d", *layer);
				else
					out[n++] = *g;
			}
			if (n + strlen(suffix) + 1 > outsz)
				return 0;
			memcpy(out + n, suffix, strlen(suffix) + 1);
			return 1;
		}
	}
	return 0;
}
