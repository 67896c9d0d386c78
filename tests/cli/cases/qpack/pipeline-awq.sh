# the man page's pipeline: pack as AWQ, unpack to a pipe, compare with st-inspect
"$CASES/../../../scripts/gen-st-model.py" model --hidden 64 --inter 128 --layers 1 || exit 1
qpack -q -f int4 -g 32 --layout awq model -o model-awq || exit 1
test -f model-awq/config.json && test -f model-awq/model.safetensors || exit 1
qpack --dequant model-awq -o - | st-inspect --diff model -
# st-inspect --diff exits 1 because quantized weights differ: that is expected
[ $? -eq 1 ] || exit 1
