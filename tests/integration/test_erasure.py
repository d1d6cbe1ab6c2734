#!/usr/bin/env python3
"""Integration tests of erasure requests (SPEC §3 rule 6, §5 `erase`) against the real
daemon: a request covers the records its subject had when it was made, stays open until
each of them is deleted, anonymised, forgotten or retained by a rule's duty (a hold ends,
so a held record keeps the request open), completes with an `erase.completed` audit
entry in the same transaction as the change that ended its last record, read commands
change nothing at all, and a request that cannot be read stops every action (fail closed).

The null backend (build/tests/null_backend) acts for most tests; the new-record test
deletes real files through retention-fs.
Run: python3 tests/integration/test_erasure.py
"""

import datetime as dt
import json
import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import RETENTION_FS, Backend, Workdir  # noqa: E402
from dispatch_util import DispatchTestCase, stays  # noqa: E402
from harness import OSLO, REPO, main, parse_time, wait_for  # noqa: E402

RULES = {"x.rules": (
    'rule x-del { category x.doc; delete 5 years after created; basis "test: five years" }\n'
    'rule x-keep { category x.kept; keep forever; basis "test: kept by law" }\n'
    'rule x-short { category x.short; keep 4 seconds after created; basis "test: a short duty" }\n'
    'rule x-anon { category x.anon; anonymize immediately after due; basis "test: anonymised" }\n'
    'rule x-anon-del { category x.anon; delete 5 years after created; basis "test: later" }\n'
    'rule x-soon { category x.soon; delete 3 seconds after created; basis "test: soon" }\n')}
DAY = 86400


def doc(rid, subject, category="x.doc", backend="nb", locator=None):
    r = {"id": rid, "category": category, "subject": subject, "backend": backend,
         "locator": locator or {"path": "/srv/x/" + rid}}
    return r


def years_after(t, n):
    d = dt.datetime.fromtimestamp(t, OSLO)
    try:
        return int(d.replace(year=d.year + n).timestamp())
    except ValueError:  # 29 February
        return int(d.replace(year=d.year + n, day=28).timestamp())


def days_after(t, n):
    """n calendar days after t in Oslo (a day across a DST change is 23 or 25 hours)."""
    d = dt.datetime.fromtimestamp(t, OSLO)
    return int(dt.datetime.combine(d.date() + dt.timedelta(days=n), d.time(),
                                   OSLO).timestamp())


def read_commands():
    """The names of the commands daemon/commands.c's table marks read-only."""
    with open(os.path.join(REPO, "daemon", "commands.c"), encoding="utf-8") as f:
        text = f.read()
    names = re.findall(r'\{"([a-z.]+)",\s*true,', text)
    if not names:
        raise AssertionError("no read-only command found in daemon/commands.c's table")
    return names


class ErasureTestCase(DispatchTestCase):
    RULES = RULES

    def audit(self, type_=None):
        with open(self.d.audit_log, encoding="utf-8") as f:
            es = [json.loads(line) for line in f if line.strip()]
        return [e for e in es if type_ is None or e["type"] == type_]

    def completed(self, request):
        return [e for e in self.audit("erase.completed")
                if e.get("detail", {}).get("request") == request]

    def open_requests(self):
        return {e["request"]: e for e in self.d.ok("status")["erasures"]}


