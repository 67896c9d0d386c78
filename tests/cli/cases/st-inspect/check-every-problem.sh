. "$CASES/st-inspect/mkst.inc"
mkst bad.safetensors '{"__metadata__":{"n":1},"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,4]},"c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}' 16
mkmodel -o good
st-inspect --check bad.safetensors good
