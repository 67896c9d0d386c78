# --tensor-type naming an unknown ggml type
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
st2gguf -t Q8_0 --tensor-type attn_v=q7_0 in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
exit $rc
