#!/usr/bin/env node
// Activation captures (scripts/onnx-capture.mjs) and qdq-insert --random-calib,
// judged by onnxruntime-node 1.30 (graph optimizations off):
// - the captured activations are onnxruntime's own values: the original
//   model's outputs on the captured inputs, and (with python3-onnx) every
//   intermediate tensor exposed independently by onnx's shape inference;
//   on PyTorch-exported test models, the output PyTorch recorded;
// - the default capture holds every activation qdq-insert --static uses
//   (as many activation pairs as with ranges for all activations);
// - captures -> qcalib --captures -> qdq-insert --static -p runs and stays
//   close to float on held-out inputs (SQNR, cosine printed);
// - qdq-insert --random-calib N --seed S writes the very same bytes as the
//   script with --random N --seed S piped through qcalib (one calibration
//   path), and onnxruntime runs it;
// - malformed inputs files, shape mismatches and a missing library fail
//   with a clear message, exit 1, no output file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  root, oracleRequire, PY, OWW, ortOpts, pass, fail, skip, check, loadOrt, havePython, scratch, finish, compare,
} from './lib/harness.mjs';

const ort = loadOrt('onnx-capture');
const ORTLIB = path.join(path.dirname(oracleRequire.resolve('onnxruntime-node/package.json')),
  'bin/napi-v6/linux/x64/libonnxruntime.so.1');
const havePy = havePython();
const tmp = scratch('onnx-capture-test-');
const env = { ...process.env, QUTILS_ONNXRUNTIME: ORTLIB };

const TD = '/usr/share/libonnx-testdata/data/pytorch-converted';
const MODELS = [
  { name: 'oww-embedding', file: `${OWW}/embedding_model.onnx`, min: 20 },
  { name: 'oww-alexa', file: `${OWW}/alexa_v0.1.onnx`, min: 20 },
  { name: 'oww-melspectrogram', file: `${OWW}/melspectrogram.onnx`, shape: 'input=1,1280', min: null,
    why: 'uniform [0, 1) "audio" is near silence, whose log-mel magnifies the error of small STFT values (test_onnx_qdq.mjs, with speech-like amplitudes, measures static u8 at 59 dB)' },
  { name: 'pt-conv2d', file: `${TD}/test_Conv2d/model.onnx`, td: `${TD}/test_Conv2d`, min: 25 },
];
const N = 4;	// calibration samples

const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 26, ...opts });
const capture = (args) => sh('node', ['scripts/onnx-capture.mjs', ...args]);
const ortQuiet = { ...ortOpts, logSeverityLevel: 3 };

function readST(file) {
  const b = fs.readFileSync(file);
  const hl = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.toString('utf8', 8, 8 + hl));
  const out = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === '__metadata__') continue;
    const [s, e] = v.data_offsets;
    const raw = b.subarray(8 + hl + s, 8 + hl + e);
    out[k] = { dtype: v.dtype, shape: v.shape, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)) };
  }
  return { meta: h.__metadata__ || {}, t: out };
}
function writeST(file, tensors, { pad = true } = {}) {
  const hdr = {};
  let off = 0;
  const bufs = [];
  for (const [k, v] of Object.entries(tensors)) {
    const b = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    hdr[k] = { dtype: v.dtype || 'F32', shape: v.shape, data_offsets: [off, off + b.length] };
    off += b.length;
    bufs.push(b);
  }
  let j = JSON.stringify(hdr);
  if (pad) j += ' '.repeat((8 - (j.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(j.length));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(j), ...bufs]));
}
// sample k of a captured tensor as an ort.Tensor
function sample(c, k) {
  const dims = c.shape.slice(1), n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', c.data.slice(k * n, (k + 1) * n), dims);
}
const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
async function runAll(file, caps, nsamp, extraOut) {
  const s = await ort.InferenceSession.create(file, ortQuiet);
  const outs = [];
  for (let k = 0; k < nsamp; k++) {
    const feeds = {};
    for (const n of s.inputNames) feeds[n] = sample(caps.t[n], k);
    outs.push(await s.run(feeds));
  }
  return { s, outs, extraOut };
}
function pairs(stderr) {
  const m = /(\d+) activation pairs/.exec(stderr);
  return m ? Number(m[1]) : -1;
}

