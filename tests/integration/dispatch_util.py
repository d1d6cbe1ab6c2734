"""dispatch_util.py - null backends and daemons wired to them, for the dispatch tests.

Standard library only; builds on harness.py.  A NullBackend runs
build/tests/null_backend (see tests/helpers/null_backend.c) on a socket in the
test's directory with a --log file; its log() parses the "JOB ACTION RECORD
ATTEMPT UNIXTIME" lines.  DispatchTestCase makes a Daemon (not started), lets a
test start the backends it needs, writes the configuration with one `backend`
block per backend, then starts the daemon; tearDown stops the daemon (exit 0,
sanitizers silent) and the backends, and removes the directory.

Nothing here sleeps to wait for an outcome: waits poll with a deadline
(wait_for); stays() proves a negative by polling that a condition holds for a
while.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, DaemonTestCase, default_rules, wait_for  # noqa: E402

NULL_BACKEND = os.environ.get("RTN_NULL_BACKEND",
                              os.path.join(harness.REPO, "build", "tests", "null_backend"))


def stays(predicate, duration, interval=0.05, what=None):
    """Poll predicate() for `duration` seconds; fail as soon as it is falsy."""
    deadline = time.monotonic() + duration
    while True:
        v = predicate()
        if not v:
            raise AssertionError("%s stopped holding (value %r)"
                                 % (what or getattr(predicate, "__name__", "condition"), v))
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


class LogLine:
    """One job received: "JOB ACTION RECORD ATTEMPT UNIXTIME [UNIXMS]"."""
    __slots__ = ("job", "action", "record", "attempt", "time", "ms")

    def __init__(self, job, action, record, attempt, t, ms=None):
        self.job, self.action, self.record = job, action, record
        self.attempt, self.time = int(attempt), int(t)
        self.ms = int(ms) if ms is not None else self.time * 1000

    def __repr__(self):
        return "<%s %s %s #%d @%d>" % (self.job, self.action, self.record, self.attempt,
                                       self.time)


class NullBackend:
    """One null_backend process; its socket and log live in directory `where`."""

    def __init__(self, where, name, *options):
        self.name = name
        self.socket = os.path.join(where, name + ".sock")
        self.log_path = os.path.join(where, name + ".jobs.log")
        self.err_path = os.path.join(where, name + ".stderr")
        self.options = list(options)
        self.proc = None

    def start(self, *options, timeout=10.0):
        """Start (again), with these options if given; wait until it listens."""
        if options:
            self.options = list(options)
        if not os.access(NULL_BACKEND, os.X_OK):
            raise AssertionError("%s is missing: run `make helpers`" % NULL_BACKEND)
        assert self.proc is None
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.errf = open(self.err_path, "ab")
        self.proc = subprocess.Popen([NULL_BACKEND, "-s", self.socket, "--log", self.log_path]
                                     + self.options, stdin=subprocess.DEVNULL,
                                     stdout=self.errf, stderr=self.errf)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("null_backend exited with %s:\n%s"
                                     % (self.proc.returncode, self.stderr()))
            return os.path.exists(self.socket)
        wait_for(listening, timeout, what="null_backend %s to listen" % self.name)
        return self

    def stop(self):
        """SIGTERM (answers what is pending, then exits)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        self.errf.close()

    def kill(self):
        if self.proc is None:
            return
        try:
            self.proc.kill()
            self.proc.wait(10)
        except Exception:
            pass
        self.proc = None
        self.errf.close()

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log(self):
        """The jobs received so far: [LogLine] (a torn last line is left out)."""
        try:
            with open(self.log_path, "r", encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        out = []
        for ln in text.split("\n")[:-1]:
            parts = ln.split(" ")
            if len(parts) in (5, 6):
                out.append(LogLine(*parts))
        return out

    def records(self):
        return [e.record for e in self.log()]

    def config(self, max_inflight=64, timeout="30 seconds", retry="1 second .. 2 seconds",
               max_attempts=20, extra=""):
        return ("backend %s {\n    socket %s\n    max-inflight %d\n    timeout %s\n"
                "    retry %s\n    max-attempts %d\n%s}\n"
                % (self.name, self.socket, max_inflight, timeout, retry, max_attempts, extra))


def with_rules(text, name="zz-test.rules"):
    """The repository's rules plus one test rule file."""
    r = default_rules()
    r[name] = text
    return r


class DispatchTestCase(DaemonTestCase):
    """setUp makes the daemon's directory only; a test calls up() with its backends."""

    RULES = None
    CONFIG_EXTRA = ""

    def setUp(self):
        self.backends = {}
        self.d = Daemon(rules=self.RULES, start=False)

    def backend(self, name, *options):
        """A started null backend called name in the daemon's directory."""
        b = NullBackend(self.d.dir, name, *options)
        self.backends[name] = b
        return b.start()

    def up(self, backends, config_extra=None, blocks=""):
        """Write the configuration: backends {name: dict of config() arguments}, plus
        config_extra (default CONFIG_EXTRA) and raw blocks; start the daemon."""
        text = "".join(self.backends[n].config(**kw) for n, kw in backends.items())
        self.d.write_config((self.CONFIG_EXTRA if config_extra is None else config_extra)
                            + "\n" + text + blocks)
        self.d.start()
        return self.d

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            for b in self.backends.values():
                b.kill()

    # helpers over the daemon
    def put(self, records):
        return self.d.ok("record.put", {"records": records})

    def states(self, ids):
        return {i: self.d.state(i) for i in ids}

    def all_state(self, ids, state):
        """A predicate: every record of ids is in state."""
        def p():
            return all(self.d.state(i) == state for i in ids)
        p.__name__ = "%d records to be %s" % (len(ids), state)
        return p

    def wait_state(self, ids, state, timeout=20.0):
        ids = list(ids)
        try:
            return wait_for(self.all_state(ids, state), timeout)
        except AssertionError as e:
            raise AssertionError("%s; states now %r" % (e, self.states(ids[:20]))) from None

    def backend_status(self, name):
        for b in self.d.ok("status")["backends"]:
            if b["name"] == name:
                return b
        raise AssertionError("status shows no backend %r" % name)

    def jobs(self, state=None, limit=100000):
        args = {"limit": limit}
        if state:
            args["state"] = state
        return self.d.ok("jobs.list", args)["jobs"]

    def assertTombstone(self, rid, job=None, rule=None):
        g = self.d.get(rid)
        self.assertEqual(g["state"], "deleted", g)
        self.assertEqual(g["schedule"], [], g)
        self.assertIsInstance(g.get("deleted"), dict, g)
        for k in ("at", "rule", "job"):
            self.assertIn(k, g["deleted"], g)
        if job is not None:
            self.assertEqual(g["deleted"]["job"], job, g)
        if rule is not None:
            self.assertEqual(g["deleted"]["rule"], rule, g)
        for k in ("subject", "locator"):
            self.assertIsNone(g.get(k), "tombstone still has %s: %r" % (k, g))
        self.assertFalse(g.get("attributes"), "tombstone still has attributes: %r" % (g,))
        return g


def inventory_ro(state_dir):
    """A read-only connection to state_dir/inventory.db (WAL: readable while it runs)."""
    path = os.path.join(state_dir, "inventory.db")
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)



