# --plan lists every tensor with type and bytes, the total and peak memory, writes nothing
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m sharded || exit 99
st2gguf --plan --vocab none -t F16 m -o out.gguf || exit 1
[ -e out.gguf ] && { echo "output written"; exit 98; }
exit 0
