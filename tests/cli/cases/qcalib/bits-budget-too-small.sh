"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qcalib -q --bits-budget 2 --formats int4-g32,int8 m -o p.qp
