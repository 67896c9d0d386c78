#!/bin/sh
# nnef-quant's outputs judged by an independent strict checker
# (tests/tools/nnef_check.py), which must also reject deliberately broken
# models; and by torch_to_nnef's own Q40 export when the fixtures are there.
set -u
PY=/usr/bin/python3
CHECK="$PY tests/tools/nnef_check.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
F=${QUTILS_FIXTURES:-../shared/fixtures}

pass() { echo "PASS nnef-strict: $1"; }
fail() { echo "FAIL nnef-strict: $1"; }
ok() { if "$@" >"$T/out" 2>&1; then pass "$label"; else fail "$label: $(head -c 300 "$T/out" | tr '\n' ' ')"; fi; }
rejects() { if "$@" >"$T/out" 2>&1; then fail "$label: broken model accepted"; else pass "$label"; fi; }

if ! $PY -c 'import numpy' 2>/dev/null; then
	echo "SKIP nnef-strict: /usr/bin/python3 has no numpy"
	exit 0
fi
$PY scripts/gen-nnef-fixtures.py model "$T/m"

for variant in "-m minmax" "-m mse" "--legacy-order" "-m mse --legacy-order"; do
	out="$T/q$(echo "$variant" | tr -d ' -').nnef.tgz"
	label="generated model, $variant: nnef-quant runs"
	ok nnef-quant -q -f q40 $variant "$T/m" -o "$out"
	label="generated model, $variant: checker accepts"
	ok $CHECK "$out" --source "$T/m"
done

# The checker must catch what a broken writer would do.
nnef-quant -q -f q40 "$T/m" -o "$T/good"
broken() { rm -rf "$T/bad"; cp -r "$T/good" "$T/bad"; }
broken; printf '\100\040' | dd of="$T/bad/layers/0/w1.dat" bs=1 seek=48 conv=notrunc 2>/dev/null
label="checker rejects a Q40 file that lies about its nibble order"; rejects $CHECK "$T/bad" --source "$T/m"
broken; printf '\004\000\000\000' | dd of="$T/bad/conv.k.dat" bs=1 seek=44 conv=notrunc 2>/dev/null
label="checker rejects Q40 with bits 4"; rejects $CHECK "$T/bad"
broken; head -c 200 "$T/good/mm.b.dat" >"$T/bad/mm.b.dat"
label="checker rejects a truncated .dat"; rejects $CHECK "$T/bad"
broken; sed -i "s/datum_type = 'f32')/)/" "$T/bad/graph.nnef"
label="checker rejects a gather from Q40 without datum_type"; rejects $CHECK "$T/bad"
broken; sed -i "s/mb = variable(/mb = variable<scalar>(/" "$T/bad/graph.nnef"
label="checker rejects Q40 declared as variable<scalar>"; rejects $CHECK "$T/bad"
broken; printf '"a.b": linear_quantize(min = 0, max = 1, bits = 8);\n' >"$T/bad/graph.quant"
label="checker rejects a dotted quoted graph.quant key"; rejects $CHECK "$T/bad"
broken; printf '"a": zero_point_linear_quantize(zero_point = 0, scale = 1, bits = 4, signed = true);\n' >"$T/bad/graph.quant"
label="checker rejects 4-bit graph.quant"; rejects $CHECK "$T/bad"

# 8-bit: activation ranges from a qparams file, checked for structure,
# int8 weights within half a step and biases prescaled by s_in * s_w.
$PY scripts/gen-nnef-fixtures.py qparams "$T/r.qp" input=-3:3 h=-4:5 r=0:5 t=0:5 c=-6:6 ct=-6:6
label="generated model, q8: nnef-quant runs"
ok nnef-quant -q -f q8 -p "$T/r.qp" "$T/m" -o "$T/q8"
label="generated model, q8: checker accepts"
ok $CHECK "$T/q8" --source "$T/m"
label="generated model, q8: linear and conv quantized, weights int8"
ok sh -c "st-inspect '$T/q8' | grep -Eq '^  layers/0/w1 +qi8 ' && st-inspect '$T/q8' | grep -Eq '^  conv.k +qi8 ' && st-inspect '$T/q8' | grep -Eq '^  layers/0/b1 +i32 '"
broken8() { rm -rf "$T/bad"; cp -r "$T/q8" "$T/bad"; }
broken8; sed -i 's/variable<integer>/variable<scalar>/' "$T/bad/graph.nnef"
label="checker rejects an int32 bias declared as scalar"; rejects $CHECK "$T/bad"
broken8; sed -i 's/"w1"/"nonexistent"/' "$T/bad/graph.quant"
label="checker rejects a graph.quant key that is no tensor"; rejects $CHECK "$T/bad"
broken8; sed -i 's/^\("w1".*\)signed = true/\1signed = false/' "$T/bad/graph.quant"
label="checker rejects int8 data labelled unsigned"; rejects $CHECK "$T/bad"
broken8; printf '\001\000\000\000' | dd of="$T/bad/layers/0/b1.dat" bs=1 seek=128 conv=notrunc 2>/dev/null
label="checker rejects a bias not prescaled by s_in * s_w"; rejects $CHECK "$T/bad" --source "$T/m"

