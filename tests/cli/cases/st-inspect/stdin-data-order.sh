# header order b, a; data order a, b: a stream is listed and read in data order
. "$CASES/st-inspect/mkst.inc"
python3 - <<'PY'
import struct
h = b'{"b":{"dtype":"I8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}'
open("o.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes([1, 2, 0xfd, 4]))
PY
st-inspect - <o.safetensors | grep '^  [ab] '
st-inspect --dump b - <o.safetensors
st-inspect --diff o.safetensors - <o.safetensors | tail -1
