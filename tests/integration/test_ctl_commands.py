#!/usr/bin/env python3
"""The commands people reach for, through retentionctl against the real daemon: hold list,
plan's counts of what it does not list, relative times, --format csv, errors as JSON with
--json and the exit-code table, COMMAND --help for every command, and the bash completion.

Run from the repository root after `make all asan helpers`:
python3 tests/integration/test_ctl_commands.py
"""
import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, DaemonTestCase, main, parse_time  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")
COMPLETION = os.path.join(REPO, "contrib", "bash-completion", "retentionctl")
NOBODY = 65534

# The documented exit codes (retentionctl(8), EXIT STATUS).
EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_NOPERM = 1, 2, 69, 77

RULES = ('rule t-later { category t.later; delete 10 years after created; '
         'basis "test: ten years" }\n'
         'rule t-keep { category t.keep; keep forever; basis "test: kept by law" }\n'
         'rule t-event { category t.event; delete 1 year after ended; '
         'basis "test: a year after it ended" }\n')

SOON = "2001-01-01T00:00:00Z"  # created long ago: the t.later deletion is 2011, in any plan


def rec(rid, category, events=None, subject=None):
    r = {"id": rid, "category": category, "events": events or {}}
    if subject:
        r["subject"] = subject
    return r


def run(args, env=None, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TZ="UTC", **(env or {})), **kw)


class CtlCase(DaemonTestCase):
    RULES = RULES

    def setUp(self):
        if not os.access(CTL, os.X_OK):
            raise AssertionError("%s is missing: run `make`" % CTL)
        super().setUp()

    def ctl(self, *args, ok=True):
        r = run([CTL, "-s", self.d.socket_path] + list(args))
        if ok:
            self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)


class HoldList(CtlCase):
    def test_hold_list_after_place_and_release(self):
        self.d.ok("record.put", {"records": [
            rec("a1", "t.later", {"created": SOON}, subject="person:ann"),
            rec("a2", "t.later", {"created": SOON})]})
        self.assertEqual(self.ctl_json("hold", "list"), {"holds": [], "count": 0})
        self.assertIn("no holds", self.ctl("hold", "list").stdout)
        before = int(time.time())
        self.ctl("hold", "place", "--id", "a2", "lit-1", "a dispute over a2")
        self.ctl("hold", "place", "--subject", "person:ann", "lit-2", "the claim of ann")
        self.ctl("hold", "place", "--category", "t.later", "audit", "the yearly audit")
        got = self.ctl_json("hold", "list")
        self.assertEqual(got["count"], 3)
        by = {h["hold"]: h for h in got["holds"]}
        self.assertEqual(set(by), {"lit-1", "lit-2", "audit"})
        self.assertEqual((by["lit-1"]["selector"], by["lit-1"]["value"]), ("id", "a2"))
        self.assertEqual(by["lit-1"]["reason"], "a dispute over a2")
        self.assertEqual(by["lit-1"]["by"], "uid:%d" % os.getuid())
        # a subject is shown as the audit log names it: its pseudonym, never in clear
        self.assertEqual(by["lit-2"]["selector"], "subject")
        self.assertEqual(by["lit-2"]["value"], self.d.pseudonym("person:ann"))
        self.assertNotIn("person:ann", json.dumps(got))
        self.assertEqual((by["audit"]["selector"], by["audit"]["value"]), ("category", "t.later"))
        for h in got["holds"]:
            since = parse_time(h["since"])
            self.assertTrue(before - 1 <= since <= time.time() + 1, h)
        # filters: one selector, the hold's name
        self.assertEqual([h["hold"] for h in self.ctl_json("hold", "list", "--id", "a2")["holds"]],
                         ["lit-1"])
        self.assertEqual([h["hold"] for h in
                          self.ctl_json("hold", "list", "--subject", "person:ann")["holds"]],
                         ["lit-2"])
        self.assertEqual([h["hold"] for h in self.ctl_json("hold", "list", "--hold", "audit")["holds"]],
                         ["audit"])
        r = self.ctl("hold", "list", "--id", "a2", "--category", "t.later", ok=False)
        self.assertEqual(r.returncode, EXIT_USAGE, r)
        # the table names each hold with who placed it and why
        out = self.ctl("hold", "list").stdout
        for text in ("lit-1", "a2", "lit-2", self.d.pseudonym("person:ann"), "audit",
                     "the yearly audit", "uid:%d" % os.getuid(), "SINCE"):
            self.assertIn(text, out)
        # released: gone from the list; reading it changed nothing
        self.ctl("hold", "release", "--id", "a2", "lit-1")
        self.assertEqual({h["hold"] for h in self.ctl_json("hold", "list")["holds"]},
                         {"lit-2", "audit"})
        self.ctl("hold", "release", "--category", "t.later", "audit")
        self.ctl("hold", "release", "--subject", "person:ann", "lit-2")
        self.assertEqual(self.ctl_json("hold", "list")["count"], 0)
        self.assertEqual(self.d.state("a2"), "queued")  # due long ago, held no more

    def test_hold_list_is_read_only_for_auditors(self):
        self.assertEqual(self.d.ok("hold.list"), {"holds": [], "count": 0})
        e = self.d.err("hold.list", {"nonsense": 1})
        self.assertEqual(e["code"], "bad_request")


