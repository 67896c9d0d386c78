. "$CASES/st-inspect/mkst.inc"
mkst shape-size-mismatch.safetensors '{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,4]}}' 4
st-inspect shape-size-mismatch.safetensors
