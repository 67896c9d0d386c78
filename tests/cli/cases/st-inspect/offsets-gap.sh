. "$CASES/st-inspect/mkst.inc"
mkst offsets-gap.safetensors '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}' 12
st-inspect offsets-gap.safetensors
