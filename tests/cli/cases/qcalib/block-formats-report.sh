# each block format: mse's total SQNR beats minmax's in --report (the gain column)
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
for f in nvfp4 mxfp4 q4_0 q4_1 q5_0 q5_1 q8_0; do
	qcalib -q -m mse -f "$f" --report m | awk -v f="$f" '$1 == "total" { print f, ($5 > 0.1 ? "gains" : "no gain " $5) }'
done
