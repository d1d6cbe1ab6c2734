#!/usr/bin/env python3
"""retention-postgres, the real program (ASan+UBSan build), against a real PostgreSQL
server started for these tests (pg_server.py: initdb + pg_ctl in a temporary directory,
socket only, as an unprivileged user): deletes with dependent rows and cascades,
composite keys, every anonymise method (NULL, HMAC-SHA-256 pseudonyms checked against
Python's hmac, constants, truncated IP addresses), missing rows, bad locators, SQL
injection attempts in keys and locators (a checksum of every table before and after), a
row locked by another session (lock_timeout: retry), the server stopped and restarted
while many jobs run (no job lost), the start-up checks against the catalog (unindexed
foreign keys, non-unique keys, privileges, passwords in the conninfo), and one run end to
end: retentiond, retention-postgres, records imported, due, deleted, audited.
Run: python3 tests/integration/test_backend_postgres.py (after make all asan helpers)
"""

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pg_server  # noqa: E402
from backend_harness import (BUILD, BackendTest, Workdir, main, run_program,  # noqa: E402
                             wait_for)
from dispatch_util import with_rules  # noqa: E402

RETENTION_POSTGRES = os.path.join(BUILD, "retention-postgres")
RETENTIONCTL = os.path.join(BUILD, "retentionctl")
ROLE = "retention"
HMAC_KEY = b"test-key:8c1f0e4a9b7d2c3e5f60718293a4b5c6"  # no newline: the file's bytes
REPLACED = "withdrawn'); DROP TABLE employees; --"     # a constant is a bound value too

SCHEMA = """
CREATE TABLE applications (id text PRIMARY KEY, name text, email text, phone text,
                           status text NOT NULL DEFAULT 'open', ip text, score integer);
CREATE TABLE application_notes (n serial PRIMARY KEY,
                                application_id text NOT NULL REFERENCES applications (id),
                                note text);
CREATE INDEX ON application_notes (application_id);
CREATE TABLE employees (n integer PRIMARY KEY, name text NOT NULL, salary integer);
CREATE TABLE courses (org text, n integer, who text, PRIMARY KEY (org, n));
CREATE TABLE course_notes (org text, n integer, note text,
                           FOREIGN KEY (org, n) REFERENCES courses (org, n));
CREATE INDEX ON course_notes (org, n, note);
CREATE TABLE signups (id serial PRIMARY KEY, org text, n integer, who text,
                      FOREIGN KEY (org, n) REFERENCES courses (org, n) ON DELETE CASCADE);
CREATE INDEX ON signups (org, n);
CREATE TABLE visits (id bigint PRIMARY KEY, addr inet, agent text);
CREATE SCHEMA hr;
CREATE TABLE hr.people (pid integer PRIMARY KEY, name text);
CREATE TABLE people (pid integer PRIMARY KEY, name text);
CREATE TABLE unrelated (k text, v text);
INSERT INTO applications (id, name, email, phone, status, ip, score) VALUES
    ('a1', 'Ann', 'ann@example.org', '555-1', 'open', '195.159.103.82', 5),
    ('a2', 'Bob', 'Bob@Example.org', '555-2', 'open', '2001:db8:85a3:8d3:1319:8a2e:370:7348', 6),
    ('a3', 'Cid', NULL, '555-3', 'open', NULL, 7),
    ('a4', 'Dag', 'dag@example.org', '555-4', 'hired', 'host.example.org', 8);
INSERT INTO application_notes (application_id, note) VALUES
    ('a1', 'called'), ('a1', 'interviewed'), ('a2', 'called'), ('a3', 'called');
INSERT INTO employees VALUES (1, 'Eve', 100), (2, 'Finn', 200), (3, 'Gro', 300);
INSERT INTO courses VALUES ('oslo', 1, 'Ida'), ('oslo', 2, 'Jon'), ('bergen', 1, 'Kari');
INSERT INTO course_notes VALUES ('oslo', 1, 'n1'), ('oslo', 1, 'n2'), ('bergen', 1, 'n3');
INSERT INTO signups (org, n, who) VALUES ('oslo', 1, 's1'), ('oslo', 1, 's2'),
    ('oslo', 2, 's3'), ('bergen', 1, 's4');
INSERT INTO visits VALUES (1, '195.159.103.82', 'Firefox'), (2, '2001:db8:85a3:8d3::1', 'w3m'),
    (3, NULL, 'curl');
INSERT INTO hr.people VALUES (1, 'hr-one'), (2, 'hr-two');
INSERT INTO people VALUES (1, 'public-one'), (2, 'public-two');
INSERT INTO unrelated VALUES ('x', 'y');
"""

GRANTS = """
GRANT USAGE ON SCHEMA hr TO %(role)s;
GRANT SELECT, DELETE, UPDATE ON ALL TABLES IN SCHEMA public, hr TO %(role)s;
"""

TABLES = """
table applications {
    category     job_application cv
    key          id
    anonymize    name phone
    pseudonymize email
    replace      status "%s"
    truncate-ip  ip
    also         application_notes application_id
}
table employees { category employee; key n }
table courses {
    category  course_signup
    key       org n
    also      course_notes org n
}
table visits {
    category     visitor
    key          id
    anonymize    agent
    truncate-ip  addr ipv4 2 ipv6 32
}
table people { schema hr; category hr_person; key pid }
""" % REPLACED.replace("\\", "\\\\").replace('"', '\\"')


