# the same model in BF16 over 3 shards: half the bytes, a FILE column
mkmodel --dtype bf16 --shards 3 -o m
st-inspect m
