#!/bin/sh
# Bounded libFuzzer run: build every tests/fuzz/fuzz_X.c with clang (libFuzzer + ASan +
# UBSan, the library instrumented too) into build/fuzz/, then fuzz each target in turn
# for SECONDS seconds on build/fuzz-corpus/X, seeded from tests/fuzz/corpus/X, with the
# libFuzzer dictionary tests/fuzz/fuzz_X.dict when there is one.
#
# Usage: sh tests/fuzz/run.sh [SECONDS]        (default 30; total time is SECONDS per target)
# Environment: FUZZ_CC (default clang); FUZZ_MAX_LEN, the largest input libFuzzer makes
# (default 4096; larger seeds are cut); FUZZ_LIB_SRC to build only some library files
# (default lib/*.c); FUZZ_TARGETS, the targets to run, e.g. "proto record" (default all).
# Exit status: 0 no crash; 1 a target crashed or did not build; 2 the library did not
# compile or the tools are missing. Crashing inputs are kept in build/fuzz/artifacts/X/.
set -u
cd "$(dirname "$0")/../.." || exit 2

secs=${1:-30}
case $secs in
'' | *[!0-9]*)
	echo "usage: sh tests/fuzz/run.sh SECONDS" >&2
	exit 2
	;;
esac

CC=${FUZZ_CC:-clang}
PKGS="libuv sqlite3 jansson libcrypto libsystemd"
OUT=build/fuzz
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
VERSION_DEF="-DRTN_VERSION=\"${VERSION:-0}\""
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Ilib"
CFLAGS="$CFLAGS -fno-omit-frame-pointer -fno-sanitize-recover=all"
SAN=address,undefined

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: $CC not found; libFuzzer needs clang (apt-get install clang)" >&2
	exit 2
fi
# shellcheck disable=SC2086
if ! PKG_CFLAGS=$(pkg-config --cflags $PKGS) || ! PKG_LIBS=$(pkg-config --libs $PKGS); then
	echo "fuzz: pkg-config does not know all of: $PKGS (run make deps)" >&2
	exit 2
fi

# --- the library, instrumented for coverage but without libFuzzer's main ------
mkdir -p "$OUT/obj" "$OUT/artifacts"
rm -f "$OUT"/obj/*.o "$OUT/librtn.a"
: >"$OUT/lib-build.log"
broken=""
for src in ${FUZZ_LIB_SRC:-lib/*.c}; do
	[ -f "$src" ] || continue
	obj=$OUT/obj/$(basename "$src" .c).o
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS "$VERSION_DEF" $PKG_CFLAGS -fsanitize=fuzzer-no-link,$SAN -c "$src" -o "$obj" \
		>>"$OUT/lib-build.log" 2>&1; then
		broken="$broken $src"
	fi
done
if [ -n "$broken" ]; then
	echo "fuzz: THE LIBRARY DOES NOT COMPILE with $CC:$broken"
	echo "fuzz: (another change may be in progress; see $OUT/lib-build.log)"
	grep -E 'error' "$OUT/lib-build.log" | head -n 20
	exit 2
fi
if ! ar rcs "$OUT/librtn.a" "$OUT"/obj/*.o; then
	echo "fuzz: no library objects (FUZZ_LIB_SRC=${FUZZ_LIB_SRC:-lib/*.c})" >&2
	exit 2
fi

# --- each target: build, seed, fuzz ------------------------------------------
status=0
ntargets=0
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	x=${name#fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		case " $FUZZ_TARGETS " in
		*" $x "*) ;;
		*) continue ;;
		esac
	fi
	ntargets=$((ntargets + 1))
	bin=$OUT/$name
	log=$OUT/$name.log
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS "$VERSION_DEF" $PKG_CFLAGS -fsanitize=fuzzer,$SAN "$src" "$OUT/librtn.a" \
		$PKG_LIBS -lm -lpthread -o "$bin" >"$log" 2>&1; then
		echo "$name: DOES NOT BUILD"
		tail -n 20 "$log"
		status=1
		continue
	fi

	corpus=build/fuzz-corpus/$x
	artifacts=$OUT/artifacts/$x/
	mkdir -p "$corpus" "$artifacts"
	if [ -d "tests/fuzz/corpus/$x" ]; then
		cp -p "tests/fuzz/corpus/$x"/* "$corpus"/ 2>/dev/null
	else
		echo "$name: no seeds in tests/fuzz/corpus/$x; starting from nothing"
	fi

	dict=tests/fuzz/$name.dict
	if [ -f "$dict" ]; then
		set -- -dict="$dict"
	else
		set --
	fi

	echo "$name: fuzzing for $secs s on $corpus${1:+ with $dict}"
	"$bin" -max_total_time="$secs" -max_len="${FUZZ_MAX_LEN:-4096}" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "$@" \
		-artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "$name: CRASH (exit $rc); the last lines of $log:"
		grep -v '^#[0-9]' "$log" | tail -n 40
		input=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -n 1)
		if [ -n "$input" ]; then
			echo "$name: crashing input: $input"
			echo "$name: reproduce with: $bin $input"
		else
			echo "$name: no input was saved; see $log and $artifacts"
		fi
		status=1
		continue
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	done_line=$(grep '^#[0-9]*[[:space:]]*DONE' "$log" | tail -n 1)
	echo "$name: no crash in $secs s (${runs:-?} runs, corpus $(find "$corpus" -type f | wc -l) inputs)"
	if [ -n "$done_line" ]; then
		echo "$name: $done_line"
	fi
done

if [ "$ntargets" -eq 0 ]; then
	echo "fuzz: no targets (tests/fuzz/fuzz_*.c)"
fi
exit $status
