#!/usr/bin/env python3
"""`make run` (scripts/run-demo.sh) stops exactly what it started: on Ctrl-C (SIGINT to
its process group, as a terminal sends it) and on SIGTERM to the script alone, the
daemon, both backends, the log readers and the loader are gone, while processes of the
same names and command lines that it did not start (scripts named retentiond,
retention-fs and retention-sqlite, with the demo's arguments) still run.  Uses the release build and build/demo.
Run: python3 tests/integration/test_run_demo.py
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, main, wait_for  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")
SOCK = os.path.join(REPO, "build", "demo", "control.sock")


def children():
    """{pid: ppid} of every process."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] != "Z":
            out[int(p)] = int(fields[1])
    return out


def descendants(pid):
    tree = children()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c, pp in tree.items():
            if pp == p and c not in found:
                found.add(c)
                todo.append(c)
    return found


def alive(pid):
    return pid in children()


class RunDemo(unittest.TestCase):
    def setUp(self):
        for b in ("retentiond", "retention-fs", "retention-sqlite", "retentionctl"):
            if not os.access(os.path.join(REPO, "build", b), os.X_OK):
                self.fail("build/%s is missing: make all first" % b)
        if subprocess.run([CTL, "-s", SOCK, "status"], capture_output=True).returncode == 0:
            self.skipTest("a demo is already running on build/demo/control.sock")
        # Decoys: look-alikes of the demo's programs (same names, same arguments), started
        # by this test; a script that stopped processes by name instead of by pid would hit them.
        self.tmp = tempfile.mkdtemp(prefix="rtn-demo-decoy-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.decoys = []
        for name, args in (("retentiond", ["--config", "demo/retentiond.conf"]),
                           ("retention-fs", ["--config", "demo/retention-fs.conf"]),
                           ("retention-sqlite", ["--config", "demo/retention-sqlite.conf"])):
            # a script: its process name (comm) is the file's, its command line has args
            os.makedirs(os.path.join(self.tmp, "build"), exist_ok=True)
            exe = os.path.join(self.tmp, "build", name)
            with open(exe, "w") as f:
                f.write("#!%s\nimport time\ntime.sleep(600)\n" % sys.executable)
            os.chmod(exe, 0o755)
            p = subprocess.Popen(["build/" + name] + args, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 cwd=self.tmp)
            self.decoys.append(p)
            self.addCleanup(self.stop_decoy, p)

    @staticmethod
    def stop_decoy(p):
        if p.poll() is None:
            p.kill()
        p.wait()

    def start_demo(self):
        log = open(os.path.join(self.tmp, "demo.log"), "wb")
        self.addCleanup(log.close)
        demo = subprocess.Popen(["sh", "scripts/run-demo.sh"], cwd=REPO, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.addCleanup(self.stop_demo, demo)

        def up():
            if demo.poll() is not None:
                raise AssertionError("run-demo.sh exited %s:\n%s" % (demo.returncode, self.log()))
            r = subprocess.run([CTL, "-s", SOCK, "status"], capture_output=True, text=True)
            return r.returncode == 0
        wait_for(up, 60, what="the demo daemon")
        # the daemon, two backends, two log readers, the loader: all children of the script
        started = wait_for(lambda: (lambda s: s if len(s) >= 5 else None)(descendants(demo.pid)),
                           30, what="the demo's processes")
        return demo, started

    def log(self):
        with open(os.path.join(self.tmp, "demo.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop_demo(self, demo):
        """After a failure: whatever is left of the demo's own session (its group)."""
        try:
            os.killpg(demo.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        demo.wait()

    def assertStopped(self, demo, started):
        demo.wait(60)
        wait_for(lambda: not [p for p in started if alive(p)], 30,
                 what="every process the demo started to end")
        self.assertFalse(os.path.exists(SOCK), "the daemon's socket is left")
        for p in self.decoys:
            self.assertIsNone(p.poll(), "a process the demo did not start was stopped")
        self.assertNotIn("AddressSanitizer", self.log())

    def test_ctrl_c_stops_what_it_started_only(self):
        demo, started = self.start_demo()
        os.killpg(demo.pid, signal.SIGINT)  # as the terminal does on Ctrl-C
        self.assertStopped(demo, started)

    def test_sigterm_to_the_script_stops_what_it_started_only(self):
        demo, started = self.start_demo()
        demo.send_signal(signal.SIGTERM)
        self.assertStopped(demo, started)
        self.assertEqual(demo.returncode, 143, self.log())


if __name__ == "__main__":
    main()
