#!/usr/bin/env python3
"""retentionctl's printers (human output, not --json) against a live daemon: status,
explain, plan and jobs list print the values the daemon's replies hold.

Run from the repository root after `make all asan helpers`:
python3 tests/integration/test_ctl_output.py
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import REPO, main  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")

RULES = ('rule t-due { category t.doc; delete immediately after due; '
         'basis "test: deleted at its due event" }\n'
         'rule t-keep { category t.keep; delete 10 years after created; '
         'basis "test: kept ten years" }\n')


def row(*cells):
    """A regular expression for one table row (or line): the cells in order, separated
    by blanks, each matched literally."""
    return r"(?m)^\s*" + r"\s+".join(re.escape(str(c)) for c in cells) + r"\s*$"


class CtlOutput(DispatchTestCase):
    RULES = with_rules(RULES)

    def setUp(self):
        super().setUp()
        if not os.access(CTL, os.X_OK):
            raise AssertionError("%s is missing: run `make`" % CTL)
        self.backend("nb")
        self.up({"nb": {}})
        self.put([{"id": "gone", "category": "t.doc", "backend": "nb",
                   "locator": {"path": "/srv/t/gone.pdf"},
                   "events": {"due": "2001-06-01T10:00:00+02:00"}},
                  {"id": "kept", "category": "t.keep", "backend": "nb",
                   "locator": {"path": "/srv/t/kept.pdf"},
                   "events": {"created": "2030-01-01T00:00:00+01:00"}}])
        self.wait_state(["gone"], "deleted")

    def ctl(self, *args):
        """retentionctl -s SOCKET ARGS: its stdout; it must exit 0 and print no error."""
        r = subprocess.run([CTL, "-s", self.d.socket_path] + list(args), capture_output=True,
                           text=True, timeout=30, env=dict(os.environ, TZ="UTC"))
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        return r.stdout

    def test_status(self):
        out = self.ctl("status")
        s = self.d.ok("status")  # nothing changes in between: a status is not audited
        self.assertRegex(out, row("version:", s["version"]))
        self.assertRegex(out, r"(?m)^time:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "
                              r"\(Europe/Oslo\)$")
        self.assertRegex(out, row("records:", "2 total: 1 active, 1 deleted"))
        self.assertRegex(out, row("unmanaged:", "none"))
        self.assertRegex(out, row("next deadline:",
                                  "2040-01-01T00:00:00+01:00 delete kept (rule t-keep)"))
        self.assertRegex(out, row("jobs:", "0 sent, 0 retry, 1 done, 0 dead, 0 cancelled"))
        self.assertRegex(out, row("rules:", "%d, loaded %s, hash %s" % (
            s["rules"]["count"], s["rules"]["loaded"], s["rules"]["hash"])))
        self.assertRegex(out, row("audit:", "%d entries, head %s" % (
            s["audit"]["entries"], s["audit"]["head"])))
        self.assertRegex(out, row("guard:", "not paused"))
        self.assertRegex(out, row("nb", "yes", 0, 1, 0, 0, 0, self.backends["nb"].socket, "ready",
                                  1, "null-backend", "delete, anonymize"))
        self.assertRegex(out, r"(?m)^\s*off\s+no\s+0\s+0\s+0\s+0\s+0\s+\S+offline\.sock\s+down\s+"
                              r"cannot connect to ")

    def test_explain(self):
        out = self.ctl("explain", "kept")
        self.assertRegex(out, row("decision:", "delete at 2040-01-01T00:00:00+01:00 (rule t-keep)"))
        self.assertRegex(out, row("basis:", "test: kept ten years"))
        self.assertRegex(out, row("id:", "kept"))
        self.assertRegex(out, row("category:", "t.keep"))
        self.assertRegex(out, row("state:", "active"))
        self.assertRegex(out, row("holds:", "none"))
        self.assertRegex(out, row("2040-01-01T00:00:00+01:00", "delete", "t-keep", "no", "nb"))
        self.assertRegex(out, row("t-keep", "delete", "yes", "2040-01-01T00:00:00+01:00",
                                  "applies: delete 10 years after created = "
                                  "2040-01-01T00:00:00+01:00"))

    def test_plan(self):
        out = self.ctl("plan", "--until", "2045-01-01T00:00:00Z")
        self.assertRegex(out, row("1 action due by 2045-01-01T01:00:00+01:00"))
        self.assertRegex(out, row("2040-01-01T00:00:00+01:00", "delete", "kept", "t.keep",
                                  "t-keep", "no", "nb", "active"))
        self.assertRegex(out, row("t-keep", "delete", 1))
        self.assertNotIn("gone", out)

    def test_jobs_list(self):
        out = self.ctl("jobs", "list")
        jobs = self.d.ok("jobs.list", {})["jobs"]
        self.assertEqual(len(jobs), 1, jobs)
        self.assertRegex(out, row("count:", 1))
        self.assertRegex(out, row(jobs[0]["job"], "done", "gone", "delete", "t-due", "nb", 1,
                                  "2001-06-01T10:00:00+02:00", "-", "-", "deleted"))


if __name__ == "__main__":
    main()
