# binary output is never written to a terminal (script gives a pty)
command -v script >/dev/null || { echo "no script(1)"; exit 77; }
mkmodel -o m
script -qec "st-inspect --dump model.norm.weight --raw m" /dev/null | tr -d '\r' >out
grep -o 'refusing to write binary output to a terminal' out
