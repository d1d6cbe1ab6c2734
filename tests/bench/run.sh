#!/bin/sh
# make bench: performance figures, each beside its physical reference on this machine.
# BENCH_N records (default 1 000 000); BENCH_PG_N deletions in PostgreSQL (tests/bench/pg.py,
# default 100 000). Prints figures; never fails on a stopwatch.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
N=${BENCH_N:-1000000}
. tests/bench/common.sh
bench_tmpdir retention-bench
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
# The records' backend; not running: due records wait in the queue.
backend bench { socket $tmp/bench.sock }
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
rss_kib=$(hwm "$pid")
db_bytes=$(cat "$tmp"/state/inventory.db* | wc -c)

echo "bench: plan for a year over the inventory"
until=$(date -d "@$((base + 365 * 86400))" +%Y-%m-%d)
t0=$(now)
$ctl --json plan --until "$until" >"$tmp/plan.json"
t1=$(now)
plan_secs=$(ms "$t0" "$t1")
plan_count=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$tmp/plan.json")
rss2_kib=$(hwm "$pid")

kill "$pid"; wait "$pid" || true; pid=

# --- dispatch: N due records through the null backend --------------------------------------
echo "bench: dispatch of $N due deletions through the null backend"
dispatch_conf "$tmp/d.conf" "$tmp" d
echo 'rule bench { category bench.doc; delete immediately after created }' > "$tmp/d-rules/b.rules"
python3 - "$N" "$base" > "$tmp/due.jsonl" <<'EOP'
import json, sys
n, base = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    sys.stdout.write(json.dumps({"id": "d/%08d" % i, "category": "bench.doc", "backend": "nb",
                                 "events": {"created": base - 3600}}, separators=(",", ":")) + "\n")
EOP
build/retentiond --config "$tmp/d.conf" 2>"$tmp/d.log" &
pid=$!
dctl="build/retentionctl -s $tmp/d.sock"
until $dctl status >/dev/null 2>&1; do sleep 0.05; done
$dctl import "$tmp/due.jsonl" >/dev/null 2>&1
rss_d1=$(hwm "$pid")
kill "$pid"; wait "$pid" || true; pid=
cp "$tmp/d-state/inventory.db" "$tmp/ref-dispatch.db"
cp "$tmp/d-state/inventory.db" "$tmp/secdel.db" # secdel.sh's copy: the one above is used up
build/retentiond --config "$tmp/d.conf" 2>>"$tmp/d.log" &
pid=$!
until $dctl status >/dev/null 2>&1; do sleep 0.05; done
t0=$(now)
build/tests/null_backend -s "$tmp/nb.sock" --exit-after "$N" &
nbpid=$!
wait_dispatched "$nbpid" "$dctl" "$N" "$tmp/d.log"
t1=$(now)
disp_secs=$(ms "$t0" "$t1")
disp_rate=$(awk -v n="$N" -v s="$disp_secs" 'BEGIN { printf "%.0f", n / s }')
rss_d2=$(hwm "$pid")
kill "$pid"; wait "$pid" || true; pid=
set -- $(build/tests/bench_ref_dispatch "$tmp/ref-dispatch.db" nb 512)
dref_rate=$3
dref_secs=$2

