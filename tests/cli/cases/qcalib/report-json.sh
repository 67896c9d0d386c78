# mse against minmax on a generated model; the qparams file st-inspect reads
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 96 --layers 1 || exit 1
qcalib -m mse -f int4 -g 32 --json m -o w.qp || exit 1
st-inspect w.qp | grep -q 'format  *qparams' || { echo "not a qparams file"; exit 1; }
