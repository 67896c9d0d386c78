. "$CASES/st-inspect/mkst.inc"
mkst offsets-end-before-begin.safetensors '{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}' 4
st-inspect offsets-end-before-begin.safetensors
