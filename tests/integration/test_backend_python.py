#!/usr/bin/env python3
"""examples/python-backend.py, the backend of retention-backend(7): it speaks the
protocol, keeps to its root, and is the very code the man page shows."""

import os
import re
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import PYTHON_BACKEND, REPO, BackendTest, Client, main  # noqa: E402

MAN = os.path.join(REPO, "man", "retention-backend.7")


def man_example():
    """The Python program of retention-backend(7), with the roff escapes undone."""
    with open(MAN, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^\.\\\" BEGIN python-backend\.py\n\.Bd -literal\n(.*?)^\.Ed\n"
                  r"\.\\\" END python-backend\.py$", text, re.S | re.M)
    if not m:
        raise AssertionError("no python-backend.py block in " + MAN)
    lines = []
    for ln in m.group(1).splitlines(True):
        ln = ln[2:] if ln.startswith("\\&") else ln
        lines.append(ln.replace("\\e", "\\"))
    return "".join(lines)


class PythonBackendTest(BackendTest):
    def setUp(self):
        super().setUp()
        self.root = self.wd("root")
        os.makedirs(os.path.join(self.root, "sub"))
        os.makedirs(self.wd("outside"))
        self.wd.write("outside/secret", "must survive")
        self.wd.write("root/sub/f", "data")
        self.b = self.backend([sys.executable, PYTHON_BACKEND, self.wd("py.sock"), self.root],
                              name="py")

    def path(self, *p):
        return os.path.join(self.root, *p)

    def test_man_page_shows_this_program(self):
        with open(PYTHON_BACKEND, encoding="utf-8") as f:
            self.assertEqual(man_example(), f.read())

    def test_protocol(self):
        c = self.client(self.b, hello=False)
        self.assertEqual(c.hello(), {"type": "hello", "protocol": 1, "name": "python-backend",
                                     "actions": ["delete"]})
        c.job("P1", {"path": self.path("sub", "f")})
        self.assertEqual(c.result("P1"), {"type": "result", "job": "P1", "status": "done"})
        self.assertFalse(os.path.exists(self.path("sub", "f")))
        c.job("P1", {"path": self.path("sub", "f")}, attempt=2)  # the same job again: gone
        c.pump(10)
        self.assertEqual(c.results["P1"][1]["status"], "gone")
        c.send_raw(b"not json\n")
        c.job("P2", {"path": self.path("sub", "g")}, action="anonymize")
        c.job("P3", None)
        r = c.wait_results(["P2", "P3"])
        self.assertStatus(r["P2"], "failed", retry=False)
        self.assertStatus(r["P3"], "failed", retry=False)

    def test_stays_in_its_root(self):
        os.symlink(self.wd("outside"), self.path("esc"))
        os.symlink(self.wd("outside", "secret"), self.path("lnk"))
        c = self.client(self.b)
        jobs = {"E1": self.wd("outside", "secret"), "E2": self.root + "/../outside/secret",
                "E3": self.path("esc", "secret"), "E4": self.path("sub"), "E5": self.root,
                "E6": "relative/path", "E7": self.root + "x/f"}
        for j, p in jobs.items():
            c.job(j, {"path": p})
        for j, r in c.wait_results(jobs).items():
            self.assertStatus(r, "failed", retry=False)
        c.job("E8", {"path": self.path("lnk")})
        self.assertStatus(c.result("E8"), "done")
        self.assertFalse(os.path.lexists(self.path("lnk")))
        with open(self.wd("outside", "secret")) as f:
            self.assertEqual(f.read(), "must survive")
        self.assertTrue(os.path.isdir(self.path("sub")))

    def test_killed_and_restarted(self):
        for i in range(200):
            self.wd.write("root/sub/k%03d" % i, "x")
        c = self.client(self.b)
        for i in range(200):
            c.job("K%03d" % i, {"path": self.path("sub", "k%03d" % i)})
        c.pump(20)
        self.b.kill()
        while c.pump(10):
            pass
        first = set(c.results)
        self.b.start()
        c = self.client(self.b)
        for i in range(200):
            c.job("K%03d" % i, {"path": self.path("sub", "k%03d" % i)}, attempt=2)
        r = c.wait_results(["K%03d" % i for i in range(200)])
        for j, res in r.items():
            self.assertIn(res["status"], ("done", "gone"), res)
            if j in first:
                self.assertEqual(res["status"], "gone")
        self.assertEqual(os.listdir(self.path("sub")), ["f"])

    def test_scan(self):
        os.symlink(self.wd("outside", "secret"), self.path("lnk"))  # not followed: skipped
        self.wd.write("root/a", "a")
        os.utime(self.path("a"), (1700000000, 1700000000))
        c = Client(self.b.socket)
        self.clients.append(c)
        self.assertEqual(c.hello2(), {"type": "hello", "protocol": 2, "name": "python-backend",
                                      "actions": ["delete"], "scan": True})
        pages, end = c.scan()
        recs = {r["id"]: r for p in pages for r in p["records"]}
        self.assertEqual(recs[self.path("a")], {"id": self.path("a"), "category": "file",
                                                "locator": {"path": self.path("a")},
                                                "events": {"modified": 1700000000}})
        self.assertEqual(sorted(recs), [self.path("a"), self.path("sub", "f")])
        self.assertEqual(end, {"type": "scan_end", "scan": "S-1", "complete": True,
                               "count": 2, "skipped": 1, "future": 0})
        c.job("S1", recs[self.path("a")]["locator"])  # the locator is a delete job's
        self.assertStatus(c.result("S1"), "done")
        self.assertFalse(os.path.exists(self.path("a")))

    def test_scan_window_and_cancel(self):
        os.makedirs(self.path("many"))
        for i in range(1500):
            with open(self.path("many", "f%04d" % i), "w"):
                pass
        c = Client(self.b.socket)
        self.clients.append(c)
        c.hello2()
        c.send({"type": "scan", "scan": "S-1", "window": 1})
        p1 = c.next_other()
        self.assertEqual((p1["seq"], len(p1["records"])), (1, 1000))
        c.send({"type": "scan", "scan": "S-2", "window": 1})
        busy = c.next_other()
        self.assertEqual((busy["scan"], busy["complete"]), ("S-2", False))
        self.assertIn("already running", busy["error"])
        self.assertTrue(c.quiet(0.5))  # page 2 waits for the ack of page 1
        c.send({"type": "scan_ack", "scan": "S-1", "seq": 1})
        p2 = c.next_other()
        self.assertEqual((p2["seq"], len(p2["records"])), (2, 501))
        end = c.next_other()
        self.assertEqual((end["type"], end["count"], end["complete"]), ("scan_end", 1501, True))
        c.send({"type": "scan", "scan": "S-3", "window": 1})
        self.assertEqual(c.next_other()["seq"], 1)
        c.send({"type": "scan_cancel", "scan": "S-3"})
        c.send({"type": "scan_ack", "scan": "S-3", "seq": 1})
        self.assertTrue(c.quiet(0.5))  # no more pages, no end marker
        c.job("S4", {"path": self.path("sub", "f")})
        self.assertStatus(c.result("S4"), "done")

    def test_sigterm(self):
        c = self.client(self.b)
        c.job("T1", {"path": self.path("sub", "f")})
        self.assertStatus(c.result("T1"), "done")
        self.b.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.b.wait(), 0)
        self.assertFalse(os.path.exists(self.wd("py.sock")))


if __name__ == "__main__":
    main()
