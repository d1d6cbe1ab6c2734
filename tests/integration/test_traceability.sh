#!/bin/sh
# test_traceability.sh - doc/promises/ is what the rules give: the tables made from
# rules/ by build/tests/promises (the decision code's own dates for a sample record of
# each rule) are the ones committed, file for file, and every rule row names the
# promise it keeps. "make promises" writes them again after a rule change.
# Run from the repository root after make helpers (tests/run.sh does):
#   sh tests/integration/test_traceability.sh
set -u

gen=build/tests/promises
if [ ! -x "$gen" ]; then
	echo "test_traceability: $gen not found: run make helpers first"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_traceability.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! "$gen" rules "$tmp"; then
	echo "test_traceability: $gen rules failed"
	exit 1
fi
nrules=$(cat rules/*.rules | grep -c '^rule ')
nrows=$(cat "$tmp"/*.md | grep -c '^| [A-Z?][0-9]* | ')
if [ "$nrows" -ne "$nrules" ]; then
	echo "test_traceability: $nrules rules in rules/, $nrows rows in the tables"
	exit 1
fi
if grep -n '^| ? |' "$tmp"/*.md; then
	echo "test_traceability: a rule above names no promise (a \"# X1 (...)\" comment)"
	exit 1
fi
if ! diff -ru doc/promises "$tmp"; then
	echo "test_traceability: doc/promises/ differs from the rules: run make promises"
	exit 1
fi
echo "test_traceability: $nrules rules in $(ls "$tmp" | wc -l) tables, as committed"
