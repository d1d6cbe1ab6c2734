#!/bin/sh
# subject.sh: the cost of an anchor of the subject. The same records (BENCH_SUBJECT_N,
# default 100 000, of BENCH_SUBJECT_PEOPLE subjects, default 10 000, each subject's records
# spread over the whole file as an import in time order has them) imported into a fresh
# daemon under "delete 3 years after latest(last_activity) of subject" (A) and under
# "delete 3 years after last_activity" (B), interleaved A B A B A B; prints each time and
# the median of the three A/B ratios. Prints figures; never fails on a stopwatch.
set -eu
cd "$(dirname "$0")/../.."
N=${BENCH_SUBJECT_N:-100000}
P=${BENCH_SUBJECT_PEOPLE:-10000}
. tests/bench/common.sh
bench_tmpdir retention-bench-subject

base=$(date +%s)
python3 - "$N" "$P" "$base" > "$tmp/records.jsonl" <<'EOP'
import json, sys
n, people, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sys.stdout.write(json.dumps({"id": "s/%08d" % i, "category": "bench.profile",
                                 "subject": "person:%06d" % (i % people), "backend": "nb",
                                 "events": {"last_activity": base - (i * 7919 % 365) * 86400}},
                                separators=(",", ":")) + "\n")
EOP

# run NAME ANCHOR: the seconds of one import into a fresh daemon
run() {
	rm -rf "$tmp/$1-state" "$tmp/$1-audit.log" "$tmp/$1-rules"
	dispatch_conf "$tmp/$1.conf" "$tmp" "$1"
	echo "rule bench { category bench.profile; delete 3 years after $2 }" > "$tmp/$1-rules/b.rules"
	build/retentiond --config "$tmp/$1.conf" 2>"$tmp/$1.log" &
	pid=$!
	i=0
	until build/retentionctl -s "$tmp/$1.sock" status >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 200 ] && { cat "$tmp/$1.log" >&2; exit 1; }
		sleep 0.05
	done
	t0=$(now)
	build/retentionctl -s "$tmp/$1.sock" import "$tmp/records.jsonl" >"$tmp/$1.out" 2>&1
	t1=$(now)
	kill "$pid"; wait "$pid" || true; pid=
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

a1=$(run a "latest(last_activity) of subject"); b1=$(run b last_activity)
a2=$(run a "latest(last_activity) of subject"); b2=$(run b last_activity)
a3=$(run a "latest(last_activity) of subject"); b3=$(run b last_activity)
ratio=$(awk -v a1="$a1" -v b1="$b1" -v a2="$a2" -v b2="$b2" -v a3="$a3" -v b3="$b3" 'BEGIN {
	r[1] = a1 / b1; r[2] = a2 / b2; r[3] = a3 / b3
	for (i = 1; i <= 3; i++) for (j = i + 1; j <= 3; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
	printf "%.2f", r[2] }')
printf "  %-44s %12s s  (%s, %s, %s)\n" "import, latest(last_activity) of subject" "$a2" "$a1" "$a2" "$a3"
printf "  %-44s %12s s  (%s, %s, %s)\n" "import, last_activity (the record's own)" "$b2" "$b1" "$b2" "$b3"
printf "  %-44s %12s x  (median of A/B, interleaved A B A B A B; %s records, %s subjects)\n" \
	"subject anchor / own anchor" "$ratio" "$N" "$P"
