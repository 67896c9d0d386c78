nnef-quant model -o out
