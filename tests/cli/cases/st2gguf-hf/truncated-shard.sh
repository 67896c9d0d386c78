# st2gguf refuses a folder with defect "truncated": clear error, exit 1, no output
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m truncated || exit 99
st2gguf -q --vocab none -t F16 m -o out.gguf
rc=$?
[ -e out.gguf ] && { echo "output left behind"; exit 98; }
ls | grep -q '^out.gguf' && { echo "temporary left behind"; exit 97; }
exit $rc
