#!/usr/bin/env node
// onnx-capture.mjs: activation captures of an ONNX model, for qcalib --captures.
//
//   node scripts/onnx-capture.mjs [--all] (--inputs FILE | --random N [--seed S]
//        [--dist uniform|normal] [--shape NAME=D,D,...]) [--qdq-insert PATH] MODEL -o CAPTURES
//
// qdq-insert --capture-model writes the float model with the activations
// qdq-insert --static would quantize added as graph outputs (--all: every
// activation of the main graph); onnxruntime-node runs it, graph
// optimizations off, once per sample; every float input and output is
// written to CAPTURES (a safetensors file, '-' for standard output) as
// "name": F32 [n, ...], n the number of samples.  The inputs come from FILE,
// a safetensors file holding for each graph input a tensor of that name with
// a leading sample axis (float inputs F32, F16 or F64; integer inputs their
// own type), or are made up: N samples from the generator qdq-insert
// --random-calib uses (cmd/qdq-insert/randcal.c), so both see the same data.
// Errors: "onnx-capture: FILE: where: what" and exit 1; bad usage exit 2.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from './lib/safetensors-read.mjs';

const PROG = 'onnx-capture';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const die = (msg, code = 1) => { process.stderr.write(`${PROG}: ${msg}\n`); process.exit(code); };
const usage = (msg) => die(`${msg}\nusage: onnx-capture.mjs [--all] (--inputs FILE | --random N [--seed S] ` +
  '[--dist uniform|normal] [--shape NAME=D,...]) [--qdq-insert PATH] MODEL -o CAPTURES', 2);
const HELP = `usage: node scripts/onnx-capture.mjs [options] MODEL -o CAPTURES
Run an ONNX model in onnxruntime and write the activations qdq-insert --static
quantizes (inputs and outputs of its MatMul, Gemm, Conv... nodes) as a safetensors
file of F32 [samples, ...] tensors named after them, for qcalib --captures.
  --all              every float activation of the main graph
  --inputs FILE      safetensors file: per graph input, [samples, ...] values
  --random N         N made-up samples instead (symbolic dimensions 1)
  --seed S           their seed (default 0), the same data as qdq-insert --random-calib
  --dist D           uniform (default, [0, 1)) or normal
  --shape NAME=D,... an input's shape for --random (symbolic dimensions default to 1)
  --qdq-insert PATH  the qdq-insert program (default: on PATH, else build/)
  -o FILE            output ('-': standard output)
`;

// ---- options ----
const opt = { shapes: {}, all: false, inputs: null, random: 0, seed: 0, dist: 'uniform', qdq: null, out: null, model: null };
{
  const a = process.argv.slice(2);
  const val = (i) => { if (i + 1 >= a.length) usage(`${a[i]}: missing value`); return a[i + 1]; };
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--help': case '-h': process.stdout.write(HELP); process.exit(0); break;
      case '--all': opt.all = true; break;
      case '--inputs': opt.inputs = val(i++); break;
      case '--random': opt.random = Number(val(i++));
        if (!Number.isInteger(opt.random) || opt.random < 1 || opt.random > 1000000)
          usage(`--random ${a[i]}: a number of samples from 1 to 1000000`);
        break;
      case '--seed': opt.seed = Number(val(i++));
        if (!/^[0-9]+$/.test(a[i]) || opt.seed > 4294967295) usage(`--seed ${a[i]}: a number from 0 to 4294967295`);
        break;
      case '--dist': opt.dist = val(i++);
        if (opt.dist !== 'uniform' && opt.dist !== 'normal') usage(`--dist ${opt.dist}: uniform or normal`);
        break;
      case '--qdq-insert': opt.qdq = val(i++); break;
      case '--shape': {
        const m = /^(.+)=([0-9]+(,[0-9]+)*)$/.exec(val(i++));
        const dims = m ? m[2].split(',').map(Number) : [];
        if (!m || dims.length > 8 || dims.some((d) => d < 1 || d > 2 ** 30))
          usage(`--shape ${a[i]}: expected NAME=D,D,... (dimensions from 1 to 2^30, at most 8)`);
        opt.shapes[m[1]] = dims;
        break;
      }
      case '-o': case '--output': opt.out = val(i++); break;
      default:
        if (a[i].startsWith('-') && a[i] !== '-') usage(`unknown option ${a[i]}`);
        if (opt.model) usage('expected one model');
        opt.model = a[i];
    }
  }
  if (!opt.model) usage('no model');
  if (!opt.out) usage('no output: give -o FILE');
  if (!opt.inputs === !opt.random) usage('give either --inputs FILE or --random N');
  if (opt.inputs && Object.keys(opt.shapes).length) usage('--shape: only with --random');
}

let ort;
for (const base of [path.join(root, 'tests/oracles/package.json'), path.join(process.cwd(), 'package.json')]) {
  try { ort = createRequire(base)('onnxruntime-node'); break; } catch { /* next */ }
}
if (!ort) die('onnxruntime-node not found (scripts/deps.sh installs it under tests/oracles)');

