#!/bin/sh
# The daemon's memory as the inventory grows: for each size in BENCH_RSS_SIZES (default
# 1 000 000 and 5 000 000 records), a fresh daemon imports that many records through
# retentionctl, of which BENCH_RSS_DUE (default 200 000) are due; a second daemon on that
# inventory sends those to the null backend. Prints each daemon's peak RSS and the
# dispatch rate (from the daemon's start), per size: flat figures mean memory does not
# follow the inventory. Then, on that daemon, what a status request costs (tests/bench/status.py):
# its counts are kept, so the figure should not follow the inventory either.
# Prints figures; never fails on a stopwatch.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
SIZES=${BENCH_RSS_SIZES:-1000000 5000000}
DUE=${BENCH_RSS_DUE:-200000}
tmp=$(mktemp -d /tmp/retention-rss.XXXXXX)
pid=
nbpid=
cleanup() {
	[ -n "$nbpid" ] && kill "$nbpid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

. tests/bench/common.sh

dispatch_conf "$tmp/r.conf" "$tmp" r
echo 'rule rss { category rss.doc; delete 10 years after created }' > "$tmp/r-rules/r.rules"
ctl="$top/build/retentionctl -s $tmp/r.sock"
out=""
st=""
for n in $SIZES; do
	echo "rss bench: $n records, $DUE of them due"
	rm -rf "$tmp/r-state" "$tmp/r-audit.log"
	# The due records come first (created 11 years ago), the rest are due in ten years.
	python3 - "$n" "$DUE" > "$tmp/records.jsonl" <<'EOP'
import json, sys, time
n, due = int(sys.argv[1]), int(sys.argv[2])
now = int(time.time())
old = now - 11 * 366 * 86400
w = sys.stdout.write
for i in range(n):
    w(json.dumps({"id": "rss/%09d" % i, "category": "rss.doc", "subject": "person:%d" % (i % 50000),
                  "backend": "nb", "locator": {"path": "/srv/rss/%09d" % i},
                  "events": {"created": old if i < due else now}}, separators=(",", ":")) + "\n")
EOP
	"$top/build/retentiond" --config "$tmp/r.conf" 2>"$tmp/r.log" &
	pid=$!
	i=0
	until $ctl status >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 200 ] && { cat "$tmp/r.log"; exit 1; }
		sleep 0.05
	done
	$ctl import "$tmp/records.jsonl" >/dev/null
	rss_import=$(hwm "$pid")
	kill "$pid"; wait "$pid" || true
	# A second daemon on the full inventory, its backend already listening.
	"$top/build/tests/null_backend" -s "$tmp/nb.sock" --exit-after "$DUE" &
	nbpid=$!
	until [ -S "$tmp/nb.sock" ]; do sleep 0.02; done
	t0=$(now)
	"$top/build/retentiond" --config "$tmp/r.conf" 2>>"$tmp/r.log" &
	pid=$!
	wait_dispatched "$nbpid" "$ctl" "$DUE" "$tmp/r.log"
	nbpid=
	t1=$(now)
	rss_disp=$(hwm "$pid")
	# What a monitor polling status costs, beside a full count of the same inventory.
	st="$st$(python3 "$top/tests/bench/status.py" "$tmp/r.sock" "$tmp/r-state/inventory.db")
"
	kill "$pid"; wait "$pid" || true; pid=
	rate=$(awk -v n="$DUE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	out="$out$(printf "  %-12s %16s MiB %21s MiB %14s jobs/s" "$n" "$(mib "$rss_import")" "$(mib "$rss_disp")" "$rate")
"
done
echo "== daemon memory by inventory size (peak RSS; target: flat, under 64 MiB) =="
printf "  %-12s %20s %25s %21s\n" "records" "after import" "dispatching $DUE" "dispatch rate"
printf "%s" "$out"
echo "== status by inventory size (counts kept, not counted; target < 1 ms) =="
printf "%s" "$st"
