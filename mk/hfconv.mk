# The llama.cpp drivers of the interop tests, linked against libllama: llama_run
# (loads and runs GGUF files: HF conversion, requantization, plans) and
# llama_capture (real Linear inputs for the AWQ / SmoothQuant test).  Built only
# when the oracles are installed.
LLAMA_LIB_DIR := $(abspath tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64)
LLAMA_SRC_DIR := tests/oracles/llama-src
LLAMA_DRIVERS := $(addprefix $(BUILD)/tests/interop/,llama_run llama_capture)

ifneq ($(wildcard $(LLAMA_LIB_DIR)/libllama.v0.5.0.so),)
ifneq ($(wildcard $(LLAMA_SRC_DIR)/include/llama.h),)
tests: $(LLAMA_DRIVERS)

$(LLAMA_DRIVERS): $(BUILD)/tests/interop/%: tests/interop/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -Wall -Wextra -Werror -DLLAMA_LIB_DIR='"$(LLAMA_LIB_DIR)"' \
		-I$(LLAMA_SRC_DIR)/include -I$(LLAMA_SRC_DIR)/ggml/include $< -o $@ \
		-L$(LLAMA_LIB_DIR) -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
		-Wl,-rpath,$(LLAMA_LIB_DIR)
endif
endif