class Coverage(ErasureTestCase):

    def test_hold_then_release_applies_the_erasure_deadline(self):
        """A hold stops an erasure only while it lasts: subject held -> erase -> status ->
        hold released -> the record is due at once under the request (it used to be
        back on its own deadline five years away: status had closed the request)."""
        b = self.backend("nb")
        d = self.up({"nb": {}})
        subj = "person:held"
        self.put([doc("h-1", subj)])
        d.ok("hold.place", {"subject": subj, "hold": "lit", "reason": "litigation"})
        r = d.ok("erase", {"subject": subj, "reason": "GDPR art. 17"})
        req = r["request"]
        self.assertEqual(r["scheduled"], [], r)
        self.assertEqual([(x["id"], x["rule"]) for x in r["retained"]], [("h-1", "hold")], r)
        # status lists it, pending: a hold ends, so the request waits for it
        ers = self.open_requests()
        self.assertIn(req, ers, ers)
        self.assertEqual(ers[req]["pending"], 1, ers)
        self.assertEqual(d.state("h-1"), "held")
        stays(lambda: b.log() == [] and d.state("h-1") == "held", 1.0,
              what="the held record staying held")
        self.assertIn(req, self.open_requests())
        d.ok("hold.release", {"subject": subj, "hold": "lit"})
        self.wait_state(["h-1"], "deleted", 15)
        self.assertTombstone("h-1", rule="erasure:" + req)
        self.assertEqual(b.records(), ["h-1"])
        wait_for(lambda: req not in self.open_requests(), 10,
                 what="the request to complete once its record is deleted")
        [c] = self.completed(req)
        self.assertEqual(c["detail"]["deleted"], 1, c)

    def test_new_record_is_not_covered_by_an_old_request(self):
        """An erasure covers the records the subject had when it was made: after they are
        deleted (real files, retention-fs), a record put later for the same subject is
        decided by its own rule, not deleted under the old request."""
        wd = Workdir()
        self.addCleanup(wd.cleanup)
        root = wd("root")
        os.makedirs(root)
        fs = Backend(wd, [RETENTION_FS], "socket fs.sock\nroot %s\n" % root, name="fs")
        self.addCleanup(fs.stop)
        fs.start()
        self.d.write_config("backend fs { socket %s\n timeout 10 seconds }\n" % fs.socket)
        self.d.start()
        d = self.d
        subj = "person:fs"

        def file(name):
            p = os.path.join(root, name)
            with open(p, "w") as f:
                f.write("personal data of %s\n" % subj)
            return p
        old = [file("a.txt"), file("b.txt")]
        self.put([doc("fs-a", subj, backend="fs", locator={"path": old[0]}),
                  doc("fs-b", subj, backend="fs", locator={"path": old[1]})])
        self.assertEqual(d.state("fs-a"), "active")
        r = d.ok("erase", {"subject": subj, "reason": "by letter"})
        req = r["request"]
        self.assertEqual(sorted(x["id"] for x in r["scheduled"]), ["fs-a", "fs-b"], r)
        self.wait_state(["fs-a", "fs-b"], "deleted", 20)
        self.assertEqual([p for p in old if os.path.exists(p)], [])
        # no status call in between: nothing but the deletions closes the request
        new = file("c.txt")
        created = int(time.time())
        res = self.put([doc("fs-c", subj, backend="fs", locator={"path": new})
                        | {"events": {"created": created}}])
        self.assertEqual(res["records"][0]["state"], "active", res)
        g = d.get("fs-c")
        self.assertEqual([(e["action"], e["rule"], parse_time(e["at"]))
                          for e in g["schedule"]],
                         [("delete", "x-del", years_after(created, 5))], g)
        stays(lambda: d.state("fs-c") == "active" and os.path.exists(new), 2.0,
              what="the new record staying active and its file in place")
        wait_for(lambda: self.completed(req), 10, what="erase.completed for " + req)
        # a new request covers it
        r2 = d.ok("erase", {"subject": subj, "reason": "asked again"})
        self.assertEqual([x["id"] for x in r2["scheduled"]], ["fs-c"], r2)
        self.wait_state(["fs-c"], "deleted", 20)
        self.assertFalse(os.path.exists(new))
        self.assertTombstone("fs-c", rule="erasure:" + r2["request"])


class ReadCommands(ErasureTestCase):

    def args_for(self, cmd):
        now = int(time.time())
        a = {"status": None, "record.get": {"id": "rd-held"}, "explain": {"id": "rd-held"},
             "plan": {"until": now + 10 * 365 * DAY}, "subject.show": {"subject": "person:rd"},
             "rules.list": None, "rules.check": None, "review.list": None,
             "jobs.list": None, "audit.query": {"limit": 100}, "audit.verify": None,
             "audit.check": None,
             "report": {"since": "2000-01-01", "until": "2100-01-01"}}
        if cmd not in a:
            raise AssertionError("read command %s has no arguments in this test: add them"
                                 % cmd)
        return a[cmd]

    def snapshot(self):
        """The bytes of every file the daemon writes state to (the SQLite -shm file holds
        readers' marks only and is left out)."""
        out = {}
        for p in (os.path.join(self.d.state_dir, "inventory.db"),
                  os.path.join(self.d.state_dir, "inventory.db-wal"), self.d.audit_log):
            try:
                with open(p, "rb") as f:
                    out[p] = f.read()
            except FileNotFoundError:
                out[p] = None
        return out

    def test_read_commands_change_nothing(self):
        """Every command marked read-only changes neither the inventory nor the audit
        log, also with erasure requests open (status used to close the requests whose
        records were all held, outside any transaction and without an audit entry)."""
        self.backend("nb")
        d = self.up({"nb": {}})
        subj = "person:rd"
        self.put([doc("rd-held", subj), doc("rd-queued", subj, backend="off"),
                  doc("rd-kept", "person:kept", category="x.kept")])
        d.ok("hold.place", {"id": "rd-held", "hold": "lit", "reason": "litigation"})
        req = d.ok("erase", {"subject": subj, "reason": "request"})["request"]
        d.ok("erase", {"subject": "person:kept", "reason": "request"})
        d.ok("erase", {"subject": "person:nobody", "reason": "no records"})
        wait_for(lambda: d.state("rd-queued") == "queued", 10, what="rd-queued queued")
        # what the state changes started has finished: nothing more is written
        before = self.snapshot()
        stays(lambda: self.snapshot() == before, 1.0, what="a quiet inventory and audit log")
        cmds = read_commands()
        self.assertIn("status", cmds)
        self.assertIn("report", cmds)
        for rnd in range(2):
            for cmd in cmds:
                d.ok(cmd, self.args_for(cmd))
        d.ok("rules.check", {"text": "rule y { category y; delete immediately after z }"})
        after = self.snapshot()
        for p in before:
            self.assertTrue(before[p] == after[p],
                            "%s changed during read commands %s" % (p, ", ".join(cmds)))
        ers = self.open_requests()
        self.assertEqual(ers[req]["pending"], 2, ers)