def config(conninfo, extra="", tables=TABLES, workers=2, lock="1 second", log="debug"):
    return ("socket        pg.sock\n"
            "conninfo      \"%s\"\n"
            "lock-timeout  %s\n"
            "statement-timeout 10 seconds\n"
            "hmac-key      hmac.key\n"
            "workers       %d\n"
            "log-level     %s\n%s%s"
            % (conninfo, lock, workers, log, extra, tables))


def pseudonym(text):
    return hmac.new(HMAC_KEY, text.encode("utf-8"), hashlib.sha256).hexdigest()


class PgTest(BackendTest):
    """One PostgreSQL server for the class, a fresh database per test."""

    serial = 0

    @classmethod
    def setUpClass(cls):
        pg_server.require()
        if not os.access(RETENTION_POSTGRES, os.X_OK):
            raise AssertionError("%s is missing: run make asan" % RETENTION_POSTGRES)
        cls.pgwd = Workdir(prefix="rtnpg-")
        try:
            cls.pg = pg_server.PgServer(cls.pgwd.path)
            cls.pg.psql("CREATE ROLE %s LOGIN; CREATE ROLE nopriv LOGIN;" % ROLE)
        except BaseException:
            cls.pgwd.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.pg.close()
        finally:
            cls.pgwd.cleanup()

    def setUp(self):
        super().setUp()
        PgTest.serial += 1
        self.db = "t%d" % PgTest.serial
        if not self.pg.running():  # a test that stopped it and failed before starting it
            self.pg.start()
        self.pg.psql("CREATE DATABASE %s" % self.db)
        self.sql(SCHEMA + GRANTS % {"role": ROLE})
        self.wd.write("hmac.key", HMAC_KEY, 0o600)

    # helpers
    def sql(self, text, user="postgres"):
        return self.pg.psql(text, db=self.db, user=user)

    def rows(self, q):
        return self.pg.rows(q, db=self.db)

    def sums(self):
        return self.pg.checksums(self.db)

    def conninfo(self, user=ROLE):
        return self.pg.conninfo(self.db, user)

    def pgb(self, extra="", tables=TABLES, name="pg", **kw):
        return self.backend([RETENTION_POSTGRES], config(self.conninfo(), extra, tables, **kw),
                            name=name)

    def results_of(self, c, jobs, timeout=None):
        return c.wait_results([j for j, *_ in jobs], timeout)

    def run_jobs(self, c, jobs, timeout=None):
        """jobs: [(job, locator, category, action)]; sends all, returns {job: result}."""
        for job, loc, cat, act in jobs:
            c.job(job, loc, category=cat, action=act)
        return self.results_of(c, jobs, timeout)

    def assertChangedOnly(self, before, after, changed):
        """Every table's checksum is the same before and after, except the tables named
        in changed (which must differ)."""
        self.assertEqual(sorted(before), sorted(after), "the set of tables changed")
        for t in before:
            if t in changed:
                self.assertNotEqual(before[t], after[t], "%s did not change" % t)
            else:
                self.assertEqual(before[t], after[t], "%s changed" % t)


