# qutils: one GNU make file.  Adding a program is adding cmd/NAME.c (or a
# folder cmd/NAME/); adding a libcommon module is adding libcommon/NAME.c;
# adding a unit test is adding tests/unit/NAME.c.  Fragments in mk/*.mk add
# generated sources and extra rules.
#
#   make            build programs into build/
#   make check      install deps, build, run every test (also under ASan+UBSan)
#   make demo       the main job on a small built-in model
#   make bench      benchmarks against the peers (slow; not a test)
#   make install    PREFIX=/usr/local DESTDIR=
#   make fuzz       libFuzzer builds of the fuzz targets (needs clang)
#   SAN=1           AddressSanitizer + UndefinedBehaviorSanitizer build
#   SCALAR=1        compile out every vectorized kernel (scalar reference only)

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=
CC      ?= cc
OPT     ?= -O2 -g
BUILD   ?= build

PKGS := libcjson libprotobuf-c libarchive zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# -ffp-contract=off: no FMA contraction, so float code gives the same bits
# as the reference quantizers (ggml builds them without -march).
QCFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
	-Wall -Wextra -Werror -ffp-contract=off -Ilibcommon -I$(BUILD)/gen \
	$(PKG_CFLAGS) $(OPT)
ifeq ($(SAN),1)
QCFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDSAN = -fsanitize=address,undefined
endif
ifeq ($(SCALAR),1)
QCFLAGS += -DQU_SCALAR_ONLY
endif
LDLIBS_ALL = $(PKG_LIBS) -lm -pthread

LIB_SRC  = $(wildcard libcommon/*.c)
GEN_SRC  =
PROGS    = $(sort $(basename $(notdir $(wildcard cmd/*.c))) \
	   $(patsubst cmd/%/,%,$(dir $(wildcard cmd/*/*.c))))
UNIT_SRC = $(wildcard tests/unit/*.c)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
MANS     = $(wildcard man/*.[157])

-include $(wildcard mk/*.mk)

LIB_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) \
	  $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_SRC))
LIB = $(BUILD)/libcommon.a
BINS = $(addprefix $(BUILD)/,$(PROGS))
UNITS = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
FUZZ_REPLAY = $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))

.PHONY: all tests check demo bench install uninstall fuzz clean
.SECONDARY:

all: $(BINS)

tests: $(BINS) $(UNITS) $(FUZZ_REPLAY)

$(BUILD)/obj/%.o: %.c $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(QCFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(QCFLAGS) $(CFLAGS) -Wno-unused-parameter -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# A program is cmd/NAME.c or every .c file of cmd/NAME/.
define prog_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cmd/$(1).c cmd/$(1)/*.c)) $(LIB)
	$$(CC) $$(LDSAN) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/harness.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -ldl

# Fuzz targets also build with a plain compiler, linked to a driver that
# replays their saved corpus (tests/fuzz/corpus/NAME/) in `make check`.
$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/obj/tests/%.o: tests/%.c $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(QCFLAGS) $(CFLAGS) -Itests -MMD -MP -c $< -o $@

check:
	scripts/deps.sh
	scripts/check.sh

demo:
	scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/deps.sh
	$(MAKE) all
	scripts/bench.sh

# Scalar kernels only: the vector ones use GCC target pragmas clang rejects,
# and the parsers under test do not need them.
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang OPT="-O1 -g -DQU_SCALAR_ONLY -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
		LDSAN="-fsanitize=address,undefined" build/fuzz/libcommon.a
	@mkdir -p build/fuzz/bin
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		clang -std=c11 -D_DEFAULT_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Ilibcommon -Ibuild/fuzz/gen $(PKG_CFLAGS) $$f build/fuzz/libcommon.a \
		$(LDLIBS_ALL) -o build/fuzz/bin/$$n || exit 1; done
	@echo "run: build/fuzz/bin/fuzz_NAME tests/fuzz/corpus/fuzz_NAME"

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	for p in $(PROGS); do install -m 755 $(BUILD)/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MANS); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MANS); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$m); done

clean:
	rm -rf build demo-out

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
