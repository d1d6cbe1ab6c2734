#!/usr/bin/env python3
"""Integration tests of the control socket's limits (retentiond(8), "Limits").

A local user in no group (uid 65534 through setpriv, as in test_auth.py) must not be
able to exhaust the daemon: its connections are capped per uid and leave room for
root and the admins; idle or half-sent lines are closed after control-idle-timeout;
clients that pipeline and never read stop being read instead of growing the
daemon's memory; and a flood of refused requests is folded into one audit entry per
uid and interval whose count says how many there were.
Run: python3 tests/integration/test_limits.py
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SECURITY, DAEMON, Conn, Daemon, main, skip_or_fail, wait_for  # noqa: E402
from test_auth import NOBODY, SKIP_REASON, _python_for_others  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def stranger(d, *args, stdin=None):
    """Start stranger.py MODE SOCKET ARGS as uid 65534 in no group; the Popen."""
    script = os.path.join(d.dir, "stranger.py")
    if not os.path.exists(script):
        shutil.copy(os.path.join(HERE, "stranger.py"), script)
        os.chmod(script, 0o644)
    cmd = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
           _python_for_others(), script, args[0], d.socket_path] + [str(a) for a in args[1:]]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=d.dir, env=env)


def stranger_run(d, *args, timeout=120):
    """Run stranger.py to its end; its one JSON line of output."""
    p = stranger(d, *args)
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("stranger.py %s failed (%s): %s" % (args[0], p.returncode, err))
    return json.loads(out)


def audit_entries(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) / 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def verify(path):
    return subprocess.run([DAEMON, "--verify-audit", path], capture_output=True, text=True,
                          timeout=60)


class LimitTest(unittest.TestCase):

    def daemon(self, extra="", **kw):
        d = Daemon(config_extra=extra, **kw)
        self.addCleanup(d.cleanup)
        return d


class Strangers(LimitTest):

    def setUp(self):
        if SKIP_REASON:
            skip_or_fail("stranger tests: " + SKIP_REASON, SECURITY)
        super().setUp()

    def test_many_stranger_connections_leave_room_for_root(self):
        """A user in no group opens 400 connections to a daemon allowed 256 files: all
        but its per-uid share are closed at once, root is still answered, and the
        closing is logged a bounded number of times, not once per connection."""
        d = self.daemon(nofile=256)
        p = stranger(d, "hold", 400, stdin=subprocess.PIPE)
        try:
            opened = json.loads(p.stdout.readline())["opened"]
            self.assertGreater(opened, 0)
            with Conn(d.socket_path, timeout=5) as c:
                r = c.request("status")
                self.assertTrue(r["ok"], r)

            def still_open():
                p.stdin.write("count\n")
                p.stdin.flush()
                n = json.loads(p.stdout.readline())["open"]
                return n if n <= 4 else None
            wait_for(still_open, 10, what="the stranger's connections beyond 4 to be closed")
            # admins (root here) can open many more while the stranger holds its share
            more = [d.connect(timeout=5) for _ in range(20)]
            for c in more:
                self.assertTrue(c.request("status")["ok"])
            st = d.ok("status")["control"]
            self.assertGreaterEqual(st["max_clients"], 64, st)
            self.assertLessEqual(st["max_clients"], 256, st)
            self.assertGreaterEqual(st["closed"], opened - 4, st)
        finally:
            p.stdin.close()
            p.wait(30)
            p.stdout.close()
            p.stderr.close()
        text = d.stop()
        capped = [ln for ln in text.splitlines() if "control-stranger-clients" in ln]
        self.assertGreaterEqual(len(capped), 1, text[-3000:])
        self.assertLessEqual(len(capped), 3, "\n".join(capped[:10]))

    def test_idle_stranger_is_closed(self):
        d = self.daemon("control-idle-timeout 1 second\n")
        r = stranger_run(d, "idle", 10)
        self.assertIsNotNone(r["closed_after"], "an idle stranger stays connected")
        self.assertGreaterEqual(r["closed_after"], 0.9)
        self.assertLess(r["closed_after"], 5)
        d.stop()

    def test_refusal_flood_is_folded(self):
        """20 000 refused requests: every one answered forbidden with its id, and the audit
        log holds a handful of request.forbidden entries whose counts add up to 20 000."""
        d = self.daemon()
        n = 20000
        r = stranger_run(d, "flood", n)
        self.assertEqual(r, {"replies": n, "forbidden": n, "ids_echoed": True})
        self.assertTrue(d.ok("status"))
        text = d.stop()
        log = audit_entries(d.audit_log)
        refused = [e for e in log if e["type"] == "request.forbidden"]
        self.assertTrue(all(e["actor"] == "uid:65534" for e in refused), refused[:3])
        self.assertLessEqual(len(refused), 3, "%d entries for %d refusals" % (len(refused), n))
        self.assertEqual(sum(e["detail"]["count"] for e in refused), n, refused)
        self.assertEqual(refused[0]["detail"]["cmd"], "status")
        # written before the daemon's stop entry, and the chain holds
        types = [e["type"] for e in log]
        self.assertLess(types.index("request.forbidden"), types.index("daemon.stop"))
        self.assertEqual(max(i for i, t in enumerate(types) if t == "request.forbidden"),
                         types.index("daemon.stop") - 1)
        v = verify(d.audit_log)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # the journal is not flooded either
        lines = [ln for ln in text.splitlines() if "refused" in ln or "refusals" in ln]
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), 4, "\n".join(lines[:10]))

    def test_refusals_folded_per_interval(self):
        """With a 2 s interval the count is written when the interval ends (no stop
        needed), and a refusal after a quiet interval is written at once again."""
        d = self.daemon("control-refusal-interval 2 seconds\n")
        r = stranger_run(d, "flood", 500)
        self.assertEqual(r["forbidden"], 500)

        def counts():
            c = [e["detail"]["count"] for e in audit_entries(d.audit_log)
                 if e["type"] == "request.forbidden"]
            return c if sum(c) == 500 else None
        got = wait_for(counts, 10, what="the folded entry of the interval")
        self.assertEqual(got[0], 1)
        self.assertLessEqual(len(got), 3)
        folded = [e for e in audit_entries(d.audit_log)
                  if e["type"] == "request.forbidden"][-1]["detail"]
        self.assertLessEqual(folded["since"], folded["until"])
        # a quiet interval later, one refusal is its own entry at once
        time.sleep(4.5)  # two intervals without a refusal: the fold is over
        r = stranger_run(d, "flood", 1)
        self.assertEqual(r["forbidden"], 1)
        wait_for(lambda: sum(e["detail"]["count"] for e in audit_entries(d.audit_log)
                             if e["type"] == "request.forbidden") == 501, 5,
                 what="the single refusal's entry")
        d.stop()


class Members(LimitTest):

    def test_half_line_closed_after_idle_timeout(self):
        d = self.daemon("control-idle-timeout 1 second\n")
        quiet = d.connect()                 # says nothing: an idle member stays
        half = d.connect()
        t0 = time.monotonic()
        half.send_raw(b'{"id": 1, "cmd": "sta')
        self.assertTrue(half.at_eof(10), "a half line is held forever")
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)
        # a line that keeps coming, slower than the whole timeout but never idle that long
        slow = d.connect()
        for ch in b'{"id": "slow", "cmd": "status"}':
            slow.send_raw(bytes([ch]))
            time.sleep(0.05)
        slow.send_raw(b"\n")
        self.assertTrue(slow.recv()["ok"])
        time.sleep(1.5)
        self.assertTrue(quiet.request("status")["ok"])
        text = d.stop()
        self.assertIn("idle", text)

    def test_connections_never_take_the_daemons_own_files(self):
        """Root opening more connections than the daemon has files for: those beyond the
        limit are closed at once, and the daemon keeps the files it needs itself (it can
        still read its rule files)."""
        d = self.daemon(nofile=128)
        conns = []
        for _ in range(200):
            try:
                conns.append(Conn(d.socket_path, timeout=5))
            except OSError:
                break
        try:
            alive = []
            for c in conns:
                try:
                    c.send({"id": 1, "cmd": "status"})
                    if c.recv()["ok"]:
                        alive.append(c)
                except (OSError, AssertionError):
                    pass
            self.assertGreater(len(alive), 10)
            self.assertLess(len(alive), 128)
            r = alive[0].request("rules.reload")
            self.assertTrue(r["ok"], r)
        finally:
            for c in conns:
                c.close()
        wait_for(lambda: d.ok("status")["control"]["clients"] == 1, 10,
                 what="the closed connections to be gone")
        text = d.stop()
        capped = [ln for ln in text.splitlines() if "control-max-clients" in ln]
        self.assertGreaterEqual(len(capped), 1, text[-3000:])
        self.assertLessEqual(len(capped), 3, "\n".join(capped[:10]))

    def test_pipelining_without_reading_is_bounded(self):
        """Eight connections that pipeline large requests and never read: the daemon stops
        reading them instead of queueing replies, its memory stays bounded, and another
        client is still answered promptly."""
        d = self.daemon(env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:"
                                             "quarantine_size_mb=4"})
        recs = [{"id": "r%05d" % i, "category": "visma.user_profile",
                 "events": {"last_activity": "2035-01-15T10:00:00+01:00"}}
                for i in range(3000)]
        d.ok("record.put", {"records": recs})
        req = json.dumps({"id": 1, "cmd": "plan",
                          "args": {"until": "2040-01-01", "limit": 1000}}).encode() + b"\n"
        base = rss_mib(d.proc.pid)
        socks = []
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket_path)
            s.setblocking(False)
            socks.append(s)
        peak = base
        try:
            t_end = time.monotonic() + 8
            while time.monotonic() < t_end:
                for s in socks:
                    try:
                        s.send(req * 50)
                    except BlockingIOError:
                        pass
                peak = max(peak, rss_mib(d.proc.pid))
                time.sleep(0.02)
            t0 = time.monotonic()
            with Conn(d.socket_path, timeout=10) as c:
                self.assertTrue(c.request("status")["ok"])
            self.assertLess(time.monotonic() - t0, 5, "status waited behind the pipeliners")
            peak = max(peak, rss_mib(d.proc.pid))
        finally:
            for s in socks:
                s.close()
        self.assertLess(peak - base, 100, "RSS grew from %d to %d MiB" % (base, peak))
        d.stop()


if __name__ == "__main__":
    main()
