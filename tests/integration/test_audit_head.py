#!/usr/bin/env python3
"""The audit log's recorded head (STATE/audit.head) and the start-up check against it.

A log that lost entries since the daemon last recorded its head (stop, cut the tail,
start; a rotation, then the new file cut; the whole log replaced by a shorter valid
chain; the log removed) is refused: exit 65, nothing written. Starting once with
--accept-audit-truncation naming the recorded hash starts it, and the acceptance is the
log's next entry. A kill -9 leaves entries after the recorded head: those are normal and
the daemon starts. No head file (an upgrade) is a warning, and the head is recorded.
Run: python3 tests/integration/test_audit_head.py
"""

import json
import os
import re
import shutil
import signal
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, main, wait_for  # noqa: E402

RULES = 'rule h-late { category h.doc; delete 10 years after created; basis "test" }\n'
EX_DATAERR = 65
EX_USAGE = 2  # the usage status of every program (retentiond(8), EXIT STATUS)


class AuditHead(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.d = Daemon(rules={"h.rules": RULES})
        self.head_path = os.path.join(self.d.state_dir, "audit.head")
        self.n = 0

    def tearDown(self):
        try:
            if self.d.proc is not None and self.d.proc.poll() is None:
                self.d.stop()
        finally:
            self.d.cleanup()

    # helpers
    def put(self, n=3):
        for _ in range(n):
            self.d.ok("record.put", {"id": "h%d" % self.n, "category": "h.doc"})
            self.n += 1

    def log(self, path=None):
        with open(path or self.d.audit_log, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def raw(self, path=None):
        with open(path or self.d.audit_log, "rb") as f:
            return f.read()

    def head(self):
        with open(self.head_path, encoding="utf-8") as f:
            return json.load(f)

    def cut(self, n, path=None):
        """Remove the last n entries of the log; the new last entry."""
        path = path or self.d.audit_log
        self.tampered()
        lines = self.raw(path).splitlines(True)
        with open(path, "wb") as f:
            f.write(b"".join(lines[:-n]))
        return json.loads(lines[-n - 1])

    def tampered(self):
        """This test cuts or replaces the log on purpose: the chain against the journal's
        head is what the daemon refuses over, not something the harness should check."""
        self.d.skip_invariant("chain", "the test cuts or replaces the audit log on purpose")

    def accepting(self):
        return os.path.exists(self.d.socket_path) and self._connects()

    def _connects(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.d.socket_path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def refused(self, *extra):
        """Start with the config and extra options; it must exit 65 without starting.
        Returns its stderr."""
        d = self.d
        if os.path.exists(d.socket_path):
            os.unlink(d.socket_path)  # a socket file of the last run: nobody answers
        d.spawn(["--config", d.config_path] + list(extra))
        wait_for(lambda: d.proc.poll() is not None or self.accepting(), 20,
                 what="the daemon to exit or to start")
        if d.proc.poll() is None:
            d.stop()
            self.fail("the daemon started on a log that lost entries:\n" + d.runs[-1][-3000:])
        rc, err = d.wait_exit()
        self.assertEqual(rc, EX_DATAERR, err)
        return err

    def start_entry(self):
        starts = [e for e in self.log() if e["type"] == "daemon.start"]
        return starts[-1]

    def stopped_with_head(self):
        """Run, write entries, stop: the head at the stop, the log's last entry, as
        {"seq", "hash", "file", "size"}."""
        self.put(5)
        self.d.stop()
        last = self.log()[-1]
        self.assertEqual(last["type"], "daemon.stop")
        return {"seq": last["seq"], "hash": last["hash"], "file": self.d.audit_log,
                "size": os.path.getsize(self.d.audit_log)}

    def assertRecorded(self, h):
        """audit.head records the head h."""
        got = self.head()
        self.assertEqual({k: got[k] for k in h}, h)
        self.assertEqual(got["version"], 1)

    # the head is recorded
    def test_head_is_recorded_at_start_and_stop(self):
        wait_for(lambda: os.path.exists(self.head_path), 10, what="the head file")
        starts = [e for e in self.log() if e["type"] in ("daemon.start", "rules.loaded")]
        self.assertGreaterEqual(self.head()["seq"], starts[0]["seq"])
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "none")
        self.assertRecorded(self.stopped_with_head())
        self.assertEqual(oct(os.stat(self.head_path).st_mode & 0o777), "0o640")
        self.assertFalse(os.path.exists(self.head_path + ".tmp"))
        self.d.start()
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "matched")

    # losses are refused
    def test_cut_tail_is_refused(self):
        h = self.stopped_with_head()
        tail = self.cut(3)
        before = self.raw()
        err = self.refused()
        self.assertIn("seq %d hash %s" % (h["seq"], h["hash"]), err)
        self.assertIn("seq %d hash %s" % (tail["seq"], tail["hash"]), err)
        self.assertIn("cut off its end", err)
        self.assertIn("--accept-audit-truncation %s" % h["hash"], err)
        self.assertEqual(self.raw(), before, "the refused start wrote to the log")
        self.assertRecorded(h)  # unchanged by the refused start
        self.refused()  # and again: nothing was written that would hide it

    def test_accepting_the_loss_starts_and_audits_it(self):
        h = self.stopped_with_head()
        tail = self.cut(2)
        other = "ab" * 32
        err = self.refused("--accept-audit-truncation", other)
        self.assertIn("does not name the recorded head", err)
        self.d.start(args=["--config", self.d.config_path,
                           "--accept-audit-truncation", h["hash"].upper()])
        log = self.log()
        i = [e["seq"] for e in log].index(tail["seq"])
        acc, start = log[i + 1], log[i + 2]
        self.assertEqual(acc["type"], "audit.truncation_accepted", acc)
        self.assertEqual(acc["actor"], "uid:%d" % os.getuid())
        self.assertEqual(acc["prev"], tail["hash"])
        self.assertEqual({k: acc["detail"]["recorded"][k] for k in ("seq", "hash", "file",
                                                                    "size")},
                         {k: h[k] for k in ("seq", "hash", "file", "size")})
        found = acc["detail"]["found"]
        self.assertEqual((found["seq"], found["hash"], found["file"]),
                         (tail["seq"], tail["hash"], self.d.audit_log))
        self.assertIn("cut off its end", found["reason"])
        self.assertEqual(start["type"], "daemon.start")
        self.assertEqual(start["detail"]["audit_head"], "accepted")
        v = self.d.ok("audit.verify")
        self.assertTrue(v["valid"], v)
        self.assertNotEqual(self.head()["hash"], h["hash"], "the new head is recorded")
        self.d.stop()
        # the option left in place accepts nothing more
        self.d.start(args=["--config", self.d.config_path,
                           "--accept-audit-truncation", h["hash"]])
        self.assertIn("nothing is accepted", self.d.stderr())
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "matched")
        self.assertEqual(sum(e["type"] == "audit.truncation_accepted" for e in self.log()), 1)
        self.d.stop()
        self.d.start()

    def test_rotation_then_cut_of_the_new_file_is_refused(self):
        self.put(3)
        before = self.log()
        self.d.signal(signal.SIGUSR1)

        def rotated():
            names = [f for f in os.listdir(self.d.dir)
                     if re.fullmatch(r"audit\.log\.\d{8}T\d{6}", f)]
            return names and self.log()[0]["type"] == "audit.rotated" and names
        old = os.path.join(self.d.dir, wait_for(rotated, 10, what="the rotation")[0])
        self.assertEqual(self.log(old), before)
        self.put(3)
        self.d.restart()  # a rotated log starts normally
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "matched")
        h = self.stopped_with_head()
        self.assertGreater(h["seq"], self.log()[0]["seq"])
        self.cut(2)
        err = self.refused()
        self.assertIn("--accept-audit-truncation %s" % h["hash"], err)

    def test_log_replaced_by_a_shorter_valid_chain_is_refused(self):
        self.put(10)
        h = self.stopped_with_head()
        other = Daemon(rules={"h.rules": RULES})
        try:
            other.ok("record.put", {"id": "x", "category": "h.doc"})
            other.stop()
            self.tampered()
            shutil.copy(other.audit_log, self.d.audit_log)
        finally:
            other.cleanup()
        log = self.log()
        self.assertLess(log[-1]["seq"], h["seq"])
        self.assertEqual(log[0]["prev"], "0" * 64)
        err = self.refused()
        self.assertIn("seq %d hash %s" % (h["seq"], h["hash"]), err)
        self.assertIn("seq %d hash %s" % (log[-1]["seq"], log[-1]["hash"]), err)

    def test_log_replaced_by_a_longer_chain_is_refused(self):
        self.stopped_with_head()
        lines = self.raw().splitlines(True)
        other = Daemon(rules={"h.rules": RULES})
        try:
            for i in range(60):
                other.ok("record.put", {"id": "y%d" % i, "category": "h.doc"})
            other.stop()
            longer = self.raw(other.audit_log)
        finally:
            other.cleanup()
        self.assertGreater(len(longer), sum(map(len, lines)))
        self.tampered()
        with open(self.d.audit_log, "wb") as f:
            f.write(longer)
        err = self.refused()
        self.assertIn("rewritten", err)

    def test_removed_log_is_refused(self):
        h = self.stopped_with_head()
        kept = self.raw()
        os.unlink(self.d.audit_log)
        err = self.refused()
        self.assertIn("does not exist", err)
        self.assertFalse(os.path.exists(self.d.audit_log), "the refused start made a log")
        self.assertRecorded(h)
        with open(self.d.audit_log, "wb") as f:
            f.write(kept)  # put back: it starts again
        self.d.start()
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "matched")

    def test_unreadable_head_record_is_refused(self):
        self.stopped_with_head()
        with open(self.head_path, "w") as f:
            f.write("{\"seq\": \"x\"}\n")
        before = self.raw()
        err = self.refused()
        self.assertIn(self.head_path, err)
        self.assertEqual(self.raw(), before)

    # what is not a loss
    def test_kill9_leaves_entries_after_the_recorded_head(self):
        wait_for(lambda: os.path.exists(self.head_path) and
                 self.head()["seq"] == self.log()[-1]["seq"], 10,
                 what="the start-up entries' head recorded")
        self.put(5)
        h = self.head()
        self.assertGreater(self.log()[-1]["seq"], h["seq"], "entries after the recorded head")
        self.d.kill9()
        tail = self.log()[-1]
        self.d.start()
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "continued")
        self.assertIn("follow the head", self.d.stderr())
        v = self.d.ok("audit.verify")
        self.assertTrue(v["valid"], v)
        self.assertGreater(self.head()["seq"], tail["seq"])
        # but entries cut from before the recorded head are a loss, crash or not
        self.put(2)
        self.d.kill9()
        h = self.head()
        keep = [ln for ln in self.raw().splitlines(True) if json.loads(ln)["seq"] < h["seq"]]
        with open(self.d.audit_log, "wb") as f:
            f.write(b"".join(keep))
        self.refused()

    def test_crash_between_rotation_and_record_walks_back(self):
        wait_for(lambda: os.path.exists(self.head_path) and
                 self.head()["seq"] == self.log()[-1]["seq"], 10,
                 what="the start-up entries' head recorded")
        self.put(3)
        with open(self.head_path, encoding="utf-8") as f:
            saved = f.read()  # older than the log's tail
        self.d.signal(signal.SIGUSR1)
        names = lambda: [f for f in os.listdir(self.d.dir)
                         if re.fullmatch(r"audit\.log\.\d{8}T\d{6}", f)]
        wait_for(lambda: names() and self.head()["seq"] >= self.log()[0]["seq"], 10,
                 what="the rotation and its head")
        self.put(2)
        self.d.kill9()
        with open(self.head_path, "w") as f:
            f.write(saved)  # as if killed before the rotation recorded its head
        old = os.path.join(self.d.dir, names()[0])
        away = old + ".away"
        os.rename(old, away)
        err = self.refused()
        self.assertIn("does not exist", err)
        os.rename(away, old)
        self.d.start()
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "continued")

    def test_no_head_file_is_a_warning_and_recorded(self):
        self.stopped_with_head()
        os.unlink(self.head_path)
        self.d.start()
        self.assertIn("no head is recorded", self.d.stderr())
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "none")
        self.assertTrue(os.path.exists(self.head_path))
        self.assertRecorded(self.stopped_with_head())
        self.d.start()
        self.assertEqual(self.start_entry()["detail"]["audit_head"], "matched")

    def test_option_usage(self):
        self.d.stop()
        for args in (["--accept-audit-truncation", "abc"],
                     ["--accept-audit-truncation", "g" * 64],
                     ["--check-config", "--accept-audit-truncation", "a" * 64]):
            self.d.spawn(["--config", self.d.config_path] + args)
            rc, err = self.d.wait_exit()
            self.assertEqual(rc, EX_USAGE, (args, err))
            self.assertIn("--accept-audit-truncation needs the recorded head's hash"
                          if "--check-config" not in args else "goes with starting", err)


if __name__ == "__main__":
    main()
