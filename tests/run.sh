#!/bin/sh
# tests/run.sh BUILD SUITE... — runs test suites against the programs in BUILD.
# Suites: unit fuzz cli interop man.  Every test program prints PASS/FAIL/SKIP
# lines; they are copied to standard output and appended to $QUTILS_RESULTS
# (if set) for scripts/check.sh to total.  Exit 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
B=$1; shift
export QU_BIN="$PWD/$B"
export PATH="$QU_BIN:$QU_BIN/tools:$PATH"	# tools/: mkmodel and other test helpers
export QUTILS_NO_PROGRESS=1
out=$(mktemp)
status=0

run() { # label command...
	label=$1; shift
	t0=$(date +%s)
	"$@" >"$out.one" 2>"$out.err"
	rc=$?
	echo "# $label: $(( $(date +%s) - t0 )) s"
	cat "$out.one" >>"$out"
	cat "$out.one"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$out.one"; then
		# crashed or failed without saying which test: that is a failure too
		# the first sanitizer or error line says most; then the tail
		why=$( (grep -m2 -E 'ERROR|runtime error|Assertion|Segmentation' "$out.err"; tail -c 400 "$out.err") | tr '\n' ' ')
		echo "FAIL $label: exit $rc: $why" | tee -a "$out"
	fi
	[ $rc -eq 0 ] || status=1
}

for suite in "$@"; do
	case $suite in
	unit)
		# by source, so a stale binary of a removed test never runs
		for src in tests/unit/*.c; do
			[ -f "$src" ] || continue
			n=$(basename "$src" .c)
			run "$n" "$B/tests/unit/$n"
		done ;;
	fuzz)
		for src in tests/fuzz/fuzz_*.c; do
			[ -f "$src" ] || continue
			n=$(basename "$src" .c)
			run "$n" "$B/tests/fuzz/$n" "tests/fuzz/corpus/$n"
		done ;;
	cli)
		run cli tests/cli/run-cases.sh ;;
	interop)
		for t in tests/interop/test_*; do
			[ -x "$t" ] && run "$(basename "$t")" "$t"
		done ;;
	man)
		for m in man/*.[157]; do
			[ -f "$m" ] || continue
			if w=$(mandoc -Tlint -Wwarning "$m" 2>&1) && [ -z "$w" ]; then
				echo "PASS mandoc-lint $m" | tee -a "$out"
			else
				echo "FAIL mandoc-lint $m: $w" | tr '\n' ' ' | tee -a "$out"; echo | tee -a "$out"
				status=1
			fi
		done ;;
	*) echo "run.sh: unknown suite $suite" >&2; exit 2 ;;
	esac
done
[ -n "${QUTILS_RESULTS:-}" ] && cat "$out" >>"$QUTILS_RESULTS"
rm -f "$out" "$out.one" "$out.err"
exit $status
