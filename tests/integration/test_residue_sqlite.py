#!/usr/bin/env python3
"""What retention-sqlite leaves behind: 1 000 rows of distinctive values (keys, names,
e-mail addresses, phone numbers, long notes on overflow pages, an index on the e-mail
column), 600 deleted and 250 anonymised through the backend over its socket, 150 left
alone; the backend stopped; then none of the deleted or anonymised values may be found
anywhere in the database file, its -wal or its -journal. The backend runs under the test
hook build/tests/libsqlite_insecure.so, which starts every connection with secure_delete
off, so the test cannot pass by Debian's compile-time default: only the backend's own
setting can make it pass. In WAL mode the application keeps a connection open, so that
the backend's connection is never the last one (whose close would checkpoint anyway):
the backend's own checkpoints must copy the WAL into the file and empty it. The rows
left alone are found, and the anonymised rows' keys too: the search itself works.
"""

import os
import re
import sqlite3
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import REPO, RETENTION_SQLITE, BackendTest, main, run_program, wait_for  # noqa: E402

SHIM = os.path.join(REPO, "build", "tests", "libsqlite_insecure.so")
# rows 850..999 are left alone; 850 is no multiple of the 100 rows after which the
# backend checkpoints in a stream of jobs, so the last 50 wait for the quiet second
ROWS, DELETED, ANONYMISED = 1000, 600, 250
# Every value carries one of these words and the row's number: r"(key|name|mail|...)\d{4}"
TOKEN = re.compile(rb"(key|name|mail|phone|note)(\d{4})")

CONFIG = """
socket     sq.sock
database   people.db
log-level  debug
table people {
    category   person
    key        id
    anonymize  name email phone notes
}
"""


def row(i):
    notes = ("note%04d " % i) * (700 if i % 10 == 0 else 20)  # 1 in 10 overflows a page
    return ("key%04d-x" % i, "Rsd name%04d Qv" % i, "mail%04d@residue.example" % i,
            "+47 phone%04d" % i, notes)


