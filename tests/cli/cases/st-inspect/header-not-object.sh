. "$CASES/st-inspect/mkst.inc"
mkst header-not-object.safetensors '[]' 0
st-inspect header-not-object.safetensors
