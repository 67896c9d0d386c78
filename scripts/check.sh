#!/bin/sh
# The whole test run behind `make check`: build, every suite, the suites again
# under ASan+UBSan, the kernel tests with vector paths compiled out, then one
# closing line "N passed, N failed, N skipped" over everything.
set -u
cd "$(dirname "$0")/.."
J=$(nproc 2>/dev/null || echo 2)
QUTILS_RESULTS=$(mktemp)
export QUTILS_RESULTS
status=0

start=$(date +%s)
phase() { echo "== $* (at $(( $(date +%s) - start )) s)"; }

phase "build"
make -s -j"$J" all tests || { echo "FAIL build"; echo "FAIL build" >>"$QUTILS_RESULTS"; status=1; }
phase "tests"
tests/run.sh build unit fuzz cli interop man || status=1

phase "sanitizer build (ASan + UBSan)"
if make -s -j"$J" SAN=1 OPT="-O1 -g" BUILD=build/asan all tests; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		QUTILS_SANITIZED=1 tests/run.sh build/asan unit fuzz cli || status=1
else
	echo "FAIL sanitizer build" | tee -a "$QUTILS_RESULTS"; status=1
fi

phase "scalar-only build (vector kernels compiled out)"
if make -s -j"$J" SCALAR=1 BUILD=build/scalar all tests; then
	QUTILS_SCALAR_BUILD=1 tests/run.sh build/scalar unit || status=1
else
	echo "FAIL scalar build" | tee -a "$QUTILS_RESULTS"; status=1
fi

p=$(grep -c '^PASS ' "$QUTILS_RESULTS")
f=$(grep -c '^FAIL ' "$QUTILS_RESULTS")
s=$(grep -c '^SKIP ' "$QUTILS_RESULTS")
rm -f "$QUTILS_RESULTS"
[ "$f" -eq 0 ] || status=1
echo "# check took $(( $(date +%s) - start )) s"
echo "$p passed, $f failed, $s skipped"
exit $status