for (const m of MODELS) {
  const L = (t) => `onnx-capture ${m.name}/${t}`;
  if (!fs.existsSync(m.file)) { skip(L('all'), `${m.file} not installed (scripts/deps.sh)`); continue; }
  try {
    // calibration captures, the default set and every activation
    const cal = path.join(tmp, `${m.name}-cal.st`), all = path.join(tmp, `${m.name}-all.st`);
    const shp = m.shape ? ['--shape', m.shape] : [];
    let r = capture(['--random', String(N), '--seed', '11', ...shp, m.file, '-o', cal]);
    if (r.status !== 0) throw new Error(`onnx-capture: ${r.stderr.trim()}`);
    r = capture(['--all', '--random', String(N), '--seed', '11', ...shp, m.file, '-o', all]);
    if (r.status !== 0) throw new Error(`onnx-capture --all: ${r.stderr.trim()}`);
    const C = readST(cal), A = readST(all);
    const names = Object.keys(C.t);
    check(names.length > 0 && names.every((n) => C.t[n].dtype === 'F32' && C.t[n].shape[0] === N) &&
      C.meta.format === 'captures' && C.meta.samples === String(N), L('layout'),
    `tensors ${names.map((n) => `${n}:${C.t[n].dtype}[${C.t[n].shape}]`).join(' ')}`,
    `(${names.length} tensors, F32 [${N}, ...]; --all: ${Object.keys(A.t).length})`);
    check(names.every((n) => A.t[n] && same(A.t[n].data, C.t[n].data)), L('default-subset-of-all'),
      'a default capture differs from the same tensor in --all');

    // independent check 1: the original model's outputs on the captured inputs
    const orig = await runAll(m.file, C, N);
    let bad = [], nchk = 0;
    for (const o of orig.s.outputNames) {
      if (!C.t[o]) { bad.push(`${o} missing`); continue; }
      const got = orig.outs.flatMap((x) => Array.from(x[o].data));
      nchk++;
      if (!same(Float32Array.from(got), C.t[o].data)) bad.push(`${o} differs`);
    }
    check(bad.length === 0 && nchk > 0, L('outputs-equal-ort'), bad.join(', '), `(${nchk} outputs x ${N} samples bit-identical)`);

    // independent check 2: intermediates exposed by onnx's own tooling
    if (havePy) {
      const exp = path.join(tmp, `${m.name}-exposed.onnx`);
      r = sh(PY, ['tests/interop/onnx_expose.py', m.file, exp]);
      if (r.status !== 0) throw new Error(`onnx_expose.py: ${r.stderr.trim().slice(-300)}`);
      const ex = await runAll(exp, C, N);
      bad = []; nchk = 0;
      for (const o of ex.s.outputNames) {
        if (!A.t[o]) continue;
        nchk++;
        const got = Float32Array.from(ex.outs.flatMap((x) => Array.from(x[o].data)));
        if (!same(got, A.t[o].data)) bad.push(o);
      }
      check(bad.length === 0 && nchk >= names.length - 1, L('intermediates-equal-ort'), `differ: ${bad.join(', ')}; compared ${nchk}`,
        `(${nchk} tensors of onnx_expose.py's model equal the --all capture)`);
    } else skip(L('intermediates-equal-ort'), 'python3 with onnx not found');

    // the default set is enough: as many activation pairs as with every range
    const qpC = path.join(tmp, `${m.name}-cal.qp`), qpA = path.join(tmp, `${m.name}-all.qp`);
    for (const [st, qp] of [[cal, qpC], [all, qpA]]) {
      r = sh('qcalib', ['--captures', st, '-o', qp]);
      if (r.status !== 0) throw new Error(`qcalib --captures: ${r.stderr.trim()}`);
    }
    const stat = path.join(tmp, `${m.name}-static.onnx`), statA = path.join(tmp, `${m.name}-staticA.onnx`);
    const rs = sh('qdq-insert', ['--static', '-p', qpC, m.file, '-o', stat]);
    const ra = sh('qdq-insert', ['--static', '-p', qpA, m.file, '-o', statA]);
    if (rs.status !== 0 || ra.status !== 0) throw new Error(`qdq-insert --static: ${rs.stderr}${ra.stderr}`);
    check(pairs(rs.stderr) > 0 && pairs(rs.stderr) === pairs(ra.stderr) && same(fs.readFileSync(stat), fs.readFileSync(statA)),
      L('default-set-complete'), `${pairs(rs.stderr)} pairs from the default capture, ${pairs(ra.stderr)} from --all`,
      `(${pairs(rs.stderr)} activation pairs, same model as from --all)`);

    // held-out inputs (uniform [0, 1) like the calibration, another generator)
    let seed = 0x2545F491;
    const u = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return Math.fround((seed >>> 8) * 2 ** -24); };
    const H = { t: {} };
    for (const n of orig.s.inputNames) {
      const shape = [3, ...C.t[n].shape.slice(1)], len = shape.reduce((a, b) => a * b, 1);
      H.t[n] = { dtype: 'F32', shape, data: Float32Array.from({ length: len }, u) };
    }
    const ref = await runAll(m.file, H, 3), q = await runAll(stat, H, 3);
    const flatOut = (x) => Float64Array.from(x.outs.flatMap((o) => x.s.outputNames.flatMap((n) => Array.from(o[n].data))));
    const { sqnr, cos } = compare(flatOut(ref), flatOut(q));
    const msg = `SQNR ${sqnr.toFixed(1)} dB, cosine ${cos.toFixed(6)}`;
    if (m.min === null) skip(L('static-u8-vs-float'), `${msg}, not judged: ${m.why}`);
    else check(sqnr >= m.min, L('static-u8-vs-float'), `${msg}; want SQNR >= ${m.min}`, `(${msg})`);

    // --inputs: those inputs from a file give onnxruntime's outputs for them
    const inFile = path.join(tmp, `${m.name}-in.st`), again = path.join(tmp, `${m.name}-again.st`);
    writeST(inFile, H.t);
    r = capture(['--inputs', inFile, m.file, '-o', again]);
    if (r.status !== 0) throw new Error(`onnx-capture --inputs: ${r.stderr.trim()}`);
    const G = readST(again);
    check(orig.s.inputNames.every((n) => G.t[n] && same(G.t[n].data, H.t[n].data)) &&
      ref.s.outputNames.every((n) => G.t[n] && same(G.t[n].data, Float32Array.from(ref.outs.flatMap((o) => Array.from(o[n].data))))),
    L('inputs-file'), 'captures from --inputs differ from the inputs or from onnxruntime\'s outputs for them');

    // --random-calib: the same calibration, so the same bytes
    const rc = path.join(tmp, `${m.name}-rc.onnx`);
    r = sh('qdq-insert', ['--random-calib', String(N), '--seed', '11', ...(m.shape ? ['--input-shape', m.shape] : []), m.file, '-o', rc]);
    if (r.status !== 0) throw new Error(`qdq-insert --random-calib: ${r.stderr.trim()}`);
    check(/warning: --random-calib/.test(r.stderr), L('random-calib-warns'), `stderr: ${r.stderr.trim()}`);
    check(same(fs.readFileSync(rc), fs.readFileSync(stat)), L('random-calib-equals-capture-qcalib'),
      'differs from onnx-capture.mjs --random | qcalib --captures | qdq-insert --static -p', `(${fs.statSync(rc).size} bytes identical)`);
    const qr = await runAll(rc, H, 3);
    const c2 = compare(flatOut(ref), flatOut(qr));
    check(c2.sqnr === sqnr, L('random-calib-runs'), `SQNR ${c2.sqnr.toFixed(1)}, not ${sqnr.toFixed(1)}`,
      `(SQNR ${c2.sqnr.toFixed(1)} dB, cosine ${c2.cos.toFixed(6)})`);

    // normal inputs too: Box-Muller in C and in JavaScript give the same floats here
    if (m.name === 'oww-alexa') {
      const cn = path.join(tmp, 'normal.st'), qn = path.join(tmp, 'normal.qp'), sn = path.join(tmp, 'normal.onnx'), rn = path.join(tmp, 'normal-rc.onnx');
      const ok = capture(['--random', String(N), '--seed', '5', '--dist', 'normal', m.file, '-o', cn]).status === 0 &&
        sh('qcalib', ['--captures', cn, '-o', qn]).status === 0 &&
        sh('qdq-insert', ['-q', '--static', '-p', qn, m.file, '-o', sn]).status === 0 &&
        sh('qdq-insert', ['-q', '--random-calib', String(N), '--seed', '5', '--random-dist', 'normal', m.file, '-o', rn]).status === 0;
      check(ok && same(fs.readFileSync(sn), fs.readFileSync(rn)), L('random-calib-normal-equals-capture'),
        ok ? 'the models differ' : 'a step failed');
    }

    // the man page's pipeline: captures on a pipe, another range method
    if (m.name === 'oww-alexa') {
      const qp = path.join(tmp, 'pipe.qp'), out = path.join(tmp, 'pipe.onnx');
      r = sh('sh', ['-c', 'node scripts/onnx-capture.mjs --inputs "$1" "$2" -o - | qcalib --captures - --act-method percentile -o "$3" &&' +
        ' qdq-insert -q --static -p "$3" "$2" -o "$4"', 'sh', inFile, m.file, qp, out]);
      const pq = r.status === 0 ? await runAll(out, H, 3) : null;
      const c3 = pq ? compare(flatOut(ref), flatOut(pq)) : { sqnr: -Infinity, cos: 0 };
      check(r.status === 0 && c3.sqnr >= m.min, L('pipeline-percentile'), `exit ${r.status} ${r.stderr.trim()} SQNR ${c3.sqnr}`,
        `(onnx-capture.mjs -o - | qcalib --captures - --act-method percentile: SQNR ${c3.sqnr.toFixed(1)} dB, cosine ${c3.cos.toFixed(6)})`);
    }

    // external data: onnxruntime reads it from the model's folder
    if (m.name === 'oww-embedding') {
      const xd = fs.mkdtempSync(path.join(tmp, 'ext-'));
      r = sh('qdq-insert', ['-q', '-w', 'float', '--external-data', m.file, '-o', path.join(xd, 'm.onnx')]);
      if (r.status !== 0) throw new Error(`qdq-insert --external-data: ${r.stderr}`);
      r = sh('qdq-insert', ['-q', '--random-calib', String(N), '--seed', '11', path.join(xd, 'm.onnx'), '-o', path.join(xd, 'rc.onnx')]);
      const d = sh('st-inspect', ['--diff', rc, path.join(xd, 'rc.onnx')]);
      check(r.status === 0 && fs.existsSync(path.join(xd, 'rc.onnx.data')) && / 0 differ, 0 only in a, 0 only in b, 0 shape mismatches/.test(d.stdout),
        L('random-calib-external-data'), `exit ${r.status} ${r.stderr.trim()} ${d.stdout.trim().split('\n').pop()}`,
        `(${d.stdout.trim().split('\n').pop()})`);
    }

    // PyTorch's recorded output for its recorded input
    if (m.td && havePy) {
      const pt = path.join(tmp, `${m.name}-pt.st`), ptc = path.join(tmp, `${m.name}-ptc.st`);
      r = sh(PY, ['-c', `
import sys, json, struct, onnx
from onnx import numpy_helper
import numpy as np
d, out = sys.argv[1], sys.argv[2]
m = onnx.load(d + '/model.onnx')
inits = {i.name for i in m.graph.initializer}
name = [i.name for i in m.graph.input if i.name not in inits][0]
t = onnx.TensorProto(); t.ParseFromString(open(d + '/test_data_set_0/input_0.pb', 'rb').read())
x = numpy_helper.to_array(t).astype(np.float32)[None]
o = onnx.TensorProto(); o.ParseFromString(open(d + '/test_data_set_0/output_0.pb', 'rb').read())
y = numpy_helper.to_array(o).astype(np.float32)
h = json.dumps({name: {'dtype': 'F32', 'shape': list(x.shape), 'data_offsets': [0, x.nbytes]}}).encode()
open(out, 'wb').write(struct.pack('<Q', len(h)) + h + x.tobytes())
open(out + '.ref', 'wb').write(y.tobytes())
print(m.graph.output[0].name)
`, m.td, pt]);
      if (r.status !== 0) throw new Error(`python: ${r.stderr.trim().slice(-300)}`);
      const outName = r.stdout.trim();
      r = capture(['--inputs', pt, m.file, '-o', ptc]);
      if (r.status !== 0) throw new Error(`onnx-capture --inputs (PyTorch data): ${r.stderr.trim()}`);
      const P = readST(ptc).t[outName], b = fs.readFileSync(pt + '.ref');
      const want = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      let maxe = 0, maxr = 0;
      want.forEach((v, i) => { maxe = Math.max(maxe, Math.abs(v - P.data[i])); maxr = Math.max(maxr, Math.abs(v)); });
      check(P && P.data.length === want.length && maxe <= 1e-5 * Math.max(1, maxr), L('pytorch-reference'),
        `max error ${maxe} of ${maxr}`, `(max |error| ${maxe.toExponential(2)} vs PyTorch's output)`);
    }
  } catch (e) {
    fail(L('run'), e.message.slice(0, 600));
  }
}

