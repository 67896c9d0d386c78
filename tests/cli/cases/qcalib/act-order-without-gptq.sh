qcalib --act-order m -o p.qp
