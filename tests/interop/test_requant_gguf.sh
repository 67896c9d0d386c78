#!/bin/sh
# st2gguf requantization against llama.cpp's llama_model_quantize (libllama
# of @node-llama-cpp/linux-x64@3.22.1, called by requant_driver with the
# parameters llama-quantize would pass): the output files must be identical,
# byte for byte — KVs and their order, tensor order, types, data, padding.
#
# Inputs are generated llama-shaped models (ggml's own gguf writer makes
# their headers) covering: 8 layers (use_more_bits), 12 layers with GQA 4
# and tied embeddings in BF16, 64/80-wide rows in F32 (type fallbacks, F16
# fallback); plus the llama.cpp-converted fixture when ../shared is there.
set -u
B=${QU_BIN:-build}
D=$B/tests/interop/requant_driver
ST=$B/st2gguf
GGUFPY=tests/oracles/llama-src/gguf-py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

if [ ! -x "$D" ] || [ ! -x "$ST" ]; then
	echo "SKIP requant: $D or $ST not built"; exit 0
fi
if ! "$D" gen "$T/probe.gguf" --layers 1 --embd 32 --ff 32 --vocab 8 --heads 1 --kv-heads 1 2>"$T/why"; then
	echo "SKIP requant: $(cat "$T/why")"; exit 0
fi

"$D" gen "$T/m8.gguf" --layers 8 --embd 256 --ff 256 --vocab 256 --heads 8 --kv-heads 8 --seed 1
"$D" gen "$T/m12.gguf" --layers 12 --embd 256 --ff 512 --vocab 256 --heads 8 --kv-heads 2 \
	--dtype bf16 --tied --seed 2
"$D" gen "$T/m64.gguf" --layers 4 --embd 64 --ff 80 --vocab 96 --heads 4 --kv-heads 4 --dtype f32 --seed 3
"$D" imatrix "$T/m8.gguf" "$T/im8.gguf"
"$D" imatrix "$T/m8.gguf" "$T/im8.dat" --dat
"$D" imatrix "$T/m12.gguf" "$T/im12.gguf" --seed 5

# case LABEL MODEL FTYPE_NAME FTYPE_ID [options shared by both sides]
case_() {
	label=$1 model=$2 name=$3 id=$4
	shift 4
	if ! "$D" quantize "$model" "$T/ref.gguf" "$id" -j 2 "$@" >"$T/ref.log" 2>&1; then
		echo "FAIL requant $label: llama_model_quantize failed: $(tail -c 300 "$T/ref.log" | tr '\n' ' ')"
		return
	fi
	if ! "$ST" -q -j 2 -t "$name" "$@" "$model" -o "$T/our.gguf" 2>"$T/our.err"; then
		echo "FAIL requant $label: st2gguf failed: $(tr '\n' ' ' <"$T/our.err")"
		return
	fi
	if cmp -s "$T/ref.gguf" "$T/our.gguf"; then
		echo "PASS requant $label"
	else
		why=$(PYTHONPATH=$GGUFPY /usr/bin/python3 tests/interop/gguf_first_diff.py \
			"$T/ref.gguf" "$T/our.gguf" 2>&1 | tail -1)
		echo "FAIL requant $label: $(cmp "$T/ref.gguf" "$T/our.gguf" 2>&1 | head -1); $why"
	fi
}

# (every preset's per-tensor types are also checked in tests/unit/test_ftype.c)
for p in "Q8_0 7" "Q4_0 2" "Q4_1 3" "Q5_0 8" "Q2_K 10" "Q3_K_M 12" "Q3_K_L 13" "Q4_K_S 14" \
	"Q4_K_M 15" "Q5_K_M 17" "Q6_K 18" "IQ4_NL 25" "IQ4_XS 30" "F16 1" "BF16 32"; do
	set -- $p
	case_ "m8-$1" "$T/m8.gguf" "$1" "$2"
done
for p in "Q8_0 7" "Q2_K 10" "Q3_K_M 12" "Q4_K_M 15" "IQ4_NL 25"; do
	set -- $p
	case_ "m12-gqa4-tied-bf16-$1" "$T/m12.gguf" "$1" "$2"
done
for p in "Q8_0 7" "Q4_0 2" "Q2_K 10" "Q4_K_M 15" "Q6_K 18" "IQ4_XS 30"; do
	set -- $p
	case_ "m64-fallbacks-f32-$1" "$T/m64.gguf" "$1" "$2"
done

