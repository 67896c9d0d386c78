. "$CASES/st-inspect/mkst.inc"
mkst invalid-json.safetensors '{"a":{"dtype":"F32",' 0
st-inspect invalid-json.safetensors
