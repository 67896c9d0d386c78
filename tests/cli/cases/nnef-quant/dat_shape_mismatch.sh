# A .dat whose extents disagree with the graph is refused; an existing
# output is left as it was.
/usr/bin/python3 "$CASES/../../../scripts/gen-nnef-fixtures.py" model m || exit 77
sed -i 's/shape = \[96, 64\]/shape = [64, 96]/' m/graph.nnef
mkdir out && echo keep > out/marker
nnef-quant -f q40 m -o out
rc=$?
cat out/marker
exit $rc