# --- delay from deadline to send ----------------------------------------------------------------
D=${BENCH_DELAY_N:-20000}
echo "bench: delay from deadline to send ($D records due over the next 30 s)"
rm -rf "$tmp/d-state" "$tmp/d-audit.log"
start=$(( $(date +%s) + 5 ))
python3 - "$D" "$start" > "$tmp/soon.jsonl" <<'EOP'
import json, sys
n, start = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    sys.stdout.write(json.dumps({"id": "s/%08d" % i, "category": "bench.doc", "backend": "nb",
                                 "events": {"created": start + (i * 30) // n}}, separators=(",", ":")) + "\n")
EOP
build/retentiond --config "$tmp/d.conf" 2>>"$tmp/d.log" &
pid=$!
until $dctl status >/dev/null 2>&1; do sleep 0.05; done
build/tests/null_backend -s "$tmp/nb.sock" --log "$tmp/nb.log" &
nbpid=$!
$dctl import "$tmp/soon.jsonl" >/dev/null 2>&1
until [ "$(wc -l < "$tmp/nb.log" 2>/dev/null || echo 0)" -ge "$D" ]; do sleep 0.5; done
kill "$nbpid" "$pid"; wait "$pid" || true; pid=
delays=$(python3 - "$tmp/nb.log" "$tmp/soon.jsonl" <<'EOP'
import json, sys
due = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    due[r["id"]] = r["events"]["created"] * 1000
d = sorted(int(f[5]) - due[f[2]] for f in (l.split() for l in open(sys.argv[1])))
early = sum(1 for x in d if x < 0)
print(d[len(d) // 2], d[int(len(d) * 0.99)], early)
EOP
)
set -- $delays
delay_p50=$1 delay_p99=$2 delay_early=$3

# --- idle cost ------------------------------------------------------------------------------
IDLE=${BENCH_IDLE_SECONDS:-120}
echo "bench: idle wake-ups over $IDLE s with nothing due for an hour"
rm -rf "$tmp/d-state" "$tmp/d-audit.log"
build/tests/null_backend -s "$tmp/nb.sock" &
nbpid=$!
build/retentiond --config "$tmp/d.conf" 2>>"$tmp/d.log" &
pid=$!
until $dctl status >/dev/null 2>&1; do sleep 0.05; done
python3 -c "
import json,sys,time
t=int(time.time())+7200
for i in range(1000): print(json.dumps({'id':'i/%d'%i,'category':'bench.doc','backend':'nb','events':{'created':t}}))" > "$tmp/idle.jsonl"
$dctl import "$tmp/idle.jsonl" >/dev/null 2>&1
sleep 2
c0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
w0=$($dctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["control"]["wakeups"])')
sleep "$IDLE"
c1=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
w1=$($dctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["control"]["wakeups"])')
kill "$pid" "$nbpid"; wait "$pid" || true; pid=
# Two of the context switches are the status requests that read the counters.
idle_ctx=$(awk -v a="$c0" -v b="$c1" -v s="$IDLE" 'BEGIN { printf "%.2f", (b - a - 2) * 60 / s }')
idle_timer=$(awk -v a="$w0" -v b="$w1" -v s="$IDLE" 'BEGIN { printf "%.2f", (b - a) * 60 / s }')

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
dratio=$(awk -v a="$disp_rate" -v b="$dref_rate" 'BEGIN { printf "%.0f", 100 * a / b }')
echo "== dispatch ($N due deletions, null backend, max-inflight 1024) =="
printf "  %-44s %12s jobs/s  (%s s)\n" "retentiond -> null backend, end to end" "$disp_rate" "$disp_secs"
printf "  %-44s %12s jobs/s  (%s s)\n" "reference: same SQLite work, batches of 512" "$dref_rate" "$dref_secs"
printf "  %-44s %11s%%   (target >= 50%%)\n" "ratio" "$dratio"
printf "  %-44s %12s MiB  after import, %s MiB after dispatch\n" "daemon peak RSS" \
	"$(awk -v k="$rss_d1" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$rss_d2" 'BEGIN { printf "%.1f", k / 1024 }')"
echo "== delay from deadline to send ($D records) =="
printf "  %-44s %12s ms\n" "median" "$delay_p50"
printf "  %-44s %12s ms\n" "p99" "$delay_p99"
printf "  %-44s %12s   (must be 0)\n" "sent before the deadline" "$delay_early"
echo "== idle (nothing due for an hour) =="
printf "  %-44s %12s /min  (target <= 1)\n" "timer wake-ups" "$idle_timer"
printf "  %-44s %12s /min\n" "all voluntary context switches" "$idle_ctx"

if [ -f tests/bench/audit.sh ]; then
	echo "== audit log =="
	sh tests/bench/audit.sh
fi
if [ -f tests/bench/secdel.sh ]; then
	echo "== secure_delete on dispatch (reference loop, $N queued deletions) =="
	sh tests/bench/secdel.sh "$tmp/secdel.db" nb
	rm -f "$tmp/secdel.db"
fi
if [ -f tests/bench/fs.sh ] && [ -x build/retention-fs ]; then
	echo "== retention-fs =="
	sh tests/bench/fs.sh
fi
if [ -f tests/bench/scan.sh ] && [ -x build/retention-fs ] && [ -x build/retention-sqlite ]; then
	echo "== scans (retention-fs, retention-sqlite) =="
	sh tests/bench/scan.sh
fi
if [ -f tests/bench/pg.py ]; then
	python3 tests/bench/pg.py
fi
if [ -f tests/bench/subject.sh ]; then
	echo "== anchors of the subject =="
	sh tests/bench/subject.sh
fi
if [ -f tests/bench/rss.sh ] && [ "${BENCH_RSS:-1}" != 0 ]; then
	sh tests/bench/rss.sh
fi
