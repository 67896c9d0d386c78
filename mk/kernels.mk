# Kernel micro-benchmark (scripts/bench-kernels.sh): not a test, not in `all`.
$(BUILD)/bench/bench_kernels: $(BUILD)/obj/bench/bench_kernels.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -ldl

$(BUILD)/obj/bench/%.o: bench/%.c $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(QCFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
