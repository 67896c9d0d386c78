# Quantize a generated model and read it back with st-inspect.
/usr/bin/python3 "$CASES/../../../scripts/gen-nnef-fixtures.py" model m || exit 77
nnef-quant -f q40 m -o q.nnef.tgz || exit 1
st-inspect q.nnef.tgz | grep -E '^  (embed.weight|shared|small) '
st-inspect --check q.nnef.tgz
