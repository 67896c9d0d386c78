#!/usr/bin/env node
// qdq-insert --static judged by onnxruntime-node 1.30 (optimizations off).
// The real pipeline: onnxruntime runs the float model on a few random
// inputs with every float tensor exposed as an output (onnx_expose.py), the
// values go to a safetensors captures file, `qcalib --captures` turns them
// into ranges, `qdq-insert --static -p` inserts the pairs.  Then, on another
// input: onnxruntime runs every output, SQNR/cosine against the float model;
// onnx_qdq_rules.py recomputes from the float graph and the ranges which
// tensors must get pairs (per op type, shared scales, folded Relu/Clip,
// int32 biases) and compares with the output; onnx_dq_check.py checks the
// weights and biases against numpy.  Models: openWakeWord's, a generated
// model with one node of every rule, and ONNX's own PyTorch test models.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  PY, OWW, ortOpts as opts, pass, fail, skip, relay, loadOrt, needPython, scratch, finish, rng, compare, runEach,
} from './lib/harness.mjs';

const ort = loadOrt('onnx-static');
needPython('onnx-static');
const tmp = scratch('qdq-static-');
const py = (args) => {
  const r = spawnSync(PY, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args[0]}: ${r.stderr.trim().slice(-300)}`);
  return r.stdout;
};

const TD = '/usr/share/libonnx-testdata/data';
const rules = path.join(tmp, 'rules.onnx');
py(['tests/interop/onnx_rules_model.py', rules]);
// model, input scale, least SQNR (dB) for uint8 / int8 activations
// shape: input shape where the model's is symbolic; nopairs: nothing to
// quantize by the rules (a direct op on a graph input); noweights: no weight
const MODELS = [
  // fused: kernels onnxruntime's optimizer must make of our QDQ groups
  { name: 'rule-table', file: rules, min: 20, fused: { QLinearConv: 3, QLinearConcat: 1, QLinearAdd: 1,
    QLinearAveragePool: 1, QLinearGlobalAveragePool: 1, QLinearSigmoid: 1, QLinearMatMul: 1,
    QLinearLeakyRelu: 1, QLinearSoftmax: 1 } },
  { name: 'alexa-gemm', file: `${OWW}/alexa_v0.1.onnx`, min: 25 },
  { name: 'timer-softmax', file: `${OWW}/timer_v0.1.onnx`, min: 20 },
  { name: 'hey-mycroft', file: `${OWW}/hey_mycroft_v0.1.onnx`, min: 15, scale: 0.02 },
  { name: 'embedding-20conv', file: `${OWW}/embedding_model.onnx`, min: 20,
    fused: { QLinearConv: 20, QLinearLeakyRelu: 19 } },
  { name: 'melspectrogram', file: `${OWW}/melspectrogram.onnx`, min: 25, scale: 1000, shape: [1, 1280] },
  { name: 'pt-conv2d', file: `${TD}/pytorch-converted/test_Conv2d/model.onnx`, min: 25 },
  { name: 'pt-convtranspose', file: `${TD}/pytorch-operator/test_operator_convtranspose/model.onnx`, min: 25 },
  { name: 'pt-maxpool', file: `${TD}/pytorch-operator/test_operator_maxpool/model.onnx`, nopairs: true },
  { name: 'pt-pixelshuffle', file: `${TD}/pytorch-converted/test_PixelShuffle/model.onnx`, nopairs: true },
  // 6 to 30 elements a tensor: a held-out input often leaves the range
  // calibrated on 12 inputs and saturates, hence the low bar
  { name: 'pt-concat2', file: `${TD}/pytorch-operator/test_operator_concat2/model.onnx`, min: 10, noweights: true },
  { name: 'pt-sigmoid', file: `${TD}/pytorch-converted/test_Sigmoid/model.onnx`, min: 25, noweights: true },
  { name: 'pt-leakyrelu', file: `${TD}/pytorch-converted/test_LeakyReLU/model.onnx`, min: 15, noweights: true },
];

// one python start for all models: each model's inputs (name, dims, type),
// and the model with every float tensor exposed (by onnx_expose.py)
function prepare(models) {
  return JSON.parse(py(['-c', `
import json, sys, onnx
sys.argv = sys.argv[1:]
sys.path.insert(0, 'tests/interop')
from onnx_expose import expose
out = []
for src, dst in zip(sys.argv[0::2], sys.argv[1::2]):
    m = onnx.load(src); inits = {t.name for t in m.graph.initializer}
    out.append([[i.name, [d.dim_value or 1 for d in i.type.tensor_type.shape.dim], i.type.tensor_type.elem_type]
                for i in m.graph.input if i.name not in inits])
    expose(m)
    onnx.save(m, dst)
print(json.dumps(out))`, ...models.flatMap((m) => [m.file, path.join(tmp, `${m.name}-exposed.onnx`)])]));
}
function feedsFor(ins, g, scale, fixed) {
  const f = {};
  for (const [name, dims, dt] of ins) {
    if (dt !== 1) throw new Error(`input ${name} of type ${dt}`);
    const shape = fixed || dims;
    const n = shape.reduce((a, b) => a * b, 1), d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = g() * scale;
    f[name] = new ort.Tensor('float32', d, shape);
  }
  return f;
}
// the classifiers have one output value: judge on several inputs
const run = (file, feedsList) => runEach(ort, file, feedsList);
function flat(outs) {
  return Float64Array.from(outs.filter((t) => t.type === 'float32').flatMap((t) => Array.from(t.data)));
}
// a safetensors file: one F32 tensor per captured activation, all values
function writeCaptures(file, caps) {
  const header = {}, parts = [];
  let off = 0;
  for (const [name, vals] of Object.entries(caps)) {
    const b = Buffer.from(Float32Array.from(vals).buffer);
    header[name] = { dtype: 'F32', shape: [vals.length], data_offsets: [off, off + b.length] };
    off += b.length;
    parts.push(b);
  }
  const h = Buffer.from(JSON.stringify(header));
  const padded = Buffer.alloc(Math.ceil(h.length / 8) * 8, 0x20);
  h.copy(padded);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded.length));
  fs.writeFileSync(file, Buffer.concat([len, padded, ...parts]));
}
function tool(prog, args) {
  const r = spawnSync(prog, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${prog} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim().slice(0, 400)}`);
  return r.stderr;
}

