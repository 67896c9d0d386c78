# The unit tests of qcalib's library share tests/qpfiles.c (a seeded random
# source, qparams and safetensors files built in memory, packed parts read
# as a checkpoint).  It lands after libcommon.a on the link line, so
# libcommon.a is listed again behind it.
QPFILES_UNITS = $(BUILD)/tests/unit/test_qblock $(BUILD)/tests/unit/test_qcal $(BUILD)/tests/unit/test_gptq \
	$(BUILD)/tests/unit/test_qblock_mse
$(QPFILES_UNITS): $(BUILD)/obj/tests/qpfiles.o
$(QPFILES_UNITS): LDLIBS_ALL := $(BUILD)/libcommon.a $(LDLIBS_ALL)
