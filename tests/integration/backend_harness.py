"""backend_harness.py - run backends (retention-fs, retention-sqlite, the Python example)
and talk to them as the daemon would.

Standard library only.  A test makes a Workdir (a fresh temporary directory, removed at
the end), starts a Backend in it (its config written there, the ASan+UBSan build by
default, stderr to a log file), and talks to it through Clients: connect, hello, jobs,
results.  Backend.stop() sends SIGTERM and checks the exit status and that the log
holds no sanitizer report.  Nothing sleeps a fixed time: every wait polls with a
deadline (wait_for).
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RTN_BACKEND_BUILD", os.path.join(REPO, "build", "asan"))
RETENTION_FS = os.path.join(BUILD, "retention-fs")
RETENTION_SQLITE = os.path.join(BUILD, "retention-sqlite")
PYTHON_BACKEND = os.path.join(REPO, "examples", "python-backend.py")

START_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
RESULT_TIMEOUT = 20.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ThreadSanitizer:")


def wait_for(predicate, timeout=10.0, what=None):
    """Poll predicate() until it returns something truthy and return that; on timeout
    raise AssertionError naming what."""
    deadline = time.monotonic() + timeout
    interval = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last: %r)"
                                 % (timeout, what or predicate.__name__, value))
        time.sleep(interval)
        interval = min(interval * 2, 0.1)


def sanitizer_problems(text):
    return [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKERS)]


def backend_env():
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "JOURNAL_STREAM"):
        env.pop(k, None)
    return env


class Workdir:
    """A temporary directory (short path: unix socket names are limited to 107 bytes)."""

    def __init__(self, prefix="rtnb-"):
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.path = os.path.realpath(tempfile.mkdtemp(prefix=prefix, dir=base))

    def __call__(self, *parts):
        return os.path.join(self.path, *parts)

    def write(self, rel, text, mode=0o644):
        p = self(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.chmod(p, mode)
        return p

    def mounts(self):
        """Mount points at or below this directory (from /proc/self/mountinfo)."""
        found = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
                if mp == self.path or mp.startswith(self.path + "/"):
                    found.append(mp)
        return found

    def unmount_all(self):
        """Unmount everything a test mounted here, deepest first (umount, then umount -l);
        AssertionError if something stays mounted."""
        for _ in range(20):  # mounts may be stacked on one another
            left = self.mounts()
            if not left:
                return
            for mp in sorted(set(left), key=len, reverse=True):
                if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
                    subprocess.run(["umount", "-l", mp], capture_output=True)
        raise AssertionError("still mounted below %s: %s; the directory is left in place"
                             % (self.path, self.mounts()))

    def cleanup(self):
        self.unmount_all()  # first: removing the tree must never reach into a mount
        shutil.rmtree(self.path, ignore_errors=True)


class Backend:
    """One backend process: argv (without --config), its config text, its socket."""

    def __init__(self, workdir, argv, config=None, name="backend", socket_name=None, env=None):
        self.wd = workdir
        self.env = dict(env or {})  # added to backend_env(): LD_PRELOAD of a test hook
        self.name = name
        self.argv = list(argv)
        self.socket = workdir(socket_name or name + ".sock")
        self.config = workdir.write(name + ".conf", config) if config is not None else None
        self.proc = None
        self.runs = 0
        self.logfile = None

    def command(self):
        return self.argv + (["--config", self.config] if self.config else [])

    def start(self, wait=True):
        """Start the process; with wait, until its socket accepts a connection."""
        self.runs += 1
        self.logfile = self.wd("%s.%d.log" % (self.name, self.runs))
        with open(self.logfile, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         env=dict(backend_env(), **self.env),
                                         cwd=self.wd.path)
        if wait:
            wait_for(self._ready, START_TIMEOUT, "%s to listen on %s" % (self.name, self.socket))
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("%s exited with %s before listening:\n%s"
                                 % (self.name, self.proc.returncode, self.log()))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def log(self):
        if not self.logfile or not os.path.exists(self.logfile):
            return ""
        with open(self.logfile, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=RESULT_TIMEOUT):
        return wait_for(lambda: text in self.log(), timeout, "%r in the log of %s" % (text, self.name))

    def check_log(self):
        bad = sanitizer_problems(self.log())
        if bad:
            raise AssertionError("sanitizer report from %s:\n%s" % (self.name, self.log()))

    def stop(self, expect=0, timeout=STOP_TIMEOUT):
        """SIGTERM; the exit status must be expect and the log free of sanitizer reports."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not stop within %.0f s after SIGTERM:\n%s"
                                 % (self.name, timeout, self.log()))
        self.check_log()
        if expect is not None and rc != expect:
            raise AssertionError("%s exited with %s, expected %s:\n%s"
                                 % (self.name, rc, expect, self.log()))
        return rc

    def wait(self, expect=0, timeout=STOP_TIMEOUT):
        """Wait for the process to exit by itself; check as stop() does."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %.0f s:\n%s"
                                 % (self.name, timeout, self.log()))
        self.check_log()
        if expect is not None and rc != expect:
            raise AssertionError("%s exited with %s, expected %s:\n%s"
                                 % (self.name, rc, expect, self.log()))
        return rc

    def kill(self):
        """SIGKILL: a crash, as far as anyone can tell."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def run_program(argv, timeout=30, cwd=None):
    """Run argv to completion: (exit status, stdout, stderr), with the sanitizers checked."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=backend_env(),
                       timeout=timeout, cwd=cwd)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if sanitizer_problems(err):
        raise AssertionError("sanitizer report from %s:\n%s" % (argv[0], err))
    return p.returncode, out, err


def job_msg(job, locator=None, action="delete", category="doc", record_id=None, attempt=1,
            subject=None):
    rec = {"id": record_id or "rec-" + job, "category": category}
    if subject is not None:
        rec["subject"] = subject
    if locator is not None:
        rec["locator"] = locator
    return {"type": "job", "job": job, "action": action, "attempt": attempt, "record": rec,
            "rule": "test-rule", "due": "2026-03-01T09:30:00+01:00"}


class Client:
    """A connection as the daemon makes it: lines out, lines in, results by job id."""

    def __init__(self, path, timeout=RESULT_TIMEOUT):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.eof = False
        self.results = {}  # job id -> [result, ...] in arrival order
        self.other = []    # decoded lines that are not results

    def close(self):
        self.sock.close()

    def send_raw(self, data, may_close=False):
        """Send bytes as they are. With may_close, the backend closing the
        connection part-way (as it must on an over-long line) is not an error:
        closed_by_peer() is the assertion."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not may_close:
                raise

    def send(self, msg):
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def hello(self, protocol=1):
        """Send our hello, return the backend's."""
        self.send({"type": "hello", "protocol": protocol})
        msg = self.read(self.timeout)
        if msg is None:
            raise AssertionError("connection closed instead of a hello")
        return msg

    def hello2(self):
        """Send the hello of a daemon that speaks protocols 1 and 2; return the backend's."""
        self.send({"type": "hello", "protocol": 1, "protocols": [1, 2]})
        msg = self.read(self.timeout)
        if msg is None:
            raise AssertionError("connection closed instead of a hello")
        return msg

    def next_other(self, timeout=None):
        """The next line that is not a result (results go to self.results), or None at end
        of file. AssertionError on timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self.read(max(deadline - time.monotonic(), 0.001))
            if msg is None or msg.get("type") != "result":
                return msg
            self.results.setdefault(msg["job"], []).append(msg)

    def quiet(self, seconds):
        """True if no line but results comes within seconds."""
        try:
            msg = self.next_other(seconds)
        except AssertionError:
            return True
        self.other.append(msg)
        return False

    def scan(self, scan_id="S-1", window=4, timeout=None):
        """Run a scan to its end marker, acknowledging each page: (pages, end)."""
        self.send({"type": "scan", "scan": scan_id, "window": window})
        pages = []
        while True:
            msg = self.next_other(timeout)
            if msg is None:
                raise AssertionError("connection closed during scan %s" % scan_id)
            if msg.get("type") == "scan_end":
                return pages, msg
            if msg.get("type") != "scan_page" or msg.get("scan") != scan_id:
                raise AssertionError("expected a page of scan %s: %r" % (scan_id, msg))
            pages.append(msg)
            self.send({"type": "scan_ack", "scan": scan_id, "seq": msg["seq"]})

    def job(self, job, locator=None, **kw):
        self.send(job_msg(job, locator, **kw))

    def read(self, timeout):
        """The next decoded line, or None at end of file. AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line within %.1f s (have results for %s)" % (timeout, sorted(self.results)))
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def pump(self, timeout):
        """Read one line into results/other; False at end of file."""
        msg = self.read(timeout)
        if msg is None:
            return False
        if msg.get("type") == "result":
            self.results.setdefault(msg["job"], []).append(msg)
        else:
            self.other.append(msg)
        return True

    def wait_results(self, ids, timeout=None):
        """Wait until every job id in ids has a result; return {id: first result}."""
        ids = list(ids)
        deadline = time.monotonic() + (timeout or self.timeout)
        while any(i not in self.results for i in ids):
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(left):
                missing = [i for i in ids if i not in self.results]
                raise AssertionError("no result for %d jobs (e.g. %s)%s"
                                     % (len(missing), missing[:5],
                                        " - connection closed" if self.eof else ""))
        return {i: self.results[i][0] for i in ids}

    def result(self, job, timeout=None):
        return self.wait_results([job], timeout)[job]

    def closed_by_peer(self, timeout=None):
        """True once the backend closed the connection (lines before that are kept)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.pump(left)
            except AssertionError:
                return False
            except OSError:
                return True
        return True


class BackendTest(unittest.TestCase):
    """A TestCase with a Workdir and backends that are stopped (and checked) at the end."""

    def setUp(self):
        self.wd = Workdir()
        self.backends = []
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        errors = []
        for b in self.backends:
            if b.alive():
                try:
                    b.stop()
                except AssertionError as e:
                    errors.append(str(e))
                finally:
                    b.kill()
        self.wd.cleanup()
        if errors:
            self.fail("\n".join(errors))

    def backend(self, argv, config=None, name="backend", start=True, **kw):
        b = Backend(self.wd, argv, config, name, **kw)
        self.backends.append(b)
        if start:
            b.start()
        return b

    def client(self, b, hello=True):
        c = Client(b.socket)
        self.clients.append(c)
        if hello:
            h = c.hello()
            self.assertEqual(h.get("type"), "hello", h)
            self.assertEqual(h.get("protocol"), 1, h)
        return c

    def assertStatus(self, result, status, retry=None):
        self.assertEqual(result.get("status"), status, result)
        if retry is not None:
            self.assertIs(result.get("retry"), retry, result)


def main():
    """unittest.main: exits non-zero when a test fails."""
    unittest.main(verbosity=int(os.environ.get("VERBOSE", "1")))


if __name__ == "__main__":
    sys.exit("backend_harness.py is a module for the test_backend_*.py tests")
