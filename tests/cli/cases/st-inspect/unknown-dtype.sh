. "$CASES/st-inspect/mkst.inc"
mkst unknown-dtype.safetensors '{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}' 4
st-inspect unknown-dtype.safetensors
