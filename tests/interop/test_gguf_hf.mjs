#!/usr/bin/env node
// GGUF files our writer makes, read by an independent parser, npm
// @huggingface/gguf: every KV (order, type, value), every tensor info (name,
// n_dims, shape, type, offset) and the data offset must be what our reader
// reports (qu-gguf-tool json) for alignments 32, 1, 64, 4096 and a file
// without tensors.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const lib = resolve('tests/oracles/node_modules/@huggingface/gguf/dist/index.mjs');
if (!existsSync(lib)) {
	console.log('SKIP gguf-hf: @huggingface/gguf not installed (run scripts/deps.sh)');
	process.exit(0);
}
const { gguf } = await import(lib);
const tool = join(process.env.QU_BIN ?? 'build', 'tests/interop/qu-gguf-tool');
const vtypes = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'str', 'arr', 'u64', 'i64', 'f64'];
const dir = mkdtempSync(join(tmpdir(), 'gguf-hf-'));
let failed = 0;

// One of our JSON values against theirs: 64-bit integers come as strings from
// us and as BigInt from them; non-finite floats as "NaN"/"Infinity".
function same(type, ours, theirs) {
	if (type === 'u64' || type === 'i64') return typeof theirs === 'bigint' && BigInt(ours) === theirs;
	if (type === 'f32' || type === 'f64') {
		const o = typeof ours === 'string' ? Number(ours) : ours;
		return Object.is(o, theirs) || (o === 0 && theirs === 0);
	}
	return ours === theirs;
}

function check(name, file) {
	const problems = [];
	return gguf(file, { allowLocalFile: true, typedMetadata: true }).then((r) => {
		const ours = JSON.parse(execFileSync(tool, ['json', file], { encoding: 'utf8' }));
		const md = r.typedMetadata;
		const keys = Object.keys(md).filter((k) => !['version', 'tensor_count', 'kv_count'].includes(k));
		if (md.version.value !== ours.version) problems.push(`version ${md.version.value}`);
		if (Number(md.kv_count.value) !== ours.kvs.length) problems.push(`kv_count ${md.kv_count.value}`);
		if (keys.join('\n') !== ours.kvs.map((k) => k.key).join('\n')) problems.push('KV order or keys differ');
		for (const kv of ours.kvs) {
			const t = md[kv.key];
			if (!t) continue;
			if (kv.array) {
				if (vtypes[t.type] !== 'arr' || vtypes[t.subType] !== kv.type) problems.push(`${kv.key}: type`);
				else if (t.value.length !== kv.value.length || kv.value.some((v, i) => !same(kv.type, v, t.value[i])))
					problems.push(`${kv.key}: values`);
			} else if (vtypes[t.type] !== kv.type || !same(kv.type, kv.value, t.value)) {
				problems.push(`${kv.key}: ${JSON.stringify(kv.value)} vs ${String(t.value)}`);
			}
		}
		if (r.tensorInfos.length !== ours.tensors.length) problems.push(`${r.tensorInfos.length} tensors`);
		ours.tensors.forEach((o, i) => {
			const t = r.tensorInfos[i];
			if (!t || t.name !== o.name || t.n_dims !== o.n_dims || t.dtype !== o.type ||
			    t.offset !== BigInt(o.offset) || t.shape.map(String).join(',') !== o.ne.join(','))
				problems.push(`tensor ${o.name}`);
		});
		if (ours.tensors.length && r.tensorDataOffset !== BigInt(ours.data_offset))
			problems.push(`data offset ${r.tensorDataOffset} vs ${ours.data_offset}`);
		if (problems.length) {
			failed = 1;
			console.log(`FAIL ${name}: ${problems.slice(0, 5).join('; ')}`);
		} else {
			console.log(`PASS ${name}`);
		}
	}).catch((e) => {
		failed = 1;
		console.log(`FAIL ${name}: ${String(e).slice(0, 300)}`);
	});
}

try {
	for (const a of [0, 1, 64, 4096]) {
		const f = join(dir, `s${a}.gguf`);
		execFileSync(tool, ['sample', f, String(a)]);
		await check(`gguf-hf-reads-our-writer-align${a || 32}`, f);
	}
	const e = join(dir, 'empty.gguf');
	execFileSync(tool, ['empty', e]);
	await check('gguf-hf-reads-our-writer-no-tensors', e);
} finally {
	rmSync(dir, { recursive: true, force: true });
}
process.exit(failed);
