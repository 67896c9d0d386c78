. "$CASES/st-inspect/mkst.inc"
mkst header-length-past-end.safetensors '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4 1000
st-inspect header-length-past-end.safetensors
