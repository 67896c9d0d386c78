. "$CASES/st-inspect/mkst.inc"
mkst metadata-not-object.safetensors '{"__metadata__":"pt"}' 0
st-inspect metadata-not-object.safetensors
