# Every malformed GGUF of the corpus: exit 1, one message naming the file
# and the problem, nothing on standard output, no crash.
cd "$CASES/../../fuzz/corpus/fuzz_gguf" || exit 1
for f in *.gguf; do
	case $f in valid_* | odd_* | fz-*) continue ;; esac
	st-inspect "$f" >out 2>err
	rc=$?
	[ -s out ] && echo "$f: wrote to stdout"
	echo "$rc $(cat err)"
done
rm -f out err