// ---- the random inputs, exactly as randcal.c makes them ----
function splitmix32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9E3779B9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85EBCA6B) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xC2B2AE35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}
const next = splitmix32(opt.seed);
const draw = opt.dist === 'uniform'
  ? () => Math.fround((next() >>> 8) * 2 ** -24)
  : () => {
    const u1 = ((next() >>> 8) + 1) * 2 ** -24, u2 = (next() >>> 8) * 2 ** -24;
    return Math.fround(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
  };

// float <-> IEEE half, round to nearest even
const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
function toHalf(x) {
  f32buf[0] = x;
  const b = u32buf[0], sign = (b >>> 16) & 0x8000, exp = (b >>> 23) & 0xff;
  let man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    const shift = 14 - e, r = man >>> shift, rest = man & ((1 << shift) - 1), half = 1 << (shift - 1);
    return sign | (r + (rest > half || (rest === half && (r & 1)) ? 1 : 0));
  }
  const r = man >>> 13, rest = man & 0x1fff;
  return (sign | (e << 10) | r) + (rest > 0x1000 || (rest === 0x1000 && (r & 1)) ? 1 : 0);
}
function fromHalf(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- the inputs file ----
function readInputs(file) {
  let buf;
  try { buf = file === '-' ? fs.readFileSync(0) : fs.readFileSync(file); } catch (e) { die(`${file}: ${e.message}`); }
  try { return parseSafetensors(buf, file); } catch (e) { die(e.message); }
}

function typedOf(type, n) {
  switch (type) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': return new Uint16Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'int16': return new Int16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'uint16': return new Uint16Array(n);
    default: return null;
  }
}
const isFloat = (t) => t === 'float32' || t === 'float16' || t === 'float64';
function toF32(t) {
  if (t.type === 'float32') return t.data;
  const d = new Float32Array(t.data.length);
  if (t.type === 'float16') {
    const h = t.data instanceof Uint16Array ? t.data : new Uint16Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < d.length; i++) d[i] = fromHalf(h[i]);
  } else for (let i = 0; i < d.length; i++) d[i] = t.data[i];
  return d;
}

// ---- the capture model ----
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-capture-'));
const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
process.on('exit', cleanup);
const capModel = path.join(tmp, 'capture.onnx');
{
  const cands = opt.qdq ? [opt.qdq] : [process.env.QU_BIN && path.join(process.env.QU_BIN, 'qdq-insert'),
    'qdq-insert', path.join(root, 'build/qdq-insert')].filter(Boolean);
  let r;
  for (const q of cands) {
    r = spawnSync(q, ['-q', opt.all ? '--capture-all' : '--capture-model', opt.model, '-o', capModel],
      { encoding: 'utf8' });
    if (!(r.error && r.error.code === 'ENOENT')) break;
  }
  if (r.error) die(`qdq-insert: ${r.error.message} (give --qdq-insert PATH)`);
  if (r.status !== 0) die(r.stderr.trim().replace(/^qdq-insert: /, ''));
}