class BackendJobs(PgTest):
    def test_hello_delete_and_gone(self):
        b = self.pgb()
        c = self.client(b, hello=False)
        h = c.hello()
        self.assertEqual((h.get("type"), h.get("protocol"), h.get("name")),
                         ("hello", 1, "retention-postgres"), h)
        self.assertEqual(sorted(h.get("actions")), ["anonymize", "delete"], h)
        before = self.sums()
        r = self.run_jobs(c, [("D1", {"key": "a1"}, "job_application", "delete"),
                              ("D2", {"key": 2}, "employee", "delete"),
                              ("D3", {"key": "2"}, "employee", "delete"),
                              ("D4", {"key": 1}, "hr_person", "delete"),
                              ("D5", {"key": "zz"}, "cv", "delete")])
        self.assertStatus(r["D1"], "done")
        # the same row by an integer and by a string: one deletes it, the other finds it gone
        self.assertEqual(sorted([r["D2"].get("status"), r["D3"].get("status")]),
                         ["done", "gone"], (r["D2"], r["D3"]))
        self.assertStatus(r["D4"], "done")
        self.assertStatus(r["D5"], "gone")  # never there
        self.assertEqual(self.rows("SELECT id FROM applications ORDER BY id"),
                         [("a2",), ("a3",), ("a4",)])
        # `also`: the notes of a1 went first, in the same transaction; the others stay
        self.assertEqual(self.rows("SELECT application_id, note FROM application_notes ORDER BY n"),
                         [("a2", "called"), ("a3", "called")])
        self.assertEqual(self.rows("SELECT n FROM employees ORDER BY n"), [("1",), ("3",)])
        # `schema hr`: hr.people lost its row, public.people (same name) did not
        self.assertEqual(self.rows("SELECT pid FROM hr.people"), [("2",)])
        self.assertChangedOnly(before, self.sums(), {"public.applications",
                                                     "public.application_notes",
                                                     "public.employees", "hr.people"})
        # the same job ids again (the daemon lost the results): already gone
        before = self.sums()
        for job, loc, cat in (("D1", {"key": "a1"}, "job_application"),
                              ("D2", {"key": 2}, "employee"), ("D4", {"key": 1}, "hr_person")):
            c.job(job, loc, category=cat, attempt=2)
        for j in ("D1", "D2", "D4"):
            while len(c.results.get(j, [])) < 2:
                c.pump(20)
            self.assertStatus(c.results[j][1], "gone")
        self.assertEqual(before, self.sums())

    def test_anonymize_methods(self):
        b = self.pgb()
        c = self.client(b)
        before = self.sums()
        r = self.run_jobs(c, [("A1", {"key": "a1"}, "cv", "anonymize"),
                              ("A2", {"key": "a2"}, "cv", "anonymize"),
                              ("A3", {"key": "a3"}, "cv", "anonymize"),
                              ("A9", {"key": "a9"}, "cv", "anonymize"),
                              ("V1", {"key": 1}, "visitor", "anonymize"),
                              ("V2", {"key": 2}, "visitor", "anonymize"),
                              ("V3", {"key": 3}, "visitor", "anonymize")])
        for j in ("A1", "A2", "A3", "V1", "V2", "V3"):
            self.assertStatus(r[j], "done")
        self.assertStatus(r["A9"], "gone")
        got = self.rows("SELECT id, name, email, phone, status, ip, score FROM applications "
                        "ORDER BY id")
        self.assertEqual(got, [
            # NULL; HMAC-SHA-256 of the old text (lower hex); the constant; truncate-ip 3/48
            ("a1", None, pseudonym("ann@example.org"), None, REPLACED, "195.159.103.0", "5"),
            ("a2", None, pseudonym("Bob@Example.org"), None, REPLACED, "2001:db8:85a3::", "6"),
            ("a3", None, None, None, REPLACED, None, "7"),  # NULL stays NULL
            ("a4", "Dag", "dag@example.org", "555-4", "hired", "host.example.org", "8")])
        self.assertRegex(got[0][2], r"^[0-9a-f]{64}$")
        # an inet column, ipv4 2 ipv6 32; a NULL address stays NULL
        self.assertEqual(self.rows("SELECT id, host(addr), agent FROM visits ORDER BY id"),
                         [("1", "195.159.0.0", None), ("2", "2001:db8::", None),
                          ("3", None, None)])
        # anonymising changes no row count and deletes no dependent rows
        self.assertEqual(self.rows("SELECT count(*) FROM application_notes"), [("4",)])
        self.assertChangedOnly(before, self.sums(), {"public.applications", "public.visits"})
        # not an address in a truncate-ip column: the job fails for good, names the column
        # and not the value, and changes nothing of the row (not even the other columns)
        before = self.sums()
        r = self.run_jobs(c, [("A4", {"key": "a4"}, "cv", "anonymize")])
        self.assertStatus(r["A4"], "failed", retry=False)
        self.assertIn("ip", r["A4"].get("error", ""))
        self.assertNotIn("host.example.org", json.dumps(r["A4"]))
        self.assertEqual(before, self.sums())
        # the pseudonym of the same value is the same on every row: joins still work
        self.sql("INSERT INTO applications (id, email) VALUES ('a5', 'ann@example.org')")
        self.assertStatus(self.run_jobs(c, [("A5", {"key": "a5"}, "cv", "anonymize")])["A5"],
                          "done")
        self.assertEqual(self.rows("SELECT count(DISTINCT email) FROM applications "
                                   "WHERE id IN ('a1', 'a5')"), [("1",)])
        self.assertNotIn("ann@example.org", b.log())

    def test_delete_only_table_refuses_anonymize(self):
        b = self.pgb()
        c = self.client(b)
        before = self.sums()
        r = self.run_jobs(c, [("E1", {"key": 1}, "employee", "anonymize"),
                              ("E2", {"key": 1}, "nosuch_category", "delete")])
        self.assertStatus(r["E1"], "failed", retry=False)
        self.assertStatus(r["E2"], "failed", retry=False)
        self.assertEqual(before, self.sums())

    def test_delete_only_hello(self):
        b = self.pgb(tables="table employees { category employee; key n }\n")
        c = self.client(b, hello=False)
        self.assertEqual(c.hello().get("actions"), ["delete"])

    def test_composite_key_also_and_cascade(self):
        b = self.pgb()
        c = self.client(b)
        before = self.sums()
        r = self.run_jobs(c, [("C1", {"key": {"org": "oslo", "n": 1}}, "course_signup", "delete"),
                              ("C2", {"key": {"n": 1, "org": "bergen"}}, "course_signup", "delete"),
                              ("C3", {"key": {"org": "oslo", "n": 3}}, "course_signup", "delete"),
                              ("C4", {"key": {"org": "bergen", "n": 2}}, "course_signup",
                               "delete")])
        self.assertStatus(r["C1"], "done")
        self.assertStatus(r["C2"], "done")
        self.assertStatus(r["C3"], "gone")
        self.assertStatus(r["C4"], "gone")
        self.assertEqual(self.rows("SELECT org, n, who FROM courses"), [("oslo", "2", "Jon")])
        # `also course_notes org n`: deleted by the backend, first (course_notes has no
        # cascade: the row could not go before them)
        self.assertEqual(self.rows("SELECT count(*) FROM course_notes"), [("0",)])
        # ON DELETE CASCADE: signups left to the database
        self.assertEqual(self.rows("SELECT who FROM signups ORDER BY id"), [("s3",)])
        self.assertChangedOnly(before, self.sums(), {"public.courses", "public.course_notes",
                                                     "public.signups"})

    def test_bad_locators(self):
        b = self.pgb()
        c = self.client(b)
        before = self.sums()
        bad = [
            ("job_application", {"key": 1.5}), ("job_application", {"key": True}),
            ("job_application", {"key": None}), ("job_application", {"key": ["a1"]}),
            ("job_application", {"key": {"id": "a1"}}),  # one-column key: {"key": V} only
            ("job_application", {"id": "a1"}), ("job_application", {}),
            ("job_application", None),
            ("course_signup", {"key": "oslo"}), ("course_signup", {"key": 1}),
            ("course_signup", {"key": {"org": "oslo"}}),
            ("course_signup", {"key": {"org": "oslo", "n": 1, "who": "Ida"}}),
            ("course_signup", {"key": {"org": "oslo", "N": 1}}),
            ("course_signup", {"key": {"org": "oslo", "n": 1.0}}),
            ("course_signup", {"key": {"org": ["oslo"], "n": 1}}),
            ("course_signup", {"key": {"org": "oslo", "n": None}}),
            ("course_signup", {"key": [{"org": "oslo"}, {"n": 1}]}),
        ]
        jobs = [("L%d" % i, loc, cat, "delete") for i, (cat, loc) in enumerate(bad)]
        jobs += [("LA%d" % i, loc, cat, "anonymize") for i, (cat, loc) in enumerate(bad)
                 if cat == "job_application"]
        for j, r in self.run_jobs(c, jobs).items():
            self.assertStatus(r, "failed", retry=False)
            self.assertTrue(r.get("error"), r)
        self.assertEqual(before, self.sums())
        self.assertTrue(b.alive())

    def test_sql_injection_in_keys_and_locators(self):
        keys = ["1 OR 1=1", "' OR '1'='1", "a1' OR 'x'='x", "a1'); DROP TABLE applications; --",
                "'; DELETE FROM employees; --", "a1; DELETE FROM applications",
                "\"; DROP TABLE \"employees\"; --", "a1' --", "%", "_1", "a%", "*", "$1",
                "$1 OR 1=1", "(SELECT id FROM applications)", "a1\\", "a1\\'", "\\x6131",
                "E'a1'", "a1\n; DELETE FROM employees", "'", "", " a1", "a1 ",
                "Åse Ødegård", "日本語の鍵", "🙂'; --", "e\u0301", "\u202ea1", "a\u200b1",
                "\ufeffa1", "A1", "ａ１"]
        b = self.pgb()
        c = self.client(b)
        before = self.sums()
        jobs = []
        for i, k in enumerate(keys):
            jobs.append(("I%d" % i, {"key": k}, "job_application", "delete"))
            jobs.append(("IA%d" % i, {"key": k}, "cv", "anonymize"))
            jobs.append(("IC%d" % i, {"key": {"org": k, "n": 1}}, "course_signup", "delete"))
        for j, r in self.run_jobs(c, jobs).items():
            self.assertStatus(r, "gone")  # none of these rows exists: nothing matches
        # an integer key column: a string that is not an integer matches nothing either
        for j, r in self.run_jobs(c, [("IE%d" % i, {"key": k}, "employee", "delete")
                                      for i, k in enumerate(keys[:22])]).items():
            self.assertIn(r.get("status"), ("gone", "failed"), r)
            if r.get("status") == "failed":
                self.assertIs(r.get("retry"), False, r)
        # a NUL byte cannot be in a PostgreSQL text value; it must never cut the key short
        # to "a1" (a C string) and delete a1. (The protocol's JSON reader refuses the line
        # before any backend sees it: no result, or a failure, but never a deletion.)
        c.job("N1", {"key": "a1\u0000"}, category="job_application")
        c.job("N2", {"key": "a1\u0000x"}, category="cv", action="anonymize")
        c.job("N3", {"key": {"org": "oslo\u0000", "n": 1}}, category="course_signup")
        self.assertStatus(self.run_jobs(c, [("N4", {"key": "a9"}, "cv", "delete")])["N4"], "gone")
        for j in ("N1", "N2", "N3"):
            for res in c.results.get(j, []):
                self.assertStatus(res, "failed", retry=False)
        # injected column names in a composite locator, extra members that try to steer
        # the statement elsewhere, and categories that are SQL
        r = self.run_jobs(c, [
            ("IL1", {"key": {"org\"; DROP TABLE courses; --": "oslo", "n": 1}}, "course_signup",
             "delete"),
            ("IL2", {"key": {"org": "oslo", "n": 1, "1=1) OR (1": 1}}, "course_signup", "delete"),
            ("IL3", {"key": "x", "table": "employees", "schema": "hr"}, "job_application",
             "delete"),
            ("IL4", {"key": 1}, "employee; DROP TABLE employees", "delete"),
            ("IL5", {"key": 1}, "hr_person\" OR \"1\"=\"1", "delete")])
        for j in ("IL1", "IL2", "IL4", "IL5"):
            self.assertStatus(r[j], "failed", retry=False)
        self.assertIn(r["IL3"].get("status"), ("gone", "failed"), r["IL3"])
        self.assertEqual(before, self.sums())  # nothing changed anywhere
        # rows whose keys are exactly those strings: each job deletes its row and only it
        ids = [k for k in keys if k not in ("a1", "a2", "a3", "a4")]
        self.sql("".join("INSERT INTO applications (id, name) VALUES ('%s', 'x');\n"
                         % k.replace("'", "''") for k in ids + ["\u00e9"]))
        self.sql("INSERT INTO application_notes (application_id, note) VALUES ('%s', 'n')"
                 % keys[3].replace("'", "''"))
        before = self.sums()
        before_other = self.rows("SELECT * FROM applications WHERE name IS DISTINCT FROM 'x' "
                                 "ORDER BY id")
        r = self.run_jobs(c, [("X%d" % i, {"key": k}, "job_application", "delete")
                              for i, k in enumerate(ids)])
        for i, k in enumerate(ids):
            self.assertStatus(r["X%d" % i], "done")
        # only the named rows went: "é" (NFC) stays although "é" (NFD) was deleted
        self.assertEqual(self.rows("SELECT id FROM applications WHERE name = 'x'"), [("\u00e9",)])
        self.assertEqual(self.rows("SELECT * FROM applications WHERE name IS DISTINCT FROM 'x' "
                                   "ORDER BY id"), before_other)
        self.assertEqual(self.rows("SELECT count(*) FROM application_notes"), [("4",)])
        self.assertChangedOnly(before, self.sums(), {"public.applications",
                                                     "public.application_notes"})

    def test_key_no_longer_unique(self):
        """The catalog changed after the start-up check: the key matches two rows. The job
        fails for good and nothing is touched, not even the `also` rows it deletes first."""
        b = self.pgb()
        c = self.client(b)
        self.assertStatus(self.run_jobs(c, [("U0", {"key": 3}, "employee", "delete")])["U0"],
                          "done")  # the backend's statements are ready, on its connections
        self.sql("ALTER TABLE application_notes DROP CONSTRAINT application_notes_application_id_fkey;"
                 "ALTER TABLE applications DROP CONSTRAINT applications_pkey;"
                 "INSERT INTO applications (id, name, email) VALUES ('a1', 'Ann II', 'x@y');"
                 "ALTER TABLE employees DROP CONSTRAINT employees_pkey;"
                 "INSERT INTO employees VALUES (1, 'Eve II', 1)")
        before = self.sums()
        r = self.run_jobs(c, [("U1", {"key": "a1"}, "job_application", "delete"),
                              ("U2", {"key": "a1"}, "cv", "anonymize"),
                              ("U3", {"key": 1}, "employee", "delete"),
                              ("U4", {"key": "a2"}, "job_application", "delete")])
        for j in ("U1", "U2", "U3"):
            self.assertStatus(r[j], "failed", retry=False)
        self.assertStatus(r["U4"], "done")  # the others of its batch are not affected
        after = self.sums()
        self.assertEqual(self.rows("SELECT application_id FROM application_notes ORDER BY n"),
                         [("a1",), ("a1",), ("a3",)])
        self.assertEqual(self.rows("SELECT id, name, email FROM applications "
                                   "WHERE id = 'a1' ORDER BY name"),
                         [("a1", "Ann", "ann@example.org"), ("a1", "Ann II", "x@y")])
        self.assertChangedOnly(before, after, {"public.applications", "public.application_notes"})

    def test_result_only_after_commit(self):
        """A deferred constraint trigger refuses one deletion at COMMIT: no job of that
        transaction may be reported done (its row is still there), the refused one fails
        with retry, and the others succeed when sent again."""
        self.sql("INSERT INTO employees SELECT g, 'e' || g, g FROM generate_series(10, 49) g;"
                 "CREATE FUNCTION refuse_13() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "IF OLD.n = 13 THEN RAISE EXCEPTION 'employee 13 is protected'; END IF; "
                 "RETURN OLD; END $$;"
                 "CREATE CONSTRAINT TRIGGER protect AFTER DELETE ON employees "
                 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_13()")
        b = self.pgb(workers=1)
        c = self.client(b)
        keys = list(range(10, 50))
        r = self.run_jobs(c, [("T%d" % i, {"key": i}, "employee", "delete") for i in keys])
        left = {int(n) for (n,) in self.rows("SELECT n FROM employees")}
        self.assertIn(13, left)
        self.assertStatus(r["T13"], "failed", retry=True)
        for i in keys:
            if r["T%d" % i].get("status") == "done":
                self.assertNotIn(i, left, "job T%d reported done, row still there" % i)
            else:
                self.assertStatus(r["T%d" % i], "failed", retry=True)
                self.assertIn(i, left, "job T%d failed, row gone" % i)
        again = [i for i in keys if i != 13 and r["T%d" % i].get("status") != "done"]
        for i in again:
            c.job("T%d" % i, {"key": i}, category="employee", attempt=2)
        for i in again:
            while len(c.results["T%d" % i]) < 2:
                c.pump(20)
            self.assertStatus(c.results["T%d" % i][1], "done")
        self.assertEqual(self.rows("SELECT n FROM employees ORDER BY n"),
                         [("1",), ("2",), ("3",), ("13",)])

    def test_locked_row_retries(self):
        b = self.pgb(lock="1 second")
        c = self.client(b)
        with self.pg.session(self.db) as s:
            s.send("BEGIN; SELECT * FROM applications WHERE id = 'a1' FOR UPDATE")
            t0 = time.monotonic()
            r = self.run_jobs(c, [("K1", {"key": "a1"}, "job_application", "delete"),
                                  ("K2", {"key": "a3"}, "job_application", "delete"),
                                  ("K3", {"key": "a1"}, "cv", "anonymize")], timeout=30)
            waited = time.monotonic() - t0
            self.assertStatus(r["K1"], "failed", retry=True)
            self.assertStatus(r["K3"], "failed", retry=True)
            self.assertRegex(r["K1"].get("error", ""), r"(?i)lock")
            self.assertStatus(r["K2"], "done")  # one locked row fails only its own job
            self.assertLess(waited, 15, "lock-timeout 1 second took %.1f s" % waited)
            self.assertEqual(self.rows("SELECT name, email FROM applications WHERE id = 'a1'"),
                             [("Ann", "ann@example.org")])
            self.assertEqual(self.rows("SELECT count(*) FROM application_notes "
                                       "WHERE application_id = 'a1'"), [("2",)])
            s.send("ROLLBACK")
        c.job("K1", {"key": "a1"}, category="job_application", attempt=2)
        while len(c.results["K1"]) < 2:
            c.pump(20)
        self.assertStatus(c.results["K1"][1], "done")
        self.assertEqual(self.rows("SELECT id FROM applications ORDER BY id"), [("a2",), ("a4",)])

    def test_server_restart_during_many_jobs(self):
        """A clean stop (sessions terminated) and a crash (SIGQUIT) of the server while
        jobs are in flight and while more arrive: every job gets a result for every time
        it was sent, a failure is always retry: true, and after the daemon's retries
        every job ends done or gone, every row deleted; none is gone at its first try."""
        n = 2400
        self.sql("INSERT INTO employees SELECT g, 'e' || g, g FROM generate_series(1000, %d) g"
                 % (999 + n))
        b = self.pgb(workers=2)
        c = self.client(b)
        sent = {}    # job -> times sent
        first = {}   # job -> its first result
        final = {}   # job -> its done/gone result
        seen = {}    # job -> results looked at
        pending = []  # keys of jobs that failed (retry: true) and are to be sent again

        def send(i):
            j = "R%d" % i
            sent[j] = sent.get(j, 0) + 1
            c.job(j, {"key": i}, category="employee", attempt=sent[j])

        def collect():
            try:
                while c.pump(0.05):
                    pass
            except AssertionError:  # nothing more for now
                pass
            self.assertFalse(c.eof, "the backend closed the connection")
            for j, rs in c.results.items():
                for res in rs[seen.get(j, 0):]:
                    first.setdefault(j, res)
                    if res.get("status") in ("done", "gone"):
                        final[j] = res
                    else:
                        self.assertStatus(res, "failed", retry=True)
                        pending.append(int(j[1:]))
                seen[j] = len(rs)

        def until(pred, timeout, what):
            deadline = time.monotonic() + timeout
            collect()
            while not pred():
                if time.monotonic() > deadline:
                    raise AssertionError("timed out after %.0f s waiting for %s: %d of %d "
                                         "jobs ended, %d to retry" % (timeout, what, len(final),
                                                                      n, len(pending)))
                collect()

        def retry_all():
            again = sorted(set(pending))
            pending.clear()
            for i in again:
                send(i)

        ids = list(range(1000, 1000 + n))
        parts = [ids[k * n // 4:(k + 1) * n // 4] for k in range(4)]
        for phase, mode in enumerate(("fast", "immediate")):
            before, during = parts[2 * phase], parts[2 * phase + 1]
            got = len(final)
            for i in before:
                send(i)
            until(lambda: len(final) >= got + 50, 60, "results before the stop")
            self.pg.stop(mode=mode)
            for i in during:  # sent while the server is down
                send(i)
            until(lambda: pending, 30, "jobs to fail while the server is down")
            for _ in range(2):  # the daemon tries again while it is still down
                retry_all()
                until(lambda: pending, 30, "the retried jobs to fail again")
            self.pg.start()
            while len(final) < got + len(before) + len(during) or pending:
                if pending:
                    time.sleep(0.1)  # the daemon's retry backoff, shortened
                retry_all()
                until(lambda: pending or len(final) >= got + len(before) + len(during), 60,
                      "every job to end after the restart")
        self.assertEqual(len(final), n)
        for j in sent:  # no job lost: every send got exactly one result
            self.assertEqual(len(c.results[j]), sent[j], j)
        for j, res in first.items():  # every row existed: never gone at the first go
            self.assertNotEqual(res.get("status"), "gone", (j, res))
        self.assertGreater(sum(sent.values()), n)  # some did fail and were retried
        self.assertEqual(self.rows("SELECT count(*) FROM employees"), [("3",)])
        self.assertTrue(b.alive())
        # a backend started while the server is down comes up, fails jobs with retry,
        # and does them once the server is back
        self.pg.stop()
        b.stop()
        b.start()
        c = self.client(b)
        c.job("Z1", {"key": 1}, category="employee")
        self.assertStatus(c.result("Z1", timeout=30), "failed", retry=True)
        self.pg.start()

        def done_now():
            c.job("Z1", {"key": 1}, category="employee", attempt=len(c.results["Z1"]) + 1)
            k = len(c.results["Z1"])
            while len(c.results["Z1"]) == k:
                c.pump(30)
            return c.results["Z1"][-1].get("status") == "done"
        wait_for(done_now, 30, "a job to succeed once the server is back")
        self.assertEqual(self.rows("SELECT n FROM employees ORDER BY n"), [("2",), ("3",)])


class StartupChecks(PgTest):
    def check(self, text, lines, want, user=ROLE, conninfo=None, both=True):
        """The config (tables text) must be refused with exit 78 and a message
        FILE:LINE:COL: ... matching want, at one of lines (of the whole file)."""
        conf = config(conninfo or self.conninfo(user), tables=text)
        p = self.wd.write("bad.conf", conf)
        before = self.sums()
        for argv in ([RETENTION_POSTGRES, "--check-config", "--config", p],
                     [RETENTION_POSTGRES, "--config", p])[: 2 if both else 1]:
            rc, out, err = run_program(argv)
            self.assertEqual(rc, 78, (argv, conf, err))
            found = re.findall(re.escape(p) + r":(\d+):(\d+): (.*)", err)
            self.assertTrue(found, (conf, err))
            self.assertTrue(any(int(ln) in lines and re.search(want, msg)
                                for ln, col, msg in found),
                            "want %r at line %s:\n%s\n%s" % (want, lines, err, conf))
        self.assertEqual(before, self.sums())
        return err

    HEAD = 7  # lines of config() before the tables

    def test_good_config_checks(self):
        rc, out, err = run_program([RETENTION_POSTGRES, "--check-config", "--config",
                                    self.wd.write("good.conf", config(self.conninfo()))])
        self.assertEqual(rc, 0, err)

    def test_unindexed_foreign_key(self):
        h = self.HEAD
        self.sql("CREATE TABLE reviews (id int PRIMARY KEY, emp integer, "
                 "CONSTRAINT reviews_emp_fk FOREIGN KEY (emp) REFERENCES employees (n) "
                 "ON DELETE CASCADE)")
        tables = "table employees {\n category employee\n key n\n}\n"
        err = self.check(tables, [h + 1, h + 3], r"reviews_emp_fk")
        self.assertRegex(err, r"reviews")
        self.assertRegex(err, r"(?i)index")
        # an index that does not start with the column does not help; one that does, does
        self.sql("CREATE INDEX reviews_other ON reviews (id, emp)")
        self.check(tables, [h + 1, h + 3], r"reviews_emp_fk")
        self.sql("CREATE INDEX reviews_emp ON reviews (emp, id)")
        p = self.wd.write("ok.conf", config(self.conninfo(), tables=tables))
        rc, out, err = run_program([RETENTION_POSTGRES, "--check-config", "--config", p])
        self.assertEqual(rc, 0, err)
        # a composite foreign key from an unindexed column pair (no cascade: still a scan
        # per deleted row to find the rows that forbid it)
        self.sql("CREATE TABLE attendance (org text, n integer, "
                 "CONSTRAINT attendance_course_fk FOREIGN KEY (org, n) REFERENCES courses)")
        self.check("table courses {\n category c\n key org n\n also course_notes org n\n}\n",
                   [h + 1, h + 3], r"attendance_course_fk")

    def test_key_not_unique(self):
        h = self.HEAD
        self.sql("CREATE TABLE loose (k text, v text); CREATE INDEX ON loose (k);"
                 "CREATE TABLE part (k text, v text);"
                 "CREATE UNIQUE INDEX ON part (k) WHERE v IS NOT NULL;"
                 "CREATE TABLE wide (a text, b text, c text, UNIQUE (a, b, c));"
                 "CREATE TABLE expr (k text); CREATE UNIQUE INDEX ON expr (lower(k));"
                 "GRANT SELECT, DELETE ON loose, part, wide, expr TO retention")
        for t, key in (("loose", "k"), ("part", "k"), ("wide", "a b"), ("expr", "k"),
                       ("courses", "org")):
            self.check("table %s {\n category x\n key %s\n}\n" % (t, key), [h + 1, h + 3],
                       r"(?i)unique|primary key")

    def test_catalog_names(self):
        h = self.HEAD
        cases = [
            ("table nosuch {\n category x\n key id\n}\n", [h + 1], r"nosuch"),
            ("table people {\n schema nosuch\n category x\n key pid\n}\n", [h + 1, h + 2],
             r"nosuch"),
            ("table applications {\n category x\n key idd\n}\n", [h + 3], r"idd"),
            ("table applications {\n category x\n key id\n anonymize name emial\n}\n",
             [h + 4], r"emial"),
            ("table applications {\n category x\n key id\n pseudonymize mail\n}\n",
             [h + 4], r"mail"),
            ("table applications {\n category x\n key id\n also application_notes appid\n}\n",
             [h + 4], r"appid"),
            ("table applications {\n category x\n key id\n also nosuch_notes id\n}\n",
             [h + 4], r"nosuch_notes"),
            ("table employees {\n category x\n key n\n anonymize name\n}\n", [h + 4],
             r"(?i)not null"),
            ('table "applications\\"; DROP TABLE employees; --" {\n category x\n key id\n}\n',
             [h + 1], r"."),
        ]
        for text, lines, want in cases:
            self.check(text, lines, want)
        self.assertEqual(self.rows("SELECT count(*) FROM employees"), [("3",)])

    def test_privileges(self):
        h = self.HEAD
        self.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO nopriv")
        err = self.check("table employees {\n category employee\n key n\n}\n", [h + 1, h + 3],
                         r"(?i)delete", user="nopriv")
        self.assertRegex(err, r"employees")
        self.sql("GRANT DELETE ON employees, applications TO nopriv")
        err = self.check("table applications {\n category x\n key id\n anonymize name\n}\n",
                         [h + 1, h + 4], r"(?i)update", user="nopriv")
        self.assertRegex(err, r"applications")
        # the `also` table needs DELETE too
        self.sql("GRANT UPDATE ON applications TO nopriv")
        self.check("table applications {\n category x\n key id\n anonymize name\n"
                   " also application_notes application_id\n}\n", [h + 1, h + 5],
                   r"(?i)delete.*application_notes|application_notes.*delete", user="nopriv")

    def test_password_in_conninfo(self):
        secret = "s3cr3t-Pa55"
        for ci in ("host=%s dbname=%s user=%s password=%s" % (self.pg.dir, self.db, ROLE, secret),
                   "postgresql://%s:%s@/%s?host=%s" % (ROLE, secret, self.db, self.pg.dir),
                   "host=%s dbname=%s user=%s password = '%s'" % (self.pg.dir, self.db, ROLE,
                                                                   secret)):
            err = self.check(TABLES, [2], r"(?i)password", conninfo=ci)
            self.assertNotIn(secret, err)

    def test_unreachable_server(self):
        ci = "host=%s dbname=%s user=%s" % (self.wd("nosuchdir"), self.db, ROLE)
        p = self.wd.write("down.conf", config(ci))
        rc, out, err = run_program([RETENTION_POSTGRES, "--check-config", "--config", p])
        self.assertEqual(rc, 78, err)
        self.assertIn(p + ":", err)


class EndToEnd(PgTest):
    """retentiond -> retention-postgres -> PostgreSQL, records imported with retentionctl."""

    def test_daemon_deletes_rows(self):
        n = 40
        self.sql("INSERT INTO employees SELECT g, 'e' || g, g FROM generate_series(100, %d) g"
                 % (99 + n))
        b = self.pgb(tables="table employees { category pg.employee; key n }\n", log="info")
        rules = with_rules('rule pg-del { category pg.employee; delete immediately after due; '
                           'basis "test" }\n')
        d = harness.Daemon(tmpdir=self.wd.path, rules=rules, start=False)
        try:
            d.write_config("backend pg {\n socket %s\n max-inflight 16\n timeout 30 seconds\n"
                           " retry 1 second .. 2 seconds\n}\n" % b.socket)
            d.start()
            due = int(time.time()) - 60
            recs = [{"id": "emp/%d" % i, "category": "pg.employee", "backend": "pg",
                     "subject": "person:%d" % i, "locator": {"key": i}, "events": {"due": due}}
                    for i in range(100, 100 + n)]
            recs.append({"id": "emp/missing", "category": "pg.employee", "backend": "pg",
                         "locator": {"key": 99999}, "events": {"due": due}})
            path = self.wd.write("import.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
            p = subprocess.run([RETENTIONCTL, "-s", d.socket_path, "import", path],
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            ids = [r["id"] for r in recs]
            wait_for(lambda: all(d.state(i) == "deleted" for i in ids), 60,
                     "every record to be deleted")
            self.assertEqual(self.rows("SELECT n FROM employees ORDER BY n"),
                             [("1",), ("2",), ("3",)])
            st = [x for x in d.ok("status")["backends"] if x["name"] == "pg"][0]
            self.assertEqual(st.get("peer"), "retention-postgres", st)
            d.stop()
            done = {}
            with open(d.audit_log) as f:
                for line in f:
                    e = json.loads(line)
                    if e.get("type") == "job.done":
                        done[e["record"]] = e["detail"].get("outcome")
            self.assertEqual(done, dict({i: "deleted" for i in ids[:-1]},
                                        **{"emp/missing": "not_found"}))
            d.check_invariants()
        finally:
            d.kill()


if __name__ == "__main__":
    main()
