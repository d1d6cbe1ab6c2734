"""harness.py - start the real retentiond (ASan+UBSan build) and talk to it.

Standard library only.  A test creates a Daemon in a temporary directory of its
own: the harness writes a configuration (state directory, rules directory,
audit log, control socket, time zone Europe/Oslo), starts
build/asan/retentiond --config, waits for the control socket to accept, and
offers call() over a persistent connection plus connect() for more.  stop()
sends SIGTERM and checks the exit status and the sanitizers' silence.
Whatever happens, the process is killed and the directory removed.

Once a daemon that was started has exited (stopped, or killed as a crash would),
cleanup() runs tests/integration/invariants.py on its inventory and audit log
before removing the directory: a violation fails the test that owns the daemon.
RTN_INVARIANTS chooses how: "strict" (the default) fails, "report" prints the
violations to stderr and passes, "off" does not check.  A test that breaks an
invariant on purpose leaves out that one check with Daemon.skip_invariant(check,
why) (or DaemonTestCase.INVARIANT_SKIPS), never all of them.

Nothing here sleeps a fixed time to wait for something: every wait is a poll
with a deadline (wait_for).
"""

import datetime as _dt
import errno
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import invariants

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMON = os.environ.get("RETENTIOND", os.path.join(REPO, "build", "asan", "retentiond"))
RULES_DIR = os.path.join(REPO, "rules")
ZONE = "Europe/Oslo"

START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
REPLY_TIMEOUT = 30.0

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


class HarnessError(AssertionError):
    """A failure of the daemon as seen by the harness (it counts as a test failure)."""


def wait_for(predicate, timeout=10.0, interval=0.02, what=None):
    """Poll predicate() until it returns something truthy; return that value.

    Exceptions raised by the predicate propagate.  On timeout raise an
    AssertionError naming `what` (or the predicate) and its last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last value: %r)"
                                 % (timeout, what or getattr(predicate, "__name__", "condition"),
                                    last))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


def sanitizer_problems(text):
    """The lines of text that show a sanitizer report."""
    return [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKERS)]


def daemon_env():
    env = dict(os.environ)
    env.pop("TZ", None)  # the daemon's zone comes from its configuration
    env["TZ"] = "UTC"
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    env.pop("LISTEN_FDS", None)
    env.pop("NOTIFY_SOCKET", None)
    return env


# --- time helpers --------------------------------------------------------------------

def _zone():
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(ZONE)
    except Exception:  # pragma: no cover - tzdata missing
        return None


OSLO = _zone()


def rfc3339(t):
    """Unix seconds (int) -> RFC 3339 in Europe/Oslo, as the daemon writes it."""
    d = _dt.datetime.fromtimestamp(int(t), OSLO)
    return d.isoformat(timespec="seconds")


def parse_time(s):
    """RFC 3339 -> Unix seconds."""
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    return int(_dt.datetime.fromisoformat(s).timestamp())


def local(y, mo, d, h=0, mi=0, s=0):
    """A wall-clock time in Europe/Oslo -> Unix seconds."""
    return int(_dt.datetime(y, mo, d, h, mi, s, tzinfo=OSLO).timestamp())


# --- a connection ------------------------------------------------------------------

class Conn:
    """One client connection to the control socket: JSON lines both ways."""

    def __init__(self, path, timeout=REPLY_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        # With a timeout the socket is non-blocking, and a unix socket whose listen queue
        # is full answers EAGAIN at once where a blocking client (retentionctl) waits:
        # wait the same way, within the timeout.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.sock.close()
                    raise
                time.sleep(0.01)
            except Exception:
                self.sock.close()
                raise
        self.buf = b""
        self.next_id = 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def recv_line(self, timeout=None):
        """The next reply line (bytes, without the newline), or None at end of file."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("no reply line within the timeout; buffered %r"
                                   % self.buf[:200])
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buf:
                    raise HarnessError("connection closed in the middle of a reply: %r"
                                       % self.buf[:200])
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def recv(self, timeout=None):
        """The next reply as a dict; fails if the daemon closed the connection."""
        line = self.recv_line(timeout)
        if line is None:
            raise HarnessError("the daemon closed the connection instead of replying")
        try:
            reply = json.loads(line.decode("utf-8"))
        except ValueError as e:
            raise HarnessError("reply is not JSON (%s): %r" % (e, line[:300]))
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise HarnessError("reply is not an envelope: %r" % (reply,))
        return reply

    def at_eof(self, timeout=10.0):
        """True when the daemon has closed the connection (after any buffered lines)."""
        try:
            return self.recv_line(timeout) is None
        except (ConnectionResetError, BrokenPipeError):
            return True

    def request(self, cmd, args=None, rid=None):
        """Send one request and return its reply (dict); checks the id is echoed."""
        if rid is None:
            rid = self.next_id
            self.next_id += 1
        req = {"id": rid, "cmd": cmd}
        if args is not None:
            req["args"] = with_default_backend(cmd, args)
        self.send(req)
        reply = self.recv()
        if reply.get("id") != rid:
            raise HarnessError("reply to %s has id %r, expected %r: %r"
                               % (cmd, reply.get("id"), rid, reply))
        return reply

    call = request


