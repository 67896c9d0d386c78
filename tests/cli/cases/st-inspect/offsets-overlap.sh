. "$CASES/st-inspect/mkst.inc"
mkst offsets-overlap.safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
st-inspect offsets-overlap.safetensors
