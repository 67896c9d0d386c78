# generation_config.json's sampling settings become general.sampling.* (as gguf-py's converter)
/usr/bin/python3 "$CASES/st2gguf-hf/mkhf.py" m || exit 99
echo '{"temperature": 0.6, "top_p": 0.9, "top_k": 20, "repetition_penalty": 1.1}' >m/generation_config.json
st2gguf -q -t F16 --vocab none m -o out.gguf || exit 1
st-inspect out.gguf | grep sampling
