#!/bin/sh
# test_symbols.sh - every global symbol that build/librtn.a defines starts with "rtn_",
# so the library can be linked into any program without taking a name of its own (a
# helper of one module is static, or prefixed for the files that share it). nm comes with
# binutils, which the build needs for ar, so a missing nm fails rather than skips.
# Run from the repository root after make (tests/run.sh does):
#   sh tests/integration/test_symbols.sh [LIBRARY]
set -u

lib=${1:-build/librtn.a}
if ! command -v nm >/dev/null 2>&1; then
	echo "test_symbols: nm not found (binutils, which the build needs, provides it)"
	exit 1
fi
if [ ! -f "$lib" ]; then
	echo "test_symbols: $lib not found: run make first"
	exit 1
fi
syms=$(nm -A -g --defined-only "$lib") || {
	echo "test_symbols: nm cannot read $lib"
	exit 1
}
# Lines are "ARCHIVE:MEMBER.o:ADDRESS TYPE NAME" (a common symbol's ADDRESS is its size).
total=$(printf '%s\n' "$syms" | awk 'NF >= 3' | wc -l)
if [ "$total" -eq 0 ]; then
	echo "test_symbols: $lib defines no global symbol"
	exit 1
fi
bad=$(printf '%s\n' "$syms" | awk 'NF >= 3 && $NF !~ /^rtn_/ {
	n = split($1, part, ":")
	print "  " part[n - 1] ": " $NF " (" $2 ")"
}')
if [ -n "$bad" ]; then
	echo "test_symbols: FAILED, global symbols of $lib without the rtn_ prefix (member: name (type)):"
	printf '%s\n' "$bad"
	exit 1
fi
echo "test_symbols: $total global symbols of $lib, all rtn_*"