class Completion(ErasureTestCase):
    CONFIG_EXTRA = "erasure-deadline 12 hours\n"

    def test_status_lists_open_requests_and_completion_is_audited(self):
        """status lists each open request with its deadline, pending count and risk; the
        request completes, with an erase.completed entry, when its last record is deleted."""
        b = self.backend("nb", "--delay-ms", "1500")
        d = self.up({"nb": {}})
        subj = "person:c"
        self.put([doc("c-1", subj), doc("c-2", subj), doc("c-keep", subj, category="x.kept"),
                  doc("c-other", "person:other")])
        r = d.ok("erase", {"subject": subj, "reason": "GDPR art. 17"})
        req = r["request"]
        requested = parse_time(r["requested"])
        self.assertEqual(parse_time(r["deadline"]), requested + 12 * 3600, r)
        self.assertEqual([(x["id"], x["rule"]) for x in r["retained"]],
                         [("c-keep", "x-keep")], r)
        ers = self.open_requests()
        self.assertEqual(list(ers), [req], ers)
        e = ers[req]
        self.assertEqual((e["subject"], e["pending"], e["at_risk"]), (subj, 2, True), e)
        self.assertEqual(parse_time(e["requested"]), requested, e)
        self.assertEqual(parse_time(e["deadline"]), requested + 12 * 3600, e)
        self.assertEqual(self.completed(req), [], "completed while records are pending")
        self.wait_state(["c-1", "c-2"], "deleted", 20)
        wait_for(lambda: req not in self.open_requests(), 10,
                 what="the request to leave status once its last record is deleted")
        wait_for(lambda: self.completed(req), 5, what="erase.completed for " + req)
        [c] = self.completed(req)
        self.assertEqual({k: c["detail"].get(k) for k in
                          ("request", "deleted", "anonymized", "retained", "forgotten")},
                         {"request": req, "deleted": 2, "anonymized": 0, "retained": 1,
                          "forgotten": 0}, c)
        # written after the deletions it reports
        log = self.audit()
        done = [i for i, x in enumerate(log) if x["type"] == "job.done"
                and x.get("record") in ("c-1", "c-2")]
        self.assertEqual(len(done), 2, log)
        self.assertGreater(log.index(c), max(done))
        self.assertEqual(sorted(b.records()), ["c-1", "c-2"])
        self.assertEqual(d.state("c-keep"), "active")
        self.assertEqual(d.state("c-other"), "active")

    def test_open_request_with_default_deadline(self):
        """The deadline is erasure-deadline (here 30 calendar days, the default) after the
        request, and not at risk until a day before it."""
        self.backend("nb")
        d = self.up({"nb": {}}, config_extra="")
        self.put([doc("dd-1", "person:dd", backend="off")])
        r = d.ok("erase", {"subject": "person:dd", "reason": "x"})
        e = self.open_requests()[r["request"]]
        self.assertEqual(parse_time(e["deadline"]), days_after(parse_time(e["requested"]), 30))
        self.assertEqual((e["pending"], e["at_risk"]), (1, False), e)

    def test_only_retained_records_complete_at_once(self):
        """A request whose records are all retained by a rule's duty, or which finds no
        record, does not wait: it completes at once."""
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("k-1", "person:k", category="x.kept")])
        r1 = d.ok("erase", {"subject": "person:k", "reason": "x"})["request"]
        r2 = d.ok("erase", {"subject": "person:none", "reason": "x"})["request"]
        self.assertEqual(self.open_requests(), {})
        [c1] = self.completed(r1)
        self.assertEqual((c1["detail"]["retained"], c1["detail"]["deleted"]), (1, 0), c1)
        [c2] = self.completed(r2)
        self.assertEqual(c2["detail"]["records"], 0, c2)

    def test_retained_until_a_keep_ends_then_deleted_under_the_request(self):
        """A keep rule with an end retains the record: the request does not wait for it
        (it completes at once), but the record stays covered, and when the duty ends it is
        deleted under the request, though no rule of its own would ever delete it."""
        b = self.backend("nb")
        d = self.up({"nb": {}})
        created = int(time.time())
        self.put([doc("s-1", "person:s", category="x.short") | {"events": {"created": created}}])
        self.assertEqual(d.get("s-1")["schedule"], [])
        r = d.ok("erase", {"subject": "person:s", "reason": "x"})
        req = r["request"]
        [ret] = r["retained"]
        self.assertEqual((ret["id"], ret["rule"], ret["pending"]), ("s-1", "x-short", False), r)
        self.assertEqual(parse_time(ret["until"]), created + 4, r)
        self.assertEqual(self.open_requests(), {})
        [c] = self.completed(req)
        self.assertEqual((c["detail"]["retained"], c["detail"]["deleted"]), (1, 0), c)
        self.wait_state(["s-1"], "deleted", 20)
        self.assertTombstone("s-1", rule="erasure:" + req)
        self.assertEqual(b.records(), ["s-1"])

    def test_anonymised_record_is_no_longer_covered(self):
        """A covered record that is anonymised leaves the request (nothing identifying is
        left to erase): the request completes counting it, and its own rules go on. A
        record anonymised before a request is not covered at all."""
        b = self.backend("nb", "--delay-ms", "3000")
        d = self.up({"nb": {}})
        created = int(time.time()) - 60
        self.put([doc("a-1", "person:a", category="x.anon")
                  | {"events": {"created": created, "due": created}}])
        wait_for(lambda: b.log(), 10, what="the anonymisation job to be sent")
        # the job is out: the request covers the record, which goes on being anonymised
        r = d.ok("erase", {"subject": "person:a", "reason": "x"})
        req = r["request"]
        self.assertEqual((r["records"], r["anonymized"]), (1, []), r)
        wait_for(lambda: self.completed(req), 20, what="the request to complete")
        [c] = self.completed(req)
        self.assertEqual((c["detail"]["anonymized"], c["detail"]["deleted"]), (1, 0), c)
        g = d.get("a-1")
        self.assertEqual(g["state"], "anonymized", g)
        self.assertEqual([(e["action"], e["rule"], parse_time(e["at"])) for e in g["schedule"]],
                         [("delete", "x-anon-del", years_after(created, 5))], g)
        self.assertEqual([(e.action, e.record) for e in b.log()], [("anonymize", "a-1")])
        # already anonymised: a new request lists it apart and does not cover it
        r2 = d.ok("erase", {"subject": "person:a", "reason": "again"})
        self.assertEqual((r2["records"], r2["pending"], [x["id"] for x in r2["anonymized"]]),
                         (0, 0, ["a-1"]), r2)
        self.assertEqual(self.open_requests(), {})
        self.assertEqual(d.state("a-1"), "anonymized")

    def test_unmanaged_record_keeps_the_request_open_until_forgotten(self):
        """No rule names the category: nothing retains the record and nothing deletes it,
        so the request stays open (a gap to close) until record.forget says it is gone."""
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("u-1", "person:u", category="x.unknown")])
        req = d.ok("erase", {"subject": "person:u", "reason": "x"})["request"]
        self.assertEqual(self.open_requests()[req]["pending"], 1)
        d.ok("record.forget", {"id": "u-1"})
        # closed in the forget's own transaction: at once, its entry right after the forget's
        self.assertNotIn(req, self.open_requests())
        log = self.audit()
        i = [n for n, e in enumerate(log) if e["type"] == "record.forget"][-1]
        self.assertEqual(log[i + 1]["type"], "erase.completed", log[i:])
        [c] = self.completed(req)
        self.assertEqual((c["detail"]["forgotten"], c["detail"]["deleted"]), (1, 0), c)
        # the id put again is a new record: not covered
        res = self.put([doc("u-1", "person:u")])
        self.assertEqual(res["records"][0]["state"], "active", res)


