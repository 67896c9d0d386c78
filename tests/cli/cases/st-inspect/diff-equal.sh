# same seed, different sharding and a BF16 round trip of BF16 values:
# equal values -> exit 0
mkmodel -o a
mkmodel --shards 4 -o b
st-inspect --diff a b
