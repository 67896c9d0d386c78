# binary output is never written to a terminal (script gives stdout a tty)
command -v script >/dev/null || { echo "no script(1)"; exit 77; }
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
script -qec "st2gguf -q -t Q8_0 in.gguf -o -" /dev/null >log 2>&1
rc=$?
grep -q "refusing to write binary output to a terminal" log || { cat log; exit 9; }
exit $rc
