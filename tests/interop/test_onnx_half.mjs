#!/usr/bin/env node
// qdq-insert on float16 and bfloat16 models (the way exported LLMs come),
// judged by onnxruntime-node 1.30 with graph optimizations disabled.
// The test models are openWakeWord's, converted by onnx_to_half.py.
//  - float16: every quantized model loads and runs, its outputs stay float16
//    and close to the float16 model's (SQNR, cosine printed);
//  - bfloat16: onnxruntime's CPU has no bfloat16 Conv/Gemm/MatMul, so the
//    models cannot run whole; --matmulnbits is refused clearly;
//  - both: every dequantized weight equals numpy's recomputation from the
//    half weights (onnx_dq_check.py), and onnxruntime computing the
//    DequantizeLinear (+ Cast) nodes alone gives those same bits.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  PY, OWW, ortOpts as opts, pass, fail, skip, relay, loadOrt, needPython, scratch, finish, rng, compare, qdq, runEach,
} from './lib/harness.mjs';

const ort = loadOrt('onnx-half');
needPython('onnx-half');
const tmp = scratch('qdq-half-');

// binary16 <-> number (round to nearest even), for feeding and reading float16
const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
function toHalf(v) {
  f32buf[0] = v;
  const x = u32buf[0], sign = (x >>> 16) & 0x8000, ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00;
  if (ax >= 0x477ff000) return sign | 0x7c00;
  const exp = ax >>> 23;
  let man = ax & 0x7fffff;
  if (exp < 113) {
    if (exp < 102) return sign;
    man |= 0x800000;
    const shift = 126 - exp, rest = man & ((1 << shift) - 1), half = 1 << (shift - 1);
    let r = man >>> shift;
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = ((exp - 112) << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++;
  return sign | r;
}
function fromHalf(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
const f16 = (g, shape, scale = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Uint16Array(n);
  for (let i = 0; i < n; i++) d[i] = toHalf(g() * scale);
  return new ort.Tensor('float16', d, shape);
};

const MODELS = [
  { name: 'alexa-gemm', file: `${OWW}/alexa_v0.1.onnx`, nbits: true,
    feeds: (g) => ({ 'onnx::Flatten_0': f16(g, [1, 16, 96]) }) },
  { name: 'embedding-20conv', file: `${OWW}/embedding_model.onnx`,
    feeds: (g) => ({ input_1: f16(g, [1, 76, 32, 1]) }) },
  // opset 13 with ReduceMean(axes): the opset stays, float scales + Cast.
  // Its sigmoid output sits near 0 or 1, where small errors weigh more: 8 dB slack
  { name: 'hey-mycroft-opset13', file: `${OWW}/hey_mycroft_v0.1.onnx`, nbits: true, opset13: true, slack: 8,
    feeds: (g) => ({ 'onnx::Flatten_0': f16(g, [1, 16, 96], 0.02) }) },
];
const FORMATS = [
  { name: 'int8', args: ['-w', 'int8'], min: 30 },
  { name: 'uint8', args: ['-w', 'uint8'], min: 30 },
  { name: 'int4-b32', args: ['-w', 'int4', '-b', '32'], min: 12, opset: 21 },
  { name: 'uint4-b32', args: ['-w', 'uint4', '-b', '32'], min: 12, opset: 21 },
  { name: 'fp8', args: ['-w', 'fp8'], min: 20, opset: 19 },
  { name: 'bf16-cast', args: ['-w', 'bf16'], min: 35 },
  { name: 'matmulnbits-b32', args: ['--matmulnbits', '-b', '32'], min: 12, nbits: true },
];

function half(src, type) {
  const out = path.join(tmp, `${path.basename(src, '.onnx')}-${type}.onnx`);
  const r = spawnSync(PY, ['tests/interop/onnx_to_half.py', src, out, type], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx_to_half.py: ${r.stderr.trim().slice(-300)}`);
  return out;
}
// the classifiers have one output: compare over several inputs
const NFEEDS = 6;
const run = (file, feedsList) => runEach(ort, file, feedsList);
function flat(outs) {
  const v = [];
  for (const t of outs) {
    if (t.type !== 'float16') throw new Error(`output of type ${t.type}, want float16`);
    for (const h of t.data) v.push(fromHalf(h));
  }
  return Float64Array.from(v);
}

const pyQueue = [];
const sub = path.join(tmp, 'sub');
fs.mkdirSync(sub);

for (const m of MODELS) {
  if (!fs.existsSync(m.file)) { skip(`onnx-half ${m.name}`, `${m.file} not installed`); continue; }
  let h16, hb16;
  try { h16 = half(m.file, 'float16'); hb16 = half(m.file, 'bfloat16'); } catch (e) { fail(`onnx-half ${m.name}`, e.message); continue; }
  const g = rng(7), feeds = Array.from({ length: NFEEDS }, () => m.feeds(g));
  let ref;
  try { ref = flat(await run(h16, feeds)); } catch (e) { fail(`onnx-half-float ${m.name}`, e.message); continue; }
  for (const fm of FORMATS) {
    if (fm.nbits && !m.nbits) continue;
    if (m.opset13 && fm.opset) continue;
    const label = `${m.name}-f16/${fm.name}`;
    const out = path.join(tmp, `${m.name}-f16-${fm.name}.onnx`);
    try {
      qdq([...fm.args, h16], out);
      const { sqnr, cos } = compare(ref, flat(await run(out, feeds)));
      const msg = `SQNR ${sqnr.toFixed(1)} dB, cosine ${cos.toFixed(6)} vs the float16 model`;
      const min = fm.min - (m.slack || 0);
      if (sqnr >= min) pass(`onnx-half-ort ${label}`, `(${msg})`);
      else fail(`onnx-half-ort ${label}`, `${msg}, want SQNR >= ${min}`);
      pyQueue.push(h16, out, label);
    } catch (e) { fail(`onnx-half-ort ${label}`, e.message.slice(0, 400)); }
  }
  // the opset-13 model keeps its opset: float scales, then a Cast to float16
  if (m.opset13) {
    const out = path.join(tmp, `${m.name}-f16-int8.onnx`);
    const txt = fs.existsSync(out) ? fs.readFileSync(out).toString('latin1') : '';
    const casts = (txt.match(/_Cast_Output/g) || []).length;
    if (casts >= 3) pass(`onnx-half-opset13-cast ${m.name}`, `(${casts / 2} Cast-back references, opset kept)`);
    else fail(`onnx-half-opset13-cast ${m.name}`, `${casts} Cast outputs`);
  }
  // bfloat16: weights only (no bfloat16 compute kernels on onnxruntime's CPU)
  for (const fm of FORMATS) {
    const label = `${m.name}-bf16/${fm.name}`;
    const out = path.join(tmp, `${m.name}-bf16-${fm.name}.onnx`);
    if (fm.name === 'bf16-cast' || (m.opset13 && fm.opset)) continue;
    if (fm.nbits) {
      if (!m.nbits) continue;
      const r = spawnSync('qdq-insert', ['-q', ...fm.args, hb16, '-o', out], { encoding: 'utf8' });
      if (r.status === 1 && /no MatMulNBits kernel for bfloat16/.test(r.stderr) && !fs.existsSync(out))
        pass(`onnx-half-bf16-nbits-refused ${m.name}`, '(clear refusal, no output)');
      else fail(`onnx-half-bf16-nbits-refused ${m.name}`, `exit ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
      continue;
    }
    try {
      qdq([...fm.args, hb16], out);
      pyQueue.push(hb16, out, label);
    } catch (e) { fail(`onnx-half-bf16 ${label}`, e.message.slice(0, 400)); }
  }
  // -w fp16 on a bfloat16 model: float16 storage, Cast back to bfloat16
  try {
    const out = path.join(tmp, `${m.name}-bf16-fp16.onnx`);
    qdq(['-w', 'fp16', hb16], out);
    pyQueue.push(hb16, out, `${m.name}-bf16/fp16-cast`);
  } catch (e) { fail(`onnx-half-bf16 ${m.name}/fp16-cast`, e.message.slice(0, 400)); }
}

// numpy's recomputation; then onnxruntime evaluates the weight nodes alone
const r = spawnSync(PY, ['tests/interop/onnx_dq_check.py', '--sub', sub, ...pyQueue], { encoding: 'utf8', maxBuffer: 1 << 24 });
relay(r.stdout);
if (r.status !== 0) fail('onnx-half-dq-exact', `python: ${r.stderr.trim().slice(-300)}`);
for (let i = 0; i < pyQueue.length; i += 3) {
  const label = pyQueue[i + 2], base = path.join(sub, label.replace(/\//g, '_'));
  if (!fs.existsSync(base + '.onnx')) continue;	// MatMulNBits: no separate weight tensor
  try {
    const names = fs.readFileSync(base + '.names', 'utf8').trim().split('\n').map((l) => l.split(' '));
    const want = new Float32Array(fs.readFileSync(base + '.bin').buffer.slice(0));
    const s = await ort.InferenceSession.create(base + '.onnx', opts);
    const res = await s.run({});
    let off = 0, bad = 0, n = 0;
    for (const [name, size] of names) {
      const got = res[name].data;
      for (let k = 0; k < +size; k++, off++)
        if (!(Object.is(got[k], want[off]) || got[k] === want[off])) bad++;
      n += +size;
    }
    if (bad === 0 && off === want.length) pass(`onnx-half-ort-weights ${label}`, `(${names.length} weights, ${n} values equal numpy's bit for bit)`);
    else fail(`onnx-half-ort-weights ${label}`, `${bad} of ${n} values differ`);
  } catch (e) { fail(`onnx-half-ort-weights ${label}`, e.message.slice(0, 300)); }
}
finish(tmp);
