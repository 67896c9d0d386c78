# the report: layer output error, AWQ beside round-to-nearest, and the
# qparams file holds W.smooth for the norm-fed weights with method "awq"
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
qcalib -q -m awq --captures d/caps.safetensors d/model -o w.qp --report >rep || exit 1
sed -n 1p rep | cut -c1-60
awk '$1 == "total" { print $1, $2, ($3 > $4 ? "above" : "not above"), "round-to-nearest" }' rep
st-inspect w.qp | grep -c '\.smooth '
st-inspect w.qp | grep 'q_proj.weight  *{' | head -1 | grep -o '"method":"awq"'
