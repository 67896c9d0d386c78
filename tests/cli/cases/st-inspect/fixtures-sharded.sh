# two shards through their index (tiny_llama.safetensors.index.json):
# 22 F32 tensors, total_size 4712 in the index
d=$FIXTURES/tiny-llama-sharded
[ -d "$d" ] || { echo "fixtures absent"; exit 77; }
st-inspect "$d" | sed -n 's/^  all  *//p'
st-inspect --json "$d" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["files"]), sum(t["nbytes"] for t in d["tensors"]))'
