// What the onnxruntime tests (tests/interop/test_onnx_*.mjs) share:
// onnxruntime-node from tests/oracles, python3 with onnx and numpy, a
// scratch folder, the PASS/FAIL/SKIP lines tests/run.sh counts, and the
// measures outputs are judged by.  Run from the project root.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const root = process.cwd();
// resolves the packages scripts/deps.sh installs under tests/oracles
export const oracleRequire = createRequire(path.join(root, 'tests/oracles/package.json'));
export const PY = '/usr/bin/python3';
export const OWW = 'tests/oracles/openwakeword/package/models';
// graph optimizations off: onnxruntime computes exactly what the graph says
export const ortOpts = { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1 };

let failed = 0;
export const pass = (n, why = '') => console.log(`PASS ${n}${why ? ' ' + why : ''}`);
export const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };
export const skip = (n, why) => console.log(`SKIP ${n}: ${why}`);
export const check = (ok, n, why, good = '') => (ok ? pass(n, good) : fail(n, why));
// Echoes the PASS/FAIL/SKIP lines of a checker written in python, counting its failures.
export function relay(stdout) {
  for (const l of stdout.trim().split('\n').filter(Boolean)) { console.log(l); if (l.startsWith('FAIL')) failed++; }
}

// onnxruntime-node, or one SKIP line for the whole test and exit 0.
export function loadOrt(test) {
  try {
    return oracleRequire('onnxruntime-node');
  } catch (e) {
    console.log(`SKIP ${test}: onnxruntime-node not installed (scripts/deps.sh)`);
    process.exit(0);
  }
}
export const havePython = () => spawnSync(PY, ['-c', 'import onnx, numpy']).status === 0;
// For the tests that check nothing without python: one SKIP line and exit 0.
export function needPython(test) {
  if (havePython()) return;
  console.log(`SKIP ${test}: /usr/bin/python3 with onnx and numpy not found`);
  process.exit(0);
}

export const scratch = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
// Removes the scratch folder (kept with keep) and exits 1 if any test failed.
export function finish(tmp, { keep = false } = {}) {
  if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

// deterministic normal deviates: mulberry32, then Box-Muller
export function rng(seed) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

// SQNR (dB) and cosine of got against the reference
export function compare(ref, got) {
  let s = 0, e = 0, dot = 0, b = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i]; e += (ref[i] - got[i]) ** 2; dot += ref[i] * got[i]; b += got[i] * got[i];
  }
  return { sqnr: e === 0 ? Infinity : 10 * Math.log10(s / e), cos: s && b ? dot / Math.sqrt(s * b) : 1 };
}

// qdq-insert -q ARGS -o OUT, throwing its message when it fails
export function qdq(args, out) {
  const r = spawnSync('qdq-insert', ['-q', ...args, '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qdq-insert ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
}

// Every output of one session over a list of feeds (the classifiers have
// one output value: a test judges them over several inputs).
export async function runEach(ort, file, feedsList) {
  const s = await ort.InferenceSession.create(file, ortOpts);
  const outs = [];
  for (const feeds of feedsList) {
    const r = await s.run(feeds);
    outs.push(...s.outputNames.map((n) => r[n]));
  }
  return outs;
}
