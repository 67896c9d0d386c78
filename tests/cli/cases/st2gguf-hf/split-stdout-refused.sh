# shards need a file name to number
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m || exit 99
st2gguf -q -t F16 --vocab none --split-max-tensors 4 m -o -
