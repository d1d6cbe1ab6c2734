#!/usr/bin/env python3
"""Integration tests of what people do to dispatch: holds, reviews, erasure requests,
the mass-deletion guard (SPEC §3), and SIGTERM with jobs in flight (SPEC §8).

Each test starts a null backend (build/tests/null_backend --log) and the real daemon
(build/asan/retentiond) in a temporary directory and checks both what the daemon
reports and what the backend received.  Waits poll with deadlines; "nothing is sent"
is proved by polling that it keeps holding for a while past the deadline.
Run: python3 tests/integration/test_ops.py
"""

import datetime as dt
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, stays, with_rules  # noqa: E402
from harness import OSLO, main, parse_time, wait_for  # noqa: E402

T_RULES = ('rule t-due { category t.doc t.held t.multi; delete immediately after due; '
           'basis "test: deleted at its due event" }\n')

PAST = "2001-06-01T10:00:00+02:00"
DAY = 86400


def doc(rid, due=PAST, category="t.doc", subject=None, backend="nb"):
    return {"id": rid, "category": category, "subject": subject or "person:" + rid,
            "backend": backend, "locator": {"path": "/srv/t/%s" % rid}, "events": {"due": due}}


def years_after(t, n):
    """Unix seconds n calendar years after t, in Oslo (clamped to the month's end)."""
    d = dt.datetime.fromtimestamp(t, OSLO)
    try:
        return int(d.replace(year=d.year + n).timestamp())
    except ValueError:  # 29 February
        return int(d.replace(year=d.year + n, day=28).timestamp())


