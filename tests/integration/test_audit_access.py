#!/usr/bin/env python3
"""Who may read the audit log: the files are mode 0640 and of audit-group, set by the
daemon itself (on the file it opens and on each file a rotation starts), so a member of
that group runs the offline verifier without root, and nobody else reads the log.

A throwaway group and user are made with groupadd/useradd and removed at the end; the
user runs a copy of the release build's retentiond (the checkout may sit where that user
cannot look). Needs root: otherwise skipped, naming why (a failure under CI=true).
Run: python3 tests/integration/test_audit_access.py
"""

import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import SECURITY, main, skip_or_fail, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
VERIFIER = os.path.join(TOP, "build", "retentiond")
NAME = "rtnit-aud-%d" % os.getpid()
RULES = 'rule a-del { category a.doc; delete immediately after due; basis "test: a" }\n'


def why_not():
    if os.geteuid() != 0:
        return "not running as root: cannot create a user and a group"
    for tool in ("setpriv", "groupadd", "groupdel", "useradd", "userdel"):
        if not shutil.which(tool):
            return "%s is missing" % tool
    if not os.access(VERIFIER, os.X_OK):
        return "%s is missing: run make" % VERIFIER
    return None


class AuditAccess(DispatchTestCase):
    RULES = with_rules(RULES)

    @classmethod
    def setUpClass(cls):
        missing = why_not()
        if missing:
            skip_or_fail("audit log access: " + missing, SECURITY)
        subprocess.run(["userdel", NAME], capture_output=True)
        subprocess.run(["groupdel", NAME], capture_output=True)
        for argv in (["groupadd", NAME],
                     ["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                      "/usr/sbin/nologin", "--gid", NAME, NAME]):
            r = subprocess.run(argv, capture_output=True, text=True)
            if r.returncode != 0:
                cls.tearDownClass()
                skip_or_fail("%s failed: %s" % (" ".join(argv), r.stderr.strip()), SECURITY)
        cls.gid = grp.getgrnam(NAME).gr_gid
        cls.uid = pwd.getpwnam(NAME).pw_uid

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["userdel", NAME], capture_output=True)
        subprocess.run(["groupdel", NAME], capture_output=True)

    def as_user(self, argv, member=True):
        ids = ["--reuid", str(self.uid), "--regid", str(self.gid), "--init-groups"] if member \
            else ["--reuid", "65534", "--regid", "65534", "--clear-groups"]
        env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
        return subprocess.run(["setpriv"] + ids + argv, capture_output=True, text=True,
                              cwd="/", env=env, timeout=60)

    def test_members_of_audit_group_verify_every_file(self):
        # The log's directory as the tmpfiles.d snippet makes it, but without the
        # set-group-ID bit: the group of each file is the daemon's doing.
        self.backend("nb")
        d = self.d
        logdir = os.path.join(d.dir, "log")
        os.mkdir(logdir)
        os.chown(logdir, 0, self.gid)
        os.chmod(logdir, 0o750)
        d.audit_log = os.path.join(logdir, "audit.log")
        self.up({"nb": {}}, config_extra="audit-group %s\n" % NAME)
        self.put([{"id": "r%d" % i, "category": "a.doc", "subject": "person:%d" % i,
                   "backend": "nb", "events": {"due": "2001-06-01T10:00:00Z"}}
                  for i in range(5)])
        wait_for(lambda: d.ok("status")["records"].get("deleted", 0) == 5, 20,
                 what="5 deletions")
        d.signal(signal.SIGUSR1)
        wait_for(lambda: len(os.listdir(logdir)) == 2, what="a rotated file")
        self.put([{"id": "s1", "category": "a.doc", "backend": "nb",
                   "events": {"due": "2001-06-01T10:00:00Z"}}])
        verifier = os.path.join(d.dir, "retentiond")
        shutil.copy(VERIFIER, verifier)
        os.chmod(verifier, 0o755)
        d.ok("audit.verify")  # everything on disk
        files = sorted(os.listdir(logdir), key=lambda n: (n == "audit.log", n))
        for n in files:
            st = os.stat(os.path.join(logdir, n))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640, n)
            self.assertEqual(st.st_gid, self.gid, "%s: group %d" % (n, st.st_gid))
        paths = [os.path.join(logdir, n) for n in files]
        r = self.as_user([verifier, "--verify-audit"] + paths)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("valid", r.stdout + r.stderr)
        # In the order a shell's glob gives (audit.log first): the chain's order is taken.
        globbed = sorted(paths)
        self.assertNotEqual(globbed, paths)
        for mode in ("--verify-audit", "--check-audit"):
            r = self.as_user([verifier, mode] + globbed)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("in the order of the chain: " + " ".join(paths), r.stderr)
        r = self.as_user([verifier, "--verify-audit"] + paths, member=False)
        self.assertEqual(r.returncode, 66, r.stdout + r.stderr)  # EX_NOINPUT
        self.assertIn("Permission denied", r.stdout + r.stderr)


if __name__ == "__main__":
    main()
