#!/usr/bin/env python3
"""Integration tests of the whole audit history and of audit.check: audit.query,
audit.verify, audit.check and report over a log rotated twice (SIGUSR1) read every file
the period needs and name them; a missing file of the chain is an error naming the gap;
audit.check (online) and retentiond --check-audit (offline) name a job.sent edited to look
early and a removed job.done, each with the chain re-hashed so that it verifies.
Run: python3 tests/integration/test_audit_history.py
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import main, parse_time, rfc3339, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DAEMON = os.path.join(TOP, "build", "asan", "retentiond")
CTL = os.path.join(TOP, "build", "asan", "retentionctl")
RULES = 'rule a-del { category a.doc; delete immediately after due; basis "test: a" }\n'
PAST = "2001-06-01T10:00:00+02:00"
ROTATED = re.compile(r"audit\.log\.\d{8}T\d{6}")


def doc(rid):
    return {"id": rid, "category": "a.doc", "subject": "person:" + rid, "backend": "nb",
            "events": {"due": PAST}}


def entries(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def canon(e):
    return json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def rehash(files, edit):
    """Rewrite files (oldest first) as one chain after edit(entries) changed the entries
    (a list of (file index, entry)): seq renumbered, prev and hash recomputed, each
    audit.rotated entry's previous_head the head before it, so that the result verifies."""
    all_entries = []
    for i, f in enumerate(files):
        all_entries += [(i, e) for e in entries(f)]
    all_entries = edit(all_entries)
    prev, out = "0" * 64, [[] for _ in files]
    for seq, (i, e) in enumerate(all_entries, 1):
        e = dict(e)
        e.pop("hash", None)
        e["seq"], e["prev"] = seq, prev
        if e["type"] == "audit.rotated":
            e["detail"] = dict(e["detail"], previous_head=prev)
        e["hash"] = hashlib.sha256((prev + canon(e)).encode()).hexdigest()
        prev = e["hash"]
        out[i].append(canon(e) + "\n")
    for f, lines in zip(files, out):
        with open(f, "w", encoding="ascii") as fh:
            fh.writelines(lines)


def check_offline(*files):
    return subprocess.run([DAEMON, "--check-audit"] + list(files), capture_output=True,
                          text=True, timeout=120)


def verify_offline(*files):
    return subprocess.run([DAEMON, "--verify-audit"] + list(files), capture_output=True,
                          text=True, timeout=120)


