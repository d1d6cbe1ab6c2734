#!/usr/bin/env python3
"""retention-sqlite, the real program (ASan+UBSan build): deletes and anonymisations,
IP addresses truncated, SQL injection attempts in keys and in the config, a busy database, one job asked for
twice at once, a backend killed mid-job and restarted, config errors; scans of the mapped tables (protocol
2): records, pages in key order, rows skipped, a scanned record's locator deleting its row, awkward names,
a table gone."""

import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import RETENTION_SQLITE, BackendTest, main, run_program  # noqa: E402

SCHEMA = """
CREATE TABLE applications (id TEXT PRIMARY KEY, name TEXT, email TEXT, phone TEXT,
                           score INTEGER);
CREATE TABLE employees (n INTEGER PRIMARY KEY, name TEXT NOT NULL, salary INTEGER);
CREATE TABLE audit_copy (id TEXT, note TEXT);
INSERT INTO applications VALUES ('a1', 'Ann', 'ann@example.org', '555-1', 5),
                                ('a2', 'Bob', 'bob@example.org', '555-2', 6),
                                ('a3', 'Cid', 'cid@example.org', '555-3', 7);
INSERT INTO employees VALUES (1, 'Eve', 100), (2, 'Finn', 200), (3, 'Gro', 300);
"""

CONFIG = """
socket     sq.sock
database   hr.db
busy-timeout %s
log-level  debug
workers    %d
table applications {
    category   job_application cv
    key        id
    anonymize  name email phone
}
table employees { category employee; key n }
"""

INJECTIONS = ["1 OR 1=1", "' OR '1'='1", "a1' OR 'x'='x", "x'; DROP TABLE applications; --",
              "\"; DELETE FROM applications; --", "a1; DELETE FROM applications", "%", "*",
              "a1' --", "a1\" OR \"1\"=\"1", "(SELECT id FROM applications)", "?1", ":id",
              "a1\n; DELETE FROM employees", "'", ""]


