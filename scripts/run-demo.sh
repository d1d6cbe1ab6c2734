#!/bin/sh
# make run: retentiond in the foreground on the embedded demo (demo/retentiond.conf,
# the rules of rules/, a fresh demo inventory under build/demo). Ctrl-C (or SIGTERM to
# this script) stops it. Every process the script starts is stopped by its own pid when
# it ends, however it ends; nothing is looked up by name, so other users' (and other
# demos') processes are never touched.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
demo=$top/build/demo
ctl="$top/build/retentionctl -s $demo/control.sock"

# A fresh demo every time: the inventory's times are relative to now.
if [ -S "$demo/control.sock" ] && $ctl status >/dev/null 2>&1; then
	echo "run-demo: a demo daemon is already running on $demo/control.sock" >&2
	exit 1
fi
rm -rf "$demo"
mkdir -p "$demo/state" "$demo/files"
python3 scripts/demo-inventory.py "$demo/files" > "$demo/inventory.jsonl"
# A folder no inventory names: police certificates received 8 days, a week less two
# minutes, and 2 days ago. The scans find them; the first goes at once, the second while
# you watch, the third in 5 days.
mkdir -p "$demo/police-certificates"
python3 - "$demo/police-certificates" <<'EOP'
import os, sys, time
now = time.time()
for name, age in (("anna.pdf", 8 * 86400), ("bjorn.pdf", 7 * 86400 - 120), ("carl.pdf", 2 * 86400)):
    p = os.path.join(sys.argv[1], name)
    with open(p, "w") as f:
        f.write("police certificate (demo)\n")
    os.utime(p, (now - age, now - age))
EOP

# The pids of what the script started, newest first: cleanup stops the daemon first
# (and waits for it to finish its shutdown), then the rest, each by its pid.
pids=""
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# The demo backends: retention-fs, allowed to delete below build/demo/files only, and
# retention-sqlite. Their logs are prefixed through FIFOs, so that $! is the backend's
# own pid.
mkfifo "$demo/files.log" "$demo/db.log"
sed 's/^/[files] /' < "$demo/files.log" &
pids="$! $pids"
sed 's/^/[db] /' < "$demo/db.log" &
pids="$! $pids"
build/retention-fs --config demo/retention-fs.conf > "$demo/files.log" 2>&1 &
pids="$! $pids"
build/retention-sqlite --config demo/retention-sqlite.conf > "$demo/db.log" 2>&1 &
pids="$! $pids"

cat <<EOT
retentiond demo
  config     demo/retentiond.conf
  rules      rules/*.rules (five privacy notices)
  inventory  build/demo/state/inventory.db ($(wc -l < "$demo/inventory.jsonl") demo records)
  files      build/demo/files (the personal data the records point at)
  scanned    build/demo/police-certificates: no import; scanned every minute
  backends   retention-fs, deleting below build/demo/files only;
             retention-sqlite, de-identifying rows of build/demo/web.db

In another terminal, try:
  build/retentionctl -s build/demo/control.sock status
  build/retentionctl -s build/demo/control.sock plan --until 2030-01-01
  build/retentionctl -s build/demo/control.sock explain spekter/police-cert-1
  build/retentionctl -s build/demo/control.sock explain bjornson/shareholder-44
  build/retentionctl -s build/demo/control.sock review list
  build/retentionctl -s build/demo/control.sock audit query --limit 20
  build/retentionctl -s build/demo/control.sock report --since 2026-01-01 --until 2030-01-01
  ls build/demo/files        # watch the files go as their deadlines pass
  build/retentionctl -s build/demo/control.sock scan demo-files --wait
  touch -d '8 days ago' build/demo/police-certificates/new.pdf   # gone at the next scan
  sqlite3 build/demo/web.db 'SELECT * FROM visits'   # the IP address is truncated
(or export RETENTIONCTL_SOCKET=$demo/control.sock and drop -s). Ctrl-C stops the daemon.

EOT

# Load the inventory as soon as the daemon answers.
(
	i=0
	while ! $ctl status >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "run-demo: the daemon did not come up" >&2; exit 1; }
		sleep 0.1
	done
	$ctl import "$demo/inventory.jsonl"
	$ctl status
) &
pids="$! $pids"

# The daemon runs in the background of this script so that the traps above run at once
# on Ctrl-C or SIGTERM; its end (say, a configuration error) ends the demo too.
"$top/build/retentiond" --config demo/retentiond.conf &
daemon_pid=$!
pids="$daemon_pid $pids"
rc=0
wait "$daemon_pid" || rc=$?
exit "$rc"
