#!/usr/bin/env python3
"""The mass-deletion guard for every cause but a rule change (SPEC §3), and imports that
can be repeated and previewed (SPEC §4), against the real daemon and retentionctl:

- an import that makes more records due at once than the guard allows is paused (cause
  "import"), nothing is sent, `retentionctl guard confirm` releases it; a small one is not;
  all batches of one import are one step;
- a start-up that finds more records due than the guard allows pauses them ("start-up");
- a jump of the wall clock (the daemon under libfaketime, its clock moved a year ahead
  while it runs) pauses what falls due through the jump ("clock");
- an import run again counts the ids deleted since as already deleted and goes on;
- `retentionctl import --dry-run` stores nothing and gives the figures `plan` gives after
  the real import.
"""
import glob
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, stays, with_rules  # noqa: E402
from harness import DURABILITY, REPO, main, rfc3339, skip_or_fail, wait_for  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")
DAY = 86400
RULES = with_rules(
    'rule t-due { category t.doc; delete immediately after due; '
    'basis "test: deleted at its due event" }\n'
    'rule t-year { category t.year; delete 1 year after created; '
    'basis "test: a year after creation" }\n')


def doc(rid, due, category="t.doc"):
    return {"id": rid, "category": category, "subject": "person:" + rid, "backend": "nb",
            "locator": {"path": "/srv/t/%s.pdf" % rid}, "events": {"due": due}}


