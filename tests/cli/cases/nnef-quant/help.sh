nnef-quant --help
