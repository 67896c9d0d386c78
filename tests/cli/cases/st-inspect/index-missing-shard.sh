mkmodel --shards 3 -o m
rm m/model-00002-of-00003.safetensors
st-inspect m
