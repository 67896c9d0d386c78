# Defaults: hidden 64, intermediate 128, 4 heads / 2 kv heads (kv dim 32),
# vocab 256, 2 layers.  Elements by hand: embed and lm_head 256*64 = 16384
# each; per layer q,o 4096, k,v 2048, gate,up,down 8192, two norms 64:
# 36992; final norm 64.  16384*2 + 36992*2 + 64 = 106816, *4 = 427264 bytes.
mkmodel -o m
st-inspect m
