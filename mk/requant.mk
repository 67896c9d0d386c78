# requant: the llama.cpp driver of the requantization interop test and bench
# (dlopens the oracle libraries, so it builds without them).
REQUANT_DRIVER = $(BUILD)/tests/interop/requant_driver

tests: $(REQUANT_DRIVER)

$(REQUANT_DRIVER): $(BUILD)/obj/tests/interop/requant_driver.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -ldl
