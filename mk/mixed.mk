# test_mixed (several quantization schemes in one checkpoint) builds packed
# checkpoints in memory with tests/qpfiles.c, as test_qcal does.
$(BUILD)/tests/unit/test_mixed: $(BUILD)/obj/tests/qpfiles.o
$(BUILD)/tests/unit/test_mixed: LDLIBS_ALL := $(BUILD)/libcommon.a $(LDLIBS_ALL)