class SqliteTest(BackendTest):
    def setUp(self):
        super().setUp()
        self.db = self.wd("hr.db")
        con = sqlite3.connect(self.db)
        con.executescript(SCHEMA)
        con.close()

    def sq(self, busy="5 seconds", workers=1, extra="", name="sq"):
        return self.backend([RETENTION_SQLITE], CONFIG % (busy, workers) + extra, name=name)

    def rows(self, sql):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def test_delete_and_anonymize(self):
        b = self.sq()
        c = self.client(b, hello=False)
        self.assertEqual(c.hello(), {"type": "hello", "protocol": 1, "name": "retention-sqlite",
                                     "actions": ["delete", "anonymize"]})
        c.job("J1", {"key": "a1"}, category="job_application")
        c.job("J2", {"key": 2}, category="employee")
        c.job("J3", {"key": "a2"}, category="cv", action="anonymize")
        r = c.wait_results(["J1", "J2", "J3"])
        for j in ("J1", "J2", "J3"):
            self.assertStatus(r[j], "done")
        self.assertEqual(self.rows("SELECT * FROM applications ORDER BY id"),
                         [("a2", None, None, None, 6), ("a3", "Cid", "cid@example.org", "555-3", 7)])
        self.assertEqual(self.rows("SELECT n FROM employees ORDER BY n"), [(1,), (3,)])
        # again: a missing row is gone; an anonymised row anonymised again is still done
        c.job("J1", {"key": "a1"}, category="job_application", attempt=2)
        c.job("J2", {"key": 2}, category="employee", attempt=2)
        c.job("J3", {"key": "a2"}, category="cv", action="anonymize", attempt=2)
        for j in ("J1", "J2", "J3"):
            while len(c.results[j]) < 2:
                c.pump(20)
        self.assertStatus(c.results["J1"][1], "gone")
        self.assertStatus(c.results["J2"][1], "gone")
        self.assertStatus(c.results["J3"][1], "done")

    def test_truncate_ip(self):
        con = sqlite3.connect(self.db)
        con.executescript("""
CREATE TABLE visits (id INTEGER PRIMARY KEY, ip TEXT NOT NULL, agent TEXT, page TEXT);
INSERT INTO visits VALUES (1, '195.159.103.82', 'Firefox', '/a'),
                          (2, '2001:db8:85a3:8d3:1319:8a2e:370:7348', 'w3m', '/b'),
                          (3, 'host.example.org', 'curl', '/c');
""")
        con.close()
        b = self.sq(extra="table visits {\n    category visitor_ip\n    key id\n"
                          "    anonymize agent\n    truncate-ip ip\n}\n")
        c = self.client(b)
        c.job("T1", {"key": 1}, category="visitor_ip", action="anonymize")
        c.job("T2", {"key": "2"}, category="visitor_ip", action="anonymize")
        c.job("T3", {"key": 3}, category="visitor_ip", action="anonymize")
        r = c.wait_results(["T1", "T2", "T3"])
        self.assertStatus(r["T1"], "done")
        self.assertStatus(r["T2"], "done")
        # not an address: a permanent failure that names the column, not the value, and
        # changes nothing of the row
        self.assertStatus(r["T3"], "failed", retry=False)
        self.assertIn("column ip", str(r["T3"]))
        self.assertNotIn("example.org", str(r["T3"]))
        self.assertEqual(self.rows("SELECT * FROM visits ORDER BY id"),
                         [(1, "195.159.103.0", None, "/a"), (2, "2001:db8:85a3::", None, "/b"),
                          (3, "host.example.org", "curl", "/c")])

    def test_refusals(self):
        b = self.sq()
        c = self.client(b)
        c.job("R1", {"key": "a1"}, category="unmapped")
        c.job("R2", {"key": 1}, category="employee", action="anonymize")
        for i, key in enumerate([1.5, True, None, {"k": 1}, ["a1"]]):
            c.job("K%d" % i, {"key": key}, category="job_application")
        c.job("K9", {"id": "a1"}, category="job_application")
        c.job("K10", None, category="job_application")
        ids = ["R1", "R2", "K9", "K10"] + ["K%d" % i for i in range(5)]
        for j, r in c.wait_results(ids).items():
            self.assertStatus(r, "failed", retry=False)
        self.assertEqual(len(self.rows("SELECT * FROM applications")), 3)
        self.assertEqual(len(self.rows("SELECT * FROM employees WHERE name IS NOT NULL")), 3)

    def test_integer_key_matches_exactly(self):
        # employees.n is INTEGER: SQLite would read "01", " 2", "3.0" and "2 " as 1, 2, 3, 2
        b = self.sq()
        c = self.client(b)
        near = ["01", " 2", "3.0", "2 ", "+1", "1e0", "0x1", "-0", "3.", "1\n"]
        for i, key in enumerate(near):
            c.job("N%d" % i, {"key": key}, category="employee")
        for j, r in c.wait_results(["N%d" % i for i in range(len(near))]).items():
            self.assertStatus(r, "gone")
        self.assertEqual(self.rows("SELECT n FROM employees ORDER BY n"), [(1,), (2,), (3,)])
        c.job("E1", {"key": "1"}, category="employee")
        c.job("E2", {"key": 2}, category="employee")
        for j, r in c.wait_results(["E1", "E2"]).items():
            self.assertStatus(r, "done")
        self.assertEqual(self.rows("SELECT n FROM employees"), [(3,)])

    def test_sql_injection_in_keys(self):
        b = self.sq()
        c = self.client(b)
        for i, key in enumerate(INJECTIONS):
            c.job("I%d" % i, {"key": key}, category="job_application")
            c.job("IA%d" % i, {"key": key}, category="cv", action="anonymize")
            c.job("IE%d" % i, {"key": key}, category="employee")
        ids = ["%s%d" % (p, i) for p in ("I", "IA", "IE") for i in range(len(INJECTIONS))]
        for j, r in c.wait_results(ids).items():
            self.assertStatus(r, "gone")
        self.assertEqual(len(self.rows("SELECT * FROM applications WHERE name IS NOT NULL")), 3)
        self.assertEqual(len(self.rows("SELECT * FROM employees")), 3)
        # a row whose key is such a string is matched exactly, and only it
        con = sqlite3.connect(self.db)
        con.executemany("INSERT INTO applications (id, name) VALUES (?, 'x')",
                        [(k,) for k in INJECTIONS])
        con.commit()
        con.close()
        for i, key in enumerate(INJECTIONS):
            c.job("X%d" % i, {"key": key}, category="job_application")
        for j, r in c.wait_results(["X%d" % i for i in range(len(INJECTIONS))]).items():
            self.assertStatus(r, "done")
        self.assertEqual(self.rows("SELECT id FROM applications ORDER BY id"),
                         [("a1",), ("a2",), ("a3",)])

    def test_busy_database(self):
        b = self.sq(busy="1 second")
        c = self.client(b)
        lock = sqlite3.connect(self.db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # a writer holds the database
        lock.execute("UPDATE employees SET salary = salary + 1")
        try:
            c.job("B1", {"key": "a1"}, category="job_application")
            r = c.result("B1")
            self.assertStatus(r, "failed", retry=True)
            self.assertIn("locked", r["error"])
        finally:
            lock.execute("COMMIT")
            lock.close()
        c.job("B1", {"key": "a1"}, category="job_application", attempt=2)
        c.pump(20)
        self.assertStatus(c.results["B1"][1], "done")
        self.assertEqual(self.rows("SELECT count(*) FROM applications"), [(2,)])

    def test_same_job_twice_at_once(self):
        b = self.sq(busy="20 seconds", workers=2)
        c1 = self.client(b)
        c2 = self.client(b)
        lock = sqlite3.connect(self.db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        lock.execute("UPDATE employees SET salary = salary + 1")
        try:
            c1.job("S1", {"key": "a1"}, category="job_application")
            b.wait_log("job S1 (delete rec-S1): started")
            c1.job("S1", {"key": "a1"}, category="job_application", attempt=2)
            c2.job("S1", {"key": "a1"}, category="job_application", attempt=2)
            c2.job("S2", {"key": "a3"}, category="job_application")  # the second worker
            b.wait_log("job S2 (delete rec-S2): started")
            self.assertEqual(b.log().count("job S1: already in hand"), 2)
        finally:
            lock.execute("COMMIT")
            lock.close()
        self.assertStatus(c1.result("S1"), "done")
        self.assertStatus(c2.result("S1"), "done")  # one run, its result to both
        self.assertStatus(c2.result("S2"), "done")
        c1.job("S3", {"key": "a2"}, category="job_application")  # results come in order...
        c1.result("S3")
        self.assertEqual(len(c1.results["S1"]), 1)  # ...so no second S1 result is coming
        self.assertEqual(len(c2.results["S1"]), 1)
        self.assertEqual(b.log().count("job S1 (delete rec-S1): started"), 1)

    def test_killed_mid_job_and_restarted(self):
        b = self.sq(busy="60 seconds")
        c = self.client(b)
        lock = sqlite3.connect(self.db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        lock.execute("UPDATE employees SET salary = salary + 1")
        c.job("M1", {"key": "a1"}, category="job_application")
        b.wait_log("job M1 (delete rec-M1): started")
        b.kill()  # in the middle of the job: it waits for the lock
        while c.pump(10):
            pass
        self.assertNotIn("M1", c.results)
        b.start()  # it starts while the writer still holds the database
        lock.execute("COMMIT")
        lock.close()
        self.assertEqual(self.rows("SELECT count(*) FROM applications WHERE id = 'a1'"), [(1,)])
        c = self.client(b)  # the daemon reconnects and sends the job again, same id
        c.job("M1", {"key": "a1"}, category="job_application", attempt=2)
        self.assertStatus(c.result("M1"), "done")
        c.job("M1", {"key": "a1"}, category="job_application", attempt=3)
        c.pump(20)
        self.assertStatus(c.results["M1"][1], "gone")
        self.assertEqual(self.rows("SELECT id FROM applications ORDER BY id"), [("a2",), ("a3",)])

    def test_many_jobs_many_workers(self):
        con = sqlite3.connect(self.db)
        con.executemany("INSERT INTO employees VALUES (?, 'x', 1)", [(i,) for i in range(10, 1010)])
        con.commit()
        con.close()
        b = self.sq(workers=4)
        c = self.client(b)
        for i in range(10, 1010):
            c.job("E%d" % i, {"key": i}, category="employee")
        for j, r in c.wait_results(["E%d" % i for i in range(10, 1010)], timeout=120).items():
            self.assertStatus(r, "done")
        self.assertEqual(self.rows("SELECT count(*) FROM employees"), [(3,)])

    def test_workers_take_turns(self):
        """The workers of one backend never make each other wait on the database's lock:
        with no busy wait at all, 1000 jobs over 4 workers all succeed (only another
        process can be ahead of them)."""
        con = sqlite3.connect(self.db)
        con.executemany("INSERT INTO employees VALUES (?, 'x', 1)", [(i,) for i in range(10, 1010)])
        con.commit()
        con.close()
        b = self.sq(busy="0 seconds", workers=4)
        c = self.client(b)
        for i in range(10, 1010):
            c.job("E%d" % i, {"key": i}, category="employee")
        for j, r in c.wait_results(["E%d" % i for i in range(10, 1010)], timeout=120).items():
            self.assertStatus(r, "done")
        self.assertEqual(self.rows("SELECT count(*) FROM employees"), [(3,)])

    def test_delete_only_hello(self):
        b = self.backend([RETENTION_SQLITE], "socket d.sock\ndatabase hr.db\n"
                         "table employees { category employee; key n }\n", name="d")
        c = self.client(b, hello=False)
        self.assertEqual(c.hello()["actions"], ["delete"])
        c.job("A1", {"key": 1}, category="employee", action="anonymize")
        self.assertStatus(c.result("A1"), "failed", retry=False)
        self.assertEqual(self.rows("SELECT name FROM employees WHERE n = 1"), [("Eve",)])

    def test_config_errors(self):
        head = "socket s.sock\ndatabase hr.db\n"
        cases = [
            (head + 'table "apps\\"; DROP TABLE x; --" { category a; key id }\n',
             r":3:7: invalid table name"),
            (head + "table applications { category a; key \"id OR 1=1\" }\n",
             r":3:38: invalid key column"),
            (head + "table applications { category a; key id; anonymize \"name, email\" }\n",
             r":3:52: invalid column"),
            (head + "table sqlite_master { category a; key name }\n", r":3:7: invalid table name"),
            (head + "table nosuch { category a; key id }\n", r":3:1: table nosuch: no such table"),
            (head + "table applications { category a; key idd }\n",
             r":3:1: table applications: no such column: idd"),
            (head + "table applications {\n category a\n key id\n anonymize emial\n}\n",
             r":3:1: table applications: no such column: emial"),
            (head + "table employees { category a; key n; anonymize name }\n",
             r":3:1: table employees: column name is NOT NULL"),
            (head + "table applications { category a; key id; anonymize id }\n",
             r":3:1: table applications: the key column id cannot be anonymised"),
            (head + "table applications { category a; key id }\n"
                    "table employees { category b a; key n }\n",
             r":4:30: category \"a\" already maps to table applications"),
            (head + "table applications { key id }\n", r":3:1: table applications needs \"category"),
            (head + "table applications { category a }\n", r":3:1: table applications needs \"key"),
            (head + "table applications { category a; key id; drop everything }\n",
             r":3:42: unknown statement \"drop\" in table applications"),
            (head + "table applications\n", r":3:1: \"table\" needs a block"),
            ("socket s.sock\ndatabase missing/hr.db\ntable employees { category e; key n }\n",
             r":2:10: cannot open database"),
            ("socket s.sock\ntable employees { category e; key n }\n", r": no \"database PATH\""),
            (head, r": no \"table\" block"),
            (head + "busy-timeout 1 month\ntable employees { category e; key n }\n",
             r":3:14: \"busy-timeout\" needs a fixed duration"),
        ]
        for conf, want in cases:
            p = self.wd.write("bad.conf", conf)
            rc, out, err = run_program([RETENTION_SQLITE, "--check-config", "--config", p])
            self.assertEqual(rc, 78, (conf, err))
            self.assertRegex(err, re.escape(p) + want, conf)
            rc, out, err = run_program([RETENTION_SQLITE, "--config", p])
            self.assertEqual(rc, 78, (conf, err))
        self.assertEqual(self.rows("SELECT count(*) FROM applications"), [(3,)])
        rc, out, err = run_program([RETENTION_SQLITE, "--version"])
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^retention-sqlite \d+\.\d+\.\d+\n$")


SCAN_SCHEMA = """
CREATE TABLE candidates (id INTEGER PRIMARY KEY, applicant_id TEXT, received_at,
                         hired INTEGER, note TEXT, score REAL);
INSERT INTO candidates VALUES
    (1, 'p-1', 1740000000, 1, 'ok', 1.5),
    (2, 'p-2', '2025-03-01 09:30:00', 0, NULL, NULL),
    (3, NULL, '2025-03-01T10:30:00+01:00', NULL, 'x', 2),
    (4, 'p-4', 'next tuesday', 1, 'bad date', 0),
    (5, 'p-5', NULL, 1, 'no date', 0);
"""

SCAN_TABLE = """
table candidates {
    category        candidate
    key             id
    scan category   candidate
    subject         = applicant_id
    event received  = received_at
    attribute hired = hired
    attribute note  = note
    attribute score = score
}
"""


class SqliteScanTest(BackendTest):
    sq = SqliteTest.sq
    rows = SqliteTest.rows

    def setUp(self):
        super().setUp()
        self.db = self.wd("hr.db")
        con = sqlite3.connect(self.db)
        con.executescript(SCHEMA + SCAN_SCHEMA)
        con.close()

    def hello2(self, b):
        c = self.client(b, hello=False)
        c.send({"type": "hello", "protocol": 1, "protocols": [1, 2]})
        h = c.read(20)
        self.assertEqual(h.get("protocol"), 2, h)
        return c, h

    def scan(self, c, sid="S-1", window=4):
        """Run a scan, acknowledging every page: (pages, scan_end)."""
        c.send({"type": "scan", "scan": sid, "window": window})
        pages = []
        while True:
            msg = c.read(60)
            self.assertIsNotNone(msg, "connection closed during the scan")
            if msg.get("type") == "result":
                c.results.setdefault(msg["job"], []).append(msg)
            elif msg.get("type") == "scan_page":
                self.assertEqual(msg["scan"], sid)
                self.assertEqual(msg["seq"], len(pages) + 1)
                pages.append(msg)
                c.send({"type": "scan_ack", "scan": sid, "seq": msg["seq"]})
            elif msg.get("type") == "scan_end":
                self.assertEqual(msg["scan"], sid)
                return pages, msg
            else:
                self.fail("unexpected %r" % msg)

    def records(self, pages):
        return [r for p in pages for r in p["records"]]

    def test_scan_lists_rows(self):
        now = int(time.time())
        con = sqlite3.connect(self.db)
        con.execute("INSERT INTO candidates VALUES (6, 'p-6', ?, 0, 'later', 0)", (now + 86400,))
        con.commit()
        con.close()
        b = self.sq(extra=SCAN_TABLE)
        c, h = self.hello2(b)
        self.assertIs(h.get("scan"), True, h)
        pages, end = self.scan(c)
        recs = {r["id"]: r for r in self.records(pages)}
        self.assertEqual(sorted(recs), ["candidates:1", "candidates:2", "candidates:3",
                                        "candidates:5", "candidates:6"])
        self.assertEqual(recs["candidates:1"], {
            "id": "candidates:1", "category": "candidate", "subject": "p-1",
            "locator": {"key": 1}, "events": {"received": 1740000000},
            "attributes": {"hired": 1, "note": "ok", "score": 1.5}})
        self.assertEqual(recs["candidates:2"]["events"], {"received": 1740821400})
        self.assertEqual(recs["candidates:2"]["attributes"], {"hired": 0, "note": None,
                                                              "score": None})
        self.assertEqual(recs["candidates:3"]["events"], {"received": 1740821400})
        self.assertNotIn("subject", recs["candidates:3"])
        self.assertEqual(recs["candidates:5"]["events"], {})
        self.assertEqual(recs["candidates:6"]["events"], {"received": now + 86400})
        self.assertEqual(end, {"type": "scan_end", "scan": "S-1", "complete": True, "count": 5,
                               "skipped": 1, "future": 1})
        # the log names the row skipped and why, never its value
        b.wait_log("skipped candidates:4: event received (received_at) is no time")
        self.assertNotIn("next tuesday", b.log())

    def test_no_scanned_table_says_so(self):
        b = self.sq()
        c, h = self.hello2(b)
        self.assertIs(h.get("scan"), False, h)

    def test_pages_in_key_order(self):
        con = sqlite3.connect(self.db)
        con.executescript("""
CREATE TABLE docs (k TEXT PRIMARY KEY, at INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2345)
    INSERT INTO docs SELECT printf('d-%05d', 2346 - i), 1700000000 + i FROM n;
""")
        con.close()
        b = self.sq(extra="table docs { category doc; key k; scan category doc\n"
                          "  event created = at }\n")
        c, h = self.hello2(b)
        pages, end = self.scan(c, window=1)
        self.assertEqual([len(p["records"]) for p in pages], [1000, 1000, 345])
        ids = [r["id"] for r in self.records(pages)]
        self.assertEqual(ids, ["docs:d-%05d" % i for i in range(1, 2346)])
        self.assertEqual((end["complete"], end["count"], end["skipped"]), (True, 2345, 0))

    def test_writers_go_on_while_the_daemon_is_behind(self):
        # window 1 and page 1 not acknowledged: the scan waits to send page 2, and holds no
        # read transaction meanwhile (in rollback-journal mode a reader would keep a
        # writer from committing)
        con = sqlite3.connect(self.db)
        con.executescript("""
CREATE TABLE docs (k TEXT PRIMARY KEY, at INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
    INSERT INTO docs SELECT printf('d-%05d', i), 1700000000 + i FROM n;
""")
        con.close()
        self.assertEqual(self.rows("PRAGMA journal_mode"), [("delete",)])
        b = self.sq(extra="table docs { category doc; key k; scan category doc\n"
                          "  event created = at }\n")
        c, h = self.hello2(b)
        c.send({"type": "scan", "scan": "S-1", "window": 1})
        first = c.read(20)
        self.assertEqual((first["type"], first["seq"]), ("scan_page", 1))
        with self.assertRaises(AssertionError):
            c.read(0.5)  # no page 2 before the acknowledgement
        con = sqlite3.connect(self.db, timeout=10)
        t0 = time.monotonic()
        con.execute("INSERT INTO docs VALUES ('d-99999', 1700000000)")
        con.execute("DELETE FROM docs WHERE k = 'd-00001'")
        con.commit()
        con.close()
        self.assertLess(time.monotonic() - t0, 5)
        c.send({"type": "scan_ack", "scan": "S-1", "seq": 1})
        pages, end = [first], None
        while end is None:
            msg = c.read(20)
            if msg["type"] == "scan_page":
                pages.append(msg)
                c.send({"type": "scan_ack", "scan": "S-1", "seq": msg["seq"]})
            else:
                end = msg
        ids = [r["id"] for r in self.records(pages)]
        self.assertEqual(ids[0], "docs:d-00001")  # sent before it was deleted
        self.assertEqual(ids[-1], "docs:d-99999")  # written ahead of the scan: listed
        self.assertEqual((end["complete"], end["count"]), (True, 2501))

    def test_scanned_locator_deletes_the_row(self):
        b = self.sq(extra=SCAN_TABLE)
        c, h = self.hello2(b)
        pages, end = self.scan(c)
        rec = [r for r in self.records(pages) if r["id"] == "candidates:2"][0]
        c.job("D1", rec["locator"], category=rec["category"], record_id=rec["id"],
              subject=rec.get("subject"))
        self.assertStatus(c.result("D1"), "done")
        self.assertEqual(self.rows("SELECT id FROM candidates ORDER BY id"),
                         [(1,), (3,), (4,), (5,)])
        pages, end = self.scan(c, "S-2")
        self.assertNotIn("candidates:2", [r["id"] for r in self.records(pages)])
        self.assertEqual(end["count"], 3)

    def test_awkward_names(self):
        con = sqlite3.connect(self.db)
        con.executescript("""
CREATE TABLE "Order" ("select" TEXT PRIMARY KEY, "from" INTEGER, "group" TEXT);
INSERT INTO "Order" VALUES ('o''1', 1700000000, 'a'), ('o"2', 1700000001, 'b');
""")
        con.close()
        b = self.sq(extra='table Order { category ord; key select; scan category ord\n'
                          '  subject = group; event placed = from }\n')
        c, h = self.hello2(b)
        pages, end = self.scan(c)
        recs = self.records(pages)
        self.assertEqual([(r["id"], r["locator"], r["subject"]) for r in recs],
                         [("Order:o\"2", {"key": 'o"2'}, "b"), ("Order:o'1", {"key": "o'1"}, "a")])
        c.job("D1", recs[1]["locator"], category="ord")
        self.assertStatus(c.result("D1"), "done")
        self.assertEqual(self.rows('SELECT "select" FROM "Order"'), [('o"2',)])

    def test_missing_table(self):
        b = self.sq(extra=SCAN_TABLE)
        con = sqlite3.connect(self.db)
        con.execute("DROP TABLE candidates")
        con.commit()
        con.close()
        c, h = self.hello2(b)
        pages, end = self.scan(c)
        self.assertEqual(pages, [])
        self.assertIs(end["complete"], False, end)
        self.assertIn("no such table: candidates", end.get("error", ""), end)
        # jobs go on
        c.job("J1", {"key": 1}, category="employee")
        self.assertStatus(c.result("J1"), "done")

    def test_scan_config_errors(self):
        head = "socket s.sock\ndatabase hr.db\ntable candidates { category candidate; key id\n"
        cases = [
            (head + " scan category candidate\n event received received_at\n}\n",
             r":5:17: expected \"event NAME = COLUMN\""),
            (head + " scan category candidate\n event received = received_at\n"
                    " event received = note\n}\n",
             r":6:8: event received is given twice; first at 5:8"),
            (head + " scan category candidate\n event received = recieved_at\n}\n",
             r":5:19: table candidates: no such column: recieved_at"),
            (head + " scan category other\n}\n",
             r":4:16: scan category other is not a category of table candidates"),
            (head + " subject = applicant_id\n}\n",
             r":4:2: table candidates: subject, event and attribute say what a scan lists"),
        ]
        for conf, want in cases:
            p = self.wd.write("bad.conf", conf)
            rc, out, err = run_program([RETENTION_SQLITE, "--check-config", "--config", p])
            self.assertEqual(rc, 78, (conf, err))
            self.assertRegex(err, re.escape(p) + want, conf)

if __name__ == "__main__":
    main()