// ---- malformed inputs ----
{
  const model = `${OWW}/alexa_v0.1.onnx`;
  if (!fs.existsSync(model)) skip('onnx-capture malformed', 'openwakeword models not installed');
  else {
    const good = { 'onnx::Flatten_0': { shape: [2, 1, 16, 96], data: new Float32Array(2 * 16 * 96) } };
    const cases = [
      ['truncated', (f) => fs.writeFileSync(f, Buffer.from([1, 2, 3])), /shorter than its 8-byte header/],
      ['header-beyond-file', (f) => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); fs.writeFileSync(f, b); }, /header length 1000 beyond the file/],
      ['bad-json', (f) => { const b = Buffer.alloc(12); b.writeBigUInt64LE(4n); b.write('{{{{', 8); fs.writeFileSync(f, b); }, /header: /],
      ['missing-input', (f) => writeST(f, { other: good['onnx::Flatten_0'] }), /no tensor for the model's input onnx::Flatten_0/],
      ['shape-mismatch', (f) => writeST(f, { 'onnx::Flatten_0': { shape: [2, 1, 16, 95], data: new Float32Array(2 * 16 * 95) } }), /shape \[2,1,16,95\] is not \[samples, 1,16,96\]/],
      ['wrong-dtype', (f) => writeST(f, { 'onnx::Flatten_0': { dtype: 'I32', shape: [1, 1, 16, 96], data: new Int32Array(16 * 96) } }), /int32 values for a float32 input/],
      ['short-data', (f) => { writeST(f, good); const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, b.length - 4)); }, /beyond the file/],
      ['extra-tensor', (f) => writeST(f, { ...good, junk: { shape: [2], data: new Float32Array(2) } }), /junk: not an input of the model/],
      ['no-file', () => {}, /no such file/i],
    ];
    for (const [name, make, re] of cases) {
      const f = path.join(tmp, `bad-${name}.st`), out = path.join(tmp, `bad-${name}-out.st`);
      make(f);
      const r = capture(['--inputs', f, model, '-o', out]);
      check(r.status === 1 && re.test(r.stderr) && /^onnx-capture: /.test(r.stderr) && !fs.existsSync(out),
        `onnx-capture malformed/${name}`, `exit ${r.status}, stderr ${r.stderr.trim().slice(0, 300)}`);
    }
    // usage errors exit 2
    const u = capture([model, '-o', path.join(tmp, 'x.st')]);
    check(u.status === 2 && /either --inputs FILE or --random N/.test(u.stderr), 'onnx-capture usage', `exit ${u.status}: ${u.stderr}`);
    // a model that is not one: qdq-insert's message comes through
    const junk = path.join(tmp, 'junk.onnx');
    fs.writeFileSync(junk, 'not a model');
    const j = capture(['--random', '1', junk, '-o', path.join(tmp, 'j.st')]);
    check(j.status === 1 && /junk\.onnx/.test(j.stderr) && !fs.existsSync(path.join(tmp, 'j.st')), 'onnx-capture malformed/model',
      `exit ${j.status}: ${j.stderr}`);
    // the library missing or not onnxruntime's
    for (const [name, lib, re] of [['missing', '/nonexistent/libonnxruntime.so.1', /cannot load \/nonexistent\/libonnxruntime\.so\.1/],
      ['not-ort', 'libz.so.1', /no OrtGetApiBase/]]) {
      const out = path.join(tmp, `nolib-${name}.onnx`);
      const r = sh('qdq-insert', ['--random-calib', '2', '--ort-lib', lib, model, '-o', out]);
      check(r.status === 1 && re.test(r.stderr) && !fs.existsSync(out), `qdq-insert random-calib/library-${name}`,
        `exit ${r.status}: ${r.stderr.trim()}`);
    }
  }
}

