#!/usr/bin/env python3
"""status.py SOCKET INVENTORY [ROUNDS] - what a monitor polling `status` costs the daemon.

ROUNDS (default 200) status requests over one control connection, each timed from send
to reply, interleaved with a full count of the same inventory file (the GROUP BY over
every record and job that status made before it kept its counts), read-only beside the
running daemon: A B A B ..., so that a busy machine skews both alike. Prints the median
and p99 of each and their ratio. Never fails on a stopwatch.
"""
import json
import socket
import sqlite3
import statistics
import sys
import time


def main():
    path, inv = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    db = sqlite3.connect("file:%s?mode=ro" % inv, uri=True)
    buf = b""
    status, full = [], []
    records = None
    for i in range(1, rounds + 1):
        t0 = time.perf_counter()
        s.sendall(json.dumps({"id": i, "cmd": "status"}).encode() + b"\n")
        while b"\n" not in buf:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise SystemExit("status.py: the daemon closed the connection")
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        status.append(time.perf_counter() - t0)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise SystemExit("status.py: status failed: %s" % line[:200])
        records = reply["result"]["records"]["total"]
        if i <= 20 or i % 10 == 0:  # the full count is slow: a sample of it
            t0 = time.perf_counter()
            db.execute("SELECT state, count(*) FROM records GROUP BY state").fetchall()
            db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
            full.append(time.perf_counter() - t0)

    def p(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))]
    ms = 1000.0
    sm, fm = statistics.median(status), statistics.median(full)
    print("status at %d records: median %.3f ms, p99 %.3f ms (%d requests; target < 1 ms)"
          % (records, sm * ms, p(status, 0.99) * ms, len(status)))
    print("  a full count of the same inventory, interleaved: median %.1f ms (%d runs): "
          "status costs %.1f%% of it" % (fm * ms, len(full), 100.0 * sm / fm))


if __name__ == "__main__":
    main()
