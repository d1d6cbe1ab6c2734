#!/usr/bin/env python3
"""The systemd watchdog (sd_watchdog_enabled(3), sd_notify(3)): the daemon runs with
WATCHDOG_USEC and NOTIFY_SOCKET naming a datagram socket this test owns.

- A client that changes state every 0.3 s, with nothing due, must not starve the pings:
  WATCHDOG=1 keeps arriving at least once per watchdog period.
- WATCHDOG_PID naming another process: the watchdog is not ours, no pings.
- Without WATCHDOG_USEC: READY=1 arrives, no WATCHDOG=1.
Run: python3 tests/integration/test_watchdog.py
"""

import os
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, main, wait_for  # noqa: E402

PERIOD = 3.0      # WATCHDOG_USEC, seconds
PERIODS = 4       # how long the client writes
WRITE_EVERY = 0.3
RULES = 'rule w-late { category w.doc; delete 10 years after created; basis "test" }\n'


class Notify:
    """A datagram socket standing in for the service manager's: every message received,
    with the monotonic time it came."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.msgs = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode("utf-8", "replace")))

    def times(self, what):
        with self.lock:
            return [t for t, m in self.msgs if what in m.split("\n")]

    def close(self):
        self.done.set()
        self.thread.join(5)
        self.sock.close()


class Watchdog(unittest.TestCase):

    def setUp(self):
        self.d = Daemon(rules={"w.rules": RULES}, start=False)
        self.n = Notify(os.path.join(self.d.dir, "notify.sock"))
        self.d.env = {"NOTIFY_SOCKET": self.n.path}

    def tearDown(self):
        try:
            if self.d.proc is not None:
                self.d.stop()
        finally:
            self.n.close()
            self.d.cleanup()

    def start(self, **env):
        self.d.env.update(env)
        self.d.start()
        wait_for(lambda: self.n.times("READY=1"), 20, what="READY=1")

    def write_for(self, seconds):
        """A record.put (a new record, due in ten years) every WRITE_EVERY seconds."""
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            r = self.d.ok("record.put", {"id": "w%d" % i, "category": "w.doc"})
            self.assertEqual(r["records"][0]["state"], "active", r)
            i += 1
            time.sleep(WRITE_EVERY)
        return i

    def test_pings_keep_coming_while_a_client_writes(self):
        self.start(WATCHDOG_USEC=str(int(PERIOD * 1e6)))
        t0 = time.monotonic()
        writes = self.write_for(PERIOD * PERIODS)
        t1 = time.monotonic()
        self.assertGreaterEqual(writes, int(PERIOD * PERIODS / WRITE_EVERY / 2))
        pings = [t for t in self.n.times("WATCHDOG=1") if t0 <= t <= t1]
        marks = [t0] + pings + [t1]
        gaps = [b - a for a, b in zip(marks, marks[1:])]
        self.assertLessEqual(max(gaps), PERIOD,
                             "%d WATCHDOG=1 in %.1f s of writes every %.1f s; the longest "
                             "time without one is %.1f s, over the watchdog period of %.1f s"
                             % (len(pings), t1 - t0, WRITE_EVERY, max(gaps), PERIOD))
        self.assertIn("watchdog", self.d.stderr())

    def test_watchdog_of_another_process_is_not_pinged(self):
        self.start(WATCHDOG_USEC=str(int(PERIOD * 1e6)), WATCHDOG_PID="1")
        t0 = time.monotonic()
        time.sleep(PERIOD)  # the time in which pings would have come; nothing to poll for
        self.assertEqual([t for t in self.n.times("WATCHDOG=1") if t >= t0], [])

    def test_no_pings_without_a_watchdog(self):
        self.start()
        self.write_for(1.0)
        self.d.ok("status")
        self.assertEqual(self.n.times("WATCHDOG=1"), [])


if __name__ == "__main__":
    main()
