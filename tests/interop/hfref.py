"""hfref: what the HF-conversion interop tests share.

- an independent numpy forward pass of the decoder architectures st2gguf
  converts, written from transformers' modelling semantics (rotate-half
  RoPE, RMSNorm / LayerNorm, GQA, SwiGLU / GELU, MoE routing), in float64;
  it is checked against transformers' own logits (fixtures hf_logits.json)
  before it judges anything else;
- a tiny safetensors reader/writer and generators of small HF folders with
  O(1) weights for every architecture in the table;
- helpers to run st2gguf and llama.cpp (build/tests/interop/llama_run).
"""
import json
import math
import os
import struct
import subprocess

import numpy as np

DT = {"F32": np.float32, "F16": np.float16, "BF16": "bf16", "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        raw = data[base + b:base + e]
        if v["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            a = u.view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=DT[v["dtype"]])
        out[k] = a.reshape(v["shape"]).astype(np.float64)
    return out


def read_folder(d):
    w = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            w.update(read_safetensors(os.path.join(d, f)))
    return w


def e4m3_table():
    """All 256 FP8 E4M3 (fn) values by byte (NaN for 0x7f/0xff)."""
    out = np.zeros(256)
    for b in range(256):
        s, e, m = b >> 7, (b >> 3) & 15, b & 7
        if e == 15 and m == 7:
            out[b] = np.nan
            continue
        v = (1 + m / 8) * 2.0 ** (e - 7) if e else (m / 8) * 2.0 ** -6
        out[b] = -v if s else v
    return out


def to_e4m3(a):
    """Nearest FP8 E4M3 byte of each value (saturating), as uint8."""
    t = e4m3_table()
    ok = np.where(np.isnan(t), np.inf, t)
    return np.abs(np.asarray(a)[..., None] - ok).argmin(-1).astype(np.uint8)


def write_safetensors(path, tensors, dtype="F32"):
    hdr, blobs, off = {}, [], 0
    for k in sorted(tensors):
        if isinstance(tensors[k], tuple):       # (dtype, raw array) as is
            dt, arr = tensors[k]
            raw = np.ascontiguousarray(arr).tobytes()
            hdr[k] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
            blobs.append(raw)
            off += len(raw)
            continue
        a = np.ascontiguousarray(tensors[k], dtype=np.float32)
        if dtype == "BF16":
            u = a.view(np.uint32)
            r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
            raw = r.tobytes()
        elif dtype == "F16":
            raw = a.astype(np.float16).tobytes()
        else:
            raw = a.tobytes()
        hdr[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---------------------------------------------------------------- forward

def rms(x, w, eps, plus_one=False):
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y * ((1.0 + w) if plus_one else w)


def layernorm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, theta, dim, scaling=None):
    # x [T, heads, D]; HF rotate_half on the first `dim` dims
    d = dim
    inv = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    kind = (scaling or {}).get("rope_type", (scaling or {}).get("type"))
    if kind == "linear":
        pos = pos / scaling["factor"]
    elif kind == "llama3":   # transformers' _compute_llama3_parameters
        f, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        wl = 2 * math.pi / inv
        smooth = (old / wl - lo) / (hi - lo)
        scaled = np.where(wl > old / lo, inv / f, inv)
        mid = (wl >= old / hi) & (wl <= old / lo)
        inv = np.where(mid, (1 - smooth) * inv / f + smooth * inv, scaled)
    ang = np.outer(pos, inv)                       # [T, d/2]
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
    xr, xp = x[..., :d], x[..., d:]
    x1, x2 = xr[..., :d // 2], xr[..., d // 2:]
    rot = np.concatenate([-x2, x1], -1)
    return np.concatenate([xr * cos + rot * sin, xp], -1)


GEMMA = ("gemma", "gemma2", "gemma3_text")


def forward(cfg, W, ids):
    mt = cfg["model_type"]
    E = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    Hk = cfg.get("num_key_value_heads", H)
    D = cfg.get("head_dim") or E // H
    L = cfg["num_hidden_layers"]
    eps = cfg.get("rms_norm_eps", cfg.get("norm_epsilon", 1e-5))
    theta = cfg.get("rope_theta", 10000.0)
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    g = lambda n: W.get(n)
    plus = mt in GEMMA

    def norm(x, name):
        if mt == "starcoder2":
            return layernorm(x, W[name + ".weight"], W[name + ".bias"], eps)
        return rms(x, W[name + ".weight"], eps, plus)

    def lin(x, name):
        y = x @ W[name + ".weight"].T
        b = g(name + ".bias")
        return y + b if b is not None else y

    act = gelu_tanh if mt in GEMMA or mt == "starcoder2" else silu
    x = W["model.embed_tokens.weight"][ids]
    if mt in GEMMA:
        x = x * np.float64(np.float32(E ** 0.5))
    if mt == "granite":
        x = x * cfg.get("embedding_multiplier", 1.0)
    scale = 1.0 / math.sqrt(D)
    if mt in ("gemma2", "gemma3_text") and "query_pre_attn_scalar" in cfg:
        scale = cfg["query_pre_attn_scalar"] ** -0.5
    if mt == "granite":
        scale = cfg.get("attention_multiplier", scale)
    for l in range(L):
        p = "model.layers.%d." % l
        h = x if mt == "olmo2" else norm(x, p + "input_layernorm")
        if mt == "phi3":
            qkv = lin(h, p + "self_attn.qkv_proj")
            q, k, v = np.split(qkv, [H * D, H * D + Hk * D], -1)
        else:
            q = lin(h, p + "self_attn.q_proj")
            k = lin(h, p + "self_attn.k_proj")
            v = lin(h, p + "self_attn.v_proj")
        if mt == "olmo2":
            q = rms(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q.reshape(T, H, D)
        k = k.reshape(T, Hk, D)
        v = v.reshape(T, Hk, D)
        if mt in ("qwen3", "qwen3_moe", "gemma3_text"):
            q = rms(q, W[p + "self_attn.q_norm.weight"], eps, plus)
            k = rms(k, W[p + "self_attn.k_norm.weight"], eps, plus)
        rdim = int(D * cfg.get("partial_rotary_factor", 1.0))
        q = rope(q, pos, theta, rdim, cfg.get("rope_scaling"))
        k = rope(k, pos, theta, rdim, cfg.get("rope_scaling"))
        rep = H // Hk
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) * scale
        if mt == "gemma2" and cfg.get("attn_logit_softcapping"):
            c = cfg["attn_logit_softcapping"]
            s = np.tanh(s / c) * c
        s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        a = np.einsum("hts,shd->thd", s, v).reshape(T, H * D)
        a = lin(a, p + "self_attn.o_proj")
        if mt in ("gemma2", "gemma3_text", "olmo2"):
            a = norm(a, p + "post_attention_layernorm")
        if mt == "granite":
            a = a * cfg.get("residual_multiplier", 1.0)
        x = x + a
        if mt == "olmo2":
            h = x
        elif mt in ("gemma2", "gemma3_text"):
            h = norm(x, p + "pre_feedforward_layernorm")
        else:
            h = norm(x, p + "post_attention_layernorm")
        if mt == "mixtral" or mt == "qwen3_moe":
            if mt == "mixtral":
                gate_name, ex = p + "block_sparse_moe.gate", p + "block_sparse_moe.experts.%d."
                names = ("w1", "w3", "w2")
            else:
                gate_name, ex = p + "mlp.gate", p + "mlp.experts.%d."
                names = ("gate_proj", "up_proj", "down_proj")
            r = lin(h, gate_name)
            r = np.exp(r - r.max(-1, keepdims=True))
            r = r / r.sum(-1, keepdims=True)
            K = cfg["num_experts_per_tok"]
            m = np.zeros_like(h)
            for t in range(T):
                top = np.argsort(-r[t], kind="stable")[:K]
                wts = r[t][top]
                if mt == "mixtral" or cfg.get("norm_topk_prob", False):
                    wts = wts / wts.sum()
                for e, wt in zip(top, wts):
                    pe = ex % e
                    y = act(lin(h[t], pe + names[0])) * lin(h[t], pe + names[1])
                    m[t] += wt * lin(y, pe + names[2])
        elif mt == "phi3":
            gu = lin(h, p + "mlp.gate_up_proj")
            gt, up = np.split(gu, 2, -1)
            m = lin(act(gt) * up, p + "mlp.down_proj")
        elif mt == "starcoder2":
            m = lin(act(lin(h, p + "mlp.c_fc")), p + "mlp.c_proj")
        else:
            m = lin(act(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        if mt in ("gemma2", "gemma3_text", "olmo2"):
            m = norm(m, p + "post_feedforward_layernorm")
        if mt == "granite":
            m = m * cfg.get("residual_multiplier", 1.0)
        x = x + m
    x = norm(x, "model.norm")
    head = W.get("lm_head.weight")
    tied = cfg.get("tie_word_embeddings", mt in GEMMA or mt == "starcoder2")
    if head is None or tied:
        head = W["model.embed_tokens.weight"]
    logits = x @ head.T
    if mt == "granite":
        logits = logits / cfg.get("logits_scaling", 1.0)
    if mt in ("gemma2", "gemma3_text") and cfg.get("final_logit_softcapping"):
        c = cfg["final_logit_softcapping"]
        logits = np.tanh(logits / c) * c
    return logits


# ---------------------------------------------------------------- generators

BASE = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=80, max_position_embeddings=64,
            rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)

ARCHS = {
    "llama": dict(model_type="llama", architectures=["LlamaForCausalLM"]),
    "mistral": dict(model_type="mistral", architectures=["MistralForCausalLM"], head_dim=16,
                    sliding_window=4096),
    "qwen2": dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], tie_word_embeddings=True),
    "qwen3": dict(model_type="qwen3", architectures=["Qwen3ForCausalLM"], head_dim=24),
    "gemma": dict(model_type="gemma", architectures=["GemmaForCausalLM"], head_dim=16,
                  tie_word_embeddings=True, hidden_act="gelu_pytorch_tanh"),
    "gemma2": dict(model_type="gemma2", architectures=["Gemma2ForCausalLM"], head_dim=16,
                   tie_word_embeddings=True, query_pre_attn_scalar=32,
                   attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                   sliding_window=4096),
    "gemma3_text": dict(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], head_dim=16,
                        tie_word_embeddings=True, query_pre_attn_scalar=32,
                        rope_local_base_freq=10000.0, sliding_window=4096),
    "phi3": dict(model_type="phi3", architectures=["Phi3ForCausalLM"]),
    "olmo2": dict(model_type="olmo2", architectures=["Olmo2ForCausalLM"]),
    "granite": dict(model_type="granite", architectures=["GraniteForCausalLM"],
                    embedding_multiplier=2.0, attention_multiplier=0.2,
                    residual_multiplier=0.5, logits_scaling=4.0),
    "starcoder2": dict(model_type="starcoder2", architectures=["Starcoder2ForCausalLM"],
                       norm_epsilon=1e-5, tie_word_embeddings=True, use_bias=True),
    "mixtral": dict(model_type="mixtral", architectures=["MixtralForCausalLM"],
                    num_local_experts=4, num_experts_per_tok=2),
    "qwen3_moe": dict(model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"],
                      head_dim=16, num_experts=4, num_experts_per_tok=2,
                      moe_intermediate_size=48, norm_topk_prob=True),
}


def make_model(arch, seed=1):
    """An HF folder's config and weights with O(1) activations."""
    cfg = dict(BASE)
    cfg.update(ARCHS[arch])
    if arch == "starcoder2":
        cfg.pop("rms_norm_eps")
    rng = np.random.default_rng(seed)
    E, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, Hk = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim") or E // H
    W = {}

    def mat(o, i):
        return rng.standard_normal((o, i)) * (1.5 / math.sqrt(i))

    def vec(n, base=1.0):
        return base + 0.3 * rng.standard_normal(n)

    W["model.embed_tokens.weight"] = rng.standard_normal((V, E))
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = mat(V, E)
    nb = 0.0 if arch in GEMMA else 1.0   # gemma stores w - 1
    W["model.norm.weight"] = vec(E, nb)
    if arch == "starcoder2":
        W["model.norm.bias"] = 0.2 * rng.standard_normal(E)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        if arch == "phi3":
            W[p + "self_attn.qkv_proj.weight"] = mat(H * D + 2 * Hk * D, E)
        else:
            W[p + "self_attn.q_proj.weight"] = mat(H * D, E)
            W[p + "self_attn.k_proj.weight"] = mat(Hk * D, E)
            W[p + "self_attn.v_proj.weight"] = mat(Hk * D, E)
        W[p + "self_attn.o_proj.weight"] = mat(E, H * D)
        if arch in ("qwen2", "starcoder2"):
            W[p + "self_attn.q_proj.bias"] = 0.5 * rng.standard_normal(H * D)
            W[p + "self_attn.k_proj.bias"] = 0.5 * rng.standard_normal(Hk * D)
            W[p + "self_attn.v_proj.bias"] = 0.5 * rng.standard_normal(Hk * D)
        if arch == "starcoder2":
            W[p + "self_attn.o_proj.bias"] = 0.5 * rng.standard_normal(E)
        if arch != "olmo2":
            W[p + "input_layernorm.weight"] = vec(E, nb)
        W[p + "post_attention_layernorm.weight"] = vec(E, nb)
        if arch == "starcoder2":
            W[p + "input_layernorm.bias"] = 0.2 * rng.standard_normal(E)
            W[p + "post_attention_layernorm.bias"] = 0.2 * rng.standard_normal(E)
        if arch in ("gemma2", "gemma3_text"):
            W[p + "pre_feedforward_layernorm.weight"] = vec(E, nb)
            W[p + "post_feedforward_layernorm.weight"] = vec(E, nb)
        if arch == "olmo2":
            W[p + "post_feedforward_layernorm.weight"] = vec(E)
            W[p + "self_attn.q_norm.weight"] = vec(H * D)
            W[p + "self_attn.k_norm.weight"] = vec(Hk * D)
        if arch in ("qwen3", "qwen3_moe", "gemma3_text"):
            W[p + "self_attn.q_norm.weight"] = vec(D, nb)
            W[p + "self_attn.k_norm.weight"] = vec(D, nb)
        if arch == "phi3":
            W[p + "mlp.gate_up_proj.weight"] = mat(2 * F, E)
            W[p + "mlp.down_proj.weight"] = mat(E, F)
        elif arch == "starcoder2":
            W[p + "mlp.c_fc.weight"] = mat(F, E)
            W[p + "mlp.c_fc.bias"] = 0.5 * rng.standard_normal(F)
            W[p + "mlp.c_proj.weight"] = mat(E, F)
            W[p + "mlp.c_proj.bias"] = 0.5 * rng.standard_normal(E)
        elif arch == "mixtral":
            W[p + "block_sparse_moe.gate.weight"] = mat(cfg["num_local_experts"], E)
            for e in range(cfg["num_local_experts"]):
                q = p + "block_sparse_moe.experts.%d." % e
                W[q + "w1.weight"] = mat(F, E)
                W[q + "w3.weight"] = mat(F, E)
                W[q + "w2.weight"] = mat(E, F)
        elif arch == "qwen3_moe":
            Fe = cfg["moe_intermediate_size"]
            W[p + "mlp.gate.weight"] = mat(cfg["num_experts"], E)
            for e in range(cfg["num_experts"]):
                q = p + "mlp.experts.%d." % e
                W[q + "gate_proj.weight"] = mat(Fe, E)
                W[q + "up_proj.weight"] = mat(Fe, E)
                W[q + "down_proj.weight"] = mat(E, Fe)
        else:
            W[p + "mlp.gate_proj.weight"] = mat(F, E)
            W[p + "mlp.up_proj.weight"] = mat(F, E)
            W[p + "mlp.down_proj.weight"] = mat(E, F)
    return cfg, W


def write_model(d, cfg, W, dtype="F32"):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    if dtype == "BF16":   # the reference sees what the file holds
        for k in W:
            a = np.asarray(W[k], dtype=np.float32)
            u = a.view(np.uint32)
            r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint32) << 16
            W[k] = r.view(np.float32).astype(np.float64)
    write_safetensors(os.path.join(d, "model.safetensors"), W, dtype)


# ---------------------------------------------------------------- running

def st2gguf(src, out, *args):
    r = subprocess.run(["st2gguf", "-q", *args, src, "-o", out], capture_output=True, text=True)
    return r.returncode, r.stderr


def llama_logits(driver, gguf, seqs):
    inp = "".join(" ".join(str(t) for t in s) + "\n" for s in seqs)
    r = subprocess.run([driver, "logits", gguf], input=inp, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[-400:])
    out, cur = [], []
    for line in r.stdout.split("\n"):
        if line.strip():
            cur.append([float(v) for v in line.split()])
        elif cur:
            out.append(np.array(cur))
            cur = []
    return out


def llama_tokenize(driver, gguf, texts):
    inp = b"\0".join(t.encode() for t in texts) + b"\0"
    r = subprocess.run([driver, "tokenize", gguf], input=inp, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace").strip()[-400:])
    lines = r.stdout.decode().split("\n")
    return [[int(v) for v in l.split()] for l in lines[:len(texts)]]


def rel_err(got, ref):
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))
