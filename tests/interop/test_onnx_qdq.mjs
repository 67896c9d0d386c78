#!/usr/bin/env node
// qdq-insert judged by onnxruntime-node 1.30 (graph optimizations disabled,
// so ORT computes exactly what the graph says): every output loads and runs;
// on real models the outputs stay close to the float model (SQNR, cosine
// printed per model and format); MatMulNBits gives the same numbers as the
// equivalent DequantizeLinear(int4, block) + MatMul graph; external data
// round-trips; static int8 uses ranges calibrated by ORT itself.  Each
// output's dequantized weights are also checked bit for bit against numpy
// (onnx_dq_check.py), which also runs onnx 1.12's checker where it applies.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  PY, OWW, ortOpts as opts, pass, fail, skip, relay, loadOrt, havePython, scratch, finish, rng, compare, qdq,
} from './lib/harness.mjs';

const ort = loadOrt('onnx-interop');
const havePy = havePython();
const tmp = scratch('qdq-interop-');

const TD = '/usr/share/libonnx-testdata/data/pytorch-converted';
const f32 = (g, shape, scale = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = g() * scale;
  return new ort.Tensor('float32', d, shape);
};
// model, inputs, and the formats that apply (nbits: has MatMul/Gemm)
const MODELS = [
  { name: 'alexa-gemm', file: `${OWW}/alexa_v0.1.onnx`, nbits: true,
    feeds: (g) => ({ 'onnx::Flatten_0': f32(g, [1, 16, 96]) }) },
  { name: 'embedding-20conv', file: `${OWW}/embedding_model.onnx`,
    feeds: (g) => ({ input_1: f32(g, [1, 76, 32, 1]) }) },
  { name: 'melspectrogram', file: `${OWW}/melspectrogram.onnx`, nbits: true,
    feeds: (g) => ({ input: f32(g, [1, 1280], 1000) }) },
  { name: 'silero-vad-if', file: `${OWW}/silero_vad.onnx`, nbits: false, noStatic: true,
    // opset 16 with ReduceMean(axes): formats needing opset >= 18 must be refused
    refuse: ['int4-b32', 'uint4-b32', 'fp8'],
    feeds: (g) => ({ input: f32(g, [1, 512], 0.1), sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      h: f32(g, [2, 1, 64], 0.1), c: f32(g, [2, 1, 64], 0.1) }) },
  { name: 'pt-convtranspose-ir3', file: `${TD}/test_ConvTranspose2d/model.onnx`,
    feeds: (g) => ({ 0: f32(g, [1, 3, 7, 6]) }) },
  { name: 'pt-conv2d-ir3', file: `${TD}/test_Conv2d/model.onnx`,
    feeds: (g) => ({ 0: f32(g, [2, 3, 7, 5]) }) },
];
// format -> qdq-insert arguments and the least SQNR (dB) accepted
const FORMATS = [
  { name: 'int8', args: ['-w', 'int8'], min: 30 },
  { name: 'uint8', args: ['-w', 'uint8'], min: 30 },
  { name: 'int4-b32', args: ['-w', 'int4', '-b', '32'], min: 12 },
  { name: 'uint4-b32', args: ['-w', 'uint4', '-b', '32'], min: 12 },
  { name: 'fp8', args: ['-w', 'fp8'], min: 20 },
  { name: 'fp16', args: ['-w', 'fp16'], min: 60 },
  { name: 'bf16', args: ['-w', 'bf16'], min: 35 },
  { name: 'matmulnbits-b32', args: ['--matmulnbits', '-b', '32'], min: 12, nbits: true },
  { name: 'matmulnbits-8bit', args: ['--matmulnbits', '-w', 'int8', '-b', '32'], min: 25, nbits: true },
  { name: 'mixed-int4-int8', args: ['-w', 'int8', '--node-format', 'Gemm_1=int4:32', '--node-format', 'MatMul=int4:32', '--node-format', '*conv2d_[1-5]*=uint4:32'], min: 12 },
];

