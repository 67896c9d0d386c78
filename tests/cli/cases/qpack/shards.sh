# a small shard budget gives shards and an index whose total_size is exact
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 2 || exit 1
cp m/config.json m/tokenizer.json
qpack -q -g 32 --max-shard-size 40000 m -o q || exit 1
ls q
st-inspect q >/dev/null || exit 1
qpack -q --dequant --dtype BF16 q -o back || exit 1
ls back
