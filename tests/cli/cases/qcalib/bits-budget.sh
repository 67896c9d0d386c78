# a mixed-precision plan stays within its budget and lands in the qparams file
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
qcalib -q -m mse --bits-budget 5 --formats int4-g32,int8,none m -o p.qp || exit 1
st-inspect p.qp | grep -E '^  plan ' | sed 's/.*"bits":\([0-9.]*\).*/bits \1/'