if [ ! -d "$F/nnef/t2n" ]; then
	echo "SKIP nnef-strict: torch_to_nnef fixtures: absent"
	exit 0
fi
mkdir -p "$T/t2n/f32" "$T/t2n/q40" "$T/t2n/legacy"
tar -xzf "$F/nnef/t2n/small_f32.nnef.tgz" -C "$T/t2n/f32"
tar -xzf "$F/nnef/t2n/small_q40.nnef.tgz" -C "$T/t2n/q40"
tar -xzf "$F/nnef/t2n/small_q40_legacy.nnef.tgz" -C "$T/t2n/legacy"
nnef-quant -q -f q40 "$F/nnef/t2n/small_f32.nnef.tgz" -o "$T/ours"
nnef-quant -q -f q40 --legacy-order "$F/nnef/t2n/small_f32.nnef.tgz" -o "$T/ours-legacy"
for w in emb.weight lin1.weight conv.weight lin2.weight; do
	label="$w.dat byte-identical to torch_to_nnef (code 0x3040)"
	ok cmp "$T/ours/$w.dat" "$T/t2n/q40/$w.dat"
	label="$w.dat byte-identical to torch_to_nnef (legacy 0x2040)"
	ok cmp "$T/ours-legacy/$w.dat" "$T/t2n/legacy/$w.dat"
done
# The graph edits are torch_to_nnef's: its variable and gather lines.
grep -E 'variable|gather' "$T/t2n/q40/graph.nnef" >"$T/t2n.lines"
label="graph edits match torch_to_nnef's Q40 export"
ok sh -c "grep -E 'variable|gather' '$T/ours/graph.nnef' | diff - '$T/t2n.lines'"
label="untouched files copied byte for byte"
ok sh -c "cmp '$T/ours/lin1.bias.dat' '$T/t2n/f32/lin1.bias.dat' && cmp '$T/ours/conv.bias.dat' '$T/t2n/f32/conv.bias.dat'"
label="checker accepts our output for the torch_to_nnef model"
ok $CHECK "$T/ours" --source "$T/t2n/f32"
label="checker accepts torch_to_nnef's own export"
ok $CHECK "$F/nnef/t2n/small_q40.nnef.tgz" --source "$T/t2n/f32"
label="checker accepts torch_to_nnef's own 8-bit PTQ export"
ok $CHECK "$F/nnef/t2n/ptq8.nnef.tgz"
$PY scripts/gen-nnef-fixtures.py qparams "$T/t2n.qp" emb__embedding0=-2:2 lin1__linear0=-3:4 \
	x_relu0=0:4 transpose0=0:4 conv__x=-5:5 transpose1=-5:5 output=-6:6
label="torch_to_nnef model, q8: checker accepts"
ok sh -c "nnef-quant -q -f q8 -p '$T/t2n.qp' '$F/nnef/t2n/small_f32.nnef.tgz' -o '$T/t2n-q8' && $CHECK '$T/t2n-q8' --source '$T/t2n/f32'"
# mse must beat minmax on the real weights
nnef-quant -v -f q40 -m minmax "$F/nnef/t2n/small_f32.nnef.tgz" -o "$T/a.tgz" 2>"$T/minmax.txt"
nnef-quant -v -f q40 -m mse "$F/nnef/t2n/small_f32.nnef.tgz" -o "$T/b.tgz" 2>"$T/mse.txt"
for w in emb.weight lin1.weight conv.weight lin2.weight; do
	a=$(grep " $w: q40" "$T/minmax.txt" | sed 's/.*sqnr \([^ ]*\).*/\1/')
	b=$(grep " $w: q40" "$T/mse.txt" | sed 's/.*sqnr \([^ ]*\).*/\1/')
	label="$w: mse SQNR $b dB > minmax $a dB"
	ok awk "BEGIN { exit !($b > $a) }"
done
