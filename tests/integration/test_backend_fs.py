#!/usr/bin/env python3
"""retention-fs, the real program (ASan+UBSan build), driven as the daemon drives it:
path escapes, symbolic links, mount points (real tmpfs and bind mounts: run as root),
odd names, directories, overwrite, bad input, a backend killed mid-job and restarted,
SIGTERM, config errors, the command line."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import (REPO, RETENTION_FS, BackendTest, Client, backend_env,  # noqa: E402
                             job_msg, main, run_program)


def version():
    with open(os.path.join(REPO, "Makefile")) as f:
        return re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M).group(1)


class FsBase(BackendTest):
    def setUp(self):
        super().setUp()
        self.root = self.wd("root")
        self.out = self.wd("outside")
        os.makedirs(os.path.join(self.root, "sub"))
        os.makedirs(self.out)
        self.wd.write("outside/secret", "must survive")
        self.wd.write("root/sub/f", "data")

    def fs(self, extra="", roots=None, name="fs"):
        roots = roots or [self.root]
        conf = "socket %s.sock\n%s%s\n" % (name, "".join("root %s\n" % r for r in roots), extra)
        return self.backend([RETENTION_FS], conf, name=name)

    def path(self, *p):
        return os.path.join(self.root, *p)

    def mount(self, *argv):
        """mount argv (its last word the mount point, below the work directory); the work
        directory's cleanup unmounts it, also when the test fails."""
        p = subprocess.run(["mount"] + list(argv), capture_output=True, text=True)
        if p.returncode != 0:
            self.fail("mount %s failed (exit %d): %s\nthis test needs root with CAP_SYS_ADMIN "
                      "(as in CI); it is not skipped" % (" ".join(argv), p.returncode,
                                                          p.stderr.strip()))
        self.assertIn(argv[-1], self.wd.mounts())
        return argv[-1]

    def tmpfs(self, *p):
        os.makedirs(self.path(*p), exist_ok=True)
        return self.mount("-t", "tmpfs", "-o", "size=1m", "rtn-test", self.path(*p))

    def assertMountFailure(self, result, mount_point):
        """A failure for good that names the mount point."""
        self.assertStatus(result, "failed", retry=False)
        self.assertIn("mount point", result["error"])
        self.assertIn(mount_point, result["error"])


