#!/bin/sh
# Audit log throughput: AUDIT_BENCH_N entries (default 100 000) appended through lib/audit
# (build/tests/audit_tool bench) with three sync policies, beside the physical reference
# (dd: one write + fdatasync per line of the same size), then a full verification.
# The daemon's policy is group commit: one rtn_audit_sync() per batch of actions, so its
# cost per entry lies between "per 100" and "per entry" depending on batch size.
# Then audit check beside the streaming verifier (below).
# Runs on the disk of build/ (not a tmpfs); prints figures, never fails on a stopwatch.
set -eu
cd "$(dirname "$0")/../.."
N=${AUDIT_BENCH_N:-100000}
[ -x build/tests/audit_tool ] || make --no-print-directory build/tests/audit_tool >/dev/null
tmp=$(mktemp -d "$(pwd)/build/audit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fs=$(stat -f -c %T "$tmp")
echo "audit bench: $N entries per run, file system $fs ($tmp)"

rate() { # name sync-every
	rm -f "$tmp/audit.log"
	set -- "$1" "$(build/tests/audit_tool bench "$tmp/audit.log" "$N" "$2")"
	# "N entries in S s: R entries/s"
	printf "  %-36s %10s entries/s  (%s s)\n" "$1" "$(echo "$2" | sed 's/.*: \([0-9]*\) entries.*/\1/')" \
		"$(echo "$2" | sed 's/.* in \([0-9.]*\) s.*/\1/')"
}

echo "== append =="
rate "sync per entry (RTN_AUDIT_SYNC)" 1
rate "sync per 100 entries (group commit)" 100
rate "no sync (one at the end)" 0
bytes=$(wc -c < "$tmp/audit.log")
line=$((bytes / N))

# Physical reference: one line-sized write with O_DSYNC per entry, nothing else.
refn=$((N < 20000 ? N : 20000))
t0=$(date +%s.%N)
dd if=/dev/zero of="$tmp/dd.out" bs="$line" count="$refn" oflag=dsync status=none
t1=$(date +%s.%N)
printf "  %-36s %10s writes/s   (%s bytes each, %s writes)\n" "reference: dd oflag=dsync" \
	"$(awk -v n="$refn" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')" "$line" "$refn"

echo "== verify =="
t0=$(date +%s.%N)
build/tests/audit_tool verify "$tmp/audit.log" >/dev/null
t1=$(date +%s.%N)
printf "  %-36s %10s entries/s  (%s MiB)\n" "audit_tool verify (streaming)" \
	"$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')" \
	"$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"

# audit check beside the streaming verifier over one log of CHECK_BENCH_N entries (default
# 1 000 000) shaped like the daemon's deletions (record.put, job.sent, job.done), each
# program run in turn A B A B ... (CHECK_BENCH_PAIRS pairs, at least 3) so that a change
# of the machine's speed falls on both; the ratio of each pair, median and min-max.
. tests/bench/common.sh
CN=${CHECK_BENCH_N:-1000000}
PAIRS=${CHECK_BENCH_PAIRS:-3}
[ "$PAIRS" -ge 3 ] || PAIRS=3
[ -x build/retentiond ] || make --no-print-directory build/retentiond >/dev/null
rm -f "$tmp/audit.log"
build/tests/audit_tool jobs "$tmp/jobs.log" "$CN"
echo "== check ($CN entries, $(awk -v b="$(wc -c < "$tmp/jobs.log")" 'BEGIN { printf "%.0f", b / 1048576 }') MiB, $PAIRS pairs) =="
timed() { # command...: seconds
	t0=$(now)
	"$@" >/dev/null || [ $? -eq 1 ]
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
ratios=
i=0
while [ $i -lt "$PAIRS" ]; do
	i=$((i + 1))
	v=$(timed build/retentiond --verify-audit "$tmp/jobs.log")
	c=$(timed build/retentiond --check-audit "$tmp/jobs.log")
	r=$(awk -v v="$v" -v c="$c" 'BEGIN { printf "%.3f", v / c }')
	ratios="$ratios $r"
	printf "  pair %d: verify %s s (%s entries/s), check %s s (%s entries/s), check/verify %s\n" \
		"$i" "$v" "$(awk -v n="$CN" -v s="$v" 'BEGIN { printf "%.0f", n / s }')" \
		"$c" "$(awk -v n="$CN" -v s="$c" 'BEGIN { printf "%.0f", n / s }')" "$r"
done
echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '
	{ v[NR] = $1 }
	END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	      printf "  check entries/s vs verify: median %.0f %% (min %.0f %%, max %.0f %%) of %d pairs\n",
	             m * 100, v[1] * 100, v[NR] * 100, NR }'
