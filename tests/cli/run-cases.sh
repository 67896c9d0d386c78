#!/bin/sh
# Golden CLI tests.  Each case is tests/cli/cases/NAME.sh, run by sh in a fresh
# scratch folder with the programs on PATH, $CASES pointing at the cases
# folder and $FIXTURES at ../shared/fixtures (may be absent: a case that needs
# it prints "SKIP" on its own and exits 77).  Beside it:
#   NAME.sh.exit          expected exit status (default 0)
#   NAME.sh.stdout.exact  expected standard output, byte for byte
#   NAME.sh.stderr.exact  expected standard error, byte for byte
#   NAME.sh.stdout.grep / NAME.sh.stderr.grep
#                         extended regexes, one a line, each must match a line
set -u
cd "$(dirname "$0")"
CASES=$PWD/cases
export CASES
root=$(cd ../.. && pwd)
FIXTURES=${QUTILS_FIXTURES:-$root/../shared/fixtures}
export FIXTURES
[ -d "$FIXTURES" ] || FIXTURES=/nonexistent
status=0
for c in $(find "$CASES" -name '*.sh' | sort); do
	name=${c#"$CASES"/}
	tmp=$(mktemp -d)
	(cd "$tmp" && sh "$c" >stdout 2>stderr; echo $? >rc)
	rc=$(cat "$tmp/rc")
	want=0
	[ -f "$c.exit" ] && want=$(cat "$c.exit")
	why=""
	if [ "$rc" = 77 ]; then
		echo "SKIP cli/$name: $(head -c 200 "$tmp/stdout" | tr '\n' ' ')"
		rm -rf "$tmp"
		continue
	fi
	[ "$rc" = "$want" ] || why="exit $rc, expected $want; stderr: $(head -c 400 "$tmp/stderr" | tr '\n' ' ')"
	for s in stdout stderr; do
		if [ -z "$why" ] && [ -f "$c.$s.exact" ] && ! cmp -s "$c.$s.exact" "$tmp/$s"; then
			why="$s differs: $(diff "$c.$s.exact" "$tmp/$s" | head -8 | tr '\n' '|')"
		fi
		if [ -z "$why" ] && [ -f "$c.$s.grep" ]; then
			while IFS= read -r re; do
				[ -n "$re" ] || continue
				grep -Eq -- "$re" "$tmp/$s" || { why="$s lacks /$re/: $(head -c 300 "$tmp/$s" | tr '\n' '|')"; break; }
			done <"$c.$s.grep"
		fi
	done
	if [ -z "$why" ]; then
		echo "PASS cli/$name"
	else
		echo "FAIL cli/$name: $why"
		status=1
	fi
	rm -rf "$tmp"
done
exit $status
