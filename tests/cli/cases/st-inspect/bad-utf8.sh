# a tensor name with a lone continuation byte (0x80) at file offset 10
. "$CASES/st-inspect/mkst.inc"
{ le64 3; printf '{"\200'; } >bad-utf8.safetensors
st-inspect bad-utf8.safetensors
