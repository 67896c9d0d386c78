. "$CASES/st-inspect/mkst.inc"
mkst trailing-bytes.safetensors '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 10
st-inspect trailing-bytes.safetensors
