# an integer-quantized checkpoint (qpack's AWQ output) is refused with the
# way to unpack it, exit 1, no output; its --dequant is read
mkmodel --layers 1 --hidden 64 -o m >/dev/null || exit 99
qpack -q -f int4 -g 32 --layout awq m -o awq || exit 98
st2gguf -q --vocab none -t Q4_0 awq -o out.gguf
rc=$?
[ -e out.gguf ] && { echo "output left behind"; exit 97; }
qpack -q --dequant awq -o f32 || exit 96
st2gguf -q --vocab none -t Q4_0 f32 -o out.gguf || exit 95
exit $rc
