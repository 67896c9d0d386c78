# --list-types names the presets with their ids
st2gguf --list-types
