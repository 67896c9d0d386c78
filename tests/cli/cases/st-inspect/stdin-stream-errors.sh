# standard input is read as a stream, one tensor at a time: a short or
# overlong stream is caught when it ends
mkmodel -o m
head -c 300000 m/model.safetensors | st-inspect --stats - >/dev/null
echo "short: $?"
{ cat m/model.safetensors; printf 'junk'; } | st-inspect - >/dev/null
echo "long: $?"
