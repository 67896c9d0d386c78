"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qpack -q -g 32 m -o q || exit 1
sed 's/"pack-quantized"/"marlin-24"/g' q/config.json > c && mv c q/config.json
qpack --dequant q -o out.safetensors
