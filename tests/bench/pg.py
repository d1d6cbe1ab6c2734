#!/usr/bin/env python3
"""Bench: deletions by key in PostgreSQL through retentiond and retention-postgres, beside
two plain libpq loops on the same table of the same server in the same run.

A PostgreSQL server is started for the bench (tests/integration/pg_server.py: initdb and
pg_ctl in a temporary directory on disk, socket only, fsync and full_page_writes on: the
durability a real server has).  N records (BENCH_PG_N, default 100 000), all due, are
imported into a retentiond inventory once; that inventory is copied back before each run
of the daemon.  Each round runs three sides, each on a fresh table of N rows (id bigint
primary key, two text columns; vacuumed, analysed and checkpointed before the clock starts):

  A   retentiond (build/retentiond, max-inflight 1024) -> retention-postgres (build/,
      its defaults: 2 workers, batches of up to 100 jobs, transaction-limit 1 s, already
      listening): from the daemon's start until status counts N jobs done (every result
      committed in the inventory); then the table must be empty;
  B1  build/tests/bench_ref_pg: one prepared DELETE per row, each its own transaction
      (BENCH_PG_REF1_N rows, default N);
  B2  the same loop with 500 DELETEs per transaction (N rows).

Rounds (BENCH_PG_ROUNDS, at least 3) interleave the sides, A B1 B2 A B1 B2 ..., so a drift
of the machine touches all of them; the ratios are taken per round and shown as median
(min - max).  While A runs, bench_ref_pg watch samples pg_stat_activity every 10 ms for the
oldest open transaction of the backend's sessions (application_name): the longest one
seen, on the server's clock, is printed (a transaction shorter than the interval can be
missed; the true longest is at most one interval more than the figure).

Prints figures; never fails on a stopwatch.  Exit 1 only if a run did not complete.
Usage: python3 tests/bench/pg.py (after make all helpers)
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import pg_server  # noqa: E402

N = int(os.environ.get("BENCH_PG_N", "100000"))
N1 = min(N, int(os.environ.get("BENCH_PG_REF1_N", str(N))))
ROUNDS = max(3, int(os.environ.get("BENCH_PG_ROUNDS", "3")))
LIMIT = float(os.environ.get("BENCH_PG_TIMEOUT", "600"))
WATCH_MS = 10
APP = "bench-retention-postgres"
DAEMON = os.path.join(TOP, "build", "retentiond")
CTL = os.path.join(TOP, "build", "retentionctl")
BACKEND = os.path.join(TOP, "build", "retention-postgres")
REF = os.path.join(TOP, "build", "tests", "bench_ref_pg")
SETTINGS = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on",
            "shared_buffers": "128MB", "max_wal_size": "2GB", "checkpoint_timeout": "30min",
            "autovacuum": "off"}


class BenchError(Exception):
    pass


def ctl(path, cmd, args=None, timeout=60):
    """One request to the daemon's control socket; its result."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        req = {"id": 1, "cmd": cmd}
        if args is not None:
            req["args"] = args
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise BenchError("the daemon closed the control connection")
            buf += chunk
    finally:
        s.close()
    reply = json.loads(buf.split(b"\n", 1)[0])
    if not reply.get("ok"):
        raise BenchError("%s: %s" % (cmd, reply.get("error")))
    return reply["result"]


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise BenchError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def accepting(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Proc:
    """A process of the bench, stopped by its pid (SIGTERM, then SIGKILL) at the end."""

    live = []

    def __init__(self, argv, log, **kw):
        self.log = log
        with open(log, "ab") as f:
            self.p = subprocess.Popen(argv, stdin=kw.pop("stdin", subprocess.DEVNULL),
                                      stdout=kw.pop("stdout", f), stderr=f, **kw)
        Proc.live.append(self)

    def stop(self, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise BenchError("%s did not stop after SIGTERM; see %s" % (self.p.args[0], self.log))
        if self in Proc.live:
            Proc.live.remove(self)
        return self.p.returncode


def fresh_table(pg):
    pg.psql("DROP TABLE IF EXISTS bench;"
            "CREATE TABLE bench (id bigint PRIMARY KEY, name text NOT NULL, email text,"
            " created timestamptz NOT NULL DEFAULT now());"
            "INSERT INTO bench (id, name, email) SELECT g, 'name ' || g,"
            " 'user' || g || '@example.org' FROM generate_series(0, %d) g;"
            "GRANT SELECT, DELETE ON bench TO retention;" % (N - 1), db="bench")
    pg.psql("VACUUM ANALYZE bench", db="bench")
    pg.psql("CHECKPOINT", db="bench")


def count(pg):
    return int(pg.psql("SELECT count(*) FROM bench", db="bench").strip())


def ref(pg, rows, batch):
    out = subprocess.run([REF, "delete", pg.conninfo("bench", "retention"), "bench", "0",
                          str(rows), str(batch)], capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchError("bench_ref_pg delete (batch %d): %s" % (batch, out.stderr.strip()))
    n, secs, rate = out.stdout.split()
    return float(secs), float(rate)


def main():
    for p in (DAEMON, CTL, BACKEND, REF):
        if not os.access(p, os.X_OK):
            print("  skipped: %s is missing (make all helpers)" % p)
            return 0
    why = pg_server.available()
    if why:
        print("  skipped: %s" % why)
        return 0
    tmp = tempfile.mkdtemp(prefix="rtn-bench-pg.", dir="/tmp")
    pg = None
    try:
        pg = pg_server.PgServer(tmp, settings=SETTINGS)
        pg.psql("CREATE ROLE retention LOGIN; CREATE DATABASE bench")
        version = pg.psql("SHOW server_version").strip()
        print("pg bench: %d deletions by key, PostgreSQL %s (fsync on), %d rounds, "
              "%d rows in the one-per-transaction loop" % (N, version, ROUNDS, N1))
        rules = os.path.join(tmp, "rules")
        os.makedirs(rules)
        with open(os.path.join(rules, "bench.rules"), "w") as f:
            f.write("rule bench-pg { category bench.pg; delete immediately after created }\n")
        ctl_sock = os.path.join(tmp, "ctl.sock")
        be_sock = os.path.join(tmp, "pgb.sock")
        state, audit = os.path.join(tmp, "state"), os.path.join(tmp, "audit.log")
        with open(os.path.join(tmp, "retentiond.conf"), "w") as f:
            f.write("state-directory %s\nrules-directory %s\naudit-log %s\ncontrol-socket %s\n"
                    "timezone Europe/Oslo\nlog-level warning\nguard off\n"
                    "backend pg {\n    socket %s\n    max-inflight 1024\n"
                    "    timeout 60 seconds\n}\n" % (state, rules, audit, ctl_sock, be_sock))
        with open(os.path.join(tmp, "pg.conf"), "w") as f:
            f.write("socket %s\nconninfo \"%s\"\napplication-name %s\nlog-level warning\n"
                    "table bench { category bench.pg; key id }\n"
                    % (be_sock, pg.conninfo("bench", "retention"), APP))
        base = int(time.time()) - 3600
        with open(os.path.join(tmp, "records.jsonl"), "w") as f:
            for i in range(N):
                f.write('{"id":"pg/%08d","category":"bench.pg","backend":"pg",'
                        '"locator":{"key":%d},"events":{"created":%d}}\n' % (i, i, base))
        daemon_log = os.path.join(tmp, "daemon.log")

        def start_daemon():
            d = Proc([DAEMON, "--config", os.path.join(tmp, "retentiond.conf")], daemon_log)
            wait(lambda: d.p.poll() is not None or accepting(ctl_sock), 60,
                 "retentiond's control socket")
            if d.p.poll() is not None:
                raise BenchError("retentiond exited %s; see %s" % (d.p.returncode, daemon_log))
            return d

        print("pg bench: importing %d due records (no backend running)" % N)
        d = start_daemon()
        imp = subprocess.run([CTL, "-s", ctl_sock, "import", os.path.join(tmp, "records.jsonl")],
                             capture_output=True, text=True)
        if imp.returncode != 0:
            raise BenchError("retentionctl import: %s" % imp.stderr[-2000:])
        d.stop()
        shutil.copytree(state, state + ".saved")
        shutil.copy2(audit, audit + ".saved")

        rounds = []
        for rnd in range(1, ROUNDS + 1):
            # A: retentiond -> retention-postgres
            fresh_table(pg)
            shutil.rmtree(state)
            shutil.copytree(state + ".saved", state)
            shutil.copy2(audit + ".saved", audit)
            be_log = os.path.join(tmp, "backend.%d.log" % rnd)
            be = Proc([BACKEND, "--config", os.path.join(tmp, "pg.conf")], be_log)
            wait(lambda: be.p.poll() is not None or accepting(be_sock), 60,
                 "retention-postgres's socket")
            if be.p.poll() is not None:
                raise BenchError("retention-postgres exited %s; see %s" % (be.p.returncode, be_log))
            watch = Proc([REF, "watch", pg.conninfo("bench", "postgres"), APP, str(WATCH_MS)],
                         os.path.join(tmp, "watch.log"), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
            t0 = time.monotonic()  # the daemon's start-up counts against it
            d = start_daemon()
            wait(lambda: ctl(ctl_sock, "status")["jobs"]["done"] >= N, LIMIT,
                 "%d jobs done (see %s and %s)" % (N, daemon_log, be_log))
            a_secs = time.monotonic() - t0
            d.stop()
            watch.p.stdin.close()
            longest = float(watch.p.stdout.read().split()[0])
            watch.stop()
            be.stop()
            left = count(pg)
            if left:
                raise BenchError("%d rows left after %d jobs done" % (left, N))
            a_rate = N / a_secs
            # B1, B2: the plain loops
            fresh_table(pg)
            b1_secs, b1_rate = ref(pg, N1, 1)
            fresh_table(pg)
            b2_secs, b2_rate = ref(pg, N, 500)
            rounds.append((a_rate, a_secs, b1_rate, b1_secs, b2_rate, b2_secs, longest))
            print("  round %d: retention-postgres %8.0f rows/s (%.1f s), one per transaction "
                  "%7.0f rows/s (%.1f s), 500 per transaction %7.0f rows/s (%.1f s); longest "
                  "transaction %.3f s" % (rnd, a_rate, a_secs, b1_rate, b1_secs, b2_rate,
                                           b2_secs, longest))

        def med(k):
            return statistics.median(r[k] for r in rounds)

        r1 = [r[0] / r[2] for r in rounds]
        r2 = [100 * r[0] / r[4] for r in rounds]
        print("== retention-postgres (%d deletions by key, PostgreSQL %s, fsync on; median of "
              "%d interleaved rounds) ==" % (N, version, ROUNDS))
        print("  %-52s %9.0f rows/s" % ("retentiond -> retention-postgres (2 workers)", med(0)))
        print("  %-52s %9.0f rows/s" % ("libpq loop, one DELETE per transaction", med(2)))
        print("  %-52s %9.0f rows/s" % ("libpq loop, 500 DELETEs per transaction", med(4)))
        print("  %-52s %8.2fx   (min %.2f - max %.2f; target >= 3x)"
              % ("ratio to one per transaction", statistics.median(r1), min(r1), max(r1)))
        print("  %-52s %8.0f%%    (min %.0f - max %.0f; target >= 60%%)"
              % ("ratio to 500 per transaction", statistics.median(r2), min(r2), max(r2)))
        print("  %-52s %9.3f s   (max over rounds; pg_stat_activity.xact_start sampled every "
              "%d ms on the server; transaction-limit 1 s)"
              % ("longest transaction retention-postgres held", max(r[6] for r in rounds),
                 WATCH_MS))
        return 0
    except BenchError as e:
        print("pg bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        for p in list(Proc.live):
            try:
                p.stop(10)
            except Exception:
                p.p.kill()
        if pg is not None:
            pg.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
