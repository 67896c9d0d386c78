# without config.json, --dequant recognises each layout from its tensors and
# gives the same floats as with it
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
for l in "awq -g 32" "gptq -g 32" "compressed-tensors -g 32" "compressed-tensors -f nvfp4" "fp8 --block 32x32" "quark -g 32"; do
	rm -rf pk
	qpack -q --layout $l m -o pk || exit 1
	qpack -q --dequant pk -o with.safetensors || exit 1
	rm pk/config.json
	qpack --dequant pk/model.safetensors -o without.safetensors 2>note || exit 1
	cmp -s with.safetensors without.safetensors && echo "$l: same" || echo "$l: DIFFERENT"
	grep -o '"quant_method":"[a-z0-9-]*"' note
done
