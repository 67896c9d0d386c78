#!/usr/bin/python3
"""A strict, independent checker for NNEF models meant for tract.

usage: nnef_check.py MODEL [--source FLOAT_MODEL]

MODEL is a folder or a tar / tar.gz.  Checks, per spec/nnef.md: tract's
entry naming rules; every .dat header (magic, version, data length, rank,
extents, bits, item code and vendor, zero reserved bytes, Q40 sizes); every
variable has its .dat with the declared shape; Q40 variables are declared
without a type (torch_to_nnef's form) and gathers from them carry
datum_type; graph.quant keys and operations in the grammar tract parses.
With --source, every Q40 weight is decoded in its declared nibble order and
must lie within one quantization step of the float weight it came from.
Prints "ok" or one line per problem; exits 1 on any problem.
"""
import io, os, re, struct, sys, tarfile
import numpy as np

def load(path):
    files = {}
    if os.path.isdir(path):
        for root, dirs, names in os.walk(path):
            for n in names:
                full = os.path.join(root, n)
                files[os.path.relpath(full, path)] = open(full, "rb").read()
    else:
        with tarfile.open(path) as t:
            for m in t.getmembers():
                name = m.name[2:] if m.name.startswith("./") else m.name
                if m.isdir() or any(c.startswith(".") for c in name.split("/")):
                    continue
                if not m.isfile():
                    raise SystemExit("entry %s is not a regular file" % name)
                if name in files:
                    raise SystemExit("duplicate entry %s" % name)
                files[name] = t.extractfile(m).read()
    return files

KHRONOS_BITS = {0: (16, 32, 64), 1: (8, 16, 32, 64), 2: (8, 16, 32, 64), 3: (8, 16, 32, 64),
                4: (8, 16, 32, 64), 5: (1, 8)}

