# --help: usage on stdout, exit 0
st2gguf --help
