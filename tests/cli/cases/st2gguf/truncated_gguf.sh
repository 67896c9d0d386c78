# a GGUF cut short: error naming the file, exit 1, no output
python3 "$CASES/st2gguf/mkgguf.py" in.gguf --truncate 100
st2gguf -t Q4_K_M in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
ls | grep -v "^in.gguf$\|^stdout$\|^stderr$\|^rc$"
exit $rc
