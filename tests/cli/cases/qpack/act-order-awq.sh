qpack -m gptq --captures c.safetensors --act-order --layout awq m -o out
