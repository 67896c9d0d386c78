. "$CASES/st-inspect/mkst.inc"
mkst duplicate-names.safetensors '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4
st-inspect duplicate-names.safetensors
