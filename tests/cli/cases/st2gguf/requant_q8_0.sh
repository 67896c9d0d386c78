# requantize a tiny F16 GGUF to Q8_0; the output starts with the GGUF magic
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
st2gguf -q -t q8_0 in.gguf -o out.gguf || exit 1
head -c 4 out.gguf; echo