class FailClosed(ErasureTestCase):

    def rename(self, old, new):
        db = sqlite3.connect(os.path.join(self.d.state_dir, "inventory.db"), timeout=30)
        db.execute("ALTER TABLE %s RENAME TO %s" % (old, new))
        db.commit()
        db.close()

    def test_unreadable_requests_stop_every_action(self):
        """The records erasure requests cover cannot be read: every record is taken as
        held, as under an unreadable hold (a request might cover it), and nothing is sent,
        not even what its own rule makes due; once they can be read again the daemon
        sends by itself (it used to take a failed lookup for "no request")."""
        b = self.backend("nb")
        d = self.up({"nb": {}})
        # an open request, kept open by its unmanaged record
        self.put([doc("fc-u", "person:fc", category="x.none")])
        self.assertEqual(d.ok("erase", {"subject": "person:fc", "reason": "x"})["pending"], 1)
        created = int(time.time())
        self.put([doc("fc-soon", "person:other", category="x.soon")
                  | {"events": {"created": created}}])
        self.assertEqual(d.state("fc-soon"), "active")
        # behind the daemon's back: the covered records can no longer be read
        self.rename("erasure_records", "erasure_records_away")
        wait_for(lambda: time.time() > created + 4, 10, what="fc-soon's deadline")
        stays(lambda: b.log() == [], 3.0, what="no job sent while requests are unknown")
        self.assertIn("cannot move due records", d.stderr())
        self.assertFalse([e for e in self.audit("job.sent")], "sent while unknown")
        self.rename("erasure_records_away", "erasure_records")
        self.wait_state(["fc-soon"], "deleted", 45)
        self.assertTombstone("fc-soon", rule="x-soon")
        self.assertEqual(b.records(), ["fc-soon"])
        self.assertEqual(d.state("fc-u"), "unmanaged")


