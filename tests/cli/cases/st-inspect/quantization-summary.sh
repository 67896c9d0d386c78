# config.json's quantization_config in a few lines: AWQ keeps the settings
# at the top, compressed-tensors one level down in config_groups
mkmodel -o awq
cat >awq/config.json <<'JSON'
{"model_type": "llama", "quantization_config": {"quant_method": "awq", "bits": 4,
 "group_size": 128, "zero_point": true, "version": "gemm", "modules_to_not_convert": ["lm_head"]}}
JSON
st-inspect --metadata awq
mkmodel -o ct
cat >ct/config.json <<'JSON'
{"quantization_config": {"quant_method": "compressed-tensors", "format": "pack-quantized",
 "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int",
 "symmetric": true, "strategy": "group", "group_size": 32}}}, "ignore": ["lm_head"]}}
JSON
st-inspect --json --metadata ct | python3 -c '
import json, sys
q = {e["key"]: e["value"] for e in json.load(sys.stdin)["quantization"]}
print(q)'