class PlanCounts(CtlCase):
    def test_held_and_no_deadline_counted(self):
        self.d.ok("record.put", {"records": [
            rec("l1", "t.later", {"created": SOON}),
            rec("l2", "t.later", {"created": SOON}),
            rec("k1", "t.keep"), rec("k2", "t.keep"),
            rec("e1", "t.event", {"ended": SOON}),  # has its event: planned
            rec("e2", "t.event"),                   # waits for "ended"
            rec("u1", "t.nobody")]})                # no rule names it
        p = self.ctl_json("plan", "--until", "2030-01-01T00:00:00Z")
        self.assertEqual(p["unscheduled"], {"held": 0, "no_deadline": 3, "unmanaged": 1})
        self.assertEqual(sorted(a["record"] for a in p["actions"]), ["e1", "l1", "l2"])
        self.ctl("hold", "place", "--id", "l2", "lit", "a dispute")
        self.ctl("hold", "place", "--id", "k1", "lit", "a dispute")
        p = self.ctl_json("plan", "--until", "2030-01-01T00:00:00Z")
        # k1 was kept forever and is now held: counted once, as held
        self.assertEqual(p["unscheduled"], {"held": 2, "no_deadline": 2, "unmanaged": 1})
        self.assertEqual(sorted(a["record"] for a in p["actions"]), ["e1", "l1"])
        c = self.ctl_json("plan", "--until", "2030-01-01T00:00:00Z", "--category", "t.keep")
        self.assertEqual(c["unscheduled"], {"held": 1, "no_deadline": 1, "unmanaged": 0})
        out = self.ctl("plan", "--until", "2030-01-01T00:00:00Z").stdout
        self.assertRegex(out, r"not in the plan: 2 held, 2 with no deadline .*, 1 unmanaged")

    def test_relative_until(self):
        soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)
        self.d.ok("record.put", {"records": [
            rec("r1", "t.event", {"ended": (soon - dt.timedelta(days=365)).isoformat()}),
            rec("r2", "t.event", {"ended": (soon + dt.timedelta(days=20 - 365)).isoformat()})]})
        rel = self.ctl_json("plan", "--until", "30d")
        until = parse_time(rel["until"])
        self.assertAlmostEqual(until, time.time() + 30 * 86400, delta=5)
        stamp = dt.datetime.fromtimestamp(until, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        absolute = self.ctl_json("plan", "--until", stamp)
        self.assertEqual(rel, absolute)
        self.assertEqual([a["record"] for a in rel["actions"]], ["r1"])
        # the words of the rules work too; +SPAN ahead, -SPAN back
        self.assertAlmostEqual(parse_time(self.ctl_json("plan", "--until", "4 weeks 2 days")["until"]),
                               until, delta=5)
        self.assertAlmostEqual(parse_time(self.ctl_json("plan", "--until", "-1d")["until"]),
                               time.time() - 86400, delta=5)
        for bad in ("30x", "30m", "30d 2d"):
            r = self.ctl("plan", "--until", bad, ok=False)
            self.assertEqual(r.returncode, EXIT_USAGE, (bad, r))
            self.assertIn("--until", r.stderr)

    def test_relative_since(self):
        self.d.ok("record.put", rec("s1", "t.keep"))
        q = self.ctl_json("audit", "query", "--since", "1h", "--type", "record.")
        self.assertIn("s1", [e.get("record") for e in q["entries"]])
        t = parse_time(q["entries"][0]["time"])
        self.assertGreater(t, time.time() - 3600)
        # a week ahead as the start: nothing yet
        self.assertEqual(self.ctl_json("audit", "query", "--since", "+7d")["entries"], [])
        e = self.ctl_json("audit", "query", "--since", "7d", "--until", "1d")
        self.assertIn("s1", [x.get("record") for x in e["entries"]])


class Csv(CtlCase):
    def raw(self, *args, stderr=b""):
        """stdout as written (text mode would turn its CRLF into LF)."""
        r = subprocess.run([CTL, "-s", self.d.socket_path] + list(args), capture_output=True,
                           timeout=60, env=dict(os.environ, TZ="UTC"))
        self.assertEqual((r.returncode, r.stderr), (0, stderr), r)
        return r.stdout.decode("utf-8")

    def rows(self, *args, stderr=b""):
        out = self.raw(*args, stderr=stderr)
        self.assertTrue(out.endswith("\r\n"), out)
        return list(csv.DictReader(io.StringIO(out, newline="")))

    def test_plan_jobs_audit_csv(self):
        self.d.ok("record.put", {"records": [
            rec("=HYPERLINK(\"x\")", "t.later", {"created": SOON}),
            rec("plain, \"quoted\"\nline", "t.later", {"created": SOON}),
            rec("@sum", "t.event", {"ended": SOON}),
            rec("-1+1", "t.later", {"created": SOON})]})
        # what the rows leave out is said on stderr, never silently
        rows = self.rows("plan", "--until", "2030-01-01T00:00:00Z", "--format", "csv",
                         stderr=b"retentionctl: plan: not in the plan: 0 held, 0 with no "
                                b"deadline, 0 unmanaged\n")
        cut = self.raw("plan", "--until", "2030-01-01T00:00:00Z", "--format", "csv",
                       "--limit", "1", stderr=b"retentionctl: plan: 1 of 4 actions written: "
                       b"raise --limit to see more\nretentionctl: plan: not in the plan: 0 "
                       b"held, 0 with no deadline, 0 unmanaged\n")
        self.assertEqual(len(list(csv.DictReader(io.StringIO(cut, newline="")))), 1, cut)
        self.assertEqual(list(rows[0]), ["at", "action", "record", "category", "rule", "review",
                                         "backend", "state"])
        got = sorted(r["record"] for r in rows)
        self.assertEqual(got, sorted(["'=HYPERLINK(\"x\")", "plain, \"quoted\"\nline", "'@sum",
                                      "'-1+1"]))
        plan = self.ctl_json("plan", "--until", "2030-01-01T00:00:00Z")
        self.assertEqual([r["at"] for r in rows], [a["at"] for a in plan["actions"]])
        self.assertEqual({r["review"] for r in rows}, {"false"})
        # jobs: due records go to the backend "off" (nothing listens): no job yet, a header
        out = self.raw("jobs", "list", "--format", "csv")
        self.assertEqual(out.split("\r\n")[0].split(",")[:3], ["job", "state", "record"])
        self.ctl("hold", "place", "--category", "t.event", "lit", "a, \"claim\"")
        audit = self.rows("audit", "query", "--format", "csv")
        q = self.ctl_json("audit", "query")
        self.assertIn("hold.place", [r["type"] for r in audit])
        self.assertEqual([int(r["seq"]) for r in audit], [e["seq"] for e in q["entries"]])
        self.assertIn("'=HYPERLINK(\"x\")", [r["record"] for r in audit])
        for r, e in zip(audit, q["entries"]):
            self.assertEqual(r["hash"], e["hash"])
            self.assertEqual(json.loads(r["detail"]), e["detail"])
        # --format json is --json; anything else is a usage error
        self.assertEqual(json.loads(self.ctl("jobs", "list", "--format", "json").stdout),
                         self.ctl_json("jobs", "list"))
        r = self.ctl("jobs", "list", "--format", "xml", ok=False)
        self.assertEqual(r.returncode, EXIT_USAGE)


class JsonErrors(CtlCase):
    def error(self, r, code, status):
        self.assertEqual(r.returncode, status, r)
        e = json.loads(r.stdout)
        self.assertEqual(set(e), {"error"})
        self.assertEqual(e["error"]["code"], code, e)
        self.assertTrue(e["error"]["message"], e)
        self.assertIn(e["error"]["message"].split('"')[0].strip()[:20], r.stderr)
        return e["error"]

    def test_each_class(self):
        # usage errors, wherever --json is on the line
        self.error(self.ctl("--json", "plan", ok=False), "usage", EXIT_USAGE)
        self.error(self.ctl("plan", "--until", "30d", "--bogus", "--json", ok=False), "usage",
                   EXIT_USAGE)
        self.error(self.ctl("--json", "nosuch", ok=False), "usage", EXIT_USAGE)
        # an error reply keeps the daemon's code
        e = self.error(self.ctl("--json", "record", "get", "nope", ok=False), "not_found",
                       EXIT_ERROR)
        self.assertIn("nope", e["message"])
        # a file that cannot be read
        self.error(self.ctl("--json", "record", "put", "/nonexistent/x.json", ok=False),
                   "input", EXIT_ERROR)
        # unreachable
        r = run([CTL, "-s", os.path.join(self.d.dir, "nothing.sock"), "--json", "status"])
        self.error(r, "unavailable", EXIT_UNAVAILABLE)
        # without --json: nothing on stdout, the same status
        r = self.ctl("record", "get", "nope", ok=False)
        self.assertEqual((r.returncode, r.stdout), (EXIT_ERROR, ""))

    def test_refused(self):
        if os.getuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to connect as another user")
        ctl = os.path.join(self.d.dir, "retentionctl")
        shutil.copy(CTL, ctl)
        os.chmod(ctl, 0o755)
        os.chmod(self.d.socket_path, 0o777)
        cmd = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
               ctl, "-s", self.d.socket_path]
        r = run(cmd + ["--json", "status"], cwd=self.d.dir)
        self.error(r, "forbidden", EXIT_NOPERM)
        r = run(cmd + ["status"], cwd=self.d.dir)
        self.assertEqual((r.returncode, r.stdout), (EXIT_NOPERM, ""), r)
        self.assertIn("forbidden", r.stderr)


