: >empty.safetensors
st-inspect empty.safetensors
