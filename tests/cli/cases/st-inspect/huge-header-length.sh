. "$CASES/st-inspect/mkst.inc"
mkst huge-header-length.safetensors '{}' 0 1099511627776
st-inspect huge-header-length.safetensors
