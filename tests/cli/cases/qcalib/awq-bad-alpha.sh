# SmoothQuant's alpha outside [0, 1] is a usage error
qcalib -m smoothquant --alpha 1.5 --captures caps.safetensors model -o w.qp
