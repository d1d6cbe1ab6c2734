"""pg_server.py - a real PostgreSQL server in a temporary directory, for the tests and the
bench of retention-postgres.

Standard library only.  PgServer(tmpdir) makes tmpdir/pg, runs initdb there (superuser
"postgres", trust authentication: only the socket's directory reaches the server) and
pg_ctl start with listen_addresses='' (no TCP at all) and the unix socket in tmpdir/pg
only.  The server never runs as root: when the tests run as root (as CI does) every
server program runs as the Debian `postgres` system user through runuser (or setpriv),
with tmpdir/pg chowned to it and tmpdir opened for it to pass through; as a normal user
it runs as that user.

    with PgServer(wd.path) as pg:
        pg.psql("CREATE TABLE t (id int PRIMARY KEY)", db="postgres")
        pg.rows("SELECT id FROM t")          # [("1",), ...]; NULL is None
        pg.conninfo("postgres", "retention")  # "host=DIR dbname=postgres user=retention"
        pg.stop(); pg.start()                 # a restart, same data

The server is stopped by the pid in its postmaster.pid (checked to be the postmaster of
this data directory): by stop(), at the end of the with block, at interpreter exit
(atexit), and on SIGTERM or SIGHUP, so a failing or interrupted test leaves no server
behind.  No PostgreSQL installed: skip_or_fail() skips the test (or fails under CI=true
when the caller says kind=...).  Every wait polls with a deadline.
"""

import atexit
import csv
import glob
import io
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import time

import harness

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
SYSTEM_USER = "postgres"  # the Debian package's system user, used when we are root
NULL = "\\N"              # how rows() asks psql to print a NULL

_live = set()  # servers that may be running: stopped at exit or on a signal


