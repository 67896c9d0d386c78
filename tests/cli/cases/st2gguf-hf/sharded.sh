# a sharded folder (index + two shards) converts; llama.cpp-style header
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m sharded || exit 99
st2gguf -q --vocab none -t F32 m -o out.gguf || exit 1
head -c 4 out.gguf; echo
