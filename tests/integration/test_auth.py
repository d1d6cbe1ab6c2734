#!/usr/bin/env python3
"""Integration tests of the control socket's authorisation and its socket file.

Peer credentials (SPEC §5): root, the daemon's user and admin-group may do
everything, audit-group only the read commands, anyone else gets forbidden.
Clients of other users run through `setpriv --reuid 65534 ...` (needs root and
setpriv; otherwise those tests are skipped, naming what is missing, and with
CI=true they fail: they are security tests).  The socket file:
mode 0666 by default, control-socket-mode narrows it; a stale socket is
replaced, a symlink, a regular file or a live daemon at the path make the
daemon refuse to start.  Run: python3 tests/integration/test_auth.py
"""

import grp
import json
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SECURITY, Daemon, DaemonTestCase, main, skip_or_fail  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NOBODY = 65534

READ_CMDS = [
    {"cmd": "status"},
    {"cmd": "record.get", "args": {"id": "r1"}},
    {"cmd": "explain", "args": {"id": "r1"}},
    {"cmd": "plan", "args": {"until": "2045-01-01"}},
    {"cmd": "subject.show", "args": {"subject": "s:1"}},
    {"cmd": "rules.list"},
    {"cmd": "rules.check"},
    {"cmd": "hold.list"},
    {"cmd": "metrics"},
]
WRITE_CMDS = [
    {"cmd": "record.put", "args": {"id": "n1", "category": "visma.user_profile"}},
    {"cmd": "record.event", "args": {"id": "r1", "event": "last_activity",
                                     "at": "2036-01-01T00:00:00+01:00"}},
    {"cmd": "record.set", "args": {"id": "r1", "attributes": {"touched": True}}},
    {"cmd": "record.forget", "args": {"id": "r2"}},
    {"cmd": "rules.reload"},
]
R1 = {"id": "r1", "category": "visma.user_profile", "subject": "s:1",
      "events": {"last_activity": "2035-01-15T10:00:00+01:00"}}
R2 = {"id": "r2", "category": "visma.user_profile", "subject": "s:1",
      "events": {"last_activity": "2035-02-15T10:00:00+01:00"}}


def _python_for_others():
    """An interpreter that uid 65534 can run (pyenv shims under /root cannot be)."""
    for p in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if p and os.access(p, os.X_OK):
            st = os.stat(p)
            if st.st_mode & stat.S_IXOTH:
                return p
    return None


def _why_no_setpriv():
    if os.geteuid() != 0:
        return "not running as root: cannot act as another user or create groups"
    for tool in ("setpriv", "groupadd", "groupdel"):
        if not shutil.which(tool):
            return "%s is missing" % tool
    py = _python_for_others()
    if not py:
        return "no python3 that uid 65534 may execute"
    r = subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                        "--clear-groups", py, "-c", "pass"], capture_output=True, text=True,
                       cwd="/", timeout=30)
    if r.returncode != 0:
        return "setpriv %s as uid 65534 does not work: %s" % (py, r.stderr.strip()[:200])
    return None


SKIP_REASON = _why_no_setpriv()


class Groups:
    """Temporary groups created with groupadd, removed with groupdel."""

    def __init__(self):
        self.names = []

    def add(self, base):
        name = "rtnit-%s-%d" % (base, os.getpid())
        subprocess.run(["groupdel", name], capture_output=True)
        r = subprocess.run(["groupadd", name], capture_output=True, text=True)
        if r.returncode != 0:
            skip_or_fail("groupadd %s failed: %s" % (name, r.stderr.strip()), SECURITY)
        self.names.append(name)
        return name, grp.getgrnam(name).gr_gid

    def remove(self):
        for n in self.names:
            subprocess.run(["groupdel", n], capture_output=True)
        self.names = []


def run_as(d, reqs, gid=NOBODY, groups=None, uid=NOBODY):
    """Run client.py as uid/gid with the supplementary groups; (exit status, replies, stderr)."""
    client = os.path.join(d.dir, "client.py")
    if not os.path.exists(client):
        shutil.copy(os.path.join(HERE, "client.py"), client)
        os.chmod(client, 0o644)
    cmd = ["setpriv", "--reuid", str(uid), "--regid", str(gid)]
    cmd += ["--groups", ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    cmd += [_python_for_others(), client, d.socket_path, json.dumps(reqs)]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=d.dir, env=env, timeout=60)
    replies = json.loads(r.stdout) if r.stdout.strip() else None
    return r.returncode, replies, r.stderr


