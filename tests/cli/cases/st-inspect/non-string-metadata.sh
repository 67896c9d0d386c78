. "$CASES/st-inspect/mkst.inc"
mkst non-string-metadata.safetensors '{"__metadata__":{"format":"pt","layers":2}}' 0
st-inspect non-string-metadata.safetensors
