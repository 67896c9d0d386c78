. "$CASES/st-inspect/mkst.inc"
mkst deep-nesting.safetensors '{"a":{"b":{"c":[[[[1]]]]}}}' 0
st-inspect deep-nesting.safetensors
