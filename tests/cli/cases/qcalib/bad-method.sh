qcalib -m median model.safetensors -o w.qp
