# a mixed checkpoint whose config targets a module it does not have is
# refused by --dequant (a typo would otherwise leave weights packed)
"$CASES/../../../scripts/gen-st-model.py" m --layers 1 --hidden 128 --inter 256 || exit 1
qcalib -q -m minmax --bits-budget 6 --formats int4-g128,int8 m -o a.qp >/dev/null || exit 1
qpack -q -p a.qp m -o out || exit 1
python3 - <<'PY' || exit 1
import json
c = json.load(open("out/config.json"))
c["quantization_config"]["config_groups"]["group_1"]["targets"].append("model.layers.0.mlp.up_projj")
json.dump(c, open("out/config.json", "w"))
PY
qpack --dequant out -o back.safetensors; rc=$?
[ -e back.safetensors ] && echo "output left behind"
exit $rc
