# Every malformed GGUF of the corpus: exit 1, one message naming the file
# and the problem, nothing on standard output, no crash.
T=$PWD
cd "$CASES/../../fuzz/corpus/fuzz_gguf" || exit 1
for f in *.gguf; do
	case $f in valid_* | odd_* | fz-*) continue ;; esac
	st-inspect "$f" >"$T/out" 2>"$T/err"
	rc=$?
	[ -s "$T/out" ] && echo "$f: wrote to stdout"
	echo "$rc $(cat "$T/err")"
done
