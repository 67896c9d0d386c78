# a folder without tokenizer files needs --vocab none; the error says so
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m || exit 99
st2gguf -q -t F16 m -o out.gguf
rc=$?
[ -e out.gguf ] && { echo "output left behind"; exit 98; }
exit $rc
