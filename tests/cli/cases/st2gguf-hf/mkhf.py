#!/usr/bin/python3
"""mkhf.py DIR [DEFECT]: a tiny HF llama folder (F32, hidden 16, 1 layer,
vocab 32, no tokenizer) for st2gguf's CLI cases, optionally with one
defect: unknown-arch, no-hidden-size, unknown-tensor, shape-mismatch,
truncated, sharded, index-missing-shard, layer-beyond."""
import json
import os
import struct
import sys

import numpy as np

d, defect = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
os.makedirs(d, exist_ok=True)
cfg = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=16,
           intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
           num_key_value_heads=1, vocab_size=32, rms_norm_eps=1e-5, max_position_embeddings=64)
rng = np.random.default_rng(0)
W = {"model.embed_tokens.weight": (32, 16), "lm_head.weight": (32, 16), "model.norm.weight": (16,)}
p = "model.layers.0."
for n, s in (("self_attn.q_proj", (16, 16)), ("self_attn.k_proj", (8, 16)),
             ("self_attn.v_proj", (8, 16)), ("self_attn.o_proj", (16, 16)),
             ("mlp.gate_proj", (32, 16)), ("mlp.up_proj", (32, 16)), ("mlp.down_proj", (16, 32)),
             ("input_layernorm", (16,)), ("post_attention_layernorm", (16,))):
    W[p + n + ".weight"] = s
if defect == "unknown-arch":
    cfg["model_type"], cfg["architectures"] = "bert", ["BertModel"]
if defect == "no-hidden-size":
    del cfg["hidden_size"]
if defect == "unknown-tensor":
    W[p + "self_attn.mystery.weight"] = (4, 4)
if defect == "shape-mismatch":
    W[p + "self_attn.k_proj.weight"] = (16, 16)
if defect == "layer-beyond":
    W["model.layers.3.input_layernorm.weight"] = (16,)
json.dump(cfg, open(os.path.join(d, "config.json"), "w"))


def write(path, names):
    hdr, blobs, off = {}, [], 0
    for k in sorted(names):
        raw = rng.standard_normal(W[k]).astype(np.float32).tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(W[k]), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    data = struct.pack("<Q", len(h)) + h + b"".join(blobs)
    if defect == "truncated":
        data = data[:-100]
    open(path, "wb").write(data)


names = sorted(W)
if defect in ("sharded", "index-missing-shard"):
    half = len(names) // 2
    parts = [names[:half], names[half:]]
    wm = {}
    for i, part in enumerate(parts):
        fn = "model-%05d-of-00002.safetensors" % (i + 1)
        if not (defect == "index-missing-shard" and i == 1):
            write(os.path.join(d, fn), part)
        for k in part:
            wm[k] = fn
    json.dump({"metadata": {}, "weight_map": wm},
              open(os.path.join(d, "model.safetensors.index.json"), "w"))
else:
    write(os.path.join(d, "model.safetensors"), names)