# --- the daemon ---------------------------------------------------------------------

OFFLINE_BACKEND = "off"  # short: a batch of 10 000 records must stay under 1 MiB


def with_default_backend(cmd, args):
    """Records put by tests name the configured backend "off" unless they name one
    (or None) themselves. No process listens for it, so a due record stays queued, which
    is what the tests of the control socket and the timer look at; the dispatch tests
    configure and run real backends."""
    if cmd != "record.put" or not isinstance(args, dict):
        return args
    def fill(r):
        if isinstance(r, dict) and "backend" not in r:
            r = dict(r)
            r["backend"] = OFFLINE_BACKEND
        return r
    if isinstance(args.get("records"), list):
        args = dict(args)
        args["records"] = [fill(r) for r in args["records"]]
        return args
    return fill(args)


# The inventory's schema version (lib/inventory.h RTN_INV_SCHEMA_VERSION).
SCHEMA_VERSION = 8
# SQL that takes an inventory back from schema 8 to 7, to 6, to 5 and to 4 (for the tests
# of older schemas).
UNDO_SCHEMA_8 = ("DROP INDEX records_notice; DROP INDEX records_notice_wake;"
                 "ALTER TABLE records DROP COLUMN notice_at;"
                 "ALTER TABLE records DROP COLUMN notice_for;"
                 "ALTER TABLE records DROP COLUMN notice_rule;"
                 "ALTER TABLE records DROP COLUMN notice_backend;"
                 "ALTER TABLE jobs DROP COLUMN notice_of;"
                 "ALTER TABLE jobs DROP COLUMN notice_deadline;")
UNDO_SCHEMA_7 = UNDO_SCHEMA_8 + "DROP INDEX jobs_failing; DELETE FROM counts WHERE kind = 'done';"
UNDO_SCHEMA_6 = UNDO_SCHEMA_7 + "DROP TABLE counts;"
UNDO_SCHEMA_5 = UNDO_SCHEMA_6 + (
                 "DROP INDEX records_scan; ALTER TABLE records DROP COLUMN scan_backend;"
                 "ALTER TABLE records DROP COLUMN scan_hash;"
                 "ALTER TABLE records DROP COLUMN pause_cause;"
                 "ALTER TABLE records DROP COLUMN pause_ref;")


def default_rules():
    """The repository's rule files: {name: text}."""
    out = {}
    for name in sorted(os.listdir(RULES_DIR)):
        if name.endswith(".rules"):
            with open(os.path.join(RULES_DIR, name), encoding="utf-8") as f:
                out[name] = f.read()
    return out


