# token_embd forced to Q8_0 with rows of 48 (not a multiple of 32): no fallback
# applies to an explicit --token-embedding-type, so this is an error (llama.cpp aborts)
python3 "$CASES/st2gguf/mkgguf.py" in.gguf --ne0 48
st2gguf -t Q8_0 --token-embedding-type q8_0 in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
exit $rc
