. "$CASES/st-inspect/mkst.inc"
mkst shape-over-2-53.safetensors '{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,1]}}' 1
st-inspect shape-over-2-53.safetensors
