. "$CASES/st-inspect/mkst.inc"
mkst offsets-first-not-zero.safetensors '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
st-inspect offsets-first-not-zero.safetensors
