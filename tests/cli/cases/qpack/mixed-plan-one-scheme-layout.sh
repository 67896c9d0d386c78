# a plan of int4 in groups of 32 and of 128 fits awq weight by weight, but
# an awq config holds one scheme: refused naming two weights, nothing written
"$CASES/../../../scripts/gen-st-model.py" m --layers 1 --hidden 128 --inter 256 || exit 1
qcalib -q -m minmax --bits-budget 4.3 --formats int4-g32,int4-g128 m -o plan.qp >/dev/null || exit 1
qpack -p plan.qp --layout awq m -o out; rc=$?
[ -e out ] && echo "output left behind"
exit $rc
