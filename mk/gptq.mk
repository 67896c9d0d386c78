# gptq: the GPTQ timing driver (scripts/bench-gptq.sh; not a test, not in `all`).
BENCH_GPTQ = $(BUILD)/bench/bench_gptq
$(BENCH_GPTQ): $(BUILD)/obj/tests/bench/bench_gptq.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)
