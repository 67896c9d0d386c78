# -m awq without captures or an importance matrix; both at once; smoothquant with an imatrix
qcalib -m awq model -o w.qp; echo "rc $?"
qcalib -m awq --captures c --imatrix i model -o w.qp; echo "rc $?"
qcalib -m smoothquant --imatrix i model -o w.qp; echo "rc $?"
qcalib -m awq --alpha 0.5 --captures c model -o w.qp; echo "rc $?"
qcalib --duo model -o w.qp; echo "rc $?"