class ExitTable(unittest.TestCase):
    """One table for every program: usage 2, a file named that cannot be read 66, an
    invalid configuration 78 (retentiond(8) and retentionctl(8), EXIT STATUS)."""

    def test_programs_share_the_table(self):
        daemon = os.path.join(REPO, "build", "retentiond")
        fs = os.path.join(REPO, "build", "retention-fs")
        for prog in (CTL, daemon, fs):
            self.assertEqual(run([prog, "--bogus"]).returncode, EXIT_USAGE, prog)
            self.assertEqual(run([prog, "--help"]).returncode, 0, prog)
        self.assertEqual(run([daemon, "--verify-audit"]).returncode, EXIT_USAGE)
        self.assertEqual(run([daemon, "--verify-audit", "/nonexistent/audit.log"]).returncode, 66)
        self.assertEqual(run([daemon, "--check-audit", "/nonexistent/audit.log"]).returncode, 66)
        self.assertEqual(run([daemon, "--check-config", "--config",
                              "/nonexistent/retentiond.conf"]).returncode, 78)
        self.assertEqual(run([fs, "--check-config", "--config", "/nonexistent/fs.conf"]).returncode,
                         78)


class HelpAndCompletion(CtlCase):
    def commands(self):
        r = run([CTL, "--commands"])
        self.assertEqual(r.returncode, 0, r)
        lines = [ln.split("\t") for ln in r.stdout.splitlines()]
        return {name: opts.split() for name, opts in lines}

    def test_every_command_has_help(self):
        cmds = self.commands()
        for name in ("status", "hold place", "hold list", "plan", "jobs list", "audit query",
                     "report", "import", "call"):
            self.assertIn(name, cmds)
        self.assertIn("--format", cmds["plan"])
        for name in cmds:
            r = run([CTL] + name.split() + ["--help"])
            self.assertEqual((r.returncode, r.stderr), (0, ""), (name, r))
            self.assertTrue(r.stdout.startswith("usage: retentionctl "), (name, r.stdout))
            self.assertIn(" %s" % name, r.stdout.splitlines()[0])
            r2 = run([CTL, "help"] + name.split())
            self.assertEqual(r2.stdout, r.stdout, name)
        # a group answers --help with the usage of each of its commands
        for group in sorted({n.split()[0] for n in cmds if " " in n}):
            want = sorted(n for n in cmds if n.startswith(group + " "))
            for args in ([group, "--help"], ["help", group]):
                r = run([CTL] + args)
                self.assertEqual((r.returncode, r.stderr), (0, ""), (args, r))
                got = sorted(ln.split("] ", 2)[-1].split(" ")[0] + " " +
                             ln.split("] ", 2)[-1].split(" ")[1] for ln in r.stdout.splitlines())
                self.assertEqual(got, want, args)
        # hold place's usage is what it accepts: a selector, HOLD and REASON
        usage = run([CTL, "hold", "place", "--help"]).stdout.splitlines()[0]
        self.assertEqual(usage, "usage: retentionctl [-s SOCKET] [--json] hold place "
                                "{--id ID | --subject SUBJECT | --category CATEGORY} HOLD REASON")
        self.d.ok("record.put", rec("hp", "t.keep"))
        self.ctl("hold", "place", "--id", "hp", "lit", "a dispute")
        self.ctl("hold", "place", "lit2", "the reason", "--id", "hp")
        self.assertEqual(self.d.state("hp"), "held")

    def complete(self, *words):
        """What the completion gives for the last word of `retentionctl WORDS`."""
        line = "retentionctl " + " ".join(words)
        script = ('source "$1"; COMP_WORDS=(retentionctl %s); COMP_CWORD=%d; '
                  'COMP_LINE=%s; COMP_POINT=${#COMP_LINE}; _retentionctl; '
                  'printf "%%s\\n" "${COMPREPLY[@]}"'
                  % (" ".join("'%s'" % w for w in words), len(words),
                     "'%s'" % line))
        r = run(["bash", "--norc", "--noprofile", "-c", script, "bash", COMPLETION],
                env={"PATH": os.path.dirname(CTL) + os.pathsep + os.environ["PATH"]})
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        return sorted(x for x in r.stdout.splitlines() if x)

    def test_completion(self):
        self.assertTrue(os.path.exists(COMPLETION), COMPLETION)
        self.assertEqual(self.complete("ho"), ["hold"])
        self.assertEqual(self.complete("hold", ""), ["list", "place", "release"])
        self.assertEqual(self.complete("pl"), ["plan"])
        self.assertEqual(self.complete("help", "ho"), ["hold"])
        self.assertEqual(self.complete("help", "hold", "l"), ["list"])
        self.assertEqual(self.complete("--json", "-s", "/x.sock", "ho"), ["hold"])
        self.assertEqual(self.complete("plan", "--f"), ["--format"])
        self.assertEqual(self.complete("plan", "--format", ""), ["csv", "json", "table"])
        self.assertEqual(self.complete("jobs", "list", "--state", "d"), ["dead", "done"])
        self.assertIn("--subject", self.complete("hold", "list", "--"))
        # every first word of the command table, and nothing else
        firsts = sorted({n.split()[0] for n in self.commands()} | {"help"})
        self.assertEqual(self.complete(""), firsts)


if __name__ == "__main__":
    main()
