# -o naming a device writes into it and never replaces it with a file
# (cli_out renames a temporary file over regular files only)
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
st2gguf -q -t Q8_0 in.gguf -o /dev/null || exit 3
test -c /dev/null || echo "/dev/null is no longer a device"
st2gguf -q -t Q8_0 in.gguf -o /dev/full
rc=$?
test -c /dev/full || echo "/dev/full is no longer a device"
exit $rc
