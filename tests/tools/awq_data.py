#!/usr/bin/env python3
"""Test data for AWQ / SmoothQuant: a llama-style checkpoint (the hf-tiny
fixture when given, else a generated one) and captures W.input of every
Linear weight, from a numpy forward pass of each decoder layer over hidden
states with a few heavy outlier channels (as real LLM activations have).
Attention mixing is a random row-stochastic matrix over the tokens (it
mixes tokens, not channels, which is what matters for smoothing).

usage: awq_data.py OUTDIR [FIXTURE_DIR]
writes OUTDIR/model/{config.json,model.safetensors} and OUTDIR/caps.safetensors
"""
import json, os, struct, sys
import numpy as np

def st_read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(v["shape"]).copy()
    return out

def st_write(path, tensors):
    h, off, parts = {}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype="<f4")
        h[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        parts.append(a.tobytes())
    j = json.dumps(h).encode()
    j += b" " * ((8 - len(j) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(j)) + j + b"".join(parts))

def rmsnorm(x, g, eps=1e-5):
    return (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g).astype(np.float32)

def main():
    out = sys.argv[1]
    fix = sys.argv[2] if len(sys.argv) > 2 else ""
    rng = np.random.default_rng(7)
    os.makedirs(out + "/model", exist_ok=True)
    if fix and os.path.exists(fix + "/model.safetensors"):
        cfg = json.load(open(fix + "/config.json"))
        w = st_read(fix + "/model.safetensors")
    else:
        cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16,
               "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
               "num_key_value_heads": 2, "vocab_size": 11, "rms_norm_eps": 1e-5,
               "tie_word_embeddings": False}
        H, I, V = 16, 32, 11
        w = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, H)),
             "model.norm.weight": 1 + rng.normal(0, 0.1, H), "lm_head.weight": rng.normal(0, 0.2, (V, H))}
        for l in range(2):
            p = "model.layers.%d." % l
            w[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, H)
            w[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, H)
            for n, sh in (("self_attn.q_proj", (H, H)), ("self_attn.k_proj", (H, H)),
                          ("self_attn.v_proj", (H, H)), ("self_attn.o_proj", (H, H)),
                          ("mlp.gate_proj", (I, H)), ("mlp.up_proj", (I, H)), ("mlp.down_proj", (H, I))):
                w[p + n + ".weight"] = rng.normal(0, 0.3, sh)
        w = {k: np.asarray(v, dtype=np.float32) for k, v in w.items()}
    json.dump(cfg, open(out + "/model/config.json", "w"))
    st_write(out + "/model/model.safetensors", w)

    H = cfg["hidden_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    n = 256
    # hidden states: unit noise plus a few channels 30x larger (LLM outliers)
    h = rng.normal(0, 1, (n, H)).astype(np.float32)
    outl = [1, H - 2]
    h[:, outl] = h[:, outl] * 8 + 30
    caps = {}
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        x = rmsnorm(h, w[p + "input_layernorm.weight"])
        for m in ("q_proj", "k_proj", "v_proj"):
            caps[p + "self_attn." + m + ".weight.input"] = x
        v = x @ w[p + "self_attn.v_proj.weight"].T
        a = rng.random((n, n)).astype(np.float32)
        a /= a.sum(1, keepdims=True)
        o_in = np.repeat(a @ v, heads // kv, axis=1) if heads != kv else a @ v
        o_in = np.ascontiguousarray(o_in[:, :w[p + "self_attn.o_proj.weight"].shape[1]], dtype=np.float32)
        caps[p + "self_attn.o_proj.weight.input"] = o_in
        h = (h + o_in @ w[p + "self_attn.o_proj.weight"].T).astype(np.float32)
        x = rmsnorm(h, w[p + "post_attention_layernorm.weight"])
        caps[p + "mlp.gate_proj.weight.input"] = x
        caps[p + "mlp.up_proj.weight.input"] = x
        g = x @ w[p + "mlp.gate_proj.weight"].T
        d_in = (g / (1 + np.exp(-g)) * (x @ w[p + "mlp.up_proj.weight"].T)).astype(np.float32)
        caps[p + "mlp.down_proj.weight.input"] = d_in
        h = (h + d_in @ w[p + "mlp.down_proj.weight"].T).astype(np.float32)
    st_write(out + "/caps.safetensors", caps)

main()
