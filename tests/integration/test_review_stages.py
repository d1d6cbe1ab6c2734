#!/usr/bin/env python3
"""Integration tests of a review in stages (`review by GROUP...`) against the real daemon.

Two throwaway unix groups stand for two stages (A, then B) and throwaway users for the
people: one in A, one in B, one in both; a third group is the daemon's admin-group, which
all three are in (a stage's group narrows who may approve, it grants nothing). Each user
runs a copy of the release build's retentionctl through `setpriv --init-groups`, so the
daemon sees the user's real groups in the peer credentials of its connection. Proved:
stage 1 approved by a member of A moves the action to stage 2 and sends nothing; a
non-member of B (and root, in neither group) is refused at stage 2, audited as a refused
request, and nothing changes; a member of B approves and the action is sent under its
job id; a rejection at stage 2 keeps the record; a person who approved stage 1 cannot
approve stage 2 (four eyes); `review list` shows the stage, its group and who approved
before; a restart in the middle keeps the stage.
Needs root (useradd, groupadd, setpriv): otherwise skipped, naming why (a failure under
CI=true). Run: python3 tests/integration/test_review_stages.py
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, stays, with_rules  # noqa: E402
from harness import REPO, SECURITY, main, parse_time, skip_or_fail, wait_for  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")
TAG = "%d" % os.getpid()
GA, GB, GADM = "rtnit-sa-" + TAG, "rtnit-sb-" + TAG, "rtnit-sadm-" + TAG
UA, UB, UAB = "rtnit-ua-" + TAG, "rtnit-ub-" + TAG, "rtnit-uab-" + TAG
SPAN = 3  # seconds between the rounds of t-every
RULES = ('rule t-stages { category t.stages; delete immediately after due; review by %s %s; '
         'basis "test: approved by A, then by B" }\n'
         'rule t-plain { category t.plain; delete immediately after due; review; '
         'basis "test: one approval" }\n'
         'rule t-every { category t.every; delete immediately after due; '
         'review by %s %s every %d seconds; basis "test: in stages, again after a rejection" }\n'
         % (GA, GB, GA, GB, SPAN))
PAST = "2001-06-01T10:00:00+02:00"


def doc(rid, category="t.stages"):
    return {"id": rid, "category": category, "subject": "person:" + rid, "backend": "nb",
            "locator": {"path": "/srv/t/%s" % rid}, "events": {"due": PAST}}


def why_not():
    if os.geteuid() != 0:
        return "not running as root: cannot create users and groups or act as them"
    for tool in ("setpriv", "groupadd", "groupdel", "useradd", "userdel"):
        if not shutil.which(tool):
            return "%s is missing" % tool
    if not os.access(CTL, os.X_OK):
        return "%s is missing: run make" % CTL
    return None


def remove_accounts():
    for u in (UA, UB, UAB):
        subprocess.run(["userdel", u], capture_output=True)
    for g in (GA, GB, GADM):
        subprocess.run(["groupdel", g], capture_output=True)


class ReviewStages(DispatchTestCase):
    RULES = with_rules(RULES)

    @classmethod
    def setUpClass(cls):
        missing = why_not()
        if missing:
            skip_or_fail("review in stages: " + missing, SECURITY)
        remove_accounts()
        try:
            for g in (GA, GB, GADM):
                cls.must(["groupadd", "--system", g])
            for u, primary, extra in ((UA, GA, [GADM]), (UB, GB, [GADM]),
                                      (UAB, GA, [GB, GADM])):
                cls.must(["useradd", "--system", "--no-create-home", "--home-dir",
                          "/nonexistent", "--shell", "/usr/sbin/nologin", "--gid", primary,
                          "--groups", ",".join(extra), u])
            cls.uid = {u: pwd.getpwnam(u).pw_uid for u in (UA, UB, UAB)}
        except BaseException:
            remove_accounts()
            raise

    @classmethod
    def must(cls, argv):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(argv), r.stderr.strip()))

    @classmethod
    def tearDownClass(cls):
        remove_accounts()

    def setUp(self):
        super().setUp()
        self.b = self.backend("nb")
        self.up({"nb": {}}, config_extra="admin-group %s\n" % GADM)
        self.ctl = os.path.join(self.d.dir, "retentionctl")
        shutil.copy(CTL, self.ctl)
        os.chmod(self.ctl, 0o755)

    def as_user(self, user, *argv):
        """retentionctl run as user with the groups of its passwd entry."""
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
               "--init-groups", self.ctl, "-s", self.d.socket_path] + list(argv)
        env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
        return subprocess.run(cmd, capture_output=True, text=True, cwd="/", env=env,
                              timeout=30)

    def decide(self, user, verb, rid, reason="test"):
        """review approve/reject as user, --json: (exit status, the reply's result or
        error)."""
        r = self.as_user(user, "--json", "review", verb, rid, reason)
        out = r.stdout.strip()
        try:
            reply = json.loads(out) if out else None
        except ValueError:
            reply = None
        return r.returncode, reply, r.stdout + r.stderr

    def approve_ok(self, user, rid):
        rc, reply, text = self.decide(user, "approve", rid)
        self.assertEqual(rc, 0, text)
        return reply

    def refused(self, user, verb, rid, want):
        """verb by user is refused, its message naming each of want."""
        rc, _, text = self.decide(user, verb, rid)
        self.assertNotEqual(rc, 0, "%s %s of %s was allowed: %s" % (user, verb, rid, text))
        for w in (want,) if isinstance(want, str) else want:
            self.assertIn(w, text)
        return text

    def listed(self, rid):
        return {x["id"]: x for x in self.d.ok("review.list")["records"]}.get(rid)

    def entries(self, type_, record=None):
        self.d.ok("audit.verify")  # flushes what the daemon buffered
        out = []
        with open(self.d.audit_log, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    e = json.loads(line)
                    if e["type"] == type_ and (record is None or e.get("record") == record):
                        out.append(e)
        return out

    def mark(self, rid):
        """The record's review mark as the inventory keeps it (read-only)."""
        from dispatch_util import inventory_ro
        db = inventory_ro(self.d.state_dir)
        try:
            row = db.execute("SELECT review_mark FROM records WHERE id = ?", (rid,)).fetchone()
        finally:
            db.close()
        return row[0] if row else None

    def test_two_stages_then_sent(self):
        d = self.d
        self.put([doc("s1")])
        self.assertEqual(d.state("s1"), "review")
        x = self.listed("s1")
        self.assertEqual((x["stage"], x["stages"], x["group"], x["approved"]),
                         (1, 2, GA, []), x)
        rl = {r["rule"]: r for r in d.ok("rules.list")["rules"]}
        self.assertEqual(rl["t-stages"]["review_by"], [GA, GB], rl["t-stages"])
        self.assertNotIn("review_by", rl["t-plain"])
        # root is allowed everything else, but is in neither group: refused
        e = d.err("review.approve", {"id": "s1", "reason": "root"}, "forbidden")
        self.assertIn('not in group "%s"' % GA, e["message"])
        # a member of B may not take stage 1
        self.refused(UB, "approve", "s1", ("not in group", GA))
        before = self.mark("s1")
        # stage 1 by a member of A: on to stage 2, nothing sent
        a1 = self.approve_ok(UA, "s1")
        self.assertEqual((a1["decision"], a1["stage"], a1["stages"], a1["state"]),
                         ("approved", 1, 2, "review"), a1)
        self.assertEqual((a1["next_stage"], a1["next_group"]), (2, GB), a1)
        x = self.listed("s1")
        self.assertEqual((x["stage"], x["group"]), (2, GB), x)
        self.assertEqual([(a["stage"], a["group"], a["by"]) for a in x["approved"]],
                         [(1, GA, "uid:%d" % self.uid[UA])], x)
        stays(lambda: d.state("s1") == "review" and self.b.log() == [], 1.0,
              what="the action waiting on stage 2")
        self.assertNotEqual(self.mark("s1"), before)
        # stage 2: not by A's member, nor by root; audited as refused, nothing changes
        kept = self.mark("s1")
        self.refused(UA, "approve", "s1", ("not in group", GB))
        self.refused(UA, "reject", "s1", ("not in group", GB))
        d.err("review.approve", {"id": "s1", "reason": "root"}, "forbidden")
        self.assertEqual(self.mark("s1"), kept)
        self.assertEqual(d.state("s1"), "review")
        forb = [e for e in self.entries("request.forbidden")
                if e["actor"] == "uid:%d" % self.uid[UA]]
        self.assertTrue(forb, "the refusal of uid %d was not audited" % self.uid[UA])
        self.assertEqual(forb[0]["detail"].get("cmd"), "review.approve", forb)
        self.assertTrue([e for e in self.entries("request.forbidden")
                         if e["actor"] == "uid:0"], "root's refusal was not audited")
        # the list as a person reads it, by a member of B
        r = self.as_user(UB, "review", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [ln for ln in r.stdout.splitlines() if ln.split()]
        i = [ln.split()[0] for ln in lines].index("ID")
        head, row = lines[i], lines[i + 1]
        self.assertIn("STAGE", head.split(), r.stdout)
        self.assertIn("APPROVED", head.split(), r.stdout)
        self.assertIn("2/2 %s" % GB, row, r.stdout)
        self.assertIn("uid:%d (%s)" % (self.uid[UA], GA), row, r.stdout)
        # stage 2 by a member of B: the action goes ahead under its job id
        a2 = self.approve_ok(UB, "s1")
        self.assertEqual((a2["decision"], a2["stage"], a2["stages"]), ("approved", 2, 2), a2)
        self.assertNotIn("next_stage", a2)
        self.assertEqual(a2["job"], a1["job"])
        self.wait_state(["s1"], "deleted")
        self.assertEqual([(e.job, e.record) for e in self.b.log()], [(a1["job"], "s1")])
        self.assertTombstone("s1", job=a1["job"], rule="t-stages")
        # every step audited: the stage, then the approval that let it go
        st = self.entries("review.stage", "s1")
        self.assertEqual([(e["actor"], e["detail"]["stage"], e["detail"]["stages"],
                           e["detail"]["group"], e["detail"]["next_group"]) for e in st],
                         [("uid:%d" % self.uid[UA], 1, 2, GA, GB)], st)
        ap = self.entries("review.approve", "s1")
        self.assertEqual([(e["actor"], e["detail"]["stage"], e["detail"]["group"])
                          for e in ap], [("uid:%d" % self.uid[UB], 2, GB)], ap)
        self.assertEqual(ap[0]["job"], a1["job"])

    def test_rejection_at_stage_two_keeps_the_record(self):
        d = self.d
        self.put([doc("s2")])
        self.approve_ok(UA, "s2")
        rc, rj, text = self.decide(UB, "reject", "s2", "still needed")
        self.assertEqual(rc, 0, text)
        self.assertEqual((rj["decision"], rj["stage"], rj["state"]), ("rejected", 2, "active"),
                         rj)
        self.assertIsNone(self.listed("s2"))
        stays(lambda: d.state("s2") == "active" and self.b.log() == [], 1.5,
              what="the rejected record kept")
        g = d.get("s2")
        self.assertEqual(g["locator"], {"path": "/srv/t/s2"}, g)
        rejs = self.entries("review.reject", "s2")
        self.assertEqual([(e["actor"], e["detail"]["stage"], e["detail"]["reason"])
                          for e in rejs], [("uid:%d" % self.uid[UB], 2, "still needed")], rejs)

    def test_four_eyes(self):
        d = self.d
        self.put([doc("s3")])
        a1 = self.approve_ok(UAB, "s3")  # in A and in B
        self.assertEqual(a1["next_group"], GB, a1)
        text = self.refused(UAB, "approve", "s3", "approved stage 1")
        self.assertIn("needs another person", text)
        x = self.listed("s3")
        self.assertEqual((x["stage"], [a["by"] for a in x["approved"]]),
                         (2, ["uid:%d" % self.uid[UAB]]), x)
        self.assertEqual(self.b.log(), [])
        self.approve_ok(UB, "s3")
        self.wait_state(["s3"], "deleted")
        # a plain review keeps today's meaning: one approval by whoever may approve
        self.put([doc("p1", "t.plain")])
        self.assertNotIn("stage", self.listed("p1"))
        a = d.ok("review.approve", {"id": "p1", "reason": "root may"})
        self.assertNotIn("stage", a)
        self.wait_state(["p1"], "deleted")

    def test_restart_keeps_the_stage(self):
        d = self.d
        self.put([doc("s4")])
        a1 = self.approve_ok(UA, "s4")
        d.restart()
        x = self.listed("s4")
        self.assertEqual((x["stage"], x["group"]), (2, GB), x)
        self.assertEqual([a["by"] for a in x["approved"]], ["uid:%d" % self.uid[UA]], x)
        ex = d.ok("explain", {"id": "s4"})
        self.assertEqual((ex["review"]["stage"], ex["review"]["stages"], ex["review"]["group"]),
                         (2, 2, GB), ex)
        r = self.as_user(UA, "explain", "s4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("stage 2 of 2 (%s)" % GB), 1, r.stdout)
        self.refused(UA, "approve", "s4", ("not in group", GB))
        stays(lambda: d.state("s4") == "review" and self.b.log() == [], 1.0,
              what="the action waiting on stage 2 after the restart")
        self.approve_ok(UB, "s4")
        self.wait_state(["s4"], "deleted", timeout=30)
        self.assertEqual([(e.job, e.record) for e in self.b.log()], [(a1["job"], "s4")])

    def test_rule_change_restarts_at_stage_one(self):
        d = self.d
        self.put([doc("s5")])
        self.approve_ok(UA, "s5")
        self.assertEqual(self.listed("s5")["stage"], 2)
        # the same rule with its stages the other way round: the approval of A counts
        # for nothing under the new list, which starts again at its stage 1 (B)
        rules = dict(self.RULES)
        rules["zz-test.rules"] = RULES.replace("review by %s %s;" % (GA, GB),
                                               "review by %s %s;" % (GB, GA), 1)
        d.write_rules(rules)
        d.ok("rules.reload")
        x = self.listed("s5")
        self.assertEqual((x["stage"], x["group"], x["approved"], x.get("restarted")),
                         (1, GB, [], True), x)
        self.refused(UA, "approve", "s5", ("not in group", GB))
        a = self.approve_ok(UB, "s5")
        self.assertEqual((a["stage"], a["next_group"], a.get("restarted")), (1, GA, True), a)
        st = self.entries("review.stage", "s5")
        self.assertEqual([e["detail"].get("restarted") for e in st], [None, True], st)
        self.approve_ok(UA, "s5")
        self.wait_state(["s5"], "deleted")

    def test_stages_with_rounds(self):
        """review by A B every SPAN: a rejection at stage 2 brings the action back in the
        next round at stage 1, with none of the last round's approvals."""
        d = self.d
        self.put([doc("e1", "t.every")])
        a1 = self.approve_ok(UA, "e1")
        self.assertEqual((a1["round"], a1["stage"]), (1, 1), a1)
        rc, rj, text = self.decide(UB, "reject", "e1", "still needed")
        self.assertEqual(rc, 0, text)
        self.assertEqual((rj["round"], rj["stage"], rj["state"]), (1, 2, "active"), rj)
        nxt = parse_time(rj["next_review"])
        stays(lambda: d.state("e1") == "active" and self.b.log() == [],
              max(0.0, nxt - time.time() - 0.3), what="the rejected record waiting")
        wait_for(lambda: d.state("e1") == "review", 10, what="the record back in review")
        x = self.listed("e1")
        self.assertEqual((x["round"], x["stage"], x["group"], x["approved"]), (2, 1, GA, []), x)
        self.assertEqual(parse_time(x["due"]), nxt, x)
        # the round's stage 1: the round and its time stay
        a = self.approve_ok(UAB, "e1")
        self.assertEqual((a["round"], a["stage"], a["state"]), (2, 1, "review"), a)
        x = self.listed("e1")
        self.assertEqual((x["round"], x["stage"]), (2, 2), x)
        self.assertEqual(parse_time(x["due"]), nxt, x)
        self.refused(UAB, "approve", "e1", "needs another person")
        a = self.approve_ok(UB, "e1")
        self.assertEqual((a["round"], a["stage"]), (2, 2), a)
        self.wait_state(["e1"], "deleted")
        self.assertEqual([(e.job, e.record) for e in self.b.log()], [(a1["job"], "e1")])


if __name__ == "__main__":
    main()
