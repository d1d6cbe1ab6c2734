#!/usr/bin/env python3
"""Integration tests of the daemon's life: restarts, the deadline timer, start-up checks.

- SIGTERM, then a start on the same state directory: every record, schedule and state
  is as it was; the same after kill -9.
- A deadline that passes while the daemon runs makes the record "queued" with no
  request to prompt it; a record already past due at start-up is queued at start.
- retentiond --check-config on a broken rules directory prints FILE:LINE:COL and exits
  78; starting the daemon on it exits 78 as well.
Run: python3 tests/integration/test_restart.py
"""

import datetime as dt
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DAEMON, OSLO, Daemon, DaemonTestCase, daemon_env, main,  # noqa: E402
                     parse_time, rfc3339, sanitizer_problems, wait_for)

RECORDS = [
    {"id": "visma-1", "category": "visma.user_profile", "subject": "person:1",
     "backend": "hr-files", "locator": {"path": "/srv/a.pdf"},
     "events": {"last_activity": "2035-01-15T10:00:00+01:00"}},
    {"id": "job-hired", "category": "framsikt.job_application", "subject": "person:1",
     "events": {"received": "2035-06-01T10:00:00+02:00"}, "attributes": {"hired": True}},
    {"id": "job-open", "category": "framsikt.job_application", "subject": "person:2",
     "events": {"received": "2035-06-01T10:00:00+02:00"},
     "attributes": {"hired": False, "score": 3.5, "note": "ok"}},
    {"id": "job-due", "category": "framsikt.job_application", "subject": "person:2",
     "events": {"received": "2001-06-01T10:00:00+02:00"}},
    {"id": "vta", "category": "spekter.vta_participant",
     "events": {"report_sent": "2035-03-01T12:00:00+01:00"}},
    {"id": "forever", "category": "spekter.termination_papers", "subject": "person:3"},
    {"id": "travel", "category": "spekter.travel_expense",
     "events": {"created": "2030-05-05T05:05:05+02:00"}},
    {"id": "no-rule", "category": "unknown.category", "subject": "person:3"},
    {"id": "ünïcødé/✓", "category": "visma.user_profile",
     "events": {"last_activity": 2051222400}},
]


def snapshot(d):
    """Everything a client can see of the inventory, minus clocks."""
    snap = {"records": {r["id"]: d.get(r["id"]) for r in RECORDS},
            "explain": {r["id"]: d.ok("explain", {"id": r["id"]}) for r in RECORDS},
            "plan": d.ok("plan", {"until": "2050-01-01"}),
            "subjects": {s: d.ok("subject.show", {"subject": s})
                         for s in ("person:1", "person:2", "person:3")}}
    st = d.ok("status")
    snap["status"] = {k: st.get(k) for k in ("records", "unmanaged", "next_deadline", "jobs")}
    snap["rules"] = d.ok("rules.list")
    return snap


class Restart(DaemonTestCase):

    def setUp(self):
        super().setUp()
        d = self.d
        d.ok("record.put", {"records": RECORDS})
        d.ok("record.event", {"id": "visma-1", "event": "last_activity",
                              "at": "2035-02-15T10:00:00+01:00"})
        d.ok("record.set", {"id": "job-open", "attributes": {"note": None}})
        self.expected = snapshot(d)
        # sanity: the mix of states this test is about
        states = {rid: r["state"] for rid, r in self.expected["records"].items()}
        self.assertEqual(states["job-due"], "queued")
        self.assertEqual(states["no-rule"], "unmanaged")
        self.assertEqual(states["visma-1"], "active")
        self.assertEqual(len(self.expected["records"]["vta"]["schedule"]), 2)

    def test_sigterm_restart_keeps_everything(self):
        d = self.d
        d.stop()
        d.start()
        self.assertEqual(snapshot(d), self.expected)
        d.stop()
        d.start()
        self.assertEqual(snapshot(d), self.expected)

    def test_kill9_restart_keeps_everything(self):
        d = self.d
        d.kill9()
        d.start()
        self.assertEqual(snapshot(d), self.expected)
        # changes made after the restart survive the next crash too
        d.ok("record.put", {"id": "after", "category": "visma.user_profile",
                            "events": {"last_activity": "2035-01-01T00:00:00+01:00"}})
        after, expected = d.get("after"), snapshot(d)
        d.kill9()
        d.start()
        self.assertEqual(d.get("after"), after)
        self.assertEqual(snapshot(d), expected)


def received_for_due_at(due):
    """`received` such that `1 week after received` (calendar days in Oslo) is `due`."""
    wall = dt.datetime.fromtimestamp(due, OSLO) - dt.timedelta(days=7)
    return int(wall.timestamp())


class Timer(DaemonTestCase):

    def test_deadline_passing_while_running_queues(self):
        d = self.d
        due = int(time.time()) + 2
        r = d.ok("record.put", {"id": "pc", "category": "spekter.police_certificate",
                                "events": {"received": received_for_due_at(due)}})
        self.assertEqual(r["records"][0]["state"], "active")
        self.assertEqual([(e["rule"], parse_time(e["at"])) for e in r["records"][0]["schedule"]],
                         [("spekter-police-certificate-latest", due)])
        # record.get only reads the stored state: nothing but the daemon's timer moves it
        wait_for(lambda: d.state("pc") == "queued", 10,
                 what="the record to become queued when its deadline passes")
        self.assertGreaterEqual(time.time(), due, "queued before its deadline")
        p = d.ok("plan", {"until": rfc3339(due)})
        self.assertEqual([(a["record"], a["state"]) for a in p["actions"]], [("pc", "queued")])

    def test_deadline_passing_while_stopped_queues_at_start(self):
        d = self.d
        due = int(time.time()) + 2
        d.ok("record.put", {"id": "pc", "category": "spekter.police_certificate",
                            "events": {"received": received_for_due_at(due)}})
        d.stop()
        self.assertEqual(self.d.proc, None)
        wait_for(lambda: time.time() >= due + 1, 10, what="the deadline to pass")
        d.start()
        self.assertEqual(d.state("pc"), "queued")