class History(DispatchTestCase):
    RULES = with_rules(RULES)

    def rotated(self):
        return sorted(os.path.join(self.d.dir, f) for f in os.listdir(self.d.dir)
                      if ROTATED.fullmatch(f))

    def rotate(self):
        n = len(self.rotated())
        # the rotated name has the second in it: two rotations need two seconds
        time.sleep(1.1)
        self.d.proc.send_signal(signal.SIGUSR1)

        def done():
            if len(self.rotated()) != n + 1:
                return False
            log = entries(self.d.audit_log)
            return bool(log) and log[0]["type"] == "audit.rotated"
        wait_for(done, 10, what="rotation %d to finish" % (n + 1))

    def delete(self, ids):
        self.put([doc(i) for i in ids])
        wait_for(self.all_state(ids, "deleted"), 20, what="%d deletions" % len(ids))

    def three_files(self):
        """A log of three files, with deletions in each: [oldest, middle, current]."""
        self.backend("nb")
        self.up({"nb": {}})
        self.delete(["a%d" % i for i in range(3)])
        self.rotate()
        self.delete(["b%d" % i for i in range(3)])
        self.rotate()
        self.delete(["c%d" % i for i in range(3)])
        files = self.rotated() + [self.d.audit_log]
        self.assertEqual(len(files), 3)
        return files

    def test_whole_history_over_rotations(self):
        files = self.three_files()
        d = self.d
        logs = [entries(f) for f in files]
        total = sum(len(x) for x in logs)
        whole = {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}
        q = d.ok("audit.query", dict(whole, limit=100000))
        self.assertEqual(q["files"], files)
        self.assertEqual([e["seq"] for e in q["entries"]], list(range(1, total + 1)))
        sent = {e["record"] for e in q["entries"] if e["type"] == "job.done"}
        self.assertEqual(sent, {p + str(i) for p in "abc" for i in range(3)})
        q = d.ok("audit.query", {"type": "job.done", "limit": 1000})
        self.assertEqual(q["count"], 9, "no period: the whole history")
        v = d.ok("audit.verify")
        self.assertTrue(v["valid"], v)
        self.assertEqual(v["files"], files)
        self.assertEqual(v["entries"], total)
        rep = d.ok("report", whole)
        self.assertEqual(rep["totals"]["deleted"], 9, "the report sees all three files")
        c = d.ok("audit.check", whole)
        self.assertEqual(c["files"], files)
        self.assertTrue(c["ok"], c)
        self.assertEqual(c["actions"], 9)
        self.assertEqual((c["early"], c["lost"], c["missed"]), (0, 0, 0))
        self.assertEqual(c["entries"], total)
        # every job.sent carries its due time: the lateness is measured against it
        self.assertEqual(c["undated"], 0)
        sent = [e for x in logs for e in x if e["type"] == "job.sent"]
        late = max(parse_time(e["time"]) - parse_time(e["detail"]["due"]) for e in sent)
        self.assertEqual(c["late_max"], late)
        # a period entirely in the current file reads only it
        since = logs[2][0]["time"]
        q = d.ok("audit.query", {"since": since, "limit": 100000})
        self.assertEqual(q["files"], [d.audit_log])
        self.assertEqual(len(q["entries"]), len(entries(d.audit_log)))
        c = d.ok("audit.check", {"since": since})
        self.assertEqual(c["files"], [d.audit_log])
        self.assertTrue(c["ok"], c)
        self.assertEqual(c["actions"], 3)
        # a period in the middle file: it and the file that follows (for the jobs' ends)
        mid = logs[1][0]["time"]
        q = d.ok("audit.query", {"since": mid, "until": logs[2][0]["time"], "limit": 100000})
        self.assertEqual(q["files"], files[1:2])
        out = subprocess.run([CTL, "--socket", d.socket_path, "audit", "check", "--since", mid],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("audit check ok", out.stdout)
        for f in files[1:]:
            self.assertIn(f, out.stdout)

    def test_missing_middle_file_names_the_gap(self):
        files = self.three_files()
        d = self.d
        middle = entries(files[1])
        os.unlink(files[1])
        for check in ("chain", "sent", "done"):
            d.skip_invariant(check, "the middle file of the log was removed on purpose")
        gap = "%s is missing: the entries seq %d..%d" % (files[1], middle[0]["seq"],
                                                           middle[-1]["seq"])
        for cmd, args in (("audit.query", {"limit": 10}), ("audit.verify", None),
                          ("audit.check", None),
                          ("report", {"since": "2000-01-01", "until": "2100-01-01"})):
            e = d.err(cmd, args)
            self.assertIn(gap, e["message"], cmd)
        # what the current file alone holds is still there
        since = entries(d.audit_log)[0]["time"]
        q = d.ok("audit.query", {"since": since, "limit": 100000})
        self.assertEqual(q["files"], [d.audit_log])
        self.assertTrue(d.ok("audit.check", {"since": since})["ok"])

    def tampered(self, edit, skips):
        """Deletions over a rotated log, the daemon stopped, the log edited by edit and
        re-hashed, the recorded head removed (as whoever edited it would), the daemon
        started again on it. The files."""
        files = self.three_files()[1:]  # the jobs of the middle and current files
        self.d.stop()
        for check, why in skips:
            self.d.skip_invariant(check, why)
        rehash(self.rotated() + [self.d.audit_log], edit)
        self.assertEqual(verify_offline(*(self.rotated() + [self.d.audit_log])).returncode, 0,
                         "the edited log verifies")
        os.unlink(os.path.join(self.d.state_dir, "audit.head"))
        self.d.start()
        return files

    def test_early_by_edit_is_named(self):
        target = {}

        def edit(es):
            for i, e in es:
                if e["type"] == "job.sent" and e.get("record") == "b1":
                    # the job looks sent an hour before it was due
                    t = parse_time(e["time"])
                    e["detail"] = dict(e["detail"], due=rfc3339(t + 3600))
                    target.update(job=e["job"])
            return es
        self.tampered(edit, [("early", "the log was edited to show an early job")])
        c = self.d.ok("audit.check")
        self.assertFalse(c["ok"], c)
        self.assertEqual(c["early"], 1)
        p = [p for p in c["problems"] if p["kind"] == "early"]
        self.assertEqual([(x["job"], x["record"]) for x in p], [(target["job"], "b1")])
        seq = p[0]["seq"]
        for argv in (["audit", "check"], ["--json", "audit", "check"]):
            out = subprocess.run([CTL, "--socket", self.d.socket_path] + argv,
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        out = subprocess.run([CTL, "--socket", self.d.socket_path, "audit", "check"],
                             capture_output=True, text=True, timeout=60)
        self.assertIn("audit check FAILED", out.stdout)
        self.assertIn("early seq %d job %s record b1" % (seq, target["job"]), out.stdout)
        all_files = self.rotated() + [self.d.audit_log]
        self.d.stop()
        r = check_offline(*all_files)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("early seq %d job %s record b1" % (seq, target["job"]), r.stdout)

    def test_removed_done_is_named(self):
        target = {}

        def edit(es):
            for k, (i, e) in enumerate(es):
                if e["type"] == "job.done" and e.get("record") == "c2":
                    target.update(job=e["job"])
                    return es[:k] + es[k + 1:]
            raise AssertionError("no job.done of c2")
        self.tampered(edit, [("done", "the job.done entry of c2 was removed"),
                             ("chain", "the log was re-hashed after an edit")])
        c = self.d.ok("audit.check")
        self.assertFalse(c["ok"], c)
        self.assertEqual(c["lost"], 1)
        p = [p for p in c["problems"] if p["kind"] == "lost"]
        self.assertEqual([(x["job"], x["record"]) for x in p], [(target["job"], "c2")])
        self.assertIn("shows it done", p[0]["message"])
        self.d.stop()
        # offline the inventory is not there: the job is named as open, not yet done
        r = check_offline(*(self.rotated() + [self.d.audit_log]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"open seq \d+ job %s record c2" % re.escape(target["job"]))

    def test_removed_sent_is_named_missed(self):
        def edit(es):
            for k, (i, e) in enumerate(es):
                if e["type"] == "job.sent" and e.get("record") == "b0":
                    return es[:k] + es[k + 1:]
            raise AssertionError("no job.sent of b0")
        self.tampered(edit, [("sent", "the job.sent entry of b0 was removed")])
        c = self.d.ok("audit.check")
        self.assertFalse(c["ok"], c)
        self.assertEqual(c["missed"], 1)
        p = [p for p in c["problems"] if p["kind"] == "missed"]
        self.assertEqual([x["record"] for x in p], ["b0"])
        put = [e for e in entries(self.rotated()[1]) if e["type"] == "record.put"
               and e.get("record") == "b0"]
        self.assertEqual(p[0]["seq"], put[-1]["seq"], "named by the entry that scheduled it")
        self.d.stop()
        r = check_offline(*(self.rotated() + [self.d.audit_log]))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("missed seq %d record b0" % put[-1]["seq"], r.stdout)

    def test_check_audit_usage(self):
        r = subprocess.run([DAEMON, "--check-audit"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)
        r = check_offline(os.path.join(self.d.dir, "no-such-file"))
        self.assertEqual(r.returncode, 66)  # EX_NOINPUT: a file named cannot be read
        self.assertIn("no-such-file", r.stderr)


if __name__ == "__main__":
    main()
