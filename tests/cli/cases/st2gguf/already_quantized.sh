# a Q8_0 input is refused unless --allow-requantize, which then works
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
st2gguf -q -t Q8_0 in.gguf -o q8.gguf || exit 3
st2gguf -q -t Q4_0 q8.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
st2gguf -q -t Q4_0 --allow-requantize q8.gguf -o out2.gguf || exit 4
exit $rc
