qcalib -m gptq -f int4 -g 32 m -o p.qp
