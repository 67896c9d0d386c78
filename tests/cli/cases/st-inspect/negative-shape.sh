. "$CASES/st-inspect/mkst.inc"
mkst negative-shape.safetensors '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}' 4
st-inspect negative-shape.safetensors
