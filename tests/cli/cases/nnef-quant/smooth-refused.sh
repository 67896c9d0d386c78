# qparams with AWQ smoothing factors: nnef-quant cannot fold them, says so
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
qcalib -q -m awq -g 16 --captures d/caps.safetensors d/model -o w.qp || exit 1
nnef-quant -f q40 -p w.qp model.nnef.tgz -o out.tgz; rc=$?
[ -e out.tgz ] && echo "output left behind"
exit $rc