class GuardSteps(DispatchTestCase):
    RULES = RULES
    CONFIG_EXTRA = "guard 1\n"

    def ctl(self, *args, ok=True):
        if not os.access(CTL, os.X_OK):
            raise AssertionError("%s is missing: run `make`" % CTL)
        r = subprocess.run([CTL, "-s", self.d.socket_path] + list(args), capture_output=True,
                           text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, (args, r.stdout, r.stderr))
        return r

    def jsonl(self, name, records):
        path = os.path.join(self.d.dir, name)
        with open(path, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        return path

    def guard(self):
        return self.d.ok("status")["guard"]

    def audit(self, type_):
        return self.d.ok("audit.query", {"type": type_, "limit": 100000})["entries"]

    # --- an import ---------------------------------------------------------------------

    def test_import_over_the_limit_is_paused_until_guard_confirm(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        ids = ["i%d" % i for i in range(5)]
        path = self.jsonl("five.jsonl", [doc(i, "2001-06-01T10:00:00Z") for i in ids])
        out = self.ctl("import", path).stdout
        self.assertIn("imported 5 records", out)
        self.assertIn("5 records made due at once are paused", out)
        g = self.guard()
        self.assertEqual(g["paused"], 5, g)
        self.assertEqual(g["rules"], [{"rule": "t-due", "cause": "import", "records": 5}], g)
        for i in ids:
            self.assertEqual(d.state(i), "paused")
        stays(lambda: b.log() == [], 1.5, what="nothing sent while paused")
        e = self.audit("guard.paused")
        self.assertEqual(len(e), 1, e)
        self.assertEqual(e[0]["detail"]["cause"], "import")
        self.assertRegex(e[0]["detail"]["ref"], r"^import-\d+-\d+$")
        self.assertEqual(e[0]["detail"]["records"], 5)
        table = self.ctl("status").stdout
        self.assertIn("guard confirm", table)
        self.assertRegex(table, r"t-due\s+import\s+5")
        out = self.ctl("guard", "confirm").stdout
        self.assertIn("5", out)
        self.wait_state(ids, "deleted", 20)
        self.assertEqual(sorted(x.record for x in b.log()), ids)
        self.assertEqual(self.guard(), {"paused": 0, "rules": []})
        self.assertEqual(len(self.audit("guard.confirm")), 1)

    def test_small_import_is_not_paused(self):
        b = self.backend("nb")
        d = self.up({"nb": {}}, config_extra="guard 10\n")
        ids = ["s%d" % i for i in range(3)]
        path = self.jsonl("three.jsonl", [doc(i, "2001-06-01T10:00:00Z") for i in ids])
        out = self.ctl("import", path).stdout
        self.assertNotIn("paused", out)
        self.wait_state(ids, "deleted", 20)
        self.assertEqual(len(b.log()), 3)
        self.assertEqual(self.guard()["paused"], 0)
        self.assertEqual(self.audit("guard.paused"), [])
        d.ok("status")

    def test_the_batches_of_one_import_are_one_step(self):
        """Each batch of 5 is under the limit of 8; two of one import are not, and what
        the first left unsent is paused with the second. Another import is its own step."""
        self.backend("nb")
        d = self.up({"nb": {}}, config_extra="guard 8\n")
        past = "2001-06-01T10:00:00Z"

        def batch(ref, ids):
            return d.ok("record.put", {"import": ref, "quiet": True,
                                       "records": [doc(i, past) for i in ids]})
        r = batch("import-1-1", ["a%d" % i for i in range(5)])
        self.assertEqual(r["paused"], 0, r)
        r = batch("import-1-1", ["b%d" % i for i in range(5)])
        self.assertGreaterEqual(r["paused"], 5, r)
        for i in range(5):
            self.assertEqual(d.state("b%d" % i), "paused")
        r = batch("import-2-1", ["c%d" % i for i in range(5)])
        self.assertEqual(r["paused"], 0, r)
        self.wait_state(["c%d" % i for i in range(5)], "deleted", 20)
        e = self.audit("guard.paused")[-1]["detail"]
        self.assertEqual((e["cause"], e["ref"], e["step"]), ("import", "import-1-1", 10), e)
        d.err("record.put", {"import": "no spaces", "records": [doc("x", past)]},
              "bad_request")
        # the reply says which records the guard paused
        r = d.ok("record.put", {"import": "import-3-1",
                                "records": [doc("e%d" % i, past) for i in range(9)]})
        self.assertEqual(r["paused"], 9, r)
        self.assertEqual({x["state"] for x in r["records"]}, {"paused"}, r)
        held = self.guard()["paused"]
        self.assertGreaterEqual(held, 14)
        self.assertEqual(d.ok("guard.confirm"), {"released": held, "causes": {"import": held}})

    # --- an import run again -------------------------------------------------------------

    def test_import_repeated_counts_the_ids_deleted_since(self):
        b = self.backend("nb")
        self.up({"nb": {}}, config_extra="guard 100\n")
        gone = ["g1", "g2"]
        path = self.jsonl("gone.jsonl", [doc(i, "2001-06-01T10:00:00Z") for i in gone])
        self.ctl("import", path)
        self.wait_state(gone, "deleted", 20)
        far = rfc3339(time.time() + 400 * DAY)
        again = [doc(i, "2001-06-01T10:00:00Z") for i in gone] + \
            [doc(i, far) for i in ("n1", "n2", "n3")]
        path = self.jsonl("again.jsonl", again)
        out = self.ctl("import", path).stdout
        self.assertIn("imported 3 records (3 inserted, 0 updated), 2 already deleted (skipped)",
                      out)
        res = json.loads(self.ctl("--json", "import", path).stdout)
        self.assertEqual((res["imported"], res["already_deleted"], res["inserted"]),
                         (3, 2, 0), res)
        for i in gone:
            self.assertTombstone(i)
        stays(lambda: len(b.log()) == 2, 1.0, what="no new job for the tombstones")

    # --- a dry run -------------------------------------------------------------------------

    def test_dry_run_stores_nothing_and_matches_plan(self):
        self.backend("nb")
        d = self.up({"nb": {}}, config_extra="guard 1000\n")
        now = time.time()
        # already there: two of t-year, one of which the import changes
        d.ok("record.put", {"records": [
            {"id": "y-old", "category": "t.year", "backend": "nb",
             "events": {"created": rfc3339(now - 200 * DAY)}},
            {"id": "y-moved", "category": "t.year", "backend": "nb",
             "events": {"created": rfc3339(now - 300 * DAY)}}]})
        recs = [doc("d%d" % i, rfc3339(now + (10 + i) * DAY)) for i in range(4)]
        recs += [{"id": "y-new", "category": "t.year", "backend": "nb",
                  "events": {"created": rfc3339(now - 100 * DAY)}},
                 {"id": "y-moved", "category": "t.year", "backend": "nb",
                  "events": {"created": rfc3339(now - 10 * DAY)}}]
        path = self.jsonl("preview.jsonl", recs)
        until = rfc3339(now + 300 * DAY)
        before = d.ok("status")["records"]
        puts = len(self.audit("record.put"))
        dry = json.loads(self.ctl("--json", "import", "--dry-run", "--until", until,
                                  path).stdout)
        self.assertTrue(dry["dry_run"])
        self.assertEqual((dry["records"], dry["inserted"], dry["updated"]), (6, 5, 1), dry)
        table = self.ctl("import", "--dry-run", "--until", until, path).stdout
        self.assertIn("dry run, nothing stored", table)
        self.assertRegex(table, r"t-due\s+delete\s+4")
        # nothing stored, nothing audited
        self.assertEqual(d.ok("status")["records"], before)
        self.assertEqual(len(self.audit("record.put")), puts)
        self.assertEqual(d.call("record.get", {"id": "d0"})["error"]["code"], "not_found")
        # the real import, then plan by the same time: the same figures per rule
        self.ctl("import", path)
        plan = json.loads(self.ctl("--json", "plan", "--until", until).stdout)
        want = {(t["rule"], t["action"]): t["count"] for t in plan["totals"]}
        got = {(x["rule"], x["action"]): x["total"] for x in dry["rules"]}
        self.assertEqual(got, want, (dry, plan))
        self.assertEqual(want.get(("t-due", "delete")), 4, plan)
        self.assertEqual(want.get(("t-year", "delete")), 2, plan)  # y-old, y-new; y-moved later
        rows = {(x["rule"], x["action"]): x for x in dry["rules"]}
        self.assertEqual(rows[("t-due", "delete")]["first"][:10],
                         rfc3339(now + 10 * DAY)[:10], rows)

    def test_dry_run_without_until_counts_every_action(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        far = rfc3339(time.time() + 50 * 365 * DAY)
        path = self.jsonl("x.jsonl", [doc("x", "2001-06-01T10:00:00Z"), doc("y", far)])
        dry = json.loads(self.ctl("--json", "import", "--dry-run", path).stdout)
        self.assertEqual(dry["until"], "9999-12-31T23:59:59Z")
        self.assertEqual([(x["rule"], x["import"], x["total"]) for x in dry["rules"]],
                         [("t-due", 2, 2)], dry)
        self.assertEqual(dry["due_now"], 1, dry)
        self.assertEqual(d.call("record.get", {"id": "x"})["error"]["code"], "not_found")
        r = self.ctl("import", "--until", far, path, ok=False)
        self.assertEqual(r.returncode, 2, r)

    # --- a start-up ------------------------------------------------------------------------

    def test_start_up_with_many_overdue_records_is_paused(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        due = int(time.time()) + 3
        ids = ["u%d" % i for i in range(5)]
        # one at a time, each under the limit, all due in 3 s
        for i in ids:
            d.ok("record.put", doc(i, due))
        d.stop()
        wait_for(lambda: time.time() > due + 1, 10, what="the records to fall due")
        d.start()
        wait_for(lambda: self.guard()["paused"] == 5, 10, what="5 records paused at start-up")
        self.assertEqual(self.guard()["rules"],
                         [{"rule": "t-due", "cause": "start-up", "records": 5}])
        stays(lambda: b.log() == [], 1.5, what="nothing sent after the start-up")
        e = self.audit("guard.paused")[-1]["detail"]
        self.assertEqual((e["cause"], e["records"]), ("start-up", 5), e)
        self.ctl("rules", "confirm")  # the alias
        self.wait_state(ids, "deleted", 20)

    # --- a jump of the wall clock -------------------------------------------------------------

    def test_wall_clock_jump_is_paused(self):
        lib = [p for p in glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
               + glob.glob("/usr/lib/faketime/libfaketime.so.1") if os.path.exists(p)]
        if not lib:
            skip_or_fail("libfaketime is not installed (Debian: faketime)", DURABILITY)
        stamp = os.path.join(self.d.dir, "faketime")
        with open(stamp, "w") as f:
            f.write("+0s\n")
        self.d.env.update({
            "LD_PRELOAD": lib[0], "FAKETIME_TIMESTAMP_FILE": stamp, "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_DONT_RESET": "1",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"})
        b = self.backend("nb")
        d = self.up({"nb": {}}, config_extra="guard 2\n")
        in_a_year = int(time.time()) + 365 * DAY
        ids = ["c%d" % i for i in range(5)]
        d.ok("record.put", {"records": [doc(i, in_a_year) for i in ids]})
        self.assertEqual({d.state(i) for i in ids}, {"active"})
        with open(stamp, "w") as f:
            f.write("+%ds\n" % (366 * DAY))
        # a change wakes the scheduler at once (else within a minute)
        d.ok("record.put", doc("later", in_a_year + 10 * 365 * DAY))
        wait_for(lambda: self.guard()["paused"] == 5, 20, what="5 records paused by the jump")
        self.assertEqual(self.guard()["rules"],
                         [{"rule": "t-due", "cause": "clock", "records": 5}])
        stays(lambda: b.log() == [], 1.5, what="nothing sent after the jump")
        e = self.audit("guard.paused")[-1]["detail"]
        self.assertEqual((e["cause"], e["ref"], e["records"]), ("clock", None, 5), e)
        self.assertIn("wall clock jumped", d.stderr())
        # the clock set right: what the jump paused waits for its deadline again
        with open(stamp, "w") as f:
            f.write("+0s\n")
        d.ok("record.put", doc("later", in_a_year + 11 * 365 * DAY))
        wait_for(lambda: self.guard()["paused"] == 0, 20, what="the pause undone")
        self.assertEqual({d.state(i) for i in ids}, {"active"})
        self.assertEqual(self.audit("guard.released")[-1]["detail"],
                         {"cause": "clock", "released": 5})
        stays(lambda: b.log() == [], 1.0, what="nothing sent after the clock was set right")


if __name__ == "__main__":
    main()
