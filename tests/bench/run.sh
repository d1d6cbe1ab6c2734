#!/bin/sh
# make bench: performance figures, each beside its physical reference on this machine.
# BENCH_N records (default 1 000 000). Prints figures; never fails on a stopwatch.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
N=${BENCH_N:-1000000}
tmp=$(mktemp -d /tmp/retention-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

base=$(date +%s)
echo "bench: generating $N records"
python3 tests/bench/gen.py "$N" "$base" > "$tmp/records.jsonl"

echo "bench: reference (plain C loop, one prepared statement, 10 000-row transactions)"
set -- $(build/tests/bench_ref_insert "$tmp/records.jsonl" "$tmp/ref.db" rules Europe/Oslo)
ref_rate=$3
ref_secs=$2

cat > "$tmp/retentiond.conf" <<EOC
state-directory  $tmp/state
rules-directory  $top/rules
audit-log        $tmp/audit.log
control-socket   $tmp/control.sock
timezone         Europe/Oslo
log-level        warning
EOC
build/retentiond --config "$tmp/retentiond.conf" 2>"$tmp/daemon.log" &
pid=$!
ctl="build/retentionctl -s $tmp/control.sock"
i=0
until $ctl status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && { cat "$tmp/daemon.log"; exit 1; }
	sleep 0.05
done
echo "bench: importing through retentionctl import"
t0=$(now)
$ctl import "$tmp/records.jsonl" >"$tmp/import.out" 2>&1
t1=$(now)
imp_secs=$(ms "$t0" "$t1")
imp_rate=$(awk -v n="$N" -v s="$imp_secs" 'BEGIN { printf "%.0f", n / s }')
rss_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
db_bytes=$(cat "$tmp"/state/inventory.db* | wc -c)

echo "bench: plan for a year over the inventory"
until=$(date -d "@$((base + 365 * 86400))" +%Y-%m-%d)
t0=$(now)
$ctl --json plan --until "$until" >"$tmp/plan.json"
t1=$(now)
plan_secs=$(ms "$t0" "$t1")
plan_count=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$tmp/plan.json")
rss2_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")

kill "$pid"; wait "$pid" || true; pid=

ratio=$(awk -v a="$imp_rate" -v b="$ref_rate" 'BEGIN { printf "%.0f", 100 * a / b }')
echo
echo "== import ($N records) =="
printf "  %-44s %12s records/s  (%s s)\n" "retentionctl import -> retentiond" "$imp_rate" "$imp_secs"
printf "  %-44s %12s records/s  (%s s)\n" "reference: plain insert loop" "$ref_rate" "$ref_secs"
printf "  %-44s %11s%%   (target >= 50%%)\n" "ratio" "$ratio"
printf "  %-44s %12s MiB\n" "inventory size (db + wal)" "$(awk -v b="$db_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
printf "  %-44s %12s MiB  (target < 64 MiB)\n" "daemon peak RSS after import" "$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')"
echo "== plan for a year =="
printf "  %-44s %12s s  (%s actions counted)\n" "plan --until $until" "$plan_secs" "$plan_count"
printf "  %-44s %12s MiB\n" "daemon peak RSS after plan" "$(awk -v k="$rss2_kib" 'BEGIN { printf "%.1f", k / 1024 }')"
