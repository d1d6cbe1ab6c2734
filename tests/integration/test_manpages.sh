#!/bin/sh
# test_manpages.sh - the man pages match the programs: every long option that
# "PROGRAM --help" prints is documented in PROGRAM's page, and every page passes
# "mandoc -T lint -W warning". Without mandoc the lint is skipped: exit 77 (skipped)
# after the option checks passed. The lint is not a security or durability test, so it
# is skipped, not failed, also with CI=true (CI installs mandoc: scripts/deps.sh).
# Run from the repository root (tests/run.sh does): sh tests/integration/test_manpages.sh
set -u

fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_manpages.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# The text of a page as a reader sees it, plus its source with roff escapes and
# "Fl -" undone, so that an option counts as documented in either form.
page_text() {
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -T ascii -O width=1000 "$1" 2>/dev/null | col -b -x 2>/dev/null
	elif command -v man >/dev/null 2>&1; then
		MANWIDTH=1000 MANPAGER=cat PAGER=cat LC_ALL=C man -l "$1" 2>/dev/null |
			col -b -x 2>/dev/null
	fi
	sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\(hy/-/g' -e 's/Fl -/--/g' "$1"
}

# check PROGRAM SECTION REQUIRED: the long options of build/PROGRAM --help are all in
# man/PROGRAM.SECTION. A program that is not required is skipped when its binary or its
# page is missing.
check() {
	prog=$1 page=man/$1.$2 bin=build/$1 required=$3
	if [ ! -x "$bin" ] || [ ! -f "$page" ]; then
		if [ "$required" = yes ]; then
			[ -x "$bin" ] || echo "FAIL: $bin is missing (run make first)"
			[ -f "$page" ] || echo "FAIL: $page is missing"
			fail=1
		else
			echo "skip: $prog (no $bin or no $page)"
		fi
		return
	fi
	if ! "$bin" --help >"$tmp/help" 2>&1; then
		echo "FAIL: $bin --help exited with status $?"
		fail=1
		return
	fi
	opts=$(grep -o -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u)
	if [ -z "$opts" ]; then
		echo "FAIL: $bin --help shows no long option"
		fail=1
		return
	fi
	page_text "$page" >"$tmp/page"
	missing=
	n=0
	for o in $opts; do
		n=$((n + 1))
		grep -Eq -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$tmp/page" || missing="$missing $o"
	done
	if [ -n "$missing" ]; then
		echo "FAIL: $page lacks options of $bin --help:$missing"
		fail=1
	else
		echo "ok: $page documents all $n long options of $bin --help"
	fi
}

check retentiond 8 yes
check retentionctl 8 yes
check retention-fs 8 no
check retention-sqlite 8 no
check retention-postgres 8 no

if command -v mandoc >/dev/null 2>&1; then
	for f in man/*.[1-8]; do
		[ -f "$f" ] || continue
		out=$(mandoc -T lint -W warning "$f" 2>&1)
		rc=$?
		if [ -n "$out" ] || [ "$rc" -ne 0 ]; then
			echo "FAIL: mandoc -T lint -W warning $f (exit $rc):"
			printf '%s\n' "$out"
			fail=1
		else
			echo "ok: mandoc -T lint -W warning $f"
		fi
	done
else
	echo "skip: mandoc is not installed (Debian: mandoc); the pages were not linted"
	[ "$fail" -ne 0 ] || exit 77
fi

exit $fail
