# kernels-k: the K-quant throughput bench (make bench runs scripts/bench-kquants.sh).
BENCH_KQ = $(BUILD)/bench/bench_kquants
$(BENCH_KQ): $(BUILD)/obj/tests/bench/bench_kquants.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -ldl
