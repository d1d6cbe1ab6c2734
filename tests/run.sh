#!/bin/sh
# Run the test groups (unit, fuzz, integration; all by default) and print one
# closing line "check: N passed, N failed, N skipped" (the CI reads it).
# Skips: a Python test counts its unittest skips ("skipped=N"); a shell test that
# exits 77 is skipped (as with automake); Check has no skips, so unit tests never are.
# With CI=true a skipped security or durability test fails instead (harness.skip_or_fail).
set -u
cd "$(dirname "$0")/.."
groups=${*:-unit fuzz integration}
passed=0
failed=0
skipped=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TZ=UTC

for g in $groups; do
	case $g in
	unit)
		for t in build/asan/tests/test_*; do
			[ -x "$t" ] || continue
			out=$("$t" 2>&1)
			rc=$?
			echo "$out" | grep -v '^Running suite' | grep -E 'Checks:|:[EF]:' | sed "s|^|$(basename "$t"): |"
			line=$(echo "$out" | grep 'Checks:' | tail -n 1)
			n=$(echo "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
			f=$(echo "$line" | sed -n 's/.*Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2/p')
			n=${n:-0}
			if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
				echo "$(basename "$t"): crashed (exit $rc)"
				echo "$out" | tail -n 30
				failed=$((failed + 1))
				continue
			fi
			set -- $f
			bad=$(( ${1:-0} + ${2:-0} ))
			passed=$((passed + n - bad))
			failed=$((failed + bad))
		done
		;;
	fuzz)
		# every libFuzzer dictionary entry is "TEXT" or NAME="TEXT" (\\, \" and \xNN)
		for dict in tests/fuzz/*.dict; do
			[ -f "$dict" ] || continue
			bad=$(grep -nvE '^[[:space:]]*(#.*)?$|^([A-Za-z0-9_]+=)?"([^"\\]|\\\\|\\"|\\x[0-9A-Fa-f]{2})*"[[:space:]]*$' "$dict")
			if [ -n "$bad" ]; then
				echo "$(basename "$dict"): FAILED, lines libFuzzer cannot read:"; echo "$bad" | head -n 5
				failed=$((failed + 1))
			else
				echo "$(basename "$dict"): $(grep -c '^[[:space:]]*[A-Za-z0-9_=]*"' "$dict") entries"
				passed=$((passed + 1))
			fi
		done
		for t in build/asan/fuzz-replay/fuzz_*; do
			[ -x "$t" ] || continue
			name=$(basename "$t")
			dir=tests/fuzz/corpus/${name#fuzz_}
			if "$t" "$dir"/* >/dev/null 2>build/fuzz-$name.log; then
				echo "$name: corpus replayed ($(ls "$dir" | wc -l) inputs)"
				passed=$((passed + 1))
			else
				echo "$name: FAILED"; tail -n 30 build/fuzz-$name.log
				failed=$((failed + 1))
			fi
		done
		;;
	integration)
		for t in tests/integration/test_*.sh; do
			[ -f "$t" ] || continue
			out=$(sh "$t" 2>&1)
			rc=$?
			if [ "$rc" -eq 0 ]; then
				echo "$(basename "$t" .sh): ok"
				passed=$((passed + 1))
			elif [ "$rc" -eq 77 ]; then
				echo "$(basename "$t" .sh): SKIPPED"
				echo "$out" | grep -i 'skip' | tail -n 10
				skipped=$((skipped + 1))
			else
				echo "$(basename "$t" .sh): FAILED"
				echo "$out" | tail -n 40
				failed=$((failed + 1))
			fi
		done
		# A Python file counts as one test; its skipped tests are counted one by one
		# and named. unittest prints "Ran N tests" and "OK (skipped=N)" or
		# "FAILED (failures=N, skipped=N)".
		for t in tests/integration/test_*.py; do
			[ -f "$t" ] || continue
			out=$(python3 "$t" 2>&1)
			rc=$?
			ran=$(printf "%s\n" "$out" | grep -E '^Ran [0-9]+ tests?' | tail -n 1)
			s=$(printf "%s\n" "$out" | grep -E '^(OK|FAILED) \(.*skipped=[0-9]+' | tail -n 1 |
				sed -n 's/.*skipped=\([0-9]*\).*/\1/p')
			s=${s:-0}
			skipped=$((skipped + s))
			note=$ran
			[ "$s" -eq 0 ] || note="$ran, $s skipped"
			if [ "$rc" -eq 0 ]; then
				echo "$(basename "$t" .py): ok ($note)"
				passed=$((passed + 1))
			else
				echo "$(basename "$t" .py): FAILED"
				# which tests, and why, even where the runner prints no summary of its own
				printf "%s\n" "$out" | grep -E '^(FAIL|ERROR): |^[A-Za-z_.]*(Error|Exception): ' |
					head -n 20 | sed "s|^|  |"
				printf "%s\n" "$out" | sed -n '/^FAILED (/,$p' | tail -n 40
				failed=$((failed + 1))
			fi
			[ "$s" -eq 0 ] || printf "%s\n" "$out" | grep -E ' \.\.\. skipped ' | sed "s|^|  |"
		done
		;;
	esac
done
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