// ---- the inputs-file parser, fuzzed in process: mutations of valid and
// malformed files either parse (every view inside the buffer, sizes as the
// shapes say) or throw an Error naming the file; never another exception
{
  const { parseSafetensors } = await import(path.join(root, 'scripts/lib/safetensors-read.mjs'));
  const seeds = [];
  const mk = (t) => { const f = path.join(tmp, `seed-${seeds.length}.st`); writeST(f, t); seeds.push(fs.readFileSync(f)); };
  mk({ a: { shape: [2, 3], data: new Float32Array(6) }, b: { dtype: 'I64', shape: [1, 2], data: new BigInt64Array(2) } });
  mk({ x: { dtype: 'F16', shape: [1, 4], data: new Uint16Array(4) } });
  seeds.push(Buffer.concat([Buffer.from([20, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"__proto__":{"a":1}}')]));
  let s = 12345, bad = null, parsed = 0, thrown = 0;
  const rnd = (n) => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n; };
  for (let it = 0; it < 20000 && !bad; it++) {
    const b = Buffer.from(seeds[rnd(seeds.length)]);
    let m = b;
    for (let k = rnd(3); k > 0; k--) {	// 0 to 2 mutations: some stay valid
      const op = rnd(8), at = rnd(m.length + 1);
      if (op < 3 && m.length) m[at % m.length] = rnd(256);
      else if (op === 3) m = m.subarray(0, at);
      else if (op === 4) m = Buffer.concat([m.subarray(0, at), Buffer.from('0,]}":[{-e9'.charAt(rnd(11))), m.subarray(at)]);
      else if (op === 5 && m.length >= 8) m.writeUInt32LE(rnd(160), 0);
      else if (m.length > 8) {	// a digit of the header changed: shapes, offsets
        const j = 8 + rnd(Math.min(m.length - 8, Number(m.readUInt32LE(0)) || 1));
        if (m[j] >= 0x30 && m[j] <= 0x39) m[j] = 0x30 + rnd(10);
      }
    }
    try {
      const t = parseSafetensors(m, 'f');
      for (const v of Object.values(t)) {
        const n = v.shape.reduce((x, y) => x * y, 1);
        if (v.bytes.length !== n * v.size || v.bytes.byteOffset < m.byteOffset || v.bytes.byteOffset + v.bytes.length > m.byteOffset + m.length)
          bad = `accepted a tensor outside the buffer or of the wrong size (${m.toString('hex').slice(0, 120)})`;
      }
      if (Object.getPrototypeOf(t) !== null) bad = 'result has a prototype';
      parsed++;
    } catch (e) {
      if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('f: '))
        bad = `${e && e.constructor && e.constructor.name}: ${e && e.message} (${m.toString('hex').slice(0, 120)})`;
      thrown++;
    }
  }
  check(!bad, 'onnx-capture safetensors-read-fuzz', bad, `(20000 mutations: ${parsed} parsed, ${thrown} refused with a message)`);
}

finish(tmp);
