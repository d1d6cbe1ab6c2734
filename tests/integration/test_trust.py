#!/usr/bin/env python3
"""Integration tests of the promises under faults: never early, never while held, never
lost, every decision proven (SPEC §3 "How one record's schedule is decided", §6, §7).

Each test drives the real daemon (build/asan/retentiond) in a temporary directory, with
backends played by the test (ScriptedBackend: the test decides every result) or null
backends.  Faults are real: a hold placed while a job is out, a rule fixed between two
attempts, a full file system under the audit log or the state directory (a small tmpfs,
mounted by the test as root and always unmounted), a table the daemon relies on dropped
behind its back.  Every wait polls with a deadline; a negative is proved by polling that
it keeps holding.
Run (as root, for the tmpfs tests): python3 tests/integration/test_trust.py
"""

import json
import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import (DispatchTestCase, ScriptedBackend, Tmpfs,  # noqa: E402
                           inventory_ro, with_rules)
from harness import main, parse_time, rfc3339, wait_for  # noqa: E402

T_RULES = ('rule t-due { category t.doc; delete immediately after due; '
           'basis "test: deleted at its due event" }\n')
PAST = "2001-06-01T10:00:00+02:00"


def doc(rid, due=PAST, backend="sb", **kw):
    r = {"id": rid, "category": "t.doc", "subject": "person:" + rid, "backend": backend,
         "locator": {"path": "/srv/t/%s.pdf" % rid}, "events": {"due": due}}
    r.update(kw)
    return r


