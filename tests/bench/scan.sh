#!/bin/sh
# Bench: scans. retention-fs lists a tree of N files and retention-sqlite a table of N rows;
# the daemon reconciles each with its inventory. Beside each, its physical reference on the
# same data: `find ROOT -printf '%p %T@\n'` for the files, a plain SELECT of the same
# columns (sqlite3) for the rows. The runs are interleaved, reference and scan by turns
# (R S1 R S2 R S3), so that a busy machine skews both sides alike: S1 is the first scan
# (every record new), S2 and S3 find nothing changed. Prints records/s, the first scan's
# rate as a share of the reference's median, the speed-up of an unchanged scan over the
# first, the audit entries an unchanged scan wrote, and the daemon's peak RSS.
#
# Usage: sh tests/bench/scan.sh      (after make)
# Environment: BENCH_SCAN_N (default BENCH_N, else 1000000), BENCH_SCAN_DIR (default
# build/bench-scan; a disk file system, not tmpfs).
# Exit status: 0 if the runs completed (whatever the figures), 1 on an error.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
N=${BENCH_SCAN_N:-${BENCH_N:-1000000}}
DIR=${BENCH_SCAN_DIR:-$top/build/bench-scan}
. tests/bench/common.sh
bench_tmpdir retention-scan
fspid= dbpid=
cleanup_scan() {
	for p in $pid $fspid $dbpid; do kill "$p" 2>/dev/null || true; done
	for p in $pid $fspid $dbpid; do wait "$p" 2>/dev/null || true; done
	pid=
	rm -rf "$DIR"
	bench_cleanup
}
trap cleanup_scan EXIT INT TERM
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
median3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -g | sed -n 2p; }

rm -rf "$DIR"
mkdir -p "$DIR/files"
echo "bench: making $N files (1000 per directory) and a table of $N rows"
python3 - "$DIR/files" "$N" "$DIR/rows.db" <<'EOP'
import os, sqlite3, sys, time
root, n, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = int(time.time()) - 86400
for i in range(n):
    if i % 1000 == 0:
        d = os.path.join(root, "d%05d" % (i // 1000))
        os.mkdir(d)
    p = os.path.join(d, "f%07d" % i)
    os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o644))
    os.utime(p, (t, t))
c = sqlite3.connect(db)
c.execute("CREATE TABLE rows(id INTEGER PRIMARY KEY, applicant TEXT, received_at INTEGER, hired INTEGER)")
c.executemany("INSERT INTO rows VALUES(?, ?, ?, ?)",
              ((i, "person:%d" % (i % 100000), t, i % 2) for i in range(n)))
c.commit()
EOP
sync

mkdir -p "$tmp/rules"
cat > "$tmp/rules/bench.rules" <<'EOR'
rule bench-file { category bench.file; delete 30 days after modified; basis "bench" }
rule bench-row { category bench.row; delete 30 days after received; basis "bench" }
EOR
cat > "$tmp/fs.conf" <<EOC
socket $tmp/fs.sock
root $DIR/files {
    scan category bench.file
}
EOC
cat > "$tmp/db.conf" <<EOC
socket $tmp/db.sock
database $DIR/rows.db
table rows {
    category bench.row
    key id
    scan category bench.row
    subject = applicant
    event received = received_at
    attribute hired = hired
}
EOC
cat > "$tmp/retentiond.conf" <<EOC
state-directory  $tmp/state
rules-directory  $tmp/rules
audit-log        $tmp/audit.log
control-socket   $tmp/control.sock
timezone         Europe/Oslo
log-level        warning
guard            off
backend fs { socket $tmp/fs.sock }
backend db { socket $tmp/db.sock }
EOC
build/retention-fs --config "$tmp/fs.conf" 2>"$tmp/fs.log" &
fspid=$!
build/retention-sqlite --config "$tmp/db.conf" 2>"$tmp/db.log" &
dbpid=$!
build/retentiond --config "$tmp/retentiond.conf" 2>"$tmp/daemon.log" &
pid=$!
ctl="build/retentionctl -s $tmp/control.sock"
i=0
until $ctl --json status 2>/dev/null | python3 2>/dev/null -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if all(b["connected"] and b["scan"]["can"] for b in s["backends"]) else 1)'; do
	i=$((i + 1)); [ $i -gt 400 ] && { cat "$tmp/daemon.log" "$tmp/fs.log" "$tmp/db.log"; exit 1; }
	sleep 0.05
done

entries() { wc -l < "$tmp/audit.log"; }
out=
# scan BACKEND: seconds for a scan and its reconciliation, end to end
scan() {
	t0=$(now)
	$ctl scan "$1" --wait > "$tmp/scan.out" 2>&1 || { cat "$tmp/scan.out"; exit 1; }
	t1=$(now)
	secs "$t0" "$t1"
}
ref_fs() {
	t0=$(now)
	find "$DIR/files" -printf '%p %T@\n' > /dev/null
	t1=$(now)
	secs "$t0" "$t1"
}
ref_db() {
	t0=$(now)
	sqlite3 "$DIR/rows.db" 'SELECT id, applicant, received_at, hired FROM rows' > /dev/null
	t1=$(now)
	secs "$t0" "$t1"
}

for side in fs db; do
	echo "bench: $side: reference and scan by turns (R S1 R S2 R S3)"
	r1=$(ref_$side); s1=$(scan $side)
	e0=$(entries)
	r2=$(ref_$side); s2=$(scan $side)
	e1=$(entries)
	r3=$(ref_$side); s3=$(scan $side)
	r=$(median3 "$r1" "$r2" "$r3")
	u=$(awk -v a="$s2" -v b="$s3" 'BEGIN { printf "%.2f", a < b ? a : b }')
	if [ "$side" = fs ]; then
		out="$out== scan of $N files (retention-fs) ==
"
		refname="reference: find -printf '%p %T@'"
	else
		out="$out== scan of $N rows (retention-sqlite) ==
"
		refname="reference: sqlite3 SELECT of the columns"
	fi
	out="$out$(printf "  %-44s %12s records/s  (%s s)" "first scan, end to end" "$(rate "$N" "$s1")" "$s1")
$(printf "  %-44s %12s records/s  (median of %s, %s, %s s)" "$refname" "$(rate "$N" "$r")" "$r1" "$r2" "$r3")
$(printf "  %-44s %11s%%   (target >= 50%%)" "first scan / reference" "$(awk -v a="$r" -v b="$s1" 'BEGIN { printf "%.0f", 100 * a / b }')")
$(printf "  %-44s %12s records/s  (best of %s, %s s)" "unchanged scan, end to end" "$(rate "$N" "$u")" "$s2" "$s3")
$(printf "  %-44s %11sx   (target >= 3x)" "unchanged scan speed-up over the first" "$(awk -v a="$s1" -v b="$u" 'BEGIN { printf "%.1f", a / b }')")
$(printf "  %-44s %12s   (the scan's own: started, completed)" "audit entries of an unchanged scan" "$((e1 - e0))")
"
done
rss=$(hwm "$pid")
records=$($ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"]["total"])')
printf "%s" "$out"
printf "  %-44s %12s MiB  (target < 64 MiB; %s records)\n" "daemon peak RSS" "$(mib "$rss")" "$records"
