# a plan with int4 and int8 weights fits gptq weight by weight, but a gptq
# config holds one scheme: refused naming two weights, nothing written
"$CASES/../../../scripts/gen-st-model.py" m --layers 1 --hidden 128 --inter 256 || exit 1
qcalib -q -m minmax --bits-budget 6 --formats int4-g128,int8 m -o plan.qp >/dev/null || exit 1
qpack -p plan.qp --layout gptq m -o out; rc=$?
[ -e out ] && echo "output left behind"
exit $rc