let sess;
try {
  sess = await ort.InferenceSession.create(capModel, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
} catch (e) { die(`${opt.model}: onnxruntime: ${e.message}`); }

// ---- per input: its declared type and shape, and where samples come from ----
const meta = sess.inputMetadata;
const given = opt.inputs ? readInputs(opt.inputs) : null;
let nsamples = opt.random;
const inputs = sess.inputNames.map((name, i) => {
  const m = meta[i] || {};
  const shape = (m.shape || []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  const inp = { name, type: m.type, declared: shape };
  if (!given) {
    const want = opt.shapes[name];
    if (want && want.length !== shape.length)
      die(`${opt.model}: --shape ${name}: ${want.length} dimensions, the input has ${shape.length}`);
    if (want && want.some((d, k) => shape[k] >= 0 && d !== shape[k]))
      die(`${opt.model}: --shape ${name}: the model has [${shape.map((d) => (d < 0 ? '?' : d))}]`);
    inp.shape = want || shape.map((d) => (d < 0 ? 1 : d));
    if (!typedOf(inp.type, 0)) die(`${opt.model}: input ${name}: type ${inp.type} cannot be made up`);
    return inp;
  }
  const g = given[name];
  if (!g) die(`${opt.inputs}: no tensor for the model's input ${name}`);
  if (g.type !== inp.type && !(isFloat(g.type) && isFloat(inp.type)))
    die(`${opt.inputs}: ${name}: ${g.type} values for a ${inp.type} input`);
  const dims = g.shape.slice(1);
  if (dims.length !== shape.length || dims.some((d, k) => shape[k] >= 0 && d !== shape[k]))
    die(`${opt.inputs}: ${name}: shape [${g.shape}] is not [samples, ${shape.map((d) => (d < 0 ? '?' : d))}]`);
  if (nsamples && g.shape[0] !== nsamples)
    die(`${opt.inputs}: ${name}: ${g.shape[0]} samples, other inputs have ${nsamples}`);
  nsamples = g.shape[0];
  Object.assign(inp, { shape: dims, given: g });
  return inp;
});
for (const name of Object.keys(opt.shapes))
  if (!sess.inputNames.includes(name)) die(`${opt.model}: --shape ${name}: the model has no such input`);
if (given) {
  for (const name of Object.keys(given))
    if (!sess.inputNames.includes(name)) die(`${opt.inputs}: ${name}: not an input of the model`);
  if (!nsamples) die(`${opt.inputs}: no samples`);
}

function feedsFor(k) {
  const feeds = {};
  for (const inp of inputs) {
    const n = inp.shape.reduce((a, b) => a * b, 1);
    let data = typedOf(inp.type, n);
    if (inp.given) {
      const g = inp.given, src = g.bytes.subarray(k * n * g.size, (k + 1) * n * g.size);
      const view = typedOf(g.type, 0).constructor;
      const vals = new view(src.buffer.slice(src.byteOffset, src.byteOffset + src.length));
      if (g.type === inp.type) data = vals;
      else {	// float to another float type
        const f = toF32({ type: g.type, data: vals });
        for (let i = 0; i < n; i++) data[i] = inp.type === 'float16' ? toHalf(f[i]) : f[i];
      }
    } else if (isFloat(inp.type)) {
      for (let i = 0; i < n; i++) { const x = draw(); data[i] = inp.type === 'float16' ? toHalf(x) : x; }
    }
    feeds[inp.name] = new ort.Tensor(inp.type, data, inp.shape);
  }
  return feeds;
}

// a pipe on standard output may be non-blocking: retry on EAGAIN
function writeAll(fd, buf) {
  for (let at = 0; at < buf.length;) {
    try { at += fs.writeSync(fd, buf, at, buf.length - at); } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

// ---- run and write: header after the first sample, then each sample in place ----
const toStdout = opt.out === '-';
if (toStdout && process.stdout.isTTY) die('-o -: refusing to write binary data to a terminal');
const outTmp = toStdout ? null : path.join(path.dirname(path.resolve(opt.out)), `.${path.basename(opt.out)}.${process.pid}.tmp`);
let fd = null, layout = null, mem = null;
const done = (ok) => { if (fd !== null) { fs.closeSync(fd); fd = null; } if (!ok && outTmp) fs.rmSync(outTmp, { force: true }); };
try {
  for (let k = 0; k < nsamples; k++) {
    const feeds = feedsFor(k);
    let res;
    try { res = await sess.run(feeds); } catch (e) { throw new Error(`${opt.model}: sample ${k}: onnxruntime: ${e.message}`); }
    const caps = [];
    for (const inp of inputs) if (isFloat(inp.type)) caps.push([inp.name, feeds[inp.name]]);
    for (const name of sess.outputNames) if (res[name] && isFloat(res[name].type)) caps.push([name, res[name]]);
    if (k === 0) {
      const hdr = { __metadata__: { format: 'captures', model: path.basename(opt.model), samples: String(nsamples) } };
      let off = 0;
      layout = caps.map(([name, t]) => {
        const bytes = 4 * t.data.length, l = { name, dims: [...t.dims], bytes, off };
        hdr[name] = { dtype: 'F32', shape: [nsamples, ...t.dims], data_offsets: [off, off + bytes * nsamples] };
        off += bytes * nsamples;
        return l;
      });
      let json = JSON.stringify(hdr);
      json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
      const hb = Buffer.alloc(8 + Buffer.byteLength(json));
      hb.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
      hb.write(json, 8);
      if (toStdout) { mem = Buffer.alloc(hb.length + off); hb.copy(mem, 0); } else {
        fd = fs.openSync(outTmp, 'w');
        fs.writeSync(fd, hb);
        if (off) fs.ftruncateSync(fd, hb.length + off);
      }
      layout.base = hb.length;
    }
    if (caps.length !== layout.length) throw new Error(`${opt.model}: sample ${k}: the outputs changed`);
    caps.forEach(([name, t], i) => {
      const l = layout[i];
      if (name !== l.name || t.dims.length !== l.dims.length || t.dims.some((d, j) => d !== l.dims[j]))
        throw new Error(`${opt.model}: sample ${k}: ${name}: shape [${t.dims}], sample 0 had [${l.dims}]`);
      const f = toF32(t), b = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      const at = layout.base + l.off + k * l.bytes;
      if (toStdout) b.copy(mem, at); else fs.writeSync(fd, b, 0, b.length, at);
    });
  }
  if (toStdout) writeAll(1, mem);
  else { fs.fsyncSync(fd); done(true); fs.renameSync(outTmp, opt.out); }
} catch (e) {
  done(false);
  die(e.message.startsWith(opt.model) ? e.message : `${opt.out}: ${e.message}`);
}
