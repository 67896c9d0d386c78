# an unknown type name: exit 1, says where to look, no output
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
st2gguf -t Q4_K_X in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
exit $rc
