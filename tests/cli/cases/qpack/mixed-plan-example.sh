# qpack(1)'s mixed-precision example, on a generated model: every Linear
# weight differs from the float one (st-inspect --diff exits 1), none is lost
"$CASES/../../../scripts/gen-st-model.py" model --layers 1 --hidden 128 --inter 256 || exit 1
qcalib -q -m mse --bits-budget 5 --formats int4-g128,int8,none model/ -o plan.qp >/dev/null || exit 1
qpack -q -p plan.qp model/ -o model-mixed/ || exit 1
qpack -q --dequant model-mixed/ -o - | st-inspect --diff model/ - >diff.txt
echo "st-inspect --diff: $?"
awk '/proj.weight/ && $4 != "inf" && $4 > 10 { n++ } END { print n, "weights above 10 dB" }' diff.txt
