. "$CASES/st-inspect/mkst.inc"
mkst f4-odd-count.safetensors '{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}' 2
st-inspect f4-odd-count.safetensors
