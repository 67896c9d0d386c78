# GGUF interop drivers (tests/interop/test_gguf_*):
#   qu-gguf-tool     our reader/writer, canonical dumps and sample files
#   ggml-gguf-dump   the same dump through llama.cpp's gguf reader (libggml-base
#                    from npm @node-llama-cpp/linux-x64, headers from llama-src);
#                    built only when scripts/deps.sh has installed them
#   llama-imatrix-dump  llama.cpp's imatrix loader (libllama-common, C++ API;
#                    needs g++)
GGUF_ORACLE_LIBDIR := tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
GGUF_ORACLE_INC := tests/oracles/llama-src/ggml/include
GGUF_INTEROP := $(BUILD)/tests/interop/qu-gguf-tool
ifneq ($(wildcard $(GGUF_ORACLE_LIBDIR)/libggml-base.so),)
ifneq ($(wildcard $(GGUF_ORACLE_INC)/gguf.h),)
ifneq ($(SAN),1)
GGUF_INTEROP += $(BUILD)/tests/interop/ggml-gguf-dump
ifneq ($(shell command -v g++ 2>/dev/null),)
GGUF_INTEROP += $(BUILD)/tests/interop/llama-imatrix-dump
endif
endif
endif
endif

tests: $(GGUF_INTEROP)

$(BUILD)/tests/interop/qu-gguf-tool: $(BUILD)/obj/tests/interop/qu_gguf_tool.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The oracle's own headers and library; our warning flags do not apply to them.
$(BUILD)/tests/interop/ggml-gguf-dump: tests/interop/ggml_gguf_dump.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -Wall -Wextra -I$(GGUF_ORACLE_INC) $< -o $@ \
		-L$(abspath $(GGUF_ORACLE_LIBDIR)) -lggml-base -Wl,-rpath,$(abspath $(GGUF_ORACLE_LIBDIR))

$(BUILD)/tests/interop/llama-imatrix-dump: tests/interop/llama_imatrix_dump.cpp
	@mkdir -p $(dir $@)
	g++ -std=c++17 -O1 -g -Wall -Wextra -Itests/oracles/llama-src/common $< -o $@ \
		-L$(abspath $(GGUF_ORACLE_LIBDIR)) -l:libllama-common.so -Wl,-rpath,$(abspath $(GGUF_ORACLE_LIBDIR))
