#!/usr/bin/python3
"""Writes a llama-shaped float checkpoint for tests and benchmarks.

usage: gen-st-model.py OUTDIR [--layers N] [--hidden H] [--inter I]
                       [--vocab V] [--dtype F32|BF16] [--seed S]

OUTDIR gets model.safetensors and config.json.  Values are Gaussian with a
few outliers per row, as trained weights have; a block of random values is
tiled so that a ~1 GB model is written in seconds.  Standard library only.
"""
import argparse, array, json, os, random, struct

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--hidden", type=int, default=64)
ap.add_argument("--inter", type=int, default=128)
ap.add_argument("--vocab", type=int, default=96)
ap.add_argument("--dtype", default="F32", choices=["F32", "BF16"])
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
rnd = random.Random(a.seed)
H, I, V = a.hidden, a.inter, a.vocab

tensors = [("model.embed_tokens.weight", [V, H])]
for l in range(a.layers):
    p = "model.layers.%d." % l
    tensors += [(p + "input_layernorm.weight", [H]),
                (p + "self_attn.q_proj.weight", [H, H]), (p + "self_attn.k_proj.weight", [H, H]),
                (p + "self_attn.v_proj.weight", [H, H]), (p + "self_attn.o_proj.weight", [H, H]),
                (p + "post_attention_layernorm.weight", [H]),
                (p + "mlp.gate_proj.weight", [I, H]), (p + "mlp.up_proj.weight", [I, H]),
                (p + "mlp.down_proj.weight", [H, I])]
tensors += [("model.norm.weight", [H]), ("lm_head.weight", [V, H])]

BLOCK = 1 << 16
vals = [rnd.gauss(0, 0.02) * (8 if rnd.random() < 0.002 else 1) for _ in range(BLOCK)]
f32 = array.array("f", vals).tobytes()
if a.dtype == "BF16":
    u = array.array("I", f32)
    block = array.array("H", [((x + 0x7FFF + ((x >> 16) & 1)) >> 16) & 0xFFFF for x in u]).tobytes()
    esize = 2
else:
    block = f32
    esize = 4
ones = struct.pack("<f", 1.0) if esize == 4 else struct.pack("<H", 0x3F80)

hdr = {"__metadata__": {"format": "pt"}}
off = 0
for name, shape in tensors:
    n = 1
    for d in shape:
        n *= d
    hdr[name] = {"dtype": a.dtype, "shape": shape, "data_offsets": [off, off + n * esize]}
    off += n * esize
j = json.dumps(hdr, separators=(",", ":")).encode()
j += b" " * ((8 - len(j) % 8) % 8)
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(j)) + j)
    start = 0
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        nbytes = n * esize
        if len(shape) == 1:
            f.write(ones * n)
            continue
        pos = (start * esize) % len(block)
        while nbytes > 0:
            chunk = block[pos:pos + nbytes]
            f.write(chunk)
            nbytes -= len(chunk)
            pos = 0
        start += 7919  # a different phase per tensor
with open(os.path.join(a.out, "config.json"), "w") as f:
    json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
               "intermediate_size": I, "num_hidden_layers": a.layers, "num_attention_heads": 4,
               "num_key_value_heads": 4, "vocab_size": V, "rms_norm_eps": 1e-5,
               "torch_dtype": "bfloat16" if a.dtype == "BF16" else "float32"}, f, indent=1)