class Daemon:
    """A retentiond in a temporary directory.

    tmpdir: the directory to use (kept; state survives a restart); None makes a
            fresh one that is removed by cleanup().
    rules:  None -> a copy of the repository's rules/; a str -> one file
            "test.rules"; a dict -> {file name: text}.
    config_extra: text appended to the configuration.
    nofile: the daemon's RLIMIT_NOFILE (soft and hard), as systemd's LimitNOFILE= sets it.
    env:    variables added to (or, with the value None, removed from) its environment.
    """

    def __init__(self, tmpdir=None, rules=None, config_extra="", start=True, config=None,
                 nofile=None, env=None):
        self.nofile = nofile
        self.env = env or {}
        self.own_dir = tmpdir is None
        self.dir = tmpdir or tempfile.mkdtemp(prefix="rtn-it-")
        os.chmod(self.dir, 0o755)
        self.proc = None
        self.conn = None
        self.conns = []
        self.runs = []  # stderr texts of finished runs
        self.stderr_path = None
        self.stderr_file = None
        self.config_path = os.path.join(self.dir, "retentiond.conf")
        self.state_dir = os.path.join(self.dir, "state")
        self.rules_dir = os.path.join(self.dir, "rules")
        self.audit_log = os.path.join(self.dir, "audit.log")
        self.socket_path = os.path.join(self.dir, "control.sock")
        self.run_no = 0
        self.invariant_skips = {}  # check name -> why this test leaves it out
        self.invariants_checked = False
        try:
            if rules is not None or not os.path.isdir(self.rules_dir):
                self.write_rules(default_rules() if rules is None else rules)
            if config is not None:
                self.write_file(self.config_path, config)
            elif not os.path.exists(self.config_path) or config_extra:
                self.write_config(config_extra)
            if start:
                self.start()
        except BaseException:
            self.cleanup(check=False)
            raise

    # files
    @staticmethod
    def write_file(path, text, mode=0o644):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)

    def write_config(self, extra=""):
        self.write_file(self.config_path,
                        "# written by tests/integration/harness.py\n"
                        "state-directory  %s\n"
                        "rules-directory  %s\n"
                        "audit-log        %s\n"
                        "control-socket   %s\n"
                        "timezone         %s\n"
                        "backend %s { socket %s }\n%s\n"
                        % (self.state_dir, self.rules_dir, self.audit_log, self.socket_path,
                           ZONE, OFFLINE_BACKEND, os.path.join(self.dir, "offline.sock"),
                           extra))

    def write_rules(self, rules):
        if os.path.isdir(self.rules_dir):
            shutil.rmtree(self.rules_dir)
        os.makedirs(self.rules_dir)
        os.chmod(self.rules_dir, 0o755)
        if isinstance(rules, str):
            rules = {"test.rules": rules}
        for name, text in rules.items():
            self.write_file(os.path.join(self.rules_dir, name), text)

    def rule_file(self, name, text=None):
        """Write (or with text None, remove) one file of the rules directory."""
        p = os.path.join(self.rules_dir, name)
        if text is None:
            os.unlink(p)
        else:
            self.write_file(p, text)

    # process
    def spawn(self, args=None):
        """Start the daemon process without waiting for its socket."""
        assert self.proc is None, "the daemon is already running"
        self.run_no += 1
        self.stderr_path = os.path.join(self.dir, "stderr.%d" % self.run_no)
        self.stderr_file = open(self.stderr_path, "wb")
        argv = [DAEMON, "--config", self.config_path] if args is None else [DAEMON] + args
        env = daemon_env()
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        limit = None
        if self.nofile is not None:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.stderr_file,
                                     stderr=self.stderr_file, env=env, cwd=self.dir,
                                     preexec_fn=limit)
        return self.proc

    def start(self, timeout=START_TIMEOUT, args=None):
        """Start the daemon (with args: those instead of --config FILE) and wait until its
        socket accepts a connection."""
        if not os.access(DAEMON, os.X_OK):
            raise HarnessError("%s is missing: run `make asan` (or make build/asan/retentiond)"
                               % DAEMON)
        self.spawn(args)

        def ready():
            if self.proc.poll() is not None:
                raise HarnessError("retentiond exited with %s during start-up:\n%s"
                                   % (self.proc.returncode, self._finish_run()))
            try:
                c = Conn(self.socket_path, timeout=5)
            except (FileNotFoundError, ConnectionRefusedError):
                return None
            except OSError as e:
                if e.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN):
                    return None
                raise
            return c
        try:
            self.conn = wait_for(ready, timeout, what="the control socket to accept")
        except BaseException:
            self.kill()
            raise
        self.conns.append(self.conn)
        return self

    def stderr(self):
        """stderr (and stdout) of the current or last run, as text."""
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def all_stderr(self):
        return "\n".join(self.runs + ([self.stderr()] if self.proc else []))

    def _close_conns(self):
        for c in self.conns:
            c.close()
        self.conns = []
        self.conn = None

    def _finish_run(self, check_sanitizers=True):
        """Bookkeeping after the process ended: returns its stderr; checks sanitizers."""
        self._close_conns()
        text = self.stderr()
        if self.stderr_file:
            self.stderr_file.close()
            self.stderr_file = None
        self.proc = None
        self.runs.append(text)
        if check_sanitizers:
            bad = sanitizer_problems(text)
            if bad:
                raise HarnessError("sanitizer report in retentiond's stderr: %s\n%s"
                                   % (bad[0].strip(), text[-6000:]))
        return text

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the process to end by itself; returns (exit status, stderr)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise HarnessError("retentiond did not exit within %.0f s" % timeout)
        return rc, self._finish_run()

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; the daemon must exit 0 in time with clean sanitizers. Returns stderr."""
        assert self.proc is not None, "the daemon is not running"
        self._close_conns()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            text = self.stderr()
            self.kill()
            raise HarnessError("retentiond did not exit within %.0f s of SIGTERM:\n%s"
                               % (timeout, text[-4000:]))
        text = self._finish_run()
        if rc != 0:
            raise HarnessError("retentiond exited with %d after SIGTERM (expected 0):\n%s"
                               % (rc, text[-4000:]))
        return text

    def kill9(self):
        """SIGKILL, as a crash would; returns stderr (sanitizers still checked)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT)
        return self._finish_run()

    def kill(self):
        """Best-effort kill on failure paths; never raises."""
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
            except Exception:
                pass
            try:
                self._finish_run(check_sanitizers=False)
            except Exception:
                pass
        self._close_conns()

    def restart(self, hard=False):
        """Stop (SIGTERM, or SIGKILL with hard) and start again on the same directory."""
        if hard:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self, check=True):
        """Kill the daemon if it still runs; with check, verify the invariants of what
        it left (check_invariants); remove the directory if it was made here."""
        self.kill()
        try:
            if check:
                self.check_invariants()
        finally:
            if self.own_dir and self.dir and os.path.isdir(self.dir):
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.cleanup(check=exc_type is None)

    # invariants
    def skip_invariant(self, check, why):
        """Leave one check of invariants.py out for this daemon, saying why in a
        sentence (shown with every report)."""
        if check not in invariants.CHECKS:
            raise ValueError("unknown invariant check %r (checks: %s)"
                             % (check, ", ".join(invariants.CHECKS)))
        if not isinstance(why, str) or not why.strip():
            raise ValueError("leaving out invariant check %r needs a reason" % check)
        self.invariant_skips[check] = why

    def _configured(self, key, default):
        """A path the configuration file sets (relative to its directory), or default."""
        try:
            with open(self.config_path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            return default
        for ln in text.splitlines():
            words = ln.split("#", 1)[0].split()
            if len(words) == 2 and words[0] == key:
                v = words[1].strip('"')
                return v if os.path.isabs(v) else os.path.join(self.dir, v)
        return default

    def published_head(self):
        """The last chain head the daemon wrote to its log ("audit head: seq N hash H
        file F", the journal line), or None."""
        heads = re.findall(r"audit head: seq \d+ hash ([0-9a-f]{64}) file ",
                           "\n".join(self.runs))
        return heads[-1] if heads else None

    def check_invariants(self):
        """Once the daemon has exited: invariants.check() on its state directory and
        audit log (the chain and its rotated files) with the head it last published.
        Per RTN_INVARIANTS: "strict" (default) raises HarnessError with the report,
        "report" prints it to stderr, "off" does nothing. Runs once per Daemon; only
        if it was ever started. Returns the Report (None when nothing was checked)."""
        mode = os.environ.get("RTN_INVARIANTS", "strict")
        if mode not in ("strict", "report", "off"):
            raise HarnessError("RTN_INVARIANTS=%r: expected strict, report or off" % mode)
        if self.invariants_checked or self.run_no == 0 or mode == "off":
            return None
        if self.running():
            raise HarnessError("check_invariants() needs the daemon to have exited")
        self.invariants_checked = True
        state_dir = self._configured("state-directory", self.state_dir)
        audit_log = self._configured("audit-log", self.audit_log)
        rep = invariants.check(state_dir, audit_log, skip=self.invariant_skips,
                               head=self.published_head(), verifier=DAEMON)
        if rep.ok:
            return rep
        text = ("invariants of the inventory and the audit log broken (%s, %s; "
                "RTN_INVARIANTS=%s):\n%s" % (state_dir, audit_log, mode, rep.text()))
        if mode == "strict":
            raise HarnessError(text)
        print("\n" + text, file=sys.stderr)
        return rep

    # talking
    def connect(self, timeout=REPLY_TIMEOUT):
        c = Conn(self.socket_path, timeout)
        self.conns.append(c)
        return c

    def call(self, cmd, args=None, rid=None):
        """One request over the persistent connection; the reply dict."""
        if self.conn is None:
            self.conn = self.connect()
        try:
            return self.conn.request(cmd, args, rid)
        except (HarnessError, OSError) as e:
            raise HarnessError("%s %s: %s%s" % (cmd, json.dumps(args)[:200], e,
                                                self.death_note())) from None

    def death_note(self):
        """If the daemon died (or is dying), why: its exit status and sanitizer lines."""
        if self.proc is None:
            return ""
        try:
            rc = self.proc.wait(2)
        except subprocess.TimeoutExpired:
            rc = None
        bad = sanitizer_problems(self.stderr())
        if rc is None and not bad:
            return ""
        return "; retentiond %s%s" % ("exited with %s" % rc if rc is not None else "is running",
                                      (": " + bad[0].strip()) if bad else "")

    def ok(self, cmd, args=None):
        """call() that must succeed; returns the result."""
        r = self.call(cmd, args)
        if r.get("ok") is not True:
            raise AssertionError("%s %s failed: %s" % (cmd, json.dumps(args)[:300],
                                                       json.dumps(r)[:2000]))
        return r["result"]

    def err(self, cmd, args=None, code=None):
        """call() that must fail (with code, if given); returns the error object."""
        r = self.call(cmd, args)
        if r.get("ok") is not False:
            raise AssertionError("%s %s should have failed%s but got %s"
                                 % (cmd, json.dumps(args)[:300],
                                    " with " + code if code else "", json.dumps(r)[:2000]))
        e = r.get("error")
        if not isinstance(e, dict) or not isinstance(e.get("code"), str) or \
                not isinstance(e.get("message"), str):
            raise AssertionError("malformed error reply: %r" % (r,))
        if code is not None and e["code"] != code:
            raise AssertionError("%s %s: error %r (%s), expected %r"
                                 % (cmd, json.dumps(args)[:300], e["code"], e["message"], code))
        return e

    def get(self, rid):
        return self.ok("record.get", {"id": rid})

    def state(self, rid):
        return self.get(rid)["state"]

    def pseudonym(self, subject):
        """subject as the audit log names it: "hmac:" and HMAC-SHA-256 under the key the
        daemon made in its state directory (computed here independently)."""
        return pseudonym(os.path.join(self._configured("state-directory", self.state_dir),
                                      "subject.key"), subject)


def pseudonym(key_file, subject):
    """The pseudonym of subject under the key in key_file (64 hex digits and a newline)."""
    with open(key_file) as f:
        key = bytes.fromhex(f.read().strip())
    return "hmac:" + hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()


# --- running tests ----------------------------------------------------------------------

SECURITY = "security"      # authorisation, peer credentials, anything needing root/setpriv/mounts
DURABILITY = "durability"  # kill loop, disk-full: what survives a crash or a full disk


def skip_or_fail(missing, kind=None):
    """Skip the running test (or class, from setUpClass) because missing is absent; a
    security or durability test fails instead when CI=true is set in the environment."""
    if kind in (SECURITY, DURABILITY) and os.environ.get("CI") == "true":
        raise AssertionError("%s test cannot run: %s (CI=true: it may not be skipped)"
                             % (kind, missing))
    raise unittest.SkipTest(missing)


def main():
    """unittest.main with a closing list of what failed; exits non-zero on failure."""
    prog = unittest.TestProgram(module="__main__", exit=False, verbosity=2)
    res = prog.result
    bad = [(t, "FAIL", tb) for t, tb in res.failures] + \
          [(t, "ERROR", tb) for t, tb in res.errors] + \
          [(t, "UNEXPECTED SUCCESS", "") for t in getattr(res, "unexpectedSuccesses", [])]
    if bad:
        print("\nFAILED (%d of %d tests):" % (len({t.id() for t, _, _ in bad}), res.testsRun),
              file=sys.stderr)
        for t, kind, tb in bad:
            lines = [ln for ln in tb.strip().splitlines() if ln.strip()]
            heads = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception|Exit)\b", ln)]
            why = (heads[-1] if heads else (lines[-1] if lines else "")).strip()
            print("  %s %s: %s" % (kind, t.id().replace("__main__.", ""), why[:300]),
                  file=sys.stderr)
    sys.exit(0 if res.wasSuccessful() else 1)


