# ONNX protobuf code, generated at build time by protoc-c from the onnx.proto
# that Debian's libonnx-dev installs (proto2, package onnx).  protoc-c names
# its output after the .proto path: onnx/onnx.pb-c.[ch] under $(BUILD)/gen,
# included as "onnx/onnx.pb-c.h" (the Makefile adds -I$(BUILD)/gen).
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
ONNX_GEN_C  = $(BUILD)/gen/onnx/onnx.pb-c.c
GEN_SRC    += $(ONNX_GEN_C)

$(ONNX_GEN_C): $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen/onnx
	protoc-c --c_out=$(BUILD)/gen -I$(abspath $(dir $(ONNX_PROTO))..) $(ONNX_PROTO)
	@test -f $@ || { echo "protoc-c did not write $@" >&2; exit 1; }
