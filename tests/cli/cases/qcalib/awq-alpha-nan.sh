qcalib -m smoothquant --alpha nan --captures caps.safetensors model -o w.qp
