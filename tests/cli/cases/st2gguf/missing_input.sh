# a file that is not there
st2gguf -t Q8_0 nothere.gguf -o out.gguf
