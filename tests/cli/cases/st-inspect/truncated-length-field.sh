printf 'abcde' >short.safetensors
st-inspect short.safetensors
