# scales whose scheme the layout cannot store are refused by name
"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qcalib -q -f int8 m -o w.qp || exit 1
qpack -p w.qp --layout awq m -o out; rc=$?
[ -e out ] && echo "output left behind"
exit $rc
