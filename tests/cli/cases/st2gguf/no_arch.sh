# no general.architecture: llama.cpp could not load it, and the rules need it
python3 "$CASES/st2gguf/mkgguf.py" in.gguf --no-arch
st2gguf -t Q8_0 in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
exit $rc
