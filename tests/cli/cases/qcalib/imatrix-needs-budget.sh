"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qcalib --imatrix x.dat m -o w.qp