class DaemonTestCase(unittest.TestCase):
    """A fresh daemon per test (start-up takes well under a second); tearDown
    stops it with SIGTERM, which must give exit 0 and a sanitizer-clean stderr."""

    RULES = None          # None: the repository's rules/
    CONFIG_EXTRA = ""
    INVARIANT_SKIPS = {}  # {invariants check: why this class breaks it on purpose}
    maxDiff = 4000

    def setUp(self):
        self.d = Daemon(rules=self.RULES, config_extra=self.CONFIG_EXTRA)

    def tearDown(self):
        """Stop the daemon (exit 0, sanitizers silent), then check the invariants of
        what it left (see Daemon.check_invariants); remove the directory."""
        d = self.d
        for check, why in self.INVARIANT_SKIPS.items():
            d.skip_invariant(check, why)
        stopped = False
        try:
            if d.proc is not None:
                if d.proc.poll() is not None:
                    rc = d.proc.returncode
                    text = d.stderr()
                    bad = sanitizer_problems(text)
                    d.kill()
                    raise AssertionError("retentiond died during the test (exit %s)%s\n%s"
                                         % (rc, (": " + bad[0].strip()) if bad else "",
                                            text[-5000:]))
                d.stop()
            stopped = True
        finally:
            d.cleanup(check=stopped)

    # shapes
    TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$"

    def assertTime(self, s, expected=None, msg=None):
        """An RFC 3339 time with Europe/Oslo's offset at that instant (and == expected)."""
        self.assertIsInstance(s, str, msg)
        self.assertRegex(s, self.TIME_RE, msg)
        t = parse_time(s)
        self.assertEqual(s, rfc3339(t), "time %r not written with the Oslo offset %s"
                         % (s, msg or ""))
        if expected is not None:
            if isinstance(expected, str):
                expected = parse_time(expected)
            self.assertEqual(t, expected, "time %s, expected %s %s"
                             % (s, rfc3339(expected), msg or ""))
        return t

    def assertSchedule(self, sched, expected=None):
        """SCHEDULE shape; expected: [(action, at, rule), ...]."""
        self.assertIsInstance(sched, list)
        for e in sched:
            self.assertIsInstance(e, dict)
            for k in ("action", "at", "rule", "review", "backend"):
                self.assertIn(k, e, "schedule entry without %r: %r" % (k, e))
            self.assertIn(e["action"], ("anonymize", "delete"))
            self.assertTime(e["at"])
            self.assertIsInstance(e["rule"], str)
            self.assertIsInstance(e["review"], bool)
            self.assertTrue(e["backend"] is None or isinstance(e["backend"], str))
        if expected is not None:
            got = [(e["action"], parse_time(e["at"]), e["rule"]) for e in sched]
            want = [(a, parse_time(t) if isinstance(t, str) else t, r) for a, t, r in expected]
            self.assertEqual(got, want, "schedule %r" % (sched,))

    def assertBrief(self, res, rid, state=None):
        """{"id", "state", "schedule"} of record.event / record.set / record.put."""
        self.assertEqual(res["id"], rid)
        self.assertIn(res["state"], STATES)
        if state:
            self.assertEqual(res["state"], state, res)
        self.assertSchedule(res["schedule"])

    def assertRecord(self, rec):
        """RECORD shape of a live record."""
        for k in ("id", "category", "subject", "backend", "locator", "events", "attributes",
                  "state", "schedule", "holds"):
            self.assertIn(k, rec, "record without %r: %r" % (k, rec))
        self.assertIn(rec["state"], STATES)
        self.assertIsInstance(rec["events"], dict)
        for v in rec["events"].values():
            self.assertTime(v)
        self.assertIsInstance(rec["attributes"], dict)
        self.assertIsInstance(rec["holds"], list)
        self.assertSchedule(rec["schedule"])


STATES = ("active", "unmanaged", "held", "queued", "review", "paused", "anonymized", "deleted",
          "failed")
