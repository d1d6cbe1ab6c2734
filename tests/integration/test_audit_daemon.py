#!/usr/bin/env python3
"""Integration tests of the daemon's audit log (SPEC §7): what it writes for deletions,
refused requests and reloads; audit.verify and --verify-audit against tampering; rotation
by SIGUSR1 that keeps the chain across files; and a report whose totals match both the
inventory and the log.
Run: python3 tests/integration/test_audit_daemon.py
"""

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
from harness import SECURITY, main, skip_or_fail, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DAEMON = os.path.join(TOP, "build", "asan", "retentiond")
RULES = ('rule a-del { category a.doc; delete immediately after due; basis "test: a" }\n'
         'rule a-keep { category a.kept; keep forever; basis "test: kept by law" }\n')
PAST = "2001-06-01T10:00:00+02:00"


def doc(rid, category="a.doc", subject=None):
    return {"id": rid, "category": category, "subject": subject or "person:" + rid,
            "backend": "nb", "events": {"due": PAST}}


def entries(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def verify(*files, head=None):
    argv = [DAEMON, "--verify-audit"] + list(files) + (["--head", head] if head else [])
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


class AuditDaemon(DispatchTestCase):
    RULES = with_rules(RULES)

    def deleted(self, n):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("r%d" % i) for i in range(n)])
        wait_for(lambda: d.ok("status")["records"].get("deleted", 0) == n, 20,
                 what="%d deletions" % n)
        return d, b

    def test_deletions_are_audited_and_verify(self):
        d, _ = self.deleted(12)
        log = entries(d.audit_log)
        types = [e["type"] for e in log]
        self.assertEqual(types[0], "daemon.start")
        self.assertIn("rules.loaded", types)
        for i in range(12):
            sent = [e for e in log if e["type"] == "job.sent" and e.get("record") == "r%d" % i]
            done = [e for e in log if e["type"] == "job.done" and e.get("record") == "r%d" % i]
            self.assertTrue(sent and done, "r%d: %s / %s" % (i, sent, done))
            self.assertEqual(done[0]["rule"], "a-del")
            self.assertEqual(done[0]["basis"], "test: a")
            self.assertEqual(done[0]["job"], sent[0]["job"])
            # the job was on disk before it was sent: its job.sent entry comes first
            self.assertLess(log.index(sent[0]), log.index(done[0]))
        v = d.ok("audit.verify")
        self.assertTrue(v["valid"], v)
        self.assertEqual(v["entries"], len(log))
        self.assertEqual(d.ok("status")["audit"]["head"], log[-1]["hash"])

    def test_refused_request_is_audited(self):
        d, _ = self.deleted(1)
        nobody = subprocess.run(
            ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
             "/usr/bin/python3", os.path.join(HERE, "client.py"), d.socket_path,
             json.dumps([{"cmd": "status"}])],
            capture_output=True, text=True, timeout=30)
        if nobody.returncode == 127 or "setpriv" in nobody.stderr:
            skip_or_fail("setpriv unavailable: " + nobody.stderr.strip(), SECURITY)
        wait_for(lambda: any(e["type"] == "request.forbidden" for e in entries(d.audit_log)),
                 10, what="a request.forbidden entry")
        e = [e for e in entries(d.audit_log) if e["type"] == "request.forbidden"][0]
        self.assertEqual(e["actor"], "uid:65534")
        self.assertEqual(e["detail"]["cmd"], "status")

    def test_tampering_is_named(self):
        d, _ = self.deleted(5)
        d.stop()
        lines = open(d.audit_log, encoding="utf-8").read().splitlines(True)
        n = len(lines)
        self.assertEqual(verify(d.audit_log).returncode, 0)
        lines[3] = lines[3].replace('"r', '"R', 1)  # alter one entry
        bad = os.path.join(d.dir, "bad.log")
        open(bad, "w").write("".join(lines))
        r = verify(bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(":4", r.stdout + r.stderr)
        # a cut tail is found against the head the journal holds
        head = json.loads(open(d.audit_log).read().splitlines()[-1])["hash"]
        cut = os.path.join(d.dir, "cut.log")
        open(cut, "w").write("".join(open(d.audit_log).readlines()[:n - 2]))
        self.assertEqual(verify(cut).returncode, 0)
        self.assertEqual(verify(cut, head=head).returncode, 1)

    def test_rotation_keeps_the_chain(self):
        d, b = self.deleted(4)
        before = entries(d.audit_log)
        d.proc.send_signal(signal.SIGUSR1)
        # audit.log.YYYYmmddTHHMMSS; not audit.log.rotating, the new file being written
        rotated = lambda: [f for f in os.listdir(d.dir)
                           if re.fullmatch(r"audit\.log\.\d{8}T\d{6}", f)]

        def done():
            if not rotated():
                return False
            log = entries(d.audit_log)
            return bool(log) and log[0]["type"] == "audit.rotated"
        wait_for(done, 10, what="the rotation to finish")
        old = os.path.join(d.dir, rotated()[0])
        self.assertEqual(entries(old), before)
        first = entries(d.audit_log)[0]
        self.assertEqual(first["type"], "audit.rotated")
        self.assertEqual(first["prev"], before[-1]["hash"])
        self.assertEqual(first["seq"], before[-1]["seq"] + 1)
        self.put([doc("late")])
        wait_for(lambda: d.state("late") == "deleted", 20, what="a deletion after rotation")
        d.stop()
        r = verify(old, d.audit_log)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(verify(d.audit_log).returncode, 0, "the new file verifies on its own")
        # Given in another order (as a shell's glob gives audit.log*), the files are read
        # in the chain's, by their first seq; a file given twice still breaks the chain.
        r = verify(d.audit_log, old)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("in the order of the chain: %s %s" % (old, d.audit_log), r.stderr)
        self.assertNotEqual(verify(old, old, d.audit_log).returncode, 0, "a file twice")

    def test_report_totals_match_inventory_and_log(self):
        b = self.backend("nb", "--fail-every", "4", "--fail-permanent")
        d = self.up({"nb": {}})
        self.put([doc("r%d" % i) for i in range(20)] +
                 [doc("k%d" % i, category="a.kept", subject="person:erase") for i in range(3)])
        wait_for(lambda: sum(d.ok("status")["records"].get(s, 0)
                             for s in ("deleted", "failed")) == 20, 20, what="20 outcomes")
        d.ok("erase", {"subject": "person:erase", "reason": "request by letter"})
        rep = d.ok("report", {"since": "2000-01-01", "until": "2100-01-01"})
        st = d.ok("status")["records"]
        log = entries(d.audit_log)
        self.assertEqual(rep["totals"]["deleted"], st.get("deleted", 0))
        self.assertEqual(rep["totals"]["failed"], st.get("failed", 0))
        self.assertEqual(rep["totals"]["deleted"], rep["inventory"]["deleted"])
        self.assertEqual(rep["totals"]["deleted"],
                         sum(1 for e in log if e["type"] == "job.done"))
        self.assertEqual(rep["totals"]["retained"], 3)
        row = [r for r in rep["rows"] if r["rule"] == "a-del"][0]
        self.assertEqual(row["basis"], "test: a")
        self.assertEqual(row["deleted"] + row["failed"], 20)
        kept = [r for r in rep["rows"] if r["rule"] == "a-keep"][0]
        self.assertEqual((kept["category"], kept["retained"]), ("a.kept", 3))
        self.assertEqual(kept["basis"], "test: kept by law")


if __name__ == "__main__":
    main()
