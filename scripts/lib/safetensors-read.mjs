// safetensors-read.mjs: a hostile-input reader of safetensors files, for
// scripts/onnx-capture.mjs (its --inputs file).  parseSafetensors(buf, name)
// returns { tensor name: { type (onnxruntime's name), size (bytes per
// element), shape, bytes (a view into buf) } } and throws an Error
// "name: where: what" on anything malformed: a header length beyond the
// file or over 100 MB, JSON that is not an object, an unknown dtype, a shape
// that is not a list of integers, offsets outside the data or not matching
// the shape.  Nothing is allocated beyond what buf holds.
export const ST_TYPES = {
  F32: ['float32', 4], F16: ['float16', 2], F64: ['float64', 8], I64: ['int64', 8], I32: ['int32', 4],
  I16: ['int16', 2], I8: ['int8', 1], U8: ['uint8', 1], U16: ['uint16', 2], BOOL: ['bool', 1],
};

export function parseSafetensors(buf, file) {
  const bad = (what) => { throw new Error(`${file}: ${what}`); };
  if (buf.length < 8) bad('not a safetensors file (shorter than its 8-byte header length)');
  const hlen = buf.readBigUInt64LE(0);
  if (hlen > 100000000n || hlen > BigInt(buf.length - 8)) bad(`header length ${hlen} beyond the file`);
  let hdr;
  try { hdr = JSON.parse(buf.toString('utf8', 8, 8 + Number(hlen))); } catch (e) { bad(`header: ${e.message}`); }
  if (hdr === null || typeof hdr !== 'object' || Array.isArray(hdr)) bad('header: not a JSON object');
  const base = 8 + Number(hlen), out = Object.create(null);	// "__proto__" is just a name
  for (const [name, t] of Object.entries(hdr)) {
    if (name === '__metadata__') continue;
    const where = (w) => bad(`${name}: ${w}`);
    if (t === null || typeof t !== 'object') where('not a tensor entry');
    const ty = Object.hasOwn(ST_TYPES, t.dtype) ? ST_TYPES[t.dtype] : null;
    if (!ty) where(`dtype ${JSON.stringify(t.dtype)} not supported (${Object.keys(ST_TYPES).join(', ')})`);
    if (!Array.isArray(t.shape) || t.shape.length < 1 || t.shape.length > 9 ||
        !t.shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 40))
      where('shape must be [samples, ...] of non-negative integers');
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (!Array.isArray(t.data_offsets) || t.data_offsets.length !== 2 ||
        !t.data_offsets.every((d) => Number.isInteger(d) && d >= 0))
      where('data_offsets must be two non-negative integers');
    const [b, e] = t.data_offsets;
    if (b > e || e > buf.length - base) where(`data_offsets [${b}, ${e}] beyond the file's ${buf.length - base} data bytes`);
    if (e - b !== n * ty[1]) where(`${e - b} bytes for shape [${t.shape}] of ${t.dtype} (want ${n * ty[1]})`);
    out[name] = { type: ty[0], size: ty[1], shape: t.shape, bytes: buf.subarray(base + b, base + e) };
  }
  return out;
}
