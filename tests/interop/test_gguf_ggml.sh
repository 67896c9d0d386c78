#!/bin/sh
# GGUF against llama.cpp's own reader (gguf_init_from_file in libggml-base):
#  - files our writer makes (alignments 32/1/8/64/4096, no tensors) are read
#    by ggml with exactly the KVs, tensor infos and bytes we wrote;
#  - ggml and our reader accept and refuse the same files of the malformed
#    corpus (tests/fuzz/corpus/fuzz_gguf), and agree on what they accept;
#  - files written by llama.cpp (gguf-py, run here; the fixtures in
#    ../shared/fixtures/llama-cpp-reference when present) read the same
#    through both readers.
# Both sides print the canonical dump (tests/interop/ggml_gguf_dump.c).
set -u
TOOL=$QU_BIN/tests/interop/qu-gguf-tool
GGML=$QU_BIN/tests/interop/ggml-gguf-dump
FIX=${QUTILS_FIXTURES:-../shared/fixtures}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ ! -x "$GGML" ]; then
	echo "SKIP gguf-ggml: ggml-gguf-dump not built (run scripts/deps.sh, then make tests)"
	exit 0
fi

fails=0
fail() { echo "FAIL $*"; fails=1; }

# same NAME FILE...: our dump and ggml's are identical and nothing is refused
same() {
	name=$1; shift
	"$TOOL" dump "$@" >"$T/ours" 2>"$T/err"
	"$GGML" "$@" >"$T/ggml" 2>&1
	if grep -q '^refused' "$T/ours" "$T/ggml"; then
		fail "$name: refused: $(grep -h -B1 '^refused' "$T/ours" "$T/ggml" | tr '\n' ' ') $(head -c 300 "$T/err")"
	elif cmp -s "$T/ours" "$T/ggml"; then
		echo "PASS $name"
	else
		fail "$name: dumps differ: $(diff "$T/ours" "$T/ggml" | head -6 | tr '\n' ' ')"
	fi
}

# inspect NAME FILE: st-inspect --json shows what ggml reads (same KVs,
# types, values, tensors with shapes outermost first)
inspect() {
	name=$1 f=$2
	if ! [ -x /usr/bin/python3 ]; then
		echo "SKIP $name: no /usr/bin/python3"
	elif ! "$QU_BIN/st-inspect" --json "$f" >"$T/insp.json" 2>"$T/err"; then
		fail "$name: st-inspect: $(head -c 300 "$T/err")"
	else
		"$GGML" "$f" >"$T/ggml"
		if /usr/bin/python3 tests/interop/gguf_inspect_vs_ggml.py "$T/insp.json" "$T/ggml" >"$T/why"; then
			echo "PASS $name"
		else
			fail "$name: $(head -4 "$T/why" | tr '\n' ' ')"
		fi
	fi
}

# (a) our writer -> ggml
for a in 0 1 8 64 4096; do
	"$TOOL" sample "$T/ours-align$a.gguf" "$a" || fail "gguf-ggml-write-align$a: writer failed"
	same "gguf-ggml-reads-our-writer-align$a" "$T/ours-align$a.gguf"
done
inspect gguf-st-inspect-sample "$T/ours-align0.gguf"
"$TOOL" empty "$T/ours-empty.gguf" || fail "gguf-ggml-write-empty: writer failed"
same gguf-ggml-reads-our-writer-no-tensors "$T/ours-empty.gguf"

# (a') the same verdict on every corpus file.  Known differences:
#  - a key containing a NUL byte: ggml keeps it, we refuse it (our callers
#    see keys as C strings, so it could not mean the same thing);
#  - ggml computes the element count before its overflow guard, so a
#    2^32 x 2^32 tensor wraps to 0 elements and is accepted with size 0 (a
#    ggml bug); we refuse it;
#  - a file whose last tensor lacks its trailing padding: ggml refuses it when
#    it loads the data section (it reads the padded size), accepts it when it
#    reads only metadata (no_alloc, llama.cpp's model loader, which checks
#    each tensor's bytes are inside the file); we accept it like the loader,
#    so where we accept and ggml's data load refuses, ggml's metadata-only
#    mode must agree with us.
# The corpus holds the named malformed cases and what libFuzzer found (fz-*).
bad=""
n=0
for f in tests/fuzz/corpus/fuzz_gguf/*; do
	n=$((n + 1))
	"$TOOL" dump "$f" >"$T/ours" 2>"$T/why"
	"$GGML" "$f" >"$T/ggml" 2>&1
	cmp -s "$T/ours" "$T/ggml" && continue
	if ! grep -q '^refused' "$T/ours"; then
		# we accept, ggml's data load refuses: it must be the missing padding
		"$GGML" -m "$f" >"$T/ggml" 2>&1
		cmp -s "$T/ours" "$T/ggml" && continue
	elif grep -Eq 'contains a NUL byte|has too many elements' "$T/why" &&
	    ! grep -q '^refused' "$T/ggml"; then
		continue
	fi
	bad="$bad $(basename "$f")"
done
if [ -z "$bad" ]; then
	echo "PASS gguf-ggml-same-verdict-on-corpus ($n files)"
else
	fail "gguf-ggml-same-verdict-on-corpus: differ on$bad"
fi

# (c) llama.cpp's writers -> us
if PYTHONPATH=tests/oracles/llama-src/gguf-py /usr/bin/python3 -c 'import gguf, numpy' 2>"$T/pyerr"; then
	if PYTHONPATH=tests/oracles/llama-src/gguf-py /usr/bin/python3 tests/interop/gguf_py_write.py "$T" 2>"$T/pyerr"; then
		same gguf-ggml-gguf-py-default "$T/gguf-py-default.gguf"
		same gguf-ggml-gguf-py-align64 "$T/gguf-py-align64.gguf"
		inspect gguf-st-inspect-gguf-py-default "$T/gguf-py-default.gguf"
		inspect gguf-st-inspect-gguf-py-align64 "$T/gguf-py-align64.gguf"
	else
		fail "gguf-ggml-gguf-py: writer failed: $(tail -c 300 "$T/pyerr" | tr '\n' ' ')"
	fi
else
	echo "SKIP gguf-ggml-gguf-py: gguf-py or numpy missing: $(tail -c 200 "$T/pyerr" | tr '\n' ' ')"
fi
found=0
for f in "$FIX"/llama-cpp-reference/*.gguf "$FIX"/llama-cpp-reference/imatrix/*.gguf; do
	[ -f "$f" ] || continue
	found=1
	same "gguf-ggml-fixture-$(basename "$f" .gguf)" "$f"
	inspect "gguf-st-inspect-fixture-$(basename "$f" .gguf)" "$f"
done
[ $found -eq 1 ] || echo "SKIP gguf-ggml-fixtures: $FIX/llama-cpp-reference absent"
exit $fails
