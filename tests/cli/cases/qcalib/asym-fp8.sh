qcalib -f fp8_e4m3 --asym model.safetensors -o w.qp
