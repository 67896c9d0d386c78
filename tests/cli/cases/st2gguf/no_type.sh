# -t is required
st2gguf in.gguf -o out.gguf
