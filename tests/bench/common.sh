# common.sh - shell functions of the bench scripts (sourced, not run).

now() { date +%s.%N; }

# bench_tmpdir NAME: $tmp, a new directory /tmp/NAME.XXXXXX, removed at exit after the
# daemon $pid (when set) is stopped.
bench_tmpdir() {
	tmp=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	pid=
	trap bench_cleanup EXIT INT TERM
}
bench_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
# The peak RSS of process $1, in KiB.
hwm() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# dispatch_conf FILE DIR NAME: a daemon config whose state, rules (DIR/NAME-rules), audit
# log and control socket (DIR/NAME.sock) are under DIR, with the guard off and the null
# backend "nb" at DIR/nb.sock, 1024 jobs in flight.
dispatch_conf() {
	mkdir -p "$2/$3-rules"
	cat > "$1" <<EOC
state-directory  $2/$3-state
rules-directory  $2/$3-rules
audit-log        $2/$3-audit.log
control-socket   $2/$3.sock
timezone         Europe/Oslo
log-level        warning
guard            off
backend nb {
    socket        $2/nb.sock
    max-inflight  1024
    timeout       60 seconds
}
EOC
}

# wait_dispatched NBPID CTL N LOG: the null backend started with --exit-after N exits after
# its N-th answer (waiting for it costs the daemon nothing, where a status request would
# count every record each time); then the last results' commit is awaited through status.
# Gives up after 30 minutes, showing LOG.
wait_dispatched() {
	waited=0
	while kill -0 "$1" 2>/dev/null; do
		sleep 0.05
		waited=$((waited + 1))
		[ $waited -lt 36000 ] || { echo "bench: dispatch stalled; see $4"; tail -n 20 "$4"; exit 1; }
	done
	wait "$1" 2>/dev/null || true
	until [ "$($2 --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"]["done"])')" -ge "$3" ]; do
		sleep 0.05
	done
}