async function run(file, feeds, outNames) {
  const s = await ort.InferenceSession.create(file, opts);
  const f = {};
  for (const k of Object.keys(feeds)) if (s.inputNames.includes(k)) f[k] = feeds[k];
  const r = await s.run(f);
  const names = outNames || s.outputNames;
  return names.map((n) => r[n]);
}

function flat(outs) {
  const parts = outs.filter((t) => t.type === 'float32').map((t) => Array.from(t.data));
  return Float64Array.from(parts.flat());
}

// numpy's checks run once at the end over every output (one python start)
const pyQueue = [];
function pyCheck(orig, q, label) {
  if (!havePy) { skip(`onnx-dq-exact ${label}`, 'python3 with onnx and numpy not found'); return; }
  const keep = path.join(tmp, `keep-${pyQueue.length}.onnx`);
  fs.copyFileSync(q, keep);
  pyQueue.push(orig, keep, label);
}
function pyRun() {
  if (!pyQueue.length) return;
  const r = spawnSync(PY, ['tests/interop/onnx_dq_check.py', ...pyQueue], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const label = 'batch';
  relay(r.stdout);
  if (r.status !== 0) fail(`onnx-dq-exact ${label}`, `python: ${r.stderr.trim().slice(-300)}`);
}

function writeRanges(file, ranges) {
  const names = Object.keys(ranges);
  const header = { __metadata__: { format: 'qparams', version: '1' } };
  names.forEach((n, i) => { header[`${n}.range`] = { dtype: 'F32', shape: [2], data_offsets: [8 * i, 8 * i + 8] }; });
  let h = Buffer.from(JSON.stringify(header));
  const padded = Buffer.alloc(Math.ceil(h.length / 8) * 8, 0x20);
  h.copy(padded);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded.length));
  const data = Buffer.from(Float32Array.from(names.flatMap((n) => ranges[n])).buffer);
  fs.writeFileSync(file, Buffer.concat([len, padded, data]));
}

