# every real safetensors file and checkpoint folder in the fixtures lists,
# passes --check, and gives --stats without error
[ -d "$FIXTURES" ] || { echo "fixtures absent"; exit 77; }
n=0
for f in $(find "$FIXTURES" -name '*.safetensors' ! -path '*/negative/*' | sort); do
	st-inspect "$f" >/dev/null || echo "FAILED list $f"
	st-inspect --check "$f" >/dev/null || echo "FAILED check $f"
	st-inspect --stats -q "$f" >/dev/null || echo "FAILED stats $f"
	n=$((n + 1))
done
for d in tiny-llama-sharded tiny-llama-bf16 tiny-qwen3 tiny-gpt-oss-mxfp4 hf-tiny/llama; do
	st-inspect --check "$FIXTURES/$d" >/dev/null || echo "FAILED check $d"
done
[ $n -ge 20 ] && echo "files ok"