def schema_v1():
    """The inventory's schema version 1, as lib/inv_sqlite.c writes it."""
    with open(os.path.join(REPO, "lib", "inv_sqlite.c"), encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"static const char schema_v1\[\] =\n(.*?);\n", src, re.S)
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))


class Migration(ErasureTestCase):

    def test_open_request_of_schema_1_covers_what_its_subject_had(self):
        """An inventory of schema version 1 (a request caught every record of its subject,
        also ones put later) is migrated: its open request covers the records inserted by
        the time it was made, and every schedule is decided again at start-up."""
        now = int(time.time())
        t = now - 1000  # the request's time
        os.makedirs(self.d.state_dir)
        db = sqlite3.connect(os.path.join(self.d.state_dir, "inventory.db"))
        db.executescript(schema_v1())
        for rid, created in (("m-old", t - 100), ("m-new", t + 100)):
            # as the old code stored them: both under the request, due
            db.execute("INSERT INTO records(id, category, subject, backend, locator, events, "
                       "attributes, state, created, updated, del_at, del_rule, next_at, "
                       "next_backend) VALUES(?, 'x.doc', 'person:m', 'nb', '{}', ?, '{}', "
                       "'active', ?, ?, ?, 'erasure:R-000001', ?, 'nb')",
                       (rid, json.dumps({"created": created}), created, created, t, t + 10**8))
        db.execute("INSERT INTO erasures VALUES('R-000001', 'person:m', ?, ?, 'letter', "
                   "'uid:0', NULL)", (t, t + 30 * DAY))
        db.executemany("INSERT INTO meta VALUES(?, ?)",
                       [("erasure_seq", "1"), ("rules_hash", "0" * 64),
                        ("timezone", "Europe/Oslo")])
        db.execute("PRAGMA user_version = 1")
        db.commit()
        db.close()
        b = self.backend("nb")
        d = self.up({"nb": {}})
        self.wait_state(["m-old"], "deleted", 20)
        self.assertTombstone("m-old", rule="erasure:R-000001")
        g = d.get("m-new")
        self.assertEqual(g["state"], "active", g)
        self.assertEqual([(e["rule"], parse_time(e["at"])) for e in g["schedule"]],
                         [("x-del", years_after(t + 100, 5))], g)
        wait_for(lambda: self.completed("R-000001"), 10, what="R-000001 to complete")
        self.assertEqual(b.records(), ["m-old"])
        ro = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.d.state_dir,
                                                              "inventory.db"), uri=True)
        self.assertEqual(ro.execute("PRAGMA user_version").fetchone()[0], 6)
        ro.close()
        self.assertEqual(d.ok("erase", {"subject": "person:m", "reason": "again"})["request"],
                         "R-000002")


if __name__ == "__main__":
    main()
