#!/bin/sh
# Bench: deleting many files with retention-fs, find -delete and systemd-tmpfiles --clean.
#
# Each tool gets a fresh tree of N files (100 directories, 1 byte each, written back with
# sync before the clock starts) in the same directory of a disk file system, and deletes
# all of it. retention-fs (build/retention-fs, the optimised build) is driven over its
# socket by a small protocol driver that keeps WINDOW jobs in flight, as the daemon does
# with max-inflight. Prints files/s for each and the ratio of retention-fs to find.
#
# Usage: sh tests/bench/fs.sh      (after make)
# Environment: BENCH_FS_FILES (default 100000), BENCH_FS_DIR (default build/bench-fs;
# must not be tmpfs), BENCH_FS_WORKERS (default 8), BENCH_FS_WINDOW (default 64),
# BENCH_FS_TIMEOUT seconds per tool (default 120).
# Exit status: 0 if the runs completed (whatever the figures), 1 on an error.
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
N=${BENCH_FS_FILES:-100000}
DIR=${BENCH_FS_DIR:-$top/build/bench-fs}
WORKERS=${BENCH_FS_WORKERS:-8}
WINDOW=${BENCH_FS_WINDOW:-64}
LIMIT=${BENCH_FS_TIMEOUT:-120}
FS_BIN=$top/build/retention-fs

[ -x "$FS_BIN" ] || { echo "fs bench: $FS_BIN is missing; run make" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "fs bench: needs python3" >&2; exit 1; }
rm -rf "$DIR"
mkdir -p "$DIR" || exit 1
fstype=$(df --output=fstype "$DIR" 2>/dev/null | tail -n 1)
[ -n "$fstype" ] || fstype=$(stat -f -c %T "$DIR")
if [ "$fstype" = tmpfs ] || [ "$fstype" = ramfs ]; then
	echo "fs bench: $DIR is on $fstype; set BENCH_FS_DIR to a directory on a disk" >&2
	exit 1
fi
cleanup() {
	[ -n "${fspid:-}" ] && kill "$fspid" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

# make_tree DIR: N files in 100 directories, written back to disk.
make_tree() {
	python3 - "$1" "$N" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = (n + 99) // 100
for d in range(100):
    os.makedirs("%s/d%03d" % (root, d), exist_ok=True)
for i in range(n):
    fd = os.open("%s/d%03d/f%06d" % (root, i // per, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"x")
    os.close(fd)
EOF
	sync
}

now() { python3 -c 'import time; print(time.monotonic())'; }

# report NAME SECONDS
report() {
	python3 -c 'import sys; n, s = int(sys.argv[1]), float(sys.argv[3]); print("  %-44s %8.2f s %9.0f files/s" % (sys.argv[2], s, n / s))' "$N" "$1" "$2"
}

left() { find "$1" -type f | wc -l; }

echo "fs bench: $N files (100 directories, 1 byte each) on $fstype at $DIR, kernel $(uname -r)"

# --- find -delete ---------------------------------------------------------------------
make_tree "$DIR/find"
t0=$(now)
timeout "$LIMIT" find "$DIR/find" -mindepth 1 -delete || { echo "fs bench: find failed or timed out" >&2; exit 1; }
t1=$(now)
find_s=$(python3 -c "print($t1 - $t0)")
report "find -delete" "$find_s"

# --- systemd-tmpfiles --clean with an age rule ------------------------------------------
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	make_tree "$DIR/tmpfiles"
	printf 'e %s - - - 0\n' "$DIR/tmpfiles" >"$DIR/bench.conf"
	sleep 1 # age 0: everything older than now, by the clock's seconds
	t0=$(now)
	timeout "$LIMIT" systemd-tmpfiles --clean "$DIR/bench.conf" || echo "fs bench: systemd-tmpfiles exited $?" >&2
	t1=$(now)
	n_left=$(left "$DIR/tmpfiles")
	tmp_s=$(python3 -c "print($t1 - $t0)")
	report "systemd-tmpfiles --clean (e DIR - - - 0)" "$tmp_s"
	[ "$n_left" -eq 0 ] || echo "  (systemd-tmpfiles left $n_left files)"
else
	echo "  systemd-tmpfiles: not installed; skipped"
fi

# --- retention-fs, driven over its socket ------------------------------------------------
make_tree "$DIR/rfs"
cat >"$DIR/rfs.conf" <<EOF
socket    $DIR/rfs.sock
root      $DIR/rfs
workers   $WORKERS
log-level warning
EOF
"$FS_BIN" --config "$DIR/rfs.conf" 2>"$DIR/rfs.log" &
fspid=$!
rfs_s=$(timeout "$LIMIT" python3 - "$DIR/rfs.sock" "$DIR/rfs" "$N" "$WINDOW" <<'EOF'
# A stand-in for the daemon's dispatch: hello, then jobs with WINDOW in flight.
import json, os, socket, sys, time
path, root, n, window = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + 20
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        break
    except OSError:
        s.close()
        if time.monotonic() > deadline:
            sys.exit("retention-fs did not start")
        time.sleep(0.05)
s.sendall(b'{"type":"hello","protocol":1}\n')
buf = b""
while b"\n" not in buf:
    buf += s.recv(4096)
buf = buf.split(b"\n", 1)[1]
per = (n + 99) // 100
lines = [json.dumps({"type": "job", "job": "B%06d" % i, "action": "delete", "attempt": 1,
                     "record": {"id": "bench/%d" % i, "category": "bench",
                                "locator": {"path": "%s/d%03d/f%06d" % (root, i // per, i)}},
                     "rule": "bench", "due": "2026-01-01T00:00:00Z"}).encode() + b"\n"
         for i in range(n)]
t0 = time.monotonic()
sent = min(window, n)
s.sendall(b"".join(lines[:sent]))
got = bad = 0
while got < n:
    data = s.recv(1 << 16)
    if not data:
        sys.exit("retention-fs closed the connection after %d results" % got)
    buf += data
    k = buf.count(b"\n")
    if k:
        head, _, buf = buf.rpartition(b"\n")
        bad += head.count(b'"failed"')
        got += k
        more = min(k, n - sent)
        if more:
            s.sendall(b"".join(lines[sent:sent + more]))
            sent += more
t1 = time.monotonic()
if bad:
    sys.exit("%d jobs failed" % bad)
print(t1 - t0)
EOF
) || { echo "fs bench: the retention-fs run failed" >&2; cat "$DIR/rfs.log" >&2; exit 1; }
kill -TERM "$fspid"
wait "$fspid" || { echo "fs bench: retention-fs exited $?" >&2; cat "$DIR/rfs.log" >&2; exit 1; }
fspid=
n_left=$(left "$DIR/rfs")
[ "$n_left" -eq 0 ] || { echo "fs bench: retention-fs left $n_left files" >&2; exit 1; }
report "retention-fs (workers $WORKERS, $WINDOW jobs in flight)" "$rfs_s"

python3 -c 'import sys; r = float(sys.argv[1]) / float(sys.argv[2]); print("  retention-fs / find -delete: %.2fx (target: at least 2x) - %s" % (r, "met" if r >= 2 else "NOT MET"))' "$find_s" "$rfs_s"
