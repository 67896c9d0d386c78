# a tensor name carrying a terminal escape sequence is shown defanged
. "$CASES/st-inspect/mkst.inc"
mkst h.safetensors '{"\u001b[31mred":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}' 1
st-inspect h.safetensors | grep -c "$(printf '\033')"
st-inspect h.safetensors | grep -F '?[31mred'