def bin_dir():
    """The newest /usr/lib/postgresql/*/bin with initdb, pg_ctl and postgres, or None.
    PG_BINDIR overrides."""
    cands = [os.environ["PG_BINDIR"]] if os.environ.get("PG_BINDIR") else []
    def version(p):
        m = re.search(r"/postgresql/(\d+)(?:\.(\d+))?/bin$", p)
        return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)
    cands += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for d in cands:
        if all(os.access(os.path.join(d, p), os.X_OK) for p in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def psql_path(bindir=None):
    for d in ([bindir] if bindir else []) + [p for p in os.environ.get("PATH", "").split(":") if p]:
        p = os.path.join(d, "psql")
        if os.access(p, os.X_OK):
            return p
    return None


def available():
    """None if a server can be run here, else why not (for skip_or_fail)."""
    d = bin_dir()
    if d is None:
        return "no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb): install postgresql"
    if psql_path(d) is None:
        return "no psql: install postgresql-client"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return "running as root and there is no %r system user to run the server" % SYSTEM_USER
        if not (shutil.which("runuser") or shutil.which("setpriv")):
            return "running as root and neither runuser nor setpriv is installed"
    return None


def require(kind=None):
    """Skip (or with kind under CI=true, fail) the calling test if no server can run."""
    why = available()
    if why:
        harness.skip_or_fail(why, kind)


def _clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    env.pop("LANGUAGE", None)
    env["TZ"] = "UTC"
    return env


def _pid_alive(pid):
    """True if pid is a live process (a zombie nobody reaped counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True


class PgError(AssertionError):
    """psql failed: the message is its stderr."""


class PgServer:
    """A PostgreSQL server in tmpdir/pg: data in tmpdir/pg/data, the socket in tmpdir/pg,
    its log in tmpdir/pg/server.log.  settings: extra -c NAME=VALUE for every start
    (fsync is off unless settings say otherwise: the data is thrown away anyway)."""

    def __init__(self, tmpdir, settings=None, start=True):
        why = available()
        if why:
            harness.skip_or_fail(why)
        self.bindir = bin_dir()
        self.psql_bin = psql_path(self.bindir)
        self.tmpdir = os.path.realpath(tmpdir)
        self.dir = os.path.join(self.tmpdir, "pg")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        self.settings = {"fsync": "off", "full_page_writes": "off",
                         "max_connections": "100", "shared_buffers": "32MB",
                         "log_min_messages": "warning", "log_connections": "off"}
        self.settings.update(settings or {})
        self.pid = None
        self.as_user = None  # the system user the server runs as (when we are root)
        if os.geteuid() == 0:
            self.as_user = pwd.getpwnam(SYSTEM_USER)
        if len(os.path.join(self.dir, ".s.PGSQL.5432")) > 107:
            raise harness.HarnessError("socket path too long for a unix socket: %s" % self.dir)
        try:
            self._init()
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    # --- running programs as the server's user ------------------------------------------
    def _as_server_user(self, argv):
        if self.as_user is None:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", self.as_user.pw_name, "--"] + argv
        return ["setpriv", "--reuid=%d" % self.as_user.pw_uid, "--regid=%d" % self.as_user.pw_gid,
                "--init-groups", "--reset-env", "--"] + argv

    def _run(self, argv, timeout=120):
        p = subprocess.run(self._as_server_user(argv), stdin=subprocess.DEVNULL,
                           capture_output=True, env=_clean_env(), cwd=self.dir, timeout=timeout)
        if p.returncode != 0:
            raise harness.HarnessError("%s exited %d:\n%s%s" % (
                os.path.basename(argv[0]), p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return p.stdout.decode(errors="replace")

    def _init(self):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o700)
        if self.as_user is not None:
            # the server's user passes through tmpdir (no listing) and owns tmpdir/pg
            st = os.stat(self.tmpdir)
            os.chmod(self.tmpdir, (st.st_mode & 0o7777) | 0o111)
            os.chown(self.dir, self.as_user.pw_uid, self.as_user.pw_gid)
        if os.path.exists(os.path.join(self.data, "PG_VERSION")):
            return
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres",
                   "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])

    # --- start and stop -----------------------------------------------------------------
    def start(self, timeout=START_TIMEOUT):
        """pg_ctl start, no TCP, the socket in self.dir; waits until a query runs."""
        assert self.pid is None or not _pid_alive(self.pid), "the server is already running"
        opts = ["-c", "listen_addresses=", "-c", "unix_socket_directories=" + self.dir,
                "-c", "unix_socket_permissions=0700", "-c", "port=5432"]
        for k, v in self.settings.items():
            opts += ["-c", "%s=%s" % (k, v)]
        _live.add(self)
        try:
            self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.logfile,
                       "-s", "-w", "-t", str(int(timeout)), "-o",
                       " ".join(shlex.quote(o) for o in opts), "start"], timeout=timeout + 10)
        except BaseException:
            self.pid = self._read_pid()
            self.stop(check=False)
            raise harness.HarnessError("PostgreSQL did not start:\n%s" % self.log()[-4000:])
        self.pid = self._read_pid()
        if self.pid is None:
            raise harness.HarnessError("PostgreSQL started but left no postmaster.pid")
        harness.wait_for(self._ready, timeout, what="PostgreSQL to accept connections")
        return self

    def _ready(self):
        if not _pid_alive(self.pid):
            raise harness.HarnessError("PostgreSQL exited during start-up:\n%s" % self.log()[-4000:])
        try:
            return self.psql("SELECT 1", timeout=10).strip() == "1"
        except PgError:
            return False

    def _read_pid(self):
        """The postmaster's pid from postmaster.pid, if it is the postmaster of our data
        directory (never a stranger that reused the number)."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            return None
        if os.fsencode(self.data) not in argv:
            return None
        return pid

    def running(self):
        return self.pid is not None and _pid_alive(self.pid)

    def stop(self, mode="fast", timeout=STOP_TIMEOUT, check=True):
        """Stop the server by its pid: SIGINT (fast: sessions are terminated, a clean
        shutdown), or mode "immediate" (SIGQUIT, as a crash would look to clients); after
        timeout SIGQUIT and then SIGKILL.  Waits until the postmaster is gone."""
        pid = self.pid if self.pid is not None else self._read_pid()
        if pid is None or not _pid_alive(pid):
            self.pid = None
            _live.discard(self)
            return
        sig = signal.SIGQUIT if mode == "immediate" else signal.SIGINT
        for s, wait in ((sig, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, s)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not _pid_alive(pid):
                break
            if check and s == sig:
                check = False
                print("PostgreSQL (pid %d) did not stop within %.0f s; forcing it" % (pid, wait))
        if s == signal.SIGKILL:
            # the children of a killed postmaster exit when they notice; let them go
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and self._children(pid):
                time.sleep(0.05)
        self.pid = None
        _live.discard(self)

    @staticmethod
    def _children(pid):
        out = []
        for p in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                    out.append(int(p.split("/")[2]))
            except (OSError, IndexError, ValueError):
                pass
        return out

    def restart(self, mode="fast"):
        self.stop(mode)
        return self.start()

    def close(self):
        """Stop the server if it runs (never raises)."""
        try:
            self.stop(check=False)
        except Exception:
            pass
        _live.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # --- talking to it ------------------------------------------------------------------
    def conninfo(self, db="postgres", user="postgres"):
        """A libpq connection string for db as user (over the socket, no password)."""
        return "host=%s dbname=%s user=%s" % (self.dir, db, user)

    def psql(self, sql, db="postgres", user="postgres", timeout=60, args=()):
        """Run sql (any number of statements) through psql -X -v ON_ERROR_STOP=1 -At;
        returns its stdout.  PgError with psql's stderr if it fails."""
        argv = [self.psql_bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + list(args) + \
               ["-d", self.conninfo(db, user), "-f", "-"]
        p = subprocess.run(argv, input=sql.encode("utf-8"), capture_output=True,
                           env=_clean_env(), timeout=timeout)
        if p.returncode != 0:
            raise PgError("psql (%s as %s) exited %d: %s\n-- SQL:\n%s" % (
                db, user, p.returncode, p.stderr.decode("utf-8", "replace").strip(), sql[:2000]))
        return p.stdout.decode("utf-8")

    def rows(self, sql, db="postgres", user="postgres"):
        """The rows of one query as tuples of strings (NULL as None), in psql's CSV."""
        out = self.psql(sql, db, user, args=("--csv", "-P", "null=" + NULL, "-P", "tuples_only=on"))
        return [tuple(None if v == NULL else v for v in r) for r in csv.reader(io.StringIO(out))]

    def session(self, db="postgres", user="postgres"):
        """An interactive psql session that stays open (to hold a lock): Session."""
        return Session(self, db, user)

    def checksums(self, db):
        """{schema.table: (row count, md5 of every row's text in order)} of every ordinary
        table outside the system schemas: a change anywhere shows."""
        tables = self.rows("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND "
                           "n.nspname NOT IN ('pg_catalog', 'information_schema') AND "
                           "n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2", db)
        if not tables:
            return {}
        q = " UNION ALL ".join(
            "SELECT %s, count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
            "FROM %s.%s t" % (_lit("%s.%s" % (s, t)), _ident(s), _ident(t)) for s, t in tables)
        return {name: (int(n), h) for name, n, h in self.rows(q, db)}


def _ident(name):
    return '"' + name.replace('"', '""') + '"'


def _lit(text):
    return "'" + text.replace("'", "''") + "'"


class Session:
    """psql reading statements from a pipe: send(sql) runs it and waits until psql has
    answered (a marker echoed after it), so a lock taken is held once send() returns."""

    def __init__(self, server, db, user):
        self.server = server
        self.proc = subprocess.Popen(
            [server.psql_bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-d", server.conninfo(db, user)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=_clean_env())
        self.n = 0

    def send(self, sql, timeout=30.0):
        self.n += 1
        marker = "--done-%d--" % self.n
        self.proc.stdin.write((sql.rstrip().rstrip(";") + ";\n\\echo " + marker + "\n").encode())
        self.proc.stdin.flush()
        out = []
        deadline = time.monotonic() + timeout
        os.set_blocking(self.proc.stdout.fileno(), False)
        buf = b""
        while marker.encode() not in buf:
            if self.proc.poll() is not None:
                buf += self.proc.stdout.read() or b""
                raise PgError("psql session ended: %s" % buf.decode(errors="replace"))
            if time.monotonic() > deadline:
                raise PgError("psql session: no answer to %r within %.0f s" % (sql, timeout))
            chunk = self.proc.stdout.read()
            if chunk:
                buf += chunk
            else:
                time.sleep(0.01)
        out = buf.decode(errors="replace").split(marker)[0]
        return out

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _stop_all():
    for s in list(_live):
        s.close()


atexit.register(_stop_all)


def _on_signal(sig, frame):
    _stop_all()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    try:
        if signal.getsignal(_sig) in (signal.SIG_DFL, None):
            signal.signal(_sig, _on_signal)
    except (ValueError, OSError):  # not the main thread
        pass
