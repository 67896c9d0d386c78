"""Compare st-inspect --json (argv[1]) with ggml-gguf-dump's canonical text for
the same file (argv[2]): the same KVs in the same order with the same types
and values, the same tensors (name, type, shape = reversed ne, offset, size).
Prints nothing and exits 0 when they agree, else one line per difference."""
import json
import math
import re
import sys

doc = json.load(open(sys.argv[1], encoding="utf-8"))
dump = open(sys.argv[2], encoding="utf-8").read().splitlines()
problems = []


def unescape(s):
    # ggml-gguf-dump escapes '"', '\\' and control bytes as \xNN
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            if s[i + 1] == "x":
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
            else:
                out.append(s[i + 1])
                i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def split_values(body):
    # comma-separated values, strings quoted with escapes
    vals, i = [], 0
    while i < len(body):
        if body[i] == '"':
            j = i + 1
            while body[j] != '"':
                j += 2 if body[j] == "\\" else 1
            vals.append(unescape(body[i + 1:j]))
            i = j + 2
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            vals.append(body[i:j])
            i = j + 1
    return vals


def same_value(ours, theirs, vtype):
    if vtype == "str":
        return ours == theirs
    if vtype == "bool":
        return ours == (theirs == "true")
    if vtype in ("f32", "f64"):
        t = float(theirs)
        if ours is None:
            return not math.isfinite(t)
        return float(ours) == t
    return int(ours) == int(theirs)


kvs = [l for l in dump if l.startswith("kv ")]
meta = doc.get("metadata", [])
if len(kvs) != len(meta):
    problems.append(f"{len(meta)} KVs vs ggml's {len(kvs)}")
for line, kv in zip(kvs, meta):
    m = re.match(r'kv \d+ "((?:[^"\\]|\\.)*)" (arr (\w+) (\d+) \[(.*)\]|(\w+) (.*))$', line)
    key = unescape(m.group(1))
    if key != kv["key"]:
        problems.append(f"key {kv['key']!r} vs ggml's {key!r}")
        continue
    if m.group(3):
        vtype, values = m.group(3), split_values(m.group(5))
        if kv["type"] != f"array[{vtype}]" or len(values) != len(kv["value"]):
            problems.append(f"{key}: {kv['type']} of {len(kv['value'])} vs arr {vtype} of {len(values)}")
        elif not all(same_value(o, t, vtype) for o, t in zip(kv["value"], values)):
            problems.append(f"{key}: array values differ")
    else:
        vtype = m.group(6)
        value = split_values(m.group(7))[0] if vtype == "str" else m.group(7)
        if kv["type"] != vtype or not same_value(kv["value"], value, vtype):
            problems.append(f"{key}: {kv['type']} {kv['value']!r} vs {vtype} {value!r}")

tensors = [l for l in dump if l.startswith("tensor ")]
if len(tensors) != len(doc["tensors"]):
    problems.append(f"{len(doc['tensors'])} tensors vs ggml's {len(tensors)}")
for line, t in zip(tensors, doc["tensors"]):
    m = re.match(r'tensor \d+ "(.*)" type=\d+\((\w+)\) ne=([\d,]+) offset=(\d+) size=(\d+)', line)
    ne = [int(x) for x in m.group(3).split(",")]
    shape = list(reversed(t["shape"])) + [1] * (4 - len(t["shape"]))
    if (unescape(m.group(1)) != t["name"] or m.group(2) != t["dtype"].upper() or ne != shape
            or int(m.group(4)) != t["data_offset"] or int(m.group(5)) != t["nbytes"]):
        problems.append(f"tensor {t['name']}: {t['dtype']} {t['shape']} @{t['data_offset']} "
                        f"vs ggml's {line}")

for p in problems[:8]:
    print(p)
sys.exit(1 if problems else 0)
