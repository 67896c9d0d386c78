# a packed checkpoint (qpack's AWQ) is read; but not with -p (its scales are
# for float weights), nor with a quantization_config st2gguf does not know:
# each refusal exits 1 and leaves no output
mkmodel --layers 1 --hidden 64 -o m >/dev/null || exit 99
qpack -q -f int4 -g 32 --layout awq m -o awq || exit 98
qcalib -q -f int4 -g 32 m -o w.qp || exit 97
st2gguf -q --vocab none awq -o ok.gguf; echo "read: rc $?"
st2gguf -q --vocab none -p w.qp awq -o out.gguf; echo "with -p: rc $?"
sed "s/\"quant_method\":[[:space:]]*\"awq\"/\"quant_method\": \"bitsandbytes\"/" awq/config.json >c && mv c awq/config.json
grep -q bitsandbytes awq/config.json || exit 96
st2gguf -q --vocab none awq -o out.gguf; echo "unknown method: rc $?"
[ -e out.gguf ] && echo "output left behind"
exit 0
