# io-st: build/tools/mkmodel, the deterministic demo and benchmark model
# generator (tests/tools/mkmodel.c).  Listed first so `all` stays the
# default goal; libcommon.a is spelled out because $(LIB) is set later.
all tests: $(BUILD)/tools/mkmodel

$(BUILD)/tools/mkmodel: $(BUILD)/obj/tests/tools/mkmodel.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)