def shim_env(locked=False):
    env = {"LD_PRELOAD": SHIM,
           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"}
    if locked:
        env["SQLITE_INSECURE_LOCKED"] = "1"
    return env


class ResidueTest(BackendTest):
    def setUp(self):
        super().setUp()
        if not os.path.exists(SHIM):
            self.fail("%s is missing: make helpers" % SHIM)
        self.db = self.wd("people.db")
        self.app = None

    def tearDown(self):
        if self.app:
            self.app.kill()
            self.app.wait()
        super().tearDown()

    def make_db(self, wal):
        """The application's database, made and filled by the application (another process,
        this file with --app: a process that reads the files must hold no SQLite lock on
        them, as closing any descriptor of a file drops the process's POSIX locks on it).
        In WAL mode the application keeps its connection open until tearDown."""
        self.app = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--app", self.db,
                                     "wal" if wal else "delete"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.assertEqual(self.app.stdout.readline(), "ready\n")
        if not wal:
            self.stop_app()

    def stop_app(self):
        if self.app:
            self.app.stdin.close()
            self.assertEqual(self.app.wait(30), 0)
            self.app = None

    def files(self):
        return [p for p in (self.db, self.db + "-wal", self.db + "-journal")
                if os.path.exists(p)]

    def found(self):
        """{(kind, row)} of every token in the database's files."""
        seen = set()
        for p in self.files():
            with open(p, "rb") as f:
                data = f.read()
            seen |= {(m.group(1).decode(), int(m.group(2))) for m in TOKEN.finditer(data)}
        return seen

    def run_jobs(self, wal):
        self.make_db(wal)
        before = self.found()
        self.assertEqual(len({r for _, r in before}), ROWS, "every row is in the files at first")
        b = self.backend([RETENTION_SQLITE], CONFIG, name="sq", env=shim_env())
        c = self.client(b)
        ids = []
        for i in range(DELETED + ANONYMISED):
            j = "J%04d" % i
            c.job(j, {"key": row(i)[0]}, category="person",
                  action="delete" if i < DELETED else "anonymize")
            ids.append(j)
        for j, r in c.wait_results(ids, timeout=120).items():
            self.assertStatus(r, "done")
        if wal:
            # a quiet second after the batch: the backend checkpoints, the WAL is emptied
            wait_for(lambda: os.path.getsize(self.db + "-wal") == 0, 10,
                     "the WAL emptied after the batch")
        b.stop()
        return b

    def check_gone(self):
        seen = self.found()
        left = sorted((k, r) for k, r in seen
                      if r < DELETED or (r < DELETED + ANONYMISED and k != "key"))
        self.assertEqual(left, [], "values of deleted or anonymised rows in %s"
                         % ", ".join(os.path.basename(p) for p in self.files()))
        # the search sees what is there: untouched rows whole, anonymised rows' keys
        for i in range(DELETED + ANONYMISED, ROWS):
            for k in ("key", "name", "mail", "phone", "note"):
                self.assertIn((k, i), seen)
        for i in range(DELETED, DELETED + ANONYMISED):
            self.assertIn(("key", i), seen)
        # and the database says the same
        self.stop_app()
        con = sqlite3.connect(self.db)
        try:
            self.assertEqual(con.execute("SELECT count(*) FROM people").fetchone(),
                             (ROWS - DELETED,))
            self.assertEqual(con.execute("SELECT count(*) FROM people WHERE name IS NULL AND "
                                         "email IS NULL AND phone IS NULL AND notes IS NULL")
                             .fetchone(), (ANONYMISED,))
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone(), ("ok",))
        finally:
            con.close()

    def test_hook_turns_secure_delete_off(self):
        """The hook does what the residue tests rely on: a connection of a process under it
        starts with secure_delete off, and under SQLITE_INSECURE_LOCKED it cannot be set."""
        probe = ("import sqlite3\nc = sqlite3.connect(':memory:')\n"
                 "try:\n    c.execute('PRAGMA secure_delete = ON')\nexcept sqlite3.Error as e:\n"
                 "    print(e)\nprint(c.execute('PRAGMA secure_delete').fetchone()[0])\n")
        first = "import sqlite3; print(sqlite3.connect(':memory:').execute('PRAGMA secure_delete').fetchone()[0])"
        for locked, code, want in ((False, first, "0\n"), (False, probe, "1\n"),
                                   (True, probe, "not authorized\n0\n")):
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=dict(os.environ, **shim_env(locked)), timeout=30)
            self.assertEqual((p.returncode, p.stdout), (0, want), p.stderr)

    def test_refuses_a_library_that_cannot(self):
        """A library that will not turn secure_delete on: the backend does not serve."""
        self.make_db(wal=False)
        p = self.wd.write("sq.conf", CONFIG)
        argv = [RETENTION_SQLITE, "--config", p]
        env = dict(os.environ, **shim_env(locked=True))
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30,
                              cwd=self.wd.path)
        self.assertEqual(proc.returncode, 70, proc.stderr)
        self.assertIn("does not keep secure_delete on (it reads 0)", proc.stderr)
        self.assertFalse(os.path.exists(self.wd("sq.sock")))
        # without the lock it serves (the check is of the library, not of the config)
        rc, out, err = run_program([RETENTION_SQLITE, "--check-config", "--config", p])
        self.assertEqual(rc, 0, err)

    def test_rollback_journal(self):
        self.run_jobs(wal=False)
        self.assertFalse(os.path.exists(self.db + "-wal"))
        self.check_gone()

    def test_wal(self):
        b = self.run_jobs(wal=True)
        self.assertIn("the WAL is empty", b.log())
        self.check_gone()


def app_main(db, mode):
    """The application: fills the database, says "ready", keeps its connection open (in
    WAL mode, holding the WAL) until its stdin closes."""
    con = sqlite3.connect(db, isolation_level=None)
    if mode == "wal":
        assert con.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    con.execute("CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT, email TEXT, "
                "phone TEXT, notes TEXT)")
    con.execute("CREATE INDEX people_email ON people(email)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", [row(i) for i in range(ROWS)])
    con.execute("COMMIT")
    con.execute("SELECT count(*) FROM people").fetchone()
    print("ready", flush=True)
    sys.stdin.read()
    con.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--app"]:
        app_main(sys.argv[2], sys.argv[3])
    else:
        main()
