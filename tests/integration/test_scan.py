#!/usr/bin/env python3
"""Integration tests of scans on the daemon's side: a backend of protocol 2 lists what it
holds, the daemon reconciles (SPEC §6, lib/reconcile.c, daemon/dispatch.c).

The backend is played by the test (ScriptedBackend): it answers the daemon's hello with
"scan": true, and when asked for a scan sends exactly the pages and end marker a test
needs, so that partial, failed and miscounted scans can be told apart from complete
ones.  Every wait polls with a deadline.
Run: python3 tests/integration/test_scan.py
"""

import json
import os
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import RETENTION_FS, RETENTION_SQLITE, Backend, Workdir  # noqa: E402
from dispatch_util import DispatchTestCase, ScriptedBackend, stays, with_rules  # noqa: E402
from harness import main, wait_for  # noqa: E402

RULES = ('rule t-due { category t.file; delete immediately after modified; '
         'basis "test: deleted at its modified event" }\n'
         'rule t-recv { category t.cert; delete 1 week after received; '
         'basis "test: a week after it was received" }\n'
         'rule t-app { category t.app; delete 1 year after received; unless hired; '
         'basis "test: applications a year after they came, unless hired" }\n')
PAST = 978307200      # 2001-01-01
FUTURE = 4102444800   # 2100-01-01


def audit_entries(path, type_=None):
    """The entries of the audit log at path (of type type_, if given)."""
    with open(path, encoding="utf-8") as f:
        return [e for e in map(json.loads, filter(str.strip, f))
                if type_ is None or e.get("type") == type_]


def rec(rid, modified=FUTURE, **kw):
    r = {"id": rid, "category": "t.file", "locator": {"path": "/srv/scan/" + rid},
         "events": {"modified": modified}}
    r.update(kw)
    return r


class ScanBase(DispatchTestCase):
    """A daemon with one scripted backend that can scan, and the means to play scans."""
    RULES = with_rules(RULES)

    def setUp(self):
        super().setUp()
        self.sb = ScriptedBackend(self.d.dir, "sb")
        self.up({}, blocks=self.sb.config())
        h = self.sb.accept().hello(protocol=2, scan=True)
        self.assertIn(2, h.get("protocols", []), h)
        self.assertEqual(h.get("protocol"), 1, h)
        wait_for(lambda: self.backend_status("sb").get("connected"), 10,
                 what="the scripted backend to be connected")

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.sb.close()

    def entries(self, type_=None):
        return audit_entries(self.d.audit_log, type_)

    def next_msg(self, type_):
        """The next line from the daemon of type type_ (jobs skipped, kept in self.jobs_seen)."""
        while True:
            m = self.sb.readline()
            if m.get("type") == "job" and type_ != "job":
                self.jobs_seen.append(m)
                continue
            self.assertEqual(m.get("type"), type_, m)
            return m

    jobs_seen = []

    def next_job(self):
        """The next job the daemon sent (one that came during a scan first)."""
        return self.jobs_seen.pop(0) if self.jobs_seen else self.next_msg("job")

    def scan(self, pages, complete=True, count=None, error=None):
        """Ask for a scan, play it (each page acknowledged before the next), and return
        the outcome status shows."""
        self.jobs_seen = []
        started = self.d.ok("scan", {"backend": "sb"})
        m = self.next_msg("scan")
        self.assertEqual(m["scan"], started["scan"])
        self.assertGreaterEqual(m["window"], 1)
        n = 0
        for seq, page in enumerate(pages, 1):
            self.sb.send({"type": "scan_page", "scan": m["scan"], "seq": seq,
                          "records": page})
            ack = self.next_msg("scan_ack")
            self.assertEqual((ack["scan"], ack["seq"]), (m["scan"], seq))
            n += len(page)
        end = {"type": "scan_end", "scan": m["scan"], "complete": complete,
               "count": n if count is None else count, "skipped": 0, "future": 0}
        if error:
            end["error"] = error
        self.sb.send(end)

        def last():
            s = self.backend_status("sb")["scan"]
            return s.get("last") if s.get("last", {}).get("scan") == m["scan"] else None
        return wait_for(last, 10, what="the scan's outcome in status")