class ScriptedBackend:
    """A backend played by the test itself: listens on `socket`, and after accept()
    and hello() the test writes whatever result lines it wants with send()."""

    def __init__(self, where, name):
        self.name = name
        self.socket = os.path.join(where, name + ".sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket)
        self.listener.listen(4)
        self.conn = None
        self.buf = b""

    def accept(self, timeout=10.0):
        self.listener.settimeout(timeout)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(timeout)
        return self

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise AssertionError("the daemon closed the connection to %s" % self.name)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def hello(self, protocol=1, actions=("delete", "anonymize"), scan=None):
        h = self.readline()
        if h.get("type") != "hello":
            raise AssertionError("expected the daemon's hello, got %r" % (h,))
        mine = {"type": "hello", "protocol": protocol, "name": self.name,
                "actions": list(actions)}
        if scan is not None:
            mine["scan"] = scan
        self.send(mine)
        return h

    def send(self, obj):
        self.conn.sendall(json.dumps(obj).encode() + b"\n")

    def close(self):
        for s in (self.conn, self.listener):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def config(self):
        return "backend %s {\n    socket %s\n}\n" % (self.name, self.socket)


class Tmpfs:
    """A tmpfs of size bytes mounted at path (created) for one test; root only. A
    filler file takes all its free space, and gives it back."""

    def __init__(self, path, size):
        if os.geteuid() != 0:
            raise AssertionError("this test mounts a tmpfs and must run as root (CI does)")
        self.path = path
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size, "tmpfs",
                        path], check=True)
        self.filler = os.path.join(path, ".filler")

    def fill(self):
        """Take every free byte (writes until ENOSPC)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)
        st = os.statvfs(self.path)
        assert st.f_bavail == 0, "the tmpfs still has %d free blocks" % st.f_bavail

    def free(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)

    def umount(self):
        r = subprocess.run(["umount", self.path], capture_output=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", self.path])
