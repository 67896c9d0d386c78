# st2gguf refuses a folder with defect "shape-mismatch": clear error, exit 1, no output
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m shape-mismatch || exit 99
st2gguf -q --vocab none -t F16 m -o out.gguf
rc=$?
[ -e out.gguf ] && { echo "output left behind"; exit 98; }
ls | grep -q '^out.gguf' && { echo "temporary left behind"; exit 97; }
exit $rc