class Scan(ScanBase):
    def test_new_changed_unchanged_left(self):
        first = self.scan([[rec("a"), rec("b")], [rec("c")]])
        self.assertTrue(first["complete"], first)
        self.assertEqual((first["added"], first["unchanged"], first["left"]), (3, 0, 0), first)
        for i in "abc":
            g = self.d.get(i)
            self.assertEqual((g["state"], g["backend"]), ("active", "sb"), g)
        puts = self.entries("record.put")
        self.assertEqual(sorted(e["record"] for e in puts), ["a", "b", "c"])
        self.assertTrue(all(e["actor"] == "scan:" + first["scan"] for e in puts), puts)
        self.assertEqual(len(self.entries("scan.started")), 1)
        # b changes (an attribute), c is gone, a stays as it was
        second = self.scan([[rec("a"), rec("b", attributes={"keep": True})]])
        self.assertTrue(second["complete"], second)
        self.assertEqual((second["added"], second["changed"], second["unchanged"],
                          second["left"]), (0, 1, 1, 1), second)
        self.assertEqual(self.d.get("b")["attributes"], {"keep": True})
        g = self.d.get("c")
        self.assertEqual(g["state"], "deleted", g)
        self.assertEqual(g["deleted"]["outcome"], "left", g)
        left = self.entries("record.left")
        self.assertEqual([e["record"] for e in left], ["c"])
        self.assertEqual(left[0]["detail"]["scan"], second["scan"])
        # nothing was written for a, nor sent for anything
        puts2 = [e for e in self.entries("record.put") if e["actor"] == "scan:" + second["scan"]]
        self.assertEqual([e["record"] for e in puts2], ["b"])
        self.assertEqual(self.jobs_seen, [])
        # a record that left is not a deletion of ours
        st = self.d.ok("status")
        self.assertEqual(st["jobs"]["sent"], 0, st["jobs"])
        rp = self.d.ok("report", {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"})
        self.assertEqual((rp["totals"]["deleted"], rp["totals"]["left"]), (0, 1), rp["totals"])
        self.assertEqual(rp["inventory"]["deleted"], 0, rp["inventory"])

    def test_failed_and_miscounted_scans_mark_nothing_left(self):
        self.scan([[rec("x"), rec("y")]])
        failed = self.scan([[rec("x")]], complete=False, error="permission denied on /srv")
        self.assertFalse(failed["complete"], failed)
        self.assertIn("permission denied", failed["error"])
        miscounted = self.scan([[rec("x")]], count=2)
        self.assertFalse(miscounted["complete"], miscounted)
        self.assertIn("counted 2", miscounted["error"])
        self.assertEqual(self.d.state("y"), "active")
        self.assertEqual(self.entries("record.left"), [])
        self.assertEqual(len(self.entries("scan.failed")), 2)

    def test_deleted_record_that_reappears_is_acted_on_again(self):
        self.scan([[rec("old", modified=PAST)]])
        job = self.next_job()
        self.assertEqual(job["record"]["id"], "old")
        self.sb.send({"type": "result", "job": job["job"], "status": "done"})
        wait_for(lambda: self.d.state("old") == "deleted", 10, what="the deletion")
        again = self.scan([[rec("old", modified=PAST)]])
        self.assertEqual(again["reappeared"], 1, again)
        re = self.entries("record.reappeared")
        self.assertEqual([(e["record"], e["detail"]["was"]) for e in re], [("old", "deleted")])
        second = self.next_job()
        self.assertEqual(second["record"]["id"], "old")
        self.assertNotEqual(second["job"], job["job"], "a deletion that did not stick is a new job")
        self.sb.send({"type": "result", "job": second["job"], "status": "done"})
        wait_for(lambda: self.d.state("old") == "deleted", 10, what="the second deletion")
        rp = self.d.ok("report", {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"})
        self.assertEqual((rp["totals"]["deleted"], rp["totals"]["reappeared"]), (2, 1), rp["totals"])

    def test_records_of_another_backend_and_invalid_ones_are_left_alone(self):
        self.d.ok("record.put", {"records": [dict(rec("theirs"), backend="other")]})
        out = self.scan([[rec("theirs", attributes={"x": 1}), {"id": "bad"}, rec("fine")]])
        self.assertTrue(out["complete"], out)
        self.assertEqual((out["conflicts"], out["invalid"], out["added"]), (1, 1, 1), out)
        self.assertIn("bad", out["first_invalid"])
        g = self.d.get("theirs")
        self.assertEqual((g["backend"], g.get("attributes") or {}), ("other", {}), g)

    def test_scan_refused_when_it_cannot_run(self):
        self.d.err("scan", {"backend": "nosuch"}, code="not_found")
        self.d.ok("scan", {"backend": "sb"})
        self.next_msg("scan")
        e = self.d.err("scan", {"backend": "sb"}, code="conflict")
        self.assertIn("already scanning", e["message"])


class ScanGuard(ScanBase):
    CONFIG_EXTRA = "guard 2\n"

    def test_a_scan_that_makes_many_records_due_is_paused(self):
        out = self.scan([[rec("g%d" % i, modified=PAST) for i in range(5)]])
        self.assertEqual((out["added"], out["paused"]), (5, 5), out)
        ids = ["g%d" % i for i in range(5)]
        self.assertEqual(self.states(ids), {i: "paused" for i in ids})
        st = self.d.ok("status")["guard"]
        self.assertEqual(st["paused"], 5, st)
        self.assertEqual([(r["rule"], r["cause"], r["records"]) for r in st["rules"]],
                         [("t-due", "scan", 5)], st)
        paused = self.entries("guard.paused")
        self.assertEqual([(e["detail"]["cause"], e["detail"]["ref"]) for e in paused],
                         [("scan", out["scan"])], paused)
        stays(lambda: not self.jobs_seen and self.states(ids) == {i: "paused" for i in ids},
              1.0, what="nothing sent while the guard holds the scan's records")
        self.d.ok("guard.confirm")
        sent = {self.next_job()["record"]["id"] for _ in ids}
        self.assertEqual(sent, set(ids))

    def test_a_small_scan_is_not_paused(self):
        out = self.scan([[rec("s1", modified=PAST), rec("s2")]])
        self.assertEqual(out["paused"], 0, out)
        self.assertEqual(self.next_job()["record"]["id"], "s1")


class ScanFs(DispatchTestCase):
    """The real retention-fs scanning a real folder: the folder alone keeps the inventory."""
    RULES = with_rules(RULES)
    ROOT_BLOCK = "scan category t.file\n"  # the scanned root's statements

    def setUp(self):
        super().setUp()
        self.wd = Workdir()
        self.addCleanup(self.wd.cleanup)
        self.root = self.wd("root")
        self.outside = self.wd("outside")
        os.makedirs(os.path.join(self.root, "sub"))
        os.makedirs(self.outside)
        self.fs = Backend(self.wd, [RETENTION_FS],
                          "socket fs.sock\nroot %s {\n%s}\n" % (self.root, self.ROOT_BLOCK),
                          name="fs")
        self.addCleanup(self.fs.stop)
        self.fs.start()

    def file(self, rel, mtime=FUTURE, where=None):
        p = os.path.join(where or self.root, rel)
        with open(p, "w") as f:
            f.write("footage\n")
        os.utime(p, (mtime, mtime))
        return p

    def scan(self):
        r = subprocess.run([os.path.join(os.path.dirname(RETENTION_FS), "retentionctl"), "-s",
                            self.d.socket_path, "scan", "fs", "--wait"],
                           capture_output=True, text=True, timeout=60)
        last = self.backend_status("fs")["scan"]["last"]
        return r, last

    def test_a_folder_kept_by_scanning_alone(self):
        old = self.file("old.mp4", PAST)
        keep = self.file("sub/keep.mp4")
        self.file("moved.mp4")
        self.file("secret.txt", where=self.outside)
        os.symlink(os.path.join(self.outside, "secret.txt"), os.path.join(self.root, "link"))
        self.up({}, blocks="backend fs {\n socket %s\n scan every 1 hour\n}\n" % self.fs.socket)
        # the first scan comes by itself once the backend is connected
        last = wait_for(lambda: self.backend_status("fs")["scan"].get("last"), 20,
                        what="the first scan's outcome")
        self.assertTrue(last["complete"], last)
        self.assertEqual((last["added"], last["skipped"]), (3, 1), last)

        def timer_scans():
            return [e for e in audit_entries(self.d.audit_log, "scan.started")
                    if e["actor"] == "scheduler"]
        stays(lambda: len(timer_scans()) == 1, 1.0, what="one scan by the timer, not more")
        table = subprocess.run([os.path.join(os.path.dirname(RETENTION_FS), "retentionctl"),
                                "-s", self.d.socket_path, "status"],
                               capture_output=True, text=True, timeout=30).stdout
        self.assertIn("scans:", table)
        self.assertIn("3600s", table)
        self.assertIsNone(self.d.call("record.get", {"id": os.path.join(self.root, "link")})
                          .get("result"))
        wait_for(lambda: self.d.state(old) == "deleted", 20, what="the overdue file's deletion")
        self.assertFalse(os.path.exists(old))
        self.assertTrue(os.path.exists(os.path.join(self.outside, "secret.txt")))
        self.assertEqual(self.d.state(keep), "active")
        # a rename: the old id leaves, the new one comes with the same time
        moved = os.path.join(self.root, "moved.mp4")
        os.rename(moved, moved + ".bak")
        r, last = self.scan()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("completed", r.stdout)
        self.assertEqual((last["added"], last["left"], last["unchanged"]), (1, 1, 1), last)
        self.assertEqual(self.d.get(moved)["deleted"]["outcome"], "left")
        self.assertEqual(self.d.get(moved + ".bak")["events"]["modified"],
                         self.d.get(keep)["events"]["modified"])
        # the deleted file is back (a restore from backup): reported and deleted again
        self.file("old.mp4", PAST)
        r, last = self.scan()
        self.assertEqual(last["reappeared"], 1, last)
        wait_for(lambda: self.d.state(old) == "deleted" and not os.path.exists(old), 20,
                 what="the reappeared file's second deletion")
        # a root that is gone: the scan fails and nothing is marked as having left
        os.rename(self.root, self.root + ".away")
        r, last = self.scan()
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertFalse(last["complete"], last)
        self.assertEqual(self.d.state(keep), "active")
        os.rename(self.root + ".away", self.root)


class ScanFsNamedEvent(ScanFs):
    ROOT_BLOCK = "scan category t.cert\nscan event mtime as received\n"

    def test_a_file_time_under_the_name_the_rule_uses(self):
        old = self.file("old.pdf", int(time.time()) - 8 * 86400)
        new = self.file("new.pdf", int(time.time()) - 2 * 86400)
        self.up({}, blocks="backend fs {\n socket %s\n}\n" % self.fs.socket)
        r, last = self.scan()
        self.assertEqual((r.returncode, last["added"]), (0, 2), r.stdout + r.stderr)
        self.assertEqual(list(self.d.get(new)["events"]), ["received", "created"])
        wait_for(lambda: not os.path.exists(old), 20, what="the week-old certificate's deletion")
        self.assertEqual(self.d.state(new), "active")
        self.assertTrue(os.path.exists(new))

    test_a_folder_kept_by_scanning_alone = None


class ScanSqlite(DispatchTestCase):
    """The real retention-sqlite scanning a real table: the table alone keeps the inventory."""
    RULES = with_rules(RULES)

    def setUp(self):
        super().setUp()
        self.wd = Workdir()
        self.addCleanup(self.wd.cleanup)
        self.dbpath = self.wd("hr.db")
        db = sqlite3.connect(self.dbpath)
        db.executescript("CREATE TABLE applications(id INTEGER PRIMARY KEY, applicant TEXT,"
                         " received_at INTEGER, hired INTEGER);")
        now = int(time.time())
        self.year = 366 * 86400
        db.executemany("INSERT INTO applications VALUES(?, ?, ?, ?)",
                       [(1, "person:1", now - self.year, 0),   # due: deleted
                        (2, "person:2", now - self.year, 1),   # hired: kept
                        (3, "person:3", now - 86400, 0),       # a year to go
                        (4, "person:4", now - 86400, 0)])
        db.commit()
        db.close()
        self.db = Backend(self.wd, [RETENTION_SQLITE],
                          "socket db.sock\ndatabase %s\ntable applications {\n"
                          " category t.app\n key id\n scan category t.app\n"
                          " subject = applicant\n event received = received_at\n"
                          " attribute hired = hired\n}\n" % self.dbpath, name="db")
        self.addCleanup(self.db.stop)
        self.db.start()

    def rows(self):
        db = sqlite3.connect(self.dbpath)
        try:
            return [r[0] for r in db.execute("SELECT id FROM applications ORDER BY id")]
        finally:
            db.close()

    def scan(self):
        self.d.ok("scan", {"backend": "db"})
        def done():
            s = self.backend_status("db")["scan"]
            return s.get("last") if "running" not in s and s.get("last") else None
        return wait_for(done, 20, what="the scan's outcome")

    def test_a_table_kept_by_scanning_alone(self):
        self.up({}, blocks="backend db {\n socket %s\n}\n" % self.db.socket)
        wait_for(lambda: self.backend_status("db").get("connected"), 10, what="db connected")
        last = self.scan()
        self.assertTrue(last["complete"], last)
        self.assertEqual(last["added"], 4, last)
        ids = ["applications:%d" % i for i in range(1, 5)]
        wait_for(lambda: self.rows() == [2, 3, 4], 20, what="the overdue row's deletion")
        self.assertEqual(self.d.state(ids[0]), "deleted")
        g = self.d.get(ids[1])
        self.assertEqual((g["state"], g["attributes"], g["subject"]),
                         ("active", {"hired": 1}, "person:2"), g)
        # row 3 hired now (changed, decided again), row 4 gone by other means
        db = sqlite3.connect(self.dbpath)
        db.execute("UPDATE applications SET hired = 1 WHERE id = 3")
        db.execute("DELETE FROM applications WHERE id = 4")
        db.commit()
        db.close()
        before = self.d.get(ids[2])["schedule"]
        self.assertTrue(before, before)
        last = self.scan()
        self.assertEqual((last["changed"], last["left"], last["unchanged"]), (1, 1, 1), last)
        self.assertEqual(self.d.get(ids[2])["schedule"], [])
        self.assertEqual(self.d.get(ids[3])["deleted"]["outcome"], "left")

    def test_values_as_the_table_holds_them(self):
        """Every kind of column value reaches the inventory as the table holds it: text keys,
        reals (a whole one stays a real), NULL, text that needs escaping, a text time; a
        row with a blob attribute is skipped and counted, never sent."""
        db = sqlite3.connect(self.dbpath)
        db.executescript("CREATE TABLE notes(code TEXT PRIMARY KEY, who TEXT, at TEXT,"
                         " score REAL, note TEXT);")
        db.executemany("INSERT INTO notes VALUES(?, ?, ?, ?, ?)",
                       [("a\"1", None, "2026-01-02 03:04:05", 1.0, 'line\n"q" \u00e6\u2603'),
                        ("b", "p:\u00f8", "2026-01-02T03:04:05Z", 2.5, None),
                        ("c", "p:3", "2026-01-02", -0.1, b"\x00\x01")])
        db.commit()
        db.close()
        self.db.stop()
        self.db = Backend(self.wd, [RETENTION_SQLITE],
                          "socket db2.sock\ndatabase %s\ntable notes {\n"
                          " category t.note\n key code\n scan category t.note\n"
                          " subject = who\n event received = at\n"
                          " attribute score = score\n attribute note = note\n}\n" % self.dbpath,
                          name="db2")
        self.addCleanup(self.db.stop)
        self.db.start()
        self.up({}, blocks="backend db {\n socket %s\n}\n" % self.db.socket)
        wait_for(lambda: self.backend_status("db").get("connected"), 10, what="db connected")
        last = self.scan()
        self.assertEqual((last["complete"], last["added"], last["skipped"]), (True, 2, 1), last)
        a, b = self.d.get('notes:a"1'), self.d.get("notes:b")
        self.assertEqual(a["attributes"], {"score": 1.0, "note": 'line\n"q" \u00e6\u2603'}, a)
        self.assertIsInstance(a["attributes"]["score"], float)
        self.assertIsNone(a.get("subject"), a)
        self.assertEqual(a["locator"], {"key": 'a"1'}, a)
        self.assertEqual((b["subject"], b["attributes"]),
                         ("p:\u00f8", {"score": 2.5, "note": None}), b)
        self.assertEqual(a["events"]["received"], b["events"]["received"])
        self.d.err("record.get", {"id": "notes:c"}, code="not_found")
        again = self.scan()
        self.assertEqual((again["unchanged"], again["changed"]), (2, 0), again)


class ScanV1(DispatchTestCase):
    RULES = with_rules(RULES)

    def test_protocol_1_backend_is_not_asked(self):
        sb = ScriptedBackend(self.d.dir, "v1")
        try:
            self.up({}, blocks=sb.config())
            sb.accept().hello(protocol=1)
            wait_for(lambda: self.backend_status("v1").get("connected"), 10,
                     what="the protocol-1 backend to be connected")
            e = self.d.err("scan", {"backend": "v1"}, code="conflict")
            self.assertIn("cannot scan", e["message"])
            stays(lambda: self.backend_status("v1").get("connected"), 0.5,
                  what="the protocol-1 backend to stay connected")
        finally:
            sb.close()


if __name__ == "__main__":
    main()
