nnef-quant -f q40 "$CASES/../../fuzz/corpus/fuzz_nnef_archive/tar_truncated.tgz" -o out
