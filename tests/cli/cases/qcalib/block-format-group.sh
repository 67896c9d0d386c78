"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qcalib -f nvfp4 -g 32 m -o w.qp
