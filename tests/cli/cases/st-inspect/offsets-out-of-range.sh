. "$CASES/st-inspect/mkst.inc"
mkst offsets-out-of-range.safetensors '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}' 8
st-inspect offsets-out-of-range.safetensors
