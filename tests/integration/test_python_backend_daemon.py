#!/usr/bin/env python3
"""The Python backend of retention-backend(7) (examples/python-backend.py) against the real
daemon: due records become jobs, the example deletes their files below its root, the
daemon records tombstones; a path outside the root ends as a dead job, visibly.
Run: python3 tests/integration/test_python_backend_daemon.py
"""

import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import main, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "python-backend.py")
RULES = 'rule p-del { category p.doc; delete immediately after due; basis "test" }\n'


class PythonBackend(DispatchTestCase):
    RULES = with_rules(RULES)

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.d.dir, "files")
        os.makedirs(self.root)
        self.sock = os.path.join(self.d.dir, "py.sock")
        self.proc = subprocess.Popen([sys.executable, EXAMPLE, self.sock, self.root],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def listening():
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                return True
            except OSError:
                return False
            finally:
                s.close()
        wait_for(listening, 10, what="the Python backend's socket")

    def tearDown(self):
        self.proc.terminate()
        self.proc.wait(10)
        super().tearDown()

    def test_deletes_through_the_daemon(self):
        self.d.write_config("backend py { socket %s\n max-inflight 8\n timeout 10 seconds\n"
                            " max-attempts 2 }\n" % self.sock)
        self.d.start()
        d = self.d
        files = []
        for i in range(5):
            p = os.path.join(self.root, "f%d.txt" % i)
            open(p, "w").write("personal data %d\n" % i)
            files.append(p)
        recs = [{"id": "f%d" % i, "category": "p.doc", "backend": "py",
                 "locator": {"path": p}, "events": {"due": int(time.time()) - 60}}
                for i, p in enumerate(files)]
        recs.append({"id": "outside", "category": "p.doc", "backend": "py",
                     "locator": {"path": "/etc/hostname"}, "events": {"due": 1}})
        d.ok("record.put", {"records": recs})
        wait_for(lambda: all(d.state("f%d" % i) == "deleted" for i in range(5)), 20,
                 what="five deletions by the Python backend")
        self.assertEqual([f for f in files if os.path.exists(f)], [])
        wait_for(lambda: d.state("outside") == "failed", 20, what="the outside path to fail")
        dead = d.ok("jobs.list", {"state": "dead"})["jobs"]
        self.assertEqual([j["record"] for j in dead], ["outside"])
        self.assertIn("not a path below", dead[0]["last_error"])
        self.assertTrue(os.path.exists("/etc/hostname"))
        st = d.ok("status")
        py = [b for b in st["backends"] if b["name"] == "py"][0]
        self.assertTrue(py["connected"], py)
        self.assertEqual(py.get("peer"), "python-backend", py)


if __name__ == "__main__":
    main()
