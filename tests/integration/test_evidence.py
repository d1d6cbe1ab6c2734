#!/usr/bin/env python3
"""Integration tests of the evidence the audit entries carry (doc/audit-format.md): job
entries say when the action was due, on what event and rules, whose record it was, when
it was first sent and what came of it; a `gone` answer is kept apart from a deletion;
record entries say what changed (names only) and what was scheduled, and an unchanged
re-put writes nothing; rules.loaded carries each rule's canonical text.

The real daemon (build/asan/retentiond) over its real sockets, the real null backend
(build/tests/null_backend), and for the `gone` answer a backend the test plays itself
over the backend protocol (dispatch_util.ScriptedBackend).
Run: python3 tests/integration/test_evidence.py
"""

import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, ScriptedBackend, with_rules  # noqa: E402
import invariants  # noqa: E402
from harness import UNDO_SCHEMA_5, main, parse_time, rfc3339, wait_for  # noqa: E402

T_RULES = ('rule t-due { category t.doc; delete immediately after due; '
           'basis "test: deleted at its due event" }\n'
           'rule t-later { category t.later; delete 10 years after due }\n')

PAST = "2001-06-01T10:00:00+02:00"
FUTURE = "2036-06-01T10:00:00+02:00"
SECRET = "VALUE-xyzzy-4711"  # an attribute value: must never reach the log


def doc(rid, due=PAST, backend="nb", category="t.doc", **kw):
    r = {"id": rid, "category": category, "subject": "person:" + rid, "backend": backend,
         "locator": {"path": "/srv/t/%s.pdf" % rid}, "events": {"due": due}}
    r.update(kw)
    return r