def audit_entries(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


class TrustCase(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def setUp(self):
        super().setUp()
        self.scripted = []
        self.mounts = []

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            for s in self.scripted:
                s.close()
            for m in self.mounts:
                m.umount()

    def scripted_backend(self, name="sb"):
        s = ScriptedBackend(self.d.dir, name)
        self.scripted.append(s)
        return s

    def up_scripted(self, s, extra="", config_extra=""):
        blocks = ("backend %s {\n    socket %s\n    max-inflight 8\n    timeout 30 seconds\n"
                  "    retry 1 second .. 1 second\n    max-attempts 20\n%s}\n"
                  % (s.name, s.socket, extra))
        self.d.write_config(config_extra + "\n" + blocks)
        self.d.start()
        s.accept()
        s.hello()
        return self.d

    def entries(self, type_=None, record=None):
        self.d.ok("audit.verify")  # flushes what the daemon buffered
        es = audit_entries(self.d.audit_log)
        return [e for e in es if (type_ is None or e["type"] == type_)
                and (record is None or e.get("record") == record)]

    def no_more_jobs(self, s, duration):
        """Prove that s receives no job line for duration seconds."""
        s.conn.settimeout(0.1)
        end = time.monotonic() + duration
        try:
            while time.monotonic() < end:
                try:
                    chunk = s.conn.recv(65536)
                except (TimeoutError, OSError) as e:
                    if isinstance(e, TimeoutError) or "timed out" in str(e):
                        continue
                    raise
                if chunk:
                    raise AssertionError("a job was sent: %r" % chunk[:300])
                return  # closed
        finally:
            s.conn.settimeout(10)


class HoldWhileOut(TrustCase):
    """Item: a hold placed while the job is out stops every send not yet made."""

    def held_out(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        d.ok("record.put", doc("h1"))
        job = s.readline()
        self.assertEqual((job["type"], job["record"]["id"]), ("job", "h1"))
        r = d.ok("hold.place", {"id": "h1", "hold": "lit", "reason": "litigation"})
        self.assertEqual(r["held"], 1, r)
        self.assertEqual(d.state("h1"), "held")
        return s, d, job

    def test_failed_retry_not_resent_under_hold(self):
        s, d, job = self.held_out()
        s.send({"type": "result", "job": job["job"], "status": "failed",
                "error": "busy", "retry": True})
        self.no_more_jobs(s, 3.0)  # retry is 1 s: it would have gone twice
        self.assertEqual(d.state("h1"), "held")
        jobs = self.jobs()
        self.assertEqual([(j["job"], j["state"]) for j in jobs], [(job["job"], "cancelled")])
        cancelled = self.entries("job.cancelled", "h1")
        self.assertEqual(len(cancelled), 1, cancelled)
        self.assertIn("hold", cancelled[0]["detail"]["reason"])
        self.assertEqual(d.ok("status")["jobs"].get("retry"), 0)
        # released: the action is due again and goes out
        d.ok("hold.release", {"id": "h1", "hold": "lit"})
        again = s.readline()
        self.assertEqual(again["job"], job["job"])
        s.send({"type": "result", "job": again["job"], "status": "done"})
        self.wait_state(["h1"], "deleted")

    def test_timeout_not_resent_under_hold(self):
        s = self.scripted_backend()
        d = self.up_scripted(s, extra="    timeout 1 second\n")
        d.ok("record.put", doc("h2"))
        job = s.readline()
        self.assertEqual(d.ok("hold.place", {"id": "h2", "hold": "lit",
                                             "reason": "r"})["held"], 1)
        self.no_more_jobs(s, 4.0)
        self.assertEqual(d.state("h2"), "held")
        self.assertNotIn("retry", [j["state"] for j in self.jobs()])
        self.assertEqual(job["record"]["id"], "h2")

    def test_reconnect_not_resent_under_hold(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        d.ok("record.put", doc("h3"))
        s.readline()
        d.ok("hold.place", {"id": "h3", "hold": "lit", "reason": "r"})
        s.conn.close()
        s.accept()
        s.hello()
        self.no_more_jobs(s, 3.0)
        self.assertEqual(d.state("h3"), "held")

    def test_held_record_with_job_out_cannot_change(self):
        """Its job is at the backend: a put, a set or a forget would lose its result or
        send the record again under another id."""
        s, d, job = self.held_out()
        self.assertIn("job out", d.err("record.put", doc("h1", category="t.other"),
                                       "conflict")["message"])
        d.err("record.forget", {"id": "h1"}, "conflict")
        d.err("record.set", {"id": "h1", "attributes": {"x": 1}}, "conflict")
        s.send({"type": "result", "job": job["job"], "status": "done"})
        self.wait_state(["h1"], "deleted")
        self.no_more_jobs(s, 1.0)

    def test_late_done_under_hold_is_recorded(self):
        """The backend acted before the hold reached it: its result is recorded, and the
        log says the backend did it."""
        s, d, job = self.held_out()
        s.send({"type": "result", "job": job["job"], "status": "done"})
        self.wait_state(["h1"], "deleted")
        done = self.entries("job.done", "h1")
        self.assertEqual([e["job"] for e in done], [job["job"]])
        self.assertEqual(done[0]["detail"]["status"], "done")

    def test_retry_dead_of_held_record_sends_nothing(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        d.ok("record.put", doc("h4"))
        job = s.readline()
        s.send({"type": "result", "job": job["job"], "status": "failed", "error": "no",
                "retry": False})
        self.wait_state(["h4"], "failed")
        self.assertEqual(d.ok("hold.place", {"id": "h4", "hold": "lit",
                                             "reason": "r"})["held"], 1)
        self.assertEqual(d.state("h4"), "held")
        self.assertEqual(d.ok("jobs.retry", {"job": "dead"})["requeued"], 0)
        self.no_more_jobs(s, 2.5)
        self.assertEqual(d.state("h4"), "held")


class RulesReachRetries(TrustCase):
    """Item: every send re-checks the current decision (rules fixed mid-retry)."""

    RULES = with_rules(T_RULES, "zz-test.rules")

    def test_rule_fixed_between_attempts(self):
        s = self.scripted_backend()
        recent = rfc3339(time.time() - 3 * 86400)
        self.d.rule_file("zz-test.rules",
                         'rule t-due { category t.doc; delete 1 day after due; '
                         'basis "typo" }\n')
        d = self.up_scripted(s, extra="    retry 2 seconds .. 2 seconds\n")
        d.ok("record.put", doc("r1", due=recent))
        job = s.readline()
        s.send({"type": "result", "job": job["job"], "status": "failed", "error": "busy",
                "retry": True})
        wait_for(lambda: [j for j in self.jobs("retry")], 5, what="the job to wait to retry")
        d.rule_file("zz-test.rules",
                    'rule t-due { category t.doc; delete 1 year after due; basis "fixed" }\n')
        r = d.ok("rules.reload")
        self.assertGreaterEqual(r["rescheduled"], 1, r)
        ex = d.ok("explain", {"id": "r1"})
        self.assertGreater(parse_time(ex["decision"]["at"]), time.time() + 300 * 86400, ex)
        self.no_more_jobs(s, 4.0)
        self.assertEqual(d.state("r1"), "active")
        self.assertEqual([j["state"] for j in self.jobs()], ["cancelled"])
        cancelled = self.entries("job.cancelled", "r1")
        self.assertEqual(len(cancelled), 1)
        # the rules are named in the log before anything they change
        loaded = [e for e in self.entries("rules.loaded") if e["detail"]["hash"] == r["hash"]]
        self.assertEqual(len(loaded), 1, loaded)
        self.assertLess(loaded[0]["seq"], cancelled[0]["seq"])
        changed = [e for e in self.entries("schedule.changed")
                   if e["detail"]["rules_hash"] == r["hash"]]
        self.assertEqual(len(changed), 1, changed)
        self.assertGreater(changed[0]["seq"], cancelled[0]["seq"])
        self.assertEqual(changed[0]["detail"]["rescheduled"], r["rescheduled"])

    def test_keep_forever_then_retry_dead(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        d.ok("record.put", doc("r2"))
        job = s.readline()
        s.send({"type": "result", "job": job["job"], "status": "failed", "error": "no",
                "retry": False})
        self.wait_state(["r2"], "failed")
        d.rule_file("zz-keep.rules", 'rule t-keep { category t.doc; keep forever; '
                                     'basis "kept by law" }\n')
        d.ok("rules.reload")
        self.assertEqual(d.ok("jobs.retry", {"job": "dead"})["requeued"], 0)
        self.no_more_jobs(s, 2.5)
        self.assertNotEqual(d.state("r2"), "deleted")
        self.assertEqual(d.ok("explain", {"id": "r2"})["decision"]["action"], "keep")


class GuardWindow(TrustCase):
    """Item: the guard holds back what the changed rule makes due soon, not only now."""

    def test_deadlines_just_after_reload_are_paused(self):
        s = self.scripted_backend()
        now = time.time()
        self.d.rule_file("zz-test.rules",
                         'rule t-due { category t.doc; delete 1 year after due; basis "x" }\n')
        d = self.up_scripted(s, config_extra="guard 10\n")
        soon = [doc("soon-%d" % i, due=rfc3339(now - 86400 + 6)) for i in range(15)]
        at_once = [doc("now-%d" % i, due=rfc3339(now - 2 * 86400)) for i in range(15)]
        self.put(soon + at_once)
        d.rule_file("zz-test.rules",
                    'rule t-due { category t.doc; delete 1 day after due; basis "typo" }\n')
        r = d.ok("rules.reload")
        self.assertEqual(r["paused"], 30, r)
        st = d.ok("status")
        self.assertEqual(st["guard"]["paused"], 30, st["guard"])
        # the "soon" deadlines pass: nothing goes out
        wait_for(lambda: time.time() > now + 8, 10)
        self.no_more_jobs(s, 2.0)
        self.assertEqual(set(self.states([x["id"] for x in soon + at_once]).values()),
                         {"paused"})
        # confirmed: all go
        self.assertEqual(d.ok("rules.confirm")["released"], 30)
        got = set()
        while len(got) < 30:
            j = s.readline()
            got.add(j["record"]["id"])
            s.send({"type": "result", "job": j["job"], "status": "done"})
        self.wait_state([x["id"] for x in soon + at_once], "deleted")


class Room(TrustCase):
    """Item: results for unknown or repeated jobs never let more than max-inflight out."""

    def test_unknown_results_do_not_widen_the_window(self):
        s = self.scripted_backend()
        d = self.up_scripted(s, extra="    max-inflight 2\n")
        self.put([doc("w%d" % i) for i in range(12)])
        first = [s.readline(), s.readline()]
        for i in range(6):
            s.send({"type": "result", "job": "J-%010x-%012x" % (999, i), "status": "done"})
            s.send({"type": "result", "job": "J-%010x-%012x" % (998, i), "status": "done"})
        s.send({"type": "result", "job": first[0]["job"], "status": "done"})
        s.send({"type": "result", "job": first[0]["job"], "status": "done"})
        nxt = s.readline()  # the room of one answered job
        self.assertNotIn(nxt["job"], [f["job"] for f in first])
        self.no_more_jobs(s, 1.5)  # two out now: nothing more
        self.assertEqual(self.backend_status("sb")["inflight"], 2)
        self.assertEqual(d.state(first[0]["record"]["id"]), "deleted")


class JobDeathsAudited(TrustCase):
    """Item: every job transition has its entry, deaths included."""

    def test_backend_that_cannot_act_and_orphans(self):
        s = self.scripted_backend()
        self.d.write_config("")
        blocks = "backend sb {\n    socket %s\n}\n" % s.socket
        self.d.write_config(blocks)
        self.d.start()
        s.accept()
        s.hello(actions=("anonymize",))
        d = self.d
        d.ok("record.put", doc("d1"))                   # sb cannot delete
        d.ok("record.put", doc("d2", backend="nowhere"))  # no such backend
        self.wait_state(["d1", "d2"], "failed")
        dead = {j["record"]: j["job"] for j in self.jobs("dead")}
        self.assertEqual(set(dead), {"d1", "d2"})
        entries = {e["record"]: e for e in self.entries("job.dead")}
        for rid in ("d1", "d2"):
            self.assertIn(rid, entries, "no job.dead entry for %s" % rid)
            self.assertEqual(entries[rid]["job"], dead[rid])
            self.assertTrue(entries[rid]["detail"].get("error"), entries[rid])


class ReviewKept(TrustCase):
    """Item: a re-put keeps a reviewer's rejection."""

    RULES = with_rules('rule t-rev { category t.rev; delete immediately after due; review; '
                       'backend sb; basis "reviewed" }\n')

    def test_reput_keeps_rejection(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        rec = {"id": "v1", "category": "t.rev", "subject": "person:v",
               "events": {"due": PAST}}
        self.assertEqual(d.ok("record.put", rec)["records"][0]["state"], "review")
        d.ok("review.reject", {"id": "v1", "reason": "still needed"})
        before = d.state("v1")
        self.assertNotEqual(before, "review")
        r = d.ok("record.put", rec)
        self.assertEqual(r["records"][0]["state"], before, r)
        self.assertEqual(d.state("v1"), before)
        self.assertEqual(d.ok("review.list")["count"], 0)


class ErasureKeepsEarlier(TrustCase):
    """An erasure request never moves a deadline that is already earlier."""

    RULES = with_rules('rule t-rev { category t.rev; delete immediately after due; review; '
                       'backend sb; basis "reviewed" }\n')

    def test_erasure_does_not_postpone(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        d.ok("record.put", {"id": "e1", "category": "t.rev", "subject": "person:e",
                            "events": {"due": PAST}})
        self.assertEqual(d.state("e1"), "review")
        d.ok("erase", {"subject": "person:e", "reason": "request"})
        ex = d.ok("explain", {"id": "e1"})
        self.assertEqual(ex["decision"]["rule"], "t-rev", ex)
        self.assertEqual(parse_time(ex["decision"]["at"]), parse_time(PAST), ex)


class HoldsFailClosed(TrustCase):
    """Item: a read that guards an action fails closed."""

    def test_unreadable_holds_stop_the_action(self):
        s = self.scripted_backend()
        d = self.up_scripted(s)
        d.ok("record.put", doc("f1", due=rfc3339(time.time() + 3)))
        d.ok("hold.place", {"id": "other", "hold": "x", "reason": "r"})
        # behind the daemon's back: the holds can no longer be read
        db = sqlite3.connect(os.path.join(self.d.state_dir, "inventory.db"), timeout=30)
        db.execute("DROP TABLE holds")
        db.commit()
        db.close()
        self.no_more_jobs(s, 5.0)
        self.assertNotEqual(d.state("f1"), "deleted")
        self.assertIn("cannot", d.stderr())
        ex = d.ok("explain", {"id": "f1"})  # explains it as held, naming why
        self.assertEqual(ex["decision"]["action"], "none", ex)
        self.assertIn("holds cannot be read", ex["decision"]["reason"], ex)
        # put the table back (empty: the hold on "other" is gone with it)
        db = sqlite3.connect(os.path.join(self.d.state_dir, "inventory.db"), timeout=30)
        db.execute("CREATE TABLE holds(kind TEXT NOT NULL, value TEXT NOT NULL, hold TEXT "
                   "NOT NULL, reason TEXT, placed_at INTEGER NOT NULL, placed_by TEXT, "
                   "PRIMARY KEY(kind, value, hold)) WITHOUT ROWID")
        db.commit()
        db.close()
        d.skip_invariant("hold", "the test dropped the holds table behind the daemon's "
                                 "back, so the log's placements no longer match it")


class AuditDiskFull(TrustCase):
    """Items: the audit log cannot take entries -> the change is refused; sending resumes
    by itself when space returns; entries say only what happened."""

    def test_changes_refused_then_resume(self):
        s = self.scripted_backend()
        fs = Tmpfs(os.path.join(self.d.dir, "auditfs"), 256 * 1024)
        self.mounts.append(fs)
        self.d.audit_log = os.path.join(fs.path, "audit.log")
        d = self.up_scripted(s)
        a0 = doc("a0", due=rfc3339(time.time() + 6))
        d.ok("record.put", a0)
        fs.fill()
        # The log's last page may still take an entry or two: put until one is refused.
        taken = []
        for i in range(1, 100):
            r = d.call("record.put", doc("a%d" % i, due=rfc3339(time.time() + 3600)))
            if not r["ok"]:
                break
            taken.append("a%d" % i)
        self.assertEqual(r["error"]["code"], "internal", r)
        # What is left may still take a smaller entry: a0 put again as it is (changing
        # nothing; its record.unchanged entry is smaller than a hold's) until refused.
        for _ in range(100):
            if not d.call("record.put", a0)["ok"]:
                break
        refused = "a%d" % (len(taken) + 1)
        for e in (r["error"],
                  d.err("hold.place", {"id": "a0", "hold": "x", "reason": "r"}, "internal"),
                  d.err("record.forget", {"id": "a0"}, "internal")):
            self.assertIn("audit", e["message"])
            self.assertNotIn("not an error", e["message"])
        self.assertEqual(d.call("record.get", {"id": refused})["error"]["code"], "not_found")
        self.assertEqual(d.state("a0"), "active")
        self.assertEqual(d.ok("status")["records"].get("held", 0), 0)
        # a0 falls due while the log is full: nothing is sent
        self.no_more_jobs(s, 6.0)
        fs.free()
        # no client comes by: the daemon sends by itself
        job = s.readline()
        self.assertEqual(job["record"]["id"], "a0")
        s.send({"type": "result", "job": job["job"], "status": "done"})
        self.wait_state(["a0"], "deleted")
        es = audit_entries(self.d.audit_log)
        self.assertEqual(len([e for e in es if e["type"] == "job.sent"]), 1,
                         [e["type"] for e in es])
        self.assertFalse([e for e in es if e.get("record") == refused])
        self.assertEqual(sorted(e["record"] for e in es if e["type"] == "record.put"),
                         sorted(["a0"] + taken))
        self.assertFalse([e for e in es if e["type"] in ("hold.place", "record.forget")])
        self.assertTrue(d.ok("audit.verify")["valid"])


class StateDiskFull(TrustCase):
    """Item: the state directory fills during dispatch; jobs out are not lost, nothing
    stays sent, and dispatch resumes by itself when space returns."""

    def test_timeouts_on_full_disk_are_not_lost(self):
        s = self.scripted_backend()
        fs = Tmpfs(os.path.join(self.d.dir, "statefs"), 8 * 1024 * 1024)
        self.mounts.append(fs)
        self.d.state_dir = os.path.join(fs.path, "state")
        d = self.up_scripted(s, extra="    timeout 1 second\n    max-inflight 4\n")
        self.put([doc("s%d" % i) for i in range(4)])
        first = [s.readline() for _ in range(4)]
        fs.fill()
        wait_for(lambda: "cannot record" in d.stderr(), 15,
                 what="the timeouts to fail for want of space")
        fs.free()
        # they are recorded and sent again without any client
        again = {}
        deadline = time.monotonic() + 30
        while len(again) < 4 and time.monotonic() < deadline:
            j = s.readline()
            again[j["job"]] = j
        self.assertEqual(set(again), {f["job"] for f in first})
        for j in again.values():
            s.send({"type": "result", "job": j["job"], "status": "done"})
        self.wait_state(["s%d" % i for i in range(4)], "deleted")
        nb = self.backend_status("sb")
        self.assertEqual(nb["done"], 4, nb)
        with inventory_ro(self.d.state_dir) as db:
            self.assertEqual(db.execute("SELECT count(*) FROM jobs WHERE state = 'sent'")
                             .fetchone()[0], 0)


if __name__ == "__main__":
    main()
