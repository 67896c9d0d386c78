nnef-quant -f q2 model -o out
