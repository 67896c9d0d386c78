"""What the st2gguf -p checks (test_st2gguf_*.sh) share: a safetensors reader
into float32 numpy arrays, and where mkmodel's Hugging Face weights land in
llama.cpp's GGUF (tensor names, the rotary row order of q/k).  Test helper."""
import json
import struct

import numpy as np

# Hugging Face module -> GGUF tensor of the same layer
GGUF_NAMES = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}
# heads of q_proj and k_proj: mkmodel's defaults for hidden 64
ROPE_HEADS = {"self_attn.q_proj": 4, "self_attn.k_proj": 2}


def st_load(path):
    """The BF16 and F32 tensors of a safetensors file as float32 arrays (I8, I32 as they are)."""
    b = open(path, "rb").read()
    n = struct.unpack_from("<Q", b)[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        raw = b[8 + n + s:8 + n + e]
        if v["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif v["dtype"] in ("F32", "I8", "I32"):
            a = np.frombuffer(raw, {"F32": "<f4", "I8": "i1", "I32": "<i4"}[v["dtype"]])
        else:
            continue
        out[k] = a.reshape(v["shape"])
    return out


def module_of(hf):
    """model.layers.L.self_attn.q_proj.weight -> (self_attn.q_proj, blk.L.attn_q.weight)"""
    mod = ".".join(hf.split(".")[3:5])
    return mod, "blk.%s.%s.weight" % (hf.split(".")[2], GGUF_NAMES[mod])


def permute(a, n):
    """llama's rotary row order for q_proj / k_proj with n heads"""
    return a.reshape(n, 2, a.shape[0] // n // 2, -1).swapaxes(1, 2).reshape(a.shape)


def layer_weights(ref):
    """(GGUF name, weight in llama's row order) for each layer matrix of mkmodel's checkpoint"""
    for hf, w in ref.items():
        if ".layers." not in hf or w.ndim != 2:
            continue
        mod, name = module_of(hf)
        yield name, permute(w, ROPE_HEADS[mod]) if mod in ROPE_HEADS else w
