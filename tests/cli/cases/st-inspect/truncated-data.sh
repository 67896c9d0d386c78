# a real model cut short: the last tensor's bytes are missing
mkmodel -o m
size=$(wc -c <m/model.safetensors)
head -c $((size - 100)) m/model.safetensors >cut.safetensors
st-inspect cut.safetensors
