# --dump prints values; --raw the stored bytes, which equal the file's slice
mkmodel --dtype bf16 -o m
st-inspect --dump model.norm.weight m | head -3 | grep -c '^[0-9]'
st-inspect --dump model.norm.weight --raw m >raw.bin
off=$(st-inspect --json -n model.norm.weight m | python3 -c 'import json,sys; print(json.load(sys.stdin)["tensors"][0]["data_offset"])')
python3 - "$off" <<'PY'
import struct, sys
b = open("m/model.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
off = 8 + n + int(sys.argv[1])
assert open("raw.bin", "rb").read() == b[off:off + 128]
print("raw ok")
PY
st-inspect --dump nonexistent m
