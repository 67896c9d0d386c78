mkmodel -o m
cat m/model.safetensors | st-inspect -n 'lm_head*' -
