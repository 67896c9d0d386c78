"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qpack --dequant m/model.safetensors -o out.safetensors
