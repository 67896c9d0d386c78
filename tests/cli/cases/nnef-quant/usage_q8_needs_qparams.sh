nnef-quant -f q8 model -o out
