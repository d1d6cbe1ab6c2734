#!/usr/bin/env python3
"""A backend whose user may not write its root or database: the daemon shows the
failures in `status` as "permission denied", per backend with a count and the last
error, and the job goes through once the permission is given.  The real retention-fs
deletes below a directory of mode 0555, the real retention-sqlite rows of a database of
mode 0444: as root they run through setpriv without any capability (so the permission
bits bind uid 0 too), otherwise as the user running the test.  Both say so at start.
Run: python3 tests/integration/test_backend_permission.py
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import RETENTION_FS, RETENTION_SQLITE, Backend, Workdir  # noqa: E402
from harness import REPO, Daemon, main, skip_or_fail, wait_for  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")
RULES = {"p.rules": 'rule p-del { category p.doc p.row; delete immediately after due; '
                    'basis "test: deleted when due" }\n'}
PAST = "2001-06-01T10:00:00+02:00"


def without_privilege():
    """The prefix that runs a program unable to override file permissions."""
    if os.geteuid() != 0:
        return []
    argv = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]
    if not shutil.which("setpriv"):
        skip_or_fail("setpriv is missing: root cannot be kept from writing the root")
    r = subprocess.run(argv + ["sh", "-c", "mkdir -m 0555 /tmp/rtn-perm-$$ && "
                               "! touch /tmp/rtn-perm-$$/x 2>/dev/null; r=$?; "
                               "rmdir /tmp/rtn-perm-$$; exit $r"], capture_output=True)
    if r.returncode != 0:
        skip_or_fail("setpriv without capabilities still writes a directory of mode 0555")
    return argv


class PermissionDenied(unittest.TestCase):
    def test_permission_error_shown_in_status(self):
        wd = Workdir()
        self.addCleanup(wd.cleanup)
        root = wd("root")
        os.makedirs(root)
        path = os.path.join(root, "cv-of-a-person.pdf")
        with open(path, "w") as f:
            f.write("personal data\n")
        os.chmod(root, 0o555)
        self.addCleanup(os.chmod, root, 0o755)
        fs = Backend(wd, without_privilege() + [RETENTION_FS],
                     "socket fs.sock\nroot %s\n" % root, name="fs")
        self.addCleanup(fs.stop)
        fs.start()
        # said at start, before any job
        self.assertIn("root %s: uid %d may not write it (Permission denied)" % (root, os.geteuid()),
                      fs.log())
        d = Daemon(rules=RULES, config_extra="backend fs { socket %s\n timeout 10 seconds\n "
                   "retry 1 second .. 1 second }\n" % fs.socket)
        self.addCleanup(d.cleanup)
        d.ok("record.put", {"records": [{
            "id": "p1", "category": "p.doc", "subject": "person:1", "backend": "fs",
            "locator": {"path": path}, "events": {"due": PAST}}]})

        def denied():
            for b in d.ok("status")["backends"]:
                if b["name"] == "fs":
                    e = [x for x in b["errors"] if x["class"] == "permission denied"]
                    if e and e[0]["count"] >= 2:
                        return b
            return None
        b = wait_for(denied, 30, what="two attempts refused for want of permission")
        self.assertTrue(os.path.exists(path))
        self.assertEqual([x["class"] for x in b["errors"]], ["permission denied"])
        e = b["errors"][0]
        self.assertGreaterEqual(b["failed"], e["count"])
        self.assertIn("Permission denied", e["last"])
        self.assertNotIn(path, e["last"])  # the locator is scrubbed as in the job's error
        self.assertIn("<locator>", e["last"])
        self.assertTrue(e["job"].startswith("J-"), e)
        self.assertEqual(d.ok("record.get", {"id": "p1"})["state"], "queued")
        # and so says retentionctl
        p = subprocess.run([CTL, "-s", d.socket_path, "status"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("backend errors", p.stdout)
        self.assertNotIn("\"class\"", p.stdout)  # a table, not JSON in a column
        line = [x for x in p.stdout.splitlines() if "permission denied" in x]
        self.assertTrue(line and line[0].split()[0] == "fs", p.stdout)
        # given the permission, the retry deletes the file
        os.chmod(root, 0o755)
        wait_for(lambda: d.ok("record.get", {"id": "p1"})["state"] == "deleted", 30,
                 what="the deletion once the root is writable")
        self.assertFalse(os.path.exists(path))
        d.stop()

    def test_read_only_database(self):
        wd = Workdir()
        self.addCleanup(wd.cleanup)
        db = wd("hr.db")
        c = sqlite3.connect(db)
        c.execute("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT)")
        c.execute("INSERT INTO t VALUES ('k1', 'a person')")
        c.commit()
        c.close()
        os.chmod(db, 0o444)
        sq = Backend(wd, without_privilege() + [RETENTION_SQLITE],
                     "socket db.sock\ndatabase %s\ntable t { category p.row; key id }\n" % db,
                     name="db")
        self.addCleanup(sq.stop)
        p = subprocess.run(sq.command() + ["--check-config"], capture_output=True, text=True,
                           timeout=60, cwd=wd.path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: uid %d may not write %s (Permission denied)" % (os.geteuid(), db),
                      p.stderr)
        sq.start()
        d = Daemon(rules=RULES, config_extra="backend db { socket %s\n timeout 10 seconds\n "
                   "retry 1 second .. 1 second }\n" % sq.socket)
        self.addCleanup(d.cleanup)
        d.ok("record.put", {"records": [{
            "id": "q1", "category": "p.row", "subject": "person:1", "backend": "db",
            "locator": {"key": "k1"}, "events": {"due": PAST}}]})

        def denied():
            for b in d.ok("status")["backends"]:
                if b["name"] == "db" and b["errors"]:
                    return b["errors"]
            return None
        errors = wait_for(denied, 30, what="a deletion refused by the read-only database")
        self.assertEqual([e["class"] for e in errors], ["permission denied"], errors)
        self.assertIn("readonly database", errors[0]["last"])
        os.chmod(db, 0o644)
        wait_for(lambda: d.ok("record.get", {"id": "q1"})["state"] == "deleted", 30,
                 what="the deletion once the database is writable")
        c = sqlite3.connect(db)
        self.assertEqual(c.execute("SELECT count(*) FROM t").fetchone()[0], 0)
        c.close()
        d.stop()


if __name__ == "__main__":
    main()
