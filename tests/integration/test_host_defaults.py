#!/usr/bin/env python3
"""Integration tests of the defaults on a real host: with no `timezone` line the daemon
takes TZ from its environment, else the zone /etc/localtime links to (retentiond.conf(5));
and `audit.rotate` (`retentionctl audit rotate`), which does what SIGUSR1 does: a new
file that continues the chain, the old one's name in the reply, refused to audit-group
and to strangers (run through setpriv as in test_auth.py; skipped without root).
Run: python3 tests/integration/test_host_defaults.py
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, SECURITY, Daemon, DaemonTestCase, main, skip_or_fail, wait_for  # noqa: E402
import test_auth  # noqa: E402

DAEMON = os.path.join(REPO, "build", "asan", "retentiond")
CTL = os.path.join(REPO, "build", "retentionctl")
STAMP = re.compile(r"audit\.log\.(\d{8}T\d{6})")


def host_zone():
    """The zone /etc/localtime names (what follows "zoneinfo/" in its link), or None."""
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    parts = target.split("/")
    if "zoneinfo" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("zoneinfo")
    name = "/".join(parts[i + 1:])
    if not name or not os.path.isfile(os.path.join("/usr/share/zoneinfo", name)):
        return None
    utc = ("Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu")
    return "UTC" if name in utc else name


def entries(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class HostZone(unittest.TestCase):
    def daemon(self, env):
        d = Daemon(start=False, env=env)
        self.addCleanup(d.cleanup)
        with open(d.config_path) as f:
            text = f.read()
        self.assertIn("\ntimezone ", text)
        d.write_file(d.config_path, re.sub(r"\ntimezone [^\n]*", "", text))
        d.start()
        return d

    def test_no_timezone_line_takes_the_host_zone(self):
        d = self.daemon({"TZ": None})
        zone = host_zone()
        st = d.ok("status")
        if zone:
            self.assertEqual(st["timezone"], zone)
            self.assertIn("names no timezone: the zone is %s, from /etc/localtime" % zone,
                          d.stderr())
        else:
            self.assertEqual(st["timezone"], "UTC")
            self.assertIn("neither TZ nor /etc/localtime names a zone", d.stderr())
        # the zone is the one the calendar arithmetic uses and the one recorded
        self.assertTrue(st["time"].endswith("Z") if st["timezone"] == "UTC"
                        else re.search(r"[+-]\d\d:\d\d$", st["time"]), st["time"])
        start = [e for e in entries(d.audit_log) if e["type"] == "rules.loaded"]
        self.assertTrue(start, "no rules.loaded entry")
        d.stop()

    def test_tz_comes_before_the_host_zone(self):
        d = self.daemon({"TZ": "Asia/Kolkata"})
        st = d.ok("status")
        self.assertEqual(st["timezone"], "Asia/Kolkata")
        self.assertTrue(st["time"].endswith("+05:30"), st["time"])
        self.assertIn("the zone is Asia/Kolkata, from TZ", d.stderr())
        d.stop()

    def test_timezone_line_comes_first(self):
        d = Daemon(env={"TZ": "Asia/Kolkata"})
        self.addCleanup(d.cleanup)
        self.assertEqual(d.ok("status")["timezone"], "Europe/Oslo")
        self.assertNotIn("names no timezone", d.stderr())
        d.stop()


class Counts(unittest.TestCase):
    def test_check_config_counts_in_the_singular(self):
        d = Daemon(start=False, rules={"one.rules": 'rule o-del { category o.doc; delete '
                                                    '1 year after created; basis "test" }\n'})
        self.addCleanup(d.cleanup)
        p = subprocess.run([DAEMON, "--check-config", "--config", d.config_path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration ok: 1 rule in %s, 1 category, 1 backend\n" % d.rules_dir,
                      p.stderr)


class AuditRotate(DaemonTestCase):
    def rotated_files(self):
        return sorted(f for f in os.listdir(self.d.dir) if STAMP.fullmatch(f))

    def rotate(self):
        """audit.rotate, again after a second if the last was within this second."""
        for _ in range(30):
            r = self.d.call("audit.rotate")
            if r["ok"]:
                return r["result"]
            self.assertEqual(r["error"]["code"], "conflict", r)
            time.sleep(0.2)
        self.fail("audit.rotate refused for 6 s")

    def test_rotate_keeps_the_chain(self):
        d = self.d
        d.ok("record.put", {"records": [{"id": "r%d" % i, "category": "visma.user_profile",
                                         "subject": "s:%d" % i,
                                         "events": {"last_activity": "2035-01-15T10:00:00+01:00"}}
                                        for i in range(3)]})
        before = entries(d.audit_log)
        r = self.rotate()
        self.assertEqual(r["current"], d.audit_log)
        m = STAMP.fullmatch(os.path.basename(r["previous"]))
        self.assertTrue(m, r)
        self.assertEqual(os.path.dirname(r["previous"]), d.dir)
        self.assertEqual(self.rotated_files(), [os.path.basename(r["previous"])])
        self.assertEqual(entries(r["previous"]), before)
        first = entries(d.audit_log)
        self.assertEqual(len(first), 1)
        first = first[0]
        self.assertEqual(first["type"], "audit.rotated")
        self.assertEqual(first["actor"], "daemon")
        self.assertEqual(first["detail"], {"previous": r["previous"],
                                           "previous_head": before[-1]["hash"]})
        self.assertEqual(first["prev"], before[-1]["hash"])
        self.assertEqual(first["seq"], before[-1]["seq"] + 1)
        self.assertEqual(r["head"], first["hash"])
        self.assertEqual(r["entries"], first["seq"])
        # the name is the local time of the rotation in the daemon's zone
        self.assertEqual(m.group(1), re.sub(r"[-:]", "", first["time"][:19]))
        # through retentionctl, a second file; then the chain across all three
        p = subprocess.run([CTL, "-s", d.socket_path, "--json", "audit", "rotate"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:  # the same second as the first: once more, a second on
            time.sleep(1.1)
            p = subprocess.run([CTL, "-s", d.socket_path, "--json", "audit", "rotate"],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        r2 = json.loads(p.stdout)
        self.assertNotEqual(r2["previous"], r["previous"])
        self.assertEqual(entries(d.audit_log)[0]["detail"]["previous"], r2["previous"])
        time.sleep(1.1)
        p = subprocess.run([CTL, "-s", d.socket_path, "audit", "rotate"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"previous:\s+%s\.\d{8}T\d{6}\n" % re.escape(d.audit_log))
        self.assertRegex(p.stdout, r"current:\s+%s\n" % re.escape(d.audit_log))
        files = self.rotated_files()
        self.assertEqual(len(files), 3, files)
        v = d.ok("audit.verify")
        self.assertTrue(v["valid"], v)
        self.assertEqual(v["files"], [os.path.join(d.dir, f) for f in files] + [d.audit_log])
        d.ok("record.forget", {"id": "r0"})
        d.stop()
        paths = [os.path.join(d.dir, f) for f in files] + [d.audit_log]
        p = subprocess.run([DAEMON, "--verify-audit"] + paths, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # a file left out breaks the chain
        p = subprocess.run([DAEMON, "--verify-audit", paths[0], paths[2], paths[3]],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_rotate_takes_no_arguments(self):
        e = self.d.err("audit.rotate", {"to": "/tmp/x"}, "bad_request")
        self.assertIn("to", e["message"])
        self.assertEqual(self.rotated_files(), [])


class AuditRotateRefused(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if test_auth.SKIP_REASON:
            skip_or_fail("audit.rotate refusals: " + test_auth.SKIP_REASON, SECURITY)
        cls.groups = test_auth.Groups()
        try:
            cls.audit, cls.audit_gid = cls.groups.add("raudit")
            cls.admin, cls.admin_gid = cls.groups.add("radmin")
        except BaseException:
            cls.groups.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.groups.remove()

    def test_only_those_who_may_change_state(self):
        d = Daemon(config_extra="audit-group %s\nadmin-group %s\n" % (self.audit, self.admin))
        self.addCleanup(d.cleanup)
        req = [{"cmd": "audit.rotate"}]
        stamp = lambda: sorted(f for f in os.listdir(d.dir) if STAMP.fullmatch(f))
        for groups in ([self.audit_gid], None):  # audit-group, then a stranger
            rc, replies, err = test_auth.run_as(d, req, groups=groups)
            self.assertEqual(rc, 0, err)
            self.assertFalse(replies[0]["ok"], replies)
            self.assertEqual(replies[0]["error"]["code"], "forbidden", replies)
            self.assertEqual(stamp(), [])
            self.assertNotEqual(entries(d.audit_log)[0]["type"], "audit.rotated")
        wait_for(lambda: any(e["type"] == "request.forbidden" and
                             e["detail"].get("cmd") == "audit.rotate"
                             for e in entries(d.audit_log)), what="the refusal audited")
        rc, replies, err = test_auth.run_as(d, req, groups=[self.admin_gid])
        self.assertEqual(rc, 0, err)
        self.assertTrue(replies[0]["ok"], replies)
        self.assertEqual(stamp(), [os.path.basename(replies[0]["result"]["previous"])])
        self.assertEqual(entries(d.audit_log)[0]["type"], "audit.rotated")
        d.stop()


if __name__ == "__main__":
    main()
