#!/usr/bin/env python3
"""Integration tests of a recurring review (`review every SPAN`) against the real daemon.

A rejected action is kept and comes back to the review queue one SPAN after the
rejection, round after round, never earlier; an approval carries it out under the
action's own job id; each decision is audited (review.reject with detail.next_review
and the round).  A plain `review` keeps a rejection for good.  Short spans (seconds)
stand in for the years of real rules; the calendar arithmetic of a year is proved in
tests/unit/test_ops.c.
Run: python3 tests/integration/test_review_every.py
"""

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, stays, with_rules  # noqa: E402
from harness import REPO, main, parse_time, wait_for  # noqa: E402

SPAN = 3  # seconds between rounds
RULES = ('rule t-every { category t.every; delete immediately after due; review every %d '
         'seconds; basis "test: reviewed again after a rejection" }\n'
         'rule t-plain { category t.plain; delete immediately after due; review; '
         'basis "test: reviewed once" }\n' % SPAN)
PAST = "2001-06-01T10:00:00+02:00"
CTL = os.path.join(REPO, "build", "retentionctl")


def doc(rid, category):
    return {"id": rid, "category": category, "subject": "person:" + rid, "backend": "nb",
            "locator": {"path": "/srv/t/%s" % rid}, "events": {"due": PAST}}


class ReviewEvery(DispatchTestCase):
    RULES = with_rules(RULES)

    def entries(self, type_, record):
        self.d.ok("audit.verify")  # flushes what the daemon buffered
        out = []
        with open(self.d.audit_log, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    e = json.loads(line)
                    if e["type"] == type_ and e.get("record") == record:
                        out.append(e)
        return out

    def listed(self, rid):
        return {x["id"]: x for x in self.d.ok("review.list")["records"]}.get(rid)

    def reject_and_wait(self, b, rid, want_round):
        """Reject rid's round want_round; prove it stays kept and unsent until the next
        round, and is back in review once it is due; the rejection's result."""
        rj = self.d.ok("review.reject", {"id": rid, "reason": "still needed"})
        self.assertEqual(rj["decision"], "rejected", rj)
        self.assertEqual(rj["round"], want_round, rj)
        self.assertEqual(rj["state"], "active", rj)
        nxt = parse_time(rj["next_review"])
        self.assertLessEqual(abs(nxt - SPAN - time.time()), 2, rj)
        self.assertIsNone(self.listed(rid))
        ex = self.d.ok("explain", {"id": rid})
        self.assertEqual(ex["review"]["round"], want_round + 1, ex)
        self.assertEqual(parse_time(ex["review"]["next_review"]), nxt, ex)
        # never early: kept, out of the queue and unsent until its next round
        stays(lambda: self.d.state(rid) == "active" and b.log() == [],
              max(0.0, nxt - time.time() - 0.3), what="the rejected record waiting")

        def back():
            return self.d.state(rid) == "review" and time.time()
        seen = wait_for(back, 10, what="the record back in review")
        self.assertGreaterEqual(seen, nxt - 0.05, "back in review before its round")
        x = self.listed(rid)
        self.assertIsNotNone(x)
        self.assertEqual(x["round"], want_round + 1, x)
        self.assertEqual(parse_time(x["due"]), nxt, x)
        self.assertEqual(x["every"], "%d seconds" % SPAN, x)
        self.assertEqual(x["rule"], "t-every", x)
        return rj

    def test_rounds_until_approved(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        r = self.put([doc("e1", "t.every")])
        self.assertEqual(r["records"][0]["state"], "review", r)
        x = self.listed("e1")
        self.assertEqual(x["round"], 1, x)
        self.assertNotIn("rejected", x)
        rj1 = self.reject_and_wait(b, "e1", 1)
        rj2 = self.reject_and_wait(b, "e1", 2)
        self.assertEqual(rj1["job"], rj2["job"], "the action keeps its id through the rounds")
        # the list as a person reads it: the round in its own column
        out = subprocess.run([CTL, "-s", d.socket_path, "review", "list"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [ln for ln in out.stdout.splitlines() if ln.split()]
        i = [ln.split()[0] for ln in lines].index("ID")
        head, row = lines[i], lines[i + 1]
        self.assertIn("ROUND", head.split(), out.stdout)
        self.assertEqual(row.split()[head.split().index("ROUND")], "3", out.stdout)
        a = d.ok("review.approve", {"id": "e1", "reason": "no longer needed"})
        self.assertEqual(a["decision"], "approved", a)
        self.assertEqual(a["round"], 3, a)
        self.assertEqual(a["job"], rj1["job"], a)
        self.assertNotIn("next_review", a)
        self.wait_state(["e1"], "deleted")
        self.assertEqual([(e.job, e.record) for e in b.log()], [(rj1["job"], "e1")])
        self.assertTombstone("e1", job=rj1["job"], rule="t-every")
        # each round audited: the rejections say when the record comes back
        rejs = self.entries("review.reject", "e1")
        self.assertEqual([e["detail"]["round"] for e in rejs], [1, 2], rejs)
        self.assertEqual([e["detail"]["next_review"] for e in rejs],
                         [rj1["next_review"], rj2["next_review"]], rejs)
        for e in rejs:
            self.assertEqual(e["job"], rj1["job"], e)
            self.assertEqual(e["rule"], "t-every", e)
            self.assertEqual(e["detail"]["reason"], "still needed", e)
        apps = self.entries("review.approve", "e1")
        self.assertEqual(len(apps), 1, apps)
        self.assertEqual(apps[0]["detail"]["round"], 3, apps)
        self.assertNotIn("next_review", apps[0]["detail"])

    def test_reput_keeps_the_round(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("e2", "t.every")])
        rj = d.ok("review.reject", {"id": "e2", "reason": "still needed"})
        nxt = parse_time(rj["next_review"])
        # put again while it waits: the rejection and its next round stand
        r = self.put([doc("e2", "t.every")])
        self.assertEqual(r["records"][0]["state"], "active", r)
        ex = d.ok("explain", {"id": "e2"})
        self.assertEqual(parse_time(ex["review"]["next_review"]), nxt, ex)
        self.assertEqual(ex["review"]["round"], 2, ex)
        wait_for(lambda: d.state("e2") == "review", 10, what="the record back in review")
        self.assertGreaterEqual(time.time(), nxt - 0.05)
        self.assertEqual(self.listed("e2")["round"], 2)
        self.assertEqual(b.log(), [])

    def test_plain_review_rejection_stands(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("p1", "t.plain")])
        self.assertEqual(self.listed("p1")["round"], 1)
        rj = d.ok("review.reject", {"id": "p1", "reason": "keep it"})
        self.assertEqual(rj["state"], "active", rj)
        self.assertNotIn("next_review", rj)
        self.assertNotIn("review", d.ok("explain", {"id": "p1"}))
        stays(lambda: d.state("p1") == "active" and b.log() == [] and self.listed("p1") is None,
              SPAN + 1.5, what="the rejected record kept for good")
        rejs = self.entries("review.reject", "p1")
        self.assertEqual(len(rejs), 1, rejs)
        self.assertNotIn("next_review", rejs[0]["detail"])


if __name__ == "__main__":
    main()