async function calibrate(m, label) {
  // ranges of every activation, measured by ORT on 4 random inputs
  const exposed = path.join(tmp, `${label}-exposed.onnx`);
  const r = spawnSync(PY, ['tests/interop/onnx_expose.py', m.file, exposed], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx_expose.py: ${r.stderr.trim().slice(-300)}`);
  const s = await ort.InferenceSession.create(exposed, opts);
  const ranges = {};
  for (let seed = 100; seed < 104; seed++) {
    const feeds = m.feeds(rng(seed));
    const f = {};
    for (const k of Object.keys(feeds)) if (s.inputNames.includes(k)) f[k] = feeds[k];
    const out = await s.run(f);
    for (const [n, t] of Object.entries(out)) {
      if (t.type !== 'float32') continue;
      let lo = Infinity, hi = -Infinity;
      for (const v of t.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
      const p = ranges[n] || [Infinity, -Infinity];
      ranges[n] = [Math.min(p[0], lo), Math.max(p[1], hi)];
    }
  }
  // graph inputs too (the first Conv/MatMul of a model reads one)
  const feeds = m.feeds(rng(100));
  for (const [n, t] of Object.entries(feeds)) {
    if (t.type !== 'float32') continue;
    let lo = Infinity, hi = -Infinity;
    for (const v of t.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    ranges[n] = [lo * 1.5, hi * 1.5];
  }
  const qp = path.join(tmp, `${label}.qp`);
  writeRanges(qp, ranges);
  return qp;
}

for (const m of MODELS) {
  if (!fs.existsSync(m.file)) { skip(`onnx-interop ${m.name}`, `${m.file} not installed`); continue; }
  const feeds = m.feeds(rng(7));
  let ref;
  try { ref = flat(await run(m.file, feeds)); } catch (e) { fail(`onnx-float ${m.name}`, e.message); continue; }
  const outs = {};
  for (const fm of FORMATS) {
    if (fm.nbits && !m.nbits) continue;
    const label = `${m.name}/${fm.name}`;
    const out = path.join(tmp, `${m.name}-${fm.name}.onnx`);
    if ((m.refuse || []).includes(fm.name)) {
      const r = spawnSync('qdq-insert', ['-q', ...fm.args, m.file, '-o', out], { encoding: 'utf8' });
      if (r.status === 1 && /cannot be raised; use --matmulnbits/.test(r.stderr) && !fs.existsSync(out))
        pass(`onnx-opset-refusal ${label}`, '(clear refusal, no output)');
      else fail(`onnx-opset-refusal ${label}`, `exit ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
      continue;
    }
    try {
      qdq([...fm.args, m.file], out);
      const got = flat(await run(out, feeds));
      outs[fm.name] = got;
      const { sqnr, cos } = compare(ref, got);
      const msg = `SQNR ${sqnr.toFixed(1)} dB, cosine ${cos.toFixed(6)}`;
      if (sqnr >= fm.min) pass(`onnx-ort ${label}`, `(${msg})`);
      else fail(`onnx-ort ${label}`, `${msg}, want SQNR >= ${fm.min}`);
    } catch (e) { fail(`onnx-ort ${label}`, e.message.slice(0, 400)); continue; }
    pyCheck(m.file, out, label);
  }
  // MatMulNBits and DQ(int4, block 32) + MatMul are the same arithmetic
  // (Conv weights left float in the DQ model: MatMulNBits only takes MatMul/Gemm)
  if (outs['matmulnbits-b32']) {
    try {
      const out = path.join(tmp, `${m.name}-int4-noconv.onnx`);
      qdq(['-w', 'int4', '-b', '32', '--node-format', 'Conv=float', m.file], out);
      const dq = flat(await run(out, feeds)), nb = outs['matmulnbits-b32'];
      let maxd = 0, maxv = 0;
      for (let i = 0; i < dq.length; i++) { maxd = Math.max(maxd, Math.abs(dq[i] - nb[i])); maxv = Math.max(maxv, Math.abs(dq[i])); }
      if (maxd <= 1e-5 * Math.max(maxv, 1)) pass(`onnx-matmulnbits-equals-dq ${m.name}`, `(max difference ${maxd.toExponential(2)})`);
      else fail(`onnx-matmulnbits-equals-dq ${m.name}`, `max difference ${maxd} (largest output ${maxv})`);
    } catch (e) { fail(`onnx-matmulnbits-equals-dq ${m.name}`, e.message.slice(0, 400)); }
  }
  // static int8: activation Q/DQ from ranges ORT measured on other inputs
  if (havePy && !m.noStatic) {
    const label = `${m.name}/static-u8`;
    try {
      const qp = await calibrate(m, m.name);
      const out = path.join(tmp, `${m.name}-static.onnx`);
      qdq(['--static', '-p', qp, m.file], out);
      const got = flat(await run(out, feeds));
      const { sqnr, cos } = compare(ref, got);
      const nq = (fs.readFileSync(out).toString('latin1').match(/QuantizeLinear/g) || []).length;
      const msg = `SQNR ${sqnr.toFixed(1)} dB, cosine ${cos.toFixed(6)}`;
      if (sqnr >= 10 && nq > 0) pass(`onnx-ort ${label}`, `(${msg})`);
      else fail(`onnx-ort ${label}`, `${msg}, ${nq} Q nodes; want SQNR >= 10`);
      pyCheck(m.file, out, label);
      // the same ranges as symmetric int8 activations (TensorRT's shape)
      const out8 = path.join(tmp, `${m.name}-static-i8.onnx`);
      qdq(['--static', '--act-type', 'int8', '-p', qp, m.file], out8);
      const r8 = compare(ref, flat(await run(out8, feeds)));
      const msg8 = `SQNR ${r8.sqnr.toFixed(1)} dB, cosine ${r8.cos.toFixed(6)}`;
      if (r8.sqnr >= 10) pass(`onnx-ort ${m.name}/static-i8`, `(${msg8})`);
      else fail(`onnx-ort ${m.name}/static-i8`, `${msg8}; want SQNR >= 10`);
    } catch (e) { fail(`onnx-ort ${label}`, e.message.slice(0, 400)); }
  }
}

