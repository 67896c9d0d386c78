# F32 against its BF16 rounding (8 bits of mantissa: SQNR near 6.02*8+... ~ 50 dB),
# one tensor only in a, one with another shape; exit 1
mkmodel -o a
mkmodel --dtype bf16 --vocab 250 -o b
cat b/model.safetensors | st-inspect --diff -n 'lm_head*' -n '*layers.0.self_attn.q_proj*' -n 'model.norm*' a -
