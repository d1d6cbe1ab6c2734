#!/bin/sh
# Bench: the cost of SQLite's secure_delete on the inventory's dispatch work.
#
# bench_ref_dispatch (the daemon's SQLite work per job: the job written, the record taken,
# the job done, the tombstone) runs on fresh copies of one inventory whose records are all
# queued, with secure_delete on and off in turn, A B A B ... (PAIRS pairs, so that a
# drift of the machine touches both sides alike). Prints each run's jobs/s and the
# median of the pairs' ratios (on / off) with their minimum and maximum. A figure, never
# a verdict: the exit status is 0 whenever the runs completed, 1 on an error.
#
# Usage: sh tests/bench/secdel.sh [DB BACKEND]   (after make all helpers)
#   DB, an inventory of queued records for BACKEND (not changed: each run gets a copy),
#   as tests/bench/run.sh makes for its dispatch figures; without it one of
#   BENCH_SECDEL_N records (default 100000) is made here through retentiond.
# Environment: BENCH_SECDEL_PAIRS (default 3), BENCH_SECDEL_BATCH (default 512).
set -u
cd "$(dirname "$0")/../.." || exit 1
PAIRS=${BENCH_SECDEL_PAIRS:-3}
BATCH=${BENCH_SECDEL_BATCH:-512}
REF=build/tests/bench_ref_dispatch
[ -x "$REF" ] || { echo "secdel bench: $REF is missing; run make helpers" >&2; exit 1; }
[ "$PAIRS" -ge 1 ] 2>/dev/null || { echo "secdel bench: BENCH_SECDEL_PAIRS must be >= 1" >&2; exit 1; }
. tests/bench/common.sh
bench_tmpdir retention-secdel

if [ $# -ge 2 ]; then
	db=$1 backend=$2
	[ -f "$db" ] || { echo "secdel bench: no database $db" >&2; exit 1; }
else
	N=${BENCH_SECDEL_N:-100000}
	echo "secdel bench: an inventory of $N queued deletions"
	dispatch_conf "$tmp/d.conf" "$tmp" d
	echo 'rule bench { category bench.doc; delete immediately after created }' > "$tmp/d-rules/b.rules"
	python3 - "$N" "$(date +%s)" > "$tmp/due.jsonl" <<'EOP' || exit 1
import json, sys
n, base = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    sys.stdout.write(json.dumps({"id": "d/%08d" % i, "category": "bench.doc", "backend": "nb",
                                 "subject": "person:%06d" % (i % 50000),
                                 "events": {"created": base - 3600}}, separators=(",", ":")) + "\n")
EOP
	build/retentiond --config "$tmp/d.conf" 2>"$tmp/d.log" &
	pid=$!
	ctl="build/retentionctl -s $tmp/d.sock"
	i=0
	until $ctl status >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 400 ] || { echo "secdel bench: the daemon did not start"; tail -n 20 "$tmp/d.log"; exit 1; }
		sleep 0.05
	done
	$ctl import "$tmp/due.jsonl" >/dev/null 2>&1 || { echo "secdel bench: import failed" >&2; exit 1; }
	kill "$pid"; wait "$pid"; pid=
	db=$tmp/d-state/inventory.db backend=nb
fi

# run MODE: one run on a fresh copy, synced so that the copy's writes are not the run's;
# prints its jobs/s.
run() {
	rm -f "$tmp/run.db" "$tmp/run.db-wal" "$tmp/run.db-shm"
	cp "$db" "$tmp/run.db" && sync "$tmp/run.db" || return 1
	set -- $("$REF" "$tmp/run.db" "$backend" "$BATCH" "$1") || return 1
	[ "${1:-0}" -gt 0 ] || { echo "secdel bench: no queued records for $backend in $db" >&2; return 1; }
	echo "$3"
}

echo "secdel bench: $PAIRS pairs, secure_delete on and off in turn"
ratios=
p=1
while [ $p -le "$PAIRS" ]; do
	on=$(run on) || exit 1
	off=$(run off) || exit 1
	r=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
	ratios="$ratios $r"
	printf "  pair %d: %-28s %10s jobs/s\n" "$p" "secure_delete on" "$on"
	printf "  pair %d: %-28s %10s jobs/s   on/off %s\n" "$p" "secure_delete off" "$off" "$r"
	p=$((p + 1))
done
echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk -v n="$PAIRS" '
	{ r[NR] = $1 }
	END {
		med = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
		printf "  %-44s %11.1f%%   (min %.1f%%, max %.1f%%; target >= 90%%)\n", \
			"secure_delete on / off, median of " n " pairs", 100 * med, 100 * r[1], 100 * r[n]
	}'