class Holds(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_hold_by_id_subject_category(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        due = int(time.time()) + 3
        self.put([doc("h-id", due), doc("h-subj", due, subject="person:hs"),
                  doc("h-cat", due, category="t.held"), doc("free", due)])
        for sel, val in (("id", "h-id"), ("subject", "person:hs"), ("category", "t.held")):
            r = d.ok("hold.place", {sel: val, "hold": "lit-1", "reason": "litigation"})
            self.assertEqual(r.get("held"), 1, r)
        held = ["h-id", "h-subj", "h-cat"]
        for rid in held:
            g = d.get(rid)
            self.assertEqual(g["state"], "held", g)
            self.assertEqual(g["schedule"], [], g)
            self.assertEqual(g["holds"], ["lit-1"], g)
        # the unheld one goes at its deadline; the held ones stay, a while past it
        self.wait_state(["free"], "deleted", 15)
        wait_for(lambda: time.time() >= due + 1, 5, what="a second past the deadline")
        stays(lambda: all(d.state(i) == "held" for i in held) and b.records() == ["free"],
              1.5, what="held records not being sent")
        for sel, val in (("id", "h-id"), ("subject", "person:hs"), ("category", "t.held")):
            r = d.ok("hold.release", {sel: val, "hold": "lit-1"})
            self.assertEqual(r.get("released"), 1, r)
        self.wait_state(held, "deleted", 15)
        self.assertEqual(sorted(b.records()), sorted(held + ["free"]))
        d.err("hold.release", {"id": "h-id", "hold": "lit-1"}, "not_found")

    def test_several_holds_on_one_record(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        # holds placed before the record exists apply from its first moment
        d.ok("hold.place", {"subject": "person:m", "hold": "a", "reason": "audit A"})
        d.ok("hold.place", {"category": "t.multi", "hold": "b", "reason": "audit B"})
        d.ok("hold.place", {"id": "multi", "hold": "c", "reason": "audit C"})
        d.err("hold.place", {"id": "multi", "hold": "c", "reason": "again"}, "conflict")
        r = self.put([doc("multi", category="t.multi", subject="person:m")])
        self.assertEqual(r["records"][0]["state"], "held", r)
        self.assertEqual(sorted(d.get("multi")["holds"]), ["a", "b", "c"])
        d.ok("hold.release", {"subject": "person:m", "hold": "a"})
        d.ok("hold.release", {"id": "multi", "hold": "c"})
        stays(lambda: d.state("multi") == "held" and b.log() == [], 1.0,
              what="a record still under hold b staying held")
        self.assertEqual(d.get("multi")["holds"], ["b"])
        d.ok("hold.release", {"category": "t.multi", "hold": "b"})
        self.wait_state(["multi"], "deleted")
        self.assertEqual(b.records(), ["multi"])


    def test_hold_stops_a_pending_retry(self):
        """SPEC §3.1: a held record is never acted on while held, also when its job
        failed once and waits for its retry."""
        b = self.backend("nb", "--fail-every", "1")
        d = self.up({"nb": {"retry": "3 seconds .. 3 seconds"}})
        self.put([doc("rh")])
        job = wait_for(lambda: self.jobs("retry"), 10, what="the job to wait for a retry")[0]
        self.assertEqual(job["record"], "rh")
        r = d.ok("hold.place", {"id": "rh", "hold": "stop", "reason": "litigation"})
        self.assertEqual(r.get("held"), 1, r)
        nxt = parse_time(job["next_attempt"])
        # a second past the retry time, nothing more has been sent
        wait_for(lambda: time.time() >= nxt + 1.5, 10, what="the retry time to pass")
        sends = [(e.job, e.attempt) for e in b.log()]
        self.assertEqual(sends, [(job["job"], 1)],
                         "the job of a held record was sent again: %r (record state %s)"
                         % (sends, d.state("rh")))
        self.assertEqual(d.state("rh"), "held")


class Review(DispatchTestCase):

    def mailbox(self, rid, created):
        return {"id": rid, "category": "activepeople.mailbox_content", "subject": "person:mb",
                "backend": "nb", "locator": {"mailbox": rid}, "events": {"created": created}}

    def test_review_approve_reject(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        created = int(time.time()) - 2 * 365 * DAY
        r = self.put([self.mailbox("mb-1", created), self.mailbox("mb-2", created),
                      self.mailbox("mb-new", int(time.time()) - DAY)])
        states = {x["id"]: x["state"] for x in r["records"]}
        self.assertEqual(states, {"mb-1": "review", "mb-2": "review", "mb-new": "active"})
        lst = d.ok("review.list")
        got = {x["id"]: x for x in lst["records"]}
        self.assertEqual(sorted(got), ["mb-1", "mb-2"], lst)
        self.assertEqual(lst["count"], 2)
        for x in got.values():
            self.assertEqual(x["rule"], "activepeople-mailbox-review", x)
            self.assertEqual(x["action"], "delete", x)
            self.assertIn("E-post og telefon", x.get("basis") or "", x)
            self.assertEqual(parse_time(x["due"]), years_after(created, 1), x)
        stays(lambda: b.log() == [] and d.state("mb-1") == "review", 1.0,
              what="nothing sent while awaiting review")
        d.err("review.approve", {"id": "mb-new", "reason": "not due"}, "conflict")
        d.err("review.approve", {"id": "nope", "reason": "x"}, "not_found")
        a = d.ok("review.approve", {"id": "mb-1", "reason": "nothing needed"})
        self.assertEqual(a.get("decision"), "approved", a)
        rj = d.ok("review.reject", {"id": "mb-2", "reason": "still needed for a case"})
        self.assertEqual(rj.get("decision"), "rejected", rj)
        self.assertEqual(rj.get("state"), "active", rj)
        self.wait_state(["mb-1"], "deleted")
        self.assertEqual(d.state("mb-2"), "active")
        stays(lambda: b.records() == ["mb-1"] and d.state("mb-2") == "active", 1.0,
              what="the rejected record not being sent")
        self.assertTombstone("mb-1", rule="activepeople-mailbox-review")
        self.assertEqual(d.ok("review.list")["records"], [])
        # reviewing again what is no longer in review is a conflict
        d.err("review.reject", {"id": "mb-2", "reason": "again"}, "conflict")
        d.err("review.approve", {"id": "mb-1", "reason": "again"}, "conflict")


class Erase(DispatchTestCase):

    def test_erase_schedules_and_retains(self):
        b = self.backend("nb", "--delay-ms", "1500")
        d = self.up({"nb": {}})
        now = int(time.time())
        ceased = now - DAY
        subj = "person:erase"
        self.put([
            {"id": "e-app", "category": "framsikt.job_application", "subject": subj,
             "backend": "nb", "locator": {"path": "/a"}, "events": {"received": now - 30 * DAY},
             "attributes": {"hired": False}},
            {"id": "e-board", "category": "bjornson.board_member", "subject": subj,
             "backend": "nb"},
            {"id": "e-share", "category": "bjornson.shareholder", "subject": subj,
             "backend": "nb", "events": {"ceased": ceased}},
            {"id": "other", "category": "framsikt.job_application", "subject": "person:x",
             "backend": "nb", "events": {"received": now - 30 * DAY}},
        ])
        self.assertEqual(d.state("e-app"), "active")
        r = d.ok("erase", {"subject": subj, "reason": "GDPR art. 17 request"})
        self.assertIsInstance(r.get("request"), str, r)
        self.assertEqual([x["id"] for x in r["scheduled"]], ["e-app"], r)
        ret = {x["id"]: x for x in r["retained"]}
        self.assertEqual(sorted(ret), ["e-board", "e-share"], r)
        self.assertEqual(ret["e-board"]["rule"], "bjornson-board-members", ret)
        self.assertIn("Register of Business Enterprises Act", ret["e-board"].get("basis") or "")
        self.assertEqual(ret["e-share"]["rule"], "bjornson-former-shareholders-keep", ret)
        self.assertIn("10 years", ret["e-share"].get("basis") or "")
        self.assertEqual(parse_time(ret["e-share"]["until"]), years_after(ceased, 10), ret)
        # open until every scheduled record is gone
        ers = d.ok("status")["erasures"]
        self.assertEqual([(e["request"], e["subject"], e["pending"]) for e in ers],
                         [(r["request"], subj, 1)], ers)
        self.wait_state(["e-app"], "deleted", 15)
        wait_for(lambda: d.ok("status")["erasures"] == [], 10,
                 what="the erasure request to leave status once done")
        self.assertEqual(b.records(), ["e-app"])
        self.assertEqual(d.state("e-board"), "active")
        self.assertEqual(d.state("other"), "active")
        g = d.get("e-share")
        self.assertEqual(g["state"], "active", g)
        self.assertEqual([(e["action"], parse_time(e["at"])) for e in g["schedule"]],
                         [("delete", years_after(ceased, 10))], g)


G_LONG = ('rule g-bulk { category t.bulk; delete 1 year after created; '
          'basis "test: one year" }\n')
G_SHORT = ('rule g-bulk { category t.bulk; delete 1 day after created; '
           'basis "test: one day (the typo)" }\n')


class Guard(DispatchTestCase):
    RULES = {"g.rules": G_LONG}
    CONFIG_EXTRA = "guard 1000\n"

    def bulk(self, n, age_days=30, prefix="g"):
        created = int(time.time()) - age_days * DAY
        ids = ["%s%05d" % (prefix, i) for i in range(n)]
        self.d.ok("record.put", {"records": [
            {"id": i, "category": "t.bulk", "subject": "person:" + i, "backend": "nb",
             "events": {"created": created}} for i in ids], "quiet": True})
        return ids

    def counts(self):
        return self.d.ok("status")["records"]

    def assertPaused(self, n):
        st = self.d.ok("status")
        self.assertEqual(st["guard"]["paused"], n, st["guard"])
        self.assertEqual(st["guard"]["rules"], [{"rule": "g-bulk", "cause": "rules", "records": n}],
                         st["guard"])
        self.assertEqual(st["records"].get("paused"), n, st["records"])

    def shorten(self):
        self.d.rule_file("g.rules", G_SHORT)
        return self.d.ok("rules.reload")

    def test_typo_is_paused_until_confirmed(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        ids = self.bulk(2000)
        self.assertEqual(self.counts().get("active"), 2000)
        r = self.shorten()
        self.assertTrue(r["changed"], r)
        self.assertEqual(r.get("paused"), 2000, r)
        self.assertPaused(2000)
        self.assertEqual(d.state(ids[0]), "paused")
        stays(lambda: b.log() == [], 1.5, what="nothing sent while paused")
        self.assertEqual(d.ok("status")["jobs"]["sent"], 0)
        c = d.ok("rules.confirm")
        self.assertEqual(c.get("released"), 2000, c)
        wait_for(lambda: self.counts().get("deleted") == 2000, 90,
                 what="all 2000 records deleted after rules.confirm")
        self.assertEqual(d.ok("status")["guard"]["paused"], 0)
        log = b.log()
        self.assertEqual(len({e.record for e in log}), 2000)
        self.assertEqual(len(log), 2000, "some records were sent more than once")

    def test_restoring_old_rules_unpauses(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        ids = self.bulk(2000)
        self.assertEqual(self.shorten().get("paused"), 2000)
        self.assertPaused(2000)
        d.rule_file("g.rules", G_LONG)
        r = d.ok("rules.reload")
        self.assertTrue(r["changed"], r)
        self.assertEqual(r.get("paused", 0), 0, r)
        st = d.ok("status")
        self.assertEqual(st["guard"], {"paused": 0, "rules": []}, st["guard"])
        self.assertEqual(st["records"].get("active"), 2000, st["records"])
        g = d.get(ids[7])
        self.assertEqual(g["state"], "active", g)
        self.assertEqual([e["rule"] for e in g["schedule"]], ["g-bulk"], g)
        stays(lambda: b.log() == [], 1.5, what="nothing sent after the old rules came back")
        # nothing is left to confirm, and confirming sends nothing
        self.assertEqual(d.ok("rules.confirm").get("released"), 0)
        stays(lambda: b.log() == [] and self.counts().get("active") == 2000, 1.0,
              what="nothing sent after an empty confirm")

    def test_small_change_is_not_paused(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        old = self.bulk(500, age_days=30, prefix="old")
        self.bulk(1500, age_days=0, prefix="new")
        r = self.shorten()
        self.assertEqual(r.get("paused", 0), 0, r)
        self.assertEqual(d.ok("status")["guard"]["paused"], 0)
        wait_for(lambda: self.counts().get("deleted") == 500, 60,
                 what="the 500 newly due records deleted")
        self.assertEqual(sorted({e.record for e in b.log()}), old)
        self.assertEqual(self.counts().get("active"), 1500)

    def test_guard_at_startup(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        ids = self.bulk(2000)
        d.stop()
        d.rule_file("g.rules", G_SHORT)
        d.start()
        self.assertPaused(2000)
        self.assertEqual(d.state(ids[-1]), "paused")
        stays(lambda: b.log() == [], 1.5, what="nothing sent after a start on new rules")
        # and a second start on the same rules does not release them by itself
        d.stop()
        d.start()
        self.assertPaused(2000)
        stays(lambda: b.log() == [], 1.0, what="still nothing sent after another start")
        self.assertEqual(d.ok("rules.confirm").get("released"), 2000)
        wait_for(lambda: self.counts().get("deleted") == 2000, 90,
                 what="all deleted after rules.confirm")


class Shutdown(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_sigterm_waits_for_jobs_in_flight(self):
        b = self.backend("nb", "--delay-ms", "1500")
        d = self.up({"nb": {}})
        ids = ["t%d" % i for i in range(5)]
        self.put([doc(i) for i in ids])
        wait_for(lambda: len(b.log()) == 5, 10, what="5 jobs received by the backend")
        self.assertEqual(self.backend_status("nb")["inflight"], 5)
        d.stop(timeout=6.5)   # exit 0, sanitizers silent, within 6.5 s
        d.start()
        for rid in ids:
            self.assertTombstone(rid)
        st = d.ok("status")
        self.assertEqual((st["jobs"]["done"], st["jobs"]["sent"], st["jobs"]["retry"]),
                         (5, 0, 0), (st["jobs"], "results in flight at SIGTERM were lost"))
        stays(lambda: len(b.log()) == 5, 2.0, what="nothing done sent again after restart")
        self.assertEqual(sorted(e.record for e in b.log()), ids)


    def test_sigterm_with_a_silent_backend(self):
        """No result ever comes: the daemon waits its grace period, exits 0, and the
        next start sends the same jobs again under the same ids."""
        b = self.backend("nb", "--silent")
        d = self.up({"nb": {"timeout": "30 seconds"}})
        ids = ["q%d" % i for i in range(3)]
        self.put([doc(i) for i in ids])
        wait_for(lambda: len(b.log()) == 3, 10, what="3 jobs received by the backend")
        first = {e.record: e.job for e in b.log()}
        d.stop(timeout=6.5)
        b.kill()
        b.start("--delay-ms", "0")
        d.start()
        self.wait_state(ids, "deleted")
        for e in b.log():
            self.assertEqual(e.job, first[e.record], b.log())
        for rid in ids:
            self.assertTombstone(rid, job=first[rid])
        self.assertEqual(len(b.log()), 6, b.log())


if __name__ == "__main__":
    main()
