#!/bin/sh
# Importance matrices against llama.cpp's own loader (common_imatrix_load in
# libllama-common) plus llama-quantize's normalisation: the vectors we hand a
# quantizer are bit-identical (%.9g) for the fixtures written by
# llama-imatrix (GGUF and legacy .dat) and for the files our tests generate
# (a 3-expert weight with an empty expert and a count of 2.5).  On the
# malformed corpus we must refuse whatever llama.cpp refuses; we are stricter
# on files it loads and then misuses (duplicates, a NaN count, sums that do
# not split into the matrices, no sums, missing metadata that llama-quantize
# rejects after loading, a negative name length it crashes on).
set -u
TOOL=$QU_BIN/tests/interop/qu-gguf-tool
LLAMA=$QU_BIN/tests/interop/llama-imatrix-dump
FIX=${QUTILS_FIXTURES:-../shared/fixtures}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

if [ ! -x "$LLAMA" ]; then
	echo "SKIP imatrix-llama: llama-imatrix-dump not built (needs scripts/deps.sh and g++)"
	exit 0
fi

same() { # NAME FILE
	"$TOOL" imatrix "$2" >"$T/ours" 2>"$T/err"
	"$LLAMA" "$2" >"$T/llama" 2>/dev/null
	if grep -q '^refused' "$T/ours"; then
		echo "FAIL $1: we refuse it: $(head -c 300 "$T/err")"; fails=1
	elif cmp -s "$T/ours" "$T/llama"; then
		echo "PASS $1 ($(($(wc -l <"$T/ours") - 2)) entries)"
	else
		echo "FAIL $1: $(diff "$T/ours" "$T/llama" | head -4 | cut -c1-120 | tr '\n' ' ')"; fails=1
	fi
}

same imatrix-llama-generated-gguf tests/fuzz/corpus/fuzz_imatrix/valid.gguf
same imatrix-llama-generated-dat tests/fuzz/corpus/fuzz_imatrix/valid.dat
found=0
for f in "$FIX"/llama-cpp-reference/imatrix/*; do
	[ -f "$f" ] || continue
	found=1
	same "imatrix-llama-fixture-$(basename "$f")" "$f"
done
[ $found -eq 1 ] || echo "SKIP imatrix-llama-fixtures: $FIX/llama-cpp-reference/imatrix absent"

# Over the whole corpus (named cases and libFuzzer's finds), in one process
# per side: never accept what llama.cpp refuses; where both accept, identical
# vectors.  Skipped: files on which llama.cpp's loader spends seconds to
# minutes (allocations sized by the declared counts) or aborts; they stay in
# our fuzz replay.
set --
for f in tests/fuzz/corpus/fuzz_imatrix/*; do
	case $(basename "$f") in
	fz-llama-slow-* | dat_negative_name_length.dat) ;;
	*) set -- "$@" "$f" ;;
	esac
done
"$TOOL" imatrix "$@" >"$T/ours" 2>/dev/null
"$LLAMA" "$@" >"$T/llama" 2>/dev/null
# one awk pass: each file's answer from both sides
verdict=$(awk '
	/^file / { key = FILENAME SUBSEP $2; names[$2] = 1; next }
	{ text[key] = text[key] $0 "\n" }
	END {
		for (f in names) {
			o = text[ARGV[1] SUBSEP f]; l = text[ARGV[2] SUBSEP f]
			if (o ~ /^refused/) continue
			if (l == "" || l ~ /^refused/) looser = looser " " f
			else if (o != l) differ = differ " " f
		}
		print looser "|" differ
	}' "$T/ours" "$T/llama")
looser=${verdict%%|*} differ=${verdict#*|}
if [ -z "$looser$differ" ]; then
	echo "PASS imatrix-llama-corpus ($# files)"
else
	echo "FAIL imatrix-llama-corpus: we accept what llama.cpp refuses:$looser; vectors differ:$differ"; fails=1
fi
exit $fails
