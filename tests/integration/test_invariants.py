#!/usr/bin/env python3
"""Tests of tests/integration/invariants.py, the checker the harness runs after every
integration test, and of its hook in harness.py.

Each fixture is a small inventory and audit log built by hand: the inventory starts as
the empty one a real daemon made (so its schema is the daemon's own, migrations and
all), rows are inserted with sqlite3, and audit entries are appended with their chain
hashes computed here (doc/audit-format.md).  A clean fixture, exercising every kind of
job state, holds and a rotation, passes; each test then breaks one invariant and
checks that the checker names it, with the job or record that shows it.
Run: python3 tests/integration/test_invariants.py
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import invariants  # noqa: E402
from harness import Daemon, HarnessError, main, rfc3339  # noqa: E402

T0 = 1780000000  # 2026-05-28: every fixture's times count from here
RULES = {"t.rules": 'rule t-due { category t.doc t.cat; delete immediately after due; '
                    'basis "test" }\n'}


def canon(e):
    return json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class Fixture:
    """A state directory and audit log to check, built by hand from a template."""

    def __init__(self, template, where):
        self.dir = where
        shutil.copytree(template, where, dirs_exist_ok=True)
        self.state_dir = os.path.join(where, "state")
        self.audit_log = os.path.join(where, "audit.log")
        # The entries written here name subjects in clear, as a log of a version before
        # pseudonyms did: without the key the checker compares them as they are.
        key = os.path.join(self.state_dir, "subject.key")
        if os.path.exists(key):
            os.unlink(key)
        self.db = sqlite3.connect(os.path.join(self.state_dir, "inventory.db"),
                                  isolation_level=None)
        with open(self.audit_log, encoding="ascii") as f:
            last = json.loads(f.read().splitlines()[-1])
        self.seq, self.prev = last["seq"], last["hash"]

    # the log
    def entry(self, type_, t, actor="scheduler", detail=None, **members):
        e = {"seq": self.seq + 1, "time": rfc3339(t), "type": type_, "actor": actor,
             "prev": self.prev}
        e.update({k: v for k, v in members.items() if v is not None})
        if detail is not None:
            e["detail"] = detail
        e["hash"] = hashlib.sha256((self.prev + canon(e)).encode()).hexdigest()
        with open(self.audit_log, "a", encoding="ascii") as f:
            f.write(canon(e) + "\n")
        self.seq, self.prev = e["seq"], e["hash"]
        return e

    def rotate(self, t):
        """What rtn_audit_rotate does: the file moves aside, the new one continues it."""
        old = self.audit_log + ".20260528T000000"
        os.rename(self.audit_log, old)
        self.entry("audit.rotated", t, actor="daemon",
                   detail={"previous": old, "previous_head": self.prev})
        return old

    def put(self, rid, t, subject, category="t.doc"):
        self.entry("record.put", t, actor="uid:0", record=rid, category=category,
                   detail={"inserted": True, "state": "queued", "subject": subject})

    def job_entry(self, type_, job, rid, t, category="t.doc", **detail):
        self.entry(type_, t, record=rid, category=category, rule="t-due", basis="test",
                   job=job, detail=dict({"action": "delete", "backend": "nb"}, **detail))

    def hold(self, place, t, kind, value, name="h"):
        d = {"hold": name, "selector": kind, "records": 1}
        if place:
            d["reason"] = "litigation"
        if kind == "subject":
            d["subject"] = value
        self.entry("hold.place" if place else "hold.release", t, actor="uid:0",
                   record=value if kind == "id" else None,
                   category=value if kind == "category" else None, detail=d)

    # the inventory
    def record(self, rid, category="t.doc", subject=None, state="active", tombstone_of=None,
               anonymized_at=None, t=T0):
        """A records row; tombstone_of=JOB makes it the tombstone a deletion leaves."""
        if tombstone_of:
            self.db.execute(
                "INSERT INTO records(id, category, events, attributes, state, created, "
                "updated, deleted_at, deleted_rule, deleted_job) VALUES(?, ?, '{}', '{}', "
                "'deleted', ?, ?, ?, 't-due', ?)", (rid, category, t, t, t + 20, tombstone_of))
        else:
            self.db.execute(
                "INSERT INTO records(id, category, subject, backend, locator, events, "
                "attributes, state, created, updated, anonymized_at) VALUES(?, ?, ?, 'nb', "
                "'{\"p\":1}', '{}', '{\"a\":1}', ?, ?, ?, ?)",
                (rid, category, subject, state, t, t, anonymized_at))
        return self.db.execute("SELECT rid FROM records WHERE id = ?", (rid,)).fetchone()[0]

    def job(self, job, rid_row, rid, state, attempts, due, action="delete", sent_at=None,
            category="t.doc", last_error=None, t=T0):
        self.db.execute(
            "INSERT INTO jobs(job, rid, record, category, action, rule, due, backend, state, "
            "attempts, sent_at, last_error, created, updated) VALUES(?, ?, ?, ?, ?, 't-due', "
            "?, 'nb', ?, ?, ?, ?, ?, ?)",
            (job, rid_row, rid, category, action, due, state, attempts, sent_at, last_error,
             t, t))

    def hold_row(self, kind, value, name="h", t=T0):
        self.db.execute("INSERT INTO holds(kind, value, hold, reason, placed_at, placed_by) "
                        "VALUES(?, ?, ?, 'litigation', ?, 'uid:0')", (kind, value, name, t))

    def check(self, recount=True, **kw):
        if recount:
            recount_inventory(self.db)
        self.db.close()
        return invariants.check(self.state_dir, self.audit_log, verifier=harness.DAEMON, **kw)


def recount_inventory(db):
    """The counts the daemon keeps as it writes, made for rows written here by hand."""
    db.executescript(
        "DELETE FROM counts;"
        "INSERT INTO counts SELECT 'record', state, '', count(*) FROM records GROUP BY state;"
        "INSERT INTO counts SELECT 'unmanaged', category, '', count(*) FROM records"
        " WHERE state = 'unmanaged' GROUP BY category;"
        "INSERT INTO counts SELECT 'job', state, backend, count(*) FROM jobs"
        " GROUP BY state, backend;"
        "INSERT INTO counts SELECT 'done', CASE WHEN rule LIKE 'erasure:%' THEN 'erasure'"
        " ELSE rule END, coalesce(outcome, ''), count(*) FROM jobs WHERE state = 'done'"
        " AND action != 'notice' GROUP BY 2, 3;")


def build_clean(f):
    """Every kind of job the daemon leaves, each with the entries that explain it:
    a deletion done (tombstone), an anonymisation done, a job done after a failure and
    a retry, a job sent and still out, a job dead after its attempts, a dead job
    requeued by jobs.retry, a job whose retry a hold cancelled, a held record sent
    only after the release, a hold still in place, and a rotation in the middle."""
    # deletion done
    f.put("del", T0, "person:del")
    f.job_entry("job.sent", "J-del", "del", T0 + 10, attempt=1)
    f.job_entry("job.done", "J-del", "del", T0 + 11, status="done")
    f.job("J-del", f.record("del", tombstone_of="J-del"), "del", "done", 1, T0 + 10,
          sent_at=T0 + 10)
    # anonymisation done: the record lives on, anonymised
    f.put("anon", T0, "person:anon")
    f.job_entry("job.sent", "J-anon", "anon", T0 + 10, attempt=1, action="anonymize")
    f.job_entry("job.done", "J-anon", "anon", T0 + 12, status="done", action="anonymize")
    f.job("J-anon", f.record("anon", subject="person:anon", state="active",
                             anonymized_at=T0 + 12), "anon", "done", 1, T0 + 5,
          action="anonymize", sent_at=T0 + 10)
    old = f.rotate(T0 + 13)
    # failed once, sent again (plus a repeat of attempt 2 after a crash), done
    f.put("retry", T0 + 14, "person:retry")
    f.job_entry("job.sent", "J-retry", "retry", T0 + 15, attempt=1)
    f.job_entry("job.failed", "J-retry", "retry", T0 + 16, status="failed", error="busy",
                next_attempt=T0 + 20)
    f.job_entry("job.sent", "J-retry", "retry", T0 + 20, attempt=2)
    f.job_entry("job.sent", "J-retry", "retry", T0 + 21, attempt=2)
    f.job_entry("job.done", "J-retry", "retry", T0 + 22, status="gone")
    f.job("J-retry", f.record("retry", tombstone_of="J-retry"), "retry", "done", 2, T0 + 15,
          sent_at=T0 + 21)
    # out, no result yet
    f.put("out", T0 + 14, "person:out")
    f.job_entry("job.sent", "J-out", "out", T0 + 30, attempt=1)
    f.job("J-out", f.record("out", subject="person:out", state="queued"), "out", "sent", 1,
          T0 + 30, sent_at=T0 + 30)
    # dead after two attempts; its record failed
    f.put("dead", T0 + 14, "person:dead")
    f.job_entry("job.sent", "J-dead", "dead", T0 + 15, attempt=1)
    f.job_entry("job.failed", "J-dead", "dead", T0 + 16, status="failed", error="x")
    f.job_entry("job.sent", "J-dead", "dead", T0 + 18, attempt=2)
    f.job_entry("job.dead", "J-dead", "dead", T0 + 19, status="failed", error="x")
    f.job("J-dead", f.record("dead", subject="person:dead", state="failed"), "dead", "dead",
          2, T0 + 15, sent_at=T0 + 18, last_error="x (gave up after 2 attempts)")
    # dead, then requeued by jobs.retry "dead"
    f.put("again", T0 + 14, "person:again")
    f.job_entry("job.sent", "J-again", "again", T0 + 15, attempt=1)
    f.job_entry("job.dead", "J-again", "again", T0 + 16, status="failed", error="no")
    f.entry("jobs.retry", T0 + 17, actor="uid:0", detail={"requeued": 1})
    f.job("J-again", f.record("again", subject="person:again", state="queued"), "again",
          "retry", 0, T0 + 15, sent_at=T0 + 15, last_error="no")
    # failed, then its retry cancelled by a subject hold; released later
    f.put("cancel", T0 + 14, "person:cancel")
    f.job_entry("job.sent", "J-cancel", "cancel", T0 + 15, attempt=1)
    f.job_entry("job.failed", "J-cancel", "cancel", T0 + 16, status="failed", error="busy")
    f.hold(True, T0 + 17, "subject", "person:cancel")
    f.job_entry("job.cancelled", "J-cancel", "cancel", T0 + 17, reason="a hold applies (x)")
    f.hold(False, T0 + 40, "subject", "person:cancel")
    f.job("J-cancel", f.record("cancel", subject="person:cancel"), "cancel", "cancelled",
          1, T0 + 15, sent_at=T0 + 15)
    # held by category before it was due, sent only after the release
    f.hold(True, T0 + 14, "category", "t.cat")
    f.put("held", T0 + 15, "person:held", category="t.cat")
    f.hold(False, T0 + 50, "category", "t.cat")
    f.job_entry("job.sent", "J-held", "held", T0 + 51, attempt=1, category="t.cat")
    f.job("J-held", f.record("held", category="t.cat", subject="person:held",
                             state="queued"), "held", "sent", 1, T0 + 20, category="t.cat",
          sent_at=T0 + 51)
    # a hold still in place, on a record never sent
    f.put("kept", T0 + 14, "person:kept")
    f.record("kept", subject="person:kept", state="held")
    f.hold(True, T0 + 60, "id", "kept", name="lit")
    f.hold_row("id", "kept", name="lit")
    return old


class Checker(unittest.TestCase):
    """invariants.check() against hand-built fixtures."""

    @classmethod
    def setUpClass(cls):
        # The template: what a real daemon leaves after start and stop (its schema,
        # its first entries), checked by the harness's own hook as it is cleaned up.
        cls.tmp = tempfile.mkdtemp(prefix="test_invariants.")
        cls.template = os.path.join(cls.tmp, "template")
        d = Daemon(rules=RULES)
        try:
            d.stop()
            os.makedirs(cls.template)
            shutil.copytree(d.state_dir, os.path.join(cls.template, "state"))
            shutil.copy2(d.audit_log, os.path.join(cls.template, "audit.log"))
        finally:
            d.cleanup()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.f = Fixture(self.template, tempfile.mkdtemp(dir=self.tmp))
        self.rotated = build_clean(self.f)

    def has(self, rep, check, *words):
        """rep has a violation of this check that names every word; returns them all."""
        self.assertFalse(rep.ok, rep.text())
        hits = [v for v in rep.violations
                if v.check == check and all(w in v.message for w in words)]
        self.assertTrue(hits, "no %s violation names %r:\n%s" % (check, words, rep.text()))
        return hits

    def only(self, rep, check, *words):
        """rep has violations of exactly this check, one of which names every word."""
        hits = self.has(rep, check, *words)
        self.assertEqual({v.check for v in rep.violations}, {check}, rep.text())
        return hits

    # --- clean --------------------------------------------------------------------

    def test_clean_fixture_passes(self):
        rep = self.f.check()
        self.assertTrue(rep.ok, rep.text())
        self.assertEqual(rep.files, [self.rotated, self.f.audit_log], "the rotated file "
                         "is found from the current one")
        self.assertIn("audit log valid", rep.text())

    def test_command_line(self):
        recount_inventory(self.f.db)
        self.f.db.close()
        out = io.StringIO()
        with redirect_stdout(out):
            rc = invariants.main(["--verifier", harness.DAEMON, self.f.state_dir,
                                  self.f.audit_log])
        self.assertEqual(rc, 0, out.getvalue())
        self.assertIn("invariants hold", out.getvalue())
        db = sqlite3.connect(os.path.join(self.f.state_dir, "inventory.db"))
        db.execute("UPDATE records SET state = 'failed' WHERE id = 'kept'")
        db.commit()
        db.close()
        out = io.StringIO()
        with redirect_stdout(out):
            rc = invariants.main(["--verifier", harness.DAEMON, self.f.state_dir,
                                  self.f.audit_log])
        self.assertEqual(rc, 1, out.getvalue())
        self.assertIn("[dead] 1:", out.getvalue())
        self.assertIn("record 'kept' is failed", out.getvalue())

    # --- 1. sent ------------------------------------------------------------------

    def test_sent_without_entry(self):
        self.f.job("J-ghost", self.f.record("ghost", subject="p", state="queued"), "ghost",
                   "sent", 1, T0, sent_at=T0 + 70)
        self.only(self.f.check(), "sent", "J-ghost", "0 job.sent entries", "fewer than its 1")

    def test_fewer_sends_than_attempts(self):
        f = self.f
        f.put("twice", T0 + 70, "p")
        f.job_entry("job.sent", "J-twice", "twice", T0 + 71, attempt=1)
        f.job("J-twice", f.record("twice", subject="p", state="queued"), "twice", "sent", 2,
              T0 + 70, sent_at=T0 + 80)
        self.only(f.check(), "sent", "J-twice", "1 job.sent entry", "fewer than its 2 attempts")

    def test_attempt_number_missing(self):
        f = self.f
        f.put("gap", T0 + 70, "p")
        f.job_entry("job.sent", "J-gap", "gap", T0 + 71, attempt=1)
        f.job_entry("job.sent", "J-gap", "gap", T0 + 72, attempt=1)
        f.job("J-gap", f.record("gap", subject="p", state="queued"), "gap", "sent", 2,
              T0 + 70, sent_at=T0 + 72)
        self.only(f.check(), "sent", "J-gap", "no job.sent entry for attempt 2")

    def test_done_job_never_sent(self):
        f = self.f
        f.job_entry("job.done", "J-nosend", "nosend", T0 + 71, status="done")
        f.job("J-nosend", f.record("nosend", tombstone_of="J-nosend"), "nosend", "done", 0,
              T0 + 70)
        self.only(f.check(), "sent", "J-nosend", "never sent")

    def test_send_names_another_record(self):
        f = self.f
        f.put("mine", T0 + 70, "p")
        f.job_entry("job.sent", "J-mine", "theirs", T0 + 71, attempt=1)
        f.job("J-mine", f.record("mine", subject="p", state="queued"), "mine", "sent", 1,
              T0 + 70, sent_at=T0 + 71)
        self.only(f.check(), "sent", "J-mine", "names record 'theirs'")

    # --- 2. done ------------------------------------------------------------------

    def test_done_without_entry(self):
        f = self.f
        f.put("quiet", T0 + 70, "p")
        f.job_entry("job.sent", "J-quiet", "quiet", T0 + 71, attempt=1)
        f.job("J-quiet", f.record("quiet", tombstone_of="J-quiet"), "quiet", "done", 1,
              T0 + 70, sent_at=T0 + 71)
        hits = self.only(f.check(), "done", "J-quiet")
        self.assertTrue(any("no job.done entry" in v.message for v in hits))

    def test_done_deletion_without_tombstone(self):
        f = self.f
        f.put("kept-data", T0 + 70, "p")
        f.job_entry("job.sent", "J-kd", "kept-data", T0 + 71, attempt=1)
        f.job_entry("job.done", "J-kd", "kept-data", T0 + 72, status="done")
        f.job("J-kd", f.record("kept-data", subject="person:kd", state="queued"), "kept-data",
              "done", 1, T0 + 70, sent_at=T0 + 71)
        self.only(f.check(), "done", "J-kd", "is not its tombstone", "state queued",
                  "subject kept", "locator kept", "attributes kept")

    def test_done_anonymisation_not_marked(self):
        f = self.f
        f.put("an2", T0 + 70, "p")
        f.job_entry("job.sent", "J-an2", "an2", T0 + 71, attempt=1, action="anonymize")
        f.job_entry("job.done", "J-an2", "an2", T0 + 72, status="done", action="anonymize")
        f.job("J-an2", f.record("an2", subject="p", state="active"), "an2", "done", 1, T0 + 70,
              action="anonymize", sent_at=T0 + 71)
        self.only(f.check(), "done", "J-an2", "not marked anonymized")

    def test_tombstone_without_done_job(self):
        self.f.record("orphan-tomb", tombstone_of="J-none")
        self.only(self.f.check(), "done", "orphan-tomb", "J-none", "not in the inventory",
                  "no job.done entry")

    # --- 3. dead and other transitions --------------------------------------------

    def test_dead_without_entry(self):
        """What rtn_jobs_take_tx does to a job its backend cannot do, and
        rtn_jobs_fail_orphans to one no backend can take: dead, never sent, no entry."""
        f = self.f
        f.put("nobody", T0 + 70, "p")
        f.job("J-nobody", f.record("nobody", subject="p", state="failed"), "nobody", "dead", 0,
              T0 + 70, last_error="no backend named x is configured")
        self.only(f.check(), "dead", "J-nobody", "no job.dead entry at all",
                  "no backend named x")

    def test_dead_entry_before_the_last_send(self):
        f = self.f
        f.put("undead", T0 + 70, "p")
        f.job_entry("job.sent", "J-undead", "undead", T0 + 71, attempt=1)
        f.job_entry("job.dead", "J-undead", "undead", T0 + 72, status="failed")
        f.entry("jobs.retry", T0 + 73, actor="uid:0", job="J-undead", detail={"requeued": 1})
        f.job_entry("job.sent", "J-undead", "undead", T0 + 74, attempt=1)
        f.job("J-undead", f.record("undead", subject="p", state="failed"), "undead", "dead", 1,
              T0 + 70, sent_at=T0 + 74, last_error="the record is gone")
        self.only(f.check(), "dead", "J-undead", "no job.dead after its last job.sent")

    def test_dead_again_after_jobs_retry_without_entry(self):
        """What rtn_jobs_take_tx does to a requeued job whose record is gone: dead
        again, with only the first death in the log."""
        f = self.f
        f.put("twice-dead", T0 + 70, "p")
        f.job_entry("job.sent", "J-td", "twice-dead", T0 + 71, attempt=1)
        f.job_entry("job.dead", "J-td", "twice-dead", T0 + 72, status="failed")
        f.entry("jobs.retry", T0 + 73, actor="uid:0", job="J-td", detail={"requeued": 1})
        f.job("J-td", f.record("twice-dead", subject="p", state="failed"), "twice-dead",
              "dead", 0, T0 + 70, sent_at=T0 + 71,
              last_error="the record is gone from the inventory")
        self.only(f.check(), "dead", "J-td", "no job.dead after its last jobs.retry")

    def test_requeued_never_dead(self):
        f = self.f
        f.job("J-rq", f.record("rq", subject="p", state="queued"), "rq", "retry", 0, T0 + 70)
        self.only(f.check(), "dead", "J-rq", "no job.dead entry shows it died")

    def test_unknown_job_state(self):
        f = self.f
        f.job("J-odd", f.record("odd", subject="p", state="queued"), "odd", "limbo", 0,
              T0 + 70)
        self.only(f.check(), "dead", "J-odd", "a job state the daemon does not write")

    def test_failed_record_without_dead_job(self):
        self.f.record("stuck", subject="p", state="failed")
        self.only(self.f.check(), "dead", "'stuck'", "failed but has no dead job")

    def test_requeued_without_jobs_retry(self):
        f = self.f
        f.put("req", T0 + 70, "p")
        f.job_entry("job.sent", "J-req", "req", T0 + 71, attempt=1)
        f.job_entry("job.dead", "J-req", "req", T0 + 72, status="failed")
        f.job("J-req", f.record("req", subject="p", state="queued"), "req", "retry", 0,
              T0 + 70, sent_at=T0 + 71)
        self.only(f.check(), "dead", "J-req", "no jobs.retry entry after its job.dead")

    def test_cancelled_without_entry(self):
        f = self.f
        f.put("nocancel", T0 + 70, "p")
        f.job_entry("job.sent", "J-nc", "nocancel", T0 + 71, attempt=1)
        f.job_entry("job.failed", "J-nc", "nocancel", T0 + 72, status="failed")
        f.job("J-nc", f.record("nocancel", subject="p"), "nocancel", "cancelled", 1, T0 + 70,
              sent_at=T0 + 71)
        self.only(f.check(), "dead", "J-nc", "cancelled, but no job.cancelled entry")

    # --- 4. holds -----------------------------------------------------------------

    def sent_while(self, kind, value, record="hr", subject="person:hr", category="t.doc"):
        f = self.f
        f.put(record, T0 + 70, subject, category=category)
        f.hold(True, T0 + 71, kind, value, name="stop")
        f.job_entry("job.sent", "J-" + record, record, T0 + 72, attempt=1, category=category)
        f.job(
            "J-" + record, f.record(record, subject=subject, category=category,
                                    state="queued"),
            record, "sent", 1, T0 + 70, sent_at=T0 + 72, category=category)
        f.hold_row(kind, value, name="stop")
        return f.check()

    def test_sent_under_id_hold(self):
        self.only(self.sent_while("id", "hr"), "hold", "J-hr", "hold 'stop' on id 'hr'",
                  "litigation")

    def test_sent_under_subject_hold(self):
        """The subject is what the record's record.put entry gave it."""
        self.only(self.sent_while("subject", "person:hr"), "hold", "J-hr",
                  "hold 'stop' on subject 'person:hr'")

    def test_sent_under_category_hold(self):
        self.only(self.sent_while("category", "t.cat", category="t.cat"), "hold", "J-hr",
                  "hold 'stop' on category 't.cat'")

    def test_other_holds_do_not_cover(self):
        rep = self.sent_while("subject", "person:someone-else")
        self.assertTrue(rep.ok, rep.text())

    def test_hold_in_inventory_without_entry(self):
        self.f.hold_row("category", "t.doc", name="secret")
        self.only(self.f.check(), "hold", "hold 'secret' on category 't.doc'",
                  "no hold.place")

    def test_hold_in_log_not_in_inventory(self):
        self.f.hold(True, T0 + 70, "subject", "person:gone", name="lost")
        self.only(self.f.check(), "hold", "hold 'lost' on subject 'person:gone'",
                  "inventory has no such hold")

    def test_forget_removes_id_holds(self):
        f = self.f
        f.hold(True, T0 + 70, "id", "forgotten", name="x")
        f.entry("record.forget", T0 + 71, actor="uid:0", record="forgotten")
        rep = f.check()
        self.assertTrue(rep.ok, rep.text())

    # --- 5. early -----------------------------------------------------------------

    def test_sent_before_due(self):
        f = self.f
        f.put("soon", T0 + 70, "p")
        f.job_entry("job.sent", "J-soon", "soon", T0 + 90, attempt=1)
        f.job("J-soon", f.record("soon", subject="p", state="queued"), "soon", "sent", 1,
              T0 + 100, sent_at=T0 + 100)
        self.only(f.check(), "early", "J-soon", "sent 10 s before its due time")

    def test_sent_at_before_due(self):
        f = self.f
        f.put("soon2", T0 + 70, "p")
        f.job_entry("job.sent", "J-soon2", "soon2", T0 + 100, attempt=1)
        f.job("J-soon2", f.record("soon2", subject="p", state="queued"), "soon2", "sent", 1,
              T0 + 100, sent_at=T0 + 99)
        self.only(f.check(), "early", "J-soon2", "sent_at", "before its due time")

    def test_entry_due_disagrees(self):
        f = self.f
        f.put("odd", T0 + 70, "p")
        f.job_entry("job.sent", "J-odd", "odd", T0 + 100, attempt=1, due=rfc3339(T0 + 50))
        f.job("J-odd", f.record("odd", subject="p", state="queued"), "odd", "sent", 1,
              T0 + 100, sent_at=T0 + 100)
        self.only(f.check(), "early", "J-odd", "says due")

    def test_entry_due_checked_without_inventory_job(self):
        """A job.sent whose job the inventory lacks (forgotten since) still carries
        its own due, when it does."""
        f = self.f
        f.job_entry("job.sent", "J-lone", "lone", T0 + 100, attempt=1, due=rfc3339(T0 + 200))
        self.only(f.check(), "early", "J-lone", "100 s before its own due")

    # --- 6. chain -----------------------------------------------------------------

    def tamper(self):
        with open(self.f.audit_log, encoding="ascii") as f:
            lines = f.readlines()
        # the basis, which no other check reads: only the chain shows it
        lines[2] = lines[2].replace('"basis":"test"', '"basis":"tost"', 1)
        self.assertIn("tost", lines[2])
        with open(self.f.audit_log, "w", encoding="ascii") as f:
            f.writelines(lines)

    # counts
    def test_kept_counts_differ_from_a_full_count(self):
        recount_inventory(self.f.db)
        self.f.db.execute("UPDATE counts SET n = n + 1 WHERE kind = 'record' AND key = 'queued'")
        self.f.db.execute("UPDATE counts SET n = n - 1 WHERE kind = 'job' AND key = 'done'")
        rep = self.f.check(recount=False)
        self.only(rep, "counts", "record queued")
        self.only(rep, "counts", "job done of nb")

    def test_tampered_chain(self):
        self.tamper()
        self.only(self.f.check(), "chain", "NOT valid", "hash mismatch")

    def test_skip_one_check_with_reason(self):
        self.tamper()
        rep = self.f.check(skip={"chain": "this test alters the log on purpose"})
        self.assertTrue(rep.ok, rep.text())
        self.assertIn("check chain left out: this test alters the log on purpose", rep.text())

    def test_skip_leaves_other_checks(self):
        self.tamper()
        self.f.record("stuck", subject="p", state="failed")
        rep = self.f.check(skip={"chain": "altered on purpose"})
        self.only(rep, "dead", "'stuck'")

    def test_skip_needs_a_known_check_and_a_reason(self):
        with self.assertRaisesRegex(ValueError, "needs a reason"):
            self.f.check(skip={"chain": " "})
        with self.assertRaisesRegex(ValueError, "unknown invariant check 'all'"):
            invariants.check(self.f.state_dir, self.f.audit_log, skip={"all": "everything"})

    def test_rotated_file_missing(self):
        os.unlink(self.rotated)
        rep = self.f.check()
        hits = self.has(rep, "chain", "which is missing")
        self.assertIn(self.rotated, hits[0].message)
        # and what only the missing file explained is reported as such
        self.has(rep, "sent", "J-del", "0 job.sent entries")

    def test_published_head_not_in_log(self):
        rep = self.f.check(head="ab" * 32)
        self.only(rep, "chain", "NOT valid", "not in this log")

    def test_torn_last_line(self):
        with open(self.f.audit_log, "a", encoding="ascii") as f:
            f.write('{"seq":')
        hits = self.only(self.f.check(), "chain", "torn last line")
        self.assertTrue(hits)

    def test_audit_log_missing(self):
        for p in (self.f.audit_log, self.rotated):
            os.unlink(p)
        rep = self.f.check()
        self.has(rep, "chain", "is missing, but the inventory has")
        self.has(rep, "done", "J-retry", "no job.done entry")


