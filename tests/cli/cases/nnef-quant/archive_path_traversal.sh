# A crafted archive with a '../' entry is refused, and nothing is written.
nnef-quant -f q40 "$CASES/../../fuzz/corpus/fuzz_nnef_archive/tar_path_traversal.tgz" -o out.tgz
rc=$?
[ -e out.tgz ] && echo "output written"
ls | grep -q tmp && echo "temporary left"
exit $rc
