# Files written by the reference Python library: range(-3, 3) in each
# dtype (SOURCES.txt), unsigned ones wrapped around.
d=$FIXTURES/hf-dtype-samples
[ -d "$d" ] || { echo "fixtures absent"; exit 77; }
for t in B H I b h i e f d; do
	printf '%s:' "$t"
	st-inspect --dump "$t" "$d/$t.safetensors" | tr '\n' ' '
	echo
	st-inspect --dump "$t" "$d/overall.safetensors" | cmp -s - /dev/stdin <<EOF2 || echo "$t differs in overall"
$(st-inspect --dump "$t" "$d/$t.safetensors")
EOF2
done
