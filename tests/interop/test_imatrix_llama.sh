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
	if [ ! -s "$T/ours" ]; then
		echo "FAIL $1: we refuse it: $(head -c 300 "$T/err")"; fails=1
	elif cmp -s "$T/ours" "$T/llama"; then
		echo "PASS $1 ($(($(wc -l <"$T/ours") - 1)) entries)"
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

looser=""
for f in tests/fuzz/corpus/fuzz_imatrix/*; do
	"$LLAMA" "$f" >"$T/llama" 2>/dev/null
	if [ "$(head -1 "$T/llama")" = refused ] && "$TOOL" imatrix "$f" >/dev/null 2>&1; then
		looser="$looser $(basename "$f")"
	fi
done
if [ -z "$looser" ]; then
	echo "PASS imatrix-llama-refuse-what-llama-refuses"
else
	echo "FAIL imatrix-llama-refuse-what-llama-refuses: we accept$looser"; fails=1
fi
exit $fails