class Hook(unittest.TestCase):
    """The harness runs the checker when a daemon it started is cleaned up."""

    def broken_daemon(self):
        """A daemon that ran and stopped, whose inventory then gained a dead job no
        entry explains."""
        d = Daemon(rules=RULES)
        self.addCleanup(d.cleanup, check=False)
        d.ok("record.put", {"id": "x", "category": "t.doc", "events": {"due": T0}})
        d.stop()
        db = sqlite3.connect(os.path.join(d.state_dir, "inventory.db"), isolation_level=None)
        rid = db.execute("SELECT rid FROM records WHERE id = 'x'").fetchone()[0]
        db.execute("INSERT INTO jobs(job, rid, record, category, action, rule, due, backend, "
                   "state, attempts, created, updated) VALUES('J-hook', ?, 'x', 't.doc', "
                   "'delete', 't-due', ?, 'off', 'dead', 0, ?, ?)", (rid, T0, T0, T0))
        recount_inventory(db)
        db.close()
        return d

    def with_mode(self, mode):
        old = os.environ.get("RTN_INVARIANTS")
        if mode is None:
            os.environ.pop("RTN_INVARIANTS", None)
        else:
            os.environ["RTN_INVARIANTS"] = mode

        def restore():
            if old is None:
                os.environ.pop("RTN_INVARIANTS", None)
            else:
                os.environ["RTN_INVARIANTS"] = old
        self.addCleanup(restore)

    def test_strict_by_default_fails_cleanup(self):
        self.with_mode(None)
        d = self.broken_daemon()
        with self.assertRaises(HarnessError) as cm:
            d.cleanup()
        msg = str(cm.exception)
        self.assertIn("J-hook", msg)
        self.assertIn("[dead]", msg)
        self.assertIn("RTN_INVARIANTS=strict", msg)
        self.assertFalse(os.path.exists(d.dir), "the directory is removed all the same")

    def test_report_mode_prints(self):
        self.with_mode("report")
        d = self.broken_daemon()
        err = io.StringIO()
        with redirect_stderr(err):
            rep = d.check_invariants()
        self.assertFalse(rep.ok)
        self.assertIn("J-hook", err.getvalue())

    def test_off_and_bad_modes(self):
        self.with_mode("off")
        d = self.broken_daemon()
        self.assertIsNone(d.check_invariants())
        self.with_mode("lenient")
        d = self.broken_daemon()
        with self.assertRaisesRegex(HarnessError, "expected strict, report or off"):
            d.check_invariants()

    def test_skip_is_one_check(self):
        self.with_mode("strict")
        d = self.broken_daemon()
        d.skip_invariant("chain", "not what breaks here")
        with self.assertRaisesRegex(HarnessError, "J-hook"):
            d.check_invariants()
        d = self.broken_daemon()
        d.skip_invariant("dead", "this test makes a dead job by hand")
        self.assertTrue(d.check_invariants().ok)
        with self.assertRaises(ValueError):
            d.skip_invariant("everything", "no")

    def test_never_started_is_not_checked(self):
        """A Daemon that never ran has nothing of its own to answer for, even on a
        state directory that breaks the invariants."""
        self.with_mode("strict")
        broken = self.broken_daemon()
        d = Daemon(tmpdir=tempfile.mkdtemp(prefix="rtn-it-"), start=False)
        self.addCleanup(shutil.rmtree, d.dir, True)
        shutil.copytree(broken.state_dir, d.state_dir)
        shutil.copy2(broken.audit_log, d.audit_log)
        d.cleanup()
        d.run_no = 1  # as if it had run: now the same directory fails
        with self.assertRaisesRegex(HarnessError, "J-hook"):
            d.cleanup()

    def test_failed_test_path_skips(self):
        """A test whose daemon already failed it is not failed twice over."""
        self.with_mode("strict")
        d = self.broken_daemon()
        d.cleanup(check=False)


if __name__ == "__main__":
    main()