R_LONG = 'rule docs { category t.doc; delete 10 years after received; basis "long" }\n'
R_SHORT = 'rule docs { category t.doc; delete 1 year after received; basis "short" }\n'


class PastDueAtStart(DaemonTestCase):
    RULES = {"docs.rules": R_LONG}

    def test_rules_changed_while_stopped(self):
        d = self.d
        received = "2020-03-01T12:00:00+01:00"
        d.ok("record.put", {"id": "doc", "category": "t.doc", "events": {"received": received}})
        d.ok("record.put", {"id": "new", "category": "t.doc",
                            "events": {"received": "2035-03-01T12:00:00+01:00"}})
        self.assertEqual(d.state("doc"), "active")
        d.stop()
        d.rule_file("docs.rules", R_SHORT)
        d.start()
        g = d.get("doc")
        self.assertEqual(g["state"], "queued")
        self.assertEqual([(e["rule"], e["at"]) for e in g["schedule"]],
                         [("docs", "2021-03-01T12:00:00+01:00")])
        self.assertEqual(d.state("new"), "active")
        self.assertEqual(d.get("new")["schedule"][0]["at"], "2036-03-01T12:00:00+01:00")


BROKEN = ("rule ok { category t.doc; delete 1 year after received }\n"
          "\n"
          "rule broken {\n"
          "    category t.doc\n"
          "    delete 1 yeer after received\n"
          "}\n")


class CheckConfig(unittest.TestCase):

    def check(self, d):
        return subprocess.run([DAEMON, "--check-config", "--config", d.config_path],
                              capture_output=True, text=True, env=daemon_env(), timeout=60)

    def assertNoSanitizer(self, text):
        self.assertEqual(sanitizer_problems(text), [], text)

    def test_check_config_good(self):
        with Daemon(start=False) as d:
            r = self.check(d)
            self.assertNoSanitizer(r.stderr)
            self.assertEqual(r.returncode, 0, r.stderr)

    def broken_dir(self, d, files):
        r = self.check(d)
        self.assertNoSanitizer(r.stderr)
        self.assertEqual(r.returncode, 78, r.stderr)
        bad = os.path.join(d.rules_dir, files)
        m = re.search(r"(?m)^" + re.escape(bad) + r":(\d+):(\d+): (.*yeer.*)$", r.stderr)
        self.assertIsNotNone(m, "no FILE:LINE:COL: message for %s in:\n%s" % (bad, r.stderr))
        self.assertEqual(int(m.group(1)), 5)
        self.assertEqual(int(m.group(2)), BROKEN.splitlines()[4].index("yeer") + 1)
        # the daemon refuses to start on it, with the same message, and creates no socket
        d.spawn()
        rc, err = d.wait_exit()
        self.assertEqual(rc, 78, err)
        self.assertIn(m.group(0), err)
        self.assertFalse(os.path.exists(d.socket_path))

    def test_check_config_broken_rules(self):
        with Daemon(rules={"a.rules": "rule fine { category t.x; delete 1 day after created }\n",
                           "b.rules": BROKEN}, start=False) as d:
            self.broken_dir(d, "b.rules")

    def test_check_config_only_broken_rules(self):
        """Every rule of the directory broken: still a clean 78, not a crash."""
        with Daemon(rules={"b.rules": BROKEN.split("\n\n", 1)[1]}, start=False) as d:
            r = self.check(d)
            self.assertNoSanitizer(r.stderr)
            self.assertEqual(r.returncode, 78, r.stderr)
            self.assertRegex(r.stderr, re.escape(os.path.join(d.rules_dir, "b.rules")) +
                             r":\d+:\d+: ")
            d.spawn()
            rc, err = d.wait_exit()
            self.assertEqual(rc, 78, err)

    def test_empty_rules_directory(self):
        """No rule files at all is accepted with a warning (lib/rules.c: every
        category is unmanaged): --check-config exits 0 and names the directory, the
        daemon starts, and a record is unmanaged."""
        with Daemon(rules={}, start=False) as d:
            r = self.check(d)
            self.assertNoSanitizer(r.stderr)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("%s: warning: no *.rules files: every category is unmanaged"
                          % d.rules_dir, r.stderr)
            self.assertIn("configuration ok: 0 rules in %s" % d.rules_dir, r.stderr)
            self.assertIn("(with warnings)", r.stderr)
            d.start()
            self.assertEqual(d.ok("record.put", {"id": "x", "category": "t.x"})["records"][0]
                             ["state"], "unmanaged")
            d.stop()

    def test_broken_config_statement(self):
        with Daemon(config_extra="guard lots\n", start=False) as d:
            r = self.check(d)
            self.assertNoSanitizer(r.stderr)
            self.assertEqual(r.returncode, 78, r.stderr)
            self.assertRegex(r.stderr, r"(?m)^" + re.escape(d.config_path) + r":\d+:\d+: ")
            d.spawn()
            rc, err = d.wait_exit()
            self.assertEqual(rc, 78, err)


if __name__ == "__main__":
    main()
