. "$CASES/st-inspect/mkst.inc"
mkst missing-dtype.safetensors '{"a":{"shape":[1],"data_offsets":[0,4]}}' 4
st-inspect missing-dtype.safetensors