class PeerCredentials(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if SKIP_REASON:
            skip_or_fail("peer-credential tests: " + SKIP_REASON, SECURITY)
        cls.groups = Groups()
        try:
            cls.audit, cls.audit_gid = cls.groups.add("audit")
            cls.admin, cls.admin_gid = cls.groups.add("admin")
            cls.other, cls.other_gid = cls.groups.add("other")
        except BaseException:
            cls.groups.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.groups.remove()

    def start(self, extra=""):
        self.d = Daemon(config_extra=extra)
        self.addCleanup(self.d.cleanup)
        self.d.ok("record.put", {"records": [R1, R2]})
        self.before = {r: self.d.get(r) for r in ("r1", "r2")}
        return self.d

    def finish(self):
        """The daemon must still be well and stop cleanly."""
        self.assertTrue(self.d.ok("status"))
        self.d.stop()

    def assertForbidden(self, reqs, replies, first=1):
        self.assertIsNotNone(replies)
        self.assertEqual(len(replies), len(reqs))
        for i, (q, r) in enumerate(zip(reqs, replies), first):
            self.assertEqual(r.get("id"), i, r)
            self.assertFalse(r["ok"], "%s was allowed: %r" % (q["cmd"], r))
            self.assertEqual(r["error"]["code"], "forbidden", "%s: %r" % (q["cmd"], r))

    def assertAllowed(self, reqs, replies, first=1):
        self.assertIsNotNone(replies)
        self.assertEqual(len(replies), len(reqs))
        for i, (q, r) in enumerate(zip(reqs, replies), first):
            self.assertEqual(r.get("id"), i, r)
            self.assertTrue(r["ok"], "%s was refused: %r" % (q["cmd"], r))

    def assertUnchanged(self):
        d = self.d
        d.err("record.get", {"id": "n1"}, "not_found")
        for rid, rec in self.before.items():
            self.assertEqual(d.get(rid), rec)

    def test_unprivileged_user_forbidden_everything(self):
        d = self.start()
        reqs = READ_CMDS + WRITE_CMDS
        rc, replies, err = run_as(d, reqs)
        self.assertEqual(rc, 0, err)
        self.assertForbidden(reqs, replies)
        self.assertUnchanged()
        self.finish()

    def test_unprivileged_user_forbidden_with_groups_configured(self):
        d = self.start("audit-group %s\nadmin-group %s\n" % (self.audit, self.admin))
        reqs = READ_CMDS + WRITE_CMDS
        rc, replies, err = run_as(d, reqs, groups=[self.other_gid])
        self.assertEqual(rc, 0, err)
        self.assertForbidden(reqs, replies)
        self.assertUnchanged()
        self.finish()

    def test_audit_group_reads_only(self):
        d = self.start("audit-group %s\nadmin-group %s\n" % (self.audit, self.admin))
        # as a supplementary group
        rc, replies, err = run_as(d, READ_CMDS, groups=[self.other_gid, self.audit_gid])
        self.assertEqual(rc, 0, err)
        self.assertAllowed(READ_CMDS, replies)
        res = {q["cmd"]: r["result"] for q, r in zip(READ_CMDS, replies)}
        self.assertEqual(res["record.get"], self.before["r1"])
        self.assertEqual([a["record"] for a in res["plan"]["actions"]], ["r1", "r2"])
        self.assertEqual(sorted(x["id"] for x in res["subject.show"]["records"]), ["r1", "r2"])
        self.assertEqual(res["rules.list"]["hash"], d.ok("rules.list")["hash"])
        rc, replies, err = run_as(d, WRITE_CMDS, groups=[self.audit_gid])
        self.assertEqual(rc, 0, err)
        self.assertForbidden(WRITE_CMDS, replies)
        self.assertUnchanged()
        # as the primary group
        rc, replies, err = run_as(d, READ_CMDS[:2] + WRITE_CMDS[:1], gid=self.audit_gid)
        self.assertEqual(rc, 0, err)
        self.assertAllowed(READ_CMDS[:2], replies[:2])
        self.assertForbidden(WRITE_CMDS[:1], replies[2:], first=3)
        self.assertUnchanged()
        self.finish()

    def test_admin_group_may_write(self):
        d = self.start("audit-group %s\nadmin-group %s\n" % (self.audit, self.admin))
        reqs = READ_CMDS + WRITE_CMDS
        rc, replies, err = run_as(d, reqs, groups=[self.admin_gid])
        self.assertEqual(rc, 0, err)
        self.assertAllowed(reqs, replies)
        self.assertEqual(d.get("n1")["category"], "visma.user_profile")
        r1 = d.get("r1")
        self.assertEqual(r1["attributes"], {"touched": True})
        self.assertEqual(r1["events"]["last_activity"], "2036-01-01T00:00:00+01:00")
        d.err("record.get", {"id": "r2"}, "not_found")
        self.finish()

    def test_socket_mode_narrowed_keeps_others_out(self):
        d = self.start("control-socket-mode 0660\n")
        self.assertEqual(stat.S_IMODE(os.stat(d.socket_path).st_mode), 0o660)
        rc, replies, err = run_as(d, [{"cmd": "status"}])
        self.assertEqual(rc, 2, "uid 65534 should not be able to connect: %s %s" % (replies, err))
        self.assertIn("EACCES", err)
        self.finish()


class SocketFile(DaemonTestCase):

    def test_socket_mode_default_0666(self):
        st = os.lstat(self.d.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)

    def test_socket_removed_on_stop(self):
        self.d.stop()
        self.assertFalse(os.path.lexists(self.d.socket_path))
        self.d.start()  # tearDown stops it again


class SocketMode(DaemonTestCase):
    CONFIG_EXTRA = "control-socket-mode 0660\n"

    def test_socket_mode_0660(self):
        st = os.lstat(self.d.socket_path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertTrue(self.d.ok("status"))


class SocketPath(unittest.TestCase):

    def setUp(self):
        self.d = Daemon(start=False)
        self.addCleanup(self.d.cleanup)

    def refuses(self):
        d = self.d
        d.spawn()
        rc, err = d.wait_exit()
        self.assertGreater(rc, 0, "the daemon should refuse to start:\n" + err)
        self.assertIn(d.socket_path, err, "stderr should name the socket path")
        return err

    def test_stale_socket_is_replaced(self):
        d = self.d
        d.start()
        d.ok("record.put", {"id": "x", "category": "visma.user_profile"})
        d.kill9()
        self.assertTrue(stat.S_ISSOCK(os.lstat(d.socket_path).st_mode),
                        "after kill -9 the socket file is left behind")
        d.start()
        self.assertEqual(d.state("x"), "active")
        with d.connect() as c:
            self.assertTrue(c.request("status")["ok"])
        d.stop()

    def test_symlink_at_socket_path(self):
        d = self.d
        target = os.path.join(d.dir, "target")
        with open(target, "w") as f:
            f.write("precious\n")
        os.symlink(target, d.socket_path)
        self.refuses()
        self.assertTrue(os.path.islink(d.socket_path))
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")
        # a dangling symlink too
        os.unlink(d.socket_path)
        os.symlink(os.path.join(d.dir, "nowhere"), d.socket_path)
        self.refuses()
        self.assertTrue(os.path.islink(d.socket_path))
        self.assertFalse(os.path.lexists(os.path.join(d.dir, "nowhere")))

    def test_regular_file_at_socket_path(self):
        d = self.d
        with open(d.socket_path, "w") as f:
            f.write("not a socket\n")
        self.refuses()
        with open(d.socket_path) as f:
            self.assertEqual(f.read(), "not a socket\n")

    def test_second_daemon_on_the_same_socket(self):
        first = self.d
        first.start()
        first.ok("record.put", {"id": "x", "category": "visma.user_profile"})
        keep = first.connect()
        second = Daemon(start=False)
        self.addCleanup(second.cleanup)
        second.write_config()
        with open(second.config_path) as f:
            text = f.read().replace(second.socket_path, first.socket_path)
        second.write_file(second.config_path, text)
        second.spawn()
        rc, err = second.wait_exit()
        self.assertGreater(rc, 0, "a second daemon must not take over the socket:\n" + err)
        self.assertIn(first.socket_path, err)
        # the first one keeps working, on the old and on new connections
        self.assertTrue(stat.S_ISSOCK(os.lstat(first.socket_path).st_mode))
        self.assertTrue(keep.request("status")["ok"])
        with first.connect() as c:
            r = c.request("record.get", {"id": "x"})
            self.assertTrue(r["ok"], r)
        self.assertTrue(first.running())
        first.stop()


if __name__ == "__main__":
    main()