// AWQ-style smoothing from a qparams file: W.smooth [K] scales W's input
// channels before quantizing and a Mul by 1/s goes before the node; in exact
// arithmetic a no-op, so int4 must stay as close to the float model as
// without it.  (alexa: three Gemm weights with transB, K = 1536, 128, 128.)
{
  const m = MODELS[0];
  if (fs.existsSync(m.file)) {
    try {
      const g = rng(11), names = { '1.weight': 1536, '3.weight': 128, '5.weight': 128 };
      const header = {}, parts = [];
      let off = 0;
      for (const [n, k] of Object.entries(names)) {
        const v = new Float32Array(k);
        for (let i = 0; i < k; i++) v[i] = Math.exp(0.5 * g());
        header[`${n}.smooth`] = { dtype: 'F32', shape: [k], data_offsets: [off, off + 4 * k] };
        off += 4 * k;
        parts.push(Buffer.from(v.buffer));
      }
      let h = Buffer.from(JSON.stringify(header));
      const padded = Buffer.alloc(Math.ceil(h.length / 8) * 8, 0x20);
      h.copy(padded);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(padded.length));
      const qp = path.join(tmp, 'smooth.qp'), out = path.join(tmp, 'smooth.onnx');
      fs.writeFileSync(qp, Buffer.concat([len, padded, ...parts]));
      qdq(['-w', 'int4', '-b', '32', '-p', qp, m.file], out);
      const feeds = m.feeds(rng(7));
      const ref = flat(await run(m.file, feeds)), got = flat(await run(out, feeds));
      const { sqnr, cos } = compare(ref, got);
      const muls = (fs.readFileSync(out).toString('latin1').match(/_PQS_Output/g) || []).length;
      if (sqnr >= 25 && muls >= 3) pass('onnx-awq-smooth alexa-gemm/int4-b32', `(SQNR ${sqnr.toFixed(1)} dB, cosine ${cos.toFixed(6)}, ${muls / 2} Mul nodes)`);
      else fail('onnx-awq-smooth alexa-gemm/int4-b32', `SQNR ${sqnr.toFixed(1)} dB, ${muls} Mul references`);
    } catch (e) { fail('onnx-awq-smooth', e.message.slice(0, 400)); }
  }
}

// external data: output written to OUT.data, loaded by ORT, same numbers;
// and an externalized model as input
{
  const m = MODELS[1];
  if (fs.existsSync(m.file)) {
    try {
      const feeds = m.feeds(rng(7));
      const inl = path.join(tmp, 'ext-inline.onnx'), ext = path.join(tmp, 'ext.onnx');
      qdq(['-w', 'int8', m.file], inl);
      qdq(['-w', 'int8', '--external-data', m.file], ext);
      const a = flat(await run(inl, feeds)), b = flat(await run(ext, feeds));
      const same = a.length === b.length && a.every((v, i) => v === b[i]);
      const sz = fs.statSync(ext).size, dsz = fs.statSync(ext + '.data').size;
      if (same && sz < 100000 && dsz > 200000) pass('onnx-external-data-out', `(${sz} + ${dsz} bytes, identical outputs)`);
      else fail('onnx-external-data-out', `identical=${same} model ${sz} data ${dsz}`);
      const fext = path.join(tmp, 'float-ext.onnx'), q2 = path.join(tmp, 'from-ext.onnx');
      qdq(['-w', 'float', '--external-data', m.file], fext);
      qdq(['-w', 'int8', fext], q2);
      const c = flat(await run(q2, feeds));
      const same2 = c.every((v, i) => v === a[i]) && fs.existsSync(q2 + '.data');
      if (same2) pass('onnx-external-data-in', '(external float input -> same int8 outputs)');
      else fail('onnx-external-data-in', 'outputs differ from the inline path');
    } catch (e) { fail('onnx-external-data', e.message.slice(0, 400)); }
  }
}

pyRun();
finish(tmp);
