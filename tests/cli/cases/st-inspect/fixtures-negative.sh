f=$FIXTURES/negative/header_len_exceeds_file.safetensors
[ -f "$f" ] || { echo "fixtures absent"; exit 77; }
cp "$f" neg.safetensors
st-inspect neg.safetensors
