. "$CASES/st-inspect/mkst.inc"
mkst overflowing-shape.safetensors '{"a":{"dtype":"F32","shape":[4294967296,4294967296,4096],"data_offsets":[0,4]}}' 4
st-inspect overflowing-shape.safetensors
