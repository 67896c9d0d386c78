# --json is one document a JSON parser accepts, with the documented fields
mkmodel --shards 2 -o m
st-inspect --json -n '*.norm.weight' m >out.json
python3 - out.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["tensors"]
assert [x["name"] for x in t] == ["model.norm.weight"], t
x = t[0]
assert x["dtype"] == "F32" and x["shape"] == [64] and x["nbytes"] == 256, x
assert isinstance(x["data_offset"], int) and x["file"].endswith("-of-00002.safetensors")
assert d["format"] == "safetensors" and len(d["files"]) == 2
assert {"key": "format", "type": "string", "value": "pt"} in d["metadata"]
assert d["totals"][-1] == {"dtype": "all", "tensors": 1, "elements": 64, "bytes": 256}
print("ok")
PY
