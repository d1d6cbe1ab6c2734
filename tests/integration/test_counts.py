#!/usr/bin/env python3
"""Integration tests of the counts status reads: records per state, unmanaged records per
category, jobs per state and backend, kept by the inventory in the transactions that change
them rather than counted on each request. Each test compares status with a full count of
the inventory file (read-only, beside the running daemon), after puts, deletions, failures,
retries, forgetting, and after the migration that fills the counts in an older inventory.
(The harness's invariant check compares the kept counts with a full count after every
integration test as well.)

The real daemon (build/asan/retentiond) over its real sockets, the real null backend.
Run: python3 tests/integration/test_counts.py
"""

import collections
import os
import sqlite3
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import UNDO_SCHEMA_6, SCHEMA_VERSION, main, wait_for  # noqa: E402

T_RULES = ('rule t-due { category t.doc; delete immediately after due }\n'
           'rule t-later { category t.later; delete 10 years after due }\n')
PAST = "2001-06-01T10:00:00+02:00"
FUTURE = "2036-06-01T10:00:00+02:00"


def doc(rid, due=PAST, backend="nb", category="t.doc"):
    return {"id": rid, "category": category, "subject": "person:" + rid, "backend": backend,
            "locator": {"path": "/srv/t/%s" % rid}, "events": {"due": due}}


class Counts(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def full_count(self):
        """(records by state, unmanaged by category, jobs by backend and state), counted."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.d.state_dir, "inventory.db"),
                             uri=True)
        try:
            rec = dict(db.execute("SELECT state, count(*) FROM records GROUP BY state"))
            rec["total"] = sum(rec.values())
            unm = [{"category": c, "records": n} for c, n in db.execute(
                "SELECT category, count(*) FROM records WHERE state = 'unmanaged' "
                "GROUP BY category ORDER BY category")]
            jobs = collections.defaultdict(dict)
            for b, s, n in db.execute("SELECT backend, state, count(*) FROM jobs "
                                      "GROUP BY backend, state"):
                jobs[b][s] = n
            return rec, unm, dict(jobs)
        finally:
            db.close()

    def assertCounts(self):
        """status's counts are the full count's, and its jobs by state their sum."""
        def same():
            st = self.d.ok("status")
            full = self.full_count()
            return (st["records"], st["unmanaged"], st["jobs_by_backend"]) == full, st, full
        ok, st, full = same()
        if not ok:  # a result may be committed between the two reads: once more
            ok, st, full = same()
        self.assertTrue(ok, "status %r\nfull count %r" % (
            (st["records"], st["unmanaged"], st["jobs_by_backend"]), full))
        by_state = collections.Counter()
        for states in st["jobs_by_backend"].values():
            by_state.update(states)
        self.assertEqual({k: v for k, v in st["jobs"].items() if v}, dict(by_state), st)
        return st

    def test_counts_follow_every_transition(self):
        self.backend("nb")
        self.backend("fb", "--fail-every", "1", "--fail-permanent")
        d = self.up({"nb": {}, "fb": {"max_attempts": 1}})
        self.put([doc("a%d" % i) for i in range(20)] +
                 [doc("l%d" % i, due=FUTURE, category="t.later") for i in range(5)] +
                 [doc("u%d" % i, category="t.nobody") for i in range(3)] +
                 [doc("f%d" % i, backend="fb") for i in range(4)])
        self.wait_state(["a%d" % i for i in range(20)], "deleted")
        self.wait_state(["f%d" % i for i in range(4)], "failed")
        st = self.assertCounts()
        self.assertEqual(st["records"]["deleted"], 20, st)
        self.assertEqual(st["records"]["failed"], 4, st)
        self.assertEqual(st["unmanaged"], [{"category": "t.nobody", "records": 3}], st)
        self.assertEqual(st["jobs_by_backend"], {"nb": {"done": 20}, "fb": {"dead": 4}}, st)
        # a record that changes category leaves the unmanaged count; one forgotten leaves
        # every count; a dead job retried moves between job states
        self.put([dict(doc("u0", due=FUTURE), category="t.later")])
        d.ok("record.forget", {"id": "l1"})
        d.ok("jobs.retry", {"job": "dead"})
        wait_for(lambda: self.full_count()[2].get("fb", {}).get("dead") == 4
                 and not self.full_count()[2].get("fb", {}).get("retry"),
                 what="the retried jobs to die again")
        st = self.assertCounts()
        self.assertEqual(st["unmanaged"], [{"category": "t.nobody", "records": 2}], st)
        self.assertEqual(st["records"]["total"], 31, st)

    def test_counts_filled_when_an_older_inventory_is_opened(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("m%d" % i) for i in range(6)] +
                 [doc("w%d" % i, due=FUTURE, category="t.later") for i in range(3)] +
                 [doc("x%d" % i, category="t.nobody") for i in range(2)])
        self.wait_state(["m%d" % i for i in range(6)], "deleted")
        d.stop()
        path = os.path.join(self.d.state_dir, "inventory.db")
        db = sqlite3.connect(path)
        db.executescript(UNDO_SCHEMA_6 + "PRAGMA user_version = 5;")
        db.close()
        d.start()
        st = self.assertCounts()
        self.assertEqual(st["records"], {"deleted": 6, "active": 3, "unmanaged": 2,
                                         "total": 11}, st)
        ro = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        self.assertEqual(ro.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        ro.close()


if __name__ == "__main__":
    main()