class FsTest(FsBase):
    def test_hello_delete_gone(self):
        b = self.fs()
        c = Client(b.socket)
        self.clients.append(c)
        self.assertEqual(c.hello(), {"type": "hello", "protocol": 1, "name": "retention-fs",
                                     "actions": ["delete"]})
        c.job("J1", {"path": self.path("sub", "f")})
        self.assertEqual(c.result("J1"), {"type": "result", "job": "J1", "status": "done"})
        self.assertFalse(os.path.exists(self.path("sub", "f")))
        # the same job id again, after its result: the same job, already done
        c.job("J1", {"path": self.path("sub", "f")}, attempt=2)
        c.pump(10)
        self.assertStatus(c.results["J1"][1], "gone")
        c.job("J2", {"path": self.path("nodir", "f")})
        c.job("J3", {"path": self.path("sub", "f", "below-a-file")})
        self.wd.write("root/sub/f", "again")
        r = c.wait_results(["J2", "J3"])
        self.assertStatus(r["J2"], "gone")
        self.assertStatus(r["J3"], "gone")

    def test_dotdot(self):
        b = self.fs()
        c = self.client(b)
        jobs = {"D1": self.root + "/../outside/secret",
                "D2": self.root + "/sub/../sub/f",
                "D3": self.root + "/sub/..",
                "D4": self.root + "/../" + os.path.basename(self.root) + "/sub/f"}
        for j, p in jobs.items():
            c.job(j, {"path": p})
        for j, r in c.wait_results(jobs).items():
            self.assertStatus(r, "failed", retry=False)
            self.assertIn("..", r["error"])
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))
        self.assertTrue(os.path.exists(self.path("sub", "f")))

    def test_symlinks(self):
        os.symlink(self.out, self.path("esc"))                      # a directory outside
        os.symlink(self.wd("outside", "secret"), self.path("lnk"))  # a file outside
        os.symlink(self.path("sub"), self.path("in"))               # a directory inside
        os.symlink("/", self.path("slash"))
        b = self.fs()
        c = self.client(b)
        c.job("S1", {"path": self.path("esc", "secret")})
        c.job("S2", {"path": self.path("in", "f")})
        c.job("S3", {"path": self.path("slash", "etc", "passwd")})
        c.job("S4", {"path": self.path("esc", "nothing-here")})
        r = c.wait_results(["S1", "S2", "S3", "S4"])
        for j in ("S1", "S2", "S3", "S4"):
            self.assertStatus(r[j], "failed", retry=False)
            self.assertIn("symbolic link", r[j]["error"])
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))
        self.assertTrue(os.path.exists(self.path("sub", "f")))
        # a symbolic link as the last component is a name in the root: it goes, its target stays
        c.job("S5", {"path": self.path("lnk")})
        self.assertStatus(c.result("S5"), "done")
        self.assertFalse(os.path.lexists(self.path("lnk")))
        with open(self.wd("outside", "secret")) as f:
            self.assertEqual(f.read(), "must survive")

    def test_outside_every_root(self):
        os.makedirs(self.wd("rootx"))
        self.wd.write("rootx/f", "neighbour")
        b = self.fs()
        c = self.client(b)
        jobs = {"O1": self.wd("outside", "secret"), "O2": "/etc/passwd",
                "O3": "sub/f", "O4": self.wd("rootx", "f"), "O5": self.root,
                "O6": self.root + "/", "O7": "", "O8": "/"}
        for j, p in jobs.items():
            c.job(j, {"path": p})
        for j, r in c.wait_results(jobs).items():
            self.assertStatus(r, "failed", retry=False)
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))
        self.assertTrue(os.path.exists(self.wd("rootx", "f")))
        self.assertTrue(os.path.exists("/etc/passwd"))
        self.assertTrue(os.path.isdir(self.root))

    def test_odd_names(self):
        names = ["a\nb", "a", "quote\"d", "back\\slash", "tab\there", "ünïcødé", " lead",
                 "-dash", "new\nline\ndir"]
        for n in names[:-1]:
            self.wd.write(os.path.join("root", n), n)
        os.makedirs(self.path(names[-1]))
        self.wd.write(os.path.join("root", names[-1], "x\ny"), "nested")
        b = self.fs()
        c = self.client(b)
        c.job("N1", {"path": self.path("a\nb")})
        self.assertStatus(c.result("N1"), "done")
        self.assertTrue(os.path.exists(self.path("a")))
        for i, n in enumerate(names[1:-1]):
            c.job("N%d" % (i + 2), {"path": self.path(n)})
        c.job("NX", {"path": self.path(names[-1], "x\ny")})
        ids = ["N%d" % (i + 2) for i in range(len(names) - 2)] + ["NX"]
        for j, r in c.wait_results(ids).items():
            self.assertStatus(r, "done")
        self.assertEqual(sorted(os.listdir(self.root)), sorted(["sub", names[-1]]))
        # an error message with a newline in the name stays one line of the log
        c.job("N9", {"path": self.wd("outside", "x\ny")})
        r = c.result("N9")
        self.assertIn("\\n", r["error"])
        self.assertNotIn("\n", r["error"])

    def test_root_is_a_symlink(self):
        os.makedirs(self.wd("d1"))
        os.makedirs(self.wd("d2"))
        os.symlink(self.wd("d1"), self.wd("L"))
        for n in ("f1", "f2", "f3"):
            self.wd.write("d1/" + n, "1")
        self.wd.write("d2/f3", "2")
        b = self.fs(roots=[self.wd("L")])
        c = self.client(b)
        c.job("R1", {"path": self.wd("L", "f1")})   # by the configured name
        c.job("R2", {"path": self.wd("d1", "f2")})  # by what it resolved to
        r = c.wait_results(["R1", "R2"])
        self.assertStatus(r["R1"], "done")
        self.assertStatus(r["R2"], "done")
        # resolved once at start: repointing the link later changes nothing
        os.unlink(self.wd("L"))
        os.symlink(self.wd("d2"), self.wd("L"))
        c.job("R3", {"path": self.wd("L", "f3")})
        self.assertStatus(c.result("R3"), "done")
        self.assertFalse(os.path.exists(self.wd("d1", "f3")))
        self.assertTrue(os.path.exists(self.wd("d2", "f3")))
        c.job("R4", {"path": self.wd("d2", "f3")})
        self.assertStatus(c.result("R4"), "failed", retry=False)

    def test_directories(self):
        os.makedirs(self.path("empty"))
        os.makedirs(self.path("full", "deep", "er"))
        self.wd.write("root/full/deep/er/x", "x")
        os.symlink(self.out, self.path("full", "deep", "out"))
        os.symlink(self.wd("outside", "secret"), self.path("full", "s"))
        b = self.fs(name="no")
        c = self.client(b)
        c.job("D1", {"path": self.path("empty")})
        self.assertStatus(c.result("D1"), "failed", retry=False)
        self.assertTrue(os.path.isdir(self.path("empty")))
        b.stop()

        b = self.fs("directories empty", name="empty")
        c = self.client(b)
        c.job("D2", {"path": self.path("empty")})
        c.job("D3", {"path": self.path("full")})
        r = c.wait_results(["D2", "D3"])
        self.assertStatus(r["D2"], "done")
        self.assertStatus(r["D3"], "failed", retry=True)
        self.assertTrue(os.path.isdir(self.path("full")))
        b.stop()

        b = self.fs("directories recursive", name="rec")
        c = self.client(b)
        c.job("D4", {"path": self.path("full")})
        self.assertStatus(c.result("D4"), "done")
        self.assertFalse(os.path.lexists(self.path("full")))
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))
        c.job("D5", {"path": self.path("full")})
        self.assertStatus(c.result("D5"), "gone")

    def test_locator_is_a_mount_point(self):
        tm = self.tmpfs("tm")  # a whole file system mounted in the root
        os.makedirs(os.path.join(tm, "d"))
        self.wd.write("root/tm/a", "on the tmpfs")
        self.wd.write("root/tm/d/b", "on the tmpfs too")
        empty = self.tmpfs("empty")
        self.wd.write("root/fb", "")  # a file of outside bind-mounted over a file in the root
        fb = self.mount("--bind", self.wd("outside", "secret"), self.path("fb"))
        b = self.fs("directories recursive\noverwrite yes")
        c = self.client(b)
        jobs = {"M1": (tm, tm), "M2": (tm + "/", tm), "M3": (empty, empty), "M4": (fb, fb)}
        for j, (p, _) in jobs.items():
            c.job(j, {"path": p})
        r = c.wait_results(jobs)
        for j, (_, mp) in jobs.items():
            self.assertMountFailure(r[j], mp)
        self.assertEqual(sorted(os.listdir(tm)), ["a", "d"])
        self.assertTrue(os.path.exists(self.path("tm", "d", "b")))
        with open(self.wd("outside", "secret")) as f:  # not overwritten through the mount
            self.assertEqual(f.read(), "must survive")
        self.assertLessEqual({empty, tm, fb}, set(self.wd.mounts()))

    def test_path_through_a_mount_point(self):
        # outside is on the same file system as the root: the same st_dev on both sides
        os.makedirs(self.path("bind"))
        bind = self.mount("--bind", self.out, self.path("bind"))
        self.assertEqual(os.stat(bind).st_dev, os.stat(self.root).st_dev)
        tm = self.tmpfs("tm")
        os.makedirs(os.path.join(tm, "x"))
        self.wd.write("root/tm/x/y", "on the tmpfs")
        os.makedirs(self.path("sub", "deeper"))
        inner = self.tmpfs("sub", "deeper", "tm2")
        self.wd.write("root/sub/deeper/tm2/z", "on another tmpfs")
        b = self.fs("directories recursive")
        c = self.client(b)
        jobs = {"P1": (self.path("bind", "secret"), bind),
                "P2": (self.path("bind", "no-such-file"), bind),
                "P3": (self.path("tm", "x", "y"), tm),
                "P4": (self.path("tm", "x"), tm),
                "P5": (self.path("sub", "deeper", "tm2", "z"), inner)}
        for j, (p, _) in jobs.items():
            c.job(j, {"path": p})
        r = c.wait_results(jobs)
        for j, (_, mp) in jobs.items():
            self.assertMountFailure(r[j], mp)
        with open(self.wd("outside", "secret")) as f:
            self.assertEqual(f.read(), "must survive")
        self.assertTrue(os.path.exists(self.path("tm", "x", "y")))
        self.assertTrue(os.path.exists(self.path("sub", "deeper", "tm2", "z")))
        c.job("P6", {"path": self.path("sub", "f")})  # beside the mounts all is as before
        self.assertStatus(c.result("P6"), "done")

    def test_recursive_delete_meets_mount_points(self):
        d = self.path("dir")
        for p in ("a", "sub/b", "sub/c/deep", "deeper/er/x"):
            self.wd.write("root/dir/" + p, "record data")
        os.makedirs(os.path.join(d, "sub", "bind"))
        os.makedirs(os.path.join(d, "deeper", "er", "tm"))
        bind = self.mount("--bind", self.out, os.path.join(d, "sub", "bind"))  # same st_dev
        tm = self.mount("-t", "tmpfs", "-o", "size=1m", "rtn-test",
                        os.path.join(d, "deeper", "er", "tm"))
        self.wd.write("root/dir/deeper/er/tm/t", "on the tmpfs")
        b = self.fs("directories recursive")
        c = self.client(b)
        c.job("R1", {"path": d})
        r = c.result("R1")
        self.assertStatus(r, "failed", retry=False)
        self.assertIn("2 mount points", r["error"])
        self.assertTrue(bind in r["error"] or tm in r["error"], r)
        # what is behind the mount points is untouched
        with open(self.wd("outside", "secret")) as f:
            self.assertEqual(f.read(), "must survive")
        self.assertEqual(os.listdir(tm), ["t"])
        # everything else is deleted; the mount points and the directories leading to
        # them stay
        mounts = set(self.wd.mounts())
        left = sorted(os.path.relpath(os.path.join(top, n), d) for top, dirs, files in
                      os.walk(d) if top not in mounts for n in dirs + files)
        self.assertEqual(left, ["deeper", "deeper/er", "deeper/er/tm", "sub", "sub/bind"])
        # once the mounts are gone, the same job, sent again, finishes the deletion
        self.wd.unmount_all()
        c.job("R1", {"path": d}, attempt=2)
        c.pump(10)
        self.assertStatus(c.results["R1"][1], "done")
        self.assertFalse(os.path.lexists(d))
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))

    def test_root_on_its_own_mount(self):
        # a root that is itself a mount point: that is the boundary, and fine
        os.makedirs(self.wd("mroot"))
        mroot = self.mount("-t", "tmpfs", "-o", "size=1m", "rtn-test", self.wd("mroot"))
        self.wd.write("mroot/f", "x")
        self.wd.write("mroot/d/g", "y")
        os.makedirs(self.wd("mroot", "d", "m"))
        m = self.mount("--bind", self.out, self.wd("mroot", "d", "m"))
        b = self.fs("directories recursive", roots=[mroot])
        c = self.client(b)
        c.job("T1", {"path": self.wd("mroot", "f")})
        c.job("T2", {"path": self.wd("mroot", "d", "m", "secret")})
        c.job("T3", {"path": self.wd("mroot", "d")})
        r = c.wait_results(["T1", "T2", "T3"])
        self.assertStatus(r["T1"], "done")
        self.assertMountFailure(r["T2"], m)
        self.assertMountFailure(r["T3"], m)
        self.assertFalse(os.path.exists(self.wd("mroot", "f")))
        self.assertFalse(os.path.exists(self.wd("mroot", "d", "g")))
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))

    def test_overwrite(self):
        self.wd.write("root/doc", b"A" * 200000)
        self.wd.write("root/linked", b"B" * 1000)
        os.link(self.path("linked"), self.wd("outside", "hardlink"))
        b = self.fs("overwrite yes")
        c = self.client(b)
        fd = os.open(self.path("doc"), os.O_RDONLY)  # keeps the inode to look at afterwards
        try:
            c.job("W1", {"path": self.path("doc")})
            c.job("W2", {"path": self.path("linked")})
            r = c.wait_results(["W1", "W2"])
            self.assertStatus(r["W1"], "done")
            self.assertStatus(r["W2"], "done")
            self.assertEqual(os.pread(fd, 200000, 0), b"\0" * 200000)
        finally:
            os.close(fd)
        self.assertFalse(os.path.exists(self.path("linked")))
        with open(self.wd("outside", "hardlink"), "rb") as f:  # other names keep the data
            self.assertEqual(f.read(), b"B" * 1000)

    def test_bad_jobs(self):
        b = self.fs()
        c = self.client(b)
        c.send_raw(b"this is not json\n\n[1,2]\n{\"type\":\"job\"}\n")
        c.send({"type": "job", "job": "B1", "action": "delete"})
        c.job("B2", None)
        c.job("B3", "a string")
        c.job("B4", {"path": 42})
        c.job("B5", {"path": self.path("sub") + "/f\u0000.txt"})  # JSON with NUL: unreadable
        c.job("B6", {"path": self.path("sub", "f")}, action="anonymize")
        c.job("B7", {"path": self.path("sub", "f")}, action="shred")
        c.send({"type": "hello", "protocol": 1})
        ids = ["B%d" % i for i in range(1, 8) if i != 5]
        for j, r in c.wait_results(ids).items():
            self.assertStatus(r, "failed", retry=False)
        self.assertNotIn("B5", c.results)
        self.assertTrue(os.path.exists(self.path("sub", "f")))
        c.job("B8", {"path": self.path("sub", "f")})  # the connection still works
        self.assertStatus(c.result("B8"), "done")
        self.assertEqual(c.other, [])
        b.wait_log("ignoring a line that is not a job")

    def test_protocol_mismatch_and_no_hello(self):
        b = self.fs()
        c = self.client(b, hello=False)
        h = c.hello(protocol=3)
        self.assertEqual(h["protocol"], 2)
        self.assertTrue(c.closed_by_peer())
        c = self.client(b, hello=False)
        c.job("H1", {"path": self.path("sub", "f")})
        self.assertTrue(c.closed_by_peer())
        self.assertEqual(c.results, {})
        self.assertTrue(os.path.exists(self.path("sub", "f")))
        c = self.client(b, hello=False)
        c.send_raw(b"x" * (300 * 1024), may_close=True)
        self.assertTrue(c.closed_by_peer())
        b.wait_log("speaks protocol 3")

    def test_killed_mid_job_and_restarted(self):
        n = 3000
        os.makedirs(self.path("many"))
        for i in range(n):
            self.wd.write("root/many/f%05d" % i, "x")
        b = self.fs()
        c = self.client(b)
        ids = ["K%05d" % i for i in range(n)]
        for i, j in enumerate(ids):
            c.job(j, {"path": self.path("many", "f%05d" % i)})
        while len(c.results) < 20:
            c.pump(20)
        b.kill()
        first = dict(c.results)
        self.assertLess(len(first), n, "all jobs were done before the kill; nothing tested")
        # the daemon reconnects and sends every job without a result again, same ids;
        # a result it lost in the crash is fine too: it sends that job again as well
        b.start()
        c2 = self.client(b)
        for i, j in enumerate(ids):
            c2.job(j, {"path": self.path("many", "f%05d" % i)}, attempt=2)
        r = c2.wait_results(ids, timeout=120)
        for j in ids:
            self.assertIn(r[j]["status"], ("done", "gone"), r[j])
            self.assertEqual(len(c2.results[j]), 1)
            if j in first:
                self.assertEqual(r[j]["status"], "gone", j)
        self.assertEqual(os.listdir(self.path("many")), [])

    def test_sigterm_finishes_running_jobs(self):
        n = 2000
        os.makedirs(self.path("many"))
        for i in range(n):  # overwritten and synced before unlink: slower
            self.wd.write("root/many/f%05d" % i, b"x" * 16384)
        # one worker: the signal must find jobs still queued, even on a loaded machine
        b = self.fs("overwrite yes\nworkers 1")
        c = self.client(b)
        c.send_raw(b"".join(json.dumps(job_msg("T%05d" % i, {"path": self.path(
            "many", "f%05d" % i)})).encode() + b"\n" for i in range(n)))
        while len(c.results) < 10:
            c.pump(20)
        b.proc.send_signal(signal.SIGTERM)
        while c.pump(30):
            pass
        self.assertEqual(b.wait(), 0)
        self.assertLess(len(c.results), n, "every job was done before the signal")
        left = set(os.listdir(self.path("many")))
        for j, rs in c.results.items():
            self.assertEqual(len(rs), 1)
            self.assertEqual(rs[0]["status"], "done", rs[0])
            self.assertNotIn("f" + j[1:], left)
        # every file without a result is still there or was being deleted at the signal
        self.assertLessEqual(n - len(c.results) - len(left), 8)
        self.assertFalse(os.path.exists(b.socket))
        m = re.search(r"stopping; answering the (\d+) jobs already started, leaving (\d+) "
                      r"queued", b.log())
        self.assertTrue(m, b.log())
        self.assertGreater(int(m.group(2)), 0)
        self.assertEqual(len(c.results) + int(m.group(2)), n)
        self.assertIn("stopped", b.log())

    def test_config_errors(self):
        cases = [
            ("root %s\nfrobnicate 1\n" % self.root, r":2:1: unknown statement \"frobnicate\""),
            ("root %s\nroot %s/missing\n" % (self.root, self.root), r":2:6: root .*missing"),
            ("root %s\nworkers 0\n" % self.root, r":2:9: expected a whole number from 1"),
            ("root %s\ndirectories some\n" % self.root, r":2:13: \"directories\" is no, empty"),
            ("root %s\nsocket a\nsocket b\n" % self.root, r":3:1: \"socket\" is given twice"),
            ("socket x\n", r"fs.conf: no \"root DIR\""),
            ("root %s/sub/f\n" % self.root, r":1:6: root .*not a directory"),
            ("root \"unterminated\n", r":1:6: unterminated string"),
        ]
        for conf, want in cases:
            p = self.wd.write("fs.conf", conf)
            rc, out, err = run_program([RETENTION_FS, "--config", p])
            self.assertEqual(rc, 78, (conf, err))
            self.assertRegex(err, re.escape(p) + want if want.startswith(":") else want)
            rc, out, err2 = run_program([RETENTION_FS, "--check-config", "--config", p])
            self.assertEqual(rc, 78, (conf, err2))
        p = self.wd.write("fs.conf", "root %s\n" % self.root)
        self.assertEqual(run_program([RETENTION_FS, "-n", "-c", p])[0], 0)
        rc, out, err = run_program([RETENTION_FS, "-c", p])  # no socket anywhere
        self.assertEqual(rc, 78)
        self.assertIn("no \"socket PATH\"", err)

    def test_command_line(self):
        rc, out, err = run_program([RETENTION_FS, "--version"])
        self.assertEqual((rc, out), (0, "retention-fs %s\n" % version()))
        rc, out, err = run_program([RETENTION_FS, "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--config FILE", out)
        self.assertEqual(run_program([RETENTION_FS, "--bogus"])[0], 2)
        self.assertEqual(run_program([RETENTION_FS, "extra"])[0], 2)

    def test_socket_path_handling(self):
        b = self.fs()
        # a second instance on the same socket refuses to start
        p = self.wd.write("second.conf", "socket fs.sock\nroot %s\n" % self.root)
        rc, out, err = run_program([RETENTION_FS, "-c", p], cwd=self.wd.path)
        self.assertEqual(rc, 73, err)
        b.kill()  # leaves a stale socket behind
        self.assertTrue(os.path.exists(b.socket))
        b.start()  # replaces it
        c = self.client(b)
        c.job("P1", {"path": self.path("sub", "f")})
        self.assertStatus(c.result("P1"), "done")
        b.stop()
        for what in ("file", "link"):
            sp = self.wd(what + ".sock")
            if what == "file":
                self.wd.write(what + ".sock", "not a socket")
            else:
                os.symlink(self.wd("outside", "secret"), sp)
            rc, out, err = run_program([RETENTION_FS, "-c", p, "-s", sp])
            self.assertEqual(rc, 73, err)
            self.assertIn("not a socket", err)
        self.assertTrue(os.path.exists(self.wd("outside", "secret")))

    def test_socket_activation(self):
        conf = self.wd.write("act.conf", "root %s\n" % self.root)
        path = self.wd("act.sock")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(path)
        lsock.listen()
        env = backend_env()
        env["LISTEN_FDS"] = "1"
        log = open(self.wd("act.log"), "wb")
        fd = lsock.fileno()
        # as systemd does it: the socket as fd 3, LISTEN_PID the backend's own pid
        script = 'exec 3<&%d %d<&-; LISTEN_PID=$$ exec "$@"' % (fd, fd) if fd != 3 else \
            'LISTEN_PID=$$ exec "$@"'
        proc = subprocess.Popen(["sh", "-c", script, "sh", RETENTION_FS, "--config", conf],
                                env=env, stdout=log, stderr=log, pass_fds=(fd,))
        lsock.close()
        try:
            c = Client(path)
            self.clients.append(c)
            self.assertEqual(c.hello()["name"], "retention-fs")
            c.job("A1", {"path": self.path("sub", "f")})
            self.assertStatus(c.result("A1"), "done")
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(30)
            log.close()
        with open(self.wd("act.log")) as f:
            text = f.read()
        self.assertEqual(rc, 0, text)
        self.assertIn("socket systemd passed", text)
        self.assertNotIn("Sanitizer", text)


class FsScanTest(FsBase):
    """Scans: the roots' files as records, what is skipped, the window, the end marker."""

    def scanfs(self, event=None, roots=None, extra=""):
        roots = roots or [self.root]
        body = "".join("root %s {\n\tscan category doc\n%s}\n"
                       % (r, "\tscan event %s\n" % event if event else "") for r in roots)
        return self.backend([RETENTION_FS], "socket fs.sock\n%s%s" % (body, extra), name="fs")

    def client2(self, b):
        c = Client(b.socket)
        self.clients.append(c)
        h = c.hello2()
        self.assertEqual(h, {"type": "hello", "protocol": 2, "name": "retention-fs",
                             "actions": ["delete"], "scan": True})
        return c

    def records(self, pages):
        self.assertEqual([p["seq"] for p in pages], list(range(1, len(pages) + 1)))
        return {r["id"]: r for p in pages for r in p["records"]}

    def test_scan_lists_files(self):
        self.wd.write("root/a.txt", "a")
        self.wd.write("root/sub/deeper/b", "b")
        self.wd.write("root/.hidden", "h")
        os.mkfifo(self.path("fifo"))  # not a file a record could be
        times = {"a.txt": 1700000000, "sub/f": 1700000100, "sub/deeper/b": 1700000200,
                 ".hidden": 1700000300}
        for rel, t in times.items():
            os.utime(self.path(*rel.split("/")), (t, t))
        b = self.scanfs()
        c = self.client2(b)
        pages, end = c.scan()
        recs = self.records(pages)
        want = {}
        for rel, t in times.items():
            p = self.path(*rel.split("/"))
            want[p] = {"id": p, "category": "doc", "locator": {"path": p},
                       "events": {"modified": t}}
        self.assertEqual(recs, want)
        self.assertEqual(end, {"type": "scan_end", "scan": "S-1", "complete": True, "count": 4,
                               "skipped": 0, "future": 0})
        # the locator is what a delete job needs
        c.job("D1", recs[self.path("sub", "deeper", "b")]["locator"])
        self.assertStatus(c.result("D1"), "done")
        self.assertFalse(os.path.exists(self.path("sub", "deeper", "b")))
        pages, end = c.scan("S-2")
        self.assertNotIn(self.path("sub", "deeper", "b"), self.records(pages))
        self.assertEqual(end["count"], 3)

    def test_scan_events(self):
        t = 1600000000
        os.utime(self.path("sub", "f"), (t, t))
        b = self.scanfs(event="ctime")
        pages, end = self.client2(b).scan()
        rec = self.records(pages)[self.path("sub", "f")]
        self.assertEqual(rec["events"], {"changed": int(os.lstat(self.path("sub", "f")).st_ctime)})
        b.stop()
        b = self.scanfs(event="birth")
        pages, end = self.client2(b).scan()
        self.assertTrue(end["complete"], end)
        if end["skipped"]:  # a file system without birth times: said so, per file
            self.assertEqual((end["count"], end["skipped"]), (0, 1))
            b.wait_log("keeps no birth time")
        else:
            born = self.records(pages)[self.path("sub", "f")]["events"]["created"]
            self.assertLessEqual(abs(born - int(os.lstat(self.path("sub", "f")).st_ctime)), 5)

    def test_scan_skips_links_mounts_and_unreadable(self):
        os.symlink(self.wd("outside", "secret"), self.path("lnk"))  # a file outside
        os.symlink(self.out, self.path("esc"))                      # a directory outside
        os.symlink("sub/f", self.path("odd\x1b[31m\nname"))        # inside; logged escaped
        self.wd.write("root/locked/inside", "x")
        os.chmod(self.path("locked"), 0)
        root = os.geteuid() == 0
        if root:  # a mount point below the root is not entered
            self.tmpfs("mnt")
            self.wd.write("root/mnt/on-tmpfs", "y")
            # bind mounts of the same file system: the same st_dev, another mount id
            self.wd.write("root/fb", "")
            self.mount("--bind", self.wd("outside", "secret"), self.path("fb"))
            os.makedirs(self.path("bind"))
            self.mount("--bind", self.out, self.path("bind"))
        b = self.scanfs()
        pages, end = self.client2(b).scan()
        ids = set(self.records(pages))
        self.assertNotIn(self.path("lnk"), ids)
        self.assertFalse(any(i.startswith(self.out) or "secret" in i for i in ids), ids)
        self.assertNotIn(self.path("mnt", "on-tmpfs"), ids)
        self.assertNotIn(self.path("fb"), ids)
        self.assertNotIn(self.path("bind", "secret"), ids)
        self.assertIn(self.path("sub", "f"), ids)
        self.assertTrue(end["complete"], end)
        b.wait_log("a symbolic link; not followed")
        b.wait_log("odd\\x1b[31m\\nname: a symbolic link")
        self.assertNotIn("\x1b", b.log())
        if root:  # root reads a directory of mode 0: no EACCES to count
            self.assertIn(self.path("locked", "inside"), ids)
            self.assertEqual(end["skipped"], 6, end)
            b.wait_log("a mount point; not entered")
        else:
            self.assertNotIn(self.path("locked", "inside"), ids)
            self.assertEqual(end["skipped"], 4, end)
            b.wait_log("Permission denied")
        os.chmod(self.path("locked"), 0o755)  # so that the work directory can go

    def test_scan_future(self):
        t = int(time.time()) + 86400
        os.utime(self.path("sub", "f"), (t, t))
        self.wd.write("root/soon", "s")
        os.utime(self.path("soon"), (t - 86400 + 60, t - 86400 + 60))  # within the slack
        b = self.scanfs()
        pages, end = self.client2(b).scan()
        self.assertEqual(self.records(pages)[self.path("sub", "f")]["events"], {"modified": t})
        self.assertEqual((end["count"], end["future"]), (2, 1))

    def test_scan_missing_root(self):
        other = self.wd("other")
        os.makedirs(other)
        self.wd.write("other/g", "g")
        b = self.scanfs(roots=[other, self.root])
        c = self.client2(b)
        shutil.rmtree(other)
        pages, end = c.scan()
        self.assertFalse(end["complete"], end)
        self.assertIn(other, end["error"])
        self.assertIn(self.path("sub", "f"), self.records(pages))  # the others are listed
        # a root replaced by another directory is not the root any more
        os.makedirs(other)
        pages, end = c.scan("S-2")
        self.assertFalse(end["complete"], end)
        self.assertIn("no longer the directory", end["error"])

    def test_scan_window_and_cancel(self):
        os.makedirs(self.path("many"))
        for i in range(1500):
            with open(self.path("many", "f%04d" % i), "w"):
                pass
        b = self.scanfs()
        c = self.client2(b)
        c.send({"type": "scan", "scan": "S-1", "window": 1})
        p1 = c.next_other()
        self.assertEqual((p1["type"], p1["seq"], len(p1["records"])), ("scan_page", 1, 1000))
        c.job("D1", {"path": self.path("nothing")})  # jobs go on during a scan
        self.assertStatus(c.result("D1"), "gone")
        self.assertTrue(c.quiet(0.5))  # page 2 waits for the ack of page 1
        c.send({"type": "scan_ack", "scan": "S-1", "seq": 1})
        p2 = c.next_other()
        self.assertEqual((p2["seq"], len(p2["records"])), (2, 501))  # and sub/f
        end = c.next_other()
        self.assertEqual((end["type"], end["count"], end["complete"]), ("scan_end", 1501, True))
        # cancelled: no more pages, no end marker; the connection goes on
        c.send({"type": "scan", "scan": "S-2", "window": 1})
        self.assertEqual(c.next_other()["seq"], 1)
        c.send({"type": "scan_cancel", "scan": "S-2"})
        b.wait_log("scan S-2: cancelled")
        c.send({"type": "scan_ack", "scan": "S-2", "seq": 1})
        c.job("D2", {"path": self.path("sub", "f")})
        self.assertStatus(c.result("D2"), "done")
        self.assertTrue(c.quiet(0.5))
        # SIGTERM during a scan: it ends, the backend stops cleanly (checked at tearDown)
        c.send({"type": "scan", "scan": "S-3", "window": 1})
        self.assertEqual(c.next_other()["seq"], 1)
        b.stop()

    def test_scan_protocol1_and_no_scanned_root(self):
        b = self.scanfs()
        c = self.client(b)  # a protocol-1 daemon: a protocol-1 hello, no "scan"
        c.send({"type": "scan", "scan": "S-1", "window": 1})
        c.job("P1", {"path": self.path("sub", "f")})
        self.assertStatus(c.result("P1"), "done")
        self.assertTrue(c.quiet(0.3))
        b.wait_log("which has no scans")
        b.stop()
        b = self.fs()  # no root has "scan category": no scan offered
        c = Client(b.socket)
        self.clients.append(c)
        self.assertEqual(c.hello2(), {"type": "hello", "protocol": 2, "name": "retention-fs",
                                      "actions": ["delete"], "scan": False})
        c.send({"type": "scan", "scan": "S-1", "window": 1})
        end = c.next_other()
        self.assertEqual((end["type"], end["complete"]), ("scan_end", False))
        self.assertIn("does not scan", end["error"])

    def test_scan_config_errors(self):
        r = self.root
        cases = [  # after "socket fs.sock" on line 1
            ("root %s {\n scan category Bad!\n}\n" % r, r":3:16: "),
            ("root %s {\n scan category a\n scan category b\n}\n" % r,
             r":4:2: \"scan category\" is given twice"),
            ("root %s {\n scan category a\n scan event atime\n}\n" % r,
             r":4:13: \"scan event\" is mtime, ctime or birth"),
            ("root %s {\n scan event ctime\n}\n" % r, r":3:2: \"scan event\" without"),
            ("root %s {\n overwrite yes\n}\n" % r, r":3:2: unknown statement \"overwrite\" in"),
            ("root %s {\n scan subject x\n}\n" % r, r":3:7: expected \"scan category NAME\""),
            ("root %s {\n scan category\n}\n" % r, r":3:\d+: \"scan\" needs 2 arguments"),
        ]
        for conf, want in cases:
            p = self.wd.write("fs.conf", "socket fs.sock\n" + conf)
            rc, out, err = run_program([RETENTION_FS, "--check-config", "--config", p])
            self.assertEqual(rc, 78, (conf, err))
            self.assertRegex(err, re.escape(p) + want)
        p = self.wd.write("fs.conf", "socket fs.sock\nroot %s {\n scan category a\n"
                                     " scan event birth\n}\n" % r)
        self.assertEqual(run_program([RETENTION_FS, "-n", "-c", p])[0], 0)

if __name__ == "__main__":
    main()
