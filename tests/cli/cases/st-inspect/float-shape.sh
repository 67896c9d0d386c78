. "$CASES/st-inspect/mkst.inc"
mkst float-shape.safetensors '{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}' 4
st-inspect float-shape.safetensors
