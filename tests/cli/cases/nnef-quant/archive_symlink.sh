nnef-quant -f q40 "$CASES/../../fuzz/corpus/fuzz_nnef_archive/tar_symlink.tgz" -o out