class Evidence(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def entries(self, type_=None, record=None):
        out = []
        with open(self.d.audit_log, encoding="ascii") as f:
            for ln in f:
                e = json.loads(ln)
                if (type_ is None or e["type"] == type_) and \
                        (record is None or e.get("record") == record):
                    out.append(e)
        return out

    def rules_hash(self):
        return self.d.ok("status")["rules"]["hash"]

    # --- job entries ------------------------------------------------------------------

    def test_job_entries_carry_their_evidence(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("a1"), doc("a2", due="2002-02-02T02:02:02Z")])
        self.wait_state(["a1", "a2"], "deleted")
        wait_for(lambda: len(self.entries("job.done")) == 2, what="two job.done entries")
        h = self.rules_hash()
        for rid, due in (("a1", PAST), ("a2", "2002-02-02T02:02:02Z")):
            sent = self.entries("job.sent", rid)
            done = self.entries("job.done", rid)
            self.assertEqual(len(sent), 1, sent)
            self.assertEqual(len(done), 1, done)
            s, x = sent[0], done[0]
            for e in (s, x):
                det = e["detail"]
                self.assertEqual(parse_time(det["due"]), parse_time(due), e)
                self.assertEqual(det["anchor"], "due", e)
                self.assertEqual(parse_time(det["anchor_time"]), parse_time(due), e)
                self.assertEqual(det["rules"], h, e)
                self.assertEqual(det["subject"], d.pseudonym("person:" + rid), e)
                self.assertEqual(e["rule"], "t-due", e)
            self.assertLessEqual(parse_time(s["detail"]["due"]), parse_time(s["time"]), s)
            self.assertNotIn("sent", s["detail"], s)
            self.assertNotIn("outcome", s["detail"], s)
            self.assertEqual(x["detail"]["outcome"], "deleted", x)
            self.assertEqual(x["detail"]["status"], "done", x)
            # the first send: by the clock of the transaction that wrote the job.sent entry
            first = parse_time(x["detail"]["sent"])
            self.assertLessEqual(first, parse_time(s["time"]), (s, x))
            self.assertLessEqual(parse_time(s["time"]) - first, 5, (s, x))
            self.assertLessEqual(parse_time(due), first, x)
            self.assertLessEqual(parse_time(x["detail"]["sent"]), parse_time(x["time"]), x)
            g = self.assertTombstone(rid, job=s["job"], rule="t-due")
            self.assertEqual(g["deleted"]["outcome"], "deleted", g)
        jobs = {j["record"]: j for j in self.jobs()}
        self.assertEqual({r: j["outcome"] for r, j in jobs.items()},
                         {"a1": "deleted", "a2": "deleted"}, jobs)
        d.stop()  # the invariants check the inventory and the log after tearDown too

    def test_gone_is_not_found_not_deleted(self):
        self.backend("nb")
        sb = ScriptedBackend(self.d.dir, "sb")
        try:
            d = self.up({"nb": {}}, blocks=sb.config())
            sb.accept().hello()
            self.put([doc("g1", backend="sb"), doc("k1")])
            job = sb.readline()
            self.assertEqual((job.get("type"), job["record"]["id"]), ("job", "g1"), job)
            sb.send({"type": "result", "job": job["job"], "status": "gone"})
            self.wait_state(["g1", "k1"], "deleted")
            g = self.assertTombstone("g1", job=job["job"], rule="t-due")
            self.assertEqual(g["deleted"]["outcome"], "not_found", g)
            self.assertEqual(self.d.get("k1")["deleted"]["outcome"], "deleted")
            jobs = {j["record"]: j for j in self.jobs()}
            self.assertEqual(jobs["g1"]["outcome"], "not_found", jobs["g1"])
            self.assertEqual(jobs["g1"]["state"], "done", jobs["g1"])
            self.assertEqual(jobs["k1"]["outcome"], "deleted", jobs["k1"])
            wait_for(lambda: self.entries("job.done", "g1"), what="g1's job.done")
            x = self.entries("job.done", "g1")[0]
            self.assertEqual((x["detail"]["status"], x["detail"]["outcome"]),
                             ("gone", "not_found"), x)
            # the report counts what the backend deleted apart from what was not there
            rows = d.ok("report", {"since": "2000-01-01T00:00:00Z",
                                    "until": "2100-01-01T00:00:00Z"})["inventory"]["by_rule"]
            self.assertEqual([(r["rule"], r["deleted"], r["not_found"]) for r in rows],
                             [("t-due", 1, 1)], rows)
            d.stop()
        finally:
            sb.close()

    def test_audit_query_by_subject_finds_the_job_entries(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("s1", subject="person:alice"), doc("s2", subject="person:alice"),
                  doc("s3", subject="person:bob")])
        self.wait_state(["s1", "s2", "s3"], "deleted")
        wait_for(lambda: len(self.entries("job.done")) == 3, what="three job.done entries")
        got = d.ok("audit.query", {"subject": "person:alice", "type": "job.",
                                   "limit": 1000})["entries"]
        self.assertEqual(sorted((e["type"], e["record"]) for e in got),
                         [("job.done", "s1"), ("job.done", "s2"), ("job.sent", "s1"),
                          ("job.sent", "s2")], got)
        for e in got:
            self.assertEqual(e["detail"]["subject"], d.pseudonym("person:alice"), e)
            self.assertNotIn("person:alice", json.dumps(e), e)

    def test_schema_2_inventory_gains_outcomes(self):
        """An inventory of schema version 2 (before jobs and tombstones kept their outcome):
        the migration tells a `gone` tombstone from a deletion by the note its job kept, and
        gives jobs what can still be told (the subject of a live record, the first send of
        a job sent once)."""
        self.backend("nb")
        sb = ScriptedBackend(self.d.dir, "sb")
        try:
            d = self.up({"nb": {}}, blocks=sb.config())
            sb.accept().hello()
            self.put([doc("m1", backend="sb"), doc("m2"),
                      doc("m3", due=FUTURE, category="t.later")])
            job = sb.readline()
            sb.send({"type": "result", "job": job["job"], "status": "gone"})
            self.wait_state(["m1", "m2"], "deleted")
            d.stop()
        finally:
            sb.close()
        path = os.path.join(self.d.state_dir, "inventory.db")
        db = sqlite3.connect(path)
        db.executescript(
            UNDO_SCHEMA_5 +
            "ALTER TABLE jobs DROP COLUMN subject; ALTER TABLE jobs DROP COLUMN anchor;"
            "ALTER TABLE jobs DROP COLUMN anchor_time; ALTER TABLE jobs DROP COLUMN first_sent;"
            "ALTER TABLE jobs DROP COLUMN outcome;"
            "ALTER TABLE records DROP COLUMN deleted_outcome;"
            "ALTER TABLE erasures DROP COLUMN deadline_set_by; PRAGMA user_version = 2;")
        db.close()
        d.start()
        self.assertEqual(d.get("m1")["deleted"]["outcome"], "not_found")
        self.assertEqual(d.get("m2")["deleted"]["outcome"], "deleted")
        self.assertEqual({j["record"]: j["outcome"] for j in self.jobs()},
                         {"m1": "not_found", "m2": "deleted"})
        ro = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        self.assertEqual(ro.execute("PRAGMA user_version").fetchone()[0], 6)
        rows = ro.execute("SELECT record, first_sent = sent_at, anchor FROM jobs ORDER BY "
                          "record").fetchall()
        ro.close()
        self.assertEqual(rows, [("m1", 1, None), ("m2", 1, None)])

    def test_invariants_catch_wrong_evidence(self):
        """invariants.py fails a log whose job.sent is due after it was sent or says no
        due, and a tombstone whose outcome is not its job.done's."""
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("i1")])
        self.wait_state(["i1"], "deleted")
        wait_for(lambda: self.entries("job.done", "i1"), what="i1's job.done")
        d.stop()
        tmp = tempfile.mkdtemp(prefix="test_evidence.")
        try:
            def run(edit_entry=None, sql=None):
                state = os.path.join(tmp, "state")
                shutil.rmtree(state, ignore_errors=True)
                shutil.copytree(d.state_dir, state)
                log = os.path.join(tmp, "audit.log")
                with open(d.audit_log, encoding="ascii") as f, open(log, "w") as out:
                    for ln in f:
                        e = json.loads(ln)
                        if edit_entry:
                            edit_entry(e)
                        out.write(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n")
                if sql:
                    db = sqlite3.connect(os.path.join(state, "inventory.db"))
                    db.execute(sql)
                    db.commit()
                    db.close()
                rep = invariants.check(state, log, skip={"chain": "the log was edited"})
                return [v.check + ": " + v.message for v in rep.violations]

            self.assertEqual(run(), [])

            def late_due(e):
                if e["type"] == "job.sent":
                    e["detail"]["due"] = rfc3339(parse_time(e["time"]) + 60)
            got = run(late_due)
            self.assertTrue([v for v in got if v.startswith("early:") and
                             "before its own due" in v], got)

            def no_due(e):
                if e["type"] == "job.sent":
                    del e["detail"]["due"]
            got = run(no_due)
            self.assertTrue([v for v in got if "carries no due" in v], got)
            got = run(sql="UPDATE records SET deleted_outcome = 'not_found'")
            self.assertTrue([v for v in got if v.startswith("done:") and "tombstone" in v],
                            got)

            def first_sent_before_due(e):
                if e["type"] == "job.done":
                    e["detail"]["sent"] = rfc3339(parse_time(e["detail"]["due"]) - 1)
            got = run(first_sent_before_due)
            self.assertTrue([v for v in got if "before its due" in v], got)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- record entries ---------------------------------------------------------------

    def test_record_put_says_what_changed_never_values(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        d.ok("record.put", doc("p1", due=FUTURE, category="t.later",
                               attributes={"note": SECRET, "flag": True}))
        e = self.entries("record.put", "p1")[-1]["detail"]
        self.assertIs(e["inserted"], True, e)
        self.assertEqual(e["changed"], ["flag", "note"], e)
        self.assertEqual(sorted(e["events"]), ["created", "due"], e)
        self.assertEqual(parse_time(e["events"]["due"]), parse_time(FUTURE), e)
        self.assertEqual(e["subject"], d.pseudonym("person:p1"), e)
        self.assertEqual(e["state"], "active", e)
        self.assertEqual(e["schedule"],
                         [{"action": "delete", "rule": "t-later",
                           "due": e["schedule"][0]["due"]}], e)
        self.assertEqual(parse_time(e["schedule"][0]["due"]),
                         parse_time("2046-06-01T10:00:00+02:00"), e)
        # one attribute changed, one removed, one added: their names, no values
        d.ok("record.put", doc("p1", due=FUTURE, category="t.later",
                               attributes={"note": SECRET + "-2", "size": 3}))
        e = self.entries("record.put", "p1")[-1]["detail"]
        self.assertIs(e["inserted"], False, e)
        self.assertEqual(e["changed"], ["flag", "note", "size"], e)
        # only an event changed: no attribute name
        d.ok("record.put", doc("p1", due="2037-01-01T00:00:00Z", category="t.later",
                               attributes={"note": SECRET + "-2", "size": 3}))
        e = self.entries("record.put", "p1")[-1]["detail"]
        self.assertEqual(e["changed"], [], e)
        self.assertEqual(parse_time(e["schedule"][0]["due"]),
                         parse_time("2047-01-01T00:00:00Z"), e)
        # record.event: the events after it, nothing changed among the attributes
        d.ok("record.event", {"id": "p1", "event": "due", "at": "2038-01-01T00:00:00Z"})
        ev = self.entries("record.event", "p1")[-1]["detail"]
        self.assertEqual(parse_time(ev["events"]["due"]), parse_time("2038-01-01T00:00:00Z"))
        self.assertEqual(ev["changed"], [], ev)
        self.assertEqual([(s["action"], s["rule"], parse_time(s["due"]))
                          for s in ev["schedule"]],
                         [("delete", "t-later", parse_time("2048-01-01T00:00:00Z"))], ev)
        # a record with nothing scheduled leaves "schedule" out
        d.ok("record.put", {"id": "u1", "category": "no.such.category"})
        self.assertNotIn("schedule", self.entries("record.put", "u1")[-1]["detail"])
        with open(d.audit_log, "rb") as f:
            self.assertNotIn(SECRET.encode(), f.read())

    def test_unchanged_reput_writes_one_entry_and_nothing_else(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        recs = [doc("u%03d" % i, due=FUTURE, category="t.later",
                    attributes={"n": i, "tag": "x"}) for i in range(100)]
        r = self.put(recs)
        self.assertEqual(r["inserted"], 100, r)
        self.assertEqual(len(self.entries("record.put")), 100)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.state_dir, "inventory.db"),
                             uri=True)
        before = db.execute("SELECT id, updated, state, next_at FROM records ORDER BY id"
                            ).fetchall()
        n_entries = len(self.entries())
        # the same records again, their attributes given in another order
        again = [dict(x, attributes={"tag": "x", "n": x["attributes"]["n"]}) for x in recs]
        r = self.put(again)
        self.assertEqual((r["count"], r["inserted"]), (100, 0), r)
        new = self.entries()[n_entries:]
        self.assertEqual([(e["type"], e["detail"], e["actor"][:4]) for e in new],
                         [("record.unchanged", {"records": 100}, "uid:")], new)
        self.assertNotIn("record", new[0])
        after = db.execute("SELECT id, updated, state, next_at FROM records ORDER BY id"
                           ).fetchall()
        self.assertEqual(before, after)
        # one record changed among 99 unchanged: its record.put, and 99 unchanged
        again[7] = dict(again[7], attributes={"n": 7, "tag": "y"})
        n_entries = len(self.entries())
        self.put(again)
        new = self.entries()[n_entries:]
        self.assertEqual([(e["type"], e.get("record")) for e in new],
                         [("record.put", "u007"), ("record.unchanged", None)], new)
        self.assertEqual(new[0]["detail"]["changed"], ["tag"], new[0])
        self.assertEqual(new[1]["detail"], {"records": 99}, new[1])
        db.close()

    # --- rules.loaded -----------------------------------------------------------------

    def test_rules_loaded_definitions_hash_their_text(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        e = self.entries("rules.loaded")[-1]["detail"]
        listed = d.ok("rules.list")
        self.assertEqual(e["hash"], listed["hash"])
        defs = e["definitions"]
        self.assertEqual(len(defs), e["rules"], defs)
        self.assertEqual(sorted(x["name"] for x in defs),
                         sorted(r["rule"] for r in listed["rules"]))
        for x in defs:
            self.assertEqual(hashlib.sha256(x["text"].encode("utf-8")).hexdigest(), x["hash"],
                             x)
            self.assertTrue(x["text"].startswith("rule %s\n" % x["name"]), x)
            self.assertIn(x["file"], e["files"], x)
            self.assertIsInstance(x["line"], int, x)
            self.assertIsInstance(x["categories"], list, x)
        t = {x["name"]: x for x in defs}
        self.assertEqual((t["t-due"]["action"], t["t-due"]["span"], t["t-due"]["anchor"],
                          t["t-due"]["categories"]), ("delete", "immediately", "due", ["t.doc"]))
        self.assertEqual((t["t-later"]["span"], t["t-later"]["anchor"]), ("10 years", "due"))
        keeps = [x for x in defs if x["action"] == "keep" and "span" not in x]
        for x in keeps:
            self.assertNotIn("anchor", x, x)


if __name__ == "__main__":
    main()