const dqQueue = [], rulesQueue = [], fusedQueue = [];
const present = MODELS.filter((m) => fs.existsSync(m.file) || skip(`onnx-static ${m.name}`, `${m.file} not installed`));
const inputs = prepare(present);
for (const [mi, m] of present.entries()) {
  try {
    const ins = inputs[mi], scale = m.scale || 1;
    // calibration: 12 inputs, every float tensor captured
    const exposed = path.join(tmp, `${m.name}-exposed.onnx`);
    const s = await ort.InferenceSession.create(exposed, opts);
    const caps = {};
    for (let seed = 100; seed < 112; seed++) {
      const feeds = feedsFor(ins, rng(seed), scale, m.shape);
      const out = await s.run(feeds);
      for (const [n, t] of [...Object.entries(feeds), ...Object.entries(out)]) {
        if (t.type !== 'float32') continue;
        (caps[n] = caps[n] || []).push(...t.data);
      }
    }
    const capFile = path.join(tmp, `${m.name}-captures.safetensors`), qp = path.join(tmp, `${m.name}.qp`);
    writeCaptures(capFile, caps);
    tool('qcalib', ['-q', '--captures', capFile, '-o', qp]);
    // judged on 4 inputs calibration did not see
    const g = rng(7), feeds = Array.from({ length: 4 }, () => feedsFor(ins, g, scale, m.shape));
    const ref = flat(await run(m.file, feeds));
    for (const [act, asym] of [['uint8', 1], ['int8', 0]]) {
      const label = `${m.name}/static-${act}`, out = path.join(tmp, `${m.name}-${act}.onnx`);
      const msg0 = tool('qdq-insert', ['--static', '--act-type', act, '-p', qp, m.file, '-o', out]).trim();
      const { sqnr, cos } = compare(ref, flat(await run(out, feeds)));
      const pairs = (/(\d+) activation pairs/.exec(msg0) || [])[1];
      const msg = `SQNR ${sqnr.toFixed(1)} dB, cosine ${cos.toFixed(6)}, ${pairs} activation pairs`;
      if (m.nopairs ? +pairs === 0 && sqnr === Infinity : sqnr >= m.min && +pairs > 0)
        pass(`onnx-static-ort ${label}`, `(${msg})`);
      else fail(`onnx-static-ort ${label}`, `${msg}; want ${m.nopairs ? 'no pairs' : `SQNR >= ${m.min} and pairs`}`);
      rulesQueue.push(m.file, qp, out, label, String(asym));
      // onnxruntime's own optimizer must recognize the QDQ groups: with
      // graph optimizations on, it fuses them into QLinear* / QDQ kernels
      if (asym && !m.nopairs) {
        const optimized = path.join(tmp, `${m.name}-${act}-ort-optimized.onnx`);
        const so = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, optimizedModelFilePath: optimized };
        const s2 = await ort.InferenceSession.create(out, so);
        const outs = [];
        for (const f of feeds) { const r = await s2.run(f); outs.push(...s2.outputNames.map((n) => r[n])); }
        const c2 = compare(ref, flat(outs));
        fusedQueue.push([label, optimized, c2, m.min, m.fused || {}]);
      }
      if (!m.nopairs && !m.noweights) dqQueue.push(m.file, out, label);
    }
  } catch (e) { fail(`onnx-static ${m.name}`, e.message.slice(0, 500)); }
}
// A range for every tensor of silero VAD, integer ones (shape arithmetic)
// and those inside its If branches included: the output must still load and
// run (no QuantizeLinear on an integer tensor, pairs only inside the graph
// that defines a tensor).
{
  const file = `${OWW}/silero_vad.onnx`;
  if (!fs.existsSync(file)) skip('onnx-static-all-ranges silero-vad', `${file} not installed`);
  else {
    try {
      const qp = path.join(tmp, 'silero-all.qp'), out = path.join(tmp, 'silero-static.onnx');
      py(['-c', `
import json, struct, sys, onnx
m = onnx.load(sys.argv[1]); names = set()
def walk(g):
    names.update(i.name for i in g.input)
    for n in g.node:
        names.update(n.output)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH: walk(a.g)
walk(m.graph)
names = sorted(x for x in names if x)
hdr = {n + ".range": {"dtype": "F32", "shape": [2], "data_offsets": [8 * i, 8 * i + 8]} for i, n in enumerate(names)}
h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + struct.pack("<2f", -4, 4) * len(names))`, file, qp]);
      const msg0 = tool('qdq-insert', ['--static', '-p', qp, file, '-o', out]).trim();
      const f = (n, shape, sc) => new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * sc), shape);
      const feeds = { input: f(512, [1, 512], 0.3), sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
        h: f(128, [2, 1, 64], 0.1), c: f(128, [2, 1, 64], 0.1) };
      const ref = flat(await run(file, [feeds])), got = flat(await run(out, [feeds]));
      const { sqnr } = compare(ref, got);
      const pairs = (/(\d+) activation pairs/.exec(msg0) || [])[1];
      // the ranges are made up, so only loading, running and finite outputs count
      if (+pairs > 0 && got.length === ref.length && got.every(Number.isFinite))
        pass('onnx-static-all-ranges silero-vad', `(${pairs} pairs; runs, finite outputs; SQNR ${sqnr.toFixed(1)} dB with made-up ranges)`);
      else fail('onnx-static-all-ranges silero-vad', `${pairs} pairs, SQNR ${sqnr}`);
    } catch (e) { fail('onnx-static-all-ranges silero-vad', e.message.slice(0, 400)); }
  }
}
try {
  const ops = JSON.parse(py(['-c', `
import collections, json, sys, onnx
print(json.dumps([dict(collections.Counter(n.op_type for n in onnx.load(f).graph.node)) for f in sys.argv[1:]]))`,
  ...fusedQueue.map((q) => q[1])]));
  fusedQueue.forEach(([label, , c, min, want], i) => {
    const fused = Object.entries(ops[i]).filter(([op]) => /^QLinear|^QGemm|^MatMulInteger|^ConvInteger/.test(op));
    const msg = `SQNR ${c.sqnr.toFixed(1)} dB with optimizations on; fused: ${fused.map(([o, n]) => `${o} ${n}`).join(', ') || 'none'}`;
    const missing = Object.entries(want).filter(([op, n]) => (ops[i][op] || 0) < n).map(([op, n]) => `${op} ${ops[i][op] || 0} < ${n}`);
    if (c.sqnr >= min - 3 && !missing.length) pass(`onnx-static-ort-fused ${label}`, `(${msg})`);
    else fail(`onnx-static-ort-fused ${label}`, `${msg}${missing.length ? '; missing ' + missing.join(', ') : ''}`);
  });
} catch (e) { fail('onnx-static-ort-fused', e.message); }
try {
  const r = py(['tests/interop/onnx_qdq_rules.py', ...rulesQueue]);
  relay(r);
} catch (e) { fail('onnx-static-rules', e.message); }
try {
  const r = py(['tests/interop/onnx_dq_check.py', ...dqQueue]);
  relay(r);
} catch (e) { fail('onnx-static-dq-exact', e.message); }
finish(tmp, { keep: !!process.env.KEEP });
