# awq: the llama.cpp driver that captures real Linear inputs for the AWQ /
# SmoothQuant interop test (tests/interop/llama_capture.c), built only when
# the oracles are installed (the same folders as hfconv.mk, which is read after).
LLAMA_LIB_DIR ?= $(abspath tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64)
LLAMA_SRC_DIR ?= tests/oracles/llama-src
ifneq ($(wildcard $(LLAMA_LIB_DIR)/libllama.v0.5.0.so),)
ifneq ($(wildcard $(LLAMA_SRC_DIR)/include/llama.h),)
tests: $(BUILD)/tests/interop/llama_capture

$(BUILD)/tests/interop/llama_capture: tests/interop/llama_capture.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -Wall -Wextra -Werror -DLLAMA_LIB_DIR='"$(LLAMA_LIB_DIR)"' \
		-I$(LLAMA_SRC_DIR)/include -I$(LLAMA_SRC_DIR)/ggml/include $< -o $@ \
		-L$(LLAMA_LIB_DIR) -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
		-Wl,-rpath,$(LLAMA_LIB_DIR)
endif
endif