case_ m8-Q4_K_M-pure "$T/m8.gguf" Q4_K_M 15 --pure
case_ m8-Q6_K-pure "$T/m8.gguf" Q6_K 18 --pure
case_ m8-bare-ggml-type-MXFP4 "$T/m8.gguf" MXFP4 38 --pure
case_ m8-lowercase-alias-q4_k "$T/m8.gguf" q4_k 15
case_ m8-Q4_K_M-tensor-types "$T/m8.gguf" Q4_K_M 15 --tensor-type 'attn_v=q8_0' \
	--tensor-type 'blk\.[0-3]\.ffn_down=Q5_0' --tensor-type 'ATTN_Q=iq4_nl'
case_ m8-Q4_0-output-embedding-types "$T/m8.gguf" Q4_0 2 --output-tensor-type q8_0 \
	--token-embedding-type q4_k
case_ m12-tied-Q4_K_M-output-type "$T/m12.gguf" Q4_K_M 15 --output-tensor-type q5_0
case_ m8-Q4_K_M-leave-output "$T/m8.gguf" Q4_K_M 15 --leave-output-tensor
case_ m8-Q4_K_M-imatrix-gguf "$T/m8.gguf" Q4_K_M 15 --imatrix "$T/im8.gguf"
case_ m8-Q4_0-imatrix-gguf "$T/m8.gguf" Q4_0 2 --imatrix "$T/im8.gguf"
case_ m8-IQ4_XS-imatrix-gguf "$T/m8.gguf" IQ4_XS 30 --imatrix "$T/im8.gguf"
case_ m8-Q2_K_S-imatrix-gguf "$T/m8.gguf" Q2_K_S 21 --imatrix "$T/im8.gguf"
case_ m8-Q5_K_M-imatrix-dat "$T/m8.gguf" Q5_K_M 17 --imatrix "$T/im8.dat"
case_ m8-Q3_K_M-imatrix-dat "$T/m8.gguf" Q3_K_M 12 --imatrix "$T/im8.dat"
case_ m12-Q4_K_M-imatrix "$T/m12.gguf" Q4_K_M 15 --imatrix "$T/im12.gguf"

# requantizing a Q8_0 file (dequantized to F32 first, as llama does)
if "$ST" -q -t Q8_0 "$T/m8.gguf" -o "$T/m8-q8_0.gguf"; then
	case_ m8-q8_0-to-Q4_K_M-allow-requantize "$T/m8-q8_0.gguf" Q4_K_M 15 --allow-requantize
fi

# llama.cpp's own converter output and llama-imatrix output, when present
F=${QUTILS_FIXTURES:-../shared/fixtures}/llama-cpp-reference
if [ -f "$F/hfconv-f16.gguf" ]; then
	for p in "Q8_0 7" "Q4_K_M 15" "Q3_K_M 12"; do
		set -- $p
		case_ "hfconv-f16-$1" "$F/hfconv-f16.gguf" "$1" "$2"
	done
	if [ -f "$F/imatrix/tiny-imatrix.gguf" ]; then
		case_ hfconv-f16-Q4_K_M-fixture-imatrix "$F/hfconv-f16.gguf" Q4_K_M 15 \
			--imatrix "$F/imatrix/tiny-imatrix.gguf"
		case_ hfconv-f16-IQ4_NL-fixture-imatrix-dat "$F/hfconv-f16.gguf" IQ4_NL 25 \
			--imatrix "$F/imatrix/tiny-imatrix.dat"
	fi
else
	echo "SKIP requant hfconv-f16: fixtures not present"
fi

# thread count does not change the bytes
"$ST" -q -j 1 -t Q4_K_M "$T/m8.gguf" -o "$T/j1.gguf" && "$ST" -q -j 3 -t Q4_K_M "$T/m8.gguf" -o "$T/j3.gguf"
if cmp -s "$T/j1.gguf" "$T/j3.gguf"; then echo "PASS requant jobs-1-vs-3"; else echo "FAIL requant jobs-1-vs-3: outputs differ"; fi
# standard output and a piped input take the other way (slabs and a
# writer thread instead of pwrite into the output file): the same bytes
"$ST" -q -j 2 -t Q4_K_M "$T/m8.gguf" -o - >"$T/stdout.gguf"
if cmp -s "$T/j1.gguf" "$T/stdout.gguf"; then echo "PASS requant stdout-vs-file"; else echo "FAIL requant stdout-vs-file: outputs differ"; fi
cat "$T/m8.gguf" | "$ST" -q -j 2 -t Q4_K_M - -o "$T/pipe.gguf"
if cmp -s "$T/j1.gguf" "$T/pipe.gguf"; then echo "PASS requant pipe-vs-file"; else echo "FAIL requant pipe-vs-file: outputs differ"; fi
