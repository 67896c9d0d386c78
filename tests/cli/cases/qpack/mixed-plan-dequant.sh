# a mixed plan packed for compressed-tensors: one config group per scheme
# (both pack-quantized, so that is the top-level format too; an fp8 group
# would make it mixed-precision), and --dequant reads it back
"$CASES/../../../scripts/gen-st-model.py" m --layers 1 --hidden 128 --inter 256 || exit 1
qcalib -q -m minmax --bits-budget 6 --formats int4-g128,int8 --exclude '*o_proj*' m -o a.qp >/dev/null || exit 1
qpack -q -p a.qp m -o out || exit 1
grep -c '"group_[0-9]*":' out/config.json
tr -d ' \t' <out/config.json | grep -o '"format":"[a-z-]*"' | sort | uniq -c | sed 's/^ *//'
qpack -q --dequant out -o back.safetensors || exit 1
st-inspect back.safetensors | grep -c 'self_attn.o_proj.weight.*F32'
