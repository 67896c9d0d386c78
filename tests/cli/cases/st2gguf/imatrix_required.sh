# Q2_K_S needs an importance matrix for its Q2_K tensors
python3 "$CASES/st2gguf/mkgguf.py" in.gguf --ne0 256
st2gguf -t Q2_K_S in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
exit $rc