def check_dat(name, b, problems):
    """Returns (kind, extents, payload) or None."""
    if len(b) < 128:
        problems.append("%s: shorter than 128 bytes" % name); return None
    if b[0:2] != b"\x4e\xef" or b[2:4] != b"\x01\x00":
        problems.append("%s: bad magic or version" % name); return None
    length, rank = struct.unpack_from("<II", b, 4)
    ext = struct.unpack_from("<8I", b, 12)
    bits, code, vendor = struct.unpack_from("<IHH", b, 44)
    if length != len(b) - 128:
        problems.append("%s: data length %d, file has %d" % (name, length, len(b) - 128))
    if rank > 8 or any(ext[rank:]):
        problems.append("%s: rank %d / extents %r" % (name, rank, ext)); return None
    if any(b[52:128]):
        problems.append("%s: reserved bytes 52..127 not zero" % name)
    n = int(np.prod(ext[:rank], dtype=np.uint64)) if rank else 1
    if vendor == 0:
        if code not in KHRONOS_BITS or bits not in KHRONOS_BITS[code]:
            problems.append("%s: code %d with %d bits" % (name, code, bits)); return None
        if length != (n * bits + 7) // 8:
            problems.append("%s: %d items of %d bits in %d bytes" % (name, n, bits, length))
        return ("khronos", code, bits, ext[:rank], b[128:])
    if vendor == 0x5452 and code in (0x3040, 0x2040):
        if bits != 0xFFFFFFFF:
            problems.append("%s: Q40 with bits %d (tract needs 0xffffffff)" % (name, bits))
        if rank < 2 or (n // ext[0]) % 32:
            problems.append("%s: Q40 needs rank >= 2 and rows of a multiple of 32" % name)
        if length != n // 32 * 18:
            problems.append("%s: Q40 of %d weights in %d bytes" % (name, n, length))
        return ("q40" if code == 0x3040 else "q40-legacy", code, bits, ext[:rank], b[128:])
    problems.append("%s: vendor 0x%04x code 0x%04x unknown to tract" % (name, vendor, code))
    return None

def decode_q40(payload, legacy):
    blocks = np.frombuffer(payload, np.uint8).reshape(-1, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    lo, hi = (qs & 15).astype(np.int32), (qs >> 4).astype(np.int32)
    if legacy:
        q = np.stack([lo, hi], axis=2).reshape(-1, 32)
    else:
        q = np.concatenate([lo, hi], axis=1)
    return (q - 8).astype(np.float32) * d, np.abs(d[:, 0]), q

VAR = re.compile(r"(\w+)\s*=\s*variable(<\s*\w+\s*>)?\s*\(([^;]*)\)\s*;")
QUANT = re.compile(r'\s*(?:"([A-Za-z_][A-Za-z0-9_]*)"|i"([^"]*)")\s*:\s*'
                   r'(zero_point_linear_quantize|linear_quantize)\s*\(([^)]*)\)\s*;')

def check_q8(graph, quant, dats, source, problems):
    """8-bit models: graph.quant keys name graph tensors; quantized variables
    hold 8-bit integers of the declared signedness, within half a step of
    their float source; integer variables are declared variable<integer>;
    conv/linear biases are the float bias over s_in * s_w."""
    lhs = set(re.findall(r"^\s*(\w+)\s*=", graph, re.M))
    for key in quant:
        if key not in lhs:
            problems.append("graph.quant: %s is not a tensor of the graph" % key)
    vars_ = {}
    for m in VAR.finditer(graph):
        label = re.search(r"label\s*=\s*'([^']*)'", m.group(3))
        if label:
            vars_[m.group(1)] = (m.group(2), label.group(1).lstrip("/"))
    for ident, (typ, label) in vars_.items():
        d = dats.get(label)
        if d is None or d[0] != "khronos":
            continue
        code, bits = d[1], d[2]
        if code in (1, 4) and (typ or "").replace(" ", "") != "<integer>":
            problems.append("variable %s: integer data (code %d) declared as variable%s" % (ident, code, typ or ""))
        if ident in quant:
            q = quant[ident]
            signed = q.get("signed") == "true"
            if bits != 8 or code not in ((3, 4) if signed else (1, 2)):
                problems.append("variable %s: graph.quant says %s8 but .dat has code %d, %d bits"
                                % (ident, "i" if signed else "u", code, bits))
            elif source is not None and label + ".dat" in source:
                x = np.frombuffer(source[label + ".dat"][128:], "<f4")
                qv = np.frombuffer(d[4], np.int8 if signed else np.uint8).astype(np.float64)
                s, zp = float(q["scale"]), int(q["zero_point"])
                err = np.abs(x - (qv - zp) * s)
                if (err > s * 0.5001 + 1e-9).any() and not (np.abs(x) > 127.5 * s).any():
                    problems.append("variable %s: int8 values more than half a step from the source" % ident)
    # biases: follow unsqueeze chains back to variables
    alias = dict(re.findall(r"(\w+)\s*=\s*(?:unsqueeze|squeeze|reshape)\s*\(\s*(\w+)\s*,", graph))
    def root(i):
        for _ in range(16):
            if i in alias:
                i = alias[i]
        return i
    for m in re.finditer(r"(\w+)\s*=\s*(conv|linear)\s*\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)", graph):
        x, w, b = m.group(3), root(m.group(4)), root(m.group(5))
        if x not in quant or w not in quant or b not in vars_ or source is None:
            continue
        d = dats.get(vars_[b][1])
        src = source.get(vars_[b][1] + ".dat")
        if d is None or d[1] != 4 or src is None:
            problems.append("op %s: quantized, but its bias %s is not int32 (code 4)" % (m.group(1), b))
            continue
        want = np.frombuffer(src[128:], "<f4") / (float(quant[x]["scale"]) * float(quant[w]["scale"]))
        got = np.frombuffer(d[4], "<i4")
        if (np.abs(got - want) > 0.5001).any():
            problems.append("op %s: bias %s is not round(b / (s_in * s_w))" % (m.group(1), b))

def main():
    path = sys.argv[1]
    source = load(sys.argv[sys.argv.index("--source") + 1]) if "--source" in sys.argv else None
    files = load(path)
    problems = []
    if "graph.nnef" not in files:
        print("no graph.nnef"); return 1
    graph = files["graph.nnef"].decode("utf-8")
    dats = {}
    for name, b in files.items():
        if name.endswith(".dat"):
            dats[name[:-4]] = check_dat(name, b, problems)
    q40_ids = set()
    for m in VAR.finditer(graph):
        ident, typ, args = m.group(1), m.group(2), m.group(3)
        label = re.search(r"label\s*=\s*'([^']*)'", args)
        shape = re.search(r"shape\s*=\s*\[([\d,\s]*)\]", args)
        if not label or not shape:
            problems.append("variable %s: no label or shape" % ident); continue
        label = label.group(1).lstrip("/")
        shape = tuple(int(s) for s in shape.group(1).replace(" ", "").split(",") if s)
        d = dats.get(label)
        if label not in dats:
            problems.append("variable %s: no %s.dat" % (ident, label)); continue
        if d is None:
            continue
        if tuple(d[3]) != shape:
            problems.append("variable %s: .dat extents %r, graph shape %r" % (ident, d[3], shape))
        if d[0].startswith("q40"):
            q40_ids.add(ident)
            if typ:
                problems.append("variable %s: Q40 data declared as variable%s" % (ident, typ))
            if source is not None and label + ".dat" in source:
                src = source[label + ".dat"]
                x = np.frombuffer(src[128:], "<f4").reshape(-1, 32)
                y, step, q = decode_q40(d[4], d[0] == "q40-legacy")
                err = np.abs(x - y)
                # a shrunk range (mse) may clip: then the code is an extreme
                # one and the decoded value lies between zero and the weight
                clipped = ((q == 0) | (q == 15)) & (np.sign(x) == np.sign(y)) & (np.abs(x) >= np.abs(y))
                bad = (err > step[:, None] * 1.01 + 1e-7) & ~clipped
                if bad.any():
                    problems.append("variable %s: decoded Q40 is more than one step from the source "
                                    "(max %g): wrong nibble order or scale" % (ident, err[bad].max()))
    for m in re.finditer(r"(\w+)\s*=\s*tract_core_gather\s*\(\s*(\w+)\s*,([^;]*)\)\s*;", graph):
        if m.group(2) in q40_ids and "datum_type" not in m.group(3):
            problems.append("gather %s from Q40 %s without datum_type" % (m.group(1), m.group(2)))
    quant = {}
    if "graph.quant" in files:
        text = re.sub(r"#[^\n]*", "", files["graph.quant"].decode("utf-8"))
        pos = 0
        for m in QUANT.finditer(text):
            if text[pos:m.start()].strip():
                problems.append("graph.quant: cannot parse %r" % text[pos:m.start()].strip()[:60])
            pos = m.end()
            args = dict(a.split("=") for a in m.group(4).replace(" ", "").split(",") if a)
            need = {"zero_point", "scale", "bits", "signed"} if m.group(3) != "linear_quantize" \
                else {"min", "max", "bits"}
            if not need <= set(args):
                problems.append("graph.quant: %s lacks %s" % (m.group(1) or m.group(2), need - set(args)))
            if args.get("bits") not in ("8", "32"):
                problems.append("graph.quant: %s has bits %s" % (m.group(1) or m.group(2), args.get("bits")))
            quant[m.group(1) or m.group(2)] = args
        if text[pos:].strip():
            problems.append("graph.quant: cannot parse %r" % text[pos:].strip()[:60])
    check_q8(graph, quant, dats, source, problems)
    for p in problems:
        print(p)
    if not problems:
        print("ok")
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main())
